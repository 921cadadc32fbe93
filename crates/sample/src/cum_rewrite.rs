//! `rewrite_cum_to_circuit_of_cum`: push a joint cumulant through one of its arguments,
//! using that cumulants are multilinear and commute with linear reshapes.

use smallvec::SmallVec;

use circuit_ir::kinds::{Einsum, Index, RearrangeSpec, TensorAxisIndex};
use circuit_ir::{Circuit, Kind, Op};

use crate::cumulant::{cumulant_new_canon, set_partitions};
use crate::error::{Result, SampleError};
use crate::util::{fresh_labels, is_random};

type Group = SmallVec<[u8; 4]>;

/// Rewrites `cumulant = κ(x_1, …, node, …, x_n)` as a circuit of cumulants of
/// `node`'s children (the first argument equal to `node` is the one pushed through):
///
/// * Tag → the cumulant of its child; Rearrange / Index → the same op applied to the
///   cumulant of the child, with pass-through axes for the other arguments;
/// * Add → the sum of cumulants of the (explicitly broadcast) summands; Concat → the
///   Concat of cumulants along the shifted axis;
/// * Einsum → the multilinear expansion (law of total cumulance / Leonov–Shiryaev):
///   `κ(∏ c_i, z…) = Σ_π ∏_{B∈π} κ(B)` over partitions `π` of the operands and the other
///   arguments in which every block contains an operand; each product of block
///   cumulants is one Einsum applying the original contraction;
/// * Array / Scalar / Cumulant (constant) → the node itself for `κ(node)`, zeros when
///   there are other arguments.
///
/// Sub-cumulants are canonical ([`cumulant_new_canon`]). Sub-cumulants that are zero
/// because a constant meets other arguments are dropped, and `κ(c)` of a constant `c` is
/// `c`. The result keeps the cumulant's name and shape.
///
/// # Errors
/// [`SampleError::Invalid`] when `node` is not an argument of the Cumulant;
/// [`SampleError::Unsupported`] for GeneralFunction and Symbol (not expandable) and for
/// Scatter, Conv, Module, SetSymbolicShape, DiscreteVar and StoredCumulantVar (not
/// implemented); construction errors.
pub fn rewrite_cum_to_circuit_of_cum(cumulant: &Circuit, node: &Circuit) -> Result<Circuit> {
    if cumulant.kind() != Kind::Cumulant {
        return Err(SampleError::Invalid(format!("{} is not a Cumulant", cumulant.node_ref())));
    }
    let args = cumulant.children();
    let p = args.iter().position(|a| a == node).ok_or_else(|| {
        SampleError::Invalid(format!(
            "{} is not an argument of {}",
            node.node_ref(),
            cumulant.node_ref()
        ))
    })?;
    let pre: usize = args[..p].iter().map(Circuit::rank).sum();
    let post: usize = args[p + 1..].iter().map(Circuit::rank).sum();
    let with = |c: Circuit| {
        let mut v = args.to_vec();
        v[p] = c;
        v
    };
    let zeros = || Circuit::scalar(0.0, cumulant.shape(), None);
    let out = match node.op() {
        Op::Tag(_) => sub_cumulant(with(node.children()[0].clone()))?.map_or_else(zeros, Ok)?,
        Op::Array(_) | Op::Scalar(_) | Op::Cumulant => {
            if args.len() == 1 {
                node.clone()
            } else {
                zeros()?
            }
        }
        Op::Rearrange(r) => match sub_cumulant(with(node.children()[0].clone()))? {
            Some(k) => k.rearrange(padded_rearrange(&r.spec, pre, post)?)?,
            None => zeros()?,
        },
        Op::Index(idx) => match sub_cumulant(with(node.children()[0].clone()))? {
            Some(k) => {
                let mut index = vec![TensorAxisIndex::FULL; pre];
                index.extend(idx.index.iter().cloned());
                index.resize(pre + node.children()[0].rank() + post, TensorAxisIndex::FULL);
                Circuit::new(Op::Index(Index { index }), vec![k], None)?
            }
            None => zeros()?,
        },
        Op::Add => {
            let mut terms = Vec::new();
            for c in node.children() {
                if let Some(k) = sub_cumulant(with(broadcast_to(c, node.shape())?))? {
                    terms.push(k);
                }
            }
            sum_or_zeros(terms, cumulant)?
        }
        Op::Concat(c) => {
            let parts = node
                .children()
                .iter()
                .map(|x| {
                    let mut ranks_shape: Vec<usize> = cumulant.shape().to_vec();
                    ranks_shape[pre + c.axis] = x.shape()[c.axis];
                    Ok(sub_cumulant(with(x.clone()))?
                        .map_or_else(|| Circuit::scalar(0.0, &ranks_shape, None), Ok)?)
                })
                .collect::<Result<Vec<_>>>()?;
            Circuit::concat(parts, (pre + c.axis) as i64)?
        }
        Op::Einsum(e) => einsum_expansion(cumulant, p, e, node)?,
        Op::GeneralFunction(_) | Op::Symbol(_) => {
            return Err(SampleError::Unsupported(format!(
                "cannot push a cumulant through {} ({}): not multilinear",
                node.node_ref(),
                node.kind().name()
            )))
        }
        _ => {
            return Err(SampleError::Unsupported(format!(
                "pushing a cumulant through a {} is not implemented",
                node.kind().name()
            )))
        }
    };
    Ok(out.rename(cumulant.name())?)
}

/// The canonical cumulant of `args` arranged back in the order of `args`, or `None`
/// when it is zero (a constant among at least two arguments). `κ(c)` of a constant is
/// `c` itself.
fn sub_cumulant(args: Vec<Circuit>) -> Result<Option<Circuit>> {
    if args.len() >= 2 && args.iter().any(|a| !is_random(a)) {
        return Ok(None);
    }
    if let [a] = args.as_slice() {
        if !is_random(a) {
            return Ok(Some(a.clone()));
        }
    }
    Ok(Some(crate::cumulant::cumulant_new_canon_rearrange(args)?))
}

fn sum_or_zeros(mut terms: Vec<Circuit>, cumulant: &Circuit) -> Result<Circuit> {
    Ok(match terms.len() {
        0 => Circuit::scalar(0.0, cumulant.shape(), None)?,
        1 => terms.pop().ok_or_else(|| SampleError::Invalid("internal: no term".into()))?,
        _ => Circuit::sum_of(terms)?,
    })
}

fn to_u8(i: usize) -> Result<u8> {
    u8::try_from(i).map_err(|_| SampleError::Unsupported("more than 256 axes".into()))
}

/// `spec` with `pre` pass-through axes in front and `post` behind.
fn padded_rearrange(spec: &RearrangeSpec, pre: usize, post: usize) -> Result<RearrangeSpec> {
    let n = spec.int_sizes.len();
    let ints = |range: std::ops::Range<usize>| -> Result<Vec<Group>> {
        range.map(|i| Ok(SmallVec::from_slice(&[to_u8(i)?]))).collect()
    };
    let front = ints(n..n + pre)?;
    let back = ints(n + pre..n + pre + post)?;
    let wrap = |middle: &[Group]| {
        let mut v = front.clone();
        v.extend(middle.iter().cloned());
        v.extend(back.iter().cloned());
        v
    };
    let mut sizes = spec.int_sizes.clone();
    sizes.extend(std::iter::repeat_n(None, pre + post));
    Ok(RearrangeSpec::new(wrap(&spec.input_ints), wrap(&spec.output_ints), sizes)?)
}

/// `c` broadcast (numpy rules, right-aligned) to `shape` with an explicit Rearrange;
/// `c` itself when the shapes already agree.
fn broadcast_to(c: &Circuit, shape: &[usize]) -> Result<Circuit> {
    if c.shape().as_slice() == shape {
        return Ok(c.clone());
    }
    let r = c.rank();
    let lead = shape.len() - r;
    let mut sizes: Vec<Option<usize>> = c.shape().iter().map(|&d| Some(d)).collect();
    let input: Vec<Group> =
        (0..r).map(|i| Ok(SmallVec::from_slice(&[to_u8(i)?]))).collect::<Result<_>>()?;
    let mut output = Vec::with_capacity(shape.len());
    for (d, &size) in shape.iter().enumerate() {
        let keep = d >= lead && c.shape()[d - lead] == size;
        if keep {
            output.push(SmallVec::from_slice(&[to_u8(d - lead)?]));
        } else {
            output.push(SmallVec::from_slice(&[to_u8(sizes.len())?]));
            sizes.push(Some(size));
        }
    }
    Ok(c.rearrange(RearrangeSpec::new(input, output, sizes)?)?)
}

/// `κ(…, einsum(c_1..c_m), …)` as a sum over partitions of operands and other arguments
/// in which every block holds an operand.
fn einsum_expansion(cumulant: &Circuit, p: usize, e: &Einsum, node: &Circuit) -> Result<Circuit> {
    let args = cumulant.children();
    let operands = node.children();
    let m = operands.len();
    // Atoms: the operands, then the other arguments in order.
    let mut atoms: Vec<Circuit> = operands.to_vec();
    let mut atom_labels: Vec<Vec<u8>> = e.in_axes.iter().map(|a| a.to_vec()).collect();
    let mut next = e.next_label();
    let mut out: Vec<u8> = Vec::new();
    for (q, a) in args.iter().enumerate() {
        if q == p {
            out.extend(e.out_axes.iter().copied());
        } else {
            let l = fresh_labels(&mut next, a.rank())?;
            out.extend(&l);
            atoms.push(a.clone());
            atom_labels.push(l);
        }
    }
    let mut terms = Vec::new();
    'partitions: for partition in set_partitions(atoms.len()) {
        if !partition.iter().all(|b| b.iter().any(|&i| i < m)) {
            continue;
        }
        let mut factors = Vec::with_capacity(partition.len());
        for block in &partition {
            let members: Vec<Circuit> = block.iter().map(|&i| atoms[i].clone()).collect();
            if members.len() >= 2 && members.iter().any(|a| !is_random(a)) {
                continue 'partitions;
            }
            let (factor, order) = match members.as_slice() {
                [a] if !is_random(a) => (a.clone(), vec![0]),
                _ => cumulant_new_canon(members)?,
            };
            let axes: Vec<u8> =
                order.iter().flat_map(|&j| atom_labels[block[j]].iter().copied()).collect();
            factors.push((factor, axes));
        }
        terms.push(Circuit::einsum_from_axes(factors, &out, None)?);
    }
    sum_or_zeros(terms, cumulant)
}
