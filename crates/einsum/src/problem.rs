//! The optimizer's internal view of a spec ([`Problem`]: dense label numbering, label sets)
//! and the [`Builder`] every strategy records its contractions with. The builder tracks which
//! operands are alive (static-single-assignment ids: inputs `0..n`, then one id per step),
//! computes each result's kept labels, and finally turns the recorded steps into a
//! [`ContractionPath`] in opt_einsum's recycled-position convention. All reported costs come
//! from [`Builder::finish`], so every strategy is measured by the same model.

use std::collections::BTreeMap;

use smallvec::SmallVec;

use crate::labelset::LabelSet;
use crate::path::{flop_count, ContractionPath, ContractionStep};
use crate::spec::EinsumSpec;
use crate::Label;

/// A validated spec with labels renumbered densely (`0..n_labels`, in order of first use).
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// Dense index -> original label.
    pub labels: Vec<Label>,
    /// Size of each dense label.
    pub sizes: Vec<u64>,
    /// Number of dense labels.
    pub n_labels: usize,
    /// The output's label set.
    pub out: LabelSet,
    /// The output's distinct labels in output order.
    pub out_order: Vec<usize>,
    /// Each input's label set.
    pub leaves: Vec<LabelSet>,
    /// Each input's distinct labels in first-occurrence order.
    pub leaf_orders: Vec<Vec<usize>>,
}

fn distinct_in_order(items: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut seen = Vec::new();
    for i in items {
        if !seen.contains(&i) {
            seen.push(i);
        }
    }
    seen
}

impl Problem {
    /// Builds the dense view; `spec` must be valid (missing sizes count as 1).
    pub(crate) fn new(spec: &EinsumSpec) -> Self {
        let mut index: BTreeMap<Label, usize> = BTreeMap::new();
        let mut labels = Vec::new();
        for &l in spec.inputs.iter().flatten().chain(spec.output.iter()) {
            index.entry(l).or_insert_with(|| {
                labels.push(l);
                labels.len() - 1
            });
        }
        let n_labels = labels.len();
        let sizes = labels.iter().map(|l| spec.sizes.get(l).copied().unwrap_or(1)).collect();
        let dense = |t: &[Label]| -> Vec<usize> {
            distinct_in_order(t.iter().filter_map(|l| index.get(l).copied()))
        };
        let leaf_orders: Vec<Vec<usize>> = spec.inputs.iter().map(|t| dense(t)).collect();
        let leaves = leaf_orders
            .iter()
            .map(|o| LabelSet::from_indices(n_labels, o.iter().copied()))
            .collect();
        let out_order = dense(&spec.output);
        let out = LabelSet::from_indices(n_labels, out_order.iter().copied());
        Self { labels, sizes, n_labels, out, out_order, leaves, leaf_orders }
    }

    /// Product of the sizes of `set`'s labels.
    pub(crate) fn size(&self, set: &LabelSet) -> u128 {
        set.size(&self.sizes)
    }
}

/// One operand known to the builder.
#[derive(Debug, Clone)]
pub(crate) struct Operand {
    /// Its label set.
    pub set: LabelSet,
    /// Whether it has been consumed by a step.
    pub dead: bool,
}

/// Records contractions as SSA steps and tracks the alive operands.
#[derive(Debug)]
pub(crate) struct Builder<'p> {
    /// The problem.
    pub p: &'p Problem,
    /// Every operand ever created, by SSA id.
    pub ops: Vec<Operand>,
    /// For each dense label, how many alive operands contain it.
    counts: Vec<u32>,
    /// The recorded steps (SSA ids of their inputs); step `k` creates id `n_inputs + k`.
    steps: Vec<SmallVec<[usize; 2]>>,
    /// Whether inputs may be reduced over their private labels before their first pairwise
    /// contraction.
    pub allow_reductions: bool,
}

/// The best way found to contract a pair: whether to first sum each side's private labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PairChoice {
    /// Total cost (reductions included).
    pub cost: u128,
    /// Reduce the first operand first.
    pub reduce_a: bool,
    /// Reduce the second operand first.
    pub reduce_b: bool,
}

impl<'p> Builder<'p> {
    /// A builder whose alive operands are the problem's inputs.
    pub(crate) fn new(p: &'p Problem, allow_reductions: bool) -> Self {
        let mut counts = vec![0u32; p.n_labels];
        for leaf in &p.leaves {
            for l in leaf.iter() {
                if let Some(c) = counts.get_mut(l) {
                    *c += 1;
                }
            }
        }
        let ops = p.leaves.iter().map(|s| Operand { set: s.clone(), dead: false }).collect();
        Self { p, ops, counts, steps: Vec::new(), allow_reductions }
    }

    /// Ids of the alive operands, ascending.
    pub(crate) fn alive(&self) -> Vec<usize> {
        (0..self.ops.len()).filter(|&i| !self.ops[i].dead).collect()
    }

    /// The label set of operand `id` (empty for an unknown id).
    pub(crate) fn set(&self, id: usize) -> LabelSet {
        self.ops.get(id).map_or_else(|| LabelSet::empty(self.p.n_labels), |o| o.set.clone())
    }

    fn count(&self, l: usize) -> u32 {
        self.counts.get(l).copied().unwrap_or(0)
    }

    /// Labels of the operands `ids` that the output or another alive operand still needs.
    pub(crate) fn keep_of(&self, ids: &[usize]) -> LabelSet {
        let mut either = LabelSet::empty(self.p.n_labels);
        for &id in ids {
            if let Some(o) = self.ops.get(id) {
                either.union_with(&o.set);
            }
        }
        let mut keep = LabelSet::empty(self.p.n_labels);
        for l in either.iter() {
            let inside = ids
                .iter()
                .filter(|&&id| self.ops.get(id).is_some_and(|o| o.set.contains(l)))
                .count() as u32;
            if self.p.out.contains(l) || self.count(l) > inside {
                keep.insert(l);
            }
        }
        keep
    }

    /// The labels of `id` that no other alive operand and not the output uses.
    pub(crate) fn private(&self, id: usize) -> LabelSet {
        let set = self.set(id);
        set.difference(&self.keep_of(&[id]))
    }

    /// Cheapest way to contract `a` with `b`: directly, or after summing the private labels
    /// of either or both (ties prefer fewer reductions). `limit` forbids reduced operands
    /// larger than it.
    pub(crate) fn pair_choice(&self, a: usize, b: usize, limit: Option<u128>) -> PairChoice {
        let keep = self.keep_of(&[a, b]);
        let forms = |id: usize| -> SmallVec<[(LabelSet, u128, bool); 2]> {
            let set = self.set(id);
            let mut v: SmallVec<[(LabelSet, u128, bool); 2]> = SmallVec::new();
            let private = self.private(id);
            v.push((set.clone(), 0, false));
            if self.allow_reductions && !private.is_empty() {
                let reduced = set.difference(&private);
                if limit.is_none_or(|m| self.p.size(&reduced) <= m) {
                    v.push((reduced, flop_count(self.p.size(&set), true, 1), true));
                }
            }
            v
        };
        let mut best: Option<PairChoice> = None;
        for (sa, ca, ra) in forms(a) {
            for (sb, cb, rb) in forms(b) {
                let either = sa.union(&sb);
                let step = flop_count(self.p.size(&either), either != keep, 2);
                let cost = ca.saturating_add(cb).saturating_add(step);
                if best.is_none_or(|bc| cost < bc.cost) {
                    best = Some(PairChoice { cost, reduce_a: ra, reduce_b: rb });
                }
            }
        }
        best.unwrap_or(PairChoice { cost: u128::MAX, reduce_a: false, reduce_b: false })
    }

    /// Records a step contracting the alive operands `inputs` (any number) and returns the
    /// result's id.
    pub(crate) fn record(&mut self, inputs: SmallVec<[usize; 2]>) -> usize {
        let keep = self.keep_of(&inputs);
        for &id in &inputs {
            if let Some(o) = self.ops.get_mut(id) {
                o.dead = true;
                for l in o.set.iter() {
                    if let Some(c) = self.counts.get_mut(l) {
                        *c = c.saturating_sub(1);
                    }
                }
            }
        }
        for l in keep.iter() {
            if let Some(c) = self.counts.get_mut(l) {
                *c += 1;
            }
        }
        self.ops.push(Operand { set: keep, dead: false });
        self.steps.push(inputs);
        self.ops.len() - 1
    }

    /// Records a one-operand step on `id` (summing the labels nobody else needs) and returns
    /// the new id.
    pub(crate) fn reduce(&mut self, id: usize) -> usize {
        self.record(smallvec::smallvec![id])
    }

    /// Records the pairwise contraction of `a` and `b`, first reducing either side as asked.
    pub(crate) fn contract_with(&mut self, a: usize, b: usize, choice: PairChoice) -> usize {
        let a = if choice.reduce_a { self.reduce(a) } else { a };
        let b = if choice.reduce_b { self.reduce(b) } else { b };
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        self.record(smallvec::smallvec![lo, hi])
    }

    /// Contracts `a` and `b` the cheapest way ([`Builder::pair_choice`]).
    pub(crate) fn contract(&mut self, a: usize, b: usize, limit: Option<u128>) -> usize {
        let choice = self.pair_choice(a, b, limit);
        self.contract_with(a, b, choice)
    }

    /// Turns the recorded steps into a [`ContractionPath`] (positions, result label orders,
    /// costs); `limit` only sets [`ContractionPath::exceeds_memory_limit`].
    pub(crate) fn finish(&self, limit: Option<u128>) -> ContractionPath {
        let p = self.p;
        let n_inputs = p.leaves.len();
        let mut orders: Vec<Vec<usize>> = p.leaf_orders.clone();
        let mut current: Vec<usize> = (0..n_inputs).collect();
        let mut path = ContractionPath::default();
        let n_steps = self.steps.len();
        for (k, inputs) in self.steps.iter().enumerate() {
            let new_id = n_inputs + k;
            let mut positions: Vec<usize> =
                inputs.iter().filter_map(|id| current.iter().position(|c| c == id)).collect();
            positions.sort_unstable();
            for &pos in positions.iter().rev() {
                current.remove(pos);
            }
            current.push(new_id);
            let result_set = self.set(new_id);
            let mut either = LabelSet::empty(p.n_labels);
            for &id in inputs {
                either.union_with(&self.set(id));
            }
            let empty = Vec::new();
            let order_of = |id: usize| orders.get(id).unwrap_or(&empty);
            let order: Vec<usize> = if k + 1 == n_steps {
                p.out_order.clone()
            } else if let [a, b] = inputs[..] {
                let (oa, ob) = (order_of(a), order_of(b));
                let (sa, sb) = (self.set(a), self.set(b));
                let kept = |l: &&usize| result_set.contains(**l);
                let batch = oa.iter().filter(kept).filter(|l| sb.contains(**l));
                let m = oa.iter().filter(kept).filter(|l| !sb.contains(**l));
                let n = ob.iter().filter(kept).filter(|l| !sa.contains(**l));
                batch.chain(m).chain(n).copied().collect()
            } else {
                let a = inputs.first().copied().unwrap_or(0);
                order_of(a).iter().filter(|l| result_set.contains(**l)).copied().collect()
            };
            let flops = flop_count(p.size(&either), either != result_set, inputs.len());
            let result_size = p.size(&result_set);
            if k + 1 < n_steps && limit.is_some_and(|m| result_size > m) {
                path.exceeds_memory_limit = true;
            }
            path.total_flops = path.total_flops.saturating_add(flops);
            path.largest_intermediate = path.largest_intermediate.max(result_size);
            path.steps.push(ContractionStep {
                operands: positions,
                result: order.iter().filter_map(|&l| p.labels.get(l).copied()).collect(),
                flops,
                result_size,
            });
            orders.push(order);
        }
        path
    }
}
