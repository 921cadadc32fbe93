//! Distribution, index push-down, batching, replace-expand, canonicalization and nesting.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use circuit_ir::kinds::{Slice, TensorAxisIndex};
use circuit_ir::{Circuit, Kind, NodeMap, Op};
use circuit_match::traverse_until_depth;
use circuit_rewrite::{
    batch_to_concat, deep_canonicalize, distribute, distribute_all, distribute_once,
    einsum_nest_path, index_split_axes, nest_adds, nest_einsums, push_down_index,
    replace_expand_bottom_up_dict, split_to_concat, BatchOptions, DistributeOptions, NestSpec,
    PushDownIndexOptions, RewriteError,
};
use common::{assert_same_value, parse1, print};

const EIN: &str = "'e' Einsum ab,b->a
  'x' [2,3] Symbol 00000000-0000-4000-8000-000000000001
  'sum' Add
    'inner' Add
      'y' [3] Symbol 00000000-0000-4000-8000-000000000002
      'y2' [3] Symbol 00000000-0000-4000-8000-000000000003
    'k' [] Scalar 2";

#[test]
fn distribute_once_and_nested() {
    let e = parse1(EIN);
    let once = distribute_once(&e, 1, true, Some("p."), None).unwrap();
    assert_eq!(once.kind(), Kind::Add);
    assert_eq!(once.name(), Some("e"));
    assert!(print(&once).contains("'p.inner' Einsum"), "{}", print(&once));
    assert_same_value(&e, &once);
    // Depth 2 also distributes the nested Add.
    let deep = distribute(
        &e,
        1,
        &DistributeOptions { traversal: traverse_until_depth(2), ..Default::default() },
    )
    .unwrap();
    assert_same_value(&e, &deep);
    assert!(deep.children()[0].children().iter().all(|c| c.kind() == Kind::Einsum));
    let err = distribute(&e, 0, &DistributeOptions::default()).unwrap_err();
    assert!(matches!(err, RewriteError::Noop { .. }), "{err}");
    assert!(matches!(
        distribute_once(&e, 0, true, None, None),
        Err(RewriteError::Unsupported { .. })
    ));
    assert!(matches!(
        distribute_once(&e, 7, true, None, None),
        Err(RewriteError::InvalidArgument { .. })
    ));
    let all = distribute_all(&e).unwrap().unwrap();
    assert_same_value(&e, &all);
}

#[test]
fn push_down_index_partial_and_strict() {
    let c = parse1(
        "'i' Index [0,1]
  'g' GeneralFunction softmax
    'x' [2,3] Symbol 00000000-0000-4000-8000-000000000001",
    );
    let err = push_down_index(&c, &PushDownIndexOptions::default()).unwrap_err();
    assert!(matches!(err, RewriteError::Unsupported { .. }), "{err}");
    let opts = PushDownIndexOptions {
        allow_partial_pushdown: true,
        suffix: Some("_s".into()),
        ..Default::default()
    };
    let out = push_down_index(&c, &opts).unwrap();
    assert_same_value(&c, &out);
    assert!(print(&out).contains("'x_s'"), "{}", print(&out));
    let through_index = parse1(
        "'i' Index [0]
  'j' Index [1:2]
    'x' [2,3] Symbol 00000000-0000-4000-8000-000000000001",
    );
    assert!(matches!(
        push_down_index(&through_index, &PushDownIndexOptions::default()),
        Err(RewriteError::Unsupported { .. })
    ));
    let (bottom, top) = index_split_axes(
        &[TensorAxisIndex::Int(1), TensorAxisIndex::Slice(Slice { start: Some(1), stop: None })],
        &[1],
    )
    .unwrap();
    assert_eq!(bottom, vec![TensorAxisIndex::Int(1), TensorAxisIndex::FULL]);
    assert_eq!(top.len(), 1);
}

#[test]
fn push_down_index_one_step() {
    let c = parse1(
        "'i' Index [1,0:2]
  'a' Add
    'e' Einsum ab,b->ab
      'x' [2,3] Symbol 00000000-0000-4000-8000-000000000001
      'y' [3] Symbol 00000000-0000-4000-8000-000000000002
    'y'",
    );
    let opts =
        PushDownIndexOptions { traversal: Some(traverse_until_depth(1)), ..Default::default() };
    let out = push_down_index(&c, &opts).unwrap();
    assert_eq!(out.kind(), Kind::Add);
    assert_eq!(out.name(), Some("i"));
    assert!(out.children().iter().all(|k| k.kind() == Kind::Index));
    assert_same_value(&c, &out);
    let none =
        PushDownIndexOptions { traversal: Some(traverse_until_depth(0)), ..Default::default() };
    assert_eq!(push_down_index(&c, &none).unwrap(), c);
}

#[test]
fn batching_keeps_the_value() {
    let c = parse1(
        "'out' Einsum ab,bc->ac
  's' GeneralFunction sigmoid
    'x' [5,3] Symbol 00000000-0000-4000-8000-000000000001
  'w' [3,4] Symbol 00000000-0000-4000-8000-000000000002",
    );
    let b = batch_to_concat(&c, 0, 2, &BatchOptions::default()).unwrap();
    assert_eq!(b.kind(), Kind::Concat);
    assert_eq!(b.children().len(), 3);
    assert_same_value(&c, &b);
    assert!(batch_to_concat(&c, 0, 0, &BatchOptions::default()).is_err());
    assert!(batch_to_concat(&c, 0, 2, &BatchOptions { allow_partial_batch: false }).is_err());
    assert!(batch_to_concat(&c, 5, 2, &BatchOptions::default()).is_err());
    let s = split_to_concat(&c, 1, &[1, 3]).unwrap();
    assert_same_value(&c, &s);
    assert!(split_to_concat(&c, 1, &[1, 1]).is_err());
}

#[test]
fn replace_expand_batches_ancestors() {
    let c = parse1(
        "'a' Add
  'g' GeneralFunction sigmoid
    'x' [3] Symbol 00000000-0000-4000-8000-000000000001
  'k' [3] Scalar 1",
    );
    let x = c.children()[0].children()[0].clone();
    let big = Circuit::scalar(0.5, &[2, 3], Some("xb")).unwrap();
    let mut map = NodeMap::default();
    map.insert(x, big);
    let out = replace_expand_bottom_up_dict(&c, &map).unwrap();
    assert_eq!(out.shape().as_slice(), &[2, 3]);
    assert!(out.free_symbols().is_empty());
}

#[test]
fn canonicalize_is_idempotent_and_value_preserving() {
    let c = parse1(EIN);
    let d = deep_canonicalize(&c).unwrap();
    assert_eq!(deep_canonicalize(&d).unwrap(), d);
    assert_same_value(&c, &d);
}

const CHAIN: &str = "'root' Einsum ab,bc->ac
  'left' Einsum ab,bc->ac
    'p' [2,5] Symbol 00000000-0000-4000-8000-000000000004
    'q' [5,3] Symbol 00000000-0000-4000-8000-000000000005
  'r' [3,4] Symbol 00000000-0000-4000-8000-000000000006";

#[test]
fn nest_einsums_by_spec() {
    let c = parse1(CHAIN);
    let all = circuit_match::new_traversal(None, None, circuit_match::Matcher::never());
    // ((q, r), p)
    let spec =
        NestSpec::list([NestSpec::list([NestSpec::Leaf(1), NestSpec::Leaf(2)]), NestSpec::Leaf(0)]);
    let out = nest_einsums(&c, &spec, all.clone()).unwrap();
    assert_eq!(out.name(), Some("root"));
    assert_eq!(out.children()[0].kind(), Kind::Einsum);
    assert_eq!(out.children()[1].name(), Some("p"));
    assert_same_value(&c, &out);
    let by_matcher = NestSpec::list([NestSpec::unique("r"), NestSpec::Rest { flat: false }]);
    let out2 = nest_einsums(&c, &by_matcher, all.clone()).unwrap();
    assert_eq!(out2.children()[0].name(), Some("r"));
    assert_same_value(&c, &out2);
    let missing = NestSpec::list([NestSpec::Leaf(0)]);
    assert!(matches!(
        nest_einsums(&c, &missing, all.clone()),
        Err(RewriteError::InvalidArgument { .. })
    ));
    let twice =
        NestSpec::list([NestSpec::Leaf(0), NestSpec::Leaf(0), NestSpec::Rest { flat: true }]);
    assert!(nest_einsums(&c, &twice, all).is_err());
}

#[test]
fn nest_path_and_adds() {
    let c = parse1(CHAIN);
    let flat = circuit_rewrite::rules::einsum_flatten(&c).unwrap().unwrap();
    let nested = einsum_nest_path(&flat, Some(&[vec![1, 2], vec![0, 1]])).unwrap();
    assert_same_value(&c, &nested);
    let opt = einsum_nest_path(&flat, None).unwrap();
    assert_same_value(&c, &opt);
    assert!(einsum_nest_path(&flat, Some(&[vec![5]])).is_err());
    let add = parse1(
        "'a' Add
  'b' Add
    'x' [3] Symbol 00000000-0000-4000-8000-000000000001
    'y' [3] Symbol 00000000-0000-4000-8000-000000000002
  'z' [2,3] Symbol 00000000-0000-4000-8000-000000000003",
    );
    let all = circuit_match::new_traversal(None, None, circuit_match::Matcher::never());
    let spec = NestSpec::list([
        NestSpec::Leaf(2),
        NestSpec::Named { spec: Box::new(NestSpec::Rest { flat: false }), name: "xy".into() },
    ]);
    let out = nest_adds(&add, &spec, all).unwrap();
    assert_eq!(out.children()[1].name(), Some("xy"));
    assert!(matches!(out.op(), Op::Add));
    assert_same_value(&add, &out);
}
