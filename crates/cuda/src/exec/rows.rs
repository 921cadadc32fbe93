//! Row functions over the last dimension (softmax, log_softmax, min, max) and the fused
//! next-token loss (GEMM into a logits buffer, then one log-softmax-and-pick row
//! kernel).

use circuit_eval::{Label, Step};
use circuit_ir::kinds::SimpleFn;

use crate::backend::{ExecError, Inner, KernelKey};
use crate::buffer::{collapse, max_offset, needs_wide, CudaBuffer};
use crate::codegen::map::MapOp;
use crate::codegen::rows::{row_block, RowOp, RowSpec};
use crate::codegen::Ty;
use crate::device::LaunchCfg;
use crate::error::Result;

use super::elementwise::map;
use super::R;

/// A row kernel over the rows of `x` (last dimension `n`), into `out`.
fn launch_rows(
    cx: &Inner,
    op: RowOp,
    x: &CudaBuffer,
    out: &CudaBuffer,
    pick: Option<(&CudaBuffer, u64, i64)>,
) -> Result<()> {
    let r = x.shape.len();
    let n = x.shape.last().copied().unwrap_or(1);
    let lead = &x.shape[..r.saturating_sub(1)];
    let rows: usize = lead.iter().product();
    if rows == 0 || (n == 0 && !matches!(op, RowOp::Min | RowOp::Max)) {
        return Ok(());
    }
    let es = if r == 0 { 0 } else { x.strides[r - 1] };
    let lead_strides = &x.strides[..r.saturating_sub(1)];
    let mut ops: Vec<&[usize]> = vec![lead_strides];
    if let Some((t, _, _)) = pick {
        ops.push(&t.strides);
    }
    let (cshape, cs) = collapse(lead, &ops);
    let extent = max_offset(lead, lead_strides) + n.saturating_sub(1) * es;
    let wide = needs_wide(&[rows, n.max(1)], &[&[0, 0]]) || extent >= 1 << 31;
    let spec = RowSpec { op, ty: x.ty, rank: cshape.len(), wide };
    let cfg = LaunchCfg { grid: cx.grid(rows, 1), block: row_block(n) };
    cx.launch(&KernelKey::Row(spec), cfg, |w| {
        w.ptr("out", out.ptr())?.ptr("x", x.ptr())?;
        if let Some((t, err, tag)) = pick {
            w.ptr("t", t.ptr())?.ptr("err", err)?.int("tag", tag)?;
        }
        w.int("rows", rows as i64)?.int("n", n as i64)?.int("es", es as i64)?;
        w.ints("rshape", &cshape)?.ints("rs", &cs[0])?;
        if pick.is_some() {
            w.ints("ts", &cs[1])?;
        }
        Ok(())
    })
}

/// softmax / log_softmax (same shape) or min / max (last dimension removed). int64
/// goes through float64 and is truncated back, as on the CPU.
pub(crate) fn row_fn(cx: &Inner, x: &CudaBuffer, f: SimpleFn) -> R<Option<CudaBuffer>> {
    if x.shape.is_empty() {
        return Ok(None);
    }
    if x.ty == Ty::I64 {
        let xf = map(cx, MapOp::Convert, Ty::F64, &x.shape.clone(), &[x], None, 1.0)?;
        let Some(r) = row_fn(cx, &xf, f)? else { return Ok(None) };
        return Ok(Some(map(cx, MapOp::Convert, Ty::I64, &r.shape.clone(), &[&r], None, 1.0)?));
    }
    let op = match f {
        SimpleFn::Softmax => RowOp::Softmax,
        SimpleFn::LogSoftmax => RowOp::LogSoftmax,
        SimpleFn::Min => RowOp::Min,
        SimpleFn::Max => RowOp::Max,
        _ => return Ok(None),
    };
    let out_shape = if matches!(op, RowOp::Min | RowOp::Max) {
        x.shape[..x.shape.len() - 1].to_vec()
    } else {
        x.shape.clone()
    };
    let out = cx.alloc(x.ty, &out_shape)?;
    launch_rows(cx, op, x, &out, None)?;
    Ok(Some(out))
}

/// `gen_index(log_softmax(alpha * einsum(a, b -> logits)), targets)` along the last
/// label of `logits`: the logits are computed by cuBLAS into a temporary, then reduced
/// row by row.
#[allow(clippy::too_many_arguments)]
pub(crate) fn contract_log_softmax_pick(
    cx: &Inner,
    step: &Step,
    a: &CudaBuffer,
    la: &[Label],
    b: &CudaBuffer,
    lb: &[Label],
    logits: &[Label],
    alpha: f64,
    targets: &CudaBuffer,
) -> R<Option<CudaBuffer>> {
    if logits.is_empty() {
        return Ok(None);
    }
    let Some(z) = super::gemm::contract(cx, a, la, b, lb, logits, alpha)? else { return Ok(None) };
    let row_shape = &z.shape[..z.shape.len() - 1];
    if targets.shape != row_shape {
        return Ok(None);
    }
    let out = cx.alloc(Ty::F32, row_shape)?;
    let (err, tag) = cx.error_slot(&step.node).map_err(ExecError::Cuda)?;
    launch_rows(cx, RowOp::LogSoftmaxPick, &z, &out, Some((targets, err, tag)))?;
    Ok(Some(out))
}
