//! Add rules: drop, flatten, fold and deduplicate operands, and pull pure-broadcast axes
//! out of an Add. Fixtures: `fixtures/rewrite/add/`.

use circuit_ir::kinds::Axes;
use circuit_ir::{Circuit, Name, Op, Result, Shape};

use super::removable::{pull_common_axes, removable_axes, remove_axes};
use super::util::{build, einsum_op, is_zero_scalar, rebuild, same_shape, scalar, scalar_value};

pub use crate::flatten::add_flatten;

/// `Add() == 0` and `Add(x) == x`: an Add with no operands becomes a zero Scalar (named
/// like the Add), one with a single operand of the same shape becomes that operand.
/// Fixture: `add/few-input.circ`.
///
/// # Errors
/// Never in practice (building a Scalar).
pub fn remove_add_few_input(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Add) {
        return Ok(None);
    }
    match node.children() {
        [] => Ok(Some(scalar(0.0, node.shape(), node.name_arc())?)),
        [child] if child.shape() == node.shape() => Ok(Some(child.clone())),
        _ => Ok(None),
    }
}

/// `x + 0 == x`: drops zero Scalar operands when the Add's shape stays the same (at
/// least one operand is kept). Fixture: `add/elim-zeros.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn add_elim_zeros(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Add) || !node.children().iter().any(is_zero_scalar) {
        return Ok(None);
    }
    let kept: Vec<Circuit> =
        node.children().iter().filter(|c| !is_zero_scalar(c)).cloned().collect();
    if kept.is_empty() {
        return Ok(None);
    }
    let out = rebuild(node, Op::Add, kept)?;
    Ok(same_shape(node, out))
}

/// `s1 + s2 == (s1 + s2)`: two or more Scalar operands become one Scalar holding the sum,
/// with the broadcast of their shapes, placed last. Fixture: `add/collapse-scalars.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn add_collapse_scalar_inputs(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Add) {
        return Ok(None);
    }
    let scalars: Vec<&Circuit> =
        node.children().iter().filter(|c| scalar_value(c).is_some()).collect();
    if scalars.len() < 2 {
        return Ok(None);
    }
    let sum: f64 = scalars.iter().filter_map(|c| scalar_value(c)).sum();
    let shapes: Vec<&Shape> = scalars.iter().map(|c| c.shape()).collect();
    let Some(shape) = broadcast(&shapes) else { return Ok(None) };
    let mut kept: Vec<Circuit> =
        node.children().iter().filter(|c| scalar_value(c).is_none()).cloned().collect();
    kept.push(scalar(sum, &shape, None)?);
    let out = rebuild(node, Op::Add, kept)?;
    Ok(same_shape(node, out))
}

/// Right-aligned NumPy broadcast of shapes.
pub(crate) fn broadcast(shapes: &[&Shape]) -> Option<Shape> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out: Shape = smallvec::smallvec![1; rank];
    for s in shapes {
        let off = rank - s.len();
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[off + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return None;
            }
        }
    }
    Some(out)
}

/// `x + x == 2 x`: an operand that occurs k > 1 times is kept once, multiplied by a
/// rank-0 Scalar `count_from_dedup` = k (the product is named `X_mul_count`). Operands
/// keep their first-occurrence order. Fixture: `add/deduplicate.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn add_deduplicate(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Add) {
        return Ok(None);
    }
    let mut counts: Vec<(Circuit, usize)> = Vec::new();
    for c in node.children() {
        match counts.iter_mut().find(|(x, _)| x == c) {
            Some((_, n)) => *n += 1,
            None => counts.push((c.clone(), 1)),
        }
    }
    if counts.len() == node.children().len() {
        return Ok(None);
    }
    let mut children = Vec::with_capacity(counts.len());
    for (c, n) in counts {
        children.push(if n == 1 {
            c
        } else {
            scalar_mul(&c, n as f64, "_mul_count", "count_from_dedup")?
        });
    }
    let out = rebuild(node, Op::Add, children)?;
    Ok(same_shape(node, out))
}

/// `c * k` as an Einsum with a rank-0 Scalar named `scalar_name`, the product named
/// `X<suffix>`.
pub(crate) fn scalar_mul(c: &Circuit, k: f64, suffix: &str, scalar_name: &str) -> Result<Circuit> {
    let axes: Axes = (0..c.rank()).map(super::util::label).collect::<Result<_>>()?;
    let s = scalar(k, &[], Some(&Name::from(scalar_name)))?;
    let name = super::util::suffixed(c, suffix);
    build(einsum_op(vec![axes.clone(), Axes::new()], axes), vec![c.clone(), s], name.as_ref())
}

/// `x a + x b == x (a + b)`: operands that are the same circuit times a rank-0 Scalar
/// (an Einsum `ab,->ab`; a bare `x` counts as `x · 1`) are merged into one product
/// `X_fused_mul` with the summed factor. Fixture: `add/fuse-scalar-multiples.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn add_fuse_scalar_multiples(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Add) {
        return Ok(None);
    }
    let mut groups: Vec<(Circuit, f64, usize)> = Vec::new();
    for c in node.children() {
        let (base, k) = as_scalar_multiple(c);
        match groups.iter_mut().find(|(b, _, _)| *b == base) {
            Some(g) => {
                g.1 += k;
                g.2 += 1;
            }
            None => groups.push((base, k, 1)),
        }
    }
    if groups.iter().all(|g| g.2 == 1) {
        return Ok(None);
    }
    let mut children = Vec::with_capacity(groups.len());
    let mut singles = node.children().iter();
    for (base, k, n) in groups {
        if n == 1 {
            // The original operand (not its decomposition).
            let orig = singles.find(|c| as_scalar_multiple(c).0 == base).cloned();
            children.push(orig.unwrap_or(base));
        } else {
            children.push(scalar_mul(&base, k, "_fused_mul", "fused_scalar")?);
        }
    }
    let out = rebuild(node, Op::Add, children)?;
    Ok(same_shape(node, out))
}

/// `x · k` → `(x, k)`; anything else `(c, 1)`.
fn as_scalar_multiple(c: &Circuit) -> (Circuit, f64) {
    if let Op::Einsum(e) = c.op() {
        if let [a, b] = c.children() {
            for (x, s, xi) in [(a, b, 0), (b, a, 1)] {
                let sv = scalar_value(s).filter(|_| s.rank() == 0);
                if let Some(k) = sv {
                    let axes = &e.in_axes[xi];
                    if axes[..] == e.out_axes[..] && super::util::distinct(axes) {
                        return (x.clone(), k);
                    }
                }
            }
        }
    }
    (c.clone(), 1.0)
}

/// Pulls axes along which every operand is a pure broadcast (a Scalar dim, a repeat
/// dim of a Rearrange, a size-1 or missing dim) out of the Add: the Add is computed
/// without them and one repeat Rearrange (`(X) rearrange`) re-adds them. Operands lose
/// the axes as `X_rem_ax`. Fixture: `add/pull-removable-axes.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn add_pull_removable_axes(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Add) || node.children().is_empty() {
        return Ok(None);
    }
    let rank = node.rank();
    let mut common: Vec<bool> = vec![true; rank];
    for c in node.children() {
        let off = rank - c.rank();
        let rem = removable_axes(c);
        for (d, flag) in common.iter_mut().enumerate() {
            if d >= off {
                let i = d - off;
                let broadcast = c.shape()[i] == 1 && node.shape()[d] != 1;
                *flag &= rem[i] || broadcast;
            }
        }
    }
    let axes: Vec<usize> = (0..rank).filter(|&d| common[d] && node.shape()[d] != 0).collect();
    if axes.is_empty() {
        return Ok(None);
    }
    let mut children = Vec::with_capacity(node.children().len());
    for c in node.children() {
        let off = rank - c.rank();
        let own: Vec<usize> = axes.iter().filter(|&&d| d >= off).map(|&d| d - off).collect();
        children.push(remove_axes(c, &own)?);
    }
    let inner = rebuild(node, Op::Add, children)?;
    pull_common_axes(node, inner, &axes)
}

/// Shrinks Scalar operands by leading axes the other operands already give the Add, so
/// the Add's broadcasting supplies them. The
/// shrunk Scalar is named `X_rem_ax`. Fixture: `add/elim-removable-axes-weak.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn add_elim_removable_axes_weak(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Add) {
        return Ok(None);
    }
    let rank = node.rank();
    let mut changed = false;
    let mut children = node.children().to_vec();
    for i in 0..children.len() {
        let Some(v) = scalar_value(&children[i]) else { continue };
        let others: Vec<&Shape> =
            children.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, c)| c.shape()).collect();
        let Some(cover) = broadcast(&others) else { continue };
        let c = &children[i];
        let off = rank - c.rank();
        let covered_from = rank - cover.len();
        // Leading dims the other operands already give the Add can go.
        let lead = (0..c.rank())
            .take_while(|&k| {
                let o = off + k;
                o >= covered_from && cover[o - covered_from] == node.shape()[o]
            })
            .count();
        let shape: Shape = c.shape()[lead..].iter().copied().collect();
        if &shape != c.shape() {
            let name = super::util::suffixed(c, "_rem_ax");
            children[i] = scalar(v, &shape, name.as_ref())?;
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    let out = rebuild(node, Op::Add, children)?;
    Ok(same_shape(node, out))
}
