//! Fused elementwise programs ([`Kernel::Map`](crate::Kernel::Map)): the output is
//! computed in blocks of [`BLOCK`] elements; each instruction fills one block-sized
//! register from earlier ones (plain slice loops the compiler vectorizes), so every
//! input is read once and the output written once, whatever the program's length.

use rayon::prelude::*;
use smallvec::SmallVec;

use super::buffer::{Dims, Strided};
use super::gf::{simple_in_place, Float};
use super::iter::rows_per_chunk;
use crate::kernel::MapInstr;

/// Elements per register.
const BLOCK: usize = 256;

/// Runs `program` over `inputs` broadcast to `shape`. `None` when an input does not
/// broadcast to `shape`.
pub(crate) fn run_program<T: Float>(
    program: &[MapInstr],
    inputs: Vec<Strided<T>>,
    shape: &[usize],
) -> Option<Strided<T>> {
    let numel: usize = shape.iter().product();
    // The first input the plan handed over (a unique buffer of the output's shape)
    // becomes the output: each block reads its elements there before writing results.
    let mut out: Option<Vec<T>> = None;
    // Each input as a view over `shape`; `None` for the one in `out`.
    let mut views: Vec<Option<Strided<T>>> = Vec::with_capacity(inputs.len());
    for x in inputs {
        if out.is_none() && x.shape.as_slice() == shape {
            match x.into_unique_vec() {
                Ok(v) => {
                    out = Some(v);
                    views.push(None);
                }
                Err(x) => views.push(Some(x.broadcast_to(shape)?)),
            }
        } else {
            views.push(Some(x.broadcast_to(shape)?));
        }
    }
    let mut out = out.unwrap_or_else(|| super::pool::zeroed(numel));
    if numel == 0 || program.is_empty() {
        return Some(Strided::from_vec(shape, out));
    }
    let runner = Runner::new(program, &views, shape);
    let rows = numel / runner.row_len;
    let per_chunk = rows_per_chunk(rows, runner.row_len * program.len());
    if per_chunk >= rows {
        runner.run_rows(&mut out, 0);
    } else {
        out.par_chunks_mut(per_chunk * runner.row_len)
            .enumerate()
            .for_each(|(c, chunk)| runner.run_rows(chunk, c * per_chunk));
    }
    Some(Strided::from_vec(shape, out))
}

/// One input's walk over the (merged) dims of the output.
struct Walk<'a, T> {
    data: &'a [T],
    offset: usize,
    /// Stride per merged dim.
    strides: Dims,
}

struct Runner<'a, T> {
    program: &'a [MapInstr],
    /// Per input; `None` reads the output buffer.
    walks: Vec<Option<Walk<'a, T>>>,
    /// Merged dims of the output: leading dims, then the row.
    dims: Dims,
    row_len: usize,
}

impl<'a, T: Float> Runner<'a, T> {
    fn new(program: &'a [MapInstr], views: &'a [Option<Strided<T>>], shape: &[usize]) -> Self {
        // Merge dims that every view walks as one, so rows are long.
        let present: Vec<&Strided<T>> = views.iter().flatten().collect();
        let (dims, strides) = collapse(shape, &present);
        let mut strides = strides.into_iter();
        let walks = views
            .iter()
            .map(|v| {
                let v = v.as_ref()?;
                Some(Walk { data: v.data(), offset: v.offset, strides: strides.next()? })
            })
            .collect();
        let row_len = dims.last().copied().unwrap_or(1);
        Runner { program, walks, dims, row_len }
    }

    /// Computes `chunk`: whole rows, the first of which is `first_row`.
    fn run_rows(&self, chunk: &mut [T], first_row: usize) {
        let mut regs: Vec<T> = vec![T::zero(); self.program.len() * BLOCK];
        // The row's coordinates over the leading dims (an odometer).
        let lead = self.dims.len().saturating_sub(1);
        let mut idx: SmallVec<[usize; 8]> = SmallVec::from_elem(0, lead);
        let mut rem = first_row;
        for d in (0..lead).rev() {
            idx[d] = rem % self.dims[d];
            rem /= self.dims[d];
        }
        let n = self.row_len;
        for row_out in chunk.chunks_mut(n) {
            let bases: SmallVec<[usize; 8]> = self
                .walks
                .iter()
                .map(|w| {
                    w.as_ref().map_or(0, |w| {
                        w.offset + (0..lead).map(|d| idx[d] * w.strides[d]).sum::<usize>()
                    })
                })
                .collect();
            for start in (0..n).step_by(BLOCK) {
                let len = BLOCK.min(n - start);
                self.run_block(&mut regs, &mut row_out[start..start + len], &bases, start);
            }
            for d in (0..lead).rev() {
                idx[d] += 1;
                if idx[d] < self.dims[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    }

    /// Runs the program on elements `start..start + out.len()` of a row whose inputs
    /// start at `bases`.
    fn run_block(&self, regs: &mut [T], out: &mut [T], bases: &[usize], start: usize) {
        let len = out.len();
        for (i, ins) in self.program.iter().enumerate() {
            let (lo, hi) = regs.split_at_mut(i * BLOCK);
            let dst = &mut hi[..len];
            let reg = |x: usize| &lo[x * BLOCK..x * BLOCK + len];
            match *ins {
                MapInstr::Input(k) => match self.walks.get(k).and_then(Option::as_ref) {
                    None => dst.copy_from_slice(out),
                    Some(w) => {
                        let step = w.strides.last().copied().unwrap_or(0);
                        let base = bases[k] + start * step;
                        match step {
                            0 => dst.fill(w.data[base]),
                            1 => dst.copy_from_slice(&w.data[base..base + len]),
                            s => {
                                for (j, d) in dst.iter_mut().enumerate() {
                                    *d = w.data[base + j * s];
                                }
                            }
                        }
                    }
                },
                MapInstr::Add(a, b) => {
                    for ((d, &x), &y) in dst.iter_mut().zip(reg(a)).zip(reg(b)) {
                        *d = x + y;
                    }
                }
                MapInstr::Mul(a, b) => {
                    for ((d, &x), &y) in dst.iter_mut().zip(reg(a)).zip(reg(b)) {
                        *d = x * y;
                    }
                }
                MapInstr::Scale(a, c) => {
                    let c = T::c(c);
                    for (d, &x) in dst.iter_mut().zip(reg(a)) {
                        *d = x * c;
                    }
                }
                MapInstr::Simple(f, a) => {
                    dst.copy_from_slice(reg(a));
                    simple_in_place(f, dst);
                }
            }
        }
        let last = self.program.len() - 1;
        out.copy_from_slice(&regs[last * BLOCK..last * BLOCK + len]);
    }
}

/// `shape` with size-1 dims dropped and neighbouring dims merged wherever every view
/// steps over both as over one; each view's strides over the merged dims.
fn collapse<T>(shape: &[usize], views: &[&Strided<T>]) -> (Dims, Vec<Dims>) {
    let mut dims = Dims::new();
    let mut strides: Vec<Dims> = vec![Dims::new(); views.len()];
    for (d, &size) in shape.iter().enumerate() {
        if size == 1 {
            continue;
        }
        let mergeable = !dims.is_empty()
            && views
                .iter()
                .zip(&strides)
                .all(|(v, st)| st.last().copied() == Some(v.strides[d] * size));
        if mergeable {
            if let Some(last) = dims.last_mut() {
                *last *= size;
            }
            for (v, st) in views.iter().zip(strides.iter_mut()) {
                if let Some(s) = st.last_mut() {
                    *s = v.strides[d];
                }
            }
        } else {
            dims.push(size);
            for (v, st) in views.iter().zip(strides.iter_mut()) {
                st.push(v.strides[d]);
            }
        }
    }
    (dims, strides)
}
