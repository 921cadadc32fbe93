//! Tensors for `circuit`: element types ([`DType`]), an immutable, cheaply clonable
//! ndarray-backed [`Tensor`], the rust_circuit-compatible content hash ([`TensorHash`]),
//! `.npy` and safetensors I/O, and a content-addressed [`TensorStore`]; also seeded random
//! tensors ([`Tensor::randn`], [`Tensor::rand_uniform`]), THE seeded multinomial sampler
//! ([`multinomial`], [`multinomial_batched`]), summary statistics
//! ([`Tensor::stats`]) and allocation limits for untrusted shapes ([`check_alloc`]).
//!
//! Invariant: a [`Tensor`] is never mutated after construction, so its hash is computed
//! at most once and cached.

mod bytes;
mod dtype;
mod error;
mod hash;
mod limits;
mod multinomial;
mod npy;
mod pyliteral;
mod random;
mod safetensors;
mod stats;
mod store;
mod tensor;
#[cfg(test)]
mod test_util;

pub use dtype::DType;
pub use error::{Result, TensorError};
pub use hash::TensorHash;
pub use limits::{check_alloc, DEFAULT_MAX_TENSOR_BYTES};
pub use multinomial::{multinomial, multinomial_batched, MULTINOMIAL_SEED_STRIDE};
pub use npy::{read_npy, read_npy_bytes, read_npy_header, to_npy_bytes, write_npy, NpyHeader};
pub use random::Rng;
pub use safetensors::{
    read_safetensors, read_safetensors_bytes, read_safetensors_header, read_safetensors_tensor,
    to_safetensors_bytes, write_safetensors, write_safetensors_with_metadata, SafetensorsHeader,
};
pub use stats::TensorStats;
pub use store::{TensorStore, TENSOR_DIR_ENV};
pub use tensor::{Tensor, TensorData};
