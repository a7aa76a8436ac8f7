//! How messages travel between parties. A [`Endpoint`] is one party's end:
//! send to a named peer, receive the next message from a named peer. The
//! in-process implementation is [`in_process`]; the networked one (mutual
//! TLS between processes) is in the `blindfold-network` crate.

pub mod in_process;

use std::time::Duration;

use blindfold_protocols::Traffic;
use thiserror::Error;

/// The op id of the session's setup step (before the first node).
pub const SETUP_OP: u32 = u32::MAX;

/// One message: the header every transport carries, and the payload.
#[derive(Debug)]
pub struct Message {
    /// The session it belongs to.
    pub session: u64,
    /// The node it belongs to ([`SETUP_OP`] for setup).
    pub op: u32,
    /// Per (sender, receiver) pair: 0, 1, 2, …
    pub sequence: u64,
    /// Online or the producer's offline material.
    pub traffic: Traffic,
    /// The sender's round clock when it sent (critical-path rounds).
    pub round: u64,
    /// The sender's round within the op when it sent.
    pub op_round: u32,
    /// The bytes.
    pub payload: Vec<u8>,
}

/// Why a message could not be sent or received.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TransportError {
    /// The peer's end is gone (its party ended or crashed).
    #[error("{peer} left the session")]
    PeerLeft { peer: String },
    /// Nothing arrived from the peer in time.
    #[error("{peer} sent nothing for {seconds:.1} s")]
    Timeout { peer: String, seconds: f64 },
    /// What this party sends the peer has not left for `seconds`, and the
    /// peer said nothing meanwhile: it stopped reading.
    #[error("{peer} stopped reading: nothing sent to it could leave for {seconds:.1} s")]
    Stalled { peer: String, seconds: f64 },
    /// The connection to the peer failed: it closed, a message did not
    /// parse, was truncated or too large, or TLS refused the peer.
    #[error("{peer}: {reason}")]
    Connection { peer: String, reason: String },
    /// The peer failed and left the session, for `reason`.
    #[error("{peer} left the session after it failed: {reason}")]
    PeerFailed { peer: String, reason: String },
    /// The peer is not part of the session.
    #[error("{peer} is not a party of this session")]
    UnknownPeer { peer: String },
}

/// One party's end of the session's links.
pub trait Endpoint: Send {
    /// Sends `message` to `peer`; may wait while the link's memory budget
    /// is used up, at most `timeout`.
    fn send(&mut self, peer: &str, message: Message, timeout: Duration) -> Result<(), TransportError>;

    /// The next message from `peer`, waiting while `peer` keeps making
    /// progress, and failing once it has been silent and idle for `timeout`.
    fn receive(&mut self, peer: &str, timeout: Duration) -> Result<Message, TransportError>;

    /// Tells the peers that this party is making progress (called after
    /// every op), so that a party waiting on a long computation is not
    /// mistaken for one waiting on a stalled peer.
    fn heartbeat(&mut self) {}

    /// This party failed with `reason` and is about to leave: a transport
    /// that can tell the peers why does (so that their errors name the
    /// root cause, not just "left"). Reasons are error messages: no values.
    fn abandon(&mut self, _reason: &str) {}
}
