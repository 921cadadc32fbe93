//! Escaping for the three languages we write: HTML/XML text and attributes, JSON inside a
//! `<script>` element, and Graphviz DOT strings.

use crate::Result;

/// Escapes `&`, `<`, `>`, `"` and `'` so the text is safe in HTML/XML text and in quoted
/// attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Serializes `value` as JSON that is safe inside a `<script>` element: `<`, `>`, `&` and
/// the JavaScript line separators U+2028/U+2029 are written as `\uXXXX` escapes (they can
/// only occur inside JSON strings, where the escapes mean the same characters), so no
/// `</script>` or `<!--` can end or confuse the element.
///
/// # Errors
/// [`crate::VizError::Json`] if serialization fails.
pub fn json_for_script(value: &serde_json::Value) -> Result<String> {
    let raw = serde_json::to_string(value)?;
    let mut out = String::with_capacity(raw.len() + 16);
    for ch in raw.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A double-quoted DOT string: `"` and `\` are backslash-escaped and line breaks become
/// `\n` (Graphviz's centered line break), so any text is one well-formed ID.
pub(crate) fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn script_json_never_contains_a_closing_tag() {
        let v =
            serde_json::json!({"name": "</script><script>alert(1)</script>", "x": "a&b\u{2028}"});
        let s = json_for_script(&v).unwrap();
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert!(!s.contains('\u{2028}'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn dot_strings_escape_quotes_backslashes_and_newlines() {
        assert_eq!(dot_quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
    }
}
