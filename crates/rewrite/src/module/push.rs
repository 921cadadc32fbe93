//! `ModulePusher`: move module *bindings* down the tree. Modules met along a traversal
//! are dissolved: their bindings go on a stack of pending levels and the walk continues
//! into their spec circuits; bound Symbols met on the way are replaced by their inputs,
//! and where the traversal stops the current node is wrapped in one Module binding the
//! pending arguments it uses (or one Module per level without `flatten`).
//!
//! Batch dims: level `j` has its module's own batch `B_j`; at stack depth `k` every
//! rebuilt node is either unbatched (it depends on no pending binding) or carries the
//! full batch `B_0 … B_k`. Inputs are brought to that form with repeat Rearranges
//! (`X rep_fuse`), so [`circuit_ir::expand::expand_node`] can rebuild the nodes above.

use std::collections::BTreeSet;
use std::sync::Arc;

use circuit_ir::expand::{expand_node, repeat_front};
use circuit_ir::kinds::{Module, ModuleArgSpec, Rearrange, RearrangeSpec};
use circuit_ir::size_map::SizeMap;
use circuit_ir::{Circuit, Kind, Name, NodeHash, NodeMap, Op, Shape};
use circuit_match::{IterativeMatcher, Matcher, Updated};
use smallvec::SmallVec;

use crate::{Result, RewriteError};

const RULE: &str = "push_down_modules";

/// Names rebuilt nodes: `(base node, rebuilt node, modules inner to outer) -> name`.
pub type ModuleNamer = Arc<dyn Fn(&Circuit, &Circuit, &[Circuit]) -> Option<String> + Send + Sync>;

/// rust_circuit's `default_nested_module_namer(word)`: `"<base> <word>:<m1>,<m2>"` with
/// the module names inner to outer, the base name when no module applies, `None` when
/// anything is unnamed.
pub fn default_nested_module_namer(word: &'static str) -> ModuleNamer {
    Arc::new(move |base: &Circuit, _running: &Circuit, modules: &[Circuit]| {
        let b = base.name()?;
        if modules.is_empty() {
            return Some(b.to_string());
        }
        let names: Option<Vec<&str>> = modules.iter().map(Circuit::name).collect();
        Some(format!("{b} {word}:{}", names?.join(",")))
    })
}

/// What happens to each Module the pusher builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleCallback {
    /// Keep every pending argument.
    Noop,
    /// Drop arguments the wrapped node does not use; with `elim_no_input`, a Module left
    /// without arguments is not built.
    RemoveUnused {
        /// Skip Modules without arguments.
        elim_no_input: bool,
    },
}

/// Pushes module bindings down a circuit (see the module docs).
#[derive(Clone)]
pub struct ModulePusher {
    /// One Module with every pending argument (else one per level, nested).
    pub flatten_modules: bool,
    /// Applied to each constructed Module.
    pub callback: ModuleCallback,
    /// Replace pending-bound Symbols met by the traversal (else an error).
    pub bind_encountered_symbols: bool,
    /// Names rebuilt nodes.
    pub namer: ModuleNamer,
}

impl Default for ModulePusher {
    fn default() -> ModulePusher {
        ModulePusher {
            flatten_modules: true,
            callback: ModuleCallback::RemoveUnused { elim_no_input: true },
            bind_encountered_symbols: true,
            namer: default_nested_module_namer("bind"),
        }
    }
}

impl std::fmt::Debug for ModulePusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModulePusher")
            .field("flatten_modules", &self.flatten_modules)
            .field("callback", &self.callback)
            .field("bind_encountered_symbols", &self.bind_encountered_symbols)
            .finish_non_exhaustive()
    }
}

/// One dissolved module: its node, own batch, and bindings (inputs already pushed).
struct Level {
    id: usize,
    module: Circuit,
    own_batch: Shape,
    /// The full batch `B_0 … B_j` up to this level.
    full_batch: Shape,
    /// `(arg spec, pushed input, rank of the original input)`.
    args: Vec<(ModuleArgSpec, Circuit, usize)>,
}

type Stack = Vec<Arc<Level>>;

struct Run<'a> {
    pusher: &'a ModulePusher,
    skip: Option<Matcher>,
    memo: NodeMap<(NodeHash, [u8; 32], usize), Circuit>,
    has_module: NodeMap<NodeHash, bool>,
    next_id: usize,
}

impl ModulePusher {
    /// Pushes modules down along `traversal`; modules matching `skip_module` are left
    /// alone (wrapped whole where they stand).
    ///
    /// # Errors
    /// Matcher errors, [`RewriteError::Unsupported`] for a bound Symbol met with
    /// `bind_encountered_symbols` off, construction errors.
    pub fn push_down_modules(
        &self,
        circuit: &Circuit,
        traversal: impl Into<IterativeMatcher>,
        skip_module: Option<Matcher>,
    ) -> Result<Circuit> {
        let traversal = traversal.into();
        crate::utils::with_deep_stack(RULE, circuit, move || {
            let mut run = Run::new(self, skip_module);
            run.process(circuit, Some(&traversal), &Vec::new())
        })
    }

    /// The nodes `get` finds, each wrapped with (and fully substituted through) the
    /// modules binding it.
    ///
    /// # Errors
    /// See [`ModulePusher::push_down_modules`].
    pub fn get_push_down_modules(
        &self,
        circuit: &Circuit,
        get: impl Into<IterativeMatcher>,
        skip_module: Option<Matcher>,
    ) -> Result<BTreeSet<Circuit>> {
        let mut run = Run::new(self, skip_module);
        let mut out = BTreeSet::new();
        let mut seen: NodeMap<(NodeHash, [u8; 32], usize), ()> = NodeMap::default();
        let mut work: Vec<(Circuit, IterativeMatcher, Stack)> =
            vec![(circuit.clone(), get.into(), Vec::new())];
        while let Some((node, m, stack)) = work.pop() {
            let key = (node.hash(), m.hash_bytes(), stack.last().map_or(0, |l| l.id));
            if seen.insert(key, ()).is_some() {
                continue;
            }
            let r = m.match_iterate(&node).map_err(RewriteError::matching(RULE, &node))?;
            if r.found {
                let wrapped = run.wrap(&node, &stack)?;
                out.insert(crate::module::substitute_all_modules(&wrapped)?);
            }
            let per = r.updated.per_child(&m, node.children().len());
            if let (Op::Module(mm), false) = (node.op(), run.skipped(&node)?) {
                if let Some(spec_m) = &per[0] {
                    let all = circuit_match::new_traversal(None, None, Matcher::never());
                    let level = run.level(&node, mm, &stack, Some(&all))?;
                    let mut inner = stack.clone();
                    inner.push(level);
                    work.push((node.children()[0].clone(), spec_m.clone(), inner));
                }
                for (c, pm) in node.children()[1..].iter().zip(&per[1..]) {
                    if let Some(pm) = pm {
                        work.push((c.clone(), pm.clone(), stack.clone()));
                    }
                }
                continue;
            }
            for (c, pm) in node.children().iter().zip(per) {
                if let Some(pm) = pm {
                    work.push((c.clone(), pm, stack.clone()));
                }
            }
        }
        Ok(out)
    }
}

/// `ModulePusher::default().push_down_modules(circuit, traversal, skip_module)`.
///
/// # Errors
/// See [`ModulePusher::push_down_modules`].
pub fn push_down_modules(
    circuit: &Circuit,
    traversal: impl Into<IterativeMatcher>,
    skip_module: Option<Matcher>,
) -> Result<Circuit> {
    ModulePusher::default().push_down_modules(circuit, traversal, skip_module)
}

/// `ModulePusher::default().get_push_down_modules(...)`.
///
/// # Errors
/// See [`ModulePusher::push_down_modules`].
pub fn get_push_down_modules(
    circuit: &Circuit,
    get: impl Into<IterativeMatcher>,
    skip_module: Option<Matcher>,
) -> Result<BTreeSet<Circuit>> {
    ModulePusher::default().get_push_down_modules(circuit, get, skip_module)
}

fn err(node: &Circuit) -> impl FnOnce(circuit_ir::IrError) -> RewriteError {
    RewriteError::construct(RULE, node)
}

impl<'a> Run<'a> {
    fn new(pusher: &'a ModulePusher, skip: Option<Matcher>) -> Run<'a> {
        Run { pusher, skip, memo: NodeMap::default(), has_module: NodeMap::default(), next_id: 1 }
    }

    fn skipped(&self, node: &Circuit) -> Result<bool> {
        match &self.skip {
            Some(m) => m.call(node).map_err(RewriteError::matching(RULE, node)),
            None => Ok(false),
        }
    }

    fn contains_module(&mut self, node: &Circuit) -> bool {
        if let Some(&b) = self.has_module.get(&node.hash()) {
            return b;
        }
        for n in node.toposort() {
            if self.has_module.contains_key(&n.hash()) {
                continue;
            }
            let b = n.kind() == Kind::Module
                || n.children().iter().any(|c| self.has_module.get(&c.hash()) == Some(&true));
            self.has_module.insert(n.hash(), b);
        }
        self.has_module.get(&node.hash()).copied().unwrap_or(true)
    }

    /// The innermost binding of `sym` on the stack, with its level index. Within one
    /// module a symbol bound twice takes its last argument, as substitution does.
    fn binding(stack: &Stack, sym: &Circuit) -> Option<(usize, Circuit, usize)> {
        stack.iter().enumerate().rev().find_map(|(j, l)| {
            l.args
                .iter()
                .rev()
                .find(|(a, _, _)| &a.symbol == sym)
                .map(|(_, i, r)| (j, i.clone(), *r))
        })
    }

    /// The levels (inner to outer) binding a symbol free in `node`.
    fn relevant(stack: &Stack, node: &Circuit) -> Vec<Circuit> {
        let free = node.free_symbols();
        stack
            .iter()
            .rev()
            .filter(|l| l.args.iter().any(|(a, _, _)| free.contains(&a.symbol)))
            .map(|l| l.module.clone())
            .collect()
    }

    fn depends(stack: &Stack, node: &Circuit) -> bool {
        let free = node.free_symbols();
        !free.is_empty()
            && stack.iter().any(|l| l.args.iter().any(|(a, _, _)| free.contains(&a.symbol)))
    }

    fn process(
        &mut self,
        node: &Circuit,
        m: Option<&IterativeMatcher>,
        stack: &Stack,
    ) -> Result<Circuit> {
        let key = (
            node.hash(),
            m.map_or([0; 32], IterativeMatcher::hash_bytes),
            stack.last().map_or(0, |l| l.id),
        );
        if let Some(done) = self.memo.get(&key) {
            return Ok(done.clone());
        }
        let out = self.process_uncached(node, m, stack)?;
        self.memo.insert(key, out.clone());
        Ok(out)
    }

    fn process_uncached(
        &mut self,
        node: &Circuit,
        m: Option<&IterativeMatcher>,
        stack: &Stack,
    ) -> Result<Circuit> {
        let Some(m) = m else { return self.wrap(node, stack) };
        let r = m.match_iterate(node).map_err(RewriteError::matching(RULE, node))?;
        if matches!(r.updated, Updated::Finished) {
            return self.wrap(node, stack);
        }
        let per = r.updated.per_child(m, node.children().len());
        if let Op::Module(mm) = node.op() {
            if self.skipped(node)? {
                return self.wrap(node, stack);
            }
            return self.dissolve(node, mm, &per, stack);
        }
        if node.kind() == Kind::Symbol {
            return match Self::binding(stack, node) {
                None => Ok(node.clone()),
                Some(_) if !self.pusher.bind_encountered_symbols => Err(RewriteError::unsupported(
                    RULE,
                    node,
                    "reached a pending-bound Symbol with bind_encountered_symbols off",
                )),
                Some((j, input, orig)) => self.to_full_batch(&input, orig, node.rank(), j, stack),
            };
        }
        if !Self::depends(stack, node) && !self.contains_module(node) {
            return Ok(node.clone());
        }
        let mut kids = Vec::with_capacity(node.children().len());
        for (c, pm) in node.children().iter().zip(&per) {
            kids.push(self.process(c, pm.as_ref(), stack)?);
        }
        let rebuilt = expand_node(node, kids, &SizeMap::default()).map_err(err(node))?;
        if rebuilt == *node {
            return Ok(rebuilt);
        }
        let name = (self.pusher.namer)(node, &rebuilt, &Self::relevant(stack, node));
        rebuilt.rebuild_with_name(name.map(Name::from)).map_err(err(node))
    }

    /// A new pending level for `node`, its inputs pushed with `m_args` (or left as they
    /// are when `None`).
    fn level(
        &mut self,
        node: &Circuit,
        mm: &Module,
        stack: &Stack,
        m_args: Option<&IterativeMatcher>,
    ) -> Result<Arc<Level>> {
        let per: Vec<Option<IterativeMatcher>> = vec![m_args.cloned(); mm.arg_specs.len()];
        self.level_with(node, mm, stack, &per)
    }

    fn level_with(
        &mut self,
        node: &Circuit,
        mm: &Module,
        stack: &Stack,
        per_args: &[Option<IterativeMatcher>],
    ) -> Result<Arc<Level>> {
        let mut args = Vec::with_capacity(mm.arg_specs.len());
        for ((a, input), pm) in mm.arg_specs.iter().zip(&node.children()[1..]).zip(per_args) {
            let pushed = match pm {
                Some(pm) => self.process(input, Some(pm), stack)?,
                None => self.wrap(input, stack)?,
            };
            args.push((a.clone(), pushed, input.rank()));
        }
        let own_rank = node.rank().saturating_sub(node.children()[0].rank());
        let own_batch: Shape = node.shape()[..own_rank].iter().copied().collect();
        let mut full_batch: Shape = stack.last().map(|l| l.full_batch.clone()).unwrap_or_default();
        full_batch.extend(own_batch.iter().copied());
        let id = self.next_id;
        self.next_id += 1;
        Ok(Arc::new(Level { id, module: node.clone(), own_batch, full_batch, args }))
    }

    fn dissolve(
        &mut self,
        node: &Circuit,
        mm: &Module,
        per: &[Option<IterativeMatcher>],
        stack: &Stack,
    ) -> Result<Circuit> {
        let level = self.level_with(node, mm, stack, &per[1..])?;
        let own = level.own_batch.clone();
        let mut inner = stack.clone();
        inner.push(level);
        let spec = &node.children()[0];
        let body = self.process(spec, per[0].as_ref(), &inner)?;
        // Unbatched (independent of every binding): add the module's own batch dims.
        let body = if body.rank() == spec.rank() && !own.is_empty() {
            repeat_front(&body, &own, "rep_batch").map_err(err(node))?
        } else {
            body
        };
        // Symbols and Arrays are never renamed (their names are part of their identity).
        let irreducible = matches!(body.kind(), Kind::Symbol | Kind::Array);
        if body != *spec && !spec.kind().is_leaf() && !irreducible && node.name().is_some() {
            return body.rename(node.name()).map_err(err(node));
        }
        Ok(body)
    }

    /// `input` (pushed at level `j`, of own rank `sym_rank` + its own batch) brought to
    /// the full batch of the top of `stack`.
    fn to_full_batch(
        &self,
        input: &Circuit,
        orig_rank: usize,
        sym_rank: usize,
        j: usize,
        stack: &Stack,
    ) -> Result<Circuit> {
        let Some(top) = stack.last() else { return Ok(input.clone()) };
        let outer: Shape = if j == 0 { Shape::new() } else { stack[j - 1].full_batch.clone() };
        let own = &stack[j].own_batch;
        let target: Shape = top.full_batch.clone();
        // The pushed input is either unbatched w.r.t. outer levels or carries the whole
        // outer batch first.
        let has_outer = input.rank() > orig_rank;
        let own_len = orig_rank.saturating_sub(sym_rank);
        if own_len > own.len() {
            return Err(RewriteError::unsupported(
                RULE,
                input,
                "input batch does not fit the module's batch",
            ));
        }
        let mut placement: Vec<Option<usize>> = Vec::with_capacity(target.len() + sym_rank);
        let mut next_in = 0;
        for t in 0..target.len() {
            let from_input = if t < outer.len() {
                has_outer
            } else if t < outer.len() + own.len() {
                t >= outer.len() + own.len() - own_len
            } else {
                false
            };
            if from_input {
                placement.push(Some(next_in));
                next_in += 1;
            } else {
                placement.push(None);
            }
        }
        for _ in 0..sym_rank {
            placement.push(Some(next_in));
            next_in += 1;
        }
        if placement.iter().all(Option::is_some) {
            return Ok(input.clone());
        }
        let mut out_shape: Shape = target.clone();
        out_shape.extend(input.shape()[input.rank() - sym_rank..].iter().copied());
        rep_fuse(input, &out_shape, &placement)
    }

    /// Wraps `node` in Module(s) binding the pending arguments it uses.
    fn wrap(&mut self, node: &Circuit, stack: &Stack) -> Result<Circuit> {
        if stack.is_empty() || !Self::depends(stack, node) {
            return Ok(node.clone());
        }
        let mut args: Vec<(ModuleArgSpec, Circuit, usize, usize)> = Vec::new();
        for (j, l) in stack.iter().enumerate().rev() {
            for (a, input, orig) in &l.args {
                if !args.iter().any(|(b, _, _, _)| b.symbol == a.symbol) {
                    args.push((a.clone(), input.clone(), j, *orig));
                }
            }
        }
        let keep_unused = matches!(self.pusher.callback, ModuleCallback::Noop);
        let free = node.free_symbols().into_owned();
        if !keep_unused {
            args.retain(|(a, _, _, _)| free.contains(&a.symbol));
        }
        let name = (self.pusher.namer)(node, node, &Self::relevant(stack, node));
        if self.pusher.flatten_modules {
            let mut bound = Vec::with_capacity(args.len());
            for (a, input, j, orig) in &args {
                let full = self.to_full_batch(input, *orig, a.symbol.rank(), *j, stack)?;
                bound.push((ModuleArgSpec { batchable: true, ..a.clone() }, full));
            }
            return Circuit::module(node.clone(), bound, name.as_deref()).map_err(err(node));
        }
        // One module per level, innermost first; inputs are brought to the full batch of
        // their own level, and outer levels add their batch in front.
        let mut out = node.clone();
        for (j, l) in stack.iter().enumerate().rev() {
            let mut bound = Vec::new();
            for (a, input, k, orig) in &args {
                if *k == j {
                    let sub: Stack = stack[..=j].to_vec();
                    let full = self.to_full_batch(input, *orig, a.symbol.rank(), j, &sub)?;
                    let own_only = strip_front(
                        &full,
                        j.checked_sub(1).map_or(0, |p| stack[p].full_batch.len()),
                    )?;
                    bound.push((ModuleArgSpec { batchable: true, ..a.clone() }, own_only));
                }
            }
            if bound.is_empty() {
                continue;
            }
            let lname = (self.pusher.namer)(node, &out, std::slice::from_ref(&l.module));
            out = Circuit::module(out, bound, lname.as_deref()).map_err(err(node))?;
        }
        Ok(out)
    }
}

/// Drops nothing but checks the leading `n` dims are present (nested mode keeps inputs
/// with their outer batch only when the outer module adds it; inputs here carry it,
/// so nested mode needs them unbatched w.r.t. outer levels).
fn strip_front(c: &Circuit, n: usize) -> Result<Circuit> {
    if n == 0 {
        return Ok(c.clone());
    }
    Err(RewriteError::unsupported(
        RULE,
        c,
        "flatten_modules=false cannot rebind an input that depends on an outer module; use flatten_modules=true",
    ))
}

/// A repeat Rearrange placing `input`'s dims per `placement` (`None`: a new dim of the
/// size in `out_shape`), named `X rep_fuse`.
fn rep_fuse(input: &Circuit, out_shape: &[usize], placement: &[Option<usize>]) -> Result<Circuit> {
    let r = input.rank();
    let g =
        |i: usize| -> Result<SmallVec<[u8; 4]>> { crate::rules::util::g1(i).map_err(err(input)) };
    let in_groups: Vec<SmallVec<[u8; 4]>> = (0..r).map(g).collect::<Result<_>>()?;
    let mut sizes: Vec<Option<usize>> = input.shape().iter().map(|&s| Some(s)).collect();
    let mut out_groups = Vec::with_capacity(placement.len());
    for (t, p) in placement.iter().enumerate() {
        match p {
            Some(i) => out_groups.push(g(*i)?),
            None => {
                out_groups.push(g(sizes.len())?);
                sizes.push(Some(out_shape[t]));
            }
        }
    }
    let spec = RearrangeSpec::new(in_groups, out_groups, sizes).map_err(err(input))?;
    let name = input.name().map(|n| Name::from(format!("{n} rep_fuse")));
    Circuit::build(Op::Rearrange(Rearrange { spec }), vec![input.clone()], name, false)
        .map_err(err(input))
}
