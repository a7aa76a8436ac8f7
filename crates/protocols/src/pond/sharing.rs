//! Input sharing and revealing.

use blindfold_ir::NodeId;
use blindfold_ring::{Prg, RingElement, RingTensor, Seed};

use super::{Local, PondParty, Role, SERVERS};
use crate::communicator::{Communicator, Traffic};
use crate::error::{ProtocolError, Result};

/// Shares the private value `source` of its owner among the servers.
///
/// The owner draws a fresh seed s, sends s to one server, whose share is
/// PRG(s), and x − PRG(s) to the other. If the owner is a server itself it
/// keeps x − PRG(s) and sends only the seed.
///
/// Communication: one round; n·k/8 + 16 bytes (16 bytes if the owner is a
/// server).
pub(super) fn share<R: RingElement>(
    party: &mut PondParty<R>,
    id: NodeId,
    source: NodeId,
    communicator: &mut dyn Communicator,
) -> Result<Local<R>> {
    let graph = std::sync::Arc::clone(&party.state.graph);
    let source_node = graph.node(source).expect("valid operand");
    let shape = &source_node.ty.shape;
    let owner = match &source_node.ty.visibility {
        blindfold_ir::Visibility::Private(owner) => owner.as_str(),
        _ => unreachable!("inference only shares private values"),
    };
    let owner_role = Role::of(owner);
    // The server that receives the seed, and the one that gets x − PRG(s).
    let (seeded, corrected) = match owner_role {
        Role::Server(server) => (1 - server, server),
        _ => (0, 1),
    };
    if owner == party.state.name {
        let secret = party.clear_value(source, id)?;
        let seed = Seed::random().map_err(|source| ProtocolError::Ring { op: party.describe(id), source })?;
        let mask: RingTensor<R> = Prg::new(&seed).ring_tensor(shape);
        let correction = secret.sub(&mask).expect("same shape");
        communicator.send(SERVERS[seeded], seed.to_bytes().to_vec(), Traffic::Online)?;
        if owner_role == Role::Server(corrected) {
            return Ok(Local::Share(correction));
        }
        communicator.send(SERVERS[corrected], correction.to_le_bytes(), Traffic::Online)?;
        return Ok(Local::Absent);
    }
    match party.role {
        Role::Server(server) if server == seeded => {
            let bytes = communicator.receive(owner, Seed::BYTES)?;
            let seed = Seed::from_bytes(bytes.try_into().expect("length checked by receive"));
            Ok(Local::Share(Prg::new(&seed).ring_tensor(shape)))
        }
        Role::Server(_) => {
            let bytes = communicator.receive(owner, shape.iter().product::<usize>() * R::BYTES)?;
            Ok(Local::Share(RingTensor::from_le_bytes(shape, &bytes).expect("length checked by receive")))
        }
        _ => Ok(Local::Absent),
    }
}

/// Opens the shared value `source` to `receiver` alone.
///
/// Communication: one round; each server other than the receiver sends its
/// share: 2·n·k/8 bytes (n·k/8 if the receiver is a server).
pub(super) fn reveal<R: RingElement>(
    party: &mut PondParty<R>,
    id: NodeId,
    source: NodeId,
    receiver: &str,
    communicator: &mut dyn Communicator,
) -> Result<Local<R>> {
    let shape = party.state.graph.node(source).expect("valid operand").ty.shape.clone();
    let bytes = shape.iter().product::<usize>() * R::BYTES;
    if let Role::Server(_) = party.role
        && party.state.name != receiver
    {
        let share = party.share_value(source, id)?;
        communicator.send(receiver, share.to_le_bytes(), Traffic::Online)?;
        return Ok(Local::Absent);
    }
    if party.state.name != receiver {
        return Ok(Local::Absent);
    }
    let mut value = match party.role {
        Role::Server(_) => party.share_value(source, id)?.clone(),
        _ => RingTensor::zeros(&shape),
    };
    for server in SERVERS.iter().filter(|&&server| server != receiver) {
        let received = communicator.receive(server, bytes)?;
        let share = RingTensor::from_le_bytes(&shape, &received).expect("length checked by receive");
        value.add_assign(&share).expect("same shape");
    }
    Ok(Local::Clear(value))
}
