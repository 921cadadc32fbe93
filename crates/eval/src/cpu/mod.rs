//! [`CpuBackend`]: runs plans on the CPU with strided tensors (`buffer`), contractions on
//! our packed float32 GEMM (`sgemm`, `contract_f32`) or `matrixmultiply` (`gemm`), and
//! rayon-parallel elementwise and row kernels.

pub(crate) mod buffer;
mod contract_f32;
mod conv;
mod einsum;
mod elementwise;
mod exec;
mod gemm;
mod gf;
mod index;
pub(crate) mod iter;
mod logsumexp;
mod map;
mod math;
mod pool;
mod rearrange;
mod sgemm;
mod sgemm_kernel;

use std::sync::atomic::{AtomicUsize, Ordering};

use circuit_tensor::{Tensor, TensorData};

pub use buffer::CpuBuffer;
use buffer::Strided;

use crate::backend::Backend;
use crate::kernel::Step;
use crate::{EvalError, Result};

/// The CPU backend. Holds an optional dedicated thread pool (else rayon's global one)
/// and counts the kernels it runs.
#[derive(Debug, Default)]
pub struct CpuBackend {
    pool: Option<rayon::ThreadPool>,
    kernels_run: AtomicUsize,
}

impl CpuBackend {
    /// A backend on rayon's global pool.
    pub fn new() -> CpuBackend {
        CpuBackend::default()
    }

    /// A backend with its own pool of `threads` workers (`None`: the global pool).
    ///
    /// # Errors
    /// [`EvalError::Invalid`] when the pool cannot be created.
    pub fn with_threads(threads: Option<usize>) -> Result<CpuBackend> {
        let pool = match threads {
            None => None,
            Some(n) => {
                Some(rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build().map_err(
                    |e| EvalError::Invalid { node: "cpu backend".into(), msg: e.to_string() },
                )?)
            }
        };
        Ok(CpuBackend { pool, kernels_run: AtomicUsize::new(0) })
    }

    /// Number of kernels executed so far (every step counts one).
    pub fn kernels_run(&self) -> usize {
        self.kernels_run.load(Ordering::Relaxed)
    }

    /// Wraps a host tensor (no copy when it is contiguous in memory).
    ///
    /// # Errors
    /// [`EvalError::UnsupportedDType`] for dtypes other than float32, float64, int64.
    pub fn upload(tensor: &Tensor, node: &str) -> Result<CpuBuffer> {
        match tensor.data() {
            TensorData::F32(a) => Ok(CpuBuffer::F32(Strided::from_ndarray(a))),
            TensorData::F64(a) => Ok(CpuBuffer::F64(Strided::from_ndarray(a))),
            TensorData::I64(a) => Ok(CpuBuffer::I64(Strided::from_ndarray(a))),
            _ => Err(EvalError::UnsupportedDType {
                node: node.to_string(),
                dtype: tensor.dtype(),
                backend: "cpu".into(),
            }),
        }
    }
}

impl Backend for CpuBackend {
    type Buffer = CpuBuffer;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn execute(&self, step: &Step, inputs: Vec<CpuBuffer>) -> Result<CpuBuffer> {
        self.kernels_run.fetch_add(1, Ordering::Relaxed);
        let mut inputs = inputs;
        let out = exec::execute(step, &mut inputs)?;
        for b in inputs {
            self.release(b);
        }
        if out.shape() != step.shape.as_slice() || out.dtype() != step.dtype {
            return Err(EvalError::internal(
                &step.node,
                format!(
                    "kernel {} produced {} {:?}, expected {} {:?}",
                    step.kernel.name(),
                    out.dtype(),
                    out.shape(),
                    step.dtype,
                    step.shape
                ),
            ));
        }
        Ok(out)
    }

    fn download(&self, buffer: CpuBuffer) -> Result<Tensor> {
        Ok(match buffer {
            CpuBuffer::F32(s) => Tensor::from_array(s.into_ndarray()),
            CpuBuffer::F64(s) => Tensor::from_array(s.into_ndarray()),
            CpuBuffer::I64(s) => Tensor::from_array(s.into_ndarray()),
        })
    }

    fn release(&self, buffer: CpuBuffer) {
        match buffer {
            CpuBuffer::F32(s) => s.into_unique_vec().map(pool::recycle).unwrap_or(()),
            CpuBuffer::F64(s) => s.into_unique_vec().map(pool::recycle).unwrap_or(()),
            CpuBuffer::I64(s) => s.into_unique_vec().map(pool::recycle).unwrap_or(()),
        }
    }

    fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let out = match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        };
        pool::clear();
        out
    }
}
