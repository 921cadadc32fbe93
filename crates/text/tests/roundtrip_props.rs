//! Round-trip properties of the printer and parser on random circuits from
//! `circuit_testkit` (every node kind, nasty names, `AD`, named axes, symbolic sizes, DAG
//! sharing, several roots sharing nodes):
//!
//! * `parse(print(c)) == c` (equality is the content hash) for the default printer and
//!   for `force_use_serial_numbers`, `arrows`, `only_child_below`, both together,
//!   `shape_only_when_necessary: false` and `comment_arg_names`;
//! * printing is idempotent: `print(parse(print(c))) == print(c)`.
//!
//! Arrays and index tensors go through a temporary tensor store (a fresh directory per
//! case, set on both `PrintOptions::save_tensors` and `ParseOptions::tensor_store`).
//! A failure is minimised with `circuit_testkit::shrink` and reported with the text.
//!
//! Case counts: 2,000 generated circuits (each checked under 7 printer configurations)
//! in `roundtrip_all_printer_variants`, plus smaller runs for explicit named axes on every
//! kind and for unused module arguments. `PROPTEST_CASES` overrides the counts.

#![allow(clippy::unwrap_used)]

use circuit_ir::Circuit;
use circuit_tensor::TensorStore;
use circuit_testkit::strategy::arb_generated;
use circuit_testkit::{shrink, GenConfig, TempDir};
use circuit_text::{parse_circuits, ParseOptions, PrintOptions};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// The printer configurations every circuit is checked under.
fn variants() -> Vec<(&'static str, PrintOptions)> {
    let d = PrintOptions::default;
    vec![
        ("default", d()),
        ("force_use_serial_numbers", PrintOptions { force_use_serial_numbers: true, ..d() }),
        ("arrows", PrintOptions { arrows: true, ..d() }),
        ("only_child_below", PrintOptions { only_child_below: true, ..d() }),
        ("arrows+only_child_below", PrintOptions { arrows: true, only_child_below: true, ..d() }),
        ("shape_always", PrintOptions { shape_only_when_necessary: false, ..d() }),
        ("comment_arg_names", PrintOptions { comment_arg_names: true, ..d() }),
    ]
}

fn parse_opts(store: &TensorStore, check_inputs_used: bool) -> ParseOptions {
    ParseOptions {
        tensor_store: Some(store.clone()),
        module_check_all_inputs_used: check_inputs_used,
        ..ParseOptions::default()
    }
}

/// Checks one printer configuration: parse(print) gives the same roots and reprinting
/// gives the same text. `Err` carries a report.
fn check(
    roots: &[Circuit],
    name: &str,
    opts: &PrintOptions,
    store: &TensorStore,
    check_inputs_used: bool,
) -> Result<(), String> {
    let opts = PrintOptions { save_tensors: Some(store.clone()), ..opts.clone() };
    let text = opts.repr(roots).map_err(|e| format!("[{name}] print failed: {e}"))?;
    let parsed = parse_circuits(&text, &parse_opts(store, check_inputs_used))
        .map_err(|e| format!("[{name}] parse failed: {}\n--- text ---\n{text}", e.render()))?;
    if parsed.len() != roots.len() {
        return Err(format!(
            "[{name}] {} roots printed, {} parsed\n--- text ---\n{text}",
            roots.len(),
            parsed.len()
        ));
    }
    for (i, (a, b)) in roots.iter().zip(&parsed).enumerate() {
        if a != b {
            let again = opts.repr(&parsed).unwrap_or_else(|e| format!("<print failed: {e}>"));
            return Err(format!(
                "[{name}] root {i} differs after parsing: expected {a:?} {:?}, got {b:?} {:?}\n--- text ---\n{text}\n--- parsed, reprinted ---\n{again}",
                a.hash(),
                b.hash()
            ));
        }
    }
    let again = opts.repr(&parsed).map_err(|e| format!("[{name}] reprint failed: {e}"))?;
    if again != text {
        return Err(format!(
            "[{name}] printing is not idempotent\n--- first ---\n{text}\n--- second ---\n{again}"
        ));
    }
    Ok(())
}

/// Checks every configuration on `roots`; on failure, minimises the circuit and returns
/// a report of the smallest failing case.
fn check_all(
    roots: &[Circuit],
    variants: &[(&'static str, PrintOptions)],
    check_inputs_used: bool,
) -> Result<(), String> {
    let dir = TempDir::new("circuit-roundtrip").map_err(|e| e.to_string())?;
    let run = |roots: &[Circuit], n: usize| -> Result<(), String> {
        let store = dir.sub_store(&format!("s{n}")).map_err(|e| e.to_string())?;
        for (name, opts) in variants {
            check(roots, name, opts, &store, check_inputs_used)?;
        }
        Ok(())
    };
    let Err(first) = run(roots, 0) else { return Ok(()) };
    let mut n = 0;
    let min = shrink::minimize(
        roots.to_vec(),
        |cand| {
            n += 1;
            run(cand, n).is_err()
        },
        2_000,
    );
    let report = run(&min, n + 1).err().unwrap_or_default();
    Err(format!("{first}\n\n=== minimised ({:?}) ===\n{report}", shrink::measure(&min)))
}

/// `cases`, unless `PROPTEST_CASES` says otherwise.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    /// The main property: every printer variant on 2,000 random circuits.
    #[test]
    fn roundtrip_all_printer_variants(g in arb_generated(GenConfig::default())) {
        let vs = variants();
        if let Err(report) = check_all(&g.roots, &vs, true) {
            prop_assert!(false, "seed {}: {}", g.seed, report);
        }
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// Explicit named axes on every kind survive when shapes are printed.
    #[test]
    fn roundtrip_named_axes_on_any_kind(g in arb_generated(GenConfig {
        named_axes_on_any_kind: true,
        ..GenConfig::default()
    })) {
        let d = PrintOptions::default;
        let vs = vec![
            ("show_all_named_axes", PrintOptions { show_all_named_axes: true, ..d() }),
            ("shape_always", PrintOptions { shape_only_when_necessary: false, ..d() }),
        ];
        if let Err(report) = check_all(&g.roots, &vs, true) {
            prop_assert!(false, "seed {}: {}", g.seed, report);
        }
    }

    /// Module arguments the spec does not use round-trip when the parser allows them.
    #[test]
    fn roundtrip_unused_module_args(g in arb_generated(GenConfig {
        unused_module_args: true,
        kinds: vec![circuit_ir::Kind::Module, circuit_ir::Kind::Symbol, circuit_ir::Kind::Add],
        ..GenConfig::default()
    })) {
        let vs = vec![("default", PrintOptions::default())];
        if let Err(report) = check_all(&g.roots, &vs, false) {
            prop_assert!(false, "seed {}: {}", g.seed, report);
        }
    }
}

/// Every fixture that parses also round-trips (a fixed, deterministic set).
#[test]
fn fixtures_roundtrip() {
    let fixture_store = TensorStore::open(circuit_testkit::fixtures::tensor_dir());
    let mut parsed_ok = 0;
    for (name, text) in circuit_testkit::fixtures::FIXTURES {
        let Ok(roots) = parse_circuits(text, &parse_opts(&fixture_store, true)) else {
            continue;
        };
        parsed_ok += 1;
        if let Err(report) = check_all(&roots, &variants(), true) {
            panic!("fixture {name}: {report}");
        }
    }
    assert!(parsed_ok >= 20, "only {parsed_ok} fixtures parse");
}
