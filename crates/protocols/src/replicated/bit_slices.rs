//! Bit-sliced tensors: bit j of n elements packed into ⌈n/64⌉ words (a
//! plane), so that one u64 AND or XOR acts on 64 elements at once.

use blindfold_ring::RingElement;

/// Bit planes 0..planes of n elements, plane-major: word w of plane j holds
/// bit j of elements 64·w .. 64·w + 63 (element 64·w + e in bit e).
pub(super) fn planes_of<R: RingElement>(values: &[R], planes: usize) -> Vec<u64> {
    let words = values.len().div_ceil(64);
    let mut out = vec![0u64; planes * words];
    let mut block = [0u64; 64];
    for (word, chunk) in values.chunks(64).enumerate() {
        for half in 0..planes.div_ceil(64) {
            block.fill(0);
            for (slot, value) in block.iter_mut().zip(chunk) {
                *slot = (value.to_u128() >> (64 * half)) as u64;
            }
            transpose(&mut block);
            for (bit, row) in block.iter().enumerate().take(planes - 64 * half) {
                out[(64 * half + bit) * words + word] = *row;
            }
        }
    }
    out
}

/// Bit e of word w of `plane`, for each of `count` elements, as 0 or 1.
pub(super) fn bits_of(plane: &[u64], count: usize) -> impl Iterator<Item = u64> + '_ {
    (0..count).map(move |element| (plane[element / 64] >> (element % 64)) & 1)
}

/// Transposes a 64×64 bit matrix in place: bit c of row r moves to bit r
/// of row c (six rounds of block swaps, from 32×32 blocks down to bits).
fn transpose(rows: &mut [u64; 64]) {
    const MASKS: [(usize, u64); 6] = [
        (32, 0x0000_0000_FFFF_FFFF),
        (16, 0x0000_FFFF_0000_FFFF),
        (8, 0x00FF_00FF_00FF_00FF),
        (4, 0x0F0F_0F0F_0F0F_0F0F),
        (2, 0x3333_3333_3333_3333),
        (1, 0x5555_5555_5555_5555),
    ];
    for (width, mask) in MASKS {
        for row in (0..64).filter(|row| row & width == 0) {
            let swap = ((rows[row] >> width) ^ rows[row + width]) & mask;
            rows[row] ^= swap << width;
            rows[row + width] ^= swap;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_hold_each_elements_bits() {
        let values: Vec<u128> =
            (0..150u128).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C834) ^ i).collect();
        for planes in [1, 17, 64, 100, 128] {
            let sliced = planes_of(&values, planes);
            let words = values.len().div_ceil(64);
            for bit in 0..planes {
                let plane = &sliced[bit * words..(bit + 1) * words];
                let expected: Vec<u64> = values.iter().map(|v| ((v >> bit) & 1) as u64).collect();
                assert_eq!(bits_of(plane, values.len()).collect::<Vec<_>>(), expected, "plane {bit}");
            }
        }
    }
}
