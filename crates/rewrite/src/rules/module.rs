//! Module rules: modules that are identities or bind nothing. Fixtures:
//! `fixtures/rewrite/module/`.

use circuit_ir::{Circuit, Op, Result};

/// `module(spec = leaf) == substitute(...)`: a Module whose spec circuit is a single leaf
/// (usually one of its argument Symbols) is replaced by its substitution (the bound
/// input, batched as needed). Fixture: `module/elim-empty.circ`.
///
/// # Errors
/// Substitution errors (none for a Module that was constructed).
pub fn elim_empty_module(node: &Circuit) -> Result<Option<Circuit>> {
    if !matches!(node.op(), Op::Module(_)) || !node.children()[0].kind().is_leaf() {
        return Ok(None);
    }
    Ok(Some(node.substitute()?))
}

/// `module(spec) == spec` for a Module with no arguments: the spec circuit itself
/// (keeping its own name). Fixture: `module/elim-no-input.circ`.
///
/// # Errors
/// Never.
pub fn elim_no_input_module(node: &Circuit) -> Result<Option<Circuit>> {
    match node.op() {
        Op::Module(m) if m.arg_specs.is_empty() => Ok(Some(node.children()[0].clone())),
        _ => Ok(None),
    }
}
