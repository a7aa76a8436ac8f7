//! Versioned encodings of keys and ciphertext matrices (postcard with a
//! format version first). Reading checks everything: a ciphertext outside
//! Z*_{n²}, a matrix of the wrong size or under another key, primes that do
//! not form a key — each is an error.

use rug::Integer;
use rug::integer::Order;
use serde::{Deserialize, Serialize};

use crate::ciphertext::Ciphertext;
use crate::error::{PaillierError, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::linear::EncryptedMatrix;

/// The version of every format here.
pub const VERSION: u16 = 1;

#[derive(Serialize, Deserialize)]
struct PublicKeyV1 {
    version: u16,
    n: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct PrivateKeyV1 {
    version: u16,
    p: Vec<u8>,
    q: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct MatrixV1 {
    version: u16,
    /// n mod 2^64: which key the ciphertexts are under.
    key_tag: u64,
    rows: u32,
    columns: u32,
    fractional_bits: u32,
    /// Each ciphertext in big-endian bytes, fixed width (those of n²).
    ciphertexts: Vec<u8>,
}

fn malformed(what: &'static str, reason: impl Into<String>) -> PaillierError {
    PaillierError::Malformed { what, reason: reason.into() }
}

fn check_version(what: &'static str, version: u16) -> Result<()> {
    if version != VERSION {
        return Err(malformed(what, format!("format version {version}, this build reads {VERSION}")));
    }
    Ok(())
}

/// A non-negative integer's big-endian bytes, without leading zeros.
fn big_endian(value: &Integer) -> Vec<u8> {
    let mut digits = vec![0u8; value.significant_digits::<u8>()];
    value.write_digits(&mut digits, Order::Msf);
    digits
}

fn key_tag(key: &PublicKey) -> u64 {
    key.modulus().to_u64_wrapping()
}

impl PublicKey {
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(&PublicKeyV1 { version: VERSION, n: big_endian(self.modulus()) })
            .expect("serialises")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<PublicKey> {
        let decoded: PublicKeyV1 =
            postcard::from_bytes(bytes).map_err(|e| malformed("public key", e.to_string()))?;
        check_version("public key", decoded.version)?;
        let n = Integer::from_digits(&decoded.n, Order::Msf);
        if n.significant_bits() < 256 {
            return Err(malformed("public key", "modulus below 256 bits"));
        }
        PublicKey::from_modulus(n)
    }
}

impl PrivateKey {
    pub fn to_bytes(&self) -> Vec<u8> {
        let record = PrivateKeyV1 { version: VERSION, p: big_endian(&self.p), q: big_endian(&self.q) };
        postcard::to_allocvec(&record).expect("serialises")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<PrivateKey> {
        let decoded: PrivateKeyV1 =
            postcard::from_bytes(bytes).map_err(|e| malformed("private key", e.to_string()))?;
        check_version("private key", decoded.version)?;
        let p = Integer::from_digits(&decoded.p, Order::Msf);
        let q = Integer::from_digits(&decoded.q, Order::Msf);
        let prime = |x: &Integer| x.is_probably_prime(40) != rug::integer::IsPrime::No;
        if !prime(&p) || !prime(&q) {
            return Err(malformed("private key", "p or q is not prime"));
        }
        PrivateKey::from_primes(p, q)
    }
}

impl EncryptedMatrix {
    pub fn to_bytes(&self, key: &PublicKey) -> Vec<u8> {
        let width = key.ciphertext_bytes();
        let mut ciphertexts = vec![0u8; width * self.values.len()];
        for (slot, c) in ciphertexts.chunks_exact_mut(width).zip(&self.values) {
            let digits = big_endian(c.value());
            slot[width - digits.len()..].copy_from_slice(&digits);
        }
        let record = MatrixV1 {
            version: VERSION,
            key_tag: key_tag(key),
            rows: self.rows as u32,
            columns: self.columns as u32,
            fractional_bits: self.fractional_bits,
            ciphertexts,
        };
        postcard::to_allocvec(&record).expect("serialises")
    }

    /// Reads a matrix under `key`, checking its size and every ciphertext.
    pub fn from_bytes(key: &PublicKey, bytes: &[u8]) -> Result<EncryptedMatrix> {
        let decoded: MatrixV1 =
            postcard::from_bytes(bytes).map_err(|e| malformed("ciphertext matrix", e.to_string()))?;
        check_version("ciphertext matrix", decoded.version)?;
        if decoded.key_tag != key_tag(key) {
            return Err(PaillierError::KeyMismatch);
        }
        let width = key.ciphertext_bytes();
        let count = decoded.rows as usize * decoded.columns as usize;
        if decoded.ciphertexts.len() != count * width {
            return Err(malformed(
                "ciphertext matrix",
                format!(
                    "{} bytes do not hold {count} ciphertexts of {width} bytes",
                    decoded.ciphertexts.len()
                ),
            ));
        }
        let values = decoded
            .ciphertexts
            .chunks_exact(width)
            .map(|digits| key.check(Integer::from_digits(digits, Order::Msf)))
            .collect::<Result<Vec<Ciphertext>>>()?;
        Ok(EncryptedMatrix {
            rows: decoded.rows as usize,
            columns: decoded.columns as usize,
            fractional_bits: decoded.fractional_bits,
            values,
        })
    }
}
