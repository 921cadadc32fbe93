//! Leaves: Array (a tensor), Scalar (a value broadcast to a shape) and Symbol (a
//! placeholder identified by uuid and name).

use std::fmt;
use std::sync::{Arc, OnceLock};

use circuit_tensor::{DType, Tensor, TensorError, TensorHash};
use uuid::Uuid;

use crate::Shape;

/// Loads a tensor on demand (e.g. from the tensor store), so that parsing and printing a
/// circuit never reads weights it does not need.
pub trait TensorLoader: Send + Sync {
    /// Loads the tensor with this hash.
    ///
    /// # Errors
    /// Whatever the source reports (missing file, corrupt data, ...).
    fn load(&self, hash: &TensorHash) -> Result<Tensor, TensorError>;
}

/// An Array's payload: a tensor, possibly not loaded yet.
///
/// Cloning is cheap (the payload is shared), and keeps the `Op` enum small.
#[derive(Clone)]
pub struct Array(Arc<ArrayData>);

struct ArrayData {
    hash: TensorHash,
    shape: Shape,
    dtype: DType,
    cell: OnceLock<Tensor>,
    loader: Option<Arc<dyn TensorLoader>>,
}

impl Array {
    /// Wraps a tensor that is already in memory.
    pub fn from_tensor(tensor: Tensor) -> Array {
        let cell = OnceLock::new();
        let hash = tensor.hash();
        let shape = tensor.shape().iter().copied().collect();
        let dtype = tensor.dtype();
        let _ = cell.set(tensor);
        Array(Arc::new(ArrayData { hash, shape, dtype, cell, loader: None }))
    }

    /// A tensor known by hash, shape and dtype, loaded by `loader` on first use.
    pub fn lazy(
        hash: TensorHash,
        shape: Shape,
        dtype: DType,
        loader: Arc<dyn TensorLoader>,
    ) -> Array {
        Array(Arc::new(ArrayData {
            hash,
            shape,
            dtype,
            cell: OnceLock::new(),
            loader: Some(loader),
        }))
    }

    /// The tensor's content hash.
    pub fn tensor_hash(&self) -> TensorHash {
        self.0.hash
    }

    /// The tensor's shape.
    pub fn shape(&self) -> &Shape {
        &self.0.shape
    }

    /// The tensor's dtype.
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    /// Whether the data is in memory.
    pub fn is_loaded(&self) -> bool {
        self.0.cell.get().is_some()
    }

    /// The tensor, loading it if needed.
    ///
    /// # Errors
    /// The loader's error, or a shape/dtype/hash mismatch between the loaded tensor and
    /// what the circuit declared.
    pub fn tensor(&self) -> Result<Tensor, TensorError> {
        let a = &*self.0;
        if let Some(t) = a.cell.get() {
            return Ok(t.clone());
        }
        let loader = a.loader.as_ref().ok_or_else(|| TensorError::Format {
            path: a.hash.prefix(16),
            msg: "array has no data and no loader".into(),
        })?;
        let t = loader.load(&a.hash)?;
        if t.shape() != a.shape.as_slice() || t.dtype() != a.dtype {
            return Err(TensorError::Format {
                path: a.hash.prefix(16),
                msg: format!(
                    "loaded tensor is {} {:?}, but the circuit declares {} {:?}",
                    t.dtype(),
                    t.shape(),
                    a.dtype,
                    a.shape.as_slice()
                ),
            });
        }
        let _ = a.cell.set(t.clone());
        Ok(t)
    }
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &*self.0;
        write!(f, "Array({} {:?} {})", a.dtype, a.shape.as_slice(), a.hash.prefix(12))
    }
}

/// A Scalar's payload: one value filling a (possibly symbolic) shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The value.
    pub value: f64,
    /// The shape.
    pub shape: Shape,
}

/// A Symbol's payload: a shape and a uuid (nil by default).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Symbol {
    /// The shape.
    pub shape: Shape,
    /// The identity, together with the node name.
    pub uuid: Uuid,
}
