//! The tokenizer and parser for rearrange spec text (`(a b:3) c -> c (a b:3) 4`).

use smallvec::SmallVec;

use crate::kinds::rearrange::{Group, RearrangeSpec};
use crate::size::parse_size;
use crate::{IrError, Result};

fn err(text: &str, msg: impl Into<String>) -> IrError {
    IrError::Rearrange { node: format!("'{text}'"), msg: msg.into() }
}

enum Token<'a> {
    Open,
    Close,
    Atom(&'a str),
}

fn tokenize(side: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in side.char_indices() {
        let boundary = c.is_whitespace() || c == '(' || c == ')';
        if boundary {
            if let Some(s) = start.take() {
                out.push(Token::Atom(&side[s..i]));
            }
            if c == '(' {
                out.push(Token::Open);
            } else if c == ')' {
                out.push(Token::Close);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(Token::Atom(&side[s..]));
    }
    out
}

struct Builder<'t> {
    text: &'t str,
    names: Vec<String>,
    sizes: Vec<Option<usize>>,
}

impl Builder<'_> {
    fn fresh(&mut self, size: Option<usize>) -> Result<u8> {
        let id =
            u8::try_from(self.sizes.len()).map_err(|_| err(self.text, "more than 256 axes"))?;
        self.sizes.push(size);
        self.names.push(String::new());
        Ok(id)
    }

    fn atom(&mut self, atom: &str) -> Result<u8> {
        if atom.starts_with(|c: char| c.is_ascii_digit()) {
            let size =
                parse_size(atom).map_err(|_| err(self.text, format!("'{atom}' is not a size")))?;
            return self.fresh(Some(size));
        }
        if !atom.starts_with(|c: char| c.is_alphabetic()) {
            return Err(err(self.text, format!("unexpected '{atom}'")));
        }
        let (word, size) = match atom.split_once(':') {
            Some((w, s)) => (
                w,
                Some(parse_size(s).map_err(|_| err(self.text, format!("'{s}' is not a size")))?),
            ),
            None => (atom, None),
        };
        if !word.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            return Err(err(self.text, format!("'{word}' is not an axis name")));
        }
        let id = match self.names.iter().position(|n| n == word) {
            Some(i) => u8::try_from(i).map_err(|_| err(self.text, "more than 256 axes"))?,
            None => {
                let id = self.fresh(None)?;
                self.names[usize::from(id)] = word.to_string();
                id
            }
        };
        if let Some(s) = size {
            match self.sizes[usize::from(id)] {
                Some(prev) if prev != s => {
                    return Err(err(
                        self.text,
                        format!("axis '{word}' is given sizes {prev} and {s}"),
                    ));
                }
                _ => self.sizes[usize::from(id)] = Some(s),
            }
        }
        Ok(id)
    }

    fn side(&mut self, side: &str) -> Result<Vec<Group>> {
        let mut groups: Vec<Group> = Vec::new();
        let mut open: Option<Group> = None;
        for tok in tokenize(side) {
            match tok {
                Token::Open if open.is_some() => return Err(err(self.text, "nested parentheses")),
                Token::Open => open = Some(SmallVec::new()),
                Token::Close => {
                    groups.push(open.take().ok_or_else(|| err(self.text, "unbalanced ')'"))?)
                }
                Token::Atom(a) => {
                    let id = self.atom(a)?;
                    match open.as_mut() {
                        Some(g) => g.push(id),
                        None => groups.push(SmallVec::from_slice(&[id])),
                    }
                }
            }
        }
        if open.is_some() {
            return Err(err(self.text, "unclosed '('"));
        }
        Ok(groups)
    }
}

pub(crate) fn parse(text: &str) -> Result<RearrangeSpec> {
    let (lhs, rhs) = text.split_once("->").ok_or_else(|| err(text, "expected '->'"))?;
    let mut b = Builder { text, names: Vec::new(), sizes: Vec::new() };
    let input = b.side(lhs)?;
    let output = b.side(rhs)?;
    RearrangeSpec::new(input, output, b.sizes).map_err(|e| match e {
        IrError::Rearrange { msg, .. } => err(text, msg),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprints_like_the_reference() {
        let s = RearrangeSpec::parse("(adf:17 other c:4) b2 -> (b2 c) adf other").unwrap();
        assert_eq!(s.to_text(), "(a:17 b c:4) d -> (d c:4) a:17 b");
        let s = RearrangeSpec::parse("a b -> b a ()").unwrap();
        assert_eq!(s.to_text(), "a b -> b a ()");
        let s = RearrangeSpec::parse(
            "(a:0s b c:0s*1s d:28*6s) e -> (e c:0s*1s) a:0s b 0s (d:28*6s 17s) 240s",
        )
        .unwrap();
        assert_eq!(
            s.to_text(),
            "(a:0s b c:0s*1s d:28*6s) e -> (e c:0s*1s) a:0s b 0s (d:28*6s 17s) 240s"
        );
    }

    #[test]
    fn conform_and_errors() {
        let s = RearrangeSpec::parse("(a:2 b) -> a b").unwrap();
        assert_eq!(s.output_shape(&[6]).unwrap().as_slice(), &[2, 3]);
        assert!(s.output_shape(&[5]).is_err());
        assert!(RearrangeSpec::parse("a b -> a").is_err());
        assert!(RearrangeSpec::parse("a -> a 3").is_ok());
        assert!(RearrangeSpec::parse("a -> a b").is_err());
        assert!(RearrangeSpec::parse("(a b) -> a b").is_err());
        assert!(RearrangeSpec::parse("a a -> a").is_err());
        assert!(RearrangeSpec::parse("a -> (a").is_err());
        assert!(RearrangeSpec::parse("a b").is_err());
        assert!(RearrangeSpec::parse("a 1 -> a").is_ok());
    }
}
