//! Encrypted linear algebra: a matrix of ciphertexts times a plaintext
//! matrix of weights, as a server computes a model's scores from a
//! client's encrypted rows.
//!
//! Score (r, o) = Σ_i w_io·x_ri + b_o is Π_i c_ri^(w_io) · g^(b_o): one
//! multi-exponentiation per score ([`crate::multiexp`]: Straus with tables
//! shared by every output of a row, or Pippenger's buckets for few
//! outputs), in constant time in the weights. A negative weight costs
//! nothing extra: exponents are shifted to e = w + 2^(b−1) ≥ 0, and each
//! row's correction (Π_i c_ri)^(−2^(b−1)) costs one inversion of a public
//! value and b − 1 squarings, shared by the row's outputs. Zero weights are
//! multiplied in like any other.

use rayon::prelude::*;

use crate::ciphertext::Ciphertext;
use crate::encoding::{FixedPoint, WeightFormat};
use crate::error::{PaillierError, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::montgomery::Element;
use crate::multiexp::{BaseTables, Method, pippenger, plan};

/// A row-major matrix of ciphertexts and the fractional bits its plaintexts carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedMatrix {
    pub rows: usize,
    pub columns: usize,
    pub fractional_bits: u32,
    pub values: Vec<Ciphertext>,
}

fn check_shape(values: &[f64], rows: usize, columns: usize) -> Result<()> {
    if rows.checked_mul(columns) != Some(values.len()) {
        return Err(PaillierError::Shape(format!("{} values do not fill {rows}x{columns}", values.len())));
    }
    Ok(())
}

impl EncryptedMatrix {
    /// Encrypts row-major `values` (rows × columns) as the key owner (CRT
    /// DJN encryption), on all cores.
    pub fn encrypt(
        key: &PrivateKey,
        format: FixedPoint,
        values: &[f64],
        rows: usize,
        columns: usize,
    ) -> Result<Self> {
        check_shape(values, rows, columns)?;
        let public = key.public_key();
        let values = values
            .par_iter()
            .map(|&v| key.encrypt(&format.encode(public, v)?))
            .collect::<Result<Vec<_>>>()?;
        Ok(EncryptedMatrix { rows, columns, fractional_bits: format.fractional_bits, values })
    }

    /// Encrypts under a public key (anyone may), on all cores.
    pub fn encrypt_public(
        key: &PublicKey,
        format: FixedPoint,
        values: &[f64],
        rows: usize,
        columns: usize,
    ) -> Result<Self> {
        check_shape(values, rows, columns)?;
        let values =
            values.par_iter().map(|&v| key.encrypt(&format.encode(key, v)?)).collect::<Result<Vec<_>>>()?;
        Ok(EncryptedMatrix { rows, columns, fractional_bits: format.fractional_bits, values })
    }

    /// Decrypts and decodes, on all cores.
    pub fn decrypt(&self, key: &PrivateKey) -> Vec<f64> {
        let public = key.public_key();
        self.values.par_iter().map(|c| public.decode(&key.decrypt(c), self.fractional_bits)).collect()
    }

    /// `self · weights + bias` for plaintext `weights` (columns × outputs,
    /// row-major, encoded with `format`) and `bias` (outputs, encoded at
    /// the result's bits). The result carries this matrix's fractional
    /// bits plus the weights'. Cost per row: the multi-exponentiations of
    /// [`plan`] for `columns` bases, `outputs` products and
    /// `format.exponent_bits()` bits, plus one inversion and
    /// `exponent_bits` squarings; all cores.
    pub fn matmul_plain(
        &self,
        key: &PublicKey,
        format: WeightFormat,
        weights: &[f64],
        outputs: usize,
        bias: Option<&[f64]>,
    ) -> Result<EncryptedMatrix> {
        if self.columns.checked_mul(outputs) != Some(weights.len()) || outputs == 0 || self.columns == 0 {
            return Err(PaillierError::Shape(format!(
                "weights of {} values are not {}x{outputs}",
                weights.len(),
                self.columns
            )));
        }
        if bias.is_some_and(|b| b.len() != outputs) {
            return Err(PaillierError::Shape(format!("the bias is not of length {outputs}")));
        }
        let bits = format.exponent_bits();
        let shift = 1u128 << (bits - 1);
        // Exponents per output: e = w·2^f_w + 2^(bits−1), in [0, 2^bits).
        let exponents: Vec<Vec<u128>> = (0..outputs)
            .map(|o| {
                (0..self.columns)
                    .map(|i| format.scale(weights[i * outputs + o]).map(|w| (w as u128).wrapping_add(shift)))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        let result_bits = self.fractional_bits + format.fractional_bits;
        let bias_format = FixedPoint { fractional_bits: result_bits };
        let square = &key.square;
        let bias: Vec<Element> = match bias {
            Some(b) => {
                b.iter().map(|&v| Ok(key.g_to_the(&bias_format.encode(key, v)?))).collect::<Result<_>>()?
            }
            None => vec![square.one(); outputs],
        };
        let method = plan(self.columns, bits, outputs);
        let mut values = Vec::with_capacity(self.rows * outputs);
        for row in self.values.chunks(self.columns) {
            let bases: Vec<Element> = row.par_iter().map(|c| square.load(&c.0)).collect();
            let correction = row_correction(key, &bases, bits);
            let products: Vec<Element> = match method {
                Method::Straus { window } => {
                    let tables = BaseTables::new(square, &bases, window);
                    exponents.par_iter().map(|e| tables.product(square, e, bits)).collect()
                }
                Method::Pippenger { window } => {
                    exponents.iter().map(|e| pippenger(square, &bases, e, bits, window)).collect()
                }
            };
            values.extend(products.into_iter().zip(&bias).map(|(product, bias)| {
                Ciphertext(square.store(&square.mul(&square.mul(&product, &correction), bias)))
            }));
        }
        Ok(EncryptedMatrix { rows: self.rows, columns: outputs, fractional_bits: result_bits, values })
    }

    /// Every ciphertext re-randomised with the given fresh randomizers
    /// (one each), so that the result reveals nothing but its plaintexts.
    pub fn rerandomize(&mut self, key: &PublicKey, randomizers: Vec<crate::Randomizer>) -> Result<()> {
        if randomizers.len() != self.values.len() {
            return Err(PaillierError::Shape("one randomizer per ciphertext".into()));
        }
        self.values.par_iter_mut().zip(randomizers).for_each(|(c, r)| *c = key.rerandomize_with(c, &r));
        Ok(())
    }
}

/// (Π_i c_i)^(−2^(bits−1)): what undoes the exponents' shift. One
/// inversion of a public product, d − 1 multiplications, bits − 1
/// squarings.
fn row_correction(key: &PublicKey, bases: &[Element], bits: u32) -> Element {
    let square = &key.square;
    let product = bases[1..].iter().fold(bases[0].clone(), |acc, c| square.mul(&acc, c));
    let mut correction = key.inverse(&product);
    for _ in 0..bits - 1 {
        correction = square.square(&correction);
    }
    correction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matmul_with_negative_and_zero_weights_equals_the_plaintext() {
        let key = PrivateKey::generate(512).unwrap();
        let x = [1.5, -2.25, 0.0, 3.0, 10.0, -0.125];
        let encrypted = EncryptedMatrix::encrypt(&key, FixedPoint::default(), &x, 2, 3).unwrap();
        let weights = [0.5, -1.0, 0.0, 2.0, -0.75, 0.0];
        let format = WeightFormat { fractional_bits: 16, integer_bits: 4 };
        for outputs in [2usize] {
            let result = encrypted
                .matmul_plain(key.public_key(), format, &weights, outputs, Some(&[1.0, -2.0]))
                .unwrap();
            let decrypted = result.decrypt(&key);
            for r in 0..2 {
                for o in 0..outputs {
                    let exact: f64 =
                        (0..3).map(|i| x[r * 3 + i] * weights[i * outputs + o]).sum::<f64>() + [1.0, -2.0][o];
                    assert!((decrypted[r * outputs + o] - exact).abs() < 1e-9, "{decrypted:?}");
                }
            }
        }
        let format = WeightFormat { fractional_bits: 16, integer_bits: 1 };
        let error = encrypted.matmul_plain(key.public_key(), format, &weights, 2, None).unwrap_err();
        assert!(error.to_string().contains("not below 2^1"), "{error}");
    }
}
