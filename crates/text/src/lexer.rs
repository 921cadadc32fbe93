//! Line-level lexing: classifying lines (skip, only-child marker, node) and splitting a
//! node line into identifier, name, `AD`, shape, variant, payload and child info.
//!
//! Positions are byte offsets into the line; errors convert them to 1-based columns.

use std::borrow::Cow;

use circuit_ir::size::parse_size;

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

pub(crate) fn classify(line: &str) -> LineKind {
    let mut cols = 0;
    let mut start = line.len();
    for (i, c) in line.char_indices() {
        if is_indent_char(c) {
            cols += 1;
        } else {
            start = i;
            break;
        }
    }
    let rest = &line[start..];
    if rest.is_empty() || rest.starts_with('#') {
        return LineKind::Skip;
    }
    for marker in ["▼", "|/"] {
        if let Some(after) = rest.strip_prefix(marker) {
            let after = after.trim_start();
            if after.is_empty() || after.starts_with('#') {
                return LineKind::OnlyChildMarker;
            }
        }
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
    let mut s = String::with_capacity(name.len() + 2);
    push_quoted(&mut s, name);
    s
}

/// Appends the quoted, escaped name to `out`.
pub(crate) fn push_quoted(out: &mut String, name: &str) {
    out.push('\'');
    if name.contains(['\\', '\'']) {
        out.push_str(&escape_name(name));
    } else {
        out.push_str(name);
    }
    out.push('\'');
}

fn escape_name(name: &str) -> String {
    name.replace('\\', "\\\\").replace('\'', "\\'")
}

fn unescape_name(inner: &str) -> Cow<'_, str> {
    if inner.contains('\\') {
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
pub(crate) fn find_closing_quote(s: &str, open: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut backslashes = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(open + 1) {
        match b {
            b'\\' => backslashes += 1,
            b'\'' => {
                let next_ok = match s[i + 1..].chars().next() {
                    None => true,
                    Some(c) => c.is_whitespace() || c == '#' || c == '!',
                };
                if backslashes.is_multiple_of(2) && next_ok {
                    return Some(i);
                }
                backslashes = 0;
            }
            _ => backslashes = 0,
        }
    }
    None
}

fn quoted(s: &str, open: usize) -> Result<(Cow<'_, str>, usize), LexError> {
    let close =
        find_closing_quote(s, open).ok_or((open, "unterminated quoted name".to_string()))?;
    Ok((unescape_name(&s[open + 1..close]), close + 1))
}

/// One axis of a declared shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShapeAxis<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) size: usize,
}

/// The syntactic parts of a node line (or of the one-line circuit after `!`), borrowing
/// from the line.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineSyntax<'a> {
    pub(crate) ident: Option<Ident<'a>>,
    pub(crate) name: Option<Cow<'a, str>>,
    pub(crate) ad: bool,
    pub(crate) shape: Option<(Vec<ShapeAxis<'a>>, usize)>,
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

fn skip_ws(s: &str, mut pos: usize) -> usize {
    while let Some(c) = s[pos..].chars().next() {
        if c.is_whitespace() || is_tree_char(c) {
            pos += c.len_utf8();
        } else {
            break;
        }
    }
    pos
}

/// The end of the payload: the first `#` outside quoted names (or the line end).
fn payload_end(s: &str, from: usize) -> usize {
    let mut pos = from;
    while pos < s.len() {
        let c = s[pos..].chars().next().unwrap_or('#');
        match c {
            '#' => return pos,
            '\'' => match find_closing_quote(s, pos) {
                Some(close) => pos = close + 1,
                None => pos += 1,
            },
            _ => pos += c.len_utf8(),
        }
    }
    s.len()
}

/// The first `!` outside quoted names.
fn find_bang(s: &str) -> Option<usize> {
    let mut pos = 0;
    while pos < s.len() {
        let c = s[pos..].chars().next()?;
        match c {
            '!' => return Some(pos),
            '\'' => match find_closing_quote(s, pos) {
                Some(close) => pos = close + 1,
                None => pos += 1,
            },
            _ => pos += c.len_utf8(),
        }
    }
    None
}

fn parse_shape(s: &str, open: usize) -> Result<(Vec<ShapeAxis<'_>>, usize), LexError> {
    let close =
        s[open..].find(']').map(|i| open + i).ok_or((open, "unclosed '[' in shape".to_string()))?;
    let inner = &s[open + 1..close];
    let mut axes = Vec::new();
    let entries: Vec<&str> = inner.split(',').collect();
    let mut offset = open + 1;
    for (i, entry) in entries.iter().enumerate() {
        let trimmed = entry.trim();
        if trimmed.is_empty() {
            if i + 1 == entries.len() && (i > 0 || entries.len() == 1) {
                break; // trailing comma or empty shape
            }
            return Err((offset, "empty entry in shape".to_string()));
        }
        let (name, size_text) = match trimmed.split_once(':') {
            Some((n, sz)) => (Some(n.trim()), sz.trim()),
            None => (None, trimmed),
        };
        if let Some(n) = &name {
            if !circuit_ir::is_valid_axis_name(n) {
                return Err((offset, format!("invalid axis name '{n}'")));
            }
        }
        let size = parse_size(size_text)
            .map_err(|_| (offset, format!("invalid size '{size_text}' in shape")))?;
        axes.push(ShapeAxis { name, size });
        offset += entry.len() + 1;
    }
    Ok((axes, close + 1))
}

/// Splits a node line's content (from `start`) into its parts.
pub(crate) fn lex_node(s: &str, start: usize) -> Result<LineSyntax<'_>, LexError> {
    let mut out = LineSyntax::default();
    let mut pos = start;
    let first = s[pos..].chars().next().ok_or((pos, "expected a node".to_string()))?;
    if first.is_ascii_digit() {
        let end = s[pos..].find(|c: char| !c.is_ascii_digit()).map_or(s.len(), |i| pos + i);
        let n: u64 =
            s[pos..end].parse().map_err(|_| (pos, "serial number is too large".to_string()))?;
        out.ident = Some(Ident::Serial(n));
        pos = end;
    } else if first == '\'' {
        let (name, end) = quoted(s, pos)?;
        out.ident = Some(Ident::Name(name));
        pos = end;
    } else {
        return Err((pos, "expected a node identifier: a serial number such as `3` or a quoted name such as `'x'`".into()));
    }
    loop {
        let before = pos;
        pos = skip_ws(s, pos);
        let Some(c) = s[pos..].chars().next() else { break };
        if c == '#' {
            break;
        }
        if pos == before {
            return Err((pos, format!("expected a space before '{c}'")));
        }
        let fresh = out.shape.is_none() && out.variant.is_none();
        if c == '\'' && out.name.is_none() && !out.ad && fresh {
            let (name, end) = quoted(s, pos)?;
            out.name = Some(name);
            pos = end;
        } else if s[pos..].starts_with("AD")
            && !out.ad
            && fresh
            && s[pos + 2..].chars().next().is_none_or(|n| n.is_whitespace() || n == '[' || n == '#')
        {
            out.ad = true;
            pos += 2;
        } else if c == '[' && fresh {
            let (axes, end) = parse_shape(s, pos)?;
            out.shape = Some((axes, pos));
            pos = end;
        } else if c.is_ascii_alphabetic() && out.variant.is_none() {
            let end =
                s[pos..].find(|c: char| !c.is_ascii_alphabetic()).map_or(s.len(), |i| pos + i);
            if let Some(n) = s[end..].chars().next() {
                if !(n.is_whitespace() || n == '#' || n == '!') {
                    return Err((
                        end,
                        format!("expected a space after the kind '{}'", &s[pos..end]),
                    ));
                }
            }
            out.variant = Some((&s[pos..end], pos));
            pos = end;
            let body_start = skip_ws(s, pos);
            let body_end = payload_end(s, body_start);
            let body = &s[body_start..body_end];
            split_child_info(&mut out, body, body_start);
            break;
        } else if c == '!' && out.variant.is_none() {
            let body_end = payload_end(s, pos);
            split_child_info(&mut out, &s[pos..body_end], pos);
            break;
        } else {
            return Err((
                pos,
                format!("unexpected '{c}': expected a name, AD, a shape, or a node kind"),
            ));
        }
    }
    Ok(out)
}

fn split_child_info<'a>(out: &mut LineSyntax<'a>, body: &'a str, body_start: usize) {
    match find_bang(body) {
        Some(bang) => {
            out.payload = (body[..bang].trim(), body_start);
            let info = &body[bang + 1..];
            let lead = info.len() - info.trim_start().len();
            out.child_info = Some((info.trim(), body_start + bang + 1 + lead));
        }
        None => out.payload = (body.trim(), body_start),
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
        assert_eq!(shape.len(), 2);
        assert_eq!(shape[1].name, Some("small"));
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
