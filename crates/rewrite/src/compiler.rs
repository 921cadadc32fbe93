//! The evaluator's compiler passes ([`COMPILER_PASSES`]) and their bottom-up driver
//! [`simplify`], used by `circuit-eval` before einsum path optimization and scheduling.
//!
//! Every pass is a plain function `fn(&Circuit) -> Result<Option<Circuit>>` that looks at
//! **one node** (whose children are already simplified) and returns `Some(replacement)`
//! when it applies. Within [`simplify`], the splicing passes leave alone a child that has
//! several parents in the input circuit ([`is_shared`]): splicing it would compute its
//! work once per parent instead of once.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use circuit_ir::{Circuit, IrError, NodeHash};

use crate::{
    add_flatten, drop_identities, einsum_flatten, einsum_of_permute_merge, fold_scalars,
    rearrange_fuse,
};

/// Result alias: passes fail only when rebuilding a node fails validation, which would be
/// a bug in the pass (the replacement is constructed to be valid).
pub type PassResult<T, E = IrError> = std::result::Result<T, E>;

/// The signature of a pass: `Some(replacement)` when it applies to this node.
pub type PassFn = fn(&Circuit) -> PassResult<Option<Circuit>>;

/// A named pass.
#[derive(Clone, Copy)]
pub struct Pass {
    /// Short name (used in logs and `--explain`).
    pub name: &'static str,
    /// The function.
    pub run: PassFn,
}

impl std::fmt::Debug for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The passes the evaluator's compiler runs, in the order they are tried on each node.
pub const COMPILER_PASSES: &[Pass] = &[
    Pass { name: "drop_identities", run: drop_identities },
    Pass { name: "add_flatten", run: add_flatten },
    Pass { name: "einsum_flatten", run: einsum_flatten },
    Pass { name: "einsum_of_permute_merge", run: einsum_of_permute_merge },
    Pass { name: "fold_scalars", run: fold_scalars },
    Pass { name: "rearrange_fuse", run: rearrange_fuse },
];

/// How many times the passes may rewrite one node before [`simplify`] moves on (a guard
/// against a pair of passes undoing each other; none of ours do).
const MAX_REWRITES_PER_NODE: usize = 64;

/// Applies `passes` to every node, children first, until none applies; returns the
/// simplified circuit. A node produced by a pass is itself simplified again (its new
/// children are already simplified, having come from simplified nodes).
///
/// # Errors
/// Only if a pass builds an invalid node (a bug).
pub fn simplify(circuit: &Circuit, passes: &[Pass]) -> PassResult<Circuit> {
    let mut memo: HashMap<NodeHash, Circuit> = HashMap::new();
    let shared = shared_nodes(circuit);
    let _guard = SharedGuard::new();
    simplify_memo(circuit, passes, &mut memo, &shared)
}

thread_local! {
    /// Hashes of simplified nodes whose originals have several parents (set while
    /// [`simplify`] runs on this thread).
    static SHARED: RefCell<HashSet<NodeHash>> = RefCell::new(HashSet::new());
}

/// Clears [`SHARED`] when a [`simplify`] call ends (also on early return).
struct SharedGuard;

impl SharedGuard {
    fn new() -> SharedGuard {
        SHARED.with(|s| s.borrow_mut().clear());
        SharedGuard
    }
}

impl Drop for SharedGuard {
    fn drop(&mut self) {
        SHARED.with(|s| s.borrow_mut().clear());
    }
}

/// Whether `c` stands for a node with several parents in the circuit [`simplify`] is
/// working on (always `false` outside [`simplify`]).
pub fn is_shared(c: &Circuit) -> bool {
    SHARED.with(|s| s.borrow().contains(&c.hash()))
}

/// Nodes with more than one distinct parent.
fn shared_nodes(circuit: &Circuit) -> HashSet<NodeHash> {
    let mut parents: HashMap<NodeHash, usize> = HashMap::new();
    for node in circuit.toposort() {
        let mut seen: HashSet<NodeHash> = HashSet::new();
        for c in node.children() {
            if seen.insert(c.hash()) {
                *parents.entry(c.hash()).or_default() += 1;
            }
        }
    }
    parents.into_iter().filter(|&(_, n)| n > 1).map(|(h, _)| h).collect()
}

fn simplify_memo(
    circuit: &Circuit,
    passes: &[Pass],
    memo: &mut HashMap<NodeHash, Circuit>,
    shared: &HashSet<NodeHash>,
) -> PassResult<Circuit> {
    for node in circuit.toposort() {
        if memo.contains_key(&node.hash()) {
            continue;
        }
        let children: Vec<Circuit> = node
            .children()
            .iter()
            .map(|c| memo.get(&c.hash()).cloned().unwrap_or_else(|| c.clone()))
            .collect();
        let rebuilt = node.with_children(children)?;
        let simplified = simplify_node(&rebuilt, passes, memo, shared)?;
        if shared.contains(&node.hash()) {
            SHARED.with(|s| s.borrow_mut().insert(simplified.hash()));
        }
        // Results are simplified too: record them so that passes splicing them into new
        // nodes (flattening) do not make us simplify them again.
        memo.insert(simplified.hash(), simplified.clone());
        memo.insert(node.hash(), simplified);
    }
    Ok(memo.get(&circuit.hash()).cloned().unwrap_or_else(|| circuit.clone()))
}

/// Rewrites one node (children already simplified) until no pass applies. Nodes a pass
/// creates below the node (e.g. a new Scalar) are leaves or already simplified, except
/// for fused results whose own children may enable more rewrites; those are simplified
/// recursively through `memo`.
fn simplify_node(
    node: &Circuit,
    passes: &[Pass],
    memo: &mut HashMap<NodeHash, Circuit>,
    shared: &HashSet<NodeHash>,
) -> PassResult<Circuit> {
    let mut current = node.clone();
    'outer: for _ in 0..MAX_REWRITES_PER_NODE {
        for pass in passes {
            if let Some(next) = (pass.run)(&current)? {
                debug_assert_eq!(
                    next.shape(),
                    current.shape(),
                    "pass {} changed the shape",
                    pass.name
                );
                // Children of the replacement that were never seen (created by the pass)
                // are simplified before continuing with the node itself.
                let needs_children = next
                    .children()
                    .iter()
                    .any(|c| !memo.contains_key(&c.hash()) && !c.kind().is_leaf());
                current = if needs_children && next != current {
                    let mut kids = Vec::with_capacity(next.children().len());
                    for c in next.children() {
                        kids.push(simplify_memo(c, passes, memo, shared)?);
                    }
                    next.with_children(kids)?
                } else {
                    next
                };
                continue 'outer;
            }
        }
        break;
    }
    Ok(current)
}

/// Rebuilds a node with a new payload and children, keeping its name.
pub(crate) fn rebuild(
    node: &Circuit,
    op: circuit_ir::Op,
    children: Vec<Circuit>,
) -> PassResult<Circuit> {
    Circuit::build(op, children, node.name_arc().cloned(), false)
}
