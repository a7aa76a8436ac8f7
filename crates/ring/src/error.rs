//! Errors of the ring layer. None of them carries a secret value: an
//! encoding error names the position of the bad element, never the element.

use thiserror::Error;

/// What went wrong in a ring operation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RingError {
    /// Two shapes that the operation needs to agree do not.
    #[error("{operation}: shapes {left:?} and {right:?} do not match ({reason})")]
    ShapeMismatch { operation: &'static str, left: Vec<usize>, right: Vec<usize>, reason: &'static str },
    /// An argument is outside what the operation accepts.
    #[error("{operation}: {reason}")]
    InvalidArgument { operation: &'static str, reason: String },
    /// A real number does not fit the fixed-point format.
    #[error(
        "fixed-point encoding: the value at position {position:?} is outside the representable range [{min:e}, {max:e}] of {format}"
    )]
    OutOfRange { position: Vec<usize>, min: f64, max: f64, format: String },
    /// NaN or infinity cannot be encoded.
    #[error("fixed-point encoding: the value at position {position:?} is not finite")]
    NotFinite { position: Vec<usize> },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Randomness(String),
}

/// Result of a ring operation.
pub type Result<T> = std::result::Result<T, RingError>;
