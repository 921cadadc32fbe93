//! Rearrange (einops repeat): split input dims into ints (always a view), permute and
//! repeat ints (stride-0 views), then merge output groups — a view when every group's
//! ints are adjacent in memory, else one copy into C order.

use super::buffer::{Dims, Elem, Strided};

/// Applies the pattern; `None` when it does not fit the input.
pub(crate) fn rearrange<T: Elem>(
    x: &Strided<T>,
    int_sizes: &[usize],
    input: &[Vec<u8>],
    output: &[Vec<u8>],
) -> Option<Strided<T>> {
    if input.len() != x.ndim() {
        return None;
    }
    // Stride of every int present in the input.
    let mut int_stride: Vec<Option<usize>> = vec![None; int_sizes.len()];
    for (d, group) in input.iter().enumerate() {
        let mut stride = x.strides[d];
        let mut total = 1usize;
        for &i in group.iter().rev() {
            let size = *int_sizes.get(usize::from(i))?;
            int_stride[usize::from(i)] = Some(stride);
            stride = stride.checked_mul(size)?;
            total = total.checked_mul(size)?;
        }
        if total != x.shape[d] {
            return None;
        }
    }
    // Every output int as (size, stride); repeats get stride 0.
    let int_dims = |i: u8| -> Option<(usize, usize)> {
        let size = *int_sizes.get(usize::from(i))?;
        Some((size, int_stride[usize::from(i)].unwrap_or(0)))
    };
    let mut shape: Dims = Dims::new();
    let mut strides: Dims = Dims::new();
    let mut mergeable = true;
    for group in output {
        let dims: Vec<(usize, usize)> =
            group.iter().map(|&i| int_dims(i)).collect::<Option<_>>()?;
        let size: usize = dims.iter().map(|d| d.0).product();
        let nontrivial: Vec<&(usize, usize)> = dims.iter().filter(|d| d.0 != 1).collect();
        if nontrivial.windows(2).any(|w| w[0].1 != w[1].1 * w[1].0) {
            mergeable = false;
        }
        shape.push(size);
        strides.push(nontrivial.last().map_or(0, |d| d.1));
    }
    if mergeable {
        return x.view(x.offset, shape, strides);
    }
    // Materialize at int granularity, then the groups of the contiguous copy merge.
    let mut ishape: Dims = Dims::new();
    let mut istrides: Dims = Dims::new();
    for &i in output.iter().flatten() {
        let (s, st) = int_dims(i)?;
        ishape.push(s);
        istrides.push(st);
    }
    let fine = x.view(x.offset, ishape, istrides)?;
    Some(Strided::from_vec(&shape, fine.to_vec()))
}
