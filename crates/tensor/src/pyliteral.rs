//! A small parser for the Python literals found in `.npy` headers.
//!
//! NumPy writes the header with `repr` and reads it back with `ast.literal_eval`, so a
//! header is a dict of strings, booleans, integers and tuples. We parse that subset with
//! a hand-written recursive-descent parser that never panics: nesting depth and integer
//! magnitudes are bounded, and every malformed input becomes an error message.

/// A parsed Python literal (the subset `.npy` headers use).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyValue {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<PyValue>),
    List(Vec<PyValue>),
    Dict(Vec<(PyValue, PyValue)>),
}

/// Deeper nesting than this is rejected; real headers nest at most three levels.
const MAX_DEPTH: usize = 32;

/// Parses one literal that must span the whole input (surrounding whitespace allowed).
pub(crate) fn parse(input: &str) -> Result<PyValue, String> {
    let mut p = Parser { chars: input.char_indices().peekable(), input };
    let value = p.value(0)?;
    p.skip_ws();
    match p.chars.peek() {
        None => Ok(value),
        Some(&(i, c)) => Err(format!("unexpected '{c}' after the header dict at offset {i}")),
    }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    input: &'a str,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    fn expect_end(&self) -> String {
        "unexpected end of header".to_string()
    }

    fn value(&mut self, depth: usize) -> Result<PyValue, String> {
        if depth > MAX_DEPTH {
            return Err("header nests too deeply".to_string());
        }
        self.skip_ws();
        let Some(&(pos, c)) = self.chars.peek() else {
            return Err(self.expect_end());
        };
        match c {
            '\'' | '"' => self.string(),
            '(' => self.sequence(')', depth).map(PyValue::Tuple),
            '[' => self.sequence(']', depth).map(PyValue::List),
            '{' => self.dict(depth),
            '-' | '+' | '0'..='9' => self.int(),
            c if c.is_alphabetic() || c == '_' => {
                let word = self.word();
                match word.as_str() {
                    "True" => Ok(PyValue::Bool(true)),
                    "False" => Ok(PyValue::Bool(false)),
                    "None" => Ok(PyValue::None),
                    _ => Err(format!("unexpected name '{word}' at offset {pos}")),
                }
            }
            other => Err(format!("unexpected '{other}' at offset {pos}")),
        }
    }

    fn word(&mut self) -> String {
        let mut s = String::new();
        while let Some((_, c)) = self.chars.next_if(|&(_, c)| c.is_alphanumeric() || c == '_') {
            s.push(c);
        }
        s
    }

    fn string(&mut self) -> Result<PyValue, String> {
        let Some((start, quote)) = self.chars.next() else {
            return Err(self.expect_end());
        };
        let mut s = String::new();
        loop {
            let Some((_, c)) = self.chars.next() else {
                return Err(format!("unterminated string starting at offset {start}"));
            };
            match c {
                c if c == quote => return Ok(PyValue::Str(s)),
                '\\' => {
                    let Some((_, e)) = self.chars.next() else {
                        return Err(format!("unterminated string starting at offset {start}"));
                    };
                    match e {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        '0' => s.push('\0'),
                        '\\' | '\'' | '"' => s.push(e),
                        // Python keeps unknown escapes verbatim.
                        other => {
                            s.push('\\');
                            s.push(other);
                        }
                    }
                }
                '\n' => return Err(format!("newline inside string starting at offset {start}")),
                c => s.push(c),
            }
        }
    }

    fn int(&mut self) -> Result<PyValue, String> {
        let start = self.chars.peek().map_or(self.input.len(), |&(i, _)| i);
        let negative = match self.peek() {
            Some('-') => {
                self.chars.next();
                true
            }
            Some('+') => {
                self.chars.next();
                false
            }
            _ => false,
        };
        let mut magnitude: i128 = 0;
        let mut digits = 0usize;
        while let Some((_, c)) = self.chars.next_if(|&(_, c)| c.is_ascii_digit()) {
            let d = i128::from(c as u8 - b'0');
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(d))
                .ok_or_else(|| format!("integer at offset {start} is too large"))?;
            digits += 1;
        }
        if digits == 0 {
            return Err(format!("expected digits at offset {start}"));
        }
        // Python 2 era NumPy wrote long integers with an `L` suffix, e.g. `(3L, 4L)`.
        self.chars.next_if(|&(_, c)| c == 'L' || c == 'l');
        if self.peek().is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_') {
            return Err(format!("malformed integer at offset {start}"));
        }
        Ok(PyValue::Int(if negative { -magnitude } else { magnitude }))
    }

    /// Parses `( a, b, )` or `[ a, b ]` after seeing the opening bracket.
    fn sequence(&mut self, close: char, depth: usize) -> Result<Vec<PyValue>, String> {
        self.chars.next();
        let mut items = Vec::new();
        let mut saw_comma = false;
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.chars.next();
                // `(1)` is just a parenthesised integer in Python, not a tuple.
                if close == ')' && items.len() == 1 && !saw_comma {
                    return Err("a one-element tuple needs a trailing comma".to_string());
                }
                return Ok(items);
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.chars.next() {
                Some((_, ',')) => saw_comma = true,
                Some((_, c)) if c == close => {
                    if close == ')' && items.len() == 1 && !saw_comma {
                        return Err("a one-element tuple needs a trailing comma".to_string());
                    }
                    return Ok(items);
                }
                Some((i, c)) => {
                    return Err(format!("expected ',' or '{close}' at offset {i}, found '{c}'"))
                }
                None => return Err(self.expect_end()),
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<PyValue, String> {
        self.chars.next();
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some('}') {
                self.chars.next();
                return Ok(PyValue::Dict(entries));
            }
            let key = self.value(depth + 1)?;
            self.skip_ws();
            match self.chars.next() {
                Some((_, ':')) => {}
                Some((i, c)) => return Err(format!("expected ':' at offset {i}, found '{c}'")),
                None => return Err(self.expect_end()),
            }
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_ws();
            match self.chars.next() {
                Some((_, ',')) => {}
                Some((_, '}')) => return Ok(PyValue::Dict(entries)),
                Some((i, c)) => {
                    return Err(format!("expected ',' or '}}' at offset {i}, found '{c}'"))
                }
                None => return Err(self.expect_end()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> PyValue {
        PyValue::Str(v.to_string())
    }

    #[test]
    fn parses_numpy_headers() {
        let v = parse("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n")
            .unwrap();
        assert_eq!(
            v,
            PyValue::Dict(vec![
                (s("descr"), s("<f4")),
                (s("fortran_order"), PyValue::Bool(false)),
                (s("shape"), PyValue::Tuple(vec![PyValue::Int(2), PyValue::Int(3)])),
            ])
        );
        assert_eq!(parse("()").unwrap(), PyValue::Tuple(vec![]));
        assert_eq!(parse("(7,)").unwrap(), PyValue::Tuple(vec![PyValue::Int(7)]));
        assert_eq!(
            parse("(3L, 4L)").unwrap(),
            PyValue::Tuple(vec![PyValue::Int(3), PyValue::Int(4)])
        );
        assert_eq!(
            parse("[-1, +2]").unwrap(),
            PyValue::List(vec![PyValue::Int(-1), PyValue::Int(2)])
        );
        assert_eq!(parse(r#""a\'b\\""#).unwrap(), s("a'b\\"));
        assert_eq!(parse("None").unwrap(), PyValue::None);
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "",
            "{",
            "{'a' 1}",
            "{'a': }",
            "(1 2)",
            "(1)",
            "'abc",
            "12x",
            "1.5",
            "true",
            "{'a': 1} extra",
            "99999999999999999999999999999999999999999999",
            "-",
            "@",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
        let deep = "(".repeat(10_000);
        assert!(parse(&deep).is_err());
    }
}
