//! Fixed-point truncation of replicated shares through a fresh 2-out-of-2
//! split (the local truncation of SecureML, Mohassel–Zhang 2017, as ABY3's
//! Π_trunc1 uses it, with a fresh mask every time).
//!
//! Method. Servers 0 and 1 share key 1, and draw a fresh s from it. Server 0
//! holds b = x0 + x1 − s and server 1 holds a = x2 + s: a 2-out-of-2
//! sharing of x in which b is uniformly random *whatever the shares of x
//! were* (a previous truncation leaves some shares in a small range; a
//! fixed mask, as some published 3PC codes use, makes the failure rate
//! depend on it). Server 0 computes b' = b >> f (logical shift) and server 1
//! a' = −((−a) >> f), so that a' + b' = ⌊x / 2^f⌋ or ⌊x / 2^f⌋ + 1. The
//! new shares are y0 = b' − r, y1 = r, y2 = a' with a fresh r from key 1;
//! server 0 sends y0 and server 1 sends y2 to server 2, which sees a' and
//! b' − r, both masked by values it does not know.
//!
//! Error: at most one unit in the last place (2^−F) — **except** with
//! probability at most 2^(ℓx + 1 − k) per element for |x| < 2^ℓx, when b
//! wraps around the ring and the value is destroyed. Z_2^64, F = 16, a
//! product of two values below 2^8 (|x| < 2^40): 2^−23 per element; Z_2^128,
//! F = 32: 2^−55. The masks are fresh for every element of every
//! truncation, so failures are independent.

use blindfold_ring::{RingElement, RingTensor};

use super::{Keys, Pair, ReplicatedParty, SERVERS, label};
use crate::communicator::{Communicator, Traffic};
use crate::error::Result;
use blindfold_ir::NodeId;

/// PRF slots of a truncation (added to the caller's slot).
const SPLIT: u64 = 1 << 20;
const RESHARE: u64 = 1 << 20 | 1 << 19;

/// Server `server`'s pair of ⌊x / 2^bits⌋ from its pair of x; `slot`
/// tells apart the truncations of one node.
///
/// Communication: one round; servers 0 and 1 each send n·k/8 bytes to
/// server 2 (2·n·k/8 in all).
pub(super) fn truncate<R: RingElement>(
    party: &ReplicatedParty<R>,
    id: NodeId,
    server: usize,
    x: &Pair<R>,
    bits: u32,
    slot: u64,
    communicator: &mut dyn Communicator,
) -> Result<Pair<R>> {
    let shape = x.first.shape().to_vec();
    let keys = party.keys();
    // Key 1: server 0's second key, server 1's first.
    let key_one = |use_slot: u64| -> RingTensor<R> {
        let seed = if server == 0 { &keys.second } else { &keys.first };
        Keys::stream(seed, label(id, slot + use_slot)).ring_tensor(&shape)
    };
    let bytes = x.first.len() * R::BYTES;
    match server {
        0 => {
            let b = x.first.add(&x.second).expect("same shape").sub(&key_one(SPLIT)).expect("same shape");
            let truncated = b.map(|v| v.shift_right_logical(bits));
            let r = key_one(RESHARE);
            let y0 = truncated.sub(&r).expect("same shape");
            communicator.send(SERVERS[2], y0.to_le_bytes(), Traffic::Online)?;
            Ok(Pair { first: y0, second: r })
        }
        1 => {
            let a = x.second.add(&key_one(SPLIT)).expect("same shape");
            let truncated = a.map(|v| v.wrapping_neg().shift_right_logical(bits).wrapping_neg());
            communicator.send(SERVERS[2], truncated.to_le_bytes(), Traffic::Online)?;
            Ok(Pair { first: key_one(RESHARE), second: truncated })
        }
        _ => {
            let y0 = communicator.receive(SERVERS[0], bytes)?;
            let y2 = communicator.receive(SERVERS[1], bytes)?;
            Ok(Pair {
                first: RingTensor::from_le_bytes(&shape, &y2).expect("length checked by receive"),
                second: RingTensor::from_le_bytes(&shape, &y0).expect("length checked by receive"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use blindfold_ir::{GraphBuilder, NodeId};
    use blindfold_ring::{Prg, RingElement, RingTensor, Seed};

    use super::super::{Keys, Pair, ReplicatedParty, SERVERS, next};
    use super::truncate;
    use crate::test_network::connected;

    /// Shares x of `values` as (x0, x1, x2) with x0 drawn by `first_share`
    /// (uniform, or in the small range a previous truncation leaves), x1
    /// uniform; truncates them by `bits` under keys from `key_byte`;
    /// returns how many results are more than one ulp from ⌊x / 2^bits⌋.
    fn failures(values: &[i128], bits: u32, key_byte: u8, small_first_share: bool) -> usize {
        let n = values.len();
        let secret: Vec<u64> = values.iter().map(|&v| u64::from_i128_wrapping(v)).collect();
        let mut x0: RingTensor<u64> = Prg::new(&Seed::from_bytes([key_byte ^ 0x55; 16])).ring_tensor(&[n]);
        if small_first_share {
            x0.map_in_place(|v| v >> bits);
        }
        let x1: RingTensor<u64> = Prg::new(&Seed::from_bytes([key_byte ^ 0xAA; 16])).ring_tensor(&[n]);
        let x2 = RingTensor::from_vec(&[n], secret).unwrap().sub(&x0).unwrap().sub(&x1).unwrap();
        let shares = [x0, x1, x2];
        let keys: Vec<Seed> = (0..3).map(|i| Seed::from_bytes([key_byte.wrapping_add(i); 16])).collect();
        let graph = Arc::new(GraphBuilder::new().finish());
        let threads: Vec<_> = connected(&SERVERS)
            .into_iter()
            .enumerate()
            .map(|(server, mut channels)| {
                let mut party =
                    ReplicatedParty::<u64>::new(SERVERS[server], Arc::clone(&graph), Default::default());
                party.keys = Some(Keys { first: keys[server].clone(), second: keys[next(server)].clone() });
                let pair = Pair { first: shares[server].clone(), second: shares[next(server)].clone() };
                std::thread::spawn(move || {
                    truncate(&party, NodeId(0), server, &pair, bits, 0, &mut channels).unwrap()
                })
            })
            .collect();
        let pairs: Vec<Pair<u64>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for server in 0..3 {
            assert_eq!(
                pairs[server].second,
                pairs[next(server)].first,
                "replicated: share {} agrees",
                next(server)
            );
        }
        let result = pairs[0].first.add(&pairs[1].first).unwrap().add(&pairs[2].first).unwrap();
        result.as_slice().iter().zip(values).filter(|&(&r, &v)| (r.to_i128() - (v >> bits)).abs() > 1).count()
    }

    #[test]
    fn small_values_are_within_one_ulp_whatever_the_shares() {
        // |x| < 2^40 in Z_2^64: failure rate 2^-23 per element; keys fixed,
        // so the test is repeatable. With x0 in a truncated share's small
        // range, a split that used x0 as it is would fail at 2^-7.
        let values: Vec<i128> =
            (0..100_000i128).map(|i| (i * 1_234_567_891) % (1 << 40) - (1 << 39)).collect();
        assert_eq!(failures(&values, 16, 1, false), 0);
        assert_eq!(failures(&values, 16, 2, true), 0);
    }

    #[test]
    fn the_failure_rate_matches_the_bound() {
        // b is uniform, so the value is destroyed with probability
        // |x| / 2^64: 1/32 on average for |x| spread evenly below 2^60,
        // whatever the distribution of the shares.
        let n = 40_000i128;
        let values: Vec<i128> = (0..n).map(|i| (i * (1i128 << 61) / n) - (1i128 << 60)).collect();
        for small_first_share in [false, true] {
            let failed = failures(&values, 16, 3, small_first_share) as f64 / n as f64;
            assert!(failed <= 0.125, "failure rate {failed} above the bound 1/8");
            assert!((failed - 1.0 / 32.0).abs() < 0.0027, "failure rate {failed}, expected 1/32");
        }
    }
}
