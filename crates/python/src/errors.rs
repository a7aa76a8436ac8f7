//! Rust errors as Python exceptions, chosen by the error's kind: the
//! caller's input (options, files, models, shapes) is a `ValueError` (or a
//! `TypeError`, raised by the package before it gets here); a failure of
//! the protocol or the network is a `blindfold.ProtocolError`. The message
//! is the Rust error's.

use blindfold_jobs::JobError;
use blindfold_runtime::RuntimeError;
use pyo3::PyErr;
use pyo3::exceptions::{PyOverflowError, PyValueError};

pyo3::create_exception!(
    _blindfold,
    ProtocolError,
    pyo3::exceptions::PyException,
    "A protocol or network failure: a party failed, a peer left, stalled or sent a bad message."
);

/// A `ValueError` with `error`'s message.
pub fn value_error(error: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(error.to_string())
}

/// A `blindfold.ProtocolError` with `error`'s message.
pub fn protocol_error(error: impl std::fmt::Display) -> PyErr {
    ProtocolError::new_err(error.to_string())
}

/// A session's error: the caller's input (graph, shapes, parties) is a
/// `ValueError`; values fixed point cannot hold an `OverflowError`; a
/// party's failure a `ProtocolError`.
pub fn session_error(error: RuntimeError) -> PyErr {
    match error {
        RuntimeError::Overflow(_) => PyOverflowError::new_err(error.to_string()),
        RuntimeError::Graph(_) | RuntimeError::Input(_) | RuntimeError::UnknownInputParty { .. } => {
            value_error(error)
        }
        RuntimeError::Party { .. } | RuntimeError::PartyPanicked { .. } | RuntimeError::Plaintext(_) => {
            protocol_error(error)
        }
    }
}

/// A job's error, by variant: a failed session as [`session_error`] says,
/// the caller's mistakes a `ValueError`, other failures a `ProtocolError`.
pub fn job_error(error: JobError) -> PyErr {
    match error {
        JobError::Session(error) => session_error(error),
        error if error.is_usage() => value_error(error),
        error => protocol_error(error),
    }
}
