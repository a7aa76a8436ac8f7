//! Products of shared values (mul, matmul, conv2d, and the powers inside
//! polynomials) in one round, without dealt triples (ABY3 §3.3).
//!
//! For z = x ⊙ y with ⊙ bilinear, z = Σ_{i,j} x_i ⊙ y_j, and server i,
//! holding (x_i, x_{i+1}) and (y_i, y_{i+1}), computes the three terms it
//! can:
//!
//!   z_i = x_i ⊙ (y_i + y_{i+1}) + x_{i+1} ⊙ y_i + α_i,
//!
//! two products of the full size, with α a fresh zero-sharing from the
//! pairwise keys. The z_i are a 3-out-of-3 sharing of z, each uniformly
//! random; server i sends z_i to server i − 1, after which every server
//! holds its pair again.

use blindfold_ir::{Graph, NodeId};
use blindfold_ring::{RingElement, RingTensor};

use super::{Pair, ReplicatedParty, SERVERS, label, next, previous};
use crate::clear;
use crate::communicator::{Communicator, Traffic};
use crate::error::Result;

/// Server i's local part of node `id`'s bilinear op on x and y, without
/// the zero-sharing: x_i ⊙ (y_i + y_{i+1}) + x_{i+1} ⊙ y_i.
pub(super) fn bilinear<R: RingElement>(
    graph: &Graph,
    id: NodeId,
    x: &Pair<R>,
    y: &Pair<R>,
) -> Result<RingTensor<R>> {
    let y_sum = y.first.add(&y.second).map_err(clear::ring_error(graph, id))?;
    let mut product = clear::evaluate(graph, id, &[&x.first, &y_sum])?;
    product.add_assign(&clear::evaluate(graph, id, &[&x.second, &y.first])?).expect("same shape");
    Ok(product)
}

/// Turns server i's term of a 3-out-of-3 sharing back into its pair:
/// adds α_i (zero-sharing labelled by `id` and `slot`), sends the sum to
/// server i − 1 and receives server i + 1's.
///
/// Communication: one round; each server sends n·k/8 bytes (3·n·k/8 in all).
pub(super) fn reshare<R: RingElement>(
    party: &ReplicatedParty<R>,
    id: NodeId,
    server: usize,
    term: RingTensor<R>,
    slot: u64,
    communicator: &mut dyn Communicator,
) -> Result<Pair<R>> {
    let mut pairs = reshare_all(party, id, server, vec![(term, slot)], communicator)?;
    Ok(pairs.pop().expect("one term, one pair"))
}

/// [`reshare`] for several terms at once (each with its own slot): all
/// sent, then all received, in one round.
pub(super) fn reshare_all<R: RingElement>(
    party: &ReplicatedParty<R>,
    id: NodeId,
    server: usize,
    terms: Vec<(RingTensor<R>, u64)>,
    communicator: &mut dyn Communicator,
) -> Result<Vec<Pair<R>>> {
    let mut masked = Vec::with_capacity(terms.len());
    for (mut term, slot) in terms {
        let shape = term.shape().to_vec();
        term.add_assign(&party.zero_share(&shape, label(id, slot))).expect("same shape");
        communicator.send(SERVERS[previous(server)], term.to_le_bytes(), Traffic::Online)?;
        masked.push(term);
    }
    masked
        .into_iter()
        .map(|first| {
            let bytes = communicator.receive(SERVERS[next(server)], first.len() * R::BYTES)?;
            let second = RingTensor::from_le_bytes(first.shape(), &bytes).expect("length checked by receive");
            Ok(Pair { first, second })
        })
        .collect()
}
