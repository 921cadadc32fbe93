//! Sizes and shapes, including rust_circuit's symbolic sizes.
//!
//! A dimension size is a plain `usize`. Symbolic size number *k* is encoded as the *k*-th
//! prime above 10,000 (`0s` = 10007, `1s` = 10009, ...), and a size such as `2*1s` is the
//! product `2 * 10009`. This is the original's encoding, kept so that files which spell a
//! symbolic size as its number (`[10009]`) mean the same thing. Real tensors (Arrays) may
//! not have sizes divisible by these primes.

use std::sync::OnceLock;

use smallvec::SmallVec;

use crate::{IrError, Result};

/// A shape: one size per dimension.
pub type Shape = SmallVec<[usize; 4]>;

/// Number of symbolic sizes available (`0s` .. `255s`).
pub const NUM_SYMBOLIC_SIZES: usize = 256;

const FIRST_SYMBOLIC_PRIME: usize = 10_007;

/// The primes that encode symbolic sizes, in order.
pub fn symbolic_primes() -> &'static [usize; NUM_SYMBOLIC_SIZES] {
    static PRIMES: OnceLock<[usize; NUM_SYMBOLIC_SIZES]> = OnceLock::new();
    PRIMES.get_or_init(|| {
        let mut out = [0usize; NUM_SYMBOLIC_SIZES];
        let mut n = 10_001usize;
        let mut count = 0;
        while count < NUM_SYMBOLIC_SIZES {
            if is_prime(n) {
                out[count] = n;
                count += 1;
            }
            n += 2;
        }
        out
    })
}

fn is_prime(n: usize) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

/// The size that stands for symbolic size number `k` (`ks`).
///
/// # Errors
/// [`IrError::SymbolicSizeOverflow`] when `k` is not below [`NUM_SYMBOLIC_SIZES`].
pub fn symbolic_size(k: usize) -> Result<usize> {
    symbolic_primes().get(k).copied().ok_or_else(|| {
        IrError::SymbolicSizeOverflow(format!(
            "symbolic size {k}s does not exist (max {})",
            NUM_SYMBOLIC_SIZES - 1
        ))
    })
}

/// A size split into its plain factor and its symbolic factors (sorted, with repeats).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SizeParts {
    /// The product of all non-symbolic prime factors.
    pub other: usize,
    /// The symbolic size numbers, ascending, repeated by multiplicity.
    pub symbols: SmallVec<[u8; 4]>,
}

impl SizeParts {
    /// Recombines the parts into an encoded size.
    ///
    /// # Errors
    /// [`IrError::SymbolicSizeOverflow`] if the product does not fit in `usize`.
    pub fn compose(&self) -> Result<usize> {
        let primes = symbolic_primes();
        let mut acc = self.other;
        for &s in &self.symbols {
            acc = acc.checked_mul(primes[usize::from(s)]).ok_or_else(|| {
                IrError::SymbolicSizeOverflow(format!("{} times symbolic factors", self.other))
            })?;
        }
        Ok(acc)
    }
}

/// Splits a size into its plain and symbolic factors.
pub fn decompose(size: usize) -> SizeParts {
    let mut parts = SizeParts { other: size, symbols: SmallVec::new() };
    if size < FIRST_SYMBOLIC_PRIME {
        return parts;
    }
    for (k, &p) in symbolic_primes().iter().enumerate() {
        if p > parts.other {
            break;
        }
        while parts.other.is_multiple_of(p) {
            parts.other /= p;
            parts.symbols.push(k as u8);
        }
    }
    parts
}

/// Whether the size has at least one symbolic factor.
pub fn is_symbolic(size: usize) -> bool {
    size >= FIRST_SYMBOLIC_PRIME && !decompose(size).symbols.is_empty()
}

/// Whether any dimension of the shape is symbolic.
pub fn shape_is_symbolic(shape: &[usize]) -> bool {
    shape.iter().any(|&s| is_symbolic(s))
}

/// Formats a size as the text format does: `12`, `0s`, `2*1s`, `0s*0s*1s`.
pub fn format_size(size: usize) -> String {
    let parts = decompose(size);
    if parts.symbols.is_empty() {
        return size.to_string();
    }
    let mut pieces: Vec<String> = Vec::with_capacity(parts.symbols.len() + 1);
    if parts.other != 1 {
        pieces.push(parts.other.to_string());
    }
    pieces.extend(parts.symbols.iter().map(|s| format!("{s}s")));
    pieces.join("*")
}

/// Formats a shape as `[a,b,c]` with symbolic sizes spelled out.
pub fn format_shape(shape: &[usize]) -> String {
    let inner: Vec<String> = shape.iter().map(|&s| format_size(s)).collect();
    format!("[{}]", inner.join(","))
}

/// The number of elements of a shape, without overflow (as `u128`, saturating).
pub fn numel(shape: &[usize]) -> u128 {
    shape.iter().fold(1u128, |acc, &s| acc.saturating_mul(s as u128))
}

/// Multiplies sizes, reporting overflow.
///
/// # Errors
/// [`IrError::SymbolicSizeOverflow`] if the product does not fit in `usize`.
pub fn checked_product(sizes: impl IntoIterator<Item = usize>) -> Result<usize> {
    let mut acc: usize = 1;
    for s in sizes {
        acc = acc
            .checked_mul(s)
            .ok_or_else(|| IrError::SymbolicSizeOverflow("product of sizes".into()))?;
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes_match_the_reference() {
        let p = symbolic_primes();
        assert_eq!(&p[..3], &[10007, 10009, 10037]);
        assert!(p.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn format_and_decompose() {
        let s1 = symbolic_size(1).unwrap();
        assert_eq!(format_size(12), "12");
        assert_eq!(format_size(10009), "1s");
        assert_eq!(format_size(2 * s1), "2*1s");
        let s0 = symbolic_size(0).unwrap();
        let s3 = symbolic_size(3).unwrap();
        assert_eq!(format_size(s0 * s0 * s1 * s3), "0s*0s*1s*3s");
        assert_eq!(format_size(28 * symbolic_size(6).unwrap()), "28*6s");
        assert!(is_symbolic(2 * s1));
        assert!(!is_symbolic(10_000_000_000_000));
        assert_eq!(decompose(2 * s1).compose().unwrap(), 2 * s1);
        assert_eq!(format_shape(&[2 * s1, s0]), "[2*1s,0s]");
    }

    #[test]
    fn numel_saturates() {
        assert_eq!(numel(&[usize::MAX, usize::MAX, usize::MAX]), u128::MAX);
        assert_eq!(numel(&[]), 1);
    }
}

/// Parses a size: `*`-separated factors, each digits (underscores allowed after the first
/// digit) optionally followed by `s` (a symbolic size number). Whitespace around `*` is
/// allowed.
///
/// # Errors
/// [`IrError::Invalid`] for malformed text, [`IrError::SymbolicSizeOverflow`] on overflow.
pub fn parse_size(text: &str) -> Result<usize> {
    // Fast path: plain decimal digits (by far the most common case).
    if !text.is_empty() && text.len() < 19 && text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(text.bytes().fold(0usize, |acc, b| acc * 10 + usize::from(b - b'0')));
    }
    let bad = || IrError::Invalid {
        kind: "size",
        node: format!("'{text}'"),
        msg: "expected a size like 12, 0s or 2*1s".into(),
    };
    let mut acc: usize = 1;
    for factor in text.split('*') {
        let factor = factor.trim();
        let (digits, symbolic) = match factor.strip_suffix('s') {
            Some(d) => (d, true),
            None => (factor, false),
        };
        let mut chars = digits.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_digit())
            || !chars.all(|c| c.is_ascii_digit() || c == '_')
        {
            return Err(bad());
        }
        let clean: String = digits.chars().filter(|&c| c != '_').collect();
        let n: usize = clean
            .parse()
            .map_err(|_| IrError::SymbolicSizeOverflow(format!("size '{text}' is too large")))?;
        let value = if symbolic { symbolic_size(n)? } else { n };
        acc = acc
            .checked_mul(value)
            .ok_or_else(|| IrError::SymbolicSizeOverflow(format!("size '{text}' is too large")))?;
    }
    Ok(acc)
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn parse_sizes() {
        assert_eq!(parse_size("12").unwrap(), 12);
        assert_eq!(parse_size("1_000").unwrap(), 1000);
        assert_eq!(parse_size("2*1s").unwrap(), 2 * 10009);
        assert_eq!(parse_size("2 * 1s").unwrap(), 2 * 10009);
        assert!(parse_size("_1").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("1x").is_err());
        assert!(parse_size("999s").is_err());
        assert!(parse_size("99999999999999999999999").is_err());
    }
}
