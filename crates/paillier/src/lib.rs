//! Paillier homomorphic encryption (g = n + 1) with Damgård–Jurik–Nielsen
//! encryption, CRT decryption, signed fixed point, and encrypted linear
//! algebra: the client encrypts its features under its own key, a server
//! multiplies them by its plaintext model, and only the client can decrypt
//! the result.
//!
//! **Scheme.** Enc(m) = (1 + m·n)·h_s^α mod n², with h_s = (−x²)^n mod n²
//! a public key element and α a uniform ⌈k/2⌉-bit exponent (DJN 2010,
//! §4.2; HEU and Intel's IPCL do the same). h_s^α comes from a fixed-base
//! table built once per key, so an encryption costs ⌈(k/2)/6⌉ + 2
//! multiplications modulo n² instead of an exponentiation by n.
//! Decryption is Paillier's standard CRT decryption, with constant-time
//! exponentiations by p − 1 and q − 1. See `docs/paillier.md` for the
//! costs, measurements and the comparison with python-paillier.
//!
//! **Security.** IND-CPA for k ≥ 2048 under the decisional composite
//! residuosity assumption together with the short-exponent assumption of
//! DJN encryption: that h_s^α for a ⌈k/2⌉-bit α cannot be told from a
//! uniform n-th residue (Damgård, Jurik, Nielsen, "A generalization of
//! Paillier's public-key system with applications to electronic voting",
//! IJIS 9(6), 2010; the generic attack, Pollard's lambda, needs 2^(k/4)
//! steps). A server re-randomises its replies with a uniform r^n, which
//! needs no assumption beyond DCR and hides how a reply was computed even
//! from the key's owner. Every exponent that is a secret (decryption's,
//! α, a server's weights) is processed in constant time: fixed windows,
//! constant-time table reads, no skipped zeros.
//!
//! Not protected: the server learns the shapes; a malicious server can
//! return any ciphertext (there is no proof that it evaluated the model);
//! the client learns the scores, which may reveal the model after many
//! queries.
//!
//! Big integers are crypto-bigint's (pure Rust, constant-time Montgomery
//! arithmetic); primes come from crypto-primes. No C library is built.

mod ciphertext;
pub mod encoding;
mod error;
pub mod fixed_base;
mod ifma;
mod integer;
mod keys;
pub mod linear;
pub mod montgomery;
pub mod multiexp;
mod pool;
pub mod protocol;
pub mod wire;

pub use ciphertext::{Ciphertext, Plaintext, Randomizer};
pub use crypto_bigint::BoxedUint;
pub use encoding::{FixedPoint, WeightFormat};
pub use error::{PaillierError, Result};
pub use keys::{KEY_SIZES, PrivateKey, PublicKey, randomness_bits};
pub use linear::EncryptedMatrix;
pub use montgomery::Kernel;
pub use pool::RandomnessPool;
pub use protocol::{
    ClassLabels, Client, Finish, LinearModel, ModelKind, Normalization, PostTransform, Prediction, Server,
};
