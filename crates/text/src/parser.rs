//! The parser: reads every line into a record tree (identifiers resolved to their
//! definitions), then constructs the circuits bottom-up with an explicit stack, so deep
//! files cannot overflow the call stack and cycles are reported.

use std::collections::HashMap;

use circuit_ir::kinds::{Module, ModuleArgSpec};
use circuit_ir::{BuildNodeHasher, Circuit, Kind, Name, NamedAxes, Op, Shape};

use crate::lexer::{classify, lex_node, split_flags, Ident, LineKind, LineSyntax};
use crate::payload::parse_op;
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

struct Record<'a> {
    line_idx: usize,
    syn: LineSyntax<'a>,
    target: Target,
    children: Vec<usize>,
    /// For a Module argument: the record of its symbol and the flags.
    child_info: Option<(usize, Option<[bool; 3]>, usize)>,
}

struct Parser<'a> {
    lines: Vec<&'a str>,
    opts: &'a ParseOptions,
    records: Vec<Record<'a>>,
    idents: HashMap<Ident<'a>, usize, BuildNodeHasher>,
    seeds: std::cell::Cell<u64>,
}

fn col_of(line: &str, byte: usize) -> usize {
    let mut b = byte.min(line.len());
    while !line.is_char_boundary(b) {
        b -= 1;
    }
    line[..b].chars().count() + 1
}

impl<'a> Parser<'a> {
    fn err(&self, line_idx: usize, byte: usize, msg: impl Into<String>) -> ParseError {
        let line = self.lines.get(line_idx).copied().unwrap_or("");
        let mut e = ParseError::new(line_idx + 1, col_of(line, byte), line, msg);
        e.file.clone_from(&self.opts.file);
        e
    }

    /// Creates a record for a lexed line (node line or one-line child info).
    fn add_record(
        &mut self,
        line_idx: usize,
        syn: LineSyntax<'a>,
        start: usize,
    ) -> Result<usize, ParseError> {
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
        } else if let Some(&def) = self.idents.get(&ident) {
            Target::Repeat(def)
        } else {
            if syn.variant.is_none() {
                return Err(self
                    .err(line_idx, start, format!("unknown identifier {ident}"))
                    .with_help("a node must be defined with its kind (e.g. `'x' [2] Scalar 1`) before later lines refer to it"));
            }
            Target::Definition
        };
        let idx = self.records.len();
        if matches!(target, Target::Definition) {
            self.idents.insert(ident, idx);
        }
        self.records.push(Record { line_idx, syn, target, children: Vec::new(), child_info: None });
        Ok(idx)
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
            let syn = lex_node(line, start).map_err(|(pos, msg)| self.err(line_idx, pos, msg))?;
            let child_info = syn.child_info;
            let idx = self.add_record(line_idx, syn, start)?;
            if let Some((info, pos)) = child_info {
                let (head, flags) = split_flags(info);
                let head_start = pos;
                let mut info_syn = lex_node(head, 0).map_err(|(p, msg)| {
                    self.err(line_idx, head_start + p, format!("in the `!` binding: {msg}"))
                })?;
                // Positions inside the binding are relative to it; make them line offsets.
                info_syn.shift_positions(head_start);
                let sym = self.add_record(line_idx, info_syn, head_start)?;
                self.records[idx].child_info = Some((sym, flags, head_start));
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
                    self.records[p].children.push(idx);
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

    fn deps(&self, idx: usize) -> Vec<usize> {
        let rec = &self.records[idx];
        let mut out: Vec<usize> = rec.children.iter().map(|&c| self.resolve(c)).collect();
        for &c in &rec.children {
            if let Some((sym, _, _)) = self.records[c].child_info {
                out.push(self.resolve(sym));
            }
        }
        out
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
        for &root in roots {
            let root = self.resolve(root);
            if state[root] == State::Done {
                continue;
            }
            let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(root, self.deps(root), 0)];
            state[root] = State::OnPath;
            while let Some((idx, deps, next)) = stack.last_mut() {
                if let Some(&dep) = deps.get(*next) {
                    *next += 1;
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
                            let d = self.deps(dep);
                            stack.push((dep, d, 0));
                        }
                    }
                } else {
                    let idx = *idx;
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
        let ident = rec.syn.ident.as_ref().map_or(String::new(), ToString::to_string);
        let def_line = self.records[def].line_idx + 1;
        let mismatch = |what: &str| {
            self.err(
                rec.line_idx,
                0,
                format!(
                    "{ident} repeats the node defined on line {def_line} but its {what} differs"
                ),
            )
        };
        if let Some(n) = &rec.syn.name {
            if c.name() != Some(n.as_ref()) {
                return Err(mismatch("name"));
            }
        }
        if rec.syn.ad && c.flags().use_autoname() {
            return Err(mismatch("autoname-disabled flag (AD)"));
        }
        if let Some((axes, _)) = &rec.syn.shape {
            let shape: Shape = axes.iter().map(|a| a.size).collect();
            if &shape != c.shape() {
                return Err(mismatch("shape"));
            }
        }
        if let Some((v, _)) = &rec.syn.variant {
            if *v != c.kind().name() {
                return Err(mismatch("kind"));
            }
        }
        Ok(())
    }

    fn build_record(&self, idx: usize, built: &[Option<Circuit>]) -> Result<Circuit, ParseError> {
        let rec = &self.records[idx];
        if !matches!(rec.target, Target::Definition) {
            return self.circuit_of(idx, built);
        }
        let syn = &rec.syn;
        let (variant, vpos) = syn.variant.unwrap_or_default();
        let kind = Kind::from_name(variant).ok_or_else(|| {
            self.err(rec.line_idx, vpos, format!("unknown node kind '{variant}'"))
                .with_help("kinds are Array Scalar Symbol Einsum Add Rearrange Index Scatter Concat GeneralFunction Conv Module SetSymbolicShape Tag DiscreteVar StoredCumulantVar Cumulant")
        })?;
        let children: Vec<Circuit> =
            rec.children.iter().map(|&c| self.circuit_of(c, built)).collect::<Result<_, _>>()?;
        let declared: Option<Shape> =
            syn.shape.as_ref().map(|(axes, _)| axes.iter().map(|a| a.size).collect());
        let op = if kind == Kind::Module {
            self.module_op(rec, built)?
        } else {
            for &c in &rec.children {
                if let Some((_, _, pos)) = self.records[c].child_info {
                    return Err(self.err(
                        self.records[c].line_idx,
                        pos,
                        format!("`!` binds a Module argument, but the parent is a {}", kind.name()),
                    ));
                }
            }
            parse_op(kind, syn.payload.0, declared.as_ref(), &children, self.opts, &self.seeds)
                .map_err(|m| self.err(rec.line_idx, syn.payload.1, m))?
        };
        let name: Option<Name> = match (&syn.name, &syn.ident) {
            (Some(n), _) => Some(Name::from(n.as_ref())),
            (None, Some(Ident::Name(n))) => Some(Name::from(n.as_ref())),
            _ => None,
        };
        let mut circuit = Circuit::build(op, children, name, syn.ad)
            .map_err(|e| self.err(rec.line_idx, vpos, e.to_string()))?;
        if let Some((axes, spos)) = &syn.shape {
            let shape: Shape = axes.iter().map(|a| a.size).collect();
            if &shape != circuit.shape() {
                return Err(self.err(
                    rec.line_idx,
                    *spos,
                    format!(
                        "declared shape {} but the node's shape is {}",
                        circuit_ir::size::format_shape(&shape),
                        circuit_ir::size::format_shape(circuit.shape())
                    ),
                ));
            }
            let named: NamedAxes = axes
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.name.map(|n| (i as u8, Name::from(n))))
                .collect();
            if !named.is_empty() {
                circuit = circuit
                    .with_named_axes(named)
                    .map_err(|e| self.err(rec.line_idx, *spos, e.to_string()))?;
            }
        }
        Ok(circuit)
    }

    fn module_op(&self, rec: &Record, built: &[Option<Circuit>]) -> Result<Op, ParseError> {
        let (_, vpos) = rec.syn.variant.unwrap_or_default();
        if !rec.syn.payload.0.is_empty() {
            return Err(self.err(rec.line_idx, rec.syn.payload.1, "Module takes no payload"));
        }
        let Some((&spec_idx, args)) = rec.children.split_first() else {
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
        let mut arg_specs = Vec::with_capacity(args.len());
        for &a in args {
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

/// Parses every top-level circuit in `text`.
///
/// # Errors
/// A [`ParseError`] with line, column and message for the first problem.
pub fn parse_circuits(text: &str, opts: &ParseOptions) -> Result<Vec<Circuit>, ParseError> {
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
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let mut p = Parser {
        lines,
        opts,
        records: Vec::new(),
        idents: HashMap::default(),
        seeds: std::cell::Cell::new(0),
    };
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
