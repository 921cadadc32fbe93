//! The printer: one pass over the circuits in pre-order, writing into a single buffer
//! (linear in the output size, even for a node with many children).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use circuit_ir::kinds::ModuleArgSpec;
use circuit_ir::{Circuit, NodeHash, Op};
use circuit_tensor::TensorStore;

use crate::format::{child_arg_comment, format_payload, format_shape_named, shape_is_necessary};
use crate::lexer::quote_name;
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
        Ok(p.out)
    }
}

/// Prints with default options.
///
/// # Errors
/// See [`PrintOptions::repr`].
pub fn print_circuits(circuits: &[Circuit]) -> Result<String, PrintError> {
    PrintOptions::default().repr(circuits)
}

struct Printer<'a> {
    opts: &'a PrintOptions,
    out: String,
    name_counts: HashMap<&'a str, usize>,
    printed: HashMap<NodeHash, String>,
    next_serial: u64,
    saved: HashSet<circuit_tensor::TensorHash>,
    _roots: &'a [Circuit],
}

enum Work {
    Node {
        c: Circuit,
        depth: usize,
        lead: String,
        cont: String,
        binding: Option<ModuleArgSpec>,
        comment: Option<String>,
    },
    Marker(String),
}

impl<'a> Printer<'a> {
    fn new(opts: &'a PrintOptions, roots: &'a [Circuit]) -> Printer<'a> {
        let mut name_counts: HashMap<&'a str, usize> = HashMap::new();
        // Distinct nodes, including module argument symbols (they print too).
        let mut seen: HashSet<NodeHash> = HashSet::new();
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
            out: String::new(),
            name_counts,
            printed: HashMap::new(),
            next_serial: 0,
            saved: HashSet::new(),
            _roots: roots,
        }
    }

    fn print_all(&mut self, roots: &[Circuit]) -> Result<(), PrintError> {
        let mut stack: Vec<Work> = roots
            .iter()
            .rev()
            .map(|r| Work::Node {
                c: r.clone(),
                depth: 0,
                lead: String::new(),
                cont: String::new(),
                binding: None,
                comment: None,
            })
            .collect();
        while let Some(w) = stack.pop() {
            match w {
                Work::Marker(text) => self.push_line(&text),
                Work::Node { c, depth, lead, cont, binding, comment } => {
                    self.node(&c, depth, &lead, &cont, binding.as_ref(), comment, &mut stack)?;
                }
            }
        }
        Ok(())
    }

    fn push_line(&mut self, line: &str) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out.push_str(line.trim_end());
    }

    fn fresh_ident(&mut self, c: &Circuit) -> String {
        let unique = c.name().is_some_and(|n| self.name_counts.get(n).copied() == Some(1));
        if unique && !self.opts.force_use_serial_numbers {
            return quote_name(c.name().unwrap_or_default());
        }
        let n = self.next_serial;
        self.next_serial += 1;
        match c.name() {
            Some(name) => format!("{n} {}", quote_name(name)),
            None => format!("{n}"),
        }
    }

    fn line_info(&mut self, c: &Circuit) -> Result<String, PrintError> {
        let mut s = String::new();
        if self.opts.bijection && !c.flags().use_autoname() {
            s.push_str(" AD");
        }
        let show_shape = !self.opts.shape_only_when_necessary
            || shape_is_necessary(c.kind())
            || (self.opts.show_all_named_axes && !c.named_axes().is_empty());
        if show_shape {
            s.push(' ');
            s.push_str(&format_shape_named(c));
        }
        s.push(' ');
        s.push_str(c.kind().name());
        let payload = format_payload(c, self.opts.bijection);
        if !payload.is_empty() {
            s.push(' ');
            s.push_str(&payload);
        }
        if self.opts.bijection {
            self.save_tensors(c)?;
        }
        Ok(s)
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

    /// The text after ` ! ` for a module argument.
    fn binding_text(&mut self, spec: &ModuleArgSpec) -> Result<String, PrintError> {
        let sym = &spec.symbol;
        let mut s = match self.printed.get(&sym.hash()) {
            Some(id) => id.clone(),
            None => {
                let id = self.fresh_ident(sym);
                let info = self.line_info(sym)?;
                self.printed.insert(sym.hash(), repeat_ident(&id, sym));
                format!("{id}{info}")
            }
        };
        if !spec.all_flags_default() {
            s.push(' ');
            s.push_str(&spec.flags_text());
        }
        Ok(s)
    }

    fn decorate(&self, c: &Circuit, mut line: String, comment: Option<String>) -> String {
        if let Some(cm) = comment {
            let _ = write!(line, " # {cm}");
        }
        for f in &self.opts.commenters {
            let text = f(c);
            if !text.is_empty() {
                let _ = write!(line, " # {text}");
            }
        }
        line
    }

    #[allow(clippy::too_many_arguments)]
    fn node(
        &mut self,
        c: &Circuit,
        depth: usize,
        lead: &str,
        cont: &str,
        binding: Option<&ModuleArgSpec>,
        comment: Option<String>,
        stack: &mut Vec<Work>,
    ) -> Result<(), PrintError> {
        let color = self.opts.colorer.as_ref().and_then(|f| f(c));
        let mut body = String::new();
        let mut expand = false;
        if let Some(id) = self.opts.reference_circuits.get(c) {
            body.push_str(&quote_name(id));
        } else if let Some(id) = self.printed.get(&c.hash()) {
            body.push_str(id);
        } else {
            let id = self.fresh_ident(c);
            let info = self.line_info(c)?;
            self.printed.insert(c.hash(), repeat_ident(&id, c));
            body.push_str(&id);
            body.push_str(&info);
            expand = true;
        }
        if let Some(spec) = binding {
            body.push_str(" ! ");
            let b = self.binding_text(spec)?;
            body.push_str(&b);
        }
        let children = c.children();
        let descend = expand
            && !children.is_empty()
            && self.opts.traversal.as_ref().is_none_or(|t| t(c, depth));
        if expand && !children.is_empty() && !descend {
            body.push_str(" ...");
        }
        let body = self.decorate(c, body, comment);
        let body = match color {
            Some(col) => format!("\x1b[{}m{body}\x1b[0m", col.ansi()),
            None => body,
        };
        self.push_line(&format!("{lead}{body}"));
        if !descend {
            return Ok(());
        }
        let arg_specs: Option<&[ModuleArgSpec]> = match c.op() {
            Op::Module(m) => Some(&m.arg_specs),
            _ => None,
        };
        let n = children.len();
        let only_child = self.opts.only_child_below && n == 1;
        let mut items = Vec::with_capacity(n + 1);
        if only_child {
            items.push(Work::Marker(format!("{cont}▼")));
        }
        for (i, child) in children.iter().enumerate() {
            let last = i + 1 == n;
            let (child_lead, child_cont) = if only_child {
                (cont.to_string(), cont.to_string())
            } else if self.opts.arrows {
                (
                    format!("{cont}{}", if last { "└‣" } else { "├‣" }),
                    format!("{cont}{}", if last { "  " } else { "│ " }),
                )
            } else {
                let l = format!("{cont}  ");
                (l.clone(), l)
            };
            let binding = match (arg_specs, i) {
                (Some(specs), i) if i >= 1 => specs.get(i - 1).cloned(),
                _ => None,
            };
            let comment = if self.opts.comment_arg_names { child_arg_comment(c, i) } else { None };
            items.push(Work::Node {
                c: child.clone(),
                depth: depth + 1,
                lead: child_lead,
                cont: child_cont,
                binding,
                comment,
            });
        }
        stack.extend(items.into_iter().rev());
        Ok(())
    }
}

/// How a later occurrence refers back: the identifier, or `N Kind` for unnamed nodes.
fn repeat_ident(id: &str, c: &Circuit) -> String {
    if c.name().is_none() {
        format!("{id} {}", c.kind().name())
    } else {
        id.to_string()
    }
}
