//! The exact strategy: the cheapest contraction tree over *all* pairwise trees (outer products
//! included), where every input may first be reduced over its private labels by a one-operand
//! step. Found by dynamic programming over all subsets of operands (`O(3^n)` subset pairs), so
//! it is exhaustive for up to [`OPTIMAL_MAX_OPERANDS`] operands.
//!
//! This is exact because a sub-result's labels depend only on *which* operands it contains:
//! a subset `S` keeps `labels(S) ∩ (output ∪ labels(not S))`, whatever the order. opt_einsum's
//! depth-first `optimal` searches the same space but caches a pair's result by the two operand
//! label sets only, ignoring which operands remain, so it can miss the optimum (it does for the
//! W2 `kcomp8_batched` einsum); this search cannot.
//!
//! Also home of the pieces shared with the [`crate::dp`] strategy: [`SubProblem`] (the operands
//! being optimized, with their optional reduced forms) and [`Tree`] (a contraction tree to
//! replay into the [`Builder`]).

use crate::labelset::LabelSet;
use crate::path::flop_count;
use crate::problem::{Builder, PairChoice};

/// Most operands the exact strategy accepts (`3^16` subset pairs is about 43 million).
pub const OPTIMAL_MAX_OPERANDS: usize = 16;

/// The operands of one optimization call, seen from the builder's current state.
#[derive(Debug)]
pub(crate) struct SubProblem {
    /// Builder ids of the operands.
    pub ids: Vec<usize>,
    /// Their label sets.
    pub sets: Vec<LabelSet>,
    /// Labels needed outside these operands: the output and every other alive operand.
    pub outside: LabelSet,
    /// For an operand with private labels: its reduced set and the reduction's cost.
    pub reduced: Vec<Option<(LabelSet, u128)>>,
}

impl SubProblem {
    /// Describes the alive operands `ids`; `limit` drops reduced forms larger than it.
    pub(crate) fn new(b: &Builder<'_>, ids: &[usize], limit: Option<u128>) -> Self {
        let sets: Vec<LabelSet> = ids.iter().map(|&id| b.set(id)).collect();
        let mut outside = b.p.out.clone();
        for id in b.alive() {
            if !ids.contains(&id) {
                outside.union_with(&b.set(id));
            }
        }
        let reduced = ids
            .iter()
            .zip(&sets)
            .map(|(&id, set)| {
                let private = b.private(id);
                if !b.allow_reductions || private.is_empty() {
                    return None;
                }
                let r = set.difference(&private);
                let cost = flop_count(b.p.size(set), true, 1);
                limit.is_none_or(|m| b.p.size(&r) <= m).then_some((r, cost))
            })
            .collect();
        Self { ids: ids.to_vec(), sets, outside, reduced }
    }

    /// Cheapest way to combine two sub-results whose current label sets are `ca`/`cb`
    /// (`sa`/`sb`: local operand index when the side is a single operand, which may then be
    /// reduced first) into a result keeping `keep`. Returns (extra cost, reduce a, reduce b).
    pub(crate) fn combine(
        &self,
        sizes: &[u64],
        (ca, sa): (&LabelSet, Option<usize>),
        (cb, sb): (&LabelSet, Option<usize>),
        keep: &LabelSet,
    ) -> (u128, bool, bool) {
        let form = |cur, single: Option<usize>| {
            let red = single
                .and_then(|i| self.reduced.get(i))
                .and_then(Option::as_ref)
                .map(|(s, c)| (s, *c, true));
            [Some((cur, 0u128, false)), red]
        };
        let mut best = (u128::MAX, false, false);
        for (la, xa, ra) in form(ca, sa).into_iter().flatten() {
            for (lb, xb, rb) in form(cb, sb).into_iter().flatten() {
                let either = la.union(lb);
                let c = flop_count(either.size(sizes), either != *keep, 2)
                    .saturating_add(xa)
                    .saturating_add(xb);
                if c < best.0 {
                    best = (c, ra, rb);
                }
            }
        }
        best
    }
}

/// A contraction tree over a [`SubProblem`]'s operands.
#[derive(Debug, Clone)]
pub(crate) enum Tree {
    /// Local operand index; `true` to reduce it over its private labels first.
    Leaf(usize, bool),
    /// Contract the two sub-trees.
    Pair(Box<Tree>, Box<Tree>),
}

impl Tree {
    /// Records the tree's steps (left sub-tree first) and returns the result's builder id.
    pub(crate) fn emit(&self, b: &mut Builder<'_>, sub: &SubProblem) -> usize {
        match self {
            Tree::Leaf(i, reduce) => {
                let id = sub.ids.get(*i).copied().unwrap_or(usize::MAX);
                if *reduce {
                    b.reduce(id)
                } else {
                    id
                }
            }
            Tree::Pair(l, r) => {
                let a = l.emit(b, sub);
                let c = r.emit(b, sub);
                let plain = PairChoice { cost: 0, reduce_a: false, reduce_b: false };
                b.contract_with(a, c, plain)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    cost: u128,
    left: usize,
    reduce_left: bool,
    reduce_right: bool,
}

fn single(mask: usize) -> Option<usize> {
    (mask.count_ones() == 1).then_some(mask.trailing_zeros() as usize)
}

/// Exact optimum for the alive operands `ids` (at most [`OPTIMAL_MAX_OPERANDS`]; callers
/// check). Intermediates other than the final result must fit `limit`; `None` when no tree
/// does.
pub(crate) fn exact_tree(b: &Builder<'_>, sub: &SubProblem, limit: Option<u128>) -> Option<Tree> {
    let n = sub.ids.len();
    if n == 0 || n > OPTIMAL_MAX_OPERANDS {
        return None;
    }
    if n == 1 {
        return Some(Tree::Leaf(0, false));
    }
    let sizes = &b.p.sizes;
    let full: usize = (1usize << n) - 1;
    let mut lab: Vec<LabelSet> = vec![LabelSet::empty(b.p.n_labels); full + 1];
    for s in 1..=full {
        let low = s.trailing_zeros() as usize;
        lab[s] = lab[s & (s - 1)].union(&sub.sets[low]);
    }
    // cur[s]: the labels the sub-result of s carries (a single operand: all of its labels)
    let mut cur: Vec<LabelSet> = vec![LabelSet::empty(b.p.n_labels); full + 1];
    let mut best: Vec<Option<Entry>> = vec![None; full + 1];
    for (i, set) in sub.sets.iter().enumerate() {
        cur[1 << i] = set.clone();
        best[1 << i] = Some(Entry { cost: 0, left: 0, reduce_left: false, reduce_right: false });
    }
    for s in 1..=full {
        if s.count_ones() < 2 {
            continue;
        }
        let keep = lab[s].intersection(&sub.outside.union(&lab[full ^ s]));
        let fits = s == full || limit.is_none_or(|m| keep.size(sizes) <= m);
        cur[s] = keep;
        if !fits {
            continue;
        }
        // every split's last step involves at least the kept labels: a lower bound
        let floor = flop_count(cur[s].size(sizes), false, 2);
        let low = s & s.wrapping_neg();
        let rest = s ^ low;
        let mut found: Option<Entry> = None;
        let mut sub_mask = rest;
        loop {
            let a = low | sub_mask;
            let c = s ^ a;
            if c != 0 {
                if let (Some(ea), Some(ec)) = (best[a], best[c]) {
                    let base = ea.cost.saturating_add(ec.cost);
                    if found.is_none_or(|f| base.saturating_add(floor) < f.cost) {
                        let (extra, ra, rc) =
                            sub.combine(sizes, (&cur[a], single(a)), (&cur[c], single(c)), &cur[s]);
                        let cost = base.saturating_add(extra);
                        if found.is_none_or(|f| cost < f.cost) {
                            found =
                                Some(Entry { cost, left: a, reduce_left: ra, reduce_right: rc });
                        }
                    }
                }
            }
            if sub_mask == 0 {
                break;
            }
            sub_mask = (sub_mask - 1) & rest;
        }
        best[s] = found;
    }
    best[full]?;
    Some(build(&best, full, false))
}

fn build(best: &[Option<Entry>], s: usize, reduce: bool) -> Tree {
    if let Some(i) = single(s) {
        return Tree::Leaf(i, reduce);
    }
    match best.get(s).copied().flatten() {
        Some(e) => Tree::Pair(
            Box::new(build(best, e.left, e.reduce_left)),
            Box::new(build(best, s ^ e.left, e.reduce_right)),
        ),
        // unreachable for a solved table; a left-deep tree keeps the result valid regardless
        None if s == 0 => Tree::Leaf(0, false),
        None => {
            let low = s & s.wrapping_neg();
            Tree::Pair(Box::new(build(best, low, false)), Box::new(build(best, s ^ low, false)))
        }
    }
}
