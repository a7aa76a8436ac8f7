//! Seeded randomness: AES-128 in counter mode expands a 16-byte seed into
//! uniformly random ring tensors.
//!
//! This is what lets a party send 16 bytes instead of a whole share: both
//! ends expand the same seed into the same tensor. Seeds come from the
//! operating system's CSPRNG; block i of the stream is AES_seed(i) with the
//! 128-bit counter i in little-endian order (the `ctr` crate's pipelined
//! keystream over the `aes` crate, with AES-NI where the CPU has it). Under the PRF assumption on
//! AES, the stream is indistinguishable from uniform to anyone without the
//! seed, and streams of different seeds are independent.
//!
//! Blocks are generated in parallel for large tensors; the stream depends
//! only on the seed and the position, never on the thread count.

use aes::Aes128;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit, KeyIvInit, StreamCipher};
use rayon::prelude::*;

use crate::element::RingElement;
use crate::error::{Result, RingError};
use crate::tensor::RingTensor;

/// A 128-bit PRG seed. `Debug` does not print the bytes.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Seed([u8; 16]);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

impl Seed {
    /// Bytes of a seed on the wire.
    pub const BYTES: usize = 16;

    /// A fresh seed from the operating system's CSPRNG.
    pub fn random() -> Result<Seed> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|error| RingError::Randomness(error.to_string()))?;
        Ok(Seed(bytes))
    }

    /// A seed from its bytes (as received from a peer).
    pub fn from_bytes(bytes: [u8; 16]) -> Seed {
        Seed(bytes)
    }

    /// The seed's bytes (to send to a peer).
    pub fn to_bytes(&self) -> [u8; 16] {
        self.0
    }

    /// An independent seed for sub-stream `label`: AES_seed applied to the
    /// label with the top bit set, which no counter block of [`Prg`] reaches
    /// for streams shorter than 2^127 blocks.
    pub fn derive(&self, label: u64) -> Seed {
        let cipher = Aes128::new(GenericArray::from_slice(&self.0));
        let mut block = GenericArray::clone_from_slice(&((1u128 << 127) | label as u128).to_le_bytes());
        cipher.encrypt_block(&mut block);
        Seed(block.into())
    }
}

/// AES-128 in counter mode, the counter a little-endian 128-bit integer.
type Aes128Counter = ctr::Ctr128LE<Aes128>;

/// Bytes of one chunk of parallel generation (whole blocks).
const CHUNK_BYTES: usize = 1 << 16;
/// Bytes above which generation is split over rayon's pool.
const PARALLEL_BYTES: usize = 1 << 18;

/// A stream of pseudorandom bytes and ring elements from one seed. Not
/// `Debug`: it holds the seed.
pub struct Prg {
    seed: Seed,
    /// The next counter block.
    counter: u128,
}

impl Prg {
    /// The stream of `seed`, from its start.
    pub fn new(seed: &Seed) -> Prg {
        Prg { seed: seed.clone(), counter: 0 }
    }

    /// The next `out.len()` bytes of the stream, rounded up to whole blocks
    /// (the rest of a partly used block is skipped).
    pub fn fill_bytes(&mut self, out: &mut [u8]) {
        let first = self.counter;
        self.counter += out.len().div_ceil(16) as u128;
        let work = |(index, chunk): (usize, &mut [u8])| {
            chunk.fill(0);
            let start = first + (index * CHUNK_BYTES / 16) as u128;
            let mut cipher = Aes128Counter::new(&self.seed.0.into(), &start.to_le_bytes().into());
            cipher.apply_keystream(chunk);
        };
        if out.len() >= PARALLEL_BYTES {
            out.par_chunks_mut(CHUNK_BYTES).enumerate().for_each(work);
        } else {
            out.chunks_mut(CHUNK_BYTES).enumerate().for_each(work);
        }
    }

    /// The next `out.len()` uniformly random ring elements: the stream of
    /// [`Prg::fill_bytes`] over `out.len() · R::BYTES` bytes, read
    /// little-endian.
    pub fn fill<R: RingElement>(&mut self, out: &mut [R]) {
        self.fill_bytes(bytemuck::cast_slice_mut(out));
    }

    /// A uniformly random tensor of `shape`: the next elements of the stream.
    pub fn ring_tensor<R: RingElement>(&mut self, shape: &[usize]) -> RingTensor<R> {
        let mut values = vec![R::ZERO; shape.iter().product()];
        self.fill(&mut values);
        RingTensor::from_vec(shape, values).expect("length is the shape's product")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_tensor() {
        let seed = Seed::from_bytes([7; 16]);
        let first: RingTensor<u64> = Prg::new(&seed).ring_tensor(&[3, 5]);
        let again: RingTensor<u64> = Prg::new(&seed).ring_tensor(&[3, 5]);
        assert_eq!(first, again);
        let other: RingTensor<u64> = Prg::new(&Seed::from_bytes([8; 16])).ring_tensor(&[3, 5]);
        assert_ne!(first, other);
    }

    #[test]
    fn matches_aes_128_ctr_known_answer() {
        // FIPS-197 appendix C.1: AES-128 with key 00..0f encrypts
        // 00112233..ff to 69c4e0d8 6a7b0430 d8cdb780 70b4c55a. Block 0 of our
        // stream is AES(key, 0), so check the cipher itself on that vector.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let cipher = Aes128::new(GenericArray::from_slice(&key));
        let mut block =
            GenericArray::clone_from_slice(&core::array::from_fn::<u8, 16, _>(|i| (i as u8) * 0x11));
        cipher.encrypt_block(&mut block);
        assert_eq!(
            block.as_slice(),
            &[0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a]
        );
        // And the stream's block i is AES(seed, i as little-endian u128).
        let mut stream = [0u8; 48];
        Prg::new(&Seed::from_bytes(key)).fill_bytes(&mut stream);
        let mut expected = GenericArray::clone_from_slice(&2u128.to_le_bytes());
        cipher.encrypt_block(&mut expected);
        assert_eq!(&stream[32..], expected.as_slice());
    }

    #[test]
    fn stream_is_the_same_however_it_is_cut_and_threaded() {
        let seed = Seed::from_bytes([3; 16]);
        let mut whole = vec![0u8; PARALLEL_BYTES * 2 + 48];
        Prg::new(&seed).fill_bytes(&mut whole);
        let mut pieces = Prg::new(&seed);
        let mut first = vec![0u8; 32];
        let mut second = vec![0u8; PARALLEL_BYTES * 2 + 16];
        pieces.fill_bytes(&mut first);
        pieces.fill_bytes(&mut second);
        assert_eq!(&whole[..32], &first[..]);
        assert_eq!(&whole[32..], &second[..]);
    }

    #[test]
    fn a_partly_used_block_is_skipped() {
        let seed = Seed::from_bytes([1; 16]);
        let mut prg = Prg::new(&seed);
        let mut odd = [0u64; 3]; // 24 bytes: blocks 0 and 1
        prg.fill(&mut odd);
        let next: u64 = prg.ring_tensor::<u64>(&[1]).as_slice()[0];
        let mut whole = [0u64; 6];
        Prg::new(&seed).fill(&mut whole);
        assert_eq!(&whole[..3], &odd);
        assert_eq!(next, whole[4]);
    }

    #[test]
    fn random_seeds_differ_and_debug_hides_them() {
        let (a, b) = (Seed::random().unwrap(), Seed::random().unwrap());
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Seed(<redacted>)");
        assert_ne!(a.derive(0), a.derive(1));
        assert_ne!(a.derive(0), a);
    }
}
