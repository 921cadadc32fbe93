//! The error type of causal scrubbing: [`ScrubError`].

use circuit_eval::EvalError;
use circuit_ir::IrError;
use circuit_match::MatchError;
use circuit_sample::SampleError;
use circuit_tensor::TensorError;

/// Result alias for this crate.
pub type Result<T, E = ScrubError> = std::result::Result<T, E>;

/// Everything that can go wrong while building datasets, sampling hypotheses, scrubbing
/// circuits and evaluating them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScrubError {
    /// The hypothesis (a [`crate::Correspondence`]) is not valid for the circuit:
    /// incomplete, not rooted at the model, not well defined, or not injective after
    /// treeification (rust_circuit's `IllegalCorrespondenceError`). The message names the
    /// interp node(s) and matcher(s) involved.
    #[error("illegal correspondence: {0}")]
    IllegalCorrespondence(String),
    /// A dataset is malformed or used inconsistently (arrays of different lengths,
    /// unknown names, an index out of range, an empty dataset to sample from, ...).
    #[error("dataset error: {0}")]
    Dataset(String),
    /// A conditional sampler could not produce a dataset (e.g. a [`crate::FuncSampler`]
    /// class with no candidate in the source dataset).
    #[error("sampler {sampler}: {msg}")]
    Sampler {
        /// The sampler's description.
        sampler: String,
        /// What went wrong.
        msg: String,
    },
    /// Invalid arguments (conflicting settings, bad shapes, a zero batch size, ...).
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A user callback (feature function, metric, loss) failed.
    #[error("{0}")]
    User(String),
    /// Building a circuit failed.
    #[error(transparent)]
    Ir(Box<IrError>),
    /// Matching or updating failed.
    #[error(transparent)]
    Match(Box<MatchError>),
    /// Sampling the random variables failed.
    #[error(transparent)]
    Sample(Box<SampleError>),
    /// Evaluating failed.
    #[error(transparent)]
    Eval(Box<EvalError>),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(Box<TensorError>),
}

impl ScrubError {
    /// An [`ScrubError::IllegalCorrespondence`] with this message.
    pub(crate) fn illegal(msg: impl Into<String>) -> ScrubError {
        ScrubError::IllegalCorrespondence(msg.into())
    }

    /// A [`ScrubError::Dataset`] with this message.
    pub(crate) fn dataset(msg: impl Into<String>) -> ScrubError {
        ScrubError::Dataset(msg.into())
    }
}

impl From<IrError> for ScrubError {
    fn from(e: IrError) -> Self {
        ScrubError::Ir(Box::new(e))
    }
}

impl From<MatchError> for ScrubError {
    fn from(e: MatchError) -> Self {
        ScrubError::Match(Box::new(e))
    }
}

impl From<SampleError> for ScrubError {
    fn from(e: SampleError) -> Self {
        ScrubError::Sample(Box::new(e))
    }
}

impl From<EvalError> for ScrubError {
    fn from(e: EvalError) -> Self {
        ScrubError::Eval(Box::new(e))
    }
}

impl From<TensorError> for ScrubError {
    fn from(e: TensorError) -> Self {
        ScrubError::Tensor(Box::new(e))
    }
}
