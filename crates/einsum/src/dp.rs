//! The dynamic-programming strategy, after opt_einsum 3.x's `DynamicProgramming` (itself after
//! Xu et al. / `tensor_network`'s `optimize_dp`): for one connected component, level `k` holds
//! the best known sub-result for each `k`-subset of operands, built by joining two disjoint
//! smaller sub-results that share a summable label (one the output and the other components
//! do not need; so outer products, and joins through batch labels alone, are skipped). A cost cap prunes
//! every sub-result costing more; it starts at the size of the component's output and grows ×8
//! until a full solution appears, and each level keeps at most
//! [`crate::PathOptions::dp_max_entries_per_level`] cheapest entries and a run visits at most
//! [`crate::PathOptions::dp_max_pair_visits`] pairs of entries (then the component falls back
//! to greedy), so the run time stays bounded (the cap is what makes it an approximation on large, dense components; with no
//! entry dropped it is exact over trees whose every join shares a summable label).
//!
//! Differences from opt_einsum: costs are the reported FLOP model itself (opt_einsum's DP
//! minimizes the summed size of the pairwise label unions, without the factor 2), and an input
//! is reduced over its private labels first only where that is cheaper (opt_einsum always
//! reduces first).

use std::cell::Cell;
use std::collections::BTreeMap;

use crate::labelset::LabelSet;
use crate::optimal::{SubProblem, Tree};
use crate::problem::Builder;

/// Most operands one DP component may have (subsets are 64-bit masks); larger components
/// fall back to the greedy strategy.
pub const DP_MAX_OPERANDS: usize = 64;

#[derive(Debug, Clone)]
struct Entry {
    cur: LabelSet,
    cost: u128,
    split: Option<(u64, bool, bool)>,
}

fn single(mask: u64) -> Option<usize> {
    (mask.count_ones() == 1).then_some(mask.trailing_zeros() as usize)
}

/// One DP run's fixed data.
struct Dp<'a> {
    sub: &'a SubProblem,
    sizes: &'a [u64],
    n_labels: usize,
    /// occ[l]: the operands containing label l.
    occ: Vec<u64>,
    full: u64,
    limit: Option<u128>,
    /// Pair visits left before giving up.
    budget: Cell<u64>,
}

/// What a DP run ended with.
#[derive(Debug)]
pub(crate) enum DpOutcome {
    /// A contraction tree.
    Found(Tree),
    /// No tree: every completion broke the memory limit or was dropped by the entry cap.
    Infeasible,
    /// The pair-visit budget ran out.
    GaveUp,
}

impl Dp<'_> {
    /// Labels of `either` still needed once the operands `mask` are contracted.
    fn keep_of(&self, mask: u64, either: &LabelSet) -> LabelSet {
        let mut keep = LabelSet::empty(self.n_labels);
        for l in either.iter() {
            let elsewhere = self.occ.get(l).is_some_and(|o| o & !mask != 0);
            if elsewhere || self.sub.outside.contains(l) {
                keep.insert(l);
            }
        }
        keep
    }

    /// Whether two sub-results share a label that is not needed outside the component.
    fn shares_summed(&self, a: &LabelSet, b: &LabelSet) -> bool {
        !a.intersection(b).difference(&self.sub.outside).is_empty()
    }

    /// Builds level `n` from the lower ones; also says whether the cost cap pruned anything.
    /// `None` when the budget runs out.
    fn level(
        &self,
        levels: &[BTreeMap<u64, Entry>],
        n: usize,
        cap: u128,
    ) -> Option<(BTreeMap<u64, Entry>, bool)> {
        let mut level: BTreeMap<u64, Entry> = BTreeMap::new();
        let mut cost_pruned = false;
        for k in 1..=n / 2 {
            let visits = (levels[k].len() as u64).saturating_mul(levels[n - k].len() as u64);
            self.budget.set(self.budget.get().checked_sub(visits)?);
            for (&s1, e1) in &levels[k] {
                for (&s2, e2) in &levels[n - k] {
                    if s1 & s2 != 0
                        || (k == n - k && s1 >= s2)
                        || !self.shares_summed(&e1.cur, &e2.cur)
                    {
                        continue;
                    }
                    let base = e1.cost.saturating_add(e2.cost);
                    if base > cap {
                        cost_pruned = true;
                        continue;
                    }
                    let s = s1 | s2;
                    if level.get(&s).is_some_and(|e| e.cost <= base) {
                        continue;
                    }
                    let keep = self.keep_of(s, &e1.cur.union(&e2.cur));
                    let (extra, r1, r2) = self.sub.combine(
                        self.sizes,
                        (&e1.cur, single(s1)),
                        (&e2.cur, single(s2)),
                        &keep,
                    );
                    let cost = base.saturating_add(extra);
                    if cost > cap {
                        cost_pruned = true;
                        continue;
                    }
                    if level.get(&s).is_some_and(|e| e.cost <= cost)
                        || (s != self.full && self.limit.is_some_and(|m| keep.size(self.sizes) > m))
                    {
                        continue;
                    }
                    level.insert(s, Entry { cur: keep, cost, split: Some((s1, r1, r2)) });
                }
            }
        }
        Some((level, cost_pruned))
    }
}

/// Keeps the `max_entries` cheapest entries (ties by mask).
fn truncate(level: BTreeMap<u64, Entry>, max_entries: usize) -> BTreeMap<u64, Entry> {
    if level.len() <= max_entries {
        return level;
    }
    let mut ranked: Vec<(u128, u64, Entry)> =
        level.into_iter().map(|(s, e)| (e.cost, s, e)).collect();
    ranked.sort_unstable_by_key(|&(c, s, _)| (c, s));
    ranked.truncate(max_entries);
    ranked.into_iter().map(|(_, s, e)| (s, e)).collect()
}

/// Runs the capped DP on `sub` (a component of at most [`DP_MAX_OPERANDS`] operands that is
/// connected through summable labels), visiting at most `budget` pairs of sub-results.
pub(crate) fn dp_tree(
    b: &Builder<'_>,
    sub: &SubProblem,
    limit: Option<u128>,
    max_entries: usize,
    budget: u64,
) -> DpOutcome {
    let m = sub.ids.len();
    if m == 0 || m > DP_MAX_OPERANDS {
        return DpOutcome::GaveUp;
    }
    if m == 1 {
        return DpOutcome::Found(Tree::Leaf(0, false));
    }
    let mut occ = vec![0u64; b.p.n_labels];
    let mut all = LabelSet::empty(b.p.n_labels);
    for (i, set) in sub.sets.iter().enumerate() {
        all.union_with(set);
        for l in set.iter() {
            if let Some(o) = occ.get_mut(l) {
                *o |= 1 << i;
            }
        }
    }
    let dp = Dp {
        sub,
        sizes: &b.p.sizes,
        n_labels: b.p.n_labels,
        occ,
        full: if m == 64 { u64::MAX } else { (1u64 << m) - 1 },
        limit,
        budget: Cell::new(budget),
    };
    let mut cap: u128 = b.p.size(&all.intersection(&sub.outside)).max(1);
    loop {
        let mut levels: Vec<BTreeMap<u64, Entry>> = vec![BTreeMap::new(); m + 1];
        for (i, set) in sub.sets.iter().enumerate() {
            levels[1].insert(1 << i, Entry { cur: set.clone(), cost: 0, split: None });
        }
        let mut cost_pruned = false;
        for n in 2..=m {
            let Some((level, pruned)) = dp.level(&levels, n, cap) else {
                return DpOutcome::GaveUp;
            };
            cost_pruned |= pruned;
            levels[n] = truncate(level, max_entries.max(1));
        }
        if levels[m].contains_key(&dp.full) {
            return DpOutcome::Found(build(&levels, dp.full, false));
        }
        if !cost_pruned || cap == u128::MAX {
            return DpOutcome::Infeasible;
        }
        cap = cap.saturating_mul(8);
    }
}

fn build(levels: &[BTreeMap<u64, Entry>], s: u64, reduce: bool) -> Tree {
    if let Some(i) = single(s) {
        return Tree::Leaf(i, reduce);
    }
    let entry = levels.get(s.count_ones() as usize).and_then(|l| l.get(&s)).and_then(|e| e.split);
    match entry {
        Some((left, rl, rr)) if left != 0 && left != s => {
            Tree::Pair(Box::new(build(levels, left, rl)), Box::new(build(levels, s ^ left, rr)))
        }
        // unreachable for a solved table; a left-deep split keeps the result valid regardless
        _ if s == 0 => Tree::Leaf(0, false),
        _ => {
            let low = s & s.wrapping_neg();
            Tree::Pair(Box::new(build(levels, low, false)), Box::new(build(levels, s ^ low, false)))
        }
    }
}
