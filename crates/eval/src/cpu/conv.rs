//! Channels-last convolution as im2col + GEMM: every output position's receptive field
//! (zero outside the padded input) becomes one row of a `[positions, k.. * c]` matrix,
//! multiplied by the filter viewed as `[o, k.. * c]` transposed.

use super::buffer::{c_strides, Strided};
use super::gemm::Gemm;

/// `input [batch.., spatial.., c]`, `filter [o, spatial.., c]` → `[batch.., out.., o]`.
pub(crate) fn conv<T: Gemm>(
    input: &Strided<T>,
    filter: &Strided<T>,
    stride: &[usize],
    padding: &[(usize, usize)],
    out_shape: &[usize],
) -> Option<Strided<T>> {
    let ns = stride.len();
    let input = input.contiguous();
    let filter = filter.contiguous();
    let (ishape, fshape) = (&input.shape, &filter.shape);
    if fshape.len() != ns + 2 || ishape.len() < ns + 1 || out_shape.len() != ishape.len() {
        return None;
    }
    let nb = ishape.len() - ns - 1;
    let c = ishape[ishape.len() - 1];
    let o = fshape[0];
    let ksp: Vec<usize> = fshape[1..=ns].to_vec();
    let insp: Vec<usize> = ishape[nb..nb + ns].to_vec();
    let outsp: Vec<usize> = out_shape[nb..nb + ns].to_vec();
    let batch: usize = ishape[..nb].iter().product();
    let n_pos: usize = outsp.iter().product();
    let n_k: usize = ksp.iter().product();
    let row = n_k * c;
    let istr = c_strides(&insp);
    let ostr = c_strides(&outsp);
    let kstr = c_strides(&ksp);
    let xin = input.as_slice()?;
    let frame = insp.iter().product::<usize>() * c;
    let mut cols = super::pool::zeroed(batch * n_pos * row);
    for b in 0..batch {
        for p in 0..n_pos {
            let dst = &mut cols[(b * n_pos + p) * row..(b * n_pos + p + 1) * row];
            for kk in 0..n_k {
                // Input position of this kernel tap, or None in the padding.
                let mut off = 0usize;
                let mut inside = true;
                for d in 0..ns {
                    let op = (p / ostr[d]) % outsp[d];
                    let kp = (kk / kstr[d]) % ksp[d];
                    let pos = (op * stride[d] + kp) as isize - padding[d].0 as isize;
                    if pos < 0 || pos as usize >= insp[d] {
                        inside = false;
                        break;
                    }
                    off += pos as usize * istr[d];
                }
                if inside {
                    let src = b * frame + off * c;
                    dst[kk * c..(kk + 1) * c].copy_from_slice(xin.get(src..src + c)?);
                }
            }
        }
    }
    let fdata = filter.as_slice()?;
    let mut out = super::pool::zeroed(batch * n_pos * o);
    if !out.is_empty() && row > 0 {
        T::gemm(
            batch * n_pos,
            row,
            o,
            T::from_f64(1.0),
            (&cols, 0, row as isize, 1),
            (fdata, 0, 1, row as isize),
            &mut out,
            o as isize,
        );
    }
    Some(Strided::from_vec(out_shape, out))
}
