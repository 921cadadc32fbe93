//! The device layer: what the backend needs from a GPU, behind one trait so that the
//! same backend runs on a real GPU ([`cuda`], through cudarc) or on the CPU emulator
//! ([`emu`], the generated kernels compiled with g++, cuBLAS replaced by a reference
//! GEMM with cuBLAS's argument checks).
//!
//! Device memory is addressed by raw device pointers (`u64`); ownership and reuse are
//! the allocator's business (`crate::alloc`). Everything is issued on one stream, in
//! order, so a buffer handed back to the allocator can be reused by the next launch
//! without synchronizing.

#[cfg(feature = "cuda")]
pub(crate) mod cuda;
pub(crate) mod emu;

use std::sync::Arc;

use crate::codegen::{KernelSource, Ty};
use crate::error::Result;

/// A 1-D launch configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LaunchCfg {
    /// Blocks.
    pub(crate) grid: u32,
    /// Threads per block.
    pub(crate) block: u32,
}

/// One `cublas<t>gemmStridedBatched` call (column-major, `beta = 0`), exactly as cuBLAS
/// takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GemmCall {
    /// float32 (sgemm) or float64 (dgemm).
    pub(crate) ty: Ty,
    /// `op(A) = A^T`.
    pub(crate) transa: bool,
    /// `op(B) = B^T`.
    pub(crate) transb: bool,
    pub(crate) m: i32,
    pub(crate) n: i32,
    pub(crate) k: i32,
    pub(crate) alpha: f64,
    pub(crate) a: u64,
    pub(crate) lda: i32,
    pub(crate) stride_a: i64,
    pub(crate) b: u64,
    pub(crate) ldb: i32,
    pub(crate) stride_b: i64,
    pub(crate) c: u64,
    pub(crate) ldc: i32,
    pub(crate) stride_c: i64,
    pub(crate) batch: i32,
}

/// A compiled kernel, ready to launch.
pub(crate) trait DeviceKernel: Send + Sync {
    /// Launches with one parameter struct (`params`, 64-bit words).
    fn launch(&self, cfg: LaunchCfg, params: &[u64]) -> Result<()>;
}

/// What the backend needs from a device.
pub(crate) trait Device: Send + Sync {
    /// Device name for messages.
    fn name(&self) -> String;
    /// Whether this is the CPU emulator.
    fn is_emulated(&self) -> bool;
    /// Number of multiprocessors (sizes grid-stride launches).
    fn sm_count(&self) -> u32;
    /// Allocates `bytes` (> 0) of device memory.
    fn alloc(&self, bytes: usize) -> Result<u64>;
    /// Frees memory from [`Device::alloc`] (stream-ordered).
    fn free(&self, ptr: u64);
    /// Sets `bytes` bytes at `ptr` to zero (stream-ordered).
    fn memset_zero(&self, ptr: u64, bytes: usize) -> Result<()>;
    /// Copies host bytes to the device (stream-ordered; `data` may be dropped on return).
    fn upload(&self, ptr: u64, data: &[u8]) -> Result<()>;
    /// Copies device bytes to the host, waiting for all earlier work.
    fn download(&self, ptr: u64, out: &mut [u8]) -> Result<()>;
    /// Compiles a kernel.
    fn compile(&self, src: &KernelSource) -> Result<Arc<dyn DeviceKernel>>;
    /// Runs a GEMM.
    fn gemm(&self, call: &GemmCall) -> Result<()>;
    /// Waits for all issued work.
    fn synchronize(&self) -> Result<()>;
    /// Device milliseconds of the work `f` issues (CUDA events), when the device can time.
    fn time_ms(&self, f: &mut dyn FnMut()) -> Result<Option<f64>>;
}
