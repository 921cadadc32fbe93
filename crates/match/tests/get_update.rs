//! get / get_unique / any_found / paths / update / fancy validation (ports of
//! test_rust_get_update.py: test_update_branching, test_transform_ident, test_get,
//! test_any_found*, test_get_per_child, test_update_per_child,
//! test_updater_assert_any_found, test_get_paths, test_get_all_paths).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use circuit_ir::{Circuit, Kind};
use circuit_match::{
    are_any_found, get, get_all_paths, get_paths, get_unique, get_unique_op, get_with, update,
    update_with, IterateMatchResults, IterativeMatcher, MatchError, Matcher, UpdateOptions,
    Updated, Updater, ValidationProblem,
};
use common::*;

fn set(v: &[&Circuit]) -> BTreeSet<Circuit> {
    v.iter().map(|c| (*c).clone()).collect()
}

fn b_prime(_: &Circuit) -> Result<Circuit, MatchError> {
    Ok(parse("'b_prime' [2,3] Scalar 1.7"))
}

#[test]
fn update_branching() {
    let added = fin();
    let b = node(&added, "b");
    let full = parse(
        "'fin' Add
  'ein' Einsum ij,jk->ik
    'a' [1,2] Scalar 1
    'b_prime' [2,3] Scalar 1.7
  'soft' GeneralFunction softmax
    'ein'",
    );
    assert_eq!(update(&added, &b, b_prime).unwrap(), full);
    assert_eq!(IterativeMatcher::from(&b).update(&added, b_prime).unwrap(), full);
    let mut up = Updater::new(b_prime);
    assert_eq!(up.update(&added, &b).unwrap(), full);
    assert_eq!(up.update(&added, &b).unwrap(), full);

    // Only the path through `soft` is updated: the direct `ein` child stays.
    let partial = parse(
        "'fin' Add
  0 'ein' Einsum ij,jk->ik
    'a' [1,2] Scalar 1
    'b' [2,3] Scalar 2
  'soft' GeneralFunction softmax
    1 'ein' Einsum ij,jk->ik
      'a'
      'b_prime' [2,3] Scalar 1.7",
    );
    let chain = IterativeMatcher::from("soft").chain("b");
    assert_eq!(update(&added, chain, b_prime).unwrap(), partial);
}

#[test]
fn transform_sees_rebuilt_node_and_nested_matches() {
    let c = parse(
        "'x' Add
  'y' Add
    'z' [2] Scalar 1",
    );
    // Every Add is renamed; the outer transform sees the already renamed inner node.
    let seen = std::sync::Mutex::new(Vec::new());
    let out = update(&c, Kind::Add, |n: &Circuit| -> Result<Circuit, MatchError> {
        let child_names: Vec<String> =
            n.children().iter().map(|ch| ch.name().unwrap_or("").to_owned()).collect();
        seen.lock().unwrap().push((n.name().unwrap_or("").to_owned(), child_names));
        Ok(n.rename(Some(&format!("{}'", n.name().unwrap_or(""))))?)
    })
    .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![("y".to_owned(), vec!["z".to_owned()]), ("x".to_owned(), vec!["y'".to_owned()])]
    );
    assert_eq!(names(&out, true), vec!["x'", "y'", "z"]);
    // Identity transform gives an equal circuit.
    assert_eq!(update(&c, true, |n: &Circuit| Ok::<_, MatchError>(n.clone())).unwrap(), c);
}

/// The validation problems of a failed fancy get, as short strings.
fn missing_names(r: Result<BTreeSet<Circuit>, MatchError>) -> Vec<String> {
    match r {
        Err(MatchError::Validation { problems }) => problems
            .into_iter()
            .map(|p| match p {
                ValidationProblem::MissingName { name, .. } => format!("name:{name}"),
                ValidationProblem::MissingKind { kind } => format!("kind:{}", kind.name()),
                ValidationProblem::MissingCircuit { .. } => "circuit".to_owned(),
                ValidationProblem::MatchedNothing { matcher } => format!("nothing:{matcher}"),
                _ => "other".to_owned(),
            })
            .collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn get_and_fancy_validate() {
    let added = fin();
    let (a, b, ein, soft) =
        (node(&added, "a"), node(&added, "b"), node(&added, "ein"), node(&added, "soft"));
    assert_eq!(get_with(&added, Kind::Scalar, true).unwrap(), set(&[&a, &b]));
    assert_eq!(get_with(&added, &ein, true).unwrap(), set(&[&ein]));
    assert_eq!(get_unique_op(&added, &ein).unwrap(), Some(ein.clone()));
    assert_eq!(get_unique(&added, &ein).unwrap(), ein);
    assert_eq!(get_unique_op(&added, "sdkfj").unwrap(), None);
    assert!(get(&added, "sdkfj").unwrap().is_empty());
    assert!(matches!(get_unique(&added, "sdkfj"), Err(MatchError::NotFound { .. })));
    match get_unique(&added, Kind::Scalar) {
        Err(e @ MatchError::NotUnique { count: 2, .. }) => {
            assert!(e.to_string().contains("'a'"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let not_scalar = !Matcher::from(Kind::Scalar);
    assert_eq!(get_with(&added, not_scalar.clone(), true).unwrap(), set(&[&ein, &soft, &added]));
    assert_eq!(not_scalar.get(&added).unwrap(), set(&[&ein, &soft, &added]));
    assert_eq!(Matcher::from("a").get_unique(&added).unwrap(), a);

    let other = parse("'other_circ' [3] Symbol");
    assert_eq!(missing_names(get_with(&added, "sdkfj", true)), vec!["name:sdkfj"]);
    assert_eq!(missing_names(get_with(&added, ["sdkfj", "ein"], true)), vec!["name:sdkfj"]);
    assert_eq!(missing_names(get_with(&added, Kind::Cumulant, true)), vec!["kind:Cumulant"]);
    assert_eq!(
        missing_names(get_with(&added, [Kind::Einsum, Kind::Cumulant], true)),
        vec!["kind:Cumulant"]
    );
    assert_eq!(missing_names(get_with(&added, &other, true)), vec!["circuit"]);
    assert_eq!(
        missing_names(get_with(&added, Matcher::circuits([other.clone(), a.clone()]), true)),
        vec!["circuit"]
    );
    assert_eq!(
        missing_names(get_with(
            &added,
            Matcher::any([Matcher::circuits([other.clone(), a.clone()]), "dif".into()]),
            true
        )),
        vec!["circuit", "name:dif"]
    );
    assert_eq!(
        missing_names(get_with(
            &added,
            Matcher::all(["dif".into(), Matcher::circuits([other.clone(), a.clone()])]),
            true
        )),
        // Nothing matches the conjunction, so `a` is missing too.
        vec!["name:dif", "circuit", "circuit"]
    );
    assert_eq!(
        missing_names(get_with(&added, Matcher::regex("^zz").unwrap(), true)),
        vec!["nothing:re'^zz'"]
    );
    assert!(circuit_match::validate(&added, Matcher::regex("^e").unwrap()).is_ok());
    // Not / AnyFound are not checked.
    assert!(get_with(&added, !Matcher::from("zzz"), true).is_ok());
}

#[test]
fn fancy_validate_chains() {
    let other = parse("'other_circ' [3] Symbol");
    // Chains validate their last element.
    let added = parse(
        "'fin' Add
  'ein' Einsum ij,jk->ik
    'a' [1,2] Scalar 1
    'b' [2,3] Scalar 2
  'soft' GeneralFunction softmax
    'ein'
  1 'b' [3] Scalar 2",
    );
    let b_dup = get(&added, "b").unwrap().into_iter().find(|x| x.shape().len() == 1).unwrap();
    let (a, b) = (node(&added, "a"), get(&added, "b").unwrap());
    let ein = IterativeMatcher::from("ein");
    assert_eq!(get_with(&added, ein.chain(Kind::Scalar), true).unwrap().len(), 2);
    assert_eq!(get_with(&added, ein.chain("b"), true).unwrap().len(), 1);
    assert_eq!(get_with(&added, "b", true).unwrap(), b);
    assert!(get_with(&added, ein.chain(&b_dup), false).unwrap().is_empty());
    assert_eq!(missing_names(get_with(&added, ein.chain(&b_dup), true)), vec!["circuit"]);
    let fin_m = IterativeMatcher::from("fin");
    assert_eq!(
        get_with(&added, ein.chain(&a) | fin_m.chain(&b_dup), true).unwrap(),
        set(&[&a, &b_dup])
    );
    assert!(get_with(&added, ein.chain(&other) | fin_m.chain(&b_dup), true).is_err());
    assert!(get_with(
        &added,
        ein.chain_many([vec![(&a).into()], vec![(&b_dup).into()]], false),
        true
    )
    .is_err());
}

#[test]
fn typo_suggestions() {
    let c = parse(
        "'a1.in' Add
  'a1.norm' [2] Scalar 1
  'a0.in' [2] Scalar 1",
    );
    let err = get_with(&c, ["a1.ind", "a1.norm"], true).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no node named 'a1.ind' was matched (did you mean 'a1.in' or 'a0.in'?)"),
        "{msg}"
    );
    // A name that exists but is not reached is reported as such.
    let err = get_with(&c, IterativeMatcher::from("a1.norm").chain("a0.in"), true).unwrap_err();
    assert!(err.to_string().contains("exist, but the matcher did not reach them"), "{err}");
    // Far-off names get no suggestion.
    let err = get_with(&c, "completely_different", true).unwrap_err();
    assert!(!err.to_string().contains("did you mean"), "{err}");
}

#[test]
fn any_found() {
    let added = fin();
    let b = node(&added, "b");
    let other = parse("'other_circ' [3] Symbol");
    assert!(are_any_found(&added, Kind::Scalar).unwrap());
    assert!(!are_any_found(&added, &other).unwrap());
    assert!(are_any_found(&added, Kind::Einsum).unwrap());
    assert!(!are_any_found(&b, Kind::Einsum).unwrap());
    assert!(IterativeMatcher::from(Kind::Einsum).are_any_found(&added).unwrap());
    // Short-circuits: the closure is never called after the root is found.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let calls2 = calls.clone();
    let counting = Matcher::func(move |_| {
        calls2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        true
    });
    assert!(are_any_found(&added, counting).unwrap());
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

fn per_child_fixture() -> (Circuit, Circuit) {
    let c = parse(
        "'ein' Einsum ij,jk->ik
  'a' [1,2] Scalar 1
  'b' [2,3] Scalar 2",
    );
    (node(&c, "a"), node(&c, "b"))
}

#[test]
fn get_and_any_found_per_child() {
    let (a, b) = per_child_fixture();
    let ein = parse(
        "'ein' Einsum ij,jk->ik
  'a' [1,2] Scalar 1
  'b' [2,3] Scalar 2",
    );
    let ein2 = ein.clone();
    let first_finished = IterativeMatcher::new_func(move |x| {
        assert_eq!(x, &ein2);
        Ok(IterateMatchResults::new(false, Updated::PerChild(vec![None, Some(true.into())])))
    });
    let r = first_finished.match_iterate(&ein).unwrap();
    assert!(!r.found);
    assert!(matches!(&r.updated, Updated::PerChild(v) if v[0].is_none()));
    assert_eq!(get_with(&ein, first_finished.clone(), true).unwrap(), set(&[&b]));
    assert!(are_any_found(&ein, first_finished).unwrap());

    let both = IterativeMatcher::new_func(|_| {
        Ok(IterateMatchResults::new(
            false,
            Updated::PerChild(vec![Some(true.into()), Some(true.into())]),
        ))
    });
    assert_eq!(get_with(&ein, both.clone(), true).unwrap(), set(&[&a, &b]));
    assert!(are_any_found(&ein, both).unwrap());

    let swapped = IterativeMatcher::new_func(|_| {
        Ok(IterateMatchResults::new(
            false,
            Updated::PerChild(vec![Some("b".into()), Some("a".into())]),
        ))
    });
    assert!(get(&ein, swapped.clone()).unwrap().is_empty());
    assert!(!are_any_found(&ein, swapped.clone()).unwrap());

    let ein_new = parse(
        "'ein' Einsum ij,jk->ik
  'add' Add
    'b' [2,3] Scalar 2
    'asum' Einsum ab->
      'a' [1,2] Scalar 1
  'big' [3,7] Scalar 34",
    );
    assert_eq!(get(&ein_new, swapped.clone()).unwrap(), set(&[&b]));
    assert!(are_any_found(&ein_new, swapped.clone()).unwrap());
    let ein_new = parse(
        "'ein' Einsum jk,ij->ik
  'big' [3,7] Scalar 34
  'add' Add
    'b' [2,3] Scalar 2
    'sum' Einsum ab->
      'a' [1,2] Scalar 1",
    );
    assert_eq!(get(&ein_new, swapped.clone()).unwrap(), set(&[&a]));
    assert!(are_any_found(&ein_new, swapped).unwrap());
}

fn zero(x: &Circuit) -> Result<Circuit, MatchError> {
    Ok(Circuit::scalar(0.0, x.shape(), Some("zero"))?)
}

#[test]
fn update_per_child() {
    let swapped = IterativeMatcher::new_func(|_| {
        Ok(IterateMatchResults::new(
            false,
            Updated::PerChild(vec![Some("b".into()), Some("a".into())]),
        ))
    });
    let ein_new = parse(
        "'ein' Einsum ij,jk->ik
  'add@#$' Add
    'b' [2,3] Scalar 2
    'asum' Einsum ab->
      'a' [1,2] Scalar 1
  '!@*(#&$' [3,7] Scalar 34",
    );
    let want = parse(
        "'ein' Einsum ij,jk->ik
  'add@#$' Add
    'zero' [2,3] Scalar 0
    'asum' Einsum ab->
      'a' [1,2] Scalar 1
  '!@*(#&$' [3,7] Scalar 34",
    );
    let opts = UpdateOptions { fancy_validate: true, assert_any_found: false };
    assert_eq!(update_with(&ein_new, swapped.clone(), zero, opts).unwrap(), want);
    let ein_new = parse(
        "'ein' Einsum jk,ij->ik
  '!@*(#&$' [3,7] Scalar 34
  'hi' Add
    'b' [2,3] Scalar 2
    'sum' Einsum ab->
      'a' [1,2] Scalar 1",
    );
    let want = parse(
        "'ein' Einsum jk,ij->ik
  '!@*(#&$' [3,7] Scalar 34
  'hi' Add
    'b' [2,3] Scalar 2
    'sum' Einsum ab->
      'zero' [1,2] Scalar 0",
    );
    assert_eq!(update_with(&ein_new, swapped, zero, opts).unwrap(), want);
}

#[test]
fn updater_assert_any_found() {
    let a = parse("'a' [1,2] Scalar 1");
    let z = zero(&a).unwrap();
    let strict = UpdateOptions { fancy_validate: false, assert_any_found: true };
    assert_eq!(update_with(&a, "a", zero, strict).unwrap(), z);
    assert_eq!(update_with(&a, ["a", "b"], zero, strict).unwrap(), z);
    assert_eq!(update(&a, "b", zero).unwrap(), a);
    let err = update_with(&a, "b", zero, strict).unwrap_err();
    assert!(matches!(err, MatchError::NoMatchesFound { operation: "update", .. }), "{err}");
    assert!(err.to_string().starts_with("no matches found during update"));

    let mut lax = Updater::new(zero);
    for _ in 0..2 {
        assert_eq!(lax.update_opts(&a, "a", None, Some(true)).unwrap(), z);
        assert_eq!(lax.update_opts(&a, ["a", "b"], None, Some(true)).unwrap(), z);
        assert_eq!(lax.update(&a, "b").unwrap(), a);
        assert!(lax.update_opts(&a, "b", None, Some(true)).is_err());
    }
    let mut strict_up = Updater::new(zero);
    strict_up.default_assert_any_found = true;
    for _ in 0..2 {
        assert_eq!(strict_up.update(&a, "a").unwrap(), z);
        assert_eq!(strict_up.update_opts(&a, "b", None, Some(false)).unwrap(), a);
        assert!(strict_up.update(&a, "b").is_err());
    }
    let mut validating = Updater::new(zero);
    validating.default_fancy_validate = true;
    assert!(matches!(validating.update(&a, "zz"), Err(MatchError::Validation { .. })));
}

#[test]
fn update_errors_propagate() {
    let c = fin();
    // A transform changing a shape makes the parent's rebuild fail with an IR error.
    let err = update(&c, "b", |_: &Circuit| Ok::<_, MatchError>(parse("'b' [5,5] Scalar 2")))
        .unwrap_err();
    assert!(matches!(err, MatchError::Ir(_)), "{err}");
    // Custom error types work through `From<MatchError>`.
    #[derive(Debug)]
    enum MyErr {
        Match(MatchError),
        Mine,
    }
    impl From<MatchError> for MyErr {
        fn from(e: MatchError) -> MyErr {
            MyErr::Match(e)
        }
    }
    let r: Result<Circuit, MyErr> = update(&c, "b", |_: &Circuit| Err(MyErr::Mine));
    assert!(matches!(r, Err(MyErr::Mine)));
    let r: Result<Circuit, MyErr> = update_with(
        &c,
        "zz",
        |x: &Circuit| Ok(x.clone()),
        UpdateOptions { fancy_validate: true, assert_any_found: false },
    );
    assert!(matches!(r, Err(MyErr::Match(MatchError::Validation { .. }))));
}

fn paths_fixture() -> (Circuit, Circuit, Circuit, Circuit) {
    let c = parse(
        "'grandparent' Add
  'parent' Add
    'match' [] Scalar 1
    'other' Add",
    );
    (node(&c, "match"), node(&c, "other"), node(&c, "parent"), c)
}

#[test]
fn paths() {
    let (a, a_bis, b, c) = paths_fixture();
    let p = get_paths(&c, Kind::Scalar).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[&a], vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(Matcher::from(Kind::Scalar).to_iterative().get_paths(&c).unwrap(), p);
    assert!(get_paths(&c, Kind::Array).unwrap().is_empty());
    let p = get_paths(&c, vec![a.clone(), c.clone(), a_bis.clone()]).unwrap();
    assert_eq!(p.len(), 3);
    assert_eq!(p[&a], vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(p[&a_bis], vec![a_bis.clone(), b.clone(), c.clone()]);
    assert_eq!(p[&c], vec![c.clone()]);
}

#[test]
fn all_paths() {
    let (a, a_bis, b, c) = paths_fixture();
    let p = get_all_paths(&c, Kind::Scalar).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[&a], vec![vec![a.clone(), b.clone(), c.clone()]]);
    assert!(get_all_paths(&c, Kind::Array).unwrap().is_empty());
    let p = get_all_paths(&c, vec![a.clone(), c.clone(), a_bis.clone()]).unwrap();
    assert_eq!(p[&a], vec![vec![a.clone(), b.clone(), c.clone()]]);
    assert_eq!(p[&a_bis], vec![vec![a_bis.clone(), b.clone(), c.clone()]]);
    assert_eq!(p[&c], vec![vec![c.clone()]]);

    let d = parse(
        "'d' Add
  'match' [] Scalar 1
  'match'",
    );
    let p = get_all_paths(&d, Kind::Scalar).unwrap();
    assert_eq!(p[&a], vec![vec![a.clone(), d.clone()], vec![a.clone(), d.clone()]]);

    let e = parse(
        "'e' Add
  'grandparent' Add
    'parent' Add
      'match' [] Scalar 1
      'other' Add
  'parent'",
    );
    let p = get_all_paths(&e, Kind::Scalar).unwrap();
    assert_eq!(
        p[&a],
        vec![
            vec![a.clone(), b.clone(), c.clone(), e.clone()],
            vec![a.clone(), b.clone(), e.clone()]
        ]
    );
    let on_paths = circuit_match::get_all_circuits_in_paths(&e, Kind::Scalar).unwrap();
    assert_eq!(on_paths, set(&[&a, &b, &c, &e]));
}
