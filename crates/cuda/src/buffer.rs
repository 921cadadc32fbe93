//! [`CudaBuffer`]: the backend's tensor — a block of device memory plus an element
//! offset, shape and non-negative strides, exactly like the CPU backend's strided
//! tensors, so that permutations, diagonals, slices, broadcasts and mergeable
//! rearranges are free views and kernels read any layout. Kernels write C-contiguous
//! outputs.
//!
//! Also the pure layout arithmetic the kernels' launches use (merging dimensions,
//! deciding 32- or 64-bit indexing), unit-tested on the CPU.

use std::sync::Arc;

use circuit_tensor::DType;

use crate::alloc::DeviceMem;
use crate::codegen::Ty;

/// A device tensor (cheap to clone: the memory is reference counted).
#[derive(Clone)]
pub struct CudaBuffer {
    pub(crate) mem: Arc<DeviceMem>,
    pub(crate) ty: Ty,
    pub(crate) offset: usize,
    pub(crate) shape: Vec<usize>,
    pub(crate) strides: Vec<usize>,
}

impl std::fmt::Debug for CudaBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaBuffer({} {:?} strides {:?})", self.ty.short(), self.shape, self.strides)
    }
}

/// C-order strides of a shape.
pub(crate) fn c_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![0; shape.len()];
    let mut acc = 1usize;
    for d in (0..shape.len()).rev() {
        s[d] = acc;
        acc = acc.saturating_mul(shape[d]);
    }
    s
}

/// Largest element offset a layout addresses (0 for empty tensors).
pub(crate) fn max_offset(shape: &[usize], strides: &[usize]) -> usize {
    if shape.contains(&0) {
        return 0;
    }
    shape
        .iter()
        .zip(strides)
        .map(|(&n, &s)| (n - 1).saturating_mul(s))
        .fold(0, usize::saturating_add)
}

/// Whether a layout is C-contiguous (size-1 dimensions ignored).
pub(crate) fn is_contiguous(shape: &[usize], strides: &[usize]) -> bool {
    let mut acc = 1usize;
    for (&n, &s) in shape.iter().zip(strides).rev() {
        if n != 1 && s != acc {
            return false;
        }
        acc = acc.saturating_mul(n);
    }
    true
}

impl CudaBuffer {
    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.ty.dtype()
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element strides.
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Device address of element `[0, .., 0]`.
    pub(crate) fn ptr(&self) -> u64 {
        self.mem.ptr + (self.offset * self.ty.size()) as u64
    }

    /// Elements the memory block holds.
    pub(crate) fn capacity(&self) -> usize {
        self.mem.bytes / self.ty.size()
    }

    /// Whether the view is C-contiguous.
    pub(crate) fn is_contiguous(&self) -> bool {
        is_contiguous(&self.shape, &self.strides)
    }

    /// A view of the same memory; `None` when it would address elements outside it.
    pub(crate) fn view(
        &self,
        offset: usize,
        shape: Vec<usize>,
        strides: Vec<usize>,
    ) -> Option<CudaBuffer> {
        if shape.len() != strides.len() {
            return None;
        }
        let empty = shape.contains(&0);
        if !empty && offset.saturating_add(max_offset(&shape, &strides)) >= self.capacity() {
            return None;
        }
        Some(CudaBuffer { mem: self.mem.clone(), ty: self.ty, offset, shape, strides })
    }

    /// Dimensions permuted: result dim `i` is dim `perm[i]`.
    pub(crate) fn permute(&self, perm: &[usize]) -> Option<CudaBuffer> {
        let shape = perm.iter().map(|&p| self.shape.get(p).copied()).collect::<Option<_>>()?;
        let strides = perm.iter().map(|&p| self.strides.get(p).copied()).collect::<Option<_>>()?;
        self.view(self.offset, shape, strides)
    }

    /// Broadcast (right-aligned, NumPy rules) to `shape`.
    pub(crate) fn broadcast_to(&self, shape: &[usize]) -> Option<CudaBuffer> {
        let strides = broadcast_strides(&self.shape, &self.strides, shape)?;
        self.view(self.offset, shape.to_vec(), strides)
    }
}

/// Strides of a right-aligned NumPy broadcast of `(shape, strides)` to `to`.
pub(crate) fn broadcast_strides(
    shape: &[usize],
    strides: &[usize],
    to: &[usize],
) -> Option<Vec<usize>> {
    if shape.len() > to.len() {
        return None;
    }
    let off = to.len() - shape.len();
    let mut out = vec![0; to.len()];
    for (i, &n) in to.iter().enumerate().skip(off) {
        let (m, s) = (shape[i - off], strides[i - off]);
        out[i] = if m == n {
            s
        } else if m == 1 {
            0
        } else {
            return None;
        };
    }
    Some(out)
}

/// Merges the dimensions of an index space for a kernel: drops size-1 dimensions and
/// merges neighbours `d, d + 1` when every operand's strides allow
/// (`s[d] == s[d + 1] * shape[d + 1]`). Returns the shape and each operand's strides,
/// with rank at least 1 (`[1]` for a scalar space).
pub(crate) fn collapse(shape: &[usize], operands: &[&[usize]]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut out_shape: Vec<usize> = Vec::new();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); operands.len()];
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        let merge = match out_shape.last() {
            Some(_) => operands.iter().enumerate().all(|(k, s)| {
                let last = out[k].last().copied().unwrap_or(0);
                last == s[d].saturating_mul(shape[d])
            }),
            None => false,
        };
        if merge {
            if let Some(n) = out_shape.last_mut() {
                *n *= shape[d];
            }
            for (k, s) in operands.iter().enumerate() {
                if let Some(last) = out[k].last_mut() {
                    *last = s[d];
                }
            }
        } else {
            out_shape.push(shape[d]);
            for (k, s) in operands.iter().enumerate() {
                out[k].push(s[d]);
            }
        }
    }
    if out_shape.is_empty() {
        let n = if shape.contains(&0) { 0 } else { 1 };
        out_shape.push(n);
        for o in &mut out {
            o.push(0);
        }
    }
    (out_shape, out)
}

/// Whether 32-bit index arithmetic is enough: the element count and every operand's
/// largest offset stay below 2^31.
pub(crate) fn needs_wide(shape: &[usize], operands: &[&[usize]]) -> bool {
    const LIMIT: usize = 1 << 31;
    let n: usize = shape.iter().fold(1usize, |a, &b| a.saturating_mul(b));
    n >= LIMIT || operands.iter().any(|s| max_offset(shape, s) >= LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_merges_contiguous_runs() {
        let (s, st) = collapse(&[2, 3, 4], &[&[12, 4, 1], &[12, 4, 1]]);
        assert_eq!((s, st), (vec![24], vec![vec![1], vec![1]]));
        // A transposed input keeps two dims; a broadcast dim merges only with zeros.
        let (s, st) = collapse(&[2, 3, 4], &[&[12, 4, 1], &[1, 2, 8]]);
        assert_eq!(s, vec![2, 3, 4]);
        assert_eq!(st[1], vec![1, 2, 8]);
        let (s, _) = collapse(&[2, 3, 4], &[&[12, 4, 1], &[1, 8, 2]]);
        assert_eq!(s, vec![2, 12], "the last two dims are contiguous in both");
        let (s, st) = collapse(&[5, 1, 6], &[&[6, 6, 1], &[0, 0, 0]]);
        assert_eq!((s, st), (vec![30], vec![vec![1], vec![0]]));
        let (s, st) = collapse(&[], &[&[]]);
        assert_eq!((s, st), (vec![1], vec![vec![0]]));
        let (s, _) = collapse(&[3, 0], &[&[0, 1]]);
        assert_eq!(s.iter().product::<usize>(), 0);
    }

    #[test]
    fn collapse_preserves_every_offset() {
        // Brute force: the flat index space maps to the same offsets before and after.
        let shape = [2usize, 1, 3, 2, 2];
        let ops: [&[usize]; 3] = [&[12, 12, 4, 2, 1], &[0, 5, 2, 0, 1], &[1, 0, 8, 4, 2]];
        let (cs, cst) = collapse(&shape, &ops);
        let n: usize = shape.iter().product();
        assert_eq!(cs.iter().product::<usize>(), n);
        let offset = |shape: &[usize], st: &[usize], mut i: usize| {
            let mut o = 0;
            for d in (0..shape.len()).rev() {
                o += (i % shape[d]) * st[d];
                i /= shape[d];
            }
            o
        };
        for i in 0..n {
            for k in 0..3 {
                assert_eq!(offset(&shape, ops[k], i), offset(&cs, &cst[k], i), "{i} {k}");
            }
        }
    }

    #[test]
    fn layout_helpers() {
        assert_eq!(c_strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert!(is_contiguous(&[2, 1, 3], &[3, 99, 1]));
        assert!(!is_contiguous(&[2, 3], &[1, 2]));
        assert_eq!(max_offset(&[2, 3], &[3, 1]), 5);
        assert_eq!(broadcast_strides(&[3, 1], &[1, 1], &[2, 3, 4]), Some(vec![0, 1, 0]));
        assert_eq!(broadcast_strides(&[3], &[1], &[4]), None);
        assert!(!needs_wide(&[1 << 20], &[&[1]]));
        assert!(needs_wide(&[1 << 20], &[&[1 << 12]]));
        assert!(needs_wide(&[1 << 31], &[&[1]]));
    }
}
