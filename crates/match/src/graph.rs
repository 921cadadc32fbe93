//! The state graph behind every traversal: nodes paired with the matcher state that
//! reaches them. Each distinct `(node hash, matcher)` pair is matched exactly once, so a
//! traversal of a heavily shared DAG is linear in the number of such pairs, never in
//! the number of paths. Built with an explicit stack (no recursion on circuit depth).

use std::collections::HashMap;

use circuit_ir::Circuit;

use crate::error::Result;
use crate::iterative::{IterativeMatcher, StateKey};

/// One `(node, matcher)` pair.
pub(crate) struct State {
    pub(crate) circuit: Circuit,
    pub(crate) matcher: IterativeMatcher,
    pub(crate) found: bool,
    /// The matcher finished here (nothing below is visited).
    pub(crate) finished: bool,
    /// `(child index, child state)` for every child the matcher continues into, in
    /// child order (a child appearing twice gives two edges).
    pub(crate) edges: Vec<(usize, usize)>,
    /// The state that first reached this one (`None` for the root).
    pub(crate) creator: Option<usize>,
}

/// All states reachable from the root state.
pub(crate) struct StateGraph {
    pub(crate) states: Vec<State>,
    /// States in depth-first pre-order (children in order).
    pub(crate) preorder: Vec<usize>,
    /// States in depth-first post-order (every state after all its children).
    pub(crate) postorder: Vec<usize>,
}

impl StateGraph {
    /// Explores every state reachable from `(root, matcher)`.
    pub(crate) fn explore(root: &Circuit, matcher: &IterativeMatcher) -> Result<StateGraph> {
        let mut g = Builder { states: Vec::new(), index: HashMap::new(), expanded: Vec::new() };
        g.state_for(root, matcher, None);
        g.expand(0)?;
        let mut preorder = vec![0];
        let mut postorder = Vec::new();
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        while let Some(top) = stack.last_mut() {
            let (id, pos) = *top;
            if let Some(&(_, child)) = g.states[id].edges.get(pos) {
                top.1 += 1;
                if !g.expanded[child] {
                    g.expand(child)?;
                    preorder.push(child);
                    stack.push((child, 0));
                }
            } else {
                stack.pop();
                postorder.push(id);
            }
        }
        Ok(StateGraph { states: g.states, preorder, postorder })
    }

    /// The root state.
    pub(crate) fn root(&self) -> usize {
        0
    }
}

struct Builder {
    states: Vec<State>,
    index: HashMap<StateKey, usize>,
    expanded: Vec<bool>,
}

impl Builder {
    fn state_for(&mut self, c: &Circuit, m: &IterativeMatcher, creator: Option<usize>) -> usize {
        let key = (c.hash(), m.clone());
        if let Some(&id) = self.index.get(&key) {
            return id;
        }
        let id = self.states.len();
        self.states.push(State {
            circuit: c.clone(),
            matcher: m.clone(),
            found: false,
            finished: false,
            edges: Vec::new(),
            creator,
        });
        self.expanded.push(false);
        self.index.insert(key, id);
        id
    }

    fn expand(&mut self, id: usize) -> Result<()> {
        self.expanded[id] = true;
        let circuit = self.states[id].circuit.clone();
        let matcher = self.states[id].matcher.clone();
        let r = matcher.match_iterate(&circuit)?;
        self.states[id].found = r.found;
        if r.updated.is_finished() {
            self.states[id].finished = true;
            return Ok(());
        }
        let per = r.updated.per_child(&matcher, circuit.children().len());
        let mut edges = Vec::new();
        for (i, (child, m)) in circuit.children().iter().zip(per).enumerate() {
            if let Some(m) = m {
                edges.push((i, self.state_for(child, &m, Some(id))));
            }
        }
        self.states[id].edges = edges;
        Ok(())
    }
}
