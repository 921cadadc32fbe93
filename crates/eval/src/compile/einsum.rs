//! Einsum lowering: Scalar operands fold into a factor, the contraction order comes from
//! `circuit-einsum`'s path optimizer, and each path step becomes a `Reduce` (one
//! operand) or `Contract` (two operands, a batched GEMM) kernel. A final `Expand` makes
//! diagonal outputs (repeated output labels) and broadcasts labels only Scalars carry.

use std::collections::BTreeMap;

use circuit_einsum::{optimize, EinsumSpec, PathOptions};
use circuit_ir::kinds::Einsum;
use circuit_ir::{Circuit, Op};
use circuit_tensor::DType;

use super::lower::Lowerer;
use crate::kernel::{BufId, Kernel, Label};
use crate::{EvalError, Result};

fn distinct(labels: &[Label]) -> Vec<Label> {
    let mut out: Vec<Label> = Vec::with_capacity(labels.len());
    for &l in labels {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// Lowers one Einsum node; returns the buffer of its value.
pub(crate) fn lower(
    lw: &mut Lowerer<'_>,
    node: &Circuit,
    e: &Einsum,
    dtype: DType,
) -> Result<BufId> {
    let mut sizes: BTreeMap<Label, u64> = BTreeMap::new();
    for (child, axes) in node.children().iter().zip(&e.in_axes) {
        for (&l, &s) in axes.iter().zip(child.shape().iter()) {
            sizes.insert(Label::from(l), s as u64);
        }
    }
    let mut alpha = 1.0f64;
    let mut scalar_labels: Vec<Label> = Vec::new();
    let mut operands: Vec<(BufId, Vec<Label>)> = Vec::new();
    for (child, axes) in node.children().iter().zip(&e.in_axes) {
        let labels: Vec<Label> = axes.iter().map(|&l| Label::from(l)).collect();
        if let Op::Scalar(s) = child.op() {
            alpha *= s.value;
            scalar_labels.extend(labels);
        } else {
            operands.push((lw.value(child, dtype)?, labels));
        }
    }
    let out: Vec<Label> = e.out_axes.iter().map(|&l| Label::from(l)).collect();
    let in_tensors = |l: &Label| operands.iter().any(|(_, ls)| ls.contains(l));
    // A label only Scalars carry and that is summed contributes `size` equal terms.
    for l in distinct(&scalar_labels) {
        if !in_tensors(&l) && !out.contains(&l) {
            alpha *= sizes.get(&l).copied().unwrap_or(1) as f64;
        }
    }
    let target: Vec<Label> = distinct(&out).into_iter().filter(|l| in_tensors(l)).collect();
    let (buf, labels) = if operands.is_empty() {
        let b = lw.emit(node, Kernel::Fill { value: alpha }, vec![], vec![], dtype, 0);
        (b, Vec::new())
    } else {
        contract(lw, node, operands, &target, &sizes, alpha, dtype)?
    };
    if labels == out {
        return Ok(buf);
    }
    let kernel = Kernel::Expand { input: labels, output: out };
    Ok(lw.emit(node, kernel, vec![buf], node.shape().to_vec(), dtype, 0))
}

fn shape_of(labels: &[Label], sizes: &BTreeMap<Label, u64>) -> Vec<usize> {
    labels.iter().map(|l| sizes.get(l).copied().unwrap_or(1) as usize).collect()
}

/// Runs the contraction path; returns the result buffer and its labels (`target`).
fn contract(
    lw: &mut Lowerer<'_>,
    node: &Circuit,
    operands: Vec<(BufId, Vec<Label>)>,
    target: &[Label],
    sizes: &BTreeMap<Label, u64>,
    alpha: f64,
    dtype: DType,
) -> Result<(BufId, Vec<Label>)> {
    let internal =
        |e: circuit_einsum::EinsumError| EvalError::internal(&node.node_ref(), e.to_string());
    let spec = EinsumSpec::new(
        operands.iter().map(|(_, l)| l.clone()).collect(),
        target.to_vec(),
        sizes.clone(),
    )
    .map_err(internal)?;
    let elem = dtype.size_in_bytes() as u64;
    let opts = PathOptions {
        memory_limit: lw.settings.max_single_tensor.map(|b| u128::from(b / elem.max(1))),
        ..PathOptions::default()
    };
    let path = optimize(&spec, &opts).map_err(internal)?;
    let mut current = operands;
    let n_steps = path.steps.len();
    for (k, step) in path.steps.iter().enumerate() {
        let a = if k + 1 == n_steps { alpha } else { 1.0 };
        let mut positions = step.operands.clone();
        positions.sort_unstable();
        let mut taken: Vec<(BufId, Vec<Label>)> = Vec::with_capacity(2);
        for &p in positions.iter().rev() {
            if p >= current.len() {
                return Err(EvalError::internal(&node.node_ref(), "contraction path out of range"));
            }
            taken.push(current.remove(p));
        }
        taken.reverse();
        let mut result = step.result.clone();
        if k + 1 != n_steps {
            // Intermediates follow the final output's label order (labels still to be
            // summed go last): later elementwise steps then read them contiguously
            // instead of through a transpose.
            result.sort_by_key(|l| target.iter().position(|t| t == l).unwrap_or(usize::MAX));
        }
        let shape = shape_of(&result, sizes);
        let produced = match taken.as_slice() {
            [(b, l)] if *l == result && a == 1.0 => *b,
            [(b, l)] => {
                let kernel = Kernel::Reduce { input: l.clone(), output: result.clone(), alpha: a };
                lw.emit(node, kernel, vec![*b], shape, dtype, step.flops)
            }
            [(ba, la), (bb, lb)] => {
                let kernel = Kernel::Contract {
                    a: la.clone(),
                    b: lb.clone(),
                    out: result.clone(),
                    alpha: a,
                };
                lw.emit(node, kernel, vec![*ba, *bb], shape, dtype, step.flops)
            }
            _ => return Err(EvalError::internal(&node.node_ref(), "malformed contraction step")),
        };
        current.push((produced, result));
    }
    let (buf, labels) = current
        .pop()
        .ok_or_else(|| EvalError::internal(&node.node_ref(), "empty contraction path"))?;
    if labels == target {
        return Ok((buf, labels));
    }
    // The optimizer's last step uses the output order; permute defensively otherwise.
    let kernel = Kernel::Reduce { input: labels, output: target.to_vec(), alpha: 1.0 };
    let b = lw.emit(node, kernel, vec![buf], shape_of(target, sizes), dtype, 0);
    Ok((b, target.to_vec()))
}
