//! Input sharing and revealing.

use blindfold_ir::{NodeId, Visibility};
use blindfold_ring::{Prg, RingElement, RingTensor, Seed};

use super::{Local, Pair, ReplicatedParty, SERVERS, next};
use crate::communicator::{Communicator, Traffic};
use crate::error::{ProtocolError, Result};

/// What a server receives for one of its two shares.
enum Part {
    /// The share that carries the value: x − the two seeded shares.
    Data,
    /// A share expanded from a fresh seed.
    Seeded(usize),
}

/// Shares the private value `source` of its owner among the three servers.
///
/// One share, d, carries the value (d = j if the owner is server j, else
/// 0); the other two expand from fresh seeds: x_{d+1} = PRG(s1),
/// x_{d+2} = PRG(s2), x_d = x − x_{d+1} − x_{d+2}. Each server receives,
/// for each share it holds, either that share or its seed.
///
/// Communication: one round; an owner outside the servers sends
/// 2·n·k/8 + 64 bytes (x_d to its two holders, each seed to its two
/// holders); a server owner n·k/8 + 48 bytes.
pub(super) fn share<R: RingElement>(
    party: &mut ReplicatedParty<R>,
    id: NodeId,
    source: NodeId,
    communicator: &mut dyn Communicator,
) -> Result<Local<R>> {
    let graph = std::sync::Arc::clone(&party.state.graph);
    let source_node = graph.node(source).expect("valid operand");
    let shape = &source_node.ty.shape;
    let owner = match &source_node.ty.visibility {
        Visibility::Private(owner) => owner.as_str(),
        _ => unreachable!("inference only shares private values"),
    };
    let owner_server = SERVERS.iter().position(|s| *s == owner);
    let data_share = owner_server.unwrap_or(0);
    let part = |index: usize| {
        if index == data_share { Part::Data } else { Part::Seeded((index + 3 - data_share) % 3) }
    };
    let elements = shape.iter().product::<usize>();
    if owner == party.state.name {
        let secret = party.clear_value(source, id)?;
        let fresh =
            || Seed::random().map_err(|source| ProtocolError::Ring { op: party.describe(id), source });
        // seeds[1] and seeds[2]: the shares d + 1 and d + 2.
        let seeds = [None, Some(fresh()?), Some(fresh()?)];
        let expand = |slot: usize| -> RingTensor<R> {
            Prg::new(seeds[slot].as_ref().expect("slots 1 and 2 are seeded")).ring_tensor(shape)
        };
        // Expanded once: the data share needs both, a server owner keeps one.
        let seeded = [None, Some(expand(1)), Some(expand(2))];
        let seeded_share = |slot: usize| seeded[slot].as_ref().expect("slots 1 and 2 are seeded");
        let data = secret.sub(seeded_share(1)).expect("same shape").sub(seeded_share(2)).expect("same shape");
        let bytes_of = |index: usize| match part(index) {
            Part::Data => data.to_le_bytes(),
            Part::Seeded(slot) => seeds[slot].as_ref().expect("seeded").to_bytes().to_vec(),
        };
        let tensor_of = |index: usize| match part(index) {
            Part::Data => data.clone(),
            Part::Seeded(slot) => seeded_share(slot).clone(),
        };
        for (server, name) in SERVERS.iter().enumerate().filter(|(s, _)| Some(*s) != owner_server) {
            let mut message = bytes_of(server);
            message.extend(bytes_of(next(server)));
            communicator.send(name, message, Traffic::Online)?;
        }
        return Ok(match owner_server {
            Some(server) => Local::Share(Pair { first: tensor_of(server), second: tensor_of(next(server)) }),
            None => Local::Absent,
        });
    }
    let Some(server) = party.server else { return Ok(Local::Absent) };
    let length = |index: usize| match part(index) {
        Part::Data => elements * R::BYTES,
        Part::Seeded(_) => Seed::BYTES,
    };
    let (first_length, second_length) = (length(server), length(next(server)));
    let message = communicator.receive(owner, first_length + second_length)?;
    let (first_bytes, second_bytes) = message.split_at(first_length);
    let read = |index: usize, bytes: &[u8]| match part(index) {
        Part::Data => RingTensor::from_le_bytes(shape, bytes).expect("length checked by receive"),
        Part::Seeded(_) => {
            Prg::new(&Seed::from_bytes(bytes.try_into().expect("16 bytes"))).ring_tensor(shape)
        }
    };
    Ok(Local::Share(Pair { first: read(server, first_bytes), second: read(next(server), second_bytes) }))
}

/// Opens the shared value `source` to `receiver` alone.
///
/// Communication: one round. To server r: server r + 1 sends the one share
/// r lacks, n·k/8 bytes. To any other party: each server sends its first
/// share, 3·n·k/8 bytes.
pub(super) fn reveal<R: RingElement>(
    party: &mut ReplicatedParty<R>,
    id: NodeId,
    source: NodeId,
    receiver: &str,
    communicator: &mut dyn Communicator,
) -> Result<Local<R>> {
    let shape = party.state.graph.node(source).expect("valid operand").ty.shape.clone();
    let bytes = shape.iter().product::<usize>() * R::BYTES;
    let receiver_server = SERVERS.iter().position(|s| *s == receiver);
    match (party.server, receiver_server) {
        (Some(server), Some(target)) if server == target => {
            let pair = party.shares(source, id)?;
            let sender = SERVERS[next(server)];
            let missing = RingTensor::from_le_bytes(&shape, &communicator.receive(sender, bytes)?)
                .expect("length checked by receive");
            let value = pair.first.add(&pair.second).expect("same shape").add(&missing).expect("same shape");
            Ok(Local::Clear(value))
        }
        (Some(server), Some(target)) => {
            if next(target) == server {
                let second = party.shares(source, id)?.second.to_le_bytes();
                communicator.send(receiver, second, Traffic::Online)?;
            }
            Ok(Local::Absent)
        }
        (Some(_), None) => {
            let first = party.shares(source, id)?.first.to_le_bytes();
            communicator.send(receiver, first, Traffic::Online)?;
            Ok(Local::Absent)
        }
        (None, _) if party.state.name == receiver => {
            let mut value = RingTensor::zeros(&shape);
            for server in SERVERS {
                let share = RingTensor::from_le_bytes(&shape, &communicator.receive(server, bytes)?)
                    .expect("checked");
                value.add_assign(&share).expect("same shape");
            }
            Ok(Local::Clear(value))
        }
        (None, _) => Ok(Local::Absent),
    }
}
