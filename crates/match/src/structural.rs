//! Structural iterative matchers (children, module arguments, module spec circuits,
//! skipping module specs) and the intersection of iterative matchers.

use std::collections::BTreeSet;

use circuit_ir::{Circuit, Kind, Op};

use crate::error::{MatchError, Result};
use crate::iterative::{IterData, IterateMatchResults, IterativeMatcher, Updated};
use crate::matcher::Matcher;

/// No matcher: finished; one: itself; several: their union.
fn special_case_any(mut ms: Vec<IterativeMatcher>) -> Option<IterativeMatcher> {
    match ms.len() {
        0 => None,
        1 => ms.pop(),
        _ => Some(crate::chain::union(ms)),
    }
}

/// Where `inner` is found, each child `i` keeps `wrap(inner's update for i)` and is also
/// reported as found when `extra_found(i)`; the node itself is not reported.
fn found_children(
    inner: &IterativeMatcher,
    updated: &Updated,
    circuit: &Circuit,
    wrap: impl Fn(IterativeMatcher) -> IterativeMatcher,
    extra_found: impl Fn(usize) -> Result<bool>,
) -> Result<IterateMatchResults> {
    let per = updated.per_child(inner, circuit.children().len());
    let mut out = Vec::with_capacity(per.len());
    for (i, m) in per.into_iter().enumerate() {
        let mut v: Vec<IterativeMatcher> = m.map(&wrap).into_iter().collect();
        if extra_found(i)? {
            v.push(IterativeMatcher::term(true));
        }
        out.push(special_case_any(v));
    }
    Ok(IterateMatchResults::new(false, Updated::PerChild(out)))
}

pub(crate) fn children_iterate(
    inner: &IterativeMatcher,
    nums: &BTreeSet<usize>,
    circuit: &Circuit,
) -> Result<IterateMatchResults> {
    let r = inner.match_iterate(circuit)?;
    let wrap = |m| IterativeMatcher::from_data(IterData::Children(m, nums.clone()));
    if !r.found {
        return Ok(IterateMatchResults::new(false, r.updated.map(wrap)));
    }
    let n = circuit.children().len();
    if nums.iter().any(|&i| i >= n) {
        return Err(MatchError::ChildNumbersOutOfBounds {
            child_numbers: nums.iter().copied().collect(),
            node: circuit.node_ref(),
            num_children: n,
        });
    }
    found_children(inner, &r.updated, circuit, wrap, |i| Ok(nums.contains(&i)))
}

fn expect_module<'a>(
    circuit: &'a Circuit,
    this: &IterativeMatcher,
) -> Result<&'a circuit_ir::kinds::Module> {
    match circuit.op() {
        Op::Module(m) => Ok(m),
        _ => Err(MatchError::ExpectedModule {
            matcher: this.to_string(),
            node: circuit.node_ref(),
            kind: circuit.kind(),
        }),
    }
}

pub(crate) fn module_arg_iterate(
    inner: &IterativeMatcher,
    sym: &Matcher,
    circuit: &Circuit,
    this: &IterativeMatcher,
) -> Result<IterateMatchResults> {
    let r = inner.match_iterate(circuit)?;
    let wrap = |m| IterativeMatcher::from_data(IterData::ModuleArg(m, sym.clone()));
    if !r.found {
        return Ok(IterateMatchResults::new(false, r.updated.map(wrap)));
    }
    let module = expect_module(circuit, this)?;
    found_children(inner, &r.updated, circuit, wrap, |i| match i.checked_sub(1) {
        Some(j) => match module.arg_specs.get(j) {
            Some(spec) => sym.call(&spec.symbol),
            None => Ok(false),
        },
        None => Ok(false),
    })
}

pub(crate) fn spec_circuit_iterate(
    inner: &IterativeMatcher,
    circuit: &Circuit,
    this: &IterativeMatcher,
) -> Result<IterateMatchResults> {
    let r = inner.match_iterate(circuit)?;
    let wrap = |m| IterativeMatcher::from_data(IterData::SpecCircuit(m));
    if !r.found {
        return Ok(IterateMatchResults::new(false, r.updated.map(wrap)));
    }
    expect_module(circuit, this)?;
    found_children(inner, &r.updated, circuit, wrap, |i| Ok(i == 0))
}

pub(crate) fn no_module_spec_iterate(
    inner: &IterativeMatcher,
    circuit: &Circuit,
) -> Result<IterateMatchResults> {
    let r = inner.match_iterate(circuit)?;
    let wrap = |m| IterativeMatcher::from_data(IterData::NoModuleSpec(m));
    if circuit.kind() != Kind::Module {
        return Ok(IterateMatchResults::new(r.found, r.updated.map(wrap)));
    }
    let per = r.updated.per_child(inner, circuit.children().len());
    let updated =
        per.into_iter().enumerate().map(|(i, m)| if i == 0 { None } else { m.map(wrap) }).collect();
    Ok(IterateMatchResults::new(r.found, Updated::PerChild(updated)))
}

pub(crate) fn all_iterate(
    ms: &[IterativeMatcher],
    circuit: &Circuit,
) -> Result<IterateMatchResults> {
    let results: Vec<IterateMatchResults> =
        ms.iter().map(|m| m.match_iterate(circuit)).collect::<Result<_>>()?;
    let found = results.iter().all(|r| r.found);
    if results.iter().all(|r| r.updated == Updated::Same) {
        return Ok(IterateMatchResults::new(found, Updated::Same));
    }
    if results.iter().any(|r| r.updated.is_finished()) {
        return Ok(IterateMatchResults::finished(found));
    }
    if results.iter().all(|r| matches!(r.updated, Updated::Same | Updated::All(_))) {
        let sub = ms.iter().zip(results).map(|(m, r)| match r.updated {
            Updated::All(x) => x,
            _ => m.clone(),
        });
        return Ok(IterateMatchResults::new(found, Updated::All(IterativeMatcher::all(sub))));
    }
    let n = circuit.children().len();
    let per: Vec<Vec<Option<IterativeMatcher>>> =
        ms.iter().zip(&results).map(|(m, r)| r.updated.per_child(m, n)).collect();
    let updated = (0..n)
        .map(|i| {
            per.iter()
                .map(|p| p.get(i).cloned().flatten())
                .collect::<Option<Vec<IterativeMatcher>>>()
                .map(IterativeMatcher::all)
        })
        .collect();
    Ok(IterateMatchResults::new(found, Updated::PerChild(updated)))
}

impl IterativeMatcher {
    /// Wherever `self` is found, the children with these indices are reported as found
    /// (the node itself is not); `self` continues below. A found node lacking one of the
    /// indices is an error ([`MatchError::ChildNumbersOutOfBounds`]).
    pub fn children_matcher(
        &self,
        child_numbers: impl IntoIterator<Item = usize>,
    ) -> IterativeMatcher {
        IterativeMatcher::from_data(IterData::Children(
            self.clone(),
            child_numbers.into_iter().collect(),
        ))
    }

    /// Wherever `self` finds a Module, its argument children whose bound symbol matches
    /// `arg_sym_matcher` are found. A found non-Module is an error.
    pub fn module_arg_matcher(&self, arg_sym_matcher: impl Into<Matcher>) -> IterativeMatcher {
        IterativeMatcher::from_data(IterData::ModuleArg(self.clone(), arg_sym_matcher.into()))
    }

    /// Wherever `self` finds a Module, its spec circuit (child 0) is found. A found
    /// non-Module is an error.
    pub fn spec_circuit_matcher(&self) -> IterativeMatcher {
        IterativeMatcher::from_data(IterData::SpecCircuit(self.clone()))
    }

    /// With `enable`, never descends into a Module's spec circuit; otherwise `self`.
    pub fn filter_module_spec(&self, enable: bool) -> IterativeMatcher {
        if enable {
            IterativeMatcher::from_data(IterData::NoModuleSpec(self.clone()))
        } else {
            self.clone()
        }
    }
}

/// rust_circuit exposes every iterative-matcher method on `Matcher` too; these forward to
/// [`Matcher::to_iterative`].
impl Matcher {
    /// See [`IterativeMatcher::chain`].
    pub fn chain(&self, next: impl Into<IterativeMatcher>) -> IterativeMatcher {
        self.to_iterative().chain(next)
    }

    /// See [`IterativeMatcher::chain_all`].
    pub fn chain_all(
        &self,
        rest: impl IntoIterator<Item = IterativeMatcher>,
        must_be_sub: bool,
    ) -> IterativeMatcher {
        self.to_iterative().chain_all(rest, must_be_sub)
    }

    /// See [`IterativeMatcher::children_matcher`].
    pub fn children_matcher(
        &self,
        child_numbers: impl IntoIterator<Item = usize>,
    ) -> IterativeMatcher {
        self.to_iterative().children_matcher(child_numbers)
    }

    /// See [`IterativeMatcher::module_arg_matcher`].
    pub fn module_arg_matcher(&self, arg_sym_matcher: impl Into<Matcher>) -> IterativeMatcher {
        self.to_iterative().module_arg_matcher(arg_sym_matcher)
    }

    /// See [`IterativeMatcher::spec_circuit_matcher`].
    pub fn spec_circuit_matcher(&self) -> IterativeMatcher {
        self.to_iterative().spec_circuit_matcher()
    }

    /// See [`IterativeMatcher::filter_module_spec`].
    pub fn filter_module_spec(&self, enable: bool) -> IterativeMatcher {
        self.to_iterative().filter_module_spec(enable)
    }

    /// See [`IterativeMatcher::restricted`].
    pub fn restricted(&self, opts: crate::restrict::RestrictOptions) -> IterativeMatcher {
        self.to_iterative().restricted(opts)
    }
}
