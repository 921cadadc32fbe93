//! The circuit text format (`.circ`): a parser and a printer compatible with
//! rust_circuit's line format. See `docs/FORMAT.md` for the grammar and where we differ.
//!
//! Parse with [`parse_circuits`] / [`parse_circuit`] (options in [`ParseOptions`]); print
//! with [`PrintOptions::repr`] or [`print_circuits`]. The default printer output parses
//! back to equal circuits (`parse(print(c)) == c`). This crate never evaluates.

mod diff;
mod error;
mod format;
mod lexer;
mod options;
mod out;
mod parser;
mod payload;
mod printer;
mod stream;
mod table;

pub use diff::{diff_circuits, Diff, DiffOptions};
pub use error::{ParseError, PrintError};
pub use format::{
    format_index, format_number, format_payload, format_shape_named, shape_is_necessary,
};
pub use lexer::quote_name;
pub use options::ParseOptions;
pub use parser::{parse_circuit, parse_circuits};
pub use printer::{print_circuits, Color, Colorer, Commenter, PrintOptions, Traversal};
