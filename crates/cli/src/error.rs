//! Why a command failed: a job's error (benchmarks' too), a worker's, or a
//! file the command itself writes. The command prints it and exits 2 for
//! the caller's mistakes (options, files, models), 1 for everything else.

use blindfold_jobs::JobError;
use blindfold_network::NetworkError;
use blindfold_runtime::RuntimeError;
use thiserror::Error;

/// A command's failure.
#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Job(#[from] JobError),
    /// Workers, certificates, graph files, launches.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The demo's session.
    #[error(transparent)]
    Session(#[from] RuntimeError),
    /// A file this command writes (a trace, a graph, a model).
    #[error("{path}: {reason}")]
    Write { path: String, reason: String },
    /// Options that do not fit together.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// A write error for `path`.
    pub fn write(path: &std::path::Path, error: impl std::fmt::Display) -> CliError {
        CliError::Write { path: path.display().to_string(), reason: error.to_string() }
    }

    /// What this process alone may show (in-process jobs hold every
    /// party's data): how large an overflowing value could get.
    pub fn private_detail(&self) -> Option<String> {
        match self {
            CliError::Job(error) => error.private_detail(),
            CliError::Session(error) => error.private_detail(),
            _ => None,
        }
    }

    /// Whether the caller can fix it by changing the command.
    pub fn is_usage(&self) -> bool {
        match self {
            CliError::Job(error) => error.is_usage(),
            CliError::Usage(_) | CliError::Write { .. } => true,
            CliError::Network(_) | CliError::Session(_) => false,
        }
    }
}
