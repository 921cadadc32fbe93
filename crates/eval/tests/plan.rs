//! Plans: DAG sharing (each distinct node computed once), the schedule's frees and
//! memory prediction, `explain`, and memory-budget batching (same value as unbatched,
//! or a typed error when impossible).
#![allow(clippy::unwrap_used, clippy::type_complexity, clippy::manual_is_multiple_of)]

mod common;

use circuit_eval::{compile, evaluate_with, Backend, CpuBackend, EvalError, EvalSettings, Plan};
use circuit_ir::kinds::{GfSpec, SimpleFn};
use circuit_ir::Circuit;
use circuit_tensor::DType;
use common::*;

fn steps_for(plan: &Plan, node: &str) -> usize {
    plan.steps().iter().filter(|s| s.node == node).count()
}

#[test]
fn shared_nodes_are_computed_once() {
    let a = randn(&[8, 16], 1, DType::F32, "a");
    let b = randn(&[16, 4], 2, DType::F32, "b");
    let shared = Circuit::einsum("ab,bc->ac", [a, b]).unwrap().rename(Some("shared")).unwrap();
    let left = shared.apply(SimpleFn::Exp).unwrap();
    let right = shared.apply(SimpleFn::Sin).unwrap();
    let root = left.add(&right).unwrap().add(&shared).unwrap();
    let plan = compile(&root, &EvalSettings::default()).unwrap();
    assert_eq!(steps_for(&plan, "'shared'"), 1, "{}", plan.explain());
    assert_eq!(plan.count_kernels("contract"), 1);
    let backend = CpuBackend::new();
    let value = plan.run(&backend).unwrap();
    assert_eq!(backend.kernels_run(), plan.steps().len());
    assert_eq!(value.shape(), &[8, 4]);
}

#[test]
fn shared_einsums_under_einsums_are_not_duplicated_by_flattening() {
    let a = randn(&[8, 16], 1, DType::F32, "a");
    let b = randn(&[16, 4], 2, DType::F32, "b");
    let shared = Circuit::einsum("ab,bc->ac", [a, b]).unwrap().rename(Some("shared")).unwrap();
    let rows = Circuit::einsum("ac->a", [shared.clone()]).unwrap();
    let cols = Circuit::einsum("ac->c", [shared.clone()]).unwrap();
    let root = Circuit::einsum("a,c,ac->ac", [rows, cols, shared]).unwrap();
    let plan = compile(&root, &EvalSettings::default()).unwrap();
    assert_eq!(steps_for(&plan, "'shared'"), 1, "{}", plan.explain());
    let unsimplified =
        evaluate_with(&root, &EvalSettings { simplify: false, ..EvalSettings::default() });
    assert_close(&plan.run(&CpuBackend::new()).unwrap(), &unsimplified.unwrap(), 1e-4, 1e-4);
}

#[test]
fn buffers_are_freed_after_their_last_use() {
    let x = randn(&[32, 32], 3, DType::F32, "x");
    let mut c = x.clone();
    for _ in 0..6 {
        c = c.apply(SimpleFn::Tanh).unwrap().add(&x).unwrap();
    }
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    let mut freed: Vec<usize> =
        (0..plan.steps().len()).flat_map(|i| plan.frees_after(i).to_vec()).collect();
    freed.sort_unstable();
    let n = freed.len();
    freed.dedup();
    assert_eq!(n, freed.len(), "a buffer is freed twice");
    assert!(!freed.contains(&plan.output()));
    // Every buffer but the output dies; at most a few 4 KiB tensors are alive at once.
    assert_eq!(freed.len() + 1, plan.steps().len());
    assert!(plan.peak_memory() <= 3 * 32 * 32 * 4, "{}", plan.explain());
}

#[test]
fn explain_lists_steps_flops_and_memory() {
    let a = randn(&[4, 5], 1, DType::F32, "a");
    let b = randn(&[5, 6], 2, DType::F32, "b");
    let c = Circuit::einsum("ab,bc->ac", [a, b]).unwrap().apply(SimpleFn::Softmax).unwrap();
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    let text = plan.explain();
    assert!(text.contains("gemm ab,bc->ac"), "{text}");
    assert!(text.contains("softmax"), "{text}");
    assert!(text.contains("predicted peak memory"), "{text}");
    assert_eq!(plan.total_flops(), 2 * 4 * 5 * 6 + 4 * 6);
}

/// A circuit with a large intermediate and a small output: logits-like
/// `log_softmax(x @ w)` gathered at targets, summed.
fn nll_like() -> (Circuit, Circuit) {
    let x = randn(&[64, 16], 1, DType::F64, "x");
    let w = randn(&[16, 200], 2, DType::F64, "w");
    let logits = Circuit::einsum("ab,bc->ac", [x, w]).unwrap();
    let logp = logits.apply(SimpleFn::LogSoftmax).unwrap();
    let targets: Vec<i64> = (0..64).map(|i| (i * 37) % 200).collect();
    let t = arr(i64t(&[64], &targets), "targets");
    let spec = GfSpec::GenIndex {
        index_dim: -1,
        batch_x: true,
        batch_index: true,
        check_index_ints: true,
    };
    let picked = Circuit::general_function(spec, vec![logp, t]).unwrap();
    let total = picked.sum_axes(&[0]).unwrap();
    (picked, total)
}

#[test]
fn batching_along_an_output_axis_matches_unbatched() {
    let (picked, _) = nll_like();
    let unbatched = compile(&picked, &EvalSettings::default()).unwrap();
    let budget = unbatched.peak_memory() / 3;
    let settings = EvalSettings { max_memory: Some(budget), ..EvalSettings::default() };
    let plan = compile(&picked, &settings).unwrap();
    assert!(plan.peak_memory() <= budget, "{}", plan.explain());
    assert!(plan.notes().iter().any(|n| n.contains("batched")), "{}", plan.explain());
    let got = plan.run(&CpuBackend::new()).unwrap();
    let want = unbatched.run(&CpuBackend::new()).unwrap();
    assert_close(&got, &want, 1e-12, 1e-12);
}

#[test]
fn batching_along_a_summed_label_matches_unbatched() {
    let (_, total) = nll_like();
    let unbatched = compile(&total, &EvalSettings::default()).unwrap();
    let budget = unbatched.peak_memory() / 3;
    let settings = EvalSettings { max_memory: Some(budget), ..EvalSettings::default() };
    let got = evaluate_with(&total, &settings).unwrap();
    let want = unbatched.run(&CpuBackend::new()).unwrap();
    assert_close(&got, &want, 1e-10, 1e-10);
    let plan = compile(&total, &settings).unwrap();
    assert!(plan.peak_memory() <= budget, "{}", plan.explain());
}

#[test]
fn single_tensor_limit_batches_too() {
    let (picked, _) = nll_like();
    let settings =
        EvalSettings { max_single_tensor: Some(64 * 200 * 8 / 4), ..EvalSettings::default() };
    let plan = compile(&picked, &settings).unwrap();
    assert!(plan.largest_tensor().0 <= 64 * 200 * 8 / 4, "{}", plan.explain());
    let want = compile(&picked, &EvalSettings::default()).unwrap().run(&CpuBackend::new()).unwrap();
    assert_close(&plan.run(&CpuBackend::new()).unwrap(), &want, 1e-12, 1e-12);
}

#[test]
fn impossible_budgets_are_typed_errors() {
    let (picked, _) = nll_like();
    let settings = EvalSettings { max_memory: Some(16), ..EvalSettings::default() };
    match compile(&picked, &settings) {
        Err(EvalError::OutOfMemory { bytes, budget, .. }) => {
            assert_eq!(budget, 16);
            assert!(bytes > 16);
        }
        other => panic!("expected OutOfMemory, got {:?}", other.map(|p| p.explain())),
    }
}

#[test]
fn backend_trait_is_usable_generically() {
    fn run_on<B: Backend>(plan: &Plan, b: &B) -> circuit_tensor::Tensor {
        plan.run(b).unwrap()
    }
    let c = Circuit::einsum("a,a->", [iota(&[4], "x"), iota(&[4], "y")]).unwrap();
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    assert_values(&run_on(&plan, &CpuBackend::new()), &[], &[14.0]);
}

#[test]
fn explain_reports_batching_under_a_budget() {
    let (picked, _) = nll_like();
    let unbatched = compile(&picked, &EvalSettings::default()).unwrap();
    let settings =
        EvalSettings { max_memory: Some(unbatched.peak_memory() / 3), ..EvalSettings::default() };
    let batched = compile(&picked, &settings).unwrap();
    assert!(batched.peak_memory() <= unbatched.peak_memory() / 3, "{}", batched.explain());
    assert!(!batched.notes().is_empty(), "batching should leave a note:\n{}", batched.explain());
}

/// `log_softmax(x w)` picked at `targets`, plus `x` gathered by `tokens` (an int64 Array
/// read by gen_index, like a batch of sampled tokens).
fn with_inputs(x: &circuit_tensor::Tensor, tokens: &circuit_tensor::Tensor) -> Circuit {
    let xa = Circuit::array(x.clone(), Some("x")).unwrap();
    let w = randn(&[6, 9], 12, DType::F32, "w");
    let toks = Circuit::array(tokens.clone(), Some("tokens")).unwrap();
    let logits = Circuit::einsum("ab,bc->ac", [xa.clone(), w]).unwrap();
    let spec = GfSpec::GenIndex {
        index_dim: 0,
        batch_x: false,
        batch_index: false,
        check_index_ints: true,
    };
    let picked = Circuit::general_function(spec, vec![xa, toks]).unwrap();
    let summed =
        Circuit::einsum("ab,cb->ac", [picked, randn(&[9, 6], 13, DType::F32, "v")]).unwrap();
    logits.apply(SimpleFn::LogSoftmax).unwrap().add(&summed).unwrap()
}

#[test]
fn a_plan_runs_with_replaced_constants() {
    let x1 = circuit_tensor::Tensor::randn(&[5, 6], DType::F32, 21).unwrap();
    let x2 = circuit_tensor::Tensor::randn(&[5, 6], DType::F32, 22).unwrap();
    let t1 = i64t(&[5], &[0, 4, 4, 1, 2]);
    let t2 = i64t(&[5], &[3, 3, 0, 2, 1]);
    let plan = compile(&with_inputs(&x1, &t1), &EvalSettings::default()).unwrap();
    let replaced =
        plan.with_constant(&x1, x2.clone()).unwrap().with_constant(&t1, t2.clone()).unwrap();
    let got = replaced.run(&CpuBackend::new()).unwrap();
    let want = evaluate_with(&with_inputs(&x2, &t2), &EvalSettings::default()).unwrap();
    assert_close(&got, &want, 0.0, 0.0);
    // The original plan is unchanged.
    let orig = plan.run(&CpuBackend::new()).unwrap();
    let want1 = evaluate_with(&with_inputs(&x1, &t1), &EvalSettings::default()).unwrap();
    assert_close(&orig, &want1, 0.0, 0.0);
}

#[test]
fn replacing_constants_checks_what_it_replaces() {
    let x = circuit_tensor::Tensor::randn(&[5, 6], DType::F32, 21).unwrap();
    let t = i64t(&[5], &[0, 4, 4, 1, 2]);
    let plan = compile(&with_inputs(&x, &t), &EvalSettings::default()).unwrap();
    let msg = |r: Result<Plan, EvalError>| r.unwrap_err().to_string();
    let other_shape = circuit_tensor::Tensor::randn(&[6, 5], DType::F32, 3).unwrap();
    assert!(msg(plan.with_constant(&x, other_shape)).contains("replacement constant"));
    let absent = circuit_tensor::Tensor::randn(&[5, 6], DType::F32, 99).unwrap();
    assert!(msg(plan.with_constant(&absent, x.clone())).contains("no constant"));
    // An index tensor built into a kernel cannot be swapped after compiling.
    let idx = i64t(&[3], &[2, 0, 1]);
    let a = randn(&[3, 4], 5, DType::F32, "a");
    let ix = circuit_ir::kinds::IndexTensor::new(idx.clone()).unwrap();
    let c = a
        .index(vec![
            circuit_ir::kinds::TensorAxisIndex::Tensor(ix),
            circuit_ir::kinds::TensorAxisIndex::FULL,
        ])
        .unwrap()
        .add(
            &Circuit::array(idx.cast(DType::F32), Some("f"))
                .unwrap()
                .rearrange_str("a -> a 1")
                .unwrap(),
        )
        .unwrap();
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    let r = plan.with_constant(&idx, i64t(&[3], &[0, 1, 2]));
    assert!(msg(r).contains("index built into"), "{}", plan.explain());
}
