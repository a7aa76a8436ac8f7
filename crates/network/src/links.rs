//! A worker's links to its peers, shared by all its sessions.
//!
//! Outgoing: one persistent TLS stream to each peer, dialed on first use and
//! kept for later sessions; frames of concurrent sessions interleave whole.
//! Writes are encrypted into the stream's buffer and reach the socket on
//! [`Links::flush`] (the endpoint flushes before it waits and after each
//! op, so all of a round's messages to a peer leave in one write), or every
//! [`CHUNK_BYTES`] of a large payload (tensors stream out in chunks).
//!
//! Incoming: each peer's stream is read by its own thread into per-session
//! mailboxes, at most the link budget ahead of the sessions; a stream that
//! closes, truncates a frame, sends an oversized or malformed frame fails
//! every session waiting on that peer, with the cause.

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use blindfold_runtime::transport::{Message, TransportError};
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use crate::config::Config;
use crate::frame::{self, Frame, FrameError, Role};
use crate::identity::Identity;

/// Encrypted bytes buffered before they are written out regardless.
pub const CHUNK_BYTES: usize = 1 << 20;

/// How long connection setup (TCP, TLS handshake, hello) may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a session's mailbox for a peer closed.
#[derive(Clone, Debug)]
enum Closed {
    /// The peer ended the session (its `End` frame), with why it failed
    /// if it did.
    Left(Option<String>),
    /// The peer's stream failed.
    Failed(String),
}

struct Mailbox {
    queue: VecDeque<Message>,
    closed: Option<Closed>,
    beats: u64,
    /// Whether this worker joined the session ([`Links::open_session`]);
    /// frames may arrive a little before it does.
    opened: bool,
    /// When the mailbox was made: one never opened expires after the
    /// timeout, with whatever it buffered.
    created: Instant,
}

impl Default for Mailbox {
    fn default() -> Mailbox {
        Mailbox { queue: VecDeque::new(), closed: None, beats: 0, opened: false, created: Instant::now() }
    }
}

#[derive(Default)]
struct Mailboxes {
    boxes: HashMap<(u64, String), Mailbox>,
    /// Recently ended sessions: late frames for them are dropped.
    ended: VecDeque<u64>,
    /// Bytes queued from each peer, across sessions.
    queued: HashMap<String, usize>,
    /// Bytes queued from all peers together.
    total: usize,
    /// When each peer was last heard from (any frame): a peer that reads
    /// nothing and says nothing is stalled, one that beats is busy.
    heard: HashMap<String, Instant>,
}

impl Mailboxes {
    /// Forgets `session`: drops its mailboxes and their bytes; its late
    /// frames will be dropped too.
    fn end_session(&mut self, session: u64) {
        let keys: Vec<(u64, String)> = self.boxes.keys().filter(|(s, _)| *s == session).cloned().collect();
        for key in keys {
            if let Some(mailbox) = self.boxes.remove(&key) {
                let bytes: usize = mailbox.queue.iter().map(|m| m.payload.len()).sum();
                if let Some(queued) = self.queued.get_mut(&key.1) {
                    *queued -= bytes;
                }
                self.total -= bytes;
            }
        }
        if !self.ended.contains(&session) {
            self.ended.push_back(session);
        }
        if self.ended.len() > ENDED_REMEMBERED {
            self.ended.pop_front();
        }
    }

    /// Ends the sessions this worker never joined whose first frame came
    /// more than `patience` ago (a launcher that died between its starts,
    /// a peer sending for a session this worker refused).
    fn expire_unjoined(&mut self, patience: Duration) -> bool {
        let stale: Vec<u64> = self
            .boxes
            .iter()
            .filter(|(_, mailbox)| !mailbox.opened && mailbox.created.elapsed() > patience)
            .map(|((session, _), _)| *session)
            .collect();
        for session in &stale {
            self.end_session(*session);
        }
        !stale.is_empty()
    }
}

const ENDED_REMEMBERED: usize = 4096;

/// How often a reader held by a budget looks for sessions to expire.
const EXPIRY_CHECK: Duration = Duration::from_millis(250);

/// How long one blocked write waits before the sender checks whether the
/// peer is still alive (it beats while busy) or stalled.
const WRITE_CHECK: Duration = Duration::from_millis(250);

/// One outgoing stream.
struct Outgoing {
    tls: ClientConnection,
    tcp: TcpStream,
    unflushed: usize,
}

/// Why a write to a peer failed.
enum WriteFailure {
    /// The connection failed.
    Io(std::io::Error),
    /// Nothing could leave for the patience, and the peer said nothing
    /// meanwhile: it stopped reading (stalled, or frozen).
    Stalled(Duration),
}

impl From<std::io::Error> for WriteFailure {
    fn from(error: std::io::Error) -> WriteFailure {
        WriteFailure::Io(error)
    }
}

impl Outgoing {
    /// Writes out what TLS holds. A write that cannot leave keeps waiting
    /// while the peer shows life (it took bytes, or sent any frame, within
    /// `patience`: a busy peer beats); otherwise the peer is stalled.
    fn flush(
        &mut self,
        last_heard: &dyn Fn() -> Option<Instant>,
        patience: Duration,
    ) -> Result<(), WriteFailure> {
        let mut progress = Instant::now();
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.tcp) {
                Ok(_) => progress = Instant::now(),
                Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    let alive = last_heard().map_or(progress, |heard| heard.max(progress));
                    if alive.elapsed() >= patience {
                        return Err(WriteFailure::Stalled(progress.elapsed()));
                    }
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(WriteFailure::Io(error)),
            }
        }
        self.unflushed = 0;
        Ok(())
    }
}

/// A worker's links: its identity, its peers' streams and the mailboxes.
pub struct Links {
    identity: Identity,
    config: Arc<Config>,
    mailboxes: Mutex<Mailboxes>,
    changed: Condvar,
    outgoing: Mutex<HashMap<String, Arc<Mutex<Option<Outgoing>>>>>,
}

impl Links {
    pub fn new(identity: Identity, config: Arc<Config>) -> Links {
        Links {
            identity,
            config,
            mailboxes: Mutex::new(Mailboxes::default()),
            changed: Condvar::new(),
            outgoing: Mutex::new(HashMap::new()),
        }
    }

    /// This worker's party name.
    pub fn name(&self) -> &str {
        &self.identity.name
    }

    /// This worker's TLS identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    fn lock(&self) -> MutexGuard<'_, Mailboxes> {
        self.mailboxes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Opens mailboxes for `session` from each of `peers` (frames that
    /// arrived before are kept).
    pub fn open_session(&self, session: u64, peers: &[String]) {
        let mut mailboxes = self.lock();
        mailboxes.ended.retain(|s| *s != session);
        for peer in peers {
            mailboxes.boxes.entry((session, peer.clone())).or_default().opened = true;
        }
    }

    /// Drops `session`'s mailboxes and what they buffered; its late frames
    /// will be dropped too. (Also for a session this worker prepared and
    /// never started.)
    pub fn close_session(&self, session: u64) {
        self.lock().end_session(session);
        self.changed.notify_all();
    }

    /// What this worker holds for its sessions: (mailboxes, bytes queued).
    pub fn buffered(&self) -> (usize, usize) {
        let mailboxes = self.lock();
        (mailboxes.boxes.len(), mailboxes.total)
    }

    /// The next message of `session` from `peer`: waits while the peer is
    /// busy (beats), fails once it has been silent and idle for `timeout`,
    /// or at once when its stream failed or it left.
    pub fn receive(&self, session: u64, peer: &str, timeout: Duration) -> Result<Message, TransportError> {
        let key = (session, peer.to_string());
        let mut mailboxes = self.lock();
        let mut deadline = Instant::now() + timeout;
        let mut beats = mailboxes.boxes.get(&key).map_or(0, |m| m.beats);
        loop {
            let mailbox = mailboxes.boxes.entry(key.clone()).or_default();
            mailbox.opened = true;
            if let Some(message) = mailbox.queue.pop_front() {
                if let Some(queued) = mailboxes.queued.get_mut(peer) {
                    *queued -= message.payload.len();
                }
                mailboxes.total -= message.payload.len();
                self.changed.notify_all();
                return Ok(message);
            }
            match &mailbox.closed {
                Some(Closed::Left(reason)) => return Err(left(peer, reason)),
                Some(Closed::Failed(reason)) => {
                    return Err(TransportError::Connection {
                        peer: peer.to_string(),
                        reason: reason.clone(),
                    });
                }
                None => {}
            }
            let now = Instant::now();
            if now >= deadline {
                if mailbox.beats != beats {
                    beats = mailbox.beats;
                    deadline = now + timeout;
                    continue;
                }
                return Err(TransportError::Timeout {
                    peer: peer.to_string(),
                    seconds: timeout.as_secs_f64(),
                });
            }
            mailboxes = self
                .changed
                .wait_timeout(mailboxes, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Why `peer` can no longer take part in `session`, if it cannot: it
    /// left it, or its stream failed. (A sender stops at once instead of
    /// computing for a session that is over.)
    pub fn gone(&self, session: u64, peer: &str) -> Option<TransportError> {
        let mailboxes = self.lock();
        match &mailboxes.boxes.get(&(session, peer.to_string()))?.closed {
            Some(Closed::Left(reason)) => Some(left(peer, reason)),
            Some(Closed::Failed(reason)) => {
                Some(TransportError::Connection { peer: peer.to_string(), reason: reason.clone() })
            }
            None => None,
        }
    }

    /// Makes sure there is a live stream to each of `peers` (redialing one
    /// whose peer went away since it was last used), in parallel, and tells
    /// each that this party joined `session`: from then on each peer reads
    /// a stream from this party, so that if this party's process dies they
    /// learn it at once.
    pub fn join(&self, session: u64, peers: &[String]) -> Result<(), TransportError> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = peers
                .iter()
                .map(|peer| {
                    scope.spawn(move || {
                        self.drop_if_stale(peer);
                        self.send_frame(peer, &Frame::Beat { session }, self.config.timeout)?;
                        self.flush(peer, self.config.timeout)
                    })
                })
                .collect();
            handles.into_iter().try_for_each(|handle| handle.join().expect("a join thread panicked"))
        })
    }

    /// Drops the stream to `peer` if the peer closed it (it never writes
    /// on it, so anything readable means it is gone).
    fn drop_if_stale(&self, peer: &str) {
        let slot = self.slot(peer);
        let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(stream) = slot.as_ref() else { return };
        let alive = stream.tcp.set_nonblocking(true).is_ok()
            && matches!(stream.tcp.peek(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            && stream.tcp.set_nonblocking(false).is_ok();
        if !alive {
            *slot = None;
        }
    }

    /// Reads `peer`'s stream into the mailboxes until it ends; then fails
    /// the sessions waiting on it with the cause, which it returns.
    pub fn serve_peer(&self, peer: &str, mut stream: impl std::io::Read) -> FrameError {
        let limit = self.config.max_message_bytes as u64;
        let budget = self.config.link_budget_bytes;
        let worker_budget = self.config.limits.worker_budget_bytes;
        let patience = self.config.timeout;
        loop {
            let frame = match frame::read_frame(&mut stream, limit) {
                Ok(frame) => frame,
                Err(error) => {
                    self.peer_failed(peer, &error);
                    return error;
                }
            };
            let mut mailboxes = self.lock();
            mailboxes.heard.insert(peer.to_string(), Instant::now());
            if mailboxes.expire_unjoined(patience) {
                self.changed.notify_all();
            }
            let session = match &frame {
                Frame::Data(message) => message.session,
                Frame::Beat { session } | Frame::End { session, .. } => *session,
                other => {
                    drop(mailboxes);
                    let error = FrameError::Malformed(format!("an unexpected {other:?} on a peer stream"));
                    self.peer_failed(peer, &error);
                    return error;
                }
            };
            if mailboxes.ended.contains(&session) {
                continue;
            }
            let key = (session, peer.to_string());
            match frame {
                Frame::Data(message) => {
                    let size = message.payload.len();
                    // Hold the stream (and so the sender) while the peer is
                    // more than the link's budget ahead of this worker's
                    // sessions, or all peers together more than the
                    // worker's; sessions never joined expire meanwhile.
                    let over = |m: &Mailboxes| {
                        m.queued.get(peer).is_some_and(|q| *q > 0 && q + size > budget)
                            || (m.total > 0 && m.total + size > worker_budget)
                    };
                    while over(&mailboxes) && !mailboxes.ended.contains(&session) {
                        mailboxes = self
                            .changed
                            .wait_timeout(mailboxes, EXPIRY_CHECK)
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .0;
                        if mailboxes.expire_unjoined(patience) {
                            self.changed.notify_all();
                        }
                    }
                    if mailboxes.ended.contains(&session) {
                        continue;
                    }
                    *mailboxes.queued.entry(peer.to_string()).or_default() += size;
                    mailboxes.total += size;
                    mailboxes.boxes.entry(key).or_default().queue.push_back(message);
                }
                Frame::Beat { .. } => mailboxes.boxes.entry(key).or_default().beats += 1,
                Frame::End { reason, .. } => {
                    mailboxes.boxes.entry(key).or_default().closed = Some(Closed::Left(reason));
                }
                _ => {}
            }
            self.changed.notify_all();
        }
    }

    /// Fails every open session's mailbox from `peer`.
    fn peer_failed(&self, peer: &str, error: &FrameError) {
        let reason = match error {
            FrameError::Closed => {
                "the connection closed (the worker stopped or the network failed)".to_string()
            }
            other => other.to_string(),
        };
        let mut mailboxes = self.lock();
        for ((_, from), mailbox) in mailboxes.boxes.iter_mut() {
            if from == peer && mailbox.closed.is_none() {
                mailbox.closed = Some(Closed::Failed(reason.clone()));
            }
        }
        self.changed.notify_all();
    }

    fn slot(&self, peer: &str) -> Arc<Mutex<Option<Outgoing>>> {
        let mut outgoing = self.outgoing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(outgoing.entry(peer.to_string()).or_default())
    }

    /// When `peer` was last heard from on its stream to this worker.
    fn last_heard(&self, peer: &str) -> Option<Instant> {
        self.lock().heard.get(peer).copied()
    }

    /// Runs `write` on the stream to `peer`, dialing it first if needed
    /// (for at most `patience`; with no patience, only an open stream is
    /// used); a stream that fails is dropped (the next use redials).
    fn with_stream(
        &self,
        peer: &str,
        patience: Duration,
        write: impl FnOnce(&mut Outgoing) -> Result<(), WriteFailure>,
    ) -> Result<(), TransportError> {
        let slot = self.slot(peer);
        let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            if patience.is_zero() {
                let reason = "no open stream to it".to_string();
                return Err(TransportError::Connection { peer: peer.to_string(), reason });
            }
            *slot = Some(
                self.dial(peer, patience)
                    .map_err(|reason| TransportError::Connection { peer: peer.to_string(), reason })?,
            );
        }
        let stream = slot.as_mut().expect("dialed");
        write(stream).map_err(|failure| {
            *slot = None;
            match failure {
                WriteFailure::Io(error) => TransportError::Connection {
                    peer: peer.to_string(),
                    reason: format!("sending failed: {error}"),
                },
                WriteFailure::Stalled(waited) => {
                    TransportError::Stalled { peer: peer.to_string(), seconds: waited.as_secs_f64() }
                }
            }
        })
    }

    /// Queues a protocol message to `peer`; large payloads go out in chunks.
    pub fn send(&self, peer: &str, message: &Message) -> Result<(), TransportError> {
        let heard = || self.last_heard(peer);
        self.with_stream(peer, self.config.timeout, |stream| {
            stream.tls.writer().write_all(&frame::data_header(message))?;
            for chunk in message.payload.chunks(CHUNK_BYTES) {
                stream.tls.writer().write_all(chunk)?;
                stream.unflushed += chunk.len();
                if stream.unflushed >= CHUNK_BYTES {
                    stream.flush(&heard, self.config.timeout)?;
                }
            }
            Ok(())
        })
    }

    /// Queues a small frame (beat, end) to `peer`, dialing it for at most
    /// `patience` if there is no stream yet (with none, only an open
    /// stream is used).
    pub fn send_frame(&self, peer: &str, frame: &Frame, patience: Duration) -> Result<(), TransportError> {
        self.with_stream(peer, patience, |stream| Ok(frame::write_frame(&mut stream.tls.writer(), frame)?))
    }

    /// Writes out everything queued to `peer`, in one write where it fits,
    /// waiting while the peer is alive, for at most `patience` while it
    /// says nothing.
    pub fn flush(&self, peer: &str, patience: Duration) -> Result<(), TransportError> {
        let heard = || self.last_heard(peer);
        let slot = self.slot(peer);
        let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(stream) = slot.as_mut() else { return Ok(()) };
        let failure = match stream.flush(&heard, patience) {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        *slot = None;
        Err(match failure {
            WriteFailure::Io(error) => TransportError::Connection {
                peer: peer.to_string(),
                reason: format!("sending failed: {error}"),
            },
            WriteFailure::Stalled(waited) => {
                TransportError::Stalled { peer: peer.to_string(), seconds: waited.as_secs_f64() }
            }
        })
    }

    /// Dials `peer`, retrying while it is not listening yet (for at most
    /// `patience`); TLS failures are not retried.
    fn dial(&self, peer: &str, patience: Duration) -> Result<Outgoing, String> {
        let endpoint = &self.config.party(peer).map_err(|e| e.to_string())?.endpoint;
        let deadline = Instant::now() + patience;
        loop {
            match connect(&self.identity, peer, endpoint, Role::Peer, WRITE_CHECK, HANDSHAKE_TIMEOUT) {
                Ok((tls, tcp)) => return Ok(Outgoing { tls, tcp, unflushed: 0 }),
                Err(Dial::Unreachable(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(Dial::Unreachable(reason) | Dial::Refused(reason)) => return Err(reason),
            }
        }
    }
}

/// The error for a peer that left, with its reason if it failed.
fn left(peer: &str, reason: &Option<String>) -> TransportError {
    match reason {
        Some(reason) => TransportError::PeerFailed { peer: peer.to_string(), reason: reason.clone() },
        None => TransportError::PeerLeft { peer: peer.to_string() },
    }
}

/// Why a dial failed.
pub enum Dial {
    /// Nobody listens there (yet): worth retrying.
    Unreachable(String),
    /// TLS or the hello failed: not worth retrying.
    Refused(String),
}

/// Connects to `peer` at `endpoint` as `identity`, checks the peer's
/// certificate names `peer`, and exchanges the hello for `role`; a peer
/// that does not complete the handshake within `handshake` is refused.
pub fn connect(
    identity: &Identity,
    peer: &str,
    endpoint: &str,
    role: Role,
    write_timeout: Duration,
    handshake: Duration,
) -> Result<(ClientConnection, TcpStream), Dial> {
    let address = endpoint
        .to_socket_addrs()
        .map_err(|e| Dial::Refused(format!("cannot resolve {endpoint}: {e}")))?
        .next()
        .ok_or_else(|| Dial::Refused(format!("{endpoint} resolves to no address")))?;
    let mut tcp = TcpStream::connect_timeout(&address, handshake)
        .map_err(|e| Dial::Unreachable(format!("cannot connect to {endpoint}: {e}")))?;
    let refused = |e: &dyn std::fmt::Display| Dial::Refused(format!("{endpoint}: {e}"));
    tcp.set_nodelay(true).map_err(|e| refused(&e))?;
    tcp.set_read_timeout(Some(handshake)).map_err(|e| refused(&e))?;
    tcp.set_write_timeout(Some(write_timeout)).map_err(|e| refused(&e))?;
    let name = ServerName::try_from(peer.to_string()).map_err(|e| refused(&e))?;
    let mut tls = ClientConnection::new(Arc::clone(&identity.client), name).map_err(|e| refused(&e))?;
    tls.set_buffer_limit(None);
    {
        let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
        let silent = |error: &std::io::Error| {
            matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        };
        let failed = |error: std::io::Error| {
            if silent(&error) {
                refused(&format!(
                    "did not complete the handshake within {:.1} s (stopped or stalled?)",
                    handshake.as_secs_f64()
                ))
            } else {
                refused(&format!("TLS handshake failed: {error}"))
            }
        };
        frame::write_frame(&mut stream, &Frame::Hello { version: frame::VERSION, role })
            .and_then(|_| stream.flush())
            .map_err(failed)?;
        match frame::read_frame(&mut stream, 64) {
            Ok(Frame::Ack) => {}
            Ok(other) => return Err(refused(&format!("answered the hello with {other:?}"))),
            Err(FrameError::Closed) => {
                return Err(refused(&"closed the connection (it does not accept this party's certificate?)"));
            }
            Err(FrameError::Io(error)) => return Err(failed(error)),
            Err(error) => return Err(refused(&format!("TLS handshake failed: {error}"))),
        }
    }
    tcp.set_read_timeout(None).map_err(|e| refused(&e))?;
    Ok((tls, tcp))
}

/// A control stream to a worker, as an operator.
pub type ControlStream = StreamOwned<ClientConnection, TcpStream>;
