//! Summary statistics of a tensor, for `circ tensor show` and friends.

use std::fmt;

use crate::tensor::Element;
use crate::{dispatch_data, DType, Tensor};

/// Summary statistics, computed in `f64`.
///
/// `min`, `max`, `mean` and `std` cover only the finite elements (NaNs and infinities are
/// counted separately instead of swamping the summary); they are `None` when there are
/// no finite elements. `std` is the population standard deviation (NumPy's default,
/// `ddof = 0`). Booleans count as 0 and 1.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorStats {
    /// Shape of the tensor.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: DType,
    /// Number of elements.
    pub numel: usize,
    /// Smallest finite element.
    pub min: Option<f64>,
    /// Largest finite element.
    pub max: Option<f64>,
    /// Mean of the finite elements.
    pub mean: Option<f64>,
    /// Population standard deviation of the finite elements.
    pub std: Option<f64>,
    /// Number of NaN elements.
    pub nan_count: usize,
    /// Number of infinite elements (either sign).
    pub inf_count: usize,
}

/// Compensated (Neumaier) summation, so means of millions of elements stay accurate.
#[derive(Default)]
struct Sum {
    sum: f64,
    carry: f64,
}

impl Sum {
    fn add(&mut self, v: f64) {
        let t = self.sum + v;
        if self.sum.abs() >= v.abs() {
            self.carry += (self.sum - t) + v;
        } else {
            self.carry += (v - t) + self.sum;
        }
        self.sum = t;
    }

    fn total(&self) -> f64 {
        self.sum + self.carry
    }
}

/// Statistics of the finite elements.
#[derive(Clone, Copy)]
struct Finite {
    min: f64,
    max: f64,
    mean: f64,
    std: f64,
}

/// Returns the finite-element summary (if any) and the NaN and infinity counts.
fn compute<T: Element>(values: impl Iterator<Item = T> + Clone) -> (Option<Finite>, usize, usize) {
    let (mut nan, mut inf, mut finite) = (0usize, 0usize, 0usize);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut sum = Sum::default();
    for v in values.clone().map(T::to_f64) {
        if v.is_nan() {
            nan += 1;
        } else if v.is_infinite() {
            inf += 1;
        } else {
            finite += 1;
            min = min.min(v);
            max = max.max(v);
            sum.add(v);
        }
    }
    if finite == 0 {
        return (None, nan, inf);
    }
    let mean = sum.total() / finite as f64;
    // Second pass over deviations: more accurate than E[x²] - E[x]².
    let mut squares = Sum::default();
    for v in values.map(T::to_f64).filter(|v| v.is_finite()) {
        squares.add((v - mean) * (v - mean));
    }
    let std = (squares.total() / finite as f64).sqrt();
    (Some(Finite { min, max, mean, std }), nan, inf)
}

impl Tensor {
    /// Summary statistics (see [`TensorStats`]); reads the data twice, allocates nothing.
    pub fn stats(&self) -> TensorStats {
        let (summary, nan_count, inf_count) =
            dispatch_data!(self.data(), a => compute(a.iter().copied()));
        TensorStats {
            shape: self.shape().to_vec(),
            dtype: self.dtype(),
            numel: self.numel(),
            min: summary.map(|s| s.min),
            max: summary.map(|s| s.max),
            mean: summary.map(|s| s.mean),
            std: summary.map(|s| s.std),
            nan_count,
            inf_count,
        }
    }
}

/// Formats like Python's `%g` (with Rust-style exponents such as `1.5e-7`): 6 significant
/// digits, fixed or scientific by magnitude,
/// trailing zeros trimmed.
fn fmt_g(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let sci = format!("{v:.5e}");
    let exp: i32 = sci.rsplit_once('e').and_then(|(_, e)| e.parse().ok()).unwrap_or(0);
    if (-5..6).contains(&exp) {
        let decimals = usize::try_from(5 - exp).unwrap_or(0);
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        format!("{mantissa}e{exp}")
    }
}

impl fmt::Display for TensorStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = |v: Option<f64>| v.map_or_else(|| "-".to_string(), fmt_g);
        writeln!(f, "shape  {:?}", self.shape)?;
        writeln!(f, "dtype  {}", self.dtype)?;
        writeln!(f, "numel  {}", self.numel)?;
        writeln!(f, "min    {}", num(self.min))?;
        writeln!(f, "max    {}", num(self.max))?;
        writeln!(f, "mean   {}", num(self.mean))?;
        writeln!(f, "std    {}", num(self.std))?;
        writeln!(f, "nan    {}", self.nan_count)?;
        write!(f, "inf    {}", self.inf_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_stats() {
        let t = Tensor::from_vec(&[2, 3], vec![1.0f32, 2.0, 3.0, 4.0, f32::NAN, f32::NEG_INFINITY])
            .unwrap();
        let s = t.stats();
        assert_eq!((s.numel, s.nan_count, s.inf_count), (6, 1, 1));
        assert_eq!((s.min, s.max, s.mean), (Some(1.0), Some(4.0), Some(2.5)));
        assert!((s.std.unwrap() - 1.25f64.sqrt()).abs() < 1e-12);
        let text = s.to_string();
        assert_eq!(
            text,
            "shape  [2, 3]\ndtype  float32\nnumel  6\nmin    1\nmax    4\nmean   2.5\nstd    1.11803\nnan    1\ninf    1"
        );
    }

    #[test]
    fn ints_bools_and_empty() {
        let s = Tensor::from_vec(&[3], vec![-5i64, 0, 5]).unwrap().stats();
        assert_eq!((s.min, s.max, s.mean), (Some(-5.0), Some(5.0), Some(0.0)));
        let s = Tensor::from_vec(&[4], vec![true, false, true, true]).unwrap().stats();
        assert_eq!(s.mean, Some(0.75));
        let s = Tensor::full(&[0, 4], 0.0, DType::F16).stats();
        assert_eq!((s.numel, s.min, s.std), (0, None, None));
        assert!(s.to_string().contains("min    -"));
        let s = Tensor::scalar(f64::NAN).stats();
        assert_eq!((s.nan_count, s.mean), (1, None));
    }

    #[test]
    fn mean_is_accurate_for_large_offsets() {
        let t = Tensor::from_vec(&[3], vec![1e16, 1.0, -1e16]).unwrap();
        assert_eq!(t.stats().mean, Some(1.0 / 3.0));
    }

    #[test]
    fn g_formatting() {
        assert_eq!(fmt_g(0.0), "0");
        assert_eq!(fmt_g(1234567.0), "1.23457e6");
        assert_eq!(fmt_g(123456.0), "123456");
        assert_eq!(fmt_g(0.000123456789), "0.000123457");
        assert_eq!(fmt_g(-1.5e-7), "-1.5e-7");
        assert_eq!(fmt_g(3.0), "3");
        assert_eq!(fmt_g(f64::INFINITY), "inf");
    }
}
