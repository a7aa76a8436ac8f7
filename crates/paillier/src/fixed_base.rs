//! Fixed-base exponentiation: g^e for one base g and many secret exponents
//! e of at most `bits` bits (DJN encryption's h_s^α).
//!
//! The table holds g^(d·2^(w·i)) for every window i < ⌈bits/w⌉ and digit
//! d < 2^w, built once per key (⌈bits/w⌉·2^w multiplications). Then
//! g^e = Π_i table[i][e_i] for the base-2^w digits e_i of e: ⌈bits/w⌉
//! modular multiplications and no squarings. Each lookup reads every entry
//! of its window and keeps the right one by masks, and every window is
//! multiplied in, zero digits included: the time does not depend on e.

use crypto_bigint::BoxedUint;

use crate::montgomery::{Element, LimbTable, Modulus, digit};

/// Bits per window: 64 entries a window; at 2048 bits (1024-bit exponents
/// modulo n²) a table of 5.6 MB and 171 multiplications per power.
pub const WINDOW_BITS: u32 = 6;

/// The powers of one base for exponents of up to `bits` bits.
#[derive(Debug)]
pub struct FixedBase {
    bits: u32,
    /// One table of 2^w entries per window.
    windows: Vec<LimbTable>,
}

impl FixedBase {
    /// The table of `base` (in `modulus`'s Montgomery form) for exponents
    /// of up to `bits` bits. Cost: ⌈bits/w⌉·2^w multiplications.
    pub fn new(modulus: &Modulus, base: &Element, bits: u32) -> FixedBase {
        let count = bits.div_ceil(WINDOW_BITS) as usize;
        let mut windows = Vec::with_capacity(count);
        let mut step = base.clone();
        for _ in 0..count {
            let mut table = LimbTable::new(modulus.width(), 1 << WINDOW_BITS);
            let mut power = modulus.one();
            for _ in 0..(1usize << WINDOW_BITS) {
                table.push(&power);
                power = modulus.mul(&power, &step);
            }
            // The next window's base: step^(2^w), the power past the last entry.
            step = power;
            windows.push(table);
        }
        FixedBase { bits, windows }
    }

    /// The longest exponent the table serves.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// base^exponent for exponent < 2^bits (higher bits are ignored).
    /// Cost: ⌈bits/w⌉ multiplications, constant time.
    pub fn pow(&self, modulus: &Modulus, exponent: &BoxedUint) -> Element {
        let mut result = modulus.one();
        let mut entry = modulus.one();
        for (window, table) in self.windows.iter().enumerate() {
            table.read(digit(exponent.as_words(), window as u32 * WINDOW_BITS, WINDOW_BITS), &mut entry);
            modulus.mul_assign(&mut result, &entry);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integer::random_bits;
    use crate::montgomery::Kernel;
    use crypto_bigint::{Odd, Resize};

    #[test]
    fn table_powers_equal_plain_exponentiation() {
        let value = Odd::new(BoxedUint::from(0xFFFF_FFFF_FFFF_FFC5u64).resize(128)).unwrap();
        for kernel in Kernel::available() {
            let modulus = Modulus::with_kernel(value.clone(), kernel);
            let base = modulus.load(&BoxedUint::from(123_456_789u64));
            let table = FixedBase::new(&modulus, &base, 100);
            for _ in 0..20 {
                let exponent = random_bits(100, 128).unwrap();
                let expected = modulus.store(&modulus.pow(&base, &exponent, 100));
                assert_eq!(modulus.store(&table.pow(&modulus, &exponent)), expected);
            }
            let zero = BoxedUint::zero_with_precision(128);
            assert_eq!(modulus.store(&table.pow(&modulus, &zero)), BoxedUint::one_with_precision(128));
        }
    }
}
