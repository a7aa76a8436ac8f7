//! Protocol errors. They name the op and the peer; they never carry a
//! share, a seed or an input value.

use thiserror::Error;

/// What went wrong while a party ran its part of a graph.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ProtocolError {
    /// A party's input is missing.
    #[error("{party} has no input named '{name}'")]
    MissingInput { party: String, name: String },
    /// A party's input has the wrong shape.
    #[error("input '{name}' of {party} has shape {got:?}, the graph expects {expected:?}")]
    InputShape { party: String, name: String, expected: Vec<usize>, got: Vec<usize> },
    /// A ring operation failed (e.g. a value out of the fixed-point range).
    #[error("{op}: {source}")]
    Ring { op: String, source: blindfold_ring::RingError },
    /// A peer sent a message of the wrong size for the op.
    #[error("{op}: {peer} sent {got} bytes, the protocol expects {expected}")]
    MessageSize { op: String, peer: String, expected: usize, got: usize },
    /// The transport failed (peer left, timed out, or sent a message for
    /// another session or op).
    #[error("{op}: {reason}")]
    Transport { op: String, peer: String, reason: String },
    /// The session's parties do not fit the protocol.
    #[error("{0}")]
    Configuration(String),
}

impl ProtocolError {
    /// What only the party that raised the error may log (where a bad
    /// value of its own input is); never sent to peers or the operator.
    pub fn private_detail(&self) -> Option<String> {
        match self {
            ProtocolError::Ring { source, .. } => source.private_detail(),
            _ => None,
        }
    }

    /// The peer whose silence, stall, failure or message ended the step,
    /// if one did.
    pub fn peer(&self) -> Option<&str> {
        match self {
            ProtocolError::MessageSize { peer, .. } | ProtocolError::Transport { peer, .. } => Some(peer),
            _ => None,
        }
    }
}

/// Result of a protocol step.
pub type Result<T> = std::result::Result<T, ProtocolError>;
