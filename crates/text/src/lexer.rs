//! Line-level lexing: classifying lines (skip, only-child marker, node) and splitting a
//! node line into identifier, name, `AD`, shape, variant, payload and child info.
//!
//! Positions are byte offsets into the line; errors convert them to 1-based columns.

use std::borrow::Cow;

use circuit_ir::size::parse_size;
use circuit_ir::Shape;

/// Characters that count as indentation besides whitespace (tree drawing from
/// `arrows` printing).
pub(crate) fn is_tree_char(c: char) -> bool {
    matches!(c, '│' | '└' | '├' | '‣' | '─' | '┌')
}

fn is_indent_char(c: char) -> bool {
    c.is_whitespace() || is_tree_char(c)
}

/// What a line is.
pub(crate) enum LineKind {
    /// Blank or comment.
    Skip,
    /// `▼` or `|/`: the next node line is the only child of the previous one.
    OnlyChildMarker,
    /// A node line: indentation in columns and the byte offset where the content starts.
    Node { indent_cols: usize, start: usize },
}

/// Whitespace as `char::is_whitespace` sees it, for ASCII bytes.
#[inline]
fn is_ascii_ws(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

pub(crate) fn classify(line: &str) -> LineKind {
    // Fast path: indentation of plain spaces followed by an ASCII character.
    let bytes = line.as_bytes();
    let spaces = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    let (cols, start) = match bytes.get(spaces) {
        Some(&b) if b.is_ascii() && !is_ascii_ws(b) => (spaces, spaces),
        None => (spaces, spaces),
        Some(_) => {
            let mut cols = spaces;
            let mut start = line.len();
            for (i, c) in line[spaces..].char_indices() {
                if is_indent_char(c) {
                    cols += 1;
                } else {
                    start = spaces + i;
                    break;
                }
            }
            (cols, start)
        }
    };
    let rest = &line[start..];
    match rest.as_bytes().first() {
        None | Some(b'#') => return LineKind::Skip,
        // Only `▼` (starting with 0xE2) and `|/` can be markers.
        Some(b'|' | 0xE2) => {
            for marker in ["▼", "|/"] {
                if let Some(after) = rest.strip_prefix(marker) {
                    let after = after.trim_start();
                    if after.is_empty() || after.starts_with('#') {
                        return LineKind::OnlyChildMarker;
                    }
                }
            }
        }
        Some(_) => {}
    }
    LineKind::Node { indent_cols: cols, start }
}

/// A node identifier: a serial number or a quoted name (borrowed unless it had escapes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Ident<'a> {
    Serial(u64),
    Name(Cow<'a, str>),
}

impl std::fmt::Display for Ident<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ident::Serial(n) => write!(f, "{n}"),
            Ident::Name(s) => write!(f, "'{}'", escape_name(s)),
        }
    }
}

/// Escapes a name for printing: backslash → `\\`, quote → `\'`, wrapped in quotes.
pub fn quote_name(name: &str) -> String {
    let mut out = crate::out::Out::with_capacity(name.len() + 2);
    out.push_quoted(name);
    out.into_string()
}

fn escape_name(name: &str) -> String {
    name.replace('\\', "\\\\").replace('\'', "\\'")
}

#[inline]
fn unescape_name(inner: &str) -> Cow<'_, str> {
    // Names are short: a plain loop beats a `memchr` call here.
    if inner.bytes().any(|b| b == b'\\') {
        Cow::Owned(inner.replace("\\'", "'").replace("\\\\", "\\"))
    } else {
        Cow::Borrowed(inner)
    }
}

/// A lexing error: byte offset in the line and message.
pub(crate) type LexError = (usize, String);

/// The byte offset of the quote closing the quoted string that opens at `open`: the
/// first quote preceded by an even number of backslashes and followed by the end of the
/// line, whitespace, `#` or `!`. (rust_circuit's regex backtracks to the same place.)
#[inline]
pub(crate) fn find_closing_quote(s: &str, open: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut backslashes = 0usize;
    let mut i = open + 1;
    loop {
        // Skip ordinary bytes in one search; only quotes and backslashes matter.
        let skip = bytes.get(i..)?.iter().position(|&b| b == b'\'' || b == b'\\')?;
        if skip > 0 {
            backslashes = 0;
            i += skip;
        }
        if bytes[i] == b'\\' {
            backslashes += 1;
        } else {
            let next_ok = match bytes.get(i + 1) {
                None => true,
                Some(&n) if n.is_ascii() => is_ascii_ws(n) || n == b'#' || n == b'!',
                Some(_) => s[i + 1..].chars().next().is_some_and(char::is_whitespace),
            };
            if backslashes.is_multiple_of(2) && next_ok {
                return Some(i);
            }
            backslashes = 0;
        }
        i += 1;
    }
}

#[inline]
fn quoted(s: &str, open: usize) -> Result<(Cow<'_, str>, usize), LexError> {
    let close = find_closing_quote(s, open)
        .ok_or_else(|| (open, "unterminated quoted name".to_string()))?;
    Ok((unescape_name(&s[open + 1..close]), close + 1))
}

/// A declared shape: the sizes, and the names of the axes written `name:size`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DeclaredShape<'a> {
    pub(crate) sizes: Shape,
    /// `(axis, name)` pairs, ascending; empty (no allocation) for most lines.
    pub(crate) names: Vec<(usize, &'a str)>,
}

/// The syntactic parts of a node line (or of the one-line circuit after `!`), borrowing
/// from the line.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineSyntax<'a> {
    pub(crate) ident: Option<Ident<'a>>,
    pub(crate) name: Option<Cow<'a, str>>,
    pub(crate) ad: bool,
    pub(crate) shape: Option<(DeclaredShape<'a>, usize)>,
    pub(crate) variant: Option<(&'a str, usize)>,
    pub(crate) payload: (&'a str, usize),
    pub(crate) child_info: Option<(&'a str, usize)>,
}

impl LineSyntax<'_> {
    /// Adds `offset` to every recorded position (for text lexed out of a larger line).
    pub(crate) fn shift_positions(&mut self, offset: usize) {
        if let Some((_, p)) = self.shape.as_mut() {
            *p += offset;
        }
        if let Some((_, p)) = self.variant.as_mut() {
            *p += offset;
        }
        self.payload.1 += offset;
        if let Some((_, p)) = self.child_info.as_mut() {
            *p += offset;
        }
    }
}

#[inline]
fn skip_ws(s: &str, mut pos: usize) -> usize {
    let bytes = s.as_bytes();
    while let Some(&b) = bytes.get(pos) {
        if b == b' ' {
            pos += 1;
        } else if b.is_ascii() && !is_ascii_ws(b) {
            return pos;
        } else {
            break;
        }
    }
    while let Some(c) = s[pos..].chars().next() {
        if c.is_whitespace() || is_tree_char(c) {
            pos += c.len_utf8();
        } else {
            break;
        }
    }
    pos
}

/// Scans a line's body from `from`: where it ends (the first `#` outside quoted names, or
/// the line end) and the first `!` outside quoted names before that, in one pass.
#[inline]
fn scan_body(s: &str, from: usize) -> (usize, Option<usize>) {
    let end = find_outside_quotes(s, from, b'#').unwrap_or(s.len());
    // `!` is rare: only look for it when the body has one at all.
    let bang = if s.as_bytes()[from..end].contains(&b'!') {
        find_outside_quotes(&s[..end], from, b'!')
    } else {
        None
    };
    (end, bang)
}

/// The first `target` byte (ASCII) at or after `from` that is not inside a quoted name.
/// Bytes of multi-byte characters are never ASCII, so a byte scan finds the same place
/// as a scan by characters.
#[inline]
fn find_outside_quotes(s: &str, from: usize, target: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut pos = from;
    while let Some(&b) = bytes.get(pos) {
        if b == target {
            return Some(pos);
        }
        if b == b'\'' {
            pos = match find_closing_quote(s, pos) {
                Some(close) => close + 1,
                None => pos + 1,
            };
        } else {
            pos += 1;
        }
    }
    None
}

/// The common shape `[4,4]`: plain decimal sizes separated by commas, nothing else (no
/// spaces, names, symbolic sizes or trailing comma). `None` sends everything else to the
/// general path, which accepts the same for these inputs.
fn parse_plain_shape(s: &str, open: usize) -> Option<(DeclaredShape<'_>, usize)> {
    let bytes = s.as_bytes();
    let mut sizes = Shape::new();
    let mut i = open + 1;
    loop {
        let start = i;
        let mut v = 0usize;
        while let Some(&b) = bytes.get(i).filter(|b| b.is_ascii_digit()) {
            v = v.wrapping_mul(10).wrapping_add(usize::from(b - b'0'));
            i += 1;
        }
        // Up to 18 digits cannot overflow (`parse_size`'s fast path has the same bound).
        if i == start || i - start >= 19 {
            return None;
        }
        sizes.push(v);
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b']') => return Some((DeclaredShape { sizes, names: Vec::new() }, i + 1)),
            _ => return None,
        }
    }
}

fn parse_shape(s: &str, open: usize) -> Result<(DeclaredShape<'_>, usize), LexError> {
    if let Some(plain) = parse_plain_shape(s, open) {
        return Ok(plain);
    }
    let close = s[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or_else(|| (open, "unclosed '[' in shape".to_string()))?;
    let inner = &s[open + 1..close];
    let mut shape = DeclaredShape::default();
    let n_entries = inner.bytes().filter(|&b| b == b',').count() + 1;
    let mut offset = open + 1;
    for (i, entry) in inner.split(',').enumerate() {
        let trimmed = entry.trim();
        if trimmed.is_empty() {
            if i + 1 == n_entries && (i > 0 || n_entries == 1) {
                break; // trailing comma or empty shape
            }
            return Err((offset, "empty entry in shape".to_string()));
        }
        let (name, size_text) = match trimmed.split_once(':') {
            Some((n, sz)) => (Some(n.trim()), sz.trim()),
            None => (None, trimmed),
        };
        if let Some(n) = name {
            if !circuit_ir::is_valid_axis_name(n) {
                return Err((offset, format!("invalid axis name '{n}'")));
            }
            shape.names.push((shape.sizes.len(), n));
        }
        let size = parse_size(size_text)
            .map_err(|_| (offset, format!("invalid size '{size_text}' in shape")))?;
        shape.sizes.push(size);
        offset += entry.len() + 1;
    }
    Ok((shape, close + 1))
}

/// The end of the run of bytes from `pos` that satisfy `pred` (an ASCII class).
#[inline]
fn ascii_run_end(s: &str, pos: usize, pred: impl Fn(u8) -> bool) -> usize {
    s.as_bytes()[pos..].iter().position(|&b| !pred(b)).map_or(s.len(), |i| pos + i)
}

/// The character at byte `pos` (which must be a character boundary), if any.
#[inline]
fn char_at(s: &str, pos: usize) -> Option<char> {
    s[pos..].chars().next()
}

/// Whether the character at byte `pos` is absent or satisfies `ascii` (for an ASCII
/// byte) or is Unicode whitespace (for any other character).
#[inline]
fn next_is(s: &str, pos: usize, ascii: impl Fn(u8) -> bool) -> bool {
    match s.as_bytes().get(pos) {
        None => true,
        Some(&b) if b.is_ascii() => ascii(b),
        Some(_) => char_at(s, pos).is_some_and(char::is_whitespace),
    }
}

/// Trims Unicode whitespace from both ends (ASCII bytes are checked directly).
#[inline]
fn trim(s: &str) -> &str {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&f), Some(&l))
            if f.is_ascii() && l.is_ascii() && !is_ascii_ws(f) && !is_ascii_ws(l) =>
        {
            s
        }
        (None, _) | (_, None) => s,
        _ => s.trim(),
    }
}

/// Splits a node line's content (from `start`) into its parts.
#[cfg(test)]
pub(crate) fn lex_node(s: &str, start: usize) -> Result<LineSyntax<'_>, LexError> {
    let mut out = LineSyntax::default();
    lex_node_into(s, start, &mut out)?;
    Ok(out)
}

/// Splits a node line's content (from `start`) into its parts, writing into `out` (which
/// must be default) so that the caller can lex straight into its own storage.
pub(crate) fn lex_node_into<'a>(
    s: &'a str,
    start: usize,
    out: &mut LineSyntax<'a>,
) -> Result<(), LexError> {
    let bytes = s.as_bytes();
    let mut pos = start;
    match bytes.get(pos) {
        None => return Err((pos, "expected a node".to_string())),
        Some(b) if b.is_ascii_digit() => {
            let end = ascii_run_end(s, pos, |b| b.is_ascii_digit());
            let mut n: u64 = 0;
            for &d in &bytes[pos..end] {
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d - b'0')))
                    .ok_or_else(|| (pos, "serial number is too large".to_string()))?;
            }
            out.ident = Some(Ident::Serial(n));
            pos = end;
        }
        Some(b'\'') => {
            let (name, end) = quoted(s, pos)?;
            out.ident = Some(Ident::Name(name));
            pos = end;
        }
        Some(_) => return Err((pos, "expected a node identifier: a serial number such as `3` or a quoted name such as `'x'`".into())),
    }
    loop {
        let before = pos;
        pos = skip_ws(s, pos);
        let Some(&b) = bytes.get(pos) else { break };
        if b == b'#' {
            break;
        }
        if pos == before {
            let c = char_at(s, pos).unwrap_or(' ');
            return Err((pos, format!("expected a space before '{c}'")));
        }
        let fresh = out.shape.is_none() && out.variant.is_none();
        if b == b'\'' && out.name.is_none() && !out.ad && fresh {
            let (name, end) = quoted(s, pos)?;
            out.name = Some(name);
            pos = end;
        } else if bytes[pos..].starts_with(b"AD")
            && !out.ad
            && fresh
            && next_is(s, pos + 2, |n| is_ascii_ws(n) || n == b'[' || n == b'#')
        {
            out.ad = true;
            pos += 2;
        } else if b == b'[' && fresh {
            let (axes, end) = parse_shape(s, pos)?;
            out.shape = Some((axes, pos));
            pos = end;
        } else if b.is_ascii_alphabetic() && out.variant.is_none() {
            let end = ascii_run_end(s, pos, |b| b.is_ascii_alphabetic());
            if !next_is(s, end, |n| is_ascii_ws(n) || n == b'#' || n == b'!') {
                return Err((end, format!("expected a space after the kind '{}'", &s[pos..end])));
            }
            out.variant = Some((&s[pos..end], pos));
            pos = end;
            let body_start = skip_ws(s, pos);
            let (body_end, bang) = scan_body(s, body_start);
            split_child_info(out, s, body_start, body_end, bang);
            break;
        } else if b == b'!' && out.variant.is_none() {
            let (body_end, _) = scan_body(s, pos);
            split_child_info(out, s, pos, body_end, Some(pos));
            break;
        } else {
            let c = char_at(s, pos).unwrap_or(' ');
            return Err((
                pos,
                format!("unexpected '{c}': expected a name, AD, a shape, or a node kind"),
            ));
        }
    }
    Ok(())
}

/// Splits the body `s[start..end]` at the `!` at `bang` (if any) into payload and child
/// info.
fn split_child_info<'a>(
    out: &mut LineSyntax<'a>,
    s: &'a str,
    start: usize,
    end: usize,
    bang: Option<usize>,
) {
    match bang {
        Some(bang) => {
            out.payload = (trim(&s[start..bang]), start);
            let info = &s[bang + 1..end];
            let lead = info.len() - info.trim_start().len();
            out.child_info = Some((trim(info), bang + 1 + lead));
        }
        None => out.payload = (trim(&s[start..end]), start),
    }
}

/// Splits optional trailing module-argument flags (`ftt`) off a child-info text.
pub(crate) fn split_flags(info: &str) -> (&str, Option<[bool; 3]>) {
    let trimmed = info.trim_end();
    if let Some((head, last)) = trimmed.rsplit_once(char::is_whitespace) {
        if last.len() == 3 && last.chars().all(|c| c == 't' || c == 'f') {
            let f: Vec<bool> = last.chars().map(|c| c == 't').collect();
            return (head.trim_end(), Some([f[0], f[1], f[2]]));
        }
    }
    (trimmed, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_follow_the_reference() {
        let line = r"'#\\'\\' [2, 3, 3] Scalar 1.2";
        let syn = lex_node(line, 0).unwrap();
        assert_eq!(syn.ident, Some(Ident::Name("#\\'\\".into())));
        let line = r"'\' hi\\' [3, 3, 3] Scalar 1.2";
        assert_eq!(lex_node(line, 0).unwrap().ident, Some(Ident::Name("' hi\\".into())));
        assert_eq!(quote_name("#\\'\\"), r"'#\\\'\\'");
    }

    #[test]
    fn splits_parts() {
        let syn = lex_node("5 'yoyo ' AD [2, small:3,] Scalar 1.0   # c", 0).unwrap();
        assert_eq!(syn.ident, Some(Ident::Serial(5)));
        assert_eq!(syn.name.as_deref(), Some("yoyo "));
        assert!(syn.ad);
        let shape = syn.shape.unwrap().0;
        assert_eq!(shape.sizes.as_slice(), &[2, 3]);
        assert_eq!(shape.names, vec![(1, "small")]);
        assert_eq!(syn.variant.unwrap().0, "Scalar");
        assert_eq!(syn.payload.0, "1.0");
        let syn = lex_node("0 [5, 3, 6] Add#c", 0).unwrap();
        assert_eq!(syn.payload.0, "");
        let syn = lex_node("'x' [2] Scalar 1 ! 'sym' ftt", 0).unwrap();
        assert_eq!(syn.child_info.as_ref().unwrap().0, "'sym' ftt");
        let (head, flags) = split_flags("'sym' ftt");
        assert_eq!(head, "'sym'");
        assert_eq!(flags, Some([false, true, true]));
        let syn = lex_node("'my_arg' ! 'random_sym'", 0).unwrap();
        assert!(syn.variant.is_none());
        assert_eq!(syn.child_info.unwrap().0, "'random_sym'");
        assert!(lex_node("0 Add d", 0).is_ok());
        assert!(lex_node("a[:3]", 0).is_err());
        assert!(lex_node("0 Scalar1", 0).is_err());
    }

    #[test]
    fn classifies() {
        assert!(matches!(classify("   # hi"), LineKind::Skip));
        assert!(matches!(classify("│ ▼"), LineKind::OnlyChildMarker));
        assert!(matches!(classify("|/"), LineKind::OnlyChildMarker));
        assert!(matches!(classify("├‣1 Add"), LineKind::Node { indent_cols: 2, .. }));
    }
}
