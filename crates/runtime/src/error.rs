//! Session errors: each names the party and op where things went wrong.

use blindfold_ir::GraphError;
use blindfold_protocols::ProtocolError;
use thiserror::Error;

/// Why a session did not complete.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RuntimeError {
    /// The graph does not fit the session.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// An input is missing or has the wrong shape.
    #[error("{0}")]
    Input(Box<ProtocolError>),
    /// Inputs were given for a party the session does not have.
    #[error("inputs were given for '{party}', which is not a party of this session")]
    UnknownInputParty { party: String },
    /// A party failed; the error names the op and, for transport failures,
    /// the peer.
    #[error("party {party} failed: {error}")]
    Party { party: String, error: Box<ProtocolError> },
    /// A party's thread panicked.
    #[error("party {party} crashed: {message}")]
    PartyPanicked { party: String, message: String },
    /// The plaintext backend failed.
    #[error("plaintext run: {0}")]
    Plaintext(Box<ProtocolError>),
    /// Values the ring cannot hold: refused before the session started.
    #[error("fixed point would overflow at {}; scale the values down, use Z_2^128, or accept the risk", .0.public())]
    Overflow(Box<blindfold_protocols::headroom::Overflow>),
}

impl RuntimeError {
    /// What only the party that raised the error may log (see
    /// [`ProtocolError::private_detail`]).
    pub fn private_detail(&self) -> Option<String> {
        match self {
            RuntimeError::Input(error) | RuntimeError::Plaintext(error) => error.private_detail(),
            RuntimeError::Party { error, .. } => error.private_detail(),
            RuntimeError::Overflow(overflow) => Some(overflow.to_string()),
            _ => None,
        }
    }

    /// The peer whose silence, stall or failure ended the party's run.
    pub fn peer(&self) -> Option<&str> {
        match self {
            RuntimeError::Party { error, .. } => error.peer(),
            _ => None,
        }
    }
}

/// Result of a session.
pub type Result<T> = std::result::Result<T, RuntimeError>;
