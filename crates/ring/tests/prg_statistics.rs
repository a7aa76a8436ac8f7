//! Statistical checks that the AES-CTR stream is uniform and that streams of
//! different seeds are independent. Each test also runs its statistic on a
//! deliberately biased stream to show it would catch a 1% bias.

use blindfold_ring::{Prg, RingTensor, Seed};

/// Bytes drawn for each test.
const SAMPLE_BYTES: usize = 1 << 22;

/// Chi-square over the 256 byte values, 255 degrees of freedom.
fn byte_chi_square(bytes: &[u8]) -> f64 {
    let mut counts = [0u64; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let expected = bytes.len() as f64 / 256.0;
    counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum()
}

/// The chi-square critical value for 255 degrees of freedom at significance
/// 10^-6 (Wilson–Hilferty: df·(1 − 2/(9df) + z·sqrt(2/(9df)))^3, z = 4.753).
fn chi_square_critical() -> f64 {
    let df = 255.0f64;
    let z = 4.753;
    df * (1.0 - 2.0 / (9.0 * df) + z * (2.0 / (9.0 * df)).sqrt()).powi(3)
}

/// The largest |z| over the 64 bit positions of u64 words: each bit should
/// be 1 with probability 1/2.
fn worst_bit_z_score(words: &[u64]) -> f64 {
    let n = words.len() as f64;
    (0..64)
        .map(|bit| {
            let ones = words.iter().filter(|&&w| (w >> bit) & 1 == 1).count() as f64;
            (ones - n / 2.0) / (n / 4.0).sqrt()
        })
        .fold(0.0, |worst, z: f64| worst.max(z.abs()))
}

/// Six standard deviations: a false alarm about once in 10^7 runs per test.
const Z_LIMIT: f64 = 6.0;

fn stream(seed: [u8; 16], bytes: usize) -> Vec<u8> {
    let mut out = vec![0u8; bytes];
    Prg::new(&Seed::from_bytes(seed)).fill_bytes(&mut out);
    out
}

#[test]
fn bytes_are_uniform() {
    let bytes = stream(*b"uniformity-test!", SAMPLE_BYTES);
    let statistic = byte_chi_square(&bytes);
    assert!(statistic < chi_square_critical(), "chi-square {statistic} >= {}", chi_square_critical());
}

#[test]
fn the_byte_test_catches_a_biased_stream() {
    // 1% of the bytes replaced by 0x00.
    let mut bytes = stream(*b"negative-control", SAMPLE_BYTES);
    for b in bytes.iter_mut().step_by(100) {
        *b = 0;
    }
    assert!(byte_chi_square(&bytes) > chi_square_critical());
}

#[test]
fn every_bit_of_ring_elements_is_fair() {
    let tensor: RingTensor<u64> =
        Prg::new(&Seed::from_bytes(*b"bit-balance-test")).ring_tensor(&[SAMPLE_BYTES / 8]);
    let z = worst_bit_z_score(tensor.as_slice());
    assert!(z < Z_LIMIT, "a bit position is biased: z = {z}");
    // The same statistic flags bits that are 1 with probability 0.51.
    let mut biased = tensor.to_vec();
    for word in biased.iter_mut().step_by(50) {
        *word |= 1; // bit 0 forced on in 2% of words: P(1) = 0.51
    }
    assert!(worst_bit_z_score(&biased) > Z_LIMIT);
}

#[test]
fn different_seeds_give_independent_streams() {
    // XOR of two independent uniform streams is uniform, and byte-by-byte
    // equality happens 1/256 of the time.
    let first = stream([1; 16], SAMPLE_BYTES);
    let second = stream([2; 16], SAMPLE_BYTES);
    let xor: Vec<u8> = first.iter().zip(&second).map(|(a, b)| a ^ b).collect();
    assert!(byte_chi_square(&xor) < chi_square_critical());
    let equal = first.iter().zip(&second).filter(|(a, b)| a == b).count() as f64;
    let n = SAMPLE_BYTES as f64;
    let p = 1.0 / 256.0;
    let z = (equal - n * p) / (n * p * (1.0 - p)).sqrt();
    assert!(z.abs() < Z_LIMIT, "equal bytes {equal}, z = {z}");
    // A stream correlated with the first (every 100th byte copied) is caught.
    let mut correlated = second.clone();
    for i in (0..SAMPLE_BYTES).step_by(100) {
        correlated[i] = first[i];
    }
    let equal = first.iter().zip(&correlated).filter(|(a, b)| a == b).count() as f64;
    assert!((equal - n * p) / (n * p * (1.0 - p)).sqrt() > Z_LIMIT);
}

#[test]
fn u128_tensors_are_uniform_too() {
    let tensor: RingTensor<u128> = Prg::new(&Seed::from_bytes([9; 16])).ring_tensor(&[SAMPLE_BYTES / 16]);
    let bytes = tensor.to_le_bytes();
    assert!(byte_chi_square(&bytes) < chi_square_critical());
    let high_words: Vec<u64> = tensor.as_slice().iter().map(|&x| (x >> 64) as u64).collect();
    assert!(worst_bit_z_score(&high_words) < Z_LIMIT);
}
