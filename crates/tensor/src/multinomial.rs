//! THE multinomial sampler of the project: deterministic, seeded index sampling from
//! (unnormalised) categorical distributions.
//!
//! Everything that draws indices — the sampler's `simplify` path (`circuit-sample`) and
//! the evaluator's `multinomial` GeneralFunction — goes through [`multinomial`] /
//! [`multinomial_batched`], so a circuit sampled symbolically and the same draw made
//! ahead of time give identical indices.
//!
//! # Semantics
//!
//! * RNG: the crate's [`Rng`] (xoshiro256** seeded through SplitMix64) seeded with
//!   `seed`.
//! * One draw: `u = rng.next_f64() * total` with `total = Σ p` (summed left to right in
//!   `f64`), and the chosen index is the first `i` with `p[i] > 0` and
//!   `u < p[0] + … + p[i]` (inverse CDF; zero-probability categories are never chosen,
//!   rounding at the top end falls back to the last non-zero category).
//! * With replacement the draws are independent; without replacement each draw sets the
//!   chosen category's probability to zero and the next draw renormalises over the rest
//!   (sequential sampling, as `torch.multinomial(replacement=False)`).
//! * Batched probabilities `[..., n]`: distribution `i` (C order over the leading dims)
//!   uses its own generator seeded with `seed.wrapping_add(i * 0x9E3779B97F4A7C15)`
//!   (wrapping), so every distribution's draw is independent of how many other
//!   distributions share the tensor; distribution 0 uses `seed` itself.
//! * Errors: negative, NaN or infinite probabilities; a zero total (when at least one
//!   sample is drawn); without replacement, fewer non-zero categories than samples.
//!
//! All arithmetic is IEEE `+ *` on `f64`, so results are bit-identical on every
//! platform.

use crate::{DType, Result, Rng, Tensor, TensorError};

/// The per-distribution seed stride of [`multinomial_batched`] (the 64-bit golden ratio).
pub const MULTINOMIAL_SEED_STRIDE: u64 = 0x9E37_79B9_7F4A_7C15;

fn invalid(msg: impl Into<String>) -> TensorError {
    TensorError::format("multinomial", msg)
}

/// Draws `num_samples` indices from one distribution `probs` (unnormalised weights are
/// fine) with the seeded generator; see the module docs for the exact semantics.
///
/// # Errors
/// [`TensorError::Format`] (source `multinomial`) for negative, NaN or infinite
/// probabilities, a zero total, or too few non-zero categories without replacement.
pub fn multinomial(
    probs: &[f64],
    num_samples: usize,
    replacement: bool,
    seed: u64,
) -> Result<Vec<i64>> {
    if let Some(bad) = probs.iter().find(|p| !p.is_finite() || **p < 0.0) {
        return Err(invalid(format!("probabilities must be finite and non-negative, got {bad}")));
    }
    if num_samples == 0 {
        return Ok(Vec::new());
    }
    let nonzero = probs.iter().filter(|&&p| p > 0.0).count();
    if nonzero == 0 {
        return Err(invalid("probabilities sum to zero"));
    }
    if !replacement && nonzero < num_samples {
        return Err(invalid(format!(
            "cannot draw {num_samples} samples without replacement from {nonzero} non-zero categories"
        )));
    }
    let mut p = probs.to_vec();
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(num_samples);
    let mut total: f64 = p.iter().sum();
    if !total.is_finite() {
        return Err(invalid("probabilities sum to infinity"));
    }
    for _ in 0..num_samples {
        let chosen = draw(&p, total, &mut rng);
        out.push(chosen as i64);
        if !replacement {
            p[chosen] = 0.0;
            total = p.iter().sum();
        }
    }
    Ok(out)
}

/// One inverse-CDF draw; `p` has at least one positive entry and `total = Σ p`.
fn draw(p: &[f64], total: f64, rng: &mut Rng) -> usize {
    let u = rng.next_f64() * total;
    let mut acc = 0.0;
    let mut last_nonzero = 0;
    for (i, &pi) in p.iter().enumerate() {
        if pi > 0.0 {
            acc += pi;
            last_nonzero = i;
            if u < acc {
                return i;
            }
        }
    }
    last_nonzero
}

/// Draws `shape` indices from every distribution along the last dim of `probs` (any
/// float or integer dtype; read as `f64`): the result is an int64 tensor of shape
/// `probs.shape[:-1] + shape`. Distribution `i` (C order) uses seed
/// `(seed as u64).wrapping_add(i * MULTINOMIAL_SEED_STRIDE)`; samples fill `shape` in C
/// order.
///
/// # Errors
/// A rank-0 `probs`; every error of [`multinomial`]; [`TensorError::TooLarge`] for an
/// output above [`crate::DEFAULT_MAX_TENSOR_BYTES`].
pub fn multinomial_batched(
    probs: &Tensor,
    seed: i64,
    shape: &[usize],
    replacement: bool,
) -> Result<Tensor> {
    let Some((&n, lead)) = probs.shape().split_last() else {
        return Err(invalid("probabilities need at least one dimension"));
    };
    let mut out_shape: Vec<usize> = lead.to_vec();
    out_shape.extend_from_slice(shape);
    crate::check_alloc(&out_shape, DType::I64, crate::DEFAULT_MAX_TENSOR_BYTES)?;
    let samples: usize = shape.iter().product();
    let values = probs.to_f64_vec();
    let rows: usize = lead.iter().product();
    let mut out = Vec::with_capacity(rows * samples);
    for i in 0..rows {
        let row = values.get(i * n..(i + 1) * n).unwrap_or(&[]);
        let row_seed = (seed as u64).wrapping_add((i as u64).wrapping_mul(MULTINOMIAL_SEED_STRIDE));
        out.extend(multinomial(row, samples, replacement, row_seed)?);
    }
    Tensor::from_vec(&out_shape, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_match_probabilities() {
        let probs = [0.1, 0.0, 0.2, 0.3, 0.4];
        let n = 200_000;
        let draws = multinomial(&probs, n, true, 17).unwrap();
        let mut counts = [0usize; 5];
        for d in draws {
            counts[d as usize] += 1;
        }
        assert_eq!(counts[1], 0);
        for (c, p) in counts.iter().zip(probs) {
            let freq = *c as f64 / n as f64;
            // 5 binomial standard errors.
            let tol = 5.0 * (p * (1.0 - p) / n as f64).sqrt() + 1e-12;
            assert!((freq - p).abs() <= tol, "{freq} vs {p}");
        }
        // Unnormalised weights give the same draw as normalised ones up to rounding of
        // the total (here exact: scaling by a power of two).
        let scaled: Vec<f64> = probs.iter().map(|p| p * 8.0).collect();
        assert_eq!(
            multinomial(&scaled, 100, true, 3).unwrap(),
            multinomial(&probs, 100, true, 3).unwrap()
        );
    }

    #[test]
    fn without_replacement_is_distinct_and_avoids_zeros() {
        let probs = [1.0, 0.0, 5.0, 2.0, 0.5, 3.0];
        for seed in 0..200 {
            let d = multinomial(&probs, 5, false, seed).unwrap();
            let mut sorted = d.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![0, 2, 3, 4, 5], "seed {seed}: {d:?}");
        }
        // The first draw without replacement has the with-replacement distribution.
        let firsts: Vec<i64> =
            (0..20_000).map(|s| multinomial(&probs, 1, false, s).unwrap()[0]).collect();
        let freq2 = firsts.iter().filter(|&&i| i == 2).count() as f64 / 20_000.0;
        assert!((freq2 - 5.0 / 11.5).abs() < 0.02, "{freq2}");
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let p = [0.25; 4];
        let a = multinomial(&p, 64, true, 99).unwrap();
        assert_eq!(a, multinomial(&p, 64, true, 99).unwrap());
        assert_ne!(a, multinomial(&p, 64, true, 100).unwrap());
        // A prefix of a longer draw is the shorter draw (with replacement).
        assert_eq!(&multinomial(&p, 100, true, 99).unwrap()[..64], &a[..]);
    }

    #[test]
    fn errors() {
        assert!(multinomial(&[0.5, -0.1], 1, true, 0).is_err());
        assert!(multinomial(&[0.5, f64::NAN], 1, true, 0).is_err());
        assert!(multinomial(&[0.5, f64::INFINITY], 1, true, 0).is_err());
        assert!(multinomial(&[0.0, 0.0], 1, true, 0).is_err());
        assert!(multinomial(&[], 1, true, 0).is_err());
        assert!(multinomial(&[1.0, 0.0, 1.0], 3, false, 0).is_err());
        assert_eq!(multinomial(&[1.0, 0.0, 1.0], 2, false, 0).unwrap().len(), 2);
        assert_eq!(multinomial(&[0.0], 0, true, 0).unwrap(), Vec::<i64>::new());
        let msg = multinomial(&[0.0, 0.0], 1, true, 0).unwrap_err().to_string();
        assert!(msg.contains("multinomial") && msg.contains("zero"), "{msg}");
    }

    #[test]
    fn batched_shapes_and_per_row_seeds() {
        let probs =
            Tensor::from_vec(&[2, 3, 4], (0..24).map(|i| f64::from(i % 5)).collect()).unwrap();
        let out = multinomial_batched(&probs, -5, &[2, 7], true).unwrap();
        assert_eq!(out.shape(), &[2, 3, 2, 7]);
        assert_eq!(out.dtype(), DType::I64);
        let flat = out.to_i64_vec();
        let rows = probs.to_f64_vec();
        for i in 0..6 {
            let seed =
                (-5i64 as u64).wrapping_add((i as u64).wrapping_mul(MULTINOMIAL_SEED_STRIDE));
            let want = multinomial(&rows[i * 4..(i + 1) * 4], 14, true, seed).unwrap();
            assert_eq!(&flat[i * 14..(i + 1) * 14], &want[..], "row {i}");
        }
        // One distribution: the plain sampler with the seed itself.
        let one = Tensor::from_vec(&[3], vec![0.2f32, 0.3, 0.5]).unwrap();
        let out = multinomial_batched(&one, 7, &[5], false).unwrap_err();
        assert!(out.to_string().contains("without replacement"));
        let out = multinomial_batched(&one, 7, &[], true).unwrap();
        assert_eq!(out.shape(), &[] as &[usize]);
        assert_eq!(
            out.to_i64_vec(),
            multinomial(&[0.2f32 as f64, 0.3f32 as f64, 0.5f32 as f64], 1, true, 7).unwrap()
        );
        assert!(multinomial_batched(&Tensor::scalar(1.0f64), 0, &[1], true).is_err());
    }
}
