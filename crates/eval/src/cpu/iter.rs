//! Strided iteration: walk several same-shaped strided operands together, one innermost
//! row at a time, after merging dims that are contiguous for every operand (so typical
//! inputs become a few long rows whose inner loops the compiler vectorizes).

use smallvec::SmallVec;

use super::buffer::Dims;

/// Below this many elements a kernel runs on one thread.
pub(crate) const PAR_MIN_ELEMS: usize = 1 << 15;

/// A coalesced iteration space for `N` operands.
pub(crate) struct Layout<const N: usize> {
    /// Sizes (at least one dim; the last is the inner row).
    pub(crate) shape: Dims,
    /// Strides per operand.
    pub(crate) strides: [Dims; N],
}

impl<const N: usize> Layout<N> {
    /// Coalesces `shape` with the operands' `strides` (each the same rank as `shape`).
    pub(crate) fn new(shape: &[usize], strides: [&[usize]; N]) -> Layout<N> {
        let mut out_shape: Dims = SmallVec::new();
        let mut out_strides: [Dims; N] = std::array::from_fn(|_| SmallVec::new());
        for d in 0..shape.len() {
            let n = shape[d];
            if n == 1 {
                continue;
            }
            let mergeable = out_shape.last().is_some()
                && (0..N).all(|k| {
                    let prev = out_strides[k].last().copied().unwrap_or(0);
                    prev == strides[k][d] * n
                });
            if mergeable {
                if let Some(last) = out_shape.last_mut() {
                    *last *= n;
                }
                for k in 0..N {
                    if let Some(s) = out_strides[k].last_mut() {
                        *s = strides[k][d];
                    }
                }
            } else {
                out_shape.push(n);
                for k in 0..N {
                    out_strides[k].push(strides[k][d]);
                }
            }
        }
        if shape.contains(&0) {
            // No elements: zero rows.
            out_shape = SmallVec::from_slice(&[0, 1]);
            out_strides = std::array::from_fn(|_| SmallVec::from_slice(&[0, 0]));
        } else if out_shape.is_empty() {
            out_shape = SmallVec::from_slice(&[1]);
            out_strides = std::array::from_fn(|_| SmallVec::from_slice(&[0]));
        }
        Layout { shape: out_shape, strides: out_strides }
    }

    /// Length of the inner row.
    pub(crate) fn inner_len(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }

    /// Inner strides per operand.
    pub(crate) fn inner_strides(&self) -> [usize; N] {
        std::array::from_fn(|k| self.strides[k].last().copied().unwrap_or(0))
    }

    /// Number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.shape[..self.shape.len() - 1].iter().product()
    }

    /// Calls `f(row, base_offsets)` for rows `start..end` in order (offsets relative to
    /// each operand's element `[0, .., 0]`).
    pub(crate) fn for_rows(&self, start: usize, end: usize, mut f: impl FnMut(usize, [usize; N])) {
        let outer = self.shape.len() - 1;
        if start >= end {
            return;
        }
        let mut idx: Dims = SmallVec::from_elem(0, outer);
        let mut rem = start;
        for d in (0..outer).rev() {
            idx[d] = rem % self.shape[d];
            rem /= self.shape[d];
        }
        let mut base: [usize; N] =
            std::array::from_fn(|k| (0..outer).map(|d| idx[d] * self.strides[k][d]).sum());
        for row in start..end {
            f(row, base);
            // odometer increment
            for d in (0..outer).rev() {
                idx[d] += 1;
                for (k, b) in base.iter_mut().enumerate() {
                    *b += self.strides[k][d];
                }
                if idx[d] < self.shape[d] {
                    break;
                }
                for (k, b) in base.iter_mut().enumerate() {
                    *b -= self.strides[k][d] * self.shape[d];
                }
                idx[d] = 0;
            }
        }
    }
}

/// Splits `rows` rows of `row_len` elements into chunks worth running in parallel:
/// returns the number of rows per chunk (all rows when the work is small).
pub(crate) fn rows_per_chunk(rows: usize, row_len: usize) -> usize {
    let total = rows.saturating_mul(row_len);
    if total < PAR_MIN_ELEMS || rows <= 1 {
        return rows.max(1);
    }
    let threads = rayon::current_num_threads().max(1);
    let chunks = (threads * 4).min(rows);
    rows.div_ceil(chunks).max((PAR_MIN_ELEMS / 4 / row_len.max(1)).max(1))
}
