//! Elementwise fusion (`Kernel::Map`): which chains the compiler fuses, and that the
//! fused value equals a float64 computation done by hand and the unfused plan's value,
//! for broadcast and size-1 inputs, in float32 and float64.
#![allow(clippy::unwrap_used)]

mod common;

use circuit_eval::{compile, evaluate_with, CpuBackend, EvalSettings};
use circuit_ir::kinds::SimpleFn;
use circuit_tensor::{DType, Tensor};
use common::*;

fn data(n: usize, seed: u64) -> Vec<f64> {
    Tensor::randn(&[n], DType::F64, seed).unwrap().to_f64_vec()
}

fn gelu(v: f64) -> f64 {
    0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2))
}

fn tensor(dtype: DType, shape: &[usize], v: &[f64]) -> Tensor {
    match dtype {
        DType::F64 => f64t(shape, v),
        _ => f32t(shape, v),
    }
}

/// `tanh(gelu(x * m * 0.5 + y)) + x` with `m` broadcast over rows and `y` of shape
/// `[1, n]`.
fn chain(dtype: DType, rows: usize, n: usize) {
    let xs = data(rows * n, 1);
    let m = data(n, 2);
    let y = data(n, 3);
    let round = |v: f64| if dtype == DType::F32 { v as f32 as f64 } else { v };
    let x = arr(tensor(dtype, &[rows, n], &xs), "x");
    let mm = arr(tensor(dtype, &[n], &m), "m");
    let yy = arr(tensor(dtype, &[1, n], &y), "y");
    let c = x.mul(&mm).unwrap().mul_scalar(0.5).unwrap().add(&yy).unwrap();
    let c = c.apply(SimpleFn::Gelu).unwrap().apply(SimpleFn::Tanh).unwrap().add(&x).unwrap();
    let want: Vec<f64> = (0..rows * n)
        .map(|i| {
            let j = i % n;
            let xv = round(xs[i]);
            (gelu(xv * round(m[j]) * 0.5 + round(y[j]))).tanh() + xv
        })
        .collect();
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    assert_eq!(plan.count_kernels("map"), 1, "{}", plan.explain());
    for k in ["add", "function", "contract"] {
        assert_eq!(plan.count_kernels(k), 0, "{k}: {}", plan.explain());
    }
    let fused = plan.run(&CpuBackend::new()).unwrap();
    assert_eq!(fused.dtype(), dtype);
    let tol = if dtype == DType::F32 { 2e-6 } else { 1e-12 };
    assert_close(&fused, &f64t(&[rows, n], &want), tol, tol);
    let plain =
        evaluate_with(&c, &EvalSettings { fuse: false, ..EvalSettings::default() }).unwrap();
    assert_close(&fused, &plain, tol, tol);
}

#[test]
fn chains_fuse_in_float32_and_float64() {
    // Rows shorter than a register block, and longer (several blocks and threads).
    for (rows, n) in [(3, 5), (7, 300), (600, 700)] {
        chain(DType::F32, rows, n);
        chain(DType::F64, rows, n);
    }
}

#[test]
fn an_intermediate_read_twice_is_kept() {
    let x = arr(f32t(&[4, 6], &data(24, 4)), "x");
    let e = x.apply(SimpleFn::Exp).unwrap();
    // e feeds the sum and the product: it stays a buffer of its own.
    let c = e.add(&x).unwrap().mul(&e).unwrap();
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    assert_eq!(plan.count_kernels("function"), 1, "{}", plan.explain());
    assert_eq!(plan.count_kernels("map"), 1, "{}", plan.explain());
    let got = plan.run(&CpuBackend::new()).unwrap().to_f64_vec();
    let xs = data(24, 4);
    for (g, &v) in got.iter().zip(&xs) {
        let v = v as f32 as f64;
        let want = (v.exp() + v) * v.exp();
        assert!((g - want).abs() <= 1e-5 * want.abs().max(1.0), "{g} vs {want}");
    }
}

#[test]
fn a_handed_over_input_becomes_the_output() {
    // softmax(x) is not elementwise; its buffer, last read by the fused step, is where
    // the fused step writes (read block by block before each write).
    let (rows, n) = (9, 700);
    let xs = data(rows * n, 5);
    let ys = data(n, 6);
    let x = arr(f32t(&[rows, n], &xs), "x");
    let y = arr(f32t(&[n], &ys), "y");
    let c = x.apply(SimpleFn::Softmax).unwrap().mul_scalar(2.0).unwrap();
    let c = c.apply(SimpleFn::Exp).unwrap().add(&y).unwrap();
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    assert_eq!(plan.count_kernels("map"), 1, "{}", plan.explain());
    let got = plan.run(&CpuBackend::new()).unwrap();
    let want: Vec<f64> = (0..rows * n)
        .map(|i| {
            let (r, j) = (i / n, i % n);
            let row: Vec<f64> = xs[r * n..(r + 1) * n].iter().map(|&v| v as f32 as f64).collect();
            let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = row.iter().map(|v| (v - mx).exp()).sum();
            ((row[j] - mx).exp() / z * 2.0).exp() + ys[j] as f32 as f64
        })
        .collect();
    assert_close(&got, &f64t(&[rows, n], &want), 2e-6, 2e-6);
}

/// The fused plan's value equals the unfused plan's.
fn same_as_unfused(c: &circuit_ir::Circuit, maps: usize) {
    let plan = compile(c, &EvalSettings::default()).unwrap();
    assert_eq!(plan.count_kernels("map"), maps, "{}", plan.explain());
    let fused = plan.run(&CpuBackend::new()).unwrap();
    let plain = evaluate_with(c, &EvalSettings { fuse: false, ..EvalSettings::default() }).unwrap();
    assert_eq!(fused.shape(), plain.shape());
    assert_close(&fused, &plain, 1e-6, 1e-6);
}

#[test]
fn one_long_row_runs_in_parallel_chunks() {
    // Every input contiguous: the whole output is one merged row, split into chunks that
    // start and end inside it (at 4,097 x 257 elements no chunk boundary meets a block's).
    let x = randn(&[4097, 257], 7, DType::F32, "x");
    let y = randn(&[4097, 257], 8, DType::F32, "y");
    let c = x.apply(SimpleFn::Tanh).unwrap().mul_scalar(3.0).unwrap().add(&y).unwrap();
    same_as_unfused(&c.apply(SimpleFn::Sigmoid).unwrap(), 1);
}

#[test]
fn scalars_empty_tensors_and_many_inputs() {
    // A 0-d chain.
    let s = randn(&[], 9, DType::F64, "s");
    same_as_unfused(&s.apply(SimpleFn::Exp).unwrap().mul_scalar(2.0).unwrap().add(&s).unwrap(), 1);
    // Zero elements.
    let e = randn(&[3, 0, 4], 10, DType::F32, "e");
    let c = e.apply(SimpleFn::Relu).unwrap().add(&e).unwrap();
    let v = compile(&c, &EvalSettings::default()).unwrap().run(&CpuBackend::new()).unwrap();
    assert_eq!(v.shape(), &[3, 0, 4]);
    // Ten inputs, broadcast along different dims, in one program.
    let mut acc = randn(&[5, 6, 7], 11, DType::F32, "a0");
    for k in 1..10usize {
        let shape: &[usize] = match k % 3 {
            0 => &[7],
            1 => &[6, 1],
            _ => &[5, 6, 7],
        };
        let t = randn(shape, 11 + k as u64, DType::F32, &format!("a{k}"));
        acc = acc.apply(SimpleFn::Tanh).unwrap().add(&t).unwrap();
    }
    same_as_unfused(&acc, 1);
}

#[test]
fn fusion_that_would_raise_peak_memory_is_skipped() {
    // (softmax(x1) + softmax(x2) + softmax(x3)) * softmax(v): fused, the three softmax
    // outputs would stay alive while softmax(v) is computed.
    let n = [64, 256];
    let sm = |seed: u64| {
        randn(&n, seed, DType::F32, &format!("x{seed}")).apply(SimpleFn::Softmax).unwrap()
    };
    let sum = circuit_ir::Circuit::sum_of([sm(1), sm(2), sm(3)]).unwrap();
    let c = sum.mul(&sm(4)).unwrap();
    let fused = compile(&c, &EvalSettings::default()).unwrap();
    let plain = compile(&c, &EvalSettings { fuse: false, ..EvalSettings::default() }).unwrap();
    assert!(fused.peak_memory() <= plain.peak_memory(), "{}\n{}", fused.explain(), plain.explain());
    same_as_unfused(&c, fused.count_kernels("map"));
}
