//! Rearrange (einops repeat): split input dims into ints (always a view), permute and
//! repeat ints (stride-0 views), then merge output groups — a view when every group's
//! ints are adjacent in memory, else one copy into C order.

use super::buffer::{Elem, Strided};
use crate::layout::RearrangeLayout;

/// Applies the pattern; `None` when it does not fit the input.
pub(crate) fn rearrange<T: Elem>(
    x: &Strided<T>,
    int_sizes: &[usize],
    input: &[Vec<u8>],
    output: &[Vec<u8>],
) -> Option<Strided<T>> {
    match crate::layout::rearrange_layout(&x.shape, &x.strides, int_sizes, input, output)? {
        RearrangeLayout::View { shape, strides } => {
            x.view(x.offset, shape.into_iter().collect(), strides.into_iter().collect())
        }
        RearrangeLayout::Copy { shape, int_shape, int_strides } => {
            // Materialize at int granularity, then the groups of the contiguous copy merge.
            let fine = x.view(
                x.offset,
                int_shape.into_iter().collect(),
                int_strides.into_iter().collect(),
            )?;
            Some(Strided::from_vec(&shape, fine.to_vec()))
        }
    }
}
