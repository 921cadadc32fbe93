//! # Matching and rewriting
//!
//! Hypotheses name *paths* through a model. A [`Matcher`](crate::matching::Matcher)
//! selects nodes; an [`IterativeMatcher`](crate::matching::IterativeMatcher) changes as
//! it walks down, so it can say "`b`, but only below `soft`":
//!
//! ```
//! use circuit::ir::Kind;
//! use circuit::matching::{get, get_unique, update, IterativeMatcher, MatchError};
//! use circuit::text::{parse_circuit, ParseOptions};
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
//! let path = IterativeMatcher::from("soft").chain("b");
//! assert_eq!(get_unique(&c, path.clone())?.name(), Some("b"));
//! // `update` rebuilds only along the path: the shared `ein` splits into two copies.
//! let changed = update(&c, path, |n| Ok::<_, MatchError>(n.rename(Some("b on the softmax path"))?))?;
//! assert_eq!(get(&changed, ["b", "b on the softmax path"])?.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Rewrites are functions from circuits to circuits (see `crates/rewrite` and
//! `docs/RULES.md`); each preserves the evaluated value, and `circ opt -p rule,...`
//! applies them to a file. Debugging a rewrite is easiest with a diff:
//!
//! ```
//! use circuit::text::{diff_circuits, parse_circuit, DiffOptions, ParseOptions};
//! let old = parse_circuit("'s' Add\n  'x' [2] Scalar 1\n  'y' [2] Scalar 2", &ParseOptions::default())?;
//! let new = parse_circuit("'s' Add\n  'x' [2] Scalar 1\n  'y' [2] Scalar 3", &ParseOptions::default())?;
//! let d = diff_circuits(&[new], &[old], &DiffOptions::default());
//! assert!(d.differs && d.text.contains("# changed"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
