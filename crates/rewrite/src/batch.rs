//! Batching: compute a circuit as a Concat of pieces along one axis
//! (`batch_to_concat`), and `split_to_concat`.

use circuit_ir::kinds::{Concat, Index, Slice, TensorAxisIndex};
use circuit_ir::{Circuit, Name, Op};
use circuit_match::{new_traversal, Matcher};

use crate::push_down_index::{push_down_index, PushDownIndexOptions};
use crate::{Result, RewriteError};

/// Options of [`batch_to_concat`].
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// Allow a last, smaller batch when `batch_size` does not divide the axis.
    pub allow_partial_batch: bool,
}

impl Default for BatchOptions {
    fn default() -> BatchOptions {
        BatchOptions { allow_partial_batch: true }
    }
}

fn slice_entry(a: usize, b: usize) -> TensorAxisIndex {
    TensorAxisIndex::Slice(Slice { start: Some(a as i64), stop: Some(b as i64) })
}

/// `c` as a Concat (named like `c`) along `axis` of `c[.., a:b, ..]` pieces, each piece
/// named `X_split_<i>` (autonamed when `c` is unnamed).
///
/// # Errors
/// [`RewriteError::InvalidArgument`] when `axis` is out of range or the sections do not
/// add up to the axis size; construction errors.
pub fn split_to_concat(c: &Circuit, axis: usize, sections: &[usize]) -> Result<Circuit> {
    const RULE: &str = "split_to_concat";
    if axis >= c.rank() || sections.iter().sum::<usize>() != c.shape()[axis] || sections.is_empty()
    {
        return Err(RewriteError::InvalidArgument {
            rule: RULE,
            msg: format!(
                "sections {sections:?} on axis {axis} do not split shape {:?}",
                c.shape().as_slice()
            ),
        });
    }
    let mut parts = Vec::with_capacity(sections.len());
    let mut start = 0;
    for (i, &len) in sections.iter().enumerate() {
        let mut index = vec![TensorAxisIndex::FULL; c.rank()];
        index[axis] = slice_entry(start, start + len);
        let name = c.name().map(|n| Name::from(format!("{n}_split_{i}")));
        parts.push(
            Circuit::new(Op::Index(Index { index }), vec![c.clone()], name)
                .map_err(RewriteError::construct(RULE, c))?,
        );
        start += len;
    }
    Circuit::build(Op::Concat(Concat { axis }), parts, c.name_arc().cloned(), false)
        .map_err(RewriteError::construct(RULE, c))
}

/// The same value as `circuit`, computed as a Concat along `axis` of pieces of at most
/// `batch_size`: each piece is the slice of `circuit` with the Index pushed down as far
/// as it goes (toward the leaves the axis comes from), so no piece materializes the
/// whole axis. Pieces are named `X_batch_<i>`.
///
/// Unlike rust_circuit, which binds sliced leaves into copies of one extracted Module,
/// the pieces here are plain sub-circuits (the same value; shared structure below the
/// slices stays shared).
///
/// # Errors
/// [`RewriteError::InvalidArgument`] for a zero batch size, a bad axis, or a partial
/// last batch when `allow_partial_batch` is off; push-down errors.
pub fn batch_to_concat(
    circuit: &Circuit,
    axis: usize,
    batch_size: usize,
    options: &BatchOptions,
) -> Result<Circuit> {
    const RULE: &str = "batch_to_concat";
    let bad = |msg: String| RewriteError::InvalidArgument { rule: RULE, msg };
    if batch_size == 0 {
        return Err(bad("the batch size is 0".into()));
    }
    let Some(&len) = circuit.shape().get(axis) else {
        return Err(bad(format!("axis {axis} is out of range for rank {}", circuit.rank())));
    };
    if len % batch_size != 0 && !options.allow_partial_batch {
        return Err(bad(format!("batch size {batch_size} does not divide {len}")));
    }
    let push = PushDownIndexOptions {
        traversal: Some(new_traversal(None, None, Matcher::never())),
        allow_partial_pushdown: true,
        ..PushDownIndexOptions::default()
    };
    let mut parts = Vec::new();
    let mut start = 0;
    while start < len {
        let stop = (start + batch_size).min(len);
        let mut index = vec![TensorAxisIndex::FULL; circuit.rank()];
        index[axis] = slice_entry(start, stop);
        let name = circuit.name().map(|n| Name::from(format!("{n}_batch_{}", parts.len())));
        let idx =
            Circuit::build(Op::Index(Index { index }), vec![circuit.clone()], name.clone(), false)
                .map_err(RewriteError::construct(RULE, circuit))?;
        let piece = match push_down_index(&idx, &push) {
            Ok(p) => p.rename(name.as_deref()).map_err(RewriteError::construct(RULE, circuit))?,
            Err(RewriteError::Unsupported { .. }) => idx,
            Err(e) => return Err(e),
        };
        parts.push(piece);
        start = stop;
    }
    if parts.len() == 1 {
        return Ok(circuit.clone());
    }
    Circuit::build(Op::Concat(Concat { axis }), parts, circuit.name_arc().cloned(), false)
        .map_err(RewriteError::construct(RULE, circuit))
}
