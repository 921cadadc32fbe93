//! Circuit diff, aligned node by node (rust_circuit's `diff_circuits`).
//!
//! `new` and `old` are walked in parallel. Equal subtrees print once, in full, marked
//! `# same <id>`. Nodes whose own content (kind, payload, shape, name and child count) is
//! equal print only their line, marked `# changed <id>`, and the walk continues pairwise
//! into their children. Anything else prints the whole `new` subtree (green, `+`)
//! followed by the whole `old` subtree (red, `-`). A pair met again prints only its id.

use std::collections::HashMap;

use circuit_ir::{Circuit, NodeHash};

use crate::format::{format_payload, format_shape_named};
use crate::printer::PrintOptions;

/// Options for [`diff_circuits`].
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Nodes with different child counts are "different", not "changed".
    pub require_child_count_same: bool,
    /// Nodes whose children have different shapes are "different".
    pub require_child_shapes_same: bool,
    /// Nodes with different names are "different".
    pub require_name_same: bool,
    /// End with a line explaining the colors/markers.
    pub print_legend: bool,
    /// Use ANSI colors (for terminals); otherwise only the `+`/`-` and `#` markers.
    pub color: bool,
}

impl Default for DiffOptions {
    fn default() -> DiffOptions {
        DiffOptions {
            require_child_count_same: true,
            require_child_shapes_same: false,
            require_name_same: true,
            print_legend: true,
            color: false,
        }
    }
}

const BLUE: &str = "\x1b[34m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// The local identity of a node: everything but its children's contents.
fn self_key(c: &Circuit, opts: &DiffOptions) -> String {
    let mut key =
        format!("{}|{}|{}", c.kind().name(), format_payload(c, true), format_shape_named(c));
    if opts.require_name_same {
        key.push('|');
        key.push_str(c.name().unwrap_or("\u{0}"));
    }
    if opts.require_child_count_same {
        key.push_str(&format!("|{}", c.children().len()));
    }
    if opts.require_child_shapes_same {
        for ch in c.children() {
            key.push_str(&format_shape_named(ch));
        }
    }
    key
}

fn line_of(c: &Circuit) -> String {
    let name = c.name().map_or_else(|| format!("<{}>", c.kind().name()), crate::quote_name);
    let payload = format_payload(c, false);
    let mut s = format!("{name} {} {}", format_shape_named(c), c.kind().name());
    if !payload.is_empty() {
        s.push(' ');
        s.push_str(&payload);
    }
    s
}

struct Differ<'a> {
    opts: &'a DiffOptions,
    out: Vec<String>,
    ids: HashMap<(NodeHash, NodeHash), usize>,
    differences: bool,
}

impl Differ<'_> {
    fn paint(&self, color: &str, text: String) -> String {
        if self.opts.color {
            format!("{color}{text}{RESET}")
        } else {
            text
        }
    }

    fn full(&mut self, c: &Circuit, depth: usize, mark: &str, color: &str, suffix: &str) {
        let printed = PrintOptions {
            bijection: false,
            shape_only_when_necessary: false,
            ..PrintOptions::default()
        }
        .repr(std::slice::from_ref(c))
        .unwrap_or_else(|e| format!("<unprintable: {e}>"));
        let pad = "  ".repeat(depth);
        for (i, line) in printed.lines().enumerate() {
            let tail = if i == 0 { suffix } else { "" };
            let text = format!("{mark}{pad}{line}{tail}");
            self.out.push(self.paint(color, text));
        }
    }

    fn diff(&mut self, new: &Circuit, old: &Circuit) {
        // An explicit stack: circuits can be deep.
        let mut stack: Vec<(Circuit, Circuit, usize)> = vec![(new.clone(), old.clone(), 0)];
        while let Some((n, o, depth)) = stack.pop() {
            let key = (n.hash(), o.hash());
            if let Some(&id) = self.ids.get(&key) {
                let pad = "  ".repeat(depth);
                let text = format!(" {pad}{} # see {id}", line_of(&n));
                self.out.push(text);
                continue;
            }
            let id = self.ids.len();
            self.ids.insert(key, id);
            if n == o {
                self.full(&n, depth, " ", BLUE, &format!(" # same {id}"));
                continue;
            }
            self.differences = true;
            if self_key(&n, self.opts) == self_key(&o, self.opts)
                && n.children().len() == o.children().len()
            {
                let pad = "  ".repeat(depth);
                let text = format!("~{pad}{} # changed {id}", line_of(&n));
                self.out.push(self.paint(BLUE, text));
                for (cn, co) in n.children().iter().zip(o.children()).rev() {
                    stack.push((cn.clone(), co.clone(), depth + 1));
                }
            } else {
                self.full(&n, depth, "+", GREEN, &format!(" # new {id}"));
                self.full(&o, depth, "-", RED, &format!(" # removed {id}"));
            }
        }
    }
}

/// The result of a diff: the rendered text and whether anything differed.
#[derive(Debug, Clone)]
pub struct Diff {
    /// The rendered diff.
    pub text: String,
    /// Whether the circuits differ.
    pub differs: bool,
}

/// Diffs `new` against `old`, root by root (extra roots on either side are new/removed).
pub fn diff_circuits(new: &[Circuit], old: &[Circuit], opts: &DiffOptions) -> Diff {
    let mut d =
        Differ { opts, out: Vec::new(), ids: HashMap::new(), differences: new.len() != old.len() };
    for (n, o) in new.iter().zip(old) {
        d.diff(n, o);
    }
    for n in new.iter().skip(old.len()) {
        d.full(n, 0, "+", GREEN, " # new root");
    }
    for o in old.iter().skip(new.len()) {
        d.full(o, 0, "-", RED, " # removed root");
    }
    if opts.print_legend && d.differences {
        let legend = if opts.color {
            format!("{BLUE}same / changed{RESET}  {GREEN}+ new{RESET}  {RED}- removed{RESET}")
        } else {
            "legend: ' ' same, '~' children changed, '+' new, '-' removed".to_string()
        };
        d.out.push(legend);
    }
    Diff { text: d.out.join("\n"), differs: d.differences }
}
