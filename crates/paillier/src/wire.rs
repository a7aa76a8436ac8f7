//! Versioned encodings of keys and ciphertext matrices (postcard with a
//! format version first). Reading checks everything: a ciphertext outside
//! Z*_{n²}, a matrix of the wrong size or under another key, numbers that
//! do not form a key, a key or matrix past the sizes offered — each is an
//! error, never a panic or an allocation the bytes did not pay for.

use serde::{Deserialize, Serialize};

use crate::ciphertext::Ciphertext;
use crate::error::{PaillierError, Result};
use crate::integer::{from_bytes, to_bytes_trimmed, to_fixed_bytes};
use crate::keys::{PrivateKey, PublicKey};
use crate::linear::EncryptedMatrix;

/// The version of every format here (2: DJN keys, crypto-bigint).
pub const VERSION: u16 = 2;

/// The largest modulus read (bits).
pub const MAX_KEY_BITS: u32 = 8192;

#[derive(Serialize, Deserialize)]
struct PublicKeyV2 {
    version: u16,
    n: Vec<u8>,
    djn: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct PrivateKeyV2 {
    version: u16,
    p: Vec<u8>,
    q: Vec<u8>,
    djn: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct MatrixV2 {
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

impl PublicKey {
    pub fn to_bytes(&self) -> Vec<u8> {
        let record = PublicKeyV2 {
            version: VERSION,
            n: to_bytes_trimmed(self.modulus()),
            djn: to_bytes_trimmed(&self.djn),
        };
        postcard::to_allocvec(&record).expect("a key serialises")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<PublicKey> {
        let decoded: PublicKeyV2 =
            postcard::from_bytes(bytes).map_err(|e| malformed("public key", e.to_string()))?;
        check_version("public key", decoded.version)?;
        let n = from_bytes(&decoded.n, MAX_KEY_BITS, "public key")?;
        let djn = from_bytes(&decoded.djn, 2 * MAX_KEY_BITS, "public key")?;
        PublicKey::from_parts(n, djn).map_err(|e| malformed("public key", e.to_string()))
    }
}

impl PrivateKey {
    pub fn to_bytes(&self) -> Vec<u8> {
        let (p, q) = self.primes();
        let record = PrivateKeyV2 {
            version: VERSION,
            p: to_bytes_trimmed(p),
            q: to_bytes_trimmed(q),
            djn: to_bytes_trimmed(&self.public.djn),
        };
        postcard::to_allocvec(&record).expect("a key serialises")
    }

    /// Reads a private key, checking that p and q are primes that form a
    /// key (Baillie–PSW) and the DJN element is a unit below n².
    pub fn from_bytes(bytes: &[u8]) -> Result<PrivateKey> {
        let decoded: PrivateKeyV2 =
            postcard::from_bytes(bytes).map_err(|e| malformed("private key", e.to_string()))?;
        check_version("private key", decoded.version)?;
        let p = from_bytes(&decoded.p, MAX_KEY_BITS / 2, "private key")?;
        let q = from_bytes(&decoded.q, MAX_KEY_BITS / 2, "private key")?;
        let djn = from_bytes(&decoded.djn, 2 * MAX_KEY_BITS, "private key")?;
        let prime = |x: &crypto_bigint::BoxedUint| {
            x.bit_width_vartime() >= 2 && crypto_primes::is_prime(crypto_primes::Flavor::Any, x)
        };
        if !prime(&p) || !prime(&q) {
            return Err(malformed("private key", "p or q is not prime"));
        }
        PrivateKey::from_primes(p, q, djn).map_err(|e| malformed("private key", e.to_string()))
    }
}

impl EncryptedMatrix {
    pub fn to_bytes(&self, key: &PublicKey) -> Vec<u8> {
        let width = key.ciphertext_bytes();
        let mut ciphertexts = Vec::with_capacity(width * self.values.len());
        for c in &self.values {
            ciphertexts.extend(to_fixed_bytes(c.value(), width));
        }
        let record = MatrixV2 {
            version: VERSION,
            key_tag: key.tag(),
            rows: self.rows as u32,
            columns: self.columns as u32,
            fractional_bits: self.fractional_bits,
            ciphertexts,
        };
        postcard::to_allocvec(&record).expect("a matrix serialises")
    }

    /// Reads a matrix under `key`, checking its size and every ciphertext.
    pub fn from_bytes(key: &PublicKey, bytes: &[u8]) -> Result<EncryptedMatrix> {
        let decoded: MatrixV2 =
            postcard::from_bytes(bytes).map_err(|e| malformed("ciphertext matrix", e.to_string()))?;
        check_version("ciphertext matrix", decoded.version)?;
        if decoded.key_tag != key.tag() {
            return Err(PaillierError::KeyMismatch);
        }
        let width = key.ciphertext_bytes();
        let count = (decoded.rows as usize).checked_mul(decoded.columns as usize);
        if count.and_then(|c| c.checked_mul(width)) != Some(decoded.ciphertexts.len()) {
            return Err(malformed(
                "ciphertext matrix",
                format!(
                    "{} bytes do not hold {}x{} ciphertexts of {width} bytes",
                    decoded.ciphertexts.len(),
                    decoded.rows,
                    decoded.columns
                ),
            ));
        }
        let values = decoded
            .ciphertexts
            .chunks_exact(width)
            .map(|digits| key.check(&from_bytes(digits, 2 * key.bits(), "ciphertext")?))
            .collect::<Result<Vec<Ciphertext>>>()?;
        Ok(EncryptedMatrix {
            rows: decoded.rows as usize,
            columns: decoded.columns as usize,
            fractional_bits: decoded.fractional_bits,
            values,
        })
    }
}
