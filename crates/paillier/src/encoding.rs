//! Signed fixed-point encoding of reals into Z_n.
//!
//! v is encoded as round(v·2^f) mod n (negative values in the upper half of
//! Z_n) and decoded as x/2^f, reading x > n/2 as x − n. A dot product of d
//! terms with f_x and f_w fractional bits carries f_x + f_w and must stay
//! below n/2 in magnitude: [`check_dot_product`] checks that bound before
//! any computation.
//!
//! Weights are exponents, so their encoding has a public length:
//! [`WeightFormat`] gives f_w fractional bits and room for |w| < 2^i, an
//! exponent of f_w + i + 1 bits whatever the weights' values (the server's
//! time depends on that length, never on the values).

use crate::ciphertext::Plaintext;
use crate::error::{PaillierError, Result};
use crate::keys::PublicKey;

/// Signed fixed point with `fractional_bits` bits of fraction (inputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedPoint {
    pub fractional_bits: u32,
}

impl Default for FixedPoint {
    /// 32 fractional bits: resolution 2.3·10^−10.
    fn default() -> Self {
        FixedPoint { fractional_bits: 32 }
    }
}

/// The largest |round(v·2^f)| encoded: 2^125 (an i128 with room).
const LARGEST: f64 = 4.253_529_586_511_731e37;

impl FixedPoint {
    /// round(v·2^f) as a signed integer.
    pub fn scale(&self, value: f64) -> Result<i128> {
        if !value.is_finite() {
            return Err(PaillierError::Encoding("is not finite (NaN or infinity)".into()));
        }
        let scaled = (value * 2f64.powi(self.fractional_bits as i32)).round();
        if scaled.abs() >= LARGEST {
            return Err(PaillierError::Encoding(format!(
                "is too large for {} fractional bits (|v| must stay below 2^{})",
                self.fractional_bits,
                125 - self.fractional_bits as i32
            )));
        }
        Ok(scaled as i128)
    }

    /// round(v·2^f) mod n.
    pub fn encode(&self, key: &PublicKey, value: f64) -> Result<Plaintext> {
        Ok(key.plaintext(self.scale(value)?))
    }

    /// The real of a plaintext carrying `fractional_bits` bits of fraction
    /// (f for an encoding, f_x + f_w for a dot product).
    pub fn decode(key: &PublicKey, plaintext: &Plaintext, fractional_bits: u32) -> f64 {
        key.decode(plaintext, fractional_bits)
    }
}

/// How a server encodes its weights as exponents: `fractional_bits` of
/// fraction, |w| < 2^`integer_bits`. Public: both parties know the length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightFormat {
    pub fractional_bits: u32,
    pub integer_bits: u32,
}

impl Default for WeightFormat {
    /// 32 fractional bits (resolution 2.3·10^−10, finer than a float32
    /// weight of magnitude 2^−8) and |w| < 4096: 45-bit exponents.
    fn default() -> Self {
        WeightFormat { fractional_bits: 32, integer_bits: 12 }
    }
}

impl WeightFormat {
    /// The exponent length: f_w + i + 1 bits (the sign handled by a shift).
    pub fn exponent_bits(&self) -> u32 {
        self.fractional_bits + self.integer_bits + 1
    }

    /// round(w·2^f_w), checked against the format's range. The error does
    /// not say which weight or how large (it may reach the other party).
    pub fn scale(&self, weight: f64) -> Result<i128> {
        let scaled = FixedPoint { fractional_bits: self.fractional_bits }.scale(weight)?;
        if scaled.unsigned_abs() >= 1u128 << (self.exponent_bits() - 1) {
            return Err(PaillierError::Encoding(format!(
                "of the model is not below 2^{} in magnitude (raise the weight format's integer bits)",
                self.integer_bits
            )));
        }
        Ok(scaled)
    }
}

/// Checks that Σ_{i<terms} x_i·w_i + bias cannot reach n/2 for
/// |x_i| ≤ `max_input` (encoded with f_x bits), weights of `weights`'s
/// format and |bias| ≤ 2^(integer bits) (at f_x + f_w bits).
pub fn check_dot_product(
    key: &PublicKey,
    terms: usize,
    inputs: FixedPoint,
    max_input: f64,
    weights: WeightFormat,
) -> Result<()> {
    if !max_input.is_finite() || max_input < 0.0 {
        return Err(PaillierError::Overflow(
            "the declared input bound is not a finite non-negative number".into(),
        ));
    }
    // log2 of each factor's largest encoding, and of the sum.
    let input_bits = (max_input * 2f64.powi(inputs.fractional_bits as i32) + 1.0).log2();
    let weight_bits = (weights.exponent_bits() - 1) as f64;
    let worst = (terms.max(1) as f64).log2() + input_bits + weight_bits + 1.0;
    let room = key.bits() as f64 - 2.0;
    if worst >= room {
        return Err(PaillierError::Overflow(format!(
            "a {terms}-term dot product of inputs up to {max_input:e} needs {worst:.0} bits with the model's weight \
             format, the key offers {room:.0}"
        )));
    }
    Ok(())
}
