//! The CUDA backend of the circuit evaluator: the same compiled [`circuit_eval::Plan`]
//! the CPU runs, executed on an NVIDIA GPU.
//!
//! ```text
//! Plan ──▶ CudaBackend::execute(step) ──▶ views (permute, diagonal, slice, broadcast)
//!                                     ├─▶ cuBLAS strided-batched GEMM (Contract, Conv)
//!                                     ├─▶ generated CUDA C (NVRTC, cached per spec):
//!                                     │     map (elementwise, casts, copies), reduce,
//!                                     │     rows (softmax, min/max, log-softmax-pick),
//!                                     │     gather / index tables, im2col
//!                                     └─▶ host (Multinomial, for bit-equal samples)
//! ```
//!
//! * [`CudaBackend::new`] opens a GPU through cudarc with dynamic loading: the crate
//!   builds without CUDA, and without a driver or device `new` returns
//!   [`CudaError::NoDevice`] (never a panic).
//! * One stream; a caching allocator ([`MemoryStats`]); constants (the circuit's arrays)
//!   uploaded once and cached by content hash across plan runs.
//! * float32, float64 and int64, with the CPU backend's semantics (int64 math through
//!   float64, wrapping integer arithmetic, saturating casts). Contractions use cuBLAS
//!   in true fp32 (no TF32).
//! * Out-of-range index values found on the device are reported as
//!   [`circuit_eval::EvalError::IndexOutOfRange`] when the result is downloaded.
//! * [`CudaBackend::emulated`]: the same backend on a CPU emulator of the generated
//!   kernels (compiled with the host C++ compiler, every memory access checked) — how
//!   the backend is tested without a GPU.
//!
//! `docs/CUDA.md` explains how to build, test and benchmark on a GPU machine.

mod alloc;
mod backend;
mod buffer;
mod catalog;
pub mod codegen;
mod device;
mod error;
mod exec;

pub use alloc::MemoryStats;
pub use backend::CudaBackend;
pub use buffer::CudaBuffer;
pub use catalog::kernel_catalog;
pub use codegen::{nvrtc_options, KernelSource};
pub use error::{CudaError, Result};
