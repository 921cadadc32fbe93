//! The printer: one pass over the circuits in pre-order, writing into a single buffer
//! (linear in the output size, even for a node with many children).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use circuit_ir::kinds::ModuleArgSpec;
use circuit_ir::{BuildNodeHasher, Circuit, NodeHash, NodeMap, NodeSet, Op};
use circuit_tensor::TensorStore;

use crate::format::{
    child_arg_comment, shape_is_necessary, write_payload, write_shape_named, write_usize,
};
use crate::lexer::push_quoted;
use crate::PrintError;

/// A terminal color for [`PrintOptions::colorer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Color {
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    White,
    /// One of 14 ANSI codes by index (31–36, 90–97), as rust_circuit's integer colors.
    Index(u8),
}

impl Color {
    fn ansi(self) -> u8 {
        const CODES: [u8; 14] = [31, 32, 33, 34, 35, 36, 90, 91, 92, 93, 94, 95, 96, 97];
        match self {
            Color::Red => 31,
            Color::Green => 32,
            Color::Yellow => 33,
            Color::Blue => 34,
            Color::Magenta => 35,
            Color::Cyan => 36,
            Color::White => 97,
            Color::Index(i) => CODES[usize::from(i) % CODES.len()],
        }
    }
}

/// Chooses a color per node.
pub type Colorer = Arc<dyn Fn(&Circuit) -> Option<Color> + Send + Sync>;
/// Produces a comment per node (empty: none).
pub type Commenter = Arc<dyn Fn(&Circuit) -> String + Send + Sync>;
/// Decides whether to print a node's children: `(node, depth) -> continue`.
pub type Traversal = Arc<dyn Fn(&Circuit, usize) -> bool + Send + Sync>;

/// Printer options. The defaults give rust_circuit's default ("bijection") output, which
/// parses back to equal circuits.
#[derive(Clone)]
pub struct PrintOptions {
    /// Parseable output (quoted names, `AD`, array hashes, serialized specs).
    pub bijection: bool,
    /// Print shapes only where the kind needs them (Scalar, Symbol, Array, Index, Scatter,
    /// SetSymbolicShape).
    pub shape_only_when_necessary: bool,
    /// Give every node a serial number (names still follow it).
    pub force_use_serial_numbers: bool,
    /// Tree drawing with `├‣`, `└‣` and `│`.
    pub arrows: bool,
    /// A node with exactly one child prints `▼` and the child at the same indentation.
    pub only_child_below: bool,
    /// Comment each child with its role (einsum axes, `Spec`, `Values`, ...).
    pub comment_arg_names: bool,
    /// Print the shape of every node that has named axes.
    pub show_all_named_axes: bool,
    /// Only print below nodes where this returns true (not bijective; truncated nodes end
    /// with ` ...`).
    pub traversal: Option<Traversal>,
    /// Colors lines (ANSI escapes).
    pub colorer: Option<Colorer>,
    /// Appends ` # comment` per commenter.
    pub commenters: Vec<Commenter>,
    /// Circuits printed as these identifiers (and not expanded).
    pub reference_circuits: HashMap<Circuit, String>,
    /// In bijection mode, save every Array and index tensor to this store.
    pub save_tensors: Option<TensorStore>,
}

impl Default for PrintOptions {
    fn default() -> PrintOptions {
        PrintOptions {
            bijection: true,
            shape_only_when_necessary: true,
            force_use_serial_numbers: false,
            arrows: false,
            only_child_below: false,
            comment_arg_names: false,
            show_all_named_axes: false,
            traversal: None,
            colorer: None,
            commenters: Vec::new(),
            reference_circuits: HashMap::new(),
            save_tensors: None,
        }
    }
}

impl std::fmt::Debug for PrintOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintOptions")
            .field("bijection", &self.bijection)
            .field("shape_only_when_necessary", &self.shape_only_when_necessary)
            .field("force_use_serial_numbers", &self.force_use_serial_numbers)
            .field("arrows", &self.arrows)
            .field("only_child_below", &self.only_child_below)
            .finish_non_exhaustive()
    }
}

impl PrintOptions {
    /// Debug output: not bijective, shapes everywhere, children only to `end_depth`.
    pub fn debug(end_depth: usize) -> PrintOptions {
        PrintOptions {
            bijection: false,
            shape_only_when_necessary: false,
            traversal: Some(Arc::new(move |_, depth| depth + 1 < end_depth)),
            ..PrintOptions::default()
        }
    }

    fn validate(&self) -> Result<(), PrintError> {
        if self.bijection && self.traversal.is_some() {
            return Err(PrintError::InvalidOptions(
                "a traversal truncates output, so it cannot be combined with bijection".into(),
            ));
        }
        Ok(())
    }

    /// Prints circuits (several roots share identifiers).
    ///
    /// # Errors
    /// Invalid option combinations; tensor saving failures.
    pub fn repr(&self, circuits: &[Circuit]) -> Result<String, PrintError> {
        self.validate()?;
        let mut p = Printer::new(self, circuits);
        p.print_all(circuits)?;
        Ok(p.finish())
    }
}

/// Prints with default options.
///
/// # Errors
/// See [`PrintOptions::repr`].
pub fn print_circuits(circuits: &[Circuit]) -> Result<String, PrintError> {
    PrintOptions::default().repr(circuits)
}

/// How a node is referred to after its first line.
#[derive(Clone, Copy)]
enum Ident {
    /// Its (unique) quoted name.
    Name,
    /// A serial number (followed by the quoted name when the node has one).
    Serial(u64),
}

struct Printer<'a> {
    opts: &'a PrintOptions,
    out: String,
    name_counts: HashMap<&'a str, usize, BuildNodeHasher>,
    printed: NodeMap<NodeHash, Ident>,
    next_serial: u64,
    saved: HashSet<circuit_tensor::TensorHash>,
    /// Continuation segments of the current path: a line's prefix is the concatenation of
    /// its parent's segments followed by its connector.
    segs: Vec<&'static str>,
}

/// Where a line sits relative to its parent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Root,
    Child { last: bool },
    OnlyChild,
}

enum Work {
    Node {
        c: Circuit,
        depth: usize,
        n_segs: usize,
        place: Place,
        binding: Option<ModuleArgSpec>,
        comment: Option<String>,
    },
    Marker(usize),
}

impl<'a> Printer<'a> {
    fn new(opts: &'a PrintOptions, roots: &'a [Circuit]) -> Printer<'a> {
        let mut name_counts: HashMap<&'a str, usize, BuildNodeHasher> = HashMap::default();
        // Distinct nodes, including module argument symbols (they print too).
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
        Printer {
            opts,
            out: String::with_capacity(seen.len() * 32),
            name_counts,
            printed: NodeMap::default(),
            next_serial: 0,
            saved: HashSet::new(),
            segs: Vec::new(),
        }
    }

    fn print_all(&mut self, roots: &[Circuit]) -> Result<(), PrintError> {
        let mut stack: Vec<Work> = roots
            .iter()
            .rev()
            .map(|r| Work::Node {
                c: r.clone(),
                depth: 0,
                n_segs: 0,
                place: Place::Root,
                binding: None,
                comment: None,
            })
            .collect();
        while let Some(w) = stack.pop() {
            match w {
                Work::Marker(n_segs) => {
                    self.start_line(n_segs);
                    self.out.push('▼');
                }
                Work::Node { c, depth, n_segs, place, binding, comment } => {
                    self.node(&c, depth, n_segs, place, binding.as_ref(), comment, &mut stack)?;
                }
            }
        }
        Ok(())
    }

    /// Ends the previous line (trimming trailing spaces) and writes the prefix made of the
    /// first `n_segs` segments.
    fn start_line(&mut self, n_segs: usize) {
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.segs.truncate(n_segs);
        for seg in &self.segs {
            self.out.push_str(seg);
        }
    }

    fn fresh_ident(&mut self, c: &Circuit) -> Ident {
        let unique = c.name().is_some_and(|n| self.name_counts.get(n).copied() == Some(1));
        if unique && !self.opts.force_use_serial_numbers {
            return Ident::Name;
        }
        let n = self.next_serial;
        self.next_serial += 1;
        Ident::Serial(n)
    }

    fn check_name(&self, c: &Circuit) -> Result<(), PrintError> {
        match c.name() {
            Some(n) if self.opts.bijection && n.contains(['\n', '\r']) => {
                Err(PrintError::Unprintable(format!(
                    "the name {n:?} contains a line break, which the line format cannot hold"
                )))
            }
            _ => Ok(()),
        }
    }

    fn write_ident(&mut self, c: &Circuit, id: Ident, repeat: bool) {
        match id {
            Ident::Name => push_quoted(&mut self.out, c.name().unwrap_or_default()),
            Ident::Serial(n) => {
                write_usize(&mut self.out, n as usize);
                match c.name() {
                    Some(name) => {
                        self.out.push(' ');
                        push_quoted(&mut self.out, name);
                    }
                    None if repeat => {
                        self.out.push(' ');
                        self.out.push_str(c.kind().name());
                    }
                    None => {}
                }
            }
        }
    }

    fn write_line_info(&mut self, c: &Circuit) -> Result<(), PrintError> {
        if self.opts.bijection && !c.flags().use_autoname() {
            self.out.push_str(" AD");
        }
        let show_shape = !self.opts.shape_only_when_necessary
            || shape_is_necessary(c.kind())
            || (self.opts.show_all_named_axes && !c.named_axes().is_empty())
            || (self.opts.bijection
                && !c.named_axes().is_empty()
                && c.inherited_named_axes() != *c.named_axes());
        if show_shape {
            self.out.push(' ');
            write_shape_named(&mut self.out, c);
        }
        self.out.push(' ');
        self.out.push_str(c.kind().name());
        let before = self.out.len();
        self.out.push(' ');
        write_payload(&mut self.out, c, self.opts.bijection);
        if self.out.len() == before + 1 {
            self.out.truncate(before);
        }
        if self.opts.bijection {
            self.save_tensors(c)?;
        }
        Ok(())
    }

    fn save_tensors(&mut self, c: &Circuit) -> Result<(), PrintError> {
        let Some(store) = &self.opts.save_tensors else { return Ok(()) };
        let mut tensors = Vec::new();
        match c.op() {
            Op::Array(a)
                if !self.saved.contains(&a.tensor_hash()) && !store.contains(&a.tensor_hash()) =>
            {
                tensors.push(
                    a.tensor()
                        .map_err(|source| PrintError::LoadTensor { node: c.node_ref(), source })?,
                );
            }
            Op::Index(i) => tensors.extend(i.index.iter().filter_map(|e| match e {
                circuit_ir::kinds::TensorAxisIndex::Tensor(t) => Some(t.tensor().clone()),
                _ => None,
            })),
            _ => {}
        }
        for t in tensors {
            let h = t.hash();
            if self.saved.insert(h) {
                store
                    .save(&t)
                    .map_err(|source| PrintError::SaveTensor { node: c.node_ref(), source })?;
            }
        }
        Ok(())
    }

    /// Writes ` ! <symbol> [flags]` for a module argument.
    fn write_binding(&mut self, spec: &ModuleArgSpec) -> Result<(), PrintError> {
        let sym = &spec.symbol;
        self.out.push_str(" ! ");
        match self.printed.get(&sym.hash()).copied() {
            Some(id) => self.write_ident(sym, id, true),
            None => {
                self.check_name(sym)?;
                let id = self.fresh_ident(sym);
                self.printed.insert(sym.hash(), id);
                self.write_ident(sym, id, false);
                self.write_line_info(sym)?;
            }
        }
        if !spec.all_flags_default() {
            self.out.push(' ');
            self.out.push_str(&spec.flags_text());
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn node(
        &mut self,
        c: &Circuit,
        depth: usize,
        n_segs: usize,
        place: Place,
        binding: Option<&ModuleArgSpec>,
        comment: Option<String>,
        stack: &mut Vec<Work>,
    ) -> Result<(), PrintError> {
        self.start_line(n_segs);
        let (connector, seg) = match place {
            Place::Root => ("", ""),
            Place::OnlyChild => ("", ""),
            Place::Child { last } if self.opts.arrows => {
                if last {
                    ("└‣", "  ")
                } else {
                    ("├‣", "│ ")
                }
            }
            Place::Child { .. } => ("  ", "  "),
        };
        self.out.push_str(connector);
        if place != Place::Root {
            self.segs.push(seg);
        }
        let color = self.opts.colorer.as_ref().and_then(|f| f(c));
        if let Some(col) = color {
            self.out.push_str(&format!("\x1b[{}m", col.ansi()));
        }
        let mut expand = false;
        if let Some(id) = self.opts.reference_circuits.get(c) {
            push_quoted(&mut self.out, id);
        } else if let Some(id) = self.printed.get(&c.hash()).copied() {
            self.write_ident(c, id, true);
        } else {
            self.check_name(c)?;
            let id = self.fresh_ident(c);
            self.printed.insert(c.hash(), id);
            self.write_ident(c, id, false);
            self.write_line_info(c)?;
            expand = true;
        }
        if let Some(spec) = binding {
            self.write_binding(spec)?;
        }
        let children = c.children();
        let descend = expand
            && !children.is_empty()
            && self.opts.traversal.as_ref().is_none_or(|t| t(c, depth));
        if expand && !children.is_empty() && !descend {
            self.out.push_str(" ...");
        }
        if let Some(cm) = comment {
            self.out.push_str(" # ");
            self.out.push_str(&cm);
        }
        for f in &self.opts.commenters {
            let text = f(c);
            if !text.is_empty() {
                self.out.push_str(" # ");
                self.out.push_str(&text);
            }
        }
        if color.is_some() {
            self.out.push_str("\x1b[0m");
        }
        if !descend {
            return Ok(());
        }
        self.push_children(c, depth, stack);
        Ok(())
    }

    /// Queues the children of an expanded node (in reverse, so they pop in order).
    fn push_children(&mut self, c: &Circuit, depth: usize, stack: &mut Vec<Work>) {
        let my_segs = self.segs.len();
        let children = c.children();
        let arg_specs: Option<&[ModuleArgSpec]> = match c.op() {
            Op::Module(m) => Some(&m.arg_specs),
            _ => None,
        };
        let n = children.len();
        let only_child = self.opts.only_child_below && n == 1;
        for (i, child) in children.iter().enumerate().rev() {
            let place =
                if only_child { Place::OnlyChild } else { Place::Child { last: i + 1 == n } };
            let binding = match (arg_specs, i) {
                (Some(specs), i) if i >= 1 => specs.get(i - 1).cloned(),
                _ => None,
            };
            let comment = if self.opts.comment_arg_names { child_arg_comment(c, i) } else { None };
            stack.push(Work::Node {
                c: child.clone(),
                depth: depth + 1,
                n_segs: my_segs,
                place,
                binding,
                comment,
            });
        }
        if only_child {
            stack.push(Work::Marker(my_segs));
        }
    }

    fn finish(mut self) -> String {
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        self.out
    }
}
