//! [`pairwise_plan`]: how to run one pairwise step as a batched GEMM.

use crate::error::{EinsumError, Result};
use crate::Label;

/// The roles of the labels of a pairwise contraction `a, b -> out`, so that it can run as
/// `sum_a`/`sum_b` pre-reductions followed by one batched matrix product
/// `[batch, M, K] x [batch, K, N] -> [batch, M, N]` and a final permutation to `out`.
///
/// All lists hold distinct labels (repeated labels within an operand are treated as one: the
/// evaluator takes such diagonals first).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PairwiseGemm {
    /// Labels in `a`, `b` and `out` (in `out` order).
    pub batch: Vec<Label>,
    /// Labels in `a` and `out` but not `b` (in `out` order).
    pub m: Vec<Label>,
    /// Labels in `b` and `out` but not `a` (in `out` order).
    pub n: Vec<Label>,
    /// Labels in `a` and `b` but not `out`: the contracted dimension (in `a` order).
    pub k: Vec<Label>,
    /// Labels only in `a` (not `b`, not `out`): sum them out of `a` first (in `a` order).
    pub sum_a: Vec<Label>,
    /// Labels only in `b` (not `a`, not `out`): sum them out of `b` first (in `b` order).
    pub sum_b: Vec<Label>,
}

impl PairwiseGemm {
    /// The label order the GEMM naturally produces: `batch`, then `m`, then `n`. Every
    /// non-final [`crate::ContractionStep::result`] of an optimized path is in exactly this
    /// order for its two operands.
    pub fn gemm_output(&self) -> Vec<Label> {
        self.batch.iter().chain(&self.m).chain(&self.n).copied().collect()
    }

    /// Whether the step is a plain outer product (no batch and no contracted labels).
    pub fn is_outer(&self) -> bool {
        self.batch.is_empty() && self.k.is_empty()
    }
}

fn distinct(labels: &[Label]) -> Vec<Label> {
    let mut v: Vec<Label> = Vec::with_capacity(labels.len());
    for &l in labels {
        if !v.contains(&l) {
            v.push(l);
        }
    }
    v
}

/// Classifies the labels of the pairwise contraction `a, b -> out` (see [`PairwiseGemm`]).
/// Fails when an `out` label is in neither operand.
pub fn pairwise_plan(a: &[Label], b: &[Label], out: &[Label]) -> Result<PairwiseGemm> {
    let (a, b, out) = (distinct(a), distinct(b), distinct(out));
    let mut plan = PairwiseGemm::default();
    for &l in &out {
        match (a.contains(&l), b.contains(&l)) {
            (true, true) => plan.batch.push(l),
            (true, false) => plan.m.push(l),
            (false, true) => plan.n.push(l),
            (false, false) => return Err(EinsumError::PairwiseOutputLabel { label: l }),
        }
    }
    for &l in a.iter().filter(|l| !out.contains(l)) {
        if b.contains(&l) {
            plan.k.push(l);
        } else {
            plan.sum_a.push(l);
        }
    }
    plan.sum_b = b.iter().copied().filter(|l| !out.contains(l) && !a.contains(l)).collect();
    Ok(plan)
}
