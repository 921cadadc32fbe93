//! # Evaluation
//!
//! [`evaluate`](crate::eval::evaluate) runs any constant, explicitly computable circuit
//! on the CPU (float32 unless the circuit's arrays say otherwise):
//!
//! ```
//! use circuit::eval::evaluate;
//! use circuit::ir::Circuit;
//! use circuit::ir::kinds::SimpleFn;
//!
//! let a = Circuit::scalar(1.0, &[2, 3], Some("a"))?;
//! let b = Circuit::scalar(2.0, &[3, 4], Some("b"))?;
//! let ab = Circuit::einsum("ab,bc->ac", [a, b])?;
//! assert_eq!(evaluate(&ab)?.to_f64_vec(), vec![6.0; 8]);
//! let p = ab.apply(SimpleFn::Softmax)?;
//! assert!((evaluate(&p)?.to_f64_vec()[0] - 0.25).abs() < 1e-6);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Under the hood, [`compile`](crate::eval::compile) turns the circuit into a
//! [`Plan`](crate::eval::Plan): modules substituted, simplified, einsums split along an
//! optimized contraction path into GEMMs, every distinct node computed once, each
//! buffer freed after its last use. `explain()` shows it, and a memory budget makes
//! the plan work in chunks instead of failing:
//!
//! ```
//! use circuit::eval::{compile, CpuBackend, EvalSettings};
//! use circuit::ir::Circuit;
//!
//! let x = Circuit::scalar(0.5, &[64, 512], Some("x"))?;
//! let w = Circuit::scalar(0.25, &[512, 512], Some("w"))?;
//! // A [64, 512] intermediate reduced to a [64] output: the budget forces row chunks.
//! let h = Circuit::einsum("ab,bc->ac", [x, w])?.apply(circuit::ir::kinds::SimpleFn::Tanh)?;
//! let y = Circuit::einsum("ac->a", [h])?;
//! let plan = compile(&y, &EvalSettings::default())?;
//! assert!(plan.explain().contains("predicted peak memory"));
//! let budget = plan.peak_memory() / 2;
//! let small = compile(&y, &EvalSettings { max_memory: Some(budget), ..EvalSettings::default() })?;
//! assert!(small.peak_memory() <= budget);
//! let (a, b) = (plan.run(&CpuBackend::new())?, small.run(&CpuBackend::new())?);
//! for (p, q) in a.to_f64_vec().iter().zip(b.to_f64_vec()) {
//!     assert!((p - q).abs() < 1e-3);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
