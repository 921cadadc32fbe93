//! `circ show` (HTML viewer) and `circ dot` (Graphviz): outputs, options and errors.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::temp_dir;

fn circ(args: &[&str], stdin: Option<&str>) -> Output {
    common::circ(args, stdin, None)
}

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/format").join(name);
    p.to_str().unwrap().to_string()
}

/// Two roots sharing `x`; `s` is used twice.
const SHARED: &str =
    "'r' Add\n  's' Add\n    'x' [2] Scalar 1\n    'y' [2] Scalar 2\n  'x'\n  's'\n";

#[test]
fn show_writes_one_self_contained_page() {
    let dir = temp_dir("show");
    let out = dir.join("all.html");
    let res = circ(&["show", &fixture("all-kinds.circ"), "-o", out.to_str().unwrap()], None);
    assert_eq!(res.status.code(), Some(0), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(res.stdout.is_empty(), "-o writes nothing to stdout");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>all-kinds.circ</title>"));
    assert!(html.contains("id=\"circuit-data\""));
    assert!(html.contains("'sym'") && html.contains("'ein'"));
    for remote in ["src=\"http", "href=\"http", "@import", "url(http", "fetch("] {
        assert!(!html.contains(remote), "the page must not load anything: found {remote}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn show_reads_stdin_and_takes_options() {
    let res = circ(
        &["show", "-", "--color", "reaches:x", "--expand", "0", "--title", "t<1>", "--node", "s"],
        Some(SHARED),
    );
    assert_eq!(res.status.code(), Some(0), "{}", String::from_utf8_lossy(&res.stderr));
    let html = String::from_utf8(res.stdout).unwrap();
    assert!(html.contains("<title>t&lt;1&gt;</title>"));
    assert!(html.contains("reaches x"), "the reaches colorer's legend");
    assert!(html.contains("\"expand\":0"));
    assert!(html.contains("'s'") && !html.contains("'r'"), "--node picks the root");
}

#[test]
fn show_rejects_bad_options_and_input() {
    let res = circ(&["show", "-", "--color", "rainbow"], Some(SHARED));
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("--color must be"));
    let res = circ(&["show", "-", "--color", "reaches:"], Some(SHARED));
    assert_eq!(res.status.code(), Some(2));
    let res = circ(&["show", "-", "--node", "nope"], Some(SHARED));
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("no node named 'nope'"));
    let res = circ(&["show", "-"], Some("'a' Add\n  'b' [2] Scalar 1d\n"));
    assert_eq!(res.status.code(), Some(2), "parse errors exit 2");
    let res = circ(&["show", "/nonexistent/file.circ"], None);
    assert_eq!(res.status.code(), Some(2));
    let res = circ(&["show", "-", "-o", "/nonexistent/dir/out.html"], Some(SHARED));
    assert_eq!(res.status.code(), Some(2), "unwritable output exits 2");
}

#[test]
fn dot_draws_shared_nodes_once() {
    let res = circ(&["dot", "-"], Some(SHARED));
    assert_eq!(res.status.code(), Some(0), "{}", String::from_utf8_lossy(&res.stderr));
    let dot = String::from_utf8(res.stdout).unwrap();
    assert!(dot.starts_with("digraph \"circuit\" {"), "{dot}");
    let nodes = dot
        .lines()
        .filter(|l| l.trim_start().starts_with('n') && l.contains("[label=") && !l.contains("->"))
        .count();
    let edges = dot.lines().filter(|l| l.contains(" -> ")).count();
    assert_eq!(nodes, 4, "r, s, x, y once each:\n{dot}");
    assert_eq!(edges, 5, "r has 3 children, s has 2:\n{dot}");

    let dir = temp_dir("dot");
    let out = dir.join("g.dot");
    let res = circ(
        &[
            "dot",
            &fixture("all-kinds.circ"),
            "-o",
            out.to_str().unwrap(),
            "--rankdir",
            "lr",
            "--no-color",
        ],
        None,
    );
    assert_eq!(res.status.code(), Some(0), "{}", String::from_utf8_lossy(&res.stderr));
    let dot = std::fs::read_to_string(&out).unwrap();
    assert!(dot.contains("rankdir=\"LR\";"));
    assert!(!dot.contains("fontcolor="));
    let _ = std::fs::remove_dir_all(&dir);

    let res = circ(&["dot", "-", "--rankdir", "sideways"], Some(SHARED));
    assert_eq!(res.status.code(), Some(2));
}
