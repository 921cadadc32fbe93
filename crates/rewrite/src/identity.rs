//! [`drop_identities`]: nodes that return their (only) child unchanged.

use circuit_ir::kinds::{GfSpec, TensorAxisIndex};
use circuit_ir::{Circuit, Kind, Op};

use crate::compiler::PassResult as Result;

/// Replaces a node that is an identity on values by its child:
///
/// * `Tag` (an identity that only makes circuits distinct) and an evaluable
///   `SetSymbolicShape` (its shape is concrete and equals the child's);
/// * a `Rearrange` whose input and output groups are the same;
/// * an `Index` whose every entry is the full slice `:`;
/// * a one-operand `Einsum` whose labels are distinct and equal in and out (`ab->ab`);
/// * an `Add` or `Concat` with one child, a `Cumulant` of one child (κ(x) = E\[x\] = x for
///   a constant x);
/// * a `Cast` whose output dtype is the child's.
///
/// Only when the child has the node's shape and dtype (so nothing observable changes).
///
/// # Errors
/// Never; fallible for the uniform pass signature.
pub fn drop_identities(node: &Circuit) -> Result<Option<Circuit>> {
    let [child] = node.children() else { return Ok(None) };
    if child.shape() != node.shape() || child.dtype() != node.dtype() {
        return Ok(None);
    }
    let is_identity = match node.op() {
        Op::Tag(_) | Op::Add | Op::Concat(_) | Op::Cumulant => true,
        Op::SetSymbolicShape(_) => node.is_evaluable() || child.flags().is_explicitly_computable(),
        Op::Rearrange(r) => r.spec.is_identity(),
        Op::Index(i) => i.index.iter().all(TensorAxisIndex::is_identity),
        Op::Einsum(e) => {
            let axes = &e.in_axes[0];
            let distinct = axes.iter().enumerate().all(|(i, a)| !axes[..i].contains(a));
            distinct && axes[..] == e.out_axes[..]
        }
        Op::GeneralFunction(g) => matches!(g.spec, GfSpec::Cast { .. }),
        _ => false,
    };
    // A Module is never an identity here (the compiler substitutes modules first).
    if is_identity && node.kind() != Kind::Module {
        Ok(Some(child.clone()))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use circuit_ir::Uuid;

    fn x() -> Circuit {
        Circuit::scalar(2.0, &[2, 3], Some("x")).unwrap()
    }

    #[test]
    fn drops_tags_and_identity_ops() {
        let t = x().tag(Uuid::nil()).unwrap();
        assert_eq!(drop_identities(&t).unwrap(), Some(x()));
        let r = x().rearrange_str("a b -> a b").unwrap();
        assert_eq!(drop_identities(&r).unwrap(), Some(x()));
        let i = x().index(vec![TensorAxisIndex::FULL]).unwrap();
        assert_eq!(drop_identities(&i).unwrap(), Some(x()));
        let e = Circuit::einsum("ab->ab", [x()]).unwrap();
        assert_eq!(drop_identities(&e).unwrap(), Some(x()));
        let a = Circuit::sum_of([x()]).unwrap();
        assert_eq!(drop_identities(&a).unwrap(), Some(x()));
    }

    #[test]
    fn keeps_real_work() {
        let r = x().rearrange_str("a b -> b a").unwrap();
        assert_eq!(drop_identities(&r).unwrap(), None);
        let e = Circuit::einsum("ab->ba", [x()]).unwrap();
        assert_eq!(drop_identities(&e).unwrap(), None);
        let s = Circuit::einsum("ab->a", [x()]).unwrap();
        assert_eq!(drop_identities(&s).unwrap(), None);
        let i = x().index(vec![TensorAxisIndex::Int(0)]).unwrap();
        assert_eq!(drop_identities(&i).unwrap(), None);
        let sq = Circuit::scalar(1.0, &[3, 3], None).unwrap();
        let d = Circuit::einsum("aa->aa", [sq]).unwrap();
        assert_eq!(drop_identities(&d).unwrap(), None);
    }
}
