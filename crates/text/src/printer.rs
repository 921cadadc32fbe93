//! The printer: one pass over the circuits in pre-order, writing into a single buffer
//! (linear in the output size, even for a node with many children).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use circuit_ir::kinds::ModuleArgSpec;
use circuit_ir::{Circuit, Op};
use circuit_tensor::TensorStore;

use crate::format::{child_arg_comment, shape_is_necessary, write_payload, write_shape_named};
use crate::out::Out;
use crate::table::{hash_str, IndexTable};
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
        let mut p = Printer::new(self);
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

/// What the printer knows of one distinct node (kept small: there is one per node).
struct Slot<'a> {
    node: &'a Circuit,
    /// Index into `Printer::name_counts` (`NO_NAME` for an unnamed node).
    name: u32,
    /// Decided when the identifiers are filled in (once every name is counted).
    ident: Option<Ident>,
}

impl Slot<'_> {
    /// Whether this slot is for `c` (the same allocation, or an equal node).
    fn is(&self, c: &Circuit) -> bool {
        self.node.ptr_eq(c) || self.node.hash() == c.hash()
    }
}

const NO_NAME: u32 = u32::MAX;

/// A node's table key: the first 8 bytes of its hash (already uniformly distributed).
fn node_key(c: &Circuit) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&c.hash().0[..8]);
    u64::from_le_bytes(b)
}

/// Prints in one pass. Whether a node is referred to by its name or by a serial number
/// depends on whether its name is unique among all the distinct nodes, which is known
/// only at the end; so each identifier is written as its quoted name (or nothing) after
/// a *hole* where a serial number may go, and the holes are filled at the end (most
/// often there is nothing to fill, and the text is done).
struct Printer<'a> {
    opts: &'a PrintOptions,
    out: Out,
    /// Every distinct node seen (module argument symbols included): its index in
    /// `slots`, by content hash.
    index: IndexTable,
    slots: Vec<Slot<'a>>,
    /// Distinct names (by index into `name_strs`) and how many distinct nodes carry each.
    names: IndexTable,
    name_strs: Vec<&'a str>,
    name_counts: Vec<u32>,
    /// `(position in out, slot)` of each identifier, in order.
    holes: Vec<(usize, u32)>,
    /// Nodes not printed (references, below a traversal's cut, symbols without an
    /// argument) whose names count all the same.
    unprinted: Vec<&'a Circuit>,
    saved: HashSet<circuit_tensor::TensorHash>,
    /// The continuation segments of the current path, concatenated (a line's prefix is
    /// its parent's segments followed by its connector), and where each segment ends.
    prefix: String,
    seg_ends: Vec<usize>,
}

/// Where a line sits relative to its parent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Root,
    Child { last: bool },
    OnlyChild,
}

enum Work<'a> {
    Node {
        c: &'a Circuit,
        depth: usize,
        n_segs: usize,
        place: Place,
        binding: Option<&'a ModuleArgSpec>,
        comment: Option<String>,
    },
    Marker(usize),
}

impl<'a> Printer<'a> {
    fn new(opts: &'a PrintOptions) -> Printer<'a> {
        Printer {
            opts,
            out: Out::with_capacity(1 << 12),
            index: IndexTable::with_capacity(256),
            slots: Vec::new(),
            names: IndexTable::with_capacity(256),
            name_strs: Vec::new(),
            name_counts: Vec::new(),
            holes: Vec::new(),
            unprinted: Vec::new(),
            saved: HashSet::new(),
            prefix: String::new(),
            seg_ends: Vec::new(),
        }
    }

    fn print_all(&mut self, roots: &'a [Circuit]) -> Result<(), PrintError> {
        let mut stack: Vec<Work<'a>> = roots
            .iter()
            .rev()
            .map(|r| Work::Node {
                c: r,
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
                    self.node(c, depth, n_segs, place, binding, comment, &mut stack)?;
                }
            }
        }
        // Count the names of everything reachable that was not printed.
        while let Some(c) = self.unprinted.pop() {
            if self.slot_of(c).1 {
                self.queue_unprinted_children(c);
            }
        }
        Ok(())
    }

    /// The slot of a node, and whether it is new (its name is counted then).
    fn slot_of(&mut self, c: &'a Circuit) -> (u32, bool) {
        let new = self.slots.len();
        let slots = &self.slots;
        if let Some(i) = self.index.find_or_insert(node_key(c), new, |i| slots[i].is(c)) {
            return (i as u32, false);
        }
        let name = match c.name() {
            Some(n) => {
                let next = self.name_strs.len();
                let strs = &self.name_strs;
                match self.names.find_or_insert(hash_str(n), next, |i| strs[i] == n) {
                    Some(i) => {
                        self.name_counts[i] += 1;
                        i as u32
                    }
                    None => {
                        self.name_strs.push(n);
                        self.name_counts.push(1);
                        next as u32
                    }
                }
            }
            None => NO_NAME,
        };
        self.slots.push(Slot { node: c, name, ident: None });
        (new as u32, true)
    }

    /// Queues what is below a node that is not printed (for counting names).
    fn queue_unprinted_children(&mut self, c: &'a Circuit) {
        if let Op::Module(m) = c.op() {
            self.unprinted.extend(m.arg_specs.iter().map(|a| &a.symbol));
        }
        self.unprinted.extend(c.children().iter());
    }

    /// Ends the previous line (trimming trailing spaces) and writes the prefix made of the
    /// first `n_segs` segments.
    fn start_line(&mut self, n_segs: usize) {
        self.out.reserve_line();
        self.trim_trailing_spaces();
        if !self.out.is_empty() {
            self.out.push_ascii(b'\n');
        }
        if n_segs < self.seg_ends.len() {
            self.seg_ends.truncate(n_segs);
            self.prefix.truncate(self.seg_ends.last().copied().unwrap_or(0));
        }
        self.out.push_str(&self.prefix);
    }

    /// Trims spaces at the end of the output, never into an identifier's hole.
    fn trim_trailing_spaces(&mut self) {
        let floor = self.holes.last().map_or(0, |h| h.0);
        self.out.trim_trailing_spaces_to(floor);
    }

    fn push_seg(&mut self, seg: &str) {
        self.prefix.push_str(seg);
        self.seg_ends.push(self.prefix.len());
    }

    fn check_name(&self, c: &Circuit) -> Result<(), PrintError> {
        match c.name() {
            Some(n) if self.opts.bijection && n.bytes().any(|b| b == b'\n' || b == b'\r') => {
                Err(PrintError::Unprintable(format!(
                    "the name {n:?} contains a line break, which the line format cannot hold"
                )))
            }
            _ => Ok(()),
        }
    }

    /// Writes a node's identifier: a hole for its serial number, then its quoted name
    /// (or, for an unnamed node after its first line, its kind). On the node's first
    /// line, writes the rest of the line too. Returns whether it was the first line.
    fn write_node_ident(&mut self, c: &'a Circuit) -> Result<bool, PrintError> {
        let (slot, fresh) = self.slot_of(c);
        self.holes.push((self.out.len(), slot));
        match c.name() {
            Some(name) => {
                // One scan: a name needs escapes, or (on its first line) is unprintable.
                if name.bytes().any(|b| matches!(b, b'\\' | b'\'' | b'\n' | b'\r')) {
                    if fresh {
                        self.check_name(c)?;
                    }
                    self.out.push_quoted(name);
                } else {
                    self.out.push_ascii(b'\'');
                    self.out.push_str(name);
                    self.out.push_ascii(b'\'');
                }
            }
            None if !fresh => {
                self.out.push_ascii(b' ');
                self.out.push_str(c.kind().name());
            }
            None => {}
        }
        if fresh {
            self.write_line_info(c)?;
        }
        Ok(fresh)
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
    fn write_binding(&mut self, spec: &'a ModuleArgSpec) -> Result<(), PrintError> {
        let sym = &spec.symbol;
        self.out.push_str(" ! ");
        if self.write_node_ident(sym)? {
            // A symbol has no children; count whatever is there all the same.
            self.queue_unprinted_children(sym);
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
        c: &'a Circuit,
        depth: usize,
        n_segs: usize,
        place: Place,
        binding: Option<&'a ModuleArgSpec>,
        comment: Option<String>,
        stack: &mut Vec<Work<'a>>,
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
            self.push_seg(seg);
        }
        let color = self.opts.colorer.as_ref().and_then(|f| f(c));
        if let Some(col) = color {
            self.out.push_str(&format!("\x1b[{}m", col.ansi()));
        }
        let expand = if let Some(id) = self.opts.reference_circuits.get(c) {
            self.out.push_quoted(id);
            self.unprinted.push(c);
            false
        } else {
            self.write_node_ident(c)?
        };
        if let Some(spec) = binding {
            self.write_binding(spec)?;
        }
        let children = c.children();
        let descend = expand
            && !children.is_empty()
            && self.opts.traversal.as_ref().is_none_or(|t| t(c, depth));
        if expand && !children.is_empty() && !descend {
            self.out.push_str(" ...");
            self.queue_unprinted_children(c);
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
    fn push_children(&mut self, c: &'a Circuit, depth: usize, stack: &mut Vec<Work<'a>>) {
        let my_segs = self.seg_ends.len();
        let children = c.children();
        let arg_specs: Option<&'a [ModuleArgSpec]> = match c.op() {
            Op::Module(m) => Some(&m.arg_specs),
            _ => None,
        };
        let n = children.len();
        if let Some(specs) = arg_specs {
            // Symbols without an argument line are not printed, but their names count.
            self.unprinted.extend(specs.iter().skip(n.saturating_sub(1)).map(|a| &a.symbol));
        }
        let only_child = self.opts.only_child_below && n == 1;
        for (i, child) in children.iter().enumerate().rev() {
            child.prefetch();
            let place =
                if only_child { Place::OnlyChild } else { Place::Child { last: i + 1 == n } };
            let binding = match (arg_specs, i) {
                (Some(specs), i) if i >= 1 => specs.get(i - 1),
                _ => None,
            };
            let comment = if self.opts.comment_arg_names { child_arg_comment(c, i) } else { None };
            stack.push(Work::Node {
                c: child,
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

    /// Decides every identifier (now that all names are counted) and fills the holes.
    fn finish(mut self) -> String {
        self.trim_trailing_spaces();
        let force = self.opts.force_use_serial_numbers;
        let mut next_serial = 0u64;
        let mut any_serial = false;
        for &(_, slot) in &self.holes {
            let Some(s) = self.slots.get_mut(slot as usize) else { continue };
            if s.ident.is_none() {
                let counts = &self.name_counts;
                let unique = s.name != NO_NAME && counts.get(s.name as usize) == Some(&1);
                s.ident = Some(if unique && !force {
                    Ident::Name
                } else {
                    next_serial += 1;
                    any_serial = true;
                    Ident::Serial(next_serial - 1)
                });
            }
        }
        let text = self.out.into_string();
        if !any_serial {
            return text;
        }
        let mut out = Out::with_capacity(text.len() + self.holes.len() * 8);
        let mut done = 0;
        for &(pos, slot) in &self.holes {
            let Some(s) = self.slots.get(slot as usize) else { continue };
            if let Some(Ident::Serial(n)) = s.ident {
                out.push_str(text.get(done..pos).unwrap_or_default());
                done = pos;
                out.write_usize(n as usize);
                if s.name != NO_NAME {
                    out.push_ascii(b' ');
                }
            }
        }
        out.push_str(text.get(done..).unwrap_or_default());
        out.into_string()
    }
}
