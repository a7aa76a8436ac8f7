//! Encryption, decryption and the homomorphic operations (g = n + 1).
//!
//! Enc(m, r) = (1 + m·n) · r^n mod n² (g^m = 1 + m·n mod n² for g = n + 1).
//! Add: c1·c2. Plaintext multiply: c^k (a negative k as (c^(−1))^|k|, so the
//! exponent stays as small as |k|). Negate: c^(−1). Re-randomise: c·r^n.

use rug::Integer;

use crate::error::{PaillierError, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::random::random_unit;

/// A ciphertext: an element of Z*_{n²}.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ciphertext(pub(crate) Integer);

impl Ciphertext {
    /// The ciphertext as an integer in [1, n²).
    pub fn value(&self) -> &Integer {
        &self.0
    }
}

impl PublicKey {
    /// A fresh r^n mod n² for a uniform unit r: one modular exponentiation
    /// (what [`crate::RandomnessPool`] precomputes).
    pub fn randomizer(&self) -> Result<Integer> {
        let r = random_unit(&self.n)?;
        Ok(r.pow_mod(&self.n, &self.n_squared).expect("exponent is positive"))
    }

    /// Encrypts `m` ∈ [0, n) with the precomputed randomizer r^n.
    pub fn encrypt_with(&self, m: &Integer, randomizer: &Integer) -> Result<Ciphertext> {
        if *m < 0 || *m >= self.n {
            return Err(PaillierError::PlaintextRange);
        }
        let g_to_m = (m.clone() * &self.n + 1u32) % &self.n_squared;
        Ok(Ciphertext(g_to_m * randomizer % &self.n_squared))
    }

    /// Encrypts `m` ∈ [0, n) with fresh randomness.
    pub fn encrypt(&self, m: &Integer) -> Result<Ciphertext> {
        self.encrypt_with(m, &self.randomizer()?)
    }

    /// Enc(a + b).
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Ciphertext {
        Ciphertext(a.0.clone() * &b.0 % &self.n_squared)
    }

    /// Enc(a + m) for a plaintext m ∈ [0, n): one multiplication by 1 + m·n.
    pub fn add_plain(&self, a: &Ciphertext, m: &Integer) -> Ciphertext {
        let shift = (m.clone() * &self.n + 1u32) % &self.n_squared;
        Ciphertext(a.0.clone() * shift % &self.n_squared)
    }

    /// Enc(k·a) for a signed integer k (|k| < n/2): c^k, or (c^(−1))^|k|
    /// for negative k.
    pub fn mul_plain(&self, a: &Ciphertext, k: &Integer) -> Ciphertext {
        if *k >= 0 {
            Ciphertext(a.0.clone().pow_mod(k, &self.n_squared).expect("non-negative exponent"))
        } else {
            let magnitude = k.clone().abs();
            let inverse = a.0.clone().invert(&self.n_squared).expect("ciphertexts are units");
            Ciphertext(inverse.pow_mod(&magnitude, &self.n_squared).expect("non-negative exponent"))
        }
    }

    /// Enc(−a).
    pub fn neg(&self, a: &Ciphertext) -> Ciphertext {
        Ciphertext(a.0.clone().invert(&self.n_squared).expect("ciphertexts are units"))
    }

    /// The same plaintext under fresh randomness r^n (`randomizer`).
    pub fn rerandomize_with(&self, a: &Ciphertext, randomizer: &Integer) -> Ciphertext {
        Ciphertext(a.0.clone() * randomizer % &self.n_squared)
    }

    /// The same plaintext under fresh randomness.
    pub fn rerandomize(&self, a: &Ciphertext) -> Result<Ciphertext> {
        Ok(self.rerandomize_with(a, &self.randomizer()?))
    }

    /// Checks that `value` is a ciphertext of this key: in [1, n²) and
    /// coprime to n.
    pub fn check(&self, value: Integer) -> Result<Ciphertext> {
        let malformed = |reason: &str| PaillierError::Malformed { what: "ciphertext", reason: reason.into() };
        if value <= 0 || value >= self.n_squared {
            return Err(malformed("outside [1, n²)"));
        }
        if value.clone().gcd(&self.n) != 1 {
            return Err(malformed("not a unit of Z_{n²}"));
        }
        Ok(Ciphertext(value))
    }
}

impl PrivateKey {
    /// Decrypts to m ∈ [0, n) (CRT, constant-time exponentiations).
    pub fn decrypt(&self, c: &Ciphertext) -> Integer {
        self.decrypt_raw(&c.0)
    }

    /// Encrypts as the key owner: r^n by CRT, about four times faster than
    /// [`PublicKey::encrypt`].
    pub fn encrypt(&self, m: &Integer) -> Result<Ciphertext> {
        let r = random_unit(&self.public.n)?;
        self.public.encrypt_with(m, &self.randomizer(&r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's numbers: n = 35 (p = 5, q = 7), g = 36.
    #[test]
    fn the_seeds_example() {
        let key = PrivateKey::from_primes(Integer::from(5), Integer::from(7)).unwrap();
        let public = key.public_key();
        let r_n = |r: u32| Integer::from(r).pow_mod(&Integer::from(35), &Integer::from(1225)).unwrap();
        let five = public.encrypt_with(&Integer::from(5), &r_n(2)).unwrap();
        assert_eq!(five.0, 718);
        let five_again = public.encrypt_with(&Integer::from(5), &r_n(4)).unwrap();
        assert_eq!(five_again.0, 674);
        let sum = public.add(&five, &five_again);
        assert_eq!(sum.0, 57);
        assert_eq!(public.encrypt_with(&Integer::from(10), &r_n(8)).unwrap().0, 57);
        let doubled = public.mul_plain(&five, &Integer::from(2));
        assert_eq!(doubled.0, 1024);
        assert_eq!(public.encrypt_with(&Integer::from(10), &r_n(4)).unwrap().0, 1024);
        for (c, m) in [(&five, 5), (&five_again, 5), (&sum, 10), (&doubled, 10)] {
            assert_eq!(key.decrypt(c), m);
        }
        // CRT encryption by the owner gives the same randomizer as r^n.
        assert_eq!(key.randomizer(&Integer::from(2)), r_n(2));
    }

    #[test]
    fn negation_and_negative_factors_wrap_mod_n() {
        let key = PrivateKey::from_primes(Integer::from(1_000_003), Integer::from(999_983)).unwrap();
        let public = key.public_key();
        let n = public.modulus().clone();
        let c = key.encrypt(&Integer::from(1234)).unwrap();
        assert_eq!(key.decrypt(&public.neg(&c)), n.clone() - 1234u32);
        assert_eq!(key.decrypt(&public.mul_plain(&c, &Integer::from(-3))), n - 3702u32);
        assert_eq!(key.decrypt(&public.add_plain(&c, &Integer::from(66))), 1300);
        let fresh = public.rerandomize(&c).unwrap();
        assert_ne!(fresh, c);
        assert_eq!(key.decrypt(&fresh), 1234);
    }

    #[test]
    fn ciphertexts_outside_the_group_are_refused() {
        let key = PrivateKey::from_primes(Integer::from(1_000_003), Integer::from(999_983)).unwrap();
        let public = key.public_key();
        assert!(public.check(Integer::from(0)).is_err());
        assert!(public.check(public.modulus_squared().clone()).is_err());
        assert!(public.check(Integer::from(1_000_003)).is_err());
        assert!(public.check(Integer::from(2)).is_ok());
        assert!(public.encrypt(&public.modulus().clone()).is_err());
        assert!(PrivateKey::from_primes(Integer::from(7), Integer::from(7)).is_err());
    }
}
