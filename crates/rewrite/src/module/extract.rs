//! Building modules: `module_new_bind` (bind Symbols found by matchers),
//! `extract_rewrite` (turn found sub-circuits into arguments) and `extract_symbols`
//! (pull the bindings of given symbols out of inner modules into one outer module).

use circuit_ir::kinds::{Module, ModuleArgSpec};
use circuit_ir::{Circuit, Kind, Name, NodeHash, NodeSet, Op};
use circuit_match::{get, get_unique, IterativeMatcher};

use crate::utils::{derived_uuid, map_top_down, Pre};
use crate::{Result, RewriteError};

/// One binding of [`module_new_bind`]: the matcher must find exactly one Symbol in the
/// spec circuit, which is bound to `input` with these flags.
#[derive(Clone, Debug)]
pub struct Binder {
    /// Finds the Symbol to bind.
    pub matcher: IterativeMatcher,
    /// The bound input.
    pub input: Circuit,
    /// The input may carry extra leading dims.
    pub batchable: bool,
    /// Non-batch dims may differ.
    pub expandable: bool,
    /// Differing dims only where the Symbol's size is symbolic.
    pub ban_non_symbolic_size_expand: bool,
}

impl Binder {
    /// A binder with default flags (all on).
    pub fn new(matcher: impl Into<IterativeMatcher>, input: Circuit) -> Binder {
        Binder {
            matcher: matcher.into(),
            input,
            batchable: true,
            expandable: true,
            ban_non_symbolic_size_expand: true,
        }
    }
}

/// Builds a Module over `spec` binding, for each binder, the unique Symbol its matcher
/// finds to the binder's input. Every argument must be used; with
/// `check_unique_arg_names`, argument names must be distinct.
///
/// # Errors
/// [`RewriteError::Match`] when a matcher does not find exactly one node,
/// [`RewriteError::InvalidArgument`] when it finds a non-Symbol, a name repeats or an
/// argument is unused; construction errors.
pub fn module_new_bind(
    spec: &Circuit,
    binders: &[Binder],
    check_unique_arg_names: bool,
    name: Option<&str>,
) -> Result<Circuit> {
    const RULE: &str = "module_new_bind";
    let mut args = Vec::with_capacity(binders.len());
    for b in binders {
        let sym =
            get_unique(spec, b.matcher.clone()).map_err(RewriteError::matching(RULE, spec))?;
        if sym.kind() != Kind::Symbol {
            return Err(RewriteError::InvalidArgument {
                rule: RULE,
                msg: format!(
                    "matcher {} found {}, a {}, expected a Symbol",
                    b.matcher,
                    sym.node_ref(),
                    sym.kind().name()
                ),
            });
        }
        let spec_arg = ModuleArgSpec::with_flags(
            sym,
            b.batchable,
            b.expandable,
            b.ban_non_symbolic_size_expand,
        )
        .map_err(RewriteError::construct(RULE, spec))?;
        args.push((spec_arg, b.input.clone()));
    }
    check_args(
        RULE,
        spec,
        &args.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>(),
        true,
        check_unique_arg_names,
    )?;
    Circuit::module(spec.clone(), args, name).map_err(RewriteError::construct(RULE, spec))
}

fn check_args(
    rule: &'static str,
    spec: &Circuit,
    args: &[ModuleArgSpec],
    all_used: bool,
    unique_names: bool,
) -> Result<()> {
    if all_used {
        let unused = circuit_ir::unused_arguments(spec, args);
        if let Some(u) = unused.first() {
            return Err(RewriteError::InvalidArgument {
                rule,
                msg: format!(
                    "argument {} is not used by the spec circuit {}",
                    u.node_ref(),
                    spec.node_ref()
                ),
            });
        }
    }
    if unique_names {
        for (i, a) in args.iter().enumerate() {
            if a.symbol.name().is_none()
                || args[..i].iter().any(|b| b.symbol.name() == a.symbol.name())
            {
                return Err(RewriteError::InvalidArgument {
                    rule,
                    msg: format!(
                        "argument names must be unique and present: {}",
                        a.symbol.node_ref()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Options of [`extract_rewrite`].
#[derive(Clone, Debug, Default)]
pub struct ExtractOptions {
    /// Stripped from the front of each argument Symbol's name.
    pub prefix_to_strip: Option<String>,
    /// The Module's name (default: autonamed, `spec(arg, ...)`).
    pub module_name: Option<String>,
    /// Every argument must be used (always true for found nodes; kept for parity).
    pub check_all_inputs_used: bool,
    /// Argument names must be distinct.
    pub check_unique_arg_names: bool,
}

/// The inverse of substitution: every node `matcher` finds becomes an argument Symbol
/// (same name minus `prefix_to_strip`, same shape, a uuid derived from the node's hash;
/// flags `ttf`), the rest of the circuit becomes the spec, and a Module binds the found
/// nodes back. Arguments are sorted by name. Found nodes below other found nodes stay in
/// their ancestors' inputs.
///
/// # Errors
/// Matcher errors, [`RewriteError::InvalidArgument`] for argument-name checks,
/// construction errors.
pub fn extract_rewrite(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
    options: &ExtractOptions,
) -> Result<Circuit> {
    const RULE: &str = "extract_rewrite";
    let found = get(circuit, matcher).map_err(RewriteError::matching(RULE, circuit))?;
    let found_set: NodeSet<NodeHash> = found.iter().map(Circuit::hash).collect();
    let mut args: Vec<(ModuleArgSpec, Circuit)> = Vec::new();
    let spec = map_top_down(circuit, RULE, |node| {
        if !found_set.contains(&node.hash()) {
            return Ok(Pre::Continue(node.clone()));
        }
        if let Some((a, _)) = args.iter().find(|(_, n)| n == node) {
            return Ok(Pre::Stop(a.symbol.clone()));
        }
        let name = node.name().map(|n| {
            let stripped =
                options.prefix_to_strip.as_deref().and_then(|p| n.strip_prefix(p)).unwrap_or(n);
            Name::from(stripped)
        });
        let uuid = derived_uuid(&[b"extract", &node.hash().0]);
        let sym = Circuit::symbol(node.shape(), uuid, name.as_deref())
            .map_err(RewriteError::construct(RULE, node))?;
        let a = ModuleArgSpec::with_flags(sym.clone(), true, true, false)
            .map_err(RewriteError::construct(RULE, node))?;
        args.push((a, node.clone()));
        Ok(Pre::Stop(sym))
    })?;
    args.sort_by(|(a, _), (b, _)| {
        (a.symbol.name(), a.symbol.hash()).cmp(&(b.symbol.name(), b.symbol.hash()))
    });
    let specs: Vec<ModuleArgSpec> = args.iter().map(|(a, _)| a.clone()).collect();
    check_args(RULE, &spec, &specs, options.check_all_inputs_used, options.check_unique_arg_names)?;
    Circuit::module(spec, args, options.module_name.as_deref())
        .map_err(RewriteError::construct(RULE, circuit))
}

/// Pulls the bindings of `symbols` out of the Modules inside `circuit` into one new outer
/// Module (named like `circuit`): those Modules lose the arguments (and are renamed
/// `X extracted`), and the outer Module binds each symbol to the one input it was bound
/// to everywhere. Modules left without arguments are replaced by their spec circuits.
///
/// # Errors
/// [`RewriteError::Unsupported`] when a symbol is bound to different inputs or with
/// different flags, bound to a batched input, or its input depends on symbols bound by
/// the modules being rewritten; construction errors.
pub fn extract_symbols(circuit: &Circuit, symbols: &[Circuit]) -> Result<Circuit> {
    const RULE: &str = "extract_symbols";
    let wanted: NodeSet<NodeHash> = symbols.iter().map(Circuit::hash).collect();
    let mut bound = collect_bindings(circuit, &wanted)?;
    let spec = crate::utils::map_bottom_up(circuit, RULE, |_, node| {
        let Op::Module(m) = node.op() else { return Ok(node.clone()) };
        if !m.arg_specs.iter().any(|a| wanted.contains(&a.symbol.hash())) {
            return Ok(node.clone());
        }
        let mut specs = Vec::new();
        let mut kids = vec![node.children()[0].clone()];
        for (a, input) in m.arg_specs.iter().zip(&node.children()[1..]) {
            if !wanted.contains(&a.symbol.hash()) {
                specs.push(a.clone());
                kids.push(input.clone());
            }
        }
        if specs.is_empty() {
            return Ok(node.children()[0].clone());
        }
        let name = node.name().map(|n| Name::from(format!("{n} extracted")));
        Circuit::build(
            Op::Module(Module { arg_specs: specs }),
            kids,
            name,
            node.autoname_disabled_here(),
        )
        .map_err(RewriteError::construct(RULE, node))
    })?;
    bound.sort_by(|(a, _), (b, _)| {
        (a.symbol.name(), a.symbol.hash()).cmp(&(b.symbol.name(), b.symbol.hash()))
    });
    Circuit::module(spec, bound, circuit.name()).map_err(RewriteError::construct(RULE, circuit))
}

/// The one input each wanted symbol is bound to, checked for consistency.
fn collect_bindings(
    circuit: &Circuit,
    wanted: &NodeSet<NodeHash>,
) -> Result<Vec<(ModuleArgSpec, Circuit)>> {
    const RULE: &str = "extract_symbols";
    let mut bound: Vec<(ModuleArgSpec, Circuit)> = Vec::new();
    let mut inner_bound: NodeSet<NodeHash> = NodeSet::default();
    for node in circuit.toposort() {
        let Op::Module(m) = node.op() else { continue };
        for (a, input) in m.arg_specs.iter().zip(&node.children()[1..]) {
            if !wanted.contains(&a.symbol.hash()) {
                inner_bound.insert(a.symbol.hash());
                continue;
            }
            if input.rank() != a.symbol.rank() {
                return Err(RewriteError::unsupported(
                    RULE,
                    &node,
                    format!(
                        "{} is bound to a batched input {}",
                        a.symbol.node_ref(),
                        input.node_ref()
                    ),
                ));
            }
            match bound.iter().find(|(b, _)| b.symbol == a.symbol) {
                Some((b, i)) if i != input || b != a => {
                    return Err(RewriteError::unsupported(
                        RULE,
                        &node,
                        format!(
                            "{} is bound inconsistently ({} and {})",
                            a.symbol.node_ref(),
                            i.node_ref(),
                            input.node_ref()
                        ),
                    ));
                }
                Some(_) => {}
                None => bound.push((a.clone(), input.clone())),
            }
        }
    }
    for (a, input) in &bound {
        if input.free_symbols().iter().any(|s| inner_bound.contains(&s.hash())) {
            return Err(RewriteError::unsupported(
                RULE,
                input,
                format!(
                    "the input of {} uses symbols bound by an enclosing module",
                    a.symbol.node_ref()
                ),
            ));
        }
    }
    Ok(bound)
}

/// [`extract_symbols`] for the symbols `matcher` finds (all must be Symbols).
///
/// # Errors
/// [`RewriteError::InvalidArgument`] when it finds a non-Symbol; see [`extract_symbols`].
pub fn extract_symbols_get(
    circuit: &Circuit,
    matcher: impl Into<IterativeMatcher>,
) -> Result<Circuit> {
    let found =
        get(circuit, matcher).map_err(RewriteError::matching("extract_symbols_get", circuit))?;
    if let Some(bad) = found.iter().find(|c| c.kind() != Kind::Symbol) {
        return Err(RewriteError::InvalidArgument {
            rule: "extract_symbols_get",
            msg: format!(
                "the matcher found {}, a {}, not a Symbol",
                bad.node_ref(),
                bad.kind().name()
            ),
        });
    }
    let symbols: Vec<Circuit> = found.into_iter().collect();
    extract_symbols(circuit, &symbols)
}
