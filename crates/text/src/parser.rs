//! The parser. Most files take the fast path (`stream.rs`); the general path here reads
//! every line into a record tree (identifiers resolved to their definitions), then
//! constructs the circuits bottom-up with an explicit stack, so deep files cannot overflow
//! the call stack and cycles are reported. Nodes are built unhashed and hashed a few
//! hundred at a time (`circuit_ir::hash_all`).

use circuit_ir::kinds::{Module, ModuleArgSpec};
use circuit_ir::{Circuit, Kind, Name, NamedAxes, Op, Shape};

use crate::lexer::{classify, lex_node_into, split_flags, Ident, LineKind, LineSyntax};
use crate::payload::parse_op;
use crate::table::{hash_str, IndexTable};
use crate::{ParseError, ParseOptions};

/// What a line denotes.
enum Target {
    /// Defines a new node.
    Definition,
    /// Refers back to the record that defined the identifier.
    Repeat(usize),
    /// A reference circuit given in the options.
    Reference(Circuit),
}

/// "No record" in the child links.
const NONE: usize = usize::MAX;

struct Record<'a> {
    line_idx: usize,
    syn: LineSyntax<'a>,
    target: Target,
    /// Children as a linked list through the records (no allocation per node).
    first_child: usize,
    last_child: usize,
    next_sibling: usize,
    n_children: usize,
    /// For a Module argument: the record of its symbol and the flags.
    child_info: Option<(usize, Option<[bool; 3]>, usize)>,
}

/// The children of a record, in order.
struct Children<'r, 'a> {
    records: &'r [Record<'a>],
    next: usize,
}

impl Iterator for Children<'_, '_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let c = self.next;
        self.next = self.records.get(c)?.next_sibling;
        Some(c)
    }
}

/// A record being constructed: which dependency comes next.
struct Frame {
    idx: usize,
    /// Walking the children's `!` bindings (after the children themselves).
    bindings: bool,
    cur: usize,
}

impl Frame {
    fn new(idx: usize, records: &[Record]) -> Frame {
        Frame { idx, bindings: false, cur: records[idx].first_child }
    }
}

pub(crate) struct Parser<'a> {
    pub(crate) lines: Vec<&'a str>,
    pub(crate) opts: &'a ParseOptions,
    records: Vec<Record<'a>>,
    /// Defining record by identifier (the identifier is the record's own).
    idents: IndexTable,
    pub(crate) seeds: std::cell::Cell<u64>,
    /// Nodes built (unhashed) since their hashes were last computed. They are hashed a few
    /// hundred at a time (side by side, while they are still in cache).
    unhashed: std::cell::RefCell<Vec<Circuit>>,
}

/// How many nodes are built before their hashes are computed together.
const HASH_WINDOW: usize = 256;

fn col_of(line: &str, byte: usize) -> usize {
    let mut b = byte.min(line.len());
    while !line.is_char_boundary(b) {
        b -= 1;
    }
    line[..b].chars().count() + 1
}

impl<'a> Parser<'a> {
    pub(crate) fn err(&self, line_idx: usize, byte: usize, msg: impl Into<String>) -> ParseError {
        let line = self.lines.get(line_idx).copied().unwrap_or("");
        let mut e = ParseError::new(line_idx + 1, col_of(line, byte), line, msg);
        e.file.clone_from(&self.opts.file);
        e
    }

    /// Appends a record for a line (node line or one-line child info) to lex into:
    /// records are large, and lexing in place saves moving each one several times.
    fn push_blank(&mut self, line_idx: usize) -> usize {
        let idx = self.records.len();
        self.records.push(Record {
            line_idx,
            syn: LineSyntax::default(),
            target: Target::Definition,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
            n_children: 0,
            child_info: None,
        });
        idx
    }

    /// Decides what a lexed record denotes (registering a definition's identifier).
    fn resolve_target(&mut self, idx: usize, start: usize) -> Result<(), ParseError> {
        let syn = &self.records[idx].syn;
        let line_idx = self.records[idx].line_idx;
        let ident =
            syn.ident.clone().ok_or_else(|| self.err(line_idx, start, "expected an identifier"))?;
        let reference = if self.opts.reference_circuits.is_empty() {
            None
        } else {
            let key = match &ident {
                Ident::Name(n) => n.to_string(),
                Ident::Serial(n) => n.to_string(),
            };
            self.opts.reference_circuits.get(&key).cloned()
        };
        let target = if let Some(c) = reference {
            let extra =
                syn.name.is_some() || syn.ad || syn.shape.is_some() || syn.variant.is_some();
            if extra {
                return Err(self.err(
                    line_idx,
                    start,
                    format!("{ident} is a reference circuit; it takes no other information"),
                ));
            }
            Target::Reference(c)
        } else {
            let hash = ident_hash(&ident);
            let records = &self.records;
            let is_def = |i: usize| records[i].syn.ident.as_ref() == Some(&ident);
            if syn.variant.is_none() {
                match self.idents.find(hash, is_def) {
                    Some(def) => Target::Repeat(def),
                    None => {
                        return Err(self
                            .err(line_idx, start, format!("unknown identifier {ident}"))
                            .with_help("a node must be defined with its kind (e.g. `'x' [2] Scalar 1`) before later lines refer to it"));
                    }
                }
            } else {
                match self.idents.find_or_insert(hash, idx, is_def) {
                    Some(def) => Target::Repeat(def),
                    None => Target::Definition,
                }
            }
        };
        self.records[idx].target = target;
        Ok(())
    }

    fn children(&self, idx: usize) -> Children<'_, 'a> {
        Children { records: &self.records, next: self.records[idx].first_child }
    }

    fn add_child(&mut self, parent: usize, child: usize) {
        let p = &mut self.records[parent];
        let last = p.last_child;
        p.last_child = child;
        p.n_children += 1;
        if last == NONE {
            p.first_child = child;
        } else {
            self.records[last].next_sibling = child;
        }
    }

    /// Adds the record of the node a line's `! <symbol> [flags]` binds (lexed from
    /// `info`, which starts at byte `pos` of the line).
    fn add_binding(
        &mut self,
        line_idx: usize,
        idx: usize,
        info: &'a str,
        pos: usize,
    ) -> Result<(), ParseError> {
        let (head, flags) = split_flags(info);
        let head_start = pos;
        let sym = self.push_blank(line_idx);
        let info_syn = &mut self.records[sym].syn;
        if let Err((p, msg)) = lex_node_into(head, 0, info_syn) {
            return Err(self.err(line_idx, head_start + p, format!("in the `!` binding: {msg}")));
        }
        // Positions inside the binding are relative to it; make them line offsets.
        info_syn.shift_positions(head_start);
        self.resolve_target(sym, head_start)?;
        self.records[idx].child_info = Some((sym, flags, head_start));
        Ok(())
    }

    fn read_lines(&mut self) -> Result<Vec<usize>, ParseError> {
        let mut roots = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        let mut base: Option<usize> = None;
        let mut after_marker = false;
        for line_idx in 0..self.lines.len() {
            let line = self.lines[line_idx];
            let (cols, start) = match classify(line) {
                LineKind::Skip => continue,
                LineKind::OnlyChildMarker => {
                    if stack.is_empty() {
                        return Err(self.err(line_idx, 0, "only-child marker before any node"));
                    }
                    after_marker = true;
                    continue;
                }
                LineKind::Node { indent_cols, start } => (indent_cols, start),
            };
            let base_cols = *base.get_or_insert(cols);
            let rel = cols.checked_sub(base_cols).ok_or_else(|| {
                self.err(line_idx, start, format!("less indentation ({cols} columns) than the first node ({base_cols} columns)"))
            })?;
            if rel % 2 != 0 {
                return Err(self.err(line_idx, start, format!("indentation must be a multiple of 2 columns (found {rel} more than the first node)")));
            }
            let depth = rel / 2;
            if depth > stack.len() || (after_marker && depth >= stack.len()) {
                return Err(self.err(
                    line_idx,
                    start,
                    "indented too far: this line skips a nesting level",
                ));
            }
            if depth > self.opts.max_depth {
                return Err(self.err(
                    line_idx,
                    start,
                    format!("nesting deeper than the limit of {}", self.opts.max_depth),
                ));
            }
            let idx = self.push_blank(line_idx);
            if let Err((pos, msg)) = lex_node_into(line, start, &mut self.records[idx].syn) {
                return Err(self.err(line_idx, pos, msg));
            }
            self.resolve_target(idx, start)?;
            if let Some((info, pos)) = self.records[idx].syn.child_info {
                self.add_binding(line_idx, idx, info, pos)?;
            }
            let parent = if after_marker {
                let p = stack[depth];
                stack.truncate(depth);
                Some(p)
            } else {
                let p = depth.checked_sub(1).map(|d| stack[d]);
                stack.truncate(depth);
                p
            };
            after_marker = false;
            stack.push(idx);
            match parent {
                None => roots.push(idx),
                Some(p) => {
                    if !matches!(self.records[p].target, Target::Definition) {
                        let pl = self.records[p].line_idx + 1;
                        return Err(self.err(line_idx, start, format!(
                            "the node on line {pl} refers to an earlier definition, so it cannot have children here"
                        )));
                    }
                    self.add_child(p, idx);
                }
            }
        }
        Ok(roots)
    }

    fn resolve(&self, idx: usize) -> usize {
        match self.records[idx].target {
            Target::Repeat(def) => def,
            _ => idx,
        }
    }

    /// The `k`-th dependency of a record from cursor `cur` (children in order, then the
    /// symbols bound by `!` on them), advancing the cursor; `None` when exhausted.
    fn next_dep(&self, frame: &mut Frame) -> Option<usize> {
        loop {
            if frame.cur == NONE {
                if frame.bindings {
                    return None;
                }
                frame.bindings = true;
                frame.cur = self.records[frame.idx].first_child;
                continue;
            }
            let c = frame.cur;
            frame.cur = self.records[c].next_sibling;
            if !frame.bindings {
                return Some(self.resolve(c));
            }
            if let Some((sym, _, _)) = self.records[c].child_info {
                return Some(self.resolve(sym));
            }
        }
    }

    /// Builds every record reachable from `roots`, children first.
    fn construct(&self, roots: &[usize]) -> Result<Vec<Circuit>, ParseError> {
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            Fresh,
            OnPath,
            Done,
        }
        let mut state = vec![State::Fresh; self.records.len()];
        let mut built: Vec<Option<Circuit>> = vec![None; self.records.len()];
        let mut stack: Vec<Frame> = Vec::new();
        for &root in roots {
            let root = self.resolve(root);
            if state[root] == State::Done {
                continue;
            }
            stack.push(Frame::new(root, &self.records));
            state[root] = State::OnPath;
            while let Some(frame) = stack.last_mut() {
                if let Some(dep) = self.next_dep(frame) {
                    match state[dep] {
                        State::Done => {}
                        State::OnPath => {
                            let rec = &self.records[dep];
                            return Err(self.err(
                                rec.line_idx,
                                0,
                                format!(
                                    "cycle: {} contains itself",
                                    rec.syn
                                        .ident
                                        .as_ref()
                                        .map_or(String::new(), ToString::to_string)
                                ),
                            ));
                        }
                        State::Fresh => {
                            state[dep] = State::OnPath;
                            stack.push(Frame::new(dep, &self.records));
                        }
                    }
                } else {
                    let idx = frame.idx;
                    let c = self.build_record(idx, &built)?;
                    built[idx] = Some(c);
                    state[idx] = State::Done;
                    stack.pop();
                }
            }
        }
        let mut out = Vec::with_capacity(roots.len());
        for &r in roots {
            self.check_repeat(r, &built)?;
            let c = built[self.resolve(r)]
                .clone()
                .ok_or_else(|| self.err(self.records[r].line_idx, 0, "internal: root not built"))?;
            out.push(c);
        }
        for idx in 0..self.records.len() {
            self.check_repeat(idx, &built)?;
        }
        self.flush_hashes();
        Ok(out)
    }

    fn circuit_of(&self, idx: usize, built: &[Option<Circuit>]) -> Result<Circuit, ParseError> {
        let rec = &self.records[idx];
        match &rec.target {
            Target::Reference(c) => Some(c.clone()),
            Target::Repeat(def) => built[*def].clone(),
            Target::Definition => built[idx].clone(),
        }
        .ok_or_else(|| self.err(rec.line_idx, 0, "internal: node used before construction"))
    }

    /// A repeat may restate the definition's information; it must then agree.
    fn check_repeat(&self, idx: usize, built: &[Option<Circuit>]) -> Result<(), ParseError> {
        let rec = &self.records[idx];
        let Target::Repeat(def) = rec.target else { return Ok(()) };
        if !self.opts.on_repeat_check_info_same {
            return Ok(());
        }
        let Some(c) = built[def].as_ref() else { return Ok(()) };
        let Some(what) = restated_mismatch(&rec.syn, c) else { return Ok(()) };
        let ident = rec.syn.ident.as_ref().map_or(String::new(), ToString::to_string);
        let def_line = self.records[def].line_idx + 1;
        Err(self.err(
            rec.line_idx,
            0,
            format!("{ident} repeats the node defined on line {def_line} but its {what} differs"),
        ))
    }

    fn build_record(&self, idx: usize, built: &[Option<Circuit>]) -> Result<Circuit, ParseError> {
        let rec = &self.records[idx];
        if !matches!(rec.target, Target::Definition) {
            return self.circuit_of(idx, built);
        }
        let kind = self.kind_of(&rec.syn, rec.line_idx)?;
        let mut children: Vec<Circuit> = Vec::with_capacity(rec.n_children);
        for c in self.children(idx) {
            children.push(self.circuit_of(c, built)?);
        }
        let op = if kind == Kind::Module {
            self.module_op(idx, built)?
        } else {
            for c in self.children(idx) {
                if let Some((_, _, pos)) = self.records[c].child_info {
                    return Err(self.err(
                        self.records[c].line_idx,
                        pos,
                        format!("`!` binds a Module argument, but the parent is a {}", kind.name()),
                    ));
                }
            }
            self.payload_op(&rec.syn, rec.line_idx, kind, &children)?
        };
        self.finish_node(&rec.syn, rec.line_idx, op, children)
    }

    /// The kind a definition line names.
    pub(crate) fn kind_of(
        &self,
        syn: &LineSyntax<'_>,
        line_idx: usize,
    ) -> Result<Kind, ParseError> {
        let (variant, vpos) = syn.variant.unwrap_or_default();
        Kind::from_name(variant).ok_or_else(|| {
            self.err(line_idx, vpos, format!("unknown node kind '{variant}'"))
                .with_help("kinds are Array Scalar Symbol Einsum Add Rearrange Index Scatter Concat GeneralFunction Conv Module SetSymbolicShape Tag DiscreteVar StoredCumulantVar Cumulant")
        })
    }

    /// The payload of a definition line (any kind but Module).
    pub(crate) fn payload_op(
        &self,
        syn: &LineSyntax<'_>,
        line_idx: usize,
        kind: Kind,
        children: &[Circuit],
    ) -> Result<Op, ParseError> {
        let declared: Option<&Shape> = syn.shape.as_ref().map(|(d, _)| &d.sizes);
        parse_op(kind, syn.payload.0, declared, children, self.opts, &self.seeds)
            .map_err(|m| self.err(line_idx, syn.payload.1, m))
    }

    /// Builds a definition line's node from its payload and children, and checks the
    /// declared shape (applying its axis names).
    pub(crate) fn finish_node(
        &self,
        syn: &LineSyntax<'_>,
        line_idx: usize,
        op: Op,
        children: Vec<Circuit>,
    ) -> Result<Circuit, ParseError> {
        let (_, vpos) = syn.variant.unwrap_or_default();
        let name: Option<Name> = match (&syn.name, &syn.ident) {
            (Some(n), _) => Some(Name::from(n.as_ref())),
            (None, Some(Ident::Name(n))) => Some(Name::from(n.as_ref())),
            _ => None,
        };
        // Hashed later, all the nodes of the parse together (`circuit_ir::hash_all`).
        let mut circuit = Circuit::build_unhashed(op, children, name, syn.ad)
            .map_err(|e| self.err(line_idx, vpos, e.to_string()))?;
        if let Some((declared, spos)) = &syn.shape {
            if &declared.sizes != circuit.shape() {
                return Err(self.err(
                    line_idx,
                    *spos,
                    format!(
                        "declared shape {} but the node's shape is {}",
                        circuit_ir::size::format_shape(&declared.sizes),
                        circuit_ir::size::format_shape(circuit.shape())
                    ),
                ));
            }
            if !declared.names.is_empty() {
                let named: NamedAxes =
                    declared.names.iter().map(|&(i, n)| (i as u8, Name::from(n))).collect();
                circuit = circuit
                    .with_named_axes(named)
                    .map_err(|e| self.err(line_idx, *spos, e.to_string()))?;
            }
        }
        let mut unhashed = self.unhashed.borrow_mut();
        unhashed.push(circuit.clone());
        if unhashed.len() >= HASH_WINDOW {
            circuit_ir::hash_all(unhashed.iter());
            unhashed.clear();
        }
        Ok(circuit)
    }

    /// Computes the hashes of the nodes built since the last time.
    pub(crate) fn flush_hashes(&self) {
        let mut unhashed = self.unhashed.borrow_mut();
        circuit_ir::hash_all(unhashed.iter());
        unhashed.clear();
    }

    fn module_op(&self, idx: usize, built: &[Option<Circuit>]) -> Result<Op, ParseError> {
        let rec = &self.records[idx];
        let (_, vpos) = rec.syn.variant.unwrap_or_default();
        if !rec.syn.payload.0.is_empty() {
            return Err(self.err(rec.line_idx, rec.syn.payload.1, "Module takes no payload"));
        }
        let mut children = self.children(idx);
        let Some(spec_idx) = children.next() else {
            return Err(self.err(
                rec.line_idx,
                vpos,
                "a Module needs its spec circuit as the first child",
            ));
        };
        if let Some((_, _, pos)) = self.records[spec_idx].child_info {
            return Err(self.err(
                self.records[spec_idx].line_idx,
                pos,
                "the first child of a Module is its spec circuit and takes no `!` binding",
            ));
        }
        let mut arg_specs = Vec::with_capacity(rec.n_children - 1);
        for a in children {
            let arec = &self.records[a];
            let Some((sym_idx, flags, pos)) = arec.child_info else {
                let line = self.lines[arec.line_idx];
                return Err(self.err(
                    arec.line_idx,
                    line.len(),
                    "a Module input needs a binding: `! <symbol> [flags]`",
                ));
            };
            let sym = self.circuit_of(sym_idx, built)?;
            let [b, e, ban] = flags.unwrap_or([true; 3]);
            let spec = ModuleArgSpec::with_flags(sym, b, e, ban)
                .map_err(|err| self.err(arec.line_idx, pos, err.to_string()))?;
            arg_specs.push(spec);
        }
        let spec_circuit = self.circuit_of(spec_idx, built)?;
        if self.opts.module_check_all_inputs_used {
            let unused = circuit_ir::unused_arguments(&spec_circuit, &arg_specs);
            if let Some(u) = unused.first() {
                return Err(self.err(
                    rec.line_idx,
                    vpos,
                    format!(
                        "module argument {} is not used by the spec circuit {}",
                        u.node_ref(),
                        spec_circuit.node_ref()
                    ),
                ));
            }
        }
        if self.opts.module_check_unique_arg_names {
            for (i, a) in arg_specs.iter().enumerate() {
                if a.symbol.name().is_none()
                    || arg_specs[..i].iter().any(|b| b.symbol.name() == a.symbol.name())
                {
                    return Err(self.err(
                        rec.line_idx,
                        vpos,
                        format!(
                            "module argument names must be unique and present: {}",
                            a.symbol.node_ref()
                        ),
                    ));
                }
            }
        }
        Ok(Op::Module(Module { arg_specs }))
    }
}

/// The identifier table's hash of an identifier.
pub(crate) fn ident_hash(ident: &Ident<'_>) -> u64 {
    match ident {
        // The table's own multiplicative hashing spreads consecutive numbers.
        Ident::Serial(n) => *n,
        Ident::Name(n) => hash_str(n),
    }
}

/// The first piece of information a repeat line restates differently from the node it
/// repeats (name, `AD`, shape or kind), if any.
pub(crate) fn restated_mismatch(syn: &LineSyntax<'_>, c: &Circuit) -> Option<&'static str> {
    if let Some(n) = &syn.name {
        if c.name() != Some(n.as_ref()) {
            return Some("name");
        }
    }
    if syn.ad && c.flags().use_autoname() {
        return Some("autoname-disabled flag (AD)");
    }
    if let Some((declared, _)) = &syn.shape {
        if &declared.sizes != c.shape() {
            return Some("shape");
        }
    }
    if let Some((v, _)) = &syn.variant {
        if *v != c.kind().name() {
            return Some("kind");
        }
    }
    None
}

/// The lines of `text` (split at `\n`, a trailing `\r` removed), as
/// `text.split('\n')` gives them. Newlines are found a word at a time: lines are short,
/// and a search call per line costs more than the line itself.
fn split_lines(text: &str) -> Vec<&str> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let bytes = text.as_bytes();
    let mut lines: Vec<&str> = Vec::with_capacity(bytes.len() / 32 + 1);
    let mut push = |start: usize, end: usize| {
        let l = &text[start..end];
        lines.push(l.strip_suffix('\r').unwrap_or(l));
    };
    let mut start = 0;
    let mut words = bytes.chunks_exact(8);
    let mut base = 0;
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        let x = u64::from_le_bytes(b) ^ (ONES * u64::from(b'\n'));
        // A high bit per zero byte of `x` (exact: no false positives below a true zero
        // byte, and a false one can only follow a true one, which is found first).
        let mut hits = x.wrapping_sub(ONES) & !x & HIGHS;
        while hits != 0 {
            let nl = base + (hits.trailing_zeros() / 8) as usize;
            if bytes[nl] == b'\n' {
                push(start, nl);
                start = nl + 1;
            }
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == b'\n' {
            push(start, base + i);
            start = base + i + 1;
        }
    }
    push(start, bytes.len());
    lines
}

/// Parses every top-level circuit in `text`.
///
/// # Errors
/// A [`ParseError`] with line, column and message for the first problem.
pub fn parse_circuits(text: &str, opts: &ParseOptions) -> Result<Vec<Circuit>, ParseError> {
    parse_with(text, opts, true)
}

/// [`parse_circuits`], with the fast path or without it (the tests compare the two).
fn parse_with(
    text: &str,
    opts: &ParseOptions,
    try_fast_path: bool,
) -> Result<Vec<Circuit>, ParseError> {
    if text.len() > opts.max_input_bytes {
        let mut e = ParseError::new(
            1,
            1,
            "",
            format!("input is {} bytes, above the limit of {}", text.len(), opts.max_input_bytes),
        );
        e.file.clone_from(&opts.file);
        return Err(e);
    }
    let lines = split_lines(text);
    let mut p = Parser {
        lines,
        opts,
        records: Vec::new(),
        idents: IndexTable::with_capacity(0),
        seeds: std::cell::Cell::new(0),
        unhashed: std::cell::RefCell::new(Vec::new()),
    };
    if try_fast_path {
        if let Some(roots) = p.parse_streaming(text) {
            return Ok(roots);
        }
    }
    // Anything unusual, or any error: the general path (which reports the first error
    // exactly), from a clean state.
    p.seeds.set(0);
    p.unhashed.borrow_mut().clear();
    // Most lines define a node; size the table for them up front (within reason).
    p.idents = IndexTable::with_capacity(p.lines.len().min(1 << 20));
    let roots = p.read_lines()?;
    p.construct(&roots)
}

/// Parses text that holds exactly one top-level circuit.
///
/// # Errors
/// As [`parse_circuits`], plus an error when there are zero or several roots.
pub fn parse_circuit(text: &str, opts: &ParseOptions) -> Result<Circuit, ParseError> {
    let mut all = parse_circuits(text, opts)?;
    match all.len() {
        1 => Ok(all.remove(0)),
        n => {
            let mut e = ParseError::new(
                1,
                1,
                text.lines().next().unwrap_or(""),
                format!("expected exactly one top-level circuit, found {n}"),
            );
            e.file.clone_from(&opts.file);
            Err(e)
        }
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
