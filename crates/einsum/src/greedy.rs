//! The greedy strategy, after opt_einsum 3.x's `greedy` (`ssa_greedy_optimize` with the
//! default `memory-removed` cost): repeatedly contract the pair of operands that shares a
//! summable label and minimizes `size(result) - size(a) - size(b)`, ties broken by the larger
//! then the smaller operand id (opt_einsum's deterministic order); labels common to every
//! operand count as output labels when looking for candidates. When no such pair is left, the
//! remaining operands are combined by outer products, smallest first. With a memory limit,
//! pairs whose result fits are preferred.

use std::collections::BTreeSet;

use crate::problem::Builder;

fn to_i128(x: u128) -> i128 {
    i128::try_from(x).unwrap_or(i128::MAX)
}

/// Greedily contracts the alive operands `ids` into one; returns its id (`None` for no ids).
pub(crate) fn greedy(b: &mut Builder<'_>, ids: &[usize], limit: Option<u128>) -> Option<usize> {
    let mut current: Vec<usize> = ids.to_vec();
    current.sort_unstable();
    let first = *current.first()?;
    let mut treat_as_output = b.p.out.clone();
    for id in b.alive() {
        if !current.contains(&id) {
            treat_as_output.union_with(&b.set(id));
        }
    }
    let mut common = b.set(first);
    for &id in &current {
        common = common.intersection(&b.set(id));
    }
    if current.len() >= 2 {
        treat_as_output.union_with(&common);
    }
    loop {
        // (exceeds limit, heuristic cost, larger id, smaller id)
        let mut best: Option<(bool, i128, usize, usize)> = None;
        for (x, &i) in current.iter().enumerate() {
            let si = b.set(i);
            for &j in &current[x + 1..] {
                let sj = b.set(j);
                if si.intersection(&sj).difference(&treat_as_output).is_empty() {
                    continue;
                }
                let size12 = b.p.size(&b.keep_of(&[i, j]));
                let cost = to_i128(size12)
                    .saturating_sub(to_i128(b.p.size(&si)))
                    .saturating_sub(to_i128(b.p.size(&sj)));
                let exceeds = limit.is_some_and(|m| size12 > m);
                let key = (exceeds, cost, i.max(j), i.min(j));
                if best.is_none_or(|bk| key < bk) {
                    best = Some(key);
                }
            }
        }
        let Some((_, _, hi, lo)) = best else { break };
        let new = b.contract(lo, hi, limit);
        current.retain(|&c| c != lo && c != hi);
        current.push(new);
    }
    let mut queue: BTreeSet<(u128, usize)> = current
        .iter()
        .map(|&id| (b.p.size(&b.set(id).intersection(&treat_as_output)), id))
        .collect();
    loop {
        let Some((_, a)) = queue.pop_first() else {
            return None;
        };
        let Some((_, c)) = queue.pop_first() else {
            return Some(a);
        };
        let new = b.contract(a, c, limit);
        let size = b.p.size(&b.set(new).intersection(&treat_as_output));
        queue.insert((size, new));
    }
}
