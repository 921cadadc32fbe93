//! The fused unembedding + log-softmax + pick: `out[i] = z[i, t_i] - logsumexp_j z[i, j]`
//! with `z = alpha * A B`, without ever storing `z`.
//!
//! This is what a next-token loss computes (`gen_index(log_softmax(resid @ W_U), targets)`)
//! and where a language model's evaluation spends most of its time: the logits are
//! `tokens x vocab`, far larger than everything else, and materializing them costs a
//! pass of page faults plus three memory-bound passes (max, sum of exp, subtract) that
//! the GEMM could have done while the values were in registers' reach. Here each
//! `MR x NR` tile of `z` from the packed GEMM (`sgemm.rs`) is folded into per-row
//! running state right away: the running max `m_i` and per-lane partial sums of
//! `exp(z - m_i)` (rescaled in the rare event that a tile raises the max — the online
//! softmax recurrence), and `z[i, t_i]` when the tile holds the target column.
//! Memory: the packed operands and 70 bytes per row, instead of `4 * vocab` per row.

use std::ops::Range;

use super::buffer::Strided;
use super::gemm::{by_stride, dims_of, merged_stride, product, relayout};
use super::index::{norm_index, OutOfRange};
use super::math::exp_f32;
use super::sgemm::{pack_a, pack_b, Aligned, MatRef, MicroKernel, MC, MR, NC, NR};
use crate::kernel::Label;

/// `gen_index(log_softmax(alpha * einsum(a, b -> logits)), targets)` along the last
/// label of `logits`, whose other labels are `a`'s free labels and whose last is `b`'s
/// only free label (the fusion pass guarantees this shape). `Ok(None)` when labels and
/// shapes disagree; `Err` names a target outside the vocabulary.
pub(crate) fn contract_log_softmax_pick(
    a: &Strided<f32>,
    la: &[Label],
    b: &Strided<f32>,
    lb: &[Label],
    logits: &[Label],
    alpha: f32,
    targets: &Strided<i64>,
) -> Result<Option<Strided<f32>>, OutOfRange> {
    let Some((&nl, rows)) = logits.split_last() else { return Ok(None) };
    let k_labels: Vec<Label> = la.iter().copied().filter(|l| lb.contains(l)).collect();
    let k_order = by_stride(a, la, &k_labels);
    let row_shape: Vec<usize> = rows.iter().map(|&l| dims_of(a, la, l).0).collect();
    if targets.shape.as_slice() != row_shape.as_slice() {
        return Ok(None);
    }
    // Rows and K must each be one strided dimension (rows in `logits` order); else copy.
    let a_order: Vec<Label> = rows.iter().chain(&k_order).copied().collect();
    let a = match (merged_stride(a, la, rows), merged_stride(a, la, &k_order)) {
        (Some(_), Some(_)) => a.clone(),
        _ => match relayout(a, la, &a_order) {
            Some(x) => {
                return contract_log_softmax_pick(&x, &a_order, b, lb, logits, alpha, targets)
            }
            None => return Ok(None),
        },
    };
    let b_order: Vec<Label> = k_order.iter().chain([&nl]).copied().collect();
    let b = match merged_stride(b, lb, &k_order) {
        Some(_) => b.clone(),
        None => match relayout(b, lb, &b_order) {
            Some(x) => {
                return contract_log_softmax_pick(&a, la, &x, &b_order, logits, alpha, targets)
            }
            None => return Ok(None),
        },
    };
    let (m, k, n) =
        (row_shape.iter().product::<usize>(), product(&a, la, &k_order), dims_of(&b, lb, nl).0);
    if product(&b, lb, &k_order) != k {
        return Ok(None);
    }
    let t: Vec<usize> =
        targets.to_vec().into_iter().map(|v| norm_index(v, n)).collect::<Result<_, _>>()?;
    let mut out = vec![0.0f32; m];
    if k == 0 {
        // Every logit is 0: log_softmax is -ln(n) everywhere.
        out.fill(-(n as f32).ln());
        return Ok(Some(Strided::from_vec(&row_shape, out)));
    }
    let (Some(rs), Some(cs), Some(bk)) = (
        merged_stride(&a, la, rows),
        merged_stride(&a, la, &k_order),
        merged_stride(&b, lb, &k_order),
    ) else {
        return Ok(None);
    };
    let bn = dims_of(&b, lb, nl).1 as isize;
    let (Some(am), Some(bm)) = (
        MatRef::new(a.data(), a.offset, m, k, rs, cs),
        MatRef::new(b.data(), b.offset, k, n, bk, bn),
    ) else {
        return Ok(None);
    };
    matmul_log_softmax_pick(&am, &bm, alpha, &t, &mut out, rayon::current_num_threads());
    Ok(Some(Strided::from_vec(&row_shape, out)))
}

/// Lanes of the per-row partial sums (one per column of a tile).
const LANES: usize = NR;

/// Running log-sum-exp state of a block of rows.
struct RowState {
    max: Vec<f32>,
    sums: Vec<[f32; LANES]>,
    picked: Vec<f32>,
}

/// `out[i] = (alpha A B)[i, targets[i]] - logsumexp_j (alpha A B)[i, j]` for every row
/// `i` of `a`, splitting the rows over up to `threads` threads. Targets must be column
/// indices of `b` (callers normalize and range-check them).
pub(crate) fn matmul_log_softmax_pick(
    a: &MatRef<'_>,
    b: &MatRef<'_>,
    alpha: f32,
    targets: &[usize],
    out: &mut [f32],
    threads: usize,
) {
    let m = a.rows();
    assert_eq!(b.rows(), a.cols(), "inner dimensions differ");
    assert!(targets.len() == m && out.len() == m, "one target and one output per row");
    assert!(targets.iter().all(|&t| t < b.cols()), "targets are column indices");
    if m == 0 {
        return;
    }
    let tasks = threads.clamp(1, m.div_ceil(MR));
    let rows_per = m.div_ceil(tasks).div_ceil(MR) * MR;
    let parts: Vec<(Range<usize>, &mut [f32])> = out
        .chunks_mut(rows_per)
        .enumerate()
        .map(|(p, o)| (p * rows_per..p * rows_per + o.len(), o))
        .collect();
    let run = |(rows, o): (Range<usize>, &mut [f32])| {
        rows_block(a, b, alpha, rows.clone(), &targets[rows], o);
    };
    if parts.len() == 1 {
        parts.into_iter().for_each(run);
    } else {
        use rayon::prelude::*;
        parts.into_par_iter().for_each(run);
    }
}

fn rows_block(
    a: &MatRef<'_>,
    b: &MatRef<'_>,
    alpha: f32,
    rows: Range<usize>,
    targets: &[usize],
    out: &mut [f32],
) {
    let (k, n) = (a.cols(), b.cols());
    let count = rows.len();
    let mk = MicroKernel::detect();
    let mut pa = Aligned::zeroed(count.div_ceil(MR) * MR * k);
    pack_a(mk, a, rows, 0..k, alpha, pa.as_mut_slice());
    let mut pb = Aligned::zeroed(NC.min(n.div_ceil(NR) * NR) * k);
    let mut st = RowState {
        max: vec![f32::NEG_INFINITY; count],
        sums: vec![[0.0; LANES]; count],
        picked: vec![f32::NAN; count],
    };
    let mut tile = [0.0f32; MR * NR];
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        let pb = &mut pb.as_mut_slice()[..nc.div_ceil(NR) * NR * k];
        pack_b(mk, b, 0..k, jc..jc + nc, pb);
        for ic in (0..count).step_by(MC) {
            let mc = MC.min(count - ic);
            for (jr, bp) in pb.chunks_exact(NR * k).enumerate() {
                let col0 = jc + jr * NR;
                let cols = NR.min(n - col0);
                for ir in (ic..ic + mc).step_by(MR) {
                    mk.tile(k, &pa.as_slice()[ir * k..], bp, &mut tile);
                    let live = MR.min(count - ir);
                    fold_tile(&mk, &tile, ir..ir + live, col0, cols, targets, &mut st);
                }
            }
        }
    }
    for (i, o) in out.iter_mut().enumerate() {
        let total: f64 = st.sums[i].iter().map(|&s| f64::from(s)).sum();
        *o = (f64::from(st.picked[i]) - f64::from(st.max[i]) - total.ln()) as f32;
    }
}

/// Folds one tile (rows `rows` of the block, columns `col0..col0 + cols`) into the
/// running state.
fn fold_tile(
    mk: &MicroKernel,
    tile: &[f32; MR * NR],
    rows: Range<usize>,
    col0: usize,
    cols: usize,
    targets: &[usize],
    st: &mut RowState,
) {
    for (t, r) in rows.enumerate() {
        let z = &tile[t * NR..t * NR + cols];
        if let Some(&v) = targets[r].checked_sub(col0).and_then(|j| z.get(j)) {
            st.picked[r] = v;
        }
        #[cfg(target_arch = "x86_64")]
        if mk.is_simd() && cols == NR {
            // SAFETY: `is_simd` means AVX2 and FMA were detected; `z` holds NR floats.
            unsafe { fold_row_avx2(z.as_ptr(), &mut st.max[r], &mut st.sums[r]) };
            continue;
        }
        let _ = mk;
        let tile_max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        rescale(tile_max, &mut st.max[r], &mut st.sums[r]);
        for (s, &v) in st.sums[r].iter_mut().zip(z) {
            *s += exp_f32(v - st.max[r]);
        }
    }
}

/// The online-softmax rescale: when a tile raises a row's max, the sums so far (taken
/// relative to the old max) are scaled by `exp(old - new)`.
#[inline]
fn rescale(tile_max: f32, max: &mut f32, sums: &mut [f32; LANES]) {
    if tile_max > *max {
        let scale = exp_f32(*max - tile_max);
        sums.iter_mut().for_each(|s| *s *= scale);
        *max = tile_max;
    }
}

/// [`fold_tile`] for one full row of a tile (a NaN in it makes the row's result NaN,
/// as it should).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fold_row_avx2(z: *const f32, max: &mut f32, sums: &mut [f32; LANES]) {
    use std::arch::x86_64::*;
    // SAFETY (whole body): the caller guarantees 16 readable floats at `z` and AVX2/FMA.
    unsafe {
        let (z0, z1) = (_mm256_loadu_ps(z), _mm256_loadu_ps(z.add(8)));
        let above = _mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_max_ps(z0, z1), _mm256_set1_ps(*max));
        if _mm256_movemask_ps(above) != 0 {
            let row = std::slice::from_raw_parts(z, NR);
            rescale(row.iter().copied().fold(f32::NEG_INFINITY, f32::max), max, sums);
        }
        let m = _mm256_set1_ps(*max);
        let s = sums.as_mut_ptr();
        let e0 = super::math::exp8_avx2(_mm256_sub_ps(z0, m));
        let e1 = super::math::exp8_avx2(_mm256_sub_ps(z1, m));
        _mm256_storeu_ps(s, _mm256_add_ps(_mm256_loadu_ps(s), e0));
        _mm256_storeu_ps(s.add(8), _mm256_add_ps(_mm256_loadu_ps(s.add(8)), e1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let h = (i as u32).wrapping_add(seed).wrapping_mul(2_654_435_761) >> 8;
                scale * ((h % 2001) as f32 / 1000.0 - 1.0)
            })
            .collect()
    }

    /// log_softmax(alpha A B)[i, t_i] in float64, the obvious way.
    fn reference(
        a: &[f32],
        b: &[f32],
        m: usize,
        k: usize,
        n: usize,
        alpha: f64,
        t: &[usize],
    ) -> Vec<f64> {
        (0..m)
            .map(|i| {
                let z: Vec<f64> = (0..n)
                    .map(|j| {
                        alpha
                            * (0..k)
                                .map(|q| f64::from(a[i * k + q]) * f64::from(b[j * k + q]))
                                .sum::<f64>()
                    })
                    .collect();
                let mx = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = mx + z.iter().map(|v| (v - mx).exp()).sum::<f64>().ln();
                z[t[i]] - lse
            })
            .collect()
    }

    #[test]
    fn matches_float64_log_softmax_on_ragged_shapes() {
        for &(m, k, n, scale) in &[
            (1, 1, 1, 1.0),
            (7, 5, 17, 3.0),
            (13, 33, 1100, 2.0),
            (40, 64, 2100, 8.0),
            (6, 16, 16, 0.5),
        ] {
            let a = data(m * k, 1, scale);
            let b = data(n * k, 7, 1.0);
            let t: Vec<usize> = (0..m).map(|i| (i * 7919) % n).collect();
            let want = reference(&a, &b, m, k, n, 0.75, &t);
            let am = MatRef::new(&a, 0, m, k, k as isize, 1).unwrap();
            let bm = MatRef::new(&b, 0, k, n, 1, k as isize).unwrap();
            for threads in [1, 2, 3] {
                let mut out = vec![f32::NAN; m];
                matmul_log_softmax_pick(&am, &bm, 0.75, &t, &mut out, threads);
                for (x, y) in out.iter().zip(&want) {
                    assert!(
                        (f64::from(*x) - y).abs() < 2e-5 * (1.0 + y.abs()),
                        "{m}x{k}x{n}: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn large_logits_do_not_overflow() {
        // Logits around 500 (exp would overflow float32 without the running max).
        let (m, k, n) = (3, 2, 40);
        let a = vec![100.0f32; m * k];
        let b: Vec<f32> = (0..n * k).map(|i| 2.5 + (i % 5) as f32 * 0.01).collect();
        let t = vec![0, 5, 39];
        let want = reference(&a, &b, m, k, n, 1.0, &t);
        let am = MatRef::new(&a, 0, m, k, k as isize, 1).unwrap();
        let bm = MatRef::new(&b, 0, k, n, 1, k as isize).unwrap();
        let mut out = vec![0.0f32; m];
        matmul_log_softmax_pick(&am, &bm, 1.0, &t, &mut out, 2);
        for (x, y) in out.iter().zip(&want) {
            assert!(x.is_finite() && (f64::from(*x) - y).abs() < 1e-3, "{x} vs {y}");
        }
    }
}
