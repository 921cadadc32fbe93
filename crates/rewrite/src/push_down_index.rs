//! Index push-down: move an Index below its child (per child kind), recursively while a
//! traversal continues, leaving a residual Index on top for axes that cannot go down.

use circuit_ir::kinds::{
    Axes, Concat, Einsum, GfSpec, Index, Rearrange, RearrangeSpec, Slice, TensorAxisIndex,
};
use circuit_ir::{Circuit, Kind, Name, Op};
use circuit_match::{default_index_traversal, IterativeMatcher};

use crate::rules::{is_identity_index, util::scalar_value};
use crate::{Result, RewriteError};

const RULE: &str = "push_down_index";

/// Options of [`push_down_index`].
#[derive(Clone, Debug)]
pub struct PushDownIndexOptions {
    /// Applied from the Index node (depth 0): the Index moves into each node the
    /// traversal reaches (`traverse_until_depth(1)` pushes one step). `None` (the
    /// default): as far as possible, stopping at Index and Array nodes below.
    pub traversal: Option<IterativeMatcher>,
    /// New lower Index nodes are named `child name + suffix` (else autonamed).
    pub suffix: Option<String>,
    /// Keep a residual Index above for axes that cannot go down (else an error).
    pub allow_partial_pushdown: bool,
    /// Drop lower Index nodes that select everything.
    pub elim_identity: bool,
}

impl Default for PushDownIndexOptions {
    fn default() -> PushDownIndexOptions {
        PushDownIndexOptions {
            traversal: None,
            suffix: None,
            allow_partial_pushdown: false,
            elim_identity: true,
        }
    }
}

/// Whether an entry removes its dimension.
fn removes(e: &TensorAxisIndex) -> bool {
    match e {
        TensorAxisIndex::Int(_) => true,
        TensorAxisIndex::Tensor(t) => t.len().is_none(),
        TensorAxisIndex::Slice(_) => false,
    }
}

/// Splits an index into a bottom Index (every entry except `top_axes`, which become
/// `:`) and the entries of a top Index applied to the bottom's output.
///
/// # Errors
/// Never in practice (kept fallible for uniformity).
pub fn index_split_axes(
    index: &[TensorAxisIndex],
    top_axes: &[usize],
) -> Result<(Vec<TensorAxisIndex>, Vec<TensorAxisIndex>)> {
    let mut bottom = Vec::with_capacity(index.len());
    let mut top = Vec::new();
    for (d, e) in index.iter().enumerate() {
        if top_axes.contains(&d) {
            bottom.push(TensorAxisIndex::FULL);
            top.push(e.clone());
        } else {
            if !removes(e) {
                top.push(TensorAxisIndex::FULL);
            }
            bottom.push(e.clone());
        }
    }
    Ok((bottom, top))
}

/// Pushes `index` (an Index node) below its child, and the new Index nodes further down
/// while `options.traversal` continues. The rebuilt node takes the Index's name.
///
/// # Errors
/// [`RewriteError::ExpectedKind`] for a non-Index; [`RewriteError::Unsupported`] when
/// the child's kind cannot take the index (an Index: use `index_fuse`), or when only
/// some axes can go down and `allow_partial_pushdown` is off.
pub fn push_down_index(index: &Circuit, options: &PushDownIndexOptions) -> Result<Circuit> {
    RewriteError::expect_kind(RULE, index, Kind::Index)?;
    crate::utils::with_deep_stack(RULE, index, || push_down_index_impl(index, options))
}

fn push_down_index_impl(index: &Circuit, options: &PushDownIndexOptions) -> Result<Circuit> {
    let Some(t) = &options.traversal else {
        return push_into(index, &default_index_traversal(), options, true);
    };
    let r = t.match_iterate(index).map_err(RewriteError::matching(RULE, index))?;
    let per = r.updated.per_child(t, 1);
    let Some(Some(m)) = per.first() else { return Ok(index.clone()) };
    push_into(index, m, options, true)
}

fn push_into(
    index: &Circuit,
    m: &IterativeMatcher,
    options: &PushDownIndexOptions,
    strict: bool,
) -> Result<Circuit> {
    let Op::Index(idx) = index.op() else { return Ok(index.clone()) };
    let child = &index.children()[0];
    let r = m.match_iterate(child).map_err(RewriteError::matching(RULE, child))?;
    let per = r.updated.per_child(m, child.children().len());
    let pushed = match push_once(child, &idx.index, options)? {
        Ok(p) => p,
        Err(msg) if strict => return Err(RewriteError::unsupported(RULE, index, msg)),
        Err(_) => return Ok(index.clone()),
    };
    if !pushed.residual_axes.is_empty() && strict && !options.allow_partial_pushdown {
        return Err(RewriteError::unsupported(
            RULE,
            index,
            "only some axes can be pushed down (allow_partial_pushdown is off)",
        ));
    }
    if !pushed.residual_axes.is_empty() && !strict && !options.allow_partial_pushdown {
        return Ok(index.clone());
    }
    // Recurse into the new lower Index nodes.
    let mut kids = Vec::with_capacity(pushed.children.len());
    for (i, k) in pushed.children.into_iter().enumerate() {
        let next = match (k.kind(), per.get(i).cloned().flatten()) {
            (Kind::Index, Some(pm)) if pushed.new_index[i] => push_into(&k, &pm, options, false)?,
            _ => k,
        };
        kids.push(next);
    }
    let single_part =
        matches!(child.op(), Op::Concat(_)) && matches!(pushed.op, Op::Add) && kids.len() == 1;
    let rebuilt = if single_part {
        // An int on the concat axis reaches one part: that part is the result.
        let part = kids.pop().unwrap_or_else(|| child.clone());
        part.rename(index.name()).map_err(RewriteError::construct(RULE, index))?
    } else {
        Circuit::build(pushed.op, kids, index.name_arc().cloned(), false)
            .map_err(RewriteError::construct(RULE, index))?
    };
    if pushed.residual_axes.is_empty() {
        return check_shape(index, rebuilt);
    }
    let top = Circuit::build(
        Op::Index(Index { index: pushed.residual }),
        vec![rebuilt.rename(child.name()).map_err(RewriteError::construct(RULE, index))?],
        options
            .suffix
            .as_ref()
            .and_then(|s| index.name().map(|n| Name::from(format!("{n}_partial_{s}"))))
            .or_else(|| index.name_arc().cloned()),
        false,
    )
    .map_err(RewriteError::construct(RULE, index))?;
    check_shape(index, top)
}

fn check_shape(index: &Circuit, out: Circuit) -> Result<Circuit> {
    if out.shape() == index.shape() {
        Ok(out)
    } else {
        Err(RewriteError::unsupported(
            RULE,
            index,
            format!("push-down produced shape {:?} (a bug)", out.shape().as_slice()),
        ))
    }
}

struct Pushed {
    op: Op,
    children: Vec<Circuit>,
    /// Whether child i is a new Index we made (to recurse into).
    new_index: Vec<bool>,
    /// Axes (of the original index) kept on top.
    residual_axes: Vec<usize>,
    /// The top Index's entries (when `residual_axes` is non-empty).
    residual: Vec<TensorAxisIndex>,
}

fn index_child(
    c: &Circuit,
    entries: Vec<TensorAxisIndex>,
    options: &PushDownIndexOptions,
) -> Result<(Circuit, bool)> {
    if options.elim_identity && is_identity_index(&entries, c.shape()) {
        return Ok((c.clone(), false));
    }
    let name = match &options.suffix {
        Some(s) => c.name().map(|n| Name::from(format!("{n}{s}"))),
        None => None,
    };
    let op = Op::Index(Index { index: entries });
    let out = Circuit::new(op, vec![c.clone()], name).map_err(RewriteError::construct(RULE, c))?;
    Ok((out, true))
}

/// One step; `Ok(Err(reason))` when this kind cannot take the index.
fn push_once(
    child: &Circuit,
    index: &[TensorAxisIndex],
    options: &PushDownIndexOptions,
) -> Result<std::result::Result<Pushed, String>> {
    // Per kind: which axes can go down; `down(entries)` builds the children.
    let downable: Vec<bool> = match child.op() {
        Op::Add | Op::Tag(_) | Op::DiscreteVar | Op::Scalar(_) => vec![true; index.len()],
        Op::Concat(c) => index
            .iter()
            .enumerate()
            .map(|(d, e)| {
                d != c.axis || matches!(e, TensorAxisIndex::Slice(_) | TensorAxisIndex::Int(_))
            })
            .collect(),
        Op::GeneralFunction(g) => match &g.spec {
            GfSpec::Simple(f) => {
                let n =
                    if f.is_elementwise() { child.rank() } else { child.rank().saturating_sub(1) };
                (0..index.len()).map(|d| d < n).collect()
            }
            _ => return Ok(Err("only simple GeneralFunctions take an index".into())),
        },
        Op::Einsum(e) => einsum_downable(e, index),
        Op::Rearrange(r) => rearrange_downable(&r.spec, index),
        Op::Index(_) => {
            return Ok(Err("cannot push an Index through an Index (use index_fuse)".into()))
        }
        _ => return Ok(Err(format!("cannot push an Index into a {}", child.kind().name()))),
    };
    let residual_axes: Vec<usize> =
        (0..index.len()).filter(|&d| !downable[d] && !index[d].is_identity()).collect();
    if residual_axes.len() == index.iter().filter(|e| !e.is_identity()).count() {
        return Ok(Err(format!("no axis of the index can go into the {}", child.kind().name())));
    }
    let (down, residual) = index_split_axes(index, &residual_axes)?;
    let (op, children, new_index) = match child.op() {
        Op::Scalar(_) => {
            let shape: Vec<usize> = down
                .iter()
                .zip(child.shape())
                .filter_map(|(e, &l)| e.output_len(l).ok().flatten())
                .collect();
            let v = scalar_value(child).unwrap_or(0.0);
            let s = crate::rules::util::scalar(v, &shape, child.name_arc())
                .map_err(RewriteError::construct(RULE, child))?;
            (s.op().clone(), vec![], vec![])
        }
        Op::Add => add_children(child, &down, options)?,
        Op::Tag(_) => one_child(child, down, options)?,
        Op::GeneralFunction(_) => one_child(child, down, options)?,
        Op::DiscreteVar => {
            let mut entries = vec![TensorAxisIndex::FULL];
            entries.extend(down);
            let (v, new) = index_child(&child.children()[0], entries, options)?;
            (child.op().clone(), vec![v, child.children()[1].clone()], vec![new, false])
        }
        Op::Concat(c) => match concat_children(child, c.axis, &down, options)? {
            Some(x) => x,
            None => return Ok(Err("the index selects no part of the Concat".into())),
        },
        Op::Einsum(e) => einsum_children(child, e, &down, options)?,
        Op::Rearrange(r) => match rearrange_children(child, &r.spec, &down, options)? {
            Some(x) => x,
            None => return Ok(Err("the Rearrange cannot take this index".into())),
        },
        _ => return Ok(Err(format!("cannot push an Index into a {}", child.kind().name()))),
    };
    Ok(Ok(Pushed { op, children, new_index, residual_axes, residual }))
}

type Parts = (Op, Vec<Circuit>, Vec<bool>);

fn one_child(
    child: &Circuit,
    down: Vec<TensorAxisIndex>,
    options: &PushDownIndexOptions,
) -> Result<Parts> {
    let (c, new) = index_child(&child.children()[0], down, options)?;
    Ok((child.op().clone(), vec![c], vec![new]))
}

fn add_children(
    add: &Circuit,
    down: &[TensorAxisIndex],
    options: &PushDownIndexOptions,
) -> Result<Parts> {
    let rank = add.rank();
    let mut kids = Vec::new();
    let mut new = Vec::new();
    for c in add.children() {
        let off = rank - c.rank();
        let entries: Vec<TensorAxisIndex> = (0..c.rank())
            .map(|i| {
                let e = &down[off + i];
                if c.shape()[i] == 1 && add.shape()[off + i] != 1 {
                    if removes(e) {
                        TensorAxisIndex::Int(0)
                    } else {
                        TensorAxisIndex::FULL
                    }
                } else {
                    e.clone()
                }
            })
            .collect();
        let (k, n) = index_child(c, entries, options)?;
        kids.push(k);
        new.push(n);
    }
    Ok((Op::Add, kids, new))
}

fn concat_children(
    cat: &Circuit,
    axis: usize,
    down: &[TensorAxisIndex],
    options: &PushDownIndexOptions,
) -> Result<Option<Parts>> {
    let total = cat.shape()[axis];
    let mut kids = Vec::new();
    let mut new = Vec::new();
    let mut offset = 0usize;
    match &down[axis] {
        TensorAxisIndex::Int(i) => {
            let Some(i) = norm(*i, total) else { return Ok(None) };
            for part in cat.children() {
                let len = part.shape()[axis];
                if (offset..offset + len).contains(&i) {
                    let mut entries = down.to_vec();
                    entries[axis] = TensorAxisIndex::Int((i - offset) as i64);
                    let (k, n) = index_child(part, entries, options)?;
                    // A single part: the "Concat" is that part (an identity Add of one child).
                    return Ok(Some((Op::Add, vec![k], vec![n])));
                }
                offset += len;
            }
            Ok(None)
        }
        TensorAxisIndex::Slice(s) => {
            let Ok((a, b)) = s.resolve(total) else { return Ok(None) };
            for part in cat.children() {
                let len = part.shape()[axis];
                let (lo, hi) = (a.max(offset), b.min(offset + len));
                if lo < hi {
                    let mut entries = down.to_vec();
                    entries[axis] = TensorAxisIndex::Slice(Slice {
                        start: Some((lo - offset) as i64),
                        stop: Some((hi - offset) as i64),
                    });
                    let (k, n) = index_child(part, entries, options)?;
                    kids.push(k);
                    new.push(n);
                }
                offset += len;
            }
            if kids.is_empty() {
                return Ok(None);
            }
            let new_axis = axis - down[..axis].iter().filter(|e| removes(e)).count();
            Ok(Some((Op::Concat(Concat { axis: new_axis }), kids, new)))
        }
        TensorAxisIndex::Tensor(_) => Ok(None),
    }
}

fn norm(i: i64, len: usize) -> Option<usize> {
    let l = i64::try_from(len).ok()?;
    let j = if i < 0 { i + l } else { i };
    (0..l).contains(&j).then_some(j as usize)
}

fn einsum_downable(e: &Einsum, index: &[TensorAxisIndex]) -> Vec<bool> {
    e.out_axes
        .iter()
        .enumerate()
        .map(|(d, l)| {
            let once_out = e.out_axes.iter().filter(|x| *x == l).count() == 1;
            once_out || index.get(d).is_some_and(TensorAxisIndex::is_identity)
        })
        .collect()
}

fn einsum_children(
    node: &Circuit,
    e: &Einsum,
    down: &[TensorAxisIndex],
    options: &PushDownIndexOptions,
) -> Result<Parts> {
    let mut entry_of: Vec<Option<&TensorAxisIndex>> = vec![None; 256];
    for (l, entry) in e.out_axes.iter().zip(down) {
        if !entry.is_identity() {
            entry_of[usize::from(*l)] = Some(entry);
        }
    }
    let mut kids = Vec::new();
    let mut new = Vec::new();
    let mut in_axes = Vec::new();
    for (c, axes) in node.children().iter().zip(&e.in_axes) {
        let entries: Vec<TensorAxisIndex> = axes
            .iter()
            .map(|l| entry_of[usize::from(*l)].cloned().unwrap_or(TensorAxisIndex::FULL))
            .collect();
        let kept: Axes =
            axes.iter().zip(&entries).filter(|(_, en)| !removes(en)).map(|(l, _)| *l).collect();
        let (k, n) = index_child(c, entries, options)?;
        kids.push(k);
        new.push(n);
        in_axes.push(kept);
    }
    let out_axes: Axes =
        e.out_axes.iter().zip(down).filter(|(_, en)| !removes(en)).map(|(l, _)| *l).collect();
    Ok((Op::Einsum(Einsum { in_axes, out_axes }), kids, new))
}

/// Output dims that are one int forming a whole input dim (or a repeat) can take any
/// entry.
fn rearrange_downable(spec: &RearrangeSpec, index: &[TensorAxisIndex]) -> Vec<bool> {
    spec.output_ints
        .iter()
        .enumerate()
        .map(|(d, g)| {
            index.get(d).is_some_and(TensorAxisIndex::is_identity)
                || (g.len() == 1 && spec.input_ints.iter().any(|ig| ig.len() == 1 && ig[0] == g[0]))
        })
        .collect()
}

fn rearrange_children(
    node: &Circuit,
    spec: &RearrangeSpec,
    down: &[TensorAxisIndex],
    options: &PushDownIndexOptions,
) -> Result<Option<Parts>> {
    let child = &node.children()[0];
    let Ok(sizes) = spec.conform(child.shape()) else { return Ok(None) };
    let mut entries = vec![TensorAxisIndex::FULL; child.rank()];
    let mut removed: Vec<u8> = Vec::new();
    let mut new_sizes: Vec<Option<usize>> = sizes.iter().map(|&s| Some(s)).collect();
    for (g, e) in spec.output_ints.iter().zip(down) {
        if e.is_identity() {
            continue;
        }
        let Some(d) = spec.input_ints.iter().position(|ig| ig.len() == 1 && ig[0] == g[0]) else {
            return Ok(None);
        };
        let Ok(len) = e.output_len(sizes[usize::from(g[0])]) else { return Ok(None) };
        entries[d] = e.clone();
        match len {
            None => removed.push(g[0]),
            Some(n) => new_sizes[usize::from(g[0])] = Some(n),
        }
    }
    let input_ints: Vec<_> = spec
        .input_ints
        .iter()
        .filter(|ig| !(ig.len() == 1 && removed.contains(&ig[0])))
        .cloned()
        .collect();
    let output_ints: Vec<_> = spec
        .output_ints
        .iter()
        .filter(|og| !(og.len() == 1 && removed.contains(&og[0])))
        .cloned()
        .collect();
    let Ok(new_spec) = RearrangeSpec::new(input_ints, output_ints, new_sizes) else {
        return Ok(None);
    };
    let (k, n) = index_child(child, entries, options)?;
    Ok(Some((Op::Rearrange(Rearrange { spec: new_spec }), vec![k], vec![n])))
}
