//! Random big integers from the operating system's CSPRNG.

use rug::Integer;
use rug::integer::Order;

use crate::error::{PaillierError, Result};

/// `bits` uniformly random bits.
pub fn random_bits(bits: u32) -> Result<Integer> {
    let mut bytes = vec![0u8; bits.div_ceil(8) as usize];
    getrandom::fill(&mut bytes).map_err(|error| PaillierError::Randomness(error.to_string()))?;
    let mut value = Integer::from_digits(&bytes, Order::Lsf);
    value.keep_bits_mut(bits);
    Ok(value)
}

/// A uniform element of [1, bound) coprime to `bound` (rejection sampling
/// with 64 extra bits, then a gcd check that fails with negligible
/// probability for an RSA modulus).
pub fn random_unit(bound: &Integer) -> Result<Integer> {
    loop {
        let wide = random_bits(bound.significant_bits() + 64)?;
        let candidate = wide % bound;
        if candidate != 0 && candidate.clone().gcd(bound) == 1 {
            return Ok(candidate);
        }
    }
}

/// A random prime of exactly `bits` bits with its top two bits set (so a
/// product of two has exactly 2·bits bits).
pub fn random_prime(bits: u32) -> Result<Integer> {
    let mut candidate = random_bits(bits)?;
    candidate.set_bit(bits - 1, true);
    candidate.set_bit(bits - 2, true);
    loop {
        let prime = candidate.clone().next_prime();
        if prime.significant_bits() == bits {
            return Ok(prime);
        }
        candidate = random_bits(bits)?;
        candidate.set_bit(bits - 1, true);
        candidate.set_bit(bits - 2, true);
    }
}
