//! Dtype resolution: the element type every node is computed in.
//!
//! A node whose `dtype()` is set (from its Arrays) uses it. A node the circuit leaves
//! open (built only from Scalars) takes the dtype its consumers need, so a Scalar next
//! to float64 Arrays is made in float64 directly rather than rounded through float32:
//! float64 if any consumer wants float64, else the first consumer's; with no consumer
//! (the root) the settings' default. Index inputs of `gen_index`/`explicit_index` and
//! the multinomial seed want int64.

use std::collections::HashMap;

use circuit_ir::kinds::{GfSpec, SimpleFn};
use circuit_ir::{Circuit, NodeHash, Op};
use circuit_tensor::DType;

/// The dtype of every node of `root`.
pub(crate) fn resolve(root: &Circuit, default: DType) -> HashMap<NodeHash, DType> {
    let order = root.toposort();
    let mut wants: HashMap<NodeHash, Vec<DType>> = HashMap::new();
    let mut resolved: HashMap<NodeHash, DType> = HashMap::new();
    for node in order.iter().rev() {
        let dtype = node.dtype().unwrap_or_else(|| {
            let w = wants.get(&node.hash()).map(Vec::as_slice).unwrap_or(&[]);
            if w.contains(&DType::F64) {
                DType::F64
            } else {
                w.first().copied().unwrap_or(default)
            }
        });
        resolved.insert(node.hash(), dtype);
        for (i, child) in node.children().iter().enumerate() {
            if child.dtype().is_some() {
                continue;
            }
            if let Some(w) = child_want(node, i, dtype, default) {
                wants.entry(child.hash()).or_default().push(w);
            }
        }
    }
    resolved
}

/// The dtype `node` (computed in `dtype`) wants its `i`-th child in; `None` when it
/// does not read the child's values.
fn child_want(node: &Circuit, i: usize, dtype: DType, default: DType) -> Option<DType> {
    match node.op() {
        Op::GeneralFunction(gf) => match &gf.spec {
            GfSpec::GenIndex { .. } | GfSpec::ExplicitIndex { .. } if i == 1 => Some(DType::I64),
            // Probabilities in float64, so lazy draws match the sampler's eager float64 draws.
            GfSpec::Multinomial { .. } => Some(if i == 1 { DType::I64 } else { DType::F64 }),
            GfSpec::Cast { from, to } => {
                Some(from.dtype.unwrap_or(if to.dtype.is_none() { dtype } else { default }))
            }
            GfSpec::Simple(SimpleFn::LastDimSize) => None,
            _ => Some(dtype),
        },
        Op::Cumulant if node.children().len() >= 2 => None,
        _ => Some(dtype),
    }
}
