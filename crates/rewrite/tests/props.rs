//! Property test: random circuits (circuit-testkit) through random sequences of simp
//! rules, the presets and `deep_canonicalize` keep their evaluated value, and never
//! make a rewrite panic.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use circuit_ir::Circuit;
use circuit_rewrite::{deep_canonicalize, RuleSet, RULES};
use circuit_testkit::{random_circuits, GenConfig};
use common::{close, print, value};
use proptest::prelude::*;

fn config() -> GenConfig {
    GenConfig { symbolic_sizes: false, nasty_names: false, ..GenConfig::small() }
}

/// Step `i`: a single rule, the two presets, every rule, or canonicalization.
fn apply(step: usize, c: &Circuit) -> Result<Circuit, String> {
    let n = RULES.len();
    let r = match step % (n + 4) {
        i if i < n => RuleSet::none().include([RULES[i].name]).and_then(|s| s.simp(c)),
        i if i == n => RuleSet::default_preset().simp(c),
        i if i == n + 1 => RuleSet::compiler_default().simp(c),
        i if i == n + 2 => RuleSet::all().simp(c),
        _ => deep_canonicalize(c),
    };
    r.map_err(|e| e.to_string())
}

fn step_name(step: usize) -> String {
    let n = RULES.len();
    match step % (n + 4) {
        i if i < n => RULES[i].name.to_string(),
        i if i == n => "simp".into(),
        i if i == n + 1 => "compiler-simp".into(),
        i if i == n + 2 => "all-rules".into(),
        _ => "canonicalize".into(),
    }
}

fn check(seed: u64, steps: &[usize]) -> Result<(), TestCaseError> {
    // The generator itself is not under test here: a seed it cannot handle is skipped.
    let Ok(roots) = std::panic::catch_unwind(|| random_circuits(seed, &config())) else {
        return Ok(());
    };
    for root in roots {
        // Infinite constants make results depend on the evaluation order (`inf * 0`).
        let infinite = root.toposort().iter().any(|n| match n.op() {
            circuit_ir::Op::Scalar(s) => !s.value.is_finite(),
            _ => false,
        });
        let before = if infinite { None } else { value(&root) };
        let mut c = root.clone();
        for &s in steps {
            // Every rule is total on valid circuits: an error (a construction failure or
            // a rule cycle) is a bug.
            c = apply(s, &c).map_err(|e| {
                TestCaseError::fail(format!("{}: {e}\n{}", step_name(s), print(&c)))
            })?;
            prop_assert_eq!(c.shape(), root.shape(), "{} changed the shape", step_name(s));
        }
        if let Some(want) = before {
            let names: Vec<String> = steps.iter().map(|&s| step_name(s)).collect();
            // Outputs with huge (Scalar) nodes are beyond the test evaluator's budget.
            let small = c.toposort().iter().all(|n| n.numel() <= 20_000);
            let got = value(&c);
            prop_assert!(
                got.is_some() || !small,
                "output no longer evaluates after {:?}:\n{}",
                names,
                print(&c)
            );
            if let Some(got) = got {
                prop_assert!(
                    close(&want, &got),
                    "value changed after {:?}:\n{}\n=>\n{}",
                    names,
                    print(&root),
                    print(&c)
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn rewrites_keep_the_value(seed in any::<u64>(), steps in prop::collection::vec(0usize..1000, 1..5)) {
        check(seed, &steps)?;
    }
}

#[test]
fn every_rule_on_many_circuits() {
    // Each rule alone, on a fixed set of seeds: deterministic and broad.
    for seed in 0..24u64 {
        for step in 0..RULES.len() + 4 {
            check(seed, &[step]).unwrap();
        }
    }
}

/// Pushing every module binding all the way down (a traversal that never stops) gives
/// the same value as substituting every module.
fn check_push_down(seed: u64) -> Result<usize, TestCaseError> {
    let Ok(roots) = std::panic::catch_unwind(|| random_circuits(seed, &config())) else {
        return Ok(0);
    };
    let mut checked = 0;
    for root in roots {
        if !root.toposort().iter().any(|n| n.kind() == circuit_ir::Kind::Module) {
            continue;
        }
        let finite = root.toposort().iter().all(|n| match n.op() {
            circuit_ir::Op::Scalar(s) => s.value.is_finite(),
            _ => true,
        });
        let all = circuit_rewrite::substitute_all_modules(&root).map_err(|e| {
            TestCaseError::fail(format!("substitute_all_modules: {e}\n{}", print(&root)))
        })?;
        let pushed = circuit_rewrite::push_down_modules(
            &root,
            circuit_match::new_traversal(None, None, circuit_match::Matcher::never()),
            None,
        )
        .map_err(|e| TestCaseError::fail(format!("push_down_modules: {e}\n{}", print(&root))))?;
        prop_assert_eq!(pushed.shape(), root.shape());
        if finite {
            if let (Some(a), Some(b)) = (value(&all), value(&pushed)) {
                prop_assert!(
                    close(&a, &b),
                    "push_down_modules changed the value:\n{}\n=>\n{}",
                    print(&root),
                    print(&pushed)
                );
                checked += 1;
            }
        }
    }
    Ok(checked)
}

#[test]
fn push_down_property_sees_modules() {
    // Deterministic and broad (800 seeds), and a guard that the property is not vacuous:
    // the generator makes an evaluable circuit with Modules in about one seed of 20.
    let mut checked = 0;
    for seed in 0..800u64 {
        checked += check_push_down(seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
    eprintln!("push_down_property_sees_modules: {checked} circuits compared");
    assert!(checked >= 25, "only {checked} circuits with modules were compared");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn push_down_everything_equals_substitute_all(seed in any::<u64>()) {
        check_push_down(seed)?;
    }

    // Found by the property above: a module binding one symbol twice (last one wins).
    #[test]
    fn push_down_regression_duplicate_binding(seed in Just(18415285450417390404u64)) {
        check_push_down(seed)?;
    }
}
