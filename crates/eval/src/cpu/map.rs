//! Fused elementwise programs ([`Kernel::Map`](crate::Kernel::Map)): the output is
//! computed in blocks of [`BLOCK`] elements; each instruction fills one block-sized
//! register from earlier ones (plain slice loops the compiler vectorizes), so every
//! input is read once and the output written once, whatever the program's length.

use rayon::prelude::*;
use smallvec::SmallVec;

use super::buffer::{Dims, Strided};
use super::gf::{simple_in_place, Float};
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
    if !crate::kernel::is_valid_program(program, inputs.len()) {
        return None;
    }
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
    // Chunks of whole blocks (a chunk may start and end inside a row), enough of them
    // for every thread whatever the row length.
    let min_chunk = (MIN_CHUNK_WORK / program.len()).max(BLOCK);
    let per_thread = numel.div_ceil(4 * rayon::current_num_threads());
    let chunk = per_thread.max(min_chunk).next_multiple_of(BLOCK);
    if chunk >= numel {
        runner.run_range(&mut out, 0);
    } else {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(c, part)| runner.run_range(part, c * chunk));
    }
    Some(Strided::from_vec(shape, out))
}

/// Element-instructions below which a chunk is not worth a task of its own.
const MIN_CHUNK_WORK: usize = 1 << 16;

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

    /// Computes `part`, the output elements from flat position `first` on.
    fn run_range(&self, part: &mut [T], first: usize) {
        let mut regs: Vec<T> = vec![T::zero(); self.program.len() * BLOCK];
        let n = self.row_len;
        // The row's coordinates over the leading dims (an odometer).
        let lead = self.dims.len().saturating_sub(1);
        let mut idx: SmallVec<[usize; 8]> = SmallVec::from_elem(0, lead);
        let mut rem = first / n;
        for d in (0..lead).rev() {
            idx[d] = rem % self.dims[d];
            rem /= self.dims[d];
        }
        let mut col = first % n;
        let mut done = 0;
        while done < part.len() {
            let bases: SmallVec<[usize; 16]> = self
                .walks
                .iter()
                .map(|w| {
                    w.as_ref().map_or(0, |w| {
                        w.offset + (0..lead).map(|d| idx[d] * w.strides[d]).sum::<usize>()
                    })
                })
                .collect();
            let end = n.min(col + part.len() - done);
            for start in (col..end).step_by(BLOCK) {
                let len = BLOCK.min(end - start);
                let at = done + start - col;
                self.run_block(&mut regs, &mut part[at..at + len], &bases, start);
            }
            done += end - col;
            col = 0;
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
                // Inputs were checked against the program (`is_valid_program`).
                MapInstr::Input(k) => match &self.walks[k] {
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
