//! [`fold_scalars`]: constant folding of Scalar leaves inside Einsums and Adds.

use circuit_ir::kinds::{Axes, Einsum, Scalar};
use circuit_ir::{Circuit, Op, Shape};

use crate::compiler::{rebuild, PassResult as Result};

/// Folds Scalars:
///
/// * **Einsum with Scalar operands**: all Scalar operands become one rank-0 Scalar whose
///   value is the product of their values times the size of every label that only
///   Scalars carry and that is summed away (each such label is a sum of equal terms).
///   The factor is dropped when it is exactly 1 and another operand remains. Not applied
///   when a label only Scalars carry is an output label (it would lose the output size)
///   or when the result would be unchanged.
/// * **Einsum of only Scalars** (no repeated output label): one Scalar of the output
///   shape.
/// * **Add of only Scalars**: one Scalar (the sum) of the output shape.
///
/// (A zero Scalar factor is *not* folded to zero: `0 * inf` is NaN.)
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn fold_scalars(node: &Circuit) -> Result<Option<Circuit>> {
    match node.op() {
        Op::Add => fold_add(node),
        Op::Einsum(e) => fold_einsum(node, e),
        _ => Ok(None),
    }
}

fn scalar_value(c: &Circuit) -> Option<f64> {
    match c.op() {
        Op::Scalar(s) => Some(s.value),
        _ => None,
    }
}

fn scalar_node(node: &Circuit, value: f64, shape: Shape) -> Result<Circuit> {
    rebuild(node, Op::Scalar(Scalar { value, shape }), vec![])
}

fn fold_add(node: &Circuit) -> Result<Option<Circuit>> {
    if node.children().is_empty() || node.dtype().is_some() {
        return Ok(None);
    }
    let mut sum = 0.0;
    for c in node.children() {
        let Some(v) = scalar_value(c) else { return Ok(None) };
        sum += v;
    }
    Ok(Some(scalar_node(node, sum, node.shape().clone())?))
}

fn fold_einsum(node: &Circuit, e: &Einsum) -> Result<Option<Circuit>> {
    let children = node.children();
    let is_scalar: Vec<bool> = children.iter().map(|c| scalar_value(c).is_some()).collect();
    let n_scalars = is_scalar.iter().filter(|&&s| s).count();
    if n_scalars == 0 {
        return Ok(None);
    }
    let out_distinct = e.out_axes.iter().enumerate().all(|(i, a)| !e.out_axes[..i].contains(a));
    if n_scalars == children.len() {
        if !out_distinct {
            return Ok(None);
        }
        // Every term of the sum is the same product; count the terms.
        let value: f64 = children.iter().filter_map(scalar_value).product::<f64>()
            * summed_count(e, node, |_| true);
        return Ok(Some(scalar_node(node, value, node.shape().clone())?));
    }
    // Labels carried only by Scalar operands.
    let carried_by_tensor =
        |l: u8| e.in_axes.iter().zip(&is_scalar).any(|(axes, &s)| !s && axes.contains(&l));
    let mut scalar_only: Vec<u8> = e
        .in_axes
        .iter()
        .zip(&is_scalar)
        .filter(|(_, &s)| s)
        .flat_map(|(a, _)| a.iter().copied())
        .filter(|&l| !carried_by_tensor(l))
        .collect();
    scalar_only.sort_unstable();
    scalar_only.dedup();
    if scalar_only.iter().any(|l| e.out_axes.contains(l)) {
        return Ok(None);
    }
    // Already one rank-0 factor other than 1: nothing to do.
    let single_rank0 = n_scalars == 1
        && children
            .iter()
            .zip(&e.in_axes)
            .any(|(c, a)| a.is_empty() && scalar_value(c).is_some_and(|v| v != 1.0));
    if single_rank0 {
        return Ok(None);
    }
    let mut value: f64 = children.iter().filter_map(scalar_value).product();
    value *= summed_count(e, node, |l| scalar_only.contains(&l));
    let mut in_axes: Vec<Axes> = Vec::new();
    let mut kids: Vec<Circuit> = Vec::new();
    for ((c, axes), &s) in children.iter().zip(&e.in_axes).zip(&is_scalar) {
        if !s {
            in_axes.push(axes.clone());
            kids.push(c.clone());
        }
    }
    if value != 1.0 {
        in_axes.push(Axes::new());
        kids.push(Circuit::scalar(value, &[], None)?);
    }
    let op = Op::Einsum(Einsum { in_axes, out_axes: e.out_axes.clone() });
    let out = rebuild(node, op, kids)?;
    Ok((out.shape() == node.shape() && out.dtype() == node.dtype()).then_some(out))
}

/// Product of the sizes of the distinct summed labels (not in the output) selected by
/// `pick`.
fn summed_count(e: &Einsum, node: &Circuit, pick: impl Fn(u8) -> bool) -> f64 {
    let mut labels: Vec<(u8, usize)> = Vec::new();
    for (axes, child) in e.in_axes.iter().zip(node.children()) {
        for (&l, &size) in axes.iter().zip(child.shape().iter()) {
            if !e.out_axes.contains(&l) && pick(l) && !labels.iter().any(|(x, _)| *x == l) {
                labels.push((l, size));
            }
        }
    }
    labels.iter().map(|&(_, s)| s as f64).product()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x() -> Circuit {
        Circuit::symbol(&[2, 3], circuit_ir::Uuid::nil(), Some("x")).unwrap()
    }

    fn spec(c: &Circuit) -> String {
        match c.op() {
            Op::Einsum(e) => e.to_spec_string(),
            _ => c.kind().name().to_string(),
        }
    }

    #[test]
    fn scalars_become_one_factor() {
        let two = Circuit::scalar(2.0, &[], None).unwrap();
        let three = Circuit::scalar(3.0, &[4], None).unwrap();
        let e = Circuit::einsum_from_axes(
            vec![(x(), vec![0, 1]), (two, vec![]), (three, vec![5])],
            &[0],
            None,
        )
        .unwrap();
        let out = fold_scalars(&e).unwrap().unwrap();
        assert_eq!(spec(&out), "ab,->a");
        assert_eq!(scalar_value(&out.children()[1]), Some(24.0));
        assert_eq!(fold_scalars(&out).unwrap(), None);
    }

    #[test]
    fn unit_factor_disappears() {
        let one = Circuit::scalar(1.0, &[], None).unwrap();
        let e = Circuit::einsum_from_axes(vec![(x(), vec![0, 1]), (one, vec![])], &[1, 0], None)
            .unwrap();
        let out = fold_scalars(&e).unwrap().unwrap();
        assert_eq!(spec(&out), "ab->ba");
    }

    #[test]
    fn scalar_only_output_label_is_kept() {
        let s = Circuit::scalar(3.0, &[4], None).unwrap();
        let e = Circuit::einsum_from_axes(vec![(x(), vec![0, 1]), (s, vec![2])], &[0, 2], None)
            .unwrap();
        assert_eq!(fold_scalars(&e).unwrap(), None);
    }

    #[test]
    fn all_scalar_nodes_fold() {
        let a = Circuit::scalar(3.0, &[4], None).unwrap();
        let b = Circuit::scalar(0.5, &[4], None).unwrap();
        let e = Circuit::einsum("a,a->", [a.clone(), b.clone()]).unwrap();
        assert_eq!(scalar_value(&fold_scalars(&e).unwrap().unwrap()), Some(6.0));
        let s = a.add(&b).unwrap();
        assert_eq!(scalar_value(&fold_scalars(&s).unwrap().unwrap()), Some(3.5));
    }
}
