//! Errors of the ring layer. None of them shows a secret value, nor where
//! in a secret tensor a bad element is: an encoding error's message says
//! what kind of problem it is (and the representable range), and keeps the
//! position for [`RingError::private_detail`], which only the data's owner
//! may log (errors cross parties: the peers and the operator read them).

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
        "fixed-point encoding: a value is outside the representable range [{min:e}, {max:e}] of {format}"
    )]
    OutOfRange { position: Vec<usize>, min: f64, max: f64, format: String },
    /// NaN or infinity cannot be encoded.
    #[error("fixed-point encoding: a value is not finite (NaN or infinity)")]
    NotFinite { position: Vec<usize> },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Randomness(String),
}

impl RingError {
    /// What only the owner of the data may see: where the bad value is.
    pub fn private_detail(&self) -> Option<String> {
        match self {
            RingError::OutOfRange { position, .. } | RingError::NotFinite { position } => {
                Some(format!("the first such value is at position {position:?}"))
            }
            _ => None,
        }
    }
}

/// Result of a ring operation.
pub type Result<T> = std::result::Result<T, RingError>;
