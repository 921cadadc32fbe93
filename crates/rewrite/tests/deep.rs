//! Deep circuits (long chains) do not overflow the stack in any whole-circuit rewrite.
#![allow(clippy::unwrap_used, missing_docs)]

use circuit_ir::kinds::{ModuleArgSpec, SimpleFn, Slice, TensorAxisIndex};
use circuit_ir::{Circuit, Uuid};
use circuit_match::{new_traversal, Matcher};
use circuit_rewrite::pipeline::{parse_pipeline, run_pipeline};
use circuit_rewrite::{push_down_index, push_down_modules, PushDownIndexOptions};

const DEPTH: usize = 20_000;

fn chain(base: Circuit) -> Circuit {
    let mut c = base;
    for i in 0..DEPTH {
        c = if i % 2 == 0 {
            c.apply(SimpleFn::Tanh).unwrap()
        } else {
            Circuit::sum_of([c, Circuit::scalar(0.0, &[3], None).unwrap()]).unwrap()
        };
    }
    c
}

#[test]
fn deep_chains_survive_every_pass() {
    let x = Circuit::symbol(&[2, 3], Uuid::from_u128(1), Some("x")).unwrap();
    let c = chain(x.clone());
    let steps = parse_pipeline("simp,compiler-simp,canonicalize,normalize,strip-names,substitute-modules,flatten-adds,push-down-index,distribute-all").unwrap();
    let out = run_pipeline(&c, &steps).unwrap();
    assert_eq!(out.shape(), c.shape());
    let idx =
        c.index(vec![TensorAxisIndex::Slice(Slice { start: Some(0), stop: Some(1) })]).unwrap();
    let pushed = push_down_index(&idx, &PushDownIndexOptions::default()).unwrap();
    assert_eq!(pushed.shape(), idx.shape());
    let sym = Circuit::symbol(&[2, 3], Uuid::from_u128(2), Some("s")).unwrap();
    let m =
        Circuit::module(chain(sym.clone()), vec![(ModuleArgSpec::new(sym).unwrap(), x)], Some("m"))
            .unwrap();
    let p = push_down_modules(&m, new_traversal(None, None, Matcher::never()), None).unwrap();
    assert_eq!(p.shape(), m.shape());
}
