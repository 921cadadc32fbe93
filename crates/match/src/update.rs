//! Updating: rebuild a circuit bottom-up, applying a transform to every found node.
//!
//! At a node the matcher decides `found` and the children's matchers; the children it
//! continues into are updated first (children where it finished are left untouched), the
//! node is rebuilt with the new children (same payload and name), and if the *original*
//! node was found the transform is applied to the *rebuilt* node. A transform therefore
//! sees already-updated descendants, and nested matches are all transformed, inner
//! first. Results are memoized on `(node hash, matcher)` and transform results on the
//! rebuilt node's hash, so shared sub-circuits are processed once (and an `FnMut`
//! transform is called once per distinct rebuilt node).

use std::collections::HashMap;

use circuit_ir::{Circuit, NodeHash};

use crate::error::MatchError;
use crate::iterative::{IterativeMatcher, StateKey};

/// Options for [`update_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct UpdateOptions {
    /// Run fancy validation ([`crate::validate`]) before updating.
    pub fancy_validate: bool,
    /// Fail with [`MatchError::NoMatchesFound`] if nothing was found.
    pub assert_any_found: bool,
}

/// A boxed transform.
pub type BoxedTransform<E> = Box<dyn FnMut(&Circuit) -> Result<Circuit, E> + Send>;

/// Memo tables of one transform (valid across calls and root circuits).
struct Caches {
    update: HashMap<StateKey, (Circuit, bool)>,
    transform: HashMap<NodeHash, Circuit>,
}

impl Caches {
    fn new() -> Caches {
        Caches { update: HashMap::new(), transform: HashMap::new() }
    }
}

/// Applies `transform` to every node `matcher` finds (see the module docs).
///
/// # Errors
/// Matcher errors and rebuild errors (as `E` via `From<MatchError>`); the transform's
/// errors.
pub fn update<E: From<MatchError>>(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
    transform: impl FnMut(&Circuit) -> Result<Circuit, E>,
) -> Result<Circuit, E> {
    update_with(circuit, matcher, transform, UpdateOptions::default())
}

/// [`update`] with fancy validation and/or `assert_any_found`.
///
/// # Errors
/// See [`update`]; [`MatchError::Validation`]; [`MatchError::NoMatchesFound`].
pub fn update_with<E: From<MatchError>>(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
    mut transform: impl FnMut(&Circuit) -> Result<Circuit, E>,
    opts: UpdateOptions,
) -> Result<Circuit, E> {
    let matcher = matcher.into();
    let mut caches = Caches::new();
    run(circuit, &matcher, &mut transform, &mut caches, opts)
}

fn run<E: From<MatchError>>(
    circuit: &Circuit,
    matcher: &IterativeMatcher,
    transform: &mut dyn FnMut(&Circuit) -> Result<Circuit, E>,
    caches: &mut Caches,
    opts: UpdateOptions,
) -> Result<Circuit, E> {
    if opts.fancy_validate {
        crate::get::validate(circuit, matcher)?;
    }
    let (out, any_found) = update_core(circuit, matcher, transform, caches)?;
    if opts.assert_any_found && !any_found {
        return Err(MatchError::NoMatchesFound {
            operation: "update",
            matcher: matcher.to_string(),
            circuit: circuit.node_ref(),
        }
        .into());
    }
    Ok(out)
}

struct Frame {
    circuit: Circuit,
    matcher: IterativeMatcher,
    found: bool,
    per: Vec<Option<IterativeMatcher>>,
    pos: usize,
}

fn enter(circuit: &Circuit, matcher: &IterativeMatcher) -> Result<Frame, MatchError> {
    let r = matcher.match_iterate(circuit)?;
    let per = if r.updated.is_finished() {
        vec![None; circuit.children().len()]
    } else {
        r.updated.per_child(matcher, circuit.children().len())
    };
    Ok(Frame { circuit: circuit.clone(), matcher: matcher.clone(), found: r.found, per, pos: 0 })
}

/// Returns the updated circuit and whether anything was found.
fn update_core<E: From<MatchError>>(
    root: &Circuit,
    matcher: &IterativeMatcher,
    transform: &mut dyn FnMut(&Circuit) -> Result<Circuit, E>,
    caches: &mut Caches,
) -> Result<(Circuit, bool), E> {
    let root_key = (root.hash(), matcher.clone());
    if let Some(done) = caches.update.get(&root_key) {
        return Ok(done.clone());
    }
    let mut stack = vec![enter(root, matcher)?];
    while let Some(top) = stack.last_mut() {
        let mut next = None;
        while let Some(slot) = top.per.get(top.pos) {
            if let (Some(m), Some(child)) = (slot, top.circuit.children().get(top.pos)) {
                if !caches.update.contains_key(&(child.hash(), m.clone())) {
                    next = Some((child.clone(), m.clone()));
                    break;
                }
            }
            top.pos += 1;
        }
        if let Some((child, m)) = next {
            let frame = enter(&child, &m)?;
            stack.push(frame);
            continue;
        }
        let Some(frame) = stack.pop() else { break };
        let mut any_found = false;
        let mut children = Vec::with_capacity(frame.per.len());
        for (c, m) in frame.circuit.children().iter().zip(&frame.per) {
            match m.as_ref().and_then(|m| caches.update.get(&(c.hash(), m.clone()))) {
                Some((nc, a)) => {
                    any_found |= *a;
                    children.push(nc.clone());
                }
                None => children.push(c.clone()),
            }
        }
        let rebuilt = frame.circuit.with_children(children).map_err(MatchError::from)?;
        let out = if frame.found {
            any_found = true;
            match caches.transform.get(&rebuilt.hash()) {
                Some(x) => x.clone(),
                None => {
                    let x = transform(&rebuilt)?;
                    caches.transform.insert(rebuilt.hash(), x.clone());
                    x
                }
            }
        } else {
            rebuilt
        };
        caches.update.insert((frame.circuit.hash(), frame.matcher), (out, any_found));
    }
    caches
        .update
        .get(&root_key)
        .cloned()
        .ok_or_else(|| MatchError::Custom("internal: update produced no result".into()).into())
}

/// A transform with defaults and memo tables that persist across calls (rust_circuit's
/// `Updater`).
pub struct Updater<E = MatchError> {
    transform: BoxedTransform<E>,
    /// Default for fancy validation.
    pub default_fancy_validate: bool,
    /// Default for `assert_any_found`.
    pub default_assert_any_found: bool,
    caches: Caches,
}

impl<E: From<MatchError>> Updater<E> {
    /// An updater for this transform (no validation, no assertion by default).
    pub fn new(transform: impl FnMut(&Circuit) -> Result<Circuit, E> + Send + 'static) -> Self {
        Updater {
            transform: Box::new(transform),
            default_fancy_validate: false,
            default_assert_any_found: false,
            caches: Caches::new(),
        }
    }

    /// Updates with the defaults.
    ///
    /// # Errors
    /// See [`update_with`].
    pub fn update(
        &mut self,
        circuit: &Circuit,
        matcher: impl Into<IterativeMatcher>,
    ) -> Result<Circuit, E> {
        self.update_opts(circuit, matcher, None, None)
    }

    /// Updates, overriding the defaults where given.
    ///
    /// # Errors
    /// See [`update_with`].
    pub fn update_opts(
        &mut self,
        circuit: &Circuit,
        matcher: impl Into<IterativeMatcher>,
        fancy_validate: Option<bool>,
        assert_any_found: Option<bool>,
    ) -> Result<Circuit, E> {
        let opts = UpdateOptions {
            fancy_validate: fancy_validate.unwrap_or(self.default_fancy_validate),
            assert_any_found: assert_any_found.unwrap_or(self.default_assert_any_found),
        };
        run(circuit, &matcher.into(), &mut self.transform, &mut self.caches, opts)
    }
}

impl IterativeMatcher {
    /// See [`update`].
    ///
    /// # Errors
    /// See [`update`].
    pub fn update<E: From<MatchError>>(
        &self,
        circuit: &Circuit,
        transform: impl FnMut(&Circuit) -> Result<Circuit, E>,
    ) -> Result<Circuit, E> {
        update(circuit, self, transform)
    }
}
