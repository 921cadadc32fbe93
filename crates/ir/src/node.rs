//! The circuit node: an immutable, reference-counted, hash-consed DAG node with cached
//! derived facts (shape, dtype, flags, named axes, free symbols, hash).
//!
//! Every node is built by [`Circuit::build`] (exact naming, used by the parser and by
//! rebuilds) or [`Circuit::new`] (autonaming, used by the builder API); both validate the
//! kind's invariants, so a constructed circuit is always shape-consistent.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use circuit_tensor::DType;

use crate::constraints::Constraints;
use crate::flags::Flags;
use crate::named_axes::NamedAxes;
use crate::ops::{Kind, Op};
use crate::{autoname, derive, IrError, Result, Shape};

/// A node name. Names are optional; `Some("")` (empty) differs from `None`.
pub type Name = Arc<str>;

/// A 32-byte blake3 content hash over kind, payload, name, flags, named axes and children.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeHash(pub [u8; 32]);

/// Hashing a content hash again is wasted work: feed its first 8 bytes to the hasher
/// (with [`NodeHasher`] that is the whole cost of a lookup).
impl Hash for NodeHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

/// A hasher for keys whose `Hash` writes one already well-mixed `u64` (a [`NodeHash`] or a
/// [`Circuit`]); anything else is folded in with a multiply-rotate step.
#[derive(Default, Clone, Copy)]
pub struct NodeHasher(u64);

impl Hasher for NodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Whole words are read directly; only the tail is padded with zeros (a
        // variable-length copy per word would be a `memcpy` call each).
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.write_u64(u64::from_le_bytes(b));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut v = 0u64;
            for (i, &b) in tail.iter().enumerate() {
                v |= u64::from(b) << (8 * i);
            }
            self.write_u64(v);
        }
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Builds [`NodeHasher`]s.
pub type BuildNodeHasher = std::hash::BuildHasherDefault<NodeHasher>;
/// A hash map keyed by circuits or node hashes.
pub type NodeMap<K, V> = std::collections::HashMap<K, V, BuildNodeHasher>;
/// A hash set of circuits or node hashes.
pub type NodeSet<K> = std::collections::HashSet<K, BuildNodeHasher>;

impl NodeHash {
    /// Lowercase hex of the first `n` bytes (at most 32).
    pub fn hex_prefix(&self, n_bytes: usize) -> String {
        self.0.iter().take(n_bytes.min(32)).map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for NodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.hex_prefix(6))
    }
}

/// A circuit: a shared, immutable node together with everything below it.
///
/// Cloning is cheap. Equality and hashing use the content hash only.
#[derive(Clone)]
pub struct Circuit(pub(crate) Arc<Node>);

/// The data of one node. Reached through [`Circuit`]'s accessors.
pub struct Node {
    pub(crate) op: Op,
    pub(crate) children: Vec<Circuit>,
    pub(crate) name: Option<Name>,
    pub(crate) info: Info,
}

/// Facts derived once at construction.
pub(crate) struct Info {
    pub(crate) shape: Shape,
    /// Set at construction, or later for nodes built with [`Circuit::build_unhashed`].
    pub(crate) hash: std::sync::OnceLock<NodeHash>,
    /// One more than the highest node this one's hash depends on (0 for a leaf): hashing
    /// by increasing height finds every child's hash ready.
    pub(crate) height: u32,
    pub(crate) flags: Flags,
    pub(crate) autoname_disabled_here: bool,
    pub(crate) dtype: Option<DType>,
    /// Most nodes have none: boxed, so that they cost a pointer.
    pub(crate) named_axes: Option<Box<NamedAxes>>,
    pub(crate) free_symbols: std::sync::OnceLock<Arc<[Circuit]>>,
    pub(crate) constraints: Constraints,
    /// For a Module: the fully substituted body (modules are defined by substitution).
    pub(crate) substituted: Option<Circuit>,
}

impl Circuit {
    /// Builds a node with exactly the given name (no autonaming). `autoname_disabled`
    /// turns autonaming off on this node (and therefore on every ancestor built on it);
    /// the text format spells it `AD`.
    ///
    /// # Errors
    /// Any validation error of the kind (wrong child count, shapes, dtypes, ...).
    pub fn build(
        op: Op,
        children: Vec<Circuit>,
        name: Option<Name>,
        autoname_disabled: bool,
    ) -> Result<Circuit> {
        Circuit::build_impl(op, children, name, autoname_disabled, true)
    }

    /// Like [`Circuit::build`], but the content hash is left to be computed on first use,
    /// or for many nodes at once by [`crate::hash_all`] (much faster: hashes of
    /// independent nodes are computed side by side). For builders of many nodes.
    ///
    /// # Errors
    /// As [`Circuit::build`].
    pub fn build_unhashed(
        op: Op,
        children: Vec<Circuit>,
        name: Option<Name>,
        autoname_disabled: bool,
    ) -> Result<Circuit> {
        Circuit::build_impl(op, children, name, autoname_disabled, false)
    }

    fn build_impl(
        op: Op,
        children: Vec<Circuit>,
        name: Option<Name>,
        autoname_disabled: bool,
        hashed: bool,
    ) -> Result<Circuit> {
        let op = if derive::needs_normalize(&op) {
            derive::normalize(op, &children, name.as_deref())?
        } else {
            op
        };
        let derived = derive::derive(&op, &children, name.as_deref())?;
        let mut flags = derived.flags;
        // rust_circuit: a Module inherits the flag from its inputs only (not its spec), and a
        // SetSymbolicShape never inherits it.
        let inherited = match &op {
            Op::Module(_) => children.iter().skip(1).all(|c| c.flags().use_autoname()),
            Op::SetSymbolicShape(_) => true,
            _ => children.iter().all(|c| c.flags().use_autoname()),
        };
        let children_autoname = inherited;
        flags.set_use_autoname(children_autoname && !autoname_disabled);
        let hash = if hashed {
            std::sync::OnceLock::from(crate::hashing::node_hash(
                &op,
                &children,
                name.as_deref(),
                flags,
                &derived.named_axes,
            ))
        } else {
            std::sync::OnceLock::new()
        };
        let symbols: &[crate::kinds::ModuleArgSpec] = match &op {
            Op::Module(m) => &m.arg_specs,
            _ => &[],
        };
        let height = children
            .iter()
            .chain(symbols.iter().map(|a| &a.symbol))
            .map(|c| c.0.info.height.saturating_add(1))
            .max()
            .unwrap_or(0);
        let info = Info {
            shape: derived.shape,
            hash,
            height,
            flags,
            autoname_disabled_here: autoname_disabled,
            dtype: derived.dtype,
            named_axes: boxed_axes(derived.named_axes),
            free_symbols: match derived.free_symbols {
                Some(f) => std::sync::OnceLock::from(f),
                None => std::sync::OnceLock::new(),
            },
            constraints: derived.constraints,
            substituted: derived.substituted,
        };
        Ok(Circuit(Arc::new(Node { op, children, name, info })))
    }

    /// Builds a node; when `name` is `None` and autonaming is enabled for all children,
    /// the node gets rust_circuit's automatic name (`a + b`, `a * b`, `x idx`, ...).
    ///
    /// # Errors
    /// Any validation error of the kind.
    pub fn new(op: Op, children: Vec<Circuit>, name: Option<Name>) -> Result<Circuit> {
        let name = match name {
            Some(n) => Some(n),
            None if children.iter().all(|c| c.flags().use_autoname()) => {
                autoname::autoname(&op, &children)
            }
            None => None,
        };
        Circuit::build(op, children, name, false)
    }

    /// The payload of this node.
    pub fn op(&self) -> &Op {
        &self.0.op
    }

    /// The kind of this node.
    pub fn kind(&self) -> Kind {
        self.0.op.kind()
    }

    /// The children, in order (for a Module: the spec circuit, then the arguments).
    pub fn children(&self) -> &[Circuit] {
        &self.0.children
    }

    /// The name, if any.
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// The name as a shared string.
    pub fn name_arc(&self) -> Option<&Name> {
        self.0.name.as_ref()
    }

    /// The output shape.
    pub fn shape(&self) -> &Shape {
        &self.0.info.shape
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.info.shape.len()
    }

    /// Number of elements (saturating `u128`, so declared shapes never overflow).
    pub fn numel(&self) -> u128 {
        crate::size::numel(&self.0.info.shape)
    }

    /// The content hash.
    pub fn hash(&self) -> NodeHash {
        match self.0.info.hash.get() {
            Some(h) => *h,
            None => self.compute_hash(),
        }
    }

    /// Hashes this node and whatever below it has no hash yet (built unhashed).
    #[cold]
    fn compute_hash(&self) -> NodeHash {
        crate::hash_batch::hash_all(&crate::hash_batch::unhashed_below(self));
        match self.0.info.hash.get() {
            Some(h) => *h,
            None => {
                let n = &self.0;
                let h = crate::hashing::node_hash(
                    &n.op,
                    &n.children,
                    n.name.as_deref(),
                    n.info.flags,
                    self.named_axes(),
                );
                self.set_hash(h);
                h
            }
        }
    }

    pub(crate) fn has_hash(&self) -> bool {
        self.0.info.hash.get().is_some()
    }

    pub(crate) fn set_hash(&self, h: NodeHash) {
        // Another thread may have set it first: to the same value.
        let _ = self.0.info.hash.set(h);
    }

    pub(crate) fn height(&self) -> u32 {
        self.0.info.height
    }

    /// Asks the CPU to start loading this node's memory: a hint for walks over many
    /// nodes that know their next nodes ahead of time (the printer queues children this
    /// way), where each node would otherwise be a cache miss. Does nothing elsewhere.
    #[inline]
    pub fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let p = Arc::as_ptr(&self.0).cast::<i8>();
            for off in (0..std::mem::size_of::<Node>().min(256)).step_by(64) {
                // SAFETY: SSE is part of x86-64; a prefetch reads nothing and never faults.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
            }
        }
    }

    /// The address of the node (an identity for the walks that hash unhashed nodes).
    pub(crate) fn addr(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// The flags (constant, explicitly computable, can be sampled, use autoname).
    pub fn flags(&self) -> Flags {
        self.0.info.flags
    }

    /// Whether autonaming was switched off on this very node (`AD` in the text format).
    pub fn autoname_disabled_here(&self) -> bool {
        self.0.info.autoname_disabled_here
    }

    /// Whether this node can be evaluated: constant and explicitly computable.
    pub fn is_evaluable(&self) -> bool {
        let f = self.flags();
        f.is_constant() && f.is_explicitly_computable()
    }

    /// The element type, where children fix one (Scalars and Symbols have none).
    pub fn dtype(&self) -> Option<DType> {
        self.0.info.dtype
    }

    /// Named axes: `(axis, name)` pairs, sorted by axis.
    pub fn named_axes(&self) -> &NamedAxes {
        static NONE: NamedAxes = NamedAxes::new_const();
        self.0.info.named_axes.as_deref().unwrap_or(&NONE)
    }

    /// The named axes this node would have if none were set on it explicitly (inherited
    /// from its children).
    pub fn inherited_named_axes(&self) -> NamedAxes {
        derive::inherited_named_axes(self)
    }

    /// Symbols not bound by a Module inside this circuit, in visit order (a Symbol's free
    /// symbols are itself).
    pub fn free_symbols(&self) -> std::borrow::Cow<'_, [Circuit]> {
        if self.kind() == Kind::Symbol {
            std::borrow::Cow::Owned(vec![self.clone()])
        } else {
            derive::ensure_free_symbols(self);
            match self.0.info.free_symbols.get() {
                Some(f) => std::borrow::Cow::Borrowed(f),
                None => std::borrow::Cow::Owned(Vec::new()),
            }
        }
    }

    /// Symbolic-size constraints collected from SetSymbolicShape nodes below.
    pub fn constraints(&self) -> &Constraints {
        &self.0.info.constraints
    }

    /// For a Module: its fully substituted body.
    pub fn substituted(&self) -> Option<&Circuit> {
        self.0.info.substituted.as_ref()
    }

    /// Whether both are the same allocation (a cheaper test than `==` when it holds).
    pub fn ptr_eq(&self, other: &Circuit) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A short reference for messages: `'name'` or `<Kind #hash>`.
    pub fn node_ref(&self) -> String {
        match self.name() {
            Some(n) => format!("'{n}'"),
            None => format!("<{} {:?}>", self.kind().name(), self.hash()),
        }
    }

    /// Rebuilds this node with new children (same payload, name and `AD` state).
    ///
    /// # Errors
    /// Validation errors if the new children do not fit the payload.
    pub fn with_children(&self, children: Vec<Circuit>) -> Result<Circuit> {
        if children.len() == self.children().len()
            && children.iter().zip(self.children()).all(|(a, b)| a == b)
        {
            return Ok(self.clone());
        }
        let rebuilt = Circuit::build(
            self.0.op.clone(),
            children,
            self.0.name.clone(),
            self.autoname_disabled_here(),
        )?;
        // Named axes describe the node's output; while the rank is unchanged they stay valid.
        if rebuilt.rank() == self.rank() && !self.named_axes().is_empty() {
            rebuilt.with_named_axes_if_changed(self.named_axes())
        } else {
            Ok(rebuilt)
        }
    }

    /// Returns the same node with another name (`None` removes it).
    ///
    /// # Errors
    /// Never in practice (the payload was already valid); kept fallible for uniformity.
    pub fn rename(&self, name: Option<&str>) -> Result<Circuit> {
        if self.name() == name {
            return Ok(self.clone());
        }
        self.rebuild_with_name(name.map(Name::from))
    }

    /// Like [`Circuit::rename`] with a shared string.
    ///
    /// # Errors
    /// See [`Circuit::rename`].
    pub fn rebuild_with_name(&self, name: Option<Name>) -> Result<Circuit> {
        let rebuilt = Circuit::build(
            self.0.op.clone(),
            self.0.children.clone(),
            name,
            self.autoname_disabled_here(),
        )?;
        rebuilt.with_named_axes_if_changed(self.named_axes())
    }

    /// Returns the node with autonaming disabled on it (`AD`).
    ///
    /// # Errors
    /// See [`Circuit::rename`].
    pub fn with_autoname_disabled(&self) -> Result<Circuit> {
        if self.autoname_disabled_here() {
            return Ok(self.clone());
        }
        let rebuilt =
            Circuit::build(self.0.op.clone(), self.0.children.clone(), self.0.name.clone(), true)?;
        rebuilt.with_named_axes_if_changed(self.named_axes())
    }

    /// Returns the node with these named axes (replacing inherited ones).
    ///
    /// # Errors
    /// [`IrError::NamedAxes`] for an axis beyond the rank, a repeated axis, or a name with
    /// whitespace, `[`, `]` or `:`.
    pub fn with_named_axes(&self, axes: NamedAxes) -> Result<Circuit> {
        crate::named_axes::validate(&axes, self.rank(), &self.node_ref())?;
        let mut axes = axes;
        axes.sort_by_key(|(a, _)| *a);
        if &axes == self.named_axes() {
            return Ok(self.clone());
        }
        let node = &self.0;
        let hash = if self.has_hash() {
            std::sync::OnceLock::from(crate::hashing::node_hash(
                &node.op,
                &node.children,
                node.name.as_deref(),
                node.info.flags,
                &axes,
            ))
        } else {
            std::sync::OnceLock::new()
        };
        let info = Info {
            shape: node.info.shape.clone(),
            hash,
            height: node.info.height,
            flags: node.info.flags,
            autoname_disabled_here: node.info.autoname_disabled_here,
            dtype: node.info.dtype,
            named_axes: boxed_axes(axes),
            free_symbols: node.info.free_symbols.clone(),
            constraints: node.info.constraints.clone(),
            substituted: node.info.substituted.clone(),
        };
        Ok(Circuit(Arc::new(Node {
            op: node.op.clone(),
            children: node.children.clone(),
            name: node.name.clone(),
            info,
        })))
    }

    fn with_named_axes_if_changed(self, axes: &NamedAxes) -> Result<Circuit> {
        if self.named_axes() == axes {
            Ok(self)
        } else {
            self.with_named_axes(axes.clone())
        }
    }

    /// Returns an error naming this node if it is not of the given kind.
    pub(crate) fn expect_kind(&self, kind: Kind, context: &str) -> Result<()> {
        if self.kind() == kind {
            Ok(())
        } else {
            Err(IrError::Invalid {
                kind: kind.name(),
                node: self.node_ref(),
                msg: format!("{context}: expected a {}, got a {}", kind.name(), self.kind().name()),
            })
        }
    }
}

fn boxed_axes(axes: NamedAxes) -> Option<Box<NamedAxes>> {
    if axes.is_empty() {
        None
    } else {
        Some(Box::new(axes))
    }
}

impl PartialEq for Circuit {
    fn eq(&self, other: &Circuit) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.hash() == other.hash()
    }
}

impl Eq for Circuit {}

impl Hash for Circuit {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.hash().hash(state);
    }
}

impl PartialOrd for Circuit {
    fn partial_cmp(&self, other: &Circuit) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Circuits order by `(name, hash)`, as rust_circuit's sorted sets do.
impl Ord for Circuit {
    fn cmp(&self, other: &Circuit) -> std::cmp::Ordering {
        (self.name(), self.hash()).cmp(&(other.name(), other.hash()))
    }
}

impl fmt::Debug for Circuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.node_ref(),
            crate::size::format_shape(self.shape()),
            self.kind().name()
        )
    }
}

/// Dropping a long chain of nodes recursively could overflow the stack, so children
/// whose last reference is being dropped are unlinked onto an explicit worklist.
impl Drop for Node {
    fn drop(&mut self) {
        let mut stack: Vec<Circuit> = std::mem::take(&mut self.children);
        if let Some(s) = self.info.substituted.take() {
            stack.push(s);
        }
        while let Some(child) = stack.pop() {
            if let Some(mut node) = Arc::into_inner(child.0) {
                stack.append(&mut node.children);
                if let Some(s) = node.info.substituted.take() {
                    stack.push(s);
                }
            }
        }
    }
}
