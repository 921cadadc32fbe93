//! The HTML circuit viewer: walks the circuits once in the printer's order (so
//! identifiers and serial numbers match `circuit_text`'s printer), embeds one JSON record
//! per distinct node keyed by its hash, and wraps it with inline CSS and JS that render
//! the tree lazily.

use std::collections::HashMap;
use std::sync::Arc;

use circuit_ir::kinds::ModuleArgSpec;
use circuit_ir::{Circuit, Kind, NodeHash, NodeMap, NodeSet, Op};
use circuit_text::{quote_name, Commenter};
use serde_json::{json, Map, Value};

use crate::escape::{escape_html, json_for_script};
use crate::info::{arg_comment, bijective_line_info, kind_color, line_info, title};
use crate::Result;

const VIEWER_JS: &str = include_str!("viewer.js");
const VIEWER_CSS: &str = include_str!("viewer.css");

/// A user colorer: a CSS color per node, or `None` for the default text color.
pub type CssColorer = Arc<dyn Fn(&Circuit) -> Option<String> + Send + Sync>;

/// How the viewer colors node lines.
#[derive(Clone, Default)]
pub enum NodeColorer {
    /// One color per kind ([`crate::kind_color`]), with a legend.
    #[default]
    ByKind,
    /// No colors.
    Plain,
    /// A user closure returning a CSS color (any CSS color syntax).
    Custom(CssColorer),
    /// Red for nodes with a DiscreteVar or Symbol of this name at or below them, gray for
    /// the rest.
    ReachesVar(String),
}

impl std::fmt::Debug for NodeColorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeColorer::ByKind => f.write_str("ByKind"),
            NodeColorer::Plain => f.write_str("Plain"),
            NodeColorer::Custom(_) => f.write_str("Custom(..)"),
            NodeColorer::ReachesVar(v) => f.debug_tuple("ReachesVar").field(v).finish(),
        }
    }
}

/// Options of [`to_html`].
#[derive(Clone)]
pub struct HtmlOptions {
    /// The page title.
    pub title: String,
    /// Line colors.
    pub colorer: NodeColorer,
    /// Nodes at depth `< expand_depth` start expanded (roots are depth 0; 0 shows only
    /// the roots, collapsed). rust_circuit's default is 3.
    pub expand_depth: usize,
    /// Print every shape (the printer's `shape_only_when_necessary = false`).
    pub shapes_always: bool,
    /// Print the shape of nodes with named axes.
    pub show_all_named_axes: bool,
    /// Comment each child with its role (einsum labels, `Spec`, ...).
    pub comment_arg_names: bool,
    /// Extra ` # comment`s per node.
    pub commenters: Vec<Commenter>,
    /// Show the per-node "copy as .circ" buttons.
    pub copy_button: bool,
}

impl Default for HtmlOptions {
    fn default() -> HtmlOptions {
        HtmlOptions {
            title: "circuit".to_string(),
            colorer: NodeColorer::ByKind,
            expand_depth: 3,
            shapes_always: true,
            show_all_named_axes: false,
            comment_arg_names: true,
            commenters: Vec::new(),
            copy_button: true,
        }
    }
}

impl std::fmt::Debug for HtmlOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HtmlOptions")
            .field("title", &self.title)
            .field("colorer", &self.colorer)
            .field("expand_depth", &self.expand_depth)
            .field("shapes_always", &self.shapes_always)
            .finish_non_exhaustive()
    }
}

/// How the printer refers to a node: its unique quoted name or a serial number.
#[derive(Clone, Copy)]
enum Ident {
    Name,
    Serial(u64),
}

/// One edge of the tree as the viewer shows it.
struct Edge {
    child: usize,
    /// ` ! binding` and ` # comment` text (display).
    text: String,
    /// The bound symbol of a module argument and its non-default flags.
    sym: Option<(usize, String)>,
}

struct Entry {
    c: Circuit,
    ident: Ident,
    edges: Vec<Option<Edge>>,
}

/// The walk in printer order.
struct Walk<'a> {
    opts: &'a HtmlOptions,
    name_counts: HashMap<&'a str, usize>,
    index: NodeMap<NodeHash, usize>,
    entries: Vec<Entry>,
    next_serial: u64,
}

struct Work {
    c: Circuit,
    parent: Option<(usize, usize)>,
    binding: Option<ModuleArgSpec>,
}

impl<'a> Walk<'a> {
    fn new(opts: &'a HtmlOptions, roots: &'a [Circuit]) -> Walk<'a> {
        let mut name_counts: HashMap<&'a str, usize> = HashMap::new();
        let mut seen: NodeSet<NodeHash> = NodeSet::default();
        let mut stack: Vec<&'a Circuit> = roots.iter().collect();
        while let Some(c) = stack.pop() {
            if !seen.insert(c.hash()) {
                continue;
            }
            if let Some(n) = c.name() {
                *name_counts.entry(n).or_insert(0) += 1;
            }
            if let Op::Module(m) = c.op() {
                stack.extend(m.arg_specs.iter().map(|a| &a.symbol));
            }
            stack.extend(c.children().iter());
        }
        Walk { opts, name_counts, index: NodeMap::default(), entries: Vec::new(), next_serial: 0 }
    }

    /// The entry of `c`, creating it (and its identifier) on first sight.
    fn visit(&mut self, c: &Circuit) -> (usize, bool) {
        if let Some(&i) = self.index.get(&c.hash()) {
            return (i, false);
        }
        let unique = c.name().is_some_and(|n| self.name_counts.get(n).copied() == Some(1));
        let ident = if unique {
            Ident::Name
        } else {
            self.next_serial += 1;
            Ident::Serial(self.next_serial - 1)
        };
        let i = self.entries.len();
        self.entries.push(Entry { c: c.clone(), ident, edges: Vec::new() });
        self.index.insert(c.hash(), i);
        (i, true)
    }

    fn run(&mut self, roots: &[Circuit]) {
        let mut stack: Vec<Work> = roots
            .iter()
            .rev()
            .map(|r| Work { c: r.clone(), parent: None, binding: None })
            .collect();
        while let Some(w) = stack.pop() {
            let (i, fresh) = self.visit(&w.c);
            if let Some((p, pos)) = w.parent {
                let parent = self.entries[p].c.clone();
                let edge = self.edge(i, &parent, pos, w.binding.as_ref());
                if let Some(slot) = self.entries[p].edges.get_mut(pos) {
                    *slot = Some(edge);
                }
            }
            if !fresh {
                continue;
            }
            let c = w.c;
            self.entries[i].edges = c.children().iter().map(|_| None).collect();
            let specs: &[ModuleArgSpec] = match c.op() {
                Op::Module(m) => &m.arg_specs,
                _ => &[],
            };
            for (pos, child) in c.children().iter().enumerate().rev() {
                let binding = if pos >= 1 { specs.get(pos - 1).cloned() } else { None };
                stack.push(Work { c: child.clone(), parent: Some((i, pos)), binding });
            }
        }
    }

    /// The text after a child's line: ` ! symbol [flags]` and ` # role`.
    fn edge(
        &mut self,
        child: usize,
        parent: &Circuit,
        pos: usize,
        binding: Option<&ModuleArgSpec>,
    ) -> Edge {
        let mut text = String::new();
        let mut sym = None;
        if let Some(spec) = binding {
            let (s, fresh) = self.visit(&spec.symbol);
            text.push_str(" ! ");
            text.push_str(&self.ident_text(s, !fresh));
            if fresh {
                text.push_str(&self.line(&spec.symbol));
            }
            let flags = if spec.all_flags_default() { String::new() } else { spec.flags_text() };
            if !flags.is_empty() {
                text.push(' ');
                text.push_str(&flags);
            }
            sym = Some((s, flags));
        }
        if self.opts.comment_arg_names {
            if let Some(cm) = arg_comment(parent, pos) {
                // The printer writes ` # ` and trims the line's trailing spaces, so an
                // empty role (a scalar einsum operand) ends the line with a bare `#`.
                text.push_str(" #");
                if !cm.is_empty() {
                    text.push(' ');
                    text.push_str(&cm);
                }
            }
        }
        Edge { child, text, sym }
    }

    fn line(&self, c: &Circuit) -> String {
        line_info(c, self.opts.shapes_always, self.opts.show_all_named_axes)
    }

    /// `'name'`, `N 'name'`, `N` (first occurrence) or `N Kind` (repeat of an unnamed node).
    fn ident_text(&self, i: usize, repeat: bool) -> String {
        let e = &self.entries[i];
        match (e.ident, e.c.name()) {
            (Ident::Name, name) => quote_name(name.unwrap_or_default()),
            (Ident::Serial(n), Some(name)) => format!("{n} {}", quote_name(name)),
            (Ident::Serial(n), None) if repeat => format!("{n} {}", e.c.kind().name()),
            (Ident::Serial(n), None) => n.to_string(),
        }
    }
}

/// Nodes at or above a DiscreteVar/Symbol named `var`.
fn reaching(roots: &[Circuit], var: &str) -> NodeSet<NodeHash> {
    let mut out = NodeSet::default();
    for c in circuit_ir::traversal::toposort(roots) {
        let here = matches!(c.kind(), Kind::DiscreteVar | Kind::Symbol) && c.name() == Some(var);
        if here || c.children().iter().any(|ch| out.contains(&ch.hash())) {
            out.insert(c.hash());
        }
    }
    out
}

/// Colors and the legend for the chosen colorer.
fn colors(
    roots: &[Circuit],
    entries: &[Entry],
    colorer: &NodeColorer,
) -> (Vec<Option<String>>, Vec<(String, String)>) {
    match colorer {
        NodeColorer::Plain => (vec![None; entries.len()], Vec::new()),
        NodeColorer::Custom(f) => (entries.iter().map(|e| f(&e.c)).collect(), Vec::new()),
        NodeColorer::ByKind => {
            let cols = entries.iter().map(|e| Some(kind_color(e.c.kind()).to_string())).collect();
            let legend = Kind::ALL
                .iter()
                .filter(|k| entries.iter().any(|e| e.c.kind() == **k))
                .map(|k| (k.name().to_string(), kind_color(*k).to_string()))
                .collect();
            (cols, legend)
        }
        NodeColorer::ReachesVar(var) => {
            let set = reaching(roots, var);
            let (on, off) = ("#d62728", "#9a9a9a");
            let cols = entries
                .iter()
                .map(|e| Some(if set.contains(&e.c.hash()) { on } else { off }.to_string()))
                .collect();
            let legend = vec![
                (format!("reaches {var}"), on.to_string()),
                ("does not".to_string(), off.to_string()),
            ];
            (cols, legend)
        }
    }
}

/// The shortest hash prefix (in bytes, at least 8) that tells every entry apart.
fn key_len(entries: &[Entry]) -> usize {
    for n in [8usize, 12, 16, 32] {
        let mut seen = std::collections::HashSet::new();
        if entries.iter().all(|e| seen.insert(e.c.hash().0[..n].to_vec())) {
            return n;
        }
    }
    32
}

fn node_record(w: &Walk<'_>, i: usize, keys: &[String], color: Option<&String>) -> Value {
    let e = &w.entries[i];
    let mut m = Map::new();
    m.insert("i".into(), json!(w.ident_text(i, false)));
    let repeat = w.ident_text(i, true);
    if repeat != w.ident_text(i, false) {
        m.insert("r".into(), json!(repeat));
    }
    m.insert("l".into(), json!(w.line(&e.c)));
    m.insert("k".into(), json!(e.c.kind().name()));
    if let Some(n) = e.c.name() {
        m.insert("q".into(), json!(quote_name(n)));
    }
    m.insert("b".into(), json!(bijective_line_info(&e.c)));
    let children: Vec<Value> = e
        .edges
        .iter()
        .flatten()
        .map(|edge| match &edge.sym {
            None if edge.text.is_empty() => json!(keys[edge.child]),
            None => json!([keys[edge.child], edge.text]),
            Some((s, flags)) => json!([keys[edge.child], edge.text, keys[*s], flags]),
        })
        .collect();
    m.insert("c".into(), Value::Array(children));
    let comments: Vec<String> =
        w.opts.commenters.iter().map(|f| f(&e.c)).filter(|s| !s.is_empty()).collect();
    if !comments.is_empty() {
        // The last text on the line: trailing spaces trimmed, as the printer does.
        let m_text = format!(" # {}", comments.join(" # "));
        m.insert("m".into(), json!(m_text.trim_end_matches(' ')));
    }
    if let Some(col) = color {
        m.insert("col".into(), json!(col));
    }
    m.insert("t".into(), json!(title(&e.c)));
    Value::Object(m)
}

/// Renders circuits as one self-contained HTML page: a collapsible tree with the
/// printer's line text (identifiers as the printer assigns them over all `circuits`),
/// each shared node expanded once (later occurrences link to the first).
///
/// # Errors
/// [`crate::VizError::Json`] if the embedded data cannot be serialized.
pub fn to_html(circuits: &[Circuit], opts: &HtmlOptions) -> Result<String> {
    let mut w = Walk::new(opts, circuits);
    w.run(circuits);
    let n = key_len(&w.entries);
    let keys: Vec<String> = w.entries.iter().map(|e| e.c.hash().hex_prefix(n)).collect();
    let (cols, legend) = colors(circuits, &w.entries, &opts.colorer);
    let mut nodes = Map::new();
    for (i, key) in keys.iter().enumerate() {
        nodes.insert(key.clone(), node_record(&w, i, &keys, cols[i].as_ref()));
    }
    let roots: Vec<&String> =
        circuits.iter().filter_map(|c| w.index.get(&c.hash()).map(|&i| &keys[i])).collect();
    let data = json!({
        "roots": roots,
        "nodes": Value::Object(nodes),
        "opts": {
            "expand": opts.expand_depth,
            "copy": opts.copy_button,
            "legend": legend,
        },
    });
    Ok(page(&opts.title, &json_for_script(&data)?))
}

/// Records uncaught errors, unhandled rejections and `console.error` calls into
/// `#js-errors` (`data-count` attribute plus one line per error), so that a headless
/// browser's dumped DOM tells whether the page ran cleanly. Runs before the viewer.
const ERROR_RECORDER: &str = concat!(
    "<pre id=\"js-errors\" data-count=\"0\" hidden></pre>\n<script>\n(function () {\n",
    "  var box = document.getElementById('js-errors'), n = 0;\n",
    "  function rec(msg) { n += 1; box.setAttribute('data-count', String(n)); ",
    "box.textContent += String(msg) + '\\n'; box.hidden = false; }\n",
    "  window.addEventListener('error', function (e) { rec('error: ' + (e.message || e) + ",
    "(e.lineno ? ' (line ' + e.lineno + ')' : '')); });\n",
    "  window.addEventListener('unhandledrejection', function (e) { rec('unhandled rejection: ' + e.reason); });\n",
    "  var ce = console.error;\n",
    "  console.error = function () { rec('console.error: ' + Array.prototype.join.call(arguments, ' ')); ",
    "return ce.apply(console, arguments); };\n",
    "})();\n</script>\n",
);

fn page(title: &str, data: &str) -> String {
    let title = escape_html(title);
    let mut s = String::with_capacity(data.len() + VIEWER_JS.len() + VIEWER_CSS.len() + 2048);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str(&format!("<title>{title}</title>\n<style>\n{VIEWER_CSS}</style>\n</head>\n"));
    s.push_str("<body>\n");
    s.push_str(ERROR_RECORDER);
    s.push_str("<header id=\"bar\">\n");
    s.push_str(&format!("<strong id=\"page-title\">{title}</strong>\n"));
    s.push_str(concat!(
        "<input id=\"q\" type=\"search\" placeholder=\"search names (regex)\" autocomplete=\"off\">\n",
        "<label title=\"match the whole line (kind, shape, payload), not just the name\">",
        "<input id=\"q-line\" type=\"checkbox\"> line</label>\n",
        "<label title=\"hide rows off the paths to matches\">",
        "<input id=\"q-filter\" type=\"checkbox\"> filter</label>\n",
        "<span id=\"q-count\"></span>\n",
        "<button id=\"expand-all\" type=\"button\">expand all</button>\n",
        "<button id=\"collapse-all\" type=\"button\">collapse</button>\n",
        "<button id=\"copy-all\" type=\"button\" title=\"copy every root as .circ text\">copy .circ</button>\n",
        "<span id=\"stats\"></span>\n<span id=\"legend\"></span>\n</header>\n",
        "<main id=\"tree\"></main>\n<pre id=\"copy-out\" hidden></pre>\n<div id=\"toast\"></div>\n",
    ));
    s.push_str("<script type=\"application/json\" id=\"circuit-data\">");
    s.push_str(data);
    s.push_str("</script>\n<script>\n");
    s.push_str(VIEWER_JS);
    s.push_str("</script>\n</body>\n</html>\n");
    s
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
