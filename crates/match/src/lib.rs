//! Matching, getting and updating circuits: rust_circuit's `Matcher` /
//! `IterativeMatcher` language and the operations built on it.
//!
//! * [`Matcher`] is a predicate on one node: by name ([`Matcher::names`], or any
//!   `&str`), [`Kind`](circuit_ir::Kind), regex ([`Matcher::regex`],
//!   [`Matcher::regex_escape_dot`]), circuit equality, closure ([`Matcher::func`]),
//!   always/never, `|` `&` `!`, and "an iterative matcher finds something below"
//!   ([`Matcher::match_any_found`]).
//! * [`IterativeMatcher`] is re-derived as it walks down the circuit
//!   ([`IterativeMatcher::match_iterate`] returns [`IterateMatchResults`]): depth windows
//!   and termination ([`restrict`], [`new_traversal`]), chains
//!   ([`IterativeMatcher::chain`]), unions (`|`) and intersections (`&`), structural
//!   matchers ([`IterativeMatcher::children_matcher`],
//!   [`IterativeMatcher::module_arg_matcher`], [`IterativeMatcher::spec_circuit_matcher`],
//!   [`IterativeMatcher::filter_module_spec`]) and user functions
//!   ([`IterativeMatcher::new_func`]).
//! * Operations: [`get`], [`get_unique`], [`get_paths`], [`get_all_paths`],
//!   [`are_any_found`], [`update`] / [`Updater`], [`Expander`], fancy validation
//!   ([`get_with`], [`validate`]), [`apply_in_traversal`] and
//!   [`print_matcher_debug`].
//!
//! Anything convertible into a matcher can be passed where an
//! `impl Into<IterativeMatcher>` is expected: `"name"`, `["a", "b"]`, `Kind::Einsum`,
//! a `Circuit`, `true`, a [`Matcher`].
//!
//! ```
//! use circuit_ir::Kind;
//! use circuit_match::{get, get_unique, update, IterativeMatcher, MatchError};
//! use circuit_text::{parse_circuit, ParseOptions};
//!
//! let c = parse_circuit(
//!     "'fin' Add
//!   'ein' Einsum ij,jk->ik
//!     'a' [1,2] Scalar 1
//!     'b' [2,3] Scalar 2
//!   'soft' GeneralFunction softmax
//!     'ein'",
//!     &ParseOptions::default(),
//! )?;
//! assert_eq!(get(&c, Kind::Scalar)?.len(), 2);
//! // `b`, but only below `soft`: the direct `ein` child of `fin` is left alone.
//! let below_soft = IterativeMatcher::from("soft").chain("b");
//! assert_eq!(get_unique(&c, below_soft.clone())?.name(), Some("b"));
//! let renamed = update(&c, below_soft, |n| Ok::<_, MatchError>(n.rename(Some("b2"))?))?;
//! assert_eq!(get(&renamed, ["b", "b2"])?.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every traversal is memoized on `(node hash, matcher state)` and runs on an explicit
//! stack: shared sub-circuits are matched once per matcher state (linear work on DAGs
//! with heavy sharing) and circuits of any depth are fine.
//!
//! # Differences from rust_circuit
//!
//! * [`Matcher::regex`] is a plain regex search. rust_circuit's default
//!   (`Regex(pattern, escape_dot=True)`) swaps `.` and `\.` — `.` is a literal dot and
//!   `\.` the wildcard — which is available as [`Matcher::regex_escape_dot`]. There,
//!   `\\.` is an escaped backslash followed by a literal dot (the reference's textual
//!   substitution turns it into a backslash followed by a wildcard).
//! * [`Matcher::call`] returns a `Result` (a [`Matcher::match_any_found`] finder may
//!   error); closures given to [`Matcher::func`] are infallible.
//! * [`get_paths`] returns, for each found node, the first path in depth-first pre-order
//!   (the reference keeps whichever its map insertion kept last).
//! * Fancy validation also checks the operands of an iterative `&` (the reference does
//!   not), reports every problem at once, and suggests the closest existing names for
//!   missing ones.
//! * The reference's `cache_transform` / `cache_update` flags are ignored by its own
//!   caching (always on); here caching is simply always on. The [`Expander`] also
//!   caches each transform result per `(node, pair)`.
//! * [`replace_outside_traversal_symbols`] makes one Symbol per distinct replaced node
//!   (the reference may make several for one node reached by different matcher states).
//! * Where a structural matcher leaves a child with nothing to do, the child is
//!   `Finished` (the reference uses the equivalent `term(false)`).
//! * [`print_matcher_debug`] prints each node once with every matcher state that reached
//!   it (the reference prints one line per `(node, state)` pair).

mod chain;
mod debug;
mod error;
mod expander;
mod get;
mod graph;
mod hash;
mod iterative;
mod matcher;
mod restrict;
mod structural;
mod traversal;
mod update;
mod validate;

pub use chain::new_chain_many;
pub use debug::{print_matcher_debug, print_matcher_debug_with};
pub use error::{MatchError, Result, ValidationProblem};
pub use expander::Expander;
pub use get::{
    are_any_found, get, get_all_circuits_in_paths, get_all_paths, get_paths, get_unique,
    get_unique_op, get_with, validate,
};
pub use iterative::{IterateFn, IterateMatchResults, IterativeMatcher, Updated};
pub use matcher::{Matcher, NodePredicate};
pub use restrict::{
    default_index_traversal, new_traversal, restrict, restrict_range, traverse_until_depth,
    RestrictOptions,
};
pub use traversal::{apply_in_traversal, replace_outside_traversal_symbols, traversal_edges};
pub use update::{update, update_with, BoxedTransform, UpdateOptions, Updater};
pub use validate::validate_matched;
