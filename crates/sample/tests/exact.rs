//! Exhaustive enumeration (`RunDiscreteVarAllSpec`): estimates of κ1..κ4 equal the exact
//! weighted mean, covariance and higher cumulants computed with plain loops.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use circuit_ir::kinds::SimpleFn;
use circuit_ir::Circuit;
use circuit_sample::{RunDiscreteVarAllSpec, SampleSpec, Sampler};
use common::*;

fn exact_sampler(circuits: &[Circuit]) -> Sampler {
    Sampler::new(RunDiscreteVarAllSpec::create_full_from_circuits(circuits).unwrap())
}

fn cum(children: Vec<Circuit>) -> Circuit {
    Circuit::cumulant(children).unwrap()
}

#[test]
fn kappa1_is_the_weighted_mean() {
    let x = var(&data(), &probs_group("p"), "x");
    let k1 = cum(vec![x.clone()]);
    let est = exact_sampler(std::slice::from_ref(&k1)).estimate(&k1).unwrap();
    assert_eq!(est.name(), Some("x_sample_expectation"));
    assert!(est.flags().is_constant() && est.flags().is_explicitly_computable());
    assert_close(&eval_vec(&est), &mean(), 1e-14);
}

#[test]
fn kappa2_and_kappa3_are_covariance_and_third_central_moment() {
    let x = var(&data(), &probs_group("p"), "x");
    let k2 = cum(vec![x.clone(), x.clone()]);
    let sampler = exact_sampler(std::slice::from_ref(&x));
    let want: Vec<f64> = multi_indices(2).iter().map(|i| central_moment(i)).collect();
    let got = eval_vec(&sampler.estimate(&k2).unwrap());
    assert_close(&got, &want, 1e-13);
    // Hand check of one entry: Var(x_0).
    let m = mean();
    let var0: f64 = DATA.iter().zip(PROBS).map(|(r, p)| p * (r[0] - m[0]).powi(2)).sum();
    assert!((got[0] - var0).abs() < 1e-13);

    let k3 = cum(vec![x.clone(), x.clone(), x.clone()]);
    let est3 = sampler.estimate(&k3).unwrap();
    assert_eq!(est3.shape().as_slice(), &[2, 2, 2]);
    let want: Vec<f64> = multi_indices(3).iter().map(|i| central_moment(i)).collect();
    assert_close(&eval_vec(&est3), &want, 1e-13);
}

#[test]
fn kappa4_subtracts_the_pair_partitions() {
    let x = var(&data(), &probs_group("p"), "x");
    let k4 = cum(vec![x.clone(); 4]);
    let got = eval_vec(&exact_sampler(std::slice::from_ref(&x)).estimate(&k4).unwrap());
    let want: Vec<f64> = multi_indices(4)
        .iter()
        .map(|i| {
            let c2 = |a: usize, b: usize| central_moment(&[i[a], i[b]]);
            central_moment(i) - c2(0, 1) * c2(2, 3) - c2(0, 2) * c2(1, 3) - c2(0, 3) * c2(1, 2)
        })
        .collect();
    assert_close(&got, &want, 1e-12);
}

#[test]
fn mixed_arguments_and_nonlinear_functions() {
    // κ(x, sigmoid(x)_0) with arguments of different ranks, and κ(y) of a 0-d function.
    let x = var(&data(), &probs_group("p"), "x");
    let s = x.apply(SimpleFn::Sigmoid).unwrap();
    let s0 = s.index(vec![circuit_ir::kinds::TensorAxisIndex::Int(0)]).unwrap();
    let k = cum(vec![s0.clone(), x.clone()]);
    assert_eq!(k.shape().as_slice(), &[2]);
    let got = eval_vec(&exact_sampler(std::slice::from_ref(&x)).estimate(&k).unwrap());
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let ms: f64 = DATA.iter().zip(PROBS).map(|(r, p)| p * sig(r[0])).sum();
    let m = mean();
    let want: Vec<f64> = (0..2)
        .map(|f| DATA.iter().zip(PROBS).map(|(r, p)| p * (sig(r[0]) - ms) * (r[f] - m[f])).sum())
        .collect();
    assert_close(&got, &want, 1e-12);
}

#[test]
fn two_groups_enumerate_the_product_grid() {
    let d2 = array(&[3, 2], vec![1.0, 0.0, -1.0, 2.0, 4.0, 1.0], "data2");
    let q = [0.5, 0.25, 0.25];
    let x = var(&data(), &probs_group("p"), "x");
    let z = var(&d2, &array(&[3], q.to_vec(), "q"), "z");
    let sum = x.add(&z).unwrap();
    let spec =
        RunDiscreteVarAllSpec::create_full_from_circuits(std::slice::from_ref(&sum)).unwrap();
    // Deterministic group order: first appearance in pre-order (x's group, then z's).
    assert_eq!(spec.groups()[0].name(), Some("p"));
    assert_eq!(spec.groups()[1].name(), Some("q"));
    assert_eq!(spec.sample_shape(), vec![5, 3]);
    let sampler = Sampler::new(spec);
    let sampled = sampler.sample(&sum).unwrap();
    assert_eq!(sampled.shape().as_slice(), &[5, 3, 2]);
    let vals = eval_vec(&sampled);
    for i in 0..5 {
        for j in 0..3 {
            for f in 0..2 {
                let want = DATA[i][f] + [[1.0, 0.0], [-1.0, 2.0], [4.0, 1.0]][j][f];
                assert_eq!(vals[(i * 3 + j) * 2 + f], want);
            }
        }
    }
    // Var(x + z) over the grid, computed with plain loops, and Cov(x, z) = 0.
    let d2v = [[1.0, 0.0], [-1.0, 2.0], [4.0, 1.0]];
    let mut m = [0.0; 2];
    for i in 0..5 {
        for j in 0..3 {
            for f in 0..2 {
                m[f] += PROBS[i] * q[j] * (DATA[i][f] + d2v[j][f]);
            }
        }
    }
    let mut cov = vec![0.0; 4];
    for i in 0..5 {
        for j in 0..3 {
            for a in 0..2 {
                for b in 0..2 {
                    let da = DATA[i][a] + d2v[j][a] - m[a];
                    let db = DATA[i][b] + d2v[j][b] - m[b];
                    cov[a * 2 + b] += PROBS[i] * q[j] * da * db;
                }
            }
        }
    }
    let k2 = cum(vec![sum.clone(), sum.clone()]);
    assert_close(&eval_vec(&sampler.estimate(&k2).unwrap()), &cov, 1e-13);
    let cross = eval_vec(&sampler.estimate(&cum(vec![x.clone(), z.clone()])).unwrap());
    assert_close(&cross, &[0.0; 4], 1e-14);
    // The exact spec reports zero standard error.
    let (est, se) = sampler.estimate_with_error(&cum(vec![sum.clone()])).unwrap();
    assert_close(&eval_vec(&est), &m, 1e-14);
    assert_close(&eval_vec(&se), &[0.0, 0.0], 0.0);
}

#[test]
fn subsets_restrict_rows_and_repeat_by_subset_size() {
    let d2 = array(&[3, 2], vec![1.0, 0.0, -1.0, 2.0, 4.0, 1.0], "data2");
    let p = probs_group("p");
    let q = array(&[3], vec![0.5, 0.25, 0.25], "q");
    let x = var(&data(), &p, "x");
    let z = var(&d2, &q, "z");
    let spec =
        RunDiscreteVarAllSpec::with_subsets(vec![p.clone(), q.clone()], vec![Some(1..4), None])
            .unwrap();
    assert_eq!(spec.sample_shape(), vec![3, 3]);
    assert!((spec.overall_weight() - 0.65).abs() < 1e-15);
    let sampler = Sampler::new(spec);
    // x alone is repeated along z's axis by the subset size 3 (not by 5 or ...).
    let sx = sampler.sample(&x).unwrap();
    assert_eq!(sx.shape().as_slice(), &[3, 3, 2]);
    let vals = eval_vec(&sx);
    for i in 0..3 {
        for j in 0..3 {
            assert_eq!(&vals[(i * 3 + j) * 2..(i * 3 + j) * 2 + 2], &DATA[i + 1][..]);
        }
    }
    // The mean of x over rows 1..4 with renormalised probabilities.
    let w: f64 = PROBS[1..4].iter().sum();
    let want: Vec<f64> =
        (0..2).map(|f| (1..4).map(|i| PROBS[i] * DATA[i][f]).sum::<f64>() / w).collect();
    let est = sampler.estimate(&cum(vec![x.clone()])).unwrap();
    assert_close(&eval_vec(&est), &want, 1e-14);
    // A var of an unknown group is an error.
    let other = var(&data(), &probs_group("other"), "o");
    let err = sampler.sample(&other).unwrap_err().to_string();
    assert!(err.contains("does not enumerate"), "{err}");
    let _ = z;
}

#[test]
fn uniform_groups_from_tags_and_nested_cumulants() {
    // Tag(Scalar) groups (the default uniform group); a Cumulant inside a Cumulant.
    let g = Circuit::uniform_probs_and_group(5).unwrap();
    let x = var(&data(), &g, "x");
    let centred = x.sub(&cum(vec![x.clone()])).unwrap();
    let sq = centred.mul(&centred).unwrap();
    let var_est = exact_sampler(std::slice::from_ref(&x)).estimate(&cum(vec![sq])).unwrap();
    let m: Vec<f64> = (0..2).map(|f| DATA.iter().map(|r| r[f]).sum::<f64>() / 5.0).collect();
    let want: Vec<f64> =
        (0..2).map(|f| DATA.iter().map(|r| (r[f] - m[f]).powi(2)).sum::<f64>() / 5.0).collect();
    assert_close(&eval_vec(&var_est), &want, 1e-13);
    // κ() is 1; κ of a constant is the constant.
    let sampler = exact_sampler(std::slice::from_ref(&x));
    assert_eq!(eval_vec(&sampler.estimate(&cum(vec![])).unwrap()), vec![1.0]);
    let c = data();
    assert_eq!(sampler.estimate(&cum(vec![c.clone()])).unwrap(), c);
}

#[test]
fn weights_follow_the_values_dtype() {
    // float32 values with float64 probabilities: the weights are made float32.
    let data32 = Circuit::array(
        circuit_ir::Tensor::from_vec(&[5, 2], DATA.iter().flatten().map(|&v| v as f32).collect())
            .unwrap(),
        Some("data32"),
    )
    .unwrap();
    let x = var(&data32, &probs_group("p"), "x");
    let est = exact_sampler(std::slice::from_ref(&x)).estimate(&cum(vec![x.clone()])).unwrap();
    assert_eq!(est.dtype(), Some(circuit_ir::DType::F32));
    assert_close(&eval_vec(&est), &mean(), 1e-6);
    // Uniform groups give Scalar weights (no dtype at all).
    let u = var(&data(), &Circuit::uniform_probs_and_group(5).unwrap(), "u");
    let spec = RunDiscreteVarAllSpec::create_full_from_circuits(std::slice::from_ref(&u)).unwrap();
    let w = spec.empirical_weights(None).unwrap();
    assert_eq!((w.kind(), w.dtype()), (circuit_ir::Kind::Scalar, None));
}
