//! Property tests: random einsums (diagonals, traces, diagonal outputs, Scalar
//! operands) against the naive reference, and every simplification pass against the
//! unsimplified value on random small circuits. Case counts are modest to keep the
//! suite fast.
#![allow(clippy::unwrap_used, clippy::type_complexity, clippy::manual_is_multiple_of)]

mod common;

use circuit_eval::reference::einsum_naive;
use circuit_eval::{evaluate_with, EvalSettings};
use circuit_ir::kinds::{Slice, TensorAxisIndex};
use circuit_ir::{Circuit, Uuid};
use circuit_rewrite::{simplify, COMPILER_PASSES};
use circuit_tensor::{DType, Rng, Tensor};
use common::assert_close;
use proptest::prelude::*;

fn no_simplify() -> EvalSettings {
    EvalSettings { simplify: false, ..EvalSettings::default() }
}

fn pick(rng: &mut Rng, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

/// A random einsum over `n_ops` operands with labels from a pool of `n_labels`.
fn random_einsum(seed: u64, dtype: DType) -> (Circuit, Vec<(Tensor, Vec<u8>)>, Vec<u8>) {
    let mut rng = Rng::new(seed);
    let n_labels = 1 + pick(&mut rng, 5);
    let sizes: Vec<usize> = (0..n_labels).map(|_| 1 + pick(&mut rng, 4)).collect();
    let n_ops = 1 + pick(&mut rng, 4);
    let mut operands = Vec::new();
    for k in 0..n_ops {
        let rank = pick(&mut rng, 4);
        let labels: Vec<u8> = (0..rank).map(|_| pick(&mut rng, n_labels) as u8).collect();
        let shape: Vec<usize> = labels.iter().map(|&l| sizes[usize::from(l)]).collect();
        let t = Tensor::randn(&shape, dtype, seed.wrapping_mul(31).wrapping_add(k as u64)).unwrap();
        operands.push((t, labels));
    }
    let used: Vec<u8> = {
        let mut u: Vec<u8> = operands.iter().flat_map(|(_, l)| l.iter().copied()).collect();
        u.sort_unstable();
        u.dedup();
        u
    };
    let mut out: Vec<u8> = used.iter().copied().filter(|_| rng.next_u64() % 2 == 0).collect();
    // shuffle and sometimes repeat a label (diagonal output)
    for i in (1..out.len()).rev() {
        let j = pick(&mut rng, i + 1);
        out.swap(i, j);
    }
    if !out.is_empty() && rng.next_u64() % 4 == 0 {
        let l = out[pick(&mut rng, out.len())];
        out.insert(pick(&mut rng, out.len() + 1), l);
    }
    let mut children: Vec<(Circuit, Vec<u8>)> = operands
        .iter()
        .enumerate()
        .map(|(k, (t, l))| (Circuit::array(t.clone(), Some(&format!("x{k}"))).unwrap(), l.clone()))
        .collect();
    // Sometimes a Scalar operand (folded into the GEMM's alpha).
    if rng.next_u64() % 3 == 0 {
        let l = pick(&mut rng, n_labels) as u8;
        let s = Circuit::scalar(1.5, &[sizes[usize::from(l)]], None).unwrap();
        children.push((s.clone(), vec![l]));
        let t = Tensor::full(&[sizes[usize::from(l)]], 1.5, dtype);
        operands.push((t, vec![l]));
    }
    let c = Circuit::einsum_from_axes(children, &out, None).unwrap();
    (c, operands, out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn einsum_matches_naive_f64(seed in any::<u64>()) {
        let (c, operands, out) = random_einsum(seed, DType::F64);
        let refs: Vec<(&Tensor, &[u8])> = operands.iter().map(|(t, l)| (t, l.as_slice())).collect();
        let expected = einsum_naive(&refs, &out).unwrap();
        let got = circuit_eval::evaluate(&c).unwrap();
        assert_close(&got, &expected, 1e-10, 1e-10);
    }

    #[test]
    fn einsum_matches_naive_f32(seed in any::<u64>()) {
        let (c, operands, out) = random_einsum(seed, DType::F32);
        let refs: Vec<(&Tensor, &[u8])> = operands.iter().map(|(t, l)| (t, l.as_slice())).collect();
        let expected = einsum_naive(&refs, &out).unwrap();
        let got = circuit_eval::evaluate(&c).unwrap();
        assert_close(&got, &expected.cast(DType::F32), 1e-4, 1e-4);
    }
}

/// A random small circuit exercising what the passes rewrite: nested Adds and Einsums,
/// Scalars, permutations and reshapes (nested Rearranges), Tags, identity Indexes.
#[allow(clippy::too_many_lines)] // one generator arm per node kind
fn random_circuit(seed: u64) -> Circuit {
    let mut rng = Rng::new(seed);
    let mut pool: Vec<Circuit> = Vec::new();
    for k in 0..3 {
        let rank = 1 + pick(&mut rng, 3);
        let shape: Vec<usize> = (0..rank).map(|_| 1 + pick(&mut rng, 3)).collect();
        let t = Tensor::randn(&shape, DType::F64, seed ^ (k as u64 + 1)).unwrap();
        pool.push(Circuit::array(t, Some(&format!("a{k}"))).unwrap());
    }
    for _ in 0..8 {
        let x = pool[pick(&mut rng, pool.len())].clone();
        let next = match pick(&mut rng, 8) {
            0 | 1 => {
                // einsum of x with another pool element sharing labels where sizes match
                let y = pool[pick(&mut rng, pool.len())].clone();
                let xl: Vec<u8> = (0..x.rank() as u8).collect();
                let mut next = x.rank() as u8;
                let yl: Vec<u8> = y
                    .shape()
                    .iter()
                    .map(|&s| {
                        let same = x.shape().iter().position(|&xs| xs == s);
                        match same {
                            Some(p) if rng.next_u64() % 2 == 0 => p as u8,
                            _ => {
                                next += 1;
                                next - 1
                            }
                        }
                    })
                    .collect();
                let mut all: Vec<u8> = xl.iter().chain(&yl).copied().collect();
                all.sort_unstable();
                all.dedup();
                let out: Vec<u8> = all.into_iter().filter(|_| rng.next_u64() % 3 != 0).collect();
                let s = Circuit::scalar(0.5, &[], None).unwrap();
                let mut ops = vec![(x, xl), (y, yl)];
                if rng.next_u64() % 2 == 0 {
                    ops.push((s, vec![]));
                }
                Circuit::einsum_from_axes(ops, &out, None).ok()
            }
            2 => {
                let y = pool[pick(&mut rng, pool.len())].clone();
                x.add(&y).ok().or_else(|| x.add(&Circuit::scalar(2.0, &[], None).unwrap()).ok())
            }
            3 => {
                // permutation
                let r = x.rank();
                let names: Vec<String> = (0..r).map(|i| format!("d{i}")).collect();
                let mut perm: Vec<usize> = (0..r).collect();
                perm.reverse();
                let rhs: Vec<String> = perm.iter().map(|&p| names[p].clone()).collect();
                x.rearrange_str(&format!("{} -> {}", names.join(" "), rhs.join(" "))).ok()
            }
            4 => {
                // flatten everything, then unflatten back, with a repeat
                let r = x.rank();
                let names: Vec<String> =
                    x.shape().iter().enumerate().map(|(i, s)| format!("d{i}:{s}")).collect();
                let flat = x
                    .rearrange_str(&format!("{} -> ({}) 2", names.join(" "), names.join(" ")))
                    .ok();
                flat.and_then(|f| {
                    let plain: Vec<String> = (0..r).map(|i| format!("d{i}")).collect();
                    let sized: Vec<String> =
                        x.shape().iter().enumerate().map(|(i, s)| format!("d{i}:{s}")).collect();
                    f.rearrange_str(&format!("({}) k -> k {}", sized.join(" "), plain.join(" ")))
                        .ok()
                })
            }
            5 => x.tag(Uuid::new_v4()).ok(),
            6 => {
                let mut idx = vec![TensorAxisIndex::FULL; x.rank()];
                if x.shape().first().is_some_and(|&s| s > 1) && rng.next_u64() % 2 == 0 {
                    idx[0] = TensorAxisIndex::Slice(Slice { start: Some(1), stop: None });
                }
                x.index(idx).ok()
            }
            _ => Circuit::sum_of([x.clone()]).ok(),
        };
        if let Some(n) = next {
            pool.push(n);
        }
    }
    // Combine the last few so the root depends on several rewrites.
    let root = pool.last().cloned().unwrap_or_else(|| pool[0].clone());
    root.mul_scalar(1.0).unwrap_or(root)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn passes_preserve_values(seed in any::<u64>()) {
        let c = random_circuit(seed);
        let expected = evaluate_with(&c, &no_simplify()).unwrap();
        for pass in COMPILER_PASSES {
            let s = simplify(&c, std::slice::from_ref(pass)).unwrap();
            prop_assert_eq!(s.shape(), c.shape());
            let got = evaluate_with(&s, &no_simplify()).unwrap();
            assert_close(&got, &expected, 1e-10, 1e-10);
        }
        let all = simplify(&c, COMPILER_PASSES).unwrap();
        let got = evaluate_with(&all, &no_simplify()).unwrap();
        assert_close(&got, &expected, 1e-10, 1e-10);
    }
}

/// Every pass applies to some random circuits (else the property tests would not test it).
#[test]
fn every_pass_is_exercised() {
    let mut changed = vec![0usize; COMPILER_PASSES.len()];
    for seed in 0..64u64 {
        let c = random_circuit(seed);
        for (i, pass) in COMPILER_PASSES.iter().enumerate() {
            if simplify(&c, std::slice::from_ref(pass)).unwrap() != c {
                changed[i] += 1;
            }
        }
    }
    for (p, n) in COMPILER_PASSES.iter().zip(&changed) {
        assert!(*n > 0, "pass {} never changed any of 64 random circuits", p.name);
    }
}
