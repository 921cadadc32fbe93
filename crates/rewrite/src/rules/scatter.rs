//! Scatter rules: identity scatters, Scatter of Scatter and pure-broadcast axes.
//! Fixtures: `fixtures/rewrite/scatter/`.

use circuit_ir::kinds::{Scatter, Slice, TensorAxisIndex};
use circuit_ir::{Circuit, Op, Result};

use super::removable::{pull_common_axes, removable_axes, remove_axes};
use super::util::{rebuild, same_shape};

fn bounds(e: &TensorAxisIndex) -> Option<(usize, usize)> {
    match e {
        TensorAxisIndex::Slice(Slice { start: Some(a), stop: Some(b) }) => {
            Some((usize::try_from(*a).ok()?, usize::try_from(*b).ok()?))
        }
        _ => None,
    }
}

fn slice(a: usize, b: usize) -> TensorAxisIndex {
    TensorAxisIndex::Slice(Slice { start: Some(a as i64), stop: Some(b as i64) })
}

/// `scatter(x) == x` when the scatter writes `x` over the whole output. Fixture:
/// `scatter/elim-identity.circ`.
///
/// # Errors
/// Never.
pub fn scatter_elim_identity(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Scatter(_) = node.op() else { return Ok(None) };
    let child = &node.children()[0];
    Ok((child.shape() == node.shape()).then(|| child.clone()))
}

/// `scatter(scatter(x)) == scatter(x)` with the offsets added, named like the outer
/// Scatter. Fixture: `scatter/fuse.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn scatter_fuse(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Scatter(outer) = node.op() else { return Ok(None) };
    let inner_node = &node.children()[0];
    let Op::Scatter(inner) = inner_node.op() else { return Ok(None) };
    let mut index = Vec::with_capacity(outer.index.len());
    for (o, i) in outer.index.iter().zip(&inner.index) {
        let (Some((ao, _)), Some((ai, bi))) = (bounds(o), bounds(i)) else { return Ok(None) };
        index.push(slice(ao + ai, ao + bi));
    }
    let op = Op::Scatter(Scatter { index, shape: outer.shape.clone() });
    let out = rebuild(node, op, vec![inner_node.children()[0].clone()])?;
    Ok(same_shape(node, out))
}

/// Pulls axes that the Scatter writes in full and along which its child is a pure
/// broadcast out of the Scatter (see `add_pull_removable_axes`). Fixture:
/// `scatter/pull-removable-axes.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn scatter_pull_removable_axes(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Scatter(s) = node.op() else { return Ok(None) };
    let child = &node.children()[0];
    let rem = removable_axes(child);
    let axes: Vec<usize> = (0..node.rank())
        .filter(|&d| {
            rem[d] && node.shape()[d] != 0 && bounds(&s.index[d]) == Some((0, node.shape()[d]))
        })
        .collect();
    if axes.is_empty() {
        return Ok(None);
    }
    let small = remove_axes(child, &axes)?;
    let index: Vec<TensorAxisIndex> = s
        .index
        .iter()
        .enumerate()
        .filter(|(d, _)| !axes.contains(d))
        .map(|(_, e)| e.clone())
        .collect();
    let shape = super::util::remove_dims(&s.shape, &axes);
    let inner = rebuild(node, Op::Scatter(Scatter { index, shape }), vec![small])?;
    pull_common_axes(node, inner, &axes)
}

/// `scatter(x) + scatter(y) == scatter(x' + y')`: an Add of Scatters (all of the Add's
/// shape) becomes one Scatter (autonamed `(X) scatter`) over the bounding box of the
/// written regions, of an Add (named like the Add) of smaller Scatters. Only when the box
/// is smaller than the output. Fixture: `scatter/add-pull-scatter.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn add_pull_scatter(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Add) || node.children().is_empty() {
        return Ok(None);
    }
    let rank = node.rank();
    let mut lo = vec![usize::MAX; rank];
    let mut hi = vec![0usize; rank];
    for c in node.children() {
        let Op::Scatter(s) = c.op() else { return Ok(None) };
        if c.shape() != node.shape() {
            return Ok(None);
        }
        for (d, e) in s.index.iter().enumerate() {
            let Some((a, b)) = bounds(e) else { return Ok(None) };
            lo[d] = lo[d].min(a);
            hi[d] = hi[d].max(b);
        }
    }
    let full = (0..rank).all(|d| lo[d] == 0 && hi[d] == node.shape()[d]);
    if full || (0..rank).any(|d| lo[d] > hi[d]) {
        return Ok(None);
    }
    let box_shape: circuit_ir::Shape = (0..rank).map(|d| hi[d] - lo[d]).collect();
    let mut kids = Vec::with_capacity(node.children().len());
    for c in node.children() {
        let Op::Scatter(s) = c.op() else { return Ok(None) };
        let mut index = Vec::with_capacity(rank);
        for (d, e) in s.index.iter().enumerate() {
            let Some((a, b)) = bounds(e) else { return Ok(None) };
            index.push(slice(a - lo[d], b - lo[d]));
        }
        let op = Op::Scatter(Scatter { index, shape: box_shape.clone() });
        kids.push(rebuild(c, op, c.children().to_vec())?);
    }
    let inner = rebuild(node, Op::Add, kids)?;
    let outer_index: Vec<TensorAxisIndex> = (0..rank).map(|d| slice(lo[d], hi[d])).collect();
    let op = Op::Scatter(Scatter { index: outer_index, shape: node.shape().clone() });
    let out = Circuit::new(op, vec![inner], None)?;
    Ok(same_shape(node, out))
}

/// `einsum(scatter(x), y) == scatter(einsum(x, y[s]))`: a Scatter operand of an Einsum is
/// replaced by its child; operands sharing a label of a written slice are indexed to the
/// slice, and output labels among them are scattered back by one Scatter on top
/// (autonamed `(X) scatter`; the Einsum keeps its name). Not applied when such a label is
/// repeated in an operand or in the output. Fixture: `scatter/einsum-pull-scatter.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn einsum_pull_scatter(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Einsum(e) = node.op() else { return Ok(None) };
    let Some(k) = node.children().iter().position(|c| matches!(c.op(), Op::Scatter(_))) else {
        return Ok(None);
    };
    let sc = &node.children()[k];
    let Op::Scatter(s) = sc.op() else { return Ok(None) };
    // label -> (start, stop) of the written slice
    let mut window: Vec<Option<(usize, usize)>> = vec![None; 256];
    for (d, (&l, entry)) in e.in_axes[k].iter().zip(&s.index).enumerate() {
        let Some((a, b)) = bounds(entry) else { return Ok(None) };
        if (a, b) == (0, sc.shape()[d]) {
            continue;
        }
        let repeated = e.in_axes.iter().any(|axes| axes.iter().filter(|&&x| x == l).count() > 1)
            || e.out_axes.iter().filter(|&&x| x == l).count() > 1;
        if repeated || window[usize::from(l)].is_some() {
            return Ok(None);
        }
        window[usize::from(l)] = Some((a, b));
    }
    let mut kids = Vec::with_capacity(node.children().len());
    for (i, (c, axes)) in node.children().iter().zip(&e.in_axes).enumerate() {
        if i == k {
            kids.push(sc.children()[0].clone());
            continue;
        }
        let entries: Vec<TensorAxisIndex> = axes
            .iter()
            .map(|&l| window[usize::from(l)].map_or(TensorAxisIndex::FULL, |(a, b)| slice(a, b)))
            .collect();
        if entries.iter().all(TensorAxisIndex::is_identity) {
            kids.push(c.clone());
        } else {
            let op = Op::Index(circuit_ir::kinds::Index { index: entries });
            kids.push(Circuit::new(op, vec![c.clone()], None)?);
        }
    }
    let inner = rebuild(node, node.op().clone(), kids)?;
    let mut index = Vec::with_capacity(node.rank());
    let mut any = false;
    for (&l, &len) in e.out_axes.iter().zip(node.shape()) {
        match window[usize::from(l)] {
            Some((a, b)) => {
                any = true;
                index.push(slice(a, b));
            }
            None => index.push(slice(0, len)),
        }
    }
    if !any {
        return Ok(same_shape(node, inner));
    }
    let op = Op::Scatter(Scatter { index, shape: node.shape().clone() });
    let out = Circuit::new(op, vec![inner], None)?;
    Ok(same_shape(node, out))
}
