//! [`ModelError`]: everything that can go wrong while configuring, loading, building or
//! running a model.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// Errors of the model layer. Weight errors name the tensor (in the checkpoint's own
/// naming and in ours) so a bad checkpoint can be fixed without reading code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The configuration is inconsistent (e.g. `d_model` not equal to heads × d_head
    /// where the layout requires it, zero layers, a bad head split).
    #[error("invalid model configuration: {0}")]
    Config(String),
    /// A tensor the model needs is absent from the checkpoint.
    #[error(
        "checkpoint {source_name}: missing tensor '{checkpoint_name}' (needed for {ours}){hint}"
    )]
    MissingTensor {
        /// The file or folder read.
        source_name: String,
        /// The name looked up in the checkpoint.
        checkpoint_name: String,
        /// Our canonical name of the weight it provides.
        ours: String,
        /// Extra help (e.g. similar names present).
        hint: String,
    },
    /// A tensor has the wrong shape.
    #[error("checkpoint {source_name}: tensor '{checkpoint_name}' (for {ours}) has shape {got:?}, expected {expected:?}")]
    TensorShape {
        /// The file or folder read.
        source_name: String,
        /// The name in the checkpoint.
        checkpoint_name: String,
        /// Our canonical name.
        ours: String,
        /// Expected shape.
        expected: Vec<usize>,
        /// Actual shape.
        got: Vec<usize>,
    },
    /// A tensor has an element type we cannot use for it.
    #[error("tensor '{name}': {msg}")]
    TensorDType {
        /// The tensor.
        name: String,
        /// What is wrong.
        msg: String,
    },
    /// The naming scheme of a checkpoint could not be recognised.
    #[error("checkpoint {source_name}: cannot tell its naming scheme ({msg})")]
    UnknownScheme {
        /// The file or folder read.
        source_name: String,
        /// What was looked for.
        msg: String,
    },
    /// A file could not be read or parsed.
    #[error("{path}: {msg}")]
    File {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// Bad token input (wrong dtype, rank or length).
    #[error("token input: {0}")]
    Tokens(String),
    /// A node that was asked for does not exist in this model.
    #[error("no node '{0}' in this model")]
    NoSuchNode(String),
    /// Building the circuit failed (a bug in the builder or inconsistent weights).
    #[error("building the circuit: {0}")]
    Ir(#[from] circuit_ir::IrError),
    /// Tensor reading or manipulation failed.
    #[error(transparent)]
    Tensor(#[from] circuit_tensor::TensorError),
    /// Evaluation failed.
    #[error("evaluating: {0}")]
    Eval(#[from] circuit_eval::EvalError),
}

impl ModelError {
    pub(crate) fn file(path: impl Into<PathBuf>, msg: impl std::fmt::Display) -> ModelError {
        ModelError::File { path: path.into(), msg: msg.to_string() }
    }
}
