//! Preprocessing shared by the DP and greedy strategies: absorbing operands whose label set
//! is a subset of another's, splitting the operands into connected components, and joining
//! component results by outer products, smallest first.

use std::collections::BTreeSet;

use crate::problem::Builder;

/// While some alive operand's label set is a subset of another's, contracts it into the
/// cheapest such superset (smallest size, then lowest id). Identical sets merge too, so this
/// subsumes opt_einsum greedy's Hadamard de-duplication; scalars merge into the smallest
/// operand.
pub(crate) fn merge_subsets(b: &mut Builder<'_>, limit: Option<u128>) {
    'outer: loop {
        let alive = b.alive();
        for &i in &alive {
            let si = b.set(i);
            let target = alive
                .iter()
                .filter(|&&j| j != i && si.is_subset(&b.set(j)))
                .map(|&j| (b.p.size(&b.set(j)), j))
                .min();
            if let Some((_, j)) = target {
                b.contract(i, j, limit);
                continue 'outer;
            }
        }
        return;
    }
}

/// Splits `ids` into groups connected by shared *summable* labels (labels not in the output),
/// as opt_einsum's DP does: operands linked only through output labels (e.g. a batch label)
/// are joined later, by outer products. Each group ascending, groups ordered by smallest id.
pub(crate) fn components(b: &Builder<'_>, ids: &[usize]) -> Vec<Vec<usize>> {
    let n = ids.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut first_with: Vec<Option<usize>> = vec![None; b.p.n_labels];
    for (k, &id) in ids.iter().enumerate() {
        for l in b.set(id).difference(&b.p.out).iter() {
            match first_with.get(l).copied().flatten() {
                Some(f) => {
                    let (rf, rk) = (find(&mut parent, f), find(&mut parent, k));
                    if rf != rk {
                        parent[rf.max(rk)] = rf.min(rk);
                    }
                }
                None => {
                    if let Some(slot) = first_with.get_mut(l) {
                        *slot = Some(k);
                    }
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut root_slot: Vec<Option<usize>> = vec![None; n];
    for (k, &id) in ids.iter().enumerate() {
        let r = find(&mut parent, k);
        match root_slot[r] {
            Some(g) => groups[g].push(id),
            None => {
                root_slot[r] = Some(groups.len());
                groups.push(vec![id]);
            }
        }
    }
    for g in &mut groups {
        g.sort_unstable();
    }
    groups.sort();
    groups
}

/// Joins the given alive operands by pairwise outer products, always the two smallest first
/// (ties by id); returns the final id (`None` for no ids).
pub(crate) fn combine_smallest_first(
    b: &mut Builder<'_>,
    ids: &[usize],
    limit: Option<u128>,
) -> Option<usize> {
    let mut queue: BTreeSet<(u128, usize)> =
        ids.iter().map(|&id| (b.p.size(&b.set(id)), id)).collect();
    loop {
        let (_, a) = queue.pop_first()?;
        let Some((_, c)) = queue.pop_first() else {
            return Some(a);
        };
        let new = b.contract(a, c, limit);
        queue.insert((b.p.size(&b.set(new)), new));
    }
}
