//! Strided layouts that every backend computes the same way (public, like
//! [`crate::gather`], so a backend of another crate reuses them): where an Expand with
//! broadcast or diagonal output labels reads and writes, and whether a Rearrange is a
//! view of its input.

use crate::kernel::Label;

/// C-order (row-major) strides of `shape`.
fn c_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// An Expand of an input with distinct `input` labels (element strides `strides`) to
/// `output` labels over `shape`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandLayout {
    /// No repeated output label: the output is a view with these strides (0 where the
    /// input lacks the label).
    View(Vec<usize>),
    /// Repeated output labels: a zeroed C-order output of `shape` gets the input
    /// written along a diagonal, iterating `dims` (one per distinct output label),
    /// reading the input at `input_strides` and writing at `output_strides`.
    Diagonal {
        /// Size of each distinct output label.
        dims: Vec<usize>,
        /// Input element stride per distinct label (0 for labels the input lacks).
        input_strides: Vec<usize>,
        /// Output element stride per distinct label (summed over its repeats).
        output_strides: Vec<usize>,
    },
}

/// The layout of an Expand (see [`ExpandLayout`]).
pub fn expand_layout(
    strides: &[usize],
    input: &[Label],
    output: &[Label],
    shape: &[usize],
) -> ExpandLayout {
    let stride_of = |l: Label| {
        input.iter().position(|&i| i == l).and_then(|p| strides.get(p).copied()).unwrap_or(0)
    };
    let repeated = output.iter().enumerate().any(|(i, l)| output[..i].contains(l));
    if !repeated {
        return ExpandLayout::View(output.iter().map(|&l| stride_of(l)).collect());
    }
    let out_c = c_strides(shape);
    let mut labels: Vec<Label> = Vec::new();
    let mut dims: Vec<usize> = Vec::new();
    let mut output_strides: Vec<usize> = Vec::new();
    for (d, &l) in output.iter().enumerate() {
        if let Some(p) = labels.iter().position(|&o| o == l) {
            output_strides[p] += out_c[d];
        } else {
            labels.push(l);
            dims.push(shape[d]);
            output_strides.push(out_c[d]);
        }
    }
    let input_strides = labels.iter().map(|&l| stride_of(l)).collect();
    ExpandLayout::Diagonal { dims, input_strides, output_strides }
}

/// A Rearrange (einops repeat) of a strided input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RearrangeLayout {
    /// Every output group's ints are adjacent in memory: the output is a view of the
    /// input with these sizes and strides.
    View {
        /// Output sizes.
        shape: Vec<usize>,
        /// Output element strides.
        strides: Vec<usize>,
    },
    /// One copy: view the input at int granularity (`int_shape`, `int_strides`, ints in
    /// output order, repeats with stride 0), copy that to C order, and read the copy as
    /// `shape`.
    Copy {
        /// Output sizes.
        shape: Vec<usize>,
        /// Size of every output int.
        int_shape: Vec<usize>,
        /// Input element stride of every output int.
        int_strides: Vec<usize>,
    },
}

/// The layout of a Rearrange of an input of `shape` / `strides`; `None` when the
/// pattern does not fit the input (or its sizes overflow).
pub fn rearrange_layout(
    shape: &[usize],
    strides: &[usize],
    int_sizes: &[usize],
    input: &[Vec<u8>],
    output: &[Vec<u8>],
) -> Option<RearrangeLayout> {
    if input.len() != shape.len() || strides.len() != shape.len() {
        return None;
    }
    // Stride of every int present in the input.
    let mut int_stride: Vec<Option<usize>> = vec![None; int_sizes.len()];
    for (d, group) in input.iter().enumerate() {
        let mut stride = strides[d];
        let mut total = 1usize;
        for &i in group.iter().rev() {
            let size = *int_sizes.get(usize::from(i))?;
            int_stride[usize::from(i)] = Some(stride);
            stride = stride.checked_mul(size)?;
            total = total.checked_mul(size)?;
        }
        if total != shape[d] {
            return None;
        }
    }
    // Every output int as (size, stride); repeats get stride 0.
    let int_dims = |i: u8| -> Option<(usize, usize)> {
        let size = *int_sizes.get(usize::from(i))?;
        Some((size, int_stride[usize::from(i)].unwrap_or(0)))
    };
    let mut out_shape = Vec::with_capacity(output.len());
    let mut out_strides = Vec::with_capacity(output.len());
    let mut mergeable = true;
    for group in output {
        let dims: Vec<(usize, usize)> =
            group.iter().map(|&i| int_dims(i)).collect::<Option<_>>()?;
        let size: usize = dims.iter().map(|d| d.0).product();
        let nontrivial: Vec<&(usize, usize)> = dims.iter().filter(|d| d.0 != 1).collect();
        if nontrivial.windows(2).any(|w| w[0].1 != w[1].1 * w[1].0) {
            mergeable = false;
        }
        out_shape.push(size);
        out_strides.push(nontrivial.last().map_or(0, |d| d.1));
    }
    if mergeable {
        return Some(RearrangeLayout::View { shape: out_shape, strides: out_strides });
    }
    let (int_shape, int_strides) = output
        .iter()
        .flatten()
        .map(|&i| int_dims(i))
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .unzip();
    Some(RearrangeLayout::Copy { shape: out_shape, int_shape, int_strides })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_views_and_diagonals() {
        // ab -> abc: c broadcast.
        assert_eq!(
            expand_layout(&[3, 1], &[0, 1], &[0, 1, 2], &[2, 3, 4]),
            ExpandLayout::View(vec![3, 1, 0])
        );
        // a -> aa: the diagonal of a 3 x 3 output.
        assert_eq!(
            expand_layout(&[1], &[0], &[0, 0], &[3, 3]),
            ExpandLayout::Diagonal {
                dims: vec![3],
                input_strides: vec![1],
                output_strides: vec![4]
            }
        );
    }

    #[test]
    fn rearranges_view_or_copy() {
        // (a b) -> b a over a contiguous [6] input, a = 2, b = 3: a transposed view.
        let t = rearrange_layout(&[6], &[1], &[2, 3], &[vec![0, 1]], &[vec![1], vec![0]]);
        assert_eq!(t, Some(RearrangeLayout::View { shape: vec![3, 2], strides: vec![1, 3] }));
        // a b -> (b a): needs a copy.
        let c = rearrange_layout(&[2, 3], &[3, 1], &[2, 3], &[vec![0], vec![1]], &[vec![1, 0]]);
        assert_eq!(
            c,
            Some(RearrangeLayout::Copy {
                shape: vec![6],
                int_shape: vec![3, 2],
                int_strides: vec![1, 3]
            })
        );
        // A size that does not fit.
        assert_eq!(rearrange_layout(&[5], &[1], &[2, 3], &[vec![0, 1]], &[vec![0, 1]]), None);
    }
}
