//! Pairwise contraction as a batched GEMM.
//!
//! `alpha * einsum(a, b -> out)`: diagonals of repeated labels are views; labels only
//! one operand has (and the output lacks) are summed out of it first; the rest are
//! batch (a, b, out), M (a, out), N (b, out) and K (a, b) labels. Float32 goes to the
//! packed GEMM (`contract_f32.rs`), which reads any layout. Otherwise (float64, int64,
//! and float32 products too thin for packed tiles) the M, K and N groups are ordered by
//! the operands' strides so that each group is one strided matrix dimension of the
//! operand as it lies in memory (transposed layouts included — `matrixmultiply` takes
//! arbitrary row and column strides); only an operand whose group cannot be expressed
//! that way is copied. The result is written as `[batch.., M.., N..]` in C order and
//! returned as a permuted view in `out` order. Batches of small GEMMs run in parallel
//! on rayon; large GEMMs use `matrixmultiply`'s own threads.

use rayon::prelude::*;

use super::buffer::{c_strides, Elem, Strided};
use super::einsum::{diagonal, permute_to, reduce};
use super::elementwise::zip_map;
use super::sgemm::MR;
use crate::kernel::Label;

/// GEMM for one element type: `C = alpha * A B` (C is written, not accumulated).
pub(crate) trait Gemm: Elem {
    /// Whether one call parallelizes itself (`matrixmultiply`); else the caller splits
    /// the rows into rayon tasks.
    const SELF_THREADED: bool;

    /// `c[i, j] = alpha * Σ_p a[i, p] b[p, j]` with the given element strides.
    ///
    /// Callers guarantee every addressed element is inside the slices.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (&[Self], usize, isize, isize),
        b: (&[Self], usize, isize, isize),
        c: &mut [Self],
        rsc: isize,
    );

    /// `alpha * einsum(a, b -> out)`; `None` when labels and shapes disagree. The
    /// general path (operands copied into GEMM order when their layout needs it) unless
    /// the type has a better one.
    fn contract(
        a: &Strided<Self>,
        la: &[Label],
        b: &Strided<Self>,
        lb: &[Label],
        out: &[Label],
        alpha: Self,
    ) -> Option<Strided<Self>> {
        contract_general(a, la, b, lb, out, alpha)
    }
}

/// `matrixmultiply`'s GEMM for `$t` (callers guarantee the strides address only
/// elements inside the slices).
macro_rules! mm_call {
    ($f:path, $m:expr, $k:expr, $n:expr, $alpha:expr, $a:expr, $b:expr, $c:expr, $rsc:expr) => {{
        let (a, b, c) = ($a, $b, $c);
        debug_assert!(c.len() >= $m * $n);
        // SAFETY: the callers derive offsets and strides from `Strided` views whose
        // addressable elements are all inside their storage (checked at construction),
        // and `c` holds `m * n` elements written with row stride `rsc` (= n) and
        // column stride 1.
        unsafe {
            $f(
                $m,
                $k,
                $n,
                $alpha,
                a.0.as_ptr().add(a.1),
                a.2,
                a.3,
                b.0.as_ptr().add(b.1),
                b.2,
                b.3,
                0.0,
                c.as_mut_ptr(),
                $rsc,
                1,
            );
        }
    }};
}

impl Gemm for f32 {
    const SELF_THREADED: bool = true;

    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (&[Self], usize, isize, isize),
        b: (&[Self], usize, isize, isize),
        c: &mut [Self],
        rsc: isize,
    ) {
        // Only thin products get here (`contract` below takes the packed GEMM for the
        // rest), where matrixmultiply's small kernels waste less.
        mm_call!(matrixmultiply::sgemm, m, k, n, alpha, a, b, c, rsc);
    }

    fn contract(
        a: &Strided<f32>,
        la: &[Label],
        b: &Strided<f32>,
        lb: &[Label],
        out: &[Label],
        alpha: f32,
    ) -> Option<Strided<f32>> {
        let (a2, la2) = simplify_operand(a, la, lb, out)?;
        let (b2, lb2) = simplify_operand(b, lb, la, out)?;
        if la2.iter().any(|l| lb2.contains(l) && !out.contains(l)) {
            if let Some(r) = super::contract_f32::contract_packed(&a2, &la2, &b2, &lb2, out, alpha)
            {
                return Some(r);
            }
        }
        contract_general(&a2, &la2, &b2, &lb2, out, alpha)
    }
}

macro_rules! impl_mm {
    ($t:ty, $f:path) => {
        impl Gemm for $t {
            const SELF_THREADED: bool = true;

            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: (&[Self], usize, isize, isize),
                b: (&[Self], usize, isize, isize),
                c: &mut [Self],
                rsc: isize,
            ) {
                mm_call!($f, m, k, n, alpha, a, b, c, rsc);
            }
        }
    };
}
impl_mm!(f64, matrixmultiply::dgemm);

impl Gemm for i64 {
    const SELF_THREADED: bool = false;

    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (&[Self], usize, isize, isize),
        b: (&[Self], usize, isize, isize),
        c: &mut [Self],
        rsc: isize,
    ) {
        for i in 0..m {
            for j in 0..n {
                let mut acc: i64 = 0;
                for p in 0..k {
                    let ai = a.1 as isize + i as isize * a.2 + p as isize * a.3;
                    let bi = b.1 as isize + p as isize * b.2 + j as isize * b.3;
                    acc = acc.wrapping_add(a.0[ai as usize].wrapping_mul(b.0[bi as usize]));
                }
                c[(i as isize * rsc) as usize + j] = acc.wrapping_mul(alpha);
            }
        }
    }
}

/// Size and stride of each label of a distinct-labelled view.
pub(crate) fn dims_of<T: Elem>(x: &Strided<T>, labels: &[Label], l: Label) -> (usize, usize) {
    labels.iter().position(|&o| o == l).map_or((1, 0), |p| (x.shape[p], x.strides[p]))
}

/// Sorts a label group by stride, largest first (the memory order of the operand).
pub(crate) fn by_stride<T: Elem>(x: &Strided<T>, labels: &[Label], group: &[Label]) -> Vec<Label> {
    let mut g = group.to_vec();
    g.sort_by_key(|&l| std::cmp::Reverse(dims_of(x, labels, l).1));
    g
}

/// The stride of `group` (in this order) as one merged dimension, if it is one.
pub(crate) fn merged_stride<T: Elem>(
    x: &Strided<T>,
    labels: &[Label],
    group: &[Label],
) -> Option<isize> {
    let dims: Vec<(usize, usize)> =
        group.iter().map(|&l| dims_of(x, labels, l)).filter(|d| d.0 != 1).collect();
    for w in dims.windows(2) {
        if w[0].1 != w[1].1 * w[1].0 {
            return None;
        }
    }
    Some(dims.last().map_or(1, |d| d.1) as isize)
}

pub(crate) fn product<T: Elem>(x: &Strided<T>, labels: &[Label], group: &[Label]) -> usize {
    group.iter().map(|&l| dims_of(x, labels, l).0).product()
}

/// A contiguous copy of `x` laid out in `order`.
pub(crate) fn relayout<T: Elem>(
    x: &Strided<T>,
    labels: &[Label],
    order: &[Label],
) -> Option<Strided<T>> {
    let p = permute_to(x, labels, order)?;
    Some(Strided::from_vec(&p.shape, p.to_vec()))
}

/// How to parallelize `n_batch` GEMMs of `m x k x n`: `None` runs them one after the
/// other (each is big enough for `matrixmultiply`'s own threads, or all are too small
/// to be worth splitting); `Some(mb)` runs blocks of `mb` rows as rayon tasks. For a
/// self-threaded GEMM, `mb` is small enough that `matrixmultiply` keeps each block on
/// one thread (it threads a GEMM once `m*k + k*n` reaches 2^15), so the two thread
/// pools never compete; otherwise the blocks give every thread about two tasks.
fn gemm_split<T: Gemm>(n_batch: usize, m: usize, k: usize, n: usize) -> Option<usize> {
    const MM_THREAD_MIN: usize = 1 << 15;
    let flops_each = 2 * m * k * n;
    let total = flops_each.saturating_mul(n_batch);
    let threads = rayon::current_num_threads();
    if total < (1 << 20) || threads <= 1 {
        return None;
    }
    if !T::SELF_THREADED {
        let blocks_per_batch = (2 * threads).div_ceil(n_batch).min(m.div_ceil(MR)).max(1);
        return Some((m.div_ceil(blocks_per_batch).div_ceil(MR) * MR).min(m.max(1)));
    }
    let threaded_alone = m * k + k * n >= MM_THREAD_MIN;
    if n_batch == 1 && threaded_alone {
        return None;
    }
    if n_batch > 1 && flops_each >= (1 << 27) {
        return None;
    }
    // Rows per block: as many as keep the block single-threaded, at least 8 (the
    // microkernel height), at most all rows.
    let mb = if k * n + 8 * k < MM_THREAD_MIN { (MM_THREAD_MIN - k * n - 1) / k.max(1) } else { 8 };
    let mb = mb.max(8).min(m.max(1));
    // Enough tasks to keep every thread busy, not so many that scheduling dominates.
    let tasks = n_batch * m.div_ceil(mb);
    if tasks < 2 && n_batch == 1 {
        return None;
    }
    Some(mb)
}

/// `alpha * a * b` with each operand viewed in `out`'s labels (missing labels
/// broadcast).
fn broadcast_product<T: Elem>(
    a: &Strided<T>,
    la: &[Label],
    b: &Strided<T>,
    lb: &[Label],
    out: &[Label],
    alpha: T,
) -> Option<Strided<T>> {
    let shape: Vec<usize> = out
        .iter()
        .map(|&l| {
            let (sa, sb) = (dims_of(a, la, l), dims_of(b, lb, l));
            if la.contains(&l) {
                sa.0
            } else {
                sb.0
            }
        })
        .collect();
    let view = |x: &Strided<T>, lx: &[Label]| {
        let strides = out.iter().map(|&l| dims_of(x, lx, l).1).collect();
        x.view(x.offset, shape.iter().copied().collect(), strides)
    };
    let (va, vb) = (view(a, la)?, view(b, lb)?);
    Some(zip_map(&shape, [&va, &vb], |[x, y]| x.mul(y).mul(alpha)))
}

/// Removes repeated labels (diagonal views) and sums out labels only this operand has.
fn simplify_operand<T: Elem>(
    x: &Strided<T>,
    lx: &[Label],
    other: &[Label],
    out: &[Label],
) -> Option<(Strided<T>, Vec<Label>)> {
    let (x, lx) = diagonal(x, lx)?;
    let keep: Vec<Label> =
        lx.iter().copied().filter(|l| other.contains(l) || out.contains(l)).collect();
    if keep.len() < lx.len() {
        Some((reduce(&x, &lx, &keep, T::zero(), true)?, keep))
    } else {
        Some((x, lx))
    }
}

/// Operands laid out for the GEMM: each group of labels one strided dimension.
struct Layout<T> {
    a: Strided<T>,
    la: Vec<Label>,
    b: Strided<T>,
    lb: Vec<Label>,
    batch: Vec<Label>,
    m: Vec<Label>,
    k: Vec<Label>,
    n: Vec<Label>,
}

/// Orders the M, K, N groups by the operands' strides and copies an operand only when
/// a group cannot be one strided dimension of it as it lies in memory.
fn layout<T: Elem>(
    a: Strided<T>,
    la: Vec<Label>,
    b: Strided<T>,
    lb: Vec<Label>,
    out: &[Label],
) -> Option<Layout<T>> {
    let plan = circuit_einsum::pairwise_plan(&la, &lb, out).ok()?;
    let m = by_stride(&a, &la, &plan.m);
    let n = by_stride(&b, &lb, &plan.n);
    let mut k = by_stride(&a, &la, &plan.k);
    let mut l = Layout { a, la, b, lb, batch: plan.batch.clone(), m, k: Vec::new(), n };
    let a_ok = |l: &Layout<T>, k: &[Label]| {
        merged_stride(&l.a, &l.la, &l.m).is_some() && merged_stride(&l.a, &l.la, k).is_some()
    };
    if !a_ok(&l, &k) {
        // Try B's K order before copying A.
        let kb = by_stride(&l.b, &l.lb, &plan.k);
        if a_ok(&l, &kb) {
            k = kb;
        } else {
            let order: Vec<Label> = l.batch.iter().chain(&l.m).chain(&k).copied().collect();
            l.a = relayout(&l.a, &l.la, &order)?;
            l.la = order;
        }
    }
    if merged_stride(&l.b, &l.lb, &k).is_none() || merged_stride(&l.b, &l.lb, &l.n).is_none() {
        let order: Vec<Label> = l.batch.iter().chain(&k).chain(&l.n).copied().collect();
        l.b = relayout(&l.b, &l.lb, &order)?;
        l.lb = order;
    }
    l.k = k;
    Some(l)
}

/// `alpha * einsum(a: la, b: lb -> out)`; `None` when labels and shapes disagree.
/// `alpha * acc * other` written into `acc`'s memory when nothing is summed and `acc`
/// is a unique contiguous buffer already in `out` order (the plan hands over a buffer at
/// its last use): no allocation, so no page faults. `Err(acc)` when not applicable.
// The Err variant hands the caller's own buffer back (a move, not a copy).
#[allow(clippy::result_large_err)]
pub(crate) fn product_in_place<T: Elem>(
    acc: Strided<T>,
    l_acc: &[Label],
    other: &Strided<T>,
    l_other: &[Label],
    out: &[Label],
    alpha: T,
) -> Result<Strided<T>, Strided<T>> {
    let summed = l_other.iter().any(|l| !out.contains(l));
    let distinct = |ls: &[Label]| ls.iter().enumerate().all(|(i, l)| !ls[..i].contains(l));
    if l_acc != out || summed || !distinct(l_other) {
        return Err(acc);
    }
    let shape: Vec<usize> = acc.shape.iter().copied().collect();
    let strides: Vec<usize> = out
        .iter()
        .map(|&l| l_other.iter().position(|&m| m == l).map_or(0, |i| other.strides[i]))
        .collect();
    // Broadcast labels of `other` must match the sizes of `acc`.
    for (i, &l) in out.iter().enumerate() {
        if let Some(j) = l_other.iter().position(|&m| m == l) {
            if other.shape[j] != shape[i] {
                return Err(acc);
            }
        }
    }
    let Some(view) =
        other.view(other.offset, shape.iter().copied().collect(), strides.into_iter().collect())
    else {
        return Err(acc);
    };
    let mut data = acc.into_unique_vec()?;
    super::elementwise::run_rows(&mut data, &shape, [&view], |o, [v]| *o = o.mul(v).mul(alpha));
    Ok(Strided::from_vec(&shape, data))
}

/// `alpha * a · b` contracted over the labels missing from `out`.
pub(crate) fn contract<T: Gemm>(
    a: &Strided<T>,
    la: &[Label],
    b: &Strided<T>,
    lb: &[Label],
    out: &[Label],
    alpha: T,
) -> Option<Strided<T>> {
    T::contract(a, la, b, lb, out, alpha)
}

/// [`contract`] with operands copied into GEMM order when their layout needs it.
fn contract_general<T: Gemm>(
    a: &Strided<T>,
    la: &[Label],
    b: &Strided<T>,
    lb: &[Label],
    out: &[Label],
    alpha: T,
) -> Option<Strided<T>> {
    // The GEMM writes C as batch × m × n with the m labels from its first operand; when
    // `out` lists the second operand's free labels first, swapping the operands makes C
    // come out in `out` order instead of as a transposed view (which every later
    // elementwise step would then read across the grain).
    let first_free = out.iter().find(|l| la.contains(l) != lb.contains(l));
    if first_free.is_some_and(|l| lb.contains(l)) {
        return contract_ordered(b, lb, a, la, out, alpha);
    }
    contract_ordered(a, la, b, lb, out, alpha)
}

fn contract_ordered<T: Gemm>(
    a: &Strided<T>,
    la: &[Label],
    b: &Strided<T>,
    lb: &[Label],
    out: &[Label],
    alpha: T,
) -> Option<Strided<T>> {
    let (a2, la2) = simplify_operand(a, la, lb, out)?;
    let (b2, lb2) = simplify_operand(b, lb, la, out)?;
    if !la2.iter().any(|l| lb2.contains(l) && !out.contains(l)) {
        // Nothing is summed: an elementwise product of broadcast views, written
        // straight in `out` order (a GEMM would need K = 1 and often a copy).
        return broadcast_product(&a2, &la2, &b2, &lb2, out, alpha);
    }
    let Layout { a, la, b, lb, batch, m: m_order, k: k_order, n: n_order } =
        layout(a2, la2, b2, lb2, out)?;
    let (rsa, csa) = (merged_stride(&a, &la, &m_order)?, merged_stride(&a, &la, &k_order)?);
    let (rsb, csb) = (merged_stride(&b, &lb, &k_order)?, merged_stride(&b, &lb, &n_order)?);
    let m = product(&a, &la, &m_order);
    let k = product(&a, &la, &k_order);
    let n = product(&b, &lb, &n_order);
    if product(&b, &lb, &k_order) != k {
        return None;
    }
    let batch_sizes: Vec<usize> = batch.iter().map(|&l| dims_of(&a, &la, l).0).collect();
    let n_batch: usize = batch_sizes.iter().product();
    let c_labels: Vec<Label> = batch.iter().chain(&m_order).chain(&n_order).copied().collect();
    let mut c_shape: Vec<usize> = batch_sizes.clone();
    c_shape.extend(m_order.iter().map(|&l| dims_of(&a, &la, l).0));
    c_shape.extend(n_order.iter().map(|&l| dims_of(&b, &lb, l).0));
    let mut c = super::pool::zeroed(n_batch * m * n);
    if m * n > 0 && k > 0 {
        let a_bs: Vec<usize> = batch.iter().map(|&l| dims_of(&a, &la, l).1).collect();
        let b_bs: Vec<usize> = batch.iter().map(|&l| dims_of(&b, &lb, l).1).collect();
        let bstr = c_strides(&batch_sizes);
        let (ad, bd) = (a.data(), b.data());
        let (ao, bo) = (a.offset, b.offset);
        let bases = |bi: usize| {
            let (mut oa, mut ob) = (ao, bo);
            for d in 0..batch_sizes.len() {
                let idx = (bi / bstr[d]) % batch_sizes[d];
                oa += idx * a_bs[d];
                ob += idx * b_bs[d];
            }
            (oa, ob)
        };
        if m == 1 && n == 1 {
            // Batched dot products (e.g. a sum of squares per row): a GEMM call per
            // batch item would cost far more than its k multiply-adds.
            let dot = |bi: usize| {
                let (oa, ob) = bases(bi);
                let mut acc = T::zero();
                for p in 0..k as isize {
                    let x = ad[(oa as isize + p * csa) as usize];
                    let y = bd[(ob as isize + p * rsb) as usize];
                    acc = acc.add(x.mul(y));
                }
                acc.mul(alpha)
            };
            let per = (1usize << 14).div_ceil(k).max(1);
            c.par_chunks_mut(per).enumerate().for_each(|(j, chunk)| {
                for (i, o) in chunk.iter_mut().enumerate() {
                    *o = dot(j * per + i);
                }
            });
            let result = Strided::from_vec(&c_shape, c);
            return permute_to(&result, &c_labels, out);
        }
        let run = |bi: usize, row0: usize, chunk: &mut [T]| {
            let (mut oa, ob) = bases(bi);
            oa = (oa as isize + row0 as isize * rsa) as usize;
            let rows = chunk.len() / n;
            T::gemm(rows, k, n, alpha, (ad, oa, rsa, csa), (bd, ob, rsb, csb), chunk, n as isize);
        };
        match gemm_split::<T>(n_batch, m, k, n) {
            None => c.chunks_mut(m * n).enumerate().for_each(|(bi, chunk)| run(bi, 0, chunk)),
            Some(mb) => c.par_chunks_mut(m * n).enumerate().for_each(|(bi, chunk)| {
                chunk
                    .par_chunks_mut(mb * n)
                    .enumerate()
                    .for_each(|(j, rows)| run(bi, j * mb, rows));
            }),
        }
    }
    let result = Strided::from_vec(&c_shape, c);
    permute_to(&result, &c_labels, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_split_never_panics_and_blocks_fit() {
        for &(nb, m, k, n) in &[
            (1, 1, 4096, 4096),
            (64, 1, 512, 512),
            (8, 3, 1, 100_000),
            (1, 100_000, 4, 4),
            (4, 320, 320, 64),
            (1, 0, 0, 0),
        ] {
            for mb in [gemm_split::<f64>(nb, m, k, n), gemm_split::<f32>(nb, m, k, n)]
                .into_iter()
                .flatten()
            {
                assert!(mb >= 1 && mb <= m.max(1), "{nb} {m} {k} {n}: {mb}");
            }
        }
    }
}
