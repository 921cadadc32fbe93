//! Name and axis-name distributions: mostly awkward strings that stress quoting,
//! escaping, comments, child-info splitting and serial numbering.

use crate::Gen;

/// Names that stress the line format (none contains a line break).
pub const NASTY_NAMES: &[&str] = &[
    "",
    " ",
    "  ",
    "x",
    " x",
    "x ",
    "  lead",
    "trail  ",
    "a b",
    "'",
    "''",
    "'a'",
    "a'",
    "'a",
    "a' b",
    "a' ",
    "a'#",
    "a'!",
    "a' #c",
    "\\",
    "\\\\",
    "a\\",
    "\\'",
    "'\\",
    "\\' x",
    "a\\ b",
    "#",
    "# 43",
    "a#b",
    "#'",
    "!",
    "a!b",
    " ! ",
    "!'",
    "0",
    "1",
    "00",
    "42",
    "-1",
    "1.5",
    "1e3",
    "Add",
    "Scalar",
    "AD",
    "[2]",
    "[",
    "]",
    "▼",
    "|/",
    "├‣x",
    "│",
    "\t",
    "a\tb",
    "ttt",
    "fft",
    "x fft",
    "->",
    "a,b",
    "a:b",
    "αβγ",
    "名前",
    "🦀",
    "\u{a0}",
    "ñ",
    "e\u{301}",
    "\u{feff}x",
    "*",
    "0s",
    "None",
    "rand",
    "x!y#z'w\\",
    "a + b",
    "sigmoid(a)",
    "(a * b) idx",
];

/// Names with line breaks: the line format cannot represent them.
pub const NEWLINE_NAMES: &[&str] = &["a\nb", "\n", "x\r", "\r\ny", "a\u{2028}b"];

/// Characters random names are built from.
const NAME_CHARS: &[char] = &[
    'a', 'b', 'z', 'A', 'Q', '0', '7', '_', '.', ' ', ' ', '\'', '\\', '#', '!', '[', ']', ':',
    ',', '-', '>', '*', '(', ')', 'α', 'ψ', '名', '🦀', '│', '▼', '\t',
];

/// Axis names that survive every printer mode.
pub const SAFE_AXIS_NAMES: &[&str] =
    &["a", "b", "c", "batch", "seq", "x1", "α", "名", "h_0", "Q", "s", "0", "12", "a.b"];

/// Axis names allowed by the IR that contain characters with a meaning in payloads
/// (`#` comment, `!` child info, `->` einsum arrow, quotes).
pub const UNSAFE_AXIS_NAMES: &[&str] =
    &["#h", "h#", "!x", "x!", "a->b", "->", "-", ">", "'q", "q'", "\\", "fancy:"];

/// A random name built from a fixed character set (letters, digits, punctuation, unicode).
pub fn random_name(g: &mut Gen) -> String {
    let len = g.range(1, 8);
    (0..len).map(|_| NAME_CHARS[g.below(NAME_CHARS.len())]).collect()
}
