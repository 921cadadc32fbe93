//! Module rewrites: substitute with renaming, binding, extraction, pushing.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use circuit_match::{new_traversal, traverse_until_depth, IterativeMatcher, Matcher};
use circuit_rewrite::module::{module_remove_unused_inputs, ModuleCallback, ModulePusher};
use circuit_rewrite::{
    conform_all_modules, extract_rewrite, extract_symbols_get, get_push_down_modules,
    module_new_bind, push_down_modules, substitute, substitute_all_modules, Binder, ExtractOptions,
    RewriteError, SubstituteNames,
};
use common::{assert_same_value, parse1, print};

const LN: &str = "'m' Module
  'body' Add
    'e' Einsum a,->a
      'sym' [3] Symbol 00000000-0000-4000-8000-000000000014
      'k' [] Scalar 2
    'sg' GeneralFunction sigmoid
      'sym'
    'c' [3] Scalar 1
  'inp' [2,3] Symbol 00000000-0000-4000-8000-000000000001 ! 'sym'";

#[test]
fn substitute_renames_the_replaced_path() {
    let m = parse1(LN);
    let names = SubstituteNames {
        prefix: Some("p.".into()),
        suffix: Some(".s".into()),
        ..Default::default()
    };
    let out = substitute(&m, &names).unwrap();
    let text = print(&out);
    assert!(text.starts_with("'m' Add"), "{text}");
    assert!(text.contains("'p.e.s' Einsum"), "{text}");
    assert!(text.contains("'p.sg.s' GeneralFunction"), "{text}");
    assert!(text.contains("'c' [3] Scalar"), "off-path nodes keep their names:\n{text}");
    assert_same_value(&m, &out);
    let self_prefix =
        substitute(&m, &SubstituteNames { use_self_name_as_prefix: true, ..Default::default() })
            .unwrap();
    assert!(print(&self_prefix).contains("'m.e' Einsum"));
    let both = SubstituteNames {
        prefix: Some("x".into()),
        use_self_name_as_prefix: true,
        ..Default::default()
    };
    assert!(matches!(substitute(&m, &both), Err(RewriteError::InvalidArgument { .. })));
    assert!(matches!(substitute(&m.children()[0], &names), Err(RewriteError::ExpectedKind { .. })));
}

#[test]
fn substitute_all_and_conform_keep_values() {
    let m = parse1(LN);
    let s = substitute_all_modules(&m).unwrap();
    assert!(s.toposort().iter().all(|n| n.kind() != circuit_ir::Kind::Module));
    assert_same_value(&m, &s);
    let c = conform_all_modules(&m).unwrap();
    assert_eq!(c.children()[0].shape().as_slice(), &[2, 3]);
    assert_same_value(&m, &c);
}

#[test]
fn module_new_bind_binds_symbols_only() {
    let spec = parse1(
        "'body' Add
  'a' [3] Symbol 00000000-0000-4000-8000-000000000001
  'b' [3] Symbol 00000000-0000-4000-8000-000000000002",
    );
    let x = parse1("'x' [2,3] Scalar 1.5");
    let m = module_new_bind(&spec, &[Binder::new("a", x.clone())], true, Some("bound")).unwrap();
    assert_eq!(m.shape().as_slice(), &[2, 3]);
    assert_eq!(m.free_symbols().len(), 1);
    let err = module_new_bind(&spec, &[Binder::new("body", x.clone())], true, None).unwrap_err();
    assert!(matches!(err, RewriteError::InvalidArgument { .. }), "{err}");
    let err = module_new_bind(&spec, &[Binder::new("nope", x)], true, None).unwrap_err();
    assert!(matches!(err, RewriteError::Match { .. }), "{err}");
}

#[test]
fn extract_rewrite_is_inverse_of_substitute() {
    let c = parse1(
        "'top' Add
  'h1' Einsum a,->a
    'pre.x' [3] Symbol 00000000-0000-4000-8000-000000000001
    'k' [] Scalar 2
  'y' [3] Scalar 1",
    );
    let opts = ExtractOptions {
        prefix_to_strip: Some("pre.".into()),
        module_name: Some("mod".into()),
        ..Default::default()
    };
    let m = extract_rewrite(&c, Matcher::names(["pre.x", "k"]), &opts).unwrap();
    let text = print(&m);
    assert!(text.starts_with("'mod' Module"), "{text}");
    // Arguments sorted by name: k before x; the prefix is stripped from the symbol.
    let circuit_ir::Op::Module(mm) = m.op() else { panic!("not a module") };
    let names: Vec<Option<&str>> = mm.arg_specs.iter().map(|a| a.symbol.name()).collect();
    assert_eq!(names, vec![Some("k"), Some("x")]);
    assert_eq!(substitute_all_modules(&m).unwrap().rename(Some("top")).unwrap(), c);
    // Deterministic symbols: the same extraction gives the same circuit.
    assert_eq!(extract_rewrite(&c, Matcher::names(["pre.x", "k"]), &opts).unwrap(), m);
}

#[test]
fn extract_symbols_then_substitute() {
    let c = parse1(
        "'a.norm' Module
  'ln' Add
    'ln.w.bias' [3] Symbol 621c7792-0177-45ab-87c5-7ff1c3bec487
    'ln.input' [3] Symbol 981b4d2a-711b-4a9d-a11c-d859c311e80c
  'a.norm.input' [2,3] Symbol 6a622698-fd68-4d25-aeee-e8d38e68049e ! 'ln.input'
  'a.ln.w.bias' [3] Symbol 2c737289-2702-404c-a22e-ad37c2652620 ! 'ln.w.bias'",
    );
    let e = extract_symbols_get(&c, "ln.w.bias").unwrap();
    let text = print(&e);
    assert!(text.contains("'a.norm extracted' Module"), "{text}");
    assert_same_value(&c, &e);
    let err = extract_symbols_get(&c, "ln").unwrap_err();
    assert!(matches!(err, RewriteError::InvalidArgument { .. }));
}

#[test]
fn push_down_full_matches_substitution() {
    let m = parse1(LN);
    let pushed = push_down_modules(&m, new_traversal(None, None, Matcher::never()), None).unwrap();
    let text = print(&pushed);
    assert!(text.contains("'e bind:m' Einsum"), "{text}");
    assert!(!text.contains("Module"), "{text}");
    assert_same_value(&m, &pushed);
}

#[test]
fn push_down_to_a_depth_wraps_where_the_traversal_stops() {
    let m = parse1(LN);
    let pushed = push_down_modules(&m, traverse_until_depth(2), None).unwrap();
    let text = print(&pushed);
    assert!(text.contains("'e bind:m' Module"), "{text}");
    assert!(text.contains("'sg bind:m' Module"), "{text}");
    assert_same_value(&m, &pushed);
    // Skipping the module leaves it alone.
    let skipped = push_down_modules(
        &m,
        new_traversal(None, None, Matcher::never()),
        Some(Matcher::names(["m"])),
    )
    .unwrap();
    assert_eq!(skipped, m);
    let nested = ModulePusher {
        flatten_modules: false,
        callback: ModuleCallback::Noop,
        ..Default::default()
    };
    let out = nested.push_down_modules(&m, traverse_until_depth(2), None).unwrap();
    assert_same_value(&m, &out);
}

#[test]
fn get_push_down_modules_substitutes_bindings() {
    let m = parse1(LN);
    let got = get_push_down_modules(&m, IterativeMatcher::from("sg"), None).unwrap();
    assert_eq!(got.len(), 1);
    let sg = got.into_iter().next().unwrap();
    assert_eq!(sg.shape().as_slice(), &[2, 3]);
    assert!(sg.free_symbols().iter().all(|s| s.name() == Some("inp")));
}

#[test]
fn remove_unused_inputs_keeps_batch_dims() {
    let m = parse1(LN);
    assert_eq!(module_remove_unused_inputs(&m, true, true).unwrap(), None);
    let err = module_remove_unused_inputs(&m.children()[0], true, true).unwrap_err();
    assert!(matches!(err, RewriteError::ExpectedKind { .. }));
}
