//! Iterative traversals (never recursive, so deep circuits cannot overflow the stack).

use crate::node::{NodeHash, NodeSet};
use crate::Circuit;

/// All distinct nodes reachable from `roots`, children before parents, in a
/// deterministic order (depth-first, children in order).
pub fn toposort(roots: &[Circuit]) -> Vec<Circuit> {
    let mut out = Vec::new();
    let mut done: NodeSet<NodeHash> = NodeSet::default();
    let mut stack: Vec<(Circuit, usize)> = Vec::new();
    for root in roots {
        if done.contains(&root.hash()) {
            continue;
        }
        stack.push((root.clone(), 0));
        while let Some((node, next)) = stack.pop() {
            if let Some(child) = node.children().get(next) {
                let child = child.clone();
                stack.push((node, next + 1));
                if !done.contains(&child.hash()) {
                    stack.push((child, 0));
                }
            } else if done.insert(node.hash()) {
                out.push(node);
            }
        }
    }
    out
}

/// All distinct nodes reachable from `roots`, parents before children (pre-order,
/// first visit wins).
pub fn preorder(roots: &[Circuit]) -> Vec<Circuit> {
    let mut out = Vec::new();
    let mut seen: NodeSet<NodeHash> = NodeSet::default();
    let mut stack: Vec<Circuit> = roots.iter().rev().cloned().collect();
    while let Some(node) = stack.pop() {
        if !seen.insert(node.hash()) {
            continue;
        }
        for c in node.children().iter().rev() {
            if !seen.contains(&c.hash()) {
                stack.push(c.clone());
            }
        }
        out.push(node);
    }
    out
}

/// Number of distinct nodes.
pub fn count_nodes(roots: &[Circuit]) -> usize {
    toposort(roots).len()
}

impl Circuit {
    /// Distinct nodes below and including this one, children first.
    pub fn toposort(&self) -> Vec<Circuit> {
        toposort(std::slice::from_ref(self))
    }

    /// Rebuilds the circuit bottom-up, replacing each node by `f(node, new_children)`
    /// (`f` receives the node with its children already mapped). Memoized by hash, so
    /// shared nodes are mapped once.
    ///
    /// # Errors
    /// The first error returned by `f`.
    pub fn map_bottom_up<E>(
        &self,
        mut f: impl FnMut(&Circuit) -> Result<Circuit, E>,
    ) -> Result<Circuit, E>
    where
        E: From<crate::IrError>,
    {
        let mut memo: std::collections::HashMap<NodeHash, Circuit> =
            std::collections::HashMap::new();
        for node in self.toposort() {
            let children: Vec<Circuit> = node
                .children()
                .iter()
                .map(|c| memo.get(&c.hash()).cloned().unwrap_or_else(|| c.clone()))
                .collect();
            let rebuilt = node.with_children(children)?;
            let mapped = f(&rebuilt)?;
            memo.insert(node.hash(), mapped);
        }
        Ok(memo.remove(&self.hash()).unwrap_or_else(|| self.clone()))
    }
}
