//! Nesting: flatten nested Einsums (Adds) within a traversal into one node, then rebuild
//! them with a nesting described by a [`NestSpec`]; and `einsum_nest_path`, nesting by an
//! opt_einsum-style contraction path (or the path the optimizer finds).

use circuit_ir::kinds::{Axes, Einsum};
use circuit_ir::{Circuit, Kind, Name, Op};
use circuit_match::{get, new_traversal, IterativeMatcher, Matcher};

use crate::rules::util::distinct;
use crate::{Result, RewriteError};

/// How to nest the flattened operands (leaves) of an Einsum or Add.
#[derive(Clone, Debug)]
pub enum NestSpec {
    /// The k-th leaf.
    Leaf(usize),
    /// Every leaf the matcher finds (run from the root): as one sub-node, or spliced
    /// into the parent list with `flat`.
    Matcher {
        /// Finds leaves.
        matcher: IterativeMatcher,
        /// Splice into the parent instead of making a sub-node.
        flat: bool,
        /// Fail when it finds nothing.
        assert_exists: bool,
        /// Fail when it finds more than one.
        assert_unique: bool,
    },
    /// Every leaf not mentioned elsewhere (as a sub-node, or spliced with `flat`).
    Rest {
        /// Splice into the parent.
        flat: bool,
    },
    /// A sub-node of these elements.
    List(Vec<NestSpec>),
    /// A named sub-node.
    Named {
        /// The sub-node.
        spec: Box<NestSpec>,
        /// Its name.
        name: String,
    },
}

impl NestSpec {
    /// A matcher selecting exactly one leaf.
    pub fn unique(matcher: impl Into<IterativeMatcher>) -> NestSpec {
        NestSpec::Matcher {
            matcher: matcher.into(),
            flat: true,
            assert_exists: true,
            assert_unique: true,
        }
    }

    /// A list.
    pub fn list(items: impl IntoIterator<Item = NestSpec>) -> NestSpec {
        NestSpec::List(items.into_iter().collect())
    }
}

const RULE: &str = "nest";

fn bad(msg: impl Into<String>) -> RewriteError {
    RewriteError::InvalidArgument { rule: RULE, msg: msg.into() }
}

/// Flattens nested Einsums into `einsum` wherever `traversal` (applied from `einsum`)
/// finds them: the result has the leaves in depth-first operand order and keeps the
/// root's name. Operands with a diagonal output stay leaves.
///
/// # Errors
/// [`RewriteError::ExpectedKind`] for a non-Einsum; more than 256 labels; matcher errors.
pub fn einsum_flatten_traversal(
    einsum: &Circuit,
    traversal: impl Into<IterativeMatcher>,
) -> Result<Circuit> {
    let (leaves, out) = einsum_leaves(einsum, &traversal.into())?;
    let (kids, in_axes): (Vec<Circuit>, Vec<Axes>) = leaves.into_iter().unzip();
    Circuit::build(
        Op::Einsum(Einsum { in_axes, out_axes: out }),
        kids,
        einsum.name_arc().cloned(),
        false,
    )
    .map_err(RewriteError::construct("einsum_flatten", einsum))
}

/// Flattens nested Adds into `add` wherever `traversal` finds them.
///
/// # Errors
/// [`RewriteError::ExpectedKind`] for a non-Add; matcher errors.
pub fn add_flatten_traversal(
    add: &Circuit,
    traversal: impl Into<IterativeMatcher>,
) -> Result<Circuit> {
    let leaves = add_leaves(add, &traversal.into())?;
    Circuit::build(Op::Add, leaves, add.name_arc().cloned(), false)
        .map_err(RewriteError::construct("add_flatten", add))
}

type Leaf = (Circuit, Axes);

fn einsum_leaves(einsum: &Circuit, m: &IterativeMatcher) -> Result<(Vec<Leaf>, Axes)> {
    RewriteError::expect_kind("einsum_flatten", einsum, Kind::Einsum)?;
    let Op::Einsum(e) = einsum.op() else { return Ok((Vec::new(), Axes::new())) };
    let mut next = e.next_label();
    let mut out = Vec::new();
    let r = m.match_iterate(einsum).map_err(RewriteError::matching("einsum_flatten", einsum))?;
    let per = r.updated.per_child(m, einsum.children().len());
    // Work stack of (operand, labels in root space, matcher for it).
    let mut stack: Vec<(Circuit, Axes, Option<IterativeMatcher>)> = einsum
        .children()
        .iter()
        .cloned()
        .zip(e.in_axes.iter().cloned())
        .zip(per)
        .map(|((c, a), p)| (c, a, p))
        .rev()
        .collect();
    while let Some((c, axes, pm)) = stack.pop() {
        let Op::Einsum(ce) = c.op() else {
            out.push((c, axes));
            continue;
        };
        let Some(pm) = pm else {
            out.push((c, axes));
            continue;
        };
        let r = pm.match_iterate(&c).map_err(RewriteError::matching("einsum_flatten", &c))?;
        if !r.found || !distinct(&ce.out_axes) {
            out.push((c, axes));
            continue;
        }
        let sub = r.updated.per_child(&pm, c.children().len());
        let mut map: [Option<u8>; 256] = [None; 256];
        for (&cl, &pl) in ce.out_axes.iter().zip(axes.iter()) {
            map[usize::from(cl)] = Some(pl);
        }
        let mut items = Vec::new();
        for ((g, g_axes), gm) in c.children().iter().zip(&ce.in_axes).zip(sub) {
            let mut mapped = Axes::new();
            for &cl in g_axes {
                let pl = match map[usize::from(cl)] {
                    Some(pl) => pl,
                    None => {
                        let fresh =
                            u8::try_from(next).map_err(|_| bad("more than 256 einsum labels"))?;
                        next += 1;
                        map[usize::from(cl)] = Some(fresh);
                        fresh
                    }
                };
                mapped.push(pl);
            }
            items.push((g.clone(), mapped, gm));
        }
        stack.extend(items.into_iter().rev());
    }
    Ok((out, e.out_axes.clone()))
}

fn add_leaves(add: &Circuit, m: &IterativeMatcher) -> Result<Vec<Circuit>> {
    RewriteError::expect_kind("add_flatten", add, Kind::Add)?;
    let r = m.match_iterate(add).map_err(RewriteError::matching("add_flatten", add))?;
    let per = r.updated.per_child(m, add.children().len());
    let mut out = Vec::new();
    let mut stack: Vec<(Circuit, Option<IterativeMatcher>)> =
        add.children().iter().cloned().zip(per).rev().collect();
    while let Some((c, pm)) = stack.pop() {
        match (c.kind(), pm) {
            (Kind::Add, Some(pm)) => {
                let r = pm.match_iterate(&c).map_err(RewriteError::matching("add_flatten", &c))?;
                if !r.found {
                    out.push(c);
                    continue;
                }
                let sub = r.updated.per_child(&pm, c.children().len());
                stack.extend(c.children().iter().cloned().zip(sub).rev());
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// A resolved nesting tree over leaf indices.
enum Tree {
    Leaf(usize),
    Node(Vec<Tree>, Option<String>),
}

fn resolve(
    spec: &NestSpec,
    root: &Circuit,
    leaves: &[Circuit],
    used: &mut Vec<usize>,
    rest: &mut Option<()>,
) -> Result<Vec<Tree>> {
    Ok(match spec {
        NestSpec::Leaf(k) => {
            if *k >= leaves.len() {
                return Err(bad(format!("leaf {k} does not exist ({} leaves)", leaves.len())));
            }
            used.push(*k);
            vec![Tree::Leaf(*k)]
        }
        NestSpec::Matcher { matcher, flat, assert_exists, assert_unique } => {
            let found = get(root, matcher.clone()).map_err(RewriteError::matching(RULE, root))?;
            let hits: Vec<usize> =
                (0..leaves.len()).filter(|&i| found.contains(&leaves[i])).collect();
            if hits.is_empty() && *assert_exists {
                return Err(bad(format!("matcher {matcher} found no operand")));
            }
            if hits.len() > 1 && *assert_unique {
                return Err(bad(format!(
                    "matcher {matcher} found {} operands, expected one",
                    hits.len()
                )));
            }
            used.extend(&hits);
            group(hits.into_iter().map(Tree::Leaf).collect(), *flat)
        }
        NestSpec::Rest { flat } => {
            if rest.replace(()).is_some() {
                return Err(bad("more than one Rest in the spec"));
            }
            // Placeholder: filled in after every other element is resolved.
            vec![Tree::Node(
                Vec::new(),
                Some(if *flat { "\u{0}rest-flat".into() } else { "\u{0}rest".into() }),
            )]
        }
        NestSpec::List(items) => {
            let mut kids = Vec::new();
            for it in items {
                kids.extend(resolve(it, root, leaves, used, rest)?);
            }
            vec![Tree::Node(kids, None)]
        }
        NestSpec::Named { spec, name } => {
            let mut t = resolve(spec, root, leaves, used, rest)?;
            match t.as_mut_slice() {
                [Tree::Node(_, n)] if n.is_none() => *n = Some(name.clone()),
                _ => t = vec![Tree::Node(t, Some(name.clone()))],
            }
            t
        }
    })
}

fn group(items: Vec<Tree>, flat: bool) -> Vec<Tree> {
    if flat || items.len() <= 1 {
        items
    } else {
        vec![Tree::Node(items, None)]
    }
}

fn fill_rest(t: Tree, rest: &[usize]) -> Vec<Tree> {
    match t {
        Tree::Node(_, Some(n)) if n == "\u{0}rest" => {
            group(rest.iter().map(|&i| Tree::Leaf(i)).collect(), false)
        }
        Tree::Node(_, Some(n)) if n == "\u{0}rest-flat" => {
            rest.iter().map(|&i| Tree::Leaf(i)).collect()
        }
        Tree::Node(kids, n) => {
            vec![Tree::Node(kids.into_iter().flat_map(|k| fill_rest(k, rest)).collect(), n)]
        }
        leaf => vec![leaf],
    }
}

fn resolve_tree(spec: &NestSpec, root: &Circuit, leaves: &[Circuit]) -> Result<Vec<Tree>> {
    let mut used = Vec::new();
    let mut rest = None;
    let top = resolve(spec, root, leaves, &mut used, &mut rest)?;
    let mut seen = vec![false; leaves.len()];
    for &u in &used {
        if std::mem::replace(&mut seen[u], true) {
            return Err(bad(format!("operand {u} is used more than once")));
        }
    }
    let remaining: Vec<usize> = (0..leaves.len()).filter(|&i| !seen[i]).collect();
    if rest.is_none() && !remaining.is_empty() {
        return Err(bad(format!("operands {remaining:?} are not in the spec and it has no Rest")));
    }
    let top: Vec<Tree> = top.into_iter().flat_map(|t| fill_rest(t, &remaining)).collect();
    // The root list: a single List at the top is the root itself.
    Ok(match top.len() {
        1 => match top.into_iter().next() {
            Some(Tree::Node(kids, None)) => kids,
            Some(other) => vec![other],
            None => Vec::new(),
        },
        _ => top,
    })
}

/// Flattens `einsum` within `traversal`, then rebuilds it nested per `spec`. Every leaf
/// must be used exactly once (a `Rest` takes the unused ones); intermediate Einsums keep
/// only the labels needed outside them (autonamed unless named in the spec); the root
/// keeps its name and output labels.
///
/// # Errors
/// [`RewriteError::InvalidArgument`] for a bad spec; construction errors.
pub fn nest_einsums(
    einsum: &Circuit,
    spec: &NestSpec,
    traversal: impl Into<IterativeMatcher>,
) -> Result<Circuit> {
    let (leaves, out) = einsum_leaves(einsum, &traversal.into())?;
    let circuits: Vec<Circuit> = leaves.iter().map(|(c, _)| c.clone()).collect();
    let top = resolve_tree(spec, einsum, &circuits)?;
    let (kids, in_axes) = build_einsum_list(&top, &leaves, &out, &leaves)?;
    Circuit::build(
        Op::Einsum(Einsum { in_axes, out_axes: out }),
        kids,
        einsum.name_arc().cloned(),
        false,
    )
    .map_err(RewriteError::construct("nest_einsums", einsum))
}

fn tree_leaves(t: &Tree, out: &mut Vec<usize>) {
    match t {
        Tree::Leaf(i) => out.push(*i),
        Tree::Node(k, _) => k.iter().for_each(|c| tree_leaves(c, out)),
    }
}

/// Builds the operands for a list of trees under a node whose output labels are
/// `needed_out`.
fn build_einsum_list(
    items: &[Tree],
    leaves: &[Leaf],
    root_out: &Axes,
    all: &[Leaf],
) -> Result<(Vec<Circuit>, Vec<Axes>)> {
    let mut kids = Vec::new();
    let mut in_axes = Vec::new();
    for t in items {
        match t {
            Tree::Leaf(i) => {
                kids.push(leaves[*i].0.clone());
                in_axes.push(leaves[*i].1.clone());
            }
            Tree::Node(sub, name) => {
                let mut inside = Vec::new();
                tree_leaves(t, &mut inside);
                // Labels of this sub-node needed outside it.
                let mut labels = Axes::new();
                for &i in &inside {
                    for &l in &all[i].1 {
                        let outside = root_out.contains(&l)
                            || all
                                .iter()
                                .enumerate()
                                .any(|(j, (_, a))| !inside.contains(&j) && a.contains(&l));
                        if outside && !labels.contains(&l) {
                            labels.push(l);
                        }
                    }
                }
                let (sk, sa) = build_einsum_list(sub, leaves, root_out, all)?;
                let op = Op::Einsum(Einsum { in_axes: sa, out_axes: labels.clone() });
                let node = Circuit::new(op, sk, name.as_deref().map(Name::from))
                    .map_err(|e| bad(e.to_string()))?;
                kids.push(node);
                in_axes.push(labels);
            }
        }
    }
    Ok((kids, in_axes))
}

/// Flattens `add` within `traversal`, then rebuilds it nested per `spec` (see
/// [`nest_einsums`]).
///
/// # Errors
/// See [`nest_einsums`].
pub fn nest_adds(
    add: &Circuit,
    spec: &NestSpec,
    traversal: impl Into<IterativeMatcher>,
) -> Result<Circuit> {
    let leaves = add_leaves(add, &traversal.into())?;
    let top = resolve_tree(spec, add, &leaves)?;
    let kids = build_add_list(&top, &leaves)?;
    Circuit::build(Op::Add, kids, add.name_arc().cloned(), false)
        .map_err(RewriteError::construct("nest_adds", add))
}

fn build_add_list(items: &[Tree], leaves: &[Circuit]) -> Result<Vec<Circuit>> {
    items
        .iter()
        .map(|t| match t {
            Tree::Leaf(i) => Ok(leaves[*i].clone()),
            Tree::Node(sub, name) => {
                let kids = build_add_list(sub, leaves)?;
                Circuit::new(Op::Add, kids, name.as_deref().map(Name::from))
                    .map_err(|e| bad(e.to_string()))
            }
        })
        .collect()
}

/// Nests the direct operands of `einsum` by an opt_einsum-style contraction path: each
/// step contracts the operands at the given positions of the current list (removing
/// them) and appends the result. With `path = None`, the path comes from the
/// contraction optimizer (`circuit-einsum`).
///
/// # Errors
/// [`RewriteError::InvalidArgument`] for positions out of range or a path that does not
/// end with one operand; optimizer errors.
pub fn einsum_nest_path(einsum: &Circuit, path: Option<&[Vec<usize>]>) -> Result<Circuit> {
    const NAME: &str = "einsum_nest_path";
    RewriteError::expect_kind(NAME, einsum, Kind::Einsum)?;
    let Op::Einsum(e) = einsum.op() else { return Ok(einsum.clone()) };
    let owned;
    let path = match path {
        Some(p) => p,
        None => {
            owned = optimizer_path(einsum, e)?;
            &owned
        }
    };
    let mut items: Vec<Leaf> =
        einsum.children().iter().cloned().zip(e.in_axes.iter().cloned()).collect();
    for (step_no, step) in path.iter().enumerate() {
        let mut pos = step.clone();
        pos.sort_unstable();
        pos.dedup();
        if pos.iter().any(|&p| p >= items.len()) || pos.is_empty() {
            return Err(bad(format!(
                "path step {step_no} {step:?} is out of range for {} operands",
                items.len()
            )));
        }
        let chosen: Vec<Leaf> = pos.iter().map(|&p| items[p].clone()).collect();
        for &p in pos.iter().rev() {
            items.remove(p);
        }
        if items.is_empty() {
            // The last step is the root itself.
            items = chosen;
            break;
        }
        let mut labels = Axes::new();
        for (_, a) in &chosen {
            for &l in a {
                let outside = e.out_axes.contains(&l) || items.iter().any(|(_, b)| b.contains(&l));
                if outside && !labels.contains(&l) {
                    labels.push(l);
                }
            }
        }
        let (kids, in_axes): (Vec<Circuit>, Vec<Axes>) = chosen.into_iter().unzip();
        let node =
            Circuit::new(Op::Einsum(Einsum { in_axes, out_axes: labels.clone() }), kids, None)
                .map_err(RewriteError::construct(NAME, einsum))?;
        items.push((node, labels));
    }
    let (kids, in_axes): (Vec<Circuit>, Vec<Axes>) = items.into_iter().unzip();
    Circuit::build(
        Op::Einsum(Einsum { in_axes, out_axes: e.out_axes.clone() }),
        kids,
        einsum.name_arc().cloned(),
        false,
    )
    .map_err(RewriteError::construct(NAME, einsum))
}

fn optimizer_path(einsum: &Circuit, e: &Einsum) -> Result<Vec<Vec<usize>>> {
    let inputs: Vec<Vec<circuit_einsum::Label>> = e
        .in_axes
        .iter()
        .map(|a| a.iter().map(|&l| circuit_einsum::Label::from(l)).collect())
        .collect();
    let output: Vec<circuit_einsum::Label> =
        e.out_axes.iter().map(|&l| circuit_einsum::Label::from(l)).collect();
    let mut sizes = std::collections::BTreeMap::new();
    for (c, a) in einsum.children().iter().zip(&e.in_axes) {
        for (&l, &d) in a.iter().zip(c.shape()) {
            sizes.insert(circuit_einsum::Label::from(l), d as u64);
        }
    }
    let spec = circuit_einsum::EinsumSpec::new(inputs, output, sizes)
        .map_err(|err| RewriteError::unsupported("einsum_nest_path", einsum, err.to_string()))?;
    let path = circuit_einsum::optimize(&spec, &circuit_einsum::PathOptions::default())
        .map_err(|err| RewriteError::unsupported("einsum_nest_path", einsum, err.to_string()))?;
    Ok(path.positions())
}

/// The leaves an Einsum flattens to under an unrestricted traversal (for `circ opt`).
pub(crate) fn full_traversal() -> IterativeMatcher {
    new_traversal(None, None, Matcher::never())
}
