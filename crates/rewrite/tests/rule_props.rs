//! Property test on circuits built to trigger the rules: nested Adds and Einsums,
//! permutations, repeats, slices, Concats of slices and zero padding, Scatters, simple
//! functions and modules over a few Symbols of shape `[2,3]`. Random sequences of rules
//! must keep the value.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use circuit_ir::kinds::{GfSpec, ModuleArgSpec, SimpleFn, Slice, TensorAxisIndex};
use circuit_ir::{Circuit, Uuid};
use circuit_rewrite::{deep_canonicalize, RuleSet, RULES};
use circuit_testkit::Gen;
use common::{close, print, value};
use proptest::prelude::*;

fn sym(i: u128, shape: &[usize]) -> Circuit {
    Circuit::symbol(shape, Uuid::from_u128(i + 1), Some(&format!("s{i}"))).unwrap()
}

fn sl(a: i64, b: i64) -> TensorAxisIndex {
    TensorAxisIndex::Slice(Slice { start: Some(a), stop: Some(b) })
}

/// A random `[2,3]` circuit of the given depth.
fn gen(g: &mut Gen, depth: usize) -> Circuit {
    if depth == 0 || g.chance(0.15) {
        return match g.below(4) {
            0 => Circuit::scalar([0.0, 1.0, 2.0, -0.5][g.below(4)], &[2, 3], None).unwrap(),
            _ => sym(g.below(3) as u128, &[2, 3]),
        };
    }
    let a = gen(g, depth - 1);
    match g.below(16) {
        0 => a.add(&gen(g, depth - 1)).unwrap(),
        1 => Circuit::sum_of([a.clone(), a.clone(), gen(g, depth - 1)]).unwrap(),
        2 => Circuit::sum_of([a, Circuit::scalar(0.0, &[3], None).unwrap(), sym(3, &[3])]).unwrap(),
        3 => Circuit::einsum("ab,ab->ab", [a, gen(g, depth - 1)]).unwrap(),
        4 => Circuit::einsum(
            "ab,,->ab",
            [a, Circuit::scalar(2.0, &[], None).unwrap(), Circuit::scalar(1.0, &[], None).unwrap()],
        )
        .unwrap(),
        5 => {
            let t = Circuit::einsum("ab->ba", [a]).unwrap();
            Circuit::einsum("ba->ab", [t]).unwrap()
        }
        6 => a.rearrange_str("a b -> b a").unwrap().rearrange_str("b a -> a b").unwrap(),
        7 => a
            .index(vec![sl(0, 1)])
            .unwrap()
            .rearrange_str("() b -> b")
            .unwrap()
            .rearrange_str("b -> 2 b")
            .unwrap(),
        8 => Circuit::concat(
            vec![a.index(vec![sl(0, 1)]).unwrap(), a.index(vec![sl(1, 2)]).unwrap()],
            0,
        )
        .unwrap(),
        9 => Circuit::concat(
            vec![Circuit::scalar(0.0, &[1, 3], None).unwrap(), a.index(vec![sl(1, 2)]).unwrap()],
            0,
        )
        .unwrap(),
        10 => a
            .index(vec![TensorAxisIndex::FULL, sl(0, 2)])
            .unwrap()
            .scatter(vec![TensorAxisIndex::FULL, sl(1, 3)], &[2, 3])
            .unwrap(),
        11 => {
            let f = [SimpleFn::Sigmoid, SimpleFn::Reciprocal, SimpleFn::Softmax, SimpleFn::Tanh]
                [g.below(4)];
            let x = a.apply(f).unwrap();
            if f == SimpleFn::Reciprocal {
                x.apply(f).unwrap()
            } else {
                x
            }
        }
        12 => {
            let s = sym(10, &[2, 3]);
            let body = Circuit::einsum("ab,ab->ab", [s.clone(), gen(g, depth - 1)]).unwrap();
            Circuit::module(body, vec![(ModuleArgSpec::new(s).unwrap(), a)], Some("m")).unwrap()
        }
        13 => Circuit::einsum("ab,b->ab", [a, Circuit::scalar(3.0, &[3], None).unwrap()]).unwrap(),
        14 => Circuit::concat(
            vec![a.index(vec![sl(0, 1)]).unwrap(), a.index(vec![sl(0, 1)]).unwrap()],
            0,
        )
        .unwrap(),
        _ => Circuit::general_function(GfSpec::Simple(SimpleFn::LastDimSize), vec![a])
            .unwrap()
            .rearrange_str("a -> a 3")
            .unwrap(),
    }
}

fn step(i: usize, c: &Circuit) -> Result<Circuit, String> {
    let n = RULES.len();
    match i % (n + 4) {
        k if k < n => RuleSet::none().include([RULES[k].name]).and_then(|s| s.simp(c)),
        k if k == n => RuleSet::compiler_default().simp(c),
        k if k == n + 1 => RuleSet::all().simp(c),
        k if k == n + 2 => RuleSet::default_preset().simp(c),
        _ => deep_canonicalize(c),
    }
    .map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn built_circuits_keep_their_value(seed in any::<u64>(), steps in prop::collection::vec(0usize..1000, 1..6)) {
        let mut g = Gen::new(seed);
        let root = gen(&mut g, 4);
        let want = value(&root).unwrap();
        let mut c = root.clone();
        for &s in &steps {
            c = step(s, &c).map_err(TestCaseError::fail)?;
        }
        let got = value(&c);
        prop_assert!(got.is_some(), "no longer evaluates:\n{}", print(&c));
        prop_assert!(close(&want, &got.unwrap_or_default()), "value changed:\n{}\n=>\n{}", print(&root), print(&c));
    }
}
