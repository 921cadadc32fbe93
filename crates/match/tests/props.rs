//! Property tests on random DAG-shaped circuits: the memoized traversals agree with naive
//! path-by-path reference implementations.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use circuit_ir::{Circuit, Kind, Op};
use circuit_match::{are_any_found, get, restrict, update, IterativeMatcher, MatchError, Matcher};
use proptest::prelude::*;

const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];

/// A DAG spec: leaves then internal Add nodes picking children among earlier nodes.
#[derive(Debug, Clone)]
struct DagSpec {
    leaves: Vec<(Option<usize>, u8)>,
    internal: Vec<(Option<usize>, Vec<usize>)>,
}

fn dag_spec() -> impl Strategy<Value = DagSpec> {
    (1usize..4, 1usize..6).prop_flat_map(|(nl, ni)| {
        let leaves = prop::collection::vec((prop::option::of(0usize..5), 0u8..3), nl);
        let internal = (0..ni)
            .map(|i| {
                let avail = nl + i;
                (prop::option::of(0usize..5), prop::collection::vec(0..avail, 1..4))
            })
            .collect::<Vec<_>>();
        (leaves, internal).prop_map(|(leaves, internal)| DagSpec { leaves, internal })
    })
}

fn build(spec: &DagSpec) -> Circuit {
    let mut nodes: Vec<Circuit> = Vec::new();
    for (name, v) in &spec.leaves {
        let name = name.map(|i| NAMES[i]);
        nodes.push(Circuit::scalar(f64::from(*v), &[2], name).unwrap());
    }
    for (name, children) in &spec.internal {
        let ch: Vec<Circuit> = children.iter().map(|&i| nodes[i].clone()).collect();
        let name = name.map(|i| NAMES[i].into());
        nodes.push(Circuit::build(Op::Add, ch, name, false).unwrap());
    }
    nodes.pop().unwrap()
}

fn leaf_matcher() -> impl Strategy<Value = Matcher> {
    prop_oneof![
        (0usize..5).prop_map(|i| Matcher::from(NAMES[i])),
        prop::collection::vec(0usize..5, 1..3)
            .prop_map(|v| Matcher::names(v.into_iter().map(|i| NAMES[i]))),
        Just(Matcher::from(Kind::Add)),
        Just(Matcher::from(Kind::Scalar)),
        any::<bool>().prop_map(Matcher::from),
        Just(Matcher::regex("^[ab]").unwrap()),
        (0usize..5).prop_map(|i| Matcher::match_any_child_found(NAMES[i])),
        (0usize..5).prop_map(|i| !Matcher::from(NAMES[i])),
    ]
}

fn iterative() -> impl Strategy<Value = IterativeMatcher> {
    let leaf = leaf_matcher().prop_map(IterativeMatcher::from);
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                any::<bool>(),
                prop::option::of(0usize..3),
                prop::option::of(0usize..4),
                leaf_matcher()
            )
                .prop_map(|(m, t, s, e, tea)| restrict(m, t, s, e, tea)),
            (inner.clone(), inner.clone(), any::<bool>())
                .prop_map(|(a, b, sub)| a.chain_all([b], sub)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a | b),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a & b),
            (inner.clone(), 0usize..2).prop_map(|(a, i)| a.children_matcher([i])),
            inner.prop_map(|a| a.filter_module_spec(true)),
        ]
    })
}

/// Path-by-path reference implementation of `get` (exponential; small DAGs only).
fn naive_get(
    c: &Circuit,
    m: &IterativeMatcher,
    out: &mut BTreeSet<Circuit>,
) -> Result<(), MatchError> {
    let r = m.match_iterate(c)?;
    if r.found {
        out.insert(c.clone());
    }
    if !r.updated.is_finished() {
        for (child, cm) in c.children().iter().zip(r.updated.per_child(m, c.children().len())) {
            if let Some(cm) = cm {
                naive_get(child, &cm, out)?;
            }
        }
    }
    Ok(())
}

fn rename(c: &Circuit) -> Result<Circuit, MatchError> {
    let n = format!("{}'", c.name().unwrap_or("anon"));
    Ok(c.rename(Some(&n))?)
}

fn naive_update(c: &Circuit, m: &IterativeMatcher) -> Result<Circuit, MatchError> {
    let r = m.match_iterate(c)?;
    let mut children = c.children().to_vec();
    if !r.updated.is_finished() {
        for (slot, cm) in children.iter_mut().zip(r.updated.per_child(m, c.children().len())) {
            if let Some(cm) = cm {
                *slot = naive_update(slot, &cm)?;
            }
        }
    }
    let rebuilt = c.with_children(children)?;
    if r.found {
        rename(&rebuilt)
    } else {
        Ok(rebuilt)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn get_always_returns_every_distinct_node(spec in dag_spec()) {
        let c = build(&spec);
        let all: BTreeSet<Circuit> = c.toposort().into_iter().collect();
        prop_assert_eq!(get(&c, true).unwrap(), all);
        prop_assert!(get(&c, false).unwrap().is_empty());
    }

    #[test]
    fn identity_update_is_identity(spec in dag_spec(), m in iterative()) {
        let c = build(&spec);
        if let Ok(out) = update(&c, m, |x: &Circuit| Ok::<_, MatchError>(x.clone())) {
            prop_assert_eq!(out, c);
        }
    }

    #[test]
    fn rename_update_changes_only_matched_names(spec in dag_spec(), i in 0usize..5) {
        let c = build(&spec);
        let name = NAMES[i];
        let out = update(&c, name, rename).unwrap();
        let before = c.toposort();
        let after = out.toposort();
        prop_assert_eq!(before.len(), after.len());
        prop_assert!(get(&out, name).unwrap().is_empty());
        let mut want: Vec<String> = before
            .iter()
            .map(|n| match n.name() {
                Some(x) if x == name => format!("{x}'"),
                Some(x) => x.to_owned(),
                None => String::new(),
            })
            .collect();
        let mut got: Vec<String> =
            after.iter().map(|n| n.name().unwrap_or("").to_owned()).collect();
        want.sort();
        got.sort();
        prop_assert_eq!(got, want);
        prop_assert_eq!(out.shape(), c.shape());
    }

    #[test]
    fn memoized_get_matches_naive(spec in dag_spec(), m in iterative()) {
        let c = build(&spec);
        let mut naive = BTreeSet::new();
        let naive_res = naive_get(&c, &m, &mut naive);
        let fast = get(&c, m.clone());
        match (naive_res, fast) {
            (Ok(()), Ok(fast)) => {
                prop_assert_eq!(&fast, &naive);
                prop_assert_eq!(are_any_found(&c, m.clone()).unwrap(), !naive.is_empty());
                prop_assert_eq!(Matcher::match_any_found(m.clone()).call(&c).unwrap(), !naive.is_empty());
                let paths = circuit_match::get_paths(&c, m.clone()).unwrap();
                prop_assert_eq!(paths.keys().cloned().collect::<BTreeSet<_>>(), naive.clone());
                for (found, path) in &paths {
                    prop_assert_eq!(path.first(), Some(found));
                    prop_assert_eq!(path.last(), Some(&c));
                    for w in path.windows(2) {
                        prop_assert!(w[1].children().contains(&w[0]));
                    }
                }
                let all = circuit_match::get_all_paths(&c, m.clone()).unwrap();
                prop_assert_eq!(all.keys().cloned().collect::<BTreeSet<_>>(), naive);
                for (found, ps) in &all {
                    prop_assert!(ps.contains(&paths[found]));
                }
            }
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "naive {:?} vs memoized {:?}", a, b),
        }
    }

    #[test]
    fn memoized_update_matches_naive(spec in dag_spec(), m in iterative()) {
        let c = build(&spec);
        let naive = naive_update(&c, &m);
        let fast = update(&c, m, rename);
        match (naive, fast) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "naive {:?} vs memoized {:?}", a, b),
        }
    }
}
