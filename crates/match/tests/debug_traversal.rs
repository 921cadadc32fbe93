//! The matcher-debug printer, traversal utilities, and scale (deep chains, heavy
//! sharing).
#![allow(clippy::unwrap_used)]

mod common;

use circuit_ir::{Circuit, Kind};
use circuit_match::{
    apply_in_traversal, get, new_traversal, print_matcher_debug, traversal_edges,
    traverse_until_depth, update, IterativeMatcher, MatchError, Matcher,
};
use common::*;

#[test]
fn matcher_debug_output() {
    let c = parse(
        "'b.mlp' Einsum ,,->
  'gelu_mlp' Einsum ,->
    's0' [] Symbol
    's1' [] Symbol
  'gelu_mlp'
  's0'",
    );
    let m =
        IterativeMatcher::from("b.mlp").chain_all(["gelu_mlp".into(), Kind::Symbol.into()], false);
    let out = print_matcher_debug(&c, &m).unwrap();
    println!("{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("'b.mlp' [] Einsum ,,->"), "{out}");
    assert!(lines[1].contains("'gelu_mlp'") && lines[1].contains("->"), "{out}");
    // s0 is found below gelu_mlp; s1 too.
    let s0 = lines.iter().find(|l| l.contains("'s0'") && l.contains("Symbol")).unwrap();
    assert!(s0.contains("# Found"), "{out}");
    let s1 = lines.iter().find(|l| l.contains("'s1'")).unwrap();
    assert!(s1.contains("# Found"), "{out}");
    assert!(!lines[0].contains("Found"), "{out}");

    // Nodes below a finished matcher are not expanded; printed but unreached children
    // are marked.
    let t = parse(
        "'r' Add
  'x' Add
    'y' [1] Scalar 1
  'z' [1] Scalar 2",
    );
    let out = print_matcher_debug(&t, traverse_until_depth(0)).unwrap();
    println!("{out}");
    assert!(out.contains("'r'") && out.contains("# Found"), "{out}");
    assert!(!out.contains("'y'"), "{out}");
    let per_child = IterativeMatcher::from("r").children_matcher([1]);
    let out = print_matcher_debug(&t, per_child).unwrap();
    println!("{out}");
    let z = out.lines().find(|l| l.contains("'z'")).unwrap();
    assert!(z.contains("# Found") && z.contains("Term(found)"), "{out}");
}

#[test]
fn traversal_edges_and_apply_in_traversal() {
    let t = parse(
        "'r' Add
  'x' Add
    'y' [1] Scalar 1
    'w' [1] Scalar 3
  'z' [1] Scalar 2",
    );
    // Depth <= 1 is inside; x's children and the leaves at depth 1 are cut.
    let edges: Vec<String> = traversal_edges(&t, traverse_until_depth(1))
        .unwrap()
        .iter()
        .map(|c| c.name().unwrap().to_owned())
        .collect();
    assert_eq!(edges, vec!["x", "z"]);
    let edges = traversal_edges(&t, new_traversal(None, None, "x")).unwrap();
    assert_eq!(edges.iter().map(|c| c.name().unwrap()).collect::<Vec<_>>(), vec!["x"]);

    // f sees Symbols in place of the cut nodes; the originals come back afterwards.
    let out = apply_in_traversal(&t, new_traversal(None, None, "x"), |small: &Circuit| {
        let syms = get(small, Kind::Symbol)?;
        assert_eq!(syms.len(), 1);
        assert_eq!(syms.iter().next().unwrap().name(), Some("x_symbol_replacement"));
        assert!(get(small, "y")?.is_empty());
        update(small, "z", |n: &Circuit| Ok::<_, MatchError>(n.rename(Some("z2"))?))
    })
    .unwrap();
    assert_eq!(names(&out, true), vec!["r", "w", "x", "y", "z2"]);
    // Identity round trip.
    let same = apply_in_traversal(&t, traverse_until_depth(1), |s: &Circuit| {
        Ok::<_, MatchError>(s.clone())
    })
    .unwrap();
    assert_eq!(same, t);
}

/// A chain of `n` nested single-child Adds above a Scalar.
fn deep(n: usize) -> Circuit {
    let mut c = Circuit::scalar(1.0, &[2], Some("leaf")).unwrap();
    for i in 0..n {
        c = Circuit::build(circuit_ir::Op::Add, vec![c], Some(format!("n{i}").into()), false)
            .unwrap();
    }
    c
}

#[test]
fn deep_chain_does_not_overflow() {
    let c = deep(100_000);
    assert_eq!(get(&c, "leaf").unwrap().len(), 1);
    assert!(circuit_match::are_any_found(&c, "leaf").unwrap());
    let p = circuit_match::get_paths(&c, "leaf").unwrap();
    assert_eq!(p.values().next().unwrap().len(), 100_001);
    let out =
        update(&c, "leaf", |x: &Circuit| Ok::<_, MatchError>(x.rename(Some("leaf2"))?)).unwrap();
    assert_eq!(get(&out, "leaf2").unwrap().len(), 1);
    assert!(Matcher::match_any_found("leaf").call(&c).unwrap());

    let c = deep(10_000);
    assert_eq!(get(&c, Kind::Add).unwrap().len(), 10_000);
    let m = IterativeMatcher::from("n9999").chain_all(["n5".into(), "leaf".into()], false);
    assert_eq!(get(&c, m).unwrap().len(), 1);
    assert_eq!(circuit_match::get_all_paths(&c, "leaf").unwrap().values().next().unwrap().len(), 1);
    assert_eq!(Matcher::from("leaf").get_first(&c).unwrap().unwrap().name(), Some("leaf"));
    let mut e = circuit_match::Expander::new()
        .with("leaf", |x: &Circuit| Ok::<_, MatchError>(Circuit::scalar(1.0, &[3, 2], x.name())?));
    assert_eq!(e.batch(&c).unwrap().shape().as_slice(), &[3, 2]);
    assert!(print_matcher_debug(&deep(100), "leaf").unwrap().contains("Found"));
}

/// `n` layers, each an Add of two references to the layer below: 2^n paths, n+1 nodes.
fn diamond_tower(n: usize) -> Circuit {
    let mut c = Circuit::scalar(1.0, &[2], Some("base")).unwrap();
    for i in 0..n {
        c = Circuit::build(
            circuit_ir::Op::Add,
            vec![c.clone(), c],
            Some(format!("l{i}").into()),
            false,
        )
        .unwrap();
    }
    c
}

#[test]
fn shared_dags_are_linear() {
    // 2^200 paths: any path-wise traversal would never finish.
    let c = diamond_tower(200);
    assert_eq!(get(&c, true).unwrap().len(), 201);
    assert_eq!(get(&c, IterativeMatcher::from("l150").chain("l3").chain("base")).unwrap().len(), 1);
    assert!(!circuit_match::are_any_found(&c, "nope").unwrap());
    assert_eq!(circuit_match::get_paths(&c, "base").unwrap().values().next().unwrap().len(), 201);
    let out = update(&c, "base", |x: &Circuit| Ok::<_, MatchError>(x.rename(Some("b2"))?)).unwrap();
    assert_eq!(get(&out, true).unwrap().len(), 201);
    // Depth-restricted traversals create one state per (node, depth) pair.
    assert_eq!(get(&c, traverse_until_depth(150)).unwrap().len(), 151);
    let any_below = Matcher::match_any_child_found("base");
    assert_eq!(get(&c, any_below).unwrap().len(), 200);
    let dbg = print_matcher_debug(&c, IterativeMatcher::from("l199").chain("base")).unwrap();
    assert!(dbg.contains("'base'"));
}
