//! Rearrange rules: identities, Scalars, and permutations merged into Einsums. Fixtures:
//! `fixtures/rewrite/rearrange/`.

use circuit_ir::kinds::{Axes, RearrangeSpec};
use circuit_ir::{Circuit, Op, Result};

use super::util::{einsum_op, rebuild, same_shape, scalar_like, scalar_value};

pub use crate::rearrange::rearrange_fuse;

/// Whether `spec` maps its input (of `shape`) to an equal output: same shape and the
/// same row-major sequence of ints once size-1 ints are dropped.
pub(crate) fn is_value_identity(spec: &RearrangeSpec, shape: &[usize]) -> bool {
    if spec.is_identity() {
        return true;
    }
    let (Ok(sizes), Ok(out_shape)) = (spec.conform(shape), spec.output_shape(shape)) else {
        return false;
    };
    if out_shape.as_slice() != shape {
        return false;
    }
    let seq = |groups: &[smallvec::SmallVec<[u8; 4]>]| -> Vec<u8> {
        groups.iter().flatten().copied().filter(|&i| sizes[usize::from(i)] != 1).collect()
    };
    seq(&spec.input_ints) == seq(&spec.output_ints)
}

/// `rearrange(a b -> a b, x) == x`, also for specs that regroup without moving data
/// (`(a b) -> (a b)`). Fixture: `rearrange/elim-identity.circ`.
///
/// # Errors
/// Never.
pub fn rearrange_elim_identity(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Rearrange(r) = node.op() else { return Ok(None) };
    let child = &node.children()[0];
    Ok(is_value_identity(&r.spec, child.shape()).then(|| child.clone()))
}

/// `rearrange(s) == s'` for a Scalar `s`: a Scalar of the Rearrange's shape, named like
/// the Rearrange. Fixture: `rearrange/merge-scalar.circ`.
///
/// # Errors
/// Never in practice.
pub fn rearrange_merge_scalar(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Rearrange(_)) {
        return Ok(None);
    }
    match scalar_value(&node.children()[0]) {
        Some(v) => Ok(Some(scalar_like(node, v)?)),
        None => Ok(None),
    }
}

/// `permute(einsum(..->ab)) == einsum(..->ba)`: a permutation Rearrange of an Einsum
/// becomes the Einsum with permuted output labels, named like the Rearrange. Fixture:
/// `rearrange/permute-of-einsum-merge.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn permute_of_einsum_merge(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Rearrange(r) = node.op() else { return Ok(None) };
    let inner = &node.children()[0];
    let Op::Einsum(e) = inner.op() else { return Ok(None) };
    if !r.spec.is_permute() {
        return Ok(None);
    }
    let mut out_axes = Axes::new();
    for g in &r.spec.output_ints {
        let Some(i) = r.spec.input_ints.iter().position(|x| x[0] == g[0]) else {
            return Ok(None);
        };
        out_axes.push(e.out_axes[i]);
    }
    let out = rebuild(node, einsum_op(e.in_axes.clone(), out_axes), inner.children().to_vec())?;
    Ok(same_shape(node, out))
}
