//! Big integers (crypto-bigint's `BoxedUint`: fixed precision, constant-time
//! arithmetic) and the few helpers the scheme needs on them: randomness from
//! the OS CSPRNG, byte encodings, Montgomery forms, signed values.

use crypto_bigint::Resize;
use crypto_bigint::{BoxedUint, CtSelect, Limb, NonZero, Odd};

use crate::error::{PaillierError, Result};

/// The limb width, in bits.
pub(crate) const LIMB_BITS: u32 = Limb::BITS;

/// `bits` rounded up to whole limbs: the precision big integers carry.
pub(crate) fn precision(bits: u32) -> u32 {
    bits.div_ceil(LIMB_BITS) * LIMB_BITS
}

/// Fills `bytes` from the OS CSPRNG.
pub(crate) fn fill_random(bytes: &mut [u8]) -> Result<()> {
    getrandom::fill(bytes).map_err(|error| PaillierError::Randomness(error.to_string()))
}

/// `bits` uniformly random bits, at `precision_bits` of precision.
pub(crate) fn random_bits(bits: u32, precision_bits: u32) -> Result<BoxedUint> {
    let mut bytes = vec![0u8; bits.div_ceil(8) as usize];
    fill_random(&mut bytes)?;
    if !bits.is_multiple_of(8) {
        bytes[0] &= (1u8 << (bits % 8)) - 1;
    }
    Ok(BoxedUint::from_be_slice_truncated(&bytes, precision(precision_bits.max(bits))))
}

/// A uniform element of [0, bound): 64 random bits beyond the bound's
/// length, reduced (statistical distance below 2^−64), constant time.
pub(crate) fn random_below(bound: &NonZero<BoxedUint>) -> Result<BoxedUint> {
    let bits = bound.bits_precision();
    let wide = random_bits(bits + 64, bits + 64)?;
    let widened = NonZero::new(bound.as_ref().resize(wide.bits_precision())).expect("a non-zero bound");
    Ok(wide.rem(&widened).resize(bits))
}

/// A uniform unit of Z_n (n an RSA modulus: a non-unit turns up with
/// probability about 2^−(k/2), and is redrawn).
pub(crate) fn random_unit(n: &Odd<BoxedUint>) -> Result<BoxedUint> {
    let bound = NonZero::new(n.as_ref().clone()).expect("odd, so non-zero");
    loop {
        let candidate = random_below(&bound)?;
        let unit = crypto_bigint::Gcd::gcd(n, &candidate);
        if bool::from(candidate.is_nonzero())
            && unit.as_ref() == &BoxedUint::one_with_precision(unit.bits_precision())
        {
            return Ok(candidate);
        }
    }
}

/// Big-endian bytes of `value`, exactly `width` long (leading zeros kept).
pub(crate) fn to_fixed_bytes(value: &BoxedUint, width: usize) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    if bytes.len() >= width {
        bytes[bytes.len() - width..].to_vec()
    } else {
        let mut out = vec![0u8; width - bytes.len()];
        out.extend_from_slice(&bytes);
        out
    }
}

/// Big-endian bytes of `value` without leading zeros (for public values).
pub(crate) fn to_bytes_trimmed(value: &BoxedUint) -> Vec<u8> {
    value.to_be_bytes_trimmed_vartime().to_vec()
}

/// The integer of big-endian `bytes`, at `bits` of precision; an error if
/// it does not fit.
pub(crate) fn from_bytes(bytes: &[u8], bits: u32, what: &'static str) -> Result<BoxedUint> {
    let trimmed = &bytes[bytes.iter().take_while(|&&b| b == 0).count()..];
    if trimmed.len() * 8 > precision(bits) as usize {
        return Err(PaillierError::Malformed { what, reason: format!("a number longer than {bits} bits") });
    }
    Ok(BoxedUint::from_be_slice_truncated(trimmed, precision(bits)))
}

/// An odd modulus, or an error naming `what`.
pub(crate) fn odd(value: BoxedUint, what: &str) -> Result<Odd<BoxedUint>> {
    Option::from(Odd::new(value)).ok_or_else(|| PaillierError::InvalidKey(format!("{what} must be odd")))
}

/// The signed reading of x ∈ [0, n): (negative, |x|) with x > n/2 negative,
/// selected in constant time.
pub(crate) fn signed(x: &BoxedUint, n: &BoxedUint, half_n: &BoxedUint) -> (bool, BoxedUint) {
    let x = x.resize(n.bits_precision());
    let negative = crypto_bigint::CtGt::ct_gt(&x, half_n);
    let negated = n.wrapping_sub(&x);
    let magnitude = BoxedUint::ct_select(&x, &negated, negative);
    (negative.to_bool(), magnitude)
}

/// The real value of a non-negative integer, times 2^−`fractional_bits`
/// (the top 64 bits, rounded; exact below 2^53). Variable time: it runs on
/// a decrypted result, in its owner's hands.
pub(crate) fn to_f64(magnitude: &BoxedUint, fractional_bits: u32) -> f64 {
    let bits = magnitude.bit_width_vartime();
    let (top, shift) = if bits > 64 {
        let shifted = magnitude.shr_vartime(bits - 64).expect("a shift within the precision");
        (shifted.as_limbs()[0].0, (bits - 64) as i32)
    } else {
        (magnitude.as_limbs().first().map_or(0, |l| l.0), 0)
    };
    top as f64 * 2f64.powi(shift - fractional_bits as i32)
}

/// v mod n for a signed v with |v| < n/2 (the caller checks the bound),
/// in constant time with respect to v.
pub(crate) fn from_signed(value: i128, n: &BoxedUint) -> BoxedUint {
    let magnitude = BoxedUint::from(value.unsigned_abs()).resize(n.bits_precision());
    let negated = n.wrapping_sub(&magnitude);
    let negative = crypto_bigint::Choice::from_u64_lsb((value >> 127) as u64 & 1);
    BoxedUint::ct_select(&magnitude, &negated, negative)
}
