//! The CPU evaluator's value fixtures (`fixtures/eval/<case>`: numpy inputs and
//! references from `gen_references.py`), evaluated on the CUDA backend and compared with
//! the numpy reference at the CPU tests' tolerances: linear ops rtol 1e-5 / atol 1e-6
//! in float32, transcendental functions 2e-5 / 2e-6, float64 1e-12.

use circuit_eval::{compile, EvalSettings};
use circuit_ir::kinds::{DeviceDtype, GfSpec, IndexTensor, SimpleFn, Slice, TensorAxisIndex};
use circuit_ir::Circuit;
use circuit_tensor::{DType, Tensor};
use circuit_testkit::eval_fixtures::{arrays, expected, inputs};

use crate::{assert_close, backend, dump_sources};

fn one(case: &str) -> Circuit {
    arrays(case).into_iter().next().unwrap()
}

fn tensor_index(t: &Tensor) -> TensorAxisIndex {
    TensorAxisIndex::Tensor(IndexTensor::new(t.clone()).unwrap())
}

fn slice(start: Option<i64>, stop: Option<i64>) -> TensorAxisIndex {
    TensorAxisIndex::Slice(Slice { start, stop })
}

fn cases() -> Vec<(String, Circuit, f64, f64)> {
    let lin = |case: &str, c: Circuit| (case.to_string(), c, 1e-5, 1e-6);
    let mut v = Vec::new();
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
        v.push(lin(case, Circuit::einsum(eq, arrays(case)).unwrap()));
    }
    v.push(lin("add_broadcast", Circuit::sum_of(arrays("add_broadcast")).unwrap()));
    v.push(lin("rearrange_repeat", one("rearrange_repeat").rearrange_str("a b -> b 4 a").unwrap()));
    v.push(lin(
        "rearrange_split_merge",
        one("rearrange_split_merge").rearrange_str("(a:2 b) c -> c (b a)").unwrap(),
    ));
    let ins = inputs("index_tensor_outer");
    let x = Circuit::array(ins[0].clone(), Some("x")).unwrap();
    let c = x
        .index(vec![tensor_index(&ins[1]), slice(Some(1), Some(3)), tensor_index(&ins[2])])
        .unwrap();
    v.push(lin("index_tensor_outer", c));
    let c = one("index_int_slice")
        .index(vec![TensorAxisIndex::Int(-1), slice(Some(1), None), slice(None, Some(-1))])
        .unwrap();
    v.push(lin("index_int_slice", c));
    let ins = inputs("index_0d_tensor");
    let x = Circuit::array(ins[0].clone(), Some("x")).unwrap();
    v.push(lin(
        "index_0d_tensor",
        x.index(vec![TensorAxisIndex::FULL, tensor_index(&ins[1])]).unwrap(),
    ));
    let c = one("scatter")
        .scatter(vec![slice(Some(1), Some(3)), slice(Some(2), None)], &[4, 5])
        .unwrap();
    v.push(lin("scatter", c));
    v.push(lin("concat", Circuit::concat(arrays("concat"), 1).unwrap()));
    v.extend(function_cases());
    v
}

/// The GeneralFunction, convolution and cast fixtures.
fn function_cases() -> Vec<(String, Circuit, f64, f64)> {
    let lin = |case: &str, c: Circuit| (case.to_string(), c, 1e-5, 1e-6);
    let mut v = Vec::new();
    for f in SimpleFn::ALL {
        if f == SimpleFn::LastDimSize {
            continue;
        }
        let case = format!("gf_{}", f.name());
        let transcendental = !matches!(
            f,
            SimpleFn::Relu | SimpleFn::Step | SimpleFn::Abs | SimpleFn::Min | SimpleFn::Max
        );
        let (rtol, atol) = if transcendental { (2e-5, 2e-6) } else { (1e-6, 0.0) };
        v.push((case.clone(), one(&case).apply(f).unwrap(), rtol, atol));
    }
    v.push(lin("gf_softmax_f64", one("gf_softmax_f64").apply(SimpleFn::Softmax).unwrap()));
    v.push((
        "gf_pow".into(),
        Circuit::general_function(GfSpec::Pow, arrays("gf_pow")).unwrap(),
        2e-5,
        2e-6,
    ));
    let gi = |d: i64, bx: bool, bi: bool| GfSpec::GenIndex {
        index_dim: d,
        batch_x: bx,
        batch_index: bi,
        check_index_ints: true,
    };
    for (case, spec) in [
        ("gen_index_batch_both", gi(-1, true, true)),
        ("gen_index_batch_index", gi(1, false, true)),
        ("gen_index_plain", gi(2, false, false)),
        (
            "explicit_index",
            GfSpec::ExplicitIndex { index_dim: 0, x_non_batch_dims: 2, check_index_ints: true },
        ),
    ] {
        v.push(lin(case, Circuit::general_function(spec, arrays(case)).unwrap()));
    }
    let [x, f]: [Circuit; 2] = arrays("conv1d").try_into().unwrap();
    v.push(lin("conv1d", Circuit::conv(x, f, vec![2], vec![(1, 2)]).unwrap()));
    let [x, f]: [Circuit; 2] = arrays("conv2d").try_into().unwrap();
    v.push(lin("conv2d", Circuit::conv(x, f, vec![1, 2], vec![(0, 1), (1, 1)]).unwrap()));
    let cast = |d: DType| GfSpec::Cast {
        from: DeviceDtype { device: None, dtype: None },
        to: DeviceDtype { device: None, dtype: Some(d) },
    };
    v.push(lin(
        "cast_f32_f64",
        Circuit::general_function(cast(DType::F64), arrays("cast_f32_f64")).unwrap(),
    ));
    v.push(lin(
        "cast_i64_f32",
        Circuit::general_function(cast(DType::F32), arrays("cast_i64_f32")).unwrap(),
    ));
    v
}

#[test]
fn eval_fixtures_match_numpy() {
    let t = "eval_fixtures_match_numpy";
    let Some(gpu) = backend(t) else { return };
    let unsimplified = EvalSettings { simplify: false, ..EvalSettings::default() };
    for (case, c, rtol, atol) in cases() {
        let expected = expected(&case);
        for settings in [EvalSettings::default(), unsimplified.clone()] {
            let plan = compile(&c, &settings).unwrap();
            let got = plan.run(gpu).unwrap_or_else(|e| panic!("{case}: {e}\n{}", plan.explain()));
            let (rtol, atol) =
                if got.dtype() == DType::F64 { (1e-12, 1e-12) } else { (rtol, atol) };
            assert_close(&case, &got, &expected, rtol, atol);
        }
    }
    dump_sources(gpu);
}
