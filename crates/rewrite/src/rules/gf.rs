//! GeneralFunction rules: special cases with known values, evaluating functions of
//! Scalars, inverse pairs, pure-broadcast axes and constant gather indices. Fixtures:
//! `fixtures/rewrite/gf/`.

use circuit_ir::kinds::{GfSpec, Index, IndexTensor, SimpleFn, TensorAxisIndex};
use circuit_ir::size::is_symbolic;
use circuit_ir::{Circuit, Op, Result};

use super::removable::{pull_common_axes, removable_axes, remove_axes};
use super::util::{rebuild, same_shape, scalar_like, scalar_value};

fn simple(node: &Circuit) -> Option<SimpleFn> {
    match node.op() {
        Op::GeneralFunction(g) => match g.spec {
            GfSpec::Simple(f) => Some(f),
            _ => None,
        },
        _ => None,
    }
}

/// `softmax(s) == 1/n`, `log_softmax(s) == -ln n` for a Scalar `s` over a last dim of
/// size n; `last_dim_size(x) == n` when n is not symbolic. The result is a Scalar named
/// like the function node. Fixture: `gf/special-case-simplification.circ`.
///
/// # Errors
/// Never in practice.
pub fn generalfunction_special_case_simplification(node: &Circuit) -> Result<Option<Circuit>> {
    let Some(f) = simple(node) else { return Ok(None) };
    let child = &node.children()[0];
    let Some(&n) = child.shape().last() else { return Ok(None) };
    if is_symbolic(n) || n == 0 {
        return Ok(None);
    }
    // Only finite values (also in float32, the evaluator's default dtype): softmax of
    // an infinite constant is NaN, not 1/n.
    let is_scalar = scalar_value(child).is_some_and(f32_finite);
    let value = match f {
        SimpleFn::Softmax if is_scalar => 1.0 / n as f64,
        // `x - logsumexp(x)` rounds to 0 for huge `x` in the evaluator: leave those.
        SimpleFn::LogSoftmax
            if is_scalar && scalar_value(child).is_some_and(|v| v.abs() < 1e12) =>
        {
            -(n as f64).ln()
        }
        SimpleFn::LastDimSize => n as f64,
        _ => return Ok(None),
    };
    Ok(Some(scalar_like(node, value)?))
}

/// Whether `v` is finite and within float32's range.
fn f32_finite(v: f64) -> bool {
    v.is_finite() && v.abs() <= f64::from(f32::MAX)
}

/// The value of an elementwise simple function at `x` (float64, as the evaluator
/// computes it).
pub(crate) fn eval_simple(f: SimpleFn, x: f64) -> Option<f64> {
    let erf = libm::erf;
    Some(match f {
        SimpleFn::Sin => x.sin(),
        SimpleFn::Cos => x.cos(),
        SimpleFn::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        SimpleFn::Tanh => x.tanh(),
        SimpleFn::Rsqrt => 1.0 / x.sqrt(),
        SimpleFn::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
        SimpleFn::GeluNew => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            0.5 * x * (1.0 + (c * (x + 0.044_715 * x * x * x)).tanh())
        }
        SimpleFn::Relu => x.max(0.0),
        SimpleFn::Step => f64::from(u8::from(x > 0.0)),
        SimpleFn::Reciprocal => 1.0 / x,
        SimpleFn::LogExpP1 => x.max(0.0) + (-x.abs()).exp().ln_1p(),
        SimpleFn::GaussianPdf => (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt(),
        SimpleFn::GaussianCdf => 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2)),
        SimpleFn::Abs => x.abs(),
        SimpleFn::Exp => x.exp(),
        SimpleFn::Log => x.ln(),
        SimpleFn::Logit => (x / (1.0 - x)).ln(),
        _ => return None,
    })
}

/// `f(s) == f(v)` for an elementwise simple function of a Scalar `s = v`: a Scalar
/// holding the value, named like the function node. Fixture: `gf/evaluate-simple.circ`.
///
/// # Errors
/// Never in practice.
pub fn generalfunction_evaluate_simple(node: &Circuit) -> Result<Option<Circuit>> {
    let Some(f) = simple(node) else { return Ok(None) };
    let Some(v) = scalar_value(&node.children()[0]) else { return Ok(None) };
    match eval_simple(f, v) {
        // Values that overflow float32 are left to the evaluator, which may compute in
        // float32 and would disagree.
        Some(y) if f32_finite(v) && f32_finite(y) => Ok(Some(scalar_like(node, y)?)),
        _ => Ok(None),
    }
}

/// `reciprocal(reciprocal(x)) == x` (the only declared inverse pair). Fixture:
/// `gf/merge-inverses.circ`.
///
/// # Errors
/// Never.
pub fn generalfunction_merge_inverses(node: &Circuit) -> Result<Option<Circuit>> {
    if simple(node) != Some(SimpleFn::Reciprocal) {
        return Ok(None);
    }
    let inner = &node.children()[0];
    if simple(inner) != Some(SimpleFn::Reciprocal) {
        return Ok(None);
    }
    Ok(Some(inner.children()[0].clone()))
}

/// Computes a simple function without the batch axes along which its input is a pure
/// broadcast and re-adds them with a repeat Rearrange on top (`X rearrange`). Fixture:
/// `gf/pull-removable-axes.circ`.
///
/// # Errors
/// Only if rebuilding fails (a bug).
pub fn generalfunction_pull_removable_axes(node: &Circuit) -> Result<Option<Circuit>> {
    let Some(f) = simple(node) else { return Ok(None) };
    let child = &node.children()[0];
    let n_batch = if f.is_elementwise() { child.rank() } else { child.rank().saturating_sub(1) };
    let rem = removable_axes(child);
    let axes: Vec<usize> = (0..n_batch).filter(|&d| rem[d] && child.shape()[d] != 0).collect();
    if axes.is_empty() {
        return Ok(None);
    }
    let small = remove_axes(child, &axes)?;
    let inner = rebuild(node, node.op().clone(), vec![small])?;
    pull_common_axes(node, inner, &axes)
}

/// `gen_index(x, a)` with `batch_x`, no `batch_index` and a constant 1-D Array index
/// whose values are in range is the plain `x[:, …, a, …]` (named like the function
/// node). Fixture: `gf/gen-index-const-to-index.circ`.
///
/// # Errors
/// Only if building the index fails (a bug).
pub fn generalfunction_gen_index_const_to_index(node: &Circuit) -> Result<Option<Circuit>> {
    let Op::GeneralFunction(g) = node.op() else { return Ok(None) };
    let GfSpec::GenIndex { index_dim, batch_x: true, batch_index: false, .. } = g.spec else {
        return Ok(None);
    };
    let [x, idx] = node.children() else { return Ok(None) };
    let Op::Array(a) = idx.op() else { return Ok(None) };
    if idx.rank() != 1 {
        return Ok(None);
    }
    let rank = x.rank() as i64;
    let dim = if index_dim < 0 { index_dim + rank } else { index_dim };
    let Ok(dim) = usize::try_from(dim) else { return Ok(None) };
    let Some(&len) = x.shape().get(dim) else { return Ok(None) };
    let Ok(tensor) = a.tensor() else { return Ok(None) };
    if !tensor.dtype().is_int()
        || tensor.to_i64_vec().iter().any(|&v| v < 0 || v as u128 >= len as u128)
    {
        return Ok(None);
    }
    let mut index = vec![TensorAxisIndex::FULL; x.rank()];
    index[dim] = TensorAxisIndex::Tensor(IndexTensor::new(tensor)?);
    let out = rebuild(node, Op::Index(Index { index }), vec![x.clone()])?;
    Ok(same_shape(node, out))
}
