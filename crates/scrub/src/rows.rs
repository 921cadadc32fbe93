//! Row-wise tensor helpers (gather rows, concatenate along the leading axis, compare
//! rows) and the deterministic draws used by every sampler.

use ndarray::{concatenate, Axis};

use circuit_ir::Uuid;
use circuit_tensor::{Rng, Tensor, TensorData};

use crate::error::{Result, ScrubError};

/// Applies `$body` to the inner array and wraps the result in the same variant.
macro_rules! map_same_variant {
    ($data:expr, $a:ident => $body:expr) => {
        match $data {
            TensorData::F16($a) => TensorData::F16($body),
            TensorData::BF16($a) => TensorData::BF16($body),
            TensorData::F32($a) => TensorData::F32($body),
            TensorData::F64($a) => TensorData::F64($body),
            TensorData::I8($a) => TensorData::I8($body),
            TensorData::I16($a) => TensorData::I16($body),
            TensorData::I32($a) => TensorData::I32($body),
            TensorData::I64($a) => TensorData::I64($body),
            TensorData::U8($a) => TensorData::U8($body),
            TensorData::Bool($a) => TensorData::Bool($body),
        }
    };
}

/// The rows `idxs` of `t` (along axis 0), in that order.
///
/// # Errors
/// [`ScrubError::Dataset`] for a 0-d tensor or an index out of range.
pub(crate) fn gather_rows(t: &Tensor, idxs: &[usize]) -> Result<Tensor> {
    let Some(&len) = t.shape().first() else {
        return Err(ScrubError::dataset("cannot index the rows of a 0-d tensor"));
    };
    if let Some(bad) = idxs.iter().find(|&&i| i >= len) {
        return Err(ScrubError::dataset(format!("row {bad} is out of range for length {len}")));
    }
    let data = map_same_variant!(t.data(), a => a.select(Axis(0), idxs).into_shared());
    Ok(Tensor::new(data))
}

/// Concatenates tensors of one dtype along axis 0.
///
/// # Errors
/// [`ScrubError::Invalid`] for no parts, mixed dtypes or mismatched trailing shapes.
pub(crate) fn concat_rows(parts: &[Tensor]) -> Result<Tensor> {
    let Some(first) = parts.first() else {
        return Err(ScrubError::Invalid("nothing to concatenate".into()));
    };
    if parts.len() == 1 {
        return Ok(first.clone());
    }
    macro_rules! views {
        ($variant:ident) => {{
            let mut views = Vec::with_capacity(parts.len());
            for p in parts {
                match p.data() {
                    TensorData::$variant(a) => views.push(a.view()),
                    _ => {
                        return Err(ScrubError::Invalid(format!(
                            "cannot concatenate {} with {}",
                            first.dtype(),
                            p.dtype()
                        )))
                    }
                }
            }
            let joined = concatenate(Axis(0), &views)
                .map_err(|e| ScrubError::Invalid(format!("cannot concatenate outputs: {e}")))?;
            TensorData::$variant(joined.into_shared())
        }};
    }
    let data = match first.data() {
        TensorData::F16(_) => views!(F16),
        TensorData::BF16(_) => views!(BF16),
        TensorData::F32(_) => views!(F32),
        TensorData::F64(_) => views!(F64),
        TensorData::I8(_) => views!(I8),
        TensorData::I16(_) => views!(I16),
        TensorData::I32(_) => views!(I32),
        TensorData::I64(_) => views!(I64),
        TensorData::U8(_) => views!(U8),
        TensorData::Bool(_) => views!(Bool),
    };
    Ok(Tensor::new(data))
}

/// One comparable key per row of `t` (a 1-D tensor gives one-element rows; higher
/// ranks are flattened per row). Integers and booleans keep their values; floats use
/// their bit patterns, with `-0.0` read as `0.0` so the two compare equal.
///
/// # Errors
/// [`ScrubError::Invalid`] for a 0-d tensor.
pub(crate) fn row_keys(t: &Tensor) -> Result<Vec<Vec<i64>>> {
    let Some(&len) = t.shape().first() else {
        return Err(ScrubError::Invalid("feature tensors need a leading datum axis".into()));
    };
    let per_row = t.numel().checked_div(len).unwrap_or(0);
    let flat: Vec<i64> = if t.dtype().is_float() {
        t.to_f64_vec().into_iter().map(|v| if v == 0.0 { 0 } else { v.to_bits() as i64 }).collect()
    } else {
        t.to_i64_vec()
    };
    if per_row == 0 {
        return Ok(vec![Vec::new(); len]);
    }
    Ok(flat.chunks(per_row).map(<[i64]>::to_vec).collect())
}

/// A uniform integer in `0..n` (`n > 0`), without modulo bias.
pub(crate) fn uniform_below(rng: &mut Rng, n: usize) -> usize {
    let n = n as u64;
    // Reject the lowest `2^64 mod n` values so the rest is a whole number of cycles.
    let threshold = n.wrapping_neg() % n;
    loop {
        let x = rng.next_u64();
        if x >= threshold {
            return (x % n) as usize;
        }
    }
}

/// A uuid derived from `parts` (blake3, truncated, marked as a version-4 uuid), so
/// reruns with the same inputs build bit-identical circuits.
pub(crate) fn derived_uuid(parts: &[&[u8]]) -> Uuid {
    let mut h = blake3::Hasher::new();
    h.update(b"circuit-scrub uuid");
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_bytes()[..16]);
    uuid_from_random_bytes(bytes)
}

fn uuid_from_random_bytes(mut bytes: [u8; 16]) -> Uuid {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_and_concat_round_trip() {
        let t = Tensor::from_vec(&[4, 2], (0..8).map(|v| v as f32).collect()).unwrap();
        let g = gather_rows(&t, &[3, 0, 3]).unwrap();
        assert_eq!(g.shape(), &[3, 2]);
        assert_eq!(g.to_f64_vec(), vec![6.0, 7.0, 0.0, 1.0, 6.0, 7.0]);
        let c =
            concat_rows(&[gather_rows(&t, &[0, 1]).unwrap(), gather_rows(&t, &[2, 3]).unwrap()])
                .unwrap();
        assert!(c.content_eq(&t));
        assert!(gather_rows(&t, &[4]).is_err());
    }

    #[test]
    fn row_keys_identify_equal_rows() {
        let t = Tensor::from_vec(&[3, 2], vec![1.0f64, -0.0, 1.0, 0.0, 2.0, 0.0]).unwrap();
        let k = row_keys(&t).unwrap();
        assert_eq!(k[0], k[1]);
        assert_ne!(k[0], k[2]);
    }

    #[test]
    fn uniform_below_is_in_range_and_deterministic() {
        let mut a = Rng::new(5);
        let mut b = Rng::new(5);
        for n in 1..50 {
            let x = uniform_below(&mut a, n);
            assert!(x < n);
            assert_eq!(x, uniform_below(&mut b, n));
        }
    }
}
