//! A packed float32 GEMM in the BLIS style, over operands in any strided layout.
//!
//! `A` is packed into panels of [`MR`] rows (`kc` steps of `MR` values), `B` into
//! panels of [`NR`] columns (`kc` steps of `NR` values), so the micro-kernel
//! (`sgemm_kernel.rs`) reads both with unit stride. Since packing copies anyway, an
//! operand's rows, columns and the output's rows and columns may each be *several*
//! tensor dimensions with arbitrary strides ([`Axis`]: one element offset per index):
//! an einsum step never has to copy an operand into GEMM order first, and the output is
//! written straight in the einsum's output order.
//!
//! Blocking: the output is computed in column blocks of [`NC`] and depth blocks of
//! [`KC`]; each `KC x NC` block of `B` is packed once (shared by the threads) and each
//! task packs `MC x KC` blocks of its own rows of `A` (kept in L2), then runs the
//! micro-kernel with one `B` panel (16 KiB, in L1) against every `A` panel of the block.
//! The first depth block writes the output, later ones add to it.
//!
//! Threads: the rows are split into one task per thread when there are enough of them,
//! else the columns; the batched contraction in `gemm.rs` instead runs whole GEMMs as
//! tasks when a batch has enough of them.

use std::borrow::Cow;
use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::ops::Range;

use rayon::prelude::*;
use smallvec::SmallVec;

use super::sgemm_kernel::TileRows;
pub(crate) use super::sgemm_kernel::{MicroKernel, MR, NR};

/// Rows of `A` per L2 block (a multiple of [`MR`]).
pub(crate) const MC: usize = 120;
/// Most depth per packed block. Deeper products are split into equal blocks, each
/// pass adding into the output; up to this depth one pass is faster (measured on Zen 3
/// and Zen 4: the `B` panel streams from L2 at full speed, and every extra pass costs a
/// read-modify-write of the output).
pub(crate) const KC: usize = 1024;
/// Columns of `B` per packed block (a multiple of [`NR`]).
pub(crate) const NC: usize = 1024;

/// One axis of a matrix view: the element offset of each of its indices, from one or
/// more tensor dimensions (C order: the last varies fastest).
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    offs: Vec<isize>,
    /// The (size, stride) dimensions it was built from.
    dims: SmallVec<[(usize, isize); 4]>,
    /// Whether the offsets strictly increase.
    increasing: bool,
}

impl Axis {
    /// `n` indices `stride` apart.
    pub(crate) fn strided(n: usize, stride: isize) -> Axis {
        Axis::from_dims(&[(n, stride)])
    }

    /// The indices of several dimensions (size, stride) in C order.
    pub(crate) fn from_dims(dims: &[(usize, isize)]) -> Axis {
        let mut offs = vec![0isize];
        for &(n, s) in dims {
            offs = offs.iter().flat_map(|&o| (0..n as isize).map(move |i| o + i * s)).collect();
        }
        let increasing = offs.windows(2).all(|w| w[1] > w[0]);
        Axis { offs, dims: dims.iter().copied().filter(|d| d.0 != 1).collect(), increasing }
    }

    pub(crate) fn len(&self) -> usize {
        self.offs.len()
    }

    /// Whether indices `start..start + len` address consecutive elements.
    fn is_run(&self, start: usize, len: usize) -> bool {
        // Strictly increasing offsets spanning len - 1 are consecutive.
        self.increasing && self.offs[start + len - 1] - self.offs[start] == len as isize - 1
    }

    /// The element offset of index `i`.
    pub(crate) fn offset(&self, i: usize) -> isize {
        self.offs[i]
    }

    /// The smallest and largest offset (`(0, 0)` when empty).
    fn span(&self) -> (isize, isize) {
        let lo = self.offs.iter().copied().min().unwrap_or(0);
        let hi = self.offs.iter().copied().max().unwrap_or(0);
        (lo, hi)
    }
}

/// Whether `offset + rows + cols` addresses only elements of a buffer of `len`.
fn in_bounds(len: usize, offset: usize, rows: &Axis, cols: &Axis) -> bool {
    if rows.len() == 0 || cols.len() == 0 {
        return true;
    }
    let ((r0, r1), (c0, c1)) = (rows.span(), cols.span());
    let lo = offset as isize + r0 + c0;
    let hi = offset as isize + r1 + c1;
    lo >= 0 && (hi as usize) < len
}

/// A read-only float32 matrix view whose every element is inside `data`.
#[derive(Clone, Debug)]
pub(crate) struct MatRef<'a> {
    data: &'a [f32],
    offset: usize,
    rows: Cow<'a, Axis>,
    cols: Cow<'a, Axis>,
}

impl<'a> MatRef<'a> {
    /// A plain strided view of `data`; `None` unless every addressed element is inside.
    pub(crate) fn new(
        data: &'a [f32],
        offset: usize,
        rows: usize,
        cols: usize,
        rs: isize,
        cs: isize,
    ) -> Option<MatRef<'a>> {
        let (rows, cols) = (Axis::strided(rows, rs), Axis::strided(cols, cs));
        in_bounds(data.len(), offset, &rows, &cols).then_some(MatRef {
            data,
            offset,
            rows: Cow::Owned(rows),
            cols: Cow::Owned(cols),
        })
    }

    /// A view with general axes; `None` unless every addressed element is inside.
    pub(crate) fn with_axes(
        data: &'a [f32],
        offset: usize,
        rows: &'a Axis,
        cols: &'a Axis,
    ) -> Option<MatRef<'a>> {
        in_bounds(data.len(), offset, rows, cols).then_some(MatRef {
            data,
            offset,
            rows: Cow::Borrowed(rows),
            cols: Cow::Borrowed(cols),
        })
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols.len()
    }

    #[cfg(test)]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[(self.offset as isize + self.rows.offs[i] + self.cols.offs[j]) as usize]
    }
}

/// The output of a batch of GEMMs: `batch x rows x cols` elements of one buffer, each
/// at a distinct position (checked), so tasks writing disjoint index ranges never touch
/// the same memory.
pub(crate) struct OutView<'a> {
    ptr: *mut f32,
    len: usize,
    batch: &'a Axis,
    rows: &'a Axis,
    cols: &'a Axis,
    _data: std::marker::PhantomData<&'a mut [MaybeUninit<f32>]>,
}

// SAFETY: an OutView is a checked injective map into a buffer it borrows mutably; the
// GEMM hands each output element to exactly one task (see `write_tile`).
unsafe impl Send for OutView<'_> {}
// SAFETY: as above; shared use only ever writes disjoint elements.
unsafe impl Sync for OutView<'_> {}

impl<'a> OutView<'a> {
    /// `None` unless every element is inside `data` and no two indices share one. The
    /// elements may start uninitialized: each is written before it is read (the first
    /// depth block writes, later ones add).
    pub(crate) fn new(
        data: &'a mut [MaybeUninit<f32>],
        batch: &'a Axis,
        rows: &'a Axis,
        cols: &'a Axis,
    ) -> Option<OutView<'a>> {
        let mut dims: Vec<(usize, isize)> =
            batch.dims.iter().chain(&rows.dims).chain(&cols.dims).copied().collect();
        if dims.iter().any(|d| d.1 <= 0) {
            return None;
        }
        dims.sort_by_key(|d| d.1);
        // Nested dimensions (each stride at least the extent of the ones inside it)
        // address every element once.
        let nested = dims.windows(2).all(|w| w[1].1 >= w[0].1 * w[0].0 as isize);
        let empty = batch.len() == 0 || rows.len() == 0 || cols.len() == 0;
        let hi = batch.span().1 + rows.span().1 + cols.span().1;
        let ok = empty || (hi as usize) < data.len();
        (nested && ok).then_some(OutView {
            ptr: data.as_mut_ptr().cast::<f32>(),
            len: data.len(),
            batch,
            rows,
            cols,
            _data: std::marker::PhantomData,
        })
    }

    /// Batch item `b`'s element offsets.
    fn base(&self, b: usize) -> isize {
        self.batch.offs[b]
    }

    /// Writes (or, with `accumulate`, adds) `tile` rows `0..rows`, columns `0..cols` at
    /// output rows `r0..` and columns `c0..` of batch item `b`.
    ///
    /// # Safety
    /// No other thread may write these output elements during the call.
    #[allow(clippy::too_many_arguments)]
    unsafe fn write_tile(
        &self,
        b: usize,
        r0: usize,
        c0: usize,
        tile: &[f32; MR * NR],
        rows: usize,
        cols: usize,
        accumulate: bool,
    ) {
        let base = self.base(b);
        for i in 0..rows {
            let row = base + self.rows.offs[r0 + i];
            for j in 0..cols {
                let o = (row + self.cols.offs[c0 + j]) as usize;
                debug_assert!(o < self.len);
                // SAFETY: `new` checked that every (batch, row, col) offset is inside
                // the buffer and distinct; the caller owns these elements now.
                unsafe {
                    let p = self.ptr.add(o);
                    *p = if accumulate { *p + tile[i * NR + j] } else { tile[i * NR + j] };
                }
            }
        }
    }

    /// The six row pointers of a full tile at (`r0`, `c0`) of batch item `b`, when its
    /// columns are contiguous.
    fn tile_rows(&self, b: usize, r0: usize, c0: usize) -> Option<TileRows> {
        if !self.cols.is_run(c0, NR) {
            return None;
        }
        let base = self.base(b) + self.cols.offs[c0];
        // The offsets are inside the buffer (checked in `new`), so `add` stays in it.
        Some(TileRows {
            rows: std::array::from_fn(|i| {
                let o = (base + self.rows.offs[r0 + i]) as usize;
                debug_assert!(o + NR <= self.len);
                // SAFETY: `o` and the NR floats after it are output elements (checked
                // in `new`: the columns c0..c0+NR exist and are contiguous).
                unsafe { self.ptr.add(o) }
            }),
        })
    }
}

/// A zeroed float32 buffer whose usable part starts on a 64-byte boundary.
pub(crate) struct Aligned {
    buf: Vec<f32>,
    start: usize,
    len: usize,
}

impl Aligned {
    pub(crate) fn zeroed(len: usize) -> Aligned {
        let buf = vec![0.0f32; len + 16];
        let start = buf.as_ptr().align_offset(64).min(16);
        Aligned { buf, start, len }
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        &self.buf[self.start..self.start + self.len]
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

/// Packs rows `rows`, depth `ks` of `a`, times `alpha`, into panels of [`MR`] rows;
/// rows past the end are zero. `out` holds `ceil(rows / MR) * MR * ks.len()`.
pub(crate) fn pack_a(
    mk: MicroKernel,
    a: &MatRef<'_>,
    rows: Range<usize>,
    ks: Range<usize>,
    alpha: f32,
    out: &mut [f32],
) {
    let kc = ks.len();
    if kc == 0 {
        return;
    }
    let k_run = a.cols.is_run(ks.start, kc);
    let cols = &a.cols.offs[ks];
    for (p, panel) in out.chunks_exact_mut(MR * kc).enumerate() {
        let r0 = rows.start + p * MR;
        let live = rows.end.saturating_sub(r0).min(MR);
        let at = |i: usize| a.offset as isize + a.rows.offs[r0 + i.min(live - 1)];
        if live == MR && k_run {
            // Row-major A: each row's depth range is one slice; interleave six of them.
            let src: [&[f32]; MR] = std::array::from_fn(|i| {
                let s = (at(i) + cols[0]) as usize;
                &a.data[s..s + kc]
            });
            mk.pack_rows(&src, alpha, panel);
            continue;
        }
        if live == MR && a.rows.is_run(r0, MR) {
            // Column-major A: each depth step is six consecutive floats.
            let base = at(0);
            for (step, &c) in panel.chunks_exact_mut(MR).zip(cols) {
                let s = (base + c) as usize;
                for (v, &x) in step.iter_mut().zip(&a.data[s..s + MR]) {
                    *v = alpha * x;
                }
            }
            continue;
        }
        let base: [isize; MR] = std::array::from_fn(at);
        for (step, &c) in panel.chunks_exact_mut(MR).zip(cols) {
            for (i, v) in step.iter_mut().enumerate() {
                // Every (row, col) of the view is inside `data` (checked at construction).
                *v = if i < live { alpha * a.data[(base[i] + c) as usize] } else { 0.0 };
            }
        }
    }
}

/// Packs depth `ks`, columns `cols` of `b` into panels of [`NR`] columns; columns past
/// the end are zero. `out` holds `ceil(cols / NR) * NR * ks.len()`.
pub(crate) fn pack_b(
    mk: MicroKernel,
    b: &MatRef<'_>,
    ks: Range<usize>,
    cols: Range<usize>,
    out: &mut [f32],
) {
    let kc = ks.len();
    if kc == 0 {
        return;
    }
    let k_run = b.rows.is_run(ks.start, kc);
    let rows = &b.rows.offs[ks];
    for (p, panel) in out.chunks_exact_mut(NR * kc).enumerate() {
        let c0 = cols.start + p * NR;
        let live = cols.end.saturating_sub(c0).min(NR);
        let base = b.offset as isize + b.cols.offs[c0];
        if live == NR && b.cols.is_run(c0, NR) {
            // Row-major B: each step is 16 contiguous floats.
            for (step, &r) in panel.chunks_exact_mut(NR).zip(rows) {
                let s = (base + r) as usize;
                step.copy_from_slice(&b.data[s..s + NR]);
            }
            continue;
        }
        let coff: [isize; NR] = std::array::from_fn(|j| b.cols.offs[c0 + j.min(live - 1)]);
        if live == NR && k_run {
            // Column-major B (a transposed weight matrix): each column's depth range is
            // one slice.
            let cols: [&[f32]; NR] = std::array::from_fn(|j| {
                let s = (b.offset as isize + coff[j] + rows[0]) as usize;
                &b.data[s..s + kc]
            });
            mk.pack_columns(&cols, panel);
            continue;
        }
        for (step, &r) in panel.chunks_exact_mut(NR).zip(rows) {
            for (j, v) in step.iter_mut().enumerate() {
                *v =
                    if j < live { b.data[(b.offset as isize + r + coff[j]) as usize] } else { 0.0 };
            }
        }
    }
}

thread_local! {
    /// Packing buffers reused by every GEMM a thread runs (packing writes every value
    /// it hands to the micro-kernel, so nothing needs zeroing between uses): `A`
    /// blocks of a task, and the `B` blocks of the GEMMs this thread drives.
    static SCRATCH_A: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static SCRATCH_B: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// The first `len` floats of `buf` after its first 64-byte boundary (grown as needed).
fn aligned_part(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len + 16 {
        buf.resize(len + 16, 0.0);
    }
    let start = buf.as_ptr().align_offset(64).min(16);
    &mut buf[start..start + len]
}

/// Runs `f` on `len` aligned floats of this thread's `scratch` (or of a fresh buffer
/// when it is already in use further up this thread's stack: rayon may run another
/// GEMM's task while this one waits).
fn with_scratch<R>(
    scratch: &'static std::thread::LocalKey<RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    scratch.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => f(aligned_part(&mut buf, len)),
        Err(_) => f(aligned_part(&mut Vec::new(), len)),
    })
}

/// A part of one GEMM's output: rows `rows`, `B` panels `panels` of the current block.
#[derive(Clone, Debug)]
struct Task {
    rows: Range<usize>,
    panels: Range<usize>,
}

/// Splits `m` rows x `n_panels` panels into about `threads` equal tasks: by rows when
/// each thread gets at least two row panels, else by columns.
fn partition(m: usize, n_panels: usize, threads: usize) -> Vec<Task> {
    let m_panels = m.div_ceil(MR);
    let threads = threads.max(1);
    if threads == 1 {
        return vec![Task { rows: 0..m, panels: 0..n_panels }];
    }
    if m_panels >= 2 * threads {
        let per = m_panels.div_ceil(threads) * MR;
        return (0..m)
            .step_by(per)
            .map(|r| Task { rows: r..(r + per).min(m), panels: 0..n_panels })
            .collect();
    }
    let groups = threads.min(n_panels).max(1);
    let per = n_panels.div_ceil(groups);
    (0..n_panels)
        .step_by(per)
        .map(|p| Task { rows: 0..m, panels: p..(p + per).min(n_panels) })
        .collect()
}

/// `out[batch item] = alpha * a b`, with `a` and `b` already placed at this batch item
/// (their offsets), on up to `threads` threads.
pub(crate) fn sgemm(
    a: &MatRef<'_>,
    b: &MatRef<'_>,
    alpha: f32,
    out: &OutView<'_>,
    item: usize,
    threads: usize,
) {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    assert!(b.rows() == k && out.rows.len() == m && out.cols.len() == n, "GEMM shapes differ");
    assert!(item < out.batch.len(), "batch item out of range");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        let zero = [0.0f32; MR * NR];
        for r in (0..m).step_by(MR) {
            for c in (0..n).step_by(NR) {
                // SAFETY: this call owns batch item `item` of the output.
                unsafe { out.write_tile(item, r, c, &zero, MR.min(m - r), NR.min(n - c), false) };
            }
        }
        return;
    }
    let mk = MicroKernel::detect();
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        let n_panels = nc.div_ceil(NR);
        let depth = k.div_ceil(k.div_ceil(KC));
        for pc in (0..k).step_by(depth) {
            let kc = depth.min(k - pc);
            with_scratch(&SCRATCH_B, n_panels * NR * kc, |pb| {
                let panel_of = |p: usize| jc + p * NR..(jc + (p + 1) * NR).min(jc + nc);
                if threads > 1 && nc * kc >= 1 << 16 {
                    pb.par_chunks_mut(NR * kc)
                        .enumerate()
                        .for_each(|(p, dst)| pack_b(mk, b, pc..pc + kc, panel_of(p), dst));
                } else {
                    pack_b(mk, b, pc..pc + kc, jc..jc + nc, pb);
                }
                let pb = &*pb;
                let block = Block { jc, n, pc, kc, alpha, item, mk };
                let tasks = partition(m, n_panels, threads);
                if tasks.len() == 1 {
                    block.run(a, pb, out, &tasks[0]);
                } else {
                    tasks.par_iter().for_each(|t| block.run(a, pb, out, t));
                }
            });
        }
    }
}

/// One `KC x NC` block of a GEMM, shared by its tasks.
struct Block {
    jc: usize,
    n: usize,
    pc: usize,
    kc: usize,
    alpha: f32,
    item: usize,
    mk: MicroKernel,
}

impl Block {
    /// Packs the task's rows of `A` block by block and multiplies them with its panels of
    /// the packed `B` block `pb`.
    fn run(&self, a: &MatRef<'_>, pb: &[f32], out: &OutView<'_>, task: &Task) {
        let Block { jc, n, pc, kc, alpha, item, mk } = *self;
        let accumulate = pc > 0;
        let mut tile = [0.0f32; MR * NR];
        for ic in task.rows.clone().step_by(MC) {
            let mc = MC.min(task.rows.end - ic);
            with_scratch(&SCRATCH_A, mc.div_ceil(MR) * MR * kc, |pa| {
                pack_a(mk, a, ic..ic + mc, pc..pc + kc, alpha, pa);
                for p in task.panels.clone() {
                    let bp = &pb[p * NR * kc..(p + 1) * NR * kc];
                    let c0 = jc + p * NR;
                    let cols = NR.min(n - c0);
                    for (q, ap) in pa.chunks_exact(MR * kc).enumerate() {
                        let r0 = ic + q * MR;
                        let rows = MR.min(ic + mc - r0);
                        let direct = if rows == MR && cols == NR {
                            out.tile_rows(item, r0, c0)
                        } else {
                            None
                        };
                        // SAFETY: the task owns rows `task.rows` x panels `task.panels`
                        // of this batch item (tasks partition them), so no other
                        // thread writes these elements; `tile_rows` gives NR
                        // contiguous output floats per row.
                        unsafe {
                            match direct {
                                Some(rows_out) => mk.update(kc, ap, bp, &rows_out, accumulate),
                                None => {
                                    mk.tile(kc, ap, bp, &mut tile);
                                    out.write_tile(item, r0, c0, &tile, rows, cols, accumulate);
                                }
                            }
                        }
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &MatRef<'_>, b: &MatRef<'_>, alpha: f32) -> Vec<f64> {
        let mut out = vec![0.0; a.rows() * b.cols()];
        for i in 0..a.rows() {
            for j in 0..b.cols() {
                let s: f64 =
                    (0..a.cols()).map(|q| f64::from(a.at(i, q)) * f64::from(b.at(q, j))).sum();
                out[i * b.cols() + j] = f64::from(alpha) * s;
            }
        }
        out
    }

    use super::super::sgemm_kernel::test_data as data;

    fn uninit(x: &mut [f32]) -> &mut [MaybeUninit<f32>] {
        // SAFETY: same layout; the GEMM only ever writes initialized floats through it.
        unsafe { &mut *(std::ptr::from_mut(x) as *mut [MaybeUninit<f32>]) }
    }

    /// Runs one GEMM into a row-major output with row stride `ldc`, padding NaN.
    fn run(a: &MatRef<'_>, b: &MatRef<'_>, alpha: f32, ldc: usize, threads: usize) -> Vec<f32> {
        let (m, n) = (a.rows(), b.cols());
        let mut c = vec![f32::NAN; m * ldc];
        let (batch, rows, cols) =
            (Axis::strided(1, 0), Axis::strided(m, ldc as isize), Axis::strided(n, 1));
        let out = OutView::new(uninit(&mut c), &batch, &rows, &cols).unwrap();
        sgemm(a, b, alpha, &out, 0, threads);
        c
    }

    #[test]
    fn matches_naive_on_ragged_transposed_and_deep_shapes() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 3, 17),
            (13, 40, 33),
            (125, 9, 1030),
            (6, 16, 16),
            (3, 0, 5),
            (50, 600, 70),
            (4, 300, 2100),
        ] {
            let ad = data(m * k, 1);
            let bd = data(k * n, 2);
            let a = MatRef::new(&ad, 0, m, k, k as isize, 1).unwrap();
            // B stored transposed (n x k row-major), as an unembedding matrix is.
            let b = MatRef::new(&bd, 0, k, n, 1, k as isize).unwrap();
            let want = naive(&a, &b, 0.5);
            for threads in [1, 2, 3] {
                // Row stride larger than the row: the padding must stay untouched.
                let ldc = n + 3;
                let c = run(&a, &b, 0.5, ldc, threads);
                for i in 0..m {
                    for j in 0..ldc {
                        let x = c[i * ldc + j];
                        if j >= n {
                            assert!(x.is_nan(), "padding written");
                            continue;
                        }
                        let y = want[i * n + j];
                        assert!(
                            (f64::from(x) - y).abs() < 1e-4 * (1.0 + y.abs()),
                            "{m}x{k}x{n} on {threads}: {x} vs {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn multi_dimensional_axes_and_interleaved_output() {
        // a[p, i, q, j] with rows (i, j) and depth (p, q); b[q, c, p] with depth (p, q)
        // and columns c; the output is written as out[j, c, i] (columns not contiguous).
        let (p, i, q, j, c) = (3, 4, 5, 7, 20);
        let ad = data(p * i * q * j, 3);
        let bd = data(q * c * p, 4);
        let a_rows = Axis::from_dims(&[(i, (q * j) as isize), (j, 1)]);
        let a_cols = Axis::from_dims(&[(p, (i * q * j) as isize), (q, j as isize)]);
        let b_rows = Axis::from_dims(&[(p, 1), (q, (c * p) as isize)]);
        let b_cols = Axis::from_dims(&[(c, p as isize)]);
        let a = MatRef::with_axes(&ad, 0, &a_rows, &a_cols).unwrap();
        let b = MatRef::with_axes(&bd, 0, &b_rows, &b_cols).unwrap();
        let want = naive(&a, &b, 2.0);
        let (batch, rows, cols) = (
            Axis::strided(1, 0),
            Axis::from_dims(&[(i, 1), (j, (c * i) as isize)]),
            Axis::from_dims(&[(c, i as isize)]),
        );
        for threads in [1, 2] {
            let mut out = vec![f32::NAN; j * c * i];
            let view = OutView::new(uninit(&mut out), &batch, &rows, &cols).unwrap();
            sgemm(&a, &b, 2.0, &view, 0, threads);
            for (r, &ro) in rows.offs.iter().enumerate() {
                for (s, &co) in cols.offs.iter().enumerate() {
                    let x = f64::from(out[(ro + co) as usize]);
                    let y = want[r * c + s];
                    assert!((x - y).abs() < 1e-4 * (1.0 + y.abs()), "{x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn views_outside_their_data_or_overlapping_outputs_are_rejected() {
        let d = [0.0f32; 6];
        assert!(MatRef::new(&d, 0, 2, 3, 3, 1).is_some());
        assert!(MatRef::new(&d, 1, 2, 3, 3, 1).is_none());
        assert!(MatRef::new(&d, 0, 3, 2, 1, 3).is_some());
        assert!(MatRef::new(&d, 0, 3, 3, 1, 3).is_none());
        assert!(MatRef::new(&d, 5, 2, 3, -3, -1).is_some());
        assert!(MatRef::new(&d, 0, 0, 3, 3, 1).is_some());
        let mut c = [0.0f32; 6];
        let one = Axis::strided(1, 0);
        let (r, cl) = (Axis::strided(2, 3), Axis::strided(3, 1));
        assert!(OutView::new(uninit(&mut c), &one, &r, &cl).is_some());
        // Rows two apart with three columns each: elements shared.
        let r2 = Axis::strided(2, 2);
        assert!(OutView::new(uninit(&mut c), &one, &r2, &cl).is_none());
        // One row too many.
        let r3 = Axis::strided(3, 3);
        assert!(OutView::new(uninit(&mut c), &one, &r3, &cl).is_none());
        // Two batch items of 2 x 3 need 12 elements.
        let two = Axis::strided(2, 6);
        assert!(OutView::new(uninit(&mut c), &two, &r, &cl).is_none());
    }

    #[test]
    fn partitions_cover_every_row_and_panel_once() {
        for &(m, np, t) in &[(1, 1, 2), (320, 32, 2), (18, 4, 2), (2048, 16, 3), (12, 1, 4)] {
            let tasks = partition(m, np, t);
            let mut seen = vec![0u8; m * np];
            for task in &tasks {
                for r in task.rows.clone() {
                    for p in task.panels.clone() {
                        seen[r * np + p] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "{m} {np} {t}: {tasks:?}");
            // Row splits start on panel boundaries.
            assert!(tasks.iter().all(|t| t.rows.start % MR == 0));
        }
    }
}
