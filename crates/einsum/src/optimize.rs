//! The entry point: [`optimize`] with its [`Strategy`] and [`PathOptions`].

use crate::dp::{dp_tree, DP_MAX_OPERANDS};
use crate::error::{EinsumError, Result};
use crate::greedy::greedy;
use crate::optimal::{exact_tree, SubProblem, OPTIMAL_MAX_OPERANDS};
use crate::path::ContractionPath;
use crate::prep::{combine_smallest_first, components, merge_subsets};
use crate::problem::{Builder, Problem};
use crate::spec::EinsumSpec;

/// [`Strategy::Auto`] uses [`Strategy::Optimal`] for at most this many operands.
pub const AUTO_OPTIMAL_MAX_OPERANDS: usize = 8;
/// Beyond [`AUTO_OPTIMAL_MAX_OPERANDS`], [`Strategy::Auto`] runs the DP on connected
/// components of at most this many operands (after subset merging), greedy on larger ones.
pub const AUTO_DP_MAX_OPERANDS: usize = 16;
/// Default of [`PathOptions::dp_max_entries_per_level`].
pub const DEFAULT_DP_MAX_ENTRIES_PER_LEVEL: usize = 512;

/// How to search for a contraction order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Optimal for small einsums, DP for medium components, greedy beyond (see
    /// [`AUTO_OPTIMAL_MAX_OPERANDS`], [`AUTO_DP_MAX_OPERANDS`]).
    #[default]
    Auto,
    /// Exhaustive: the cheapest of all pairwise contraction trees, outer products and early
    /// reductions of inputs over their private labels included (at most
    /// [`OPTIMAL_MAX_OPERANDS`] operands, else [`EinsumError::TooManyOperands`]).
    Optimal,
    /// opt_einsum-style dynamic programming per connected component, after subset merging.
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
}

impl Default for PathOptions {
    fn default() -> Self {
        Self {
            strategy: Strategy::Auto,
            memory_limit: None,
            dp_max_entries_per_level: DEFAULT_DP_MAX_ENTRIES_PER_LEVEL,
        }
    }
}

impl PathOptions {
    /// Default options with the given strategy.
    pub fn with_strategy(strategy: Strategy) -> Self {
        Self {
            strategy,
            ..Self::default()
        }
    }
}

/// Finds a contraction path for `spec`.
///
/// Zero inputs give an empty path; one input gives one one-operand step. Otherwise every step
/// contracts two operands or reduces one input over labels nothing else uses. Deterministic:
/// the same spec and options always give the same path.
pub fn optimize(spec: &EinsumSpec, opts: &PathOptions) -> Result<ContractionPath> {
    spec.validate()?;
    let problem = Problem::new(spec);
    let n = problem.leaves.len();
    let limit = opts.memory_limit;
    let mut b = Builder::new(&problem);
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
                    _ => run_dp(&mut b, &comp, limit, opts.dp_max_entries_per_level),
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
    max_entries: usize,
) -> Option<usize> {
    if ids.len() <= DP_MAX_OPERANDS {
        for lim in [limit, None] {
            let sub = SubProblem::new(b, ids, lim);
            if let Some(tree) = dp_tree(b, &sub, lim, max_entries) {
                return Some(tree.emit(b, &sub));
            }
            if lim.is_none() {
                break;
            }
        }
    }
    greedy(b, ids, limit)
}
