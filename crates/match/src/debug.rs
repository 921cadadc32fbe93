//! The matcher-debug printer: the circuit printed with `circuit_text`, each node
//! annotated with whether it was found and which matcher states reached it.
//!
//! Each distinct node is printed once (later occurrences are references, as usual in
//! the text format), so a node reached by several matcher states lists all of them.
//! Children are printed only below nodes where some state continued; a printed node that
//! no state reached is marked `not reached`.

use std::collections::HashMap;
use std::sync::Arc;

use circuit_ir::{Circuit, NodeHash};
use circuit_text::PrintOptions;

use crate::error::{MatchError, Result};
use crate::graph::StateGraph;
use crate::iterative::IterativeMatcher;

#[derive(Default)]
struct NodeInfo {
    found: bool,
    continues: bool,
    states: Vec<String>,
}

/// Prints `circuit` annotated per node with `Found` and the matcher states that reached
/// it (each as `✓ matcher` when found in that state), using debug print options.
///
/// # Errors
/// Matcher errors; printing errors.
pub fn print_matcher_debug(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
) -> Result<String> {
    let opts = PrintOptions {
        bijection: false,
        shape_only_when_necessary: false,
        ..PrintOptions::default()
    };
    print_matcher_debug_with(circuit, matcher, opts)
}

/// [`print_matcher_debug`] with custom print options (their `traversal` is replaced and
/// `bijection` turned off; their commenters run before the matcher annotations).
///
/// # Errors
/// Matcher errors; printing errors.
pub fn print_matcher_debug_with(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
    mut opts: PrintOptions,
) -> Result<String> {
    let g = StateGraph::explore(circuit, &matcher.into())?;
    let mut info: HashMap<NodeHash, NodeInfo> = HashMap::new();
    for &id in &g.preorder {
        let s = &g.states[id];
        let e = info.entry(s.circuit.hash()).or_default();
        e.found |= s.found;
        e.continues |= !s.edges.is_empty();
        let mark = if s.found { "✓ " } else { "" };
        e.states.push(format!("{mark}{}", s.matcher));
    }
    let info = Arc::new(info);
    let for_traversal = Arc::clone(&info);
    opts.bijection = false;
    opts.traversal = Some(Arc::new(move |c: &Circuit, _depth: usize| {
        for_traversal.get(&c.hash()).is_some_and(|i| i.continues)
    }));
    let for_found = Arc::clone(&info);
    opts.commenters.push(Arc::new(move |c: &Circuit| match for_found.get(&c.hash()) {
        Some(i) if i.found => "Found".to_owned(),
        Some(_) => String::new(),
        None => "not reached".to_owned(),
    }));
    let for_states = info;
    opts.commenters.push(Arc::new(move |c: &Circuit| {
        for_states.get(&c.hash()).map(|i| i.states.join(" ‖ ")).unwrap_or_default()
    }));
    opts.repr(std::slice::from_ref(circuit)).map_err(|e| MatchError::Print(e.to_string()))
}

impl IterativeMatcher {
    /// See [`print_matcher_debug`].
    ///
    /// # Errors
    /// See [`print_matcher_debug`].
    pub fn debug_print(&self, circuit: &Circuit) -> Result<String> {
        print_matcher_debug(circuit, self)
    }
}
