//! The parser's fast path: one pass over the lines that builds each node as soon as its
//! subtree ends (the order in which the general path builds them), without keeping a
//! record per line. It covers plain trees of definitions and repeats; on anything else
//! (`!` bindings, Modules, only-child markers, reference circuits) and on any error it
//! gives up, and the general path runs from the start (and reports the first error
//! exactly as it always has).

use circuit_ir::{Circuit, Kind};

use crate::lexer::{classify, lex_node_into, Ident, LineKind, LineSyntax};
use crate::parser::{ident_hash, restated_mismatch, Parser};
use crate::table::IndexTable;

/// A line whose subtree has not ended yet.
struct Open<'a> {
    line_idx: usize,
    syn: LineSyntax<'a>,
    kind: Kind,
    /// The definition's index in `defs`, or the node a repeat line refers to.
    node: Result<usize, Circuit>,
    children: Vec<Circuit>,
}

impl<'a> Parser<'a> {
    /// Parses without the general path's per-line records, or returns `None` (see the
    /// module documentation).
    pub(crate) fn parse_streaming(&self, text: &str) -> Option<Vec<Circuit>> {
        if !self.opts.reference_circuits.is_empty() || unusual(text) {
            return None;
        }
        let mut idents = IndexTable::with_capacity(self.lines.len().min(1 << 20));
        // Each definition's identifier and, once its subtree has ended, its node.
        let mut defs: Vec<(Ident<'a>, Option<Circuit>)> = Vec::new();
        let mut open: Vec<Open<'a>> = Vec::new();
        let mut roots: Vec<Circuit> = Vec::new();
        let mut base: Option<usize> = None;
        for (line_idx, &line) in self.lines.iter().enumerate() {
            let (indent_cols, start) = match classify(line) {
                LineKind::Skip => continue,
                LineKind::OnlyChildMarker => return None,
                LineKind::Node { indent_cols, start } => (indent_cols, start),
            };
            let base_cols = *base.get_or_insert(indent_cols);
            let rel = indent_cols.checked_sub(base_cols)?;
            let depth = rel / 2;
            if rel % 2 != 0 || depth > open.len() || depth > self.opts.max_depth {
                return None;
            }
            while open.len() > depth {
                self.close(&mut open, &mut defs, &mut roots)?;
            }
            // Lex straight into the stack (a line's syntax is large; moving it costs).
            open.push(Open {
                line_idx,
                syn: LineSyntax::default(),
                kind: Kind::Add,
                node: Ok(usize::MAX),
                children: Vec::new(),
            });
            let top = open.last_mut()?;
            lex_node_into(line, start, &mut top.syn).ok()?;
            let syn = &top.syn;
            if syn.child_info.is_some() {
                return None;
            }
            let ident = syn.ident.clone()?;
            let is_def = |i: usize| defs[i].0 == ident;
            let found = if syn.variant.is_none() {
                Some(idents.find(ident_hash(&ident), is_def)?)
            } else {
                idents.find_or_insert(ident_hash(&ident), defs.len(), is_def)
            };
            match found {
                Some(def) => {
                    // A repeat: of a node whose subtree has ended (else it is a cycle).
                    let c = defs[def].1.clone()?;
                    if self.opts.on_repeat_check_info_same && restated_mismatch(syn, &c).is_some() {
                        return None;
                    }
                    top.kind = c.kind();
                    top.node = Err(c);
                }
                None => {
                    let kind = self.kind_of(syn, line_idx).ok()?;
                    if kind == Kind::Module {
                        return None;
                    }
                    defs.push((ident, None));
                    top.kind = kind;
                    top.node = Ok(defs.len() - 1);
                }
            }
        }
        while !open.is_empty() {
            self.close(&mut open, &mut defs, &mut roots)?;
        }
        self.flush_hashes();
        Some(roots)
    }

    /// Builds the innermost open line and hands it to its parent (or the roots).
    fn close(
        &self,
        open: &mut Vec<Open<'a>>,
        defs: &mut [(Ident<'a>, Option<Circuit>)],
        roots: &mut Vec<Circuit>,
    ) -> Option<()> {
        let line = open.last_mut()?;
        let c = match &line.node {
            Err(c) if line.children.is_empty() => c.clone(),
            // A repeat cannot have children.
            Err(_) => return None,
            &Ok(def) => {
                let op =
                    self.payload_op(&line.syn, line.line_idx, line.kind, &line.children).ok()?;
                let children = std::mem::take(&mut line.children);
                let c = self.finish_node(&line.syn, line.line_idx, op, children).ok()?;
                defs[def].1 = Some(c.clone());
                c
            }
        };
        // Dropped in place rather than moved out.
        open.truncate(open.len() - 1);
        match open.last_mut() {
            Some(parent) => parent.children.push(c),
            None => roots.push(c),
        }
        Some(())
    }
}

/// Whether the text may hold what the fast path leaves to the general one: a `!` binding
/// or an only-child marker (`▼`, `|/`). Checked up front (with fast searches) so that
/// such files do not parse twice; a quoted name may trip this too, which only costs the
/// fast path.
fn unusual(text: &str) -> bool {
    text.as_bytes().contains(&b'!') || text.contains('▼') || text.contains("|/")
}
