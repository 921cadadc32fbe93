//! One-operand einsum work: diagonals (free views), reductions over labels, permutations
//! (free views), and `Expand` (broadcast views and diagonal outputs).

use super::buffer::{c_strides, Dims, Elem, Strided};
use super::elementwise::map_unary;
use super::iter::Layout;
use crate::kernel::Label;
use crate::layout::ExpandLayout;

/// Takes diagonals of repeated labels: a view whose label list is distinct (first
/// occurrence order) and whose stride per label is the sum of the repeated axes'.
pub(crate) fn diagonal<T: Elem>(
    x: &Strided<T>,
    labels: &[Label],
) -> Option<(Strided<T>, Vec<Label>)> {
    if labels.len() != x.ndim() {
        return None;
    }
    let mut out_labels: Vec<Label> = Vec::with_capacity(labels.len());
    let mut shape: Dims = Dims::new();
    let mut strides: Dims = Dims::new();
    for (d, &l) in labels.iter().enumerate() {
        if let Some(p) = out_labels.iter().position(|&o| o == l) {
            if shape[p] != x.shape[d] {
                return None;
            }
            strides[p] += x.strides[d];
        } else {
            out_labels.push(l);
            shape.push(x.shape[d]);
            strides.push(x.strides[d]);
        }
    }
    Some((x.view(x.offset, shape, strides)?, out_labels))
}

/// Permutes a distinct-labelled view to `order` (which must be a permutation of the
/// labels).
pub(crate) fn permute_to<T: Elem>(
    x: &Strided<T>,
    labels: &[Label],
    order: &[Label],
) -> Option<Strided<T>> {
    let perm: Option<Vec<usize>> =
        order.iter().map(|l| labels.iter().position(|x| x == l)).collect();
    Some(x.permute(&perm?))
}

/// `alpha * einsum(x: input -> output)` for distinct `output` labels.
pub(crate) fn reduce<T: Elem>(
    x: &Strided<T>,
    input: &[Label],
    output: &[Label],
    alpha: T,
    alpha_is_one: bool,
) -> Option<Strided<T>> {
    let (d, labels) = diagonal(x, input)?;
    let summed: Vec<Label> = labels.iter().copied().filter(|l| !output.contains(l)).collect();
    let mut order: Vec<Label> = output.to_vec();
    order.extend(summed.iter().copied());
    let p = permute_to(&d, &labels, &order)?;
    if summed.is_empty() {
        return Some(if alpha_is_one { p } else { map_unary(p, |v| v.mul(alpha)) });
    }
    let k = output.len();
    let out_shape: Vec<usize> = p.shape[..k].to_vec();
    let mut out = super::pool::zeroed(out_shape.iter().product());
    sum_into(&mut out, &out_shape, &p);
    let r = Strided::from_vec(&out_shape, out);
    Some(if alpha_is_one { r } else { map_unary(r, |v| v.mul(alpha)) })
}

/// `out[i] += Σ_j x[i, j]` where `x`'s leading dims are `out`'s (C order) and its
/// trailing dims are summed. Iterates in `x`'s memory order (dims sorted by stride) so
/// reads are sequential; an inner summed row accumulates in a register.
fn sum_into<T: Elem>(out: &mut [T], out_shape: &[usize], x: &Strided<T>) {
    let k = out_shape.len();
    let out_c = c_strides(out_shape);
    let mut dims: Vec<(usize, usize, usize)> = (0..x.ndim())
        .map(|d| (x.shape[d], x.strides[d], if d < k { out_c[d] } else { 0 }))
        .collect();
    // Largest input stride first: the inner loop walks the smallest stride.
    dims.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)));
    let shape: Vec<usize> = dims.iter().map(|d| d.0).collect();
    let xs: Vec<usize> = dims.iter().map(|d| d.1).collect();
    let os: Vec<usize> = dims.iter().map(|d| d.2).collect();
    let layout = Layout::new(&shape, [xs.as_slice(), os.as_slice()]);
    let n = layout.inner_len();
    let [xi, oi] = layout.inner_strides();
    let data = x.data();
    layout.for_rows(0, layout.rows(), |_, [xb, ob]| {
        let base = x.offset + xb;
        if oi == 0 {
            let mut acc = T::zero();
            if xi == 1 {
                for &v in &data[base..base + n] {
                    acc = acc.add(v);
                }
            } else {
                for i in 0..n {
                    acc = acc.add(data[base + i * xi]);
                }
            }
            out[ob] = out[ob].add(acc);
        } else {
            for i in 0..n {
                let o = &mut out[ob + i * oi];
                *o = o.add(data[base + i * xi]);
            }
        }
    });
}

/// Places `x` (distinct `input` labels) into a tensor of `shape` with `output` labels:
/// labels `x` lacks are broadcast; a repeated output label puts the values on that
/// diagonal with zeros elsewhere (allocated only in that case).
pub(crate) fn expand<T: Elem>(
    x: &Strided<T>,
    input: &[Label],
    output: &[Label],
    shape: &[usize],
) -> Option<Strided<T>> {
    let (dshape, ostrides, xstrides) =
        match crate::layout::expand_layout(&x.strides, input, output, shape) {
            ExpandLayout::View(strides) => {
                return x.view(
                    x.offset,
                    shape.iter().copied().collect(),
                    strides.into_iter().collect(),
                );
            }
            ExpandLayout::Diagonal { dims, input_strides, output_strides } => {
                (dims, output_strides, input_strides)
            }
        };
    let mut out = super::pool::zeroed(shape.iter().product());
    let layout = Layout::new(&dshape, [ostrides.as_slice(), xstrides.as_slice()]);
    let n = layout.inner_len();
    let [oi, xi] = layout.inner_strides();
    let data = x.data();
    layout.for_rows(0, layout.rows(), |_, [ob, xb]| {
        for i in 0..n {
            out[ob + i * oi] = data[x.offset + xb + i * xi];
        }
    });
    Some(Strided::from_vec(shape, out))
}
