//! A greedy minimiser for failing circuits: repeatedly tries smaller variants (drop a
//! root, replace a node by a same-shape child or by a plain Scalar, drop a name) and keeps
//! any that still fails.

use std::collections::{HashMap, HashSet};

use circuit_ir::{Circuit, IrError, NodeHash, Op};

/// A size measure that every accepted step strictly decreases: (distinct nodes plus
/// roots, nodes that are not Scalars, named nodes plus name length, Scalars whose value
/// is not 1).
pub fn measure(roots: &[Circuit]) -> (usize, usize, usize, usize) {
    let nodes = circuit_ir::traversal::toposort(roots);
    let non_scalar = nodes.iter().filter(|c| !matches!(c.op(), Op::Scalar(_))).count();
    let names = nodes.iter().filter_map(|c| c.name()).map(|n| 1 + n.chars().count()).sum();
    let values = nodes
        .iter()
        .filter(|c| matches!(c.op(), Op::Scalar(s) if s.value.to_bits() != 1f64.to_bits()))
        .count();
    (nodes.len() + roots.len(), non_scalar, names, values)
}

/// Replaces every occurrence of the node with hash `target` by `new`, rebuilding the
/// ancestors.
///
/// Ancestors are rebuilt fresh (so they inherit named axes from their new children);
/// only named axes that the original node set explicitly (that differ from what it
/// inherits) are applied again. (Keeping the old named axes, as
/// [`Circuit::with_children`] does, could leave names the new children no longer
/// justify, which the text format cannot represent.)
///
/// # Errors
/// When a parent does not accept the replacement.
pub fn replace_node(
    roots: &[Circuit],
    target: NodeHash,
    new: &Circuit,
) -> Result<Vec<Circuit>, IrError> {
    let mut memo: HashMap<NodeHash, Circuit> = HashMap::new();
    for node in circuit_ir::traversal::toposort(roots) {
        let mapped = if node.hash() == target {
            new.clone()
        } else {
            let children: Vec<Circuit> = node
                .children()
                .iter()
                .map(|c| memo.get(&c.hash()).cloned().unwrap_or_else(|| c.clone()))
                .collect();
            if children.iter().zip(node.children()).all(|(a, b)| a == b) {
                node.clone()
            } else {
                rebuild(&node, children)?
            }
        };
        memo.insert(node.hash(), mapped);
    }
    Ok(roots.iter().map(|r| memo.get(&r.hash()).cloned().unwrap_or_else(|| r.clone())).collect())
}

fn rebuild_op(node: &Circuit, op: Op) -> Result<Circuit, IrError> {
    let c = Circuit::build(
        op,
        node.children().to_vec(),
        node.name_arc().cloned(),
        node.autoname_disabled_here(),
    )?;
    if node.named_axes().is_empty() {
        Ok(c)
    } else {
        c.with_named_axes(node.named_axes().clone())
    }
}

fn rebuild(node: &Circuit, children: Vec<Circuit>) -> Result<Circuit, IrError> {
    let build = |children: Vec<Circuit>| {
        Circuit::build(
            node.op().clone(),
            children,
            node.name_arc().cloned(),
            node.autoname_disabled_here(),
        )
    };
    let natural = build(node.children().to_vec())?;
    let fresh = build(children)?;
    if natural.named_axes() != node.named_axes() && !node.named_axes().is_empty() {
        fresh.with_named_axes(node.named_axes().clone())
    } else {
        Ok(fresh)
    }
}

fn candidates(roots: &[Circuit]) -> Vec<Vec<Circuit>> {
    let mut out = Vec::new();
    if roots.len() > 1 {
        for i in 0..roots.len() {
            let mut r = roots.to_vec();
            r.remove(i);
            out.push(r);
        }
    }
    for (i, root) in roots.iter().enumerate() {
        // a root has no parent, so any child may replace it
        for child in root.children() {
            let mut r = roots.to_vec();
            r[i] = child.clone();
            out.push(r);
        }
    }
    let mut seen: HashSet<NodeHash> = HashSet::new();
    for node in circuit_ir::traversal::preorder(roots) {
        if !seen.insert(node.hash()) {
            continue;
        }
        let mut replacements: Vec<Circuit> =
            node.children().iter().filter(|c| c.shape() == node.shape()).cloned().collect();
        if let Ok(s) = Circuit::scalar(1.0, node.shape(), None) {
            replacements.push(s);
        }
        if let Op::Scalar(s) = node.op() {
            // the same scalar with value 1 (keeps name, `AD` and named axes)
            let one = circuit_ir::kinds::Scalar { value: 1.0, shape: s.shape.clone() };
            if let Ok(c) = rebuild_op(&node, Op::Scalar(one)) {
                replacements.push(c);
            }
        }
        if node.name().is_some() {
            if let Ok(r) = node.rename(None) {
                replacements.push(r);
            }
        }
        for new in replacements {
            if new == node {
                continue;
            }
            if let Ok(r) = replace_node(roots, node.hash(), &new) {
                out.push(r);
            }
        }
    }
    out
}

/// Greedily shrinks `roots` while `fails` holds, trying at most `max_tries` candidates.
/// Returns the smallest failing roots found (the input if nothing smaller fails).
pub fn minimize(
    roots: Vec<Circuit>,
    mut fails: impl FnMut(&[Circuit]) -> bool,
    max_tries: usize,
) -> Vec<Circuit> {
    let mut best = roots;
    let mut best_size = measure(&best);
    let mut tries = 0;
    'outer: loop {
        for cand in candidates(&best) {
            if tries >= max_tries {
                break 'outer;
            }
            let size = measure(&cand);
            if size >= best_size {
                continue;
            }
            tries += 1;
            if fails(&cand) {
                best = cand;
                best_size = size;
                continue 'outer;
            }
        }
        break;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_to_the_culprit() {
        let a = Circuit::scalar(1.0, &[2], Some("a")).unwrap_or_else(|e| panic!("{e}"));
        let bad = Circuit::scalar(2.0, &[2], Some("bad")).unwrap_or_else(|e| panic!("{e}"));
        let sum = a.add(&bad).and_then(|s| s.add(&a)).unwrap_or_else(|e| panic!("{e}"));
        let has_bad = |roots: &[Circuit]| {
            circuit_ir::traversal::toposort(roots).iter().any(|c| c.name() == Some("bad"))
        };
        let min = minimize(vec![sum], has_bad, 1000);
        assert_eq!(measure(&min).0, 2, "{min:?}");
        assert_eq!(min[0].name(), Some("bad"));
    }
}
