//! General functions on the CPU: the scalar math of every simple function (generic over
//! f32/f64, monomorphized so inner loops have no dynamic dispatch), the row functions
//! (softmax, log_softmax, min, max over the last dim), Pow and Multinomial.
//!
//! Integer inputs (int64) are computed through float64 and truncated back.

use circuit_ir::kinds::SimpleFn;
use rayon::prelude::*;

use super::buffer::{Elem, Strided};
use super::elementwise::zip_map;
use super::iter::rows_per_chunk;

/// Float math used by the kernels.
pub(crate) trait Float:
    Elem
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
{
    /// A constant.
    fn c(v: f64) -> Self {
        Self::from_f64(v)
    }
    #[allow(missing_docs)]
    fn exp(self) -> Self;
    #[allow(missing_docs)]
    fn ln(self) -> Self;
    #[allow(missing_docs)]
    fn ln_1p(self) -> Self;
    #[allow(missing_docs)]
    fn tanh(self) -> Self;
    #[allow(missing_docs)]
    fn sin(self) -> Self;
    #[allow(missing_docs)]
    fn cos(self) -> Self;
    #[allow(missing_docs)]
    fn sqrt(self) -> Self;
    #[allow(missing_docs)]
    fn erf(self) -> Self;
    #[allow(missing_docs)]
    fn abs(self) -> Self;
    #[allow(missing_docs)]
    fn powf(self, e: Self) -> Self;
    #[allow(missing_docs)]
    fn is_nan(self) -> bool;
    /// `Σ exp(row[i] - max)`, optionally storing the terms in place (see [`sum_exp`]).
    fn sum_exp_row(row: &mut [Self], max: Self, store: bool) -> f64 {
        sum_exp(row, max, store)
    }
}

macro_rules! impl_float {
    ($t:ty, $erf:path, $exp:path $(, $sum_exp:path)?) => {
        impl Float for $t {
            $(fn sum_exp_row(row: &mut [Self], max: Self, store: bool) -> f64 {
                $sum_exp(row, max, store)
            })?
            fn exp(self) -> Self {
                $exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn erf(self) -> Self {
                $erf(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn powf(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}
impl_float!(f32, libm::erff, super::math::exp_f32, sum_exp_f32);
impl_float!(f64, libm::erf, f64::exp);

/// Applies a simple function: elementwise ones in place where the input's memory can be
/// reused, row functions through [`row_fn`].
pub(crate) fn unary<T: Float>(f: SimpleFn, x: Strided<T>) -> Strided<T> {
    if !f.is_elementwise() {
        return row_fn(f, x);
    }
    let shape = x.shape.clone();
    let mut v = match x.into_unique_vec() {
        Ok(v) => v,
        Err(x) => x.to_vec(),
    };
    let per_chunk = rows_per_chunk(v.len(), 1).max(1);
    v.par_chunks_mut(per_chunk).for_each(|c| simple_in_place(f, c));
    Strided::from_vec(&shape, v)
}

/// Applies an elementwise simple function to each element of `xs` (row functions,
/// softmax/log_softmax/min/max/last_dim_size, leave `xs` as it is: see [`unary`]).
pub(crate) fn simple_in_place<T: Float>(f: SimpleFn, xs: &mut [T]) {
    debug_assert!(f.is_elementwise(), "{} is a row function", f.name());
    macro_rules! m {
        ($e:expr) => {{
            let g = $e;
            for e in xs.iter_mut() {
                *e = g(*e);
            }
        }};
    }
    let one = T::c(1.0);
    let zero = T::c(0.0);
    let half = T::c(0.5);
    match f {
        SimpleFn::Sin => m!(|v: T| v.sin()),
        SimpleFn::Cos => m!(|v: T| v.cos()),
        SimpleFn::Tanh => m!(|v: T| v.tanh()),
        SimpleFn::Exp => m!(|v: T| v.exp()),
        SimpleFn::Log => m!(|v: T| v.ln()),
        SimpleFn::Abs => m!(|v: T| v.abs()),
        SimpleFn::Rsqrt => m!(|v: T| one / v.sqrt()),
        SimpleFn::Reciprocal => m!(|v: T| one / v),
        SimpleFn::Relu => m!(|v: T| if v < zero { zero } else { v }),
        SimpleFn::Step => m!(|v: T| if v > zero { one } else { zero }),
        SimpleFn::Sigmoid => m!(|v: T| {
            // Written so that exp never overflows.
            if v >= zero {
                one / (one + (-v).exp())
            } else {
                let e = v.exp();
                e / (one + e)
            }
        }),
        SimpleFn::Gelu => {
            let r = T::c(std::f64::consts::FRAC_1_SQRT_2);
            m!(|v: T| half * v * (one + (v * r).erf()))
        }
        SimpleFn::GeluNew => {
            let k = T::c((2.0 / std::f64::consts::PI).sqrt());
            let c = T::c(0.044_715);
            m!(|v: T| half * v * (one + (k * (v + c * v * v * v)).tanh()))
        }
        SimpleFn::LogExpP1 => m!(|v: T| {
            // softplus: x + log(1 + e^-x) for x > 0, log(1 + e^x) otherwise.
            if v > zero {
                v + (-v).exp().ln_1p()
            } else {
                v.exp().ln_1p()
            }
        }),
        SimpleFn::GaussianPdf => {
            let k = T::c(1.0 / (2.0 * std::f64::consts::PI).sqrt());
            m!(|v: T| k * (-(v * v) * half).exp())
        }
        SimpleFn::GaussianCdf => {
            let r = T::c(std::f64::consts::FRAC_1_SQRT_2);
            m!(|v: T| half * (one + (v * r).erf()))
        }
        SimpleFn::Logit => m!(|v: T| (v / (one - v)).ln()),
        SimpleFn::Softmax
        | SimpleFn::LogSoftmax
        | SimpleFn::Min
        | SimpleFn::Max
        | SimpleFn::LastDimSize => {}
    }
}

/// Softmax / log_softmax (same shape) or min / max (last dim removed) over the last dim.
pub(crate) fn row_fn<T: Float>(f: SimpleFn, x: Strided<T>) -> Strided<T> {
    let shape = x.shape.clone();
    let n = shape.last().copied().unwrap_or(1);
    let rows: usize = shape[..shape.len().saturating_sub(1)].iter().product();
    match f {
        SimpleFn::Min | SimpleFn::Max => {
            let x = x.contiguous();
            let data = x.as_slice().unwrap_or(&[]);
            let want_max = f == SimpleFn::Max;
            let out: Vec<T> = (0..rows)
                .into_par_iter()
                .with_min_len(rows_per_chunk(rows, n))
                .map(|r| {
                    let row = &data[r * n..(r + 1) * n];
                    let mut best = row.first().copied().unwrap_or(T::c(f64::NAN));
                    for &v in row {
                        // NaN propagates, as in torch.
                        if v.is_nan() || (want_max && v > best) || (!want_max && v < best) {
                            best = v;
                            if v.is_nan() {
                                break;
                            }
                        }
                    }
                    best
                })
                .collect();
            Strided::from_vec(&shape[..shape.len().saturating_sub(1)], out)
        }
        _ => {
            let log = f == SimpleFn::LogSoftmax;
            // Not `x.contiguous()`: that clone would keep a second reference and
            // force a copy of a buffer we could reuse in place.
            let mut v = match x.into_unique_vec() {
                Ok(v) => v,
                Err(s) => s.to_vec(),
            };
            if n > 0 {
                v.par_chunks_mut(n)
                    .with_min_len(rows_per_chunk(rows, n))
                    .for_each(|row| softmax_row(row, log));
            }
            Strided::from_vec(&shape, v)
        }
    }
}

/// Lanes of the row loops: independent accumulators the compiler keeps in vector
/// registers (a single running max or sum would be a serial dependency chain).
const LANES: usize = 16;

fn row_max<T: Float>(row: &[T]) -> T {
    let mut lanes = [T::c(f64::NEG_INFINITY); LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (m, &v) in lanes.iter_mut().zip(c) {
            *m = if v > *m { v } else { *m };
        }
    }
    let mut max = T::c(f64::NEG_INFINITY);
    for &v in lanes.iter().chain(tail) {
        if v > max {
            max = v;
        }
    }
    max
}

/// [`sum_exp`] for float32, eight lanes at a time with AVX2 when the CPU has it (the
/// portable loop compiles to SSE2 with a scalar step per element).
fn sum_exp_f32(row: &mut [f32], max: f32, store: bool) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: AVX2 and FMA are present (checked just above).
        return unsafe { sum_exp_f32_avx2(row, max, store) };
    }
    sum_exp(row, max, store)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sum_exp_f32_avx2(row: &mut [f32], max: f32, store: bool) -> f64 {
    use std::arch::x86_64::*;
    let m = _mm256_set1_ps(max);
    let mut total = 0.0f64;
    for block in row.chunks_mut(1024) {
        let mut chunks = block.chunks_exact_mut(8);
        let mut acc = _mm256_setzero_ps();
        for c in &mut chunks {
            // SAFETY: `c` holds exactly 8 floats; AVX2/FMA are the caller's guarantee.
            unsafe {
                let e = super::math::exp8_avx2(_mm256_sub_ps(_mm256_loadu_ps(c.as_ptr()), m));
                if store {
                    _mm256_storeu_ps(c.as_mut_ptr(), e);
                }
                acc = _mm256_add_ps(acc, e);
            }
        }
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` holds 8 floats.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
        total += lanes.iter().map(|&v| f64::from(v)).sum::<f64>();
        for v in chunks.into_remainder() {
            let e = super::math::exp_f32(*v - max);
            if store {
                *v = e;
            }
            total += f64::from(e);
        }
    }
    total
}

/// `Σ exp(row[i] - max)`, optionally storing the terms in place.
fn sum_exp<T: Float>(row: &mut [T], max: T, store: bool) -> f64 {
    let mut lanes = [T::c(0.0); LANES];
    let mut total = 0.0f64;
    for c in row.chunks_mut(LANES * 64) {
        let mut chunks = c.chunks_exact_mut(LANES);
        for lane_chunk in &mut chunks {
            for (s, v) in lanes.iter_mut().zip(lane_chunk.iter_mut()) {
                let e = (*v - max).exp();
                if store {
                    *v = e;
                }
                *s = *s + e;
            }
        }
        for v in chunks.into_remainder() {
            let e = (*v - max).exp();
            if store {
                *v = e;
            }
            total += e.to_f64();
        }
        // Fold the lanes into float64 every 1024 elements to bound rounding.
        for s in lanes.iter_mut() {
            total += s.to_f64();
            *s = T::c(0.0);
        }
    }
    total
}

fn softmax_row<T: Float>(row: &mut [T], log: bool) {
    let mut max = row_max(row);
    if max == T::c(f64::NEG_INFINITY) || max.is_nan() {
        // all -inf: fall back to the plain formula, which yields NaN like torch.
        max = T::c(0.0);
    }
    let sum = T::sum_exp_row(row, max, !log);
    if log {
        let lse = max + T::c(sum.ln());
        row.iter_mut().for_each(|v| *v = *v - lse);
    } else {
        let inv = T::c(1.0 / sum);
        row.iter_mut().for_each(|v| *v = *v * inv);
    }
}

/// `base ** exponent` with broadcasting (both already broadcast to `shape`).
pub(crate) fn pow<T: Float>(shape: &[usize], base: &Strided<T>, exp: &Strided<T>) -> Strided<T> {
    zip_map(shape, [base, exp], |[b, e]| b.powf(e))
}

/// Integer power (exponent < 0 goes through float64 and truncates, like the other
/// integer fallbacks).
pub(crate) fn pow_i64(shape: &[usize], base: &Strided<i64>, exp: &Strided<i64>) -> Strided<i64> {
    zip_map(shape, [base, exp], |[b, e]| match u32::try_from(e) {
        Ok(e) => b.wrapping_pow(e),
        Err(_) => (b as f64).powf(e as f64) as i64,
    })
}

/// Multinomial sampling, deterministic given the seed: the project's one definition,
/// `circuit_tensor::multinomial`, per distribution (row of the last dim of `probs`, in C
/// order), distribution `i` seeded with `seed + i * MULTINOMIAL_SEED_STRIDE` — exactly
/// what `circuit_tensor::multinomial_batched` (and so the sampler's eager draws) do.
///
/// # Errors
/// A message for negative/NaN probabilities, an all-zero row, or too few categories
/// for sampling without replacement.
pub(crate) fn multinomial<T: Float>(
    probs: &Strided<T>,
    seed: i64,
    samples: usize,
    replacement: bool,
) -> Result<Vec<i64>, String> {
    let probs = probs.contiguous();
    let data: Vec<f64> = probs.as_slice().unwrap_or(&[]).iter().map(|v| v.to_f64()).collect();
    let n = probs.shape.last().copied().unwrap_or(0);
    let rows = data.len().checked_div(n).unwrap_or(0);
    let mut out = Vec::with_capacity(rows * samples);
    for r in 0..rows {
        let row_seed = (seed as u64)
            .wrapping_add((r as u64).wrapping_mul(circuit_tensor::MULTINOMIAL_SEED_STRIDE));
        let drawn =
            circuit_tensor::multinomial(&data[r * n..(r + 1) * n], samples, replacement, row_seed)
                .map_err(|e| e.to_string())?;
        out.extend(drawn);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_softmax_rows_match_float64() {
        for n in [1usize, 7, 8, 37, 300, 2100] {
            let row: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1000) as f32 / 50.0) - 10.0).collect();
            let mx = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let want: f64 = row.iter().map(|&v| (f64::from(v) - f64::from(mx)).exp()).sum();
            for store in [false, true] {
                let mut r = row.clone();
                let got = f32::sum_exp_row(&mut r, mx, store);
                assert!((got - want).abs() < 1e-6 * want, "n {n}: {got} vs {want}");
                for (i, (&a, &b)) in r.iter().zip(&row).enumerate() {
                    let e = (f64::from(b) - f64::from(mx)).exp();
                    let expect = if store { e } else { f64::from(b) };
                    // The float32 difference `v - max` rounds before the exp (≈1e-6 relative).
                    assert!((f64::from(a) - expect).abs() <= 2e-6 * expect.abs() + 1e-30, "{i}");
                }
            }
            let mut soft = row.clone();
            softmax_row(&mut soft, true);
            for (&a, &b) in soft.iter().zip(&row) {
                let exact = f64::from(b) - f64::from(mx) - want.ln();
                assert!((f64::from(a) - exact).abs() < 1e-5, "log_softmax {a} vs {exact}");
            }
        }
    }
}
