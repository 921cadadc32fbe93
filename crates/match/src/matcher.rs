//! [`Matcher`]: a predicate on a single node (by name, kind, regex, circuit equality,
//! closure, combinations, or "an iterative matcher finds something below").

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use circuit_ir::{Circuit, Kind};

use crate::error::{MatchError, Result};
use crate::hash::{u64_of, StructHasher};
use crate::iterative::{IterativeMatcher, StateKey};

/// A user predicate on one node.
pub type NodePredicate = Arc<dyn Fn(&Circuit) -> bool + Send + Sync>;

/// A predicate on a single node. Cheap to clone (an `Arc` inside); equal and hashed by
/// structure (closures by identity).
///
/// Build one with the constructors below or by conversion: `&str`/`String` (exact name),
/// collections of names, [`Kind`] or kinds, [`Circuit`] or circuits (equality by hash),
/// `bool` (always / never). Combine with `|`, `&` and `!`.
#[derive(Clone)]
pub struct Matcher(Arc<MatcherInner>);

struct MatcherInner {
    data: MatcherData,
    hash: [u8; 32],
}

#[derive(Clone)]
pub(crate) enum MatcherData {
    Always(bool),
    Names(BTreeSet<String>),
    Kinds(BTreeSet<Kind>),
    Regex(RegexMatcher),
    Circuits(BTreeSet<Circuit>),
    AnyFound(AnyFoundMatcher),
    Func(NodePredicate),
    Not(Matcher),
    Any(Vec<Matcher>),
    All(Vec<Matcher>),
}

#[derive(Clone)]
pub(crate) struct RegexMatcher {
    pub(crate) regex: regex::Regex,
    pub(crate) pattern: String,
    pub(crate) escape_dot: bool,
}

/// `match_any_found`: the finder plus a memo shared by all clones of the matcher, so
/// that calling it on every node of a circuit stays linear.
#[derive(Clone)]
pub(crate) struct AnyFoundMatcher {
    pub(crate) finder: IterativeMatcher,
    pub(crate) cache: Arc<Mutex<HashMap<StateKey, bool>>>,
}

impl Matcher {
    pub(crate) fn from_data(data: MatcherData) -> Matcher {
        let hash = hash_data(&data);
        Matcher(Arc::new(MatcherInner { data, hash }))
    }

    pub(crate) fn data(&self) -> &MatcherData {
        &self.0.data
    }

    /// The structural hash (equal matchers have equal hashes).
    pub fn hash_bytes(&self) -> [u8; 32] {
        self.0.hash
    }

    /// Matches every node.
    pub fn always() -> Matcher {
        Matcher::from_data(MatcherData::Always(true))
    }

    /// Matches no node.
    pub fn never() -> Matcher {
        Matcher::from_data(MatcherData::Always(false))
    }

    /// Matches nodes whose name is one of `names` (unnamed nodes never match).
    pub fn names<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Matcher {
        Matcher::from_data(MatcherData::Names(names.into_iter().map(Into::into).collect()))
    }

    /// Matches nodes of one of these kinds.
    pub fn kinds(kinds: impl IntoIterator<Item = Kind>) -> Matcher {
        Matcher::from_data(MatcherData::Kinds(kinds.into_iter().collect()))
    }

    /// Matches nodes equal (by hash) to one of these circuits.
    pub fn circuits(circuits: impl IntoIterator<Item = Circuit>) -> Matcher {
        Matcher::from_data(MatcherData::Circuits(circuits.into_iter().collect()))
    }

    /// Matches named nodes whose name contains a match of `pattern` (a plain regex
    /// *search*; anchor with `^…$` for a full match). `.` is the usual wildcard.
    ///
    /// # Errors
    /// [`MatchError::Regex`] if the pattern does not compile.
    pub fn regex(pattern: &str) -> Result<Matcher> {
        Matcher::regex_impl(pattern, false)
    }

    /// rust_circuit's default regex convention (`Regex(pattern, escape_dot=True)`): `.`
    /// is a *literal* dot and `\.` is the wildcard, which suits dotted names such as
    /// `a1.ind`. Otherwise a regex search like [`Matcher::regex`]. (Unlike the
    /// reference, `\\.` is an escaped backslash followed by a literal dot.)
    ///
    /// # Errors
    /// [`MatchError::Regex`] if the translated pattern does not compile.
    pub fn regex_escape_dot(pattern: &str) -> Result<Matcher> {
        Matcher::regex_impl(pattern, true)
    }

    fn regex_impl(pattern: &str, escape_dot: bool) -> Result<Matcher> {
        let translated = if escape_dot { swap_dot_escapes(pattern) } else { pattern.to_owned() };
        let regex = regex::Regex::new(&translated).map_err(|e| MatchError::Regex {
            pattern: pattern.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Matcher::from_data(MatcherData::Regex(RegexMatcher {
            regex,
            pattern: pattern.to_owned(),
            escape_dot,
        })))
    }

    /// Matches nodes for which `f` returns true. Two `func` matchers are equal only if
    /// they share the same closure allocation (clones of one matcher).
    pub fn func(f: impl Fn(&Circuit) -> bool + Send + Sync + 'static) -> Matcher {
        Matcher::from_data(MatcherData::Func(Arc::new(f)))
    }

    /// Matches nodes in whose subtree (the node included) `finder` finds something.
    pub fn match_any_found(finder: impl Into<IterativeMatcher>) -> Matcher {
        Matcher::from_data(MatcherData::AnyFound(AnyFoundMatcher {
            finder: finder.into(),
            cache: Arc::new(Mutex::new(HashMap::new())),
        }))
    }

    /// Like [`Matcher::match_any_found`] but only strict descendants count (the finder
    /// is restricted to `start_depth = 1`).
    pub fn match_any_child_found(finder: impl Into<IterativeMatcher>) -> Matcher {
        Matcher::match_any_found(crate::restrict::restrict(
            finder,
            false,
            Some(1),
            None,
            Matcher::never(),
        ))
    }

    /// Matches if any operand matches (short-circuits left to right). No operands:
    /// never.
    pub fn any(matchers: impl IntoIterator<Item = Matcher>) -> Matcher {
        Matcher::from_data(MatcherData::Any(matchers.into_iter().collect()))
    }

    /// Matches if all operands match (short-circuits left to right). No operands:
    /// always.
    pub fn all(matchers: impl IntoIterator<Item = Matcher>) -> Matcher {
        Matcher::from_data(MatcherData::All(matchers.into_iter().collect()))
    }

    /// Matches if `self` does not.
    pub fn not(&self) -> Matcher {
        Matcher::from_data(MatcherData::Not(self.clone()))
    }

    /// `self | other`.
    pub fn or(&self, other: impl Into<Matcher>) -> Matcher {
        Matcher::any([self.clone(), other.into()])
    }

    /// `self & other`.
    pub fn and(&self, other: impl Into<Matcher>) -> Matcher {
        Matcher::all([self.clone(), other.into()])
    }

    /// Evaluates the predicate on one node.
    ///
    /// # Errors
    /// Only [`Matcher::match_any_found`] matchers can fail (their finder may be an
    /// iterative matcher that errors).
    pub fn call(&self, circuit: &Circuit) -> Result<bool> {
        Ok(match self.data() {
            MatcherData::Always(b) => *b,
            MatcherData::Names(names) => circuit.name().is_some_and(|n| names.contains(n)),
            MatcherData::Kinds(kinds) => kinds.contains(&circuit.kind()),
            MatcherData::Regex(r) => circuit.name().is_some_and(|n| r.regex.is_match(n)),
            MatcherData::Circuits(cs) => cs.contains(circuit),
            MatcherData::AnyFound(af) => af.call(circuit)?,
            MatcherData::Func(f) => f(circuit),
            MatcherData::Not(m) => !m.call(circuit)?,
            MatcherData::Any(ms) => {
                for m in ms {
                    if m.call(circuit)? {
                        return Ok(true);
                    }
                }
                false
            }
            MatcherData::All(ms) => {
                for m in ms {
                    if !m.call(circuit)? {
                        return Ok(false);
                    }
                }
                true
            }
        })
    }

    /// The first matching node in depth-first pre-order (children in order, each
    /// distinct node visited once), if any.
    ///
    /// # Errors
    /// See [`Matcher::call`].
    pub fn get_first(&self, circuit: &Circuit) -> Result<Option<Circuit>> {
        let mut seen = HashSet::new();
        let mut stack = vec![circuit.clone()];
        while let Some(node) = stack.pop() {
            if !seen.insert(node.hash()) {
                continue;
            }
            if self.call(&node)? {
                return Ok(Some(node));
            }
            stack.extend(
                node.children().iter().rev().filter(|c| !seen.contains(&c.hash())).cloned(),
            );
        }
        Ok(None)
    }

    /// This matcher as an iterative matcher (matches anywhere in the tree).
    pub fn to_iterative(&self) -> IterativeMatcher {
        IterativeMatcher::from(self.clone())
    }
}

impl AnyFoundMatcher {
    fn call(&self, circuit: &Circuit) -> Result<bool> {
        // `try_lock`: a re-entrant or concurrent call falls back to a private memo
        // instead of deadlocking.
        match self.cache.try_lock() {
            Ok(mut cache) => crate::get::any_found_memo(circuit, &self.finder, &mut cache),
            Err(std::sync::TryLockError::Poisoned(p)) => {
                let mut cache = p.into_inner();
                cache.clear();
                crate::get::any_found_memo(circuit, &self.finder, &mut cache)
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                crate::get::any_found_memo(circuit, &self.finder, &mut HashMap::new())
            }
        }
    }
}

/// The reference's `escape_dot` translation: `\.` becomes `.` (wildcard) and `.` becomes
/// `\.` (literal); other escapes are kept as they are.
fn swap_dot_escapes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('.') => out.push('.'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '.' => out.push_str("\\."),
            other => out.push(other),
        }
    }
    out
}

fn hash_data(data: &MatcherData) -> [u8; 32] {
    match data {
        MatcherData::Always(b) => StructHasher::new("always").bool(*b).finish(),
        MatcherData::Names(names) => {
            let mut h = StructHasher::new("names");
            for n in names {
                h.bytes(n.as_bytes());
            }
            h.finish()
        }
        MatcherData::Kinds(kinds) => {
            let mut h = StructHasher::new("kinds");
            for k in kinds {
                h.bytes(k.name().as_bytes());
            }
            h.finish()
        }
        MatcherData::Regex(r) => {
            StructHasher::new("regex").bool(r.escape_dot).bytes(r.pattern.as_bytes()).finish()
        }
        MatcherData::Circuits(cs) => {
            // Sorted by hash so that the digest does not depend on names' order.
            let mut hashes: Vec<_> = cs.iter().map(Circuit::hash).collect();
            hashes.sort();
            let mut h = StructHasher::new("circuits");
            for x in hashes {
                h.bytes(&x.0);
            }
            h.finish()
        }
        MatcherData::AnyFound(af) => {
            StructHasher::new("any_found").bytes(&af.finder.hash_bytes()).finish()
        }
        MatcherData::Func(f) => {
            let addr = Arc::as_ptr(f).cast::<()>() as usize;
            StructHasher::new("func").u64(u64_of(addr)).finish()
        }
        MatcherData::Not(m) => StructHasher::new("not").bytes(&m.0.hash).finish(),
        MatcherData::Any(ms) | MatcherData::All(ms) => {
            let tag = if matches!(data, MatcherData::Any(_)) { "any" } else { "all" };
            let mut h = StructHasher::new(tag);
            for m in ms {
                h.bytes(&m.0.hash);
            }
            h.finish()
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.hash == other.0.hash
    }
}

impl Eq for Matcher {}

impl std::hash::Hash for Matcher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.0.hash[..8]);
    }
}

impl Default for Matcher {
    /// Matches every node.
    fn default() -> Matcher {
        Matcher::always()
    }
}

pub(crate) fn short_circuit_ref(c: &Circuit) -> String {
    match c.name() {
        Some(n) => format!("'{}' {} {}", n, c.kind().name(), c.hash().hex_prefix(3)),
        None => format!("None {} {}", c.kind().name(), c.hash().hex_prefix(3)),
    }
}

fn set_display(items: Vec<String>) -> String {
    if items.len() == 1 {
        items.into_iter().next().unwrap_or_default()
    } else {
        format!("{{{}}}", items.join(", "))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.data() {
            MatcherData::Always(true) => f.write_str("Always"),
            MatcherData::Always(false) => f.write_str("Never"),
            MatcherData::Names(names) => {
                f.write_str(&set_display(names.iter().map(|n| format!("{n:?}")).collect()))
            }
            MatcherData::Kinds(kinds) => {
                let mut names: Vec<String> = kinds.iter().map(|k| k.name().to_owned()).collect();
                names.sort();
                f.write_str(&set_display(names))
            }
            MatcherData::Regex(r) => {
                write!(f, "re{}'{}'", if r.escape_dot { "-escdot" } else { "" }, r.pattern)
            }
            MatcherData::Circuits(cs) => {
                f.write_str(&set_display(cs.iter().map(short_circuit_ref).collect()))
            }
            MatcherData::AnyFound(af) => write!(f, "AnyFound({})", af.finder),
            MatcherData::Func(_) => f.write_str("<fn>"),
            MatcherData::Not(m) => write!(f, "Not {m}"),
            MatcherData::Any(ms) | MatcherData::All(ms) => {
                let tag = if matches!(self.data(), MatcherData::Any(_)) { "Any" } else { "All" };
                let inner: Vec<String> = ms.iter().map(ToString::to_string).collect();
                write!(f, "{tag}({})", inner.join(", "))
            }
        }
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Matcher({self})")
    }
}

// ---- conversions ----------------------------------------------------------------------

impl From<bool> for Matcher {
    fn from(b: bool) -> Matcher {
        Matcher::from_data(MatcherData::Always(b))
    }
}

impl From<&str> for Matcher {
    fn from(s: &str) -> Matcher {
        Matcher::names([s])
    }
}

impl From<String> for Matcher {
    fn from(s: String) -> Matcher {
        Matcher::names([s])
    }
}

impl From<&String> for Matcher {
    fn from(s: &String) -> Matcher {
        Matcher::names([s.as_str()])
    }
}

impl From<Kind> for Matcher {
    fn from(k: Kind) -> Matcher {
        Matcher::kinds([k])
    }
}

impl From<Circuit> for Matcher {
    fn from(c: Circuit) -> Matcher {
        Matcher::circuits([c])
    }
}

impl From<&Circuit> for Matcher {
    fn from(c: &Circuit) -> Matcher {
        Matcher::circuits([c.clone()])
    }
}

impl From<&Matcher> for Matcher {
    fn from(m: &Matcher) -> Matcher {
        m.clone()
    }
}

impl From<Vec<&str>> for Matcher {
    fn from(v: Vec<&str>) -> Matcher {
        Matcher::names(v)
    }
}

impl From<&[&str]> for Matcher {
    fn from(v: &[&str]) -> Matcher {
        Matcher::names(v.iter().copied())
    }
}

impl<const N: usize> From<[&str; N]> for Matcher {
    fn from(v: [&str; N]) -> Matcher {
        Matcher::names(v)
    }
}

impl From<Vec<String>> for Matcher {
    fn from(v: Vec<String>) -> Matcher {
        Matcher::names(v)
    }
}

impl From<BTreeSet<String>> for Matcher {
    fn from(v: BTreeSet<String>) -> Matcher {
        Matcher::from_data(MatcherData::Names(v))
    }
}

impl From<HashSet<String>> for Matcher {
    fn from(v: HashSet<String>) -> Matcher {
        Matcher::names(v)
    }
}

impl From<Vec<Kind>> for Matcher {
    fn from(v: Vec<Kind>) -> Matcher {
        Matcher::kinds(v)
    }
}

impl<const N: usize> From<[Kind; N]> for Matcher {
    fn from(v: [Kind; N]) -> Matcher {
        Matcher::kinds(v)
    }
}

impl From<Vec<Circuit>> for Matcher {
    fn from(v: Vec<Circuit>) -> Matcher {
        Matcher::circuits(v)
    }
}

impl<const N: usize> From<[Circuit; N]> for Matcher {
    fn from(v: [Circuit; N]) -> Matcher {
        Matcher::circuits(v)
    }
}

impl From<BTreeSet<Circuit>> for Matcher {
    fn from(v: BTreeSet<Circuit>) -> Matcher {
        Matcher::from_data(MatcherData::Circuits(v))
    }
}

impl From<Vec<Matcher>> for Matcher {
    /// The union of the matchers (rust_circuit's `Matcher(a, b, ...)`).
    fn from(v: Vec<Matcher>) -> Matcher {
        Matcher::any(v)
    }
}

// ---- operators ------------------------------------------------------------------------

impl<T: Into<Matcher>> std::ops::BitOr<T> for Matcher {
    type Output = Matcher;
    fn bitor(self, rhs: T) -> Matcher {
        Matcher::any([self, rhs.into()])
    }
}

impl<T: Into<Matcher>> std::ops::BitAnd<T> for Matcher {
    type Output = Matcher;
    fn bitand(self, rhs: T) -> Matcher {
        Matcher::all([self, rhs.into()])
    }
}

impl std::ops::Not for Matcher {
    type Output = Matcher;
    fn not(self) -> Matcher {
        Matcher::not(&self)
    }
}

impl std::ops::Not for &Matcher {
    type Output = Matcher;
    fn not(self) -> Matcher {
        Matcher::not(self)
    }
}
