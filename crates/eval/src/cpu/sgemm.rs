//! A packed float32 GEMM in the BLIS style, for kernels that need to see the product
//! tile by tile (the fused unembedding + log-softmax in `logsumexp.rs`) and for large
//! plain contractions.
//!
//! `A` is packed into panels of [`MR`] rows (`k` steps of `MR` values), `B` into
//! panels of [`NR`] columns (`k` steps of `NR` values), each panel 64-byte aligned, so
//! the micro-kernel reads both with unit stride. The micro-kernel computes one
//! `MR x NR` tile of `alpha * A B` in registers over the whole `k` range: on x86-64
//! with AVX2 and FMA (checked at run time) twelve 8-lane accumulators, two loads of `B`
//! and six broadcasts of `A` per step — the shape that keeps both FMA pipes busy on
//! Zen and Intel cores alike; elsewhere a portable version the compiler vectorizes.
//!
//! Blocking: a thread packs a block of `B` columns ([`NC`], read from L3) and walks its
//! rows in blocks of [`MC`] (kept in L2); one `B` panel stays in L1 while the
//! micro-kernel sweeps the `A` panels of the row block. `k` is never split (callers
//! with very long `k` still get correct results, with the `B` panel in L2 instead).

use std::ops::Range;

/// Rows of a micro-tile.
pub(crate) const MR: usize = 6;
/// Columns of a micro-tile.
pub(crate) const NR: usize = 16;
/// Rows of `A` per L2 block (a multiple of [`MR`]).
pub(crate) const MC: usize = 120;
/// Columns of `B` per packed block (a multiple of [`NR`]).
pub(crate) const NC: usize = 1024;

/// A read-only strided float32 matrix whose every element is inside `data`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatRef<'a> {
    data: &'a [f32],
    offset: usize,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
}

impl<'a> MatRef<'a> {
    /// A view of `data`; `None` unless every addressed element is inside `data`.
    pub(crate) fn new(
        data: &'a [f32],
        offset: usize,
        rows: usize,
        cols: usize,
        rs: isize,
        cs: isize,
    ) -> Option<MatRef<'a>> {
        if rows > 0 && cols > 0 {
            let far = |n: usize, s: isize| (n as isize - 1).checked_mul(s);
            let (r, c) = (far(rows, rs)?, far(cols, cs)?);
            let lo = offset as isize + r.min(0) + c.min(0);
            let hi = offset as isize + r.max(0) + c.max(0);
            if lo < 0 || hi >= data.len() as isize {
                return None;
            }
        }
        Some(MatRef { data, offset, rows, cols, rs, cs })
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> f32 {
        let idx = self.offset as isize + i as isize * self.rs + j as isize * self.cs;
        debug_assert!(i < self.rows && j < self.cols);
        // SAFETY: `new` checked that every (i < rows, j < cols) address is in `data`.
        unsafe { *self.data.get_unchecked(idx as usize) }
    }
}

/// A zeroed float32 buffer whose usable part starts on a 64-byte boundary.
pub(crate) struct Aligned {
    buf: Vec<f32>,
    start: usize,
    len: usize,
}

impl Aligned {
    pub(crate) fn zeroed(len: usize) -> Aligned {
        let buf = vec![0.0f32; len + 16];
        let start = buf.as_ptr().align_offset(64).min(16);
        Aligned { buf, start, len }
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        &self.buf[self.start..self.start + self.len]
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

/// Packs rows `rows` of `a` (all of its `k` columns), times `alpha`, into panels of
/// [`MR`] rows; rows past the end are zero. `out` holds `ceil(rows / MR) * MR * k`.
pub(crate) fn pack_a(a: &MatRef<'_>, rows: Range<usize>, alpha: f32, out: &mut [f32]) {
    let k = a.cols;
    for (p, panel) in out.chunks_exact_mut(MR * k).enumerate() {
        let r0 = rows.start + p * MR;
        let live = rows.end.saturating_sub(r0).min(MR);
        for (q, step) in panel.chunks_exact_mut(MR).enumerate() {
            for (i, v) in step.iter_mut().enumerate() {
                *v = if i < live { alpha * a.at(r0 + i, q) } else { 0.0 };
            }
        }
    }
}

/// Packs columns `cols` of `b` (all of its `k` rows) into panels of [`NR`] columns;
/// columns past the end are zero. `out` holds `ceil(cols / NR) * NR * k`.
pub(crate) fn pack_b(b: &MatRef<'_>, cols: Range<usize>, out: &mut [f32]) {
    let k = b.rows;
    for (p, panel) in out.chunks_exact_mut(NR * k).enumerate() {
        let c0 = cols.start + p * NR;
        let live = cols.end.saturating_sub(c0).min(NR);
        if live == NR && b.cs != 1 {
            // Column-major B (a transposed weight matrix): read each column contiguously.
            for j in 0..NR {
                for q in 0..k {
                    panel[q * NR + j] = b.at(q, c0 + j);
                }
            }
            continue;
        }
        for (q, step) in panel.chunks_exact_mut(NR).enumerate() {
            for (j, v) in step.iter_mut().enumerate() {
                *v = if j < live { b.at(q, c0 + j) } else { 0.0 };
            }
        }
    }
}

/// The micro-kernel for the running CPU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MicroKernel {
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl MicroKernel {
    pub(crate) fn detect() -> MicroKernel {
        MicroKernel {
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma"),
        }
    }

    /// Whether the AVX2/FMA kernels run (else the portable ones).
    pub(crate) fn is_simd(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            self.avx2
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// `tile[i * NR + j] = Σ_q a[q * MR + i] * b[q * NR + j]` for one packed `A` panel
    /// and one packed `B` panel of depth `k`.
    #[inline]
    pub(crate) fn tile(&self, k: usize, a: &[f32], b: &[f32], tile: &mut [f32; MR * NR]) {
        assert!(a.len() >= k * MR && b.len() >= k * NR);
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: the CPU has AVX2 and FMA (checked in `detect`); the slices hold
            // `k` steps of each panel (asserted above) and `tile` holds MR * NR values.
            unsafe { tile_avx2(k, a.as_ptr(), b.as_ptr(), tile) };
            return;
        }
        tile_portable(k, a, b, tile);
    }
}

fn tile_portable(k: usize, a: &[f32], b: &[f32], tile: &mut [f32; MR * NR]) {
    let mut acc = [[0.0f32; NR]; MR];
    for (av, bv) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(k) {
        for (row, &x) in acc.iter_mut().zip(av) {
            for (c, &y) in row.iter_mut().zip(bv) {
                *c += x * y;
            }
        }
    }
    for (dst, row) in tile.chunks_exact_mut(NR).zip(&acc) {
        dst.copy_from_slice(row);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(k: usize, a: *const f32, b: *const f32, tile: &mut [f32; MR * NR]) {
    use std::arch::x86_64::*;
    // SAFETY (whole body): the caller guarantees `a` has k*MR and `b` k*NR readable
    // floats; unaligned loads are used, so alignment is only a speed matter.
    unsafe {
        let mut c = [_mm256_setzero_ps(); 2 * MR];
        let (mut a, mut b) = (a, b);
        for _ in 0..k {
            let b0 = _mm256_loadu_ps(b);
            let b1 = _mm256_loadu_ps(b.add(8));
            for i in 0..MR {
                let x = _mm256_broadcast_ss(&*a.add(i));
                c[2 * i] = _mm256_fmadd_ps(x, b0, c[2 * i]);
                c[2 * i + 1] = _mm256_fmadd_ps(x, b1, c[2 * i + 1]);
            }
            a = a.add(MR);
            b = b.add(NR);
        }
        let t = tile.as_mut_ptr();
        for (i, v) in c.iter().enumerate() {
            _mm256_storeu_ps(t.add(8 * i), *v);
        }
    }
}

thread_local! {
    /// Packing buffers reused by every GEMM a thread runs (packing writes every value
    /// it hands to the micro-kernel, so nothing needs zeroing between uses).
    static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<f32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// The first `len` floats of `buf` after its first 64-byte boundary (grown as needed).
fn aligned_part(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len + 16 {
        buf.resize(len + 16, 0.0);
    }
    let start = buf.as_ptr().align_offset(64).min(16);
    &mut buf[start..start + len]
}

/// `c = alpha * a b` on the calling thread (row-major `c` with row stride `ldc`).
/// Callers parallelize by splitting rows or batches.
pub(crate) fn sgemm(a: &MatRef<'_>, b: &MatRef<'_>, alpha: f32, c: &mut [f32], ldc: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions differ");
    assert!(m == 0 || n == 0 || c.len() >= (m - 1) * ldc + n, "output too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.chunks_mut(ldc).take(m).for_each(|row| row[..n].fill(0.0));
        return;
    }
    let mk = MicroKernel::detect();
    SCRATCH.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (sa, sb) = &mut *guard;
        let pa = aligned_part(sa, m.div_ceil(MR) * MR * k);
        pack_a(a, 0..m, alpha, pa);
        let mut tile = [0.0f32; MR * NR];
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            let pb = aligned_part(sb, nc.div_ceil(NR) * NR * k);
            pack_b(b, jc..jc + nc, pb);
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                for (jr, bp) in pb.chunks_exact(NR * k).enumerate() {
                    let j0 = jc + jr * NR;
                    let cols = NR.min(n - j0);
                    for ir in (ic..ic + mc).step_by(MR) {
                        mk.tile(k, &pa[ir * k..], bp, &mut tile);
                        for i in 0..MR.min(m - ir) {
                            let o = (ir + i) * ldc + j0;
                            c[o..o + cols].copy_from_slice(&tile[i * NR..i * NR + cols]);
                        }
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &MatRef<'_>, b: &MatRef<'_>, alpha: f32) -> Vec<f64> {
        let mut out = vec![0.0; a.rows() * b.cols()];
        for i in 0..a.rows() {
            for j in 0..b.cols() {
                let s: f64 =
                    (0..a.cols()).map(|q| f64::from(a.at(i, q)) * f64::from(b.at(q, j))).sum();
                out[i * b.cols() + j] = f64::from(alpha) * s;
            }
        }
        out
    }

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0
                    - 1.0
            })
            .collect()
    }

    #[test]
    fn matches_naive_on_ragged_and_transposed_shapes() {
        for &(m, k, n) in
            &[(1, 1, 1), (7, 3, 17), (13, 40, 33), (125, 9, 1030), (6, 16, 16), (3, 0, 5)]
        {
            let ad = data(m * k, 1);
            let bd = data(k * n, 2);
            let a = MatRef::new(&ad, 0, m, k, k as isize, 1).unwrap();
            // B stored transposed (n x k row-major), as an unembedding matrix is.
            let b = MatRef::new(&bd, 0, k, n, 1, k as isize).unwrap();
            let want = naive(&a, &b, 0.5);
            // Row stride larger than the row: the padding must stay untouched.
            let ldc = n + 3;
            let mut c = vec![f32::NAN; m * ldc];
            sgemm(&a, &b, 0.5, &mut c, ldc);
            for i in 0..m {
                for j in 0..ldc {
                    let x = c[i * ldc + j];
                    if j >= n {
                        assert!(x.is_nan(), "padding written");
                        continue;
                    }
                    let y = want[i * n + j];
                    assert!(
                        (f64::from(x) - y).abs() < 1e-4 * (1.0 + y.abs()),
                        "{m}x{k}x{n}: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn views_outside_their_data_are_rejected() {
        let d = [0.0f32; 6];
        assert!(MatRef::new(&d, 0, 2, 3, 3, 1).is_some());
        assert!(MatRef::new(&d, 1, 2, 3, 3, 1).is_none());
        assert!(MatRef::new(&d, 0, 3, 2, 1, 3).is_some());
        assert!(MatRef::new(&d, 0, 3, 3, 1, 3).is_none());
        assert!(MatRef::new(&d, 5, 2, 3, -3, -1).is_some());
        assert!(MatRef::new(&d, 0, 0, 3, 3, 1).is_some());
    }

    #[test]
    fn portable_and_simd_tiles_agree() {
        let k = 37;
        let a = data(k * MR, 3);
        let b = data(k * NR, 4);
        let (mut t1, mut t2) = ([0.0f32; MR * NR], [0.0f32; MR * NR]);
        tile_portable(k, &a, &b, &mut t1);
        MicroKernel::detect().tile(k, &a, &b, &mut t2);
        for (x, y) in t1.iter().zip(&t2) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }
}
