//! Whole-circuit utilities: `strip_names_and_tags`, `cast_circuit`, free symbols, node
//! counts, toposort, and the iterative, memoized traversal helpers the rewrites share.

use circuit_ir::kinds::Array;
use circuit_ir::{Circuit, DType, NodeHash, NodeMap, Op, Uuid};

use crate::{Result, RewriteError};

/// Rebuilds bottom-up: `f(original, rebuilt)` gets each node with its children already
/// mapped (memoized by hash; iterative).
///
/// # Errors
/// `f`'s errors; rebuild errors.
pub(crate) fn map_bottom_up(
    root: &Circuit,
    rule: &'static str,
    mut f: impl FnMut(&Circuit, &Circuit) -> Result<Circuit>,
) -> Result<Circuit> {
    let mut memo: NodeMap<NodeHash, Circuit> = NodeMap::default();
    for node in root.toposort() {
        let kids: Vec<Circuit> = node
            .children()
            .iter()
            .map(|c| memo.get(&c.hash()).cloned().unwrap_or_else(|| c.clone()))
            .collect();
        let rebuilt =
            rebuild_children(&node, kids).map_err(RewriteError::construct(rule, &node))?;
        let mapped = f(&node, &rebuilt)?;
        memo.insert(node.hash(), mapped);
    }
    Ok(memo.remove(&root.hash()).unwrap_or_else(|| root.clone()))
}

/// Rebuilds top-down: `f` maps each node *before* its children are visited (pre-order;
/// the children of `f`'s result are then mapped in turn), memoized by hash, iterative.
/// `f` returning a node unchanged continues into its children; to stop below a node, it
/// returns `Stop`.
pub(crate) enum Pre {
    /// Continue into the children of this node.
    Continue(Circuit),
    /// Use this node as is.
    Stop(Circuit),
}

/// See [`Pre`].
///
/// # Errors
/// `f`'s errors; rebuild errors.
pub(crate) fn map_top_down(
    root: &Circuit,
    rule: &'static str,
    mut f: impl FnMut(&Circuit) -> Result<Pre>,
) -> Result<Circuit> {
    let mut memo: NodeMap<NodeHash, Circuit> = NodeMap::default();
    struct Frame {
        orig: NodeHash,
        pre: Circuit,
        next: usize,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut active: circuit_ir::NodeSet<NodeHash> = circuit_ir::NodeSet::default();
    let push = |c: &Circuit,
                f: &mut dyn FnMut(&Circuit) -> Result<Pre>,
                stack: &mut Vec<Frame>,
                memo: &mut NodeMap<NodeHash, Circuit>|
     -> Result<()> {
        match f(c)? {
            Pre::Stop(x) => {
                memo.insert(c.hash(), x);
            }
            Pre::Continue(x) => stack.push(Frame { orig: c.hash(), pre: x, next: 0 }),
        }
        Ok(())
    };
    push(root, &mut f, &mut stack, &mut memo)?;
    active.insert(root.hash());
    while let Some(top) = stack.last_mut() {
        if let Some(child) = top.pre.children().get(top.next).cloned() {
            top.next += 1;
            if !memo.contains_key(&child.hash()) && active.insert(child.hash()) {
                push(&child, &mut f, &mut stack, &mut memo)?;
            }
            continue;
        }
        let Some(fr) = stack.pop() else { break };
        active.remove(&fr.orig);
        let kids: Vec<Circuit> = fr
            .pre
            .children()
            .iter()
            .map(|c| memo.get(&c.hash()).cloned().unwrap_or_else(|| c.clone()))
            .collect();
        let out =
            rebuild_children(&fr.pre, kids).map_err(RewriteError::construct(rule, &fr.pre))?;
        memo.insert(fr.orig, out);
    }
    Ok(memo.remove(&root.hash()).unwrap_or_else(|| root.clone()))
}

/// Removes every name and every Tag. Named Arrays and Symbols keep their names (their
/// identity depends on them) but are wrapped in an unnamed nil-uuid Tag, as rust_circuit
/// does. Used to compare circuits structurally.
///
/// # Errors
/// Rebuild errors (none expected).
pub fn strip_names_and_tags(circuit: &Circuit) -> Result<Circuit> {
    map_bottom_up(circuit, "strip_names_and_tags", |_, node| {
        let built = match node.op() {
            Op::Tag(_) => return Ok(node.children()[0].clone()),
            Op::Array(_) | Op::Symbol(_) => {
                if node.name().is_none() {
                    return Ok(node.clone());
                }
                node.clone()
                    .tag(Uuid::nil())
                    .and_then(|t| t.rename(None))
                    .map_err(RewriteError::construct("strip_names_and_tags", node))?
            }
            _ => Circuit::build(node.op().clone(), node.children().to_vec(), None, false)
                .map_err(RewriteError::construct("strip_names_and_tags", node))?,
        };
        Ok(built)
    })
}

/// Casts every float Array to `dtype` (integer Arrays and index tensors keep their
/// dtype, Scalars have none). Not value-preserving in the strict sense: it changes
/// precision.
///
/// # Errors
/// Rebuild errors (e.g. a dtype conflict the cast creates).
pub fn cast_circuit(circuit: &Circuit, dtype: DType) -> Result<Circuit> {
    map_bottom_up(circuit, "cast_circuit", |_, node| match node.op() {
        Op::Array(a) if a.dtype() != dtype && a.dtype().is_float() => {
            let t = a.tensor().map_err(|e| {
                RewriteError::construct("cast_circuit", node)(circuit_ir::IrError::tensor(
                    "loading an Array to cast it",
                    e,
                ))
            })?;
            Circuit::build(
                Op::Array(Array::from_tensor(t.cast(dtype))),
                vec![],
                node.name_arc().cloned(),
                node.autoname_disabled_here(),
            )
            .map_err(RewriteError::construct("cast_circuit", node))
        }
        _ => Ok(node.clone()),
    })
}

/// The Symbols not bound by a Module inside `circuit`, in visit order.
pub fn get_free_symbols(circuit: &Circuit) -> Vec<Circuit> {
    circuit.free_symbols().into_owned()
}

/// The number of distinct nodes.
pub fn count_nodes(circuit: &Circuit) -> usize {
    circuit.toposort().len()
}

/// Distinct nodes, children before parents.
pub fn toposort(circuit: &Circuit) -> Vec<Circuit> {
    circuit.toposort()
}

/// A deterministic uuid derived from some bytes (used where rust_circuit draws a random
/// uuid, so rewrites are reproducible).
pub(crate) fn derived_uuid(parts: &[&[u8]]) -> Uuid {
    let mut h = blake3_like(parts);
    h[6] = (h[6] & 0x0f) | 0x40;
    h[8] = (h[8] & 0x3f) | 0x80;
    Uuid::from_bytes(h)
}

/// 16 bytes of a simple, stable mix of the parts (FNV-1a over two lanes).
fn blake3_like(parts: &[&[u8]]) -> [u8; 16] {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for p in parts {
        for &x in *p {
            a = (a ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3);
            b = (b ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(7);
        }
        a = a.rotate_left(11) ^ 0xff;
    }
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes());
    out
}

/// Stack size for rewrites whose recursion follows the depth of the circuit.
const DEEP_STACK_BYTES: usize = 1 << 30;

/// Runs `f` on a thread with a large stack (reserved, not committed), so recursive
/// rewrites handle circuits hundreds of thousands of nodes deep. A panic inside `f`
/// (a bug) becomes an error instead of unwinding into the caller.
///
/// # Errors
/// `f`'s errors; [`RewriteError::Unsupported`] when the thread cannot be started or
/// `f` panicked.
pub(crate) fn with_deep_stack<T: Send>(
    rule: &'static str,
    node: &Circuit,
    f: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name(format!("circuit-rewrite {rule}"))
            .stack_size(DEEP_STACK_BYTES)
            .spawn_scoped(s, f)
            .map_err(|e| {
                RewriteError::unsupported(rule, node, format!("cannot start a worker thread: {e}"))
            })?;
        handle.join().map_err(|_| {
            RewriteError::unsupported(rule, node, "internal error (panic) while rewriting")
        })?
    })
}

/// Rebuilds `node` with new children. The spec circuit of a Module is only replaced when
/// every input has its argument Symbol's concrete sizes: a binding that changes a
/// concrete size (`expandable` with `ban_non_symbolic_size_expand` off) instantiates the
/// spec at other shapes than the ones a rewrite saw, where it may not be equal. Such a
/// Module keeps its spec; if it then does not rebuild, it stays as it was.
///
/// # Errors
/// Rebuild errors of non-Module nodes.
pub(crate) fn rebuild_children(node: &Circuit, kids: Vec<Circuit>) -> circuit_ir::Result<Circuit> {
    let circuit_ir::Op::Module(m) = node.op() else { return node.with_children(kids) };
    let resized = m.arg_specs.iter().zip(&node.children()[1..]).any(|(a, input)| {
        let sym = a.symbol.shape();
        let own = &input.shape()[input.rank().saturating_sub(sym.len())..];
        sym.iter().zip(own).any(|(&s, &i)| s != i && !circuit_ir::size::is_symbolic(s))
    });
    let mut kids = kids;
    if resized {
        if let (Some(slot), Some(orig)) = (kids.first_mut(), node.children().first()) {
            *slot = orig.clone();
        }
    }
    match node.with_children(kids.clone()) {
        Ok(c) if c.shape() == node.shape() => Ok(c),
        _ => {
            if let (Some(slot), Some(orig)) = (kids.first_mut(), node.children().first()) {
                *slot = orig.clone();
            }
            match node.with_children(kids) {
                Ok(c) if c.shape() == node.shape() => Ok(c),
                _ => Ok(node.clone()),
            }
        }
    }
}
