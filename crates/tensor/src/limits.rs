//! Allocation limits: readers check a declared shape against a byte budget before
//! allocating, so a tiny malicious header cannot make us reserve terabytes.

use crate::{DType, Result, TensorError};

/// The default largest tensor (in bytes) readers agree to allocate: 16 GiB.
pub const DEFAULT_MAX_TENSOR_BYTES: u128 = 16 << 30;

/// Checks that a tensor of `shape` and `dtype` fits in `limit_bytes`.
///
/// All arithmetic is done in `u128` with overflow checks, so absurd shapes are reported
/// rather than wrapping around. Shapes whose non-zero extents multiply past `isize::MAX`
/// are rejected even when another extent is zero (and the tensor therefore empty),
/// because ndarray cannot represent them.
///
/// # Errors
/// [`TensorError::TooLarge`] if the tensor would exceed the limit (`bytes` is
/// `u128::MAX` when the size overflows even `u128`).
pub fn check_alloc(shape: &[usize], dtype: DType, limit_bytes: u128) -> Result<()> {
    let too_large =
        |bytes: u128| TensorError::TooLarge { shape: shape.to_vec(), bytes, limit: limit_bytes };
    let mut numel: u128 = 1;
    let mut nonzero_extent: u128 = 1;
    for &d in shape {
        let d = d as u128;
        numel = numel.saturating_mul(d);
        if d != 0 {
            nonzero_extent = nonzero_extent.checked_mul(d).ok_or_else(|| too_large(u128::MAX))?;
        }
    }
    let item = dtype.size_in_bytes() as u128;
    let bytes = numel.checked_mul(item).ok_or_else(|| too_large(u128::MAX))?;
    if bytes > limit_bytes {
        return Err(too_large(bytes));
    }
    if nonzero_extent > isize::MAX as u128 {
        return Err(too_large(nonzero_extent.saturating_mul(item)));
    }
    Ok(())
}

/// Number of bytes a tensor of this shape and dtype occupies, or `None` on overflow.
pub(crate) fn byte_len(shape: &[usize], dtype: DType) -> Option<u128> {
    shape.iter().try_fold(dtype.size_in_bytes() as u128, |acc, &d| acc.checked_mul(d as u128))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_small_and_empty() {
        assert!(check_alloc(&[2, 3], DType::F32, 24).is_ok());
        assert!(check_alloc(&[], DType::F64, 8).is_ok());
        assert!(check_alloc(&[0, 1 << 40], DType::F64, 0).is_ok());
    }

    #[test]
    fn rejects_over_limit() {
        match check_alloc(&[2, 3], DType::F32, 23) {
            Err(TensorError::TooLarge { bytes, limit, .. }) => {
                assert_eq!(bytes, 24);
                assert_eq!(limit, 23);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let huge = [usize::MAX; 8];
        assert!(matches!(
            check_alloc(&huge, DType::I64, DEFAULT_MAX_TENSOR_BYTES),
            Err(TensorError::TooLarge { bytes: u128::MAX, .. })
        ));
        // Empty, but ndarray could not index the non-zero extents.
        assert!(check_alloc(&[0, usize::MAX, 4], DType::U8, u128::MAX).is_err());
        assert_eq!(byte_len(&huge, DType::U8), None);
        assert_eq!(byte_len(&[2, 3], DType::I16), Some(12));
    }
}
