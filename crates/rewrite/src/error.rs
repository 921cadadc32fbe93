//! The error type of the rewrite layer: every failure names the rule (or operation) and
//! the node it was working on, and wraps the lower layer's typed error.

use circuit_ir::{IrError, Kind, NodeRef};
use circuit_match::MatchError;

/// Result alias for rewrites.
pub type Result<T, E = RewriteError> = std::result::Result<T, E>;

/// Everything a rewrite can reject.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// Building a node failed ("rule X on node Y").
    #[error("rule {rule} on node {node}: {source}")]
    Construct {
        /// The rule or operation.
        rule: &'static str,
        /// The node it was applied to.
        node: NodeRef,
        /// The IR error.
        #[source]
        source: Box<IrError>,
    },
    /// A matcher failed ("rule X on node Y").
    #[error("rule {rule} on node {node}: {source}")]
    Match {
        /// The rule or operation.
        rule: &'static str,
        /// The node it was applied to.
        node: NodeRef,
        /// The matcher error.
        #[source]
        source: Box<MatchError>,
    },
    /// The operation needs a node of another kind.
    #[error("{rule} on node {node}: expected a {expected:?}, got a {got:?}")]
    ExpectedKind {
        /// The operation.
        rule: &'static str,
        /// The node.
        node: NodeRef,
        /// The kind it needs.
        expected: Kind,
        /// The kind it got.
        got: Kind,
    },
    /// The operation would change nothing where it promised a change (rust_circuit's
    /// `DistributeNoop` and friends).
    #[error("{rule} on node {node}: nothing to do")]
    Noop {
        /// The operation.
        rule: &'static str,
        /// The node.
        node: NodeRef,
    },
    /// The operation does not support this input.
    #[error("{rule} on node {node}: {msg}")]
    Unsupported {
        /// The operation.
        rule: &'static str,
        /// The node.
        node: NodeRef,
        /// Why.
        msg: String,
    },
    /// A fixed-point driver did not converge.
    #[error("{driver} on node {node}: no fixed point after {iterations} rewrites (last rule {last_rule})")]
    NoFixedPoint {
        /// The driver (`simp`).
        driver: &'static str,
        /// The node being simplified.
        node: NodeRef,
        /// How many rewrites were applied.
        iterations: usize,
        /// The last rule that applied.
        last_rule: &'static str,
    },
    /// A rule or pass name that is not registered.
    #[error("unknown rule or pass '{name}'{}", suggestion_text(.suggestions))]
    UnknownRule {
        /// The name as given.
        name: String,
        /// Close registered names.
        suggestions: Vec<String>,
    },
    /// An argument (nest spec, binder, axis, ...) is invalid.
    #[error("{rule}: invalid argument: {msg}")]
    InvalidArgument {
        /// The operation.
        rule: &'static str,
        /// What is wrong.
        msg: String,
    },
}

fn suggestion_text(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", s.join(", "))
    }
}

impl RewriteError {
    /// A closure wrapping an [`IrError`] with rule and node context (for `map_err`).
    pub fn construct(
        rule: &'static str,
        node: &circuit_ir::Circuit,
    ) -> impl FnOnce(IrError) -> RewriteError {
        let node = node.node_ref();
        move |source| RewriteError::Construct { rule, node, source: Box::new(source) }
    }

    /// A closure wrapping a [`MatchError`] with rule and node context (for `map_err`).
    pub fn matching(
        rule: &'static str,
        node: &circuit_ir::Circuit,
    ) -> impl FnOnce(MatchError) -> RewriteError {
        let node = node.node_ref();
        move |source| RewriteError::Match { rule, node, source: Box::new(source) }
    }

    /// An [`RewriteError::Unsupported`] error.
    pub fn unsupported(
        rule: &'static str,
        node: &circuit_ir::Circuit,
        msg: impl Into<String>,
    ) -> RewriteError {
        RewriteError::Unsupported { rule, node: node.node_ref(), msg: msg.into() }
    }

    /// An [`RewriteError::ExpectedKind`] error, or `Ok` when the kind matches.
    ///
    /// # Errors
    /// When `node` is not of kind `expected`.
    pub fn expect_kind(
        rule: &'static str,
        node: &circuit_ir::Circuit,
        expected: Kind,
    ) -> Result<()> {
        if node.kind() == expected {
            Ok(())
        } else {
            Err(RewriteError::ExpectedKind {
                rule,
                node: node.node_ref(),
                expected,
                got: node.kind(),
            })
        }
    }
}

/// Errors from code that has no better context ("rule `rewrite`").
impl From<IrError> for RewriteError {
    fn from(source: IrError) -> RewriteError {
        RewriteError::Construct { rule: "rewrite", node: String::new(), source: Box::new(source) }
    }
}

impl From<MatchError> for RewriteError {
    fn from(source: MatchError) -> RewriteError {
        RewriteError::Match { rule: "match", node: String::new(), source: Box::new(source) }
    }
}
