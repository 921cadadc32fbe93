//! Small `.circ` inputs copied from the format examples (rust_circuit's own tests and demos),
//! embedded so tests need no files outside the crate, and the directory holding the
//! tensors two of them reference by hash.

use std::path::PathBuf;

/// Every fixture as `(name, text)`. A few are deliberately invalid inputs (parse errors).
pub const FIXTURES: &[(&str, &str)] = &[
    ("ad_flag_on_add", include_str!("../data/fixtures/ad_flag_on_add.circ")),
    ("adder_repeated_names", include_str!("../data/fixtures/adder_repeated_names.circ")),
    ("arrows_only_child_below", include_str!("../data/fixtures/arrows_only_child_below.circ")),
    ("bijection2_cumulant", include_str!("../data/fixtures/bijection2_cumulant.circ")),
    ("bijection_many_base", include_str!("../data/fixtures/bijection_many_base.circ")),
    ("comments_odd_names", include_str!("../data/fixtures/comments_odd_names.circ")),
    (
        "demo_factored_with_comments",
        include_str!("../data/fixtures/demo_factored_with_comments.circ"),
    ),
    (
        "demo_higher_order_module_b",
        include_str!("../data/fixtures/demo_higher_order_module_b.circ"),
    ),
    ("demo_set_symbolic_shape", include_str!("../data/fixtures/demo_set_symbolic_shape.circ")),
    ("diff_add_of_symbols_b", include_str!("../data/fixtures/diff_add_of_symbols_b.circ")),
    ("gf_all_simple_names", include_str!("../data/fixtures/gf_all_simple_names.circ")),
    ("gf_gen_index_batch_x_c", include_str!("../data/fixtures/gf_gen_index_batch_x_c.circ")),
    ("gf_softmax_double_space", include_str!("../data/fixtures/gf_softmax_double_space.circ")),
    ("invalid_bang_under_scalar", include_str!("../data/fixtures/invalid_bang_under_scalar.circ")),
    (
        "mlp_2_layer_module_reprint",
        include_str!("../data/fixtures/mlp_2_layer_module_reprint.circ"),
    ),
    ("module_flags_fft", include_str!("../data/fixtures/module_flags_fft.circ")),
    ("module_symbolic_batch_a", include_str!("../data/fixtures/module_symbolic_batch_a.circ")),
    ("named_axes_0", include_str!("../data/fixtures/named_axes_0.circ")),
    (
        "nested_module_batched_sym_on_top",
        include_str!("../data/fixtures/nested_module_batched_sym_on_top.circ"),
    ),
    (
        "only_child_marker_ascii__00",
        include_str!("../data/fixtures/only_child_marker_ascii__00.circ"),
    ),
    (
        "only_child_marker_ascii__01",
        include_str!("../data/fixtures/only_child_marker_ascii__01.circ"),
    ),
    (
        "rearrange_spec_canonical_letters",
        include_str!("../data/fixtures/rearrange_spec_canonical_letters.circ"),
    ),
    ("sampled_index_fixed_point", include_str!("../data/fixtures/sampled_index_fixed_point.circ")),
    ("scalar_negative_zero", include_str!("../data/fixtures/scalar_negative_zero.circ")),
    ("scatter_value", include_str!("../data/fixtures/scatter_value.circ")),
    ("self_hash_einsum_2", include_str!("../data/fixtures/self_hash_einsum_2.circ")),
    ("sigmoid_of_concat", include_str!("../data/fixtures/sigmoid_of_concat.circ")),
    (
        "stored_cumulant_var_repeated_child",
        include_str!("../data/fixtures/stored_cumulant_var_repeated_child.circ"),
    ),
    ("symbolic_product_reprint", include_str!("../data/fixtures/symbolic_product_reprint.circ")),
    ("symbolic_rearrange_a", include_str!("../data/fixtures/symbolic_rearrange_a.circ")),
    ("tensor_index_fixed_point", include_str!("../data/fixtures/tensor_index_fixed_point.circ")),
];

/// The directory of `<64-hex-hash>.npy` tensors that fixtures reference (use it as a
/// read-only tensor store when parsing them).
pub fn tensor_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/tensors"))
}

/// The fixture texts.
pub fn texts() -> impl Iterator<Item = &'static str> {
    FIXTURES.iter().map(|(_, t)| *t)
}
