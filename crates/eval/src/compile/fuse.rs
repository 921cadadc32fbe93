//! Step fusion after lowering: patterns of steps that a single kernel computes with far
//! less memory traffic.
//!
//! Elementwise chains become one [`Kernel::Map`] step (`fuse_map.rs`); and the
//! next-token loss of a language model:
//! `gen_index(log_softmax(contract(a, b)), targets)` along the logits' last axis
//! becomes [`Kernel::ContractLogSoftmaxPick`], which folds each tile of the logits into
//! a running log-sum-exp while the GEMM produces it (the logits, `tokens x vocab`, are
//! by far the largest tensor of such a plan and are never stored). A step is only
//! absorbed when the fused step is its only reader, so no other step loses a value.

use std::collections::HashMap;

use circuit_ir::kinds::{GfSpec, SimpleFn};
use circuit_tensor::DType;

use crate::gather::normalize_dim;
use crate::kernel::{BufId, Kernel, Label, Step};

/// Applies every fusion to `steps` (in execution order, `output` the plan's result).
pub(crate) fn fuse(steps: Vec<Step>, output: BufId) -> Vec<Step> {
    let steps = fuse_log_softmax_pick(steps, output);
    super::fuse_map::fuse_elementwise(steps, output)
}

fn distinct(ls: &[Label]) -> bool {
    ls.iter().enumerate().all(|(i, l)| !ls[..i].contains(l))
}

/// Whether `contract(a, b -> out)` is a plain matrix product whose rows are `a`'s free
/// labels (in `out` order) and whose last `out` label is `b`'s only free label.
fn is_row_matmul(a: &[Label], b: &[Label], out: &[Label]) -> bool {
    let Some((n, rows)) = out.split_last() else { return false };
    distinct(a)
        && distinct(b)
        && distinct(out)
        && !a.contains(n)
        && b.contains(n)
        && rows.iter().all(|l| a.contains(l) && !b.contains(l))
        && a.iter().all(|l| out.contains(l) || b.contains(l))
        && b.iter().all(|l| l == n || a.contains(l))
}

fn fuse_log_softmax_pick(mut steps: Vec<Step>, output: BufId) -> Vec<Step> {
    let mut readers: HashMap<BufId, usize> = HashMap::new();
    for s in &steps {
        for &b in &s.inputs {
            *readers.entry(b).or_default() += 1;
        }
    }
    let producer: HashMap<BufId, usize> =
        steps.iter().enumerate().map(|(i, s)| (s.output, i)).collect();
    // A buffer read by exactly one step and not the plan's result, and its producer.
    let private = |b: BufId| -> Option<usize> {
        (readers.get(&b) == Some(&1) && b != output).then(|| producer.get(&b).copied())?
    };
    let mut absorbed = vec![false; steps.len()];
    for p in 0..steps.len() {
        let pick = &steps[p];
        let Kernel::Function(GfSpec::GenIndex {
            index_dim, batch_x: true, batch_index: true, ..
        }) = pick.kernel
        else {
            continue;
        };
        let (&[logp, targets], DType::F32) = (pick.inputs.as_slice(), pick.dtype) else {
            continue;
        };
        let Some(ls) = private(logp) else { continue };
        let soft = &steps[ls];
        if !matches!(soft.kernel, Kernel::Function(GfSpec::Simple(SimpleFn::LogSoftmax)))
            || soft.dtype != DType::F32
        {
            continue;
        }
        let Some(cs) = soft.inputs.first().copied().and_then(private) else { continue };
        let contract = &steps[cs];
        let Kernel::Contract { a, b, out, alpha } = &contract.kernel else { continue };
        let rank = contract.shape.len();
        let targets_shape = producer.get(&targets).map(|&t| steps[t].shape.as_slice());
        let rows_shape = &contract.shape[..rank.saturating_sub(1)];
        if contract.dtype != DType::F32
            || contract.inputs.len() != 2
            || !is_row_matmul(a, b, out)
            || normalize_dim(index_dim, 1) != Some(0)
            || targets_shape != Some(rows_shape)
            || pick.shape != rows_shape
        {
            continue;
        }
        let fused = Step {
            kernel: Kernel::ContractLogSoftmaxPick {
                a: a.clone(),
                b: b.clone(),
                logits: out.clone(),
                alpha: *alpha,
            },
            inputs: vec![contract.inputs[0], contract.inputs[1], targets],
            output: pick.output,
            shape: pick.shape.clone(),
            dtype: DType::F32,
            node: pick.node.clone(),
            flops: contract.flops + soft.flops + pick.flops,
        };
        absorbed[cs] = true;
        absorbed[ls] = true;
        steps[p] = fused;
    }
    steps.into_iter().zip(absorbed).filter(|(_, gone)| !gone).map(|(s, _)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_matmul_shapes() {
        // bsm,vm->bsv: rows b s, k = m, n = v.
        assert!(is_row_matmul(&[0, 1, 2], &[3, 2], &[0, 1, 3]));
        // Output with the vocab label not last.
        assert!(!is_row_matmul(&[0, 1, 2], &[3, 2], &[0, 3, 1]));
        // A batch label shared by both operands.
        assert!(!is_row_matmul(&[0, 1, 2], &[0, 3, 2], &[0, 1, 3]));
        // A label summed out of one operand only.
        assert!(!is_row_matmul(&[0, 1, 2, 4], &[3, 2], &[0, 1, 3]));
        // Two free labels of b.
        assert!(!is_row_matmul(&[0, 2], &[3, 2, 4], &[0, 4, 3]));
        // Repeated labels (a diagonal).
        assert!(!is_row_matmul(&[0, 0, 2], &[3, 2], &[0, 3]));
        assert!(!is_row_matmul(&[], &[], &[]));
    }
}
