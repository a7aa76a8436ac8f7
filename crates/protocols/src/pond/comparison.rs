//! Exact comparison: DReLU(x) = 1[x ≥ 0] on a shared x in one online round,
//! with a distributed comparison function dealt by the producer
//! (function secret sharing: Boyle et al. 2021, the AriaNN/Orca line).
//!
//! Why DCF rather than SecureNN's private compare: one online round and k
//! bits per server against about ten rounds, at the price of producer keys
//! (about 1.5 KB per element in Z_2^64) and ~3·(k−1) AES blocks per element
//! at each server. Rounds dominate between machines; on one host AES-NI
//! keeps the evaluation cheap.
//!
//! With r = r_m·2^(k−1) + r' (r uniform, shares from the servers' seeds),
//! the servers open y = x + r = y_m·2^(k−1) + y'. Then
//! msb(x) = y_m ⊕ r_m ⊕ 1[y' < r'], and the producer deals a DCF for
//! β·1[y' < r'] with β = 1 − 2·r_m plus shares of r_m, so that
//! u = [r_m] + DCF(y') = r_m ⊕ 1[y' < r']; msb(x) = u if y_m = 0, else 1 − u,
//! and DReLU = 1 − msb: exact on the whole ring.

use blindfold_ir::NodeId;
use blindfold_ring::{Prg, RingElement, RingTensor};

use super::{Local, PRODUCER, PondParty, Randomness, Role, SERVERS};
use crate::communicator::{Communicator, Traffic};
use crate::dcf::{self, DcfKeys};
use crate::error::{ProtocolError, Result};

/// PRG labels of a comparison's randomness: the mask r, the DCF's initial
/// seeds, and server0's share of r_m.
fn label(id: NodeId, slot: u64) -> u64 {
    3 << 62 | (id.0 as u64) << 8 | slot
}
const MASK: u64 = 0;
const DCF_SEEDS: u64 = 1;
const TOP_BIT_SHARE: u64 = 2;

/// Shares of DReLU(x) (integers 0/1) for the shared `source`, computed on
/// x mod 2^m with m = `domain_bits`: exact on the whole ring for m = k, and
/// for |x| < 2^(m−1) otherwise (the ring reduces mod 2^m locally, so the
/// same protocol runs in the smaller ring Z_2^m and the DCF has m − 1 levels
/// instead of k − 1).
///
/// Communication: online, each server sends n·⌈m/8⌉ bytes (2·n·⌈m/8⌉ in
/// all), one round. Offline, the producer sends each server the DCF
/// correction words, n·((m−1)·(16 + k/8 + 1) + k/8) bytes, and server1 its
/// share of r_m, n·k/8 bytes, in chunks of at most [`KEY_CHUNK_BYTES`] of
/// keys (one message per chunk and server).
pub(super) fn drelu<R: RingElement>(
    party: &mut PondParty<R>,
    id: NodeId,
    source: NodeId,
    domain_bits: u32,
    communicator: &mut dyn Communicator,
) -> Result<Local<R>> {
    let shape = party.state.graph.node(source).expect("valid operand").ty.shape.clone();
    let count: usize = shape.iter().product();
    let bits = domain_bits - 1;
    let low_bits = R::ONE.shift_left(bits).wrapping_sub(R::ONE);
    // x ↦ x mod 2^m.
    let domain = low_bits.shift_left(1).wrapping_add(R::ONE);
    let packed = domain_bits.div_ceil(8) as usize;
    let chunk = chunk_elements::<R>(bits);
    match party.role {
        Role::Server(server) => {
            let seed = party.server_seed().clone();
            // Open y = x + r mod 2^m, each element in ⌈m/8⌉ bytes; the
            // temporaries go before the keys come (a batch's comparison can
            // be millions of elements).
            let opened = {
                let mask: RingTensor<R> = Prg::new(&seed.derive(label(id, MASK))).ring_tensor(&shape);
                let mut masked = mask;
                masked.add_assign(party.share_value(source, id)?).expect("same shape");
                masked.map_in_place(|v| v.bit_and(domain));
                let other = SERVERS[1 - server];
                communicator.send(other, pack(&masked, packed), Traffic::Online)?;
                let theirs = unpack(&shape, &communicator.receive(other, count * packed)?, packed);
                masked.add_assign(&theirs).expect("same shape");
                drop(theirs);
                masked.map_in_place(|v| v.bit_and(domain));
                masked
            };
            // The keys arrive chunk by chunk: a server holds one chunk's
            // keys at a time (and what the link lets the producer queue).
            let mut dcf_seeds = Prg::new(&seed.derive(label(id, DCF_SEEDS)));
            let mut top_shares = Prg::new(&seed.derive(label(id, TOP_BIT_SHARE)));
            let one = if server == 0 { R::ONE } else { R::ZERO };
            let mut result = Vec::with_capacity(count);
            for start in (0..count).step_by(chunk) {
                let len = chunk.min(count - start);
                let key_bytes = DcfKeys::<R>::byte_len(bits, len);
                let extra = if server == 1 { len * R::BYTES } else { 0 };
                let mut material = communicator.receive(PRODUCER, key_bytes + extra)?;
                let received_top = material.split_off(key_bytes);
                let keys = DcfKeys::<R>::from_bytes(bits, len, material).ok_or_else(|| {
                    ProtocolError::Transport {
                        op: party.describe(id),
                        peer: PRODUCER.into(),
                        reason: "malformed comparison keys".into(),
                    }
                })?;
                let mut seeds = vec![0u128; len];
                dcf_seeds.fill(&mut seeds);
                let top_share: Vec<R> = if server == 0 {
                    let mut shares = vec![R::ZERO; len];
                    top_shares.fill(&mut shares);
                    shares
                } else {
                    received_top.chunks_exact(R::BYTES).map(R::from_le_slice).collect()
                };
                let ys = &opened.as_slice()[start..start + len];
                let low: Vec<R> = ys.iter().map(|&y| y.bit_and(low_bits)).collect();
                let comparison = dcf::evaluate(server, &keys, &seeds, &low);
                result.extend(ys.iter().zip(comparison.iter().zip(&top_share)).map(|(&y, (&c, &r_m))| {
                    let u = r_m.wrapping_add(c);
                    let msb = if y.bit(bits) == R::ONE { one.wrapping_sub(u) } else { u };
                    one.wrapping_sub(msb)
                }));
            }
            Ok(Local::Share(RingTensor::from_vec(&shape, result).expect("one per element")))
        }
        Role::Producer => {
            let Randomness::Producer(seeds) = &party.randomness else {
                unreachable!("the producer holds both seeds")
            };
            let r = {
                let mut masks =
                    seeds.iter().map(|s| Prg::new(&s.derive(label(id, MASK))).ring_tensor::<R>(&shape));
                let mut sum = masks.next().expect("two seeds");
                sum.add_assign(&masks.next().expect("two seeds")).expect("same shape");
                sum.map_in_place(|v| v.bit_and(domain));
                sum
            };
            let mut dcf_seeds: Vec<Prg> =
                seeds.iter().map(|s| Prg::new(&s.derive(label(id, DCF_SEEDS)))).collect();
            let mut top_shares0 = Prg::new(&seeds[0].derive(label(id, TOP_BIT_SHARE)));
            for start in (0..count).step_by(chunk) {
                let len = chunk.min(count - start);
                let rs = &r.as_slice()[start..start + len];
                let alphas: Vec<R> = rs.iter().map(|&v| v.bit_and(low_bits)).collect();
                let top: Vec<R> = rs.iter().map(|&v| v.bit(bits)).collect();
                let betas: Vec<R> = top.iter().map(|&m| R::ONE.wrapping_sub(m.wrapping_add(m))).collect();
                let mut chunk_seeds = [vec![0u128; len], vec![0u128; len]];
                for (stream, out) in dcf_seeds.iter_mut().zip(chunk_seeds.iter_mut()) {
                    stream.fill(out);
                }
                let mut top_share0 = vec![R::ZERO; len];
                top_shares0.fill(&mut top_share0);
                let keys =
                    dcf::generate(bits, &alphas, &betas, [&chunk_seeds[0], &chunk_seeds[1]]).into_bytes();
                let mut to_server1 = Vec::with_capacity(keys.len() + len * R::BYTES);
                to_server1.extend_from_slice(&keys);
                for (&m, &share0) in top.iter().zip(&top_share0) {
                    to_server1.extend_from_slice(bytemuck::bytes_of(&m.wrapping_sub(share0)));
                }
                communicator.send(SERVERS[0], keys, Traffic::Offline)?;
                communicator.send(SERVERS[1], to_server1, Traffic::Offline)?;
            }
            Ok(Local::Absent)
        }
        Role::Other => Ok(Local::Absent),
    }
}

/// Bytes of DCF keys per server in one chunk of a comparison, at most: the
/// producer deals (and a server holds) the keys of one chunk at a time,
/// so a comparison of any size takes bounded memory beyond what the links
/// let the producer queue ahead (`SessionOptions::link_budget_bytes`).
pub const KEY_CHUNK_BYTES: usize = 32 << 20;

/// Elements per chunk of a comparison on `bits` + 1 bits: as many as fit
/// [`KEY_CHUNK_BYTES`] of keys, a multiple of 64 (whole PRG blocks).
fn chunk_elements<R: RingElement>(bits: u32) -> usize {
    let per_element = DcfKeys::<R>::byte_len(bits, 1).max(1);
    ((KEY_CHUNK_BYTES / per_element) / 64 * 64).max(64)
}

/// The producer's comparison material for one run of `graph` in Z_2^k
/// (the keys both servers receive and server1's shares of r_m, as
/// [`drelu`] documents them): most of a session's offline bytes.
/// What an in-process session holds of it at once is
/// [`comparison_material_held_bytes`].
pub fn comparison_material_bytes(graph: &blindfold_ir::Graph) -> u64 {
    fn per_element<R: RingElement>(bits: u32) -> u64 {
        2 * DcfKeys::<R>::byte_len(bits - 1, 1) as u64 + R::BYTES as u64
    }
    let ring_bits = graph.ring().bits();
    graph
        .nodes()
        .iter()
        .map(|node| {
            let bits = match node.op {
                blindfold_ir::Op::Drelu { .. } => ring_bits,
                blindfold_ir::Op::DreluBounded { bits, .. } => bits,
                _ => return 0,
            };
            let each = match graph.ring() {
                blindfold_ir::Ring::Z64 => per_element::<u64>(bits),
                blindfold_ir::Ring::Z128 => per_element::<u128>(bits),
            };
            node.ty.len() as u64 * each
        })
        .sum()
}

/// The comparison material an in-process session holds at once when the
/// producer may queue `link_budget` bytes ahead on each of its two links:
/// the queues, and a chunk being made and one being evaluated per server
/// (all of it, if the graph's material is less).
pub fn comparison_material_held_bytes(graph: &blindfold_ir::Graph, link_budget: usize) -> u64 {
    let streamed = 2 * link_budget as u64 + 4 * KEY_CHUNK_BYTES as u64;
    comparison_material_bytes(graph).min(streamed)
}

/// The low `bytes` bytes of each element, little-endian.
fn pack<R: RingElement>(values: &RingTensor<R>, bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * bytes);
    for value in values.as_slice() {
        out.extend_from_slice(&bytemuck::bytes_of(value)[..bytes]);
    }
    out
}

/// Elements from `bytes` bytes each, the rest zero.
fn unpack<R: RingElement>(shape: &[usize], packed: &[u8], bytes: usize) -> RingTensor<R> {
    let values = packed.chunks_exact(bytes).map(|chunk| {
        let mut full = [0u8; 16];
        full[..bytes].copy_from_slice(chunk);
        R::from_le_slice(&full[..R::BYTES])
    });
    RingTensor::from_vec(shape, values.collect()).expect("length checked by receive")
}

#[cfg(test)]
mod tests {
    use blindfold_ir::Ring;
    use blindfold_ring::RingElement;
    use ndarray::{ArrayD, IxDyn};

    use crate::communicator::Traffic;
    use crate::dcf::DcfKeys;
    use crate::test_network::{drelu_graph, inputs, node_named, run};

    /// Runs DReLU on `values` and checks the result and the documented bytes.
    fn check<R: RingElement>(ring: Ring, values: &[f64], domain_bits: Option<u32>) {
        let graph = drelu_graph(ring, values.len(), domain_bits);
        let x = ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).unwrap();
        let parties = run::<R>(&graph, &inputs(vec![("a", "x", x)]));
        let expected: Vec<f64> = values.iter().map(|&v| if v >= 0.0 { 1.0 } else { 0.0 }).collect();
        let got: Vec<f64> = parties["a"].outputs["positive"].iter().copied().collect();
        assert_eq!(got, expected, "{ring:?}, domain {domain_bits:?}");
        // Online: each server sends n·⌈m/8⌉ bytes. Offline: DCF keys of
        // m − 1 levels to each server, and server1's share of r_m.
        let (n, m) = (values.len(), domain_bits.unwrap_or(R::BITS));
        let node = node_named(&graph, "drelu");
        for server in ["server0", "server1"] {
            assert_eq!(parties[server].bytes(node, Traffic::Online), n * m.div_ceil(8) as usize);
        }
        let keys = DcfKeys::<R>::byte_len(m - 1, n);
        assert_eq!(keys, n * ((m as usize - 1) * (16 + R::BYTES + 1) + R::BYTES), "the documented key size");
        let dealt: Vec<(String, usize)> = parties["producer"]
            .sent
            .iter()
            .filter(|s| s.node == Some(node))
            .map(|s| (s.to.clone(), s.payload.len()))
            .collect();
        assert_eq!(dealt, [("server0".to_string(), keys), ("server1".to_string(), keys + n * R::BYTES)]);
    }

    #[test]
    fn the_sign_is_exact_at_the_edges_of_the_ring() {
        // Integers exact in f64, from the largest the encoding takes down
        // through 0 and ±1.
        let edges = [0.0, 1.0, -1.0, 2f64.powi(52), -(2f64.powi(52)), 12_345.0, -12_345.0, 2.0, -2.0];
        check::<u64>(Ring::Z64, &edges, None);
        check::<u128>(Ring::Z128, &edges, None);
    }

    #[test]
    fn a_bounded_domain_is_exact_below_its_bound() {
        // On x mod 2^m: exact for |x| < 2^(m−1).
        let bound = 2f64.powi(23);
        let values = [0.0, 1.0, -1.0, bound - 1.0, -(bound - 1.0), -bound, 77.0, -77.0];
        check::<u64>(Ring::Z64, &values, Some(24));
        check::<u128>(Ring::Z128, &values, Some(56));
    }

    #[test]
    fn outside_a_bounded_domain_the_sign_wraps() {
        // The documented failure, not a silent success: 2^23 read on 24
        // bits is −2^23.
        let graph = drelu_graph(Ring::Z64, 2, Some(24));
        let x = ArrayD::from_shape_vec(IxDyn(&[2]), vec![2f64.powi(23), -(2f64.powi(23)) - 1.0]).unwrap();
        let parties = run::<u64>(&graph, &inputs(vec![("a", "x", x)]));
        assert_eq!(parties["a"].outputs["positive"].iter().copied().collect::<Vec<_>>(), [0.0, 1.0]);
    }
}

#[cfg(test)]
mod streaming_tests {
    use blindfold_ir::Ring;
    use ndarray::{ArrayD, IxDyn};

    use super::{KEY_CHUNK_BYTES, chunk_elements};
    use crate::communicator::Traffic;
    use crate::dcf::DcfKeys;
    use crate::test_network::{drelu_graph, inputs, node_named, run};

    /// More elements than one chunk holds: the keys come in several
    /// messages of at most KEY_CHUNK_BYTES each, adding up to the documented
    /// bytes, and every sign is exact across the chunk boundaries.
    #[test]
    fn keys_stream_in_bounded_chunks_and_every_sign_stays_exact() {
        let chunk = chunk_elements::<u64>(63);
        let n = 2 * chunk + 1000;
        let values: Vec<f64> = (0..n).map(|i| ((i * 7919) % 2001) as f64 - 1000.0).collect();
        let graph = drelu_graph(Ring::Z64, n, None);
        let x = ArrayD::from_shape_vec(IxDyn(&[n]), values.clone()).unwrap();
        let parties = run::<u64>(&graph, &inputs(vec![("a", "x", x)]));
        let expected: Vec<f64> = values.iter().map(|&v| if v >= 0.0 { 1.0 } else { 0.0 }).collect();
        let got: Vec<f64> = parties["a"].outputs["positive"].iter().copied().collect();
        assert_eq!(got, expected);
        let node = node_named(&graph, "drelu");
        for (server, extra) in [("server0", 0), ("server1", 8)] {
            let messages: Vec<usize> = parties["producer"]
                .sent
                .iter()
                .filter(|s| s.node == Some(node) && s.to == server && s.traffic == Traffic::Offline)
                .map(|s| s.payload.len())
                .collect();
            assert_eq!(messages.len(), 3, "{server}: one message per chunk");
            assert!(messages.iter().all(|&bytes| bytes <= KEY_CHUNK_BYTES + chunk * extra), "{messages:?}");
            assert_eq!(messages.iter().sum::<usize>(), DcfKeys::<u64>::byte_len(63, n) + n * extra);
        }
    }
}
