//! The iterate protocol: restrict depth semantics, chains (incl. must_be_sub and the
//! worked example of the reference), unions and intersections (ports of
//! test_rust_get_update.py: test_iterative_just_matcher, test_iterative_restrict*,
//! test_start_depth_behavior, test_chain_*, test_iterative_matcher_and,
//! test_print_iterative_matcher, test_finished_eq).
#![allow(clippy::unwrap_used)]

mod common;

use circuit_ir::{Circuit, Kind};
use circuit_match::{
    new_chain_many, new_traversal, restrict, restrict_range, traverse_until_depth,
    IterateMatchResults, IterativeMatcher, Matcher, RestrictOptions, Updated,
};
use common::*;

fn im(x: impl Into<IterativeMatcher>) -> IterativeMatcher {
    x.into()
}

fn scalar(name: &str, shape: &str) -> Circuit {
    parse(&format!("'{name}' [{shape}] Scalar 1"))
}

/// Applies `m`; checks `found` and whether the update is `Same` / `Finished`; returns
/// the matcher for the children.
fn step(
    m: &IterativeMatcher,
    c: &Circuit,
    found: bool,
    same: bool,
    finished: bool,
) -> IterativeMatcher {
    let r = m.match_iterate(c).unwrap();
    assert_eq!(r.found, found, "found for {m} on {c:?}");
    assert_eq!(r.updated.is_finished(), finished, "finished for {m} on {c:?}: {:?}", r.updated);
    if finished {
        return m.clone();
    }
    assert_eq!(r.updated == Updated::Same, same, "same for {m} on {c:?}: {:?}", r.updated);
    match r.updated {
        Updated::Same => m.clone(),
        Updated::All(x) => x,
        other => panic!("unexpected per-child update {other:?}"),
    }
}

#[test]
fn plain_matchers_never_update() {
    let a = scalar("a_name", "1,2");
    let b = scalar("b_other", "2,3");
    for (mm, c, found) in [
        (im("a_name"), &a, true),
        (im("a_name"), &b, false),
        (im(["a_name", "b_other"]), &b, true),
        (im(&a), &a, true),
        (im(&a), &b, false),
        (im(Kind::Scalar), &b, true),
        (im([Kind::Einsum]), &b, false),
    ] {
        assert_eq!(mm.match_iterate(c).unwrap(), IterateMatchResults::new(found, Updated::Same));
    }
    assert_eq!(IterativeMatcher::term(false).match_iterate(&a).unwrap().updated, Updated::Finished);
    assert!(IterativeMatcher::term(true).match_iterate(&a).unwrap().found);
    assert_eq!(IterativeMatcher::default(), IterativeMatcher::term(false));
    assert_eq!(IterativeMatcher::noop_traversal(), im(true));
}

#[test]
fn restrict_constructor_equality() {
    let bases = [im("hi"), im("x"), im(true)];
    let mut all = Vec::new();
    for base in &bases {
        for tim in [false, true] {
            for start in [None, Some(0), Some(2)] {
                for end in [None, Some(0), Some(2)] {
                    for tea in [Matcher::from("hi"), Matcher::never()] {
                        let item = restrict(base.clone(), tim, start, end, tea.clone());
                        let range_item = match (start, end) {
                            (None, None) => restrict_range(base.clone(), tim, .., tea.clone()),
                            (Some(s), None) => restrict_range(base.clone(), tim, s.., tea.clone()),
                            (None, Some(e)) => restrict_range(base.clone(), tim, ..e, tea.clone()),
                            (Some(s), Some(e)) => {
                                restrict_range(base.clone(), tim, s..e, tea.clone())
                            }
                        };
                        assert_eq!(item, range_item);
                        let mut opts =
                            RestrictOptions::new().term_if_matches(tim).term_early_at(tea);
                        opts.start_depth = start;
                        opts.end_depth = end;
                        assert_eq!(base.restricted(opts), item);
                        all.push(item);
                    }
                }
            }
        }
    }
    for i in 0..all.len() {
        for j in 0..all.len() {
            assert_eq!(i == j, all[i] == all[j], "{} vs {}", all[i], all[j]);
        }
    }
    assert_eq!(
        restrict_range("x", false, 1..=3, false),
        restrict("x", false, Some(1), Some(4), false)
    );
    assert_eq!(traverse_until_depth(2), new_traversal(None, Some(3), false));
}

#[test]
fn restrict_depth_semantics() {
    let a = scalar("a_name", "1,2");
    let b = scalar("b_other", "2,3");

    // start_depth 2: depths 0 and 1 update (depth tracking), then the matcher stays.
    let mut m = restrict_range("a_name", false, 2.., false);
    m = step(&m, &a, false, false, false);
    m = step(&m, &a, false, false, false);
    m = step(&m, &a, true, true, false);
    step(&m, &a, true, true, false);

    // Window [3, 5): found at depths 3 and 4, finished at depth 4 (end exclusive).
    let mut m = restrict_range("a_name", false, 3..5, false);
    for _ in 0..3 {
        m = step(&m, &a, false, false, false);
    }
    m = step(&m, &a, true, false, false);
    step(&m, &a, true, false, true);

    // Empty windows finish immediately without finding.
    for (s, e) in [(None, 0), (Some(0), 0), (Some(1), 0)] {
        let m = restrict("a_name", false, s, Some(e), false);
        step(&m, &a, false, false, true);
    }

    // term_if_matches: finish at the first found node.
    let mut m = restrict_range("a_name", true, 3..5, false);
    for _ in 0..3 {
        m = step(&m, &a, false, false, false);
    }
    step(&m, &a, true, false, true);

    let mut m = restrict_range("a_name", true, 3..7, false);
    for _ in 0..3 {
        m = step(&m, &a, false, false, false);
    }
    m = step(&m, &b, false, false, false);
    m = step(&m, &b, false, false, false);
    step(&m, &a, true, false, true);

    // term_early_at without depths never updates; the terminating node is not found
    // here only because it does not match.
    let mut m = restrict("a_name", false, None, None, "b_other");
    m = step(&m, &a, true, true, false);
    m = step(&m, &a, true, true, false);
    step(&m, &b, false, false, true);
    // The terminating node itself can be found.
    step(&restrict("a_name", false, None, None, "a_name"), &a, true, false, true);
}

#[test]
fn start_depth_with_term_early_at() {
    let a = parse(
        "'A' Add
  'B' Add
  'C' Add",
    );
    assert_eq!(names(&a, new_traversal(Some(0), None, Kind::Add)), vec!["A"]);
    for d in 1..4 {
        assert!(names(&a, new_traversal(Some(d), None, Kind::Add)).is_empty());
    }
    assert_eq!(
        new_traversal(Some(1), Some(0), false).match_iterate(&a).unwrap().updated,
        Updated::Finished
    );
    // Depth windows on a real tree.
    let t = parse(
        "'r' Add
  'x' Add
    'y' Add
      'z' [1] Scalar 1",
    );
    assert_eq!(names(&t, traverse_until_depth(1)), vec!["r", "x"]);
    assert_eq!(names(&t, new_traversal(Some(1), Some(3), false)), vec!["x", "y"]);
    assert_eq!(names(&t, new_traversal(None, None, "x")), vec!["r", "x"]);
    assert_eq!(names(&t, restrict(Kind::Add, true, None, None, false)), vec!["r"]);
}

#[test]
fn chain_worked_example() {
    for sub in [false, true] {
        let m = im("top").chain_all([im("leaf")], sub);
        let a = scalar("top", "1,2");
        let b = scalar("leaf", "2,3");
        // At `top`: not found, new matcher {(top, leaf), (leaf)}.
        let r = m.match_iterate(&a).unwrap();
        assert!(!r.found);
        if !sub {
            let expected =
                new_chain_many([vec![im("top"), im("leaf")], vec![im("leaf")]], false).unwrap();
            assert_eq!(r.updated, Updated::All(expected.clone()));
            assert_eq!(expected.match_iterate(&a).unwrap().updated, Updated::Same);
        }
        let mut m = step(&m, &a, false, false, false);
        m = step(&m, &a, false, true, false);
        m = step(&m, &a, false, true, false);
        m = step(&m, &a, false, true, false);
        m = step(&m, &b, true, true, false);
        step(&m, &b, true, true, false);
    }
}

#[test]
fn chain_matching() {
    for sub in [false, true] {
        let a = scalar("top", "1,2");
        let b = scalar("leaf", "2,3");
        let c = scalar("other", "2,3");
        let d = scalar("dog", "2,3");
        let top2 = || restrict("top", false, None, Some(2), false);
        let leaf = |e: usize| restrict("leaf", false, None, Some(e), false);

        let mut m = top2().chain_all([leaf(3)], sub);
        m = step(&m, &a, false, false, false);
        m = step(&m, &a, false, false, false);
        m = step(&m, &a, false, false, false);
        step(&m, &a, false, false, true);

        let mut m = top2().chain_all([leaf(3)], sub);
        m = step(&m, &b, false, false, false);
        step(&m, &b, false, false, true);

        let mut m = top2().chain_all([leaf(4)], sub);
        m = step(&m, &a, false, false, false);
        m = step(&m, &c, false, false, false);
        m = step(&m, &b, true, false, false);
        step(&m, &b, true, false, true);

        let mut m = top2().chain_all([leaf(4), im("other")], sub);
        m = step(&m, &a, false, false, false);
        m = step(&m, &c, false, false, false);
        m = step(&m, &c, false, false, false);
        m = step(&m, &b, false, false, false);
        m = step(&m, &c, true, true, false);
        step(&m, &c, true, true, false);

        let mut m =
            new_chain_many([vec![top2(), leaf(4), im("other")], vec![im("dog")]], sub).unwrap();
        m = step(&m, &a, false, false, false);
        m = step(&m, &d, true, false, false);
        m = step(&m, &c, false, false, false);
        m = step(&m, &b, false, false, false);
        m = step(&m, &c, true, true, false);
        m = step(&m, &c, true, true, false);
        step(&m, &d, true, true, false);

        let mut m = IterativeMatcher::union([top2(), im("dog")]);
        m = step(&m, &a, true, false, false);
        m = step(&m, &a, true, false, false);
        m = step(&m, &a, false, true, false);
        step(&m, &d, true, true, false);
    }
    assert!(matches!(new_chain_many([vec![]], false), Err(circuit_match::MatchError::EmptyChain)));
}

#[test]
fn chain_constructor_equality() {
    let firsts = [im("hi"), im("x"), im(true)];
    let rests: Vec<Vec<IterativeMatcher>> = vec![
        vec![im("other")],
        vec![im("other"), im("hi")],
        vec![im(false)],
        vec![im(false), im(false)],
        vec![im(false), im(true)],
    ];
    for sub in [false, true] {
        let mut all = Vec::new();
        for f in &firsts {
            for r in &rests {
                let item = f.chain_all(r.clone(), sub);
                assert_eq!(f.chain_many([r.clone()], sub), item);
                let mut v = vec![f.clone()];
                v.extend(r.clone());
                assert_eq!(new_chain_many([v], sub).unwrap(), item);
                all.push(item);
            }
        }
        for i in 0..all.len() {
            for j in 0..all.len() {
                assert_eq!(i == j, all[i] == all[j]);
            }
        }
    }
    assert_ne!(im("a").chain("b"), im("a").chain_sub("b"));
    assert_eq!(im("a").chain("b"), im("a").chain_all([im("b")], false));
}

#[test]
fn chain_must_be_sub() {
    let a = scalar("top", "1,2");
    let b = scalar("leaf", "2,2");
    let c = scalar("other", "2,3");
    let d = scalar("dog", "2,3");

    let mut m = im(Kind::Scalar).chain_all([im(Kind::Scalar)], false);
    m = step(&m, &a, true, false, false);
    m = step(&m, &b, true, true, false);
    step(&m, &c, true, true, false);

    let mut m = im(Kind::Scalar).chain_all([im(Kind::Scalar)], true);
    m = step(&m, &a, false, false, false);
    m = step(&m, &b, true, true, false);
    step(&m, &c, true, true, false);

    let last2 = Matcher::func(|x| x.shape().last() == Some(&2));
    let mid = || restrict(last2.clone(), false, None, Some(2), false);

    let mut m = im("top").chain_all([mid(), im("dog")], true);
    m = step(&m, &b, false, true, false);
    m = step(&m, &d, false, true, false);
    m = step(&m, &a, false, false, false);
    m = step(&m, &a, false, false, false);
    step(&m, &d, true, false, false);

    let mut m = im("top").chain_all([mid(), im("dog")], true);
    m = step(&m, &b, false, true, false);
    m = step(&m, &d, false, true, false);
    m = step(&m, &a, false, false, false);
    m = step(&m, &b, false, false, false);
    m = step(&m, &b, false, true, false);
    m = step(&m, &b, false, true, false);
    m = step(&m, &b, false, true, false);
    step(&m, &d, true, true, false);

    let mut m = im("top").chain_all([mid(), im("dog")], true);
    m = step(&m, &b, false, true, false);
    m = step(&m, &d, false, true, false);
    m = step(&m, &a, false, false, false);
    m = step(&m, &c, false, false, false);
    m = step(&m, &c, false, true, false);
    step(&m, &d, false, true, false);

    let mut m = im("top").chain_all([mid(), im("dog")], false);
    m = step(&m, &b, false, true, false);
    m = step(&m, &d, false, true, false);
    m = step(&m, &a, false, false, false);
    m = step(&m, &c, false, false, false);
    m = step(&m, &c, false, true, false);
    step(&m, &d, true, true, false);
}

#[test]
fn intersection() {
    let c = parse(
        "'c_name' Einsum ab,bc->ac
  'a_name' [1,2] Scalar 1
  'b_other' [2,3] Scalar 2",
    );
    let a = node(&c, "a_name");
    let b = node(&c, "b_other");
    let same = |m: IterativeMatcher, x: &Circuit, found: bool| {
        assert_eq!(m.match_iterate(x).unwrap(), IterateMatchResults::new(found, Updated::Same));
    };
    same(im("a_name") & "b_other", &a, false);
    same(im("a_name") | "b_other", &a, true);
    same(im("b_other") & im("a_name"), &a, false);
    same(IterativeMatcher::all([im("a_name"), im(Kind::Scalar)]), &a, true);
    same(IterativeMatcher::all([im("a_name"), im(Kind::Scalar)]), &b, false);
    same(IterativeMatcher::all([im("a_name"), im(Kind::Scalar)]), &c, false);
    same(IterativeMatcher::all([im("a_name")]), &a, true);
    same(IterativeMatcher::all([im("a_name")]), &b, false);

    let r3 = restrict("a_name", false, None, Some(3), false);
    let up = match r3.match_iterate(&c).unwrap().updated {
        Updated::All(x) => x,
        other => panic!("{other:?}"),
    };
    let out = IterativeMatcher::all([im("hi"), r3.clone()]).match_iterate(&c).unwrap();
    assert!(!out.found);
    assert_eq!(out.updated, Updated::All(IterativeMatcher::all([im("hi"), up.clone()])));
    let out = IterativeMatcher::all([im(Kind::Scalar), r3.clone()]).match_iterate(&a).unwrap();
    assert!(out.found);
    assert_eq!(out.updated, Updated::All(IterativeMatcher::all([im(Kind::Scalar), up.clone()])));
    let out = IterativeMatcher::all([im(Kind::Einsum), r3]).match_iterate(&a).unwrap();
    assert!(!out.found);
    assert_eq!(out.updated, Updated::All(IterativeMatcher::all([im(Kind::Einsum), up])));

    for (ms, found) in [
        (vec![im(Kind::Einsum), IterativeMatcher::term(false)], false),
        (vec![im(Kind::Scalar), IterativeMatcher::term(false)], false),
        (vec![IterativeMatcher::term(false), im(Kind::Scalar)], false),
        (vec![im(Kind::Scalar), IterativeMatcher::term(true)], true),
    ] {
        assert_eq!(
            IterativeMatcher::all(ms).match_iterate(&a).unwrap(),
            IterateMatchResults::finished(found)
        );
    }

    let cm = restrict("c_name", false, None, Some(3), false).children_matcher([1]);
    let up = match cm.match_iterate(&c).unwrap().updated {
        Updated::PerChild(v) => v.into_iter().map(Option::unwrap).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let out = IterativeMatcher::all([im(Kind::Scalar), cm]).match_iterate(&c).unwrap();
    assert!(!out.found);
    assert_eq!(
        out.updated,
        Updated::PerChild(vec![
            Some(IterativeMatcher::all([im(Kind::Scalar), up[0].clone()])),
            Some(IterativeMatcher::all([im(Kind::Scalar), up[1].clone()])),
        ])
    );

    let f = IterativeMatcher::new_func(|_| {
        Ok(IterateMatchResults::new(true, Updated::PerChild(vec![None, Some(im(true))])))
    });
    let out = IterativeMatcher::all([im(Kind::Scalar), f]).match_iterate(&c).unwrap();
    assert!(!out.found);
    assert_eq!(
        out.updated,
        Updated::PerChild(vec![None, Some(IterativeMatcher::all([im(Kind::Scalar), im(true)]))])
    );
}

#[test]
fn per_child_length_is_checked() {
    let c = fin();
    let bad = IterativeMatcher::new_func(|_| {
        Ok(IterateMatchResults::new(false, Updated::PerChild(vec![None])))
    });
    let err = bad.match_iterate(&c).unwrap_err();
    assert!(
        matches!(
            err,
            circuit_match::MatchError::PerChildLength { num_updated: 1, num_children: 2, .. }
        ),
        "{err}"
    );
    assert!(circuit_match::get(&c, bad.clone()).is_err());
    assert!(circuit_match::are_any_found(&c, bad).is_err());
}

#[test]
fn printing() {
    let cases: Vec<(IterativeMatcher, &str)> = vec![
        (im("a_name").chain("b_name"), r#"["a_name" -> "b_name"]"#),
        (
            IterativeMatcher::union([im("a_name").chain("b_name"), im("b_name").chain("a_name")]),
            r#"Any(["a_name" -> "b_name"], ["b_name" -> "a_name"])"#,
        ),
        (im("a_name"), r#""a_name""#),
        (im("a_name").children_matcher([0, 1]), r#"Children("a_name", [0,1])"#),
        (im("a_name").module_arg_matcher("b_name"), r#"ModuleArg("a_name", "b_name")"#),
        (im("a_name").spec_circuit_matcher(), r#"SpecCircuit("a_name")"#),
        (im("a_name").filter_module_spec(true), r#"NoModuleSpec("a_name")"#),
        (new_traversal(Some(1), Some(3), false), "Restrict{depth_range: 1:3}"),
        (
            restrict("x", true, None, None, ["p", "q"]),
            r#"Restrict{matcher: "x", term_at: {"p", "q"}, term_if_matches: true}"#,
        ),
        (IterativeMatcher::term(false), "Term"),
        (IterativeMatcher::term(true), "Term(found)"),
    ];
    for (m, want) in cases {
        assert_eq!(m.to_string(), want);
    }
    assert_eq!(im("a_name").filter_module_spec(false), im("a_name"));
}
