//! The embedded default: every party a thread of one process, one channel
//! per ordered pair of parties. Each link has a memory budget: a sender
//! waits while the bytes in flight would exceed it (so a producer running
//! ahead is bounded), and a party that ends closes its links so that peers
//! waiting on it fail at once instead of hanging. Every party has a
//! heartbeat counter: a wait lasts while the awaited peer's counter moves,
//! and fails after `timeout` without a message or a beat.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{Endpoint, Message, TransportError};

/// Bytes in flight on one link, and whether its receiver is gone.
#[derive(Default)]
struct LinkState {
    in_flight: usize,
    receiver_gone: bool,
}

struct Link {
    state: Mutex<LinkState>,
    changed: Condvar,
    budget: usize,
}

/// One party's end of the in-process network.
pub struct InProcessEndpoint {
    name: String,
    outgoing: HashMap<String, (Sender<Message>, Arc<Link>)>,
    incoming: HashMap<String, (Receiver<Message>, Arc<Link>)>,
    /// Every party's heartbeat counter.
    beats: Arc<HashMap<String, AtomicU64>>,
}

/// Endpoints for `parties`, fully connected, each link with `budget` bytes.
pub fn network(parties: &[String], budget: usize) -> Vec<InProcessEndpoint> {
    let beats: Arc<HashMap<String, AtomicU64>> =
        Arc::new(parties.iter().map(|name| (name.clone(), AtomicU64::new(0))).collect());
    let mut endpoints: Vec<InProcessEndpoint> = parties
        .iter()
        .map(|name| InProcessEndpoint {
            name: name.clone(),
            outgoing: HashMap::new(),
            incoming: HashMap::new(),
            beats: Arc::clone(&beats),
        })
        .collect();
    for from in 0..parties.len() {
        for to in 0..parties.len() {
            if from == to {
                continue;
            }
            let (sender, receiver) = channel();
            let link =
                Arc::new(Link { state: Mutex::new(LinkState::default()), changed: Condvar::new(), budget });
            endpoints[from].outgoing.insert(parties[to].clone(), (sender, Arc::clone(&link)));
            endpoints[to].incoming.insert(parties[from].clone(), (receiver, link));
        }
    }
    endpoints
}

impl Endpoint for InProcessEndpoint {
    fn send(&mut self, peer: &str, message: Message, timeout: Duration) -> Result<(), TransportError> {
        let (sender, link) =
            self.outgoing.get(peer).ok_or_else(|| TransportError::UnknownPeer { peer: peer.to_string() })?;
        let size = message.payload.len();
        let mut deadline = Instant::now() + timeout;
        let mut beat = self.beat_of(peer);
        let mut state = link.state.lock().expect("link lock");
        // Always let one message through, however large.
        while state.in_flight > 0 && state.in_flight + size > link.budget && !state.receiver_gone {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // The receiver is busy, not stalled: wait on.
                if self.beat_of(peer) != beat {
                    beat = self.beat_of(peer);
                    deadline = Instant::now() + timeout;
                    continue;
                }
                return Err(TransportError::Timeout {
                    peer: peer.to_string(),
                    seconds: timeout.as_secs_f64(),
                });
            }
            state = link.changed.wait_timeout(state, left).expect("link lock").0;
        }
        if state.receiver_gone {
            return Err(TransportError::PeerLeft { peer: peer.to_string() });
        }
        state.in_flight += size;
        drop(state);
        sender.send(message).map_err(|_| TransportError::PeerLeft { peer: peer.to_string() })
    }

    fn receive(&mut self, peer: &str, timeout: Duration) -> Result<Message, TransportError> {
        let (receiver, link) =
            self.incoming.get(peer).ok_or_else(|| TransportError::UnknownPeer { peer: peer.to_string() })?;
        let message = loop {
            let beat = self.beat_of(peer);
            match receiver.recv_timeout(timeout) {
                Ok(message) => break message,
                // The peer is busy, not stalled: wait on.
                Err(RecvTimeoutError::Timeout) if self.beat_of(peer) != beat => continue,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(TransportError::Timeout {
                        peer: peer.to_string(),
                        seconds: timeout.as_secs_f64(),
                    });
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(TransportError::PeerLeft { peer: peer.to_string() });
                }
            }
        };
        let mut state = link.state.lock().expect("link lock");
        state.in_flight -= message.payload.len();
        link.changed.notify_all();
        Ok(message)
    }

    fn heartbeat(&mut self) {
        if let Some(counter) = self.beats.get(&self.name) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl InProcessEndpoint {
    fn beat_of(&self, peer: &str) -> u64 {
        self.beats.get(peer).map_or(0, |counter| counter.load(Ordering::Relaxed))
    }

    /// The party this endpoint belongs to.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for InProcessEndpoint {
    /// Closes the incoming links so that senders waiting on a full budget
    /// learn that this party is gone.
    fn drop(&mut self) {
        for (_, link) in self.incoming.values() {
            if let Ok(mut state) = link.state.lock() {
                state.receiver_gone = true;
                link.changed.notify_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blindfold_protocols::Traffic;

    fn message(bytes: usize) -> Message {
        Message {
            session: 1,
            op: 0,
            sequence: 0,
            traffic: Traffic::Online,
            round: 0,
            op_round: 0,
            payload: vec![0; bytes],
        }
    }

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn messages_arrive_in_order() {
        let mut endpoints = network(&names(), 1 << 20);
        let mut b = endpoints.pop().unwrap();
        let mut a = endpoints.pop().unwrap();
        for size in [3, 5, 7] {
            a.send("b", message(size), Duration::from_secs(1)).unwrap();
        }
        let sizes: Vec<usize> =
            (0..3).map(|_| b.receive("a", Duration::from_secs(1)).unwrap().payload.len()).collect();
        assert_eq!(sizes, [3, 5, 7]);
        assert!(matches!(
            a.send("c", message(1), Duration::from_secs(1)),
            Err(TransportError::UnknownPeer { .. })
        ));
    }

    #[test]
    fn the_budget_holds_a_sender_until_the_receiver_drains() {
        let mut endpoints = network(&names(), 100);
        let mut b = endpoints.pop().unwrap();
        let mut a = endpoints.pop().unwrap();
        a.send("b", message(80), Duration::from_millis(50)).unwrap();
        let error = a.send("b", message(80), Duration::from_millis(50)).unwrap_err();
        assert!(matches!(error, TransportError::Timeout { .. }));
        b.receive("a", Duration::from_millis(50)).unwrap();
        a.send("b", message(80), Duration::from_millis(50)).unwrap();
    }

    #[test]
    fn a_party_that_leaves_is_reported_not_waited_for() {
        let mut endpoints = network(&names(), 100);
        let b = endpoints.pop().unwrap();
        let mut a = endpoints.pop().unwrap();
        drop(b);
        let start = Instant::now();
        assert_eq!(
            a.receive("b", Duration::from_secs(30)).unwrap_err(),
            TransportError::PeerLeft { peer: "b".into() }
        );
        assert!(matches!(
            a.send("b", message(1), Duration::from_secs(30)),
            Err(TransportError::PeerLeft { .. })
        ));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_busy_peer_is_waited_for_and_an_idle_one_is_not() {
        let mut endpoints = network(&names(), 100);
        let mut b = endpoints.pop().unwrap();
        let mut a = endpoints.pop().unwrap();
        let busy = std::thread::spawn(move || {
            // Three timeouts' worth of work, beating all along, then a message.
            for _ in 0..15 {
                std::thread::sleep(Duration::from_millis(20));
                b.heartbeat();
            }
            b.send("a", message(3), Duration::from_secs(1)).unwrap();
            b
        });
        assert_eq!(a.receive("b", Duration::from_millis(100)).unwrap().payload.len(), 3);
        let _b = busy.join().unwrap();
        // Now b is idle and silent: the wait ends after the timeout.
        let start = Instant::now();
        assert!(matches!(a.receive("b", Duration::from_millis(100)), Err(TransportError::Timeout { .. })));
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
