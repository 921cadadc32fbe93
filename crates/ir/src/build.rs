//! Ergonomic, validating builders: `Circuit::scalar`, `Circuit::einsum("ab,bc->ac", [a,
//! b])`, `a.add(&b)`, `x.index(..)`, `x.mean(..)`, `x.rename(..)`, ... Builders apply
//! rust_circuit's autonames when no name is given.

use smallvec::SmallVec;

use crate::kinds::{
    Array, Concat, Conv, Einsum, GeneralFunction, GfSpec, Index, Module, ModuleArgSpec, Rearrange,
    RearrangeSpec, Scalar, Scatter, SetSymbolicShape, SimpleFn, StoredCumulantVar, Symbol, Tag,
    TensorAxisIndex,
};
use crate::node::Name;
use crate::ops::Op;
use crate::{Circuit, IrError, Result, Shape, Tensor};
use uuid::Uuid;

fn name_of(name: Option<&str>) -> Option<Name> {
    name.map(Name::from)
}

fn shape_of(shape: &[usize]) -> Shape {
    shape.iter().copied().collect()
}

impl Circuit {
    /// A Scalar: `value` broadcast to `shape`.
    ///
    /// # Errors
    /// Never for valid shapes; kept fallible for uniformity.
    pub fn scalar(value: f64, shape: &[usize], name: Option<&str>) -> Result<Circuit> {
        Circuit::build(
            Op::Scalar(Scalar { value, shape: shape_of(shape) }),
            vec![],
            name_of(name),
            false,
        )
    }

    /// A Symbol with a given uuid.
    ///
    /// # Errors
    /// Never for valid shapes.
    pub fn symbol(shape: &[usize], uuid: Uuid, name: Option<&str>) -> Result<Circuit> {
        Circuit::build(
            Op::Symbol(Symbol { shape: shape_of(shape), uuid }),
            vec![],
            name_of(name),
            false,
        )
    }

    /// A Symbol with a fresh random uuid.
    ///
    /// # Errors
    /// Never for valid shapes.
    pub fn symbol_random(shape: &[usize], name: Option<&str>) -> Result<Circuit> {
        Circuit::symbol(shape, Uuid::new_v4(), name)
    }

    /// An Array holding a tensor.
    ///
    /// # Errors
    /// [`IrError::ArrayHasReservedSymbolicSize`] for sizes divisible by a symbolic prime.
    pub fn array(tensor: Tensor, name: Option<&str>) -> Result<Circuit> {
        Circuit::build(Op::Array(Array::from_tensor(tensor)), vec![], name_of(name), false)
    }

    /// An Einsum from a plain spec string (`ab,bc->ac`).
    ///
    /// # Errors
    /// Spec parse errors and shape errors.
    pub fn einsum(spec: &str, children: impl IntoIterator<Item = Circuit>) -> Result<Circuit> {
        let children: Vec<Circuit> = children.into_iter().collect();
        let mut e = Einsum::parse(spec)?;
        if e.in_axes.is_empty() && children.len() == 1 {
            e.in_axes.push(SmallVec::new());
        }
        Circuit::new(Op::Einsum(e), children, None)
    }

    /// An Einsum from labels.
    ///
    /// # Errors
    /// Shape errors.
    pub fn einsum_from_axes(
        operands: Vec<(Circuit, Vec<u8>)>,
        out_axes: &[u8],
        name: Option<&str>,
    ) -> Result<Circuit> {
        let (children, in_axes): (Vec<Circuit>, Vec<_>) =
            operands.into_iter().map(|(c, a)| (c, a.into_iter().collect())).unzip();
        Circuit::new(
            Op::Einsum(Einsum { in_axes, out_axes: out_axes.iter().copied().collect() }),
            children,
            name_of(name),
        )
    }

    /// The sum of several circuits with broadcasting (an Add).
    ///
    /// # Errors
    /// Broadcast errors.
    pub fn sum_of(children: impl IntoIterator<Item = Circuit>) -> Result<Circuit> {
        Circuit::new(Op::Add, children.into_iter().collect(), None)
    }

    /// `self + other` (an Add).
    ///
    /// # Errors
    /// Broadcast errors.
    pub fn add(&self, other: &Circuit) -> Result<Circuit> {
        Circuit::sum_of([self.clone(), other.clone()])
    }

    /// `self - other`: an Add of `self` and `other * -1` (named `neg X`).
    ///
    /// # Errors
    /// Broadcast errors.
    pub fn sub(&self, other: &Circuit) -> Result<Circuit> {
        let neg = other.mul_scalar(-1.0)?;
        let neg = match other.name() {
            Some(n) => neg.rename(Some(&format!("neg {n}")))?,
            None => neg,
        };
        Circuit::sum_of([self.clone(), neg])
    }

    /// Elementwise product with right-aligned broadcasting (an Einsum).
    ///
    /// # Errors
    /// Broadcast errors.
    pub fn mul(&self, other: &Circuit) -> Result<Circuit> {
        Circuit::elementwise_product(&[self.clone(), other.clone()])
    }

    /// Elementwise product of several circuits with broadcasting; size-1 dims get fresh
    /// labels so they are summed away.
    ///
    /// # Errors
    /// Broadcast errors.
    pub fn elementwise_product(children: &[Circuit]) -> Result<Circuit> {
        let rank = children.iter().map(Circuit::rank).max().unwrap_or(0);
        let out_shape = crate::derive::broadcast_shapes(
            &children.iter().map(Circuit::shape).collect::<Vec<_>>(),
        )
        .ok_or_else(|| IrError::BroadcastMismatch {
            kind: "Einsum",
            node: "elementwise product".into(),
            a: children.first().map(|c| c.shape().clone()).unwrap_or_default().to_vec(),
            b: children.get(1).map(|c| c.shape().clone()).unwrap_or_default().to_vec(),
        })?;
        let mut next = rank;
        let mut operands = Vec::new();
        for c in children {
            let off = rank - c.rank();
            let axes: Vec<u8> = c
                .shape()
                .iter()
                .enumerate()
                .map(|(i, &d)| {
                    if d == 1 && out_shape[off + i] != 1 {
                        next += 1;
                        (next - 1) as u8
                    } else {
                        (off + i) as u8
                    }
                })
                .collect();
            operands.push((c.clone(), axes));
        }
        let out: Vec<u8> = (0..rank as u8).collect();
        Circuit::einsum_from_axes(operands, &out, None)
    }

    /// `self * value` (an Einsum with a rank-0 Scalar).
    ///
    /// # Errors
    /// Never for valid circuits.
    pub fn mul_scalar(&self, value: f64) -> Result<Circuit> {
        let s = Circuit::scalar(value, &[], None)?;
        let axes: Vec<u8> = (0..self.rank() as u8).collect();
        Circuit::einsum_from_axes(vec![(self.clone(), axes.clone()), (s, vec![])], &axes, None)
    }

    /// Sum over the given axes (an Einsum).
    ///
    /// # Errors
    /// [`IrError::AxisOutOfRange`] for a bad axis.
    pub fn sum_axes(&self, axes: &[i64]) -> Result<Circuit> {
        let axes = self.resolve_axes(axes)?;
        let all: Vec<u8> = (0..self.rank() as u8).collect();
        let out: Vec<u8> =
            all.iter().copied().filter(|a| !axes.contains(&usize::from(*a))).collect();
        Circuit::einsum_from_axes(vec![(self.clone(), all)], &out, None)
    }

    /// Mean over the given axes: the sum times `1/N` (a Scalar named `mean_div_X`).
    ///
    /// # Errors
    /// [`IrError::AxisOutOfRange`] for a bad axis.
    pub fn mean(&self, axes: &[i64]) -> Result<Circuit> {
        let resolved = self.resolve_axes(axes)?;
        let count: f64 = resolved.iter().map(|&a| self.shape()[a] as f64).product();
        let all: Vec<u8> = (0..self.rank() as u8).collect();
        let out: Vec<u8> =
            all.iter().copied().filter(|a| !resolved.contains(&usize::from(*a))).collect();
        let div_name = self.name().map(|n| format!("mean_div_{n}"));
        let div = Circuit::scalar(1.0 / count, &[], div_name.as_deref())?;
        Circuit::einsum_from_axes(vec![(self.clone(), all), (div, vec![])], &out, None)
    }

    fn resolve_axes(&self, axes: &[i64]) -> Result<Vec<usize>> {
        let r = self.rank() as i64;
        axes.iter()
            .map(|&a| {
                let x = if a < 0 { a + r } else { a };
                if (0..r).contains(&x) {
                    Ok(x as usize)
                } else {
                    Err(IrError::AxisOutOfRange {
                        kind: self.kind().name(),
                        node: self.node_ref(),
                        axis: a,
                        rank: self.rank(),
                    })
                }
            })
            .collect()
    }

    /// Indexes with ints, slices and tensors (missing trailing entries mean `:`).
    ///
    /// # Errors
    /// Index validation errors.
    pub fn index(&self, index: Vec<TensorAxisIndex>) -> Result<Circuit> {
        Circuit::new(Op::Index(Index { index }), vec![self.clone()], None)
    }

    /// Rearranges with a spec string (`a b -> b a`).
    ///
    /// # Errors
    /// Spec parse errors and shape errors.
    pub fn rearrange_str(&self, spec: &str) -> Result<Circuit> {
        self.rearrange(RearrangeSpec::parse(spec)?)
    }

    /// Rearranges with a spec.
    ///
    /// # Errors
    /// Shape errors.
    pub fn rearrange(&self, spec: RearrangeSpec) -> Result<Circuit> {
        Circuit::new(Op::Rearrange(Rearrange { spec }), vec![self.clone()], None)
    }

    /// Applies a simple function (`sigmoid`, `softmax`, ...).
    ///
    /// # Errors
    /// Shape errors (e.g. softmax of a rank-0 circuit).
    pub fn apply(&self, f: SimpleFn) -> Result<Circuit> {
        Circuit::general_function(GfSpec::Simple(f), vec![self.clone()])
    }

    /// A GeneralFunction node.
    ///
    /// # Errors
    /// Shape and dtype errors.
    pub fn general_function(spec: GfSpec, children: Vec<Circuit>) -> Result<Circuit> {
        Circuit::new(Op::GeneralFunction(GeneralFunction { spec }), children, None)
    }

    /// Concatenates along an axis (negative counts from the end).
    ///
    /// # Errors
    /// Shape errors and an empty child list.
    pub fn concat(children: Vec<Circuit>, axis: i64) -> Result<Circuit> {
        let rank = children.first().map_or(0, Circuit::rank);
        let axis = Concat::resolve_axis(axis, rank, "concat")?;
        Circuit::new(Op::Concat(Concat { axis }), children, None)
    }

    /// Writes `self` into zeros of `shape` at the given slices.
    ///
    /// # Errors
    /// Index and shape errors.
    pub fn scatter(&self, index: Vec<TensorAxisIndex>, shape: &[usize]) -> Result<Circuit> {
        Circuit::new(
            Op::Scatter(Scatter { index, shape: shape_of(shape) }),
            vec![self.clone()],
            None,
        )
    }

    /// Wraps in a Tag with this uuid.
    ///
    /// # Errors
    /// Never.
    pub fn tag(&self, uuid: Uuid) -> Result<Circuit> {
        Circuit::new(Op::Tag(Tag { uuid }), vec![self.clone()], None)
    }

    /// Asserts a (more concrete) shape.
    ///
    /// # Errors
    /// Mismatched concrete sizes or unsatisfiable constraints.
    pub fn set_symbolic_shape(&self, shape: &[usize]) -> Result<Circuit> {
        Circuit::new(
            Op::SetSymbolicShape(SetSymbolicShape { shape: shape_of(shape) }),
            vec![self.clone()],
            None,
        )
    }

    /// A DiscreteVar over the rows of `values` with the given probabilities (the
    /// `probs_and_group` node is also the identity of the random draw).
    ///
    /// # Errors
    /// Shape errors.
    pub fn discrete_var(values: Circuit, probs_and_group: Circuit) -> Result<Circuit> {
        Circuit::new(Op::DiscreteVar, vec![values, probs_and_group], None)
    }

    /// A fresh uniform group for `n` samples: `Tag(random uuid, Scalar(1/n, [n]))`.
    ///
    /// # Errors
    /// Never.
    pub fn uniform_probs_and_group(n: usize) -> Result<Circuit> {
        Circuit::scalar(1.0 / n as f64, &[n], None)?.tag(Uuid::new_v4())
    }

    /// The joint cumulant of the children.
    ///
    /// # Errors
    /// Dtype errors.
    pub fn cumulant(children: Vec<Circuit>) -> Result<Circuit> {
        Circuit::new(Op::Cumulant, children, None)
    }

    /// A StoredCumulantVar from cumulants keyed by order.
    ///
    /// # Errors
    /// Order and shape errors.
    pub fn stored_cumulant_var(
        orders: Vec<usize>,
        cumulants: Vec<Circuit>,
        uuid: Uuid,
    ) -> Result<Circuit> {
        Circuit::new(Op::StoredCumulantVar(StoredCumulantVar { orders, uuid }), cumulants, None)
    }

    /// A convolution (channels last).
    ///
    /// # Errors
    /// Shape errors.
    pub fn conv(
        input: Circuit,
        filter: Circuit,
        stride: Vec<usize>,
        padding: Vec<(usize, usize)>,
    ) -> Result<Circuit> {
        Circuit::new(Op::Conv(Conv { stride, padding }), vec![input, filter], None)
    }

    /// A Module call: `spec` with each `(arg spec, input)` bound.
    ///
    /// # Errors
    /// Binding errors (shapes, batching, capture).
    pub fn module(
        spec: Circuit,
        args: Vec<(ModuleArgSpec, Circuit)>,
        name: Option<&str>,
    ) -> Result<Circuit> {
        let (arg_specs, inputs): (Vec<_>, Vec<_>) = args.into_iter().unzip();
        let mut children = vec![spec];
        children.extend(inputs);
        Circuit::new(Op::Module(Module { arg_specs }), children, name_of(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn sc(v: f64, shape: &[usize], name: &str) -> Circuit {
        Circuit::scalar(v, shape, Some(name)).unwrap()
    }

    #[test]
    fn autonames_follow_the_reference() {
        let a = sc(1.0, &[2], "a");
        let b = sc(2.0, &[2], "b");
        let c = sc(3.0, &[2], "c");
        let ab = a.add(&b).unwrap();
        assert_eq!(ab.name(), Some("a + b"));
        let prod = ab.mul(&c).unwrap();
        assert_eq!(prod.name(), Some("(a + b) * c"));
        let r = prod.rearrange_str("a -> a 1").unwrap();
        assert_eq!(r.name(), Some("((a + b) * c) rearrange"));
        let s = a.apply(SimpleFn::Sigmoid).unwrap();
        assert_eq!(s.name(), Some("sigmoid(a)"));
        let unnamed = Circuit::scalar(1.0, &[2], None).unwrap();
        assert_eq!(a.add(&unnamed).unwrap().name(), None);
        let ad = a.with_autoname_disabled().unwrap();
        assert_eq!(ad.add(&b).unwrap().name(), None);
        assert!(!ad.add(&b).unwrap().flags().use_autoname());
    }

    #[test]
    fn equality_is_by_content() {
        let a1 = sc(1.0, &[2, 3], "a");
        let a2 = sc(1.0, &[2, 3], "a");
        assert_eq!(a1, a2);
        assert_ne!(a1, sc(1.0, &[2, 3], "b"));
        assert_ne!(a1, Circuit::scalar(1.0, &[2, 3], None).unwrap());
        assert_ne!(sc(0.0, &[], "z"), sc(-0.0, &[], "z"));
        assert_ne!(a1, a1.with_autoname_disabled().unwrap());
    }

    #[test]
    fn shapes_and_errors() {
        let a = sc(1.0, &[2, 3], "a");
        let b = sc(1.0, &[3, 4], "b");
        let e = Circuit::einsum("ab,bc->ac", [a.clone(), b.clone()]).unwrap();
        assert_eq!(e.shape().as_slice(), &[2, 4]);
        assert!(Circuit::einsum("ab,bc->ac", [a.clone(), a.clone()]).is_err());
        assert!(Circuit::einsum("ab,bc->ad", [a.clone(), b.clone()]).is_err());
        let i = a.index(vec![TensorAxisIndex::Int(1)]).unwrap();
        assert_eq!(i.shape().as_slice(), &[3]);
        assert!(a.index(vec![TensorAxisIndex::Int(2)]).is_err());
        assert_eq!(a.mean(&[-1]).unwrap().shape().as_slice(), &[2]);
        assert!(Circuit::concat(vec![a.clone(), b.clone()], 0).is_err());
        assert_eq!(
            Circuit::concat(vec![a.clone(), a.clone()], -1).unwrap().shape().as_slice(),
            &[2, 6]
        );
        assert!(a.apply(SimpleFn::Softmax).is_ok());
        assert!(Circuit::scalar(1.0, &[], None).unwrap().apply(SimpleFn::Softmax).is_err());
        let t = a.tag(Uuid::nil()).unwrap();
        assert_eq!(t.kind(), Kind::Tag);
    }

    #[test]
    fn flags() {
        let s = Circuit::symbol(&[2], Uuid::nil(), Some("s")).unwrap();
        assert!(s.flags().is_constant() && !s.flags().is_explicitly_computable());
        let vals = sc(1.0, &[4, 2], "v");
        let var =
            Circuit::discrete_var(vals, Circuit::uniform_probs_and_group(4).unwrap()).unwrap();
        assert!(!var.flags().is_constant() && var.flags().can_be_sampled());
        let k = Circuit::cumulant(vec![var.clone()]).unwrap();
        assert!(k.flags().is_constant() && !k.flags().is_explicitly_computable());
        let k0 = Circuit::cumulant(vec![]).unwrap();
        assert!(k0.is_evaluable());
        assert_eq!(var.shape().as_slice(), &[2]);
        assert_eq!(s.free_symbols().len(), 1);
        assert_eq!(s.add(&sc(1.0, &[2], "o")).unwrap().free_symbols().len(), 1);
    }

    #[test]
    fn module_substitution_batches() {
        let inp = Circuit::symbol(&[], Uuid::new_v4(), Some("a.inp")).unwrap();
        let other = sc(5.0, &[3], "other");
        let body = Circuit::sum_of([inp.clone(), other]).unwrap().rename(Some("stuff")).unwrap();
        let bound = sc(3.0, &[2, 3], "a.bound");
        let m = Circuit::module(body, vec![(ModuleArgSpec::new(inp).unwrap(), bound)], Some("a"))
            .unwrap();
        assert_eq!(m.shape().as_slice(), &[2, 3, 3]);
        assert!(m.is_evaluable());
    }

    #[test]
    fn deep_chain_drops_without_overflow() {
        let mut c = sc(1.0, &[2], "x");
        for _ in 0..200_000 {
            c = Circuit::build(Op::Tag(Tag { uuid: Uuid::nil() }), vec![c], None, false).unwrap();
        }
        assert_eq!(c.shape().as_slice(), &[2]);
        drop(c);
    }
}
