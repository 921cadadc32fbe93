//! A deterministic random circuit generator covering every node kind.
//!
//! Circuits are built bottom-up from a pool: a few leaves first, then for each step a
//! kind is drawn and compatible children are picked from the pool (reusing earlier nodes,
//! so the result is a DAG) or made to fit (leaves of a required shape). Every node is
//! built with the exact constructor [`Circuit::build`] (or sometimes [`Circuit::new`], to
//! get autonames). When a construction fails validation the generator records the
//! failure in [`GenStats`] and falls back to a simple node, so every seed yields valid
//! circuits. The roots are the most recent nodes no other node uses, plus sometimes a
//! shared node or a repeated root.
//!
//! ```
//! use circuit_testkit::{random_circuits, GenConfig};
//! let a = random_circuits(7, &GenConfig::default());
//! let b = random_circuits(7, &GenConfig::default());
//! assert_eq!(a, b); // deterministic in the seed
//! ```

mod gf;
mod leaves;
pub mod names;
mod ops;
mod structure;

use std::collections::{BTreeMap, HashSet};

use circuit_ir::{Circuit, IrError, Kind, Name, NodeHash, Op};

use crate::Gen;

/// Size limits and feature switches of the generator.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// Number of non-leaf construction steps.
    pub ops: usize,
    /// Leaves in the pool before the first step.
    pub initial_leaves: usize,
    /// Largest rank of fresh shapes (operations may produce larger ranks).
    pub max_rank: usize,
    /// Largest concrete size of fresh dimensions.
    pub max_dim: usize,
    /// Largest number of elements of a generated Array.
    pub max_array_numel: usize,
    /// Largest number of roots.
    pub max_roots: usize,
    /// Kinds the steps draw from (leaves are always available as children).
    pub kinds: Vec<Kind>,
    /// Symbolic sizes (`0s`, `2*1s`) on Scalars and Symbols.
    pub symbolic_sizes: bool,
    /// Explicit named axes.
    pub named_axes: bool,
    /// Explicit named axes on every kind. With the default printer only kinds whose shape
    /// is printed (Scalar, Symbol, Array, Index, Scatter, SetSymbolicShape) keep explicit
    /// names, so this needs `show_all_named_axes` or `shape_only_when_necessary: false`.
    pub named_axes_on_any_kind: bool,
    /// Names from [`names::NASTY_NAMES`] and random strings (else simple `n<i>` names).
    pub nasty_names: bool,
    /// Probability of building through [`Circuit::new`] (automatic names).
    pub autoname_prob: f64,
    /// Probability of `AD` (autoname disabled) on a node.
    pub ad_prob: f64,
    // The switches below produce edge cases that once broke round trips (each has a
    // `regression_*` test in crates/text/tests/roundtrip_props.rs).
    /// Names with line breaks ([`names::NEWLINE_NAMES`]); bijective printing refuses them
    /// (the line format cannot hold them), so round-trip tests leave this off.
    pub newline_names: bool,
    /// Axis names with `#`, `!`, `->` or quotes ([`names::UNSAFE_AXIS_NAMES`]), which the
    /// `fancy:` einsum form must not print.
    pub unsafe_axis_names: bool,
    /// The empty axis name (allowed; prints as `[:3]`).
    pub empty_axis_names: bool,
    /// Rearrange specs whose ints are not numbered in order of first appearance, or that
    /// carry unused size slots (the IR renumbers them at construction).
    pub noncanonical_rearrange: bool,
    /// Scalars holding NaN with the sign bit set (the IR canonicalises NaN).
    pub signed_nan: bool,
    /// Module arguments whose symbol the spec circuit does not use (the parser rejects
    /// these unless `module_check_all_inputs_used` is off).
    pub unused_module_args: bool,
}

impl Default for GenConfig {
    fn default() -> GenConfig {
        GenConfig {
            ops: 14,
            initial_leaves: 3,
            max_rank: 3,
            max_dim: 4,
            max_array_numel: 24,
            max_roots: 3,
            kinds: Kind::ALL.to_vec(),
            symbolic_sizes: true,
            named_axes: true,
            named_axes_on_any_kind: false,
            nasty_names: true,
            autoname_prob: 0.15,
            ad_prob: 0.1,
            newline_names: false,
            unsafe_axis_names: false,
            empty_axis_names: false,
            noncanonical_rearrange: false,
            signed_nan: false,
            unused_module_args: false,
        }
    }
}

impl GenConfig {
    /// A smaller configuration (fewer steps and roots) for quick tests.
    pub fn small() -> GenConfig {
        GenConfig { ops: 5, initial_leaves: 2, max_roots: 2, ..GenConfig::default() }
    }

    /// Turns on every input the line format is known not to represent (for bug hunting).
    pub fn everything(mut self) -> GenConfig {
        self.newline_names = true;
        self.unsafe_axis_names = true;
        self.empty_axis_names = true;
        self.noncanonical_rearrange = true;
        self.signed_nan = true;
        self.unused_module_args = true;
        self.named_axes_on_any_kind = true;
        self
    }
}

/// What happened during generation.
#[derive(Debug, Clone, Default)]
pub struct GenStats {
    /// Nodes successfully built, by kind (including leaves made to fit).
    pub built: BTreeMap<Kind, usize>,
    /// Steps of each kind whose construction failed and fell back to a simple node.
    pub fallbacks: BTreeMap<Kind, usize>,
    /// GeneralFunction specs built, by family (`simple:sigmoid`, `gen_index`, `cast`, ...).
    pub gf_specs: BTreeMap<String, usize>,
    /// The first few construction errors (for tuning the generator).
    pub errors: Vec<String>,
}

impl GenStats {
    /// Adds another run's statistics to these.
    pub fn merge(&mut self, other: &GenStats) {
        for (k, v) in &other.built {
            *self.built.entry(*k).or_default() += v;
        }
        for (k, v) in &other.fallbacks {
            *self.fallbacks.entry(*k).or_default() += v;
        }
        for (k, v) in &other.gf_specs {
            *self.gf_specs.entry(k.clone()).or_default() += v;
        }
        for e in &other.errors {
            if self.errors.len() < 64 {
                self.errors.push(e.clone());
            }
        }
    }
}

/// The output of one generation: the roots (in order) and statistics.
#[derive(Clone)]
pub struct Generated {
    /// The seed it came from.
    pub seed: u64,
    /// The roots; they may share nodes, and a root may repeat.
    pub roots: Vec<Circuit>,
    /// What the generator did.
    pub stats: GenStats,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Generated {{ seed: {}, roots: {:?}, nodes: {} }}",
            self.seed,
            self.roots,
            circuit_ir::traversal::count_nodes(&self.roots)
        )
    }
}

/// Counts distinct nodes reachable from `roots` (module argument symbols included), by
/// kind.
pub fn count_kinds(roots: &[Circuit]) -> BTreeMap<Kind, usize> {
    let mut out = BTreeMap::new();
    let mut all = circuit_ir::traversal::toposort(roots);
    let extra: Vec<Circuit> = all
        .iter()
        .filter_map(|c| match c.op() {
            Op::Module(m) => Some(m.arg_specs.iter().map(|a| a.symbol.clone())),
            _ => None,
        })
        .flatten()
        .collect();
    let seen: HashSet<NodeHash> = all.iter().map(Circuit::hash).collect();
    all.extend(extra.into_iter().filter(|s| !seen.contains(&s.hash())));
    let mut counted: HashSet<NodeHash> = HashSet::new();
    for c in all {
        if counted.insert(c.hash()) {
            *out.entry(c.kind()).or_insert(0) += 1;
        }
    }
    out
}

/// The generator. Use [`Generator::generate`], or the shortcuts [`random_circuit`] and
/// [`random_circuits`].
pub struct Generator {
    seed: u64,
    g: Gen,
    cfg: GenConfig,
    pool: Vec<Circuit>,
    has_parent: HashSet<NodeHash>,
    names_used: Vec<String>,
    stats: GenStats,
}

impl Generator {
    /// A generator for one seed.
    pub fn new(seed: u64, cfg: GenConfig) -> Generator {
        Generator {
            seed,
            g: Gen::new(seed),
            cfg,
            pool: Vec::new(),
            has_parent: HashSet::new(),
            names_used: Vec::new(),
            stats: GenStats::default(),
        }
    }

    /// Runs the generation.
    pub fn generate(mut self) -> Generated {
        for _ in 0..self.cfg.initial_leaves.max(1) {
            let leaf = self.random_leaf();
            self.push(leaf);
        }
        let kinds = self.cfg.kinds.clone();
        // GeneralFunction has many spec families to cover, so it is drawn twice as often.
        let weights: Vec<u32> =
            kinds.iter().map(|&k| if k == Kind::GeneralFunction { 2 } else { 1 }).collect();
        for _ in 0..self.cfg.ops {
            if kinds.is_empty() {
                break;
            }
            let kind = kinds[self.g.weighted(&weights)];
            self.step(kind);
        }
        let roots = self.choose_roots();
        Generated { seed: self.seed, roots, stats: self.stats }
    }

    /// One step: try to build a node of `kind` (a few attempts), else fall back.
    fn step(&mut self, kind: Kind) {
        for _ in 0..3 {
            match self.try_kind(kind) {
                Ok(c) => {
                    let c = self.decorate(c);
                    self.push(c);
                    return;
                }
                Err(e) => {
                    if self.stats.errors.len() < 64 {
                        self.stats.errors.push(format!("{}: {e}", kind.name()));
                    }
                }
            }
        }
        *self.stats.fallbacks.entry(kind).or_default() += 1;
        let fallback = match self.pick_any() {
            Some(child) if self.g.chance(0.5) => {
                let uuid = self.g.uuid();
                self.build(Op::Tag(circuit_ir::kinds::Tag { uuid }), vec![child])
                    .unwrap_or_else(|_| self.random_leaf())
            }
            _ => self.random_leaf(),
        };
        self.push(fallback);
    }

    fn try_kind(&mut self, kind: Kind) -> Result<Circuit, IrError> {
        match kind {
            Kind::Array | Kind::Scalar | Kind::Symbol => Ok(self.leaf_of_kind(kind)),
            Kind::Einsum => self.einsum(),
            Kind::Add => self.add(),
            Kind::Rearrange => self.rearrange(),
            Kind::Index => self.index(),
            Kind::Scatter => self.scatter(),
            Kind::Concat => self.concat(),
            Kind::GeneralFunction => self.general_function(),
            Kind::Conv => self.conv(),
            Kind::Module => self.module(),
            Kind::SetSymbolicShape => self.set_symbolic_shape(),
            Kind::Tag => self.tag(),
            Kind::DiscreteVar => self.discrete_var(),
            Kind::Cumulant => self.cumulant(),
            Kind::StoredCumulantVar => self.stored_cumulant_var(),
        }
    }

    /// Adds a node to the pool, marking its children as used.
    fn push(&mut self, c: Circuit) {
        for ch in c.children() {
            self.has_parent.insert(ch.hash());
        }
        if let Op::Module(m) = c.op() {
            for a in &m.arg_specs {
                self.has_parent.insert(a.symbol.hash());
            }
        }
        *self.stats.built.entry(c.kind()).or_default() += 1;
        if let Some(n) = c.name() {
            if self.names_used.len() < 256 {
                self.names_used.push(n.to_string());
            }
        }
        self.pool.push(c);
    }

    /// Builds a node: usually with an explicit (nasty) name through [`Circuit::build`],
    /// sometimes through [`Circuit::new`] for an automatic name; sometimes with `AD`.
    fn build(&mut self, op: Op, children: Vec<Circuit>) -> Result<Circuit, IrError> {
        let leaf = op.kind().is_leaf();
        if !leaf && self.g.chance(self.cfg.autoname_prob) {
            return Circuit::new(op, children, None);
        }
        let name = self.name();
        let ad = self.g.chance(self.cfg.ad_prob);
        Circuit::build(op, children, name, ad)
    }

    /// A name from the configured distribution (`None` about a quarter of the time).
    fn name(&mut self) -> Option<Name> {
        let cfg_nasty = self.cfg.nasty_names;
        let choice = self.g.weighted(&[25, 12, 33, 15, 15, 2]);
        let s: String = match choice {
            0 => return None,
            1 => match self.g.pick(&self.names_used) {
                Some(n) => n.clone(),
                None => return None,
            },
            2 if cfg_nasty => {
                names::NASTY_NAMES[self.g.below(names::NASTY_NAMES.len())].to_string()
            }
            3 if cfg_nasty => names::random_name(&mut self.g),
            5 if self.cfg.newline_names => {
                names::NEWLINE_NAMES[self.g.below(names::NEWLINE_NAMES.len())].to_string()
            }
            _ => format!("n{}", self.g.below(1000)),
        };
        Some(Name::from(s.as_str()))
    }

    /// Adds explicit named axes to some nodes (only where the default printer keeps
    /// them, unless configured otherwise).
    fn decorate(&mut self, c: Circuit) -> Circuit {
        if !self.cfg.named_axes || c.rank() == 0 || !self.g.chance(0.2) {
            return c;
        }
        let shape_printed = matches!(
            c.kind(),
            Kind::Scalar
                | Kind::Symbol
                | Kind::Array
                | Kind::Index
                | Kind::Scatter
                | Kind::SetSymbolicShape
        );
        if !shape_printed && !self.cfg.named_axes_on_any_kind {
            return c;
        }
        let mut axes: circuit_ir::NamedAxes = Default::default();
        let p = if self.g.chance(0.5) { 1.0 } else { 0.5 };
        for axis in 0..c.rank().min(255) {
            if self.g.chance(p) {
                let name = self.axis_name();
                axes.push((axis as u8, Name::from(name.as_str())));
            }
        }
        if axes.is_empty() {
            return c;
        }
        c.with_named_axes(axes).unwrap_or(c)
    }

    fn axis_name(&mut self) -> String {
        let w = [
            80,
            if self.cfg.unsafe_axis_names { 15 } else { 0 },
            if self.cfg.empty_axis_names { 5 } else { 0 },
        ];
        match self.g.weighted(&w) {
            1 => names::UNSAFE_AXIS_NAMES[self.g.below(names::UNSAFE_AXIS_NAMES.len())].to_string(),
            2 => String::new(),
            _ => names::SAFE_AXIS_NAMES[self.g.below(names::SAFE_AXIS_NAMES.len())].to_string(),
        }
    }

    /// Any pool node: often one nobody uses yet (so that most nodes end up reachable
    /// from the roots), else a recent one, else any (DAG sharing).
    fn pick_any(&mut self) -> Option<Circuit> {
        self.pick_where(|_| true)
    }

    /// A pool node satisfying `pred`, with the same bias as [`Generator::pick_any`].
    fn pick_where(&mut self, pred: impl Fn(&Circuit) -> bool) -> Option<Circuit> {
        let candidates: Vec<usize> =
            (0..self.pool.len()).filter(|&i| pred(&self.pool[i])).collect();
        if candidates.is_empty() {
            return None;
        }
        let unused: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| !self.has_parent.contains(&self.pool[i].hash()))
            .collect();
        let i = match self.g.weighted(&[50, 25, 25]) {
            0 if !unused.is_empty() => unused[self.g.below(unused.len())],
            1 => candidates[candidates.len() - 1 - self.g.below(candidates.len().min(3))],
            _ => candidates[self.g.below(candidates.len())],
        };
        self.pool.get(i).cloned()
    }

    /// Roots: recent nodes nobody uses, sometimes plus a shared node or a repeated root.
    fn choose_roots(&mut self) -> Vec<Circuit> {
        let max = self.cfg.max_roots.max(1);
        let want = if self.g.chance(0.7) { max } else { self.g.range(1, max) };
        let mut roots: Vec<Circuit> = Vec::new();
        for c in self.pool.iter().rev() {
            if roots.len() >= want {
                break;
            }
            if !self.has_parent.contains(&c.hash()) && !roots.contains(c) {
                roots.push(c.clone());
            }
        }
        if roots.is_empty() {
            if let Some(last) = self.pool.last() {
                roots.push(last.clone());
            }
        }
        roots.reverse();
        if max > 1 && self.g.chance(0.15) {
            if let Some(shared) = self.pick_any() {
                let at = self.g.below(roots.len() + 1);
                roots.insert(at, shared);
            }
        }
        roots
    }
}

/// The roots of [`Generator::generate`] for `seed` with `cfg`.
pub fn random_circuits(seed: u64, cfg: &GenConfig) -> Vec<Circuit> {
    Generator::new(seed, cfg.clone()).generate().roots
}

/// One circuit for `seed` (default configuration, one root).
pub fn random_circuit(seed: u64) -> Circuit {
    let cfg = GenConfig { max_roots: 1, ..GenConfig::default() };
    let mut roots = random_circuits(seed, &cfg);
    // The pool always holds at least one leaf, so there is always a root.
    roots.pop().expect("the generator always returns at least one root")
}
