//! The circuit IR: an immutable, hash-consed DAG of typed nodes.
//!
//! Start with [`Circuit`] (a shared node: payload [`Op`], children, optional name, and
//! cached shape, dtype, [`Flags`], named axes, free symbols and content hash). Nodes are
//! built only through validating constructors ([`Circuit::build`], [`Circuit::new`] and
//! the typed builders in [`build`]), so every circuit is shape-consistent. Equality and
//! hashing use the content hash, which covers kind, payload, name and children.
//!
//! This crate knows nothing of text, evaluation or devices.

mod autoname;
pub mod build;
mod constraints;
mod derive;
mod error;
pub mod expand;
mod flags;
mod hash_batch;
mod hashing;
pub mod kinds;
mod module_subst;
mod named_axes;
mod node;
mod ops;
pub mod size;
pub mod size_map;
pub mod traversal;

pub use constraints::{check_satisfiable, Constraint, Constraints};
pub use error::{IrError, NodeRef, Result};
pub use flags::Flags;
pub use hash_batch::hash_all;
pub use module_subst::unused_arguments;
pub use named_axes::{is_valid_axis_name, NamedAxes};
pub use node::{BuildNodeHasher, Circuit, Name, NodeHash, NodeHasher, NodeMap, NodeSet};
pub use ops::{Kind, Op};
pub use size::Shape;

pub use circuit_tensor::{DType, Tensor};
pub use uuid::Uuid;
