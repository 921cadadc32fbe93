//! Activation patching, path patching and `scrub_input` on the linear two-layer toy of
//! `fixtures/scrub/linear_heads.circ`, where every effect has a closed form.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::HashMap;

use circuit_eval::evaluate;
use circuit_ir::{Circuit, Tensor};
use circuit_match::{get, get_unique, update, IterativeMatcher, MatchError, Matcher};
use circuit_sample::{RunDiscreteVarAllSpec, Sampler};
use circuit_scrub::{
    chain_excluding, corr_root_matcher, independent_var, patch_activation, path_patch, scrub_input,
    HeadSweep, ProgressMode, Result,
};
use circuit_text::{diff_circuits, DiffOptions};
use common::*;

type M = [[f64; 2]; 2];
const W: [[M; 2]; 2] = [
    [[[1.0, 0.0], [0.0, 2.0]], [[0.0, 1.0], [1.0, 0.0]]],
    [[[2.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 3.0]]],
];
const X_CLEAN: [f64; 2] = [1.0, 2.0];
const X_CORR: [f64; 2] = [3.0, -1.0];

fn mv(m: &M, v: [f64; 2]) -> [f64; 2] {
    [m[0][0] * v[0] + m[0][1] * v[1], m[1][0] * v[0] + m[1][1] * v[1]]
}

fn add(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] + b[0], a[1] + b[1]]
}

fn sum(v: [f64; 2]) -> f64 {
    v[0] + v[1]
}

/// `resid1 = (I + W00 + W01) v`.
fn resid1(v: [f64; 2]) -> [f64; 2] {
    add(v, add(mv(&W[0][0], v), mv(&W[0][1], v)))
}

/// `(I + W10 + W11) v`.
fn layer1(v: [f64; 2]) -> [f64; 2] {
    add(v, add(mv(&W[1][0], v), mv(&W[1][1], v)))
}

fn delta() -> [f64; 2] {
    [X_CORR[0] - X_CLEAN[0], X_CORR[1] - X_CLEAN[1]]
}

fn x_array(v: [f64; 2]) -> Circuit {
    Circuit::array(Tensor::from_vec(&[2], v.to_vec()).unwrap(), Some("x")).unwrap()
}

/// The toy with input `x` bound to `x`.
fn model(x: Circuit) -> Circuit {
    let mut refs = HashMap::from([("x".to_string(), x)]);
    for (l, layer) in W.iter().enumerate() {
        for (h, m) in layer.iter().enumerate() {
            let flat: Vec<f64> = m.iter().flatten().copied().collect();
            let name = format!("w{l}.{h}");
            let w = Circuit::array(Tensor::from_vec(&[2, 2], flat).unwrap(), Some(&name)).unwrap();
            refs.insert(name, w);
        }
    }
    parse_fixture("linear_heads.circ", refs)
}

fn metric(c: &Circuit) -> Result<f64> {
    Ok(evaluate(c)?.to_f64_vec().iter().sum())
}

fn close(a: &[Vec<f64>], b: &[Vec<f64>]) {
    assert_eq!(a.len(), b.len());
    for (ra, rb) in a.iter().zip(b) {
        for (x, y) in ra.iter().zip(rb) {
            assert!((x - y).abs() < 1e-9, "{a:?} != {b:?}");
        }
    }
}

fn sweep() -> HeadSweep {
    HeadSweep::new("a{layer}.h{head}", 2, 2).unwrap().with_progress(ProgressMode::Never)
}

#[test]
fn the_toy_computes_its_closed_form() {
    let clean = model(x_array(X_CLEAN));
    assert!((metric(&clean).unwrap() - sum(layer1(resid1(X_CLEAN)))).abs() < 1e-12);
    assert!(sweep().missing_heads(&clean).unwrap().is_empty());
    assert_eq!(
        HeadSweep::new("a{layer}.h{head}", 3, 1).unwrap().missing_heads(&clean).unwrap(),
        ["a2.h0"]
    );
    assert!(HeadSweep::new("a{layer}", 1, 1).is_err());
}

#[test]
fn activation_patching_sweep_matches_the_closed_form() {
    let clean = model(x_array(X_CLEAN));
    let corrupted = model(x_array(X_CORR));
    let base = metric(&clean).unwrap();
    let got = sweep().activation_patching(&clean, &corrupted, |c| Ok(metric(c)? - base)).unwrap();
    let d = delta();
    let expected = vec![
        // Layer-0 heads act on out directly and through both layer-1 heads.
        (0..2).map(|h| sum(layer1(mv(&W[0][h], d)))).collect::<Vec<_>>(),
        // Layer-1 heads see the whole corrupted residual stream.
        (0..2).map(|h| sum(mv(&W[1][h], resid1(d)))).collect(),
    ];
    close(&got, &expected);
    // Patching one activation by hand: the patched node is the corrupted one.
    let patched =
        patch_activation(&clean, "a0.h1", &get_unique(&corrupted, "a0.h1").unwrap()).unwrap();
    assert_eq!(get_unique(&patched, "a0.h1").unwrap(), get_unique(&corrupted, "a0.h1").unwrap());
    let wrong_shape = x_array(X_CLEAN).sum_axes(&[0]).unwrap();
    assert!(patch_activation(&clean, "a0.h1", &wrong_shape).is_err());
    assert!(patch_activation(&clean, "nope", &wrong_shape).is_err());
}

#[test]
fn path_patching_to_the_output_matches_the_closed_form() {
    let clean = model(x_array(X_CLEAN));
    let base = metric(&clean).unwrap();
    // The direct path from the output to a head: no later layer's head on the way.
    let direct = |layer: usize, _: usize, name: &str| -> IterativeMatcher {
        let later: Vec<String> =
            (layer + 1..2).flat_map(|l| (0..2).map(move |h| format!("a{l}.h{h}"))).collect();
        chain_excluding(&corr_root_matcher(), name, Matcher::names(later))
    };
    let got = sweep()
        .path_patching(&clean, direct, "x", &x_array(X_CORR), |c| Ok(metric(c)? - base))
        .unwrap();
    let d = delta();
    let expected = vec![
        (0..2).map(|h| sum(mv(&W[0][h], d))).collect::<Vec<_>>(),
        (0..2).map(|h| sum(mv(&W[1][h], resid1(d)))).collect(),
    ];
    close(&got, &expected);
}

#[test]
fn head_to_head_path_patching_matrix() {
    let clean = model(x_array(X_CLEAN));
    let base = metric(&clean).unwrap();
    let d = delta();
    // Rows: receivers a1.h{k}; columns: senders a0.h{j}.
    let mut got = Vec::new();
    let mut expected = Vec::new();
    for (k, w1k) in W[1].iter().enumerate() {
        let receiver = format!("a1.h{k}");
        let senders = sweep().with_layers(vec![0]);
        let row = senders
            .path_patching(
                &clean,
                |_, _, sender| IterativeMatcher::from(receiver.as_str()).chain(sender),
                "x",
                &x_array(X_CORR),
                |c| Ok(metric(c)? - base),
            )
            .unwrap();
        got.push(row[0].clone());
        expected.push(W[0].iter().map(|w0j| sum(mv(w1k, mv(w0j, d)))).collect::<Vec<_>>());
    }
    close(&got, &expected);
    // A path reaching nothing is an error, not a silent zero.
    assert!(path_patch(
        &clean,
        IterativeMatcher::from("a0.h0").chain("a1.h0"),
        "x",
        &x_array(X_CORR)
    )
    .is_err());
}

#[test]
fn scrub_input_changes_exactly_the_nodes_on_the_path() {
    let xs = Circuit::array(
        Tensor::from_vec(&[4, 2], vec![1.0, 2.0, 3.0, -1.0, 0.0, 1.0, -2.0, 5.0]).unwrap(),
        Some("xs"),
    )
    .unwrap();
    let group =
        Circuit::scalar(0.25, &[4], None).unwrap().tag(circuit_ir::Uuid::from_u128(7)).unwrap();
    let x_var = Circuit::discrete_var(xs, group).unwrap().rename(Some("x_var")).unwrap();
    let x_other = independent_var(&x_var, 1).unwrap();
    assert_eq!(x_other.name(), Some("x_var_other"));
    assert_eq!(independent_var(&x_var, 1).unwrap(), x_other);
    assert_ne!(independent_var(&x_var, 2).unwrap(), x_other);
    let c = model(x_var.clone());
    let scrubbed = scrub_input(&c, "a1.h0", &x_var, &x_other).unwrap();

    // Only the copy of the stream read by a1.h0 sees the other variable.
    let has = |root: &Circuit, v: &Circuit| {
        !get(root, Matcher::circuits([v.clone()])).unwrap().is_empty()
    };
    let h10 = get_unique(&scrubbed, "a1.h0").unwrap();
    assert!(has(&h10, &x_other) && !has(&h10, &x_var));
    let h11 = get_unique(&scrubbed, "a1.h1").unwrap();
    assert!(has(&h11, &x_var) && !has(&h11, &x_other));
    assert_eq!(get(&scrubbed, "resid1").unwrap().len(), 2);
    assert_eq!(get_unique(&scrubbed, "a1.h1").unwrap(), get_unique(&c, "a1.h1").unwrap());
    let diff = diff_circuits(
        std::slice::from_ref(&scrubbed),
        std::slice::from_ref(&c),
        &DiffOptions::default(),
    );
    assert!(diff.differs && diff.text.contains("x_var_other"), "{}", diff.text);

    // Exhaustively: the output on (x_i, x_j) uses x_j only through a1.h0.
    let spec =
        RunDiscreteVarAllSpec::create_full_from_circuits(std::slice::from_ref(&scrubbed)).unwrap();
    let grid = evaluate(&Sampler::new(spec).sample(&scrubbed).unwrap()).unwrap();
    assert_eq!(grid.shape(), &[4, 4, 2]);
    let rows = [[1.0, 2.0], [3.0, -1.0], [0.0, 1.0], [-2.0, 5.0]];
    let g = grid.to_f64_vec();
    for (i, xi) in rows.iter().enumerate() {
        for (j, xj) in rows.iter().enumerate() {
            let (ri, rj) = (resid1(*xi), resid1(*xj));
            let want = add(add(ri, mv(&W[1][0], rj)), mv(&W[1][1], ri));
            let at = (i * 4 + j) * 2;
            assert!((g[at] - want[0]).abs() < 1e-9 && (g[at + 1] - want[1]).abs() < 1e-9);
        }
    }

    // Scrubbing along a path that never reaches the variable is an error.
    assert!(scrub_input(&c, "w1.0", &x_var, &x_other).is_err());
    // The same path by update, for comparison: identical result.
    let by_update = update(
        &c,
        IterativeMatcher::from("a1.h0").chain(Matcher::circuits([x_var.clone()])),
        |_| Ok::<_, MatchError>(x_other.clone()),
    )
    .unwrap();
    assert_eq!(by_update, scrubbed);
}
