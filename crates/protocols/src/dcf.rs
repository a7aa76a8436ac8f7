//! Distributed comparison functions (Boyle, Chandran, Gilboa, Gupta, Ishai,
//! Kumaresan, Lu, Eurocrypt 2021): a dealer splits f(x) = β·1[x < α] (x of n
//! bits, β in Z_2^k) into two keys; evaluating both at the same public x
//! gives additive shares of f(x), and either key alone hides α and β.
//!
//! The PRG G expands a 128-bit seed into (s_L, t_L, s_R, t_R, v_L, v_R) with
//! fixed-key AES in Matyas–Meyer–Oseas mode, H_i(s) = AES_K(s ⊕ i) ⊕ s ⊕ i
//! (a correlation-robust hash): t is the low bit of each seed block, v comes
//! from the next blocks; Convert(s) = H_4(s). Keys and evaluations are
//! computed for a whole tensor at once, level by level, so that AES-NI
//! pipelines thousands of blocks per call.
//!
//! Key size per element: n·(16 + k/8 + 1) + k/8 bytes of correction words
//! (a byte per level carries the two t bits), the same for both parties;
//! each party's initial seed comes from its own PRG stream. Evaluation costs
//! n calls of G (3 AES blocks in Z_2^64, 4 in Z_2^128) plus one Convert.

use aes::Aes128;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};
use blindfold_ring::RingElement;
use rayon::prelude::*;
use std::marker::PhantomData;
use std::ops::Range;

/// The fixed AES key of the hash (any public constant).
const FIXED_KEY: [u8; 16] = *b"blindfold-dcf-v1";

/// H_i over many seeds: fixed-key AES in MMO mode.
struct Hash {
    cipher: Aes128,
}

impl Hash {
    fn new() -> Hash {
        Hash { cipher: Aes128::new(GenericArray::from_slice(&FIXED_KEY)) }
    }

    /// `out[j·tweaks.len() + i] = H_{tweaks[i]}(seeds[j])`: the inputs are
    /// laid out once and encrypted in place, so AES-NI runs over the whole
    /// batch with nothing copied per block.
    fn hash(&self, seeds: &[u128], tweaks: &[u128]) -> Vec<u128> {
        let input = |k: usize| seeds[k / tweaks.len()] ^ tweaks[k % tweaks.len()];
        let mut out: Vec<u128> = (0..seeds.len() * tweaks.len()).map(|k| input(k).to_le()).collect();
        // SAFETY: a block is 16 bytes with alignment 1; u128 is 16 bytes
        // with a stricter alignment, so the same memory is a valid slice of
        // blocks, borrowed mutably only here.
        let blocks: &mut [Block] =
            unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<Block>(), out.len()) };
        self.cipher.encrypt_blocks(blocks);
        for (k, value) in out.iter_mut().enumerate() {
            *value = u128::from_le(*value) ^ input(k);
        }
        out
    }
}

/// One AES block.
type Block = GenericArray<u8, aes::cipher::consts::U16>;

/// G(s) for every seed: the two children's seeds, bits and values.
struct Expansion<R> {
    seeds: [Vec<u128>; 2],
    bits: [Vec<u8>; 2],
    values: [Vec<R>; 2],
}

fn expand<R: RingElement>(hash: &Hash, seeds: &[u128]) -> Expansion<R> {
    let tweaks: &[u128] = if R::BYTES == 8 { &[0, 1, 2] } else { &[0, 1, 2, 3] };
    let blocks = hash.hash(seeds, tweaks);
    let mut out = Expansion {
        seeds: [Vec::with_capacity(seeds.len()), Vec::with_capacity(seeds.len())],
        bits: [Vec::with_capacity(seeds.len()), Vec::with_capacity(seeds.len())],
        values: [Vec::with_capacity(seeds.len()), Vec::with_capacity(seeds.len())],
    };
    for element in blocks.chunks_exact(tweaks.len()) {
        for (side, block) in element[..2].iter().enumerate() {
            out.seeds[side].push(block & !1);
            out.bits[side].push((block & 1) as u8);
        }
        // Z_2^64: both values from block 2; Z_2^128: blocks 2 and 3.
        let (left, right) = if R::BYTES == 8 {
            let bytes = element[2].to_le_bytes();
            (R::from_le_slice(&bytes[..8]), R::from_le_slice(&bytes[8..]))
        } else {
            (R::from_le_slice(&element[2].to_le_bytes()), R::from_le_slice(&element[3].to_le_bytes()))
        };
        out.values[0].push(left);
        out.values[1].push(right);
    }
    out
}

fn convert<R: RingElement>(hash: &Hash, seeds: &[u128]) -> Vec<R> {
    hash.hash(seeds, &[4]).iter().map(|b| R::from_le_slice(&b.to_le_bytes())).collect()
}

/// (−1)^t·x.
fn signed<R: RingElement>(t: u8, x: R) -> R {
    if t == 1 { x.wrapping_neg() } else { x }
}

/// Elements per independently generated (and evaluated) chunk of keys.
const CHUNK: usize = 2048;

/// The correction words of a batch of DCF keys (shared by both parties), in
/// chunks of [`CHUNK`] elements that are generated and evaluated in parallel.
/// Held as the bytes that travel: generated straight into them and
/// evaluated straight from them, so hundreds of MB of keys are never copied
/// into a second layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DcfKeys<R: RingElement> {
    /// Input bits n.
    pub bits: u32,
    /// Elements in the batch.
    pub len: usize,
    /// Chunk after chunk, each level-major: seed corrections, value
    /// corrections, bit pairs, then the last words.
    bytes: Vec<u8>,
    ring: PhantomData<R>,
}

impl<R: RingElement> DcfKeys<R> {
    /// Bytes of the keys of `len` elements of `bits` input bits.
    pub fn byte_len(bits: u32, len: usize) -> usize {
        len * (bits as usize * (16 + R::BYTES + 1) + R::BYTES)
    }

    /// The keys as bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Takes keys of `len` elements from `bytes`; `None` if they have the
    /// wrong length or a bit pair is out of range.
    pub fn from_bytes(bits: u32, len: usize, bytes: Vec<u8>) -> Option<DcfKeys<R>> {
        if bytes.len() != Self::byte_len(bits, len) {
            return None;
        }
        let keys = DcfKeys { bits, len, bytes, ring: PhantomData };
        let valid = chunk_ranges::<R>(bits, len).all(|(size, range)| {
            KeyChunk::<R>::new(bits, size, &keys.bytes[range]).bit_corrections.iter().all(|&b| b <= 3)
        });
        valid.then_some(keys)
    }
}

/// (elements, byte range) of each chunk of a batch of `len` elements.
fn chunk_ranges<R: RingElement>(bits: u32, len: usize) -> impl Iterator<Item = (usize, Range<usize>)> {
    let per_element = DcfKeys::<R>::byte_len(bits, 1);
    (0..len).step_by(CHUNK).map(move |start| {
        let size = CHUNK.min(len - start);
        (size, start * per_element..(start + size) * per_element)
    })
}

/// Dealer: keys for f_j(x) = betas[j]·1[x < alphas[j]] over `bits`-bit
/// inputs, given each party's initial seeds (`seeds[b][j]`); chunks in
/// parallel, each written into its own part of the keys' bytes.
pub fn generate<R: RingElement>(bits: u32, alphas: &[R], betas: &[R], seeds: [&[u128]; 2]) -> DcfKeys<R> {
    let len = alphas.len();
    let mut bytes = vec![0u8; DcfKeys::<R>::byte_len(bits, len)];
    let per_chunk = DcfKeys::<R>::byte_len(bits, CHUNK);
    bytes
        .par_chunks_mut(per_chunk)
        .zip(alphas.par_chunks(CHUNK).zip(betas.par_chunks(CHUNK)))
        .zip(seeds[0].par_chunks(CHUNK).zip(seeds[1].par_chunks(CHUNK)))
        .for_each(|((out, (a, b)), (s0, s1))| generate_chunk(bits, a, b, [s0, s1], out));
    DcfKeys { bits, len, bytes, ring: PhantomData }
}

/// Party `party` (0 or 1): its shares of f_j(xs[j]) from its initial seeds;
/// chunks in parallel.
pub fn evaluate<R: RingElement>(party: usize, keys: &DcfKeys<R>, seeds: &[u128], xs: &[R]) -> Vec<R> {
    let per_chunk = DcfKeys::<R>::byte_len(keys.bits, CHUNK);
    keys.bytes
        .par_chunks(per_chunk)
        .zip(seeds.par_chunks(CHUNK).zip(xs.par_chunks(CHUNK)))
        .flat_map_iter(|(bytes, (s, x))| {
            evaluate_chunk(party, keys.bits, &KeyChunk::<R>::new(keys.bits, x.len(), bytes), s, x)
        })
        .collect()
}

/// One chunk's correction words, viewed in the keys' bytes (level-major:
/// cell = level·len + element).
struct KeyChunk<'a, R> {
    seed_corrections: &'a [u8],
    value_corrections: &'a [u8],
    /// t_CW,L | t_CW,R << 1.
    bit_corrections: &'a [u8],
    last: &'a [u8],
    ring: PhantomData<R>,
}

impl<'a, R: RingElement> KeyChunk<'a, R> {
    fn new(bits: u32, len: usize, bytes: &'a [u8]) -> KeyChunk<'a, R> {
        let cells = bits as usize * len;
        let (seed_corrections, rest) = bytes.split_at(cells * 16);
        let (value_corrections, rest) = rest.split_at(cells * R::BYTES);
        let (bit_corrections, last) = rest.split_at(cells);
        KeyChunk { seed_corrections, value_corrections, bit_corrections, last, ring: PhantomData }
    }

    fn seed(&self, cell: usize) -> u128 {
        u128::from_le_bytes(self.seed_corrections[cell * 16..cell * 16 + 16].try_into().expect("16 bytes"))
    }

    fn value(&self, cell: usize) -> R {
        R::from_le_slice(&self.value_corrections[cell * R::BYTES..(cell + 1) * R::BYTES])
    }

    fn last(&self, element: usize) -> R {
        R::from_le_slice(&self.last[element * R::BYTES..(element + 1) * R::BYTES])
    }
}

/// Writes one chunk's keys into `out` (its part of the keys' bytes).
fn generate_chunk<R: RingElement>(bits: u32, alphas: &[R], betas: &[R], seeds: [&[u128]; 2], out: &mut [u8]) {
    let hash = Hash::new();
    let len = alphas.len();
    let mut s = [seeds[0].to_vec(), seeds[1].to_vec()];
    let mut t = [vec![0u8; len], vec![1u8; len]];
    let mut v = vec![R::ZERO; len];
    let cells = bits as usize * len;
    let (seed_out, rest) = out.split_at_mut(cells * 16);
    let (value_out, rest) = rest.split_at_mut(cells * R::BYTES);
    let (bit_out, last_out) = rest.split_at_mut(cells);
    for level in 0..bits {
        let expanded = [expand::<R>(&hash, &s[0]), expand::<R>(&hash, &s[1])];
        for j in 0..len {
            let cell = level as usize * len + j;
            let alpha_bit = alphas[j].bit(bits - 1 - level).to_u128() as usize; // 1 = keep right
            let (keep, lose) = (alpha_bit, 1 - alpha_bit);
            let [e0, e1] = &expanded;
            let seed_correction = e0.seeds[lose][j] ^ e1.seeds[lose][j];
            let t1 = t[1][j];
            let mut value_correction =
                signed(t1, e1.values[lose][j].wrapping_sub(e0.values[lose][j]).wrapping_sub(v[j]));
            if lose == 0 {
                value_correction = value_correction.wrapping_add(signed(t1, betas[j]));
            }
            v[j] = v[j]
                .wrapping_sub(e1.values[keep][j])
                .wrapping_add(e0.values[keep][j])
                .wrapping_add(signed(t1, value_correction));
            let bit_left = e0.bits[0][j] ^ e1.bits[0][j] ^ alpha_bit as u8 ^ 1;
            let bit_right = e0.bits[1][j] ^ e1.bits[1][j] ^ alpha_bit as u8;
            let bit_keep = if keep == 0 { bit_left } else { bit_right };
            for party in 0..2 {
                let tb = t[party][j];
                let e = &expanded[party];
                s[party][j] = e.seeds[keep][j] ^ if tb == 1 { seed_correction } else { 0 };
                t[party][j] = e.bits[keep][j] ^ (tb & bit_keep);
            }
            seed_out[cell * 16..cell * 16 + 16].copy_from_slice(&seed_correction.to_le_bytes());
            value_out[cell * R::BYTES..(cell + 1) * R::BYTES]
                .copy_from_slice(bytemuck::bytes_of(&value_correction));
            bit_out[cell] = bit_left | bit_right << 1;
        }
    }
    let (c0, c1) = (convert::<R>(&hash, &s[0]), convert::<R>(&hash, &s[1]));
    for j in 0..len {
        let last = signed(t[1][j], c1[j].wrapping_sub(c0[j]).wrapping_sub(v[j]));
        last_out[j * R::BYTES..(j + 1) * R::BYTES].copy_from_slice(bytemuck::bytes_of(&last));
    }
}

fn evaluate_chunk<R: RingElement>(
    party: usize,
    bits: u32,
    keys: &KeyChunk<'_, R>,
    seeds: &[u128],
    xs: &[R],
) -> Vec<R> {
    let hash = Hash::new();
    let len = xs.len();
    let mut s = seeds.to_vec();
    let mut t = vec![party as u8; len];
    let mut v = vec![R::ZERO; len];
    for level in 0..bits as usize {
        let e = expand::<R>(&hash, &s);
        for j in 0..len {
            let cell = level * len + j;
            let side = xs[j].bit(bits - 1 - level as u32).to_u128() as usize;
            let correct = t[j] == 1;
            let mut seed = e.seeds[side][j];
            let mut bit = e.bits[side][j];
            let mut value = e.values[side][j];
            if correct {
                seed ^= keys.seed(cell);
                bit ^= (keys.bit_corrections[cell] >> side) & 1;
                value = value.wrapping_add(keys.value(cell));
            }
            v[j] = v[j].wrapping_add(signed(party as u8, value));
            s[j] = seed;
            t[j] = bit;
        }
    }
    let converted = convert::<R>(&hash, &s);
    (0..len)
        .map(|j| {
            let last = if t[j] == 1 { converted[j].wrapping_add(keys.last(j)) } else { converted[j] };
            v[j].wrapping_add(signed(party as u8, last))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn check<R: RingElement>(bits: u32, alphas: Vec<R>, xs: Vec<R>, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let len = alphas.len();
        let betas: Vec<R> = (0..len).map(|_| R::from_i128_wrapping(rng.random::<i64>() as i128)).collect();
        let seeds: [Vec<u128>; 2] =
            [(0..len).map(|_| rng.random()).collect(), (0..len).map(|_| rng.random()).collect()];
        let keys = generate(bits, &alphas, &betas, [&seeds[0], &seeds[1]]);
        let keys = DcfKeys::from_bytes(bits, len, keys.into_bytes()).expect("round trip");
        let y0 = evaluate(0, &keys, &seeds[0], &xs);
        let y1 = evaluate(1, &keys, &seeds[1], &xs);
        for j in 0..len {
            let mask = if bits == R::BITS {
                R::ZERO.wrapping_sub(R::ONE)
            } else {
                R::ONE.shift_left(bits).wrapping_sub(R::ONE)
            };
            let (x, alpha) = (xs[j].bit_and(mask), alphas[j].bit_and(mask));
            let expected = if x.to_u128() < alpha.to_u128() { betas[j] } else { R::ZERO };
            assert_eq!(y0[j].wrapping_add(y1[j]), expected, "x {x:?} alpha {alpha:?}");
        }
    }

    #[test]
    fn shares_add_to_the_comparison_on_random_and_edge_inputs() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for bits in [1u32, 5, 63] {
            let top = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            let mut alphas = Vec::new();
            let mut xs = Vec::new();
            for _ in 0..200 {
                let alpha = rng.random::<u64>() & top;
                let edge = match rng.random_range(0..5) {
                    0 => alpha,
                    1 => alpha.wrapping_sub(1) & top,
                    2 => (alpha + 1) & top,
                    3 => 0,
                    _ => rng.random::<u64>() & top,
                };
                alphas.push(alpha);
                xs.push(edge);
            }
            alphas.extend([0, top, top, 0]);
            xs.extend([0, top, 0, top]);
            check::<u64>(bits, alphas, xs, bits as u64);
        }
        let wide: Vec<u128> = (0..100).map(|_| rng.random::<u128>() >> 1).collect();
        let xs: Vec<u128> =
            wide.iter().map(|&a| if rng.random() { a } else { rng.random::<u128>() >> 1 }).collect();
        check::<u128>(127, wide, xs, 9);
    }

    #[test]
    fn batches_larger_than_a_chunk() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let alphas: Vec<u64> = (0..5000).map(|_| rng.random::<u64>() >> 1).collect();
        let xs: Vec<u64> = (0..5000).map(|_| rng.random::<u64>() >> 1).collect();
        check::<u64>(63, alphas, xs, 4);
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(DcfKeys::<u64>::from_bytes(3, 2, vec![0; 10]).is_none());
        let mut bytes = vec![0u8; DcfKeys::<u64>::byte_len(3, 2)];
        let bit_offset = 3 * 2 * (16 + 8);
        bytes[bit_offset] = 7;
        assert!(DcfKeys::<u64>::from_bytes(3, 2, bytes).is_none());
    }
}
