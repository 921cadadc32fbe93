//! The Expander: replace matched nodes top-down and rebuild their ancestors with
//! `expand_node`, so replacements may carry extra leading batch dims (or fix symbolic
//! sizes) and the change propagates to every ancestor. This is what the sampler uses to
//! replace random variables by sampled values.
//!
//! All matchers run in parallel from the root. At the first node on a path where any
//! matcher is found, the node is *replaced* by the transform of the first found pair
//! applied to the original node, and nothing below is visited. Otherwise the children
//! are processed with their per-child matchers and the node is rebuilt with
//! [`circuit_ir::expand::expand_node`]. Rebuilt nodes that changed get `_<suffix>`
//! appended to their names when a suffix is set (unnamed nodes stay unnamed).

use std::collections::HashMap;

use circuit_ir::size_map::SizeMap;
use circuit_ir::{Circuit, NodeHash};

use crate::error::MatchError;
use crate::iterative::IterativeMatcher;
use crate::update::BoxedTransform;

type Key = (NodeHash, Vec<IterativeMatcher>);

/// Replaces matched nodes and propagates batch dims to ancestors (see the module docs).
pub struct Expander<E = MatchError> {
    pairs: Vec<(IterativeMatcher, BoxedTransform<E>)>,
    ban_multiple_matches_on_node: bool,
    default_fancy_validate: bool,
    default_assert_any_found: bool,
    suffix: Option<String>,
    cache: HashMap<Key, (Circuit, bool)>,
    transform_cache: HashMap<(NodeHash, usize), Circuit>,
}

impl<E: From<MatchError>> Default for Expander<E> {
    fn default() -> Self {
        Expander::new()
    }
}

struct Frame {
    circuit: Circuit,
    matchers: Vec<IterativeMatcher>,
    per: Vec<Vec<IterativeMatcher>>,
    pos: usize,
}

enum Entered {
    Done(Circuit, bool),
    Frame(Frame),
}

impl<E: From<MatchError>> Expander<E> {
    /// An expander with no pairs yet.
    pub fn new() -> Self {
        Expander {
            pairs: Vec::new(),
            ban_multiple_matches_on_node: false,
            default_fancy_validate: false,
            default_assert_any_found: false,
            suffix: None,
            cache: HashMap::new(),
            transform_cache: HashMap::new(),
        }
    }

    /// Adds a `(matcher, transform)` pair. Pairs are tried in order.
    #[must_use]
    pub fn with(
        mut self,
        matcher: impl Into<IterativeMatcher>,
        transform: impl FnMut(&Circuit) -> Result<Circuit, E> + Send + 'static,
    ) -> Self {
        self.pairs.push((matcher.into(), Box::new(transform)));
        self.cache.clear();
        self
    }

    /// Makes it an error for several pairs to match one node.
    #[must_use]
    pub fn ban_multiple_matches_on_node(mut self, ban: bool) -> Self {
        self.ban_multiple_matches_on_node = ban;
        self.cache.clear();
        self
    }

    /// Fancy-validates every matcher by default.
    #[must_use]
    pub fn default_fancy_validate(mut self, b: bool) -> Self {
        self.default_fancy_validate = b;
        self
    }

    /// Fails by default when nothing was found.
    #[must_use]
    pub fn default_assert_any_found(mut self, b: bool) -> Self {
        self.default_assert_any_found = b;
        self
    }

    /// Appends `_<suffix>` to the names of rebuilt nodes that changed.
    #[must_use]
    pub fn suffix(mut self, suffix: impl Into<String>) -> Self {
        self.suffix = Some(suffix.into());
        self.cache.clear();
        self
    }

    /// Expands with the defaults.
    ///
    /// # Errors
    /// See [`Expander::batch_opts`].
    pub fn batch(&mut self, circuit: &Circuit) -> Result<Circuit, E> {
        self.batch_opts(circuit, None, None)
    }

    /// Expands, overriding the defaults where given.
    ///
    /// # Errors
    /// Matcher errors; [`MatchError::MultipleMatchesOnNode`]; `expand_node` errors (as
    /// [`MatchError::Ir`]); [`MatchError::Validation`]; [`MatchError::NoMatchesFound`];
    /// the transforms' errors.
    pub fn batch_opts(
        &mut self,
        circuit: &Circuit,
        fancy_validate: Option<bool>,
        assert_any_found: Option<bool>,
    ) -> Result<Circuit, E> {
        if fancy_validate.unwrap_or(self.default_fancy_validate) {
            for (m, _) in &self.pairs {
                crate::get::validate(circuit, m)?;
            }
        }
        let (out, any_found) = self.run(circuit)?;
        if assert_any_found.unwrap_or(self.default_assert_any_found) && !any_found {
            let ms: Vec<String> = self.pairs.iter().map(|(m, _)| m.to_string()).collect();
            return Err(MatchError::NoMatchesFound {
                operation: "expand",
                matcher: ms.join(", "),
                circuit: circuit.node_ref(),
            }
            .into());
        }
        Ok(out)
    }

    fn enter(&mut self, circuit: &Circuit, matchers: Vec<IterativeMatcher>) -> Result<Entered, E> {
        let results = matchers
            .iter()
            .map(|m| m.match_iterate(circuit))
            .collect::<Result<Vec<_>, MatchError>>()?;
        let found: Vec<usize> =
            results.iter().enumerate().filter(|(_, r)| r.found).map(|(i, _)| i).collect();
        if let Some(&idx) = found.first() {
            if self.ban_multiple_matches_on_node && found.len() != 1 {
                return Err(MatchError::MultipleMatchesOnNode {
                    node: circuit.node_ref(),
                    count: found.len(),
                }
                .into());
            }
            let key = (circuit.hash(), idx);
            let out = match self.transform_cache.get(&key) {
                Some(x) => x.clone(),
                None => {
                    let Some((_, t)) = self.pairs.get_mut(idx) else {
                        return Err(MatchError::Custom("internal: missing transform".into()).into());
                    };
                    let x = t(circuit)?;
                    self.transform_cache.insert(key, x.clone());
                    x
                }
            };
            return Ok(Entered::Done(out, true));
        }
        if results.iter().all(|r| r.updated.is_finished()) {
            return Ok(Entered::Done(circuit.clone(), false));
        }
        let n = circuit.children().len();
        let mut per: Vec<Vec<IterativeMatcher>> = vec![Vec::with_capacity(matchers.len()); n];
        for (m, r) in matchers.iter().zip(&results) {
            for (slot, cm) in per.iter_mut().zip(r.updated.per_child(m, n)) {
                slot.push(cm.unwrap_or_else(|| IterativeMatcher::term(false)));
            }
        }
        Ok(Entered::Frame(Frame { circuit: circuit.clone(), matchers, per, pos: 0 }))
    }

    fn finish(&self, frame: &Frame) -> Result<(Circuit, bool), E> {
        let mut any_found = false;
        let mut children = Vec::with_capacity(frame.per.len());
        for (c, ms) in frame.circuit.children().iter().zip(&frame.per) {
            match self.cache.get(&(c.hash(), ms.clone())) {
                Some((nc, a)) => {
                    any_found |= *a;
                    children.push(nc.clone());
                }
                None => children.push(c.clone()),
            }
        }
        let expanded =
            circuit_ir::expand::expand_node(&frame.circuit, children, &SizeMap::default())
                .map_err(MatchError::from)?;
        let expanded = match (&self.suffix, expanded.name()) {
            (Some(s), Some(name)) if expanded != frame.circuit => {
                expanded.rename(Some(&format!("{name}_{s}"))).map_err(MatchError::from)?
            }
            _ => expanded,
        };
        Ok((expanded, any_found))
    }

    fn run(&mut self, root: &Circuit) -> Result<(Circuit, bool), E> {
        let matchers: Vec<IterativeMatcher> = self.pairs.iter().map(|(m, _)| m.clone()).collect();
        let root_key = (root.hash(), matchers.clone());
        if let Some(done) = self.cache.get(&root_key) {
            return Ok(done.clone());
        }
        let mut stack = match self.enter(root, matchers)? {
            Entered::Done(c, a) => {
                self.cache.insert(root_key, (c.clone(), a));
                return Ok((c, a));
            }
            Entered::Frame(f) => vec![f],
        };
        while let Some(top) = stack.last_mut() {
            let mut next = None;
            while let (Some(ms), Some(child)) =
                (top.per.get(top.pos), top.circuit.children().get(top.pos))
            {
                if !self.cache.contains_key(&(child.hash(), ms.clone())) {
                    next = Some((child.clone(), ms.clone()));
                    break;
                }
                top.pos += 1;
            }
            if let Some((child, ms)) = next {
                match self.enter(&child, ms.clone())? {
                    Entered::Done(c, a) => {
                        self.cache.insert((child.hash(), ms), (c, a));
                    }
                    Entered::Frame(f) => stack.push(f),
                }
                continue;
            }
            let Some(frame) = stack.pop() else { break };
            let out = self.finish(&frame)?;
            self.cache.insert((frame.circuit.hash(), frame.matchers), out);
        }
        self.cache.get(&root_key).cloned().ok_or_else(|| {
            MatchError::Custom("internal: expander produced no result".into()).into()
        })
    }
}
