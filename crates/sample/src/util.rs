//! Small helpers: reading constant leaves, taking DiscreteVars apart, axis labels.

use circuit_ir::size::is_symbolic;
use circuit_ir::{Circuit, Kind, Op};

use crate::error::{Result, SampleError};

/// The values of a constant leaf circuit, flattened in C order: a Scalar (its value
/// repeated), an Array (its tensor), or either wrapped in any number of Tags. `None` for
/// anything else (reading it would need evaluation) and for symbolic sizes.
///
/// # Errors
/// A lazily loaded Array whose tensor cannot be loaded.
pub fn constant_leaf_values(c: &Circuit) -> Result<Option<Vec<f64>>> {
    let mut node = c;
    while let Op::Tag(_) = node.op() {
        match node.children().first() {
            Some(child) => node = child,
            None => return Ok(None),
        }
    }
    match node.op() {
        Op::Scalar(s) => {
            if s.shape.iter().any(|&d| is_symbolic(d)) {
                return Ok(None);
            }
            let n: usize = s.shape.iter().product();
            Ok(Some(vec![s.value; n]))
        }
        Op::Array(a) => Ok(Some(a.tensor()?.to_f64_vec())),
        _ => Ok(None),
    }
}

/// `(values, probs_and_group)` of a DiscreteVar.
///
/// # Errors
/// [`SampleError::UnsupportedVar`] for any other kind.
pub(crate) fn discrete_var_parts(var: &Circuit) -> Result<(&Circuit, &Circuit)> {
    match (var.kind(), var.children()) {
        (Kind::DiscreteVar, [values, group]) => Ok((values, group)),
        (kind, _) => Err(SampleError::UnsupportedVar { node: var.node_ref(), kind: kind.name() }),
    }
}

/// Checks that a sample group is 1-D and returns its size.
pub(crate) fn group_len(group: &Circuit) -> Result<usize> {
    match group.shape().as_slice() {
        [n] => Ok(*n),
        other => {
            Err(SampleError::GroupNotOneDim { group: group.node_ref(), shape: other.to_vec() })
        }
    }
}

/// `count` consecutive einsum labels starting at `*next`.
pub(crate) fn fresh_labels(next: &mut usize, count: usize) -> Result<Vec<u8>> {
    let out = (*next..*next + count)
        .map(|i| {
            u8::try_from(i)
                .map_err(|_| SampleError::Unsupported("more than 256 einsum axes".to_string()))
        })
        .collect::<Result<Vec<u8>>>()?;
    *next += count;
    Ok(out)
}

/// `name_suffix` appended to the circuit's name, or `fallback` when it has none.
pub(crate) fn derived_name(c: &Circuit, suffix: &str, fallback: &str) -> String {
    match c.name() {
        Some(n) => format!("{n}{suffix}"),
        None => fallback.to_string(),
    }
}

/// Whether a circuit still contains a random variable outside Cumulants.
pub(crate) fn is_random(c: &Circuit) -> bool {
    !c.flags().is_constant()
}
