//! Float32 pairwise contraction on the packed GEMM (`sgemm.rs`), with no layout copies.
//!
//! Each label group (batch, M, K, N) becomes an [`Axis`] of element offsets into its
//! operand as it lies in memory, so permuted, sliced and broadcast views are read in
//! place; the result is written directly as a C-order tensor in the einsum's output
//! order (no permuted view for later steps to read across the grain).

use rayon::prelude::*;

use super::buffer::{c_strides, Strided};
use super::gemm::{by_stride, dims_of};
use super::sgemm::{sgemm, Axis, MatRef, OutView};
use crate::kernel::Label;

/// Products smaller than this (in FLOPs) run on one thread.
const PARALLEL_MIN_FLOPS: usize = 1 << 18;

/// A GEMM dimension thinner than this is left to the general path (a packed micro-tile
/// would be mostly padding).
const THIN: usize = 4;

fn distinct(ls: &[Label]) -> bool {
    ls.iter().enumerate().all(|(i, l)| !ls[..i].contains(l))
}

/// The (size, stride) of each label of `group` in `x`.
fn dims(x: &Strided<f32>, lx: &[Label], group: &[Label]) -> Vec<(usize, isize)> {
    group
        .iter()
        .map(|&l| {
            let (n, s) = dims_of(x, lx, l);
            (n, s as isize)
        })
        .collect()
}

/// `alpha * einsum(a, b -> out)` for distinct-labelled operands (diagonals taken and
/// lone labels summed out by the caller) that share at least one summed label.
/// `None` when the product is too thin for the packed kernel, or labels and shapes
/// disagree: the caller then takes the general path.
pub(crate) fn contract_packed(
    a: &Strided<f32>,
    la: &[Label],
    b: &Strided<f32>,
    lb: &[Label],
    out: &[Label],
    alpha: f32,
) -> Option<Strided<f32>> {
    if !distinct(la) || !distinct(lb) || !distinct(out) {
        return None;
    }
    let plan = circuit_einsum::pairwise_plan(la, lb, out).ok()?;
    if !plan.sum_a.is_empty() || !plan.sum_b.is_empty() || plan.k.is_empty() {
        return None;
    }
    // The operand holding the output's innermost free label supplies the columns, so
    // that micro-tiles are written as contiguous rows.
    let innermost = out.iter().rev().find(|l| !plan.batch.contains(l));
    let swap = innermost.is_some_and(|l| plan.m.contains(l));
    let (a, la, b, lb, m_l, n_l) =
        if swap { (b, lb, a, la, &plan.n, &plan.m) } else { (a, la, b, lb, &plan.m, &plan.n) };
    let size = |l: Label| if la.contains(&l) { dims_of(a, la, l).0 } else { dims_of(b, lb, l).0 };
    let (m, n): (usize, usize) =
        (m_l.iter().map(|&l| size(l)).product(), n_l.iter().map(|&l| size(l)).product());
    let k_l = by_stride(a, la, &plan.k);
    let k: usize = k_l.iter().map(|&l| size(l)).product();
    let mismatch =
        plan.batch.iter().chain(&k_l).any(|&l| dims_of(b, lb, l).0 != dims_of(a, la, l).0);
    if m.min(n) < THIN || mismatch {
        return None;
    }
    let out_shape: Vec<usize> = out.iter().map(|&l| size(l)).collect();
    let out_strides = c_strides(&out_shape);
    let out_dims = |group: &[Label]| -> Vec<(usize, isize)> {
        group
            .iter()
            .map(|&l| {
                let p = out.iter().position(|&o| o == l).unwrap_or(0);
                (out_shape[p], out_strides[p] as isize)
            })
            .collect()
    };
    let (a_rows, a_cols) =
        (Axis::from_dims(&dims(a, la, m_l)), Axis::from_dims(&dims(a, la, &k_l)));
    let (b_rows, b_cols) =
        (Axis::from_dims(&dims(b, lb, &k_l)), Axis::from_dims(&dims(b, lb, n_l)));
    let (a_batch, b_batch) =
        (Axis::from_dims(&dims(a, la, &plan.batch)), Axis::from_dims(&dims(b, lb, &plan.batch)));
    let (c_batch, c_rows, c_cols) = (
        Axis::from_dims(&out_dims(&plan.batch)),
        Axis::from_dims(&out_dims(m_l)),
        Axis::from_dims(&out_dims(n_l)),
    );
    let numel: usize = out_shape.iter().product();
    // No zeroing: the GEMMs write every element (below).
    let mut c = super::pool::take::<f32>(numel).unwrap_or_default();
    c.clear();
    c.reserve(numel);
    let n_batch = c_batch.len();
    {
        let view = OutView::new(&mut c.spare_capacity_mut()[..numel], &c_batch, &c_rows, &c_cols)?;
        // Each batch item's operands, checked to lie inside their data.
        let operands: Vec<(MatRef<'_>, MatRef<'_>)> = (0..n_batch)
            .map(|bi| {
                let ao = (a.offset as isize + a_batch.offset(bi)) as usize;
                let bo = (b.offset as isize + b_batch.offset(bi)) as usize;
                Some((
                    MatRef::with_axes(a.data(), ao, &a_rows, &a_cols)?,
                    MatRef::with_axes(b.data(), bo, &b_rows, &b_cols)?,
                ))
            })
            .collect::<Option<_>>()?;
        let threads = rayon::current_num_threads();
        let flops_each = 2 * m * k * n;
        let by_batch = n_batch > 1
            && threads > 1
            && (n_batch >= 4 * threads || n_batch % threads == 0 || flops_each < 1 << 22);
        if by_batch {
            operands
                .par_iter()
                .enumerate()
                .for_each(|(bi, (x, y))| sgemm(x, y, alpha, &view, bi, 1));
        } else {
            let t = if flops_each < PARALLEL_MIN_FLOPS { 1 } else { threads };
            for (bi, (x, y)) in operands.iter().enumerate() {
                sgemm(x, y, alpha, &view, bi, t);
            }
        }
    }
    // SAFETY: the output labels are exactly batch, M and N, so the (batch, row, col)
    // offsets (distinct, checked by `OutView::new`) are `numel` distinct offsets below
    // `numel`: every element. Every batch item's GEMM ran, and a GEMM writes each of its
    // elements (tasks partition rows x columns; the first depth block stores, or zeros
    // when the depth is 0).
    unsafe { c.set_len(numel) };
    Some(Strided::from_vec(&out_shape, c))
}
