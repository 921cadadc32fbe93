//! Rewrites of circuits: rust_circuit's algebraic rewrite library (§4 of the reference)
//! plus the evaluator's compiler passes.
//!
//! Every rewrite keeps the evaluated value of the circuit (policy in `docs/RULES.md`; the
//! filetests check it on every fixture). Where to start:
//!
//! * [`rules`]: single-node simplification rules (`add_flatten`, `einsum_elim_zero`, ...)
//!   registered in the plain table [`RULES`]; [`RuleSet`] with the presets
//!   [`RuleSet::default_preset`] and [`RuleSet::compiler_default`]; the fixed-point driver
//!   [`simp`] / [`compiler_simp`].
//! * [`pipeline`]: named passes (`simp`, `push-down-index`, `substitute-modules`, every rule
//!   name, ...) as `circ opt -p` runs them.
//! * Modules ([`module`]): [`substitute`], [`substitute_all_modules`],
//!   [`conform_all_modules`], [`inline_single_callsite_modules`], [`module_new_bind`],
//!   [`extract_rewrite`], [`extract_symbols`], module housekeeping and [`ModulePusher`].
//! * [`distribute()`], [`push_down_index()`], [`batch_to_concat`], [`split_to_concat`],
//!   [`replace_expand_bottom_up`], [`deep_canonicalize`], [`deep_normalize`],
//!   [`nest_einsums`], [`nest_adds`], [`einsum_nest_path`], [`strip_names_and_tags`],
//!   [`cast_circuit`].
//! * [`simplify`] with [`COMPILER_PASSES`]: the compiler's cheaper pass list.
//!
//! Errors are [`RewriteError`]s naming the rule and the node ("rule X on node Y") and
//! wrapping the IR or matcher error. Traversals are iterative and memoized by node hash,
//! so deep and heavily shared circuits are fine.

mod batch;
mod canonicalize;
mod compiler;
mod distribute;
mod error;
mod expand;
mod flatten;
mod identity;
pub mod module;
mod nest;
pub mod pipeline;
mod push_down_index;
mod rearrange;
pub mod rules;
mod scalar;
mod simp;
mod utils;

pub use batch::{batch_to_concat, split_to_concat, BatchOptions};
pub use canonicalize::{canonicalize_node, deep_canonicalize, deep_normalize, normalize_node};
pub use compiler::{is_shared, simplify, Pass, PassFn, PassResult, COMPILER_PASSES};
pub use distribute::{
    add_make_broadcasts_explicit, distribute, distribute_all, distribute_once, DistributeOptions,
};
pub use error::{Result, RewriteError};
pub use expand::{replace_expand_bottom_up, replace_expand_bottom_up_dict};
pub use identity::drop_identities;
pub use module::{
    conform_all_modules, deep_module_remove_unused_inputs, extract_rewrite, extract_symbols,
    extract_symbols_get, get_push_down_modules, inline_single_callsite_modules, module_new_bind,
    module_remove_unused_inputs, push_down_modules, substitute, substitute_all_modules, Binder,
    ExtractOptions, ModulePusher, SubstituteNames,
};
pub use nest::{
    add_flatten_traversal, einsum_flatten_traversal, einsum_nest_path, nest_adds, nest_einsums,
    NestSpec,
};
pub use push_down_index::{index_split_axes, push_down_index, PushDownIndexOptions};
pub use rules::{add_flatten, einsum_flatten, einsum_of_permute_merge, index_fuse, rearrange_fuse};
pub use rules::{Rule, RuleFn, RULES};
pub use scalar::fold_scalars;
pub use simp::{apply_rule, compiler_simp, simp, RuleSet, MAX_REWRITES_PER_NODE};
pub use utils::{cast_circuit, count_nodes, get_free_symbols, strip_names_and_tags, toposort};
