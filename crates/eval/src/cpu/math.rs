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
}
