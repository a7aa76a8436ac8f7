//! Precomputed randomness: uniform randomizers r^n made ahead of time (in
//! parallel), so that re-randomising a reply online costs one
//! multiplication instead of an exponentiation by n (about 1.25·k
//! multiplications modulo n²: 18 ms at 2048 bits here).

use rayon::prelude::*;

use crate::ciphertext::Randomizer;
use crate::error::{PaillierError, Result};
use crate::keys::PublicKey;

/// A stock of fresh uniform randomizers for one key. Each is used once.
pub struct RandomnessPool {
    key: PublicKey,
    randomizers: Vec<Randomizer>,
}

impl RandomnessPool {
    /// `count` randomizers for `key`, computed on all cores.
    pub fn new(key: &PublicKey, count: usize) -> Result<RandomnessPool> {
        let randomizers =
            (0..count).into_par_iter().map(|_| key.uniform_randomizer()).collect::<Result<Vec<_>>>()?;
        Ok(RandomnessPool { key: key.clone(), randomizers })
    }

    /// Whether the randomizers are for `key`.
    pub fn is_for(&self, key: &PublicKey) -> bool {
        self.key.modulus() == key.modulus()
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
    pub fn take(&mut self, key: &PublicKey, count: usize) -> Result<Vec<Randomizer>> {
        if !self.is_for(key) {
            return Err(PaillierError::KeyMismatch);
        }
        if self.randomizers.len() < count {
            let more = RandomnessPool::new(key, count - self.randomizers.len())?;
            self.randomizers.extend(more.randomizers);
        }
        Ok(self.randomizers.split_off(self.randomizers.len() - count))
    }
}
