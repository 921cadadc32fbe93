//! Chains (`a.chain(b, c)`: find nodes reachable by a path on which `a` matches, then at
//! that node or below `b`, then `c`) and unions of iterative matchers (a set of
//! one-element chains).
//!
//! A chains matcher holds a set of chains `(head, rest…)`. At a node, for each chain the
//! head is applied; unless it finished, the chain continues below with the updated head
//! (per child if the head's update is per child). If the head is found, the node is
//! found when `rest` is empty; otherwise the chain `(rest[0], rest[1..])` is run on the
//! *same* node. The children get the set of all continuations: `Finished` when empty,
//! `Same` when unchanged.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use circuit_ir::Circuit;

use crate::error::{MatchError, Result};
use crate::hash::StructHasher;
use crate::iterative::{IterData, IterateMatchResults, IterativeMatcher, Updated};
use crate::matcher::Matcher;
use crate::restrict::restrict;

/// One chain: a head and the remaining elements (`items[start..]`, shared).
#[derive(Clone)]
pub(crate) struct Chain {
    first: IterativeMatcher,
    items: Arc<[IterativeMatcher]>,
    start: usize,
    hash: [u8; 32],
}

impl Chain {
    fn new(first: IterativeMatcher, items: Arc<[IterativeMatcher]>, start: usize) -> Chain {
        let mut h = StructHasher::new("chain");
        h.bytes(&first.hash_bytes());
        for m in items.get(start..).unwrap_or(&[]) {
            h.bytes(&m.hash_bytes());
        }
        let hash = h.finish();
        Chain { first, items, start, hash }
    }

    fn single(m: IterativeMatcher) -> Chain {
        Chain::new(m, Arc::from(Vec::new()), 0)
    }

    pub(crate) fn hash(&self) -> [u8; 32] {
        self.hash
    }

    fn rest(&self) -> &[IterativeMatcher] {
        self.items.get(self.start..).unwrap_or(&[])
    }

    fn with_first(&self, first: IterativeMatcher) -> Chain {
        Chain::new(first, self.items.clone(), self.start)
    }

    fn advance(&self) -> Option<Chain> {
        let next = self.items.get(self.start)?.clone();
        Some(Chain::new(next, self.items.clone(), self.start + 1))
    }

    /// The last element (what fancy validation checks).
    pub(crate) fn last(&self) -> &IterativeMatcher {
        self.rest().last().unwrap_or(&self.first)
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rest().is_empty() {
            return write!(f, "{}", self.first);
        }
        let items: Vec<String> =
            std::iter::once(&self.first).chain(self.rest()).map(ToString::to_string).collect();
        write!(f, "[{}]", items.join(" -> "))
    }
}

fn dedup(chains: impl IntoIterator<Item = Chain>) -> Vec<Chain> {
    let mut seen = HashSet::new();
    chains.into_iter().filter(|c| seen.insert(c.hash)).collect()
}

fn chains_matcher(chains: Vec<Chain>) -> IterativeMatcher {
    IterativeMatcher::from_data(IterData::Chains(dedup(chains)))
}

/// The union of matchers: one single-element chain per operand.
pub(crate) fn union(ms: Vec<IterativeMatcher>) -> IterativeMatcher {
    chains_matcher(ms.into_iter().map(Chain::single).collect())
}

enum Continuation {
    Single(Chain),
    PerChild(Vec<Option<Chain>>),
}

pub(crate) fn chains_iterate(
    chains: &[Chain],
    this: &IterativeMatcher,
    circuit: &Circuit,
) -> Result<IterateMatchResults> {
    let mut conts: Vec<Continuation> = Vec::new();
    let mut found = false;
    for chain in chains {
        let mut cur = chain.clone();
        loop {
            let r = cur.first.match_iterate(circuit)?;
            match r.updated {
                Updated::Finished => {}
                Updated::Same => conts.push(Continuation::Single(cur.clone())),
                Updated::All(m) => conts.push(Continuation::Single(cur.with_first(m))),
                Updated::PerChild(v) => {
                    if v.iter().any(Option::is_some) {
                        conts.push(Continuation::PerChild(
                            v.into_iter().map(|m| m.map(|m| cur.with_first(m))).collect(),
                        ));
                    }
                }
            }
            if !r.found {
                break;
            }
            match cur.advance() {
                Some(next) => cur = next,
                None => {
                    found = true;
                    break;
                }
            }
        }
    }
    if conts.is_empty() {
        return Ok(IterateMatchResults::finished(found));
    }
    if conts.iter().any(|c| matches!(c, Continuation::PerChild(_))) {
        let n = circuit.children().len();
        let mut per: Vec<Vec<Chain>> = vec![Vec::new(); n];
        for c in conts {
            match c {
                Continuation::Single(ch) => per.iter_mut().for_each(|v| v.push(ch.clone())),
                Continuation::PerChild(v) => {
                    // Lengths were checked by the head's match_iterate.
                    for (slot, ch) in per.iter_mut().zip(v) {
                        slot.extend(ch);
                    }
                }
            }
        }
        let updated = per
            .into_iter()
            .map(|v| if v.is_empty() { None } else { Some(chains_matcher(v)) })
            .collect();
        return Ok(IterateMatchResults::new(found, Updated::PerChild(updated)));
    }
    let new: Vec<Chain> = conts
        .into_iter()
        .filter_map(|c| match c {
            Continuation::Single(ch) => Some(ch),
            Continuation::PerChild(_) => None,
        })
        .collect();
    // Fast path (the common case): the continuations are exactly the current chains.
    let mut old_hashes: Vec<[u8; 32]> = chains.iter().map(Chain::hash).collect();
    let mut new_hashes: Vec<[u8; 32]> = new.iter().map(Chain::hash).collect();
    old_hashes.sort_unstable();
    new_hashes.sort_unstable();
    new_hashes.dedup();
    if old_hashes == new_hashes {
        return Ok(IterateMatchResults::new(found, Updated::Same));
    }
    let new = chains_matcher(new);
    let updated = if &new == this { Updated::Same } else { Updated::All(new) };
    Ok(IterateMatchResults::new(found, updated))
}

fn sub(m: IterativeMatcher, must_be_sub: bool) -> IterativeMatcher {
    if must_be_sub {
        restrict(m, false, Some(1), None, Matcher::never())
    } else {
        m
    }
}

/// Several chains in one matcher (rust_circuit's `new_chain_many`): found where any
/// chain completes. With `must_be_sub`, every element after the first must match a
/// strict descendant of the node matched by the previous one.
///
/// # Errors
/// [`MatchError::EmptyChain`] if a chain has no elements.
pub fn new_chain_many(
    chains: impl IntoIterator<Item = Vec<IterativeMatcher>>,
    must_be_sub: bool,
) -> Result<IterativeMatcher> {
    let mut out = Vec::new();
    for chain in chains {
        let mut it = chain.into_iter();
        let first = it.next().ok_or(MatchError::EmptyChain)?;
        let rest: Vec<IterativeMatcher> = it.map(|m| sub(m, must_be_sub)).collect();
        out.push(Chain::new(first, Arc::from(rest), 0));
    }
    Ok(chains_matcher(out))
}

impl IterativeMatcher {
    /// `self` then `next` (at the node `self` found or below).
    pub fn chain(&self, next: impl Into<IterativeMatcher>) -> IterativeMatcher {
        self.chain_all([next.into()], false)
    }

    /// `self` then `next` strictly below the node `self` found (`must_be_sub=True`).
    pub fn chain_sub(&self, next: impl Into<IterativeMatcher>) -> IterativeMatcher {
        self.chain_all([next.into()], true)
    }

    /// `self` then each of `rest` in turn (rust_circuit's `chain(*rest, must_be_sub)`).
    pub fn chain_all(
        &self,
        rest: impl IntoIterator<Item = IterativeMatcher>,
        must_be_sub: bool,
    ) -> IterativeMatcher {
        let rest: Vec<IterativeMatcher> = rest.into_iter().map(|m| sub(m, must_be_sub)).collect();
        chains_matcher(vec![Chain::new(self.clone(), Arc::from(rest), 0)])
    }

    /// Several chains that all start with `self` (one per element of `rests`).
    pub fn chain_many(
        &self,
        rests: impl IntoIterator<Item = Vec<IterativeMatcher>>,
        must_be_sub: bool,
    ) -> IterativeMatcher {
        let chains = rests
            .into_iter()
            .map(|rest| {
                let rest: Vec<IterativeMatcher> =
                    rest.into_iter().map(|m| sub(m, must_be_sub)).collect();
                Chain::new(self.clone(), Arc::from(rest), 0)
            })
            .collect();
        chains_matcher(chains)
    }
}
