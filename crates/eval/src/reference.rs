//! Slow, obviously correct reference implementations, used as test oracles (here and
//! by other backends' tests).

use circuit_tensor::Tensor;

/// Einsum by direct loop over every assignment of every label, in float64: for each
/// assignment, the product of the operands' elements is added to the output element
/// the output labels select. Repeated input labels therefore take diagonals, and
/// repeated output labels write only the diagonal (zeros elsewhere), matching the
/// circuit semantics. Zero operands give 1.
///
/// `operands` pairs each tensor with its labels; sizes come from the tensors.
///
/// # Errors
/// A message when ranks, sizes or labels are inconsistent.
pub fn einsum_naive(operands: &[(&Tensor, &[u8])], out: &[u8]) -> Result<Tensor, String> {
    let mut size: [Option<usize>; 256] = [None; 256];
    let mut data: Vec<Vec<f64>> = Vec::new();
    for (t, labels) in operands {
        if t.ndim() != labels.len() {
            return Err(format!("operand of shape {:?} has {} labels", t.shape(), labels.len()));
        }
        for (&l, &s) in labels.iter().zip(t.shape()) {
            match size[usize::from(l)] {
                Some(x) if x != s => return Err(format!("label {l} has sizes {x} and {s}")),
                _ => size[usize::from(l)] = Some(s),
            }
        }
        data.push(t.to_f64_vec());
    }
    let mut labels: Vec<u8> = Vec::new();
    for &l in operands.iter().flat_map(|(_, ls)| ls.iter()).chain(out) {
        if !labels.contains(&l) {
            labels.push(l);
        }
    }
    let sizes: Vec<usize> = labels
        .iter()
        .map(|&l| size[usize::from(l)].ok_or(format!("output label {l} is in no operand")))
        .collect::<Result<_, _>>()?;
    let pos = |l: u8| labels.iter().position(|&x| x == l).unwrap_or(0);
    let strides = |shape: &[usize]| -> Vec<usize> {
        let mut s = vec![1usize; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            s[d] = s[d + 1] * shape[d + 1];
        }
        s
    };
    let out_shape: Vec<usize> = out.iter().map(|&l| sizes[pos(l)]).collect();
    let out_strides = strides(&out_shape);
    let op_info: Vec<(Vec<usize>, Vec<usize>)> = operands
        .iter()
        .map(|(t, ls)| (ls.iter().map(|&l| pos(l)).collect(), strides(t.shape())))
        .collect();
    let out_pos: Vec<usize> = out.iter().map(|&l| pos(l)).collect();
    let mut result = vec![0.0f64; out_shape.iter().product()];
    let total: usize = sizes.iter().product();
    let mut idx = vec![0usize; labels.len()];
    for _ in 0..total {
        let mut prod = 1.0;
        for ((lp, st), d) in op_info.iter().zip(&data) {
            let off: usize = lp.iter().zip(st).map(|(&p, &s)| idx[p] * s).sum();
            prod *= d[off];
        }
        let o: usize = out_pos.iter().zip(&out_strides).map(|(&p, &s)| idx[p] * s).sum();
        result[o] += prod;
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < sizes[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    if total == 0 {
        result.iter_mut().for_each(|v| *v = 0.0);
    }
    Tensor::from_vec(&out_shape, result).map_err(|e| e.to_string())
}
