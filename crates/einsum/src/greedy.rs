//! The greedy strategy, after opt_einsum 3.x's `greedy` (`ssa_greedy_optimize` with the
//! default `memory-removed` cost): repeatedly contract the candidate pair of operands (one
//! sharing a summable label) that minimizes `size(result) - size(a) - size(b)`, ties broken by
//! the larger then the smaller operand id (opt_einsum's deterministic order), using a heap of
//! candidates; labels common to every operand count as output labels when looking for
//! candidates. When no such pair is left, the
//! remaining operands are combined by outer products, smallest first. With a memory limit,
//! pairs whose result fits are preferred.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use crate::problem::Builder;

fn to_i128(x: u128) -> i128 {
    i128::try_from(x).unwrap_or(i128::MAX)
}

/// Heap key of a candidate pair: (breaks the memory limit, heuristic cost, larger id,
/// smaller id); the smallest key is contracted first.
type Key = (bool, i128, usize, usize);

fn key(b: &Builder<'_>, i: usize, j: usize, limit: Option<u128>) -> Key {
    let size12 = b.p.size(&b.keep_of(&[i, j]));
    let cost = to_i128(size12)
        .saturating_sub(to_i128(b.p.size(&b.set(i))))
        .saturating_sub(to_i128(b.p.size(&b.set(j))));
    (limit.is_some_and(|m| size12 > m), cost, i.max(j), i.min(j))
}

/// Greedily contracts the alive operands `ids` into one; returns its id (`None` for no ids).
///
/// As in opt_einsum, a candidate's cost is computed when the candidate is created (when one of
/// its operands appears) and not refreshed afterwards; candidates whose operands are gone are
/// skipped.
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
    let summable = |b: &Builder<'_>, i: usize| b.set(i).difference(&treat_as_output);
    // initial candidates: pairs sharing a summable label
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); b.p.n_labels];
    for &id in &current {
        for l in summable(b, id).iter() {
            if let Some(m) = members.get_mut(l) {
                m.push(id);
            }
        }
    }
    let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
    for m in &members {
        for (x, &i) in m.iter().enumerate() {
            for &j in &m[x + 1..] {
                pairs.insert((i.min(j), i.max(j)));
            }
        }
    }
    let mut heap: BinaryHeap<Reverse<Key>> =
        pairs.into_iter().map(|(i, j)| Reverse(key(b, i, j, limit))).collect();
    while let Some(Reverse((_, _, hi, lo))) = heap.pop() {
        let alive = |id: usize| b.ops.get(id).is_some_and(|o| !o.dead);
        if !alive(lo) || !alive(hi) {
            continue;
        }
        let new = b.contract(lo, hi, limit);
        current.retain(|&c| c != lo && c != hi);
        let s_new = summable(b, new);
        for &other in &current {
            if s_new.intersection(&b.set(other)).is_empty() {
                continue;
            }
            heap.push(Reverse(key(b, other, new, limit)));
        }
        current.push(new);
    }
    let mut queue: BTreeSet<(u128, usize)> = current
        .iter()
        .map(|&id| (b.p.size(&b.set(id).intersection(&treat_as_output)), id))
        .collect();
    loop {
        let (_, a) = queue.pop_first()?;
        let Some((_, c)) = queue.pop_first() else {
            return Some(a);
        };
        let new = b.contract(a, c, limit);
        let size = b.p.size(&b.set(new).intersection(&treat_as_output));
        queue.insert((size, new));
    }
}
