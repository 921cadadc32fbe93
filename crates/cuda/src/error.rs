//! [`CudaError`]: everything that can go wrong in the CUDA backend, and its conversion to
//! the evaluator's [`EvalError`] (naming the step's node).

use circuit_eval::EvalError;

/// Errors of the CUDA backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CudaError {
    /// No usable GPU: the driver library is missing, no device has the ordinal, or the
    /// crate was built without the `cuda` feature.
    #[error("no CUDA device: {reason}")]
    NoDevice {
        /// Why.
        reason: String,
    },
    /// A CUDA library the backend needs (NVRTC, cuBLAS) is not on the library path.
    #[error("CUDA library {library} not found ({hint})")]
    MissingLibrary {
        /// The library.
        library: &'static str,
        /// Where it is usually found.
        hint: String,
    },
    /// A CUDA driver call failed.
    #[error("CUDA driver error in {context}: {message}")]
    Driver {
        /// What was being done.
        context: String,
        /// The driver's message.
        message: String,
    },
    /// A generated kernel did not compile.
    #[error("kernel {kernel} failed to compile: {log}")]
    Compile {
        /// The kernel's name.
        kernel: String,
        /// The compiler's log.
        log: String,
    },
    /// A cuBLAS call failed.
    #[error("cuBLAS error in {context}: {message}")]
    Blas {
        /// What was being done.
        context: String,
        /// The status.
        message: String,
    },
    /// The device ran out of memory (after the allocator released its cache).
    #[error("device out of memory allocating {bytes} bytes")]
    OutOfMemory {
        /// Bytes asked for.
        bytes: usize,
    },
    /// A size beyond what a kernel or cuBLAS can address.
    #[error("{what} is too large for the CUDA backend ({value})")]
    TooLarge {
        /// Which quantity.
        what: String,
        /// Its value.
        value: u128,
    },
    /// The CPU emulator of the device failed (no C++ compiler, a kernel touched memory
    /// outside every allocation, ...).
    #[error("emulator: {0}")]
    Emulator(String),
    /// An inconsistency inside the backend (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl CudaError {
    pub(crate) fn internal(msg: impl Into<String>) -> CudaError {
        CudaError::Internal(msg.into())
    }

    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn driver(context: impl Into<String>, e: impl std::fmt::Debug) -> CudaError {
        CudaError::Driver { context: context.into(), message: format!("{e:?}") }
    }

    /// The evaluator's error for a failure while running the step of `node`.
    pub fn into_eval(self, node: &str) -> EvalError {
        match self {
            CudaError::Internal(msg) => EvalError::Internal { node: node.to_string(), msg },
            other => EvalError::Backend {
                node: node.to_string(),
                backend: "cuda",
                msg: other.to_string(),
            },
        }
    }
}

/// Result alias.
pub type Result<T, E = CudaError> = std::result::Result<T, E>;
