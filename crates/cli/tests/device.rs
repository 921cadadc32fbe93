//! `--device`: the CPU default is unchanged; `cuda` either runs on a GPU and agrees with
//! the CPU, or (no GPU) fails with a clear message and exit code 2.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::circ;

const TEXT: &str = "'y' Einsum ab,bc->ac\n  'a' [2,3] Scalar 1.5\n  'b' [3,4] Scalar 2\n";

#[test]
fn eval_on_cpu_or_cuda() {
    let cpu = circ(&["eval", "-", "--device", "cpu"], Some(TEXT), None);
    assert_eq!(cpu.status.code(), Some(0));
    let cpu_out = String::from_utf8(cpu.stdout).unwrap();
    assert!(cpu_out.contains("y: float32 [2, 4]  min 9.000000 max 9.000000"), "{cpu_out}");
    let gpu = circ(&["eval", "-", "--device", "cuda"], Some(TEXT), None);
    let err = String::from_utf8(gpu.stderr).unwrap();
    match gpu.status.code() {
        Some(0) => assert_eq!(String::from_utf8(gpu.stdout).unwrap(), cpu_out),
        Some(2) => assert!(err.contains("--device cuda: no CUDA device"), "{err}"),
        other => panic!("unexpected exit {other:?}: {err}"),
    }
}

#[test]
fn bench_reports_the_device() {
    let out = circ(&["bench", "-", "--repeat", "2"], Some(TEXT), None);
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("device:      cpu"), "{s}");
    assert!(s.contains("bandwidth:"), "{s}");
    let gpu = circ(&["bench", "-", "--repeat", "2", "--device", "cuda:0"], Some(TEXT), None);
    match gpu.status.code() {
        Some(0) => {
            let s = String::from_utf8(gpu.stdout).unwrap();
            assert!(s.contains("device time:"), "{s}");
        }
        Some(2) => {}
        other => panic!("unexpected exit {other:?}"),
    }
    let bad = circ(&["eval", "-", "--device", "tpu"], Some(TEXT), None);
    assert_eq!(bad.status.code(), Some(2));
}
