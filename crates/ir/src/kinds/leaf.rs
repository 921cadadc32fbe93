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
#[derive(Clone)]
pub struct Array {
    hash: TensorHash,
    shape: Shape,
    dtype: DType,
    cell: Arc<OnceLock<Tensor>>,
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
        Array { hash, shape, dtype, cell: Arc::new(cell), loader: None }
    }

    /// A tensor known by hash, shape and dtype, loaded by `loader` on first use.
    pub fn lazy(
        hash: TensorHash,
        shape: Shape,
        dtype: DType,
        loader: Arc<dyn TensorLoader>,
    ) -> Array {
        Array { hash, shape, dtype, cell: Arc::new(OnceLock::new()), loader: Some(loader) }
    }

    /// The tensor's content hash.
    pub fn tensor_hash(&self) -> TensorHash {
        self.hash
    }

    /// The tensor's shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The tensor's dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Whether the data is in memory.
    pub fn is_loaded(&self) -> bool {
        self.cell.get().is_some()
    }

    /// The tensor, loading it if needed.
    ///
    /// # Errors
    /// The loader's error, or a shape/dtype/hash mismatch between the loaded tensor and
    /// what the circuit declared.
    pub fn tensor(&self) -> Result<Tensor, TensorError> {
        if let Some(t) = self.cell.get() {
            return Ok(t.clone());
        }
        let loader = self.loader.as_ref().ok_or_else(|| TensorError::Format {
            path: self.hash.prefix(16),
            msg: "array has no data and no loader".into(),
        })?;
        let t = loader.load(&self.hash)?;
        if t.shape() != self.shape.as_slice() || t.dtype() != self.dtype {
            return Err(TensorError::Format {
                path: self.hash.prefix(16),
                msg: format!(
                    "loaded tensor is {} {:?}, but the circuit declares {} {:?}",
                    t.dtype(),
                    t.shape(),
                    self.dtype,
                    self.shape.as_slice()
                ),
            });
        }
        let _ = self.cell.set(t.clone());
        Ok(t)
    }
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Array({} {:?} {})", self.dtype, self.shape.as_slice(), self.hash.prefix(12))
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
