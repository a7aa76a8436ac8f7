//! Exact comparison without a dealer: DReLU(x) = 1[x ≥ 0] on replicated
//! shares, by adding the shares in binary on bit-sliced boolean shares and
//! injecting the sign bit back into the ring (ABY3 §5.3, with the adder cut
//! down to the one carry the sign needs).
//!
//! Why this and not Falcon's wrap bit and private compare: both are exact
//! and need no dealer, but the adder's gates are plain 3-party ANDs on
//! words of 64 elements, with no per-element field arithmetic, and their
//! count falls with the domain (calibrated widths shrink every part).
//! Falcon's private compare runs in Z_p per bit with a multiplication per
//! bit as well, and needs shared random bits that ABY3-style parties must
//! first produce.
//!
//! Method, on x mod 2^m (exact on the whole ring for m = k, and for
//! |x| < 2^(m−1) otherwise):
//! 1. x = u + v with u = x0 (held by servers 0 and 2, so its boolean
//!    sharing (u, 0, 0) is free) and v = x1 + x2 (held by server 1, which
//!    shares it as (0, v ⊕ r, r) with r from the key it shares with
//!    server 2, sending v ⊕ r to server 0).
//! 2. The sign of u + v is u_{m−1} ⊕ v_{m−1} ⊕ c, where c is the carry
//!    into bit m − 1: generate g_j = u_j ∧ v_j and propagate
//!    p_j = u_j ⊕ v_j for j < m − 1, then a tree of (G, P) pairs,
//!    (G, P)_hi ∘ (G, P)_lo = (G_hi ⊕ P_hi ∧ G_lo, P_hi ∧ P_lo), one AND
//!    round per level, ⌈log2(m − 1)⌉ levels; the block holding bit 0 needs
//!    no P.
//! 3. Bit injection of the sign b = b0 ⊕ c with c = b1 ⊕ b2 known to
//!    server 1: b = b0 + c − 2·b0·c; server 1 shares c (one message to
//!    server 0), the product b0·c is b0·(c − r_c) at server 0 plus b0·r_c
//!    at server 2, exchanged under masks from their keys with server 1.
//!
//! A 3-party AND of boolean shares: z_i = a_i∧b_i ⊕ a_i∧b_{i+1} ⊕
//! a_{i+1}∧b_i ⊕ β_i with β a zero-sharing from the pairwise keys, z_i sent
//! to server i − 1: one bit per gate per server.

use blindfold_ir::NodeId;
use blindfold_ring::{RingElement, RingTensor};

use super::bit_slices::{bits_of, planes_of};
use super::{Keys, Pair, ReplicatedParty, SERVERS, label, next, previous};
use crate::communicator::{Communicator, Traffic};
use crate::error::Result;

/// PRF slots of a comparison.
const CONVERSION: u64 = 1 << 22;
const AND_ROUND: u64 = 1 << 22 | 1 << 8;
const INJECTION_MASK: u64 = 1 << 22 | 1 << 16;
const INJECTION_SHARE1: u64 = 1 << 22 | 1 << 16 | 1;
const INJECTION_SHARE2: u64 = 1 << 22 | 1 << 16 | 2;

/// Boolean replicated shares of some bit planes: server i's (b_i, b_{i+1}),
/// each a sequence of planes of `words` words.
#[derive(Clone)]
struct BitPair {
    first: Vec<u64>,
    second: Vec<u64>,
}

/// One plane of a [`BitPair`], borrowed.
type PlaneRef<'a> = (&'a [u64], &'a [u64]);

impl BitPair {
    fn zeros(words: usize) -> BitPair {
        BitPair { first: vec![0; words], second: vec![0; words] }
    }

    /// Plane `index` of planes `words` long.
    fn plane(&self, index: usize, words: usize) -> PlaneRef<'_> {
        let range = index * words..(index + 1) * words;
        (&self.first[range.clone()], &self.second[range])
    }

    /// Writes `plane` as plane `index`.
    fn set_plane(&mut self, index: usize, words: usize, plane: PlaneRef<'_>) {
        let range = index * words..(index + 1) * words;
        self.first[range.clone()].copy_from_slice(plane.0);
        self.second[range].copy_from_slice(plane.1);
    }

    /// a ⊕ b for two planes (local).
    fn xor(a: PlaneRef<'_>, b: PlaneRef<'_>) -> BitPair {
        let xor = |x: &[u64], y: &[u64]| x.iter().zip(y).map(|(p, q)| p ^ q).collect();
        BitPair { first: xor(a.0, b.0), second: xor(a.1, b.1) }
    }
}

/// Shares of a ∧ b for each gate (a pair of planes of `words` words), in
/// gate order.
///
/// Communication: one round; each server sends 8·words bytes per gate.
fn and<R: RingElement>(
    party: &ReplicatedParty<R>,
    id: NodeId,
    server: usize,
    round: u64,
    gates: &[(PlaneRef<'_>, PlaneRef<'_>)],
    words: usize,
    communicator: &mut dyn Communicator,
) -> Result<BitPair> {
    let keys = party.keys();
    let total = gates.len() * words;
    // β_i = F(key i) ⊕ F(key i+1), then the three terms server i can form.
    let mut term = vec![0u64; total];
    let mut other = vec![0u64; total];
    Keys::stream(&keys.first, label(id, AND_ROUND + round)).fill(&mut term);
    Keys::stream(&keys.second, label(id, AND_ROUND + round)).fill(&mut other);
    for (gate, ((a_first, a_second), (b_first, b_second))) in gates.iter().enumerate() {
        let out = &mut term[gate * words..(gate + 1) * words];
        let mask = &other[gate * words..(gate + 1) * words];
        for w in 0..words {
            out[w] ^= (a_first[w] & (b_first[w] ^ b_second[w])) ^ (a_second[w] & b_first[w]) ^ mask[w];
        }
    }
    communicator.send(SERVERS[previous(server)], bytemuck::cast_slice(&term).to_vec(), Traffic::Online)?;
    let received = communicator.receive(SERVERS[next(server)], total * 8)?;
    Ok(BitPair { first: term, second: bytes_to_words(&received) })
}

fn bytes_to_words(bytes: &[u8]) -> Vec<u64> {
    let mut words = vec![0u64; bytes.len() / 8];
    bytemuck::cast_slice_mut(&mut words).copy_from_slice(bytes);
    words
}

/// The AND gates one tree level needs for `blocks` blocks, the first
/// without P: (gates, blocks after the level).
fn level_gates(blocks: usize) -> (usize, usize) {
    let pairs = blocks / 2;
    // Each pair: P_hi ∧ G_lo, and P_hi ∧ P_lo unless lo holds bit 0.
    let gates = pairs + pairs.saturating_sub(1);
    (gates, blocks.div_ceil(2))
}

/// AND gates per element of a comparison on m bits: m − 1 generates, then
/// the tree's.
pub fn and_gates(domain_bits: u32) -> usize {
    let mut blocks = domain_bits as usize - 1;
    let mut gates = blocks;
    while blocks > 1 {
        let (level, after) = level_gates(blocks);
        gates += level;
        blocks = after;
    }
    gates
}

/// Rounds of a comparison on m bits on the critical path of its messages
/// (what the runtime's profile measures): the conversion, the generates,
/// ⌈log2(m − 1)⌉ tree levels and the two of the bit injection are
/// ⌈log2(m − 1)⌉ + 4 exchanges, but each server waits only for its
/// successor in an AND round, so some exchanges overlap: 9 for m = 64, 8
/// for 18 ≤ m ≤ 33, 11 for m = 128. Computed by following the servers'
/// round clocks through the exchanges.
pub fn comparison_rounds(domain_bits: u32) -> u32 {
    // clock[i]: the longest chain of messages server i has waited for.
    let mut clock = [0u32; 3];
    // Conversion: server 1 to server 0.
    clock[0] = clock[0].max(clock[1] + 1);
    let mut blocks = domain_bits as usize - 1;
    let mut and_rounds = 1;
    while blocks > 1 {
        blocks = level_gates(blocks).1;
        and_rounds += 1;
    }
    for _ in 0..and_rounds {
        // Server i receives from server i + 1 what it sent before receiving.
        let sent = clock;
        for server in 0..3 {
            clock[server] = clock[server].max(sent[next(server)] + 1);
        }
    }
    // Injection: server 1 to server 0, then servers 0 and 2 exchange.
    clock[0] = clock[0].max(clock[1] + 1);
    let sent = clock;
    clock[2] = clock[2].max(sent[0] + 1);
    clock[0] = clock[0].max(sent[2] + 1);
    clock.into_iter().max().unwrap_or(0)
}

/// Server `server`'s pair of DReLU(x) (integers 0/1) for the shared
/// `source`, computed on x mod 2^m with m = `domain_bits`.
///
/// Communication, for n elements and w = ⌈n/64⌉ words: rounds
/// [`comparison_rounds`] (m = 64: 9); bytes 8·w·m from server 1
/// (conversion), 8·w per AND gate per server (3·8·w·[`and_gates`] in all;
/// m = 64: 181 gates), and 3·n·k/8 for the injection (n·k/8 from server 1,
/// n·k/8 each from servers 0 and 2). For m = 64 that is about
/// 8 + 68 + 24 = 100 bytes per element.
pub(super) fn drelu<R: RingElement>(
    party: &ReplicatedParty<R>,
    id: NodeId,
    server: usize,
    source: NodeId,
    domain_bits: u32,
    communicator: &mut dyn Communicator,
) -> Result<Pair<R>> {
    let x = party.shares(source, id)?;
    let shape = x.first.shape().to_vec();
    let count = x.first.len();
    let words = count.div_ceil(64);
    let planes = domain_bits as usize;
    let keys = party.keys();

    // 1. u = x0 and v = x1 + x2 as boolean shares, bit-sliced.
    let x0_planes = |share: &RingTensor<R>| planes_of(share.as_slice(), planes);
    let zeros = || vec![0u64; planes * words];
    let u = match server {
        0 => BitPair { first: x0_planes(&x.first), second: zeros() },
        1 => BitPair { first: zeros(), second: zeros() },
        _ => BitPair { first: zeros(), second: x0_planes(&x.second) },
    };
    // r: key 2, server 1's second key and server 2's first.
    let conversion_mask = |seed| {
        let mut mask = zeros();
        Keys::stream(seed, label(id, CONVERSION)).fill(&mut mask);
        mask
    };
    let v = match server {
        0 => {
            let received = communicator.receive(SERVERS[1], planes * words * 8)?;
            BitPair { first: zeros(), second: bytes_to_words(&received) }
        }
        1 => {
            let sum = x.first.add(&x.second).expect("same shape");
            let mask = conversion_mask(&keys.second);
            let masked: Vec<u64> =
                planes_of(sum.as_slice(), planes).iter().zip(&mask).map(|(a, b)| a ^ b).collect();
            communicator.send(SERVERS[0], bytemuck::cast_slice(&masked).to_vec(), Traffic::Online)?;
            BitPair { first: masked, second: mask }
        }
        _ => BitPair { first: conversion_mask(&keys.first), second: zeros() },
    };

    // 2. The carry into bit m − 1: generates, then the tree. Block b of a
    // level is plane b of `generate` and of `propagate` (block 0 holds bit
    // 0 and its P is never read).
    let top = planes - 1;
    let mut blocks = top;
    let gates: Vec<_> = (0..blocks).map(|j| (u.plane(j, words), v.plane(j, words))).collect();
    let mut generate = and(party, id, server, 0, &gates, words, communicator)?;
    let mut propagate = BitPair {
        first: u.first.iter().zip(&v.first).map(|(a, b)| a ^ b).collect(),
        second: u.second.iter().zip(&v.second).map(|(a, b)| a ^ b).collect(),
    };
    let mut round = 1;
    while blocks > 1 {
        let pairs = blocks / 2;
        // (G, P)_hi ∘ (G, P)_lo: P_hi ∧ G_lo for every pair, P_hi ∧ P_lo for
        // all but the lowest.
        let gates: Vec<_> = (0..pairs)
            .map(|t| (propagate.plane(2 * t + 1, words), generate.plane(2 * t, words)))
            .chain((1..pairs).map(|t| (propagate.plane(2 * t + 1, words), propagate.plane(2 * t, words))))
            .collect();
        let products = and(party, id, server, round, &gates, words, communicator)?;
        round += 1;
        let after = blocks.div_ceil(2);
        let mut next_generate = BitPair::zeros(after * words);
        let mut next_propagate = BitPair::zeros(after * words);
        for t in 0..pairs {
            let combined = BitPair::xor(generate.plane(2 * t + 1, words), products.plane(t, words));
            next_generate.set_plane(t, words, combined.plane(0, words));
            if t > 0 {
                next_propagate.set_plane(t, words, products.plane(pairs + t - 1, words));
            }
        }
        if blocks % 2 == 1 {
            next_generate.set_plane(pairs, words, generate.plane(blocks - 1, words));
            next_propagate.set_plane(pairs, words, propagate.plane(blocks - 1, words));
        }
        generate = next_generate;
        propagate = next_propagate;
        blocks = after;
    }
    let top_bits = BitPair::xor(u.plane(top, words), v.plane(top, words));
    let sign = BitPair::xor(top_bits.plane(0, words), generate.plane(0, words));

    // 3. Bit injection: DReLU = 1 − (b0 + c − 2·b0·c).
    let ring_bits = |plane: &[u64]| -> RingTensor<R> {
        let values = bits_of(plane, count).map(R::from_u64).collect();
        RingTensor::from_vec(&shape, values).expect("one per element")
    };
    let stream = |seed, slot| -> RingTensor<R> { Keys::stream(seed, label(id, slot)).ring_tensor(&shape) };
    let bytes = count * R::BYTES;
    let two = R::from_u64(2);
    let combine = |share: &RingTensor<R>, product: &RingTensor<R>, with_one: bool| {
        let one = if with_one { R::ONE } else { R::ZERO };
        share
            .zip_with(product, "injection", |s, d| one.wrapping_sub(s.wrapping_sub(two.wrapping_mul(d))))
            .expect("same shape")
    };
    match server {
        0 => {
            let b0 = ring_bits(&sign.first);
            let masked_c = RingTensor::from_le_bytes(&shape, &communicator.receive(SERVERS[1], bytes)?)
                .expect("length checked by receive");
            let s = stream(&keys.second, INJECTION_SHARE1);
            let term = b0.mul(&masked_c).expect("same shape").sub(&s).expect("same shape");
            communicator.send(SERVERS[2], term.to_le_bytes(), Traffic::Online)?;
            let theirs = RingTensor::from_le_bytes(&shape, &communicator.receive(SERVERS[2], bytes)?)
                .expect("length checked by receive");
            let d0 = term.add(&theirs).expect("same shape");
            Ok(Pair { first: combine(&b0, &d0, true), second: combine(&masked_c, &s, false) })
        }
        1 => {
            let c: Vec<u64> = sign.first.iter().zip(&sign.second).map(|(a, b)| a ^ b).collect();
            let r_c = stream(&keys.second, INJECTION_MASK);
            let masked_c = ring_bits(&c).sub(&r_c).expect("same shape");
            communicator.send(SERVERS[0], masked_c.to_le_bytes(), Traffic::Online)?;
            let s = stream(&keys.first, INJECTION_SHARE1);
            let t = stream(&keys.second, INJECTION_SHARE2);
            Ok(Pair { first: combine(&masked_c, &s, false), second: combine(&r_c, &t, false) })
        }
        _ => {
            let b0 = ring_bits(&sign.second);
            let r_c = stream(&keys.first, INJECTION_MASK);
            let t = stream(&keys.first, INJECTION_SHARE2);
            let term = b0.mul(&r_c).expect("same shape").sub(&t).expect("same shape");
            communicator.send(SERVERS[0], term.to_le_bytes(), Traffic::Online)?;
            let theirs = RingTensor::from_le_bytes(&shape, &communicator.receive(SERVERS[0], bytes)?)
                .expect("length checked by receive");
            let d0 = term.add(&theirs).expect("same shape");
            Ok(Pair { first: combine(&r_c, &t, false), second: combine(&b0, &d0, true) })
        }
    }
}

#[cfg(test)]
mod tests {
    use blindfold_ir::Ring;
    use blindfold_ring::RingElement;
    use ndarray::{ArrayD, IxDyn};

    use super::{and_gates, comparison_rounds};
    use crate::communicator::Traffic;
    use crate::test_network::{drelu_graph, inputs, node_named, run_replicated};

    /// Runs DReLU on `values`; checks the result and the documented bytes.
    fn check<R: RingElement>(ring: Ring, values: &[f64], domain_bits: Option<u32>) {
        let graph = drelu_graph(ring, values.len(), domain_bits);
        let x = ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).unwrap();
        let parties = run_replicated::<R>(&graph, &inputs(vec![("a", "x", x)]));
        let expected: Vec<f64> = values.iter().map(|&v| if v >= 0.0 { 1.0 } else { 0.0 }).collect();
        let got: Vec<f64> = parties["a"].outputs["positive"].iter().copied().collect();
        assert_eq!(got, expected, "{ring:?}, domain {domain_bits:?}");
        let (n, m) = (values.len(), domain_bits.unwrap_or(R::BITS));
        let words = n.div_ceil(64);
        let node = node_named(&graph, "drelu");
        let gates = and_gates(m);
        let element = R::BYTES * n;
        let expected_bytes = [
            8 * words * gates + element, // server 0: gates, then b0·(c − r_c) − s
            8 * words * m as usize + 8 * words * gates + element, // server 1: conversion, gates, c − r_c
            8 * words * gates + element, // server 2: gates, b0·r_c − t
        ];
        for (server, expected) in ["server0", "server1", "server2"].iter().zip(expected_bytes) {
            assert_eq!(parties[*server].bytes(node, Traffic::Online), expected, "{server}, m = {m}");
            assert_eq!(parties[*server].bytes(node, Traffic::Offline), 0);
        }
        // Server 1 sends once per exchange but the last (that of servers 0
        // and 2): the conversion, the AND rounds and the injection's first.
        let sends = parties["server1"].sent.iter().filter(|s| s.node == Some(node)).count() as u32;
        assert_eq!(sends, 2 + (m - 1).next_power_of_two().trailing_zeros() + 1);
    }

    #[test]
    fn the_sign_is_exact_at_the_edges_of_the_ring() {
        let edges = [0.0, 1.0, -1.0, 2f64.powi(52), -(2f64.powi(52)), 12_345.0, -12_345.0, 2.0, -2.0];
        check::<u64>(Ring::Z64, &edges, None);
        check::<u128>(Ring::Z128, &edges, None);
        // Past one word of 64 elements, and random values.
        let values: Vec<f64> = (0..200).map(|i| ((i * 7919) % 401) as f64 - 200.0).collect();
        check::<u64>(Ring::Z64, &values, None);
    }

    #[test]
    fn a_bounded_domain_is_exact_below_its_bound() {
        let bound = 2f64.powi(23);
        let values = [0.0, 1.0, -1.0, bound - 1.0, -(bound - 1.0), -bound, 77.0, -77.0];
        check::<u64>(Ring::Z64, &values, Some(24));
        check::<u128>(Ring::Z128, &values, Some(56));
    }

    #[test]
    fn the_documented_gate_and_round_counts() {
        // 63 generates; tree levels of 61, 31, 15, 7, 3 and 1 gates.
        assert_eq!(and_gates(64), 63 + 118);
        assert_eq!(comparison_rounds(64), 9);
        assert_eq!(comparison_rounds(128), 11);
        assert_eq!(comparison_rounds(20), 8);
    }
}
