//! The error type of sampling and cumulant estimation.

use circuit_ir::{IrError, NodeRef};
use circuit_match::MatchError;
use circuit_tensor::TensorError;

/// Result alias for this crate.
pub type Result<T, E = SampleError> = std::result::Result<T, E>;

/// Everything that can go wrong while sampling random variables or estimating cumulants.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SampleError {
    /// Building a circuit failed (boxed: IR errors are large).
    #[error(transparent)]
    Ir(Box<IrError>),
    /// Matching or expanding failed.
    #[error(transparent)]
    Match(Box<MatchError>),
    /// Reading a constant or drawing indices failed.
    #[error(transparent)]
    Tensor(Box<TensorError>),
    /// The sampler was asked to sample something that is not a DiscreteVar (e.g. a
    /// StoredCumulantVar, which is given by its cumulants and has no samples).
    #[error("cannot sample {node}: a {kind} cannot be sampled (only DiscreteVars can)")]
    UnsupportedVar {
        /// The node.
        node: NodeRef,
        /// Its kind.
        kind: &'static str,
    },
    /// A sample group (a DiscreteVar's `probs_and_group`) that is not one-dimensional
    /// (rust_circuit's `SampleGroupWithIncorrectNdim`).
    #[error("sample group {group} must be 1-D, got shape {shape:?}")]
    GroupNotOneDim {
        /// The group circuit.
        group: NodeRef,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// A DiscreteVar whose group is not among the groups of a
    /// [`crate::RunDiscreteVarAllSpec`] (rust_circuit's `SampleUnhandledVarError`).
    #[error("{var} belongs to group {group}, which the sample spec does not enumerate")]
    UnhandledVar {
        /// The variable.
        var: NodeRef,
        /// Its group.
        group: NodeRef,
    },
    /// Probabilities were needed from a group circuit that is not a constant leaf
    /// (a Scalar or Array, possibly under Tags). This crate never evaluates circuits.
    #[error(
        "the probabilities of group {group} must be a constant leaf (a Scalar or Array, \
         possibly wrapped in Tags) to be read without evaluating"
    )]
    NonConstantGroup {
        /// The group circuit.
        group: NodeRef,
    },
    /// Invalid arguments (bad subsets, duplicate groups, zero total weight, ...).
    #[error("{0}")]
    Invalid(String),
    /// An operation outside what is implemented (named in the message).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Sampling left a random variable in a circuit that was to be made computable.
    #[error(
        "after sampling, {node} still depends on random variables the var matcher did not find"
    )]
    NotFullySampled {
        /// The circuit that was sampled.
        node: NodeRef,
    },
}

impl From<IrError> for SampleError {
    fn from(e: IrError) -> Self {
        SampleError::Ir(Box::new(e))
    }
}

impl From<MatchError> for SampleError {
    fn from(e: MatchError) -> Self {
        SampleError::Match(Box::new(e))
    }
}

impl From<TensorError> for SampleError {
    fn from(e: TensorError) -> Self {
        SampleError::Tensor(Box::new(e))
    }
}
