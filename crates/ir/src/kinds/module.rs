//! Module payload: the argument specs of a call site. A Module node's children are the
//! spec circuit (the body, child 0) followed by one input per argument.

use crate::{Circuit, IrError, Kind, Result};

/// How one argument binds: the symbol it replaces and the flags that allow the input to
/// differ from the symbol's shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModuleArgSpec {
    /// The bound Symbol.
    pub symbol: Circuit,
    /// The input may carry extra leading (batch) dims.
    pub batchable: bool,
    /// Non-batch dims may differ from the symbol's.
    pub expandable: bool,
    /// A differing dim is only allowed where the symbol's size is symbolic.
    pub ban_non_symbolic_size_expand: bool,
}

impl ModuleArgSpec {
    /// An arg spec with all flags on (the default).
    ///
    /// # Errors
    /// [`IrError::Module`] if `symbol` is not a Symbol.
    pub fn new(symbol: Circuit) -> Result<ModuleArgSpec> {
        ModuleArgSpec::with_flags(symbol, true, true, true)
    }

    /// An arg spec with explicit flags.
    ///
    /// # Errors
    /// [`IrError::Module`] if `symbol` is not a Symbol.
    pub fn with_flags(
        symbol: Circuit,
        batchable: bool,
        expandable: bool,
        ban_non_symbolic_size_expand: bool,
    ) -> Result<ModuleArgSpec> {
        if symbol.kind() != Kind::Symbol {
            return Err(IrError::Module {
                node: symbol.node_ref(),
                msg: format!("argument must bind a Symbol, got a {}", symbol.kind().name()),
            });
        }
        Ok(ModuleArgSpec { symbol, batchable, expandable, ban_non_symbolic_size_expand })
    }

    /// The three flags as `t`/`f` characters (`ttt` is the default and is not printed).
    pub fn flags_text(&self) -> String {
        [self.batchable, self.expandable, self.ban_non_symbolic_size_expand]
            .iter()
            .map(|&b| if b { 't' } else { 'f' })
            .collect()
    }

    /// Whether all flags are on.
    pub fn all_flags_default(&self) -> bool {
        self.batchable && self.expandable && self.ban_non_symbolic_size_expand
    }
}

/// A Module's payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Module {
    /// One spec per input child (children[1..]).
    pub arg_specs: Vec<ModuleArgSpec>,
}
