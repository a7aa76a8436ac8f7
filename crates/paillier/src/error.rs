//! Paillier errors. None carries a plaintext, a secret key part, a model's
//! weight, or where in an input a bad value is.

use thiserror::Error;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaillierError {
    /// A key size the scheme does not offer.
    #[error("key size {0} bits: choose 2048, 3072 or 4096 (or an even size from 256 for tests)")]
    KeySize(u32),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Randomness(String),
    /// Numbers that cannot form a key.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A plaintext outside [0, n).
    #[error("plaintext out of range for this key")]
    PlaintextRange,
    /// A real that does not fit the encoding (NaN, infinite, too large).
    #[error("fixed-point encoding: a value {0}")]
    Encoding(String),
    /// A computation whose result could exceed n/2 and wrap.
    #[error("overflow risk: {0}")]
    Overflow(String),
    /// Shapes that do not fit.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Bytes that are not a valid key, ciphertext or message.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// Ciphertexts under another key.
    #[error("ciphertexts are under a different public key")]
    KeyMismatch,
    /// A model the encrypted path cannot run (not linear in its input).
    #[error("model: {0}")]
    Model(String),
}

/// Result of a Paillier operation.
pub type Result<T> = std::result::Result<T, PaillierError>;
