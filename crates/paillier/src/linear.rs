//! Encrypted linear algebra, parallel over cores: an encrypted matrix times
//! a plaintext matrix (a batch of predictions), plus a plaintext bias.
//!
//! Each output is Π_j c_ij^(w_jo) · Enc(b_o) mod n²: k plaintext
//! exponentiations with exponents as small as the encoded weights. A
//! negative weight uses c^(−1) (one inversion per input element, shared by
//! all outputs) so that no exponent is n bits long.

use rayon::prelude::*;
use rug::Integer;

use crate::ciphertext::Ciphertext;
use crate::encoding::FixedPoint;
use crate::error::{PaillierError, Result};
use crate::keys::{PrivateKey, PublicKey};

/// A row-major matrix of ciphertexts and the fractional bits its plaintexts carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedMatrix {
    pub rows: usize,
    pub columns: usize,
    pub fractional_bits: u32,
    pub values: Vec<Ciphertext>,
}

impl EncryptedMatrix {
    /// Encrypts row-major `values` (rows × columns) as the key owner (CRT
    /// encryption), on all cores.
    pub fn encrypt(
        key: &PrivateKey,
        format: FixedPoint,
        values: &[f64],
        rows: usize,
        columns: usize,
    ) -> Result<Self> {
        if values.len() != rows * columns {
            return Err(PaillierError::Shape(format!(
                "{} values do not fill {rows}x{columns}",
                values.len()
            )));
        }
        let public = key.public_key();
        let values = values
            .par_iter()
            .enumerate()
            .map(|(position, &v)| key.encrypt(&format.encode(public, v, position)?))
            .collect::<Result<Vec<_>>>()?;
        Ok(EncryptedMatrix { rows, columns, fractional_bits: format.fractional_bits, values })
    }

    /// Decrypts and decodes, on all cores.
    pub fn decrypt(&self, key: &PrivateKey) -> Vec<f64> {
        self.values
            .par_iter()
            .map(|c| FixedPoint::decode(key.public_key(), &key.decrypt(c), self.fractional_bits))
            .collect()
    }

    /// `self · weights + bias` for plaintext `weights` (columns × outputs,
    /// row-major, encoded with `format`) and `bias` (outputs, encoded at
    /// twice its bits). The result carries the sum of the fractional bits.
    pub fn matmul_plain(
        &self,
        key: &PublicKey,
        format: FixedPoint,
        weights: &[f64],
        outputs: usize,
        bias: Option<&[f64]>,
    ) -> Result<EncryptedMatrix> {
        if weights.len() != self.columns * outputs {
            return Err(PaillierError::Shape(format!(
                "weights of {} values are not {}x{outputs}",
                weights.len(),
                self.columns
            )));
        }
        if bias.is_some_and(|b| b.len() != outputs) {
            return Err(PaillierError::Shape(format!("the bias is not of length {outputs}")));
        }
        let encoded: Vec<Integer> =
            weights.iter().enumerate().map(|(i, &w)| format.scale(w, i)).collect::<Result<_>>()?;
        let bits = self.fractional_bits + format.fractional_bits;
        let bias_format = FixedPoint { fractional_bits: bits };
        let bias: Vec<Integer> = match bias {
            Some(b) => {
                b.iter().enumerate().map(|(i, &v)| bias_format.encode(key, v, i)).collect::<Result<_>>()?
            }
            None => vec![Integer::new(); outputs],
        };
        let any_negative = encoded.iter().any(|w| *w < 0);
        let inverses: Vec<Option<Ciphertext>> =
            self.values.par_iter().map(|c| any_negative.then(|| key.neg(c))).collect();
        let n_squared = key.modulus_squared();
        // Parallel over outputs and, inside each, over the terms (a single
        // dot product still uses every core).
        let values = (0..self.rows * outputs)
            .into_par_iter()
            .map(|index| {
                let (row, output) = (index / outputs, index % outputs);
                let start = (bias[output].clone() * key.modulus() + 1u32) % n_squared;
                let product = (0..self.columns)
                    .into_par_iter()
                    .filter_map(|column| {
                        let weight = &encoded[column * outputs + output];
                        if *weight == 0 {
                            return None;
                        }
                        let cell = row * self.columns + column;
                        let base = if *weight < 0 {
                            inverses[cell].as_ref().expect("made above")
                        } else {
                            &self.values[cell]
                        };
                        Some(
                            base.0
                                .clone()
                                .pow_mod(&weight.clone().abs(), n_squared)
                                .expect("non-negative exponent"),
                        )
                    })
                    .reduce(|| Integer::from(1), |a, b| a * b % n_squared);
                Ciphertext(start * product % n_squared)
            })
            .collect();
        Ok(EncryptedMatrix { rows: self.rows, columns: outputs, fractional_bits: bits, values })
    }

    /// Every ciphertext re-randomised with the given fresh randomizers
    /// (one each), so that the result reveals nothing but its plaintexts.
    pub fn rerandomize(&mut self, key: &PublicKey, randomizers: Vec<Integer>) -> Result<()> {
        if randomizers.len() != self.values.len() {
            return Err(PaillierError::Shape("one randomizer per ciphertext".into()));
        }
        self.values.par_iter_mut().zip(randomizers).for_each(|(c, r)| *c = key.rerandomize_with(c, &r));
        Ok(())
    }
}
