//! Random sampling (`RandomSampleSpec`): coverage of the exact value by the standard
//! error, determinism, groups, and the multinomial draws seen through circuits.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;

use circuit_ir::{Circuit, Kind};
use circuit_sample::{hash_seeder, RandomSampleSpec, Sampler, Seeder};
use common::*;

fn cum(children: Vec<Circuit>) -> Circuit {
    Circuit::cumulant(children).unwrap()
}

#[test]
fn estimates_land_within_four_standard_errors() {
    let x = var(&data(), &probs_group("p"), "x");
    let k1 = cum(vec![x.clone()]);
    let exact = mean();
    let n = 400;
    let mut worst: f64 = 0.0;
    for seed in 0..24 {
        let sampler = Sampler::new(RandomSampleSpec::new(&[n]).with_base_seed(seed));
        let (est, se) = sampler.estimate_with_error(&k1).unwrap();
        assert_eq!(se.name(), Some("x_sample_stderr"));
        let (e, s) = (eval_vec(&est), eval_vec(&se));
        for f in 0..2 {
            let z = (e[f] - exact[f]).abs() / s[f];
            worst = worst.max(z);
            assert!(z <= 4.0, "seed {seed}, feature {f}: {} vs {} (se {})", e[f], exact[f], s[f]);
            // The standard error is about sqrt(Var / N).
            let var = central_moment(&[f, f]);
            assert!((s[f] / (var / n as f64).sqrt() - 1.0).abs() < 0.25, "{}", s[f]);
        }
    }
    assert!(worst > 0.0);
}

#[test]
fn stderr_is_the_unbiased_std_over_sqrt_n() {
    let x = var(&data(), &probs_group("p"), "x");
    let n = 50;
    let sampler = Sampler::new(RandomSampleSpec::new(&[n]).with_base_seed(3));
    let samples = eval_vec(&sampler.sample(&x).unwrap());
    let (_, se) = sampler.estimate_with_error(&cum(vec![x.clone()])).unwrap();
    let se = eval_vec(&se);
    for f in 0..2 {
        let v: Vec<f64> = (0..n).map(|s| samples[s * 2 + f]).collect();
        let m = v.iter().sum::<f64>() / n as f64;
        let s2 = v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        assert!((se[f] - (s2 / n as f64).sqrt()).abs() < 1e-12, "{} vs {}", se[f], s2);
    }
}

#[test]
fn covariance_estimates_converge() {
    let x = var(&data(), &probs_group("p"), "x");
    let sampler = Sampler::new(RandomSampleSpec::new(&[20_000]).with_base_seed(11));
    let got = eval_vec(&sampler.estimate(&cum(vec![x.clone(), x.clone()])).unwrap());
    let want: Vec<f64> = multi_indices(2).iter().map(|i| central_moment(i)).collect();
    assert_close(&got, &want, 0.05);
}

#[test]
fn same_seed_gives_bit_identical_circuits_and_values() {
    let x = var(&data(), &probs_group("p"), "x");
    let y = x.apply(circuit_ir::kinds::SimpleFn::Tanh).unwrap();
    for simplify in [true, false] {
        let spec = || RandomSampleSpec::new(&[7, 3]).with_base_seed(42).with_simplify(simplify);
        let a = Sampler::new(spec()).sample(&y).unwrap();
        let b = Sampler::new(spec()).sample(&y).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.shape().as_slice(), &[7, 3, 2]);
        assert_eq!(eval(&a).to_le_bytes(), eval(&b).to_le_bytes());
        let c = Sampler::new(spec().with_base_seed(43)).sample(&y).unwrap();
        assert_ne!(eval(&a).to_le_bytes(), eval(&c).to_le_bytes());
    }
}

#[test]
fn simplified_and_symbolic_draws_agree() {
    // The eager draw (circuit_tensor::multinomial) and the evaluator's multinomial
    // GeneralFunction give the same indices.
    let x = var(&data(), &probs_group("p"), "x");
    for (shape, replace) in [(vec![64], true), (vec![4, 5], true), (vec![5], false), (vec![], true)]
    {
        let spec = RandomSampleSpec::new(&shape).with_base_seed(5).with_replace(replace);
        let eager = Sampler::new(spec.clone()).sample(&x).unwrap();
        let lazy = Sampler::new(spec.with_simplify(false)).sample(&x).unwrap();
        let gf = lazy.toposort().into_iter().any(|n| n.kind() == Kind::GeneralFunction);
        assert!(gf, "the unsimplified form keeps the multinomial");
        let eager_kinds: Vec<Kind> = eager.toposort().iter().map(Circuit::kind).collect();
        assert!(!eager_kinds.contains(&Kind::GeneralFunction) || shape.len() > 1);
        assert_eq!(eval_vec(&eager), eval_vec(&lazy), "shape {shape:?} replace {replace}");
    }
}

#[test]
fn vars_sharing_a_group_are_sampled_together() {
    let g = probs_group("p");
    let x = var(&data(), &g, "x");
    let doubled = array(&[5, 2], DATA.iter().flatten().map(|v| 2.0 * v).collect(), "data2x");
    let y = var(&doubled, &g, "y");
    let other = var(&data(), &probs_group("q"), "w");
    for simplify in [true, false] {
        let sampler =
            Sampler::new(RandomSampleSpec::new(&[200]).with_base_seed(9).with_simplify(simplify));
        // y − 2x is zero in every sample: the two variables take the same row.
        let diff = y.sub(&x.mul_scalar(2.0).unwrap()).unwrap();
        let sampled = sampler.sample(&diff).unwrap();
        assert_eq!(sampled.shape().as_slice(), &[200, 2]);
        assert!(eval_vec(&sampled).iter().all(|&v| v == 0.0));
        // Perfectly correlated: Corr(x_0, y_0) = 1.
        let cov = eval_vec(&sampler.estimate(&cum(vec![x.clone(), y.clone()])).unwrap());
        let vx = eval_vec(&sampler.estimate(&cum(vec![x.clone(), x.clone()])).unwrap());
        assert!((cov[0] / (2.0 * vx[0]) - 1.0).abs() < 1e-12);
        // A different group is drawn independently: w − x is not always zero and their
        // sample correlation is small.
        let d = eval_vec(&sampler.sample(&other.sub(&x).unwrap()).unwrap());
        assert!(d.iter().any(|&v| v != 0.0));
        let cxw = eval_vec(&sampler.estimate(&cum(vec![x.clone(), other.clone()])).unwrap());
        let vw = eval_vec(&sampler.estimate(&cum(vec![other.clone(), other.clone()])).unwrap());
        let corr = cxw[0] / (vx[0] * vw[0]).sqrt();
        assert!(corr.abs() < 0.25, "corr {corr}");
    }
}

#[test]
fn custom_seeders_fix_each_groups_seed() {
    let g1 = probs_group("p");
    let g2 = probs_group("q");
    let (h1, h2) = (g1.clone(), g2.clone());
    let seeder: Seeder = Arc::new(move |g: &Circuit| {
        if *g == h1 {
            11
        } else if *g == h2 {
            22
        } else {
            0
        }
    });
    let x = var(&data(), &g1, "x");
    let w = var(&data(), &g2, "w");
    let s = Sampler::new(RandomSampleSpec::new(&[30]).with_seeder(seeder));
    // Same seed for the same group, named after it.
    let sx = s.sample(&x).unwrap();
    assert!(sx.toposort().iter().any(|n| n.name() == Some("x sampled")));
    let lazy = Sampler::new(
        RandomSampleSpec::new(&[30]).with_simplify(false).with_seeder(Arc::new(|_: &Circuit| 11)),
    );
    let lx = lazy.sample(&x).unwrap();
    assert!(lx.toposort().iter().any(|n| n.name() == Some("seed_11")));
    assert!(lx.toposort().iter().any(|n| n.name() == Some("p sampled_idxs")));
    assert_eq!(eval_vec(&sx), eval_vec(&lx));
    assert_ne!(eval_vec(&sx), eval_vec(&s.sample(&w).unwrap()));
    // hash_seeder: group hash XOR base.
    let h = hash_seeder(5);
    assert_eq!(h(&g1) ^ 5, hash_seeder(0)(&g1));
}

#[test]
fn multinomial_frequencies_and_distinct_draws_through_circuits() {
    let probs = [0.05, 0.4, 0.0, 0.25, 0.3];
    let ids = array(&[5], vec![0.0, 1.0, 2.0, 3.0, 4.0], "ids");
    let g = array(&[5], probs.to_vec(), "g");
    let x = var(&ids, &g, "id");
    let n = 40_000;
    for simplify in [true, false] {
        let s = Sampler::new(RandomSampleSpec::new(&[n]).with_base_seed(1).with_simplify(simplify));
        let draws = eval_vec(&s.sample(&x).unwrap());
        for (i, p) in probs.iter().enumerate() {
            let freq = draws.iter().filter(|&&d| d == i as f64).count() as f64 / n as f64;
            let tol = 4.0 * (p * (1.0 - p) / n as f64).sqrt() + 1e-12;
            assert!((freq - p).abs() <= tol, "category {i}: {freq} vs {p}");
        }
        // Without replacement: the 4 non-zero categories, each exactly once.
        for seed in 0..10 {
            let s = Sampler::new(
                RandomSampleSpec::new(&[4])
                    .with_base_seed(seed)
                    .with_replace(false)
                    .with_simplify(simplify),
            );
            let mut d = eval_vec(&s.sample(&x).unwrap());
            d.sort_by(f64::total_cmp);
            assert_eq!(d, vec![0.0, 1.0, 3.0, 4.0]);
        }
        let too_many =
            Sampler::new(RandomSampleSpec::new(&[5]).with_replace(false).with_simplify(simplify));
        let sampled = too_many.sample(&x);
        if simplify {
            assert!(sampled.unwrap_err().to_string().contains("without replacement"));
        } else {
            assert!(circuit_eval::evaluate(&sampled.unwrap()).is_err());
        }
    }
}
