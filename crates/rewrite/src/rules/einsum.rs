//! Einsum rules: zeros, identities, scalar factors, permutations, flattening and
//! pure-broadcast axes. Fixtures: `fixtures/rewrite/einsum/`.

use circuit_ir::kinds::Axes;
use circuit_ir::{Circuit, Op, Result};

use super::removable::{pull_common_axes, removable_axes, remove_axes};
use super::util::{distinct, einsum_op, rebuild, same_shape, scalar, scalar_like, scalar_value};

pub use crate::flatten::einsum_flatten;
pub use crate::flatten::einsum_of_permute_merge;

/// `x · 0 == 0`: an Einsum with a zero Scalar operand becomes a zero Scalar of its shape
/// (named like the Einsum). Fixture: `einsum/elim-zero.circ`.
///
/// # Errors
/// Never in practice.
pub fn einsum_elim_zero(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Einsum(_))
        || !node.children().iter().any(super::util::is_zero_scalar)
    {
        return Ok(None);
    }
    Ok(Some(scalar_like(node, 0.0)?))
}

/// `einsum(ab->ab, x) == x` and `einsum(->) == 1`. Fixture: `einsum/elim-identity.circ`.
///
/// # Errors
/// Never in practice.
pub fn einsum_elim_identity(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Einsum(e) = node.op() else { return Ok(None) };
    match node.children() {
        [] => Ok(Some(scalar_like(node, 1.0)?)),
        [child] if distinct(&e.in_axes[0]) && e.in_axes[0] == e.out_axes => Ok(Some(child.clone())),
        _ => Ok(None),
    }
}

fn rank0_scalar(c: &Circuit, axes: &Axes) -> Option<f64> {
    scalar_value(c).filter(|_| axes.is_empty())
}

/// `x · a · b == x · (a b)`: two or more rank-0 Scalar operands become one (unnamed)
/// holding their product, placed last. Fixture: `einsum/merge-scalars.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn einsum_merge_scalars(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Einsum(e) = node.op() else { return Ok(None) };
    let pairs: Vec<(&Circuit, &Axes)> = node.children().iter().zip(&e.in_axes).collect();
    let n = pairs.iter().filter(|(c, a)| rank0_scalar(c, a).is_some()).count();
    if n < 2 {
        return Ok(None);
    }
    let product: f64 = pairs.iter().filter_map(|(c, a)| rank0_scalar(c, a)).product();
    let (mut children, mut in_axes): (Vec<Circuit>, Vec<Axes>) = pairs
        .iter()
        .filter(|(c, a)| rank0_scalar(c, a).is_none())
        .map(|(c, a)| ((*c).clone(), (*a).clone()))
        .unzip();
    children.push(scalar(product, &[], None)?);
    in_axes.push(Axes::new());
    let out = rebuild(node, einsum_op(in_axes, e.out_axes.clone()), children)?;
    Ok(same_shape(node, out))
}

/// `x · 1 == x`: drops rank-0 Scalar operands equal to 1. Fixture:
/// `einsum/remove-one.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn einsum_remove_one(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Einsum(e) = node.op() else { return Ok(None) };
    let is_one = |(c, a): &(&Circuit, &Axes)| rank0_scalar(c, a) == Some(1.0);
    let pairs: Vec<(&Circuit, &Axes)> = node.children().iter().zip(&e.in_axes).collect();
    if !pairs.iter().any(is_one) {
        return Ok(None);
    }
    let (children, in_axes): (Vec<Circuit>, Vec<Axes>) =
        pairs.iter().filter(|p| !is_one(p)).map(|(c, a)| ((*c).clone(), (*a).clone())).unzip();
    let out = rebuild(node, einsum_op(in_axes, e.out_axes.clone()), children)?;
    Ok(same_shape(node, out))
}

/// `einsum(ab->ba, x) == rearrange(a b -> b a, x)`: a one-operand Einsum that only
/// permutes (no repeated or summed labels) becomes a Rearrange with the Einsum's name.
/// Fixture: `einsum/permute-to-rearrange.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn einsum_permute_to_rearrange(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Einsum(e) = node.op() else { return Ok(None) };
    let [child] = node.children() else { return Ok(None) };
    let ins = &e.in_axes[0];
    if !distinct(ins)
        || !distinct(&e.out_axes)
        || ins.len() != e.out_axes.len()
        || ins == &e.out_axes
    {
        return Ok(None);
    }
    let mut perm = Vec::with_capacity(ins.len());
    for l in &e.out_axes {
        let Some(p) = ins.iter().position(|x| x == l) else { return Ok(None) };
        perm.push(p);
    }
    let out = super::util::permute(child, &perm, node.name_arc())?;
    Ok(same_shape(node, out))
}

/// `Σ_a concat(x, y)_a ... == Σ_a x_a ... + Σ_a y_a ...`: when the concat axis of a
/// Concat operand carries a label that is summed and occurs nowhere else, the Einsum
/// becomes an Add (named like the Einsum) of one autonamed Einsum per part. Fixture:
/// `einsum/concat-to-add.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn einsum_concat_to_add(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Einsum(e) = node.op() else { return Ok(None) };
    for (i, (child, axes)) in node.children().iter().zip(&e.in_axes).enumerate() {
        let Op::Concat(c) = child.op() else { continue };
        let l = axes[c.axis];
        let count = e.in_axes.iter().flatten().filter(|&&x| x == l).count();
        if count != 1 || e.out_axes.contains(&l) {
            continue;
        }
        let mut terms = Vec::with_capacity(child.children().len());
        for part in child.children() {
            let mut kids = node.children().to_vec();
            kids[i] = part.clone();
            terms.push(Circuit::new(node.op().clone(), kids, None)?);
        }
        let out = rebuild(node, Op::Add, terms)?;
        return Ok(same_shape(node, out));
    }
    Ok(None)
}

/// Strips pure-broadcast axes (see `add_pull_removable_axes`) from operands: a stripped
/// label still carried by another operand just disappears from this one; a summed label
/// carried by nothing else becomes a factor of its size (an unnamed rank-0 Scalar); an
/// output label carried by nothing else is re-added by a repeat Rearrange on top
/// (`(X) rearrange`). Fixture: `einsum/pull-removable-axes.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn einsum_pull_removable_axes(node: &Circuit) -> Result<Option<Circuit>> {
    strip_removable(node, true)
}

/// Like `einsum_pull_removable_axes`, but only strips an axis whose label another
/// operand still carries (so no factor and no Rearrange is needed). Fixture:
/// `einsum/elim-removable-axes-weak.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn einsum_elim_removable_axes_weak(node: &Circuit) -> Result<Option<Circuit>> {
    strip_removable(node, false)
}

fn strip_removable(node: &Circuit, strong: bool) -> Result<Option<Circuit>> {
    let Op::Einsum(e) = node.op() else { return Ok(None) };
    let children = node.children();
    // Per operand, the positions we strip. Repeated labels within one operand (diagonals)
    // are left alone.
    let mut strip: Vec<Vec<usize>> = vec![Vec::new(); children.len()];
    let mut carried: Vec<usize> = vec![0; 256];
    for axes in &e.in_axes {
        for &l in axes {
            carried[usize::from(l)] += 1;
        }
    }
    for (i, (c, axes)) in children.iter().zip(&e.in_axes).enumerate() {
        let rem = removable_axes(c);
        for (p, &l) in axes.iter().enumerate() {
            let once_here = axes.iter().filter(|&&x| x == l).count() == 1;
            // A label repeated in the output is a diagonal, not a broadcast: keep it.
            let once_out = e.out_axes.iter().filter(|&&x| x == l).count() <= 1;
            // Size-0 axes stay: without them the operand could be huge.
            if rem[p] && once_here && once_out && c.shape()[p] != 0 {
                let elsewhere = carried[usize::from(l)] > 1;
                if elsewhere || strong {
                    carried[usize::from(l)] -= 1;
                    strip[i].push(p);
                }
            }
        }
    }
    if strip.iter().all(Vec::is_empty) {
        return Ok(None);
    }
    let mut sizes: Vec<Option<usize>> = vec![None; 256];
    for (c, axes) in children.iter().zip(&e.in_axes) {
        for (&l, &d) in axes.iter().zip(c.shape()) {
            sizes[usize::from(l)] = Some(d);
        }
    }
    let mut new_children = Vec::with_capacity(children.len() + 1);
    let mut in_axes = Vec::with_capacity(children.len() + 1);
    for ((c, axes), s) in children.iter().zip(&e.in_axes).zip(&strip) {
        new_children.push(remove_axes(c, s)?);
        in_axes.push(
            axes.iter()
                .enumerate()
                .filter(|(p, _)| !s.contains(p))
                .map(|(_, &l)| l)
                .collect::<Axes>(),
        );
    }
    let present: Vec<u8> = in_axes.iter().flatten().copied().collect();
    let remaining = |l: u8| present.contains(&l);
    // Summed labels that vanished: multiply by their sizes.
    let mut factor = 1.0;
    let mut vanished: Vec<u8> =
        e.in_axes.iter().flatten().copied().filter(|&l| !remaining(l)).collect();
    vanished.sort_unstable();
    vanished.dedup();
    for &l in &vanished {
        if !e.out_axes.contains(&l) {
            factor *= sizes[usize::from(l)].unwrap_or(1) as f64;
        }
    }
    if factor != 1.0 {
        new_children.push(scalar(factor, &[], None)?);
        in_axes.push(Axes::new());
    }
    let out_kept: Axes = e.out_axes.iter().copied().filter(|&l| remaining(l)).collect();
    let pulled: Vec<usize> =
        e.out_axes.iter().enumerate().filter(|(_, &l)| !remaining(l)).map(|(d, _)| d).collect();
    let inner = rebuild(node, einsum_op(in_axes, out_kept), new_children)?;
    if pulled.is_empty() {
        return Ok(same_shape(node, inner));
    }
    pull_common_axes(node, inner, &pulled)
}
