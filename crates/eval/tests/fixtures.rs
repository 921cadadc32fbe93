//! Value tests against numpy references: `fixtures/eval/<case>/in*.npy` and
//! `expected.npy`, produced by `fixtures/eval/gen_references.py`. Each case builds the
//! same circuit with the IR builders, evaluates it (with and without the simplification
//! passes) and compares.
//!
//! Tolerances: linear ops (einsum, add, data movement) rtol 1e-5 / atol 1e-6 in float32
//! (1e-12 in float64); transcendental functions rtol 2e-5 / atol 2e-6 (float32 libm
//! differs from numpy's float64 result rounded to float32 by a few ulps).
#![allow(clippy::unwrap_used, clippy::type_complexity, clippy::manual_is_multiple_of)]

mod common;

use circuit_ir::kinds::{DeviceDtype, GfSpec, IndexTensor, SimpleFn, Slice, TensorAxisIndex};
use circuit_ir::Circuit;
use circuit_tensor::{DType, Tensor};
use circuit_testkit::eval_fixtures::{arrays, expected, inputs};
use common::{assert_close, eval, eval_unsimplified};

fn check_with(case: &str, c: &Circuit, rtol: f64, atol: f64) {
    let expected = expected(case);
    for (how, got) in [("compiled", eval(c)), ("unsimplified", eval_unsimplified(c))] {
        assert_eq!(got.dtype(), expected.dtype(), "{case} ({how}): dtype");
        let (rtol, atol) = if got.dtype() == DType::F64 { (1e-12, 1e-12) } else { (rtol, atol) };
        eprintln!("{case} ({how})");
        assert_close(&got, &expected, rtol, atol);
    }
}

fn check(case: &str, c: &Circuit) {
    check_with(case, c, 1e-5, 1e-6);
}

#[test]
fn einsums() {
    for (case, eq) in [
        ("einsum_matmul", "ab,bc->ac"),
        ("einsum_batched", "bij,bjk->bik"),
        ("einsum_transposed", "ba,cb->ca"),
        ("einsum_trace", "aa->"),
        ("einsum_diag", "aab->ba"),
        ("einsum_diag_out", "ab->aab"),
        ("einsum_diag_in_and_out", "iij,jk->kik"),
        ("einsum_chain", "ab,bc,cd,de->ae"),
        ("einsum_outer", "a,b->ba"),
        ("einsum_sum", "abc->b"),
        ("einsum_f64", "abc,cd->dab"),
        ("einsum_three_way", "ab,ac,ad->bcd"),
    ] {
        check(case, &Circuit::einsum(eq, arrays(case)).unwrap());
    }
}

#[test]
fn add_broadcasts() {
    check("add_broadcast", &Circuit::sum_of(arrays("add_broadcast")).unwrap());
}

#[test]
fn rearranges() {
    let [x] = arrays("rearrange_repeat").try_into().unwrap();
    check("rearrange_repeat", &x.rearrange_str("a b -> b 4 a").unwrap());
    let [x] = arrays("rearrange_split_merge").try_into().unwrap();
    check("rearrange_split_merge", &x.rearrange_str("(a:2 b) c -> c (b a)").unwrap());
}

fn tensor_index(t: &Tensor) -> TensorAxisIndex {
    TensorAxisIndex::Tensor(IndexTensor::new(t.clone()).unwrap())
}

fn slice(start: Option<i64>, stop: Option<i64>) -> TensorAxisIndex {
    TensorAxisIndex::Slice(Slice { start, stop })
}

#[test]
fn indexes() {
    let ins = inputs("index_tensor_outer");
    let x = Circuit::array(ins[0].clone(), Some("x")).unwrap();
    let c = x
        .index(vec![tensor_index(&ins[1]), slice(Some(1), Some(3)), tensor_index(&ins[2])])
        .unwrap();
    check("index_tensor_outer", &c);
    let [x] = arrays("index_int_slice").try_into().unwrap();
    let c = x
        .index(vec![TensorAxisIndex::Int(-1), slice(Some(1), None), slice(None, Some(-1))])
        .unwrap();
    check("index_int_slice", &c);
    let ins = inputs("index_0d_tensor");
    let x = Circuit::array(ins[0].clone(), Some("x")).unwrap();
    let c = x.index(vec![TensorAxisIndex::FULL, tensor_index(&ins[1])]).unwrap();
    check("index_0d_tensor", &c);
}

#[test]
fn scatter_and_concat() {
    let [x] = arrays("scatter").try_into().unwrap();
    let c = x.scatter(vec![slice(Some(1), Some(3)), slice(Some(2), None)], &[4, 5]).unwrap();
    check("scatter", &c);
    let c = Circuit::concat(arrays("concat"), 1).unwrap();
    check("concat", &c);
}

#[test]
fn simple_functions() {
    for f in SimpleFn::ALL {
        if f == SimpleFn::LastDimSize {
            continue;
        }
        let case = format!("gf_{}", f.name());
        let [x] = arrays(&case).try_into().unwrap();
        let transcendental = !matches!(
            f,
            SimpleFn::Relu | SimpleFn::Step | SimpleFn::Abs | SimpleFn::Min | SimpleFn::Max
        );
        let (rtol, atol) = if transcendental { (2e-5, 2e-6) } else { (1e-6, 0.0) };
        check_with(&case, &x.apply(f).unwrap(), rtol, atol);
    }
    let [x] = arrays("gf_softmax_f64").try_into().unwrap();
    check("gf_softmax_f64", &x.apply(SimpleFn::Softmax).unwrap());
}

#[test]
fn pow() {
    let c = Circuit::general_function(GfSpec::Pow, arrays("gf_pow")).unwrap();
    check_with("gf_pow", &c, 2e-5, 2e-6);
}

fn gen_index(index_dim: i64, batch_x: bool, batch_index: bool) -> GfSpec {
    GfSpec::GenIndex { index_dim, batch_x, batch_index, check_index_ints: true }
}

#[test]
fn gathers() {
    for (case, spec) in [
        ("gen_index_batch_both", gen_index(-1, true, true)),
        ("gen_index_batch_index", gen_index(1, false, true)),
        ("gen_index_plain", gen_index(2, false, false)),
        (
            "explicit_index",
            GfSpec::ExplicitIndex { index_dim: 0, x_non_batch_dims: 2, check_index_ints: true },
        ),
    ] {
        check(case, &Circuit::general_function(spec, arrays(case)).unwrap());
    }
}

#[test]
fn convolutions() {
    let [x, f] = arrays("conv1d").try_into().unwrap();
    check("conv1d", &Circuit::conv(x, f, vec![2], vec![(1, 2)]).unwrap());
    let [x, f] = arrays("conv2d").try_into().unwrap();
    check("conv2d", &Circuit::conv(x, f, vec![1, 2], vec![(0, 1), (1, 1)]).unwrap());
}

fn cast_to(dtype: DType) -> GfSpec {
    GfSpec::Cast {
        from: DeviceDtype { device: None, dtype: None },
        to: DeviceDtype { device: None, dtype: Some(dtype) },
    }
}

#[test]
fn casts() {
    let c = Circuit::general_function(cast_to(DType::F64), arrays("cast_f32_f64")).unwrap();
    check("cast_f32_f64", &c);
    let c = Circuit::general_function(cast_to(DType::F32), arrays("cast_i64_f32")).unwrap();
    check("cast_i64_f32", &c);
}
