//! The error type of the einsum path optimizer.

use crate::Label;

/// Result alias for einsum operations.
pub type Result<T, E = EinsumError> = std::result::Result<T, E>;

/// Everything that can go wrong while building an einsum spec or optimizing its path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EinsumError {
    /// A label used by an input or the output has no entry in the size map.
    #[error("label {label} has no size")]
    MissingSize {
        /// The label without a size.
        label: Label,
    },
    /// An output label appears in no input.
    #[error("output label {label} appears in no input")]
    OutputLabelNotInInputs {
        /// The offending label.
        label: Label,
    },
    /// An equation string could not be parsed.
    #[error("malformed einsum equation '{equation}': {reason}")]
    Parse {
        /// The equation as given.
        equation: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An operand's shape does not have one entry per label of its term.
    #[error("operand {operand} has {labels} labels but a shape of rank {rank}")]
    RankMismatch {
        /// Position of the operand.
        operand: usize,
        /// Number of labels in its term.
        labels: usize,
        /// Rank of the given shape.
        rank: usize,
    },
    /// The same label was given two different sizes.
    #[error("label {label} has inconsistent sizes {first} and {second}")]
    InconsistentSize {
        /// The label.
        label: Label,
        /// The size seen first.
        first: u64,
        /// The conflicting size.
        second: u64,
    },
    /// An exhaustive strategy was asked for more operands than it supports.
    #[error("the {strategy} strategy supports at most {max} operands, got {got}")]
    TooManyOperands {
        /// The strategy's name.
        strategy: &'static str,
        /// Its operand limit.
        max: usize,
        /// Operands in the request.
        got: usize,
    },
    /// A label of the requested pairwise output is in neither operand.
    #[error("pairwise output label {label} is in neither operand")]
    PairwiseOutputLabel {
        /// The offending label.
        label: Label,
    },
    /// A contraction path is not valid for a spec.
    #[error("invalid contraction path: {0}")]
    InvalidPath(String),
}
