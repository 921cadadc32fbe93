//! Cumulant algebra checked by value: every rewrite, estimated exactly by enumeration,
//! equals the original cumulant estimated exactly.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use circuit_ir::kinds::{RearrangeSpec, Slice, TensorAxisIndex};
use circuit_ir::{Circuit, Kind};
use circuit_sample::{
    cumulant_new_canon, cumulant_new_canon_rearrange, factored_cumulant_expectation_rewrite,
    rewrite_cum_to_circuit_of_cum, RunDiscreteVarAllSpec, Sampler,
};
use common::*;

fn cum(children: Vec<Circuit>) -> Circuit {
    Circuit::cumulant(children).unwrap()
}

/// Two independent variables and a weight matrix.
fn setup() -> (Circuit, Circuit, Circuit, Sampler) {
    let x = var(&data(), &probs_group("p"), "x");
    let d2 = array(&[3, 2], vec![1.0, 0.0, -1.0, 2.0, 4.0, 1.5], "data2");
    let z = var(&d2, &array(&[3], vec![0.5, 0.25, 0.25], "q"), "z");
    let w = array(&[2, 3], vec![0.5, -1.0, 2.0, 1.5, 0.25, -0.5], "w");
    let sampler = Sampler::new(
        RunDiscreteVarAllSpec::create_full_from_circuits(&[x.add(&z).unwrap()]).unwrap(),
    );
    (x, z, w, sampler)
}

fn same_value(sampler: &Sampler, a: &Circuit, b: &Circuit) {
    assert_eq!(a.shape(), b.shape());
    let va = eval_vec(&sampler.estimate(a).unwrap());
    let vb = eval_vec(&sampler.estimate(b).unwrap());
    assert_close(&va, &vb, 1e-12);
}

#[test]
fn canonical_cumulants_permute_axes_only() {
    let (x, z, _, sampler) = setup();
    let xz = x.mul(&z).unwrap();
    let (k, perm) = cumulant_new_canon(vec![z.clone(), x.clone(), xz.clone()]).unwrap();
    // Sorted by (name, hash): "x", "x * z", "z".
    let names: Vec<_> = k.children().iter().map(|c| c.name().unwrap().to_string()).collect();
    assert_eq!(names, vec!["x", "x * z", "z"]);
    assert_eq!(perm, vec![1, 2, 0]);
    let orig = cum(vec![z.clone(), x.clone(), xz.clone()]);
    let canon = cumulant_new_canon_rearrange(vec![z.clone(), x.clone(), xz]).unwrap();
    assert_eq!(canon.kind(), Kind::Rearrange);
    same_value(&sampler, &orig, &canon);
    // Already canonical: no Rearrange.
    assert_eq!(
        cumulant_new_canon_rearrange(vec![x.clone(), z.clone()]).unwrap().kind(),
        Kind::Cumulant
    );
}

#[test]
fn factored_rewrite_structure_and_value() {
    let (x, z, _, sampler) = setup();
    let k1 = cum(vec![x.clone()]);
    assert_eq!(factored_cumulant_expectation_rewrite(&k1).unwrap(), k1);
    let k2 = cum(vec![x.clone(), z.clone()]).rename(Some("k2")).unwrap();
    let r2 = factored_cumulant_expectation_rewrite(&k2).unwrap();
    assert_eq!((r2.kind(), r2.name()), (Kind::Cumulant, Some("k2")));
    let s = x.add(&z).unwrap();
    let k4 = cum(vec![s.clone(), x.clone(), s.clone(), z.clone()]);
    let r4 = factored_cumulant_expectation_rewrite(&k4).unwrap();
    assert_eq!(r4.kind(), Kind::Add);
    assert_eq!(r4.children().len(), 4, "the moment and three pair partitions");
    assert_eq!(r4.shape(), k4.shape());
    same_value(&sampler, &k4, &r4);
}

#[test]
fn push_through_einsum_with_weights() {
    let (x, z, w, sampler) = setup();
    // y = x·W (a linear map), u = x ⊙ z (a product of two random operands).
    let y = Circuit::einsum("a,ab->b", [x.clone(), w.clone()]).unwrap();
    let u = x.mul(&z).unwrap();
    for k in [
        cum(vec![y.clone()]),
        cum(vec![y.clone(), x.clone()]),
        cum(vec![x.clone(), y.clone(), z.clone()]),
        cum(vec![u.clone()]),
        cum(vec![u.clone(), x.clone()]),
        cum(vec![z.clone(), u.clone(), u.clone()]),
    ] {
        let node = if k.children().contains(&u) { u.clone() } else { y.clone() };
        let r = rewrite_cum_to_circuit_of_cum(&k, &node).unwrap();
        assert_eq!(r.shape(), k.shape());
        same_value(&sampler, &k, &r);
    }
    // κ(x·W) = κ(x)·W: the constant operand is kept as is, no zero terms.
    let r = rewrite_cum_to_circuit_of_cum(&cum(vec![y.clone()]), &y).unwrap();
    assert_eq!(r.kind(), Kind::Einsum);
    assert!(r.children().contains(&w));
    // A diagonal einsum (trace-like): κ(Σ_i x_i x_i, z).
    let d = Circuit::einsum("a,a->", [x.clone(), x.clone()]).unwrap();
    let k = cum(vec![d.clone(), z.clone()]);
    same_value(&sampler, &k, &rewrite_cum_to_circuit_of_cum(&k, &d).unwrap());
}

#[test]
fn push_through_linear_reshapes() {
    let (x, z, w, sampler) = setup();
    let xw = Circuit::einsum("a,ab->ab", [x.clone(), w.clone()]).unwrap();
    let rearranged = xw.rearrange(RearrangeSpec::parse("a b -> b 2 a").unwrap()).unwrap();
    let indexed = xw
        .index(vec![
            TensorAxisIndex::Int(1),
            TensorAxisIndex::Slice(Slice { start: Some(1), stop: None }),
        ])
        .unwrap();
    let tagged = x.tag(circuit_ir::Uuid::from_u128(7)).unwrap();
    let concat = Circuit::concat(
        vec![x.clone(), z.clone(), w.index(vec![TensorAxisIndex::Int(0)]).unwrap()],
        0,
    )
    .unwrap();
    let sum = x.add(&array(&[2], vec![3.0, -1.0], "bias")).unwrap();
    let bcast = xw.add(&z.rearrange(RearrangeSpec::parse("a -> a 1").unwrap()).unwrap()).unwrap();
    for node in [rearranged, indexed, tagged, concat, sum, bcast] {
        for k in [
            cum(vec![node.clone()]),
            cum(vec![z.clone(), node.clone()]),
            cum(vec![node.clone(), x.clone(), node.clone()]),
        ] {
            let r = rewrite_cum_to_circuit_of_cum(&k, &node)
                .unwrap_or_else(|e| panic!("{}: {e}", node.kind().name()));
            same_value(&sampler, &k, &r);
        }
    }
}

#[test]
fn unsupported_arguments() {
    let (x, _, w, _) = setup();
    let s = x.apply(circuit_ir::kinds::SimpleFn::Sigmoid).unwrap();
    let err = rewrite_cum_to_circuit_of_cum(&cum(vec![s.clone()]), &s).unwrap_err().to_string();
    assert!(err.contains("not multilinear"), "{err}");
    let err = rewrite_cum_to_circuit_of_cum(&cum(vec![x.clone()]), &x).unwrap_err().to_string();
    assert!(err.contains("not implemented"), "{err}");
    assert!(rewrite_cum_to_circuit_of_cum(&cum(vec![x.clone()]), &w).is_err());
    // Constant arguments: themselves for κ1, zeros otherwise.
    let same = rewrite_cum_to_circuit_of_cum(&cum(vec![w.clone()]), &w).unwrap();
    assert_eq!(same.name(), Some("K1(w)"), "the result keeps the cumulant's name");
    assert_eq!(same.rename(Some("w")).unwrap(), w);
    let z = rewrite_cum_to_circuit_of_cum(&cum(vec![w.clone(), x.clone()]), &w).unwrap();
    assert_eq!((z.kind(), z.shape().as_slice()), (Kind::Scalar, &[2usize, 3, 2][..]));
}
