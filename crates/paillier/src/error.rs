//! Paillier errors. None carries a plaintext or a secret key part.

use thiserror::Error;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaillierError {
    /// A key size the scheme does not offer.
    #[error("key size {0} bits: choose 2048, 3072 or 4096 (or at least 256 for tests)")]
    KeySize(u32),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Randomness(String),
    /// Primes that cannot form a key.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A plaintext outside [0, n).
    #[error("plaintext out of range for this key")]
    PlaintextRange,
    /// A real that does not fit the encoding, at a position.
    #[error("fixed-point encoding: the value at position {position} {reason}")]
    Encoding { position: usize, reason: String },
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
}

/// Result of a Paillier operation.
pub type Result<T> = std::result::Result<T, PaillierError>;
