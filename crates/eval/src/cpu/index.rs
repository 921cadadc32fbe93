//! Indexing and data movement: Index (ints and slices are views; 1-d index tensors
//! gather, each tensor axis independent), Scatter, Concat, and the gathers behind
//! `gen_index` / `explicit_index`.

use circuit_ir::kinds::TensorAxisIndex;

use super::buffer::{c_strides, Dims, Elem, Strided};
use super::elementwise::copy_into;
use crate::gather::GatherMap;

/// An index value problem: (value, dimension size).
pub(crate) type OutOfRange = (i64, usize);

/// Normalizes a possibly negative index against `size`.
pub(crate) fn norm_index(v: i64, size: usize) -> Result<usize, OutOfRange> {
    let s = size as i64;
    if v < -s || v >= s {
        return Err((v, size));
    }
    Ok(if v < 0 { (v + s) as usize } else { v as usize })
}

/// How one output dim addresses the input.
enum Axis {
    Stride(usize),
    Table(Vec<usize>),
}

/// Index `x` with one entry per dim.
///
/// # Errors
/// The first out-of-range index value; `Ok(None)` for malformed entries.
pub(crate) fn index<T: Elem>(
    x: &Strided<T>,
    entries: &[TensorAxisIndex],
) -> Result<Option<Strided<T>>, OutOfRange> {
    if entries.len() != x.ndim() {
        return Ok(None);
    }
    let mut offset = x.offset;
    let mut axes: Vec<(usize, Axis)> = Vec::new();
    for (d, e) in entries.iter().enumerate() {
        let (len, stride) = (x.shape[d], x.strides[d]);
        match e {
            TensorAxisIndex::Int(i) => offset += norm_index(*i, len)? * stride,
            TensorAxisIndex::Slice(s) => {
                let Ok((a, b)) = s.resolve(len) else { return Ok(None) };
                offset += a * stride;
                axes.push((b - a, Axis::Stride(stride)));
            }
            TensorAxisIndex::Tensor(t) => {
                let values = t.tensor().to_i64_vec();
                if t.len().is_none() {
                    let v = values.first().copied().unwrap_or(0);
                    offset += norm_index(v, len)? * stride;
                } else {
                    let table: Vec<usize> = values
                        .iter()
                        .map(|&v| norm_index(v, len).map(|i| i * stride))
                        .collect::<Result<_, _>>()?;
                    axes.push((table.len(), Axis::Table(table)));
                }
            }
        }
    }
    let shape: Dims = axes.iter().map(|a| a.0).collect();
    if axes.iter().all(|a| matches!(a.1, Axis::Stride(_))) {
        let strides: Dims =
            axes.iter().map(|a| if let Axis::Stride(s) = a.1 { s } else { 0 }).collect();
        return Ok(x.view(offset, shape, strides));
    }
    // Gather: every output dim as a table of input offsets; the offset of an output
    // element is the sum over dims.
    let tables: Vec<Vec<usize>> = axes
        .into_iter()
        .map(|(n, a)| match a {
            Axis::Stride(s) => (0..n).map(|i| i * s).collect(),
            Axis::Table(t) => t,
        })
        .collect();
    let data = x.data();
    let numel: usize = shape.iter().product();
    let mut out = Vec::with_capacity(numel);
    if numel > 0 {
        let last = tables.len() - 1;
        let mut idx = vec![0usize; tables.len()];
        'outer: loop {
            let base: usize = offset + (0..last).map(|d| tables[d][idx[d]]).sum::<usize>();
            for &t in &tables[last] {
                let Some(&v) = data.get(base + t) else { return Ok(None) };
                out.push(v);
            }
            let mut d = last;
            loop {
                if d == 0 {
                    break 'outer;
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
    Ok(Some(Strided::from_vec(&shape, out)))
}

/// Zeros of `shape` with `x` written at `starts`.
pub(crate) fn scatter<T: Elem>(
    x: &Strided<T>,
    starts: &[usize],
    shape: &[usize],
) -> Option<Strided<T>> {
    if starts.len() != shape.len() || x.ndim() != shape.len() {
        return None;
    }
    if starts.iter().zip(&x.shape).zip(shape).any(|((s, n), m)| s + n > *m) {
        return None;
    }
    let mut out = super::pool::zeroed(shape.iter().product());
    copy_into(&mut out, shape, starts, x);
    Some(Strided::from_vec(shape, out))
}

/// Concatenation along `axis` into `shape`.
pub(crate) fn concat<T: Elem>(
    xs: &[&Strided<T>],
    axis: usize,
    shape: &[usize],
) -> Option<Strided<T>> {
    let mut out = super::pool::zeroed(shape.iter().product());
    let mut starts = vec![0usize; shape.len()];
    for x in xs {
        if x.ndim() != shape.len() || starts.get(axis)? + x.shape[axis] > shape[axis] {
            return None;
        }
        copy_into(&mut out, shape, &starts, x);
        starts[axis] += x.shape[axis];
    }
    Some(Strided::from_vec(shape, out))
}

/// `out[o] = x[.., idx[..], ..]`: output dim `j` walks x dim `map[j].0` and index dim
/// `map[j].1` (either or both); x's dim `dim` is chosen by the index value.
///
/// # Errors
/// The first out-of-range index value; `Ok(None)` for malformed maps.
pub(crate) fn gather<T: Elem>(
    x: &Strided<T>,
    idx: &Strided<i64>,
    dim: usize,
    map: &GatherMap,
    shape: &[usize],
) -> Result<Option<Strided<T>>, OutOfRange> {
    if map.len() != shape.len() || dim >= x.ndim() {
        return Ok(None);
    }
    let xs: Vec<usize> =
        map.iter().map(|m| m.0.map_or(0, |d| x.strides.get(d).copied().unwrap_or(0))).collect();
    let is: Vec<usize> =
        map.iter().map(|m| m.1.map_or(0, |d| idx.strides.get(d).copied().unwrap_or(0))).collect();
    let size = x.shape[dim];
    let stride = x.strides[dim];
    let (xd, id) = (x.data(), idx.data());
    let numel: usize = shape.iter().product();
    let mut out = Vec::with_capacity(numel);
    let out_c = c_strides(shape);
    // Walk rows of the innermost output dim: the offsets of the outer dims are computed
    // once per row, and a row that reads one index value (an embedding lookup) is a
    // slice copy.
    let r = shape.len();
    let inner = shape.last().copied().unwrap_or(1);
    let (xl, il) = (xs.last().copied().unwrap_or(0), is.last().copied().unwrap_or(0));
    let rows = numel.checked_div(inner).unwrap_or(0);
    for row in 0..rows {
        let o = row * inner;
        let (mut xo, mut io) = (x.offset, idx.offset);
        for j in 0..r.saturating_sub(1) {
            let i = (o / out_c[j]) % shape[j];
            xo += i * xs[j];
            io += i * is[j];
        }
        if il == 0 {
            let Some(&v) = id.get(io) else { return Ok(None) };
            let base = xo + norm_index(v, size)? * stride;
            if xl == 1 {
                let Some(run) = xd.get(base..base + inner) else { return Ok(None) };
                out.extend_from_slice(run);
            } else {
                for k in 0..inner {
                    let Some(&val) = xd.get(base + k * xl) else { return Ok(None) };
                    out.push(val);
                }
            }
        } else {
            for k in 0..inner {
                let Some(&v) = id.get(io + k * il) else { return Ok(None) };
                let at = xo + k * xl + norm_index(v, size)? * stride;
                let Some(&val) = xd.get(at) else { return Ok(None) };
                out.push(val);
            }
        }
    }
    Ok(Some(Strided::from_vec(shape, out)))
}
