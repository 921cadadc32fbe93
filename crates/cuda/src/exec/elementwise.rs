//! Launching map kernels: dimension merging, index width, parameters; Add with
//! broadcasting; materializing views.

use crate::backend::Inner;
use crate::buffer::{c_strides, collapse, needs_wide, CudaBuffer};
use crate::codegen::map::{MapOp, MapSpec};
use crate::codegen::program::{ProgInstr, ProgramSpec};
use crate::codegen::Ty;
use crate::device::LaunchCfg;
use crate::error::{CudaError, Result};

/// Threads per block of elementwise kernels.
pub(crate) const MAP_BLOCK: u32 = 256;

/// Most inputs of one Add kernel (the parameter struct grows with each).
const MAX_ADD_INPUTS: usize = 16;

/// `op` over the index space `shape`; `ins` are already viewed over `shape` (broadcast
/// inputs with stride 0). Writes a new contiguous tensor, or into `target` at the given
/// element strides (relative to `target`'s offset) and returns `target`.
pub(crate) fn map(
    cx: &Inner,
    op: MapOp,
    out_ty: Ty,
    shape: &[usize],
    ins: &[&CudaBuffer],
    target: Option<(&CudaBuffer, Vec<usize>)>,
    alpha: f64,
) -> Result<CudaBuffer> {
    for b in ins {
        if b.shape != shape {
            return Err(CudaError::internal(format!(
                "map input of shape {:?} over index space {shape:?}",
                b.shape
            )));
        }
    }
    let (out, out_strides, strided) = match target {
        Some((t, st)) => (t.clone(), st, true),
        None => {
            let o = cx.alloc(out_ty, shape)?;
            let st = c_strides(shape);
            (o, st, false)
        }
    };
    let n: usize = shape.iter().product();
    if n == 0 {
        return Ok(out);
    }
    let (cshape, cstrides, wide) = index_space(shape, &out_strides, ins.iter().copied());
    let spec = MapSpec {
        op,
        out: out_ty,
        ins: ins.iter().map(|b| b.ty).collect(),
        rank: cshape.len(),
        wide,
        out_strided: strided,
    };
    let cfg = LaunchCfg { grid: cx.grid(n, MAP_BLOCK), block: MAP_BLOCK };
    let key = crate::backend::KernelKey::Map(spec);
    cx.launch(&key, cfg, |w| {
        w.ptr("out", out.ptr())?;
        for (k, b) in ins.iter().enumerate() {
            w.ptr(&format!("in{k}"), b.ptr())?;
        }
        w.int("n", n as i64)?.ints("shape", &cshape)?;
        if strided {
            w.ints("so", &cstrides[0])?;
        }
        for k in 0..ins.len() {
            w.ints(&format!("s{k}"), &cstrides[k + 1])?;
        }
        match op {
            MapOp::Scale | MapOp::MulScale if out_ty == Ty::I64 => {
                w.int("alpha", alpha as i64)?;
            }
            MapOp::Scale | MapOp::MulScale => {
                w.float("alpha", alpha)?;
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

/// A contiguous copy of a view.
pub(crate) fn materialize(cx: &Inner, x: &CudaBuffer) -> Result<CudaBuffer> {
    map(cx, MapOp::Convert, x.ty, &x.shape.clone(), &[x], None, 1.0)
}

/// A contiguous version (no copy when already contiguous).
pub(crate) fn contiguous(cx: &Inner, x: &CudaBuffer) -> Result<CudaBuffer> {
    if x.is_contiguous() {
        Ok(x.clone())
    } else {
        materialize(cx, x)
    }
}

/// Sum of the inputs broadcast to `shape`. `None` when they do not broadcast.
pub(crate) fn add(
    cx: &Inner,
    ty: Ty,
    inputs: &[CudaBuffer],
    shape: &[usize],
) -> Result<Option<CudaBuffer>> {
    let Some(mut views) = broadcast_all(inputs, shape) else { return Ok(None) };
    match views.len() {
        0 => return cx.zeros(ty, shape).map(Some),
        // One input: the broadcast view itself is the sum.
        1 => return Ok(views.pop()),
        _ => {}
    }
    let mut acc: Option<CudaBuffer> = None;
    for chunk in views.chunks(MAX_ADD_INPUTS - 1) {
        let mut refs: Vec<&CudaBuffer> = Vec::with_capacity(MAX_ADD_INPUTS);
        if let Some(a) = &acc {
            refs.push(a);
        }
        refs.extend(chunk.iter());
        let sum = map(cx, MapOp::Add, ty, shape, &refs, None, 1.0)?;
        acc = Some(sum);
    }
    Ok(acc)
}

/// A fused elementwise program over the inputs broadcast to `shape`, into a new
/// contiguous tensor. `None` when an input does not broadcast.
pub(crate) fn program(
    cx: &Inner,
    ty: Ty,
    program: &[ProgInstr],
    inputs: &[&CudaBuffer],
    shape: &[usize],
) -> Result<Option<CudaBuffer>> {
    let Some(views) = broadcast_all(inputs.iter().copied(), shape) else { return Ok(None) };
    let out = cx.alloc(ty, shape)?;
    let n: usize = shape.iter().product();
    if n == 0 {
        return Ok(Some(out));
    }
    let (cshape, cstrides, wide) = index_space(shape, &c_strides(shape), views.iter());
    let spec = ProgramSpec {
        ty,
        program: program.to_vec(),
        inputs: views.len(),
        rank: cshape.len(),
        wide,
    };
    let cfg = LaunchCfg { grid: cx.grid(n, MAP_BLOCK), block: MAP_BLOCK };
    cx.launch(&crate::backend::KernelKey::Program(spec), cfg, |w| {
        w.ptr("out", out.ptr())?;
        for (k, b) in views.iter().enumerate() {
            w.ptr(&format!("in{k}"), b.ptr())?;
        }
        w.int("n", n as i64)?.ints("shape", &cshape)?;
        for k in 0..views.len() {
            w.ints(&format!("s{k}"), &cstrides[k + 1])?;
        }
        Ok(())
    })?;
    Ok(Some(out))
}

/// Every input viewed over `shape` (stride 0 along broadcast dims); `None` when one
/// does not broadcast.
fn broadcast_all<'a>(
    inputs: impl IntoIterator<Item = &'a CudaBuffer>,
    shape: &[usize],
) -> Option<Vec<CudaBuffer>> {
    inputs.into_iter().map(|x| x.broadcast_to(shape)).collect()
}

/// The index space of an elementwise kernel over `shape`: dims merged wherever the
/// output (`out_strides`) and every input allow, each operand's strides over the merged
/// dims (the output's first), and whether offsets need 64-bit arithmetic.
fn index_space<'a>(
    shape: &[usize],
    out_strides: &[usize],
    inputs: impl Iterator<Item = &'a CudaBuffer>,
) -> (Vec<usize>, Vec<Vec<usize>>, bool) {
    let mut ops: Vec<&[usize]> = vec![out_strides];
    ops.extend(inputs.map(|b| b.strides.as_slice()));
    let (cshape, cstrides) = collapse(shape, &ops);
    let wide = needs_wide(&cshape, &cstrides.iter().map(Vec::as_slice).collect::<Vec<_>>());
    (cshape, cstrides, wide)
}
