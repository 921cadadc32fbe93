//! Formatting of the pieces of a line: shapes, numbers and each kind's payload.

use circuit_ir::kinds::{label_char, TensorAxisIndex};
use circuit_ir::size::format_size;
use circuit_ir::{Circuit, Kind, Op};

use crate::out::Out;

/// `[a,b]`, with named axes as `name:size`.
pub fn format_shape_named(c: &Circuit) -> String {
    let mut out = Out::default();
    write_shape_named(&mut out, c);
    out.into_string()
}

/// Appends `[a,b]` (with named axes as `name:size`) to `out`.
pub(crate) fn write_shape_named(out: &mut Out, c: &Circuit) {
    let named = c.named_axes();
    out.push_ascii(b'[');
    for (i, &d) in c.shape().iter().enumerate() {
        if i > 0 {
            out.push_ascii(b',');
        }
        if !named.is_empty() {
            if let Some((_, n)) = named.iter().find(|(a, _)| usize::from(*a) == i) {
                out.push_str(n);
                out.push_ascii(b':');
            }
        }
        write_size(out, d);
    }
    out.push_ascii(b']');
}

fn write_size(out: &mut Out, d: usize) {
    if d < 10_007 {
        out.write_usize(d);
    } else {
        out.push_str(&format_size(d));
    }
}

/// Rust's shortest round-trip `Display` for `f64` (never exponents; `1.0` prints `1`).
pub fn format_number(v: f64) -> String {
    let mut out = Out::default();
    out.write_f64(v);
    out.into_string()
}

/// An index string: `[0,1:3,:,t0123456789 [6]]`.
pub fn format_index(index: &[TensorAxisIndex], bijection: bool) -> String {
    let parts: Vec<String> = index
        .iter()
        .map(|e| match e {
            TensorAxisIndex::Int(i) => i.to_string(),
            TensorAxisIndex::Slice(s) => s.to_string(),
            TensorAxisIndex::Tensor(t) => {
                let shape = t.len().map_or(String::from("[]"), |n| format!("[{n}]"));
                if bijection {
                    format!("t{} {shape}", t.tensor().hash().prefix(10))
                } else {
                    shape
                }
            }
        })
        .collect();
    format!("[{}]", parts.join(","))
}

/// The fancy einsum form when every label gets a unique name from the operands' and the
/// node's named axes and the labels are numbered in order of first appearance (so that
/// parsing the words gives back the same labels).
fn fancy_einsum(c: &Circuit, e: &circuit_ir::kinds::Einsum) -> Option<String> {
    if c.named_axes().is_empty() {
        return None;
    }
    let order: Vec<u8> = e.in_axes.iter().flatten().chain(e.out_axes.iter()).copied().fold(
        Vec::new(),
        |mut acc, l| {
            if !acc.contains(&l) {
                acc.push(l);
            }
            acc
        },
    );
    if order.iter().enumerate().any(|(i, &l)| usize::from(l) != i) {
        return None;
    }
    // rust_circuit's rule: every operand axis is named by its own operand, consistently
    // per label; the node's own names take priority for output labels.
    let mut names: Vec<Option<String>> = vec![None; order.len()];
    for (child, axes) in c.children().iter().zip(&e.in_axes) {
        for (axis, &label) in axes.iter().enumerate() {
            let name =
                child.named_axes().iter().find(|(a, _)| usize::from(*a) == axis).map(|(_, n)| n)?;
            match &names[usize::from(label)] {
                Some(existing) if existing.as_str() != name.as_ref() => return None,
                _ => names[usize::from(label)] = Some(name.to_string()),
            }
        }
    }
    for (axis, name) in c.named_axes() {
        names[usize::from(e.out_axes[usize::from(*axis)])] = Some(name.to_string());
    }
    let names: Vec<String> = names.into_iter().collect::<Option<_>>()?;
    // Only plain words survive the word form (no `,`, `->`, `#`, `!`, quotes, ...).
    if !names.iter().all(|n| plain_word(n)) {
        return None;
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != names.len() {
        return None;
    }
    let word = |l: &u8| names[usize::from(*l)].clone();
    let ops: Vec<String> =
        e.in_axes.iter().map(|a| a.iter().map(word).collect::<Vec<_>>().join(" ")).collect();
    let out: Vec<String> = e.out_axes.iter().map(word).collect();
    Some(format!("fancy: {} -> {}", ops.join(", "), out.join(" ")))
}

/// Appends the payload text of a node to `out` (nothing for kinds without payload).
pub(crate) fn write_payload(out: &mut Out, c: &Circuit, bijection: bool) {
    match c.op() {
        Op::Scalar(s) => out.write_f64(s.value),
        Op::Concat(cc) => out.write_usize(cc.axis),
        Op::Einsum(e) => match fancy_einsum(c, e) {
            Some(f) => out.push_str(&f),
            None => write_einsum_spec(out, e),
        },
        Op::Add | Op::Module(_) | Op::DiscreteVar | Op::Cumulant | Op::SetSymbolicShape(_) => {}
        _ => out.push_str(&format_payload(c, bijection)),
    }
}

/// The plain einsum form `ab,bc->ac` (as `Einsum::write_spec`, a byte per ASCII label).
fn write_einsum_spec(out: &mut Out, e: &circuit_ir::kinds::Einsum) {
    let label = |out: &mut Out, l: u8| match l {
        0..=25 => out.push_ascii(b'a' + l),
        26..=51 => out.push_ascii(b'A' + (l - 26)),
        _ => out.push(label_char(l)),
    };
    for (i, axes) in e.in_axes.iter().enumerate() {
        if i > 0 {
            out.push_ascii(b',');
        }
        for &l in axes {
            label(out, l);
        }
    }
    out.push_str("->");
    for &l in &e.out_axes {
        label(out, l);
    }
}

fn plain_word(n: &str) -> bool {
    n.chars().next().is_some_and(char::is_alphabetic)
        && n.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.')
}

/// The named form of a rearrange (`pos head -> head pos`), as rust_circuit prints it when
/// every dim is a single int present on both sides and every int gets a name from the
/// child's named axes (input side) or the node's own (output side). Known sizes are kept
/// as `name:size` (rust_circuit drops them, which loses them on a round trip).
fn fancy_rearrange(c: &Circuit, spec: &circuit_ir::kinds::RearrangeSpec) -> Option<String> {
    let child = c.children().first()?;
    if child.named_axes().is_empty() && c.named_axes().is_empty() {
        return None;
    }
    if !spec.input_ints.iter().chain(&spec.output_ints).all(|g| g.len() == 1)
        || spec.input_ints.len() != spec.output_ints.len()
    {
        return None;
    }
    let mut names: Vec<Option<String>> = vec![None; spec.int_sizes.len()];
    let mut put = |int: u8, name: &str| -> Option<()> {
        let slot = names.get_mut(usize::from(int))?;
        match slot {
            Some(existing) if existing != name => None,
            _ => {
                *slot = Some(name.to_string());
                Some(())
            }
        }
    };
    for (axis, name) in child.named_axes() {
        put(spec.input_ints.get(usize::from(*axis))?[0], name)?;
    }
    for (axis, name) in c.named_axes() {
        put(spec.output_ints.get(usize::from(*axis))?[0], name)?;
    }
    let names: Vec<String> = names.into_iter().collect::<Option<_>>()?;
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != names.len() || !names.iter().all(|n| plain_word(n)) {
        return None;
    }
    let word = |g: &circuit_ir::kinds::Group| {
        let i = usize::from(g[0]);
        match spec.int_sizes[i] {
            Some(size) => format!("{}:{}", names[i], circuit_ir::size::format_size(size)),
            None => names[i].clone(),
        }
    };
    let lhs: Vec<String> = spec.input_ints.iter().map(word).collect();
    let rhs: Vec<String> = spec.output_ints.iter().map(word).collect();
    Some(format!("{} -> {}", lhs.join(" "), rhs.join(" ")))
}

/// The payload text of a node.
pub fn format_payload(c: &Circuit, bijection: bool) -> String {
    match c.op() {
        Op::Scalar(s) => format_number(s.value),
        Op::Array(a) => {
            if bijection {
                a.tensor_hash().prefix(24)
            } else {
                String::new()
            }
        }
        Op::Symbol(s) => {
            if s.uuid.is_nil() {
                String::new()
            } else {
                s.uuid.hyphenated().to_string()
            }
        }
        Op::Einsum(e) => fancy_einsum(c, e).unwrap_or_else(|| e.to_spec_string()),
        Op::Add | Op::Module(_) | Op::DiscreteVar | Op::Cumulant | Op::SetSymbolicShape(_) => {
            String::new()
        }
        Op::Rearrange(r) => {
            fancy_rearrange(c, &r.spec).unwrap_or_else(|| r.spec.to_text()).trim_end().to_string()
        }
        Op::Index(i) => format_index(&i.index, bijection),
        Op::Scatter(s) => format_index(&s.index, bijection),
        Op::Concat(cc) => cc.axis.to_string(),
        Op::GeneralFunction(g) => g.spec.name(),
        Op::Conv(cv) => {
            let stride: Vec<String> = cv.stride.iter().map(ToString::to_string).collect();
            let pad: Vec<String> = cv.padding.iter().map(|(a, b)| format!("{a}:{b}")).collect();
            format!("stride=[{}] padding=[{}]", stride.join(","), pad.join(","))
        }
        Op::Tag(t) => t.uuid.hyphenated().to_string(),
        Op::StoredCumulantVar(v) => {
            let orders: Vec<String> = v.orders.iter().map(ToString::to_string).collect();
            format!("{}|{}", orders.join(", "), v.uuid.hyphenated())
        }
    }
}

/// Whether the printer shows this node's shape under `shape_only_when_necessary`.
pub fn shape_is_necessary(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Scalar
            | Kind::Scatter
            | Kind::Symbol
            | Kind::Array
            | Kind::SetSymbolicShape
            | Kind::Index
    )
}

/// Comments naming a node's children (`comment_arg_names`).
pub fn child_arg_comment(parent: &Circuit, child_idx: usize) -> Option<String> {
    match parent.op() {
        Op::Einsum(e) => {
            e.in_axes.get(child_idx).map(|a| a.iter().map(|&l| label_char(l)).collect())
        }
        Op::DiscreteVar => {
            Some(if child_idx == 0 { "Values" } else { "Probs and Group" }.to_string())
        }
        Op::Conv(_) => Some(if child_idx == 0 { "Input" } else { "Filter" }.to_string()),
        Op::StoredCumulantVar(v) => v.orders.get(child_idx).map(|k| format!("K{k}")),
        Op::Module(_) if child_idx == 0 => Some("Spec".to_string()),
        _ => None,
    }
}
