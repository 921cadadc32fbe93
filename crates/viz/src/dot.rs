//! Graphviz DOT export: one DOT node per distinct circuit node (shared structure shows as
//! several edges into one node), edges from parent to child labelled with the child's
//! position (and, for module arguments, the bound symbol).

use std::fmt::Write as _;

use circuit_ir::{Circuit, NodeHash, NodeMap, Op};
use circuit_text::quote_name;

use crate::escape::dot_quote;
use crate::info::{kind_color, line_info};

/// Options of [`to_dot_with`].
#[derive(Debug, Clone)]
pub struct DotOptions {
    /// The graph's name.
    pub name: String,
    /// Graphviz `rankdir` (`TB`: roots on top; `LR`: left to right).
    pub rankdir: String,
    /// Print every shape in the labels.
    pub shapes_always: bool,
    /// Color node borders and text by kind.
    pub color_by_kind: bool,
    /// Truncate label lines longer than this many characters (with `…`).
    pub max_label_chars: usize,
}

impl Default for DotOptions {
    fn default() -> DotOptions {
        DotOptions {
            name: "circuit".to_string(),
            rankdir: "TB".to_string(),
            shapes_always: true,
            color_by_kind: true,
            max_label_chars: 60,
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// DOT for `circuits` with default options.
pub fn to_dot(circuits: &[Circuit]) -> String {
    to_dot_with(circuits, &DotOptions::default())
}

/// DOT for `circuits`: nodes `n0`, `n1`, ... in pre-order of first occurrence, labelled
/// with the quoted name (if any) and the printer's line info; roots are drawn bold.
pub fn to_dot_with(circuits: &[Circuit], opts: &DotOptions) -> String {
    let nodes = circuit_ir::traversal::preorder(circuits);
    let ids: NodeMap<NodeHash, usize> =
        nodes.iter().enumerate().map(|(i, c)| (c.hash(), i)).collect();
    let mut s = String::with_capacity(nodes.len() * 96);
    let _ = writeln!(s, "digraph {} {{", dot_quote(&opts.name));
    let _ = writeln!(s, "  rankdir={};", dot_quote(&opts.rankdir));
    s.push_str(
        "  node [shape=box, style=rounded, fontname=\"monospace\", fontsize=10];\n  edge [fontname=\"monospace\", fontsize=9];\n",
    );
    for (i, c) in nodes.iter().enumerate() {
        let info = line_info(c, opts.shapes_always, false);
        let mut label = String::new();
        if let Some(n) = c.name() {
            label.push_str(&truncate(&quote_name(n), opts.max_label_chars));
            label.push('\n');
        }
        label.push_str(&truncate(info.trim_start(), opts.max_label_chars));
        let _ = write!(s, "  n{i} [label={}", dot_quote(&label));
        if opts.color_by_kind {
            let col = kind_color(c.kind());
            let _ = write!(s, ", color={}, fontcolor={}", dot_quote(col), dot_quote(col));
        }
        if circuits.contains(c) {
            s.push_str(", penwidth=2");
        }
        s.push_str("];\n");
    }
    for (i, c) in nodes.iter().enumerate() {
        let specs = match c.op() {
            Op::Module(m) => m.arg_specs.as_slice(),
            _ => &[],
        };
        for (pos, child) in c.children().iter().enumerate() {
            let Some(j) = ids.get(&child.hash()) else { continue };
            let mut label = pos.to_string();
            if let Some(spec) = pos.checked_sub(1).and_then(|p| specs.get(p)) {
                label.push_str(" ! ");
                label.push_str(&spec.symbol.name().map_or_else(|| "?".to_string(), quote_name));
            }
            let _ = writeln!(s, "  n{i} -> n{j} [label={}];", dot_quote(&label));
        }
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(s: &str, pred: impl Fn(&str) -> bool) -> usize {
        s.lines().map(str::trim).filter(|l| pred(l)).count()
    }

    #[test]
    fn shared_nodes_appear_once_and_edges_keep_order() {
        let x = Circuit::scalar(1.0, &[2], Some("x \"quoted\" \\ <b>")).unwrap();
        let y = Circuit::scalar(2.0, &[2], Some("y")).unwrap();
        let s = Circuit::sum_of([x.clone(), y.clone()]).unwrap().rename(Some("s")).unwrap();
        let root = Circuit::sum_of([s.clone(), x.clone(), s]).unwrap().rename(Some("r")).unwrap();
        let dot = to_dot(&[root]);
        assert!(dot.starts_with("digraph \"circuit\" {"));
        assert!(dot.trim_end().ends_with('}'));
        // Node statements are `nK [...]` (the `node [...]` defaults line is not one).
        let is_node_id = |l: &str| {
            l.strip_prefix('n').is_some_and(|r| r.starts_with(|ch: char| ch.is_ascii_digit()))
        };
        let node_lines = count(&dot, |l| is_node_id(l) && !l.contains("->"));
        let edge_lines = count(&dot, |l| l.contains(" -> "));
        assert_eq!(node_lines, 4, "{dot}");
        assert_eq!(edge_lines, 3 + 2, "{dot}");
        // The label shows the printer's quoted name `'x "quoted" \\ <b>'` (the backslash
        // doubled by `.circ` quoting), and DOT escaping doubles each backslash again.
        assert!(dot.contains(r#"label="'x \"quoted\" \\\\ <b>'\n[2] Scalar 1""#), "{dot}");
        assert!(dot.contains("n0 -> n1 [label=\"0\"]"));
        assert!(dot.contains("n0 -> n1 [label=\"2\"]"));
        // Balanced quotes on every line (escaped quotes excluded).
        for l in dot.lines() {
            let unescaped = l.replace("\\\\", "").replace("\\\"", "");
            assert_eq!(unescaped.matches('"').count() % 2, 0, "{l}");
        }
    }
}
