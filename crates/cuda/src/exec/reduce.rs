//! One-operand einsum work (diagonals and permutations as views, sums over labels as
//! reduction kernels) and the sum-of-products kernel behind int64 contractions and
//! batched dot products.

use circuit_eval::Label;

use crate::backend::{Inner, KernelKey};
use crate::buffer::{c_strides, collapse, needs_wide, CudaBuffer};
use crate::codegen::map::MapOp;
use crate::codegen::reduce::{use_block, ReduceSpec, REDUCE_BLOCK};
use crate::device::LaunchCfg;
use crate::error::{CudaError, Result};

use super::elementwise::{map, MAP_BLOCK};

/// Takes diagonals of repeated labels: a view with distinct labels (first-occurrence
/// order) whose stride per label is the sum of the repeated axes' strides.
pub(crate) fn diagonal(x: &CudaBuffer, labels: &[Label]) -> Option<(CudaBuffer, Vec<Label>)> {
    if labels.len() != x.shape.len() {
        return None;
    }
    let mut out: Vec<Label> = Vec::with_capacity(labels.len());
    let mut shape = Vec::with_capacity(labels.len());
    let mut strides: Vec<usize> = Vec::with_capacity(labels.len());
    for (d, &l) in labels.iter().enumerate() {
        if let Some(p) = out.iter().position(|&o| o == l) {
            if shape[p] != x.shape[d] {
                return None;
            }
            strides[p] += x.strides[d];
        } else {
            out.push(l);
            shape.push(x.shape[d]);
            strides.push(x.strides[d]);
        }
    }
    Some((x.view(x.offset, shape, strides)?, out))
}

/// Permutes a distinct-labelled view into `order`.
pub(crate) fn permute_to(x: &CudaBuffer, labels: &[Label], order: &[Label]) -> Option<CudaBuffer> {
    let perm: Option<Vec<usize>> =
        order.iter().map(|l| labels.iter().position(|x| x == l)).collect();
    x.permute(&perm?)
}

/// Size and stride of label `l` in a distinct-labelled view (`(1, 0)` when absent).
pub(crate) fn dims_of(x: &CudaBuffer, labels: &[Label], l: Label) -> (usize, usize) {
    labels.iter().position(|&o| o == l).map_or((1, 0), |p| (x.shape[p], x.strides[p]))
}

/// `alpha * einsum(x: input -> output)` (`output` distinct); `None` on a shape mismatch.
pub(crate) fn reduce(
    cx: &Inner,
    x: &CudaBuffer,
    input: &[Label],
    output: &[Label],
    alpha: f64,
) -> Result<Option<CudaBuffer>> {
    let Some((d, labels)) = diagonal(x, input) else { return Ok(None) };
    let summed: Vec<Label> = labels.iter().copied().filter(|l| !output.contains(l)).collect();
    let mut order: Vec<Label> = output.to_vec();
    order.extend(summed.iter().copied());
    let Some(p) = permute_to(&d, &labels, &order) else { return Ok(None) };
    let k = output.len();
    if summed.is_empty() {
        if alpha == 1.0 {
            return Ok(Some(p));
        }
        return map(cx, MapOp::Scale, p.ty, &p.shape.clone(), &[&p], None, alpha).map(Some);
    }
    let out_shape = p.shape[..k].to_vec();
    let red_shape = p.shape[k..].to_vec();
    let os = vec![p.strides[..k].to_vec()];
    let rs = vec![p.strides[k..].to_vec()];
    sum_kernel(cx, &[&p], &out_shape, &os, &red_shape, &rs, alpha).map(Some)
}

/// `out[o] = alpha * Σ_r Π_k in_k[os_k(o) + rs_k(r)]` for one or two inputs, `out`
/// C-contiguous over `out_shape`.
pub(crate) fn sum_kernel(
    cx: &Inner,
    ins: &[&CudaBuffer],
    out_shape: &[usize],
    os: &[Vec<usize>],
    red_shape: &[usize],
    rs: &[Vec<usize>],
    alpha: f64,
) -> Result<CudaBuffer> {
    let ty = ins.first().map(|b| b.ty).ok_or_else(|| CudaError::internal("sum of nothing"))?;
    let n_out: usize = out_shape.iter().product();
    let n_red: usize = red_shape.iter().product();
    if n_out == 0 || n_red == 0 {
        return cx.zeros(ty, out_shape);
    }
    let out = cx.alloc(ty, out_shape)?;
    let oc = c_strides(out_shape);
    let mut oops: Vec<&[usize]> = vec![&oc];
    oops.extend(os.iter().map(Vec::as_slice));
    let (cout, cos) = collapse(out_shape, &oops);
    let rops: Vec<&[usize]> = rs.iter().map(Vec::as_slice).collect();
    let (cred, crs) = collapse(red_shape, &rops);
    let mut all_shape = cout.clone();
    all_shape.extend(&cred);
    let all: Vec<Vec<usize>> =
        (0..ins.len()).map(|k| cos[k + 1].iter().chain(&crs[k]).copied().collect()).collect();
    let wide = needs_wide(&all_shape, &all.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let inner_stride = crs.first().and_then(|s| s.last().copied()).unwrap_or(1);
    let block = use_block(n_out, n_red, inner_stride);
    let spec = ReduceSpec {
        ty,
        inputs: ins.len(),
        out_rank: cout.len(),
        red_rank: cred.len(),
        wide,
        block,
    };
    let cfg = if block {
        LaunchCfg { grid: cx.grid(n_out, 1), block: REDUCE_BLOCK }
    } else {
        LaunchCfg { grid: cx.grid(n_out, MAP_BLOCK), block: MAP_BLOCK }
    };
    cx.launch(&KernelKey::Reduce(spec), cfg, |w| {
        w.ptr("out", out.ptr())?;
        for (k, b) in ins.iter().enumerate() {
            w.ptr(&format!("in{k}"), b.ptr())?;
        }
        w.int("n_out", n_out as i64)?.int("n_red", n_red as i64)?.ints("oshape", &cout)?;
        for k in 0..ins.len() {
            w.ints(&format!("os{k}"), &cos[k + 1])?;
        }
        w.ints("rshape", &cred)?;
        for (k, s) in crs.iter().enumerate() {
            w.ints(&format!("rs{k}"), s)?;
        }
        if ty == crate::codegen::Ty::I64 {
            w.int("alpha", alpha as i64)?;
        } else {
            w.float("alpha", alpha)?;
        }
        Ok(())
    })?;
    Ok(out)
}
