//! The single-node simplification rules and their registry, [`RULES`]: a plain table
//! read by the `simp` driver, by `circ opt -p` and by the rule-coverage test.
//!
//! Each rule is a function `fn(&Circuit) -> circuit_ir::Result<Option<Circuit>>` that
//! looks at one node (whose children are already simplified) and returns
//! `Some(replacement)` with the same shape and value, or `None` when it does not apply.
//! A rule's CLI name is its function name in kebab-case (`add-flatten` ↔ `add_flatten`).
//! Within one node kind, rules are tried in table order (the first that applies wins),
//! which is rust_circuit's priority order.

mod add;
mod concat;
mod einsum;
mod gf;
mod index;
mod module;
mod rearrange;
pub(crate) mod removable;
mod scatter;
pub(crate) mod util;

use circuit_ir::{Circuit, Kind};

pub use add::{
    add_collapse_scalar_inputs, add_deduplicate, add_elim_removable_axes_weak, add_elim_zeros,
    add_flatten, add_fuse_scalar_multiples, add_pull_removable_axes, remove_add_few_input,
};
pub use concat::{
    concat_drop_size_zero, concat_elim_identity, concat_elim_split, concat_fuse,
    concat_merge_uniform, concat_pull_removable_axes, concat_repeat_to_rearrange,
    concat_to_scatter,
};
pub use einsum::{
    einsum_concat_to_add, einsum_elim_identity, einsum_elim_removable_axes_weak, einsum_elim_zero,
    einsum_flatten, einsum_merge_scalars, einsum_of_permute_merge, einsum_permute_to_rearrange,
    einsum_pull_removable_axes, einsum_remove_one,
};
pub use gf::{
    generalfunction_evaluate_simple, generalfunction_gen_index_const_to_index,
    generalfunction_merge_inverses, generalfunction_pull_removable_axes,
    generalfunction_special_case_simplification,
};
pub(crate) use index::is_identity_index;
pub use index::{index_concat_drop_unreached, index_elim_identity, index_fuse, index_merge_scalar};
pub use module::{elim_empty_module, elim_no_input_module};
pub use rearrange::{
    permute_of_einsum_merge, rearrange_elim_identity, rearrange_fuse, rearrange_merge_scalar,
};
pub use scatter::{
    add_pull_scatter, einsum_pull_scatter, scatter_elim_identity, scatter_fuse,
    scatter_pull_removable_axes,
};

/// The signature of a rule.
pub type RuleFn = fn(&Circuit) -> circuit_ir::Result<Option<Circuit>>;

/// A registered single-node rule.
#[derive(Clone, Copy)]
pub struct Rule {
    /// The kebab-case name (`add-flatten`); the function is the snake_case form.
    pub name: &'static str,
    /// The node kind it applies to.
    pub kind: Kind,
    /// The rule.
    pub apply: RuleFn,
}

impl Rule {
    /// The function name (`add_flatten`), as rust_circuit spells the rule.
    pub fn snake_name(&self) -> String {
        self.name.replace('-', "_")
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

const fn rule(name: &'static str, kind: Kind, apply: RuleFn) -> Rule {
    Rule { name, kind, apply }
}

/// Every rule, grouped by kind in priority order (rust_circuit's `SimpFnSubset` order).
pub static RULES: &[Rule] = &[
    rule("einsum-elim-zero", Kind::Einsum, einsum_elim_zero),
    rule("einsum-elim-identity", Kind::Einsum, einsum_elim_identity),
    rule("einsum-flatten", Kind::Einsum, einsum_flatten),
    rule("einsum-of-permute-merge", Kind::Einsum, einsum_of_permute_merge),
    rule("einsum-merge-scalars", Kind::Einsum, einsum_merge_scalars),
    rule("einsum-remove-one", Kind::Einsum, einsum_remove_one),
    rule("einsum-pull-removable-axes", Kind::Einsum, einsum_pull_removable_axes),
    rule("einsum-elim-removable-axes-weak", Kind::Einsum, einsum_elim_removable_axes_weak),
    rule("einsum-permute-to-rearrange", Kind::Einsum, einsum_permute_to_rearrange),
    rule("einsum-pull-scatter", Kind::Einsum, einsum_pull_scatter),
    rule("einsum-concat-to-add", Kind::Einsum, einsum_concat_to_add),
    rule("remove-add-few-input", Kind::Add, remove_add_few_input),
    rule("add-flatten", Kind::Add, add_flatten),
    rule("add-elim-zeros", Kind::Add, add_elim_zeros),
    rule("add-collapse-scalar-inputs", Kind::Add, add_collapse_scalar_inputs),
    rule("add-deduplicate", Kind::Add, add_deduplicate),
    rule("add-pull-removable-axes", Kind::Add, add_pull_removable_axes),
    rule("add-pull-scatter", Kind::Add, add_pull_scatter),
    rule("add-fuse-scalar-multiples", Kind::Add, add_fuse_scalar_multiples),
    rule("add-elim-removable-axes-weak", Kind::Add, add_elim_removable_axes_weak),
    rule("rearrange-elim-identity", Kind::Rearrange, rearrange_elim_identity),
    rule("rearrange-fuse", Kind::Rearrange, rearrange_fuse),
    rule("rearrange-merge-scalar", Kind::Rearrange, rearrange_merge_scalar),
    rule("permute-of-einsum-merge", Kind::Rearrange, permute_of_einsum_merge),
    rule("index-elim-identity", Kind::Index, index_elim_identity),
    rule("index-fuse", Kind::Index, index_fuse),
    rule("index-merge-scalar", Kind::Index, index_merge_scalar),
    rule("index-concat-drop-unreached", Kind::Index, index_concat_drop_unreached),
    rule(
        "generalfunction-pull-removable-axes",
        Kind::GeneralFunction,
        generalfunction_pull_removable_axes,
    ),
    rule("generalfunction-merge-inverses", Kind::GeneralFunction, generalfunction_merge_inverses),
    rule(
        "generalfunction-special-case-simplification",
        Kind::GeneralFunction,
        generalfunction_special_case_simplification,
    ),
    rule("generalfunction-evaluate-simple", Kind::GeneralFunction, generalfunction_evaluate_simple),
    rule(
        "generalfunction-gen-index-const-to-index",
        Kind::GeneralFunction,
        generalfunction_gen_index_const_to_index,
    ),
    rule("concat-elim-identity", Kind::Concat, concat_elim_identity),
    rule("concat-elim-split", Kind::Concat, concat_elim_split),
    rule("concat-pull-removable-axes", Kind::Concat, concat_pull_removable_axes),
    rule("concat-merge-uniform", Kind::Concat, concat_merge_uniform),
    rule("concat-drop-size-zero", Kind::Concat, concat_drop_size_zero),
    rule("concat-fuse", Kind::Concat, concat_fuse),
    rule("concat-repeat-to-rearrange", Kind::Concat, concat_repeat_to_rearrange),
    rule("concat-to-scatter", Kind::Concat, concat_to_scatter),
    rule("scatter-elim-identity", Kind::Scatter, scatter_elim_identity),
    rule("scatter-fuse", Kind::Scatter, scatter_fuse),
    rule("scatter-pull-removable-axes", Kind::Scatter, scatter_pull_removable_axes),
    rule("elim-empty-module", Kind::Module, elim_empty_module),
    rule("elim-no-input-module", Kind::Module, elim_no_input_module),
];

/// Looks a rule up by its kebab-case or snake_case name.
pub fn find_rule(name: &str) -> Option<&'static Rule> {
    let kebab = name.replace('_', "-");
    RULES.iter().find(|r| r.name == kebab)
}
