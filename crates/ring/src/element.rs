//! The two rings blindfold computes in, Z_2^64 and Z_2^128, as one trait.
//!
//! Every tensor operation is written once, generic over [`RingElement`]; the
//! trait carries the wrapping arithmetic, the signed (two's complement)
//! reading, and the choice of matmul kernel for the ring.

use std::fmt::Debug;
use std::hash::Hash;

use crate::kernels::Threading;

/// An element of Z_2^k (k = 64 or 128): all arithmetic wraps modulo 2^k.
pub trait RingElement:
    Copy + Clone + Default + Debug + Eq + Ord + Hash + Send + Sync + bytemuck::Pod + 'static
{
    /// k, the number of bits of the ring.
    const BITS: u32;
    /// Bytes of one element in the little-endian wire and PRG format.
    const BYTES: usize;
    /// The additive identity.
    const ZERO: Self;
    /// The multiplicative identity.
    const ONE: Self;
    /// A short name for messages and benchmark records ("u64", "u128").
    const NAME: &'static str;
    /// Default fractional bits for fixed-point values in this ring (see
    /// [`crate::fixed_point`] for why).
    const DEFAULT_FRACTIONAL_BITS: u32;

    fn wrapping_add(self, other: Self) -> Self;
    fn wrapping_sub(self, other: Self) -> Self;
    fn wrapping_mul(self, other: Self) -> Self;
    fn wrapping_neg(self) -> Self;
    /// Left shift by `bits` (< k), dropping the bits shifted out.
    fn shift_left(self, bits: u32) -> Self;
    /// Logical (unsigned) right shift by `bits` (< k).
    fn shift_right_logical(self, bits: u32) -> Self;
    /// Arithmetic right shift by `bits` (< k) under the signed reading.
    fn shift_right_arithmetic(self, bits: u32) -> Self;
    /// Bit `index` (0 = least significant) as 0 or 1.
    fn bit(self, index: u32) -> Self {
        self.shift_right_logical(index).bit_and(Self::ONE)
    }
    fn bit_and(self, other: Self) -> Self;
    fn bit_xor(self, other: Self) -> Self;
    /// The element whose signed reading is `value`, reduced modulo 2^k.
    fn from_i128_wrapping(value: i128) -> Self;
    /// The signed (two's complement) reading, in [-2^(k-1), 2^(k-1)).
    fn to_i128(self) -> i128;
    /// The unsigned reading as u128 (for u64: zero-extended).
    fn to_u128(self) -> u128;
    /// The element `value` mod 2^k.
    fn from_u64(value: u64) -> Self;
    /// `self < other` under the signed reading.
    fn signed_less_than(self, other: Self) -> bool {
        self.to_i128() < other.to_i128()
    }
    /// Reads one element from `Self::BYTES` little-endian bytes.
    fn from_le_slice(bytes: &[u8]) -> Self;
    /// Writes the element as `Self::BYTES` little-endian bytes.
    fn write_le(self, out: &mut [u8]);

    /// `c = a · b` for row-major `a` (m×k), `b` (k×n) and `c` (m×n), wrapping,
    /// with the fastest kernel this ring has on this CPU.
    fn matmul_kernel(
        threading: Threading,
        m: usize,
        k: usize,
        n: usize,
        a: &[Self],
        b: &[Self],
        c: &mut [Self],
    );
}

macro_rules! common_integer_ops {
    () => {
        #[inline(always)]
        fn wrapping_add(self, other: Self) -> Self {
            <Self>::wrapping_add(self, other)
        }
        #[inline(always)]
        fn wrapping_sub(self, other: Self) -> Self {
            <Self>::wrapping_sub(self, other)
        }
        #[inline(always)]
        fn wrapping_mul(self, other: Self) -> Self {
            <Self>::wrapping_mul(self, other)
        }
        #[inline(always)]
        fn wrapping_neg(self) -> Self {
            <Self>::wrapping_neg(self)
        }
        #[inline(always)]
        fn shift_left(self, bits: u32) -> Self {
            self << bits
        }
        #[inline(always)]
        fn shift_right_logical(self, bits: u32) -> Self {
            self >> bits
        }
        #[inline(always)]
        fn bit_and(self, other: Self) -> Self {
            self & other
        }
        #[inline(always)]
        fn bit_xor(self, other: Self) -> Self {
            self ^ other
        }
        #[inline(always)]
        fn to_u128(self) -> u128 {
            self as u128
        }
        #[inline(always)]
        fn from_u64(value: u64) -> Self {
            value as Self
        }
        #[inline(always)]
        fn from_le_slice(bytes: &[u8]) -> Self {
            let mut buffer = [0u8; Self::BYTES];
            buffer.copy_from_slice(&bytes[..Self::BYTES]);
            Self::from_le_bytes(buffer)
        }
        #[inline(always)]
        fn write_le(self, out: &mut [u8]) {
            out[..Self::BYTES].copy_from_slice(&self.to_le_bytes());
        }
    };
}

impl RingElement for u64 {
    const BITS: u32 = 64;
    const BYTES: usize = 8;
    const ZERO: Self = 0;
    const ONE: Self = 1;
    const NAME: &'static str = "u64";
    const DEFAULT_FRACTIONAL_BITS: u32 = 16;

    common_integer_ops!();

    #[inline(always)]
    fn shift_right_arithmetic(self, bits: u32) -> Self {
        ((self as i64) >> bits) as u64
    }
    #[inline(always)]
    fn from_i128_wrapping(value: i128) -> Self {
        value as u64
    }
    #[inline(always)]
    fn to_i128(self) -> i128 {
        self as i64 as i128
    }

    fn matmul_kernel(
        threading: Threading,
        m: usize,
        k: usize,
        n: usize,
        a: &[Self],
        b: &[Self],
        c: &mut [Self],
    ) {
        crate::kernels::matmul_u64_with(threading, m, k, n, a, b, c)
    }
}

impl RingElement for u128 {
    const BITS: u32 = 128;
    const BYTES: usize = 16;
    const ZERO: Self = 0;
    const ONE: Self = 1;
    const NAME: &'static str = "u128";
    const DEFAULT_FRACTIONAL_BITS: u32 = 32;

    common_integer_ops!();

    #[inline(always)]
    fn shift_right_arithmetic(self, bits: u32) -> Self {
        ((self as i128) >> bits) as u128
    }
    #[inline(always)]
    fn from_i128_wrapping(value: i128) -> Self {
        value as u128
    }
    #[inline(always)]
    fn to_i128(self) -> i128 {
        self as i128
    }

    fn matmul_kernel(
        threading: Threading,
        m: usize,
        k: usize,
        n: usize,
        a: &[Self],
        b: &[Self],
        c: &mut [Self],
    ) {
        crate::kernels::matmul_u128_with(threading, m, k, n, a, b, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_reading_is_twos_complement() {
        assert_eq!(u64::MAX.to_i128(), -1);
        assert_eq!((1u64 << 63).to_i128(), i64::MIN as i128);
        assert_eq!(u128::MAX.to_i128(), -1);
        assert_eq!(<u64 as RingElement>::from_i128_wrapping(-5), u64::MAX - 4);
        assert!(u64::MAX.signed_less_than(0));
        assert!(!0u64.signed_less_than(u64::MAX));
    }

    #[test]
    fn arithmetic_shift_keeps_the_sign() {
        let minus_eight = <u64 as RingElement>::from_i128_wrapping(-8);
        assert_eq!(minus_eight.shift_right_arithmetic(2).to_i128(), -2);
        assert_eq!(minus_eight.shift_right_logical(62), 3);
        let minus_eight = <u128 as RingElement>::from_i128_wrapping(-8);
        assert_eq!(minus_eight.shift_right_arithmetic(3).to_i128(), -1);
    }

    #[test]
    fn little_endian_round_trip() {
        let mut bytes = [0u8; 16];
        let x: u128 = 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10;
        x.write_le(&mut bytes);
        assert_eq!(bytes[0], 0x10);
        assert_eq!(<u128 as RingElement>::from_le_slice(&bytes), x);
    }
}
