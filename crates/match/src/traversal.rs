//! Traversal utilities: cut a circuit where a traversal finishes, replacing the nodes
//! there by fresh Symbols, run a function on the small circuit, and put the originals
//! back (`apply_in_traversal`).

use std::collections::{BTreeSet, HashMap};

use circuit_ir::{Circuit, NodeHash};

use crate::error::{MatchError, Result};
use crate::graph::StateGraph;
use crate::iterative::IterativeMatcher;

/// Replaces every node where `traversal` finishes (the node itself included, so a
/// traversal that finishes at the root replaces the root) by a fresh random-uuid Symbol
/// of the same shape named `namer(node)`. Returns the new circuit and the map from each
/// Symbol to the node it stands for. One Symbol is made per distinct replaced node.
///
/// # Errors
/// Matcher errors; rebuild errors.
pub fn replace_outside_traversal_symbols(
    circuit: &Circuit,
    traversal: impl Into<IterativeMatcher>,
    mut namer: impl FnMut(&Circuit) -> Option<String>,
) -> Result<(Circuit, HashMap<Circuit, Circuit>)> {
    let g = StateGraph::explore(circuit, &traversal.into())?;
    let mut out: Vec<Option<Circuit>> = vec![None; g.states.len()];
    let mut symbols: HashMap<NodeHash, Circuit> = HashMap::new();
    let mut back: HashMap<Circuit, Circuit> = HashMap::new();
    for &id in &g.postorder {
        let s = &g.states[id];
        let new = if s.finished {
            match symbols.get(&s.circuit.hash()) {
                Some(sym) => sym.clone(),
                None => {
                    let name = namer(&s.circuit);
                    let sym = Circuit::symbol_random(s.circuit.shape(), name.as_deref())?;
                    symbols.insert(s.circuit.hash(), sym.clone());
                    back.insert(sym.clone(), s.circuit.clone());
                    sym
                }
            }
        } else {
            let mut children = s.circuit.children().to_vec();
            for &(i, child) in &s.edges {
                if let (Some(slot), Some(Some(c))) = (children.get_mut(i), out.get(child)) {
                    *slot = c.clone();
                }
            }
            s.circuit.with_children(children)?
        };
        out[id] = Some(new);
    }
    let root = out
        .get(g.root())
        .cloned()
        .flatten()
        .ok_or_else(|| MatchError::Custom("internal: traversal produced no root".into()))?;
    Ok((root, back))
}

/// The nodes where `traversal` finishes (the cut), ordered by `(name, hash)`.
///
/// # Errors
/// Matcher errors.
pub fn traversal_edges(
    circuit: &Circuit,
    traversal: impl Into<IterativeMatcher>,
) -> Result<BTreeSet<Circuit>> {
    let g = StateGraph::explore(circuit, &traversal.into())?;
    Ok(g.states.iter().filter(|s| s.finished).map(|s| s.circuit.clone()).collect())
}

/// Replaces the nodes outside `traversal` by Symbols named `X_symbol_replacement`, runs
/// `f` on the result, then substitutes the original nodes back for the Symbols. Lets a
/// rewrite operate only on the top part of a circuit.
///
/// # Errors
/// Matcher and rebuild errors (as `E`); `f`'s errors.
pub fn apply_in_traversal<E: From<MatchError>>(
    circuit: &Circuit,
    traversal: impl Into<IterativeMatcher>,
    f: impl FnOnce(&Circuit) -> std::result::Result<Circuit, E>,
) -> std::result::Result<Circuit, E> {
    let (cut, back) = replace_outside_traversal_symbols(circuit, traversal, |c| {
        c.name().map(|n| format!("{n}_symbol_replacement"))
    })?;
    let applied = f(&cut)?;
    let restored = applied.map_bottom_up(|c| -> Result<Circuit> {
        Ok(back.get(c).cloned().unwrap_or_else(|| c.clone()))
    })?;
    Ok(restored)
}

impl IterativeMatcher {
    /// See [`apply_in_traversal`].
    ///
    /// # Errors
    /// See [`apply_in_traversal`].
    pub fn apply_in_traversal<E: From<MatchError>>(
        &self,
        circuit: &Circuit,
        f: impl FnOnce(&Circuit) -> std::result::Result<Circuit, E>,
    ) -> std::result::Result<Circuit, E> {
        apply_in_traversal(circuit, self, f)
    }

    /// See [`traversal_edges`].
    ///
    /// # Errors
    /// See [`traversal_edges`].
    pub fn traversal_edges(&self, circuit: &Circuit) -> Result<BTreeSet<Circuit>> {
        traversal_edges(circuit, self)
    }
}
