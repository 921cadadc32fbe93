//! [`IterativeMatcher`] and the iterate protocol: a matcher is applied to a node and says
//! whether the node is found and which matcher to use on the children
//! ([`IterateMatchResults`], [`Updated`]).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use circuit_ir::{Circuit, NodeHash};

use crate::chain::Chain;
use crate::error::{MatchError, Result};
use crate::hash::{u64_of, StructHasher};
use crate::matcher::Matcher;
use crate::restrict::Restrict;

/// A memo key: a node (by hash) together with the matcher state applied to it.
pub(crate) type StateKey = (NodeHash, IterativeMatcher);

/// A user iterate function (see [`IterativeMatcher::new_func`]).
pub type IterateFn = Arc<dyn Fn(&Circuit) -> Result<IterateMatchResults> + Send + Sync>;

/// What to use on the children of a node after matching it.
#[derive(Clone, PartialEq, Eq)]
pub enum Updated {
    /// The same matcher for every child (rust_circuit's `None`).
    Same,
    /// Stop: no child is visited (`FINISHED`).
    Finished,
    /// This matcher for every child.
    All(IterativeMatcher),
    /// One entry per child, `None` meaning finished for that child. The length must be
    /// the child count ([`MatchError::PerChildLength`] otherwise).
    PerChild(Vec<Option<IterativeMatcher>>),
}

impl Updated {
    /// Whether nothing below is visited (`Finished`, or per-child with every entry
    /// finished).
    pub fn is_finished(&self) -> bool {
        match self {
            Updated::Finished => true,
            Updated::PerChild(v) => v.iter().all(Option::is_none),
            Updated::Same | Updated::All(_) => false,
        }
    }

    /// The matcher for each of `num_children` children (`None`: not visited), given the
    /// matcher `current` that produced this update.
    pub fn per_child(
        &self,
        current: &IterativeMatcher,
        num_children: usize,
    ) -> Vec<Option<IterativeMatcher>> {
        match self {
            Updated::Same => vec![Some(current.clone()); num_children],
            Updated::Finished => vec![None; num_children],
            Updated::All(m) => vec![Some(m.clone()); num_children],
            Updated::PerChild(v) => v.clone(),
        }
    }

    /// Wraps every new matcher with `f` (a `Same` stays `Same`: the wrapper itself is
    /// reused).
    pub(crate) fn map(self, mut f: impl FnMut(IterativeMatcher) -> IterativeMatcher) -> Updated {
        match self {
            Updated::Same => Updated::Same,
            Updated::Finished => Updated::Finished,
            Updated::All(m) => Updated::All(f(m)),
            Updated::PerChild(v) => {
                Updated::PerChild(v.into_iter().map(|m| m.map(&mut f)).collect())
            }
        }
    }
}

impl fmt::Debug for Updated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Updated::Same => f.write_str("Same"),
            Updated::Finished => f.write_str("Finished"),
            Updated::All(m) => write!(f, "All({m})"),
            Updated::PerChild(v) => {
                let items: Vec<String> = v
                    .iter()
                    .map(|m| m.as_ref().map_or_else(|| "Finished".to_owned(), ToString::to_string))
                    .collect();
                write!(f, "PerChild([{}])", items.join(", "))
            }
        }
    }
}

/// The result of applying an iterative matcher to one node.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct IterateMatchResults {
    /// Whether this node is found.
    pub found: bool,
    /// What to use on the children.
    pub updated: Updated,
}

impl IterateMatchResults {
    /// A result with these fields.
    pub fn new(found: bool, updated: Updated) -> IterateMatchResults {
        IterateMatchResults { found, updated }
    }

    /// Found or not, and nothing below is visited.
    pub fn finished(found: bool) -> IterateMatchResults {
        IterateMatchResults { found, updated: Updated::Finished }
    }
}

/// A stateful node predicate that is re-derived as it walks down the circuit, so it can
/// express paths, depth windows and per-child behaviour. Cheap to clone; equal and
/// hashed by structure (closures by identity).
#[derive(Clone)]
pub struct IterativeMatcher(Arc<IterInner>);

struct IterInner {
    data: IterData,
    hash: [u8; 32],
}

#[derive(Clone)]
pub(crate) enum IterData {
    Match(Matcher),
    Term(bool),
    Restrict(Restrict),
    Children(IterativeMatcher, BTreeSet<usize>),
    ModuleArg(IterativeMatcher, Matcher),
    SpecCircuit(IterativeMatcher),
    NoModuleSpec(IterativeMatcher),
    /// A set of chains (deduplicated, first occurrence order; hashed order-free).
    Chains(Vec<Chain>),
    All(Vec<IterativeMatcher>),
    Func(IterateFn),
}

impl IterativeMatcher {
    pub(crate) fn from_data(data: IterData) -> IterativeMatcher {
        let hash = hash_data(&data);
        IterativeMatcher(Arc::new(IterInner { data, hash }))
    }

    pub(crate) fn data(&self) -> &IterData {
        &self.0.data
    }

    /// The structural hash (equal matchers have equal hashes).
    pub fn hash_bytes(&self) -> [u8; 32] {
        self.0.hash
    }

    /// Finishes immediately: the node it is applied to is found iff `match_next`, and
    /// nothing below is visited.
    pub fn term(match_next: bool) -> IterativeMatcher {
        IterativeMatcher::from_data(IterData::Term(match_next))
    }

    /// Matches every node, everywhere (an always-true matcher).
    pub fn noop_traversal() -> IterativeMatcher {
        IterativeMatcher::from(Matcher::always())
    }

    /// Wraps a user function implementing the protocol. Two `new_func` matchers are
    /// equal only if they share the closure allocation (clones of one matcher).
    pub fn new_func(
        f: impl Fn(&Circuit) -> Result<IterateMatchResults> + Send + Sync + 'static,
    ) -> IterativeMatcher {
        IterativeMatcher::from_data(IterData::Func(Arc::new(f)))
    }

    /// Applies the matcher to one node.
    ///
    /// # Errors
    /// [`MatchError::PerChildLength`] if a per-child update has the wrong length;
    /// [`MatchError::ChildNumbersOutOfBounds`], [`MatchError::ExpectedModule`] from
    /// structural matchers; errors of user functions.
    pub fn match_iterate(&self, circuit: &Circuit) -> Result<IterateMatchResults> {
        let res = match self.data() {
            IterData::Match(m) => IterateMatchResults::new(m.call(circuit)?, Updated::Same),
            IterData::Term(b) => IterateMatchResults::finished(*b),
            IterData::Restrict(r) => r.match_iterate(circuit)?,
            IterData::Children(inner, nums) => {
                crate::structural::children_iterate(inner, nums, circuit)?
            }
            IterData::ModuleArg(inner, sym) => {
                crate::structural::module_arg_iterate(inner, sym, circuit, self)?
            }
            IterData::SpecCircuit(inner) => {
                crate::structural::spec_circuit_iterate(inner, circuit, self)?
            }
            IterData::NoModuleSpec(inner) => {
                crate::structural::no_module_spec_iterate(inner, circuit)?
            }
            IterData::Chains(chains) => crate::chain::chains_iterate(chains, self, circuit)?,
            IterData::All(ms) => crate::structural::all_iterate(ms, circuit)?,
            IterData::Func(f) => f(circuit)?,
        };
        if let Updated::PerChild(v) = &res.updated {
            if v.len() != circuit.children().len() {
                return Err(MatchError::PerChildLength {
                    matcher: self.to_string(),
                    node: circuit.node_ref(),
                    num_updated: v.len(),
                    num_children: circuit.children().len(),
                });
            }
        }
        Ok(res)
    }

    /// Found wherever any operand is found; continues with every operand that has not
    /// finished. No operands: `term(false)`; one operand: itself.
    pub fn any(matchers: impl IntoIterator<Item = IterativeMatcher>) -> IterativeMatcher {
        let ms: Vec<IterativeMatcher> = matchers.into_iter().collect();
        match ms.len() {
            0 => IterativeMatcher::term(false),
            1 => ms.into_iter().next().unwrap_or_else(|| IterativeMatcher::term(false)),
            _ => crate::chain::union(ms),
        }
    }

    /// The union of matchers as rust_circuit's multi-argument constructor builds it (a
    /// chains matcher with one single-element chain per operand, even for one operand).
    pub fn union(matchers: impl IntoIterator<Item = IterativeMatcher>) -> IterativeMatcher {
        crate::chain::union(matchers.into_iter().collect())
    }

    /// Found iff every operand is found; finishes as soon as any operand finishes;
    /// per-child updates are combined child-wise.
    pub fn all(matchers: impl IntoIterator<Item = IterativeMatcher>) -> IterativeMatcher {
        IterativeMatcher::from_data(IterData::All(matchers.into_iter().collect()))
    }

    /// `self | other`.
    pub fn or(&self, other: impl Into<IterativeMatcher>) -> IterativeMatcher {
        crate::chain::union(vec![self.clone(), other.into()])
    }

    /// `self & other`.
    pub fn and(&self, other: impl Into<IterativeMatcher>) -> IterativeMatcher {
        IterativeMatcher::all([self.clone(), other.into()])
    }
}

fn hash_data(data: &IterData) -> [u8; 32] {
    match data {
        IterData::Match(m) => StructHasher::new("it-match").bytes(&m.hash_bytes()).finish(),
        IterData::Term(b) => StructHasher::new("it-term").bool(*b).finish(),
        IterData::Restrict(r) => r.hash(),
        IterData::Children(m, nums) => {
            let mut h = StructHasher::new("it-children");
            h.bytes(&m.hash_bytes());
            for n in nums {
                h.u64(u64_of(*n));
            }
            h.finish()
        }
        IterData::ModuleArg(m, sym) => StructHasher::new("it-module-arg")
            .bytes(&m.hash_bytes())
            .bytes(&sym.hash_bytes())
            .finish(),
        IterData::SpecCircuit(m) => {
            StructHasher::new("it-spec-circuit").bytes(&m.hash_bytes()).finish()
        }
        IterData::NoModuleSpec(m) => {
            StructHasher::new("it-no-module-spec").bytes(&m.hash_bytes()).finish()
        }
        IterData::Chains(chains) => {
            let mut hashes: Vec<[u8; 32]> = chains.iter().map(Chain::hash).collect();
            hashes.sort_unstable();
            let mut h = StructHasher::new("it-chains");
            for x in hashes {
                h.bytes(&x);
            }
            h.finish()
        }
        IterData::All(ms) => {
            let mut h = StructHasher::new("it-all");
            for m in ms {
                h.bytes(&m.hash_bytes());
            }
            h.finish()
        }
        IterData::Func(f) => {
            let addr = Arc::as_ptr(f).cast::<()>() as usize;
            StructHasher::new("it-func").u64(u64_of(addr)).finish()
        }
    }
}

impl PartialEq for IterativeMatcher {
    fn eq(&self, other: &IterativeMatcher) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.hash == other.0.hash
    }
}

impl Eq for IterativeMatcher {}

impl std::hash::Hash for IterativeMatcher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.0.hash[..8]);
    }
}

impl Default for IterativeMatcher {
    /// `term(false)`, like rust_circuit's `IterativeMatcher()`.
    fn default() -> IterativeMatcher {
        IterativeMatcher::term(false)
    }
}

impl fmt::Display for IterativeMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.data() {
            IterData::Match(m) => write!(f, "{m}"),
            IterData::Term(true) => f.write_str("Term(found)"),
            IterData::Term(false) => f.write_str("Term"),
            IterData::Restrict(r) => write!(f, "{r}"),
            IterData::Children(m, nums) => {
                let nums: Vec<String> = nums.iter().map(ToString::to_string).collect();
                write!(f, "Children({m}, [{}])", nums.join(","))
            }
            IterData::ModuleArg(m, sym) => write!(f, "ModuleArg({m}, {sym})"),
            IterData::SpecCircuit(m) => write!(f, "SpecCircuit({m})"),
            IterData::NoModuleSpec(m) => write!(f, "NoModuleSpec({m})"),
            IterData::Chains(chains) => {
                if let [one] = chains.as_slice() {
                    write!(f, "{one}")
                } else {
                    let items: Vec<String> = chains.iter().map(ToString::to_string).collect();
                    write!(f, "Any({})", items.join(", "))
                }
            }
            IterData::All(ms) => {
                let items: Vec<String> = ms.iter().map(ToString::to_string).collect();
                write!(f, "All({})", items.join(", "))
            }
            IterData::Func(_) => f.write_str("<iterate fn>"),
        }
    }
}

impl fmt::Debug for IterativeMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IterativeMatcher({self})")
    }
}

// ---- conversions ----------------------------------------------------------------------

impl From<Matcher> for IterativeMatcher {
    fn from(m: Matcher) -> IterativeMatcher {
        IterativeMatcher::from_data(IterData::Match(m))
    }
}

impl From<&IterativeMatcher> for IterativeMatcher {
    fn from(m: &IterativeMatcher) -> IterativeMatcher {
        m.clone()
    }
}

impl From<Vec<IterativeMatcher>> for IterativeMatcher {
    /// The union (rust_circuit's `IterativeMatcher(a, b, ...)`).
    fn from(v: Vec<IterativeMatcher>) -> IterativeMatcher {
        IterativeMatcher::any(v)
    }
}

macro_rules! via_matcher {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for IterativeMatcher {
            fn from(x: $t) -> IterativeMatcher {
                IterativeMatcher::from(Matcher::from(x))
            }
        }
    )*};
}

via_matcher!(
    bool,
    &str,
    String,
    &String,
    circuit_ir::Kind,
    Circuit,
    &Circuit,
    &Matcher,
    Vec<&str>,
    &[&str],
    Vec<String>,
    BTreeSet<String>,
    std::collections::HashSet<String>,
    Vec<circuit_ir::Kind>,
    Vec<Circuit>,
    BTreeSet<Circuit>,
    Vec<Matcher>,
);

impl<const N: usize> From<[&str; N]> for IterativeMatcher {
    fn from(v: [&str; N]) -> IterativeMatcher {
        IterativeMatcher::from(Matcher::from(v))
    }
}

impl<const N: usize> From<[circuit_ir::Kind; N]> for IterativeMatcher {
    fn from(v: [circuit_ir::Kind; N]) -> IterativeMatcher {
        IterativeMatcher::from(Matcher::from(v))
    }
}

impl<const N: usize> From<[Circuit; N]> for IterativeMatcher {
    fn from(v: [Circuit; N]) -> IterativeMatcher {
        IterativeMatcher::from(Matcher::from(v))
    }
}

// ---- operators ------------------------------------------------------------------------

impl<T: Into<IterativeMatcher>> std::ops::BitOr<T> for IterativeMatcher {
    type Output = IterativeMatcher;
    fn bitor(self, rhs: T) -> IterativeMatcher {
        crate::chain::union(vec![self, rhs.into()])
    }
}

impl<T: Into<IterativeMatcher>> std::ops::BitAnd<T> for IterativeMatcher {
    type Output = IterativeMatcher;
    fn bitand(self, rhs: T) -> IterativeMatcher {
        IterativeMatcher::all([self, rhs.into()])
    }
}
