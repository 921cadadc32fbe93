//! Structural operations: Einsum, Add, Rearrange, Index, Scatter, Concat.

use std::collections::BTreeMap;

use circuit_ir::kinds::{
    Concat, Einsum, Index, IndexTensor, Rearrange, RearrangeSpec, Scatter, Slice, TensorAxisIndex,
};
use circuit_ir::size::is_symbolic;
use circuit_ir::{Circuit, DType, IrError, Op, Shape, Tensor};

use super::Generator;

/// Input groups, output groups and int sizes of a rearrange spec under construction.
type SpecParts = (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<Option<usize>>);

impl Generator {
    /// A child for an n-ary op with dtype compatible with the ones chosen so far.
    fn operand(&mut self, dtype: Option<DType>, max_rank: usize) -> Circuit {
        if self.g.chance(0.75) {
            if let Some(c) = self.pick_compatible(dtype, |c| c.rank() <= max_rank) {
                return c;
            }
        }
        let shape = self.shape(true);
        self.leaf_of_shape(&shape, dtype)
    }

    pub(super) fn einsum(&mut self) -> Result<Circuit, IrError> {
        if self.cfg.named_axes && self.g.chance(0.2) {
            return self.einsum_named();
        }
        let n = match self.g.weighted(&[5, 35, 45, 15]) {
            0 => 0,
            1 => 1,
            2 => 2,
            _ => 3,
        };
        let mut children = Vec::new();
        let mut in_axes: Vec<Vec<u8>> = Vec::new();
        let mut sizes: BTreeMap<u8, usize> = BTreeMap::new();
        let mut dtype = None;
        for _ in 0..n {
            let c = self.operand(dtype, 4);
            dtype = dtype.or(c.dtype());
            let mut axes: Vec<u8> = Vec::new();
            for &d in c.shape() {
                let same: Vec<u8> =
                    sizes.iter().filter(|(_, &s)| s == d).map(|(&l, _)| l).collect();
                let label = match self.g.pick(&same) {
                    Some(&l) if self.g.chance(0.45) => l,
                    _ => self.fresh_label(&sizes),
                };
                sizes.insert(label, d);
                axes.push(label);
            }
            in_axes.push(axes);
            children.push(c);
        }
        let mut labels: Vec<u8> = sizes.keys().copied().collect();
        self.g.shuffle(&mut labels);
        let keep = self.g.range(0, labels.len());
        let mut out: Vec<u8> = labels[..keep].to_vec();
        if !out.is_empty() && self.g.chance(0.12) {
            // a repeated output label: a diagonal output
            let l = out[self.g.below(out.len())];
            out.insert(self.g.below(out.len() + 1), l);
        }
        if self.g.chance(0.5) {
            // Labels in order of first appearance: the form the printer can write as
            // `fancy:` words when the einsum has named axes.
            let mut order: Vec<u8> = Vec::new();
            for &l in in_axes.iter().flatten() {
                if !order.contains(&l) {
                    order.push(l);
                }
            }
            let relabel = |l: u8| order.iter().position(|&x| x == l).unwrap_or(0) as u8;
            in_axes = in_axes.into_iter().map(|a| a.into_iter().map(relabel).collect()).collect();
            out = out.into_iter().map(relabel).collect();
        }
        let op = Op::Einsum(Einsum {
            in_axes: in_axes.into_iter().map(|a| a.into_iter().collect()).collect(),
            out_axes: out.into_iter().collect(),
        });
        self.build(op, children)
    }

    /// An einsum whose operands are fresh leaves with every axis named after its label
    /// (one distinct name per label) and labels in order of first appearance, so that it
    /// inherits named axes and prints in the `fancy:` word form.
    fn einsum_named(&mut self) -> Result<Circuit, IrError> {
        let n_labels = self.g.range(1, 4);
        let mut label_names: Vec<String> = Vec::new();
        let mut label_sizes: Vec<usize> = Vec::new();
        for _ in 0..n_labels {
            let mut name = self.axis_name();
            for _ in 0..8 {
                if !label_names.contains(&name) {
                    break;
                }
                name = self.axis_name();
            }
            if label_names.contains(&name) {
                name = format!("l{}", label_names.len());
            }
            label_names.push(name);
            label_sizes.push(self.dim(true));
        }
        let mut operands: Vec<Vec<u8>> = Vec::new();
        for _ in 0..self.g.range(1, 3) {
            let rank = self.g.range(0, 3);
            operands.push((0..rank).map(|_| self.g.below(n_labels) as u8).collect());
        }
        // renumber by first appearance; labels never used disappear
        let mut order: Vec<u8> = Vec::new();
        for &l in operands.iter().flatten() {
            if !order.contains(&l) {
                order.push(l);
            }
        }
        let mut children = Vec::new();
        let mut in_axes = Vec::new();
        for op in &operands {
            let shape: Shape = op.iter().map(|&l| label_sizes[usize::from(l)]).collect();
            let leaf = self.leaf_of_shape(&shape, None);
            let axes: circuit_ir::NamedAxes = op
                .iter()
                .enumerate()
                .map(|(i, &l)| {
                    (i as u8, circuit_ir::Name::from(label_names[usize::from(l)].as_str()))
                })
                .collect();
            let leaf = leaf.with_named_axes(axes)?;
            children.push(leaf);
            let relabeled: Vec<u8> =
                op.iter().map(|l| order.iter().position(|x| x == l).unwrap_or(0) as u8).collect();
            in_axes.push(relabeled.into_iter().collect());
        }
        let mut out: Vec<u8> = (0..order.len() as u8).collect();
        self.g.shuffle(&mut out);
        out.truncate(self.g.range(0, order.len()));
        let op = Op::Einsum(Einsum { in_axes, out_axes: out.into_iter().collect() });
        self.build(op, children)
    }

    fn fresh_label(&mut self, used: &BTreeMap<u8, usize>) -> u8 {
        for _ in 0..16 {
            let l = if self.g.chance(0.8) { self.g.below(8) } else { self.g.below(256) } as u8;
            if !used.contains_key(&l) {
                return l;
            }
        }
        (0..=255u8).find(|l| !used.contains_key(l)).unwrap_or(0)
    }

    pub(super) fn add(&mut self) -> Result<Circuit, IrError> {
        let n = self.g.weighted(&[4, 20, 56, 20]);
        if n == 0 {
            return self.build(Op::Add, vec![]);
        }
        let base = self.operand(None, 4);
        let out = base.shape().clone();
        let mut dtype = base.dtype();
        let mut children = vec![base];
        for _ in 1..n {
            // a suffix of the output shape with some dims broadcast from 1
            let drop = self.g.range(0, out.len());
            let shape: Shape = out[drop..]
                .iter()
                .map(|&d| if d != 0 && self.g.chance(0.3) { 1 } else { d })
                .collect();
            let c = self.node_of_shape(&shape, dtype);
            dtype = dtype.or(c.dtype());
            children.push(c);
        }
        self.g.shuffle(&mut children);
        self.build(Op::Add, children)
    }

    pub(super) fn rearrange(&mut self) -> Result<Circuit, IrError> {
        let child = self.operand(None, 4);
        let spec = self.rearrange_spec(child.shape())?;
        self.build(Op::Rearrange(Rearrange { spec }), vec![child])
    }

    /// A random valid spec for this input shape: splits, wildcards, squeezes, repeats,
    /// empty groups and regrouping.
    fn rearrange_spec(&mut self, input: &[usize]) -> Result<RearrangeSpec, IrError> {
        let mut sizes: Vec<Option<usize>> = Vec::new();
        let mut input_groups: Vec<Vec<u8>> = Vec::new();
        let mut kept: Vec<u8> = Vec::new();
        let fresh = |sizes: &mut Vec<Option<usize>>, s: Option<usize>| -> u8 {
            sizes.push(s);
            (sizes.len() - 1) as u8
        };
        for &d in input {
            let split = (2..=d.min(12)).find(|f| d % f == 0 && d / f > 1 && !is_symbolic(d));
            let choice = self.g.weighted(&[50, 20, 15, 15]);
            let group: Vec<u8> = match (choice, split) {
                (1, Some(f)) => {
                    // (a:f b) with b a wildcard or known
                    let a = fresh(&mut sizes, Some(f));
                    let rest = if self.g.chance(0.5) { None } else { Some(d / f) };
                    let b = fresh(&mut sizes, rest);
                    vec![a, b]
                }
                (2, _) if d == 1 => {
                    // an empty group, or a size-1 int that the output may drop
                    if self.g.chance(0.5) {
                        vec![]
                    } else {
                        let one = fresh(&mut sizes, Some(1));
                        if self.g.chance(0.5) {
                            // dropped from the output (allowed for size 1)
                            input_groups.push(vec![one]);
                            continue;
                        }
                        vec![one]
                    }
                }
                (3, _) => vec![fresh(&mut sizes, Some(d))],
                _ => vec![fresh(&mut sizes, None)],
            };
            kept.extend(&group);
            input_groups.push(group);
        }
        // output: the kept ints in a random order, regrouped, plus repeats and empty groups
        self.g.shuffle(&mut kept);
        let mut output_groups: Vec<Vec<u8>> = Vec::new();
        let mut i = 0;
        while i < kept.len() {
            let len = if self.g.chance(0.25) { self.g.range(2, 3) } else { 1 }.min(kept.len() - i);
            output_groups.push(kept[i..i + len].to_vec());
            i += len;
        }
        for _ in 0..self.g.weighted(&[70, 20, 10]) {
            let at = self.g.below(output_groups.len() + 1);
            let group = if self.g.chance(0.3) {
                vec![]
            } else {
                let s = self.g.range(1, 3);
                vec![fresh(&mut sizes, Some(s))]
            };
            output_groups.insert(at, group);
        }
        let (input_groups, output_groups, sizes) =
            if self.cfg.noncanonical_rearrange && self.g.chance(0.3) {
                self.scramble_ints(input_groups, output_groups, sizes)
            } else {
                canonical_ints(input_groups, output_groups, &sizes)
            };
        RearrangeSpec::new(
            input_groups.into_iter().map(|g| g.into_iter().collect()).collect(),
            output_groups.into_iter().map(|g| g.into_iter().collect()).collect(),
            sizes,
        )
    }

    /// Renumbers ints by a random permutation and sometimes adds an unused size slot.
    fn scramble_ints(
        &mut self,
        input: Vec<Vec<u8>>,
        output: Vec<Vec<u8>>,
        sizes: Vec<Option<usize>>,
    ) -> SpecParts {
        let extra = usize::from(self.g.chance(0.3));
        let n = sizes.len() + extra;
        let mut perm: Vec<u8> = (0..n).map(|i| i as u8).collect();
        self.g.shuffle(&mut perm);
        let mut new_sizes = vec![Some(5); n];
        for (old, s) in sizes.iter().enumerate() {
            new_sizes[usize::from(perm[old])] = *s;
        }
        let map = |groups: Vec<Vec<u8>>| -> Vec<Vec<u8>> {
            groups
                .into_iter()
                .map(|g| g.into_iter().map(|i| perm[usize::from(i)]).collect())
                .collect()
        };
        (map(input), map(output), new_sizes)
    }

    pub(super) fn index(&mut self) -> Result<Circuit, IrError> {
        let child = self.operand(None, 4);
        let rank = child.rank();
        let n_entries = if self.g.chance(0.2) { self.g.range(0, rank) } else { rank };
        let mut index = Vec::with_capacity(n_entries);
        for &d in &child.shape()[..n_entries] {
            index.push(self.index_entry(d, true));
        }
        self.build(Op::Index(Index { index }), vec![child])
    }

    /// One index entry valid for a dimension of size `d`.
    fn index_entry(&mut self, d: usize, tensors: bool) -> TensorAxisIndex {
        let choice = self.g.weighted(&[25, 55, if tensors { 20 } else { 0 }]);
        let negative_ok = d < (1 << 40);
        if choice == 0 && d > 0 {
            let i = self.g.range_i64(0, d.min(6) as i64 - 1);
            let neg = negative_ok && self.g.chance(0.4);
            return TensorAxisIndex::Int(if neg { i - d as i64 } else { i });
        }
        if choice == 2 {
            let len = self.g.range(0, 4);
            let hi = d.min(6) as i64;
            let values: Vec<i64> = if hi == 0 {
                vec![]
            } else {
                (0..len)
                    .map(|_| {
                        let v = self.g.range_i64(0, hi - 1);
                        if negative_ok && self.g.chance(0.3) {
                            v - d as i64
                        } else {
                            v
                        }
                    })
                    .collect()
            };
            let zero_d = hi > 0 && self.g.chance(0.1);
            let t = if zero_d {
                Tensor::scalar(values.first().copied().unwrap_or(0))
            } else if self.g.chance(0.2) {
                let v: Vec<i32> = values.iter().map(|&x| x as i32).collect();
                Tensor::from_vec(&[v.len()], v).unwrap_or_else(|_| Tensor::scalar(0i64))
            } else {
                Tensor::from_vec(&[values.len()], values).unwrap_or_else(|_| Tensor::scalar(0i64))
            };
            if let Ok(it) = IndexTensor::new(t) {
                return TensorAxisIndex::Tensor(it);
            }
        }
        TensorAxisIndex::Slice(self.slice_within(d))
    }

    /// A slice valid for size `d`, in any spelling (open, negative, explicit).
    fn slice_within(&mut self, d: usize) -> Slice {
        let small = d.min(8);
        let mut a = self.g.range(0, small);
        let mut b = self.g.range(0, small);
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        if self.g.chance(0.3) {
            b = d;
        }
        self.spell_slice(a, b, d)
    }

    /// Writes `[a, b)` on a dimension of size `d` with open or negative bounds.
    fn spell_slice(&mut self, a: usize, b: usize, d: usize) -> Slice {
        let neg = |x: usize| x as i64 - d.min(1 << 60) as i64;
        // A negative bound -k means d - k, so only positions before the end have one.
        let start = match self.g.weighted(&[40, 40, 20]) {
            0 if a == 0 => None,
            1 if a < d && d < (1 << 60) => Some(neg(a)),
            _ => Some(a as i64),
        };
        let stop = match self.g.weighted(&[40, 40, 20]) {
            0 if b == d => None,
            1 if b < d && d < (1 << 60) => Some(neg(b)),
            _ => Some(b as i64),
        };
        Slice { start, stop }
    }

    pub(super) fn scatter(&mut self) -> Result<Circuit, IrError> {
        let child = self.operand(None, 3);
        let mut index = Vec::new();
        let mut shape = Shape::new();
        for &d in child.shape() {
            let lo = self.g.range(0, 2);
            let hi = self.g.range(0, 2);
            let out = d + lo + hi;
            shape.push(out);
            index.push(TensorAxisIndex::Slice(self.spell_slice(lo, lo + d, out)));
        }
        if self.g.chance(0.2) {
            // trailing full slices may be left out
            while matches!(index.last(), Some(TensorAxisIndex::Slice(s)) if s.start.is_none_or(|x| x == 0) && s.stop.is_none())
            {
                index.pop();
            }
        }
        self.build(Op::Scatter(Scatter { index, shape }), vec![child])
    }

    pub(super) fn concat(&mut self) -> Result<Circuit, IrError> {
        let base = match self.pick_where(|c| (1..=4).contains(&c.rank())) {
            Some(c) => c,
            None => {
                let mut s = self.shape(true);
                if s.is_empty() {
                    s.push(2);
                }
                self.leaf_of_shape(&s, None)
            }
        };
        let axis = self.g.below(base.rank());
        let dtype = base.dtype();
        let mut children = vec![base.clone()];
        for _ in 0..self.g.weighted(&[25, 50, 25]) {
            let mut s = base.shape().clone();
            s[axis] = self.dim(true);
            let c = self.node_of_shape(&s, dtype);
            children.push(c);
        }
        self.g.shuffle(&mut children);
        self.build(Op::Concat(Concat { axis }), children)
    }
}

/// Renumbers ints in order of first appearance (input groups, then output groups) and
/// drops unused size slots: the numbering the parser produces.
fn canonical_ints(input: Vec<Vec<u8>>, output: Vec<Vec<u8>>, sizes: &[Option<usize>]) -> SpecParts {
    let mut map: BTreeMap<u8, u8> = BTreeMap::new();
    let mut new_sizes = Vec::new();
    let mut renumber = |groups: Vec<Vec<u8>>, map: &mut BTreeMap<u8, u8>| -> Vec<Vec<u8>> {
        groups
            .into_iter()
            .map(|g| {
                g.into_iter()
                    .map(|i| {
                        *map.entry(i).or_insert_with(|| {
                            new_sizes.push(sizes.get(usize::from(i)).copied().flatten());
                            (new_sizes.len() - 1) as u8
                        })
                    })
                    .collect()
            })
            .collect()
    };
    let input = renumber(input, &mut map);
    let output = renumber(output, &mut map);
    (input, output, new_sizes)
}
