//! Contraction paths: [`ContractionStep`] and [`ContractionPath`], the cost model they are
//! reported in, and [`ContractionPath::validate`], which replays a path against a spec.

use std::collections::BTreeSet;

use smallvec::SmallVec;

use crate::error::{EinsumError, Result};
use crate::problem::{Builder, Problem};
use crate::spec::EinsumSpec;
use crate::Label;

/// opt_einsum 3.4's `helpers.flop_count`: the cost of one contraction step that involves the
/// labels of `involved_size` (their product of sizes), combines `num_terms` operands and sums
/// away at least one label iff `inner`:
/// `involved_size * (max(1, num_terms - 1) + inner)`. Saturates at `u128::MAX`.
///
/// So a pairwise step costs the product of the sizes of every label in either operand, doubled
/// when any label is summed away (one multiply and one add per element), and a one-operand step
/// costs its operand's size, doubled when it sums a label.
pub fn flop_count(involved_size: u128, inner: bool, num_terms: usize) -> u128 {
    let factor = num_terms.saturating_sub(1).max(1) + usize::from(inner);
    involved_size.saturating_mul(factor as u128)
}

/// One step of a contraction path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContractionStep {
    /// Positions, in the *current* operand list, of the operands this step contracts (one or
    /// two, ascending). opt_einsum's "recycled id" convention: the contracted operands are
    /// removed from the list and the step's result is appended at its end.
    pub operands: Vec<usize>,
    /// Labels of the result, without repeats: the labels of the contracted operands that the
    /// output or any remaining operand still needs. Order: the last step uses the output's
    /// distinct labels in output order; a one-operand step keeps its operand's order; a
    /// pairwise step lists batch labels (in both operands), then labels only in the first
    /// operand, then labels only in the second, each group in operand order, i.e. the natural
    /// layout of a batched GEMM result (see [`crate::pairwise_plan`]).
    pub result: Vec<Label>,
    /// Cost of this step in opt_einsum's model (see [`flop_count`]).
    pub flops: u128,
    /// Number of elements of the result.
    pub result_size: u128,
}

/// A complete contraction order for an [`EinsumSpec`].
///
/// Replaying `steps` from the spec's inputs leaves exactly one operand whose label set is the
/// output's (none for zero inputs). A single input still gets one one-operand step (which may
/// be an identity, a transposition, a diagonal or a reduction).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ContractionPath {
    /// The steps in execution order.
    pub steps: Vec<ContractionStep>,
    /// Sum of the steps' `flops` (saturating).
    pub total_flops: u128,
    /// Largest `result_size` of any step, the final output included (opt_einsum's "largest
    /// intermediate"); 0 without steps.
    pub largest_intermediate: u128,
    /// Whether some step other than the last produces more elements than the requested
    /// memory limit (the optimizer found no path within the limit and returned its best one).
    pub exceeds_memory_limit: bool,
}

impl ContractionPath {
    /// Costs a given path, in opt_einsum's list-of-positions form (each step one or two
    /// positions in the current operand list), for `spec`. Fails when a step is malformed or
    /// the path does not end with the output (a single input needs one step, `[[0]]`).
    pub fn from_positions(spec: &EinsumSpec, positions: &[Vec<usize>]) -> Result<Self> {
        spec.validate()?;
        let problem = Problem::new(spec);
        let mut b = Builder::new(&problem, true);
        let mut current: Vec<usize> = (0..problem.leaves.len()).collect();
        for (k, step) in positions.iter().enumerate() {
            let distinct: BTreeSet<usize> = step.iter().copied().collect();
            if step.is_empty() || step.len() > 2 || distinct.len() != step.len() {
                return Err(EinsumError::InvalidPath(format!(
                    "step {k}: {step:?} must name 1 or 2 distinct positions"
                )));
            }
            let mut ids = SmallVec::new();
            for &pos in distinct.iter().rev() {
                if pos >= current.len() {
                    return Err(EinsumError::InvalidPath(format!(
                        "step {k}: position {pos} out of {}",
                        current.len()
                    )));
                }
                ids.push(current.remove(pos));
            }
            ids.reverse();
            current.push(b.record(ids));
        }
        let path = b.finish(None);
        path.validate(spec)?;
        Ok(path)
    }

    /// The path in opt_einsum's list-of-tuples form (each step's `operands`).
    pub fn positions(&self) -> Vec<Vec<usize>> {
        self.steps.iter().map(|s| s.operands.clone()).collect()
    }

    /// Replays the path against `spec` and checks that every step is well formed (one or two
    /// distinct, in-range operand positions; a result that keeps exactly the labels still
    /// needed, without repeats; `flops` and `result_size` as the cost model says) and that it
    /// ends with a single operand holding exactly the output's labels.
    pub fn validate(&self, spec: &EinsumSpec) -> Result<()> {
        let bad = |msg: String| Err(EinsumError::InvalidPath(msg));
        spec.validate()?;
        let mut current: Vec<BTreeSet<Label>> =
            spec.inputs.iter().map(|t| t.iter().copied().collect()).collect();
        let output: BTreeSet<Label> = spec.output.iter().copied().collect();
        let mut total: u128 = 0;
        let mut largest: u128 = 0;
        for (k, step) in self.steps.iter().enumerate() {
            let ops = &step.operands;
            let distinct: BTreeSet<usize> = ops.iter().copied().collect();
            if ops.is_empty() || ops.len() > 2 || distinct.len() != ops.len() {
                return bad(format!("step {k}: operands {ops:?} must be 1 or 2 distinct"));
            }
            if let Some(&p) = ops.iter().find(|&&p| p >= current.len()) {
                return bad(format!("step {k}: position {p} out of {}", current.len()));
            }
            let mut sorted: Vec<usize> = distinct.into_iter().collect();
            sorted.reverse();
            let taken: Vec<BTreeSet<Label>> = sorted.iter().map(|&p| current.remove(p)).collect();
            let either: BTreeSet<Label> = taken.iter().flatten().copied().collect();
            let needed: BTreeSet<Label> = either
                .iter()
                .copied()
                .filter(|l| output.contains(l) || current.iter().any(|s| s.contains(l)))
                .collect();
            let result: BTreeSet<Label> = step.result.iter().copied().collect();
            if result.len() != step.result.len() || result != needed {
                return bad(format!(
                    "step {k}: result {:?} but the labels still needed are {needed:?}",
                    step.result
                ));
            }
            let either_vec: Vec<Label> = either.iter().copied().collect();
            let flops = flop_count(spec.size_of(&either_vec), either != result, ops.len());
            let size = spec.size_of(&step.result);
            if flops != step.flops || size != step.result_size {
                return bad(format!(
                    "step {k}: flops/result_size {}/{} but the model says {flops}/{size}",
                    step.flops, step.result_size
                ));
            }
            total = total.saturating_add(flops);
            largest = largest.max(size);
            current.push(result);
        }
        let expected_len = usize::from(!spec.inputs.is_empty());
        if current.len() != expected_len {
            return bad(format!("{} operands remain at the end", current.len()));
        }
        if current.first().is_some_and(|last| *last != output) {
            return bad("the final operand's labels differ from the output's".to_owned());
        }
        if total != self.total_flops || largest != self.largest_intermediate {
            return bad("total_flops or largest_intermediate disagree with the steps".to_owned());
        }
        Ok(())
    }
}
