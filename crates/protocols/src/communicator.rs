//! What a protocol needs from the network: send bytes to a named party and
//! receive the next message from one. The runtime implements it (in-process
//! channels, TLS streams) and stamps each message with the session and op.

use crate::error::Result;

/// Whether a message belongs to the online phase or to the producer's
/// offline material (which can be sent ahead of time and is reported apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    Online,
    Offline,
}

/// One party's connection to the others during one op.
pub trait Communicator {
    /// Sends `payload` to `to`, as part of the current op.
    fn send(&mut self, to: &str, payload: Vec<u8>, traffic: Traffic) -> Result<()>;

    /// Receives the next message from `from`; it must belong to the current
    /// op and be exactly `expected_bytes` long.
    fn receive(&mut self, from: &str, expected_bytes: usize) -> Result<Vec<u8>>;
}
