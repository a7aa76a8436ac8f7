//! Keys. The public key is n (g = n + 1 is implicit); the private key keeps
//! p and q and the constants of CRT decryption and CRT encryption.
//!
//! Key generation draws p and q of equal size from the OS CSPRNG and GMP's
//! probable-prime search (BPSW plus Miller–Rabin rounds). Every modular
//! exponentiation with a secret exponent (decryption, CRT encryption, the
//! constants below) uses GMP's constant-time `mpz_powm_sec`; the prime
//! search itself is not constant time (it runs once, on the key owner's
//! machine, before the key exists).

use rug::Integer;

use crate::error::{PaillierError, Result};
use crate::random::random_prime;

/// The public key: the modulus n and n².
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) n: Integer,
    pub(crate) n_squared: Integer,
    /// n / 2: plaintexts above it read as negative.
    pub(crate) half_n: Integer,
}

/// The private key. `Debug` hides the primes.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    pub(crate) public: PublicKey,
    pub(crate) p: Integer,
    pub(crate) q: Integer,
    p_squared: Integer,
    q_squared: Integer,
    /// h_p = L_p(g^(p−1) mod p²)^(−1) mod p, likewise h_q.
    h_p: Integer,
    h_q: Integer,
    /// q^(−1) mod p, for recombination.
    q_inverse: Integer,
    /// n mod p(p−1) and n mod q(q−1): CRT encryption exponents.
    n_mod_p_totient: Integer,
    n_mod_q_totient: Integer,
    /// (q²)^(−1) mod p², for recombining r^n.
    q_squared_inverse: Integer,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({} bits, <redacted>)", self.public.bits())
    }
}

/// The key sizes offered (bits of n).
pub const KEY_SIZES: [u32; 3] = [2048, 3072, 4096];

impl PublicKey {
    /// A public key for modulus n.
    pub fn from_modulus(n: Integer) -> Result<PublicKey> {
        if n <= 3 || n.is_even() {
            return Err(PaillierError::InvalidKey("the modulus must be an odd number above 3".into()));
        }
        let n_squared = n.clone().square();
        let half_n = n.clone() >> 1;
        Ok(PublicKey { n, n_squared, half_n })
    }

    /// The modulus n.
    pub fn modulus(&self) -> &Integer {
        &self.n
    }

    /// n².
    pub fn modulus_squared(&self) -> &Integer {
        &self.n_squared
    }

    /// Bits of n.
    pub fn bits(&self) -> u32 {
        self.n.significant_bits()
    }

    /// Bytes of one ciphertext on the wire (those of n²).
    pub fn ciphertext_bytes(&self) -> usize {
        self.n_squared.significant_bits().div_ceil(8) as usize
    }
}

impl PrivateKey {
    /// A fresh key with n of `bits` bits: 2048 (the default), 3072 or 4096.
    /// Any even size from 256 is accepted so that tests run fast; below
    /// 2048 bits a key is not secure.
    pub fn generate(bits: u32) -> Result<PrivateKey> {
        if bits < 256 || bits % 2 == 1 {
            return Err(PaillierError::KeySize(bits));
        }
        loop {
            let p = random_prime(bits / 2)?;
            let q = random_prime(bits / 2)?;
            if p != q {
                return PrivateKey::from_primes(p, q);
            }
        }
    }

    /// The key of primes p and q (distinct odd primes with gcd(pq, (p−1)(q−1)) = 1).
    pub fn from_primes(p: Integer, q: Integer) -> Result<PrivateKey> {
        if p == q || p < 3 || q < 3 || p.is_even() || q.is_even() {
            return Err(PaillierError::InvalidKey("p and q must be distinct odd primes".into()));
        }
        let n = p.clone() * &q;
        let totient = (p.clone() - 1u32) * (q.clone() - 1u32);
        if n.clone().gcd(&totient) != 1 {
            return Err(PaillierError::InvalidKey("gcd(pq, (p-1)(q-1)) must be 1".into()));
        }
        let public = PublicKey::from_modulus(n.clone())?;
        let p_squared = p.clone().square();
        let q_squared = q.clone().square();
        let g = n.clone() + 1u32;
        let h = |prime: &Integer, prime_squared: &Integer| -> Result<Integer> {
            let exponent = prime.clone() - 1u32;
            let u = g.clone().secure_pow_mod(&exponent, prime_squared);
            let l = (u - 1u32) / prime;
            l.invert(prime).map_err(|_| invalid())
        };
        let h_p = h(&p, &p_squared)?;
        let h_q = h(&q, &q_squared)?;
        let q_inverse = q.clone().invert(&p).map_err(|_| invalid())?;
        let n_mod_p_totient = n.clone() % (p.clone() * (p.clone() - 1u32));
        let n_mod_q_totient = n % (q.clone() * (q.clone() - 1u32));
        let q_squared_inverse = q_squared.clone().invert(&p_squared).map_err(|_| invalid())?;
        Ok(PrivateKey {
            public,
            p,
            q,
            p_squared,
            q_squared,
            h_p,
            h_q,
            q_inverse,
            n_mod_p_totient,
            n_mod_q_totient,
            q_squared_inverse,
        })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The plaintext of ciphertext value `c`, by the Chinese remainder
    /// theorem: m_p = L_p(c^(p−1) mod p²)·h_p mod p, likewise m_q, and
    /// m = m_q + q·((m_p − m_q)·q^(−1) mod p). Constant-time exponentiations.
    pub(crate) fn decrypt_raw(&self, c: &Integer) -> Integer {
        let half = |prime: &Integer, prime_squared: &Integer, h: &Integer| -> Integer {
            let exponent = prime.clone() - 1u32;
            let base = c.clone() % prime_squared;
            let u = base.secure_pow_mod(&exponent, prime_squared);
            let l = (u - 1u32) / prime;
            (l * h) % prime
        };
        let m_p = half(&self.p, &self.p_squared, &self.h_p);
        let m_q = half(&self.q, &self.q_squared, &self.h_q);
        let mut difference = (m_p - &m_q) * &self.q_inverse % &self.p;
        if difference < 0 {
            difference += &self.p;
        }
        m_q + difference * &self.q
    }

    /// r^n mod n² by CRT (exponents reduced mod p(p−1) and q(q−1)): about
    /// four times faster than the public computation. Constant time.
    pub(crate) fn randomizer(&self, r: &Integer) -> Integer {
        let power = |prime_squared: &Integer, exponent: &Integer| {
            (r.clone() % prime_squared).secure_pow_mod(exponent, prime_squared)
        };
        let r_p = power(&self.p_squared, &self.n_mod_p_totient);
        let r_q = power(&self.q_squared, &self.n_mod_q_totient);
        // x ≡ r_p (mod p²), x ≡ r_q (mod q²).
        let mut difference = (r_p - &r_q) * &self.q_squared_inverse % &self.p_squared;
        if difference < 0 {
            difference += &self.p_squared;
        }
        r_q + difference * &self.q_squared
    }
}

fn invalid() -> PaillierError {
    PaillierError::InvalidKey("p and q are not primes that make a Paillier key".into())
}
