//! Concat rules: single children, uniform Scalars, empty parts, nested Concats, repeats,
//! contiguous slices of one node, and zero padding. Fixtures: `fixtures/rewrite/concat/`.

use circuit_ir::kinds::{Concat, Index, Rearrange, RearrangeSpec, Scatter, Slice, TensorAxisIndex};
use circuit_ir::{Circuit, Op, Result};
use smallvec::SmallVec;

use super::removable::{pull_common_axes, removable_axes, remove_axes};
use super::util::{g1, is_zero_scalar, rebuild, same_shape, scalar_like, scalar_value};

/// `concat(x) == x`. Fixture: `concat/elim-identity.circ`.
///
/// # Errors
/// Never.
pub fn concat_elim_identity(node: &Circuit) -> Result<Option<Circuit>> {
    match (node.op(), node.children()) {
        (Op::Concat(_), [child]) => Ok(Some(child.clone())),
        _ => Ok(None),
    }
}

/// `concat(s, s) == s'` when every part is a Scalar with the same value: one Scalar of
/// the Concat's shape (named like the Concat). Fixture: `concat/merge-uniform.circ`.
///
/// # Errors
/// Never in practice.
pub fn concat_merge_uniform(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Concat(_)) {
        return Ok(None);
    }
    let values: Vec<Option<f64>> = node.children().iter().map(scalar_value).collect();
    match values.first() {
        Some(Some(v)) if values.iter().all(|x| x.is_some_and(|y| y.to_bits() == v.to_bits())) => {
            Ok(Some(scalar_like(node, *v)?))
        }
        _ => Ok(None),
    }
}

/// `concat(x, empty) == concat(x)`: drops parts of size 0 along the axis (one part is
/// always kept). Fixture: `concat/drop-size-zero.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn concat_drop_size_zero(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Concat(c) = node.op() else { return Ok(None) };
    let kept: Vec<Circuit> =
        node.children().iter().filter(|x| x.shape()[c.axis] != 0).cloned().collect();
    if kept.len() == node.children().len() {
        return Ok(None);
    }
    let kept = if kept.is_empty() { node.children()[..1].to_vec() } else { kept };
    let out = rebuild(node, node.op().clone(), kept)?;
    Ok(same_shape(node, out))
}

/// `concat(concat(a, b), c) == concat(a, b, c)` along the same axis. Fixture:
/// `concat/fuse.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn concat_fuse(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Concat(c) = node.op() else { return Ok(None) };
    let same = |x: &Circuit| matches!(x.op(), Op::Concat(i) if i.axis == c.axis);
    if !node.children().iter().any(same) {
        return Ok(None);
    }
    let mut kids = Vec::new();
    for x in node.children() {
        if same(x) {
            kids.extend(x.children().iter().cloned());
        } else {
            kids.push(x.clone());
        }
    }
    let out = rebuild(node, node.op().clone(), kids)?;
    Ok(same_shape(node, out))
}

/// `concat(x, x, x) == repeat(x)`: a run of k ≥ 2 equal consecutive parts becomes one
/// Rearrange `(k a)` (autonamed `X rearrange`). Fixture: `concat/repeat-to-rearrange.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn concat_repeat_to_rearrange(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Concat(c) = node.op() else { return Ok(None) };
    let kids = node.children();
    if !kids.windows(2).any(|w| w[0] == w[1]) {
        return Ok(None);
    }
    let mut out_kids = Vec::new();
    let mut i = 0;
    while i < kids.len() {
        let mut j = i + 1;
        while j < kids.len() && kids[j] == kids[i] {
            j += 1;
        }
        out_kids.push(if j - i > 1 {
            repeat_axis(&kids[i], c.axis, j - i)?
        } else {
            kids[i].clone()
        });
        i = j;
    }
    let out = if out_kids.len() == 1 {
        // One run: the repeat is the whole Concat and takes its name.
        let whole = out_kids.pop().unwrap_or_else(|| node.clone());
        whole.rename(node.name())?
    } else {
        rebuild(node, node.op().clone(), out_kids)?
    };
    Ok(same_shape(node, out))
}

/// `x` repeated `k` times along `axis` (`a -> (k a)`).
fn repeat_axis(x: &Circuit, axis: usize, k: usize) -> Result<Circuit> {
    let r = x.rank();
    let input: Vec<SmallVec<[u8; 4]>> = (0..r).map(g1).collect::<Result<_>>()?;
    let mut output = input.clone();
    let mut group: SmallVec<[u8; 4]> = g1(r)?;
    group.extend(input[axis].iter().copied());
    output[axis] = group;
    let mut sizes: Vec<Option<usize>> = x.shape().iter().map(|&d| Some(d)).collect();
    sizes.push(Some(k));
    let spec = RearrangeSpec::new(input, output, sizes)?;
    Circuit::new(Op::Rearrange(Rearrange { spec }), vec![x.clone()], None)
}

/// `concat(x[0:a], x[a:b]) == x[0:b]`: parts that are Index nodes of the same node,
/// identical except for consecutive slices on the concat axis, become one Index (named
/// like the Concat). Fixture: `concat/elim-split.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn concat_elim_split(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Concat(c) = node.op() else { return Ok(None) };
    let mut base: Option<(&Circuit, &Index)> = None;
    let mut start = None;
    let mut end = 0usize;
    for part in node.children() {
        let Op::Index(idx) = part.op() else { return Ok(None) };
        let x = &part.children()[0];
        // The kept dims must line up: no int entries (they would shift the axis).
        if idx.index.iter().any(|e| !matches!(e, TensorAxisIndex::Slice(_))) {
            return Ok(None);
        }
        let TensorAxisIndex::Slice(s) = &idx.index[c.axis] else { return Ok(None) };
        let Ok((a, b)) = s.resolve(x.shape()[c.axis]) else { return Ok(None) };
        match base {
            None => {
                base = Some((x, idx));
                start = Some(a);
            }
            Some((bx, bidx)) => {
                let others_same = bidx
                    .index
                    .iter()
                    .zip(&idx.index)
                    .enumerate()
                    .all(|(d, (p, q))| d == c.axis || p == q);
                if bx != x || !others_same || a != end {
                    return Ok(None);
                }
            }
        }
        end = b;
    }
    let (Some((x, idx)), Some(start)) = (base, start) else { return Ok(None) };
    let mut index = idx.index.clone();
    index[c.axis] =
        TensorAxisIndex::Slice(Slice { start: Some(start as i64), stop: Some(end as i64) });
    let out = rebuild(node, Op::Index(Index { index }), vec![x.clone()])?;
    Ok(same_shape(node, out))
}

/// `concat(0, x, 0) == scatter(x)`: zero Scalars at the ends become the zero padding of
/// a Scatter (autonamed `(X) scatter`) over the Concat of the middle parts (which keeps
/// the Concat's name). Fixture: `concat/to-scatter.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn concat_to_scatter(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Concat(c) = node.op() else { return Ok(None) };
    let kids = node.children();
    let lead = kids.iter().take_while(|k| is_zero_scalar(k)).count();
    if lead == kids.len() {
        return Ok(None);
    }
    let trail = kids.iter().rev().take_while(|k| is_zero_scalar(k)).count();
    if lead + trail == 0 {
        return Ok(None);
    }
    let middle = kids[lead..kids.len() - trail].to_vec();
    let before: usize = kids[..lead].iter().map(|k| k.shape()[c.axis]).sum();
    let inner = rebuild(node, Op::Concat(Concat { axis: c.axis }), middle)?;
    let index: Vec<TensorAxisIndex> = (0..node.rank())
        .map(|d| {
            let (a, b) = if d == c.axis {
                (before, before + inner.shape()[d])
            } else {
                (0, node.shape()[d])
            };
            TensorAxisIndex::Slice(Slice { start: Some(a as i64), stop: Some(b as i64) })
        })
        .collect();
    let op = Op::Scatter(Scatter { index, shape: node.shape().clone() });
    let out = Circuit::new(op, vec![inner], None)?;
    Ok(same_shape(node, out))
}

/// Pulls non-concat axes along which every part is a pure broadcast out of the Concat
/// (see `add_pull_removable_axes`). Fixture: `concat/pull-removable-axes.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn concat_pull_removable_axes(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Concat(c) = node.op() else { return Ok(None) };
    let mut common = vec![true; node.rank()];
    for k in node.children() {
        for (flag, r) in common.iter_mut().zip(removable_axes(k)) {
            *flag &= r;
        }
    }
    let axes: Vec<usize> =
        (0..node.rank()).filter(|&d| d != c.axis && common[d] && node.shape()[d] != 0).collect();
    if axes.is_empty() {
        return Ok(None);
    }
    let kids = node.children().iter().map(|k| remove_axes(k, &axes)).collect::<Result<_>>()?;
    let new_axis = c.axis - axes.iter().filter(|&&d| d < c.axis).count();
    let inner = rebuild(node, Op::Concat(Concat { axis: new_axis }), kids)?;
    pull_common_axes(node, inner, &axes)
}
