//! The error type of the tensor layer.

use std::path::PathBuf;

/// Result alias for tensor operations.
pub type Result<T, E = TensorError> = std::result::Result<T, E>;

/// Everything that can go wrong while building, reading, writing or looking up tensors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TensorError {
    /// The number of elements does not match the shape.
    #[error("shape {shape:?} needs {expected} elements but {got} were given")]
    ElementCount {
        /// The requested shape.
        shape: Vec<usize>,
        /// Elements the shape needs.
        expected: usize,
        /// Elements supplied.
        got: usize,
    },
    /// An operation needed another element type.
    #[error("expected dtype {expected}, found {found}")]
    DTypeMismatch {
        /// What the operation needs.
        expected: String,
        /// What the tensor has.
        found: String,
    },
    /// A dtype name that is not known.
    #[error("unknown dtype '{0}'")]
    UnknownDType(String),
    /// A tensor would be larger than allowed.
    #[error("tensor of shape {shape:?} ({bytes} bytes) exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Requested shape.
        shape: Vec<usize>,
        /// Bytes it would take.
        bytes: u128,
        /// The configured limit.
        limit: u128,
    },
    /// Malformed file contents.
    #[error("{path}: {msg}")]
    Format {
        /// The file (or a description of the source).
        path: String,
        /// What is wrong.
        msg: String,
    },
    /// An I/O error with the path it happened on.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A malformed hash string.
    #[error("invalid tensor hash '{0}': expected hexadecimal digits")]
    InvalidHash(String),
}
