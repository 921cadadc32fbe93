//! Evaluation of circuits: compile, then run.
//!
//! ```text
//! Circuit ──compile──▶ Plan ──run on a Backend──▶ Tensor
//!   substitute modules → simplify (circuit-rewrite) → resolve dtypes →
//!   lower nodes to kernels (einsums through the contraction-path optimizer) →
//!   linear schedule, each buffer freed after its last use → fit the memory budget
//!   (batching) → run (CpuBackend: GEMMs via matrixmultiply, rayon)
//! ```
//!
//! * [`evaluate`] / [`evaluate_with`]: the one-call API.
//! * [`compile`] → [`Plan`] (inspect with [`Plan::explain`]: every step with its FLOPs,
//!   output bytes and live memory, and the predicted peak) → [`Plan::run`] on a
//!   [`Backend`] ([`CpuBackend`] here; one plan runs on any backend).
//! * [`EvalSettings`]: memory budgets, threads, the default dtype.
//! * [`EvalError`]: every failure names the node it is about.
//! * [`reference`](mod@reference): slow, obviously correct implementations used as test oracles.
//!
//! Semantics follow rust_circuit (see `shared/reference/rust_circuit.md` §1.11, §6):
//! Einsum with diagonals/traces and diagonal outputs, broadcasting Add, Rearrange as
//! einops repeat, Index with independent tensor axes, Scatter, Concat, every
//! GeneralFunction, Conv, constant Cumulants, Tag as identity. Dtypes: float32 (the
//! default for nodes the circuit leaves open), float64, int64.

mod backend;
mod batch;
mod compile;
pub mod cpu;
mod error;
pub mod gather;
mod kernel;
pub mod layout;
mod plan;
pub mod reference;
mod schedule;
mod settings;

pub use backend::Backend;
pub use compile::compile;
pub use cpu::{CpuBackend, CpuBuffer};
pub use error::{EvalError, Result};
pub use kernel::{is_valid_program, BufId, Kernel, Label, MapInstr, Step};
pub use plan::Plan;
pub use settings::EvalSettings;

use circuit_ir::Circuit;
use circuit_tensor::Tensor;

/// Evaluates a circuit with default settings on the CPU.
///
/// # Errors
/// See [`EvalError`].
pub fn evaluate(circuit: &Circuit) -> Result<Tensor> {
    evaluate_with(circuit, &EvalSettings::default())
}

/// Evaluates a circuit with the given settings on the CPU.
///
/// # Errors
/// See [`EvalError`].
pub fn evaluate_with(circuit: &Circuit, settings: &EvalSettings) -> Result<Tensor> {
    let plan = compile(circuit, settings)?;
    let backend = CpuBackend::with_threads(settings.threads)?;
    plan.run(&backend)
}
