//! Precomputed randomness: r^n values made ahead of time (in parallel), so
//! that online encryption and re-randomisation cost one multiplication
//! instead of a 2048-bit exponentiation each.

use rayon::prelude::*;
use rug::Integer;

use crate::error::Result;
use crate::keys::PublicKey;

/// A stock of fresh randomizers r^n mod n² for one key. Each is used once.
pub struct RandomnessPool {
    modulus: Integer,
    randomizers: Vec<Integer>,
}

impl RandomnessPool {
    /// `count` randomizers for `key`, computed on all cores.
    pub fn new(key: &PublicKey, count: usize) -> Result<RandomnessPool> {
        let randomizers = (0..count).into_par_iter().map(|_| key.randomizer()).collect::<Result<Vec<_>>>()?;
        Ok(RandomnessPool { modulus: key.modulus().clone(), randomizers })
    }

    /// The modulus n of the key the randomizers are for.
    pub fn key(&self) -> &Integer {
        &self.modulus
    }

    /// How many remain.
    pub fn len(&self) -> usize {
        self.randomizers.len()
    }

    /// Whether none remain.
    pub fn is_empty(&self) -> bool {
        self.randomizers.is_empty()
    }

    /// Takes `count` randomizers, topping the pool up first if it runs short.
    pub fn take(&mut self, key: &PublicKey, count: usize) -> Result<Vec<Integer>> {
        if key.modulus() != &self.modulus {
            return Err(crate::PaillierError::KeyMismatch);
        }
        if self.randomizers.len() < count {
            let more = RandomnessPool::new(key, count - self.randomizers.len())?;
            self.randomizers.extend(more.randomizers);
        }
        Ok(self.randomizers.split_off(self.randomizers.len() - count))
    }
}
