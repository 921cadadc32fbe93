//! The crate's error type.

/// Everything that can go wrong while rendering.
#[derive(Debug, thiserror::Error)]
pub enum VizError {
    /// The caller's input cannot be drawn (empty or ragged matrices, mismatched lengths).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Printing a circuit failed (boxed: the printer's error is large).
    #[error("printing the circuit failed: {0}")]
    Print(Box<circuit_text::PrintError>),
    /// Serializing the embedded data failed.
    #[error("serializing the viewer data failed: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<circuit_text::PrintError> for VizError {
    fn from(e: circuit_text::PrintError) -> VizError {
        VizError::Print(Box::new(e))
    }
}

/// A `Result` with [`VizError`].
pub type Result<T> = std::result::Result<T, VizError>;
