//! Helpers shared by the integration tests (included with `mod common;`).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use circuit_einsum::{EinsumSpec, Label};

/// Builds a spec from an equation and per-label sizes (`&[('a', 3), ...]`).
pub fn spec(eq: &str, sizes: &[(char, u64)]) -> EinsumSpec {
    let size =
        |c: char| sizes.iter().find(|(l, _)| *l == c).map(|&(_, s)| s).expect("label has a size");
    let lhs = eq.split("->").next().expect("equation");
    let shapes: Vec<Vec<u64>> = if lhs.is_empty() {
        Vec::new()
    } else {
        lhs.split(',').map(|t| t.chars().map(size).collect()).collect()
    };
    let refs: Vec<&[u64]> = shapes.iter().map(Vec::as_slice).collect();
    EinsumSpec::parse(eq, &refs).expect("test spec parses")
}

/// Parses `a=3;b=5` (or `-` for none).
pub fn parse_sizes(s: &str) -> Vec<(char, u64)> {
    if s == "-" {
        return Vec::new();
    }
    s.split(';')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("label=size");
            (k.chars().next().expect("label"), v.parse().expect("size"))
        })
        .collect()
}

/// Independent brute force: the cheapest cost over every sequence of pairwise steps (and,
/// with `reductions`, one-operand steps summing an input's private labels), by exhaustive
/// recursion with memoisation on the multiset of current operands.
pub fn brute_force(spec: &EinsumSpec, reductions: bool) -> u128 {
    let leaves: Vec<BTreeSet<Label>> =
        spec.inputs.iter().map(|t| t.iter().copied().collect()).collect();
    let out: BTreeSet<Label> = spec.output.iter().copied().collect();
    let size =
        |s: &BTreeSet<Label>| -> u128 { s.iter().map(|l| u128::from(spec.sizes[l])).product() };
    match leaves.len() {
        0 => return 0,
        1 => {
            let u = &leaves[0];
            return size(u) * if *u == out { 1 } else { 2 };
        }
        _ => {}
    }
    // operand = (labels, may still be reduced)
    type State = Vec<(BTreeSet<Label>, bool)>;
    fn rec(
        state: &State,
        out: &BTreeSet<Label>,
        size: &dyn Fn(&BTreeSet<Label>) -> u128,
        memo: &mut BTreeMap<State, u128>,
    ) -> u128 {
        if state.len() == 1 {
            return 0;
        }
        if let Some(&c) = memo.get(state) {
            return c;
        }
        let mut best = u128::MAX;
        let needed_outside = |skip: &[usize]| -> BTreeSet<Label> {
            let mut s = out.clone();
            for (k, (l, _)) in state.iter().enumerate() {
                if !skip.contains(&k) {
                    s.extend(l.iter().copied());
                }
            }
            s
        };
        for i in 0..state.len() {
            let (li, ri) = &state[i];
            if *ri {
                let keep: BTreeSet<Label> =
                    li.intersection(&needed_outside(&[i])).copied().collect();
                if keep != *li {
                    let mut next = state.clone();
                    next[i] = (keep, false);
                    next.sort();
                    let c = 2 * size(li) + rec(&next, out, size, memo);
                    best = best.min(c);
                }
            }
            for j in i + 1..state.len() {
                let either: BTreeSet<Label> = li.union(&state[j].0).copied().collect();
                let keep: BTreeSet<Label> =
                    either.intersection(&needed_outside(&[i, j])).copied().collect();
                let step = size(&either) * if keep == either { 1 } else { 2 };
                let mut next: State = state
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != i && *k != j)
                    .map(|(_, o)| o.clone())
                    .collect();
                next.push((keep, false));
                next.sort();
                best = best.min(step + rec(&next, out, size, memo));
            }
        }
        memo.insert(state.clone(), best);
        best
    }
    let mut state: State = leaves.into_iter().map(|l| (l, reductions)).collect();
    state.sort();
    rec(&state, &out, &size, &mut BTreeMap::new())
}
