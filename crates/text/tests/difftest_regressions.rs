//! Regressions from the differential test against rust_circuit 0.4.3
//! (`scripts/difftest`, `docs/DIFFTEST.md`): each input reprints exactly as the original
//! reprints it.
#![allow(clippy::unwrap_used, missing_docs)]

use circuit_text::{parse_circuits, ParseOptions, PrintOptions};

fn fmt(text: &str) -> String {
    let c =
        parse_circuits(text, &ParseOptions::default()).unwrap_or_else(|e| panic!("{}", e.render()));
    let out = PrintOptions::default().repr(&c).unwrap();
    let again = parse_circuits(&out, &ParseOptions::default()).unwrap();
    assert!(again == c, "reparse differs:\n{out}");
    out
}

fn same(text: &str) {
    assert_eq!(fmt(text), text.trim_end());
}

#[test]
fn module_does_not_inherit_ad_from_spec_or_symbols() {
    same("'m' Module\n  's' AD [2] Symbol 00000000-0000-0000-0000-000000000001\n  'x' [2] Scalar 1 ! 's'");
    same("'m' Module\n  'sp' AD Add\n    's' [2] Symbol 00000000-0000-0000-0000-000000000001\n  'x' [2] Scalar 1 ! 's'");
}

#[test]
fn set_symbolic_shape_does_not_inherit_ad() {
    same("'s' [0s] SetSymbolicShape\n  'x' AD [2] Scalar 1");
}

#[test]
fn empty_axis_names_are_allowed() {
    same("'x' [:2] Scalar 1");
}

#[test]
fn named_rearranges_print_names() {
    same("'r' Rearrange pos -> pos\n  'x' [pos:3] Scalar 1");
}

#[test]
fn empty_rearrange_output_has_no_trailing_space() {
    same("'m' Module\n  's' [] Symbol 00000000-0000-0000-0000-000000000001\n  'r' Rearrange  -> ! 's'\n    'x' [] Scalar 1");
}

#[test]
fn fancy_einsum_needs_every_operand_axis_named() {
    same("'e' Einsum a,ab->b\n  'x' [3] Scalar 1\n  'y' [c:3,d:4] Scalar 2");
    // Conflicting operand names: the later name wins and the form stays plain.
    same("'e' Einsum a,a->a\n  'x' [c:2] Scalar 1\n  'y' [d:2] Scalar 2");
}

#[test]
fn symbols_sharing_a_symbolic_size_may_bind_different_sizes() {
    same(
        "'m' Module\n  'sp' Add\n    'e1' Einsum a->\n      'x' [0s] Symbol 00000000-0000-0000-0000-000000000003\n    'e2' Einsum a->\n      'y' [0s] Symbol 00000000-0000-0000-0000-000000000004\n  'a' [5] Scalar 1 ! 'x'\n  'b' [3] Scalar 1 ! 'y'",
    );
}

#[test]
fn named_axes_follow_the_original() {
    let shapes = PrintOptions { shape_only_when_necessary: false, ..PrintOptions::default() };
    let show =
        |text: &str| shapes.repr(&parse_circuits(text, &ParseOptions::default()).unwrap()).unwrap();
    assert!(show("'p' GeneralFunction pow\n  'x' [h:2] Scalar 1\n  'y' [] Scalar 2")
        .starts_with("'p' [h:2]"));
    assert!(show("'g' GeneralFunction log_softmax\n  'x' [b:5] Scalar 1").starts_with("'g' [5]"));
    assert!(show("'a' Add\n  'x' [x:3] Scalar 1\n  'y' [b:3] Scalar 2").starts_with("'a' [b:3]"));
}
