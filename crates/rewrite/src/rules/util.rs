//! Small helpers shared by the rules: reading Scalars, building nodes with a given
//! name, and label bookkeeping.

use circuit_ir::kinds::{Axes, Einsum, Rearrange, RearrangeSpec, Scalar};
use circuit_ir::{Circuit, IrError, Name, Op, Result, Shape};
use smallvec::SmallVec;

/// The value of a Scalar node.
pub(crate) fn scalar_value(c: &Circuit) -> Option<f64> {
    match c.op() {
        Op::Scalar(s) => Some(s.value),
        _ => None,
    }
}

/// Whether `c` is a Scalar holding exactly zero.
pub(crate) fn is_zero_scalar(c: &Circuit) -> bool {
    scalar_value(c) == Some(0.0)
}

/// A Scalar with a name.
pub(crate) fn scalar(value: f64, shape: &[usize], name: Option<&Name>) -> Result<Circuit> {
    Circuit::build(
        Op::Scalar(Scalar { value, shape: shape.iter().copied().collect() }),
        vec![],
        name.cloned(),
        false,
    )
}

/// A Scalar replacing `node` (same shape and name).
pub(crate) fn scalar_like(node: &Circuit, value: f64) -> Result<Circuit> {
    scalar(value, node.shape(), node.name_arc())
}

/// Builds a node with exactly the given name.
pub(crate) fn build(op: Op, children: Vec<Circuit>, name: Option<&Name>) -> Result<Circuit> {
    Circuit::build(op, children, name.cloned(), false)
}

/// Builds a node named like `node`.
pub(crate) fn rebuild(node: &Circuit, op: Op, children: Vec<Circuit>) -> Result<Circuit> {
    Circuit::build(op, children, node.name_arc().cloned(), false)
}

/// `Some(out)` when `out` keeps `node`'s shape (a guard every rule applies).
pub(crate) fn same_shape(node: &Circuit, out: Circuit) -> Option<Circuit> {
    (out.shape() == node.shape() && out != *node).then_some(out)
}

/// A name with a suffix (`X_suffix`), when the base has a name.
pub(crate) fn suffixed(c: &Circuit, suffix: &str) -> Option<Name> {
    c.name().map(|n| Name::from(format!("{n}{suffix}")))
}

/// Whether no label repeats.
pub(crate) fn distinct(axes: &[u8]) -> bool {
    axes.iter().enumerate().all(|(i, a)| !axes[..i].contains(a))
}

/// An Einsum payload.
pub(crate) fn einsum_op(in_axes: Vec<Axes>, out_axes: Axes) -> Op {
    Op::Einsum(Einsum { in_axes, out_axes })
}

/// A group of one int.
pub(crate) fn g1(i: usize) -> Result<SmallVec<[u8; 4]>> {
    let i = u8::try_from(i).map_err(|_| IrError::Rearrange {
        node: String::new(),
        msg: "more than 256 rearrange ints".into(),
    })?;
    Ok(SmallVec::from_slice(&[i]))
}

/// A label as `u8`.
pub(crate) fn label(i: usize) -> Result<u8> {
    u8::try_from(i).map_err(|_| IrError::Invalid {
        kind: "Einsum",
        node: String::new(),
        msg: "more than 256 einsum labels".into(),
    })
}

/// A permutation Rearrange: output dim `j` is input dim `perm[j]`.
pub(crate) fn permute(child: &Circuit, perm: &[usize], name: Option<&Name>) -> Result<Circuit> {
    let r = child.rank();
    let input: Vec<SmallVec<[u8; 4]>> = (0..r).map(g1).collect::<Result<_>>()?;
    let output: Vec<SmallVec<[u8; 4]>> = perm.iter().map(|&p| g1(p)).collect::<Result<_>>()?;
    let spec = RearrangeSpec::new(input, output, vec![None; r])?;
    build(Op::Rearrange(Rearrange { spec }), vec![child.clone()], name)
}

/// The shape with the given dims removed.
pub(crate) fn remove_dims(shape: &[usize], dims: &[usize]) -> Shape {
    shape.iter().enumerate().filter(|(i, _)| !dims.contains(i)).map(|(_, &s)| s).collect()
}
