//! The entry point: [`optimize`] with its [`Strategy`] and [`PathOptions`].

use crate::dp::{dp_tree, DpOutcome, DP_MAX_OPERANDS};
use crate::error::{EinsumError, Result};
use crate::greedy::greedy;
use crate::optimal::{exact_tree, SubProblem, OPTIMAL_MAX_OPERANDS};
use crate::path::ContractionPath;
use crate::prep::{combine_smallest_first, components, merge_subsets};
use crate::problem::{Builder, Problem};
use crate::spec::EinsumSpec;

/// [`Strategy::Auto`] uses [`Strategy::Optimal`] for at most this many operands.
pub const AUTO_OPTIMAL_MAX_OPERANDS: usize = 8;
/// Beyond [`AUTO_OPTIMAL_MAX_OPERANDS`] operands, [`Strategy::Auto`] splits the einsum into
/// connected components (after subset merging) and runs Optimal on components of at most
/// [`AUTO_OPTIMAL_MAX_OPERANDS`] operands, DP on those of at most this many, greedy beyond.
pub const AUTO_DP_MAX_OPERANDS: usize = 16;
/// Default of [`PathOptions::dp_max_entries_per_level`].
pub const DEFAULT_DP_MAX_ENTRIES_PER_LEVEL: usize = 512;
/// Default of [`PathOptions::dp_max_pair_visits`] (a few milliseconds of search).
pub const DEFAULT_DP_MAX_PAIR_VISITS: u64 = 100_000;

/// How to search for a contraction order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Optimal for small einsums, then per component Optimal / DP / greedy by size (see
    /// [`AUTO_OPTIMAL_MAX_OPERANDS`], [`AUTO_DP_MAX_OPERANDS`]).
    #[default]
    Auto,
    /// Exhaustive: the cheapest of all pairwise contraction trees, outer products and early
    /// reductions of inputs over their private labels included (at most
    /// [`OPTIMAL_MAX_OPERANDS`] operands, else [`EinsumError::TooManyOperands`]).
    Optimal,
    /// opt_einsum-style dynamic programming per connected component, after subset merging
    /// (greedy for components over [`DP_MAX_OPERANDS`] operands or the visit budget).
    DynamicProgramming,
    /// opt_einsum-style greedy, after subset merging.
    Greedy,
}

/// Options for [`optimize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PathOptions {
    /// The search strategy.
    pub strategy: Strategy,
    /// Largest number of elements any intermediate (every step's result except the last) may
    /// have. When no path satisfies it, the best path found without it is returned with
    /// [`ContractionPath::exceeds_memory_limit`] set.
    pub memory_limit: Option<u128>,
    /// DP only: entries kept per subset size (the cheapest); bounds the DP's run time.
    pub dp_max_entries_per_level: usize,
    /// DP only: pairs of sub-results one component's search may visit (over all cost-cap
    /// rounds) before that component falls back to greedy; bounds the DP's run time on dense
    /// components (about 70 ns per visit).
    pub dp_max_pair_visits: u64,
    /// Whether an input may first be summed over its private labels (labels no other operand
    /// and not the output has) by a one-operand step, where that is cheaper than summing them
    /// inside its first pairwise contraction. `false` restricts paths to pairwise steps, the
    /// space opt_einsum's `optimal` searches.
    pub early_reductions: bool,
}

impl Default for PathOptions {
    fn default() -> Self {
        Self {
            strategy: Strategy::Auto,
            memory_limit: None,
            dp_max_entries_per_level: DEFAULT_DP_MAX_ENTRIES_PER_LEVEL,
            dp_max_pair_visits: DEFAULT_DP_MAX_PAIR_VISITS,
            early_reductions: true,
        }
    }
}

impl PathOptions {
    /// Default options with the given strategy.
    pub fn with_strategy(strategy: Strategy) -> Self {
        Self { strategy, ..Self::default() }
    }
}

/// Finds a contraction path for `spec`.
///
/// Zero inputs give an empty path; one input gives one one-operand step. Otherwise every step
/// contracts two operands or (see [`PathOptions::early_reductions`]) reduces one input over
/// labels nothing else uses. Deterministic: the same spec and options always give the same
/// path.
pub fn optimize(spec: &EinsumSpec, opts: &PathOptions) -> Result<ContractionPath> {
    spec.validate()?;
    let problem = Problem::new(spec);
    let n = problem.leaves.len();
    let limit = opts.memory_limit;
    let mut b = Builder::new(&problem, opts.early_reductions);
    match n {
        0 => return Ok(ContractionPath::default()),
        1 => {
            b.reduce(0);
            return Ok(b.finish(limit));
        }
        _ => {}
    }
    match opts.strategy {
        Strategy::Optimal if n > OPTIMAL_MAX_OPERANDS => {
            return Err(EinsumError::TooManyOperands {
                strategy: "optimal",
                max: OPTIMAL_MAX_OPERANDS,
                got: n,
            })
        }
        Strategy::Optimal => {
            let all = b.alive();
            run_exact(&mut b, &all, limit);
        }
        Strategy::Auto if n <= AUTO_OPTIMAL_MAX_OPERANDS => {
            let all = b.alive();
            run_exact(&mut b, &all, limit);
        }
        strategy => {
            merge_subsets(&mut b, limit);
            let mut results = Vec::new();
            let alive = b.alive();
            for comp in components(&b, &alive) {
                let id = match (strategy, comp.len()) {
                    (_, 1) => comp.first().copied(),
                    (Strategy::Greedy, _) => greedy(&mut b, &comp, limit),
                    (Strategy::Auto, len) if len <= AUTO_OPTIMAL_MAX_OPERANDS => {
                        run_exact(&mut b, &comp, limit)
                    }
                    (Strategy::Auto, len) if len > AUTO_DP_MAX_OPERANDS => {
                        greedy(&mut b, &comp, limit)
                    }
                    _ => run_dp(&mut b, &comp, limit, opts),
                };
                results.extend(id);
            }
            combine_smallest_first(&mut b, &results, limit);
        }
    }
    Ok(b.finish(limit))
}

/// Exact search on `ids`, relaxing the memory limit if nothing fits it.
fn run_exact(b: &mut Builder<'_>, ids: &[usize], limit: Option<u128>) -> Option<usize> {
    for lim in [limit, None] {
        let sub = SubProblem::new(b, ids, lim);
        if let Some(tree) = exact_tree(b, &sub, lim) {
            return Some(tree.emit(b, &sub));
        }
        if lim.is_none() {
            break;
        }
    }
    greedy(b, ids, limit)
}

/// DP on one component, relaxing the memory limit if nothing fits it, greedy as last resort.
fn run_dp(
    b: &mut Builder<'_>,
    ids: &[usize],
    limit: Option<u128>,
    opts: &PathOptions,
) -> Option<usize> {
    if ids.len() <= DP_MAX_OPERANDS {
        for lim in [limit, None] {
            let sub = SubProblem::new(b, ids, lim);
            let max_entries = opts.dp_max_entries_per_level;
            match dp_tree(b, &sub, lim, max_entries, opts.dp_max_pair_visits) {
                DpOutcome::Found(tree) => return Some(tree.emit(b, &sub)),
                DpOutcome::Infeasible if lim.is_some() => {}
                DpOutcome::Infeasible | DpOutcome::GaveUp => break,
            }
        }
    }
    greedy(b, ids, limit)
}
