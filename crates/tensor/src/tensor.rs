//! The immutable, cheaply clonable tensor type.

use std::fmt;
use std::sync::{Arc, OnceLock};

use half::{bf16, f16};
use ndarray::{ArcArray, ArrayD, IxDyn};

use crate::hash::HashWriter;
use crate::{DType, Result, TensorError, TensorHash};

/// Typed storage: one ndarray per element type. Arrays may be non-contiguous views
/// (e.g. after a permutation); [`Tensor::to_le_bytes`] always produces C order.
#[derive(Clone)]
#[allow(missing_docs)]
pub enum TensorData {
    F16(ArcArray<f16, IxDyn>),
    BF16(ArcArray<bf16, IxDyn>),
    F32(ArcArray<f32, IxDyn>),
    F64(ArcArray<f64, IxDyn>),
    I8(ArcArray<i8, IxDyn>),
    I16(ArcArray<i16, IxDyn>),
    I32(ArcArray<i32, IxDyn>),
    I64(ArcArray<i64, IxDyn>),
    U8(ArcArray<u8, IxDyn>),
    Bool(ArcArray<bool, IxDyn>),
}

/// Runs `$body` with `$a` bound to the inner array, whatever its element type.
#[macro_export]
macro_rules! dispatch_data {
    ($data:expr, $a:ident => $body:expr) => {
        match $data {
            $crate::TensorData::F16($a) => $body,
            $crate::TensorData::BF16($a) => $body,
            $crate::TensorData::F32($a) => $body,
            $crate::TensorData::F64($a) => $body,
            $crate::TensorData::I8($a) => $body,
            $crate::TensorData::I16($a) => $body,
            $crate::TensorData::I32($a) => $body,
            $crate::TensorData::I64($a) => $body,
            $crate::TensorData::U8($a) => $body,
            $crate::TensorData::Bool($a) => $body,
        }
    };
}

/// Element types that can live in a [`Tensor`].
pub trait Element: Copy + Send + Sync + 'static {
    /// The dtype of this element type.
    const DTYPE: DType;
    /// Wraps an array of this element type.
    fn wrap(array: ArcArray<Self, IxDyn>) -> TensorData;
    /// Borrows the array if the data has this element type.
    fn unwrap(data: &TensorData) -> Option<&ArcArray<Self, IxDyn>>;
    /// Converts to `f64` (booleans become 0/1).
    fn to_f64(self) -> f64;
    /// Converts from `f64` (truncating toward zero for integers, saturating).
    fn from_f64(v: f64) -> Self;
    /// Appends the little-endian bytes of this element.
    fn write_le(self, out: &mut Vec<u8>);
}

macro_rules! impl_element {
    ($t:ty, $variant:ident, $to:expr, $from:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn wrap(array: ArcArray<Self, IxDyn>) -> TensorData {
                TensorData::$variant(array)
            }
            fn unwrap(data: &TensorData) -> Option<&ArcArray<Self, IxDyn>> {
                match data {
                    TensorData::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn to_f64(self) -> f64 {
                let f: fn($t) -> f64 = $to;
                f(self)
            }
            fn from_f64(v: f64) -> Self {
                let f: fn(f64) -> $t = $from;
                f(v)
            }
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}

impl_element!(f16, F16, |v| v.to_f64(), f16::from_f64);
impl_element!(bf16, BF16, |v| v.to_f64(), bf16::from_f64);
impl_element!(f32, F32, f64::from, |v| v as f32);
impl_element!(f64, F64, |v| v, |v| v);
impl_element!(i8, I8, f64::from, |v| v as i8);
impl_element!(i16, I16, f64::from, |v| v as i16);
impl_element!(i32, I32, f64::from, |v| v as i32);
impl_element!(i64, I64, |v| v as f64, |v| v as i64);
impl_element!(u8, U8, f64::from, |v| v as u8);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn wrap(array: ArcArray<Self, IxDyn>) -> TensorData {
        TensorData::Bool(array)
    }
    fn unwrap(data: &TensorData) -> Option<&ArcArray<Self, IxDyn>> {
        match data {
            TensorData::Bool(a) => Some(a),
            _ => None,
        }
    }
    fn to_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(u8::from(self));
    }
}

/// An immutable n-dimensional array with a lazily computed, cached content hash.
/// Cloning is cheap (reference counted).
#[derive(Clone)]
pub struct Tensor {
    data: TensorData,
    hash: Arc<OnceLock<TensorHash>>,
}

impl Tensor {
    /// Wraps typed data.
    pub fn new(data: TensorData) -> Tensor {
        Tensor { data, hash: Arc::new(OnceLock::new()) }
    }

    /// Wraps data whose hash is already known (e.g. verified while loading from the store).
    pub fn with_known_hash(data: TensorData, hash: TensorHash) -> Tensor {
        let cell = OnceLock::new();
        let _ = cell.set(hash);
        Tensor { data, hash: Arc::new(cell) }
    }

    /// Builds a tensor from an owned ndarray.
    pub fn from_array<T: Element>(array: ArrayD<T>) -> Tensor {
        Tensor::new(T::wrap(array.into_shared()))
    }

    /// Builds a tensor from a shape and a row-major vector.
    ///
    /// # Errors
    /// [`TensorError::ElementCount`] if the vector length does not match the shape.
    pub fn from_vec<T: Element>(shape: &[usize], values: Vec<T>) -> Result<Tensor> {
        let expected: usize = shape.iter().product();
        if expected != values.len() {
            return Err(TensorError::ElementCount {
                shape: shape.to_vec(),
                expected,
                got: values.len(),
            });
        }
        let array = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|_| {
            TensorError::ElementCount { shape: shape.to_vec(), expected, got: expected }
        })?;
        Ok(Tensor::from_array(array))
    }

    /// A 0-d tensor holding one value.
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Tensor::from_array(ArrayD::from_elem(IxDyn(&[]), value))
    }

    /// A tensor of the given shape filled with `value`, converted to `dtype`.
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
        fn fill<T: Element>(shape: &[usize], v: f64) -> TensorData {
            T::wrap(ArrayD::from_elem(IxDyn(shape), T::from_f64(v)).into_shared())
        }
        let data = match dtype {
            DType::F16 => fill::<f16>(shape, value),
            DType::BF16 => fill::<bf16>(shape, value),
            DType::F32 => fill::<f32>(shape, value),
            DType::F64 => fill::<f64>(shape, value),
            DType::I8 => fill::<i8>(shape, value),
            DType::I16 => fill::<i16>(shape, value),
            DType::I32 => fill::<i32>(shape, value),
            DType::I64 => fill::<i64>(shape, value),
            DType::U8 => fill::<u8>(shape, value),
            DType::Bool => fill::<bool>(shape, value),
        };
        Tensor::new(data)
    }

    /// The typed data.
    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match &self.data {
            TensorData::F16(_) => DType::F16,
            TensorData::BF16(_) => DType::BF16,
            TensorData::F32(_) => DType::F32,
            TensorData::F64(_) => DType::F64,
            TensorData::I8(_) => DType::I8,
            TensorData::I16(_) => DType::I16,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
            TensorData::U8(_) => DType::U8,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        dispatch_data!(&self.data, a => a.shape())
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape().iter().product()
    }

    /// Size of the data in bytes.
    pub fn size_in_bytes(&self) -> usize {
        self.numel() * self.dtype().size_in_bytes()
    }

    /// Borrows the typed array if the element type is `T`.
    pub fn as_array<T: Element>(&self) -> Option<&ArcArray<T, IxDyn>> {
        T::unwrap(&self.data)
    }

    /// Borrows the typed array, or errors naming both dtypes.
    ///
    /// # Errors
    /// [`TensorError::DTypeMismatch`] if the element type is not `T`.
    pub fn expect_array<T: Element>(&self) -> Result<&ArcArray<T, IxDyn>> {
        self.as_array::<T>().ok_or_else(|| TensorError::DTypeMismatch {
            expected: T::DTYPE.to_string(),
            found: self.dtype().to_string(),
        })
    }

    /// The content hash (rust_circuit-compatible), computed on first use.
    pub fn hash(&self) -> TensorHash {
        *self.hash.get_or_init(|| {
            let mut w = HashWriter::new(self.shape(), self.dtype());
            w.update(&self.to_le_bytes());
            w.finish()
        })
    }

    /// The elements as little-endian bytes in C (row-major) order.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        fn bytes<T: Element>(a: &ArcArray<T, IxDyn>) -> Vec<u8> {
            let mut out = Vec::with_capacity(a.len() * T::DTYPE.size_in_bytes());
            for &v in a.iter() {
                v.write_le(&mut out);
            }
            out
        }
        dispatch_data!(&self.data, a => bytes(a))
    }

    /// Converts to another element type (a copy unless the type already matches).
    pub fn cast(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype() {
            return self.clone();
        }
        fn conv<S: Element, T: Element>(a: &ArcArray<S, IxDyn>) -> TensorData {
            T::wrap(a.mapv(|v| T::from_f64(v.to_f64())).into_shared())
        }
        fn to<T: Element>(data: &TensorData) -> TensorData {
            dispatch_data!(data, a => conv::<_, T>(a))
        }
        let data = match dtype {
            DType::F16 => to::<f16>(&self.data),
            DType::BF16 => to::<bf16>(&self.data),
            DType::F32 => to::<f32>(&self.data),
            DType::F64 => to::<f64>(&self.data),
            DType::I8 => to::<i8>(&self.data),
            DType::I16 => to::<i16>(&self.data),
            DType::I32 => to::<i32>(&self.data),
            DType::I64 => to::<i64>(&self.data),
            DType::U8 => to::<u8>(&self.data),
            DType::Bool => to::<bool>(&self.data),
        };
        Tensor::new(data)
    }

    /// All elements converted to `f64`, in C order.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        dispatch_data!(&self.data, a => a.iter().map(|v| v.to_f64()).collect())
    }

    /// The data as an `f64` array (a copy unless already `f64`).
    pub fn to_f64_array(&self) -> ArcArray<f64, IxDyn> {
        match &self.data {
            TensorData::F64(a) => a.clone(),
            other => dispatch_data!(other, a => a.mapv(|v| v.to_f64()).into_shared()),
        }
    }

    /// All elements converted to `i64`, in C order (floats truncate toward zero).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match &self.data {
            TensorData::I64(a) => a.iter().copied().collect(),
            other => dispatch_data!(other, a => a.iter().map(|v| v.to_f64() as i64).collect()),
        }
    }

    /// Whether the two tensors have the same shape, dtype and elements.
    pub fn content_eq(&self, other: &Tensor) -> bool {
        self.shape() == other.shape()
            && self.dtype() == other.dtype()
            && (Arc::ptr_eq(&self.hash, &other.hash) || self.to_le_bytes() == other.to_le_bytes())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({} {:?})", self.dtype(), self.shape())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construct_and_inspect() {
        let t = Tensor::from_vec(&[2, 3], vec![1.0f32, 2., 3., 4., 5., 6.]).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.dtype(), DType::F32);
        assert_eq!(t.numel(), 6);
        assert_eq!(t.size_in_bytes(), 24);
        assert!(Tensor::from_vec(&[2, 2], vec![1.0f32]).is_err());
        let c = t.cast(DType::I64);
        assert_eq!(c.to_i64_vec(), vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn hash_uses_c_order_even_for_permuted_views() {
        let t = Tensor::from_vec(&[2, 3], vec![1i64, 2, 3, 4, 5, 6]).unwrap();
        let a = t.as_array::<i64>().unwrap().clone().reversed_axes();
        let permuted = Tensor::new(TensorData::I64(a));
        let same = Tensor::from_vec(&[3, 2], vec![1i64, 4, 2, 5, 3, 6]).unwrap();
        assert_eq!(permuted.hash(), same.hash());
        assert_ne!(t.hash(), same.hash());
    }
}
