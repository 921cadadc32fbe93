//! Correspondence bookkeeping and the checks that reject bad hypotheses with
//! `ScrubError::IllegalCorrespondence` naming the interp node and matcher.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use circuit_match::IterativeMatcher;
use circuit_scrub::{
    chain_excluding, corr_root_matcher, Correspondence, ExactSampler, Experiment, InterpNode,
    ScrubError, UncondSampler,
};
use common::*;

fn illegal(r: Result<impl std::fmt::Debug, ScrubError>) -> String {
    match r {
        Err(ScrubError::IllegalCorrespondence(msg)) => msg,
        other => panic!("expected an illegal correspondence, got {other:?}"),
    }
}

fn experiment(corr: Correspondence) -> Result<Experiment, ScrubError> {
    Experiment::new(parity_model(), parity_dataset(16, 0), corr, 0)
}

/// root → fa (and an optional extra child of root mapped to `extra`).
fn root_fa() -> (InterpNode, InterpNode, Correspondence) {
    let root = InterpNode::new(ExactSampler, "root");
    let fa = root.make_descendant(ExactSampler, "fa");
    let mut corr = Correspondence::new();
    corr.add(&root, corr_root_matcher()).unwrap();
    corr.add(&fa, corr_root_matcher().chain("fa")).unwrap();
    (root, fa, corr)
}

#[test]
fn bookkeeping() {
    let (root, fa, mut corr) = root_fa();
    let fa_child = fa.make_descendant(UncondSampler::new(), "fa.x");
    corr.add(&fa_child, corr_root_matcher().chain("fa").chain("a")).unwrap();
    assert_eq!(corr.len(), 3);
    assert_eq!(corr.get_by_name("fa"), Some(&fa));
    assert_eq!(corr.root().unwrap(), root);
    let order: Vec<String> =
        corr.in_dfs_order().unwrap().iter().map(|(n, _)| n.name().to_string()).collect();
    assert_eq!(order, ["root", "fa", "fa.x"]);
    let with_parents = corr.in_dfs_order_with_parents().unwrap();
    assert_eq!(with_parents[2].0.as_ref(), Some(&fa));
    // Duplicates are rejected; replace swaps the matcher.
    assert!(illegal(corr.add(&fa, "fa")).contains("already"));
    let twin = InterpNode::new(ExactSampler, "fa");
    assert!(illegal(corr.add(&twin, "fa")).contains("different interp node named 'fa'"));
    corr.replace(&fa, chain_excluding(&corr_root_matcher(), "fa", "fb")).unwrap();
    assert_ne!(corr.get(&fa), Some(&corr_root_matcher().chain("fa")));
    assert!(illegal(corr.replace(&twin, "fa")).contains("not in the correspondence"));
    assert!(root.repr(None).contains("  fa  # cond_sampler=ExactSampler, other_inputs_sampler="));
    assert_eq!(root.tree_size(), 3);
}

#[test]
fn incomplete_is_rejected() {
    let root = InterpNode::new(ExactSampler, "root");
    root.make_descendant(ExactSampler, "fa");
    let mut corr = Correspondence::new();
    corr.add(&root, corr_root_matcher()).unwrap();
    let msg = illegal(experiment(corr));
    assert!(msg.contains("'fa'") && msg.contains("child of 'root'"), "{msg}");
}

#[test]
fn root_must_be_the_model() {
    let root = InterpNode::new(ExactSampler, "root");
    let mut corr = Correspondence::new();
    corr.add(&root, IterativeMatcher::from("out")).unwrap();
    let msg = illegal(experiment(corr));
    assert!(msg.contains("'root'") && msg.contains("corr_root_matcher"), "{msg}");
    // Several roots.
    let mut corr = Correspondence::new();
    corr.add(&InterpNode::new(ExactSampler, "r1"), corr_root_matcher()).unwrap();
    corr.add(&InterpNode::new(ExactSampler, "r2"), corr_root_matcher()).unwrap();
    assert!(illegal(experiment(corr)).contains("multiple roots: 'r1', 'r2'"));
    assert!(illegal(Correspondence::new().root()).contains("empty"));
}

#[test]
fn not_well_defined_is_rejected() {
    // A matcher that matches nothing.
    let (_, fa, mut corr) = root_fa();
    corr.replace(&fa, corr_root_matcher().chain("nope")).unwrap();
    let msg = illegal(experiment(corr));
    assert!(
        msg.contains("'fa'") && msg.contains("nope") && msg.contains("matches no node"),
        "{msg}"
    );
    // A matcher that matches a node with no input below it.
    let (_, fa, mut corr) = root_fa();
    corr.replace(&fa, corr_root_matcher().chain("ta")).unwrap();
    let msg = illegal(experiment(corr));
    assert!(msg.contains("'fa'") && msg.contains("reaches no input (a, b)"), "{msg}");
}

#[test]
fn non_injective_is_rejected() {
    // A child mapped to the same node as its parent.
    let (_, fa, mut corr) = root_fa();
    let again = fa.make_descendant(ExactSampler, "fa again");
    corr.add(&again, corr_root_matcher().chain("fa")).unwrap();
    let mut exp = experiment(corr.clone()).unwrap();
    let msg = illegal(exp.scrub(4));
    assert!(
        msg.contains("not injective") && msg.contains("'fa'") && msg.contains("'fa again'"),
        "{msg}"
    );
    // Two siblings sharing a branch.
    let (root, _, mut corr) = root_fa();
    let twin = root.make_descendant(ExactSampler, "fa twin");
    corr.add(&twin, corr_root_matcher().chain("fa")).unwrap();
    let mut exp = experiment(corr).unwrap();
    let msg = illegal(exp.scrub(4));
    assert!(
        msg.contains("'fa twin'") && msg.contains("'fa'") && msg.contains("not its parent"),
        "{msg}"
    );
    // Without checks the scrub goes through.
    let (_, fa, mut corr) = root_fa();
    let again = fa.make_descendant(ExactSampler, "fa again");
    corr.add(&again, corr_root_matcher().chain("fa")).unwrap();
    let mut exp = Experiment::new_unchecked(parity_model(), parity_dataset(16, 0), corr, 0);
    assert!(exp.scrub(4).is_ok());
}

#[test]
fn child_outside_its_parents_branch_is_rejected() {
    let (_, fa, mut corr) = root_fa();
    let stray = fa.make_descendant(ExactSampler, "stray");
    corr.add(&stray, corr_root_matcher().chain("fb")).unwrap();
    let mut exp = experiment(corr).unwrap();
    let msg = illegal(exp.scrub(4));
    assert!(msg.contains("'stray'") && msg.contains("not below") && msg.contains("'fa'"), "{msg}");
}

#[test]
fn input_shapes_must_match_the_dataset() {
    let root = InterpNode::new(ExactSampler, "root");
    let mut corr = Correspondence::new();
    corr.add(&root, corr_root_matcher()).unwrap();
    let ds = parity_dataset(8, 0);
    let narrow = circuit_scrub::Dataset::new([
        ("a", ds.tensor("a").unwrap().clone()),
        ("b", circuit_ir::Tensor::from_vec(&[8, 2], vec![0.0f32; 16]).unwrap()),
    ])
    .unwrap();
    let mut exp = Experiment::new(parity_model(), narrow, corr, 0).unwrap();
    let err = exp.scrub(4).unwrap_err().to_string();
    assert!(err.contains("circuit input 'b' has shape [8]"), "{err}");
}
