//! Network errors: each names the file, the peer or the party it is about.

use thiserror::Error;

/// Why a configuration, a connection or a networked session failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum NetworkError {
    /// The parties file is malformed or names something that is not there.
    #[error("{path}: {reason}")]
    Config { path: String, reason: String },
    /// Certificates or keys could not be loaded or made.
    #[error("TLS: {0}")]
    Tls(String),
    /// A connection to or from `peer` failed.
    #[error("{peer}: {reason}")]
    Connection { peer: String, reason: String },
    /// A frame did not parse, was cut short or was too large.
    #[error("{0}")]
    Frame(String),
    /// Workers refused to run the session (each with its reason).
    #[error("the session was refused:{}", list(.refusals))]
    Refused { refusals: Vec<(String, String)> },
    /// The session ran and failed at one or more parties; `stopped` are
    /// the parties the others' failures lead back to (the one that froze,
    /// died or failed first), not those blocked behind them.
    #[error("the session failed{}:{}", cause(.stopped), list(.failures))]
    Failed { failures: Vec<(String, String)>, stopped: Vec<String> },
    /// A graph file that cannot be read.
    #[error("{path}: {reason}")]
    GraphFile { path: String, reason: String },
    /// A file a worker or the launcher needed.
    #[error("{0}")]
    Io(String),
}

fn cause(stopped: &[String]) -> String {
    match stopped {
        [] => String::new(),
        [one] => format!(" at {one} (the others' failures follow from it)"),
        many => format!(" at {} (the others' failures follow from them)", many.join(" and ")),
    }
}

fn list(entries: &[(String, String)]) -> String {
    entries.iter().map(|(party, reason)| format!("\n  {party}: {reason}")).collect()
}

/// Result of network operations.
pub type Result<T> = std::result::Result<T, NetworkError>;
