//! "Removable axes": axes along which a node is a pure broadcast (every Scalar axis, the
//! repeat axes of a Rearrange, size-1 axes). The `*_pull_removable_axes` rules compute a
//! node without such axes and re-add them with one repeat Rearrange on top.

use circuit_ir::kinds::{Rearrange, RearrangeSpec};
use circuit_ir::{Circuit, Op, Result};
use smallvec::SmallVec;

use super::util::{g1, scalar, suffixed};

/// For each output axis of `c`: whether `c` is constant along it.
pub(crate) fn removable_axes(c: &Circuit) -> Vec<bool> {
    match c.op() {
        Op::Scalar(_) => vec![true; c.rank()],
        Op::Rearrange(r) => {
            let child = &c.children()[0];
            let sizes = r.spec.conform(child.shape()).ok();
            let inputs: Vec<u8> = r.spec.input_ints.iter().flatten().copied().collect();
            r.spec
                .output_ints
                .iter()
                .zip(c.shape())
                .map(|(g, &d)| {
                    d == 1
                        || g.iter().all(|i| {
                            !inputs.contains(i)
                                || sizes.as_ref().is_some_and(|s| s[usize::from(*i)] == 1)
                        })
                })
                .collect()
        }
        _ => c.shape().iter().map(|&d| d == 1).collect(),
    }
}

/// `c` without the given axes (which must be removable): a smaller Scalar, a Rearrange
/// without those output groups, or a squeeze. Named `X_rem_ax` (a Rearrange that
/// becomes the identity disappears).
pub(crate) fn remove_axes(c: &Circuit, axes: &[usize]) -> Result<Circuit> {
    if axes.is_empty() {
        return Ok(c.clone());
    }
    let name = suffixed(c, "_rem_ax");
    match c.op() {
        Op::Scalar(s) => scalar(s.value, &super::util::remove_dims(c.shape(), axes), name.as_ref()),
        Op::Rearrange(r) => {
            let child = &c.children()[0];
            let sizes = r.spec.conform(child.shape())?;
            let output_ints: Vec<_> = r
                .spec
                .output_ints
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes.contains(i))
                .map(|(_, g)| g.clone())
                .collect();
            // Keep the spec's own sizes (wildcards stay wildcards, so a module binding may
            // still resize the input); input ints that leave the output have size 1.
            let kept: Vec<u8> = output_ints.iter().flatten().copied().collect();
            let mut int_sizes = r.spec.int_sizes.clone();
            for &i in r.spec.input_ints.iter().flatten() {
                if !kept.contains(&i) {
                    int_sizes[usize::from(i)] = Some(sizes[usize::from(i)]);
                }
            }
            let spec = RearrangeSpec::new(r.spec.input_ints.clone(), output_ints, int_sizes)?;
            if spec.is_identity() && child.shape() == &super::util::remove_dims(c.shape(), axes) {
                return Ok(child.clone());
            }
            Circuit::build(Op::Rearrange(Rearrange { spec }), vec![child.clone()], name, false)
        }
        _ => squeeze(c, axes, name),
    }
}

fn squeeze(c: &Circuit, axes: &[usize], name: Option<circuit_ir::Name>) -> Result<Circuit> {
    // Removed (size-1) dims are empty input groups.
    let input: Vec<SmallVec<[u8; 4]>> = (0..c.rank())
        .map(|i| if axes.contains(&i) { Ok(SmallVec::new()) } else { g1(i) })
        .collect::<Result<_>>()?;
    let output: Vec<SmallVec<[u8; 4]>> =
        (0..c.rank()).filter(|i| !axes.contains(i)).map(g1).collect::<Result<_>>()?;
    let spec = RearrangeSpec::new(input, output, c.shape().iter().map(|&d| Some(d)).collect())?;
    Circuit::build(Op::Rearrange(Rearrange { spec }), vec![c.clone()], name, false)
}

/// Wraps `inner` (which is `node` without `axes`) in a repeat Rearrange re-adding them
/// (autonamed, `(X) rearrange`); `None` if the result would not have `node`'s shape.
pub(crate) fn pull_common_axes(
    node: &Circuit,
    inner: Circuit,
    axes: &[usize],
) -> Result<Option<Circuit>> {
    let r = inner.rank();
    let input: Vec<SmallVec<[u8; 4]>> = (0..r).map(g1).collect::<Result<_>>()?;
    let mut int_sizes: Vec<Option<usize>> = inner.shape().iter().map(|&d| Some(d)).collect();
    let mut output = Vec::with_capacity(node.rank());
    let mut next_in = 0;
    for (d, &size) in node.shape().iter().enumerate() {
        if axes.contains(&d) {
            if size == 1 {
                output.push(SmallVec::new());
            } else {
                output.push(g1(int_sizes.len())?);
                int_sizes.push(Some(size));
            }
        } else {
            output.push(g1(next_in)?);
            next_in += 1;
        }
    }
    let spec = RearrangeSpec::new(input, output, int_sizes)?;
    let out = Circuit::new(Op::Rearrange(Rearrange { spec }), vec![inner], None)?;
    Ok((out.shape() == node.shape()).then_some(out))
}
