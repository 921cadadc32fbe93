//! Decoding raw element bytes into typed arrays, shared by the `.npy`, safetensors and
//! store readers.
//!
//! Data is read in bounded chunks so a file is never held twice in memory, and each chunk
//! can be fed to a [`HashWriter`] on the way (the store verifies content hashes that way).

use std::io::{ErrorKind, Read};

use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};

use crate::hash::HashWriter;
use crate::tensor::Element;
use crate::{DType, Result, Tensor, TensorData, TensorError};

/// Bytes read per chunk; a multiple of every element size.
const CHUNK_BYTES: usize = 1 << 16;

/// Byte order of element data in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    Little,
    Big,
}

/// Element types that can be decoded from little-endian bytes.
pub(crate) trait FromLe: Element + Default {
    /// Decodes one element from the first `DTYPE.size_in_bytes()` bytes of `chunk`.
    fn from_le(chunk: &[u8]) -> Self;
}

macro_rules! impl_from_le {
    ($($t:ty),*) => {$(
        impl FromLe for $t {
            fn from_le(chunk: &[u8]) -> Self {
                // Callers pass exact-size chunks; the fallback only keeps this panic-free.
                chunk.first_chunk().copied().map(<$t>::from_le_bytes).unwrap_or_default()
            }
        }
    )*};
}

impl_from_le!(f16, bf16, f32, f64, i8, i16, i32, i64, u8);

impl FromLe for bool {
    fn from_le(chunk: &[u8]) -> Self {
        // NumPy treats any non-zero byte as true.
        chunk.first().is_some_and(|&b| b != 0)
    }
}

/// Reads exactly the data of a `shape`/`dtype` tensor (C order) from `r`.
///
/// Callers must already have checked the size against the allocation limit and the
/// bytes actually available. When `hasher` is given, it is fed the little-endian bytes
/// (after any byte swap), i.e. exactly what [`Tensor::hash`] hashes for non-bool data.
pub(crate) fn read_data<R: Read>(
    r: &mut R,
    shape: &[usize],
    dtype: DType,
    order: ByteOrder,
    hasher: Option<&mut HashWriter>,
    source: &str,
) -> Result<TensorData> {
    fn typed<T: FromLe, R: Read>(
        r: &mut R,
        shape: &[usize],
        order: ByteOrder,
        hasher: Option<&mut HashWriter>,
        source: &str,
    ) -> Result<TensorData> {
        let numel = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let too_large = || TensorError::TooLarge {
            shape: shape.to_vec(),
            bytes: u128::MAX,
            limit: crate::DEFAULT_MAX_TENSOR_BYTES,
        };
        let numel = numel.ok_or_else(too_large)?;
        let mut values: Vec<T> = Vec::new();
        values.try_reserve_exact(numel).map_err(|_| too_large())?;
        read_into(r, &mut values, numel, order, hasher, source)?;
        let array = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| {
            TensorError::format(source, format!("cannot build an array of shape {shape:?}: {e}"))
        })?;
        Ok(T::wrap(array.into_shared()))
    }
    match dtype {
        DType::F16 => typed::<f16, R>(r, shape, order, hasher, source),
        DType::BF16 => typed::<bf16, R>(r, shape, order, hasher, source),
        DType::F32 => typed::<f32, R>(r, shape, order, hasher, source),
        DType::F64 => typed::<f64, R>(r, shape, order, hasher, source),
        DType::I8 => typed::<i8, R>(r, shape, order, hasher, source),
        DType::I16 => typed::<i16, R>(r, shape, order, hasher, source),
        DType::I32 => typed::<i32, R>(r, shape, order, hasher, source),
        DType::I64 => typed::<i64, R>(r, shape, order, hasher, source),
        DType::U8 => typed::<u8, R>(r, shape, order, hasher, source),
        DType::Bool => typed::<bool, R>(r, shape, order, hasher, source),
    }
}

fn read_into<T: FromLe, R: Read>(
    r: &mut R,
    out: &mut Vec<T>,
    numel: usize,
    order: ByteOrder,
    mut hasher: Option<&mut HashWriter>,
    source: &str,
) -> Result<()> {
    let size = T::DTYPE.size_in_bytes();
    let total = numel.saturating_mul(size);
    let mut buf = vec![0u8; total.min(CHUNK_BYTES)];
    let mut done = 0usize;
    while done < total {
        let n = (total - done).min(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        r.read_exact(chunk).map_err(|e| {
            if e.kind() == ErrorKind::UnexpectedEof {
                TensorError::format(
                    source,
                    format!(
                        "truncated data: expected {total} bytes, found fewer than {}",
                        done + n
                    ),
                )
            } else {
                TensorError::Io { path: source.into(), source: e }
            }
        })?;
        if order == ByteOrder::Big && size > 1 {
            chunk.chunks_exact_mut(size).for_each(<[u8]>::reverse);
        }
        if let Some(h) = hasher.as_deref_mut() {
            h.update(chunk);
        }
        out.extend(chunk.chunks_exact(size).map(T::from_le));
        done += n;
    }
    Ok(())
}

impl Tensor {
    /// Builds a tensor from little-endian element bytes in C order (booleans: any non-zero
    /// byte is `true`).
    ///
    /// # Errors
    /// [`TensorError::ElementCount`] if `bytes` does not hold exactly the elements the
    /// shape needs, [`TensorError::TooLarge`] for shapes ndarray cannot represent.
    pub fn from_le_bytes(shape: &[usize], dtype: DType, bytes: &[u8]) -> Result<Tensor> {
        crate::check_alloc(shape, dtype, u128::MAX)?;
        let expected: usize = shape.iter().product();
        let size = dtype.size_in_bytes();
        if bytes.len() != expected.saturating_mul(size) {
            return Err(TensorError::ElementCount {
                shape: shape.to_vec(),
                expected,
                got: bytes.len() / size,
            });
        }
        let mut r = bytes;
        read_data(&mut r, shape, dtype, ByteOrder::Little, None, "<bytes>").map(Tensor::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_le_bytes_round_trips_every_dtype() {
        for dtype in DType::ALL {
            let t = Tensor::full(&[2, 3], 1.0, dtype);
            let back = Tensor::from_le_bytes(&[2, 3], dtype, &t.to_le_bytes()).unwrap();
            assert!(back.content_eq(&t), "{dtype}");
        }
        assert!(Tensor::from_le_bytes(&[2], DType::I32, &[0; 7]).is_err());
        let s = Tensor::from_le_bytes(&[], DType::I16, &[1, 2]).unwrap();
        assert_eq!(s.to_i64_vec(), vec![0x0201]);
    }

    #[test]
    fn big_endian_is_swapped_and_hashed_as_little_endian() {
        let be: Vec<u8> = [1i32, -2, 70000].iter().flat_map(|v| v.to_be_bytes()).collect();
        let mut h = HashWriter::new(&[3], DType::I32);
        let data =
            read_data(&mut &be[..], &[3], DType::I32, ByteOrder::Big, Some(&mut h), "x").unwrap();
        let t = Tensor::new(data);
        assert_eq!(t.to_i64_vec(), vec![1, -2, 70000]);
        assert_eq!(h.finish(), t.hash());
    }

    #[test]
    fn short_input_is_a_format_error() {
        let err = read_data(&mut &[0u8; 5][..], &[2], DType::F32, ByteOrder::Little, None, "x");
        assert!(matches!(err, Err(TensorError::Format { .. })));
    }
}
