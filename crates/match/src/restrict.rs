//! `restrict`: depth windows and termination around an iterative matcher, and the
//! traversal helpers built on it (`new_traversal`, `traverse_until_depth`).
//!
//! Depth is counted from the node where the restricted matcher is first applied (depth
//! 0). At each node: past `end_depth` nothing is found and nothing below is visited;
//! otherwise the inner matcher runs, its `found` is suppressed before `start_depth`, and
//! the matcher finishes if the inner one finished, if it found something and
//! `term_if_matches` is set, at depth `end_depth - 1` (so `end_depth` is exclusive), or
//! at a node matching `term_early_at` (that node can still be found).

use std::fmt;
use std::ops::{Bound, RangeBounds};

use circuit_ir::{Circuit, Kind};

use crate::error::Result;
use crate::hash::{u64_of, StructHasher};
use crate::iterative::{IterData, IterateMatchResults, IterativeMatcher, Updated};
use crate::matcher::Matcher;

/// The state of a restricted matcher.
#[derive(Clone)]
pub(crate) struct Restrict {
    pub(crate) inner: IterativeMatcher,
    pub(crate) term_if_matches: bool,
    pub(crate) start_depth: Option<usize>,
    pub(crate) end_depth: Option<usize>,
    pub(crate) term_early_at: Matcher,
    pub(crate) depth: usize,
}

impl Restrict {
    pub(crate) fn hash(&self) -> [u8; 32] {
        StructHasher::new("it-restrict")
            .bytes(&self.inner.hash_bytes())
            .bool(self.term_if_matches)
            .opt_u64(self.start_depth.map(u64_of))
            .opt_u64(self.end_depth.map(u64_of))
            .bytes(&self.term_early_at.hash_bytes())
            .u64(u64_of(self.depth))
            .finish()
    }

    pub(crate) fn match_iterate(&self, circuit: &Circuit) -> Result<IterateMatchResults> {
        if self.end_depth.is_some_and(|end| self.depth >= end) {
            return Ok(IterateMatchResults::finished(false));
        }
        let IterateMatchResults { found, updated } = self.inner.match_iterate(circuit)?;
        let before_start = self.start_depth.is_some_and(|start| self.depth < start);
        let found = found && !before_start;
        let reached_end = self.end_depth.is_some_and(|end| self.depth >= end.saturating_sub(1));
        if updated.is_finished()
            || (found && self.term_if_matches)
            || reached_end
            || self.term_early_at.call(circuit)?
        {
            return Ok(IterateMatchResults::finished(found));
        }
        let needs_depth = self.end_depth.is_some() || before_start;
        let (updated, depth) = if needs_depth {
            let updated = match updated {
                Updated::Same => Updated::All(self.inner.clone()),
                other => other,
            };
            (updated, self.depth + 1)
        } else {
            (updated, self.depth)
        };
        let updated = updated.map(|inner| {
            IterativeMatcher::from_data(IterData::Restrict(Restrict {
                inner,
                depth,
                term_early_at: self.term_early_at.clone(),
                ..*self
            }))
        });
        Ok(IterateMatchResults { found, updated })
    }
}

/// Wraps `matcher` in a depth window / termination rule (see the module docs).
/// `start_depth` is inclusive, `end_depth` exclusive; both count from the node where the
/// result is first applied.
pub fn restrict(
    matcher: impl Into<IterativeMatcher>,
    term_if_matches: bool,
    start_depth: Option<usize>,
    end_depth: Option<usize>,
    term_early_at: impl Into<Matcher>,
) -> IterativeMatcher {
    IterativeMatcher::from_data(IterData::Restrict(Restrict {
        inner: matcher.into(),
        term_if_matches,
        start_depth,
        end_depth,
        term_early_at: term_early_at.into(),
        depth: 0,
    }))
}

/// [`restrict`] with the depth window as a range (`2..`, `..3`, `1..=4`), like the
/// reference's `restrict_sl`.
pub fn restrict_range(
    matcher: impl Into<IterativeMatcher>,
    term_if_matches: bool,
    depths: impl RangeBounds<usize>,
    term_early_at: impl Into<Matcher>,
) -> IterativeMatcher {
    let start = match depths.start_bound() {
        Bound::Unbounded => None,
        Bound::Included(&x) => Some(x),
        Bound::Excluded(&x) => Some(x.saturating_add(1)),
    };
    let end = match depths.end_bound() {
        Bound::Unbounded => None,
        Bound::Included(&x) => Some(x.saturating_add(1)),
        Bound::Excluded(&x) => Some(x),
    };
    restrict(matcher, term_if_matches, start, end, term_early_at)
}

/// Matches every node in the depth window `[start_depth, end_depth)`, not descending
/// below nodes matching `term_early_at` (`restrict(always, …)`).
pub fn new_traversal(
    start_depth: Option<usize>,
    end_depth: Option<usize>,
    term_early_at: impl Into<Matcher>,
) -> IterativeMatcher {
    restrict(Matcher::always(), false, start_depth, end_depth, term_early_at)
}

/// Matches every node at depth `<= depth` (`new_traversal(end_depth = depth + 1)`).
pub fn traverse_until_depth(depth: usize) -> IterativeMatcher {
    new_traversal(None, Some(depth.saturating_add(1)), Matcher::never())
}

/// The traversal used by index push-down: everything, stopping at Index and Array
/// nodes.
pub fn default_index_traversal() -> IterativeMatcher {
    new_traversal(None, None, Matcher::kinds([Kind::Index, Kind::Array]))
}

/// Options for [`IterativeMatcher::restricted`], a builder for [`restrict`].
#[derive(Clone, Debug, Default)]
pub struct RestrictOptions {
    /// Finish below the first found node on each path.
    pub term_if_matches: bool,
    /// First depth (inclusive) at which nodes may be found.
    pub start_depth: Option<usize>,
    /// Depth (exclusive) at which the traversal stops.
    pub end_depth: Option<usize>,
    /// Do not descend below nodes matching this (default: never).
    pub term_early_at: Option<Matcher>,
}

impl RestrictOptions {
    /// All defaults (no restriction).
    pub fn new() -> RestrictOptions {
        RestrictOptions::default()
    }

    /// Sets `term_if_matches`.
    pub fn term_if_matches(mut self, b: bool) -> RestrictOptions {
        self.term_if_matches = b;
        self
    }

    /// Sets `start_depth`.
    pub fn start_depth(mut self, d: usize) -> RestrictOptions {
        self.start_depth = Some(d);
        self
    }

    /// Sets `end_depth`.
    pub fn end_depth(mut self, d: usize) -> RestrictOptions {
        self.end_depth = Some(d);
        self
    }

    /// Sets `term_early_at`.
    pub fn term_early_at(mut self, m: impl Into<Matcher>) -> RestrictOptions {
        self.term_early_at = Some(m.into());
        self
    }
}

impl IterativeMatcher {
    /// `restrict(self, …)` with options from a builder.
    pub fn restricted(&self, opts: RestrictOptions) -> IterativeMatcher {
        restrict(
            self.clone(),
            opts.term_if_matches,
            opts.start_depth,
            opts.end_depth,
            opts.term_early_at.unwrap_or_else(Matcher::never),
        )
    }
}

impl fmt::Display for Restrict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries = Vec::new();
        if self.start_depth.is_some() || self.end_depth.is_some() {
            let s = self.start_depth.map(|x| x.to_string()).unwrap_or_default();
            let e = self.end_depth.map(|x| x.to_string()).unwrap_or_default();
            entries.push(format!("depth_range: {s}:{e}"));
        }
        if self.inner != IterativeMatcher::from(Matcher::always()) {
            entries.push(format!("matcher: {}", self.inner));
        }
        if self.term_early_at != Matcher::never() {
            entries.push(format!("term_at: {}", self.term_early_at));
        }
        if self.term_if_matches {
            entries.push("term_if_matches: true".to_owned());
        }
        if self.depth != 0 {
            entries.push(format!("cur_depth: {}", self.depth));
        }
        write!(f, "Restrict{{{}}}", entries.join(", "))
    }
}
