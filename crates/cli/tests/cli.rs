//! Runs the `circ` binary: outputs, exit codes and error messages.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{circ, temp_dir};

#[test]
fn fmt_prints_canonical_text() {
    let out = circ(&["fmt", "-"], Some("0 [2, 3] Add\n  1 [2,3] Scalar 1.0\n"), None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "0 Add\n  1 [2,3] Scalar 1\n");
}

#[test]
fn fmt_check_reports_non_canonical_files() {
    let dir = temp_dir("check");
    let canonical = dir.join("a.circ");
    std::fs::write(&canonical, "0 Add\n  1 [2,3] Scalar 1\n").unwrap();
    let messy = dir.join("b.circ");
    std::fs::write(&messy, "0 Add\n  1 [2, 3] Scalar 1.0\n").unwrap();
    assert_eq!(
        circ(&["fmt", "--check", canonical.to_str().unwrap()], None, None).status.code(),
        Some(0)
    );
    let out = circ(&["fmt", "--check", messy.to_str().unwrap()], None, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("not canonical"));
}

#[test]
fn parse_errors_exit_2_with_a_caret() {
    let dir = temp_dir("err");
    let f = dir.join("bad.circ");
    std::fs::write(&f, "0 Add\n  1 [2] Scalar 1d\n").unwrap();
    let out = circ(&["fmt", f.to_str().unwrap()], None, None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.circ:2:16"), "{err}");
    assert!(err.contains("'1d' is not a number"), "{err}");
    assert!(err.contains("^"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(circ(&["fmt"], None, None).status.code(), Some(2));
    assert_eq!(circ(&["no-such-command"], None, None).status.code(), Some(2));
    assert_eq!(circ(&["fmt", "/no/such/file.circ"], None, None).status.code(), Some(2));
}

#[test]
fn check_summarises() {
    let text = "'m' Module\n  'body' Add\n    's' [2] Symbol\n    'w' [2] Symbol 873a937e-2bb9-4f7f-b55e-a100db3dde52\n  'x' [3,2] Scalar 1 ! 's'\n";
    let out = circ(&["check", "-"], Some(text), None);
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("roots: 1"), "{s}");
    assert!(s.contains("'m' [3,2] Module (not evaluable)"), "{s}");
    assert!(s.contains("free symbols: 1"), "{s}");
    assert!(s.contains("'w' [2]"), "{s}");
}

#[test]
fn shape_prints_each_root() {
    let out = circ(&["shape", "-"], Some("'a' [2,0s] Symbol\n'b' Einsum ab->b\n  'a'\n"), None);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "[2,0s]\n[0s]\n");
}

#[test]
fn tensor_add_show_and_use_in_a_circuit() {
    let store = temp_dir("store");
    let npy = store.join("..").join(format!("circ-cli-x-{}.npy", std::process::id()));
    let t = circuit_tensor::Tensor::from_vec(&[2, 3], vec![1.0f32, 2., 3., 4., 5., 6.]).unwrap();
    circuit_tensor::write_npy(&npy, &t).unwrap();
    let out = circ(&["tensor", "add", npy.to_str().unwrap()], None, Some(&store));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let hash = t.hash().to_hex();
    assert!(String::from_utf8(out.stdout).unwrap().starts_with(&hash));
    let out = circ(&["tensor", "show", &hash[..8]], None, Some(&store));
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("float32"), "{s}");
    let text = format!("'x' [2,3] Array {}\n", &hash[..24]);
    let out = circ(&["fmt", "-"], Some(&text), Some(&store));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim_end(), text.trim_end());
    let missing = circ(&["tensor", "show", "ffffff"], None, Some(&store));
    assert_eq!(missing.status.code(), Some(1));
    let _ = std::fs::remove_file(npy);
}
