//! Every kernel kind and GeneralFunction, built by hand, CUDA vs CPU.

use circuit_cuda::CudaBackend;
use circuit_eval::{compile, EvalSettings};
use circuit_ir::kinds::{DeviceDtype, GfSpec, IndexTensor, SimpleFn, Slice, TensorAxisIndex};
use circuit_ir::Circuit;
use circuit_tensor::{DType, Tensor};

use crate::{arr, assert_close, backend, check, ints, randn, LIN};

const TRANS: (f64, f64) = (2e-5, 2e-6);

#[test]
fn einsums_and_gemm_layouts() {
    let t = "einsums_and_gemm_layouts";
    let Some(gpu) = backend(t) else { return };
    let r = |s: &[usize], seed| randn(s, seed, DType::F32, &format!("x{seed}"));
    for (eq, shapes) in [
        ("ab,bc->ac", vec![vec![7, 5], vec![5, 9]]),
        ("ba,bc->ac", vec![vec![5, 7], vec![5, 9]]),
        ("ab,cb->ac", vec![vec![7, 5], vec![9, 5]]),
        ("ba,cb->ca", vec![vec![5, 7], vec![9, 5]]),
        ("bij,bjk->bik", vec![vec![3, 4, 6], vec![3, 6, 5]]),
        ("bij,jk->bik", vec![vec![3, 4, 6], vec![6, 5]]),
        ("ij,bjk->bki", vec![vec![4, 6], vec![3, 6, 5]]),
        ("abc,cd->dab", vec![vec![2, 3, 4], vec![4, 5]]),
        ("abcd,bd->ac", vec![vec![2, 3, 4, 5], vec![3, 5]]),
        ("ab,ab->a", vec![vec![6, 8], vec![6, 8]]),
        ("ab,ab->", vec![vec![6, 8], vec![6, 8]]),
        ("a,b->ab", vec![vec![4], vec![5]]),
        ("ab,b->ab", vec![vec![4, 5], vec![5]]),
        ("aab,bc->ac", vec![vec![3, 3, 4], vec![4, 2]]),
        ("ab,bc,cd->ad", vec![vec![4, 5], vec![5, 6], vec![6, 3]]),
        ("abc,dbe->aecd", vec![vec![2, 3, 4], vec![5, 3, 2]]),
        ("aa->", vec![vec![5, 5]]),
        ("aab->ba", vec![vec![3, 3, 4]]),
        ("abc->b", vec![vec![3, 40, 50]]),
        ("abc->ca", vec![vec![3, 4, 5]]),
        ("ab->aab", vec![vec![3, 4]]),
        ("iij,jk->kik", vec![vec![3, 3, 4], vec![4, 2]]),
        ("hsd,htd->hst", vec![vec![2, 17, 8], vec![2, 19, 8]]),
        ("sbm,vm->bsv", vec![vec![5, 3, 16], vec![33, 16]]),
    ] {
        let ops: Vec<Circuit> =
            shapes.iter().enumerate().map(|(i, s)| r(s, i as u64 + 1)).collect();
        check(gpu, &format!("{t} {eq}"), &Circuit::einsum(eq, ops).unwrap(), LIN.0, LIN.1);
    }
    // float64 and a scaled contraction.
    let a = randn(&[6, 7], 3, DType::F64, "a64");
    let b = randn(&[7, 4], 4, DType::F64, "b64");
    check(gpu, t, &Circuit::einsum("ab,bc->ca", [a, b]).unwrap(), 1e-12, 1e-12);
    let half = Circuit::scalar(0.5, &[], Some("half")).unwrap();
    let c = Circuit::einsum("ab,bc,->ac", [r(&[4, 5], 8), r(&[5, 3], 9), half]).unwrap();
    check(gpu, t, &c, LIN.0, LIN.1);
}

#[test]
fn int64_arithmetic() {
    let t = "int64_arithmetic";
    let Some(gpu) = backend(t) else { return };
    let a = ints(&[2, 3], &[1, -2, 3, 4, 5, -6], "a");
    let b = ints(&[3, 2], &[7, 8, -9, 10, 11, 12], "b");
    check(gpu, t, &Circuit::einsum("ab,bc->ac", [a.clone(), b.clone()]).unwrap(), 0.0, 0.0);
    check(gpu, t, &Circuit::einsum("ab->b", [a.clone()]).unwrap(), 0.0, 0.0);
    check(
        gpu,
        t,
        &a.add(&ints(&[3], &[1, 2, 3], "c")).unwrap().apply(SimpleFn::Abs).unwrap(),
        0.0,
        0.0,
    );
    let big = ints(&[2], &[i64::MAX, 3], "big");
    check(gpu, t, &big.add(&ints(&[2], &[1, 4], "one")).unwrap(), 0.0, 0.0);
    for f in [SimpleFn::Exp, SimpleFn::Sigmoid, SimpleFn::Relu, SimpleFn::Softmax, SimpleFn::Max] {
        check(gpu, &format!("{t} {}", f.name()), &a.apply(f).unwrap(), 0.0, 0.0);
    }
    let e = ints(&[2, 3], &[0, 1, 2, 3, -1, 62], "e");
    check(gpu, t, &Circuit::general_function(GfSpec::Pow, vec![a, e]).unwrap(), 0.0, 0.0);
}

#[test]
fn add_broadcasts_and_many_inputs() {
    let t = "add_broadcasts_and_many_inputs";
    let Some(gpu) = backend(t) else { return };
    let xs: Vec<Circuit> = (0..20)
        .map(|i| {
            let shape: &[usize] = match i % 3 {
                0 => &[3, 4, 5],
                1 => &[4, 1],
                _ => &[5],
            };
            randn(shape, i as u64, DType::F32, &format!("x{i}"))
        })
        .collect();
    check(gpu, t, &Circuit::sum_of(xs[..3].to_vec()).unwrap(), LIN.0, LIN.1);
    check(gpu, t, &Circuit::sum_of(xs).unwrap(), LIN.0, LIN.1);
    let s = Circuit::scalar(1.5, &[3, 4], Some("s")).unwrap();
    check(gpu, t, &s.add(&randn(&[4], 9, DType::F32, "y")).unwrap(), 0.0, 0.0);
}

#[test]
fn elementwise_functions() {
    let t = "elementwise_functions";
    let Some(gpu) = backend(t) else { return };
    for dtype in [DType::F32, DType::F64] {
        let x = randn(&[4, 9], 11, dtype, "x").mul_scalar(2.0).unwrap();
        let pos = x
            .apply(SimpleFn::Abs)
            .unwrap()
            .add(&Circuit::scalar(0.1, &[], Some("e")).unwrap())
            .unwrap();
        let unit = x.apply(SimpleFn::Sigmoid).unwrap();
        for f in SimpleFn::ALL {
            let arg = match f {
                SimpleFn::Log | SimpleFn::Rsqrt => &pos,
                SimpleFn::Logit => &unit,
                _ => &x,
            };
            let c = arg.apply(f).unwrap();
            check(gpu, &format!("{t} {} {dtype}", f.name()), &c, TRANS.0, TRANS.1);
        }
        let e = randn(&[9], 12, dtype, "e");
        let p = Circuit::general_function(GfSpec::Pow, vec![pos.clone(), e]).unwrap();
        check(gpu, &format!("{t} pow"), &p, TRANS.0, TRANS.1);
    }
}

#[test]
fn rows_with_infinities_and_nans() {
    let t = "rows_with_infinities_and_nans";
    let Some(gpu) = backend(t) else { return };
    let inf = f32::INFINITY;
    let v = vec![
        1.0,
        2.0,
        3.0,
        4.0, //
        -inf,
        -inf,
        -inf,
        -inf, //
        -inf,
        0.5,
        -inf,
        1.0, //
        f32::NAN,
        1.0,
        2.0,
        3.0, //
        1.0,
        1.0,
        inf,
        2.0, //
        -0.0,
        0.0,
        -1.0,
        0.0,
    ];
    let x = arr(Tensor::from_vec(&[6, 4], v).unwrap(), "x");
    for f in [SimpleFn::Softmax, SimpleFn::LogSoftmax, SimpleFn::Min, SimpleFn::Max] {
        check(gpu, &format!("{t} {}", f.name()), &x.apply(f).unwrap(), 1e-6, 1e-7);
    }
    // Long rows (many threads per row) and a transposed input.
    let long = randn(&[3, 1000], 5, DType::F32, "long").mul_scalar(5.0).unwrap();
    for f in [SimpleFn::Softmax, SimpleFn::LogSoftmax, SimpleFn::Min, SimpleFn::Max] {
        check(gpu, &format!("{t} long {}", f.name()), &long.apply(f).unwrap(), 1e-5, 1e-6);
        let tr = Circuit::einsum("ab->ba", [randn(&[7, 5], 6, DType::F32, "tr")]).unwrap();
        check(gpu, &format!("{t} transposed {}", f.name()), &tr.apply(f).unwrap(), 1e-5, 1e-6);
    }
    let x = randn(&[5], 7, DType::F32, "x5");
    check(gpu, t, &x.apply(SimpleFn::LastDimSize).unwrap(), 0.0, 0.0);
}

fn tensor_index(v: &[i64]) -> TensorAxisIndex {
    let t = Tensor::from_vec(&[v.len()], v.to_vec()).unwrap();
    TensorAxisIndex::Tensor(IndexTensor::new(t).unwrap())
}

fn slice(start: Option<i64>, stop: Option<i64>) -> TensorAxisIndex {
    TensorAxisIndex::Slice(Slice { start, stop })
}

#[test]
fn data_movement() {
    let t = "data_movement";
    let Some(gpu) = backend(t) else { return };
    let x = randn(&[4, 5, 6], 21, DType::F32, "x");
    let cases: Vec<Circuit> = vec![
        x.index(vec![tensor_index(&[3, -1, 0]), slice(Some(1), Some(4)), tensor_index(&[5, 0])])
            .unwrap(),
        x.index(vec![TensorAxisIndex::Int(-1), slice(Some(1), None), slice(None, Some(-1))])
            .unwrap(),
        x.index(vec![TensorAxisIndex::FULL, tensor_index(&[2, 2, 4]), TensorAxisIndex::Int(3)])
            .unwrap(),
        x.rearrange_str("a b c -> c 3 a b").unwrap(),
        x.rearrange_str("a b (c:2 d) -> (d a) (b c)").unwrap(),
        x.scatter(
            vec![slice(Some(1), Some(5)), slice(Some(2), Some(7)), slice(None, Some(6))],
            &[6, 8, 7],
        )
        .unwrap(),
        Circuit::concat(vec![x.clone(), randn(&[4, 2, 6], 22, DType::F32, "y"), x.clone()], 1)
            .unwrap(),
        Circuit::einsum("abc->cab", [x.clone()]).unwrap().mul_scalar(3.0).unwrap(),
    ];
    for (i, c) in cases.iter().enumerate() {
        check(gpu, &format!("{t} {i}"), c, 0.0, 0.0);
    }
    let xi = ints(&[2, 3], &[1, 2, 3, 4, 5, 6], "xi");
    check(gpu, t, &Circuit::concat(vec![xi.clone(), xi], 0).unwrap(), 0.0, 0.0);
}

fn gen_index(index_dim: i64, batch_x: bool, batch_index: bool) -> GfSpec {
    GfSpec::GenIndex { index_dim, batch_x, batch_index, check_index_ints: true }
}

#[test]
fn gathers() {
    let t = "gathers";
    let Some(gpu) = backend(t) else { return };
    let x = randn(&[3, 4, 5], 31, DType::F32, "x");
    let cases = [
        (gen_index(-1, true, true), ints(&[3, 4], &[0, 4, -1, 2, 1, 1, 3, -5, 0, 0, 4, 2], "i")),
        (gen_index(1, false, true), ints(&[2], &[3, -4], "i")),
        (gen_index(2, false, false), ints(&[2, 2], &[0, 1, 4, -2], "i")),
        (gen_index(-2, true, false), ints(&[2], &[1, 3], "i")),
        (
            GfSpec::ExplicitIndex { index_dim: 0, x_non_batch_dims: 2, check_index_ints: true },
            ints(&[3, 2], &[1, 3, 0, 2, -1, 0], "i"),
        ),
    ];
    for (k, (spec, idx)) in cases.into_iter().enumerate() {
        let c = Circuit::general_function(spec, vec![x.clone(), idx]).unwrap();
        check(gpu, &format!("{t} {k}"), &c, 0.0, 0.0);
    }
}

#[test]
fn convolutions_and_casts() {
    let t = "convolutions_and_casts";
    let Some(gpu) = backend(t) else { return };
    let x = randn(&[2, 9, 3], 41, DType::F32, "x");
    let f = randn(&[4, 3, 3], 42, DType::F32, "f");
    check(gpu, t, &Circuit::conv(x, f, vec![2], vec![(1, 2)]).unwrap(), LIN.0, LIN.1);
    let x = randn(&[5, 6, 2], 43, DType::F32, "x2");
    let f = randn(&[3, 2, 3, 2], 44, DType::F32, "f2");
    check(gpu, t, &Circuit::conv(x, f, vec![1, 2], vec![(0, 1), (1, 1)]).unwrap(), LIN.0, LIN.1);
    let cast = |d: DType| GfSpec::Cast {
        from: DeviceDtype { device: None, dtype: None },
        to: DeviceDtype { device: None, dtype: Some(d) },
    };
    let y = randn(&[3, 4], 45, DType::F32, "y").mul_scalar(1e3).unwrap();
    for d in [DType::F64, DType::I64] {
        check(gpu, t, &Circuit::general_function(cast(d), vec![y.clone()]).unwrap(), 0.0, 0.0);
    }
    let i = ints(&[3], &[i64::MAX, -7, 1 << 40], "i");
    for d in [DType::F32, DType::F64] {
        check(gpu, t, &Circuit::general_function(cast(d), vec![i.clone()]).unwrap(), 0.0, 0.0);
    }
}

#[test]
fn scalars_cumulants_and_multinomial() {
    let t = "scalars_cumulants_and_multinomial";
    let Some(gpu) = backend(t) else { return };
    let a = Circuit::scalar(2.0, &[2, 3], Some("a")).unwrap();
    let b = Circuit::scalar(0.5, &[3], Some("b")).unwrap();
    check(gpu, t, &a.add(&b).unwrap(), 0.0, 0.0);
    check(gpu, t, &Circuit::einsum("ab,b->", [a, b]).unwrap(), 1e-6, 0.0);
    let x = randn(&[3], 51, DType::F32, "x");
    let y = randn(&[2], 52, DType::F32, "y");
    check(gpu, t, &Circuit::cumulant(vec![x, y]).unwrap(), 0.0, 0.0);
    let probs = arr(Tensor::from_vec(&[2, 3], vec![0.2f32, 0.3, 0.5, 0.0, 1.0, 0.0]).unwrap(), "p");
    let seed = ints(&[], &[7], "seed");
    let spec = GfSpec::Multinomial { replacement: true, shape: [50].into_iter().collect() };
    check(gpu, t, &Circuit::general_function(spec, vec![probs, seed]).unwrap(), 0.0, 0.0);
}

#[test]
fn fused_next_token_loss() {
    let t = "fused_next_token_loss";
    let Some(gpu) = backend(t) else { return };
    let pick = gen_index(-1, true, true);
    let resid = randn(&[2, 7, 24], 61, DType::F32, "resid");
    let unembed = randn(&[53, 24], 62, DType::F32, "unembed");
    let tv: Vec<i64> =
        (0..14).map(|i| ((i * 37) % 53) as i64 - if i % 3 == 0 { 53 } else { 0 }).collect();
    let targets = ints(&[2, 7], &tv, "targets");
    let logits = Circuit::einsum("bsm,vm->bsv", [resid, unembed]).unwrap();
    let loss =
        Circuit::general_function(pick, vec![logits.apply(SimpleFn::LogSoftmax).unwrap(), targets])
            .unwrap();
    let plan = compile(&loss, &EvalSettings::default()).unwrap();
    assert_eq!(plan.count_kernels("contract_log_softmax_pick"), 1, "{}", plan.explain());
    check(gpu, t, &loss, 2e-5, 2e-5);
}

#[test]
fn fused_elementwise_chains() {
    let t = "fused_elementwise_chains";
    let Some(gpu) = backend(t) else { return };
    for dtype in [DType::F32, DType::F64] {
        // tanh(gelu(x * m * 0.5 + y)) + x: m broadcast over rows, y of shape [1, n].
        let x = randn(&[37, 70], 71, dtype, "x");
        let m = randn(&[70], 72, dtype, "m");
        let y = randn(&[1, 70], 73, dtype, "y");
        let c = x.mul(&m).unwrap().mul_scalar(0.5).unwrap().add(&y).unwrap();
        let c = c.apply(SimpleFn::Gelu).unwrap().apply(SimpleFn::Tanh).unwrap().add(&x).unwrap();
        let plan = compile(&c, &EvalSettings::default()).unwrap();
        assert_eq!(plan.count_kernels("map"), 1, "{}", plan.explain());
        check(gpu, t, &c, 2e-5, 2e-6);
    }
    assert!(gpu.compiled_sources().iter().any(|s| s.name.starts_with("prog_")));
}

#[test]
fn plans_run_repeatedly_and_constants_are_cached() {
    let t = "plans_run_repeatedly_and_constants_are_cached";
    let Some(gpu) = backend(t) else { return };
    let w = randn(&[16, 16], 71, DType::F32, "w");
    let c = Circuit::einsum("ab,bc->ac", [w.clone(), w]).unwrap().apply(SimpleFn::Tanh).unwrap();
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    let first = plan.run(gpu).unwrap();
    for _ in 0..3 {
        assert_close(t, &plan.run(gpu).unwrap(), &first, 0.0, 0.0);
    }
    let fresh = CudaBackend::emulated().ok().filter(|_| gpu.is_emulated());
    if let Some(b) = fresh {
        let _ = plan.run(&b).unwrap();
        let in_use = b.memory_stats().in_use;
        let _ = plan.run(&b).unwrap();
        assert_eq!(b.memory_stats().in_use, in_use, "a second run allocates no new constants");
    }
}

/// More rows and elements than one launch has threads (the emulator has 64 blocks): the
/// grid-stride loops of map, row and reduction kernels wrap around.
#[test]
fn grid_stride_loops() {
    let t = "grid_stride_loops";
    let Some(gpu) = backend(t) else { return };
    let x = randn(&[300, 70], 81, DType::F32, "x");
    check(gpu, t, &x.apply(SimpleFn::Tanh).unwrap(), TRANS.0, TRANS.1);
    check(gpu, t, &x.apply(SimpleFn::LogSoftmax).unwrap(), 1e-5, 1e-6);
    check(gpu, t, &x.apply(SimpleFn::Max).unwrap(), 0.0, 0.0);
    check(gpu, t, &Circuit::einsum("ab->a", [x.clone()]).unwrap(), LIN.0, LIN.1);
    check(gpu, t, &Circuit::einsum("ab->b", [x.clone()]).unwrap(), LIN.0, LIN.1);
    check(gpu, t, &Circuit::einsum("ab->", [x.clone()]).unwrap(), 1e-4, 1e-4);
    let y = randn(&[70, 300], 82, DType::F32, "y");
    check(gpu, t, &Circuit::einsum("ab,ba->a", [x, y]).unwrap(), LIN.0, LIN.1);
}
