//! Signed fixed-point encoding of reals into Z_n.
//!
//! v is encoded as round(v·2^f) mod n (negative values in the upper half of
//! Z_n) and decoded as x/2^f, reading x > n/2 as x − n. A dot product of d
//! terms with f-bit encodings on both sides carries 2f fractional bits and
//! must stay below n/2 in magnitude: [`FixedPoint::check_dot_product`] checks
//! that bound before any computation.

use rug::Integer;
use rug::ops::Pow;

use crate::error::{PaillierError, Result};
use crate::keys::PublicKey;

/// Signed fixed point with `fractional_bits` bits of fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedPoint {
    pub fractional_bits: u32,
}

impl Default for FixedPoint {
    /// 32 fractional bits: resolution 2.3·10^−10; a 2048-bit key leaves
    /// about 2^(1023 − 64) for the integer part of a dot product.
    fn default() -> Self {
        FixedPoint { fractional_bits: 32 }
    }
}

impl FixedPoint {
    /// round(v·2^f) as a signed integer; `position` labels an error.
    pub fn scale(&self, value: f64, position: usize) -> Result<Integer> {
        if !value.is_finite() {
            return Err(PaillierError::Encoding { position, reason: "is not finite".into() });
        }
        let scaled = value * 2f64.powi(self.fractional_bits as i32);
        Integer::from_f64(scaled.round())
            .ok_or_else(|| PaillierError::Encoding { position, reason: "cannot be scaled".into() })
    }

    /// round(v·2^f) mod n; errors if |round(v·2^f)| ≥ n/2.
    pub fn encode(&self, key: &PublicKey, value: f64, position: usize) -> Result<Integer> {
        let scaled = self.scale(value, position)?;
        if scaled.clone().abs() >= key.half_n {
            return Err(PaillierError::Encoding { position, reason: "is too large for the key".into() });
        }
        Ok(if scaled < 0 { scaled + &key.n } else { scaled })
    }

    /// The real of x ∈ [0, n) carrying `fractional_bits` bits of fraction
    /// (f for an encoding, 2f for a product of two).
    pub fn decode(key: &PublicKey, x: &Integer, fractional_bits: u32) -> f64 {
        let signed = if *x > key.half_n { x.clone() - &key.n } else { x.clone() };
        let (mantissa, exponent) = signed.to_f64_exp();
        mantissa * 2f64.powi(exponent as i32 - fractional_bits as i32)
    }

    /// Checks that Σ_{i<terms} x_i·w_i + bias cannot reach n/2 for
    /// |x_i| ≤ `max_input`, |w_i| ≤ `max_weight`, |bias| ≤ `max_bias`, all
    /// encoded with f bits (the bias at 2f).
    pub fn check_dot_product(
        &self,
        key: &PublicKey,
        terms: usize,
        max_input: f64,
        max_weight: f64,
        max_bias: f64,
    ) -> Result<()> {
        let f = self.fractional_bits as i32;
        let one = |v: f64| Integer::from_f64((v.abs() * 2f64.powi(f)).ceil()).unwrap_or_default() + 1u32;
        let worst = Integer::from(terms) * one(max_input) * one(max_weight)
            + one(max_bias) * Integer::from(2).pow(self.fractional_bits);
        if worst >= key.half_n {
            return Err(PaillierError::Overflow(format!(
                "a {terms}-term dot product of values up to {max_input:e} and weights up to {max_weight:e} needs {} bits, the key offers {}",
                worst.significant_bits() + 1,
                key.bits()
            )));
        }
        Ok(())
    }
}
