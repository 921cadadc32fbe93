//! The float32 GEMM micro-kernel: one `MR x NR` tile of `A B` from a packed `A` panel
//! (`k` steps of [`MR`] values) and a packed `B` panel (`k` steps of [`NR`] values).
//!
//! On x86-64 with AVX2 and FMA (checked at run time) it keeps twelve 8-lane accumulators
//! in registers and per step does two loads of `B`, six broadcasts of `A` and twelve
//! FMAs: the shape that keeps both FMA pipes busy on Zen and Intel cores alike.
//! Elsewhere a portable version the compiler vectorizes.
//!
//! Two ways out: [`MicroKernel::tile`] writes the tile to a small array (edge tiles, the
//! fused log-softmax), [`MicroKernel::update`] writes or adds it straight into six rows
//! of the output, which saves a copy per tile when `k` is short.

/// Rows of a micro-tile.
pub(crate) const MR: usize = 6;
/// Columns of a micro-tile.
pub(crate) const NR: usize = 16;

/// The micro-kernel for the running CPU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MicroKernel {
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

/// Six output rows of a full tile, each with `NR` writable floats.
pub(crate) struct TileRows {
    /// Start of each row's `NR` floats.
    pub(crate) rows: [*mut f32; MR],
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

    /// Like [`MicroKernel::tile`], but each row `i` of the tile is stored to (or, with
    /// `accumulate`, added to) the `NR` floats at `out.rows[i]`.
    ///
    /// # Safety
    /// Each `out.rows[i]` must be valid for reads and writes of `NR` floats that no
    /// other thread accesses during the call.
    #[inline]
    pub(crate) unsafe fn update(
        &self,
        k: usize,
        a: &[f32],
        b: &[f32],
        out: &TileRows,
        accumulate: bool,
    ) {
        assert!(a.len() >= k * MR && b.len() >= k * NR);
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: AVX2/FMA detected; panel sizes asserted; the caller vouches for
            // the output rows.
            unsafe { update_avx2(k, a.as_ptr(), b.as_ptr(), out, accumulate) };
            return;
        }
        let mut t = [0.0f32; MR * NR];
        tile_portable(k, a, b, &mut t);
        for (i, &row) in out.rows.iter().enumerate() {
            // SAFETY: the caller guarantees NR writable floats at `row`, used by no one
            // else during the call.
            let dst = unsafe { std::slice::from_raw_parts_mut(row, NR) };
            for (d, &v) in dst.iter_mut().zip(&t[i * NR..(i + 1) * NR]) {
                *d = if accumulate { *d + v } else { v };
            }
        }
    }
}

impl MicroKernel {
    /// Packs `NR` columns stored depth-contiguously (a transposed `B`): `panel[q * NR +
    /// j] = cols[j][q]` for every depth `q < panel.len() / NR`.
    pub(crate) fn pack_columns(&self, cols: &[&[f32]; NR], panel: &mut [f32]) {
        let kc = panel.len() / NR;
        assert!(cols.iter().all(|c| c.len() >= kc), "column shorter than the depth");
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: AVX2 detected; every column holds `kc` floats (asserted) and the
            // panel `kc * NR`; the function reads and writes only below those.
            done = unsafe { pack_columns_avx2(cols, panel, kc) };
        }
        for q in done..kc {
            for (j, c) in cols.iter().enumerate() {
                panel[q * NR + j] = c[q];
            }
        }
    }
}

impl MicroKernel {
    /// Packs `MR` rows stored depth-contiguously (a row-major `A`), scaled:
    /// `panel[q * MR + i] = alpha * rows[i][q]` for every depth `q < panel.len() / MR`.
    pub(crate) fn pack_rows(&self, rows: &[&[f32]; MR], alpha: f32, panel: &mut [f32]) {
        let kc = panel.len() / MR;
        assert!(rows.iter().all(|r| r.len() >= kc), "row shorter than the depth");
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: AVX2 detected; every row holds `kc` floats (asserted) and the panel
            // `kc * MR`; the function reads and writes only below those.
            done = unsafe { pack_rows_avx2(rows, alpha, panel, kc) };
        }
        for q in done..kc {
            for (i, r) in rows.iter().enumerate() {
                panel[q * MR + i] = alpha * r[q];
            }
        }
    }
}

/// Transposes eight 8-float rows: result `q` holds element `q` of every row.
///
/// # Safety
/// AVX2.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    use std::arch::x86_64::*;
    // SAFETY: register operations only; AVX2 is the caller's guarantee.
    unsafe {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }
}

/// The 8-deep blocks of [`MicroKernel::pack_rows`]; returns the depth done (a multiple
/// of 8).
///
/// # Safety
/// AVX2; each row has at least `kc` floats and `panel` at least `kc * MR`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pack_rows_avx2(rows: &[&[f32]; MR], alpha: f32, panel: &mut [f32], kc: usize) -> usize {
    use std::arch::x86_64::*;
    let whole = kc - kc % 8;
    let out = panel.as_mut_ptr();
    let scale = _mm256_set1_ps(alpha);
    for q0 in (0..whole).step_by(8) {
        // SAFETY (block): loads of rows[i][q0..q0 + 8] with q0 + 8 <= kc. Each step's
        // 8-float store at (q0 + q) * MR spills two floats into the next step's slot,
        // which the next store overwrites; the last step stores its six floats only, so
        // nothing past (q0 + 8) * MR <= kc * MR is written.
        unsafe {
            let zero = _mm256_setzero_ps();
            let r: [__m256; 8] = std::array::from_fn(|i| {
                if i < MR {
                    _mm256_loadu_ps(rows[i].as_ptr().add(q0))
                } else {
                    zero
                }
            });
            let t = transpose8(r);
            for (q, v) in t.iter().enumerate() {
                let v = _mm256_mul_ps(*v, scale);
                let dst = out.add((q0 + q) * MR);
                if q < 7 {
                    _mm256_storeu_ps(dst, v);
                } else {
                    _mm_storeu_ps(dst, _mm256_castps256_ps128(v));
                    let hi = _mm256_extractf128_ps::<1>(v);
                    _mm_storel_pd(dst.add(4).cast(), _mm_castps_pd(hi));
                }
            }
        }
    }
    whole
}

/// The 8-deep blocks of [`MicroKernel::pack_columns`] (8 x 8 register transposes);
/// returns the depth done (a multiple of 8).
///
/// # Safety
/// AVX2; each column has at least `kc` floats and `panel` at least `kc * NR`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pack_columns_avx2(cols: &[&[f32]; NR], panel: &mut [f32], kc: usize) -> usize {
    use std::arch::x86_64::*;
    let whole = kc - kc % 8;
    let out = panel.as_mut_ptr();
    for q0 in (0..whole).step_by(8) {
        for half in 0..NR / 8 {
            // SAFETY (block): loads of cols[j][q0..q0 + 8] with q0 + 8 <= kc, stores of
            // panel[(q0 + q) * NR + 8 * half..][..8], below kc * NR.
            unsafe {
                let r: [__m256; 8] =
                    std::array::from_fn(|j| _mm256_loadu_ps(cols[8 * half + j].as_ptr().add(q0)));
                let rows = transpose8(r);
                for (q, v) in rows.iter().enumerate() {
                    _mm256_storeu_ps(out.add((q0 + q) * NR + 8 * half), *v);
                }
            }
        }
    }
    whole
}

pub(crate) fn tile_portable(k: usize, a: &[f32], b: &[f32], tile: &mut [f32; MR * NR]) {
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
use std::arch::x86_64::__m256;

/// The accumulators of one tile: row `i` is `c[2i]` (columns 0..8) and `c[2i + 1]`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn accumulate_avx2(k: usize, a: *const f32, b: *const f32) -> [__m256; 2 * MR] {
    use std::arch::x86_64::*;
    // SAFETY (whole body): the caller guarantees `a` has k*MR and `b` k*NR readable
    // floats and that AVX2/FMA are available; unaligned loads are used, so alignment
    // is only a speed matter.
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
        c
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(k: usize, a: *const f32, b: *const f32, tile: &mut [f32; MR * NR]) {
    use std::arch::x86_64::*;
    // SAFETY: forwarded from the caller (panel sizes, AVX2/FMA); `tile` holds MR*NR.
    unsafe {
        let c = accumulate_avx2(k, a, b);
        let t = tile.as_mut_ptr();
        for (i, v) in c.iter().enumerate() {
            _mm256_storeu_ps(t.add(8 * i), *v);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn update_avx2(k: usize, a: *const f32, b: *const f32, out: &TileRows, accumulate: bool) {
    use std::arch::x86_64::*;
    // SAFETY: forwarded from the caller (panel sizes, AVX2/FMA, NR floats per row).
    unsafe {
        // The output rows are far apart and often out of cache: fetch them while the
        // FMAs run rather than stall on them at the end.
        for &row in &out.rows {
            _mm_prefetch::<_MM_HINT_T0>(row.cast::<i8>());
            _mm_prefetch::<_MM_HINT_T0>(row.add(NR - 1).cast::<i8>());
        }
        let c = accumulate_avx2(k, a, b);
        for (i, &row) in out.rows.iter().enumerate() {
            let (lo, hi) = (c[2 * i], c[2 * i + 1]);
            if accumulate {
                _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), lo));
                _mm256_storeu_ps(row.add(8), _mm256_add_ps(_mm256_loadu_ps(row.add(8)), hi));
            } else {
                _mm256_storeu_ps(row, lo);
                _mm256_storeu_ps(row.add(8), hi);
            }
        }
    }
}

/// `n` deterministic values in [-1, 1) for the GEMM tests.
#[cfg(test)]
pub(crate) fn test_data(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_data as data;

    #[test]
    fn packed_columns_are_transposed() {
        for kc in [1, 7, 8, 9, 16, 37, 64] {
            let data: Vec<Vec<f32>> = (0..NR).map(|j| data(kc + j, j as u32)).collect();
            let cols: [&[f32]; NR] = std::array::from_fn(|j| &data[j][..]);
            let mut panel = vec![f32::NAN; kc * NR];
            MicroKernel::detect().pack_columns(&cols, &mut panel);
            for q in 0..kc {
                for j in 0..NR {
                    assert_eq!(panel[q * NR + j], data[j][q], "kc {kc}, depth {q}, column {j}");
                }
            }
        }
    }

    #[test]
    fn packed_rows_are_transposed_and_scaled() {
        for kc in [1, 7, 8, 9, 16, 37, 64] {
            let data: Vec<Vec<f32>> = (0..MR).map(|i| data(kc + i, 10 + i as u32)).collect();
            let rows: [&[f32]; MR] = std::array::from_fn(|i| &data[i][..]);
            // One float of padding after the panel, which must stay untouched.
            let mut buf = vec![f32::NAN; kc * MR + 1];
            MicroKernel::detect().pack_rows(&rows, -0.5, &mut buf[..kc * MR]);
            for q in 0..kc {
                for i in 0..MR {
                    assert_eq!(buf[q * MR + i], -0.5 * data[i][q], "kc {kc}, depth {q}, row {i}");
                }
            }
            assert!(buf[kc * MR].is_nan(), "wrote past the panel");
        }
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

    #[test]
    fn update_writes_then_accumulates_rows() {
        let k = 9;
        let a = data(k * MR, 5);
        let b = data(k * NR, 6);
        let mut want = [0.0f32; MR * NR];
        tile_portable(k, &a, &b, &mut want);
        // Rows 20 floats apart, with 4 floats of padding that must stay untouched.
        let mut c = vec![f32::NAN; MR * 20];
        #[cfg(target_arch = "x86_64")]
        let portable = MicroKernel { avx2: false };
        #[cfg(not(target_arch = "x86_64"))]
        let portable = MicroKernel {};
        for kernel in [MicroKernel::detect(), portable] {
            c.fill(f32::NAN);
            let base = c.as_mut_ptr();
            // SAFETY: row i starts at 20 i and has 16 floats inside `c`, which is not
            // otherwise used during the calls.
            unsafe {
                let rows = TileRows { rows: std::array::from_fn(|i| base.add(20 * i)) };
                kernel.update(k, &a, &b, &rows, false);
                kernel.update(k, &a, &b, &rows, true);
            }
            for i in 0..MR {
                for j in 0..20 {
                    let x = c[20 * i + j];
                    if j >= NR {
                        assert!(x.is_nan(), "padding written");
                    } else {
                        assert!((x - 2.0 * want[i * NR + j]).abs() < 1e-4, "{x}");
                    }
                }
            }
        }
    }
}
