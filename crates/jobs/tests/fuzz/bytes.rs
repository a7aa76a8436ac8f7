//! Byte-level mutations: flips, interesting values, insertions,
//! deletions, repeats, truncation, and splices of two seeds.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Values that sit at edges: zero, one, the signed and unsigned extremes.
const INTERESTING: [u64; 10] = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fff_ffff, 0xffff_ffff, u64::MAX];

/// A mutation of one of `seeds`: one edit in half the cases, up to eight
/// in the rest (few edits keep most inputs readable enough to go deep).
pub fn mutate(rng: &mut ChaCha8Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = seeds[rng.random_range(0..seeds.len())].clone();
    let edits = if rng.random_bool(0.5) { 1 } else { rng.random_range(2..=8) };
    for _ in 0..edits {
        edit(rng, &mut bytes, seeds);
    }
    bytes
}

/// One edit of `bytes`.
pub fn edit(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let at = |rng: &mut ChaCha8Rng, len: usize| if len == 0 { 0 } else { rng.random_range(0..len) };
    match rng.random_range(0..8) {
        0 if !bytes.is_empty() => {
            let i = at(rng, bytes.len());
            bytes[i] ^= 1 << rng.random_range(0..8);
        }
        1 if !bytes.is_empty() => {
            let i = at(rng, bytes.len());
            bytes[i] = rng.random();
        }
        2 => {
            // An interesting value, 1, 2, 4 or 8 bytes, either endianness.
            let width = [1usize, 2, 4, 8][rng.random_range(0..4)];
            let value = INTERESTING[rng.random_range(0..INTERESTING.len())];
            let mut encoded = value.to_le_bytes()[..width].to_vec();
            if rng.random_bool(0.5) {
                encoded.reverse();
            }
            let i = at(rng, bytes.len().saturating_sub(width) + 1);
            for (j, b) in encoded.into_iter().enumerate() {
                if let Some(slot) = bytes.get_mut(i + j) {
                    *slot = b;
                }
            }
        }
        3 => {
            let i = at(rng, bytes.len() + 1);
            let count = rng.random_range(1..=16);
            let filler: Vec<u8> = (0..count).map(|_| rng.random()).collect();
            bytes.splice(i..i, filler);
        }
        4 if !bytes.is_empty() => {
            let i = at(rng, bytes.len());
            let end = (i + rng.random_range(1..=16)).min(bytes.len());
            bytes.drain(i..end);
        }
        5 if !bytes.is_empty() => {
            let i = at(rng, bytes.len());
            let end = (i + rng.random_range(1..=32)).min(bytes.len());
            let chunk = bytes[i..end].to_vec();
            bytes.splice(i..i, chunk);
        }
        6 if !bytes.is_empty() => {
            let keep = at(rng, bytes.len());
            bytes.truncate(keep);
        }
        _ => {
            let other = &seeds[rng.random_range(0..seeds.len())];
            let (i, j) = (at(rng, bytes.len() + 1), at(rng, other.len() + 1));
            bytes.truncate(i);
            bytes.extend_from_slice(&other[j..]);
        }
    }
}
