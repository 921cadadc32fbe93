//! Tensors for `circuit`: element types ([`DType`]), an immutable, cheaply clonable
//! ndarray-backed [`Tensor`], the rust_circuit-compatible content hash ([`TensorHash`]),
//! `.npy` and safetensors I/O, and a content-addressed [`TensorStore`].
//!
//! Invariant: a [`Tensor`] is never mutated after construction, so its hash is computed
//! at most once and cached.

mod dtype;
mod error;
mod hash;
mod tensor;

pub use dtype::DType;
pub use error::{Result, TensorError};
pub use hash::TensorHash;
pub use tensor::{Tensor, TensorData};
