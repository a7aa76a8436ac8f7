//! Paillier homomorphic encryption (g = n + 1) with CRT decryption, signed
//! fixed point, and encrypted linear algebra: the client encrypts its
//! features under its own key, a server multiplies them by its plaintext
//! model, and only the client can decrypt the result.
//!
//! Security: IND-CPA under the decisional composite residuosity assumption,
//! for n of 2048 bits or more. Not protected: the server learns the shapes;
//! a malicious server can return any ciphertext (there is no proof that it
//! evaluated the model); the client learns the scores, which may reveal
//! the model after many queries.
//!
//! Big integers are GMP's, through `rug`: the fastest here (a 2048-bit
//! exponent mod a 4096-bit modulus in about 15 ms against 27–29 ms for
//! num-bigint, ../shared/CRATES.md), with a constant-time `powm_sec` for
//! secret exponents.

mod ciphertext;
pub mod encoding;
mod error;
mod keys;
pub mod linear;
mod pool;
pub mod protocol;
mod random;
pub mod wire;

pub use ciphertext::Ciphertext;
pub use encoding::FixedPoint;
pub use error::{PaillierError, Result};
pub use keys::{KEY_SIZES, PrivateKey, PublicKey};
pub use linear::EncryptedMatrix;
pub use pool::RandomnessPool;
pub use protocol::{Client, LinearModel, ModelKind, Server};
