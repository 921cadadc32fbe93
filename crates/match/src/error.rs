//! The error type of matching, getting, updating and expanding.

use circuit_ir::{IrError, Kind};

/// Result alias for this crate.
pub type Result<T, E = MatchError> = std::result::Result<T, E>;

/// Everything that can go wrong while matching, getting, updating or expanding.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum MatchError {
    /// An iterative matcher returned a per-child update whose length is not the node's
    /// child count (rust_circuit's `IterativeMatcherNumUpdatedMatchersNEQToNumChildren`).
    #[error(
        "iterative matcher {matcher} returned {num_updated} per-child matchers for {node}, \
         which has {num_children} children"
    )]
    PerChildLength {
        /// The matcher that produced the update.
        matcher: String,
        /// The node it was applied to.
        node: String,
        /// How many per-child entries it returned.
        num_updated: usize,
        /// How many children the node has.
        num_children: usize,
    },
    /// A children matcher names a child index the matched node does not have
    /// (`IterativeMatcherChildNumbersOutOfBounds`).
    #[error("children matcher wants children {child_numbers:?} of {node}, which has {num_children} children")]
    ChildNumbersOutOfBounds {
        /// The requested child indices.
        child_numbers: Vec<usize>,
        /// The matched node.
        node: String,
        /// How many children it has.
        num_children: usize,
    },
    /// A module-only matcher (spec circuit / module arg) matched a node that is not a
    /// Module.
    #[error("{matcher} matched {node}, a {kind:?}, but only Modules can be matched here")]
    ExpectedModule {
        /// The structural matcher.
        matcher: String,
        /// The matched node.
        node: String,
        /// Its kind.
        kind: Kind,
    },
    /// A regex pattern did not compile.
    #[error("invalid regex {pattern:?}: {message}")]
    Regex {
        /// The pattern as given.
        pattern: String,
        /// The regex crate's message.
        message: String,
    },
    /// `chain_many` was given an empty chain.
    #[error("a chain needs at least one matcher")]
    EmptyChain,
    /// `get_unique` found nothing.
    #[error("get_unique: {matcher} found no matches")]
    NotFound {
        /// The matcher.
        matcher: String,
    },
    /// `get_unique` / `get_unique_op` found more than one node.
    #[error("get_unique: {matcher} found {count} matches, expected 1: {found}", found = .found.join(", "))]
    NotUnique {
        /// The matcher.
        matcher: String,
        /// How many nodes it found.
        count: usize,
        /// References to (up to 10 of) the found nodes.
        found: Vec<String>,
    },
    /// `assert_any_found` was set and nothing matched.
    #[error("no matches found during {operation}: matcher {matcher}, circuit {circuit}")]
    NoMatchesFound {
        /// `update` or `expand`.
        operation: &'static str,
        /// The matcher(s).
        matcher: String,
        /// The root circuit.
        circuit: String,
    },
    /// The Expander was told to ban several matchers matching one node.
    #[error("expander: {count} matchers matched {node}, but ban_multiple_matches_on_node is set")]
    MultipleMatchesOnNode {
        /// The node.
        node: String,
        /// How many (matcher, transform) pairs matched it.
        count: usize,
    },
    /// Fancy validation found leaves of the matcher expression that contributed nothing.
    #[error("fancy_validate failed: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Validation {
        /// Each unmet expectation.
        problems: Vec<ValidationProblem>,
    },
    /// Rebuilding a node failed (e.g. a transform changed a child's shape).
    #[error(transparent)]
    Ir(#[from] IrError),
    /// Printing failed (matcher debug output).
    #[error("printing failed: {0}")]
    Print(String),
    /// An error reported by a user closure ([`crate::IterativeMatcher::new_func`]).
    #[error("{0}")]
    Custom(String),
}

/// One unmet expectation found by fancy validation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationProblem {
    /// A name in a name matcher matched nothing.
    MissingName {
        /// The name.
        name: String,
        /// Nodes with this name exist in the circuit; the matcher did not reach them.
        exists: bool,
        /// The closest names present in the circuit (by edit distance).
        suggestions: Vec<String>,
    },
    /// A kind in a kind matcher matched nothing.
    MissingKind {
        /// The kind.
        kind: Kind,
    },
    /// A circuit in a circuit-equality matcher matched nothing.
    MissingCircuit {
        /// A reference to the circuit.
        circuit: String,
    },
    /// A regex / always / closure matcher matched none of the found nodes.
    MatchedNothing {
        /// The matcher.
        matcher: String,
    },
}

impl std::fmt::Display for ValidationProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValidationProblem::MissingName { name, exists, suggestions } => {
                write!(f, "no node named '{name}' was matched")?;
                if *exists {
                    write!(f, " (nodes with that name exist, but the matcher did not reach them)")?;
                }
                if !suggestions.is_empty() {
                    let s: Vec<String> = suggestions.iter().map(|s| format!("'{s}'")).collect();
                    write!(f, " (did you mean {}?)", s.join(" or "))?;
                }
                Ok(())
            }
            ValidationProblem::MissingKind { kind } => {
                write!(f, "no node of kind {} was matched", kind.name())
            }
            ValidationProblem::MissingCircuit { circuit } => {
                write!(f, "circuit {circuit} was not matched")
            }
            ValidationProblem::MatchedNothing { matcher } => {
                write!(f, "matcher {matcher} matched none of the found nodes")
            }
        }
    }
}
