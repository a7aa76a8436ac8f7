//! Fixed-point encoding of real numbers into Z_2^k.
//!
//! A real v is stored as the ring element whose signed reading is
//! n = round(v · s), for a scale s = 2^F (F fractional bits; what the
//! protocols use, since a product is brought back by a shift of F bits) or
//! s = 10^d (the decimal scale of tf-encrypted's introductory example).
//! Decoding is signed(n) / s.
//!
//! **Rounding.** [`Rounding::Nearest`] (the default) rounds to the nearest
//! integer, ties away from zero: the encoding error is at most 1/(2s).
//! [`Rounding::TowardZero`] drops the fraction, as the seed's example does
//! (π at scale 10^4 is 31415): error below 1/s.
//!
//! **Range.** n must lie in [−2^(k−1), 2^(k−1)); a value outside, NaN or ±∞
//! is an error that names neither the value nor its position (inputs are
//! secrets; the position is kept for the owner's own log).
//!
//! **Defaults and headroom.** A product of two encodings carries 2F
//! fractional bits until it is truncated, so real products must stay below
//! 2^(k−1−2F) in magnitude, and the probability that local (SecureML)
//! truncation destroys a value whose magnitude is below 2^m real is about
//! 2^(m + F + 1 − k) (m + F bits of integer, see the protocols layer).
//! - Z_2^64, F = 16: resolution 2^−16 ≈ 1.5·10^−5, values up to 2^47,
//!   products up to 2^31 ≈ 2.1·10^9 before truncation; activations within
//!   ±2^8 give a truncation failure rate near 2^(8+32+1−64) = 2^−23 per
//!   element (the figure docs/protocols.md works through). Right for inference,
//!   where 16 bits of fraction are more than 8-bit-trained weights need.
//! - Z_2^128, F = 32: resolution 2^−32 ≈ 2.3·10^−10, values up to 2^95,
//!   products up to 2^63 before truncation; failure rate 2^−55 per element
//!   for ±2^8. Training needs it: a learning rate of 10^−3 times a gradient
//!   of 10^−3 is 10^−6, under one F = 16 ulp but 4,000 F = 32 ulps.

use crate::element::RingElement;
use crate::error::{Result, RingError};
use crate::tensor::RingTensor;

/// How a scaled real is turned into an integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Rounding {
    /// To the nearest integer, ties away from zero (error ≤ 1/(2s)).
    #[default]
    Nearest,
    /// Drop the fraction (error < 1/s).
    TowardZero,
}

/// The scale factor s of a fixed-point format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Scale {
    /// s = 2^F: F fractional bits.
    PowerOfTwo(u32),
    /// s = 10^d: d decimal digits.
    PowerOfTen(u32),
}

/// A fixed-point format: scale and rounding rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FixedPoint {
    scale: Scale,
    rounding: Rounding,
}

impl FixedPoint {
    /// F fractional bits (scale 2^F), rounding to nearest.
    pub fn binary(fractional_bits: u32) -> Self {
        FixedPoint { scale: Scale::PowerOfTwo(fractional_bits), rounding: Rounding::Nearest }
    }

    /// d decimal digits (scale 10^d), rounding to nearest.
    pub fn decimal(digits: u32) -> Self {
        FixedPoint { scale: Scale::PowerOfTen(digits), rounding: Rounding::Nearest }
    }

    /// The default format of ring `R` (F = 16 for Z_2^64, F = 32 for
    /// Z_2^128; see the module documentation for why).
    pub fn default_for<R: RingElement>() -> Self {
        Self::binary(R::DEFAULT_FRACTIONAL_BITS)
    }

    /// The same scale with another rounding rule.
    pub fn with_rounding(self, rounding: Rounding) -> Self {
        FixedPoint { rounding, ..self }
    }

    /// The scale.
    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// The rounding rule.
    pub fn rounding(&self) -> Rounding {
        self.rounding
    }

    /// F, for a binary scale.
    pub fn fractional_bits(&self) -> Option<u32> {
        match self.scale {
            Scale::PowerOfTwo(bits) => Some(bits),
            Scale::PowerOfTen(_) => None,
        }
    }

    /// The scale factor s as a float.
    pub fn scale_factor(&self) -> f64 {
        match self.scale {
            Scale::PowerOfTwo(bits) => 2f64.powi(bits as i32),
            Scale::PowerOfTen(digits) => 10f64.powi(digits as i32),
        }
    }

    /// The smallest and largest f64 this format holds in ring `R`: the
    /// encodings lie in [−2^(k−1), 2^(k−1)).
    pub fn range<R: RingElement>(&self) -> (f64, f64) {
        let half = 2f64.powi(R::BITS as i32 - 1) / self.scale_factor();
        (-half, half.next_down())
    }

    /// Encodes one real with the precomputed scale factor; `position` only
    /// labels an error.
    fn encode_at<R: RingElement>(
        &self,
        value: f64,
        scale: f64,
        position: impl FnOnce() -> Vec<usize>,
    ) -> Result<R> {
        if !value.is_finite() {
            return Err(RingError::NotFinite { position: position() });
        }
        let scaled = value * scale;
        let integer = match self.rounding {
            Rounding::Nearest => scaled.round(),
            Rounding::TowardZero => scaled.trunc(),
        };
        // ±2^(k−1), exact in f64.
        let half = f64::from_bits((1023 + R::BITS as u64 - 1) << 52);
        if integer < -half || integer >= half {
            let (min, max) = self.range::<R>();
            return Err(RingError::OutOfRange {
                position: position(),
                min,
                max,
                format: self.describe::<R>(),
            });
        }
        Ok(R::from_i128_wrapping(integer as i128))
    }

    /// Encodes one real number.
    pub fn encode_value<R: RingElement>(&self, value: f64) -> Result<R> {
        self.encode_at(value, self.scale_factor(), Vec::new)
    }

    /// Encodes row-major `values` (f32 or f64) as a tensor of `shape`. An
    /// error names the first offending element's multi-index.
    pub fn encode<R: RingElement, T: Copy + Into<f64>>(
        &self,
        shape: &[usize],
        values: &[T],
    ) -> Result<RingTensor<R>> {
        let scale = self.scale_factor();
        let encoded = values
            .iter()
            .enumerate()
            .map(|(index, &value)| self.encode_at(value.into(), scale, || unravel(index, shape)))
            .collect::<Result<Vec<R>>>()?;
        RingTensor::from_vec(shape, encoded)
    }

    /// Encodes an ndarray array of f32 or f64.
    pub fn encode_array<R: RingElement, T: Copy + Into<f64>>(
        &self,
        array: &ndarray::ArrayD<T>,
    ) -> Result<RingTensor<R>> {
        let values: Vec<T> = array.iter().copied().collect();
        self.encode(array.shape(), &values)
    }

    /// Decodes one element: signed reading divided by the scale.
    pub fn decode_value<R: RingElement>(&self, value: R) -> f64 {
        value.to_i128() as f64 / self.scale_factor()
    }

    /// Decodes a tensor, row-major.
    pub fn decode<R: RingElement>(&self, tensor: &RingTensor<R>) -> Vec<f64> {
        let scale = self.scale_factor();
        tensor.as_slice().iter().map(|&x| x.to_i128() as f64 / scale).collect()
    }

    /// Decodes a tensor into an ndarray array of its shape.
    pub fn decode_array<R: RingElement>(&self, tensor: &RingTensor<R>) -> ndarray::ArrayD<f64> {
        ndarray::ArrayD::from_shape_vec(tensor.shape(), self.decode(tensor)).expect("same length")
    }

    fn describe<R: RingElement>(&self) -> String {
        match self.scale {
            Scale::PowerOfTwo(bits) => format!("{bits} fractional bits in Z_2^{}", R::BITS),
            Scale::PowerOfTen(digits) => format!("scale 10^{digits} in Z_2^{}", R::BITS),
        }
    }
}

/// The multi-index of row-major position `index` in `shape`.
fn unravel(mut index: usize, shape: &[usize]) -> Vec<usize> {
    let mut position = vec![0; shape.len()];
    for (coordinate, &dimension) in position.iter_mut().zip(shape).rev() {
        *coordinate = index % dimension;
        index /= dimension;
    }
    position
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_seeds_decimal_example() {
        let seed_rule = FixedPoint::decimal(4).with_rounding(Rounding::TowardZero);
        assert_eq!(seed_rule.encode_value::<u64>(std::f64::consts::PI).unwrap(), 31415);
        // Rounding to nearest, the default, gives the closer 31416.
        assert_eq!(FixedPoint::decimal(4).encode_value::<u64>(std::f64::consts::PI).unwrap(), 31416);
        assert_eq!(seed_rule.decode_value(31415u64), 31415.0 / 10000.0);
        let minus = seed_rule.encode_value::<u64>(-std::f64::consts::PI).unwrap();
        assert_eq!(minus.to_i128(), -31415);
    }

    #[test]
    fn negative_values_use_the_upper_half() {
        let format = FixedPoint::binary(16);
        assert_eq!(format.encode_value::<u64>(-1.0).unwrap(), u64::MAX - 65535);
        assert_eq!(format.encode_value::<u128>(-0.5).unwrap(), u128::MAX - 32767);
        // Ties round away from zero.
        let half_ulp = 0.5 / 65536.0;
        assert_eq!(format.encode_value::<u64>(half_ulp).unwrap(), 1);
        assert_eq!(format.encode_value::<u64>(-half_ulp).unwrap().to_i128(), -1);
    }

    #[test]
    fn out_of_range_keeps_the_position_out_of_the_message() {
        let format = FixedPoint::binary(16);
        let secret = 1.234_567e15;
        let error = format.encode::<u64, f64>(&[2, 2], &[0.0, 1.0, 2.0, secret]).unwrap_err();
        match &error {
            RingError::OutOfRange { position, .. } => assert_eq!(position, &vec![1, 1]),
            other => panic!("unexpected {other:?}"),
        }
        // The message crosses parties: neither the value nor where it is.
        let text = error.to_string();
        assert!(!text.contains("[1, 1]") && !text.contains("1234567"), "{text}");
        assert!(text.contains("outside the representable range"), "{text}");
        assert_eq!(error.private_detail().unwrap(), "the first such value is at position [1, 1]");
        let error = format.encode::<u64, f32>(&[3], &[0.0, f32::NAN, 1.0]).unwrap_err();
        assert_eq!(error, RingError::NotFinite { position: vec![1] });
        // The edges of the range.
        let (min, max) = format.range::<u64>();
        assert!(format.encode_value::<u64>(min).is_ok());
        assert!(format.encode_value::<u64>(max).is_ok());
        assert!(format.encode_value::<u64>(2f64.powi(47)).is_err());
        assert!(format.encode_value::<u128>(2f64.powi(47)).is_ok());
        assert!(FixedPoint::binary(32).encode_value::<u128>(2f64.powi(95)).is_err());
    }

    proptest! {
        #[test]
        fn round_trip_within_half_an_ulp_u64(values in proptest::collection::vec(-1.0e9f64..1.0e9, 0..40)) {
            let format = FixedPoint::default_for::<u64>();
            let tensor: RingTensor<u64> = format.encode(&[values.len()], &values).unwrap();
            for (decoded, original) in format.decode(&tensor).iter().zip(&values) {
                prop_assert!((decoded - original).abs() <= 0.5 / 65536.0 + original.abs() * 1e-15);
            }
        }

        #[test]
        fn round_trip_within_half_an_ulp_u128(values in proptest::collection::vec(-1.0e6f64..1.0e6, 0..40)) {
            let format = FixedPoint::default_for::<u128>();
            let tensor: RingTensor<u128> = format.encode(&[values.len()], &values).unwrap();
            for (decoded, original) in format.decode(&tensor).iter().zip(&values) {
                prop_assert!((decoded - original).abs() <= 0.5 / 2f64.powi(32) + original.abs() * 1e-15);
            }
        }

        #[test]
        fn toward_zero_error_below_one_ulp(value in -1.0e6f32..1.0e6) {
            let format = FixedPoint::binary(12).with_rounding(Rounding::TowardZero);
            let decoded = format.decode_value(format.encode_value::<u64>(value as f64).unwrap());
            prop_assert!((decoded - value as f64).abs() < 1.0 / 4096.0);
            prop_assert!(decoded.abs() <= (value as f64).abs());
        }
    }
}
