//! Structure of sampled and estimated circuits, and the error cases (no evaluation).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use circuit_ir::kinds::GfSpec;
use circuit_ir::{Circuit, Kind, Uuid};
use circuit_match::Matcher;
use circuit_sample::{RandomSampleSpec, RunDiscreteVarAllSpec, SampleError, SampleSpec, Sampler};
use common::*;

fn cum(children: Vec<Circuit>) -> Circuit {
    Circuit::cumulant(children).unwrap()
}

fn kinds(c: &Circuit) -> Vec<Kind> {
    c.toposort().iter().map(Circuit::kind).collect()
}

#[test]
fn sampling_adds_leading_dims_and_leaves_cumulants_alone() {
    let x = var(&data(), &probs_group("p"), "x");
    let mean = cum(vec![x.clone()]).rename(Some("mean")).unwrap();
    let centred = x.sub(&mean).unwrap();
    let s = Sampler::new(RandomSampleSpec::new(&[3, 4]));
    let out = s.sample(&centred).unwrap();
    assert_eq!(out.shape().as_slice(), &[3, 4, 2]);
    assert_eq!(out.name(), Some("x + neg mean_sample"));
    // The Cumulant is untouched (estimation handles it), so the result cannot be
    // computed yet.
    assert!(out.toposort().contains(&mean));
    assert!(!out.flags().is_explicitly_computable());
    // Estimating first makes it computable.
    let est = s.estimate_and_sample(&centred).unwrap();
    assert!(est.flags().is_constant() && est.flags().is_explicitly_computable());
    assert!(!kinds(&est).contains(&Kind::Cumulant) && !kinds(&est).contains(&Kind::DiscreteVar));
    // No sample dims: shapes are unchanged.
    let s0 = Sampler::new(RandomSampleSpec::new(&[]));
    assert_eq!(s0.sample(&x).unwrap().shape().as_slice(), &[2]);
}

#[test]
fn constant_circuits_are_broadcast() {
    let d = data();
    let s = Sampler::new(RandomSampleSpec::new(&[4]));
    let out = s.sample(&d).unwrap();
    assert_eq!(out.shape().as_slice(), &[4, 5, 2]);
    assert_eq!(out.name(), Some("data_sample"));
    assert_eq!(out.children(), std::slice::from_ref(&d));
    let plain = Sampler::new(RandomSampleSpec::new(&[4])).with_suffix(None);
    assert_eq!(plain.sample(&d).unwrap().name(), Some("data rep_for_batch"));
}

#[test]
fn simplify_needs_a_constant_group() {
    let probs = array(&[5], PROBS.to_vec(), "p");
    // A computed group: probabilities doubled (an Einsum), so indices are drawn lazily.
    let computed = probs.mul_scalar(2.0).unwrap().rename(Some("2p")).unwrap();
    let x = var(&data(), &computed, "x");
    let out = Sampler::new(RandomSampleSpec::new(&[6])).sample(&x).unwrap();
    let gf: Vec<GfSpec> = out
        .toposort()
        .iter()
        .filter_map(|n| match n.op() {
            circuit_ir::Op::GeneralFunction(g) => Some(g.spec.clone()),
            _ => None,
        })
        .collect();
    assert!(matches!(gf[0], GfSpec::Multinomial { replacement: true, .. }), "{gf:?}");
    assert!(matches!(
        gf[1],
        GfSpec::GenIndex { index_dim: -2, batch_x: true, batch_index: false, .. }
    ));
    // Exhaustive enumeration cannot read such probabilities.
    let err = RunDiscreteVarAllSpec::create_full_from_circuits(&[x]).unwrap_err();
    assert!(matches!(err, SampleError::NonConstantGroup { .. }), "{err}");
    // A constant group with a 2-D sample shape gives an int64 Array index and gen_index.
    let y = var(&data(), &probs, "y");
    let out = Sampler::new(RandomSampleSpec::new(&[2, 3])).sample(&y).unwrap();
    assert_eq!(out.kind(), Kind::GeneralFunction);
    assert_eq!(out.children()[1].kind(), Kind::Array);
    assert_eq!(out.children()[1].name(), Some("p sampled_idxs"));
    assert_eq!(out.children()[1].dtype(), Some(circuit_ir::DType::I64));
    // 1-D: a plain Index.
    let out = Sampler::new(RandomSampleSpec::new(&[6])).sample(&y).unwrap();
    assert_eq!((out.kind(), out.name()), (Kind::Index, Some("y sampled")));
}

#[test]
fn groups_are_collected_in_preorder() {
    let p = probs_group("p");
    let q = probs_group("q");
    let r = probs_group("r");
    let (x, z, w) = (var(&data(), &p, "x"), var(&data(), &q, "z"), var(&data(), &r, "w"));
    // Pre-order: z (via the Add's first child), x, then w from the second circuit.
    let c1 = z.add(&x).unwrap();
    let c2 = w.add(&x).unwrap();
    for _ in 0..3 {
        let spec =
            RunDiscreteVarAllSpec::create_full_from_circuits(&[c1.clone(), c2.clone()]).unwrap();
        let names: Vec<_> = spec.groups().iter().map(|g| g.name().unwrap()).collect();
        assert_eq!(names, vec!["q", "p", "r"]);
        assert_eq!(spec.sample_shape(), vec![5, 5, 5]);
        assert!(
            (spec.effective_sample_count()
                - 1.0 / PROBS.iter().map(|p| p * p).sum::<f64>().powi(3))
            .abs()
                < 1e-9
        );
    }
    let sampled = Sampler::new(
        RunDiscreteVarAllSpec::create_full_from_circuits(std::slice::from_ref(&c1)).unwrap(),
    )
    .sample(&c1)
    .unwrap();
    assert_eq!(sampled.shape().as_slice(), &[5, 5, 2]);
}

#[test]
fn spec_errors() {
    let p = probs_group("p");
    let two_d = array(&[5, 1], PROBS.to_vec(), "p2");
    assert!(matches!(
        RunDiscreteVarAllSpec::new(vec![two_d]).unwrap_err(),
        SampleError::GroupNotOneDim { .. }
    ));
    let dup = RunDiscreteVarAllSpec::new(vec![p.clone(), p.clone()]).unwrap_err();
    assert!(dup.to_string().contains("twice"), "{dup}");
    assert!(RunDiscreteVarAllSpec::with_subsets(vec![p.clone()], vec![Some(2..7)]).is_err());
    assert!(RunDiscreteVarAllSpec::with_subsets(vec![p.clone()], vec![]).is_err());
    let zero = RunDiscreteVarAllSpec::with_subsets(vec![p.clone()], vec![Some(2..2)]).unwrap_err();
    assert!(zero.to_string().contains("total probability"), "{zero}");
    assert!(RandomSampleSpec::new(&[0]).empirical_weights(None).is_err());
}

#[test]
fn stored_cumulant_vars_cannot_be_sampled() {
    let mean = Circuit::scalar(0.0, &[2], Some("m")).unwrap();
    let cov = Circuit::scalar(1.0, &[2, 2], Some("c")).unwrap();
    let v = Circuit::stored_cumulant_var(vec![1, 2], vec![mean, cov], Uuid::from_u128(1)).unwrap();
    let err =
        RunDiscreteVarAllSpec::create_full_from_circuits(std::slice::from_ref(&v)).unwrap_err();
    assert!(matches!(err, SampleError::UnsupportedVar { kind: "StoredCumulantVar", .. }), "{err}");
    let s = Sampler::new(RandomSampleSpec::new(&[3]));
    let err = s.estimate(&cum(vec![v.clone()])).unwrap_err();
    assert!(matches!(err, SampleError::NotFullySampled { .. }), "{err}");
    let eager = s.clone().with_var_matcher(Kind::StoredCumulantVar);
    let err = eager.sample(&v).unwrap_err();
    assert!(matches!(err, SampleError::UnsupportedVar { .. }), "{err}");
}

#[test]
fn matchers_suffix_and_run_on_sampled() {
    let x = var(&data(), &probs_group("p"), "x");
    let a = cum(vec![x.clone()]).rename(Some("a")).unwrap();
    let b = cum(vec![x.clone(), x.clone()]).rename(Some("b")).unwrap();
    let both = Circuit::concat(
        vec![a.clone(), b.index(vec![circuit_ir::kinds::TensorAxisIndex::Int(0)]).unwrap()],
        0,
    )
    .unwrap();
    let only_a =
        Sampler::new(RandomSampleSpec::new(&[8])).with_cumulant_matcher(Matcher::from("a"));
    let est = only_a.estimate(&both).unwrap();
    let names: Vec<_> =
        est.toposort().iter().filter_map(|n| n.name().map(str::to_string)).collect();
    assert!(names.contains(&"x_sample_expectation".to_string()));
    assert!(est.toposort().contains(&b), "b is not matched, so it stays");
    // A matched higher cumulant is estimated completely, sub-cumulants included.
    let only_b =
        Sampler::new(RandomSampleSpec::new(&[8])).with_cumulant_matcher(Matcher::from("b"));
    let est = only_b.estimate(&b).unwrap();
    assert!(est.flags().is_explicitly_computable(), "{est:?}");
    // run_on_sampled runs on every sampled circuit.
    let tagged = Sampler::new(RandomSampleSpec::new(&[8]))
        .with_suffix(Some("s"))
        .with_run_on_sampled(|c| Ok(c.rename(Some("after"))?));
    assert_eq!(tagged.sample(&x.add(&x).unwrap()).unwrap().name(), Some("after"));
    let e = tagged.estimate(&cum(vec![x.add(&x).unwrap()])).unwrap();
    assert_eq!(e.name(), Some("x + x_s_expectation"));
    assert_eq!(e.children()[1].name(), Some("after"));
    // estimate_with_error only handles expectations.
    let err = tagged.estimate_with_error(&b).unwrap_err();
    assert!(matches!(err, SampleError::Unsupported(_)), "{err}");
    let one = Sampler::new(RandomSampleSpec::new(&[1]));
    assert!(one.estimate_with_error(&cum(vec![x.clone()])).is_err());
    let (c, se) = one.estimate_with_error(&cum(vec![data()])).unwrap();
    assert_eq!((c, se.kind()), (data(), Kind::Scalar));
}

#[test]
fn fresh_uniform_groups_are_independent_draws() {
    let g1 = Circuit::uniform_probs_and_group(5).unwrap();
    let g2 = Circuit::uniform_probs_and_group(5).unwrap();
    assert_ne!(g1, g2);
    let s = Sampler::new(RandomSampleSpec::new(&[64]));
    let a = s.sample(&var(&data(), &g1, "x")).unwrap();
    let b = s.sample(&var(&data(), &g2, "x")).unwrap();
    let idx = |c: &Circuit| match c.op() {
        circuit_ir::Op::Index(i) => i.index[0].clone(),
        _ => panic!("expected an Index"),
    };
    assert_ne!(idx(&a), idx(&b));
    // Same group, same draw, even for different values.
    let c = s.sample(&var(&data().mul_scalar(3.0).unwrap(), &g1, "y")).unwrap();
    assert_eq!(idx(&a), idx(&c));
}
