//! [`NetworkEndpoint`]: one party's end of one session over the worker's
//! TLS [`Links`] — the runtime's [`Endpoint`], so the interpreter, the
//! protocol and the graph are the same as in-process.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use blindfold_runtime::transport::{Endpoint, Message, TransportError};

use crate::frame::Frame;
use crate::links::Links;

/// How long a leaving party waits for its `End` frame to leave.
const END_PATIENCE: Duration = Duration::from_secs(1);

/// One party's end of one networked session.
pub struct NetworkEndpoint {
    links: Arc<Links>,
    session: u64,
    peers: Vec<String>,
    /// Peers with frames queued but not yet written out.
    unflushed: BTreeSet<String>,
    last_beat: Instant,
    beat_every: Duration,
    timeout: Duration,
    /// A failure met where it could not be returned (a beat), reported by
    /// the next send or receive.
    deferred: Option<TransportError>,
    /// Why this party failed, told to the peers as it leaves.
    failure: Option<String>,
}

impl NetworkEndpoint {
    /// Opens `session` with `peers` on `links` and connects to every peer
    /// ([`Links::join`]; a failure is reported by the first send or
    /// receive); peers are told that the party is busy at most every
    /// `timeout / 4`.
    pub fn new(links: Arc<Links>, session: u64, peers: Vec<String>, timeout: Duration) -> NetworkEndpoint {
        links.open_session(session, &peers);
        let deferred = links.join(session, &peers).err();
        NetworkEndpoint {
            links,
            session,
            peers,
            unflushed: BTreeSet::new(),
            last_beat: Instant::now(),
            beat_every: timeout / 4,
            timeout,
            deferred,
            failure: None,
        }
    }

    fn known(&self, peer: &str) -> Result<(), TransportError> {
        if self.peers.iter().any(|p| p == peer) {
            Ok(())
        } else {
            Err(TransportError::UnknownPeer { peer: peer.to_string() })
        }
    }

    /// Writes out everything queued to every peer (waiting on a peer that
    /// takes nothing and says nothing for at most the timeout).
    fn flush_all(&mut self) -> Result<(), TransportError> {
        while let Some(peer) = self.unflushed.pop_first() {
            self.links.flush(&peer, self.timeout)?;
        }
        Ok(())
    }
}

impl Endpoint for NetworkEndpoint {
    fn send(&mut self, peer: &str, message: Message, _timeout: Duration) -> Result<(), TransportError> {
        if let Some(error) = self.deferred.take() {
            return Err(error);
        }
        self.known(peer)?;
        if let Some(error) = self.links.gone(self.session, peer) {
            return Err(error);
        }
        self.links.send(peer, &message)?;
        self.unflushed.insert(peer.to_string());
        Ok(())
    }

    fn receive(&mut self, peer: &str, timeout: Duration) -> Result<Message, TransportError> {
        if let Some(error) = self.deferred.take() {
            return Err(error);
        }
        self.known(peer)?;
        // The round's messages leave before this party waits on the next.
        self.flush_all()?;
        self.links.receive(self.session, peer, timeout)
    }

    fn heartbeat(&mut self) {
        if self.last_beat.elapsed() >= self.beat_every {
            self.last_beat = Instant::now();
            for peer in self.peers.clone() {
                match self.links.send_frame(&peer, &Frame::Beat { session: self.session }, self.beat_every) {
                    Ok(()) => {
                        self.unflushed.insert(peer);
                    }
                    Err(error) => {
                        self.deferred.get_or_insert(error);
                    }
                }
            }
        }
        if let Err(error) = self.flush_all() {
            self.deferred.get_or_insert(error);
        }
    }

    fn abandon(&mut self, reason: &str) {
        self.failure = Some(reason.to_string());
    }
}

impl Drop for NetworkEndpoint {
    /// Tells every peer that this party left the session, and why if it
    /// failed (so that a peer still waiting on it fails at once, naming the
    /// root cause), and drops its mailboxes. A peer without an open
    /// stream is not dialed, and one that takes nothing is waited on
    /// briefly ([`END_PATIENCE`]).
    fn drop(&mut self) {
        for peer in &self.peers {
            let end = Frame::End { session: self.session, reason: self.failure.clone() };
            if self.links.send_frame(peer, &end, Duration::ZERO).is_ok() {
                let _ = self.links.flush(peer, END_PATIENCE.min(self.timeout));
            }
        }
        self.links.close_session(self.session);
    }
}
