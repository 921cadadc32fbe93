//! The dynamic-programming strategy, after opt_einsum 3.x's `DynamicProgramming` (itself after
//! Xu et al. / `tensor_network`'s `optimize_dp`): for one connected component, level `k` holds
//! the best known sub-result for each `k`-subset of operands, built by joining two disjoint
//! smaller sub-results that share a label (pure outer products are skipped). A cost cap prunes
//! every sub-result costing more; it starts at the size of the component's output and grows ×8
//! until a full solution appears, and each level keeps at most
//! [`crate::PathOptions::dp_max_entries_per_level`] cheapest entries, so the run time stays
//! bounded (the cap is what makes it an approximation on large, dense components; with no
//! entry dropped it is exact over trees without outer products).
//!
//! Differences from opt_einsum: sub-results are joined when they share *any* label (opt_einsum
//! requires a shared summed label), costs are the reported FLOP model itself (opt_einsum's DP
//! minimizes the summed size of the pairwise label unions, without the factor 2), and an input
//! is reduced over its private labels first only where that is cheaper.

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

/// Runs the capped DP on `sub` (a connected component of at most [`DP_MAX_OPERANDS`]
/// operands). `None` when no tree was found: intermediates over `limit`, or the per-level
/// entry cap discarded every completion.
pub(crate) fn dp_tree(
    b: &Builder<'_>,
    sub: &SubProblem,
    limit: Option<u128>,
    max_entries: usize,
) -> Option<Tree> {
    let m = sub.ids.len();
    if m == 0 || m > DP_MAX_OPERANDS {
        return None;
    }
    if m == 1 {
        return Some(Tree::Leaf(0, false));
    }
    let sizes = &b.p.sizes;
    let full: u64 = if m == 64 { u64::MAX } else { (1u64 << m) - 1 };
    // occ[l]: the operands containing label l
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
    let keep_of = |mask: u64, either: &LabelSet| -> LabelSet {
        let mut keep = LabelSet::empty(b.p.n_labels);
        for l in either.iter() {
            let elsewhere = occ.get(l).is_some_and(|o| o & !mask != 0);
            if elsewhere || sub.outside.contains(l) {
                keep.insert(l);
            }
        }
        keep
    };
    let max_entries = max_entries.max(1);
    let mut cap: u128 = b.p.size(&all.intersection(&sub.outside)).max(1);
    loop {
        let mut levels: Vec<BTreeMap<u64, Entry>> = vec![BTreeMap::new(); m + 1];
        for (i, set) in sub.sets.iter().enumerate() {
            let entry = Entry {
                cur: set.clone(),
                cost: 0,
                split: None,
            };
            levels[1].insert(1 << i, entry);
        }
        let mut cost_pruned = false;
        for n in 2..=m {
            let mut level: BTreeMap<u64, Entry> = BTreeMap::new();
            for k in 1..=n / 2 {
                for (&s1, e1) in &levels[k] {
                    for (&s2, e2) in &levels[n - k] {
                        if s1 & s2 != 0 || (k == n - k && s1 >= s2) || !e1.cur.intersects(&e2.cur)
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
                        let keep = keep_of(s, &e1.cur.union(&e2.cur));
                        let (extra, r1, r2) =
                            sub.combine(sizes, (&e1.cur, single(s1)), (&e2.cur, single(s2)), &keep);
                        let cost = base.saturating_add(extra);
                        if cost > cap {
                            cost_pruned = true;
                            continue;
                        }
                        if level.get(&s).is_some_and(|e| e.cost <= cost) {
                            continue;
                        }
                        if s != full && limit.is_some_and(|lim| keep.size(sizes) > lim) {
                            continue;
                        }
                        let entry = Entry {
                            cur: keep,
                            cost,
                            split: Some((s1, r1, r2)),
                        };
                        level.insert(s, entry);
                    }
                }
            }
            if level.len() > max_entries {
                let mut ranked: Vec<(u128, u64)> = level.iter().map(|(&s, e)| (e.cost, s)).collect();
                ranked.sort_unstable();
                let keep: Vec<u64> = ranked[..max_entries].iter().map(|&(_, s)| s).collect();
                level = keep
                    .into_iter()
                    .filter_map(|s| level.get(&s).cloned().map(|e| (s, e)))
                    .collect();
            }
            levels[n] = level;
        }
        if levels[m].contains_key(&full) {
            return Some(build(&levels, full, false));
        }
        if !cost_pruned || cap == u128::MAX {
            return None;
        }
        cap = cap.saturating_mul(8);
    }
}

fn build(levels: &[BTreeMap<u64, Entry>], s: u64, reduce: bool) -> Tree {
    if let Some(i) = single(s) {
        return Tree::Leaf(i, reduce);
    }
    let entry = levels
        .get(s.count_ones() as usize)
        .and_then(|l| l.get(&s))
        .and_then(|e| e.split);
    match entry {
        Some((left, rl, rr)) if left != 0 && left != s => Tree::Pair(
            Box::new(build(levels, left, rl)),
            Box::new(build(levels, s ^ left, rr)),
        ),
        // unreachable for a solved table; a left-deep split keeps the result valid regardless
        _ if s == 0 => Tree::Leaf(0, false),
        _ => {
            let low = s & s.wrapping_neg();
            Tree::Pair(
                Box::new(build(levels, low, false)),
                Box::new(build(levels, s ^ low, false)),
            )
        }
    }
}
