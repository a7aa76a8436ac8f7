//! The fast kernels against the reference on random shapes and values:
//! odd sizes, one-element and empty dimensions, block-boundary crossings,
//! both rings and both threading modes.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::element::RingElement;

fn random_values<R: RingElement>(rng: &mut ChaCha8Rng, count: usize) -> Vec<R> {
    (0..count)
        .map(|_| {
            let wide: u128 = rng.random();
            R::from_i128_wrapping(wide as i128)
        })
        .collect()
}

/// A matmul kernel's signature: (m, k, n, a, b, c).
type Kernel<R> = fn(usize, usize, usize, &[R], &[R], &mut [R]);

fn check<R: RingElement>(fast: Kernel<R>, (m, k, n): (usize, usize, usize), seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = random_values::<R>(&mut rng, m * k);
    let b = random_values::<R>(&mut rng, k * n);
    // Start from garbage: the kernel must overwrite C, not accumulate.
    let mut c = random_values::<R>(&mut rng, m * n);
    fast(m, k, n, &a, &b, &mut c);
    assert_eq!(c, reference::matmul(m, k, n, &a, &b), "{m}x{k}·{k}x{n} in Z_2^{}", R::BITS);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn u64_matmul_matches_reference(m in 0usize..23, k in 0usize..40, n in 0usize..27, seed: u64) {
        check::<u64>(matmul_u64, (m, k, n), seed);
        check::<u64>(matmul_u64_single_thread, (m, k, n), seed);
    }

    #[test]
    fn u128_matmul_matches_reference(m in 0usize..17, k in 0usize..30, n in 0usize..19, seed: u64) {
        check::<u128>(matmul_u128, (m, k, n), seed);
        check::<u128>(matmul_u128_single_thread, (m, k, n), seed);
    }
}

#[test]
fn block_boundaries_are_crossed_correctly() {
    // m > MC (96), k > KC (256), n spanning several column blocks and tiles,
    // none a multiple of a tile size.
    check::<u64>(matmul_u64, (101, 263, 37), 1);
    check::<u64>(matmul_u64, (3, 517, 1029), 2);
    check::<u64>(matmul_u64_single_thread, (97, 300, 130), 3);
    check::<u128>(matmul_u128, (98, 259, 41), 4);
}

#[test]
fn degenerate_shapes() {
    for shape in [(1, 1, 1), (1, 0, 1), (0, 5, 3), (3, 5, 0), (1, 1000, 1), (200, 1, 1)] {
        check::<u64>(matmul_u64, shape, 5);
        check::<u128>(matmul_u128, shape, 6);
    }
}

#[test]
fn extreme_values_wrap() {
    let (m, k, n) = (3, 33, 9);
    for fill in [u64::MAX, 1 << 63, 0xffff_ffff, 0x1_0000_0000] {
        let a = vec![fill; m * k];
        let b = vec![fill.wrapping_sub(1); k * n];
        let mut c = vec![0; m * n];
        matmul_u64(m, k, n, &a, &b, &mut c);
        assert_eq!(c, reference::matmul(m, k, n, &a, &b));
    }
}

#[test]
fn u128_carries_survive_extreme_values_and_deep_blocks() {
    // All-ones halves maximise every partial product and carry; k = 300
    // crosses a depth block.
    let (m, k, n) = (2, 300, 6);
    for fill in [u128::MAX, u64::MAX as u128, (u64::MAX as u128) << 64, 0xffff_ffff_0000_0000_ffff_ffff] {
        let a = vec![fill; m * k];
        let b = vec![fill.wrapping_sub(3); k * n];
        let mut c = vec![0; m * n];
        matmul_u128(m, k, n, &a, &b, &mut c);
        assert_eq!(c, reference::matmul(m, k, n, &a, &b));
    }
}

#[test]
fn the_portable_kernel_matches_too() {
    // The fallback for CPUs without AVX2 is tested on every CPU.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (m, k, n) = (13, 300, 21);
    let a = random_values::<u64>(&mut rng, m * k);
    let b = random_values::<u64>(&mut rng, k * n);
    let mut c = vec![0; m * n];
    blocked::matmul(&portable::Kernel::<4, 4>, Threading::AllCores, m, k, n, &a, &b, &mut c);
    assert_eq!(c, reference::matmul(m, k, n, &a, &b));
    let a = random_values::<u128>(&mut rng, m * k);
    let b = random_values::<u128>(&mut rng, k * n);
    let mut c = vec![0; m * n];
    blocked::matmul(&portable::Kernel::<2, 2>, Threading::SingleThread, m, k, n, &a, &b, &mut c);
    assert_eq!(c, reference::matmul(m, k, n, &a, &b));
}
