//! Dev-only test helpers for `circuit`.
//!
//! * [`random`]: a deterministic, seeded generator of valid circuits covering every node
//!   kind (Array, Scalar, Symbol, Einsum, Add, Rearrange, Index, Scatter, Concat,
//!   GeneralFunction with every spec family, Conv, Module, SetSymbolicShape, Tag,
//!   DiscreteVar, Cumulant, StoredCumulantVar), with nasty names, `AD` flags, named axes,
//!   symbolic sizes, DAG sharing and several roots; plus generation statistics.
//! * [`strategy`]: proptest strategies over the generator.
//! * [`mutate`]: random text mutations (byte flips, insertions, line edits, indentation
//!   changes, truncation) for parser robustness tests.
//! * [`fixtures`]: small `.circ` inputs (from rust_circuit's tests) shipped with the crate,
//!   and the tensors some of them reference.
//! * [`shrink`]: a greedy minimiser of failing circuits.
//! * [`TempDir`]: a unique temporary directory removed on drop (for tensor stores).
//!
//! Everything is deterministic in its seed: the PRNG is [`circuit_tensor::Rng`]
//! (xoshiro256**), wrapped by [`Gen`].

mod bind;
pub mod eval_fixtures;
pub mod fixtures;
pub mod mutate;
pub mod random;
mod rng;
pub mod shrink;
pub mod strategy;
mod tempdir;

pub use bind::bind_symbols_random;
pub use random::{random_circuit, random_circuits, GenConfig, GenStats, Generated, Generator};
pub use rng::Gen;
pub use tempdir::TempDir;
