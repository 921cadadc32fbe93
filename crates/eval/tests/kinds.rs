//! Hand-computed values for the node kinds and behaviours the numpy fixtures do not
//! cover: Scalars, Cumulants, Tags, Modules, SetSymbolicShape, last_dim_size, int64
//! arithmetic, dtype resolution, multinomial, and the error cases.
#![allow(clippy::unwrap_used, clippy::type_complexity, clippy::manual_is_multiple_of)]

mod common;

use circuit_eval::{evaluate, evaluate_with, EvalError, EvalSettings};
use circuit_ir::kinds::{GfSpec, ModuleArgSpec, SimpleFn};
use circuit_ir::{Circuit, Uuid};
use circuit_tensor::DType;
use common::*;

#[test]
fn scalars_default_to_f32() {
    let a = Circuit::scalar(2.0, &[2, 3], Some("a")).unwrap();
    let b = Circuit::scalar(0.5, &[3], Some("b")).unwrap();
    let c = a.add(&b).unwrap();
    let r = eval(&c);
    assert_eq!(r.dtype(), DType::F32);
    assert_values(&r, &[2, 3], &[2.5; 6]);
    let s = Circuit::einsum("ab,b->", [a, b]).unwrap();
    assert_values(&eval(&s), &[], &[6.0]);
    let f64s = EvalSettings { default_dtype: DType::F64, ..EvalSettings::default() };
    assert_eq!(evaluate_with(&s, &f64s).unwrap().dtype(), DType::F64);
}

#[test]
fn scalars_follow_their_consumers_dtype() {
    // 0.1 made directly in float64 next to a float64 array: no float32 rounding.
    let x = arr(f64t(&[2], &[1.0, 2.0]), "x");
    let tenth = Circuit::scalar(0.1, &[2], Some("tenth")).unwrap();
    let r = eval(&x.add(&tenth).unwrap());
    assert_eq!(r.dtype(), DType::F64);
    assert_eq!(r.to_f64_vec(), vec![1.1, 2.1]);
}

#[test]
fn einsum_with_scalar_only_output_label_broadcasts() {
    let x = arr(f32t(&[2], &[1.0, 2.0]), "x");
    let s = Circuit::scalar(3.0, &[3], Some("s")).unwrap();
    let c = Circuit::einsum_from_axes(vec![(x, vec![0]), (s, vec![1])], &[1, 0], None).unwrap();
    assert_values(&eval(&c), &[3, 2], &[3., 6., 3., 6., 3., 6.]);
}

#[test]
fn empty_einsum_and_add() {
    let one = Circuit::einsum("->", []).unwrap();
    assert_values(&eval(&one), &[], &[1.0]);
    let zero = Circuit::sum_of([]).unwrap();
    assert_values(&eval(&zero), &[], &[0.0]);
}

#[test]
fn cumulants_of_constants() {
    let x = arr(f32t(&[2], &[1.0, 2.0]), "x");
    let y = arr(f32t(&[3], &[1.0, 2.0, 3.0]), "y");
    assert_values(&eval(&Circuit::cumulant(vec![]).unwrap()), &[], &[1.0]);
    assert_values(&eval(&Circuit::cumulant(vec![x.clone()]).unwrap()), &[2], &[1.0, 2.0]);
    let k2 = Circuit::cumulant(vec![x, y]).unwrap();
    assert_values(&eval(&k2), &[2, 3], &[0.0; 6]);
}

#[test]
fn tags_and_set_symbolic_shape_are_identities() {
    let x = arr(f32t(&[2], &[1.0, -2.0]), "x");
    let t = x.tag(Uuid::new_v4()).unwrap().set_symbolic_shape(&[2]).unwrap();
    assert_values(&eval(&t), &[2], &[1.0, -2.0]);
}

#[test]
fn modules_are_substituted() {
    let sym = Circuit::symbol(&[2], Uuid::new_v4(), Some("m.x")).unwrap();
    let body = sym.apply(SimpleFn::Relu).unwrap().mul_scalar(2.0).unwrap();
    let input = arr(f32t(&[3, 2], &[1., -1., 2., -2., 3., -3.]), "inp");
    let m =
        Circuit::module(body, vec![(ModuleArgSpec::new(sym).unwrap(), input)], Some("m")).unwrap();
    assert_values(&eval(&m), &[3, 2], &[2., 0., 4., 0., 6., 0.]);
}

#[test]
fn last_dim_size_and_int64() {
    let x = arr(f32t(&[2, 5], &[0.0; 10]), "x");
    assert_values(&eval(&x.apply(SimpleFn::LastDimSize).unwrap()), &[2], &[5.0, 5.0]);
    let a = arr(i64t(&[2, 2], &[1, 2, 3, 4]), "a");
    let b = arr(i64t(&[2, 2], &[5, 6, 7, 8]), "b");
    let mm = Circuit::einsum("ab,bc->ac", [a.clone(), b.clone()]).unwrap();
    let r = eval(&mm);
    assert_eq!(r.dtype(), DType::I64);
    assert_eq!(r.to_i64_vec(), vec![19, 22, 43, 50]);
    let s = eval(&a.add(&b).unwrap().apply(SimpleFn::Abs).unwrap());
    assert_eq!(s.to_i64_vec(), vec![6, 8, 10, 12]);
}

#[test]
fn multinomial_is_deterministic_and_respects_probabilities() {
    let probs = arr(f32t(&[2, 3], &[0.0, 1.0, 0.0, 0.25, 0.0, 0.75]), "p");
    let seed = arr(i64t(&[], &[7]), "seed");
    let spec = GfSpec::Multinomial { replacement: true, shape: [400].into_iter().collect() };
    let c = Circuit::general_function(spec, vec![probs.clone(), seed.clone()]).unwrap();
    let a = eval(&c);
    assert_eq!(a.shape(), &[2, 400]);
    assert_eq!(a.dtype(), DType::I64);
    assert_eq!(a.to_i64_vec(), eval(&c).to_i64_vec(), "same seed, same samples");
    let v = a.to_i64_vec();
    assert!(v[..400].iter().all(|&x| x == 1));
    let twos = v[400..].iter().filter(|&&x| x == 2).count();
    assert!(v[400..].iter().all(|&x| x == 0 || x == 2));
    assert!((240..=360).contains(&twos), "{twos} of 400 draws hit p=0.75");
    let spec = GfSpec::Multinomial { replacement: false, shape: [2].into_iter().collect() };
    let p2 = arr(f32t(&[2, 3], &[0.5, 0.5, 0.0, 0.2, 0.3, 0.5]), "p2");
    let c = Circuit::general_function(spec.clone(), vec![p2, seed.clone()]).unwrap();
    let v = eval(&c).to_i64_vec();
    assert!(v[0] != v[1] && v[2] != v[3] && v[0] < 2 && v[1] < 2, "{v:?}");
    // Row 0 of `probs` has one non-zero category: two draws without replacement fail.
    let c = Circuit::general_function(spec, vec![probs, seed]).unwrap();
    let err = evaluate(&c).unwrap_err();
    assert!(matches!(err, EvalError::Invalid { .. }), "{err}");
}

#[test]
fn symbols_and_variables_are_not_evaluable() {
    let s = Circuit::symbol(&[2], Uuid::new_v4(), Some("free_sym")).unwrap();
    let x = arr(f32t(&[2], &[1.0, 2.0]), "x");
    let c = x.add(&s).unwrap().apply(SimpleFn::Exp).unwrap();
    match evaluate(&c) {
        Err(EvalError::NotEvaluable { culprit, .. }) => assert_eq!(culprit, "'free_sym'"),
        other => panic!("expected NotEvaluable, got {other:?}"),
    }
    let v = Circuit::discrete_var(
        arr(f32t(&[3, 2], &[0.0; 6]), "vals"),
        Circuit::uniform_probs_and_group(3).unwrap(),
    )
    .unwrap();
    let err = evaluate(&v.add(&x).unwrap()).unwrap_err();
    assert!(matches!(err, EvalError::NotEvaluable { .. }), "{err}");
    assert!(err.to_string().contains("random variable"), "{err}");
}

#[test]
fn computed_index_out_of_range_is_a_typed_error() {
    let x = arr(f32t(&[2, 3], &[0.0; 6]), "x");
    let idx = arr(i64t(&[2], &[1, 3]), "idx");
    let spec = GfSpec::GenIndex {
        index_dim: -1,
        batch_x: true,
        batch_index: true,
        check_index_ints: true,
    };
    let c = Circuit::general_function(spec, vec![x, idx]).unwrap();
    match evaluate(&c) {
        Err(EvalError::IndexOutOfRange { value, size, .. }) => assert_eq!((value, size), (3, 3)),
        other => panic!("expected IndexOutOfRange, got {other:?}"),
    }
}

#[test]
fn unsupported_dtypes_are_typed_errors() {
    let t = circuit_tensor::Tensor::from_vec(&[2], vec![1i32, 2]).unwrap();
    let c = arr(t, "ints32");
    let err = evaluate(&c).unwrap_err();
    assert!(matches!(err, EvalError::UnsupportedDType { .. }), "{err}");
}

#[test]
fn threads_setting_is_honoured() {
    let a = randn(&[64, 64], 1, DType::F32, "a");
    let c = Circuit::einsum("ab,bc->ac", [a.clone(), a]).unwrap();
    let one = EvalSettings { threads: Some(1), ..EvalSettings::default() };
    assert_close(&evaluate_with(&c, &one).unwrap(), &eval(&c), 1e-6, 1e-6);
}

/// `gen_index` with both batch flags: `index_dim` counts after the index's (batch) dims,
/// so 0 and -1 mean the same here: out[b] = x[b, idx[b]].
#[test]
fn gen_index_batched_dim_is_relative_to_the_non_batch_dims() {
    let x = Circuit::array(
        circuit_tensor::Tensor::from_vec(&[2, 3], vec![10.0f32, 11., 12., 20., 21., 22.]).unwrap(),
        Some("x"),
    )
    .unwrap();
    let idx =
        Circuit::array(circuit_tensor::Tensor::from_vec(&[2], vec![2i64, 0]).unwrap(), Some("i"))
            .unwrap();
    for index_dim in [0, -1] {
        let spec = GfSpec::GenIndex {
            index_dim,
            batch_x: true,
            batch_index: true,
            check_index_ints: true,
        };
        let g = Circuit::general_function(spec, vec![x.clone(), idx.clone()]).unwrap();
        assert_eq!(evaluate(&g).unwrap().to_f64_vec(), vec![12.0, 20.0], "index_dim {index_dim}");
    }
}
