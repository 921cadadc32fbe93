//! Module semantics: substitution (beta reduction) of a call site. A Module's shape,
//! flags and named axes are those of its substituted body, so the substitution runs when
//! the Module is constructed and its result is kept on the node.

use crate::NodeMap as HashMap;
use std::sync::Arc;

use crate::derive::Derived;
use crate::expand::{expand_node, repeat_front};
use crate::kinds::{Module, ModuleArgSpec};
use crate::ops::{Kind, Op};
use crate::size::is_symbolic;
use crate::size_map::{module_err, SizeMap};
use crate::{Circuit, Result, Shape};

/// How a Module's inputs line up with its arguments.
struct Binding {
    size_map: SizeMap,
    batch: Shape,
    /// The inputs, with symbolic sizes fixed where another input gave a concrete one.
    inputs: Vec<Circuit>,
}

fn bind(arg_specs: &[ModuleArgSpec], inputs: &[Circuit], node: &str) -> Result<Binding> {
    let mut equations = Vec::new();
    let mut batch_ranks = Vec::with_capacity(inputs.len());
    for (spec, input) in arg_specs.iter().zip(inputs) {
        let sym = spec.symbol.shape();
        let inp = input.shape();
        let Some(n_batch) = inp.len().checked_sub(sym.len()) else {
            return Err(module_err(
                node,
                format!(
                    "input {} has rank {} but symbol {} needs rank {}",
                    input.node_ref(),
                    inp.len(),
                    spec.symbol.node_ref(),
                    sym.len()
                ),
            ));
        };
        if n_batch > 0 && !spec.batchable {
            return Err(module_err(
                node,
                format!(
                    "input {} has batch dims {:?} but argument {} is not batchable",
                    input.node_ref(),
                    &inp[..n_batch],
                    spec.symbol.node_ref()
                ),
            ));
        }
        for (&s, &x) in sym.iter().zip(&inp[n_batch..]) {
            if s != x && is_symbolic(s) {
                equations.push((s, x));
            }
        }
        batch_ranks.push(n_batch);
    }
    let size_map = SizeMap::solve(&equations).map_err(|msg| module_err(node, msg))?;
    let mut fixed_inputs = Vec::with_capacity(inputs.len());
    for ((spec, input), &n_batch) in arg_specs.iter().zip(inputs).zip(&batch_ranks) {
        let expected = size_map.apply_shape(spec.symbol.shape());
        let actual = &input.shape()[n_batch..];
        let mut target: Shape = input.shape()[..n_batch].iter().copied().collect();
        for (&want, &got) in expected.iter().zip(actual) {
            if want == got || is_symbolic(want) {
                target.push(got);
            } else if is_symbolic(got) {
                target.push(want);
            } else if spec.expandable && !spec.ban_non_symbolic_size_expand {
                target.push(got);
            } else {
                return Err(module_err(
                    node,
                    format!(
                        "input {} has shape {} but symbol {} has shape {} (a concrete size may only change with expandable=t and ban_non_symbolic_size_expand=f)",
                        input.node_ref(),
                        crate::size::format_shape(input.shape()),
                        spec.symbol.node_ref(),
                        crate::size::format_shape(spec.symbol.shape())
                    ),
                ));
            }
        }
        fixed_inputs.push(crate::expand::set_shape(input, target)?);
    }
    let batches: Vec<&[usize]> =
        fixed_inputs.iter().zip(&batch_ranks).map(|(c, &b)| &c.shape()[..b]).collect();
    let batch = crate::expand::aligned_batch(&batches, node)?;
    Ok(Binding { size_map, batch, inputs: fixed_inputs })
}

/// Symbols bound by Modules anywhere inside `circuit` (higher-order capture check).
fn symbols_bound_inside(circuit: &Circuit) -> Vec<Circuit> {
    let mut out = Vec::new();
    for node in crate::traversal::toposort(std::slice::from_ref(circuit)) {
        if let Op::Module(m) = node.op() {
            for a in &m.arg_specs {
                if !out.contains(&a.symbol) {
                    out.push(a.symbol.clone());
                }
            }
        }
    }
    out
}

fn same_ident(a: &Circuit, b: &Circuit) -> bool {
    match (a.op(), b.op()) {
        (Op::Symbol(x), Op::Symbol(y)) => x.uuid == y.uuid && a.name() == b.name(),
        _ => false,
    }
}

fn check_bindings(m: &Module, spec: &Circuit, inputs: &[Circuit], node: &str) -> Result<()> {
    // Index the arguments by identity (uuid, name) so the check stays linear.
    let mut by_ident: HashMap<(crate::Uuid, Option<&str>), &Circuit> = HashMap::default();
    for a in &m.arg_specs {
        if let Op::Symbol(sym) = a.symbol.op() {
            by_ident.insert((sym.uuid, a.symbol.name()), &a.symbol);
        }
    }
    let free_syms = spec.free_symbols();
    for free in free_syms.iter() {
        let Op::Symbol(fs) = free.op() else { continue };
        if let Some(&a) = by_ident.get(&(fs.uuid, free.name())) {
            let a = ModuleArgSpec {
                symbol: a.clone(),
                batchable: true,
                expandable: true,
                ban_non_symbolic_size_expand: true,
            };
            if same_ident(free, &a.symbol) && free != &a.symbol {
                return Err(module_err(
                    node,
                    format!(
                        "the body has a symbol {} with the same uuid and name as argument {} but a different shape or named axes",
                        free.node_ref(),
                        a.symbol.node_ref()
                    ),
                ));
            }
        }
    }
    if inputs.iter().any(|i| !i.free_symbols().is_empty()) {
        let captured = symbols_bound_inside(spec);
        for input in inputs {
            for f in input.free_symbols().iter() {
                if captured.contains(f) {
                    return Err(module_err(
                        node,
                        format!(
                            "input {} has free symbol {} which a module inside the body binds",
                            input.node_ref(),
                            f.node_ref()
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Replaces bound symbols in `body` (rebuilding the nodes above them with
/// [`expand_node`]); symbols re-bound by a nested module are not replaced inside it.
struct Substituter<'a> {
    replacements: HashMap<Circuit, Circuit>,
    size_map: &'a SizeMap,
    memo: HashMap<Circuit, Circuit>,
}

impl Substituter<'_> {
    fn run(&mut self, body: &Circuit) -> Result<Circuit> {
        for node in crate::traversal::toposort(std::slice::from_ref(body)) {
            let new = self.rebuild_one(&node)?;
            self.memo.insert(node, new);
        }
        self.memo
            .get(body)
            .cloned()
            .ok_or_else(|| module_err(&body.node_ref(), "internal: body not rebuilt".into()))
    }

    fn rebuild_one(&mut self, node: &Circuit) -> Result<Circuit> {
        if let Some(r) = self.replacements.get(node) {
            return Ok(r.clone());
        }
        if node.children().is_empty()
            && !matches!(node.op(), Op::Scalar(s) if self.size_map.changes(&s.shape))
        {
            return Ok(node.clone());
        }
        if let Op::Module(m) = node.op() {
            return self.rebuild_module(node, m);
        }
        let children: Vec<Circuit> = node
            .children()
            .iter()
            .map(|c| self.memo.get(c).cloned().unwrap_or_else(|| c.clone()))
            .collect();
        expand_node(node, children, self.size_map)
    }

    /// A nested module: its args are rebuilt in this scope, and its spec with the
    /// replacements of this scope except the symbols it rebinds, all at once.
    fn rebuild_module(&mut self, node: &Circuit, m: &Module) -> Result<Circuit> {
        let args: Vec<Circuit> = node.children()[1..]
            .iter()
            .map(|c| self.memo.get(c).cloned().unwrap_or_else(|| c.clone()))
            .collect();
        let shadowed: Vec<&Circuit> = m.arg_specs.iter().map(|a| &a.symbol).collect();
        let spec_replacements: HashMap<Circuit, Circuit> = self
            .replacements
            .iter()
            .filter(|(k, _)| !shadowed.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        crate::expand::expand_module_with(
            node,
            m,
            &node.children()[0],
            args,
            &spec_replacements,
            self.size_map,
        )
    }
}

/// Substitutes a module call: the body with every argument symbol replaced by its input.
pub(crate) fn substitute(m: &Module, children: &[Circuit], node: &str) -> Result<Circuit> {
    let (spec, inputs) = children
        .split_first()
        .ok_or_else(|| module_err(node, "a Module needs its spec circuit as first child".into()))?;
    if inputs.len() != m.arg_specs.len() {
        return Err(module_err(
            node,
            format!("{} argument specs but {} inputs", m.arg_specs.len(), inputs.len()),
        ));
    }
    check_bindings(m, spec, inputs, node)?;
    let binding = bind(&m.arg_specs, inputs, node)?;
    // When a symbol is bound twice, the rightmost binding wins.
    let replacements: HashMap<Circuit, Circuit> = m
        .arg_specs
        .iter()
        .zip(&binding.inputs)
        .map(|(a, i)| (a.symbol.clone(), i.clone()))
        .collect();
    let mut sub =
        Substituter { replacements, size_map: &binding.size_map, memo: HashMap::default() };
    let result = sub.run(spec)?;
    let body_rank = spec.rank();
    let present = result
        .rank()
        .checked_sub(body_rank)
        .ok_or_else(|| module_err(node, "internal: substitution lost dims".into()))?;
    let missing = binding.batch.len().saturating_sub(present);
    if missing > 0 {
        return repeat_front(&result, &binding.batch[..missing], "rep_batch");
    }
    Ok(result)
}

/// Most substituted bodies kept by [`substitute_cached`] (per thread) before it starts over.
const SUBST_CACHE_ENTRIES: usize = 4096;

thread_local! {
    static SUBST_CACHE: std::cell::RefCell<std::collections::HashMap<Vec<u8>, Circuit>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// [`substitute`] memoized by the module's content (arg specs and children hashes; the
/// name only matters for error messages). Building a Module derives its substituted
/// body, and substitution rebuilds the Modules nested in a spec, whose construction
/// substitutes again: without the memo, a rewrite near the leaves of a deeply nested
/// model (GPT-2 split by head) redid the same inner substitutions once per enclosing
/// level, growing faster than the model.
fn substitute_cached(m: &Module, children: &[Circuit], node: &str) -> Result<Circuit> {
    let mut key = Vec::with_capacity(33 * (children.len() + m.arg_specs.len()));
    for c in children {
        key.extend_from_slice(&c.hash().0);
    }
    for a in &m.arg_specs {
        key.extend_from_slice(&a.symbol.hash().0);
        key.push(
            u8::from(a.batchable)
                | u8::from(a.expandable) << 1
                | u8::from(a.ban_non_symbolic_size_expand) << 2,
        );
    }
    if let Some(hit) = SUBST_CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(hit);
    }
    let out = substitute(m, children, node)?;
    SUBST_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= SUBST_CACHE_ENTRIES {
            c.clear();
        }
        c.insert(key, out.clone());
    });
    Ok(out)
}

pub(crate) fn derive_module(m: &Module, children: &[Circuit], node: &str) -> Result<Derived> {
    let substituted = substitute_cached(m, children, node)?;
    let spec = &children[0];
    let bound: crate::NodeSet<crate::NodeHash> =
        m.arg_specs.iter().map(|a| a.symbol.hash()).collect();
    let mut free: Vec<Circuit> =
        spec.free_symbols().iter().filter(|s| !bound.contains(&s.hash())).cloned().collect();
    let mut seen: crate::NodeSet<crate::NodeHash> = free.iter().map(Circuit::hash).collect();
    for input in &children[1..] {
        for s in input.free_symbols().iter() {
            if seen.insert(s.hash()) {
                free.push(s.clone());
            }
        }
    }
    Ok(Derived {
        shape: substituted.shape().clone(),
        dtype: substituted.dtype(),
        flags: substituted.flags(),
        named_axes: substituted.named_axes().clone(),
        free_symbols: Some(Arc::from(free)),
        constraints: substituted.constraints().clone(),
        substituted: Some(substituted),
    })
}

/// Whether every argument symbol is free in the spec circuit (an unused argument is
/// usually a mistake; the parser checks this by default).
pub fn unused_arguments(spec: &Circuit, arg_specs: &[ModuleArgSpec]) -> Vec<Circuit> {
    let free: crate::NodeSet<crate::NodeHash> =
        spec.free_symbols().iter().map(Circuit::hash).collect();
    arg_specs
        .iter()
        .filter(|a| !free.contains(&a.symbol.hash()))
        .map(|a| a.symbol.clone())
        .collect()
}

impl Circuit {
    /// For a Module: the substituted body (beta reduction), renamed to the module's name
    /// when it is a new node (rust_circuit's rule).
    ///
    /// # Errors
    /// [`crate::IrError::Module`] if this is not a Module.
    pub fn substitute(&self) -> Result<Circuit> {
        self.expect_kind(Kind::Module, "substitute")?;
        let body = self.substituted().cloned().ok_or_else(|| {
            module_err(&self.node_ref(), "internal: module without substitution".into())
        })?;
        let spec = &self.children()[0];
        // rust_circuit's rule: the result takes the module's name when it is a new node.
        if &body != spec && !spec.kind().is_leaf() && self.name().is_some() {
            return body.rename(self.name());
        }
        Ok(body)
    }
}

impl Circuit {
    /// Substitutes every Module (inner first), leaving a circuit without Modules.
    ///
    /// # Errors
    /// Substitution errors of any Module.
    pub fn substitute_all_modules(&self) -> Result<Circuit> {
        self.map_bottom_up(|node| {
            if node.kind() == Kind::Module {
                node.substitute()
            } else {
                Ok(node.clone())
            }
        })
    }
}

/// Replaces symbols by (possibly batched) circuits throughout `body`, applying a size
/// map, rebuilding the nodes above with [`expand_node`].
pub(crate) fn substitute_symbols(
    body: &Circuit,
    replacements: HashMap<Circuit, Circuit>,
    size_map: &SizeMap,
) -> Result<Circuit> {
    let mut sub = Substituter { replacements, size_map, memo: HashMap::default() };
    sub.run(body)
}
