//! Random mutations of `.circ` text for parser robustness tests: byte flips, insertions
//! (random bytes and format-relevant tokens), deletions, line duplications, deletions and
//! swaps, indentation changes and truncation. Results are valid UTF-8 (invalid byte
//! sequences are replaced by U+FFFD), since the parser takes `&str`.

use crate::Gen;

/// One kind of edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mutation {
    /// Flip one random bit of one byte.
    FlipBit,
    /// Replace one byte with a random byte.
    ReplaceByte,
    /// Insert one random byte.
    InsertByte,
    /// Insert a format-relevant token (`'`, `\`, `#`, `!`, `▼`, `[`, a kind name, a huge
    /// number, a uuid, ...).
    InsertToken,
    /// Delete a short run of bytes.
    DeleteBytes,
    /// Duplicate a line.
    DuplicateLine,
    /// Delete a line.
    DeleteLine,
    /// Swap two lines.
    SwapLines,
    /// Add 1 or 2 columns of indentation to a line.
    Indent,
    /// Remove 1 or 2 columns of indentation from a line.
    Dedent,
    /// Cut the text at a random byte.
    Truncate,
    /// Replace a digit run with another number (0, huge, negative, ...).
    ReplaceNumber,
}

impl Mutation {
    /// Every mutation kind.
    pub const ALL: [Mutation; 12] = [
        Mutation::FlipBit,
        Mutation::ReplaceByte,
        Mutation::InsertByte,
        Mutation::InsertToken,
        Mutation::DeleteBytes,
        Mutation::DuplicateLine,
        Mutation::DeleteLine,
        Mutation::SwapLines,
        Mutation::Indent,
        Mutation::Dedent,
        Mutation::Truncate,
        Mutation::ReplaceNumber,
    ];
}

/// Tokens that matter to the lexer and to payload parsers.
pub const TOKENS: &[&str] = &[
    "'",
    "\\",
    "\\'",
    "#",
    "!",
    " ! ",
    "▼",
    "|/",
    "├‣",
    "└‣",
    "│ ",
    "[",
    "]",
    "[]",
    ",",
    ":",
    "->",
    "(",
    ")",
    "()",
    "*",
    "s",
    "0s",
    "2*1s",
    "255s",
    "256s",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "AD",
    " AD",
    "0",
    "-1",
    "-0",
    "1_000",
    "_1",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775808",
    "1e308",
    "1e309",
    "NaN",
    "-inf",
    "inf",
    "1.",
    ".5",
    "Add",
    "Einsum",
    "Scalar",
    "Symbol",
    "Array",
    "rand",
    "Module",
    "Index",
    "Scatter",
    "Concat",
    "Rearrange",
    "GeneralFunction",
    "Conv",
    "Tag",
    "DiscreteVar",
    "Cumulant",
    "StoredCumulantVar",
    "SetSymbolicShape",
    " ftt",
    " fff",
    "fancy:",
    "sigmoid",
    "gen_index_at_-1",
    "explicit_index_at_0_x_non_b_1",
    "multinomial_[1000000000000]",
    "cast_from_{device:None,dtype:None}_to_{device:None,dtype:int8}",
    "00000000-0000-0000-0000-000000000000",
    "1a280c74-fa9f-4dd9-94f4-5cca4a0cf243",
    "t292d9fdb22",
    "292d9fdb22d57c8b600197ef",
    "[1000000000000]",
    "[0]",
    "[18446744073709551615]",
    "[9223372036854775808]",
    "α",
    "ψ",
    "Ā",
    "名",
    "🦀",
    "\u{feff}",
    "\u{0}",
    "\u{a0}",
    "stride=[1] padding=[0:0]",
    "1, 2|",
    "a:",
    ":3",
    "0:",
    ":-1",
];

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "-2",
    "3",
    "7",
    "255",
    "256",
    "10007",
    "1000000000000",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
];

/// Applies one mutation of the given kind (a no-op where it does not apply, e.g. swapping
/// lines of a one-line text).
pub fn apply(text: &[u8], m: Mutation, g: &mut Gen) -> Vec<u8> {
    let mut b = text.to_vec();
    let n = b.len();
    match m {
        Mutation::FlipBit if n > 0 => {
            let i = g.below(n);
            b[i] ^= 1 << g.below(8);
        }
        Mutation::ReplaceByte if n > 0 => {
            let i = g.below(n);
            b[i] = (g.u64() & 0xff) as u8;
        }
        Mutation::InsertByte => {
            let i = g.below(n + 1);
            let byte = if g.chance(0.7) {
                // printable ASCII is far more likely to get past the lexer
                (32 + g.below(95)) as u8
            } else {
                (g.u64() & 0xff) as u8
            };
            b.insert(i, byte);
        }
        Mutation::InsertToken => {
            let i = g.below(n + 1);
            let tok = g.pick(TOKENS).copied().unwrap_or("'");
            b.splice(i..i, tok.bytes());
        }
        Mutation::DeleteBytes if n > 0 => {
            let i = g.below(n);
            let len = g.range(1, 4).min(n - i);
            b.drain(i..i + len);
        }
        Mutation::DuplicateLine
        | Mutation::DeleteLine
        | Mutation::SwapLines
        | Mutation::Indent
        | Mutation::Dedent => b = line_edit(&b, m, g),
        Mutation::Truncate if n > 0 => b.truncate(g.below(n)),
        Mutation::ReplaceNumber => b = replace_number(&b, g),
        _ => {}
    }
    b
}

fn line_edit(text: &[u8], m: Mutation, g: &mut Gen) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = text.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
    let n = lines.len();
    let i = g.below(n);
    match m {
        Mutation::DuplicateLine => {
            let l = lines[i].clone();
            lines.insert(g.below(n + 1), l);
        }
        Mutation::DeleteLine if n > 1 => {
            lines.remove(i);
        }
        Mutation::SwapLines if n > 1 => {
            let j = g.below(n);
            lines.swap(i, j);
        }
        Mutation::Indent => {
            let k = g.range(1, 2);
            lines[i].splice(0..0, std::iter::repeat_n(b' ', k));
        }
        Mutation::Dedent => {
            let k = g.range(1, 2);
            let lead = lines[i].iter().take_while(|&&c| c == b' ').count().min(k);
            lines[i].drain(..lead);
        }
        _ => {}
    }
    lines.join(&b'\n')
}

fn replace_number(text: &[u8], g: &mut Gen) -> Vec<u8> {
    let runs: Vec<(usize, usize)> = {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if text[i].is_ascii_digit() {
                let s = i;
                while i < text.len() && text[i].is_ascii_digit() {
                    i += 1;
                }
                out.push((s, i));
            } else {
                i += 1;
            }
        }
        out
    };
    let mut b = text.to_vec();
    if let Some(&(s, e)) = g.pick(&runs) {
        let num = g.pick(NUMBERS).copied().unwrap_or("0");
        b.splice(s..e, num.bytes());
    }
    b
}

/// Applies `count` random mutations; returns the text and the mutations applied.
pub fn mutate_n(text: &str, count: usize, g: &mut Gen) -> (String, Vec<Mutation>) {
    let mut bytes = text.as_bytes().to_vec();
    let mut applied = Vec::with_capacity(count);
    for _ in 0..count {
        let m = Mutation::ALL[g.below(Mutation::ALL.len())];
        bytes = apply(&bytes, m, g);
        applied.push(m);
    }
    (String::from_utf8_lossy(&bytes).into_owned(), applied)
}

/// Applies 1 to 4 random mutations (one half of the time, so that many results still
/// parse and reach the deeper layers).
pub fn mutate(text: &str, g: &mut Gen) -> (String, Vec<Mutation>) {
    let count = match g.weighted(&[50, 25, 25]) {
        0 => 1,
        1 => 2,
        _ => g.range(3, 4),
    };
    mutate_n(text, count, g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_utf8() {
        let text = "0 Add\n  1 [2] Scalar 1\n  'α' [2] Scalar 2";
        let a = mutate_n(text, 20, &mut Gen::new(5));
        let b = mutate_n(text, 20, &mut Gen::new(5));
        assert_eq!(a, b);
        for seed in 0..200 {
            let (t, _) = mutate(text, &mut Gen::new(seed));
            assert!(std::str::from_utf8(t.as_bytes()).is_ok());
        }
    }

    #[test]
    fn every_kind_applies() {
        let text = "0 Add\n  1 [2] Scalar 1\n  2 [2] Scalar 2";
        let mut g = Gen::new(1);
        for m in Mutation::ALL {
            let out = apply(text.as_bytes(), m, &mut g);
            assert!(out.len() < 200, "{m:?}");
        }
        assert!(apply(b"", Mutation::FlipBit, &mut g).is_empty());
    }
}
