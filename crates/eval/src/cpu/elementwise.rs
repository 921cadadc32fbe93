//! Elementwise kernels: `zip_map` over broadcast strided inputs into a fresh C-order
//! output (contiguous rows run as plain slice loops; large outputs are split across
//! rayon threads), n-ary Add, Pow, Cast and strided copies.

use rayon::prelude::*;

use super::buffer::{Dims, Elem, Strided};
use super::iter::{rows_per_chunk, Layout};

/// Applies `g(&mut out[i], inputs[i])` over `out` (C order of `shape`), reading the
/// inputs (already of `shape`, any layout).
pub(crate) fn run_rows<const N: usize, T: Elem, U: Elem>(
    out: &mut [U],
    shape: &[usize],
    inputs: [&Strided<T>; N],
    g: impl Fn(&mut U, [T; N]) + Sync,
) {
    let strides: [&[usize]; N] = std::array::from_fn(|k| inputs[k].strides.as_slice());
    let layout = Layout::new(shape, strides);
    let n = layout.inner_len();
    let inner = layout.inner_strides();
    let rows = layout.rows();
    if n == 0 || rows == 0 {
        return;
    }
    let datas: [&[T]; N] = std::array::from_fn(|k| inputs[k].data());
    let offs: [usize; N] = std::array::from_fn(|k| inputs[k].offset);
    let contiguous = inner.iter().all(|&s| s == 1);
    // Rows where some inputs are constant (stride 0, a broadcast) and the rest
    // contiguous: the constants are spread into row buffers so the loop stays a plain
    // slice loop the compiler vectorizes.
    let spread = !contiguous && inner.iter().all(|&s| s <= 1);
    let do_rows = |chunk: &mut [U], start: usize| {
        let end = start + chunk.len() / n;
        let mut rows: [Vec<T>; N] = std::array::from_fn(|k| {
            if spread && inner[k] == 0 {
                vec![T::zero(); n]
            } else {
                Vec::new()
            }
        });
        layout.for_rows(start, end, |row, base| {
            let o = &mut chunk[(row - start) * n..(row - start + 1) * n];
            if spread {
                for (k, r) in rows.iter_mut().enumerate() {
                    if inner[k] == 0 {
                        r.fill(datas[k][offs[k] + base[k]]);
                    }
                }
                let srcs: [&[T]; N] = std::array::from_fn(|k| {
                    if inner[k] == 0 {
                        &rows[k][..]
                    } else {
                        &datas[k][offs[k] + base[k]..offs[k] + base[k] + n]
                    }
                });
                for (i, oi) in o.iter_mut().enumerate() {
                    g(oi, std::array::from_fn(|k| srcs[k][i]));
                }
            } else if contiguous {
                let srcs: [&[T]; N] =
                    std::array::from_fn(|k| &datas[k][offs[k] + base[k]..offs[k] + base[k] + n]);
                for (i, oi) in o.iter_mut().enumerate() {
                    g(oi, std::array::from_fn(|k| srcs[k][i]));
                }
            } else {
                for (i, oi) in o.iter_mut().enumerate() {
                    g(oi, std::array::from_fn(|k| datas[k][offs[k] + base[k] + i * inner[k]]));
                }
            }
        });
    };
    let per_chunk = rows_per_chunk(rows, n);
    if per_chunk >= rows {
        do_rows(out, 0);
    } else {
        out.par_chunks_mut(per_chunk * n)
            .enumerate()
            .for_each(|(c, chunk)| do_rows(chunk, c * per_chunk));
    }
}

/// `f` applied to the inputs (each already broadcast to `shape`), into a new tensor.
pub(crate) fn zip_map<const N: usize, T: Elem, U: Elem>(
    shape: &[usize],
    inputs: [&Strided<T>; N],
    f: impl Fn([T; N]) -> U + Sync,
) -> Strided<U> {
    let mut out = super::pool::zeroed(shape.iter().product());
    run_rows(&mut out, shape, inputs, |o, x| *o = f(x));
    Strided::from_vec(shape, out)
}

/// `f` applied elementwise to one input; reuses the input's memory when it is a unique
/// contiguous buffer of the same type.
pub(crate) fn map_unary<T: Elem>(x: Strided<T>, f: impl Fn(T) -> T + Sync) -> Strided<T> {
    let shape: Dims = x.shape.clone();
    match x.into_unique_vec() {
        Ok(mut v) => {
            let per_chunk = rows_per_chunk(v.len(), 1);
            v.par_chunks_mut(per_chunk.max(1)).for_each(|c| c.iter_mut().for_each(|e| *e = f(*e)));
            Strided::from_vec(&shape, v)
        }
        Err(x) => zip_map(&shape, [&x], |[a]| f(a)),
    }
}

/// Sum of the inputs broadcast to `shape`.
pub(crate) fn add_n<T: Elem>(inputs: Vec<Strided<T>>, shape: &[usize]) -> Option<Strided<T>> {
    let mut views: Vec<Strided<T>> = Vec::with_capacity(inputs.len());
    for x in inputs {
        views.push(x.broadcast_to(shape)?);
    }
    if views.is_empty() {
        return Some(Strided::zeros(shape));
    }
    // Accumulate into an input whose memory can be reused (a unique contiguous buffer
    // of the full shape, which the plan handed over because this is its last use):
    // saves an allocation and its page faults.
    let mut acc: Option<Vec<T>> = None;
    let mut rest: Vec<Strided<T>> = Vec::with_capacity(views.len());
    for v in views {
        if acc.is_none() {
            match v.into_unique_vec() {
                Ok(vec) => {
                    acc = Some(vec);
                    continue;
                }
                Err(v) => rest.push(v),
            }
        } else {
            rest.push(v);
        }
    }
    let mut acc = match acc {
        Some(a) => a,
        None if rest.len() == 2 => {
            return Some(zip_map(shape, [&rest[0], &rest[1]], |[a, b]| a.add(b)));
        }
        None => rest.remove(0).to_vec(),
    };
    for x in &rest {
        run_rows(&mut acc, shape, [x], |o, [v]| *o = o.add(v));
    }
    Some(Strided::from_vec(shape, acc))
}

/// Copies `src` (of the region's shape) into the region of `dst` (C-order buffer of
/// `dst_shape`) that starts at `starts`.
pub(crate) fn copy_into<T: Elem>(
    dst: &mut [T],
    dst_shape: &[usize],
    starts: &[usize],
    src: &Strided<T>,
) {
    let dst_strides = super::buffer::c_strides(dst_shape);
    let base: usize = starts.iter().zip(&dst_strides).map(|(s, d)| s * d).sum();
    let layout = Layout::new(&src.shape, [dst_strides.as_slice(), src.strides.as_slice()]);
    let n = layout.inner_len();
    let [ds, ss] = layout.inner_strides();
    let data = src.data();
    layout.for_rows(0, layout.rows(), |_, [db, sb]| {
        for i in 0..n {
            dst[base + db + i * ds] = data[src.offset + sb + i * ss];
        }
    });
}

/// Converts elementwise between element types (through `f64`; exact for every value
/// of the source type except int64 beyond 2^53).
pub(crate) fn cast<T: Elem, U: Elem>(x: &Strided<T>) -> Strided<U> {
    zip_map(&x.shape.clone(), [x], |[a]| U::from_f64(a.to_f64()))
}
