//! Validation and derivation of every cached fact of a node from its payload and
//! children: one `match` over kinds, each arm a call into the kind's file.

use std::sync::Arc;

use circuit_tensor::DType;

use crate::constraints::{self, Constraints};
use crate::flags::Flags;
use crate::kinds::{GfSpec, Index, SimpleFn};
use crate::named_axes::{self, NamedAxes};
use crate::ops::{Kind, Op};
use crate::size::{decompose, shape_is_symbolic};
use crate::{Circuit, IrError, Result, Shape};

/// Everything computed at construction except the hash.
pub(crate) struct Derived {
    pub(crate) shape: Shape,
    pub(crate) dtype: Option<DType>,
    pub(crate) flags: Flags,
    pub(crate) named_axes: NamedAxes,
    /// Known at construction for Modules; computed on first use otherwise.
    pub(crate) free_symbols: Option<Arc<[Circuit]>>,
    pub(crate) constraints: Constraints,
    pub(crate) substituted: Option<Circuit>,
}

/// Reference to a node under construction, for error messages.
pub(crate) fn node_label(kind: Kind, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("'{n}'"),
        None => format!("<unnamed {}>", kind.name()),
    }
}

fn expect_children(kind: Kind, node: &str, children: &[Circuit], n: usize) -> Result<()> {
    if children.len() == n {
        Ok(())
    } else {
        Err(IrError::WrongNumChildren {
            kind: kind.name(),
            node: node.into(),
            expected: n.to_string(),
            got: children.len(),
        })
    }
}

/// Whether [`normalize`] may change the payload (most payloads pass through unchanged;
/// checking first saves moving them).
pub(crate) fn needs_normalize(op: &Op) -> bool {
    match op {
        Op::Scalar(s) => s.value.is_nan(),
        Op::Rearrange(_) | Op::Index(_) | Op::Scatter(_) => true,
        _ => false,
    }
}

/// Canonicalises payloads that depend on the children (index padding, scatter bounds).
pub(crate) fn normalize(op: Op, children: &[Circuit], name: Option<&str>) -> Result<Op> {
    let op = match op {
        // One NaN: the text format cannot tell NaN payloads (or signs) apart.
        Op::Scalar(mut s) if s.value.is_nan() => {
            s.value = f64::NAN;
            return Ok(Op::Scalar(s));
        }
        // Ints numbered by first appearance, so that the printed form parses back equal.
        Op::Rearrange(r) => {
            return Ok(Op::Rearrange(match r.spec.renumbered() {
                Some(spec) => crate::kinds::Rearrange { spec },
                None => r,
            }))
        }
        Op::Index(_) | Op::Scatter(_) => op,
        other => return Ok(other),
    };
    let node = node_label(op.kind(), name);
    Ok(match op {
        Op::Index(idx) => {
            expect_children(Kind::Index, &node, children, 1)?;
            let padded = idx.padded(children[0].rank()).map_err(|e| with_node(e, &node))?;
            Op::Index(padded)
        }
        Op::Scatter(s) => Op::Scatter(s.canonical(&node)?),
        other => other,
    })
}

fn with_node(e: IrError, node: &str) -> IrError {
    match e {
        IrError::Index { msg, .. } => IrError::Index { node: node.into(), msg },
        IrError::Rearrange { msg, .. } => IrError::Rearrange { node: node.into(), msg },
        other => other,
    }
}

/// NumPy broadcasting, right-aligned; a 1 broadcasts to any non-zero size.
pub(crate) fn broadcast_shapes(shapes: &[&Shape]) -> Option<Shape> {
    broadcast_iter(shapes.iter().copied())
}

/// [`broadcast_shapes`] over any sequence of shapes (no collected list of them).
fn broadcast_iter<'s>(shapes: impl Iterator<Item = &'s Shape> + Clone) -> Option<Shape> {
    let rank = shapes.clone().map(|s| s.len()).max().unwrap_or(0);
    let mut out: Shape = smallvec::smallvec![1; rank];
    let mut set: smallvec::SmallVec<[bool; 8]> = smallvec::smallvec![false; rank];
    for s in shapes {
        let offset = rank - s.len();
        for (i, &d) in s.iter().enumerate() {
            let o = offset + i;
            if !set[o] || out[o] == d {
                out[o] = d;
                set[o] = true;
            } else if d == 1 && out[o] != 0 {
                // broadcast this child
            } else if out[o] == 1 && d != 0 {
                out[o] = d;
            } else {
                return None;
            }
        }
    }
    Some(out)
}

fn combine_dtypes(
    kind: Kind,
    node: &str,
    dtypes: impl IntoIterator<Item = Option<DType>>,
) -> Result<Option<DType>> {
    let mut out: Option<DType> = None;
    for d in dtypes.into_iter().flatten() {
        match out {
            None => out = Some(d),
            Some(prev) if prev == d => {}
            Some(prev) => {
                return Err(IrError::DTypeMismatch {
                    kind: kind.name(),
                    node: node.into(),
                    a: prev.to_string(),
                    b: d.to_string(),
                })
            }
        }
    }
    Ok(out)
}

fn children_dtype(kind: Kind, node: &str, children: &[Circuit]) -> Result<Option<DType>> {
    combine_dtypes(kind, node, children.iter().map(Circuit::dtype))
}

fn identity_map(children: &[Circuit]) -> Vec<Vec<Option<usize>>> {
    children.iter().map(|c| (0..c.rank()).map(Some).collect()).collect()
}

/// Shape and dtype for one kind.
struct KindFacts {
    shape: Shape,
    dtype: Option<DType>,
}

/// For each child axis, the output axis it becomes (if any). Only needed when some child
/// has named axes, so it is computed on demand rather than with every node.
fn child_axis_map(op: &Op, children: &[Circuit], shape: &Shape) -> Vec<Vec<Option<usize>>> {
    match op {
        Op::Einsum(e) => e.child_axis_map(),
        Op::Add => children
            .iter()
            .map(|c| {
                let off = shape.len() - c.rank();
                c.shape()
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| (d == shape[off + i]).then_some(off + i))
                    .collect()
            })
            .collect(),
        Op::Rearrange(r) => vec![r.spec.child_axis_map()],
        Op::Index(idx) => vec![idx.child_axis_map()],
        Op::Concat(c) => c.child_axis_map(children),
        Op::GeneralFunction(gf) => gf_axis_map(&gf.spec, children),
        Op::SetSymbolicShape(_) | Op::Tag(_) => identity_map(children),
        Op::DiscreteVar => match children.first() {
            Some(values) => {
                vec![(0..values.rank()).map(|i| i.checked_sub(1)).collect(), vec![None]]
            }
            None => vec![],
        },
        Op::StoredCumulantVar(_) => vec![(0..shape.len()).map(Some).collect()],
        Op::Cumulant => {
            let mut offset = 0;
            children
                .iter()
                .map(|c| {
                    let m = (offset..offset + c.rank()).map(Some).collect();
                    offset += c.rank();
                    m
                })
                .collect()
        }
        Op::Array(_) | Op::Scalar(_) | Op::Symbol(_) | Op::Scatter(_) | Op::Conv(_) => vec![],
        Op::Module(_) => vec![],
    }
}

#[allow(clippy::too_many_lines)] // a flat match over kinds, one short arm each
fn kind_facts(op: &Op, children: &[Circuit], node: &str) -> Result<KindFacts> {
    let kind = op.kind();
    let facts = |shape, dtype| Ok(KindFacts { shape, dtype });
    match op {
        Op::Array(a) => {
            expect_children(kind, node, children, 0)?;
            if let Some(&size) = a.shape().iter().find(|&&s| !decompose(s).symbols.is_empty()) {
                return Err(IrError::ArrayHasReservedSymbolicSize { node: node.into(), size });
            }
            facts(a.shape().clone(), Some(a.dtype()))
        }
        Op::Scalar(s) => {
            expect_children(kind, node, children, 0)?;
            facts(Shape::from_slice(&s.shape), None)
        }
        Op::Symbol(s) => {
            expect_children(kind, node, children, 0)?;
            facts(Shape::from_slice(&s.shape), None)
        }
        Op::Einsum(e) => {
            facts(e.infer_shape(children, node)?, children_dtype(kind, node, children)?)
        }
        Op::Add => {
            let shape = broadcast_iter(children.iter().map(Circuit::shape)).ok_or_else(|| {
                let shapes: Vec<&Shape> = children.iter().map(Circuit::shape).collect();
                let (a, b) = first_broadcast_conflict(&shapes);
                IrError::BroadcastMismatch {
                    kind: "Add",
                    node: node.into(),
                    a: a.to_vec(),
                    b: b.to_vec(),
                }
            })?;
            facts(shape, children_dtype(kind, node, children)?)
        }
        Op::Rearrange(r) => {
            expect_children(kind, node, children, 1)?;
            let shape = r.spec.output_shape(children[0].shape()).map_err(|e| with_node(e, node))?;
            facts(shape, children[0].dtype())
        }
        Op::Index(idx) => {
            expect_children(kind, node, children, 1)?;
            let shape = idx.infer_shape(children[0].shape(), node)?;
            check_index_tensor_values(idx, children[0].shape(), node)?;
            facts(shape, children[0].dtype())
        }
        Op::Scatter(s) => {
            expect_children(kind, node, children, 1)?;
            let want = s.child_shape();
            if children[0].shape() != &want {
                return Err(IrError::ShapeMismatch {
                    kind: "Scatter",
                    node: node.into(),
                    what: "child shape for this index".into(),
                    expected: want.to_vec(),
                    got: children[0].shape().to_vec(),
                });
            }
            facts(s.shape.clone(), children[0].dtype())
        }
        Op::Concat(c) => {
            facts(c.infer_shape(children, node)?, children_dtype(kind, node, children)?)
        }
        Op::GeneralFunction(gf) => {
            let info = gf.spec.shape_info(children, node)?;
            let dtype = gf_dtype(&gf.spec, children, node)?;
            facts(info.shape, dtype)
        }
        Op::Conv(c) => facts(c.infer_shape(children, node)?, children_dtype(kind, node, children)?),
        Op::Module(_) => Err(IrError::Module {
            node: node.into(),
            msg: "internal: modules are derived separately".into(),
        }),
        Op::SetSymbolicShape(s) => {
            expect_children(kind, node, children, 1)?;
            if children[0].rank() != s.shape.len() {
                return Err(IrError::ShapeMismatch {
                    kind: "SetSymbolicShape",
                    node: node.into(),
                    what: "child rank".into(),
                    expected: s.shape.to_vec(),
                    got: children[0].shape().to_vec(),
                });
            }
            facts(s.shape.clone(), children[0].dtype())
        }
        Op::Tag(_) => {
            expect_children(kind, node, children, 1)?;
            facts(children[0].shape().clone(), children[0].dtype())
        }
        Op::DiscreteVar => {
            expect_children(kind, node, children, 2)?;
            let (values, probs) = (&children[0], &children[1]);
            let Some((&n, rest)) = values.shape().split_first() else {
                return Err(var_err(
                    "DiscreteVar",
                    node,
                    "values need a leading samples dimension".into(),
                ));
            };
            if probs.shape().as_slice() != [n] {
                return Err(var_err(
                    "DiscreteVar",
                    node,
                    format!(
                        "probs_and_group must have shape [{n}] to match the values, got {:?}",
                        probs.shape().as_slice()
                    ),
                ));
            }
            facts(rest.iter().copied().collect(), values.dtype())
        }
        Op::StoredCumulantVar(v) => stored_cumulant_facts(v, children, node),
        Op::Cumulant => {
            let shape: Shape = children.iter().flat_map(|c| c.shape().iter().copied()).collect();
            facts(shape, children_dtype(kind, node, children)?)
        }
    }
}

fn var_err(kind: &'static str, node: &str, msg: String) -> IrError {
    IrError::Variable { kind, node: node.into(), msg }
}

fn stored_cumulant_facts(
    v: &crate::kinds::StoredCumulantVar,
    children: &[Circuit],
    node: &str,
) -> Result<KindFacts> {
    let err = |msg: String| var_err("StoredCumulantVar", node, msg);
    if v.orders.len() != children.len() {
        return Err(err(format!("{} orders but {} children", v.orders.len(), children.len())));
    }
    if !v.orders.windows(2).all(|w| w[0] < w[1])
        || v.orders.first() != Some(&1)
        || v.orders.get(1) != Some(&2)
    {
        return Err(err(format!(
            "orders must be ascending, distinct and start with 1, 2; got {:?}",
            v.orders
        )));
    }
    let base = children[0].shape().clone();
    for (&k, child) in v.orders.iter().zip(children) {
        // Check the rank first: the order may be huge, and the shape is built only when
        // it is the right length.
        if k.checked_mul(base.len()) != Some(child.rank()) {
            return Err(err(format!(
                "the order-{k} cumulant must have rank {} times the base rank {}, got shape {:?}",
                k,
                base.len(),
                child.shape().as_slice()
            )));
        }
        let want: Shape = (0..k).flat_map(|_| base.iter().copied()).collect();
        if child.shape() != &want {
            return Err(err(format!(
                "the order-{k} cumulant must have shape {:?} (the base shape repeated {k} times), got {:?}",
                want.as_slice(),
                child.shape().as_slice()
            )));
        }
    }
    let dtype = combine_dtypes(Kind::StoredCumulantVar, node, children.iter().map(Circuit::dtype))?;
    Ok(KindFacts { shape: base, dtype })
}

fn first_broadcast_conflict(shapes: &[&Shape]) -> (Shape, Shape) {
    for (i, a) in shapes.iter().enumerate() {
        for b in &shapes[i + 1..] {
            if broadcast_shapes(&[a, b]).is_none() {
                return ((*a).clone(), (*b).clone());
            }
        }
    }
    (Shape::new(), Shape::new())
}

fn check_index_tensor_values(idx: &Index, child_shape: &[usize], node: &str) -> Result<()> {
    for (entry, &len) in idx.index.iter().zip(child_shape) {
        let crate::kinds::TensorAxisIndex::Tensor(t) = entry else { continue };
        if crate::size::is_symbolic(len) {
            continue;
        }
        let l = len as i128;
        if let Some(bad) =
            t.tensor().to_i64_vec().into_iter().find(|&v| i128::from(v) < -l || i128::from(v) >= l)
        {
            return Err(IrError::Index {
                node: node.into(),
                msg: format!(
                    "tensor index value {bad} is out of range for a dimension of size {len}"
                ),
            });
        }
    }
    Ok(())
}

fn gf_dtype(spec: &GfSpec, children: &[Circuit], node: &str) -> Result<Option<DType>> {
    let err = |msg: String| IrError::GeneralFunction { node: node.into(), msg };
    match spec {
        GfSpec::GenIndex { .. } | GfSpec::ExplicitIndex { .. } => {
            if let Some(d) = children[1].dtype() {
                if !d.is_int() {
                    return Err(err(format!("the index must have an integer dtype, got {d}")));
                }
            }
            Ok(children[0].dtype())
        }
        GfSpec::Cast { from, to } => {
            if let (Some(want), Some(got)) = (from.dtype, children[0].dtype()) {
                if want != got {
                    return Err(err(format!("cast expects input dtype {want}, got {got}")));
                }
            }
            Ok(to.dtype.or(children[0].dtype()))
        }
        GfSpec::Multinomial { .. } => {
            if let Some(d) = children[0].dtype() {
                if !d.is_float() {
                    return Err(err(format!("multinomial probabilities must be floats, got {d}")));
                }
            }
            Ok(Some(DType::I64))
        }
        GfSpec::Simple(SimpleFn::LastDimSize) => Ok(children[0].dtype()),
        GfSpec::Simple(_) | GfSpec::Pow => children_dtype(Kind::GeneralFunction, node, children),
    }
}

fn gf_axis_map(spec: &GfSpec, children: &[Circuit]) -> Vec<Vec<Option<usize>>> {
    match spec {
        GfSpec::Simple(f) if f.removes_last_dim() => {
            let r = children[0].rank();
            vec![(0..r).map(|i| (i + 1 < r).then_some(i)).collect()]
        }
        // softmax/log_softmax: names pass through the batchable dims only.
        GfSpec::Simple(f) if !f.is_elementwise() => {
            let r = children[0].rank();
            vec![(0..r).map(|i| (i + 1 < r).then_some(i)).collect()]
        }
        GfSpec::Simple(_) | GfSpec::Cast { .. } => identity_map(children),
        GfSpec::Pow => {
            // Broadcasting, like Add: right-aligned dims that are not broadcast.
            let rank = children.iter().map(Circuit::rank).max().unwrap_or(0);
            let shapes: Vec<&Shape> = children.iter().map(Circuit::shape).collect();
            let out = broadcast_shapes(&shapes).unwrap_or_default();
            children
                .iter()
                .map(|c| {
                    let off = rank - c.rank();
                    c.shape()
                        .iter()
                        .enumerate()
                        .map(|(i, &d)| (out.get(off + i) == Some(&d)).then_some(off + i))
                        .collect()
                })
                .collect()
        }
        _ => vec![],
    }
}

fn kind_flags(op: &Op, children: &[Circuit], shape: &Shape) -> Flags {
    let mut flags = children.iter().fold(Flags::ALL, |acc, c| acc.and(c.flags()));
    match op {
        Op::Symbol(_) => flags.set_explicitly_computable(false),
        Op::SetSymbolicShape(_) => {
            // An identity on values: computable when the asserted shape is concrete and the
            // child already has it (rust_circuit never evaluates these; see DIFFERENCES.md).
            let concrete =
                !shape_is_symbolic(shape) && children.first().is_some_and(|c| c.shape() == shape);
            if !concrete {
                flags.set_explicitly_computable(false);
            }
        }
        Op::DiscreteVar => {
            flags.set_constant(false);
            flags.set_explicitly_computable(false);
            flags.set_can_be_sampled(true);
        }
        Op::StoredCumulantVar(v) => {
            flags.set_constant(false);
            flags.set_explicitly_computable(false);
            flags.set_can_be_sampled(v.orders.iter().all(|&k| k <= 2));
        }
        Op::Cumulant => flags.set_constant(true),
        _ => {}
    }
    flags
}

/// The named axes a node would get from its children alone (what the parser rebuilds
/// when the printer leaves the shape out).
pub(crate) fn inherited_named_axes(c: &Circuit) -> NamedAxes {
    if let Op::Module(_) = c.op() {
        return c.substituted().map(|s| s.named_axes().clone()).unwrap_or_default();
    }
    if c.children().iter().all(|ch| ch.named_axes().is_empty()) {
        return NamedAxes::new();
    }
    match kind_facts(c.op(), c.children(), "") {
        Ok(facts) => {
            let children_axes: Vec<&NamedAxes> =
                c.children().iter().map(Circuit::named_axes).collect();
            named_axes::inherit(
                facts.shape.len(),
                &children_axes,
                &child_axis_map(c.op(), c.children(), &facts.shape),
            )
        }
        Err(_) => NamedAxes::new(),
    }
}

/// The shared empty free-symbol list (most nodes have none; don't allocate for them).
pub(crate) fn no_symbols() -> Arc<[Circuit]> {
    static EMPTY: std::sync::OnceLock<Arc<[Circuit]>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from(Vec::new())).clone()
}

/// Computes (and caches) free symbols for `root` and every node below it that lacks
/// them, bottom-up with an explicit stack.
pub(crate) fn ensure_free_symbols(root: &Circuit) {
    if root.0.info.free_symbols.get().is_some() {
        return;
    }
    let mut stack: Vec<(Circuit, bool)> = vec![(root.clone(), false)];
    while let Some((node, expanded)) = stack.pop() {
        if node.0.info.free_symbols.get().is_some() {
            continue;
        }
        if expanded {
            let _ = node.0.info.free_symbols.set(union_free_symbols(node.children()));
        } else {
            stack.push((node.clone(), true));
            for c in node.children() {
                if c.0.info.free_symbols.get().is_none() {
                    stack.push((c.clone(), false));
                }
            }
        }
    }
}

/// Free symbols of a node: the union of its children's (which must be computed), in
/// visit order.
pub(crate) fn union_free_symbols(children: &[Circuit]) -> Arc<[Circuit]> {
    let mut with_syms = 0usize;
    let mut last: Option<&Arc<[Circuit]>> = None;
    for c in children {
        if c.kind() == Kind::Symbol {
            with_syms += 2;
        } else if let Some(set) = c.0.info.free_symbols.get().filter(|s| !s.is_empty()) {
            with_syms += 1;
            last = Some(set);
        }
    }
    if with_syms == 0 {
        return no_symbols();
    }
    if with_syms == 1 {
        if let Some(l) = last {
            return l.clone();
        }
    }
    let mut out: Vec<Circuit> = Vec::new();
    let mut seen: crate::NodeSet<crate::NodeHash> = crate::NodeSet::default();
    for c in children {
        if c.kind() == Kind::Symbol {
            if seen.insert(c.hash()) {
                out.push(c.clone());
            }
        } else {
            for s in c.0.info.free_symbols.get().into_iter().flat_map(|v| v.iter()) {
                if seen.insert(s.hash()) {
                    out.push(s.clone());
                }
            }
        }
    }
    out.into()
}

pub(crate) fn derive(op: &Op, children: &[Circuit], name: Option<&str>) -> Result<Derived> {
    if let Op::Module(m) = op {
        return crate::module_subst::derive_module(m, children, &node_label(op.kind(), name));
    }
    // Formatting the node's label costs more than deriving most nodes; it is only needed
    // for an error message, so derive without it and redo the failing case with it.
    let facts = match kind_facts(op, children, "") {
        Ok(f) => f,
        Err(_) => {
            return Err(kind_facts(op, children, &node_label(op.kind(), name))
                .err()
                .unwrap_or_else(|| IrError::Invalid {
                    kind: op.kind().name(),
                    node: node_label(op.kind(), name),
                    msg: "validation failed".into(),
                }))
        }
    };
    let flags = kind_flags(op, children, &facts.shape);
    let named_axes = if children.iter().all(|c| c.named_axes().is_empty()) {
        NamedAxes::new()
    } else {
        let children_axes: Vec<&NamedAxes> = children.iter().map(Circuit::named_axes).collect();
        named_axes::inherit(
            facts.shape.len(),
            &children_axes,
            &child_axis_map(op, children, &facts.shape),
        )
    };
    let mut extra: Vec<constraints::Constraint> = Vec::new();
    if let Op::SetSymbolicShape(s) = op {
        for (&c, &t) in children[0].shape().iter().zip(&s.shape) {
            if c != t && !crate::size::is_symbolic(c) && !crate::size::is_symbolic(t) {
                return Err(IrError::ShapeMismatch {
                    kind: "SetSymbolicShape",
                    node: node_label(op.kind(), name),
                    what: "child shape (concrete sizes must match)".into(),
                    expected: s.shape.to_vec(),
                    got: children[0].shape().to_vec(),
                });
            }
            extra.extend(constraints::normalize(c, t));
        }
    }
    let constraints =
        if extra.is_empty() && children.iter().all(|c| c.0.info.constraints.is_empty()) {
            constraints::empty()
        } else {
            let child_sets: Vec<&Constraints> =
                children.iter().map(|c| &c.0.info.constraints).collect();
            constraints::union(&child_sets, &extra)
        };
    if !extra.is_empty() {
        constraints::check_satisfiable(&constraints)?;
    }
    Ok(Derived {
        shape: facts.shape,
        dtype: facts.dtype,
        flags,
        named_axes,
        free_symbols: None,
        constraints,
        substituted: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use smallvec::smallvec;

    #[test]
    fn broadcasting() {
        let a: Shape = smallvec![5, 3, 6];
        let b: Shape = smallvec![3, 1];
        let c: Shape = smallvec![1, 6];
        assert_eq!(broadcast_shapes(&[&a, &b, &c]).unwrap().as_slice(), &[5, 3, 6]);
        let d: Shape = smallvec![4];
        assert!(broadcast_shapes(&[&a, &d]).is_none());
        let z: Shape = smallvec![0];
        let one: Shape = smallvec![1];
        assert!(broadcast_shapes(&[&z, &one]).is_none());
        assert_eq!(broadcast_shapes(&[]).unwrap().len(), 0);
    }
}
