//! Data movement: Expand, Rearrange, Index, Scatter, Concat (views where the CPU backend
//! makes views, strided copies otherwise), the `gen_index` / `explicit_index` gather,
//! and Multinomial (drawn on the host with the project's one multinomial definition, so
//! samples equal the CPU backend's for the same seed).

use circuit_eval::gather::gather_map;
use circuit_eval::layout::{expand_layout, rearrange_layout, ExpandLayout, RearrangeLayout};
use circuit_eval::{EvalError, Label, Step};
use circuit_ir::kinds::{GfSpec, TensorAxisIndex};
use circuit_ir::Shape;

use crate::backend::{ExecError, Inner, KernelKey};
use crate::buffer::{c_strides, collapse, max_offset, needs_wide, CudaBuffer};
use crate::codegen::gather::{GatherSpec, TableSpec};
use crate::codegen::map::MapOp;
use crate::codegen::Ty;
use crate::device::LaunchCfg;
use crate::error::Result;

use super::elementwise::{map, materialize, MAP_BLOCK};
use super::R;

/// Places `x` (distinct `input` labels) into `shape` with `output` labels: missing
/// labels broadcast (a view); repeated output labels put the values on the diagonal,
/// zeros elsewhere.
pub(crate) fn expand(
    cx: &Inner,
    x: &CudaBuffer,
    input: &[Label],
    output: &[Label],
    shape: &[usize],
) -> Result<Option<CudaBuffer>> {
    if input.len() != x.shape.len() || output.len() != shape.len() {
        return Ok(None);
    }
    let (dshape, ostrides, xstrides) = match expand_layout(&x.strides, input, output, shape) {
        ExpandLayout::View(strides) => return Ok(x.view(x.offset, shape.to_vec(), strides)),
        ExpandLayout::Diagonal { dims, input_strides, output_strides } => {
            (dims, output_strides, input_strides)
        }
    };
    let out = cx.zeros(x.ty, shape)?;
    let Some(src) = x.view(x.offset, dshape.clone(), xstrides) else { return Ok(None) };
    map(cx, MapOp::Convert, x.ty, &dshape, &[&src], Some((&out, ostrides)), 1.0)?;
    Ok(Some(out))
}

/// einops repeat: a view when every output group's ints are adjacent in memory, else
/// one copy at int granularity, reshaped.
pub(crate) fn rearrange(
    cx: &Inner,
    x: &CudaBuffer,
    int_sizes: &[usize],
    input: &[Vec<u8>],
    output: &[Vec<u8>],
) -> Result<Option<CudaBuffer>> {
    let Some(layout) = rearrange_layout(&x.shape, &x.strides, int_sizes, input, output) else {
        return Ok(None);
    };
    match layout {
        RearrangeLayout::View { shape, strides } => Ok(x.view(x.offset, shape, strides)),
        RearrangeLayout::Copy { shape, int_shape, int_strides } => {
            let Some(fine) = x.view(x.offset, int_shape, int_strides) else { return Ok(None) };
            let c = materialize(cx, &fine)?;
            let cs = c_strides(&shape);
            Ok(c.view(c.offset, shape, cs))
        }
    }
}

fn out_of_range(step: &Step, value: i64, size: usize) -> ExecError {
    ExecError::Eval(EvalError::IndexOutOfRange { node: step.node.clone(), value, size })
}

/// Normalizes a possibly negative index against `size`.
fn norm_index(step: &Step, v: i64, size: usize) -> R<usize> {
    let s = size as i64;
    if v < -s || v >= s {
        return Err(out_of_range(step, v, size));
    }
    Ok(if v < 0 { (v + s) as usize } else { v as usize })
}

/// Index with one entry per dimension: ints and slices give a view; index tensors
/// (checked here, on the host, where their values are known) become offset tables.
pub(crate) fn index(
    cx: &Inner,
    step: &Step,
    x: &CudaBuffer,
    entries: &[TensorAxisIndex],
) -> R<Option<CudaBuffer>> {
    if entries.len() != x.shape.len() {
        return Ok(None);
    }
    let mut offset = x.offset;
    // (length, Ok(stride) or Err(table of element offsets)) per output dimension.
    let mut axes: Vec<(usize, std::result::Result<usize, Vec<i64>>)> = Vec::new();
    for (d, e) in entries.iter().enumerate() {
        let (len, stride) = (x.shape[d], x.strides[d]);
        match e {
            TensorAxisIndex::Int(i) => offset += norm_index(step, *i, len)? * stride,
            TensorAxisIndex::Slice(s) => {
                let Ok((a, b)) = s.resolve(len) else { return Ok(None) };
                offset += a * stride;
                axes.push((b - a, Ok(stride)));
            }
            TensorAxisIndex::Tensor(t) => {
                let values = t.tensor().to_i64_vec();
                if t.len().is_none() {
                    let v = values.first().copied().unwrap_or(0);
                    offset += norm_index(step, v, len)? * stride;
                } else {
                    let table = values
                        .iter()
                        .map(|&v| norm_index(step, v, len).map(|i| (i * stride) as i64))
                        .collect::<R<Vec<i64>>>()?;
                    axes.push((table.len(), Err(table)));
                }
            }
        }
    }
    let shape: Vec<usize> = axes.iter().map(|a| a.0).collect();
    if axes.iter().all(|a| a.1.is_ok()) {
        let strides = axes.iter().map(|a| *a.1.as_ref().unwrap_or(&0)).collect();
        return Ok(x.view(offset, shape, strides));
    }
    let mut tab: Vec<i64> = Vec::new();
    let mut tstart: Vec<usize> = Vec::new();
    let mut max_off = offset;
    for (n, a) in &axes {
        tstart.push(tab.len());
        match a {
            Ok(s) => tab.extend((0..*n).map(|i| (i * s) as i64)),
            Err(t) => tab.extend(t.iter().copied()),
        }
        max_off += tab[tstart[tstart.len() - 1]..].iter().copied().max().unwrap_or(0) as usize;
    }
    let out = cx.alloc(x.ty, &shape)?;
    let n: usize = shape.iter().product();
    if n == 0 {
        return Ok(Some(out));
    }
    if max_off >= x.capacity() {
        return Ok(None);
    }
    let table = cx.table(tab)?;
    let wide = n >= 1 << 31 || max_off >= 1 << 31;
    let spec = TableSpec { ty: x.ty, rank: shape.len(), wide };
    let base = x.mem.ptr + (offset * x.ty.size()) as u64;
    cx.launch(
        &KernelKey::Table(spec),
        LaunchCfg { grid: cx.grid(n, MAP_BLOCK), block: MAP_BLOCK },
        |w| {
            w.ptr("out", out.ptr())?.ptr("x", base)?.ptr("tab", table.ptr())?;
            w.int("n", n as i64)?.ints("shape", &shape)?.ints("tstart", &tstart)?;
            Ok(())
        },
    )?;
    Ok(Some(out))
}

/// Zeros of `shape` with `x` written at `starts`.
pub(crate) fn scatter(
    cx: &Inner,
    x: &CudaBuffer,
    starts: &[usize],
    shape: &[usize],
) -> Result<Option<CudaBuffer>> {
    if starts.len() != shape.len() || x.shape.len() != shape.len() {
        return Ok(None);
    }
    if starts.iter().zip(&x.shape).zip(shape).any(|((s, n), m)| s + n > *m) {
        return Ok(None);
    }
    let out = cx.zeros(x.ty, shape)?;
    write_region(cx, &out, shape, starts, x)?;
    Ok(Some(out))
}

/// Copies `x` into the region of `out` (C-contiguous of `shape`) starting at `starts`.
fn write_region(
    cx: &Inner,
    out: &CudaBuffer,
    shape: &[usize],
    starts: &[usize],
    x: &CudaBuffer,
) -> Result<()> {
    if x.numel() == 0 {
        return Ok(());
    }
    let cs = c_strides(shape);
    let base: usize = starts.iter().zip(&cs).map(|(s, c)| s * c).sum();
    let region = out.view(base, x.shape.clone(), cs.clone());
    match region {
        Some(r) => {
            map(cx, MapOp::Convert, x.ty, &x.shape.clone(), &[x], Some((&r, cs)), 1.0).map(|_| ())
        }
        None => Err(crate::error::CudaError::internal("region outside the output")),
    }
}

/// Concatenation along `axis`.
pub(crate) fn concat(
    cx: &Inner,
    xs: &[&CudaBuffer],
    axis: usize,
    shape: &[usize],
) -> Result<Option<CudaBuffer>> {
    let Some(&first) = xs.first() else { return Ok(None) };
    let mut total = 0usize;
    for x in xs {
        if x.shape.len() != shape.len() || axis >= shape.len() {
            return Ok(None);
        }
        let same = x.shape.iter().zip(shape).enumerate().all(|(d, (a, b))| d == axis || a == b);
        if !same {
            return Ok(None);
        }
        total += x.shape[axis];
    }
    if total != shape[axis] {
        return Ok(None);
    }
    let out = cx.alloc(first.ty, shape)?;
    let mut starts = vec![0usize; shape.len()];
    for x in xs {
        write_region(cx, &out, shape, &starts, x)?;
        starts[axis] += x.shape[axis];
    }
    Ok(Some(out))
}

/// `gen_index` / `explicit_index`: index values are read on the device; an
/// out-of-range one is recorded in the error word (reported when the result is
/// downloaded) and gives 0.
pub(crate) fn gen_index(
    cx: &Inner,
    step: &Step,
    spec: &GfSpec,
    x: &CudaBuffer,
    idx: &CudaBuffer,
    shape: &[usize],
) -> Result<Option<CudaBuffer>> {
    let Some((dim, gmap)) = gather_map(spec, x.shape.len(), idx.shape.len()) else {
        return Ok(None);
    };
    if gmap.len() != shape.len() || dim >= x.shape.len() {
        return Ok(None);
    }
    let xs: Vec<usize> = gmap.iter().map(|m| m.0.map_or(0, |d| x.strides[d])).collect();
    let is: Vec<usize> = gmap.iter().map(|m| m.1.map_or(0, |d| idx.strides[d])).collect();
    let (size, stride) = (x.shape[dim], x.strides[dim]);
    let out = cx.alloc(x.ty, shape)?;
    let n: usize = shape.iter().product();
    if n == 0 {
        return Ok(Some(out));
    }
    let oc = c_strides(shape);
    let (cshape, cs) = collapse(shape, &[&oc, &xs, &is]);
    let x_extent = max_offset(shape, &xs) + size.saturating_sub(1) * stride;
    let wide = needs_wide(&cshape, &[&cs[1], &cs[2]]) || x_extent >= 1 << 31;
    let (err, tag) = cx.error_slot(&step.node)?;
    let key = KernelKey::Gather(GatherSpec { ty: x.ty, rank: cshape.len(), wide });
    cx.launch(&key, LaunchCfg { grid: cx.grid(n, MAP_BLOCK), block: MAP_BLOCK }, |w| {
        w.ptr("out", out.ptr())?.ptr("x", x.ptr())?.ptr("idx", idx.ptr())?.ptr("err", err)?;
        w.int("tag", tag)?
            .int("n", n as i64)?
            .int("size", size as i64)?
            .int("stride", stride as i64)?;
        w.ints("shape", &cshape)?.ints("xs", &cs[1])?.ints("is", &cs[2])?;
        Ok(())
    })?;
    Ok(Some(out))
}

/// Multinomial sampling on the host (see the module docs).
pub(crate) fn multinomial(
    cx: &Inner,
    step: &Step,
    inputs: &[CudaBuffer],
    replacement: bool,
    sample_shape: &Shape,
    shape: &[usize],
) -> R<CudaBuffer> {
    let mismatch = || {
        ExecError::Eval(EvalError::Internal {
            node: step.node.clone(),
            msg: "multinomial got inputs that do not fit its shapes".into(),
        })
    };
    let (Some(p), Some(s)) = (inputs.first(), inputs.get(1)) else { return Err(mismatch()) };
    let seed = super::download(cx, s)?.to_i64_vec().first().copied().unwrap_or(0);
    let probs = super::download(cx, p)?;
    let drawn = circuit_tensor::multinomial_batched(&probs, seed, sample_shape, replacement)
        .map_err(|e| {
            ExecError::Eval(EvalError::Invalid { node: step.node.clone(), msg: e.to_string() })
        })?;
    if drawn.shape() != shape {
        return Err(mismatch());
    }
    let out = drawn.to_i64_vec();
    Ok(cx.upload_vec(Ty::I64, shape, &out)?)
}
