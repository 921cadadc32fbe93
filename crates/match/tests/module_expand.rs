//! Module spec / arg / children matchers, filter_module_spec, and the Expander (ports of
//! test_rust_get_update.py: test_restrict_module_spec, test_spec_circuit_matcher,
//! test_children_matcher, test_module_arg_matcher, test_expander_assert_any_found,
//! test_batch).
#![allow(clippy::unwrap_used)]

mod common;

use circuit_ir::{Circuit, Kind, Op};
use circuit_match::{new_traversal, restrict, Expander, IterativeMatcher, MatchError, Matcher};
use common::*;

fn block() -> Circuit {
    parse(
        "'blk' Add
  'm.norm' Module
    'ln' Add
      'ln.input' [2] Symbol 00000000-0000-0000-0000-000000000001
      'ln.w.bias' [2] Symbol 00000000-0000-0000-0000-000000000002
      'ln.w.scale' [2] Symbol 00000000-0000-0000-0000-000000000003
    'm.norm.input' [2] Scalar 1 ! 'ln.input'
    'm.ln.w.bias' [2] Scalar 2 ! 'ln.w.bias'
    'm.ln.w.scale' [2] Scalar 3 ! 'ln.w.scale'
  'a.norm_call' Module
    'a' Einsum a,a->a
      'a.input' [2] Symbol 00000000-0000-0000-0000-000000000004
      'a.w' [2] Scalar 5
    'a.norm' Module ! 'a.input'
      'ln'
      'a.norm.input' [2] Scalar 6 ! 'ln.input'
      'a.ln.w.bias' [2] Scalar 7 ! 'ln.w.bias'
      'a.ln.w.scale' [2] Scalar 8 ! 'ln.w.scale'",
    )
}

fn im(x: impl Into<IterativeMatcher>) -> IterativeMatcher {
    x.into()
}

#[test]
fn children_matcher() {
    let c = block();
    assert_eq!(names(&c, im("m.norm").children_matcher([0])), vec!["ln"]);
    assert_eq!(names(&c, im("m.norm").children_matcher([0, 1])), vec!["ln", "m.norm.input"]);
    assert_eq!(names(&c, im("m.norm").children_matcher([0, 3])), vec!["ln", "m.ln.w.scale"]);
    assert_eq!(
        names(&c, im("m.norm").children_matcher([2, 1])),
        vec!["m.ln.w.bias", "m.norm.input"]
    );
    for bad in [4, 7] {
        let err = circuit_match::get(&c, im("m.norm").children_matcher([bad])).unwrap_err();
        assert!(
            matches!(err, MatchError::ChildNumbersOutOfBounds { num_children: 4, .. }),
            "{err}"
        );
    }
    // The matcher continues below found nodes: nested matches are found too.
    let t = parse(
        "'p' Add
  'q' Add
    'r' [1] Scalar 1
  's' [1] Scalar 2",
    );
    assert_eq!(names(&t, im(Kind::Add).children_matcher([0])), vec!["q", "r"]);
}

#[test]
fn module_arg_matcher() {
    let c = block();
    assert_eq!(names(&c, im("m.norm").module_arg_matcher("ln.input")), vec!["m.norm.input"]);
    assert_eq!(names(&c, im("m.norm").module_arg_matcher("ln.w.bias")), vec!["m.ln.w.bias"]);
    assert_eq!(
        names(&c, im("m.norm").module_arg_matcher(["ln.input", "ln.w.bias", "ln.w.scale"])),
        vec!["m.ln.w.bias", "m.ln.w.scale", "m.norm.input"]
    );
    // Arguments are matched by their symbol, so the spec circuit never is.
    assert!(names(&c, im("m.norm").module_arg_matcher("ln")).is_empty());
    assert_eq!(names(&c, im("a.norm_call").module_arg_matcher("a.input")), vec!["a.norm"]);
    // Only arguments of modules the first matcher found.
    assert!(names(&c, im("a.norm_call").module_arg_matcher("ln.input")).is_empty());
    assert!(names(&c, im("m.norm").module_arg_matcher("a.input")).is_empty());
    // Every module's argument bound to ln.input.
    assert_eq!(
        names(&c, im(Kind::Module).module_arg_matcher("ln.input")),
        vec!["a.norm.input", "m.norm.input"]
    );
    let err = circuit_match::get(&c, im("blk").module_arg_matcher("x")).unwrap_err();
    assert!(matches!(err, MatchError::ExpectedModule { kind: Kind::Add, .. }), "{err}");
}

#[test]
fn spec_circuit_matcher() {
    let c = block();
    assert_eq!(names(&c, im(Kind::Module).spec_circuit_matcher()), vec!["a", "ln"]);
    assert_eq!(names(&c, im("m.norm").spec_circuit_matcher()), vec!["ln"]);
    assert!(circuit_match::get_with(&c, ["a", "ln"], true).is_ok());
    let err = circuit_match::get(&c, im("blk").spec_circuit_matcher()).unwrap_err();
    assert!(matches!(err, MatchError::ExpectedModule { .. }), "{err}");
}

#[test]
fn filter_module_spec() {
    let c = block();
    let m_norm = node(&c, "m.norm");
    assert_eq!(
        names(&m_norm, new_traversal(Some(1), None, false).filter_module_spec(true)),
        vec!["m.ln.w.bias", "m.ln.w.scale", "m.norm.input"]
    );
    // Without the filter the spec and its symbols are reached too.
    assert_eq!(names(&m_norm, new_traversal(Some(1), None, false)).len(), 7);
    let inputs = names(
        &c,
        im("a.norm_call").chain(new_traversal(Some(1), None, false).filter_module_spec(true)),
    );
    assert_eq!(inputs, vec!["a.ln.w.bias", "a.ln.w.scale", "a.norm", "a.norm.input"]);
    let non_module = restrict(!Matcher::from(Kind::Module), false, Some(1), None, false);
    let inputs = names(&c, im("a.norm_call").chain(non_module.filter_module_spec(true)));
    assert_eq!(inputs, vec!["a.ln.w.bias", "a.ln.w.scale", "a.norm.input"]);
}

fn scalar_value(c: &Circuit) -> f64 {
    match c.op() {
        Op::Scalar(s) => s.value,
        _ => panic!("not a scalar"),
    }
}

/// Prepends a batch dim of 5 to a Scalar.
fn scalar_batch(x: &Circuit) -> Result<Circuit, MatchError> {
    let mut shape = vec![5];
    shape.extend(x.shape().iter().copied());
    Ok(Circuit::scalar(scalar_value(x), &shape, x.name())?)
}

fn to_zero_expand(_: &Circuit) -> Result<Circuit, MatchError> {
    Ok(Circuit::scalar(0.0, &[5, 3, 2], Some("zero"))?)
}

#[test]
fn expander_assert_any_found() {
    let a = parse("'a' [3,2] Scalar 1");
    let z = to_zero_expand(&a).unwrap();
    let mut e_a = Expander::new().with("a", to_zero_expand).default_assert_any_found(true);
    let mut e_ab1 = Expander::new().with(["a", "b"], to_zero_expand).default_assert_any_found(true);
    let mut e_ab2 = Expander::new()
        .with("a", to_zero_expand)
        .with("b", to_zero_expand)
        .default_assert_any_found(true);
    let mut e_b_lax = Expander::new().with("b", to_zero_expand);
    let mut e_b_strict = Expander::new().with("b", to_zero_expand).default_assert_any_found(true);
    for _ in 0..2 {
        assert_eq!(e_a.batch(&a).unwrap(), z);
        assert_eq!(e_ab1.batch(&a).unwrap(), z);
        assert_eq!(e_ab2.batch(&a).unwrap(), z);
        assert_eq!(e_b_lax.batch(&a).unwrap(), a);
        let err = e_b_strict.batch(&a).unwrap_err();
        assert!(err.to_string().starts_with("no matches found during expand"), "{err}");
        assert!(e_b_lax.batch_opts(&a, None, Some(true)).is_err());
        assert_eq!(e_b_strict.batch_opts(&a, None, Some(false)).unwrap(), a);
    }
}

#[test]
fn expander_batches_ancestors() {
    let added = fin();
    let a = node(&added, "a");
    let b = node(&added, "b");

    let batched = Expander::new().with(&a, scalar_batch).batch(&added).unwrap();
    assert_eq!(batched.shape().as_slice(), &[5, 1, 3]);
    assert_eq!(batched.name(), Some("fin"));
    let ein = circuit_match::get_unique(&batched, Kind::Einsum).unwrap();
    assert_eq!(ein.name(), Some("ein"));
    assert_eq!(ein.shape().as_slice(), &[5, 1, 3]);
    // `b` was not replaced.
    assert!(circuit_match::get(&batched, &b).unwrap().len() == 1);

    let batched = Expander::new()
        .with(Matcher::circuits([a.clone(), b.clone()]), scalar_batch)
        .batch(&added)
        .unwrap();
    assert_eq!(batched.shape().as_slice(), &[5, 1, 3]);
    let batched2 =
        Expander::new().with(&a, scalar_batch).with(&b, scalar_batch).batch(&added).unwrap();
    assert_eq!(batched2, batched);

    let suffixed = Expander::new()
        .with(&a, scalar_batch)
        .with(&b, scalar_batch)
        .suffix("batch_suffix")
        .batch(&added)
        .unwrap();
    assert_eq!(suffixed.name(), Some("fin_batch_suffix"));
    assert_eq!(suffixed.shape().as_slice(), &[5, 1, 3]);
    let ein = circuit_match::get_unique(&suffixed, Kind::Einsum).unwrap();
    assert_eq!(ein.name(), Some("ein_batch_suffix"));
    // Replaced nodes keep their own names.
    assert_eq!(names(&suffixed, Kind::Scalar), vec!["a", "b"]);
}

#[test]
fn expander_replaces_top_down_and_bans_multiple() {
    let added = fin();
    // The first found node on a path is replaced; nothing below it is visited.
    let mut e = Expander::new()
        .with("ein", |x: &Circuit| {
            Ok::<_, MatchError>(Circuit::scalar(7.0, x.shape(), Some("seven"))?)
        })
        .with("a", |_: &Circuit| -> Result<Circuit, MatchError> {
            panic!("below a replaced node")
        });
    let out = e.batch(&added).unwrap();
    assert_eq!(names(&out, true), vec!["fin", "seven", "soft"]);
    let mut banned = Expander::new()
        .with("a", scalar_batch)
        .with(Kind::Scalar, scalar_batch)
        .ban_multiple_matches_on_node(true);
    let err = banned.batch(&added).unwrap_err();
    assert!(matches!(err, MatchError::MultipleMatchesOnNode { count: 2, .. }), "{err}");
    // A transform that breaks the batch alignment surfaces as an IR error.
    let mut bad = Expander::new().with("a", scalar_batch).with("b", |x: &Circuit| {
        let mut shape = vec![4];
        shape.extend(x.shape().iter().copied());
        Ok::<_, MatchError>(Circuit::scalar(1.0, &shape, x.name())?)
    });
    assert!(matches!(bad.batch(&added), Err(MatchError::Ir(_))));
}

/// The remix notebook idiom: find the inputs of one module call through a chain,
/// restrict a traversal with `term_early_at`, and update the found nodes.
#[test]
fn notebook_style_usage() {
    let c = block();
    let inputs = im("a.norm_call").chain(im("a.norm").children_matcher([1]));
    let input = circuit_match::get_unique(&c, inputs.clone()).unwrap();
    assert_eq!(input.name(), Some("a.norm.input"));
    // Stop at modules: nothing inside them is visited.
    let top = restrict(true, false, None, None, Kind::Module);
    assert_eq!(names(&c, top), vec!["a.norm_call", "blk", "m.norm"]);
    let escaped = Matcher::regex_escape_dot(r"^a.ln.w.\.*$").unwrap();
    assert_eq!(names(&c, escaped), vec!["a.ln.w.bias", "a.ln.w.scale"]);
    let out = circuit_match::update(&c, inputs, |x: &Circuit| {
        Ok::<_, MatchError>(Circuit::scalar(0.0, x.shape(), Some("a.norm.input_zeroed"))?)
    })
    .unwrap();
    assert_eq!(names(&out, "a.norm.input_zeroed").len(), 1);
    assert_eq!(names(&out, "m.norm.input").len(), 1);
    assert_eq!(out.shape(), c.shape());
}
