//! Index rules: identity indices, Index of Index, Index of Scalar, and Index of a
//! Concat that reaches only some parts. Fixtures: `fixtures/rewrite/index/`.

use circuit_ir::kinds::{Concat, Index, IndexTensor, Slice, TensorAxisIndex};
use circuit_ir::{Circuit, IrError, Op, Result, Tensor};

use super::util::{rebuild, same_shape, scalar_like, scalar_value};

/// Whether every entry keeps its whole dimension (`:` or a slice covering it).
pub(crate) fn is_identity_index(index: &[TensorAxisIndex], shape: &[usize]) -> bool {
    index.iter().zip(shape).all(|(e, &len)| match e {
        TensorAxisIndex::Slice(s) => s.resolve(len) == Ok((0, len)),
        _ => false,
    })
}

/// `x[:, 0:n] == x`: an Index whose entries all keep their dimension is its child.
/// Fixture: `index/elim-identity.circ`.
///
/// # Errors
/// Never.
pub fn index_elim_identity(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Index(idx) = node.op() else { return Ok(None) };
    let child = &node.children()[0];
    Ok(is_identity_index(&idx.index, child.shape()).then(|| child.clone()))
}

/// `s[i] == s` for a Scalar `s`: an Index of a Scalar is a Scalar of the Index's shape
/// (named like the Index). Fixture: `index/merge-scalar.circ`.
///
/// # Errors
/// Never in practice.
pub fn index_merge_scalar(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Index(_)) {
        return Ok(None);
    }
    match scalar_value(&node.children()[0]) {
        Some(v) => Ok(Some(scalar_like(node, v)?)),
        None => Ok(None),
    }
}

fn norm(i: i64, len: usize) -> Option<usize> {
    let l = i64::try_from(len).ok()?;
    let j = if i < 0 { i + l } else { i };
    (0..l).contains(&j).then_some(j as usize)
}

fn tensor_values(t: &IndexTensor, len: usize) -> Option<Vec<usize>> {
    t.tensor().to_i64_vec().into_iter().map(|v| norm(v, len)).collect()
}

fn tensor_entry(values: &[usize]) -> Result<TensorAxisIndex> {
    let v: Vec<i64> = values.iter().map(|&x| x as i64).collect();
    let t = Tensor::from_vec(&[v.len()], v).map_err(|e| IrError::tensor("index tensor", e))?;
    Ok(TensorAxisIndex::Tensor(IndexTensor::new(t)?))
}

/// The composition of an outer entry applied after an inner entry that keeps a dim:
/// `positions` are the child positions the inner entry selects (in order).
fn compose_entry(
    outer: &TensorAxisIndex,
    positions: &Positions,
) -> Result<Option<TensorAxisIndex>> {
    let len = positions.len();
    Ok(Some(match outer {
        TensorAxisIndex::Int(j) => {
            let Some(j) = norm(*j, len) else { return Ok(None) };
            TensorAxisIndex::Int(positions.at(j) as i64)
        }
        TensorAxisIndex::Slice(s) => {
            let Ok((c, d)) = s.resolve(len) else { return Ok(None) };
            match positions {
                Positions::Range(a, _) => TensorAxisIndex::Slice(Slice {
                    start: Some((a + c) as i64),
                    stop: Some((a + d) as i64),
                }),
                Positions::List(v) => tensor_entry(&v[c..d])?,
            }
        }
        TensorAxisIndex::Tensor(t) => {
            let Some(vals) = tensor_values(t, len) else { return Ok(None) };
            if t.len().is_none() {
                let Some(&v) = vals.first() else { return Ok(None) };
                TensorAxisIndex::Int(positions.at(v) as i64)
            } else {
                let mapped: Vec<usize> = vals.iter().map(|&v| positions.at(v)).collect();
                tensor_entry(&mapped)?
            }
        }
    }))
}

enum Positions {
    Range(usize, usize),
    List(Vec<usize>),
}

impl Positions {
    fn len(&self) -> usize {
        match self {
            Positions::Range(a, b) => b - a,
            Positions::List(v) => v.len(),
        }
    }

    fn at(&self, i: usize) -> usize {
        match self {
            Positions::Range(a, _) => a + i,
            Positions::List(v) => v[i],
        }
    }
}

/// `x[i][j] == x[i ∘ j]`: an Index of an Index becomes one Index (ints, slices and
/// tensors compose), named like the outer Index. Fixture: `index/fuse.circ`.
///
/// # Errors
/// Only if building an index tensor fails (a bug).
pub fn index_fuse(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Index(outer) = node.op() else { return Ok(None) };
    let inner_node = &node.children()[0];
    let Op::Index(inner) = inner_node.op() else { return Ok(None) };
    let x = &inner_node.children()[0];
    let mut out_entries = outer.index.iter();
    let mut fused = Vec::with_capacity(inner.index.len());
    for (e, &len) in inner.index.iter().zip(x.shape()) {
        let positions = match e {
            TensorAxisIndex::Int(_) => {
                fused.push(e.clone());
                continue;
            }
            TensorAxisIndex::Tensor(t) if t.len().is_none() => {
                fused.push(e.clone());
                continue;
            }
            TensorAxisIndex::Slice(s) => {
                let Ok((a, b)) = s.resolve(len) else { return Ok(None) };
                Positions::Range(a, b)
            }
            TensorAxisIndex::Tensor(t) => {
                let Some(v) = tensor_values(t, len) else { return Ok(None) };
                Positions::List(v)
            }
        };
        let o = out_entries.next().cloned().unwrap_or(TensorAxisIndex::FULL);
        let Some(entry) = compose_entry(&o, &positions)? else { return Ok(None) };
        fused.push(entry);
    }
    let out = rebuild(node, Op::Index(Index { index: fused }), vec![x.clone()])?;
    Ok((out.shape() == node.shape()).then_some(out))
}

/// An Index of a Concat whose concat-axis entry is a slice reaching only some parts:
/// the Concat (keeping its name) is rebuilt from the reached parts and the slice
/// shifted. Fixture: `index/concat-drop-unreached.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn index_concat_drop_unreached(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Index(idx) = node.op() else { return Ok(None) };
    let cat = &node.children()[0];
    let Op::Concat(c) = cat.op() else { return Ok(None) };
    let TensorAxisIndex::Slice(s) = &idx.index[c.axis] else { return Ok(None) };
    let Ok((start, stop)) = s.resolve(cat.shape()[c.axis]) else { return Ok(None) };
    let mut offset = 0;
    let mut kept = Vec::new();
    let mut first_offset = None;
    for part in cat.children() {
        let len = part.shape()[c.axis];
        let reached = offset < stop && offset + len > start;
        if reached {
            first_offset.get_or_insert(offset);
            kept.push(part.clone());
        }
        offset += len;
    }
    let Some(base) = first_offset else { return Ok(None) };
    if kept.is_empty() || kept.len() == cat.children().len() {
        return Ok(None);
    }
    let new_cat = rebuild(cat, Op::Concat(Concat { axis: c.axis }), kept)?;
    let mut index = idx.index.clone();
    index[c.axis] = TensorAxisIndex::Slice(Slice {
        start: Some((start - base) as i64),
        stop: Some((stop - base) as i64),
    });
    let out = rebuild(node, Op::Index(Index { index }), vec![new_cat])?;
    Ok(same_shape(node, out))
}
