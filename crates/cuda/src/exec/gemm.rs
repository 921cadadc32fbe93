//! Pairwise contractions on cuBLAS, and convolutions as im2col + GEMM.
//!
//! `alpha * einsum(a, b -> out)`: diagonals are views; labels only one operand has (and
//! the output lacks) are summed out of it first; nothing left to sum is an elementwise
//! product; int64 (no cuBLAS type) and batched dot products (M = N = 1, nothing to tile)
//! run on the sum-of-products kernel; the rest is one strided-batched GEMM.
//!
//! cuBLAS is column-major. The row-major result `C[batch][m][n]` is computed as its
//! transpose, `C^T = B^T A^T`, which column-major `C` with `ldc = N` *is*. Each operand
//! is passed as the transpose of a row-major matrix: a row-major `R x C` matrix with
//! strides `(rs, cs)` is, read column-major, either `X^T` with `ld = rs` (when `cs ==
//! 1`, no transpose flag) or `X` with `ld = cs` (when `rs == 1`, transpose flag) —
//! [`colmajor_t`]. The M, K and N label groups are ordered by the operands' strides so
//! that each group is one strided dimension where the memory allows, and an operand is
//! copied (`relayout`) only when it is not expressible that way; batch labels must
//! merge into one batch stride (0 is allowed: broadcast batches).

use circuit_eval::Label;

use crate::backend::{Inner, KernelKey};
use crate::buffer::CudaBuffer;
use crate::codegen::gather::Im2colSpec;
use crate::codegen::map::MapOp;
use crate::codegen::Ty;
use crate::device::{GemmCall, LaunchCfg};
use crate::error::{CudaError, Result};

use super::elementwise::{contiguous, map, materialize, MAP_BLOCK};
use super::reduce::{diagonal, dims_of, permute_to, reduce, sum_kernel};

/// Largest batch of one cuBLAS call (larger batches are split).
const MAX_BATCH: usize = 65535;

/// How cuBLAS should read the transpose of a row-major `rows x cols` matrix with
/// strides `(rs, cs)`: `(transpose flag, leading dimension)`, or `None` when neither
/// layout fits (a broadcast or otherwise overlapping matrix).
pub(crate) fn colmajor_t(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<(bool, usize)> {
    // As stored: a column-major `cols x rows` matrix with ld = rs.
    if cs == 1 || cols <= 1 {
        let ld = if rows <= 1 { cols.max(1) } else { rs };
        if ld >= cols.max(1) {
            return Some((false, ld));
        }
    }
    // As stored: a column-major `rows x cols` matrix with ld = cs, read transposed.
    if rs == 1 || rows <= 1 {
        let ld = if cols <= 1 { rows.max(1) } else { cs };
        if ld >= rows.max(1) {
            return Some((true, ld));
        }
    }
    None
}

/// A distinct-labelled operand's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operand {
    pub(crate) labels: Vec<Label>,
    pub(crate) shape: Vec<usize>,
    pub(crate) strides: Vec<usize>,
}

impl Operand {
    fn dims(&self, l: Label) -> (usize, usize) {
        self.labels
            .iter()
            .position(|&o| o == l)
            .map_or((1, 0), |p| (self.shape[p], self.strides[p]))
    }

    /// Labels of `group` sorted by stride, largest first (the memory order).
    fn by_stride(&self, group: &[Label]) -> Vec<Label> {
        let mut g = group.to_vec();
        g.sort_by_key(|&l| std::cmp::Reverse(self.dims(l).1));
        g
    }

    fn size(&self, group: &[Label]) -> usize {
        group.iter().map(|&l| self.dims(l).0).product()
    }

    /// The stride of `group` (in this order) as one merged dimension, if it is one.
    fn merged(&self, group: &[Label]) -> Option<usize> {
        let dims: Vec<(usize, usize)> =
            group.iter().map(|&l| self.dims(l)).filter(|d| d.0 != 1).collect();
        for w in dims.windows(2) {
            if w[0].1 != w[1].1 * w[1].0 {
                return None;
            }
        }
        Some(dims.last().map_or(0, |d| d.1))
    }

    /// `(trans, ld)` of the `rows x cols` matrix formed by two label groups.
    fn matrix(&self, rows: &[Label], cols: &[Label]) -> Option<(bool, usize)> {
        let (rs, cs) = (self.merged(rows)?, self.merged(cols)?);
        colmajor_t(self.size(rows), self.size(cols), rs, cs)
    }
}

/// The GEMM decomposition of a contraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GemmPlan {
    pub(crate) batch: Vec<Label>,
    pub(crate) m: Vec<Label>,
    pub(crate) n: Vec<Label>,
    pub(crate) k: Vec<Label>,
    /// Copy A into this label order (contiguous) first.
    pub(crate) relayout_a: Option<Vec<Label>>,
    /// Copy B into this label order (contiguous) first.
    pub(crate) relayout_b: Option<Vec<Label>>,
}

/// Orders the groups and decides which operands must be copied (`a` is M x K, `b` is
/// K x N, both per batch).
pub(crate) fn plan_gemm(a: &Operand, b: &Operand, out: &[Label]) -> Option<GemmPlan> {
    let p = circuit_einsum::pairwise_plan(&a.labels, &b.labels, out).ok()?;
    let m = a.by_stride(&p.m);
    let n = b.by_stride(&p.n);
    let a_ok = |k: &[Label]| a.merged(&p.batch).is_some() && a.matrix(&m, k).is_some();
    let mut k = a.by_stride(&p.k);
    let mut relayout_a = None;
    if !a_ok(&k) {
        let kb = b.by_stride(&p.k);
        if a_ok(&kb) {
            k = kb;
        } else {
            relayout_a = Some(p.batch.iter().chain(&m).chain(&k).copied().collect());
        }
    }
    let b_ok = b.merged(&p.batch).is_some() && b.matrix(&k, &n).is_some();
    let relayout_b = (!b_ok).then(|| p.batch.iter().chain(&k).chain(&n).copied().collect());
    Some(GemmPlan { batch: p.batch, m, n, k, relayout_a, relayout_b })
}

fn operand(x: &CudaBuffer, labels: &[Label]) -> Operand {
    Operand { labels: labels.to_vec(), shape: x.shape.clone(), strides: x.strides.clone() }
}

fn to_i32(v: usize, what: &str) -> Result<i32> {
    i32::try_from(v).map_err(|_| CudaError::TooLarge { what: what.into(), value: v as u128 })
}

/// Removes repeated labels (diagonal views) and sums out labels only this operand has.
fn simplify(
    cx: &Inner,
    x: &CudaBuffer,
    lx: &[Label],
    other: &[Label],
    out: &[Label],
) -> Result<Option<(CudaBuffer, Vec<Label>)>> {
    let Some((d, ld)) = diagonal(x, lx) else { return Ok(None) };
    let keep: Vec<Label> =
        ld.iter().copied().filter(|l| other.contains(l) || out.contains(l)).collect();
    if keep.len() == ld.len() {
        return Ok(Some((d, ld)));
    }
    Ok(reduce(cx, &d, &ld, &keep, 1.0)?.map(|r| (r, keep)))
}

/// `alpha * einsum(a: la, b: lb -> out)`; `None` when labels and shapes disagree.
pub(crate) fn contract(
    cx: &Inner,
    a: &CudaBuffer,
    la: &[Label],
    b: &CudaBuffer,
    lb: &[Label],
    out: &[Label],
    alpha: f64,
) -> Result<Option<CudaBuffer>> {
    let Some((a, la)) = simplify(cx, a, la, lb, out)? else { return Ok(None) };
    let Some((b, lb)) = simplify(cx, b, lb, &la, out)? else { return Ok(None) };
    let k: Vec<Label> = la.iter().copied().filter(|l| lb.contains(l) && !out.contains(l)).collect();
    let out_dims: Option<Vec<(usize, usize, usize)>> = out
        .iter()
        .map(|&l| {
            let (sa, sb) = (dims_of(&a, &la, l), dims_of(&b, &lb, l));
            match (la.contains(&l), lb.contains(&l)) {
                (true, true) if sa.0 != sb.0 => None,
                (true, _) => Some((sa.0, sa.1, sb.1)),
                (false, true) => Some((sb.0, 0, sb.1)),
                (false, false) => None,
            }
        })
        .collect();
    let Some(out_dims) = out_dims else { return Ok(None) };
    for &l in &k {
        if dims_of(&a, &la, l).0 != dims_of(&b, &lb, l).0 {
            return Ok(None);
        }
    }
    let out_shape: Vec<usize> = out_dims.iter().map(|d| d.0).collect();
    if k.is_empty() {
        // Nothing summed: an elementwise product of broadcast views.
        let (Some(va), Some(vb)) = (
            a.view(a.offset, out_shape.clone(), out_dims.iter().map(|d| d.1).collect()),
            b.view(b.offset, out_shape.clone(), out_dims.iter().map(|d| d.2).collect()),
        ) else {
            return Ok(None);
        };
        return map(cx, MapOp::MulScale, a.ty, &out_shape, &[&va, &vb], None, alpha).map(Some);
    }
    let m_size: usize = out
        .iter()
        .filter(|l| la.contains(l) && !lb.contains(l))
        .map(|&l| dims_of(&a, &la, l).0)
        .product();
    let n_size: usize = out
        .iter()
        .filter(|l| lb.contains(l) && !la.contains(l))
        .map(|&l| dims_of(&b, &lb, l).0)
        .product();
    if a.ty == Ty::I64 || (m_size == 1 && n_size == 1) {
        let os =
            vec![out_dims.iter().map(|d| d.1).collect(), out_dims.iter().map(|d| d.2).collect()];
        let red: Vec<usize> = k.iter().map(|&l| dims_of(&a, &la, l).0).collect();
        let rs = vec![
            k.iter().map(|&l| dims_of(&a, &la, l).1).collect(),
            k.iter().map(|&l| dims_of(&b, &lb, l).1).collect(),
        ];
        return sum_kernel(cx, &[&a, &b], &out_shape, &os, &red, &rs, alpha).map(Some);
    }
    // C is written [batch, M, N] with M from the first operand: put the operand whose
    // free label comes first in `out` first, so C comes out in `out` order.
    let first_free = out.iter().find(|l| la.contains(l) != lb.contains(l));
    if first_free.is_some_and(|l| lb.contains(l)) {
        gemm(cx, &b, &lb, &a, &la, out, alpha)
    } else {
        gemm(cx, &a, &la, &b, &lb, out, alpha)
    }
}

/// One strided-batched GEMM (after relayouts the planner asks for).
fn gemm(
    cx: &Inner,
    a: &CudaBuffer,
    la: &[Label],
    b: &CudaBuffer,
    lb: &[Label],
    out: &[Label],
    alpha: f64,
) -> Result<Option<CudaBuffer>> {
    let Some(plan) = plan_gemm(&operand(a, la), &operand(b, lb), out) else { return Ok(None) };
    let relayout = |x: &CudaBuffer,
                    lx: &[Label],
                    order: &Option<Vec<Label>>|
     -> Result<Option<(CudaBuffer, Vec<Label>)>> {
        match order {
            None => Ok(Some((x.clone(), lx.to_vec()))),
            Some(o) => match permute_to(x, lx, o) {
                Some(v) => Ok(Some((materialize(cx, &v)?, o.clone()))),
                None => Ok(None),
            },
        }
    };
    let Some((a, la)) = relayout(a, la, &plan.relayout_a)? else { return Ok(None) };
    let Some((b, lb)) = relayout(b, lb, &plan.relayout_b)? else { return Ok(None) };
    let (oa, ob) = (operand(&a, &la), operand(&b, &lb));
    let (Some((tb_, ldb)), Some((ta_, lda))) =
        (oa.matrix(&plan.m, &plan.k), ob.matrix(&plan.k, &plan.n))
    else {
        return Err(CudaError::internal("GEMM operand not expressible after relayout"));
    };
    let (m, n, kk) = (oa.size(&plan.m), ob.size(&plan.n), oa.size(&plan.k));
    let nb = oa.size(&plan.batch);
    let (Some(sa), Some(sb)) = (oa.merged(&plan.batch), ob.merged(&plan.batch)) else {
        return Err(CudaError::internal("GEMM batch not mergeable after relayout"));
    };
    let c_labels: Vec<Label> = plan.batch.iter().chain(&plan.m).chain(&plan.n).copied().collect();
    let mut c_shape: Vec<usize> = plan.batch.iter().map(|&l| oa.dims(l).0).collect();
    c_shape.extend(plan.m.iter().map(|&l| oa.dims(l).0));
    c_shape.extend(plan.n.iter().map(|&l| ob.dims(l).0));
    let c = if kk == 0 { cx.zeros(a.ty, &c_shape)? } else { cx.alloc(a.ty, &c_shape)? };
    if kk > 0 && m * n * nb > 0 {
        let es = a.ty.size() as u64;
        let mut start = 0usize;
        while start < nb {
            let count = (nb - start).min(MAX_BATCH);
            let call = GemmCall {
                ty: a.ty,
                transa: ta_,
                transb: tb_,
                m: to_i32(n, "GEMM N")?,
                n: to_i32(m, "GEMM M")?,
                k: to_i32(kk, "GEMM K")?,
                alpha,
                a: b.ptr() + (start * sb) as u64 * es,
                lda: to_i32(lda, "GEMM lda")?,
                stride_a: sb as i64,
                b: a.ptr() + (start * sa) as u64 * es,
                ldb: to_i32(ldb, "GEMM ldb")?,
                stride_b: sa as i64,
                c: c.ptr() + (start * m * n) as u64 * es,
                ldc: to_i32(n.max(1), "GEMM ldc")?,
                stride_c: (m * n) as i64,
                batch: to_i32(count, "GEMM batch")?,
            };
            cx.dev().gemm(&call)?;
            start += count;
        }
    }
    Ok(permute_to(&c, &c_labels, out))
}

/// Channels-last convolution: `input [batch.., spatial.., c]`, `filter [o, spatial.., c]`
/// → `[batch.., out.., o]`, as im2col then a GEMM with the filter.
pub(crate) fn conv(
    cx: &Inner,
    input: &CudaBuffer,
    filter: &CudaBuffer,
    stride: &[usize],
    padding: &[(usize, usize)],
    out_shape: &[usize],
) -> Result<Option<CudaBuffer>> {
    let ns = stride.len();
    let (ishape, fshape) = (&input.shape, &filter.shape);
    if ns == 0
        || fshape.len() != ns + 2
        || ishape.len() < ns + 1
        || out_shape.len() != ishape.len()
        || padding.len() != ns
    {
        return Ok(None);
    }
    let x = contiguous(cx, input)?;
    let nb = ishape.len() - ns - 1;
    let c = ishape[ishape.len() - 1];
    let o = fshape[0];
    let ksp = fshape[1..=ns].to_vec();
    let insp = ishape[nb..nb + ns].to_vec();
    let outsp = out_shape[nb..nb + ns].to_vec();
    let batch: usize = ishape[..nb].iter().product();
    let n_pos: usize = outsp.iter().product();
    let row: usize = ksp.iter().product::<usize>() * c;
    let cols = cx.alloc(x.ty, &[batch * n_pos, row])?;
    let n = batch * n_pos * row;
    if n > 0 {
        let spec = Im2colSpec { ty: x.ty, spatial: ns };
        let cs = |s: &[usize]| crate::buffer::c_strides(s);
        let (istr, ostr, kstr) = (cs(&insp), cs(&outsp), cs(&ksp));
        let pads: Vec<usize> = padding.iter().map(|p| p.0).collect();
        let frame = insp.iter().product::<usize>() * c;
        cx.launch(
            &KernelKey::Im2col(spec),
            LaunchCfg { grid: cx.grid(n, MAP_BLOCK), block: MAP_BLOCK },
            |w| {
                w.ptr("cols", cols.ptr())?.ptr("x", x.ptr())?.int("n", n as i64)?;
                w.int("row", row as i64)?.int("c", c as i64)?.int("n_pos", n_pos as i64)?;
                w.int("frame", frame as i64)?;
                w.ints("insp", &insp)?.ints("outsp", &outsp)?.ints("ksp", &ksp)?;
                w.ints("istr", &istr)?.ints("ostr", &ostr)?.ints("kstr", &kstr)?;
                w.ints("stride", stride)?.ints("pad", &pads)?;
                Ok(())
            },
        )?;
    }
    let f = contiguous(cx, filter)?;
    let Some(f2) = f.view(f.offset, vec![o, row], vec![row, 1]) else { return Ok(None) };
    finish_conv(cx, &cols, &f2, out_shape)
}

fn finish_conv(
    cx: &Inner,
    cols: &CudaBuffer,
    f: &CudaBuffer,
    out_shape: &[usize],
) -> Result<Option<CudaBuffer>> {
    // cols [P, R] · filter [O, R]^T → [P, O], labels p=0, r=1, o=2.
    let Some(r) = contract(cx, cols, &[0, 1], f, &[2, 1], &[0, 2], 1.0)? else { return Ok(None) };
    let r = contiguous(cx, &r)?;
    Ok(r.view(r.offset, out_shape.to_vec(), crate::buffer::c_strides(out_shape)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(labels: &[Label], shape: &[usize], strides: &[usize]) -> Operand {
        Operand { labels: labels.to_vec(), shape: shape.to_vec(), strides: strides.to_vec() }
    }

    #[test]
    fn colmajor_layouts() {
        // Row-major 3x4: read as its transpose (4x3 col-major, ld 4), no flag.
        assert_eq!(colmajor_t(3, 4, 4, 1), Some((false, 4)));
        // Column-major 3x4 (strides (1, 3)): read as stored with the flag, ld 3.
        assert_eq!(colmajor_t(3, 4, 1, 3), Some((true, 3)));
        // Padded rows are fine; overlapping or broadcast ones are not.
        assert_eq!(colmajor_t(3, 4, 10, 1), Some((false, 10)));
        assert_eq!(colmajor_t(3, 4, 2, 1), None);
        assert_eq!(colmajor_t(3, 4, 0, 1), None);
        // Vectors: the degenerate stride is free.
        assert_eq!(colmajor_t(1, 4, 0, 1), Some((false, 4)));
        assert_eq!(colmajor_t(4, 1, 1, 0), Some((false, 1)));
        assert_eq!(colmajor_t(1, 1, 0, 0), Some((false, 1)));
    }

    #[test]
    fn plans_read_operands_in_place() {
        // ab,bc->ac with both row-major: no copies.
        let a = op(&[0, 1], &[3, 4], &[4, 1]);
        let b = op(&[1, 2], &[4, 5], &[5, 1]);
        let p = plan_gemm(&a, &b, &[0, 2]).unwrap_or_else(|| panic!("plan"));
        assert_eq!((p.relayout_a.clone(), p.relayout_b.clone()), (None, None));
        // Transposed A (stored [b, a]) is read with the transpose flag.
        let at = op(&[0, 1], &[3, 4], &[1, 3]);
        let p = plan_gemm(&at, &b, &[0, 2]).unwrap_or_else(|| panic!("plan"));
        assert_eq!(p.relayout_a, None);
        // M split across non-adjacent strides must be copied.
        let a3 = op(&[0, 3, 1], &[2, 3, 4], &[4, 8, 1]);
        let p = plan_gemm(&a3, &b, &[0, 3, 2]).unwrap_or_else(|| panic!("plan"));
        assert!(p.relayout_a.is_some() || p.m == vec![3, 0], "{p:?}");
        // Batched with broadcast batch (stride 0) is fine.
        let ab = op(&[9, 0, 1], &[7, 3, 4], &[0, 4, 1]);
        let bb = op(&[9, 1, 2], &[7, 4, 5], &[20, 5, 1]);
        let p = plan_gemm(&ab, &bb, &[9, 0, 2]).unwrap_or_else(|| panic!("plan"));
        assert_eq!((p.relayout_a, p.relayout_b), (None, None));
    }
}
