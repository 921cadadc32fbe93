//! Substituting modules (beta reduction) with renaming of the replaced path, and the
//! whole-circuit module passes built on it: `substitute_all_modules`,
//! `conform_all_modules`, `inline_single_callsite_modules`, and unused-input removal.

use circuit_ir::expand::repeat_front;
use circuit_ir::kinds::{Module, ModuleArgSpec};
use circuit_ir::{Circuit, Kind, Name, NodeHash, NodeMap, NodeSet, Op};

use crate::utils::{map_bottom_up, map_top_down, Pre};
use crate::{Result, RewriteError};

/// Naming options of [`substitute`]: nodes on the *replaced path* (named, not Symbols,
/// with a substituted symbol free below them) get `prefix + name + suffix`.
#[derive(Clone, Debug, Default)]
pub struct SubstituteNames {
    /// Prepended to names on the replaced path.
    pub prefix: Option<String>,
    /// Appended to names on the replaced path.
    pub suffix: Option<String>,
    /// Use `"<module name>."` as the prefix (an error together with `prefix`).
    pub use_self_name_as_prefix: bool,
}

/// Beta-reduces one Module: its spec circuit with every argument Symbol replaced by the
/// bound input (batched and expanded as needed). Nodes on the replaced path are renamed
/// per `names`; the result takes the module's name when it differs from the spec circuit
/// and the spec circuit is not a leaf (rust_circuit's rule).
///
/// # Errors
/// [`RewriteError::ExpectedKind`] for a non-Module, [`RewriteError::InvalidArgument`]
/// for both a prefix and `use_self_name_as_prefix`, and substitution errors.
pub fn substitute(module: &Circuit, names: &SubstituteNames) -> Result<Circuit> {
    const RULE: &str = "substitute";
    RewriteError::expect_kind(RULE, module, Kind::Module)?;
    let prefix = match (&names.prefix, names.use_self_name_as_prefix) {
        (Some(_), true) => {
            return Err(RewriteError::InvalidArgument {
                rule: RULE,
                msg: "name_prefix and use_self_name_as_prefix are exclusive".into(),
            })
        }
        (p, false) => p.clone(),
        (None, true) => module.name().map(|n| format!("{n}.")),
    };
    if prefix.is_none() && names.suffix.is_none() {
        return module.substitute().map_err(RewriteError::construct(RULE, module));
    }
    let Op::Module(m) = module.op() else { return Ok(module.clone()) };
    let bound: Vec<Circuit> = m.arg_specs.iter().map(|a| a.symbol.clone()).collect();
    let spec = &module.children()[0];
    let renamed = rename_on_replaced_path(spec, &bound, |n| {
        format!("{}{n}{}", prefix.as_deref().unwrap_or(""), names.suffix.as_deref().unwrap_or(""))
    })?;
    let mut children = vec![renamed.clone()];
    children.extend(module.children()[1..].iter().cloned());
    let rebuilt = Circuit::build(
        module.op().clone(),
        children,
        module.name_arc().cloned(),
        module.autoname_disabled_here(),
    )
    .map_err(RewriteError::construct(RULE, module))?;
    let body = rebuilt.substituted().cloned().unwrap_or_else(|| renamed.clone());
    let irreducible = matches!(body.kind(), Kind::Symbol | Kind::Array);
    if body != renamed && !spec.kind().is_leaf() && !irreducible && module.name().is_some() {
        return body.rename(module.name()).map_err(RewriteError::construct(RULE, module));
    }
    Ok(body)
}

/// Renames (with `f`) every named non-Symbol node of `spec` below which one of `bound`
/// is free; nested Modules that rebind a symbol shadow it in their spec circuit.
///
/// # Errors
/// Rebuild errors.
pub fn rename_on_replaced_path(
    spec: &Circuit,
    bound: &[Circuit],
    f: impl Fn(&str) -> String,
) -> Result<Circuit> {
    rename_scoped(spec, bound, &f)
}

fn rename_scoped(spec: &Circuit, bound: &[Circuit], f: &dyn Fn(&str) -> String) -> Result<Circuit> {
    let set: NodeSet<NodeHash> = bound.iter().map(Circuit::hash).collect();
    map_top_down(spec, "substitute", |node| {
        let touches = node.free_symbols().iter().any(|s| set.contains(&s.hash()));
        if !touches || node.kind() == Kind::Symbol {
            return Ok(Pre::Stop(node.clone()));
        }
        let renamed = match node.name() {
            Some(n) => {
                node.rename(Some(&f(n))).map_err(RewriteError::construct("substitute", node))?
            }
            None => node.clone(),
        };
        if let Op::Module(m) = node.op() {
            // The spec circuit is its own scope: drop the symbols it rebinds.
            let inner: Vec<Circuit> = bound
                .iter()
                .filter(|b| !m.arg_specs.iter().any(|a| &a.symbol == *b))
                .cloned()
                .collect();
            let spec = rename_scoped(&node.children()[0], &inner, f)?;
            let mut kids = vec![spec];
            kids.extend(node.children()[1..].iter().cloned());
            let rebuilt = Circuit::build(
                node.op().clone(),
                kids,
                renamed.name_arc().cloned(),
                node.autoname_disabled_here(),
            )
            .map_err(RewriteError::construct("substitute", node))?;
            // The args are in this scope.
            let args: Vec<Circuit> = rebuilt.children()[1..]
                .iter()
                .map(|a| rename_scoped(a, bound, f))
                .collect::<Result<_>>()?;
            let mut kids = vec![rebuilt.children()[0].clone()];
            kids.extend(args);
            let out =
                rebuilt.with_children(kids).map_err(RewriteError::construct("substitute", node))?;
            return Ok(Pre::Stop(out));
        }
        Ok(Pre::Continue(renamed))
    })
}

/// Substitutes every Module, inner first; the result has no Modules.
///
/// # Errors
/// Substitution errors, naming the module.
pub fn substitute_all_modules(circuit: &Circuit) -> Result<Circuit> {
    map_bottom_up(circuit, "substitute_all_modules", |_, node| {
        if node.kind() == Kind::Module {
            node.substitute().map_err(RewriteError::construct("substitute_all_modules", node))
        } else {
            Ok(node.clone())
        }
    })
}

/// Rebinds each Module's argument Symbols at the actual input shapes (batch dims
/// included), so spec circuits carry real sizes: no symbolic sizes and no implicit
/// batching left. Outer modules first (pre-order).
///
/// # Errors
/// Substitution errors.
pub fn conform_all_modules(circuit: &Circuit) -> Result<Circuit> {
    map_top_down(circuit, "conform_all_modules", |node| {
        let Op::Module(m) = node.op() else { return Ok(Pre::Continue(node.clone())) };
        Ok(Pre::Continue(conform_module(node, m)?))
    })
}

fn conform_module(node: &Circuit, m: &Module) -> Result<Circuit> {
    const RULE: &str = "conform_all_modules";
    let inputs = &node.children()[1..];
    if m.arg_specs.iter().zip(inputs).all(|(a, i)| a.symbol.shape() == i.shape()) {
        return Ok(node.clone());
    }
    let mut new_args = Vec::with_capacity(inputs.len());
    let mut rebind = Vec::with_capacity(inputs.len());
    for (a, input) in m.arg_specs.iter().zip(inputs) {
        let Op::Symbol(s) = a.symbol.op() else { return Ok(node.clone()) };
        let sym = Circuit::symbol(input.shape(), s.uuid, a.symbol.name())
            .map_err(RewriteError::construct(RULE, node))?;
        rebind.push((
            ModuleArgSpec {
                symbol: a.symbol.clone(),
                batchable: true,
                expandable: true,
                ban_non_symbolic_size_expand: false,
            },
            sym.clone(),
        ));
        new_args.push((ModuleArgSpec { symbol: sym, ..a.clone() }, input.clone()));
    }
    // The spec over the new symbols: a module binding the old symbols to the new ones.
    let helper = Circuit::module(node.children()[0].clone(), rebind, None)
        .map_err(RewriteError::construct(RULE, node))?;
    let spec = helper.substitute().map_err(RewriteError::construct(RULE, node))?;
    let spec = if spec.name() != node.children()[0].name() {
        spec.rebuild_with_name(node.children()[0].name_arc().cloned())
            .map_err(RewriteError::construct(RULE, node))?
    } else {
        spec
    };
    let (arg_specs, ins): (Vec<_>, Vec<_>) = new_args.into_iter().unzip();
    let mut kids = vec![spec];
    kids.extend(ins);
    Circuit::build(
        Op::Module(Module { arg_specs }),
        kids,
        node.name_arc().cloned(),
        node.autoname_disabled_here(),
    )
    .map_err(RewriteError::construct(RULE, node))
}

/// Substitutes the Modules whose spec circuit is used by exactly one Module node.
///
/// # Errors
/// Substitution errors.
pub fn inline_single_callsite_modules(circuit: &Circuit) -> Result<Circuit> {
    let mut uses: NodeMap<NodeHash, usize> = NodeMap::default();
    for n in circuit.toposort() {
        if n.kind() == Kind::Module {
            *uses.entry(n.children()[0].hash()).or_default() += 1;
        }
    }
    map_bottom_up(circuit, "inline_single_callsite_modules", |orig, node| {
        if orig.kind() == Kind::Module && uses.get(&orig.children()[0].hash()) == Some(&1) {
            node.substitute()
                .map_err(RewriteError::construct("inline_single_callsite_modules", node))
        } else {
            Ok(node.clone())
        }
    })
}

/// Drops arguments whose Symbol is not free in the spec circuit. Batch dims an unused
/// input contributed are re-added with a repeat Rearrange (`X rep_unused`); the module is
/// renamed `X rem_unused` when `add_suffix` is set. A module left without arguments is
/// replaced by its spec circuit when `elim_no_input` is set. `None` when nothing is
/// unused.
///
/// # Errors
/// [`RewriteError::ExpectedKind`] for a non-Module; rebuild errors.
pub fn module_remove_unused_inputs(
    module: &Circuit,
    add_suffix: bool,
    elim_no_input: bool,
) -> Result<Option<Circuit>> {
    const RULE: &str = "module_remove_unused_inputs";
    RewriteError::expect_kind(RULE, module, Kind::Module)?;
    let Op::Module(m) = module.op() else { return Ok(None) };
    let spec = &module.children()[0];
    let unused = circuit_ir::unused_arguments(spec, &m.arg_specs);
    if unused.is_empty() {
        return Ok(None);
    }
    let mut arg_specs = Vec::new();
    let mut kids = vec![spec.clone()];
    for (a, input) in m.arg_specs.iter().zip(&module.children()[1..]) {
        if !unused.contains(&a.symbol) {
            arg_specs.push(a.clone());
            kids.push(input.clone());
        }
    }
    let name: Option<Name> = match module.name() {
        Some(n) if add_suffix => Some(Name::from(format!("{n} rem_unused"))),
        _ => module.name_arc().cloned(),
    };
    let reduced = if arg_specs.is_empty() && elim_no_input {
        spec.clone()
    } else {
        Circuit::build(
            Op::Module(Module { arg_specs }),
            kids,
            name,
            module.autoname_disabled_here(),
        )
        .map_err(RewriteError::construct(RULE, module))?
    };
    let missing = module.rank() - reduced.rank();
    if missing == 0 {
        return Ok(Some(reduced));
    }
    repeat_front(&reduced, &module.shape()[..missing], "rep_unused")
        .map(Some)
        .map_err(RewriteError::construct(RULE, module))
}

/// [`module_remove_unused_inputs`] on every Module (no suffix), and with `elim_empty`
/// also `elim_empty_module` afterwards.
///
/// # Errors
/// Rebuild errors.
pub fn deep_module_remove_unused_inputs(circuit: &Circuit, elim_empty: bool) -> Result<Circuit> {
    map_bottom_up(circuit, "deep_module_remove_unused_inputs", |_, node| {
        if node.kind() != Kind::Module {
            return Ok(node.clone());
        }
        let out = module_remove_unused_inputs(node, false, true)?.unwrap_or_else(|| node.clone());
        if elim_empty && out.kind() == Kind::Module {
            if let Some(e) = crate::rules::elim_empty_module(&out)
                .map_err(RewriteError::construct("elim_empty_module", &out))?
            {
                return Ok(e);
            }
        }
        Ok(out)
    })
}
