//! What can go wrong in a job, by kind: the CLI prints it, Python maps each
//! variant to an exception type. None carries a private value; an input
//! error's location (a line of a file) is its owner's to see.

use blindfold_ir::GraphError;
use blindfold_ml::standardize::StandardizeError;
use blindfold_ml::training::TrainingError;
use blindfold_network::NetworkError;
use blindfold_onnx::OnnxError;
use blindfold_paillier::PaillierError;
use blindfold_runtime::RuntimeError;
use thiserror::Error;

use crate::input::InputError;

/// Why a job failed.
#[derive(Debug, Error)]
pub enum JobError {
    /// An input file that cannot be read: the file, where, what.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A model file that cannot be read or imported.
    #[error("{file}: {source}")]
    Model { file: String, source: OnnxError },
    /// A model the encrypted (Paillier) path cannot take.
    #[error("{file}: {source}")]
    EncryptedModel { file: String, source: PaillierError },
    /// Options, data or shapes that do not fit together; the message says
    /// what to change.
    #[error("{0}")]
    Invalid(String),
    /// A file that could not be read or written (not an input's contents).
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    /// A label column that names no column.
    #[error("{file}: {source}")]
    Column { file: String, source: crate::input::ColumnError },
    /// A worker process of this machine that did not start (its log says why).
    #[error("{party}'s worker did not start: {log}")]
    WorkerStart { party: String, log: String },
    /// A graph that could not be built.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A session that failed (a party's error, a peer, a timeout).
    #[error(transparent)]
    Session(#[from] RuntimeError),
    /// A networked launch, a worker, the parties file.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// Paillier: keys, ciphertexts, overflow.
    #[error(transparent)]
    Paillier(#[from] PaillierError),
    /// Private training.
    #[error(transparent)]
    Training(#[from] TrainingError),
    /// Privately pooled standardisation.
    #[error(transparent)]
    Standardize(#[from] StandardizeError),
}

impl JobError {
    /// What only this process may show: where in an input a bad value is,
    /// how large a value that overflows could get. In-process jobs hold
    /// every party's data, so their caller may see it.
    pub fn private_detail(&self) -> Option<String> {
        match self {
            JobError::Session(error) => error.private_detail(),
            JobError::Training(TrainingError::Session(error)) => error.private_detail(),
            _ => None,
        }
    }

    /// A file error from an I/O error.
    pub fn file(path: &std::path::Path, error: impl std::fmt::Display) -> JobError {
        JobError::File { path: path.display().to_string(), reason: error.to_string() }
    }

    /// Whether the failure is the caller's (bad options, files, models) as
    /// opposed to a session or peer that failed.
    pub fn is_usage(&self) -> bool {
        match self {
            JobError::Input(_)
            | JobError::Model { .. }
            | JobError::EncryptedModel { .. }
            | JobError::Invalid(_)
            | JobError::File { .. }
            | JobError::Column { .. }
            | JobError::Graph(_)
            | JobError::Paillier(_) => true,
            JobError::Training(TrainingError::Graph(_) | TrainingError::NoData | TrainingError::Model(_)) => {
                true
            }
            JobError::Session(RuntimeError::Overflow(_)) => true,
            JobError::WorkerStart { .. }
            | JobError::Session(_)
            | JobError::Network(_)
            | JobError::Training(_)
            | JobError::Standardize(_) => false,
        }
    }
}

/// Result of a job.
pub type Result<T> = std::result::Result<T, JobError>;
