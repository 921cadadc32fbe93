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
    fn roundtrip_all_printer_variants(g in arb_generated(GenConfig {
        noncanonical_rearrange: true,
        signed_nan: true,
        empty_axis_names: true,
        ..GenConfig::default()
    })) {
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
        unsafe_axis_names: true,
        ..GenConfig::default()
    })) {
        let d = PrintOptions::default;
        let vs = vec![
            ("default", d()),
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

// Regressions: round-trip failures the generator found, one minimal reproducer each
// (the generator switches that produce them are on in the property tests above).

/// `parse(print(roots))` with the default printer, then equality.
fn default_roundtrip(roots: &[Circuit]) -> Result<(), String> {
    let dir = TempDir::new("circuit-fixme").map_err(|e| e.to_string())?;
    let store = dir.store();
    check(roots, "default", &PrintOptions::default(), &store, true)
}

fn with_axis(c: Circuit, name: &str) -> Circuit {
    c.with_named_axes([(0u8, circuit_ir::Name::from(name))].into_iter().collect()).unwrap()
}

/// Regression: a name with a line break is printed raw inside its quotes, so the
/// output has a line `y' [] Scalar 1` and does not parse ("unterminated quoted name").
/// Fix: escape `\n`/`\r` in `quote_name` (and unescape in the lexer), or reject such
/// names with a `PrintError`. Generator switch: `newline_names`.
#[test]
fn regression_newline_in_name() {
    // The line format cannot hold a line break: bijective printing refuses clearly.
    let c = Circuit::scalar(1.0, &[], Some("x\ny")).unwrap();
    let err = PrintOptions::default().repr(&[c]).unwrap_err();
    assert!(err.to_string().contains("line break"), "{err}");
}

/// Regression: the IR accepts the empty axis name (`is_valid_axis_name("")` is true)
/// but the lexer rejects `[:3]` ("invalid axis name ''"). Fix: make
/// `circuit_ir::is_valid_axis_name` reject "" (the shape lexer already does).
/// Generator switch: `empty_axis_names`.
#[test]
fn regression_empty_axis_name() {
    // The empty axis name is allowed (as in rust_circuit) and round-trips as `[:3]`.
    let c = with_axis(Circuit::scalar(1.0, &[3], Some("s")).unwrap(), "");
    default_roundtrip(&[c]).unwrap();
}

/// Regression: the `fancy:` einsum form writes axis names verbatim into the payload,
/// so names containing `#` (comment), `!` (child info), `->` (the arrow) or a quote
/// (which can swallow a later ` ! binding`) break the line:
/// `'s' Einsum fancy: #h -> #h` fails with "expected '->'". Fix: in `fancy_einsum`, fall
/// back to the plain form when a name contains `'`, `#`, `!`, `,` or `->` (or is empty).
/// Generator switch: `unsafe_axis_names`.
#[test]
fn regression_fancy_einsum_special_axis_names() {
    for name in ["#h", "!x", "a->b"] {
        let s = with_axis(Circuit::scalar(1.0, &[2], Some("s")).unwrap(), name);
        let e = Circuit::einsum_from_axes(vec![(s, vec![0])], &[0], Some("e")).unwrap();
        default_roundtrip(&[e]).unwrap_or_else(|r| panic!("axis name {name:?}: {r}"));
    }
    // quotes: `'e2' Einsum fancy: 'q q' -> 'q ! 's'` loses its module binding
    let q = |n: &str, v| with_axis(Circuit::scalar(v, &[2], Some(n)).unwrap(), n);
    let e = Circuit::einsum_from_axes(
        vec![(q("'q", 1.0), vec![0]), (q("q'", 2.0), vec![1])],
        &[0, 1],
        Some("e"),
    )
    .unwrap();
    let e2 = Circuit::einsum_from_axes(vec![(e, vec![0, 1])], &[0], Some("e2")).unwrap();
    let sym = Circuit::symbol(&[2], circuit_ir::Uuid::nil(), Some("s")).unwrap();
    let spec = circuit_ir::kinds::ModuleArgSpec::new(sym.clone()).unwrap();
    let m = Circuit::module(sym.add(&sym).unwrap(), vec![(spec, e2)], Some("m")).unwrap();
    default_roundtrip(&[m]).unwrap();
}

/// Regression: a Rearrange spec is hashed with its raw int numbering and size slots, but
/// the printer letters ints by number and the parser renumbers them in order of first
/// appearance (and drops unused slots), so `b a -> (a b)` built with ints `[[1],[0]] ->
/// [[0,1]]` (printed `b a -> (a b)`) parses back as `[[0],[1]] -> [[1,0]]`, a different
/// hash. Fix: canonicalise the spec at construction (`derive::normalize`: renumber by
/// first appearance over input then output groups, truncate `int_sizes`), as Index
/// padding already is. Generator switch: `noncanonical_rearrange`.
#[test]
fn regression_noncanonical_rearrange_ints() {
    use circuit_ir::kinds::RearrangeSpec;
    let x = Circuit::scalar(1.0, &[3, 2], Some("x")).unwrap();
    let g = |v: &[u8]| v.iter().copied().collect();
    let spec =
        RearrangeSpec::new(vec![g(&[1]), g(&[0])], vec![g(&[0, 1])], vec![None, None]).unwrap();
    default_roundtrip(&[x.rearrange(spec).unwrap()]).unwrap();
    let unused_slot = RearrangeSpec::new(vec![], vec![], vec![Some(5)]).unwrap();
    let s = Circuit::scalar(1.0, &[], Some("s")).unwrap();
    default_roundtrip(&[s.rearrange(unused_slot).unwrap()]).unwrap();
}

/// Regression: Scalars print with `{}`, which writes every NaN as `NaN`, so a NaN
/// with the sign bit set (or another payload) parses back as the canonical NaN, and the
/// value bits are hashed. Fix: canonicalise NaN in the Scalar constructor (or hash
/// canonical NaN). Generator switch: `signed_nan`.
#[test]
fn regression_negative_nan_scalar() {
    let c = Circuit::scalar(-f64::NAN, &[2], Some("n")).unwrap();
    default_roundtrip(&[c]).unwrap();
}

/// Regression: explicit named axes on a kind whose shape the default printer omits
/// (Add, Einsum, Module, ...) are dropped: `0 [a:3] Add` / `  1 [3] Scalar 1` parses
/// (the Add gets axis name `a`) but prints back as `0 Add`, which parses without it.
/// Fix: in bijection mode also print the shape when the node's named axes differ from
/// what it inherits from its children. Generator switch: `named_axes_on_any_kind`
/// (which `roundtrip_named_axes_on_any_kind` covers with shapes always printed).
#[test]
fn regression_explicit_named_axes_dropped_by_default_printer() {
    let dir = TempDir::new("circuit-fixme").unwrap();
    let opts = parse_opts(&dir.store(), true);
    let roots = parse_circuits("0 [a:3] Add\n  1 [3] Scalar 1", &opts).unwrap();
    assert!(!roots[0].named_axes().is_empty());
    default_roundtrip(&roots).unwrap();
}
