//! The error type of the tensor layer.

use std::path::PathBuf;

use crate::{DType, TensorHash};

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
    /// No file in the store matches a hash prefix.
    #[error("no tensor matching '{prefix}' in {}", dir.display())]
    NotFound {
        /// The prefix that was looked up.
        prefix: String,
        /// The store directory that was searched.
        dir: PathBuf,
    },
    /// A hash prefix matches more than one stored tensor.
    #[error("prefix '{prefix}' is ambiguous: it matches {count} tensors ({})", candidates.join(", "))]
    AmbiguousPrefix {
        /// The prefix that was looked up.
        prefix: String,
        /// The first few matching hashes (sorted), as hex.
        candidates: Vec<String>,
        /// How many hashes match in total.
        count: usize,
    },
    /// A stored file's contents do not hash to its name.
    #[error("{}: corrupt tensor file: contents hash to {actual}, expected {expected}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The hash the file name promises.
        expected: TensorHash,
        /// The hash of what the file holds.
        actual: TensorHash,
    },
    /// A named tensor is not in a (safetensors) file.
    #[error("{path}: no tensor named '{name}'")]
    NoSuchTensor {
        /// The file (or a description of the source).
        path: String,
        /// The requested name.
        name: String,
    },
    /// A tensor name that cannot be written (duplicate or reserved).
    #[error("invalid tensor name '{name}': {reason}")]
    InvalidTensorName {
        /// The offending name.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// An operation that does not support this element type.
    #[error("{op} does not support dtype {dtype}")]
    UnsupportedDType {
        /// The operation (e.g. `randn`).
        op: &'static str,
        /// The element type it was asked for.
        dtype: DType,
    },
}

impl TensorError {
    /// A [`TensorError::Format`] for `path` (any displayable source description).
    pub(crate) fn format(path: impl std::fmt::Display, msg: impl Into<String>) -> TensorError {
        TensorError::Format { path: path.to_string(), msg: msg.into() }
    }

    /// A closure mapping an I/O error to [`TensorError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TensorError {
        let path = path.into();
        move |source| TensorError::Io { path, source }
    }
}
