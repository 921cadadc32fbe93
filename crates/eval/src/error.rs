//! The evaluator's error type. Every variant names the node it is about (as
//! [`circuit_ir::Circuit::node_ref`] prints it: `'name'` or `<Kind #hash>`).

use circuit_tensor::DType;

/// Result alias for evaluation.
pub type Result<T, E = EvalError> = std::result::Result<T, E>;

/// Everything that can go wrong while compiling or running a circuit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The circuit depends on something that has no value: a Symbol, a random variable
    /// (DiscreteVar, StoredCumulantVar) or an unresolved symbolic shape.
    #[error("{node} cannot be evaluated: it depends on {culprit} ({reason})")]
    NotEvaluable {
        /// The node that was asked for.
        node: String,
        /// The node below it that has no value.
        culprit: String,
        /// Why the culprit has no value.
        reason: String,
    },
    /// A dtype the evaluator cannot compute in, or inputs of the wrong dtype.
    #[error("{node}: {msg}")]
    DType {
        /// The node.
        node: String,
        /// What is wrong.
        msg: String,
    },
    /// An element type a backend does not support.
    #[error("{node}: dtype {dtype} is not supported by the {backend} backend")]
    UnsupportedDType {
        /// The node.
        node: String,
        /// The dtype.
        dtype: DType,
        /// The backend's name.
        backend: String,
    },
    /// An index value (from an index tensor or a computed index) is out of range.
    #[error("{node}: index {value} is out of range for a dimension of size {size}")]
    IndexOutOfRange {
        /// The node.
        node: String,
        /// The offending value.
        value: i64,
        /// The size of the indexed dimension.
        size: usize,
    },
    /// The plan needs more memory than the budget allows, and batching cannot help.
    #[error("{node} needs {bytes} bytes, over the budget of {budget} bytes{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    OutOfMemory {
        /// The node whose tensor (or the schedule around it) is too large.
        node: String,
        /// Bytes needed.
        bytes: u64,
        /// The budget.
        budget: u64,
        /// What was tried.
        hint: Option<String>,
    },
    /// An Array's tensor could not be loaded.
    #[error("{node}: loading its tensor failed: {source}")]
    TensorLoad {
        /// The Array node.
        node: String,
        /// The loader's error.
        #[source]
        source: Box<circuit_tensor::TensorError>,
    },
    /// Rebuilding the circuit (module substitution, simplification, batching) failed.
    #[error("{context}: {source}")]
    Ir {
        /// What was being done.
        context: String,
        /// The IR error.
        #[source]
        source: Box<circuit_ir::IrError>,
    },
    /// Invalid arguments to a function (multinomial without enough categories, ...).
    #[error("{node}: {msg}")]
    Invalid {
        /// The node.
        node: String,
        /// What is wrong.
        msg: String,
    },
    /// A device failure while running a step (driver, library or launch error).
    #[error("{node}: {backend} backend: {msg}")]
    Backend {
        /// The node.
        node: String,
        /// The backend (`cuda`, ...).
        backend: &'static str,
        /// What the device reported.
        msg: String,
    },
    /// An internal inconsistency (a bug in the evaluator); never expected.
    #[error("internal error at {node}: {msg}")]
    Internal {
        /// The node.
        node: String,
        /// What is wrong.
        msg: String,
    },
}

impl EvalError {
    /// Wraps an IR error with context.
    pub(crate) fn ir(context: impl Into<String>) -> impl FnOnce(circuit_ir::IrError) -> EvalError {
        let context = context.into();
        move |source| EvalError::Ir { context, source: Box::new(source) }
    }

    /// An internal error.
    pub(crate) fn internal(node: &str, msg: impl Into<String>) -> EvalError {
        EvalError::Internal { node: node.to_string(), msg: msg.into() }
    }
}
