//! Replace-expand: replace nodes (found top-down; nothing below a replaced node is
//! visited) and rebuild the ancestors with `expand_node`, so replacements may gain
//! leading batch dims or concrete sizes for symbolic ones.

use circuit_ir::expand::expand_node;
use circuit_ir::size_map::SizeMap;
use circuit_ir::{Circuit, NodeHash, NodeMap, NodeSet};

use crate::{Result, RewriteError};

/// Replaces each node for which `f` returns `Some` and rebuilds the nodes above with
/// `expand_node` (batch dims propagate to every ancestor).
///
/// # Errors
/// `f`'s errors; expansion errors (batch shapes that disagree, a fixed index axis that
/// changes size, ...).
pub fn replace_expand_bottom_up(
    circuit: &Circuit,
    mut f: impl FnMut(&Circuit) -> Result<Option<Circuit>>,
) -> Result<Circuit> {
    const RULE: &str = "replace_expand_bottom_up";
    let mut replaced: NodeMap<NodeHash, Circuit> = NodeMap::default();
    let mut visited: NodeSet<NodeHash> = NodeSet::default();
    let mut stack = vec![circuit.clone()];
    while let Some(node) = stack.pop() {
        if !visited.insert(node.hash()) {
            continue;
        }
        if let Some(r) = f(&node)? {
            replaced.insert(node.hash(), r);
            continue;
        }
        stack.extend(node.children().iter().rev().cloned());
    }
    let mut memo: NodeMap<NodeHash, Circuit> = NodeMap::default();
    for node in circuit.toposort() {
        if !visited.contains(&node.hash()) {
            continue;
        }
        if let Some(r) = replaced.get(&node.hash()) {
            memo.insert(node.hash(), r.clone());
            continue;
        }
        let kids: Vec<Circuit> = node
            .children()
            .iter()
            .map(|c| memo.get(&c.hash()).cloned().unwrap_or_else(|| c.clone()))
            .collect();
        let out = expand_node(&node, kids, &SizeMap::default())
            .map_err(RewriteError::construct(RULE, &node))?;
        memo.insert(node.hash(), out);
    }
    Ok(memo.remove(&circuit.hash()).unwrap_or_else(|| circuit.clone()))
}

/// [`replace_expand_bottom_up`] with a map from old nodes to new ones.
///
/// # Errors
/// See [`replace_expand_bottom_up`].
pub fn replace_expand_bottom_up_dict(
    circuit: &Circuit,
    map: &NodeMap<Circuit, Circuit>,
) -> Result<Circuit> {
    replace_expand_bottom_up(circuit, |c| Ok(map.get(c).cloned()))
}
