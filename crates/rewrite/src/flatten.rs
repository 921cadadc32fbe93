//! Flattening: nested Adds into one Add, nested Einsums into one Einsum (so the path
//! optimizer sees the whole contraction), and pure permutations absorbed into Einsum
//! labels.

use circuit_ir::kinds::{Axes, Einsum};
use circuit_ir::{Circuit, Op};

use crate::compiler::{is_shared, rebuild, PassResult as Result};

/// `Add(Add(a, b), c)` → `Add(a, b, c)`: splices every child that is an Add.
///
/// Broadcasting is associative (each operand is right-aligned against the same final
/// shape), so the value is unchanged; the result's shape is checked anyway. Fixture:
/// `add/flatten.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn add_flatten(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Add) || !node.children().iter().any(|c| matches!(c.op(), Op::Add)) {
        return Ok(None);
    }
    let mut children = Vec::new();
    for c in node.children() {
        if matches!(c.op(), Op::Add) {
            children.extend(c.children().iter().cloned());
        } else {
            children.push(c.clone());
        }
    }
    let out = rebuild(node, Op::Add, children)?;
    Ok((out.shape() == node.shape() && out.dtype() == node.dtype()).then_some(out))
}

/// Splices Einsum operands that are themselves Einsums into the parent, relabelling the
/// child's output labels to the parent's labels for that operand and giving the child's
/// summed labels fresh parent labels. A repeated parent label on the operand (a diagonal
/// of the child's output) becomes a repeated label in the spliced operands, which is the
/// same diagonal taken earlier.
///
/// Children whose output repeats a label (a diagonal *output*, zeros off the diagonal)
/// are not spliced: that is not expressible as plain labels. Returns `None` when the 256
/// labels of a `u8` would not suffice. Fixture: `einsum/flatten.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn einsum_flatten(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Einsum(e) = node.op() else { return Ok(None) };
    let splice = |c: &Circuit| match c.op() {
        Op::Einsum(ce) => has_distinct(&ce.out_axes) && !is_shared(c),
        _ => false,
    };
    if !node.children().iter().any(splice) {
        return Ok(None);
    }
    let mut next = e.next_label();
    let mut in_axes: Vec<Axes> = Vec::new();
    let mut children: Vec<Circuit> = Vec::new();
    for (child, axes) in node.children().iter().zip(&e.in_axes) {
        let Op::Einsum(ce) = child.op() else {
            in_axes.push(axes.clone());
            children.push(child.clone());
            continue;
        };
        if !splice(child) {
            in_axes.push(axes.clone());
            children.push(child.clone());
            continue;
        }
        // child label -> parent label
        let mut map: [Option<u8>; 256] = [None; 256];
        for (&cl, &pl) in ce.out_axes.iter().zip(axes.iter()) {
            map[usize::from(cl)] = Some(pl);
        }
        for (grandchild, g_axes) in child.children().iter().zip(&ce.in_axes) {
            let mut mapped = Axes::new();
            for &cl in g_axes {
                let pl = match map[usize::from(cl)] {
                    Some(pl) => pl,
                    None => {
                        let Ok(fresh) = u8::try_from(next) else { return Ok(None) };
                        next += 1;
                        map[usize::from(cl)] = Some(fresh);
                        fresh
                    }
                };
                mapped.push(pl);
            }
            in_axes.push(mapped);
            children.push(grandchild.clone());
        }
    }
    let op = Op::Einsum(Einsum { in_axes, out_axes: e.out_axes.clone() });
    let out = rebuild(node, op, children)?;
    Ok((out.shape() == node.shape() && out.dtype() == node.dtype()).then_some(out))
}

fn has_distinct(axes: &[u8]) -> bool {
    axes.iter().enumerate().all(|(i, a)| !axes[..i].contains(a))
}

/// An Einsum operand that is a Rearrange doing only a permutation of whole dimensions
/// (`a b c -> c a b`) is replaced by the Rearrange's input, with the operand's labels
/// permuted back. The Einsum then reads the input in place. Fixture:
/// `einsum/of-permute-merge.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn einsum_of_permute_merge(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Einsum(e) = node.op() else { return Ok(None) };
    let is_permute = |c: &Circuit| matches!(c.op(), Op::Rearrange(r) if r.spec.is_permute());
    if !node.children().iter().any(is_permute) {
        return Ok(None);
    }
    let mut in_axes = Vec::with_capacity(e.in_axes.len());
    let mut children = Vec::with_capacity(e.in_axes.len());
    for (child, axes) in node.children().iter().zip(&e.in_axes) {
        match child.op() {
            Op::Rearrange(r) if r.spec.is_permute() => {
                // Output dim j holds int r.output_ints[j][0]; input dim i holds int
                // r.input_ints[i][0]. The input's dim i gets the label of the output dim
                // holding the same int.
                let mut new_axes = Axes::new();
                for g in &r.spec.input_ints {
                    let Some(j) = r.spec.output_ints.iter().position(|o| o[0] == g[0]) else {
                        return Ok(None);
                    };
                    new_axes.push(axes[j]);
                }
                in_axes.push(new_axes);
                children.push(child.children()[0].clone());
            }
            _ => {
                in_axes.push(axes.clone());
                children.push(child.clone());
            }
        }
    }
    let op = Op::Einsum(Einsum { in_axes, out_axes: e.out_axes.clone() });
    let out = rebuild(node, op, children)?;
    Ok((out.shape() == node.shape() && out.dtype() == node.dtype()).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str, shape: &[usize]) -> Circuit {
        Circuit::symbol(shape, circuit_ir::Uuid::nil(), Some(name)).unwrap()
    }

    #[test]
    fn flattens_adds() {
        let (a, b, c) = (leaf("a", &[3]), leaf("b", &[2, 3]), leaf("c", &[1]));
        let inner = a.add(&b).unwrap();
        let outer = inner.add(&c).unwrap();
        let flat = add_flatten(&outer).unwrap().unwrap();
        assert_eq!(flat.children(), &[a, b, c]);
        assert_eq!(add_flatten(&flat).unwrap(), None);
    }

    #[test]
    fn flattens_einsums_with_fresh_summed_labels() {
        let (a, b, c) = (leaf("a", &[2, 3]), leaf("b", &[3, 4]), leaf("c", &[4, 5]));
        let ab = Circuit::einsum("ab,bc->ac", [a.clone(), b.clone()]).unwrap();
        let abc = Circuit::einsum("ab,bc->ac", [ab, c.clone()]).unwrap();
        let flat = einsum_flatten(&abc).unwrap().unwrap();
        let Op::Einsum(e) = flat.op() else { panic!() };
        assert_eq!(e.to_spec_string(), "ad,db,bc->ac");
        assert_eq!(flat.children(), &[a, b, c]);
    }

    #[test]
    fn flattening_a_diagonal_of_a_child() {
        let (a, b) = (leaf("a", &[3, 4]), leaf("b", &[4, 3]));
        let ab = Circuit::einsum("ab,bc->ac", [a, b]).unwrap();
        let tr = Circuit::einsum("aa->", [ab]).unwrap();
        let flat = einsum_flatten(&tr).unwrap().unwrap();
        let Op::Einsum(e) = flat.op() else { panic!() };
        assert_eq!(e.to_spec_string(), "ab,ba->");
    }

    #[test]
    fn simplify_keeps_shared_einsums_shared() {
        let (a, b) = (leaf("a", &[2, 3]), leaf("b", &[3, 4]));
        let ab = Circuit::einsum("ab,bc->ac", [a.clone(), b.clone()]).unwrap();
        let left = Circuit::einsum("ac->a", [ab.clone()]).unwrap();
        let right = Circuit::einsum("ac->c", [ab.clone()]).unwrap();
        let root = Circuit::einsum("a,c->ac", [left, right]).unwrap();
        let s = crate::simplify(&root, crate::COMPILER_PASSES).unwrap();
        // `ab` has two parents: it stays one node under both.
        let count = s.toposort().iter().filter(|n| **n == ab).count();
        assert_eq!(count, 1);
        // A single-parent chain is flattened.
        let chain = Circuit::einsum("ac->a", [ab]).unwrap();
        let f = crate::simplify(&chain, crate::COMPILER_PASSES).unwrap();
        assert_eq!(f.children(), &[a, b]);
    }

    #[test]
    fn diagonal_outputs_are_not_spliced() {
        let a = leaf("a", &[3]);
        let d = Circuit::einsum("a->aa", [a]).unwrap();
        let s = Circuit::einsum("ab->a", [d]).unwrap();
        assert_eq!(einsum_flatten(&s).unwrap(), None);
    }

    #[test]
    fn absorbs_permutations() {
        let a = leaf("a", &[2, 3, 4]);
        let p = a.rearrange_str("x y z -> z x y").unwrap();
        let e = Circuit::einsum("abc->bc", [p]).unwrap();
        let out = einsum_of_permute_merge(&e).unwrap().unwrap();
        let Op::Einsum(oe) = out.op() else { panic!() };
        assert_eq!(oe.to_spec_string(), "bca->bc");
        assert_eq!(out.children(), &[a]);
    }
}
