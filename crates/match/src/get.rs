//! Getting: the set of found nodes, unique lookups, paths to found nodes, and the
//! short-circuiting existence test. All are memoized on `(node hash, matcher)`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use circuit_ir::Circuit;

use crate::error::{MatchError, Result};
use crate::graph::StateGraph;
use crate::iterative::{IterativeMatcher, StateKey};
use crate::matcher::Matcher;

/// Every node the matcher finds, ordered by `(name, hash)`.
///
/// # Errors
/// Errors raised by the matcher (see [`IterativeMatcher::match_iterate`]).
pub fn get(circuit: &Circuit, matcher: impl Into<IterativeMatcher>) -> Result<BTreeSet<Circuit>> {
    get_with(circuit, matcher, false)
}

/// [`get`], then (with `fancy_validate`) checks that every leaf of the matcher
/// expression contributed (see [`crate::validate`]).
///
/// # Errors
/// Matcher errors; [`MatchError::Validation`].
pub fn get_with(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
    fancy_validate: bool,
) -> Result<BTreeSet<Circuit>> {
    let matcher = matcher.into();
    let g = StateGraph::explore(circuit, &matcher)?;
    let found: BTreeSet<Circuit> =
        g.states.iter().filter(|s| s.found).map(|s| s.circuit.clone()).collect();
    if fancy_validate {
        crate::validate::validate_matched(&matcher, &found, circuit)?;
    }
    Ok(found)
}

/// The only node the matcher finds, or `None`.
///
/// # Errors
/// [`MatchError::NotUnique`] if it finds more than one; matcher errors.
pub fn get_unique_op(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
) -> Result<Option<Circuit>> {
    let matcher = matcher.into();
    let found = get(circuit, matcher.clone())?;
    if found.len() > 1 {
        return Err(MatchError::NotUnique {
            matcher: matcher.to_string(),
            count: found.len(),
            found: found.iter().take(10).map(Circuit::node_ref).collect(),
        });
    }
    Ok(found.into_iter().next())
}

/// The only node the matcher finds.
///
/// # Errors
/// [`MatchError::NotFound`] if it finds none, [`MatchError::NotUnique`] if several.
pub fn get_unique(circuit: &Circuit, matcher: impl Into<IterativeMatcher>) -> Result<Circuit> {
    let matcher = matcher.into();
    get_unique_op(circuit, matcher.clone())?
        .ok_or_else(|| MatchError::NotFound { matcher: matcher.to_string() })
}

/// For each found node, one path `[node, parent, …, root]` by which the matcher reached
/// it: the first one in depth-first pre-order (children in order).
///
/// # Errors
/// Matcher errors.
pub fn get_paths(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
) -> Result<BTreeMap<Circuit, Vec<Circuit>>> {
    let g = StateGraph::explore(circuit, &matcher.into())?;
    let mut out: BTreeMap<Circuit, Vec<Circuit>> = BTreeMap::new();
    for &id in &g.preorder {
        let s = &g.states[id];
        if !s.found || out.contains_key(&s.circuit) {
            continue;
        }
        let mut path = vec![s.circuit.clone()];
        let mut cur = s.creator;
        while let Some(p) = cur {
            path.push(g.states[p].circuit.clone());
            cur = g.states[p].creator;
        }
        out.insert(s.circuit.clone(), path);
    }
    Ok(out)
}

/// States from which a found state is reachable (themselves included).
fn useful_states(g: &StateGraph) -> Vec<bool> {
    let mut useful = vec![false; g.states.len()];
    for &id in &g.postorder {
        let s = &g.states[id];
        useful[id] = s.found || s.edges.iter().any(|&(_, c)| useful[c]);
    }
    useful
}

/// For each found node, every path `[node, parent, …, root]` by which the matcher
/// reaches it (a child appearing twice under a parent gives two paths). The output can
/// be exponential in the circuit size; the work is linear in the output.
///
/// # Errors
/// Matcher errors.
pub fn get_all_paths(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
) -> Result<BTreeMap<Circuit, Vec<Vec<Circuit>>>> {
    let g = StateGraph::explore(circuit, &matcher.into())?;
    let useful = useful_states(&g);
    let mut out: BTreeMap<Circuit, Vec<Vec<Circuit>>> = BTreeMap::new();
    let root = g.root();
    if !useful[root] {
        return Ok(out);
    }
    let mut path: Vec<Circuit> = vec![g.states[root].circuit.clone()];
    let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
    if g.states[root].found {
        out.entry(g.states[root].circuit.clone()).or_default().push(path.clone());
    }
    while let Some(top) = stack.last_mut() {
        let (id, pos) = *top;
        if let Some(&(_, child)) = g.states[id].edges.get(pos) {
            top.1 += 1;
            if useful[child] {
                let s = &g.states[child];
                path.push(s.circuit.clone());
                if s.found {
                    let rev: Vec<Circuit> = path.iter().rev().cloned().collect();
                    out.entry(s.circuit.clone()).or_default().push(rev);
                }
                stack.push((child, 0));
            }
        } else {
            stack.pop();
            path.pop();
        }
    }
    Ok(out)
}

/// Every node on some path from the root to a found node.
///
/// # Errors
/// Matcher errors.
pub fn get_all_circuits_in_paths(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
) -> Result<BTreeSet<Circuit>> {
    let g = StateGraph::explore(circuit, &matcher.into())?;
    let useful = useful_states(&g);
    Ok(g.states.iter().zip(useful).filter(|(_, u)| *u).map(|(s, _)| s.circuit.clone()).collect())
}

/// Whether the matcher finds anything; stops at the first found node.
///
/// # Errors
/// Matcher errors.
pub fn are_any_found(circuit: &Circuit, matcher: impl Into<IterativeMatcher>) -> Result<bool> {
    any_found_memo(circuit, &matcher.into(), &mut HashMap::new())
}

/// [`are_any_found`] with a memo of `(node, matcher) -> found anything below` that
/// persists across calls.
pub(crate) fn any_found_memo(
    circuit: &Circuit,
    matcher: &IterativeMatcher,
    cache: &mut HashMap<StateKey, bool>,
) -> Result<bool> {
    struct Frame {
        key: StateKey,
        children: Vec<(Circuit, IterativeMatcher)>,
        pos: usize,
    }
    let mark_stack_true = |stack: &[Frame], cache: &mut HashMap<StateKey, bool>| {
        for f in stack {
            cache.insert(f.key.clone(), true);
        }
    };
    // Returns Ok(None) when entered (frame pushed), Ok(Some(true)) when found here.
    let enter = |c: &Circuit, m: &IterativeMatcher, stack: &mut Vec<Frame>| -> Result<bool> {
        let r = m.match_iterate(c)?;
        if r.found {
            return Ok(true);
        }
        let mut children = Vec::new();
        if !r.updated.is_finished() {
            let per = r.updated.per_child(m, c.children().len());
            for (child, cm) in c.children().iter().zip(per) {
                if let Some(cm) = cm {
                    children.push((child.clone(), cm));
                }
            }
        }
        stack.push(Frame { key: (c.hash(), m.clone()), children, pos: 0 });
        Ok(false)
    };
    let root_key = (circuit.hash(), matcher.clone());
    if let Some(&b) = cache.get(&root_key) {
        return Ok(b);
    }
    let mut stack: Vec<Frame> = Vec::new();
    if enter(circuit, matcher, &mut stack)? {
        cache.insert(root_key, true);
        return Ok(true);
    }
    while let Some(top) = stack.last_mut() {
        if let Some((child, cm)) = top.children.get(top.pos).cloned() {
            top.pos += 1;
            match cache.get(&(child.hash(), cm.clone())) {
                Some(true) => {
                    mark_stack_true(&stack, cache);
                    return Ok(true);
                }
                Some(false) => {}
                None => {
                    if enter(&child, &cm, &mut stack)? {
                        cache.insert((child.hash(), cm), true);
                        mark_stack_true(&stack, cache);
                        return Ok(true);
                    }
                }
            }
        } else if let Some(f) = stack.pop() {
            cache.insert(f.key, false);
        }
    }
    Ok(false)
}

/// Runs [`get_with`] with fancy validation and discards the result.
///
/// # Errors
/// Matcher errors; [`MatchError::Validation`].
pub fn validate(circuit: &Circuit, matcher: impl Into<IterativeMatcher>) -> Result<()> {
    get_with(circuit, matcher, true).map(|_| ())
}

impl IterativeMatcher {
    /// See [`get`].
    ///
    /// # Errors
    /// See [`get`].
    pub fn get(&self, circuit: &Circuit) -> Result<BTreeSet<Circuit>> {
        get(circuit, self)
    }

    /// See [`get_unique`].
    ///
    /// # Errors
    /// See [`get_unique`].
    pub fn get_unique(&self, circuit: &Circuit) -> Result<Circuit> {
        get_unique(circuit, self)
    }

    /// See [`get_unique_op`].
    ///
    /// # Errors
    /// See [`get_unique_op`].
    pub fn get_unique_op(&self, circuit: &Circuit) -> Result<Option<Circuit>> {
        get_unique_op(circuit, self)
    }

    /// See [`get_paths`].
    ///
    /// # Errors
    /// See [`get_paths`].
    pub fn get_paths(&self, circuit: &Circuit) -> Result<BTreeMap<Circuit, Vec<Circuit>>> {
        get_paths(circuit, self)
    }

    /// See [`get_all_paths`].
    ///
    /// # Errors
    /// See [`get_all_paths`].
    pub fn get_all_paths(&self, circuit: &Circuit) -> Result<BTreeMap<Circuit, Vec<Vec<Circuit>>>> {
        get_all_paths(circuit, self)
    }

    /// See [`are_any_found`].
    ///
    /// # Errors
    /// See [`are_any_found`].
    pub fn are_any_found(&self, circuit: &Circuit) -> Result<bool> {
        are_any_found(circuit, self)
    }

    /// See [`validate`].
    ///
    /// # Errors
    /// See [`validate`].
    pub fn validate(&self, circuit: &Circuit) -> Result<()> {
        validate(circuit, self)
    }
}

impl Matcher {
    /// Every matching node (see [`get`]).
    ///
    /// # Errors
    /// See [`get`].
    pub fn get(&self, circuit: &Circuit) -> Result<BTreeSet<Circuit>> {
        get(circuit, self)
    }

    /// The only matching node (see [`get_unique`]).
    ///
    /// # Errors
    /// See [`get_unique`].
    pub fn get_unique(&self, circuit: &Circuit) -> Result<Circuit> {
        get_unique(circuit, self)
    }
}
