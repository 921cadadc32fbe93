//! Causal scrubbing on circuits (rust_circuit's `causal_scrubbing` package, reference
//! §7), plus activation and path patching.
//!
//! A *hypothesis* says which model branches compute which features. The experiment
//! resamples each branch's inputs from data that agree on the claimed feature and
//! measures how much the output changes.
//!
//! * [`Dataset`]: named tensors sharing a leading datum axis; `input_names` are the
//!   circuit inputs to replace.
//! * Conditional samplers ([`CondSampler`]): [`ExactSampler`] (no scrubbing),
//!   [`UncondSampler`] (random data), [`UncondTogetherSampler`] (one shared random
//!   draw per id), [`FuncSampler`] (data agreeing on a feature), [`FixedOtherSampler`];
//!   optional pools ([`PoolAnnotation`]).
//! * [`InterpNode`] trees (the interpretation) and the [`Correspondence`] mapping each
//!   node to an [`IterativeMatcher`](circuit_match::IterativeMatcher) branch of the
//!   model, with rust_circuit's checks (complete, rooted at [`corr_root_matcher`], well
//!   defined, injective after treeification) as
//!   [`ScrubError::IllegalCorrespondence`].
//! * [`Experiment`] → [`Experiment::scrub`] → [`ScrubbedExperiment`] →
//!   [`ScrubbedExperiment::evaluate`] (every reference datum, in batches, with a
//!   progress bar on a terminal) or [`ScrubbedExperiment::loss`] (`mean ± stderr`).
//! * Daily tools: [`scrub_input`], [`independent_var`], [`patch_activation`],
//!   [`path_patch`] and [`HeadSweep`] (a metric per `(layer, head)` as a matrix).
//!
//! ```
//! use circuit_ir::{Circuit, Tensor};
//! use circuit_scrub::{
//!     corr_root_matcher, Correspondence, Dataset, ExactSampler, Experiment,
//!     ExperimentEvalSettings, InterpNode,
//! };
//!
//! // out = x · w: a model with one input "x" of shape [2].
//! let x = Circuit::array(Tensor::from_vec(&[2], vec![0.0f32, 0.0])?, Some("x"))?;
//! let w = Circuit::array(Tensor::from_vec(&[2], vec![1.0f32, 2.0])?, Some("w"))?;
//! let model = Circuit::einsum("i,i->", [x, w])?;
//! let data = Dataset::new([("x", Tensor::from_vec(&[3, 2], vec![1.0f32, 0., 0., 1., 1., 1.])?)])?;
//!
//! // The trivial hypothesis: nothing is resampled.
//! let root = InterpNode::with_other_inputs(ExactSampler, "root", ExactSampler);
//! let mut corr = Correspondence::new();
//! corr.add(&root, corr_root_matcher())?;
//!
//! let mut exp = Experiment::new(model, data.clone(), corr, 42)?;
//! let scrubbed = exp.scrub(data)?;
//! let out = scrubbed.evaluate(&ExperimentEvalSettings::default())?;
//! assert_eq!(out.to_f64_vec(), vec![1.0, 2.0, 3.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Determinism
//! Every random choice comes from [`circuit_tensor::Rng`] seeded by the experiment's
//! seed; treeification tags and variable groups get uuids derived from the seed (not
//! random ones), so the same seed and calls give bit-identical circuits and outputs.
//!
//! # Differences from rust_circuit
//! * [`Correspondence::check_well_defined`] requires each matcher to match *at least*
//!   one node (the reference asks for exactly one), and [`Experiment::new`] runs it
//!   (the reference only checks completeness and the root there).
//! * Feature functions return rows of `i64` ([`FuncSampler::new`]) or a tensor
//!   ([`FuncSampler::from_tensor_fn`]); classes are visited in sorted order.
//!   Shortfalls are warnings collected in [`ScrubbedExperiment::warnings`].
//! * Pools are keyed by (pool id, sampler description, source, eq class).
//! * Random evaluation draws the data indices up front (seeded multinomial) and runs
//!   them like exhaustive evaluation, so batching works in both modes.
//! * No device/dtype casting: evaluation runs on the CPU evaluator with the given
//!   [`circuit_eval::EvalSettings`].

mod correspondence;
mod dataset;
mod error;
mod experiment;
mod interp;
mod patching;
mod progress;
mod rows;
mod sampler;
mod scrubbed;

pub use correspondence::{chain_excluding, corr_root_matcher, to_inputs, Correspondence};
pub use dataset::{Dataset, DatasetIndex};
pub use error::{Result, ScrubError};
pub use experiment::{wrap_in_var, Experiment, Reference, ScrubOptions};
pub use interp::{InterpNode, SampledInputs};
pub use patching::{
    independent_var, patch_activation, patch_activation_from, path_patch, scrub_input, HeadSweep,
};
pub use progress::ProgressMode;
pub use sampler::{
    CondSampler, ExactSampler, FeatureFn, FixedOtherSampler, FuncSampler, IntoCondSampler,
    PoolAnnotation, SamplerPools, UncondSampler, UncondTogetherSampler,
};
pub use scrubbed::{
    abs_error_per_datum, loss_recovered, run_on_dataset, Estimate, ExperimentEvalSettings,
    ScrubOutput, ScrubbedExperiment,
};
