//! Distribution of an Einsum over an Add operand: `Einsum(.., Add(a, b), ..)` →
//! `Add(Einsum(.., a, ..), Einsum(.., b, ..))`, once, recursively along a traversal, or
//! over every Add operand.

use circuit_ir::kinds::{Rearrange, RearrangeSpec};
use circuit_ir::{Circuit, Kind, Name, Op};
use circuit_match::{traverse_until_depth, IterativeMatcher};
use smallvec::SmallVec;

use crate::rules::util::g1;
use crate::{Result, RewriteError};

const RULE: &str = "distribute";

/// Options of [`distribute`].
#[derive(Clone, Debug)]
pub struct DistributeOptions {
    /// Where to distribute: applied from the Einsum; nested Adds within it are
    /// distributed too (default: depth 1, the operand only).
    pub traversal: IterativeMatcher,
    /// Prefix of the new Einsums' names (`prefix + summand name + suffix`).
    pub prefix: Option<String>,
    /// Suffix of the new Einsums' names.
    pub suffix: Option<String>,
    /// Leave alone places that cannot be distributed (else an error).
    pub allow_partial_distribute: bool,
    /// Make the Add's broadcasts explicit first.
    pub do_broadcasts: bool,
}

impl Default for DistributeOptions {
    fn default() -> DistributeOptions {
        DistributeOptions {
            traversal: traverse_until_depth(1),
            prefix: None,
            suffix: None,
            allow_partial_distribute: true,
            do_broadcasts: true,
        }
    }
}

/// Wraps every operand of an Add that is smaller than the Add's shape in a repeat
/// Rearrange (`X rep_for_broadcast`), so no operand broadcasts. `None` when no operand
/// broadcasts.
///
/// # Errors
/// [`RewriteError::ExpectedKind`] for a non-Add; rebuild errors.
pub fn add_make_broadcasts_explicit(add: &Circuit) -> Result<Option<Circuit>> {
    RewriteError::expect_kind("add_make_broadcasts_explicit", add, Kind::Add)?;
    if add.children().iter().all(|c| c.shape() == add.shape()) {
        return Ok(None);
    }
    let mut kids = Vec::with_capacity(add.children().len());
    for c in add.children() {
        kids.push(if c.shape() == add.shape() {
            c.clone()
        } else {
            make_broadcast(c, add.shape())?
        });
    }
    Circuit::build(Op::Add, kids, add.name_arc().cloned(), add.autoname_disabled_here())
        .map(Some)
        .map_err(RewriteError::construct("add_make_broadcasts_explicit", add))
}

/// `c` broadcast (right-aligned, NumPy rules) to `shape` with one repeat Rearrange.
pub(crate) fn make_broadcast(c: &Circuit, shape: &[usize]) -> Result<Circuit> {
    let e = RewriteError::construct("make_broadcast", c);
    let r = c.rank();
    let off = shape.len() - r;
    let mut ints: Vec<Option<usize>> = c.shape().iter().map(|&s| Some(s)).collect();
    let input: Vec<SmallVec<[u8; 4]>> =
        (0..r).map(g1).collect::<circuit_ir::Result<_>>().map_err(e)?;
    let mut output = Vec::with_capacity(shape.len());
    for (d, &size) in shape.iter().enumerate() {
        if d >= off && c.shape()[d - off] == size {
            output.push(g1(d - off).map_err(RewriteError::construct("make_broadcast", c))?);
        } else {
            if d >= off {
                // A size-1 dim: the input int (size 1) is dropped, a repeat takes its place.
                ints[d - off] = Some(1);
            }
            output.push(g1(ints.len()).map_err(RewriteError::construct("make_broadcast", c))?);
            ints.push(Some(size));
        }
    }
    let spec = RearrangeSpec::new(input, output, ints)
        .map_err(RewriteError::construct("make_broadcast", c))?;
    let name = c.name().map(|n| Name::from(format!("{n} rep_for_broadcast")));
    Circuit::build(Op::Rearrange(Rearrange { spec }), vec![c.clone()], name, false)
        .map_err(RewriteError::construct("make_broadcast", c))
}

/// One distribution step over operand `operand_idx` (which must be a non-empty Add that
/// does not broadcast, after `do_broadcasts`). The result is an Add named like the
/// Einsum; the new Einsums are named `prefix + summand name + suffix` when a prefix or
/// suffix is given, else autonamed.
///
/// # Errors
/// [`RewriteError::Unsupported`] when the operand is not such an Add,
/// [`RewriteError::InvalidArgument`] for a bad index; rebuild errors.
pub fn distribute_once(
    einsum: &Circuit,
    operand_idx: usize,
    do_broadcasts: bool,
    prefix: Option<&str>,
    suffix: Option<&str>,
) -> Result<Circuit> {
    RewriteError::expect_kind(RULE, einsum, Kind::Einsum)?;
    let Some(operand) = einsum.children().get(operand_idx) else {
        return Err(RewriteError::InvalidArgument {
            rule: RULE,
            msg: format!("operand {operand_idx} of {} does not exist", einsum.node_ref()),
        });
    };
    if operand.kind() != Kind::Add {
        return Err(RewriteError::unsupported(
            RULE,
            einsum,
            format!("operand {operand_idx} is a {}, not an Add", operand.kind().name()),
        ));
    }
    let add = if do_broadcasts {
        add_make_broadcasts_explicit(operand)?.unwrap_or_else(|| operand.clone())
    } else {
        operand.clone()
    };
    if add.children().is_empty() || add.children().iter().any(|c| c.shape() != add.shape()) {
        return Err(RewriteError::unsupported(RULE, einsum, "the Add is empty or broadcasts"));
    }
    let mut terms = Vec::with_capacity(add.children().len());
    for summand in add.children() {
        let mut kids = einsum.children().to_vec();
        kids[operand_idx] = summand.clone();
        let name = if prefix.is_some() || suffix.is_some() {
            summand
                .name()
                .map(|n| Name::from(format!("{}{n}{}", prefix.unwrap_or(""), suffix.unwrap_or(""))))
        } else {
            None
        };
        let term = Circuit::new(einsum.op().clone(), kids, name)
            .map_err(RewriteError::construct(RULE, einsum))?;
        terms.push(term);
    }
    Circuit::build(Op::Add, terms, einsum.name_arc().cloned(), false)
        .map_err(RewriteError::construct(RULE, einsum))
}

/// Distributes `einsum` over its Add operand `operand_idx`, and again over Adds nested in
/// the summands while `options.traversal` (applied from the Einsum) continues.
///
/// # Errors
/// [`RewriteError::Noop`] when nothing was distributed; with
/// `allow_partial_distribute` off, [`RewriteError::Unsupported`] where an Add cannot be
/// distributed.
pub fn distribute(
    einsum: &Circuit,
    operand_idx: usize,
    options: &DistributeOptions,
) -> Result<Circuit> {
    RewriteError::expect_kind(RULE, einsum, Kind::Einsum)?;
    let r =
        options.traversal.match_iterate(einsum).map_err(RewriteError::matching(RULE, einsum))?;
    let per = r.updated.per_child(&options.traversal, einsum.children().len());
    let Some(Some(m)) = per.get(operand_idx) else {
        return Err(RewriteError::Noop { rule: RULE, node: einsum.node_ref() });
    };
    let mut changed = false;
    let out = distribute_rec(einsum, operand_idx, m, options, &mut changed)?;
    if changed {
        Ok(out)
    } else {
        Err(RewriteError::Noop { rule: RULE, node: einsum.node_ref() })
    }
}

fn distribute_rec(
    einsum: &Circuit,
    idx: usize,
    m: &IterativeMatcher,
    options: &DistributeOptions,
    changed: &mut bool,
) -> Result<Circuit> {
    let operand = &einsum.children()[idx];
    if operand.kind() != Kind::Add {
        return Ok(einsum.clone());
    }
    let r = m.match_iterate(operand).map_err(RewriteError::matching(RULE, operand))?;
    if !r.found {
        return Ok(einsum.clone());
    }
    let per = r.updated.per_child(m, operand.children().len());
    let step = distribute_once(
        einsum,
        idx,
        options.do_broadcasts,
        options.prefix.as_deref(),
        options.suffix.as_deref(),
    );
    let step = match step {
        Ok(s) => s,
        Err(e)
            if options.allow_partial_distribute
                && matches!(e, RewriteError::Unsupported { .. }) =>
        {
            return Ok(einsum.clone())
        }
        Err(e) => return Err(e),
    };
    *changed = true;
    // Broadcast-explicit summands may be Rearranges of Adds; recurse where the summand is
    // itself an Add.
    let mut terms = Vec::with_capacity(step.children().len());
    for (term, pm) in step.children().iter().zip(per.iter().chain(std::iter::repeat(&None))) {
        terms.push(match pm {
            Some(pm) => distribute_rec(term, idx, pm, options, changed)?,
            None => term.clone(),
        });
    }
    step.with_children(terms).map_err(RewriteError::construct(RULE, einsum))
}

/// Distributes over every direct Add operand (one Add of all products, flattened).
/// `None` when no operand is an Add.
///
/// # Errors
/// See [`distribute_once`].
pub fn distribute_all(einsum: &Circuit) -> Result<Option<Circuit>> {
    RewriteError::expect_kind("distribute_all", einsum, Kind::Einsum)?;
    if !einsum.children().iter().any(|c| c.kind() == Kind::Add && !c.children().is_empty()) {
        return Ok(None);
    }
    let mut terms = vec![einsum.clone()];
    for idx in 0..einsum.children().len() {
        let mut next = Vec::new();
        for t in &terms {
            let op = &t.children()[idx];
            if op.kind() == Kind::Add && !op.children().is_empty() {
                match distribute_once(t, idx, true, None, None) {
                    Ok(d) => next.extend(d.children().iter().cloned()),
                    Err(RewriteError::Unsupported { .. }) => next.push(t.clone()),
                    Err(e) => return Err(e),
                }
            } else {
                next.push(t.clone());
            }
        }
        terms = next;
    }
    if terms.len() == 1 && terms[0] == *einsum {
        return Ok(None);
    }
    Circuit::build(Op::Add, terms, einsum.name_arc().cloned(), false)
        .map(Some)
        .map_err(RewriteError::construct("distribute_all", einsum))
}
