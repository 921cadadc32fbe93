//! Random variables for circuits: sampling DiscreteVars and estimating Cumulants
//! (rust_circuit's `Sampler`, `RandomSampleSpec`, `RunDiscreteVarAllSpec` and cumulant
//! rewrites; reference §5).
//!
//! * A `DiscreteVar(values[n, …], probs_and_group[n])` equals row `i` of `values` with
//!   probability `probs_and_group[i]`; the group circuit (by hash) is also the identity
//!   of the draw: variables sharing a group are sampled with the same indices.
//! * A [`SampleSpec`] decides how variables become samples: [`RandomSampleSpec`] (seeded
//!   multinomial draws, equal weights) or [`RunDiscreteVarAllSpec`] (every datum, the
//!   product grid over groups, probability weights).
//! * The [`Sampler`] replaces variables by samples ([`Sampler::sample`]: the circuit
//!   gains leading sample dims) and Cumulants by estimators
//!   ([`Sampler::estimate`], [`Sampler::estimate_with_error`]).
//! * Cumulant algebra: [`factored_cumulant_expectation_rewrite`],
//!   [`cumulant_new_canon`], [`set_partitions`], and [`rewrite_cum_to_circuit_of_cum`]
//!   (push a cumulant through one of its arguments).
//!
//! This crate never evaluates: sampled and estimated circuits are ordinary computable
//! circuits for an evaluator. Probabilities are read only from constant leaves (a
//! Scalar or Array, possibly under Tags), where drawing indices ahead of time
//! (`simplify`) or enumerating needs them.
//!
//! ```
//! use circuit_ir::{Circuit, Tensor};
//! use circuit_sample::{RandomSampleSpec, Sampler};
//!
//! let data = Circuit::array(Tensor::from_vec(&[4, 2], (0..8).map(f64::from).collect())?, Some("data"))?;
//! let group = Circuit::uniform_probs_and_group(4)?;
//! let x = Circuit::discrete_var(data, group)?.rename(Some("x"))?;
//! let sampler = Sampler::new(RandomSampleSpec::new(&[16]).with_base_seed(7));
//! let sampled = sampler.sample(&x)?;
//! assert_eq!(sampled.shape().as_slice(), &[16, 2]);
//! // Same spec, same seed: the same circuit (and so the same values).
//! assert_eq!(sampled, sampler.sample(&x)?);
//! let mean = sampler.estimate(&Circuit::cumulant(vec![x])?)?;
//! assert_eq!(mean.shape().as_slice(), &[2]);
//! assert!(mean.flags().is_constant());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Determinism
//! Seeds come from a [`Seeder`] — by default [`hash_seeder`]: the group's content hash
//! XOR a base seed — and indices from [`circuit_tensor::multinomial`], so the same
//! circuit and spec give bit-identical sampled circuits and values on every platform.
//!
//! # Differences from rust_circuit
//! * Empirical weights are normalised by the spec ([`SampleSpec::empirical_weights`]);
//!   the estimator multiplies by them directly.
//! * `RunDiscreteVarAllSpec` orders groups deterministically and repeats by subset
//!   sizes (see its docs); probabilities must be constant leaves.
//! * `κ(x)` of a constant `x` is `x` itself (the reference samples and averages it).
//! * The expansion of a matched higher cumulant is estimated completely, whatever the
//!   cumulant matcher (the reference re-applies the matcher to the new sub-cumulants).
//! * [`Sampler::estimate_with_error`] is new.

mod all;
mod cum_rewrite;
mod cumulant;
mod error;
mod sampler;
mod spec;
mod util;

pub use all::RunDiscreteVarAllSpec;
pub use cum_rewrite::rewrite_cum_to_circuit_of_cum;
pub use cumulant::{
    cumulant_new_canon, cumulant_new_canon_rearrange, factored_cumulant_expectation_rewrite,
    factored_partitions, set_partitions,
};
pub use error::{Result, SampleError};
pub use sampler::{default_var_matcher, RunOnSampled, Sampler};
pub use spec::{
    group_hash_u64, hash_seeder, sample_expander, RandomSampleSpec, SampleSpec, Seeder,
};
pub use util::constant_leaf_values;
