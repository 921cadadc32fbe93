//! The fused next-token loss (`Kernel::ContractLogSoftmaxPick`): when the compiler
//! fuses, and that the fused value equals a float64 computation done by hand and the
//! unfused plan's value, for plain, transposed, scaled and ragged layouts.
#![allow(clippy::unwrap_used)]

mod common;

use circuit_eval::{compile, evaluate_with, CpuBackend, EvalError, EvalSettings};
use circuit_ir::kinds::{GfSpec, SimpleFn};
use circuit_ir::Circuit;
use circuit_tensor::{DType, Tensor};
use common::*;

const PICK: GfSpec =
    GfSpec::GenIndex { index_dim: -1, batch_x: true, batch_index: true, check_index_ints: true };

fn unfused() -> EvalSettings {
    EvalSettings { fuse: false, ..EvalSettings::default() }
}

/// `gen_index(log_softmax(logits), targets)`.
fn loss(logits: &Circuit, targets: &Circuit) -> Circuit {
    let logp = logits.apply(SimpleFn::LogSoftmax).unwrap();
    Circuit::general_function(PICK, vec![logp, targets.clone()]).unwrap()
}

/// log_softmax(z)[t] in float64 for a row of logits.
fn log_softmax_at(z: &[f64], t: i64) -> f64 {
    let mx = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = mx + z.iter().map(|v| (v - mx).exp()).sum::<f64>().ln();
    let t = if t < 0 { t + z.len() as i64 } else { t } as usize;
    z[t] - lse
}

fn data(n: usize, seed: u64) -> Vec<f64> {
    Tensor::randn(&[n], DType::F64, seed).unwrap().to_f64_vec()
}

fn check(c: &Circuit, want: &[f64], shape: &[usize]) {
    let plan = compile(c, &EvalSettings::default()).unwrap();
    assert_eq!(plan.count_kernels("contract_log_softmax_pick"), 1, "{}", plan.explain());
    assert_eq!(plan.count_kernels("contract"), 0, "{}", plan.explain());
    let fused = plan.run(&CpuBackend::new()).unwrap();
    assert_close(&fused, &f64t(shape, want), 2e-5, 2e-5);
    let plain = evaluate_with(c, &unfused()).unwrap();
    assert_close(&fused, &plain, 2e-5, 2e-5);
}

#[test]
fn next_token_loss_is_fused_and_matches_float64() {
    let (b, s, m, v) = (2, 7, 24, 53);
    let x = data(b * s * m, 1);
    let w = data(v * m, 2);
    let t: Vec<i64> =
        (0..b * s).map(|i| ((i * 37) % v) as i64 - if i % 3 == 0 { v as i64 } else { 0 }).collect();
    let resid = arr(f32t(&[b, s, m], &x), "resid");
    let unembed = arr(f32t(&[v, m], &w), "unembed");
    let targets = arr(i64t(&[b, s], &t), "targets");
    let logits = Circuit::einsum("bsm,vm->bsv", [resid, unembed]).unwrap();
    let want: Vec<f64> = (0..b * s)
        .map(|r| {
            let z: Vec<f64> = (0..v)
                .map(|j| {
                    (0..m).map(|q| x[r * m + q] as f32 as f64 * (w[j * m + q] as f32 as f64)).sum()
                })
                .collect();
            log_softmax_at(&z, t[r])
        })
        .collect();
    check(&loss(&logits, &targets), &want, &[b, s]);
}

#[test]
fn transposed_and_scaled_operands() {
    // The residual stored [s, b, m] (rows not contiguous in output order), the unembedding
    // stored [m, v], and a scalar factor folded into the contraction.
    let (b, s, m, v) = (3, 5, 9, 130);
    let x = data(s * b * m, 3);
    let w = data(m * v, 4);
    let t: Vec<i64> = (0..b * s).map(|i| ((i * 11) % v) as i64).collect();
    let resid = arr(f32t(&[s, b, m], &x), "resid_sbm");
    let unembed = arr(f32t(&[m, v], &w), "unembed_mv");
    let half = Circuit::scalar(0.5, &[], Some("half")).unwrap();
    let targets = arr(i64t(&[b, s], &t), "targets");
    let logits = Circuit::einsum("sbm,mv,->bsv", [resid, unembed, half]).unwrap();
    let want: Vec<f64> = (0..b * s)
        .map(|r| {
            let (bi, si) = (r / s, r % s);
            let z: Vec<f64> = (0..v)
                .map(|j| {
                    0.5 * (0..m)
                        .map(|q| {
                            x[(si * b + bi) * m + q] as f32 as f64 * (w[q * v + j] as f32 as f64)
                        })
                        .sum::<f64>()
                })
                .collect();
            log_softmax_at(&z, t[r])
        })
        .collect();
    check(&loss(&logits, &targets), &want, &[b, s]);
}

#[test]
fn a_shared_log_softmax_is_not_fused() {
    let resid = randn(&[4, 6], 5, DType::F32, "resid");
    let unembed = randn(&[10, 6], 6, DType::F32, "unembed");
    let targets = arr(i64t(&[4], &[0, 3, 9, -1]), "targets");
    let logits = Circuit::einsum("sm,vm->sv", [resid, unembed]).unwrap();
    let logp = logits.apply(SimpleFn::LogSoftmax).unwrap();
    let pick = Circuit::general_function(PICK, vec![logp.clone(), targets]).unwrap();
    let entropy_ish = Circuit::einsum("sv->s", [logp]).unwrap();
    let root = pick.add(&entropy_ish).unwrap();
    let plan = compile(&root, &EvalSettings::default()).unwrap();
    assert_eq!(plan.count_kernels("contract_log_softmax_pick"), 0, "{}", plan.explain());
    assert_close(
        &plan.run(&CpuBackend::new()).unwrap(),
        &evaluate_with(&root, &unfused()).unwrap(),
        1e-6,
        1e-6,
    );
}

#[test]
fn float64_plans_are_not_fused_but_agree() {
    let (x, w) = (data(3 * 8, 7), data(20 * 8, 8));
    let resid = arr(f64t(&[3, 8], &x), "resid");
    let unembed = arr(f64t(&[20, 8], &w), "unembed");
    let t = [1, 19, -4];
    let targets = arr(i64t(&[3], &t), "targets");
    let c = loss(&Circuit::einsum("sm,vm->sv", [resid, unembed]).unwrap(), &targets);
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    assert_eq!(plan.count_kernels("contract_log_softmax_pick"), 0);
    let got = plan.run(&CpuBackend::new()).unwrap();
    assert_eq!(got.dtype(), DType::F64);
    let want: Vec<f64> = (0..3)
        .map(|r| {
            let z: Vec<f64> =
                (0..20).map(|j| (0..8).map(|q| x[r * 8 + q] * w[j * 8 + q]).sum()).collect();
            log_softmax_at(&z, t[r])
        })
        .collect();
    assert_close(&got, &f64t(&[3], &want), 1e-12, 1e-12);
}

#[test]
fn out_of_range_targets_are_errors() {
    let resid = randn(&[2, 4], 9, DType::F32, "resid");
    let unembed = randn(&[5, 4], 10, DType::F32, "unembed");
    for bad in [5, -6] {
        let targets = arr(i64t(&[2], &[0, bad]), "targets");
        let c = loss(
            &Circuit::einsum("sm,vm->sv", [resid.clone(), unembed.clone()]).unwrap(),
            &targets,
        );
        for settings in [EvalSettings::default(), unfused()] {
            match evaluate_with(&c, &settings) {
                Err(EvalError::IndexOutOfRange { value, size, .. }) => {
                    assert_eq!((value, size), (bad, 5));
                }
                other => panic!("target {bad}: expected an index error, got {other:?}"),
            }
        }
    }
}

#[test]
fn empty_contraction_gives_uniform_log_probs() {
    let resid = arr(f32t(&[2, 0], &[]), "resid");
    let unembed = arr(f32t(&[4, 0], &[]), "unembed");
    let targets = arr(i64t(&[2], &[0, 3]), "targets");
    let c = loss(&Circuit::einsum("sm,vm->sv", [resid, unembed]).unwrap(), &targets);
    let r = evaluate_with(&c, &EvalSettings::default()).unwrap();
    assert_values(&r, &[2], &[-(4f64.ln()); 2]);
}
