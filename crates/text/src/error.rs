//! Parse errors with file, line, column and a caret snippet.

use std::fmt;
use std::path::PathBuf;

/// A parse (or construction-while-parsing) error at a position in the source.
#[derive(Debug, Clone)]
pub struct ParseError {
    /// The file, when parsing a file.
    pub file: Option<PathBuf>,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// The text of the offending line.
    pub line_text: String,
    /// What went wrong.
    pub message: String,
    /// Optional hint.
    pub help: Option<String>,
}

impl ParseError {
    pub(crate) fn new(
        line: usize,
        col: usize,
        line_text: &str,
        message: impl Into<String>,
    ) -> ParseError {
        ParseError {
            file: None,
            line,
            col,
            line_text: line_text.to_string(),
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> ParseError {
        self.help = Some(help.into());
        self
    }

    /// Sets the file name shown in messages.
    pub fn with_file(mut self, file: impl Into<PathBuf>) -> ParseError {
        self.file = Some(file.into());
        self
    }

    /// The multi-line rendering: location, message, the line and a caret under the column.
    pub fn render(&self) -> String {
        let loc = match &self.file {
            Some(f) => format!("{}:{}:{}", f.display(), self.line, self.col),
            None => format!("<input>:{}:{}", self.line, self.col),
        };
        let gutter = self.line.to_string().len();
        let mut out = format!("error: {}\n{:>w$}--> {loc}\n", self.message, "", w = gutter);
        out.push_str(&format!("{:>w$} |\n", "", w = gutter));
        out.push_str(&format!("{} | {}\n", self.line, self.line_text));
        let caret_pad: String = self
            .line_text
            .chars()
            .take(self.col.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        out.push_str(&format!("{:>w$} | {caret_pad}^", "", w = gutter));
        if let Some(h) = &self.help {
            out.push_str(&format!("\n{:>w$} = help: {h}", "", w = gutter));
        }
        out
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => write!(f, "{}:{}:{}: {}", p.display(), self.line, self.col, self.message),
            None => write!(f, "line {}, column {}: {}", self.line, self.col, self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// Printing can fail only when saving tensors to the store fails or when a circuit
/// cannot be represented.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrintError {
    /// Saving a tensor to the store failed.
    #[error("saving tensor for {node}: {source}")]
    SaveTensor {
        /// The node.
        node: String,
        /// The underlying error.
        #[source]
        source: circuit_tensor::TensorError,
    },
    /// Loading an array's data (needed to save it) failed.
    #[error("loading tensor for {node}: {source}")]
    LoadTensor {
        /// The node.
        node: String,
        /// The underlying error.
        #[source]
        source: circuit_tensor::TensorError,
    },
    /// A circuit the format cannot represent.
    #[error("cannot print: {0}")]
    Unprintable(String),
    /// Options that cannot be combined.
    #[error("invalid print options: {0}")]
    InvalidOptions(String),
}
