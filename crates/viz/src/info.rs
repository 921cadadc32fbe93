//! What a viewer says about one node: the printer's line text (non-bijective for display,
//! bijective for copy-as-text), argument comments, sizes and FLOPs, and kind colors.

use std::collections::BTreeMap;

use circuit_einsum::{optimize, EinsumSpec, PathOptions};
use circuit_ir::kinds::{label_char, Einsum};
use circuit_ir::size::{format_shape, shape_is_symbolic};
use circuit_ir::{Circuit, Kind, Op};
use circuit_text::{format_payload, format_shape_named, shape_is_necessary};

/// Appends ` Kind payload` (payload omitted when empty) and trims trailing spaces.
fn push_kind_payload(out: &mut String, c: &Circuit, bijection: bool) {
    out.push(' ');
    out.push_str(c.kind().name());
    let payload = format_payload(c, bijection);
    if !payload.is_empty() {
        out.push(' ');
        out.push_str(&payload);
    }
    while out.ends_with(' ') {
        out.pop();
    }
}

/// The non-bijective line info the printer writes after a node's identifier
/// (`PrintOptions { bijection: false, .. }`): ` [shape] Kind payload`, with a leading
/// space. The shape is printed when `shapes_always`, when the kind needs it, or when
/// `show_all_named_axes` and the node has named axes.
pub fn line_info(c: &Circuit, shapes_always: bool, show_all_named_axes: bool) -> String {
    let mut out = String::new();
    if shapes_always
        || shape_is_necessary(c.kind())
        || (show_all_named_axes && !c.named_axes().is_empty())
    {
        out.push(' ');
        out.push_str(&format_shape_named(c));
    }
    push_kind_payload(&mut out, c, false);
    out
}

/// The bijective line info of the default printer: optional ` AD`, the shape where the
/// kind needs it (or named axes differ from the inherited ones), ` Kind payload` with
/// array hashes.
pub(crate) fn bijective_line_info(c: &Circuit) -> String {
    let mut out = String::new();
    if !c.flags().use_autoname() {
        out.push_str(" AD");
    }
    if shape_is_necessary(c.kind())
        || (!c.named_axes().is_empty() && c.inherited_named_axes() != *c.named_axes())
    {
        out.push(' ');
        out.push_str(&format_shape_named(c));
    }
    push_kind_payload(&mut out, c, true);
    out
}

/// The role of child `i` of `parent` (the printer's `comment_arg_names`): einsum operand
/// labels, `Values` / `Probs and Group`, `Input` / `Filter`, `K<n>`, `Spec`.
pub(crate) fn arg_comment(parent: &Circuit, i: usize) -> Option<String> {
    match parent.op() {
        Op::Einsum(e) => e.in_axes.get(i).map(|a| a.iter().map(|&l| label_char(l)).collect()),
        Op::DiscreteVar => Some(if i == 0 { "Values" } else { "Probs and Group" }.to_string()),
        Op::Conv(_) => Some(if i == 0 { "Input" } else { "Filter" }.to_string()),
        Op::StoredCumulantVar(v) => v.orders.get(i).map(|k| format!("K{k}")),
        Op::Module(_) if i == 0 => Some("Spec".to_string()),
        _ => None,
    }
}

/// FLOPs of computing this node from its children, for Einsum (the contraction path
/// `circuit_einsum::optimize` picks, as the evaluator does; 2 per multiply-add) and Add
/// (one per output element per input, the evaluator's convention). `None` for other
/// kinds and for symbolic shapes.
pub fn self_flops(c: &Circuit) -> Option<u128> {
    if c.children().iter().any(|ch| shape_is_symbolic(ch.shape())) || shape_is_symbolic(c.shape()) {
        return None;
    }
    match c.op() {
        Op::Einsum(e) => einsum_flops(c, e),
        Op::Add => Some(c.numel().saturating_mul(c.children().len().max(1) as u128)),
        _ => None,
    }
}

fn einsum_flops(c: &Circuit, e: &Einsum) -> Option<u128> {
    let mut sizes: BTreeMap<u32, u64> = BTreeMap::new();
    let mut inputs: Vec<Vec<u32>> = Vec::with_capacity(e.in_axes.len());
    for (child, axes) in c.children().iter().zip(&e.in_axes) {
        let mut labels = Vec::with_capacity(axes.len());
        for (axis, &l) in axes.iter().enumerate() {
            let size = *child.shape().get(axis)?;
            sizes.insert(u32::from(l), size as u64);
            labels.push(u32::from(l));
        }
        inputs.push(labels);
    }
    if inputs.is_empty() {
        return Some(0);
    }
    let mut target: Vec<u32> = Vec::new();
    for &l in &e.out_axes {
        let l = u32::from(l);
        if sizes.contains_key(&l) && !target.contains(&l) {
            target.push(l);
        }
    }
    let spec = EinsumSpec::new(inputs, target, sizes).ok()?;
    optimize(&spec, &PathOptions::default()).ok().map(|p| p.total_flops)
}

/// `1234567` → `1.235M` (SI prefixes, 3 decimals; exact below 10 000).
pub(crate) fn human_count(v: u128) -> String {
    const UNITS: [&str; 7] = ["k", "M", "G", "T", "P", "E", "Z"];
    if v < 10_000 {
        return v.to_string();
    }
    let mut x = v as f64;
    let mut unit = "";
    for u in UNITS {
        if x < 1000.0 {
            break;
        }
        x /= 1000.0;
        unit = u;
    }
    format!("{x:.3}{unit}")
}

/// `1536` → `1.50 KiB`.
pub(crate) fn human_bytes(v: u128) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if v < 1024 {
        return format!("{v} B");
    }
    let mut x = v as f64;
    let mut unit = "B";
    for u in UNITS {
        if x < 1024.0 {
            break;
        }
        x /= 1024.0;
        unit = u;
    }
    format!("{x:.2} {unit}")
}

/// The hover text: kind, shape, numel, bytes at f32, dtype, self FLOPs, hash prefix.
pub(crate) fn title(c: &Circuit) -> String {
    let mut t = format!("{} {}", c.kind().name(), format_shape(c.shape()));
    if shape_is_symbolic(c.shape()) {
        t.push_str("\nnumel: symbolic");
    } else {
        let n = c.numel();
        t.push_str(&format!("\nnumel: {n}\nbytes (f32): {}", human_bytes(n.saturating_mul(4))));
    }
    if let Some(d) = c.dtype() {
        t.push_str(&format!("\ndtype: {d}"));
    }
    if let Some(f) = self_flops(c) {
        t.push_str(&format!("\nself FLOPs: {} ({f})", human_count(f)));
    }
    t.push_str(&format!("\nhash: {}", c.hash().hex_prefix(8)));
    t
}

/// The default CSS color of a kind (the "by kind" colorer).
pub fn kind_color(kind: Kind) -> &'static str {
    match kind {
        Kind::Einsum => "#1f63b4",
        Kind::Add => "#2a8a2a",
        Kind::Array => "#6b6b6b",
        Kind::Scalar => "#8c564b",
        Kind::Symbol => "#8a4fc0",
        Kind::Module => "#c62828",
        Kind::Rearrange => "#0f8c99",
        Kind::Index | Kind::Scatter => "#9a8a00",
        Kind::Concat => "#d46a00",
        Kind::GeneralFunction => "#c2389e",
        Kind::DiscreteVar | Kind::StoredCumulantVar | Kind::Cumulant => "#b8005c",
        Kind::Conv | Kind::SetSymbolicShape | Kind::Tag => "#444444",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn einsum_and_add_flops() {
        let a = Circuit::scalar(1.0, &[10, 20], Some("a")).unwrap();
        let b = Circuit::scalar(1.0, &[20, 30], Some("b")).unwrap();
        let e = Circuit::einsum("ab,bc->ac", [a.clone(), b]).unwrap();
        assert_eq!(self_flops(&e), Some(2 * 10 * 20 * 30));
        let s = a.add(&a).unwrap();
        assert_eq!(self_flops(&s), Some(2 * 200));
        assert_eq!(self_flops(&a), None);
        // 10·20·30 = 6000 multiply-adds at 2 FLOPs each; the title shows the SI form and
        // the exact count.
        assert!(title(&e).contains("self FLOPs: 12.000k (12000)"), "{}", title(&e));
        assert!(title(&a).contains("bytes (f32): 800 B"));
    }

    #[test]
    fn human_units() {
        assert_eq!(human_count(9999), "9999");
        assert_eq!(human_count(1_234_567), "1.235M");
        assert_eq!(human_bytes(1536), "1.50 KiB");
    }
}
