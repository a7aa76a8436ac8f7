//! Local fixed-point truncation of shares (SecureML, Mohassel–Zhang 2017).
//!
//! Server0 computes x0 >> f (logical shift of its share as an unsigned
//! number) and server1 computes −((−x1) >> f). With no communication and no
//! randomness, the shares then add to ⌊x / 2^f⌋ or ⌊x / 2^f⌋ + 1 (an error of
//! at most one unit in the last place, 2^−F) — **except** when the shares
//! wrap around the ring, which happens with probability at most
//! 2^(ℓx + 1 − k) per element for |x| < 2^ℓx: then the result is off by about
//! 2^(k−f), a destroyed value.
//!
//! For the defaults: Z_2^64 with F = 16, a product of two values below 2^8
//! in magnitude is below 2^(8 + 32) = 2^40 before truncation, so the
//! failure rate is 2^−23 per element (about one in 8 million). Z_2^128 with
//! F = 32 and the same values: 2^(8 + 64 + 1 − 128) = 2^−55. Keep products
//! small (normalised inputs and weights), or use Z_2^128 where values grow.

use blindfold_ring::{RingElement, RingTensor};

/// Server `server`'s share of x >> `bits` from its share of x.
///
/// Communication: none (0 bytes, 0 rounds).
pub fn truncate<R: RingElement>(share: &RingTensor<R>, bits: u32, server: usize) -> RingTensor<R> {
    if server == 0 {
        share.map(|x| x.shift_right_logical(bits))
    } else {
        share.map(|x| x.wrapping_neg().shift_right_logical(bits).wrapping_neg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blindfold_ring::{Prg, Seed};

    /// Shares of `values`, truncated, reconstructed: how many are more than
    /// one ulp away from the exact ⌊x / 2^bits⌋.
    fn failures(values: &[i128], bits: u32, seed: u8) -> usize {
        let secret = RingTensor::<u64>::from_vec(
            &[values.len()],
            values.iter().map(|&v| u64::from_i128_wrapping(v)).collect(),
        )
        .unwrap();
        let share0: RingTensor<u64> = Prg::new(&Seed::from_bytes([seed; 16])).ring_tensor(&[values.len()]);
        let share1 = secret.sub(&share0).unwrap();
        let result = truncate(&share0, bits, 0).add(&truncate(&share1, bits, 1)).unwrap();
        result
            .as_slice()
            .iter()
            .zip(values)
            .filter(|&(&r, &v)| {
                let exact = v >> bits;
                (r.to_i128() - exact).abs() > 1
            })
            .count()
    }

    #[test]
    fn small_values_are_within_one_ulp() {
        // |x| < 2^40 in Z_2^64: failure rate 2^-23, so 100,000 values fail
        // with probability about 1%; seeded, so the test is repeatable.
        let values: Vec<i128> =
            (0..100_000i128).map(|i| (i * 1_234_567_891) % (1 << 40) - (1 << 39)).collect();
        assert_eq!(failures(&values, 16, 1), 0);
    }

    #[test]
    fn the_failure_rate_matches_the_bound() {
        // A share wraps, and the value is destroyed, with probability
        // |x| / 2^64: at most 2^(60 + 1 - 64) = 1/8 for |x| < 2^60 (the
        // bound), and 1/32 on average for |x| spread evenly over the range.
        let n = 40_000i128;
        let values: Vec<i128> = (0..n).map(|i| (i * (1i128 << 61) / n) - (1i128 << 60)).collect();
        let failed = failures(&values, 16, 2) as f64 / n as f64;
        assert!(failed <= 0.125, "failure rate {failed} above the bound 1/8");
        // Three standard deviations of a binomial rate around 1/32.
        assert!((failed - 1.0 / 32.0).abs() < 0.0027, "failure rate {failed}, expected 1/32");
    }
}
