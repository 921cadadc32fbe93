//! The error type of the IR layer: everything a validating constructor can reject.

/// Result alias for IR operations.
pub type Result<T, E = IrError> = std::result::Result<T, E>;

/// A short, human-readable reference to a node in an error message: its name when it
/// has one, else its kind and a hash prefix.
pub type NodeRef = String;

/// Everything that can go wrong when constructing or transforming circuits.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum IrError {
    /// Wrong number of children for a kind.
    #[error("{kind} {node}: expected {expected} children, got {got}")]
    WrongNumChildren {
        /// The kind being built.
        kind: &'static str,
        /// The node being built.
        node: NodeRef,
        /// What the kind needs (e.g. "1", "at least 1").
        expected: String,
        /// What was given.
        got: usize,
    },
    /// Einsum operand rank differs from its axis-label count.
    #[error("einsum {node}: operand {operand} has shape {shape:?} but {n_axes} axis labels")]
    EinsumRankMismatch {
        /// The einsum.
        node: NodeRef,
        /// Operand position.
        operand: usize,
        /// The operand's shape.
        shape: Vec<usize>,
        /// Number of labels given for it.
        n_axes: usize,
    },
    /// The same einsum label has different sizes.
    #[error("einsum {node}: axis '{label}' has size {first} in operand {first_operand} but {second} in operand {operand}")]
    EinsumAxisSizeDifferent {
        /// The einsum.
        node: NodeRef,
        /// The label (printed as its letter).
        label: String,
        /// Size seen first.
        first: String,
        /// Operand where it was seen first.
        first_operand: usize,
        /// Conflicting size.
        second: String,
        /// Operand where the conflict was found.
        operand: usize,
    },
    /// An output label of an einsum occurs in no input.
    #[error("einsum {node}: output axis '{label}' does not occur in any input")]
    EinsumOutputNotSubset {
        /// The einsum.
        node: NodeRef,
        /// The label.
        label: String,
    },
    /// Shapes that cannot be broadcast together.
    #[error("{kind} {node}: shapes {a:?} and {b:?} cannot be broadcast together")]
    BroadcastMismatch {
        /// Kind name.
        kind: &'static str,
        /// The node.
        node: NodeRef,
        /// First shape.
        a: Vec<usize>,
        /// Second shape.
        b: Vec<usize>,
    },
    /// A generic shape mismatch with both shapes.
    #[error("{kind} {node}: {what}: expected shape {expected:?}, got {got:?}")]
    ShapeMismatch {
        /// Kind name.
        kind: &'static str,
        /// The node.
        node: NodeRef,
        /// What was compared.
        what: String,
        /// Expected shape.
        expected: Vec<usize>,
        /// Actual shape.
        got: Vec<usize>,
    },
    /// An axis argument outside the rank.
    #[error("{kind} {node}: axis {axis} is out of range for rank {rank}")]
    AxisOutOfRange {
        /// Kind name.
        kind: &'static str,
        /// The node.
        node: NodeRef,
        /// Offending axis.
        axis: i64,
        /// The rank.
        rank: usize,
    },
    /// Invalid rearrange spec or one that does not fit the input.
    #[error("rearrange {node}: {msg}")]
    Rearrange {
        /// The node.
        node: NodeRef,
        /// What is wrong.
        msg: String,
    },
    /// Invalid index.
    #[error("index {node}: {msg}")]
    Index {
        /// The node.
        node: NodeRef,
        /// What is wrong.
        msg: String,
    },
    /// Invalid general function use.
    #[error("general function {node}: {msg}")]
    GeneralFunction {
        /// The node.
        node: NodeRef,
        /// What is wrong.
        msg: String,
    },
    /// An unknown general function spec string.
    #[error("unknown general function '{0}'")]
    UnknownGeneralFunction(String),
    /// Invalid module construction or substitution.
    #[error("module {node}: {msg}")]
    Module {
        /// The module.
        node: NodeRef,
        /// What is wrong.
        msg: String,
    },
    /// Other kind-specific validation failures.
    #[error("{kind} {node}: {msg}")]
    Invalid {
        /// Kind name.
        kind: &'static str,
        /// The node.
        node: NodeRef,
        /// What is wrong.
        msg: String,
    },
    /// Children with incompatible dtypes.
    #[error("{kind} {node}: children have different dtypes {a} and {b}")]
    DTypeMismatch {
        /// Kind name.
        kind: &'static str,
        /// The node.
        node: NodeRef,
        /// First dtype.
        a: String,
        /// Second dtype.
        b: String,
    },
    /// An Array with a size reserved for symbolic sizes.
    #[error("array {node}: size {size} has a prime factor reserved for symbolic sizes (primes above 10,000)")]
    ArrayHasReservedSymbolicSize {
        /// The node.
        node: NodeRef,
        /// The offending size.
        size: usize,
    },
    /// Symbolic size arithmetic overflowed 64 bits.
    #[error("symbolic size overflow: {0}")]
    SymbolicSizeOverflow(String),
    /// Symbolic size constraints cannot all hold.
    #[error("symbolic size constraints cannot be satisfied: {0}")]
    UnsatisfiableConstraints(String),
    /// Invalid named axes.
    #[error("named axes on {node}: {msg}")]
    NamedAxes {
        /// The node.
        node: NodeRef,
        /// What is wrong.
        msg: String,
    },
    /// A tensor-level error (loading, dtype, ...).
    #[error("{context}: {source}")]
    Tensor {
        /// What was being done.
        context: String,
        /// The tensor error.
        #[source]
        source: std::sync::Arc<circuit_tensor::TensorError>,
    },
    /// Cumulant, variable and sampling related validation.
    #[error("{kind} {node}: {msg}")]
    Variable {
        /// Kind name.
        kind: &'static str,
        /// The node.
        node: NodeRef,
        /// What is wrong.
        msg: String,
    },
}

impl IrError {
    /// Wraps a tensor error with context.
    pub fn tensor(context: impl Into<String>, source: circuit_tensor::TensorError) -> IrError {
        IrError::Tensor { context: context.into(), source: std::sync::Arc::new(source) }
    }
}
