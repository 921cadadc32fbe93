//! # Random variables, estimates and scrubbing
//!
//! A `DiscreteVar(values, probs_and_group)` is a random row of `values`; the group
//! circuit is the identity of the draw (variables sharing it are drawn together). A
//! `Cumulant` of variables is estimated by sampling, with a standard error:
//!
//! ```
//! use circuit::eval::evaluate;
//! use circuit::ir::{Circuit, Tensor};
//! use circuit::sample::{RandomSampleSpec, Sampler};
//!
//! let data = Circuit::array(Tensor::from_vec(&[4], vec![1.0f32, 2., 3., 4.])?, Some("data"))?;
//! let x = Circuit::discrete_var(data, Circuit::uniform_probs_and_group(4)?)?.rename(Some("x"))?;
//! let sampler = Sampler::new(RandomSampleSpec::new(&[2000]).with_base_seed(1));
//! let (mean, se) = sampler.estimate_with_error(&Circuit::cumulant(vec![x])?)?;
//! let (mean, se) = (evaluate(&mean)?.to_f64_vec()[0], evaluate(&se)?.to_f64_vec()[0]);
//! assert!((mean - 2.5).abs() < 4.0 * se, "{mean} ± {se}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Scrubbing a path replaces the data that reaches the model along that path by data
//! from an independent draw, and leaves every other path alone. Here the model computes
//! `x * x` along two paths; scrubbing one of them turns `E[x²]` into `E[x]²`:
//!
//! ```
//! use circuit::eval::evaluate;
//! use circuit::ir::{Circuit, Tensor};
//! use circuit::matching::IterativeMatcher;
//! use circuit::sample::{RunDiscreteVarAllSpec, Sampler};
//! use circuit::scrub::scrub_input;
//!
//! let data = Circuit::array(Tensor::from_vec(&[2], vec![1.0f64, 3.0])?, Some("data"))?;
//! let x = Circuit::discrete_var(data.clone(), Circuit::uniform_probs_and_group(2)?)?.rename(Some("x"))?;
//! let other = Circuit::discrete_var(data, Circuit::uniform_probs_and_group(2)?)?.rename(Some("x_other"))?;
//! let model = Circuit::einsum(",->", [x.clone(), x.clone()])?.rename(Some("sq"))?;
//! let scrubbed = scrub_input(&model, IterativeMatcher::from("sq").children_matcher([1]), &x, &other)?;
//! let exact = |c: &Circuit| -> Result<f64, Box<dyn std::error::Error>> {
//!     let k = Circuit::cumulant(vec![c.clone()])?;
//!     let spec = RunDiscreteVarAllSpec::create_full_from_circuits(&[k.clone()])?;
//!     Ok(evaluate(&Sampler::new(spec).estimate(&k)?)?.to_f64_vec()[0])
//! };
//! assert_eq!(exact(&model)?, 5.0); // E[x²] = (1 + 9) / 2
//! assert_eq!(exact(&scrubbed)?, 4.0); // E[x]·E[x] = 2 · 2
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The full method — hypotheses as trees of interpretation nodes matched to model paths,
//! conditional samplers, loss recovered — is `circuit::scrub::Experiment`; the main job
//! (`cargo run --release --example induction`) runs it on the bundled model.
