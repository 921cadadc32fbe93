//! Fitting a memory budget by batching.
//!
//! When the plan's predicted peak (or its largest tensor) is over budget, the root is
//! computed in chunks: along one of its output axes (`Concat` of the chunks), or, for an
//! Einsum root, along one summed label (`Add` of the chunks). Each chunk is the root
//! with a slice pushed down through the circuit ([`Slicer`]): an output slice becomes a
//! slice of every input dim it comes from (Einsum labels, Add broadcasting,
//! elementwise functions, softmax over other dims, Rearrange singleton groups, Index,
//! Concat, gathers, Conv batch dims), stopping at leaves (a slice of an Array is a free
//! view) or at nodes that do not commute with it (those are computed whole, once,
//! since equal sub-circuits are shared). The chunked circuit is lowered like any other;
//! the schedule then runs the chunks one after another, freeing each chunk's
//! intermediates before the next.
//!
//! Strategy (simple on purpose): try 2, 4, 8, … chunks (up to 256), and for each count
//! every candidate split, largest axis first; take the first plan that fits.

use std::collections::HashMap;

use circuit_ir::kinds::{
    Concat, GfSpec, Index, IndexTensor, Rearrange, Scalar, SimpleFn, Slice, TensorAxisIndex,
};
use circuit_ir::{Circuit, NodeHash, Op, Tensor};

use crate::gather::gather_map;
use crate::{EvalError, EvalSettings, Plan, Result};

/// Whether a plan is within the settings' budgets.
pub(crate) fn fits(plan: &Plan, settings: &EvalSettings) -> bool {
    settings.max_memory.is_none_or(|m| plan.peak_memory() <= m)
        && settings.max_single_tensor.is_none_or(|m| plan.largest_tensor().0 <= m)
}

/// A way to split the root.
#[derive(Debug, Clone, Copy)]
enum Split {
    /// Along output axis `axis` (chunks concatenated).
    Output { axis: usize, size: usize },
    /// Along the summed Einsum label `label` (chunks added).
    Summed { label: u8, size: usize },
}

impl Split {
    fn size(self) -> usize {
        match self {
            Split::Output { size, .. } | Split::Summed { size, .. } => size,
        }
    }
}

fn candidates(c: &Circuit) -> Vec<Split> {
    let mut out: Vec<Split> = c
        .shape()
        .iter()
        .enumerate()
        .filter(|(_, &s)| s > 1)
        .map(|(axis, &size)| Split::Output { axis, size })
        .collect();
    if let Op::Einsum(e) = c.op() {
        for label in e.reduced_labels() {
            let size = e.in_axes.iter().zip(c.children()).find_map(|(axes, ch)| {
                axes.iter().position(|&l| l == label).map(|p| ch.shape()[p])
            });
            if let Some(size) = size.filter(|&s| s > 1) {
                out.push(Split::Summed { label, size });
            }
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.size()));
    out
}

fn ranges(size: usize, chunks: usize) -> Vec<(usize, usize)> {
    (0..chunks)
        .map(|i| (i * size / chunks, (i + 1) * size / chunks))
        .filter(|(a, b)| a < b)
        .collect()
}

/// Rebuilds `c` as chunks per `split`.
fn chunked(c: &Circuit, split: Split, chunks: usize) -> Result<Circuit> {
    let err = EvalError::ir(format!("batching {}", c.node_ref()));
    let mut slicer = Slicer::default();
    match split {
        Split::Output { axis, size } => {
            let parts: Vec<Circuit> = ranges(size, chunks)
                .into_iter()
                .map(|r| slicer.slice(c, axis, r))
                .collect::<Result<_>>()?;
            let axis = i64::try_from(axis).unwrap_or(0);
            Circuit::concat(parts, axis).map_err(err)
        }
        Split::Summed { label, size } => {
            let Op::Einsum(e) = c.op() else { return Ok(c.clone()) };
            let mut parts = Vec::new();
            for r in ranges(size, chunks) {
                let mut children = Vec::new();
                for (child, axes) in c.children().iter().zip(&e.in_axes) {
                    let mut ch = child.clone();
                    for (p, _) in axes.iter().enumerate().filter(|(_, &l)| l == label) {
                        ch = slicer.slice(&ch, p, r)?;
                    }
                    children.push(ch);
                }
                parts.push(c.with_children(children).map_err(EvalError::ir("batching"))?);
            }
            Circuit::sum_of(parts).map_err(err)
        }
    }
}

/// Lowers `c` batched so that it fits, or explains why it cannot.
pub(crate) fn batch_to_fit(
    c: &Circuit,
    settings: &EvalSettings,
    root: &str,
    unbatched: &Plan,
) -> Result<Plan> {
    let cands = candidates(c);
    let mut chunks = 2usize;
    while chunks <= 256 {
        for &split in &cands {
            if chunks > split.size() {
                continue;
            }
            let batched = chunked(c, split, chunks)?;
            let mut plan = super::compile::lower::lower(&batched, settings, root)?;
            if fits(&plan, settings) {
                let how = match split {
                    Split::Output { axis, .. } => format!("output axis {axis}"),
                    Split::Summed { label, .. } => {
                        format!("summed label '{}'", circuit_ir::kinds::label_char(label))
                    }
                };
                plan.notes.push(format!(
                    "batched along {how} in {chunks} chunks to fit the budget (unbatched peak {}, largest tensor {})",
                    crate::plan::human_bytes(unbatched.peak_memory()),
                    crate::plan::human_bytes(unbatched.largest_tensor().0),
                ));
                return Ok(plan);
            }
        }
        chunks *= 2;
    }
    let (largest, step) = unbatched.largest_tensor();
    let over_single = settings.max_single_tensor.is_some_and(|m| largest > m);
    let node =
        step.and_then(|i| unbatched.steps().get(i)).map_or(root.to_string(), |s| s.node.clone());
    let (bytes, budget) = if over_single {
        (largest, settings.max_single_tensor.unwrap_or(u64::MAX))
    } else {
        (unbatched.peak_memory(), settings.max_memory.unwrap_or(u64::MAX))
    };
    Err(EvalError::OutOfMemory {
        node,
        bytes,
        budget,
        hint: Some(format!("no split of {root} into up to 256 chunks fits")),
    })
}

/// Pushes slices of one axis down a circuit, memoized.
#[derive(Default)]
pub(crate) struct Slicer {
    memo: HashMap<(NodeHash, usize, usize, usize), Circuit>,
}

fn full_index(rank: usize, axis: usize, r: (usize, usize)) -> Vec<TensorAxisIndex> {
    let mut idx = vec![TensorAxisIndex::FULL; rank];
    idx[axis] = TensorAxisIndex::Slice(Slice { start: Some(r.0 as i64), stop: Some(r.1 as i64) });
    idx
}

impl Slicer {
    /// `c[.., r.0..r.1, ..]` (at `axis`), with the slice pushed down where it commutes.
    ///
    /// # Errors
    /// Only if a rebuilt node fails validation (a bug).
    pub(crate) fn slice(&mut self, c: &Circuit, axis: usize, r: (usize, usize)) -> Result<Circuit> {
        if c.shape().get(axis) == Some(&(r.1 - r.0)) && r.0 == 0 {
            return Ok(c.clone());
        }
        let key = (c.hash(), axis, r.0, r.1);
        if let Some(done) = self.memo.get(&key) {
            return Ok(done.clone());
        }
        let out = match self.push(c, axis, r)? {
            Some(x) => x,
            None => c.index(full_index(c.rank(), axis, r)).map_err(EvalError::ir("batching"))?,
        };
        self.memo.insert(key, out.clone());
        Ok(out)
    }

    fn rebuild(c: &Circuit, op: Op, children: Vec<Circuit>) -> Result<Circuit> {
        Circuit::build(op, children, c.name_arc().cloned(), false)
            .map_err(EvalError::ir("batching"))
    }

    /// `None` when the slice does not commute with `c`.
    #[allow(clippy::too_many_lines)] // one arm per kind
    fn push(&mut self, c: &Circuit, axis: usize, r: (usize, usize)) -> Result<Option<Circuit>> {
        let kids = c.children();
        let with = |kids: Vec<Circuit>| c.with_children(kids).map_err(EvalError::ir("batching"));
        Ok(Some(match c.op() {
            Op::Scalar(s) => {
                let mut shape = s.shape.clone();
                shape[axis] = r.1 - r.0;
                Self::rebuild(c, Op::Scalar(Scalar { value: s.value, shape }), vec![])?
            }
            Op::Einsum(e) => {
                let l = e.out_axes[axis];
                if e.out_axes.iter().filter(|&&x| x == l).count() > 1 {
                    return Ok(None);
                }
                let mut new = Vec::with_capacity(kids.len());
                for (child, axes) in kids.iter().zip(&e.in_axes) {
                    let mut ch = child.clone();
                    for (p, _) in axes.iter().enumerate().filter(|(_, &x)| x == l) {
                        ch = self.slice(&ch, p, r)?;
                    }
                    new.push(ch);
                }
                with(new)?
            }
            Op::Add => with(self.broadcast_children(c, axis, r)?)?,
            Op::GeneralFunction(gf) => match &gf.spec {
                GfSpec::Simple(f) if f.is_elementwise() => {
                    with(vec![self.slice(&kids[0], axis, r)?])?
                }
                GfSpec::Cast { .. } => with(vec![self.slice(&kids[0], axis, r)?])?,
                GfSpec::Simple(SimpleFn::Softmax | SimpleFn::LogSoftmax) if axis + 1 < c.rank() => {
                    with(vec![self.slice(&kids[0], axis, r)?])?
                }
                GfSpec::Simple(SimpleFn::Min | SimpleFn::Max | SimpleFn::LastDimSize) => {
                    with(vec![self.slice(&kids[0], axis, r)?])?
                }
                GfSpec::Pow => with(self.broadcast_children(c, axis, r)?)?,
                GfSpec::GenIndex { .. } | GfSpec::ExplicitIndex { .. } => {
                    let Some((_, map)) = gather_map(&gf.spec, kids[0].rank(), kids[1].rank())
                    else {
                        return Ok(None);
                    };
                    let Some(&(xd, id)) = map.get(axis) else { return Ok(None) };
                    let x = match xd {
                        Some(d) => self.slice(&kids[0], d, r)?,
                        None => kids[0].clone(),
                    };
                    let i = match id {
                        Some(d) => self.slice(&kids[1], d, r)?,
                        None => kids[1].clone(),
                    };
                    with(vec![x, i])?
                }
                _ => return Ok(None),
            },
            Op::Rearrange(re) => return self.push_rearrange(c, re, axis, r),
            Op::Index(ix) => return self.push_index(c, ix, axis, r),
            Op::Concat(k) => return self.push_concat(c, k, axis, r),
            Op::Tag(_) | Op::SetSymbolicShape(_) => self.slice(&kids[0], axis, r)?,
            Op::Conv(_) => {
                let n_batch = kids[0].rank() - (kids[1].rank() - 1);
                if axis >= n_batch {
                    return Ok(None);
                }
                with(vec![self.slice(&kids[0], axis, r)?, kids[1].clone()])?
            }
            _ => return Ok(None),
        }))
    }

    /// Children of a broadcasting node (Add, Pow), each sliced where it is not broadcast.
    fn broadcast_children(
        &mut self,
        c: &Circuit,
        axis: usize,
        r: (usize, usize),
    ) -> Result<Vec<Circuit>> {
        let mut out = Vec::new();
        for child in c.children() {
            let off = c.rank() - child.rank();
            if axis >= off && child.shape()[axis - off] != 1 {
                out.push(self.slice(child, axis - off, r)?);
            } else {
                out.push(child.clone());
            }
        }
        Ok(out)
    }

    fn push_rearrange(
        &mut self,
        c: &Circuit,
        re: &Rearrange,
        axis: usize,
        r: (usize, usize),
    ) -> Result<Option<Circuit>> {
        let child = &c.children()[0];
        let Ok(sizes) = re.spec.conform(child.shape()) else { return Ok(None) };
        let big: Vec<u8> = re.spec.output_ints[axis]
            .iter()
            .copied()
            .filter(|&i| sizes[usize::from(i)] != 1)
            .collect();
        let [int] = big.as_slice() else { return Ok(None) };
        let mut spec = re.spec.clone();
        if spec.int_sizes[usize::from(*int)].is_some() {
            spec.int_sizes[usize::from(*int)] = Some(r.1 - r.0);
        }
        let in_dim = re.spec.input_ints.iter().position(|g| g.contains(int));
        let new_child = match in_dim {
            None => child.clone(), // a repeat: just fewer copies
            Some(p) => {
                let others_trivial =
                    re.spec.input_ints[p].iter().all(|&i| i == *int || sizes[usize::from(i)] == 1);
                if !others_trivial {
                    return Ok(None);
                }
                self.slice(child, p, r)?
            }
        };
        Ok(Some(Self::rebuild(c, Op::Rearrange(Rearrange { spec }), vec![new_child])?))
    }

    fn push_index(
        &mut self,
        c: &Circuit,
        ix: &Index,
        axis: usize,
        r: (usize, usize),
    ) -> Result<Option<Circuit>> {
        let child = &c.children()[0];
        // The child dim that output `axis` comes from.
        let mut out_axis = 0;
        let mut found = None;
        for (p, e) in ix.index.iter().enumerate() {
            let kept = match e {
                TensorAxisIndex::Int(_) => false,
                TensorAxisIndex::Tensor(t) => t.len().is_some(),
                TensorAxisIndex::Slice(_) => true,
            };
            if kept {
                if out_axis == axis {
                    found = Some(p);
                    break;
                }
                out_axis += 1;
            }
        }
        let Some(p) = found else { return Ok(None) };
        let mut index = ix.index.clone();
        let new_child = match &ix.index[p] {
            TensorAxisIndex::Slice(s) => {
                let Ok((a, _)) = s.resolve(child.shape()[p]) else { return Ok(None) };
                index[p] = TensorAxisIndex::FULL;
                self.slice(child, p, (a + r.0, a + r.1))?
            }
            TensorAxisIndex::Tensor(t) => {
                let values: Vec<i64> = t.tensor().to_i64_vec()[r.0..r.1].to_vec();
                let tensor = Tensor::from_vec(&[values.len()], values)
                    .map_err(|e| EvalError::internal(&c.node_ref(), e.to_string()))?;
                index[p] = TensorAxisIndex::Tensor(
                    IndexTensor::new(tensor).map_err(EvalError::ir("batching"))?,
                );
                child.clone()
            }
            TensorAxisIndex::Int(_) => return Ok(None),
        };
        Ok(Some(Self::rebuild(c, Op::Index(Index { index }), vec![new_child])?))
    }

    fn push_concat(
        &mut self,
        c: &Circuit,
        k: &Concat,
        axis: usize,
        r: (usize, usize),
    ) -> Result<Option<Circuit>> {
        let mut parts = Vec::new();
        if axis != k.axis {
            for child in c.children() {
                parts.push(self.slice(child, axis, r)?);
            }
        } else {
            let mut start = 0;
            for child in c.children() {
                let len = child.shape()[axis];
                let (lo, hi) = (r.0.max(start), r.1.min(start + len));
                if lo < hi {
                    parts.push(self.slice(child, axis, (lo - start, hi - start))?);
                }
                start += len;
            }
        }
        if let [only] = parts.as_slice() {
            return Ok(Some(only.clone()));
        }
        Ok(Some(Self::rebuild(c, Op::Concat(*k), parts)?))
    }
}
