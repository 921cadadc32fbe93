//! Branch-free float32 `exp` that the compiler vectorizes (std's `expf` is a library
//! call per element, which no loop can vectorize): Cody–Waite range reduction
//! `x = n ln2 + r`, |r| ≤ ln2/2, a degree-6 polynomial for `e^r` (Cephes `expf`
//! coefficients, ≈1 ulp), and `2^n` built from the exponent bits. Rounding to the
//! nearest integer uses the 1.5·2^23 trick so that no `round`/`floor` call is needed.

/// `e^x` for float32: 0 below -87.3 (where the true value is subnormal), +inf above
/// 88.72, NaN for NaN.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23
    let xc = x.clamp(-87.3, 88.72);
    let n = (xc * LOG2E + ROUND) - ROUND;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // n is an integer in [-126, 128]; 2^n from the exponent field (n = 128 only for
    // x near the top, where the result overflows to inf below anyway).
    let bits = ((n as i32).clamp(-126, 127) + 127) as u32;
    let v = e * f32::from_bits(bits << 23);
    if x < -87.3 {
        0.0
    } else if x > 88.72 {
        f32::INFINITY
    } else {
        v
    }
}

/// Eight lanes of [`exp_f32`] (same algorithm and results up to the rounding of the
/// final product) with AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn exp8_avx2(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // `max_ps`/`min_ps` return their second operand when either is NaN: keep NaN.
    let xc = _mm256_min_ps(_mm256_set1_ps(88.72), _mm256_max_ps(_mm256_set1_ps(-87.3), x));
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        xc,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), xc);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    let e = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0));
    let ni = _mm256_min_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    let ni = _mm256_max_epi32(ni, _mm256_set1_epi32(-126));
    let pow2 =
        _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(ni, _mm256_set1_epi32(127))));
    let v = _mm256_mul_ps(e, pow2);
    // Below the range: 0 (NaN compares false and stays NaN through the arithmetic).
    let under = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(-87.3));
    let v = _mm256_andnot_ps(under, v);
    let over = _mm256_cmp_ps::<_CMP_GT_OQ>(x, _mm256_set1_ps(88.72));
    _mm256_blendv_ps(v, _mm256_set1_ps(f32::INFINITY), over)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_std_exp_to_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (f64::from(exp_f32(x)), f64::from(x).exp());
            worst = worst.max((a - b).abs() / b);
            x += 0.013;
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(exp_f32(-1e4), 0.0);
        assert_eq!(exp_f32(1e4), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(0.0), 1.0);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_exp_matches_the_scalar_one() {
        use std::arch::x86_64::*;
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            eprintln!("SKIPPED: no AVX2/FMA on this CPU");
            return;
        }
        let xs: Vec<f32> = (-9000..9000)
            .map(|i| i as f32 * 0.0101)
            .chain([-1e4, 1e4, -87.2, -87.4, 88.7, 88.8, 0.0, f32::NEG_INFINITY, f32::INFINITY])
            .collect();
        for chunk in xs.chunks(8) {
            let mut x = [0.0f32; 8];
            x[..chunk.len()].copy_from_slice(chunk);
            let mut y = [0.0f32; 8];
            // SAFETY: AVX2 and FMA were detected above; the arrays hold 8 floats.
            unsafe { _mm256_storeu_ps(y.as_mut_ptr(), exp8_avx2(_mm256_loadu_ps(x.as_ptr()))) };
            for (a, b) in x.iter().zip(&y) {
                let want = exp_f32(*a);
                assert!(
                    (want - b).abs() <= 2e-7 * want.abs() || (want == *b),
                    "exp({a}) = {b}, scalar {want}"
                );
            }
        }
        let mut y = [0.0f32; 8];
        // SAFETY: as above.
        unsafe { _mm256_storeu_ps(y.as_mut_ptr(), exp8_avx2(_mm256_set1_ps(f32::NAN))) };
        assert!(y[0].is_nan());
    }
}
