//! `fixtures/bench/*.circ` (perf workloads W1 and W2 as text, written by
//! `examples/bench_circuits.rs`) evaluate to the float64 references within 1e-4 relative
//! error. Needs the workload data and the tensor store they refer to; without them (as
//! in CI) the test prints SKIPPED. Paths: `CIRCUIT_PERF_DATA` (default
//! `.scratch/perfdata`) and `CIRCUIT_PERF_STORE` (default `.scratch/perf-store`).

use std::path::{Path, PathBuf};

use circuit::eval::evaluate;
use circuit::tensor::{read_npy, TensorStore};
use circuit::text::{parse_circuits, ParseOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn dir(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(default), PathBuf::from)
}

/// Max |a − b| / max(|b|∞, 1e-12): the error relative to the reference's scale.
fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max) / scale
}

#[test]
fn bench_fixtures_match_the_float64_references() -> TestResult {
    let (data, store) = (
        dir("CIRCUIT_PERF_DATA", ".scratch/perfdata"),
        dir("CIRCUIT_PERF_STORE", ".scratch/perf-store"),
    );
    if !store.is_dir() || !data.is_dir() {
        eprintln!(
            "SKIPPED bench_fixtures: no workload data/store ({} / {}); see examples/bench_circuits.rs",
            data.display(),
            store.display()
        );
        return Ok(());
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bench");
    let cases = [
        ("w1_attn2.circ", data.join("attn2/expected_nll_f64.npy")),
        ("w2_chain5_batched.circ", data.join("einsum_chain/expected_chain5_batched_f64.npy")),
        ("w2_kcomp7.circ", data.join("einsum_chain/expected_kcomp7_f64.npy")),
        ("w2_kcomp8_batched.circ", data.join("einsum_chain/expected_kcomp8_batched_f64.npy")),
    ];
    for (file, expected) in cases {
        if !expected.is_file() {
            eprintln!("SKIPPED {file}: no {} (scripts/perf/w2_expected.py)", expected.display());
            continue;
        }
        let path = fixtures.join(file);
        let opts = ParseOptions {
            file: Some(path.clone()),
            tensor_store: Some(TensorStore::open(&store)),
            ..ParseOptions::default()
        };
        let circuits =
            parse_circuits(&std::fs::read_to_string(&path)?, &opts).map_err(|e| e.render())?;
        let got = evaluate(&circuits[0])?;
        let want = read_npy(&expected)?;
        assert_eq!(got.shape(), want.shape(), "{file}");
        let err = rel_err(&got.to_f64_vec(), &want.to_f64_vec());
        eprintln!("{file}: relative error {err:.1e}");
        assert!(err < 1e-4, "{file}: relative error {err:.2e}");
    }
    Ok(())
}
