//! [`rearrange_fuse`]: two stacked Rearranges become one.

use circuit_ir::kinds::{Rearrange, RearrangeSpec};
use circuit_ir::{Circuit, Op};
use smallvec::SmallVec;

use crate::compiler::{rebuild, PassResult as Result};

type Group = SmallVec<[u8; 4]>;

/// `Rearrange(Rearrange(x))` → `Rearrange(x)`.
///
/// Each dimension between the two is split by the inner spec's output group and by the
/// outer spec's input group. Both splits are mixed-radix decompositions of the same
/// index (most significant int first), so they have a common refinement exactly when the
/// union of their prefix products is a divisibility chain; the refinement's factors
/// ("atoms") become the fused spec's ints, all with concrete sizes. Size-1 ints are
/// dropped (an empty group is a size-1 dimension). Returns `None` when the splits have
/// no common refinement (e.g. `(a:2 b:3)` against `(c:3 d:2)`), a size is 0, or more
/// than 256 atoms would be needed. Fixture: `rearrange/fuse.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn rearrange_fuse(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::Rearrange(outer) = node.op() else { return Ok(None) };
    let inner_node = &node.children()[0];
    let Op::Rearrange(inner) = inner_node.op() else { return Ok(None) };
    if crate::compiler::is_shared(inner_node) {
        return Ok(None);
    }
    let x = &inner_node.children()[0];
    let (Ok(inner_sizes), Ok(outer_sizes)) =
        (inner.spec.conform(x.shape()), outer.spec.conform(inner_node.shape()))
    else {
        return Ok(None);
    };
    if inner_sizes.contains(&0) || outer_sizes.contains(&0) {
        return Ok(None);
    }
    let mut atoms = Atoms::default();
    let mut inner_atoms: Vec<Vec<u8>> = vec![Vec::new(); inner_sizes.len()];
    let mut outer_atoms: Vec<Vec<u8>> = vec![Vec::new(); outer_sizes.len()];
    for (ig, og) in inner.spec.output_ints.iter().zip(&outer.spec.input_ints) {
        let ig: Vec<(u8, usize)> = sized(ig, &inner_sizes);
        let og: Vec<(u8, usize)> = sized(og, &outer_sizes);
        let Some(factors) = refine(&ig, &og) else { return Ok(None) };
        let mut ids = Vec::with_capacity(factors.len());
        for &f in &factors {
            let Some(id) = atoms.push(f) else { return Ok(None) };
            ids.push(id);
        }
        assign(&ig, &factors, &ids, &mut inner_atoms);
        assign(&og, &factors, &ids, &mut outer_atoms);
    }
    let input_ints: Vec<Group> = inner
        .spec
        .input_ints
        .iter()
        .map(|g| g.iter().flat_map(|&i| inner_atoms[usize::from(i)].iter().copied()).collect())
        .collect();
    let outer_inputs: Vec<u8> = outer.spec.input_ints.iter().flatten().copied().collect();
    let mut output_ints: Vec<Group> = Vec::with_capacity(outer.spec.output_ints.len());
    for g in &outer.spec.output_ints {
        let mut group = Group::new();
        for &i in g {
            let size = outer_sizes[usize::from(i)];
            if outer_inputs.contains(&i) {
                group.extend(outer_atoms[usize::from(i)].iter().copied());
            } else if size != 1 {
                // A repeat of the outer spec: a new atom that only the output has.
                let Some(id) = atoms.push(size) else { return Ok(None) };
                group.push(id);
            }
        }
        output_ints.push(group);
    }
    let Ok(spec) = RearrangeSpec::new(input_ints, output_ints, atoms.sizes) else {
        return Ok(None);
    };
    let out = rebuild(node, Op::Rearrange(Rearrange { spec }), vec![x.clone()])?;
    Ok((out.shape() == node.shape()).then_some(out))
}

#[derive(Default)]
struct Atoms {
    sizes: Vec<Option<usize>>,
}

impl Atoms {
    fn push(&mut self, size: usize) -> Option<u8> {
        let id = u8::try_from(self.sizes.len()).ok()?;
        self.sizes.push(Some(size));
        Some(id)
    }
}

/// The ints of a group with their sizes, size-1 ints dropped.
fn sized(group: &[u8], sizes: &[usize]) -> Vec<(u8, usize)> {
    group.iter().map(|&i| (i, sizes[usize::from(i)])).filter(|&(_, s)| s != 1).collect()
}

fn prefix_products(group: &[(u8, usize)]) -> Vec<usize> {
    let mut acc = 1usize;
    group
        .iter()
        .map(|&(_, s)| {
            acc = acc.saturating_mul(s);
            acc
        })
        .collect()
}

/// The common refinement of two mixed-radix splits of one dimension, as the atoms' sizes
/// (most significant first), or `None` if there is none.
fn refine(a: &[(u8, usize)], b: &[(u8, usize)]) -> Option<Vec<usize>> {
    let mut points: Vec<usize> = prefix_products(a);
    points.extend(prefix_products(b));
    points.sort_unstable();
    points.dedup();
    let mut prev = 1usize;
    let mut factors = Vec::with_capacity(points.len());
    for p in points {
        if p % prev != 0 {
            return None;
        }
        factors.push(p / prev);
        prev = p;
    }
    Some(factors)
}

/// Records, for each int of `group`, the atom ids covering it.
fn assign(group: &[(u8, usize)], factors: &[usize], ids: &[u8], out: &mut [Vec<u8>]) {
    let mut k = 0;
    for &(int, size) in group {
        let mut left = size;
        while left > 1 && k < factors.len() {
            out[usize::from(int)].push(ids[k]);
            left /= factors[k];
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(shape: &[usize]) -> Circuit {
        Circuit::symbol(shape, circuit_ir::Uuid::nil(), Some("x")).unwrap()
    }

    fn fused(c: &Circuit) -> Option<String> {
        rearrange_fuse(c).unwrap().map(|f| match f.op() {
            Op::Rearrange(r) => r.spec.to_text(),
            _ => String::new(),
        })
    }

    #[test]
    fn fuses_flatten_then_unflatten() {
        let r = x(&[2, 3, 4]).rearrange_str("a b c -> (a b) c").unwrap();
        let r2 = r.rearrange_str("(p:2 q:3) c -> c q p").unwrap();
        let f = rearrange_fuse(&r2).unwrap().unwrap();
        assert_eq!(f.shape().as_slice(), &[4, 3, 2]);
        assert_eq!(f.children()[0], x(&[2, 3, 4]));
    }

    #[test]
    fn incompatible_splits_do_not_fuse() {
        let r = x(&[2, 3]).rearrange_str("a b -> (a b)").unwrap();
        let r2 = r.rearrange_str("(c:3 d:2) -> d c").unwrap();
        assert_eq!(fused(&r2), None);
    }

    #[test]
    fn repeats_survive() {
        let r = x(&[2]).rearrange_str("a -> a 3").unwrap();
        let r2 = r.rearrange_str("a b -> b 5 a").unwrap();
        let f = rearrange_fuse(&r2).unwrap().unwrap();
        assert_eq!(f.shape().as_slice(), &[3, 5, 2]);
    }
}
