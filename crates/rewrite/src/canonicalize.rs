//! Canonical forms: `canonicalize_node` / `deep_canonicalize` (canonical Rearrange specs
//! and indices, sorted Add and Einsum operands, normalized Einsum labels) and the
//! lighter `normalize_node` / `deep_normalize` (no sorting, size-1 ints kept).

use circuit_ir::kinds::{
    Axes, Einsum, Index, IndexTensor, Rearrange, RearrangeSpec, Slice, TensorAxisIndex,
};
use circuit_ir::{Circuit, Op};
use smallvec::SmallVec;

use crate::utils::map_bottom_up;
use crate::{Result, RewriteError};

type Group = SmallVec<[u8; 4]>;

/// A Rearrange spec with every size explicit, ints of size 1 dropped (when
/// `drop_ones`), ints that always appear adjacent (in the same order) merged, and ints
/// renumbered by first appearance.
pub(crate) fn canonical_spec(
    spec: &RearrangeSpec,
    input_shape: &[usize],
    drop_ones: bool,
) -> Option<RearrangeSpec> {
    let sizes = spec.conform(input_shape).ok()?;
    let keep = |i: &u8| !drop_ones || sizes[usize::from(*i)] != 1;
    let mut input: Vec<Group> =
        spec.input_ints.iter().map(|g| g.iter().copied().filter(keep).collect()).collect();
    let mut output: Vec<Group> =
        spec.output_ints.iter().map(|g| g.iter().copied().filter(keep).collect()).collect();
    let mut sizes: Vec<usize> = sizes;
    // Merge `a` followed by `b` wherever either appears.
    loop {
        let mut merged = false;
        'search: for g in input.iter().chain(output.iter()) {
            for w in g.windows(2) {
                let (a, b) = (w[0], w[1]);
                let always = input.iter().chain(output.iter()).all(|h| {
                    let pa = h.iter().position(|&x| x == a);
                    let pb = h.iter().position(|&x| x == b);
                    match (pa, pb) {
                        (None, None) => true,
                        (Some(i), Some(j)) => j == i + 1,
                        _ => false,
                    }
                });
                if always {
                    let sa = sizes[usize::from(a)];
                    let sb = sizes[usize::from(b)];
                    sizes[usize::from(a)] = sa.checked_mul(sb)?;
                    for h in input.iter_mut().chain(output.iter_mut()) {
                        h.retain(|x| *x != b);
                    }
                    merged = true;
                    break 'search;
                }
            }
        }
        if !merged {
            break;
        }
    }
    let int_sizes: Vec<Option<usize>> = sizes.iter().map(|&s| Some(s)).collect();
    let spec = RearrangeSpec::new(input, output, int_sizes).ok()?;
    Some(spec.renumbered().unwrap_or(spec))
}

/// Canonical index entries: non-negative ints, explicit slice bounds, and a tensor of
/// consecutive increasing positions as a slice.
pub(crate) fn canonical_index(index: &[TensorAxisIndex], shape: &[usize]) -> Vec<TensorAxisIndex> {
    index
        .iter()
        .zip(shape)
        .map(|(e, &len)| match e {
            TensorAxisIndex::Int(i) if *i < 0 => TensorAxisIndex::Int(i + len as i64),
            TensorAxisIndex::Slice(s) => match s.resolve(len) {
                Ok((a, b)) => {
                    TensorAxisIndex::Slice(Slice { start: Some(a as i64), stop: Some(b as i64) })
                }
                Err(_) => e.clone(),
            },
            TensorAxisIndex::Tensor(t) => tensor_as_slice(t, len).unwrap_or_else(|| e.clone()),
            other => other.clone(),
        })
        .collect()
}

fn tensor_as_slice(t: &IndexTensor, len: usize) -> Option<TensorAxisIndex> {
    t.len()?;
    let v: Vec<i64> = t
        .tensor()
        .to_i64_vec()
        .into_iter()
        .map(|x| if x < 0 { x + len as i64 } else { x })
        .collect();
    let first = *v.first()?;
    let contiguous = v.iter().enumerate().all(|(i, &x)| x == first + i as i64) && first >= 0;
    let stop = first + v.len() as i64;
    (contiguous && stop <= len as i64)
        .then_some(TensorAxisIndex::Slice(Slice { start: Some(first), stop: Some(stop) }))
}

/// Einsum labels renumbered by first appearance (operands, then output).
pub(crate) fn normalize_ints(e: &Einsum) -> Einsum {
    let mut map: [Option<u8>; 256] = [None; 256];
    let mut next: u8 = 0;
    let mut relabel = |axes: &Axes| -> Axes {
        axes.iter()
            .map(|&l| {
                *map[usize::from(l)].get_or_insert_with(|| {
                    let n = next;
                    next = next.wrapping_add(1);
                    n
                })
            })
            .collect()
    };
    let in_axes: Vec<Axes> = e.in_axes.iter().map(&mut relabel).collect();
    let out_axes = relabel(&e.out_axes);
    Einsum { in_axes, out_axes }
}

fn sort_key(c: &Circuit) -> (std::cmp::Reverse<u128>, &'static str, circuit_ir::NodeHash) {
    (std::cmp::Reverse(c.numel()), c.kind().name(), c.hash())
}

fn rebuild(node: &Circuit, op: Op, children: Vec<Circuit>) -> Result<Circuit> {
    let out = Circuit::build(op, children, node.name_arc().cloned(), node.autoname_disabled_here())
        .map_err(RewriteError::construct("canonicalize", node))?;
    if out.rank() == node.rank() && !node.named_axes().is_empty() {
        return out
            .with_named_axes(node.named_axes().clone())
            .map_err(RewriteError::construct("canonicalize", node));
    }
    Ok(out)
}

fn canonicalize_impl(node: &Circuit, sort: bool) -> Result<Circuit> {
    match node.op() {
        Op::Rearrange(r) => {
            let child = &node.children()[0];
            match canonical_spec(&r.spec, child.shape(), sort) {
                Some(spec) if spec != r.spec => {
                    rebuild(node, Op::Rearrange(Rearrange { spec }), vec![child.clone()])
                }
                _ => Ok(node.clone()),
            }
        }
        Op::Index(idx) if sort => {
            let child = &node.children()[0];
            let index = canonical_index(&idx.index, child.shape());
            if index == idx.index {
                return Ok(node.clone());
            }
            rebuild(node, Op::Index(Index { index }), vec![child.clone()])
        }
        Op::Add if sort => {
            let mut kids = node.children().to_vec();
            kids.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
            if kids == node.children() {
                return Ok(node.clone());
            }
            rebuild(node, Op::Add, kids)
        }
        Op::Einsum(e) => {
            let mut pairs: Vec<(Circuit, Axes)> =
                node.children().iter().cloned().zip(e.in_axes.iter().cloned()).collect();
            if sort {
                pairs.sort_by(|a, b| sort_key(&a.0).cmp(&sort_key(&b.0)));
            }
            let (kids, in_axes): (Vec<Circuit>, Vec<Axes>) = pairs.into_iter().unzip();
            let normalized = normalize_ints(&Einsum { in_axes, out_axes: e.out_axes.clone() });
            if normalized == *e && kids == node.children() {
                return Ok(node.clone());
            }
            rebuild(node, Op::Einsum(normalized), kids)
        }
        _ => Ok(node.clone()),
    }
}

/// Canonicalizes one node: Rearrange spec conformed to its input and canonicalized
/// (size-1 ints dropped, always-adjacent ints merged, renumbered); Index entries made
/// canonical; Add operands sorted by (numel descending, kind, hash); Einsum operands
/// sorted the same way and labels renumbered by first appearance.
///
/// # Errors
/// Rebuild errors (none expected).
pub fn canonicalize_node(node: &Circuit) -> Result<Circuit> {
    canonicalize_impl(node, true)
}

/// [`canonicalize_node`] on every node.
///
/// # Errors
/// See [`canonicalize_node`].
pub fn deep_canonicalize(circuit: &Circuit) -> Result<Circuit> {
    map_bottom_up(circuit, "deep_canonicalize", |_, n| canonicalize_node(n))
}

/// The lighter form: Rearrange specs canonicalized but size-1 ints kept, Einsum labels
/// renumbered; no sorting.
///
/// # Errors
/// Rebuild errors (none expected).
pub fn normalize_node(node: &Circuit) -> Result<Circuit> {
    canonicalize_impl(node, false)
}

/// [`normalize_node`] on every node.
///
/// # Errors
/// See [`normalize_node`].
pub fn deep_normalize(circuit: &Circuit) -> Result<Circuit> {
    map_bottom_up(circuit, "deep_normalize", |_, n| normalize_node(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_specs() {
        let spec = RearrangeSpec::parse("a (b c:1) d -> (a b) c d").expect("spec");
        let c = canonical_spec(&spec, &[2, 3, 4], true).expect("canonical");
        assert_eq!(c.to_text(), "a:2 b:3 c:4 -> (a:2 b:3) () c:4");
        // `a b` always adjacent in the same order: merged.
        let spec = RearrangeSpec::parse("(a:2 b) c -> c (a:2 b)").expect("spec");
        let c = canonical_spec(&spec, &[6, 4], true).expect("canonical");
        assert_eq!(c.to_text(), "a:6 b:4 -> b:4 a:6");
    }

    #[test]
    fn einsum_ints_by_first_appearance() {
        let e = Einsum::parse("cd,d->c").expect("einsum");
        assert_eq!(normalize_ints(&e).to_spec_string(), "ab,b->a");
    }
}
