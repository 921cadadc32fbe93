//! The compiler: circuit → [`Plan`].
//!
//! Pipeline, in order:
//! 1. **substitute modules** (`Circuit::substitute_all_modules`), then check that the
//!    result is evaluable (else [`EvalError::NotEvaluable`] naming the Symbol or
//!    variable below);
//! 2. **simplify** with `circuit-rewrite`'s [`COMPILER_PASSES`] (flatten nested
//!    Adds/Einsums, absorb permutations, fold Scalars, fuse Rearranges, drop identities);
//! 3. **resolve dtypes** (`dtype.rs`);
//! 4. **lower** every node to kernels (`lower.rs`), each Einsum through the contraction
//!    path optimizer (`einsum.rs`); the order is a depth-first toposort, so the schedule
//!    is linear and each buffer is freed after its last use (`schedule.rs`);
//!    then **fuse** step patterns into single kernels (`fuse.rs`: the next-token loss
//!    `gen_index(log_softmax(contraction))` into one pass that never stores the logits;
//!    `fuse_map.rs`: chains of elementwise steps into one map program);
//! 5. **fit the memory budget**: if the predicted peak or the largest tensor is over
//!    budget, split the computation into chunks (`batch.rs`).

mod dtype;
pub(crate) mod einsum;
mod fuse;
mod fuse_map;
pub(crate) mod lower;

use circuit_ir::{Circuit, Kind};
use circuit_rewrite::{simplify, COMPILER_PASSES};

use crate::{EvalError, EvalSettings, Plan, Result};

/// Compiles a circuit into a plan.
///
/// # Errors
/// [`EvalError::NotEvaluable`] for circuits with Symbols or random variables below,
/// [`EvalError::TensorLoad`] when an Array's data cannot be loaded,
/// [`EvalError::OutOfMemory`] when no batching fits the budget.
pub fn compile(circuit: &Circuit, settings: &EvalSettings) -> Result<Plan> {
    let root = circuit.node_ref();
    let c = circuit
        .substitute_all_modules()
        .map_err(EvalError::ir(format!("substituting the modules of {root}")))?;
    check_evaluable(&c, &root)?;
    let c = if settings.simplify {
        simplify(&c, COMPILER_PASSES).map_err(EvalError::ir(format!("simplifying {root}")))?
    } else {
        c
    };
    let plan = lower::lower(&c, settings, &root)?;
    if crate::batch::fits(&plan, settings) {
        return Ok(plan);
    }
    crate::batch::batch_to_fit(&c, settings, &root, &plan)
}

/// Why a node has no value (for [`EvalError::NotEvaluable`]).
pub(crate) fn culprit_reason(node: &Circuit) -> String {
    match node.kind() {
        Kind::Symbol => "a Symbol is a placeholder without a value; bind it with a Module".into(),
        Kind::DiscreteVar | Kind::StoredCumulantVar => {
            "a random variable; sample it or take a Cumulant of constants".into()
        }
        Kind::SetSymbolicShape => "its shape is symbolic".into(),
        Kind::Cumulant => "a cumulant of random variables must be estimated by sampling".into(),
        k => format!("a {} that is not explicitly computable", k.name()),
    }
}

fn check_evaluable(c: &Circuit, root: &str) -> Result<()> {
    if c.is_evaluable() {
        return Ok(());
    }
    // The first node (children first) that is not evaluable although its children are.
    let culprit = c
        .toposort()
        .into_iter()
        .find(|n| !n.is_evaluable() && n.children().iter().all(Circuit::is_evaluable))
        .unwrap_or_else(|| c.clone());
    Err(EvalError::NotEvaluable {
        node: root.to_string(),
        culprit: culprit.node_ref(),
        reason: culprit_reason(&culprit),
    })
}
