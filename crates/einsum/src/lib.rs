//! Einsum contraction-path optimizer and cost model for `circuit`.
//!
//! This crate knows only labels and sizes (no tensors, no circuits). Given an [`EinsumSpec`]
//! (each input's labels, the output's labels, every label's size) it finds a
//! [`ContractionPath`]: a sequence of pairwise contractions (plus one-operand reductions of an
//! input over labels nothing else uses) in opt_einsum's "recycled position" convention, with
//! the cost of each step.
//!
//! ```
//! use circuit_einsum::{optimize, EinsumSpec, PathOptions};
//! // (10x1000)(1000x10)(10x1000): contracting the first pair first is 100x cheaper
//! let spec = EinsumSpec::parse("ab,bc,cd->ad", &[&[10, 1000], &[1000, 10], &[10, 1000]])?;
//! let path = optimize(&spec, &PathOptions::default())?;
//! assert_eq!(path.positions(), vec![vec![0, 1], vec![0, 1]]);
//! assert_eq!(path.total_flops, 2 * 10 * 1000 * 10 + 2 * 10 * 10 * 1000);
//! # Ok::<(), circuit_einsum::EinsumError>(())
//! ```
//!
//! # API
//! - [`Label`] (`u32`), [`EinsumSpec`] (`new`, `parse`, `validate`), [`naive_flops`].
//! - [`optimize`]`(&spec, &`[`PathOptions`]`) -> Result<`[`ContractionPath`]`>` with
//!   [`Strategy`] `Auto | Optimal | DynamicProgramming | Greedy` and an optional memory limit.
//! - [`ContractionStep`] (`operands`, `result`, `flops`, `result_size`),
//!   [`ContractionPath`] (`steps`, `total_flops`, `largest_intermediate`,
//!   `exceeds_memory_limit`, `positions()`, `validate(&spec)`).
//! - [`pairwise_plan`]`(a, b, out) -> Result<`[`PairwiseGemm`]`>`: batch / M / N / K labels
//!   and per-operand pre-sums, so an evaluator can run each step as a batched GEMM.
//! - [`flop_count`]: the cost model.
//!
//! # Cost model
//! opt_einsum 3.4's `flop_count`, as `contract_path` reports it: a step over operands whose
//! labels together are `U` costs `prod(size[U]) * (max(1, n_terms - 1) + inner)`, `inner`
//! being 1 when the step sums away any label. A pairwise step thus costs `size(U)` or
//! `2 * size(U)`; a one-operand step `size` or `2 * size`. A label repeated within an operand
//! counts once. Counts are `u128` and saturate.
//!
//! # Strategies
//! - [`Strategy::Optimal`]: exhaustive over all contraction trees (DP over operand subsets,
//!   outer products and early input reductions included), up to [`OPTIMAL_MAX_OPERANDS`].
//!   It never costs more than opt_einsum's `optimal`, `dp` or `greedy` and is sometimes
//!   strictly cheaper than opt_einsum's `optimal`, whose search caches pair results by label
//!   sets alone (see the `optimal` module docs).
//! - [`Strategy::DynamicProgramming`]: absorb operands whose labels are a subset of another's,
//!   split into components connected by summable (non-output) labels, run opt_einsum-style DP
//!   with a growing cost cap on each (bounded by [`PathOptions::dp_max_entries_per_level`] and
//!   [`PathOptions::dp_max_pair_visits`], greedy when exceeded), then join the components by
//!   outer products, smallest first.
//! - [`Strategy::Greedy`]: opt_einsum's greedy heuristic, after the same preprocessing.
//! - [`Strategy::Auto`]: Optimal up to [`AUTO_OPTIMAL_MAX_OPERANDS`] operands; otherwise the
//!   DP pipeline choosing per component Optimal (≤ [`AUTO_OPTIMAL_MAX_OPERANDS`]), DP
//!   (≤ [`AUTO_DP_MAX_OPERANDS`]) or greedy.
//!
//! A [`PathOptions::memory_limit`] bounds every intermediate but the final output: Optimal and
//! DP search only within it (falling back to the unconstrained search when nothing fits),
//! greedy prefers pairs that fit; [`ContractionPath::exceeds_memory_limit`] reports the
//! outcome.
//!
//! Everything is deterministic: no hash-map iteration order reaches a result.

mod dp;
mod error;
mod gemm;
mod greedy;
mod labelset;
mod optimal;
mod optimize;
mod path;
mod prep;
mod problem;
mod spec;

/// An einsum axis label. [`EinsumSpec::parse`] uses a character's code point.
pub type Label = u32;

pub use dp::DP_MAX_OPERANDS;
pub use error::{EinsumError, Result};
pub use gemm::{pairwise_plan, PairwiseGemm};
pub use optimal::OPTIMAL_MAX_OPERANDS;
pub use optimize::{
    optimize, PathOptions, Strategy, AUTO_DP_MAX_OPERANDS, AUTO_OPTIMAL_MAX_OPERANDS,
    DEFAULT_DP_MAX_ENTRIES_PER_LEVEL, DEFAULT_DP_MAX_PAIR_VISITS,
};
pub use path::{flop_count, ContractionPath, ContractionStep};
pub use spec::{naive_flops, EinsumSpec};
