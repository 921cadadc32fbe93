//! Matcher conversions, combinators, regex, equality and printing (ports of
//! test_rust_get_update.py: test_basic_matching, test_matcher_get, test_print_matcher).
#![allow(clippy::unwrap_used)]

mod common;

use circuit_ir::{Circuit, Kind};
use circuit_match::{IterativeMatcher, Matcher};
use common::*;

fn abc() -> (Circuit, Circuit, Circuit) {
    let c = parse(
        "'c' Einsum ab,bc->ac
  'a_name' [1,2] Scalar 1
  'b_other' [2,3] Scalar 2",
    );
    (node(&c, "a_name"), node(&c, "b_other"), c)
}

fn m(x: impl Into<Matcher>) -> Matcher {
    x.into()
}

#[test]
fn conversions_and_sets() {
    let (a, b, c) = abc();
    assert!(m("a_name").call(&a).unwrap());
    assert!(!m("a_name").call(&b).unwrap());
    assert!(m(["a_name", "b_other"]).call(&a).unwrap());
    assert!(m(vec!["a_name".to_owned(), "b_other".to_owned()]).call(&b).unwrap());
    assert!(!m(["a_name", "b_other"]).call(&c).unwrap());
    assert!(m([Kind::Scalar, Kind::Einsum]).call(&c).unwrap());
    assert!(m(vec![c.clone(), b.clone()]).call(&c).unwrap());
    assert!(m(&a).call(&a).unwrap());
    assert!(!m(&a).call(&b).unwrap());
    assert!(m([a.clone(), c.clone()]).call(&c).unwrap());
    assert!(!m([a.clone(), c.clone()]).call(&b).unwrap());
    assert!(m(Kind::Scalar).call(&b).unwrap());
    assert!(!m(Kind::Scalar).call(&c).unwrap());
    assert!(Matcher::circuits([a.clone(), c.clone()]).call(&a).unwrap());
    assert!(!Matcher::circuits([a.clone()]).call(&b).unwrap());
    assert!(Matcher::kinds([Kind::Scalar, Kind::Einsum]).call(&a).unwrap());
    assert!(!Matcher::kinds([Kind::Add, Kind::Einsum]).call(&a).unwrap());
    for n in [&a, &b, &c] {
        for v in [false, true] {
            assert_eq!(m(v).call(n).unwrap(), v);
        }
    }
    // Unnamed nodes never match a name matcher.
    let unnamed = c.rename(None).unwrap();
    assert!(!m("c").call(&unnamed).unwrap());
}

#[test]
fn match_any_found_and_child_found() {
    let (a, b, c) = abc();
    let has_child = Matcher::match_any_child_found(&a);
    assert!(!has_child.call(&a).unwrap());
    assert!(!has_child.call(&b).unwrap());
    assert!(has_child.call(&c).unwrap());
    assert_eq!(has_child, Matcher::match_any_child_found(&a));
    assert_eq!(has_child, Matcher::match_any_child_found(vec![a.clone()]));
    let has_child = Matcher::match_any_child_found(vec![a.clone(), c.clone()]);
    assert!(!has_child.call(&a).unwrap());
    assert!(has_child.call(&c).unwrap());
    assert_eq!(has_child, Matcher::match_any_child_found(vec![c.clone(), a.clone()]));

    let d = parse(
        "'d' Add
  'c' Einsum ab,bc->ac
    'a_name' [1,2] Scalar 1
    'b_other' [2,3] Scalar 2
  'hi' [1,3] Scalar 3",
    );
    let e = node(&d, "hi");
    let has_child = Matcher::match_any_child_found(&a);
    assert!(has_child.call(&d).unwrap());
    assert!(!has_child.call(&e).unwrap());
    let any = Matcher::match_any_found(&a);
    assert!(any.call(&d).unwrap());
    assert!(any.call(&c).unwrap());
    assert!(any.call(&a).unwrap());
    assert!(!any.call(&b).unwrap());
    assert!(!any.call(&e).unwrap());
    // The shared memo gives the same answers on repeated calls.
    for _ in 0..2 {
        assert!(any.call(&d).unwrap());
        assert!(!any.call(&e).unwrap());
    }
}

#[test]
fn equality_and_hashing() {
    use std::collections::HashSet;
    assert_eq!(m("a_name"), m("a_name"));
    assert_ne!(m("a_name"), m("a_name_"));
    assert_eq!(m(Kind::Scalar), m(Kind::Scalar));
    assert_eq!(
        Matcher::kinds([Kind::Scalar, Kind::Einsum]),
        Matcher::kinds([Kind::Einsum, Kind::Scalar])
    );
    assert_ne!(m(Kind::Scalar), m(Kind::Einsum));
    assert_eq!(Matcher::always(), m(true));
    assert_eq!(Matcher::never(), m(false));
    assert_ne!(Matcher::never(), m(true));
    let set: HashSet<Matcher> = [Matcher::never(), m(false), m("x"), m("x")].into_iter().collect();
    assert_eq!(set.len(), 2);
    // Names and kinds never collide.
    assert_ne!(m("Scalar"), m(Kind::Scalar));
    assert_ne!(Matcher::any([m("a")]), Matcher::all([m("a")]));
    assert_eq!(Matcher::any([m("a"), m("b")]), m("a") | "b");
    // Closures compare by identity.
    let f = Matcher::func(|_| true);
    assert_eq!(f, f.clone());
    assert_ne!(f, Matcher::func(|_| true));
    // Regexes compare by pattern and convention.
    assert_eq!(Matcher::regex("a_name").unwrap(), Matcher::regex("a_name").unwrap());
    assert_ne!(Matcher::regex("a_name").unwrap(), Matcher::regex("b_name").unwrap());
    assert_ne!(Matcher::regex("a_name").unwrap(), Matcher::regex_escape_dot("a_name").unwrap());
    assert_eq!(
        Matcher::regex_escape_dot("...a_name").unwrap(),
        Matcher::regex_escape_dot("...a_name").unwrap()
    );
    // Iterative matchers built from equal matchers are equal.
    assert_eq!(IterativeMatcher::from("hi"), m("hi").to_iterative());
    assert_ne!(IterativeMatcher::from("hi"), IterativeMatcher::from("hij"));
    assert_eq!(IterativeMatcher::from(false), m(false).to_iterative());
    assert_ne!(IterativeMatcher::from(false), IterativeMatcher::from(true));
}

#[test]
fn combinators_short_circuit() {
    let (a, b, c) = abc();
    assert!(m("a_name").or("b_other").call(&b).unwrap());
    assert!(m("a_name").or("b_other").call(&a).unwrap());
    assert!(!m("a_name").or("b_other").call(&c).unwrap());
    assert!(!m("a_name").and("b_other").call(&a).unwrap());
    assert!(!(m("a_name") & "b_other").call(&a).unwrap());
    assert!((m("a_name") | "b_other").call(&a).unwrap());
    assert!(!(!m("a_name")).call(&a).unwrap());
    assert!((!m("a_name")).call(&b).unwrap());
    assert!((!&m("a_name")).call(&c).unwrap());
    assert!(m("a_name").and(Kind::Scalar).call(&a).unwrap());
    assert!(!m("a_name").and(Kind::Scalar).call(&b).unwrap());
    assert!(Matcher::all([m("a_name")]).call(&a).unwrap());
    assert!(!Matcher::all([m("a_name")]).call(&b).unwrap());
    assert!(!Matcher::any(Vec::<Matcher>::new()).call(&a).unwrap());
    assert!(Matcher::all(Vec::<Matcher>::new()).call(&a).unwrap());
    // Short-circuiting: the panicking closure is never reached.
    let boom = Matcher::func(|_| panic!("must not be called"));
    assert!(!(m("a_name") & boom.clone()).call(&b).unwrap());
    assert!((m("b_other") | boom.clone()).call(&b).unwrap());
    assert!(Matcher::any([m("b_other"), boom]).call(&b).unwrap());
}

#[test]
fn regex_search_and_escape_dot() {
    let (a, b, c) = abc();
    assert!(Matcher::regex("a").unwrap().call(&a).unwrap());
    assert!(!Matcher::regex_escape_dot("a").unwrap().call(&b).unwrap());
    assert!(Matcher::regex("[ab]").unwrap().call(&a).unwrap());
    assert!(Matcher::regex("[ab]").unwrap().call(&b).unwrap());
    let dotted = parse("'my.name.has_dot' [2,3] Scalar 2");
    let e = |p: &str| Matcher::regex_escape_dot(p).unwrap().call(&dotted).unwrap();
    assert!(e("^my.name.has_dot$"));
    assert!(!e("^my.name...s_dot$"));
    assert!(e(r"^my.name.\.\.s_dot$"));
    // `.` is literal under escape_dot.
    let undotted = parse("'myXname' [2] Scalar 2");
    assert!(!Matcher::regex_escape_dot("my.name").unwrap().call(&undotted).unwrap());
    assert!(Matcher::regex("my.name").unwrap().call(&undotted).unwrap());
    assert!(Matcher::regex_escape_dot(r"^\.*$").unwrap().call(&c).unwrap());
    assert!(!Matcher::regex_escape_dot(r"^\.*$").unwrap().call(&c.rename(None).unwrap()).unwrap());
    // An escaped backslash stays one; the dot after it is literal.
    let bs = parse(r"'x\\.y' [2] Scalar 1");
    assert_eq!(bs.name(), Some(r"x\.y"));
    assert!(Matcher::regex_escape_dot(r"^x\\.y$").unwrap().call(&bs).unwrap());
    assert!(Matcher::regex(r"^x\\.y$").unwrap().call(&bs).unwrap());
    assert!(matches!(Matcher::regex("("), Err(circuit_match::MatchError::Regex { .. })));
}

#[test]
fn get_and_get_first() {
    let (a, b, c) = abc();
    assert_eq!(m("a_name").get(&c).unwrap().into_iter().collect::<Vec<_>>(), vec![a.clone()]);
    assert_eq!(circuit_match::get(&c, "b_other").unwrap().len(), 1);
    assert_eq!(m("b_other").get_first(&c).unwrap(), Some(b.clone()));
    // Pre-order, children in order: a_name comes first.
    assert_eq!(m(["a_name", "b_other"]).get_first(&c).unwrap(), Some(a));
    assert_eq!(m("zzz").get_first(&c).unwrap(), None);
    assert_eq!(m(true).get_first(&c).unwrap(), Some(c));
}

#[test]
fn printing() {
    let (a, _, _) = abc();
    let cases: Vec<(Matcher, &str)> = vec![
        (m("a_name"), r#""a_name""#),
        (m(["a_name", "b_other"]), r#"{"a_name", "b_other"}"#),
        (m([Kind::Scalar, Kind::Einsum]), "{Einsum, Scalar}"),
        (
            Matcher::all([m([Kind::Scalar, Kind::Einsum]), m(["a_name", "b_other"])]),
            r#"All({Einsum, Scalar}, {"a_name", "b_other"})"#,
        ),
        (
            Matcher::any([m([Kind::Scalar, Kind::Einsum]), !m(["a_name", "b_other"])]),
            r#"Any({Einsum, Scalar}, Not {"a_name", "b_other"})"#,
        ),
        (Matcher::always(), "Always"),
        (Matcher::never(), "Never"),
        (Matcher::regex_escape_dot("^.$").unwrap(), "re-escdot'^.$'"),
        (Matcher::regex("^.$").unwrap(), "re'^.$'"),
    ];
    for (matcher, want) in cases {
        assert_eq!(matcher.to_string(), want);
    }
    let s = m(&a).to_string();
    assert!(s.starts_with("'a_name' Scalar "), "{s}");
    assert_eq!(Matcher::func(|_| true).to_string(), "<fn>");
}

#[test]
fn matchers_are_send_sync_and_forward() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Matcher>();
    assert_send_sync::<IterativeMatcher>();
    assert_send_sync::<circuit_match::MatchError>();
    let (a, _, c) = abc();
    // Matcher forwards the iterative-matcher methods.
    assert_eq!(m("c").chain("a_name"), IterativeMatcher::from("c").chain("a_name"));
    assert_eq!(names(&c, m("c").children_matcher([0])), vec!["a_name"]);
    assert_eq!(
        names(&c, m(true).restricted(circuit_match::RestrictOptions::new().end_depth(1))),
        vec!["c"]
    );
    assert_eq!(m("a_name").get_unique(&c).unwrap(), a);
}
