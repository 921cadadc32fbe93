//! Module rewrites: substitution with renaming, whole-circuit module passes, building
//! modules from matchers or found sub-circuits, pulling bindings out of modules, and
//! pushing bindings down ([`ModulePusher`]).

mod extract;
mod push;
mod substitute;

pub use extract::{
    extract_rewrite, extract_symbols, extract_symbols_get, module_new_bind, Binder, ExtractOptions,
};
pub use push::{
    default_nested_module_namer, get_push_down_modules, push_down_modules, ModuleCallback,
    ModuleNamer, ModulePusher,
};
pub use substitute::{
    conform_all_modules, deep_module_remove_unused_inputs, inline_single_callsite_modules,
    module_remove_unused_inputs, rename_on_replaced_path, substitute, substitute_all_modules,
    SubstituteNames,
};
