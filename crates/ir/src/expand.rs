//! `expand_node`: rebuild a node whose children gained leading batch dims and/or had
//! symbolic sizes replaced by concrete ones. This is the primitive behind module
//! substitution (and later the sampler and replace-expand rewrites).
//!
//! Batch shapes are right-aligned across children and must agree exactly. Per kind:
//! Einsum gets fresh labels; Add unsqueezes children so batch dims line up (`X
//! unsq_b_add`); Concat and GeneralFunction repeat children that lack the batch dims (`X
//! rep_for_batch`); Index/Scatter/Rearrange get pass-through entries; where children
//! disagree on a size, the concrete one wins and symbolic children are wrapped in
//! SetSymbolicShape (`X set_shape`).

use smallvec::SmallVec;

use crate::kinds::{
    Axes, Concat, Einsum, Index, Rearrange, RearrangeSpec, Scalar, Scatter, SetSymbolicShape,
    TensorAxisIndex,
};
use crate::node::Name;
use crate::ops::Op;
use crate::size::is_symbolic;
use crate::size_map::{module_err, SizeMap};
use crate::{Circuit, Result, Shape};

fn suffixed(c: &Circuit, suffix: &str) -> Option<Name> {
    c.name().map(|n| Name::from(format!("{n} {suffix}")))
}

/// Prepends repeated dims of the given sizes (`X rep_for_batch`-style wrappers).
///
/// # Errors
/// Construction errors (never expected for valid inputs).
pub fn repeat_front(child: &Circuit, sizes: &[usize], suffix: &str) -> Result<Circuit> {
    if sizes.is_empty() {
        return Ok(child.clone());
    }
    let r = child.rank();
    let n = sizes.len();
    let to_u8 = |i: usize| {
        u8::try_from(i).map_err(|_| module_err(&child.node_ref(), "rank above 256".into()))
    };
    let input: Vec<SmallVec<[u8; 4]>> =
        (0..r).map(|i| to_u8(i + n).map(|x| SmallVec::from_slice(&[x]))).collect::<Result<_>>()?;
    let output: Vec<SmallVec<[u8; 4]>> =
        (0..n + r).map(|i| to_u8(i).map(|x| SmallVec::from_slice(&[x]))).collect::<Result<_>>()?;
    let mut int_sizes: Vec<Option<usize>> = sizes.iter().map(|&s| Some(s)).collect();
    int_sizes.extend(std::iter::repeat_n(None, r));
    let spec = RearrangeSpec::new(input, output, int_sizes)?;
    Circuit::build(
        Op::Rearrange(Rearrange { spec }),
        vec![child.clone()],
        suffixed(child, suffix),
        false,
    )
}

/// Inserts `count` size-1 dims at position `pos`.
fn unsqueeze_at(child: &Circuit, pos: usize, count: usize, suffix: &str) -> Result<Circuit> {
    if count == 0 {
        return Ok(child.clone());
    }
    let r = child.rank();
    let to_u8 = |i: usize| {
        u8::try_from(i).map_err(|_| module_err(&child.node_ref(), "rank above 256".into()))
    };
    let input: Vec<SmallVec<[u8; 4]>> =
        (0..r).map(|i| to_u8(i).map(|x| SmallVec::from_slice(&[x]))).collect::<Result<_>>()?;
    let mut output = input.clone();
    for _ in 0..count {
        output.insert(pos, SmallVec::new());
    }
    let spec = RearrangeSpec::new(input, output, vec![None; r])?;
    Circuit::build(
        Op::Rearrange(Rearrange { spec }),
        vec![child.clone()],
        suffixed(child, suffix),
        false,
    )
}

/// Wraps `child` in a SetSymbolicShape fixing it to `target` (only symbolic dims differ).
pub(crate) fn set_shape(child: &Circuit, target: Shape) -> Result<Circuit> {
    if child.shape() == &target {
        return Ok(child.clone());
    }
    Circuit::build(
        Op::SetSymbolicShape(SetSymbolicShape { shape: target }),
        vec![child.clone()],
        suffixed(child, "set_shape"),
        false,
    )
}

/// Chooses one size per slot: concrete sizes win over symbolic ones; `None` means "no
/// information" (e.g. a broadcast 1).
fn choose(sizes: &[usize]) -> Option<usize> {
    sizes.iter().copied().find(|&s| !is_symbolic(s)).or_else(|| sizes.first().copied())
}

/// Right-aligned merge of batch shapes; they must agree exactly.
pub(crate) fn aligned_batch(batches: &[&[usize]], node: &str) -> Result<Shape> {
    let rank = batches.iter().map(|b| b.len()).max().unwrap_or(0);
    let mut out: Shape = smallvec::smallvec![0; rank];
    let mut set = vec![false; rank];
    for b in batches {
        let off = rank - b.len();
        for (i, &d) in b.iter().enumerate() {
            if set[off + i] && out[off + i] != d {
                return Err(module_err(node, format!("batch shapes {batches:?} do not agree")));
            }
            out[off + i] = d;
            set[off + i] = true;
        }
    }
    Ok(out)
}

/// Rebuilds `node` with `new_children`, propagating batch dims and size replacements.
///
/// # Errors
/// [`crate::IrError::Module`] when batch shapes disagree, a child lost dims, or a kind cannot be
/// batched; construction errors for genuine size conflicts.
pub fn expand_node(
    node: &Circuit,
    new_children: Vec<Circuit>,
    size_map: &SizeMap,
) -> Result<Circuit> {
    let old = node.children();
    let node_ref = node.node_ref();
    if old.len() != new_children.len() {
        return Err(module_err(
            &node_ref,
            format!("expected {} children, got {}", old.len(), new_children.len()),
        ));
    }
    let payload_changes = payload_affected(node.op(), size_map);
    if !payload_changes && old.iter().zip(&new_children).all(|(a, b)| a == b) {
        return Ok(node.clone());
    }
    if let Op::Module(m) = node.op() {
        return expand_module(node, m, new_children, size_map);
    }
    let mut batch_ranks = Vec::with_capacity(old.len());
    for (o, n) in old.iter().zip(&new_children) {
        let b = n.rank().checked_sub(o.rank()).ok_or_else(|| {
            module_err(
                &node_ref,
                format!("child {} went from rank {} to rank {}", o.node_ref(), o.rank(), n.rank()),
            )
        })?;
        batch_ranks.push(b);
    }
    let batches: Vec<&[usize]> =
        new_children.iter().zip(&batch_ranks).map(|(c, &b)| &c.shape()[..b]).collect();
    let batch = aligned_batch(&batches, &node_ref)?;
    let ctx = Ctx { node, batch: &batch, batch_ranks: &batch_ranks, size_map, node_ref: &node_ref };
    let (op, children) = ctx.rebuild_op(new_children)?;
    let rebuilt =
        Circuit::build(op, children, node.name_arc().cloned(), node.autoname_disabled_here())?;
    if rebuilt.rank() == node.rank() && !node.named_axes().is_empty() {
        return rebuilt.with_named_axes(node.named_axes().clone());
    }
    Ok(rebuilt)
}

fn payload_affected(op: &Op, size_map: &SizeMap) -> bool {
    match op {
        Op::Scalar(s) => size_map.changes(&s.shape),
        Op::Rearrange(r) => r.spec.int_sizes.iter().flatten().any(|&s| size_map.apply(s) != s),
        Op::Scatter(s) => size_map.changes(&s.shape),
        Op::SetSymbolicShape(s) => size_map.changes(&s.shape),
        _ => false,
    }
}

struct Ctx<'a> {
    node: &'a Circuit,
    batch: &'a Shape,
    batch_ranks: &'a [usize],
    size_map: &'a SizeMap,
    node_ref: &'a str,
}

impl Ctx<'_> {
    fn b(&self) -> usize {
        self.batch.len()
    }

    fn fresh_ints(&self, start: usize) -> Result<Vec<u8>> {
        (start..start + self.b())
            .map(|i| {
                u8::try_from(i).map_err(|_| {
                    module_err(self.node_ref, "too many axis labels after batching".into())
                })
            })
            .collect()
    }

    /// Repeats children that lack (some of) the batch dims.
    fn repeat_missing(&self, children: Vec<Circuit>, suffix: &str) -> Result<Vec<Circuit>> {
        children
            .into_iter()
            .zip(self.batch_ranks)
            .map(|(c, &b)| repeat_front(&c, &self.batch[..self.b() - b], suffix))
            .collect()
    }

    fn no_batch(&self, what: &str) -> Result<()> {
        if self.b() == 0 {
            Ok(())
        } else {
            Err(module_err(self.node_ref, format!("cannot add batch dims to {what}")))
        }
    }

    #[allow(clippy::too_many_lines)] // one arm per kind
    fn rebuild_op(&self, children: Vec<Circuit>) -> Result<(Op, Vec<Circuit>)> {
        let b = self.b();
        let map = self.size_map;
        match self.node.op() {
            Op::Einsum(e) => self.einsum(e, children),
            Op::Add => self.add(children),
            Op::Concat(c) => {
                let children = self.repeat_missing(children, "rep_for_batch")?;
                let children = self.reconcile_concat(c.axis + b, children)?;
                Ok((Op::Concat(Concat { axis: c.axis + b }), children))
            }
            Op::Rearrange(r) => {
                let spec = &r.spec;
                let n_old = spec.int_sizes.len();
                let new_ints = self.fresh_ints(n_old)?;
                let mut input: Vec<SmallVec<[u8; 4]>> =
                    new_ints.iter().map(|&i| SmallVec::from_slice(&[i])).collect();
                input.extend(spec.input_ints.iter().cloned());
                let mut output: Vec<SmallVec<[u8; 4]>> =
                    new_ints.iter().map(|&i| SmallVec::from_slice(&[i])).collect();
                output.extend(spec.output_ints.iter().cloned());
                let mut sizes: Vec<Option<usize>> =
                    spec.int_sizes.iter().map(|s| s.map(|x| map.apply(x))).collect();
                sizes.extend(std::iter::repeat_n(None, b));
                let spec = RearrangeSpec::new(input, output, sizes)?;
                Ok((Op::Rearrange(Rearrange { spec }), children))
            }
            Op::Index(idx) => {
                let mut index: Vec<TensorAxisIndex> = vec![TensorAxisIndex::FULL; b];
                index.extend(idx.index.iter().cloned());
                Ok((Op::Index(Index { index }), children))
            }
            Op::Scatter(s) => {
                let mut index: Vec<TensorAxisIndex> = vec![TensorAxisIndex::FULL; b];
                index.extend(s.index.iter().cloned());
                let mut shape = self.batch.clone();
                shape.extend(map.apply_shape(&s.shape));
                Ok((Op::Scatter(Scatter { index, shape }), children))
            }
            Op::GeneralFunction(g) => {
                let info = g.spec.shape_info(self.node.children(), self.node_ref)?;
                for ((c, &br), &ok) in
                    children.iter().zip(self.batch_ranks).zip(&info.input_batchability)
                {
                    if br > 0 && !ok {
                        return Err(module_err(
                            self.node_ref,
                            format!(
                                "input {} of {} is not batchable but gained batch dims",
                                c.node_ref(),
                                g.spec.name()
                            ),
                        ));
                    }
                }
                let children = if children.len() > 1 && b > 0 {
                    children
                        .into_iter()
                        .zip(self.batch_ranks)
                        .zip(&info.input_batchability)
                        .map(|((c, &br), &ok)| {
                            if ok {
                                repeat_front(&c, &self.batch[..b - br], "rep_for_batch")
                            } else {
                                Ok(c)
                            }
                        })
                        .collect::<Result<Vec<_>>>()?
                } else {
                    children
                };
                Ok((self.node.op().clone(), children))
            }
            Op::SetSymbolicShape(s) => {
                let mut shape = self.batch.clone();
                shape.extend(map.apply_shape(&s.shape));
                Ok((Op::SetSymbolicShape(SetSymbolicShape { shape }), children))
            }
            Op::Scalar(s) => Ok((
                Op::Scalar(Scalar { value: s.value, shape: map.apply_shape(&s.shape) }),
                children,
            )),
            Op::Tag(_) | Op::Conv(_) | Op::Array(_) | Op::Symbol(_) | Op::Module(_) => {
                Ok((self.node.op().clone(), children))
            }
            Op::Cumulant => {
                if self.batch_ranks.iter().skip(1).any(|&r| r > 0) {
                    return Err(module_err(
                        self.node_ref,
                        "only a Cumulant's first child may gain batch dims".into(),
                    ));
                }
                Ok((Op::Cumulant, children))
            }
            Op::DiscreteVar => {
                self.no_batch("a DiscreteVar")?;
                Ok((Op::DiscreteVar, children))
            }
            Op::StoredCumulantVar(_) => {
                self.no_batch("a StoredCumulantVar")?;
                Ok((self.node.op().clone(), children))
            }
        }
    }

    fn einsum(&self, e: &Einsum, children: Vec<Circuit>) -> Result<(Op, Vec<Circuit>)> {
        let b = self.b();
        let fresh = self.fresh_ints(e.next_label())?;
        // Reconcile label sizes over the non-batch parts: concrete sizes win.
        let mut candidates: Vec<Vec<usize>> = vec![Vec::new(); 256];
        for ((c, axes), &br) in children.iter().zip(&e.in_axes).zip(self.batch_ranks) {
            for (&l, &d) in axes.iter().zip(&c.shape()[br..]) {
                candidates[usize::from(l)].push(d);
            }
        }
        let chosen: Vec<Option<usize>> = candidates.iter().map(|c| choose(c)).collect();
        let mut new_children = Vec::with_capacity(children.len());
        let mut in_axes = Vec::with_capacity(children.len());
        for ((c, axes), &br) in children.into_iter().zip(&e.in_axes).zip(self.batch_ranks) {
            let mut target: Shape = c.shape()[..br].iter().copied().collect();
            target.extend(axes.iter().zip(&c.shape()[br..]).map(|(&l, &d)| {
                let want = chosen[usize::from(l)].unwrap_or(d);
                if is_symbolic(d) {
                    want
                } else {
                    d
                }
            }));
            new_children.push(set_shape(&c, target)?);
            let mut a: Axes = fresh[b - br..].iter().copied().collect();
            a.extend(axes.iter().copied());
            in_axes.push(a);
        }
        let mut out_axes: Axes = fresh.iter().copied().collect();
        out_axes.extend(e.out_axes.iter().copied());
        Ok((Op::Einsum(Einsum { in_axes, out_axes }), new_children))
    }

    fn add(&self, children: Vec<Circuit>) -> Result<(Op, Vec<Circuit>)> {
        let node_rank = self.node.rank();
        let mut out = Vec::with_capacity(children.len());
        for (c, &br) in children.into_iter().zip(self.batch_ranks) {
            let old_rank = c.rank() - br;
            if br > 0 && old_rank < node_rank {
                out.push(unsqueeze_at(&c, br, node_rank - old_rank, "unsq_b_add")?);
            } else {
                out.push(c);
            }
        }
        // Reconcile symbolic sizes right-aligned over the non-batch part.
        let mut slots: Vec<Vec<usize>> = vec![Vec::new(); node_rank];
        for c in &out {
            let s = c.shape();
            let take = s.len().min(node_rank);
            for (i, &d) in s[s.len() - take..].iter().enumerate() {
                if d != 1 {
                    slots[node_rank - take + i].push(d);
                }
            }
        }
        let chosen: Vec<Option<usize>> = slots.iter().map(|s| choose(s)).collect();
        let out = out
            .into_iter()
            .map(|c| {
                let s = c.shape().clone();
                let take = s.len().min(node_rank);
                let lead = s.len() - take;
                let mut target = s.clone();
                for i in 0..take {
                    let d = s[lead + i];
                    if let Some(want) = chosen[node_rank - take + i] {
                        if d != 1 && is_symbolic(d) {
                            target[lead + i] = want;
                        }
                    }
                }
                set_shape(&c, target)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((Op::Add, out))
    }

    fn reconcile_concat(&self, axis: usize, children: Vec<Circuit>) -> Result<Vec<Circuit>> {
        let rank = children.first().map_or(0, Circuit::rank);
        let chosen: Vec<Option<usize>> = (0..rank)
            .map(|i| {
                if i == axis {
                    None
                } else {
                    choose(&children.iter().map(|c| c.shape()[i]).collect::<Vec<_>>())
                }
            })
            .collect();
        children
            .into_iter()
            .map(|c| {
                let mut target = c.shape().clone();
                for (i, want) in chosen.iter().enumerate() {
                    if let Some(w) = want {
                        if is_symbolic(target[i]) {
                            target[i] = *w;
                        }
                    }
                }
                set_shape(&c, target)
            })
            .collect()
    }
}

/// `expand_node` for a Module: the new spec child is taken as is.
fn expand_module(
    node: &Circuit,
    m: &crate::kinds::Module,
    new_children: Vec<Circuit>,
    size_map: &SizeMap,
) -> Result<Circuit> {
    let old_spec = &node.children()[0];
    let new_spec = new_children[0].clone();
    let spec_gain = new_spec
        .rank()
        .checked_sub(old_spec.rank())
        .ok_or_else(|| module_err(&node.node_ref(), "the spec circuit lost dims".into()))?;
    let args_gained =
        node.children()[1..].iter().zip(&new_children[1..]).any(|(o, n)| n.rank() != o.rank());
    if spec_gain > 0 && args_gained {
        return Err(module_err(
            &node.node_ref(),
            "cannot expand a module whose spec and inputs both gained batch dims separately; substitute the enclosing module instead".into(),
        ));
    }
    if spec_gain > 0 {
        // The spec's new dims are outer batch dims: [own batch, O, body] -> [O, own batch, body].
        let module = node.with_children(new_children)?;
        let own = module.rank() - new_spec.rank();
        let permuted = move_dims_after(&module, own, spec_gain, "")?;
        return if own == 0 {
            Ok(module)
        } else {
            permuted.rebuild_with_name(node.name_arc().cloned())
        };
    }
    expand_module_with(
        node,
        m,
        &new_spec,
        new_children[1..].to_vec(),
        &crate::NodeMap::default(),
        size_map,
    )
}

/// Rebuilds a nested Module while an enclosing substitution replaces `spec_replacements`
/// (symbols free in its spec) and gives it `new_args`, all at once so batch dims from the
/// enclosing substitution are aligned once. Those outer batch dims `O` must end up first
/// (`[O, own batch, body]`), but a Module puts its own batch dims first, so (as
/// rust_circuit does) they are moved into the arguments: each argument symbol gets `O`
/// prepended (a new symbol, `X shift_batch`), each input is repeated to the full `O` and
/// permuted to `[own batch, O, ...]`, the spec is rebuilt over the new symbols, and the
/// module's output is permuted back.
pub(crate) fn expand_module_with(
    node: &Circuit,
    m: &crate::kinds::Module,
    spec_base: &Circuit,
    new_args: Vec<Circuit>,
    spec_replacements: &crate::NodeMap<Circuit, Circuit>,
    size_map: &SizeMap,
) -> Result<Circuit> {
    let old = node.children();
    let node_ref = node.node_ref();
    let mut outer_batches: Vec<Shape> = Vec::new();
    let mut gains = Vec::with_capacity(new_args.len());
    for (o, n) in old[1..].iter().zip(&new_args) {
        let g = n.rank().checked_sub(o.rank()).ok_or_else(|| {
            module_err(
                &node_ref,
                format!("input {} went from rank {} to rank {}", o.node_ref(), o.rank(), n.rank()),
            )
        })?;
        gains.push(g);
        outer_batches.push(n.shape()[..g].iter().copied().collect());
    }
    let free = spec_base.free_symbols();
    let relevant: crate::NodeMap<Circuit, Circuit> = spec_replacements
        .iter()
        .filter(|(k, _)| free.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (sym, rep) in &relevant {
        let g = rep.rank().saturating_sub(sym.rank());
        outer_batches.push(rep.shape()[..g].iter().copied().collect());
    }
    let refs: Vec<&[usize]> = outer_batches.iter().map(|b| b.as_slice()).collect();
    let outer = aligned_batch(&refs, &node_ref)?;
    let k = outer.len();
    if k == 0 {
        let spec = if relevant.is_empty() && !size_map_touches(spec_base, size_map) {
            spec_base.clone()
        } else {
            crate::module_subst::substitute_symbols(spec_base, relevant, size_map)?
        };
        let mut children = vec![spec];
        children.extend(new_args);
        return node.with_children(children);
    }
    let mut replacements = relevant;
    let mut args = Vec::with_capacity(m.arg_specs.len());
    let mut own_rank = 0;
    for (((spec, o), n), &g) in m.arg_specs.iter().zip(&old[1..]).zip(&new_args).zip(&gains) {
        let own = o.rank().saturating_sub(spec.symbol.rank());
        own_rank = own_rank.max(own);
        let full = repeat_front(n, &outer[..k - g], "rep_for_batch")?;
        let permuted = move_dims_after(&full, k, own, "shift_batch")?;
        let new_symbol = shifted_symbol(&spec.symbol, &outer)?;
        replacements.insert(spec.symbol.clone(), new_symbol.clone());
        let arg_spec = crate::kinds::ModuleArgSpec { symbol: new_symbol, ..spec.clone() };
        args.push((arg_spec, permuted));
    }
    let spec_body = crate::module_subst::substitute_symbols(spec_base, replacements, size_map)?;
    let present = spec_body.rank().saturating_sub(old[0].rank()).min(k);
    let spec_body = repeat_front(&spec_body, &outer[..k - present], "rep_for_batch")?;
    let (arg_specs, inputs): (Vec<_>, Vec<_>) = args.into_iter().unzip();
    let mut children = vec![spec_body];
    children.extend(inputs);
    let inner_name =
        if own_rank > 0 { suffixed(node, "shift_batch") } else { node.name_arc().cloned() };
    let module = Circuit::build(
        Op::Module(crate::kinds::Module { arg_specs }),
        children,
        inner_name,
        node.autoname_disabled_here(),
    )?;
    let own_actual = module.rank() - k - old[0].rank();
    if own_actual == 0 {
        return Ok(module);
    }
    let permuted = move_dims_after(&module, own_actual, k, "")?;
    permuted.rebuild_with_name(node.name_arc().cloned())
}

fn size_map_touches(c: &Circuit, size_map: &SizeMap) -> bool {
    !size_map.is_empty()
        && crate::traversal::toposort(std::slice::from_ref(c))
            .iter()
            .any(|n| payload_affected(n.op(), size_map) || size_map.changes(n.shape()))
}

/// Moves the first `a` dims after the following `b` dims: `[A, B, rest] -> [B, A, rest]`.
fn move_dims_after(c: &Circuit, a: usize, b: usize, suffix: &str) -> Result<Circuit> {
    if a == 0 || b == 0 {
        return Ok(c.clone());
    }
    let r = c.rank();
    let to_u8 =
        |i: usize| u8::try_from(i).map_err(|_| module_err(&c.node_ref(), "rank above 256".into()));
    let input: Vec<SmallVec<[u8; 4]>> =
        (0..r).map(|i| to_u8(i).map(|x| SmallVec::from_slice(&[x]))).collect::<Result<_>>()?;
    let order: Vec<usize> = (a..a + b).chain(0..a).chain(a + b..r).collect();
    let output: Vec<SmallVec<[u8; 4]>> = order.iter().map(|&i| input[i].clone()).collect();
    let spec = RearrangeSpec::new(input, output, vec![None; r])?;
    let name = if suffix.is_empty() { None } else { suffixed(c, suffix) };
    Circuit::build(Op::Rearrange(Rearrange { spec }), vec![c.clone()], name, false)
}

/// A symbol with `outer` prepended to its shape; its uuid is derived from the original
/// uuid and `outer`, so the same expansion always builds the same circuit.
fn shifted_symbol(symbol: &Circuit, outer: &[usize]) -> Result<Circuit> {
    let Op::Symbol(s) = symbol.op() else {
        return Err(module_err(&symbol.node_ref(), "module argument is not a Symbol".into()));
    };
    let mut h = blake3::Hasher::new();
    h.update(s.uuid.as_bytes());
    for &d in outer {
        h.update(&(d as u64).to_le_bytes());
    }
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&h.finalize().as_bytes()[..16]);
    let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut shape: Shape = outer.iter().copied().collect();
    shape.extend(s.shape.iter().copied());
    let name = symbol.name().map(|n| format!("{n} shift_batch"));
    Circuit::build(
        Op::Symbol(crate::kinds::Symbol { shape, uuid }),
        vec![],
        name.map(Name::from),
        false,
    )
}
