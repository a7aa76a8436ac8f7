//! `blindfold worker`: one party's long-running server. It accepts TLS
//! connections from the peers and operators the parties file names, feeds
//! peer streams into the shared [`Links`], and runs each session an
//! operator launches — if its own operator approved the graph — in a
//! thread of its own, so sessions run side by side.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use blindfold_ir::{Graph, Op};
use blindfold_runtime::transport::Endpoint;
use blindfold_runtime::{Session, SessionOptions};
use ndarray::ArrayD;
use rustls::{ServerConnection, StreamOwned};

use crate::approval;
use crate::config::Config;
use crate::control::{
    self, Holdings, InputSource, OverflowCheck, Reply, Request, SecretSharing, SessionRequest, TableShape,
};
use crate::endpoint::NetworkEndpoint;
use crate::error::{NetworkError, Result};
use crate::frame::{self, Frame, Role};
use crate::identity::{Identity, certificate_name};
use crate::links::Links;
use crate::overflow;

/// A graph input this party owns: name and shape.
pub type WantedInput = (String, Vec<usize>);

/// Why a worker could not read an input. `public` is what its peers and
/// the operator are told (the file and the kind of problem); `private`, the
/// detail that would reveal something about the data (a line, a position),
/// goes only to this worker's own log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    pub public: String,
    pub private: Option<String>,
}

impl ReadError {
    /// An error with nothing private in it.
    pub fn public(message: impl Into<String>) -> ReadError {
        ReadError { public: message.into(), private: None }
    }
}

/// How a worker reads its files (the formats live with the caller).
pub trait InputFiles: Send + Sync {
    /// Reads `source` at `path` (absolute, inside the data folder) as the
    /// graph inputs this party owns (`wanted`: name and shape).
    fn read(
        &self,
        path: &Path,
        source: &InputSource,
        wanted: &[WantedInput],
    ) -> std::result::Result<HashMap<String, ArrayD<f64>>, ReadError>;

    /// The shape of the table at `path`: its header only where the file
    /// declares one.
    fn describe(&self, path: &Path) -> std::result::Result<TableShape, ReadError>;
}

/// The worker's reader.
pub type InputReader = dyn InputFiles;

/// Where log lines go (stderr by default). Lines name peers, sessions,
/// hashes and errors; never values, shares or keys.
pub type Logger = dyn Fn(&str) + Send + Sync;

struct Shared {
    config: Arc<Config>,
    links: Arc<Links>,
    reader: Arc<InputReader>,
    log: Arc<Logger>,
    running: Mutex<HashSet<u64>>,
    approvals: approval::ApprovalCache,
    connections: ConnectionCount,
}

/// Connections a worker holds, and those still in their handshake (in all
/// and per address): what [`crate::config::Limits`] caps.
#[derive(Default)]
struct ConnectionCount {
    state: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    open: usize,
    handshaking: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One admitted connection: it counts until dropped, and as handshaking
/// until [`Admission::authenticated`].
struct Admission {
    shared: Arc<Shared>,
    address: IpAddr,
    handshaking: bool,
}

impl ConnectionCount {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Admission {
    /// Admits a connection from `address`, or says which limit it meets.
    fn new(shared: &Arc<Shared>, address: IpAddr) -> std::result::Result<Admission, String> {
        let limits = &shared.config.limits;
        let mut counts = shared.connections.lock();
        let from_address = counts.by_address.get(&address).copied().unwrap_or(0);
        if counts.open >= limits.max_connections {
            return Err(format!("{} connections are open (max_connections)", counts.open));
        }
        if counts.handshaking >= limits.max_handshakes {
            return Err(format!(
                "{} connections are in their handshake (max_handshakes)",
                counts.handshaking
            ));
        }
        if from_address >= limits.max_handshakes_per_address {
            return Err(format!(
                "{from_address} connections from {address} are in their handshake (max_handshakes_per_address)"
            ));
        }
        counts.open += 1;
        counts.handshaking += 1;
        *counts.by_address.entry(address).or_default() += 1;
        Ok(Admission { shared: Arc::clone(shared), address, handshaking: true })
    }

    /// The peer proved who it is: it no longer counts as handshaking.
    fn authenticated(&mut self) {
        if std::mem::replace(&mut self.handshaking, false) {
            let mut counts = self.shared.connections.lock();
            counts.handshaking -= 1;
            release_address(&mut counts, self.address);
        }
    }
}

fn release_address(counts: &mut Counts, address: IpAddr) {
    if let Some(count) = counts.by_address.get_mut(&address) {
        *count -= 1;
        if *count == 0 {
            counts.by_address.remove(&address);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut counts = self.shared.connections.lock();
        counts.open -= 1;
        if self.handshaking {
            counts.handshaking -= 1;
            release_address(&mut counts, self.address);
        }
    }
}

/// A bound worker, ready to serve.
pub struct Worker {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// A handle on a serving worker's holdings (for tests and monitoring).
#[derive(Clone)]
pub struct WorkerMonitor {
    shared: Arc<Shared>,
}

impl WorkerMonitor {
    pub fn holdings(&self) -> Holdings {
        holdings(&self.shared)
    }
}

/// What the worker holds now.
fn holdings(shared: &Shared) -> Holdings {
    let (connections, handshaking) = {
        let counts = shared.connections.lock();
        (counts.open, counts.handshaking)
    };
    let (mailboxes, buffered_bytes) = shared.links.buffered();
    let sessions = shared.running.lock().map(|running| running.len()).unwrap_or(0);
    Holdings { connections, handshaking, sessions, mailboxes, buffered_bytes, threads: process_threads() }
}

/// This process's thread count, from /proc (Linux); `None` elsewhere.
fn process_threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| line.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok())
}

impl Worker {
    /// Loads `party`'s identity from `config` and binds its endpoint.
    pub fn bind(config: Config, party: &str, reader: Arc<InputReader>, log: Arc<Logger>) -> Result<Worker> {
        let endpoint = config.party(party)?.endpoint.clone();
        let identity = Identity::load(&config, party)?;
        let listener = TcpListener::bind(&endpoint)
            .map_err(|e| NetworkError::Io(format!("{party} cannot listen on {endpoint}: {e}")))?;
        let config = Arc::new(config);
        let links = Arc::new(Links::new(identity, Arc::clone(&config)));
        let shared = Shared {
            config,
            links,
            reader,
            log,
            running: Mutex::new(HashSet::new()),
            approvals: approval::ApprovalCache::default(),
            connections: ConnectionCount::default(),
        };
        Ok(Worker { listener, shared: Arc::new(shared) })
    }

    pub fn local_address(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|e| NetworkError::Io(e.to_string()))
    }

    /// A handle that reports what the worker holds while it serves.
    pub fn monitor(&self) -> WorkerMonitor {
        WorkerMonitor { shared: Arc::clone(&self.shared) }
    }

    /// Serves until the process ends: one thread per connection, within
    /// the limits of the parties file (a connection over them is closed
    /// at once).
    pub fn serve(self) -> Result<()> {
        for connection in self.listener.incoming() {
            match connection {
                Ok(tcp) => {
                    let address = match tcp.peer_addr() {
                        Ok(address) => address,
                        Err(_) => continue,
                    };
                    let admission = match Admission::new(&self.shared, address.ip()) {
                        Ok(admission) => admission,
                        Err(reason) => {
                            (self.shared.log)(&format!("closed a connection from {address}: {reason}"));
                            continue;
                        }
                    };
                    let shared = Arc::clone(&self.shared);
                    let spawned = std::thread::Builder::new()
                        .name(format!("connection {address}"))
                        .spawn(move || handle_connection(&shared, tcp, address, admission));
                    if let Err(error) = spawned {
                        (self.shared.log)(&format!("no thread for a connection from {address}: {error}"));
                    }
                }
                Err(error) => (self.shared.log)(&format!("accepting a connection failed: {error}")),
            }
        }
        Ok(())
    }
}

type ServerStream = StreamOwned<ServerConnection, TcpStream>;

/// Handshake, identification, hello (all within one deadline); then a
/// peer stream or a control stream.
fn handle_connection(shared: &Shared, tcp: TcpStream, address: SocketAddr, mut admission: Admission) {
    let log = |line: String| (shared.log)(&line);
    let (mut stream, name, role) = match authenticate(shared, tcp) {
        Ok(authenticated) => authenticated,
        Err(reason) => return log(format!("refused a connection from {address}: {reason}")),
    };
    admission.authenticated();
    if frame::write_frame(&mut stream, &Frame::Ack).and_then(|_| stream.flush()).is_err()
        || stream.sock.set_read_timeout(None).is_err()
        || stream.sock.set_write_timeout(None).is_err()
    {
        return;
    }
    match role {
        Role::Peer => {
            log(format!("{name} connected from {address}"));
            let error = shared.links.serve_peer(&name, &mut stream);
            log(format!("the stream from {name} ended: {error}"));
        }
        Role::Control => control_session(shared, &name, stream),
    }
}

/// A socket whose reads and writes fail once `until` has passed, however
/// slowly the other side trickles bytes (one deadline for the handshake).
struct Deadline<'a> {
    tcp: &'a mut TcpStream,
    until: Instant,
}

impl Deadline<'_> {
    fn left(&self) -> std::io::Result<Duration> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the handshake took too long"));
        }
        Ok(left)
    }
}

impl std::io::Read for Deadline<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_read_timeout(Some(left))?;
        self.tcp.read(buffer)
    }
}

impl Write for Deadline<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_write_timeout(Some(left))?;
        self.tcp.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

/// The TLS handshake, the certificate's name and the hello, all within the
/// handshake timeout from accept: who connected, and for what.
fn authenticate(
    shared: &Shared,
    mut tcp: TcpStream,
) -> std::result::Result<(ServerStream, String, Role), String> {
    let until = Instant::now() + shared.config.limits.handshake_timeout;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut connection =
        ServerConnection::new(Arc::clone(&shared.links.identity().server)).map_err(|e| e.to_string())?;
    let mut socket = Deadline { tcp: &mut tcp, until };
    while connection.is_handshaking() {
        connection.complete_io(&mut socket).map_err(|e| format!("TLS handshake failed: {e}"))?;
    }
    let names = shared.config.parties.keys().chain(shared.config.operators.keys());
    let certificate = connection.peer_certificates().and_then(|c| c.first()).cloned();
    let name = certificate
        .and_then(|c| certificate_name(&c, names))
        .ok_or("its certificate names no party or operator")?;
    let hello = frame::read_frame(&mut rustls::Stream::new(&mut connection, &mut socket), 64);
    let role = match hello {
        Ok(Frame::Hello { version: frame::VERSION, role }) => role,
        Ok(Frame::Hello { version, .. }) => {
            return Err(format!("{name}: frame version {version}, not {}", frame::VERSION));
        }
        Ok(other) => return Err(format!("{name}: {other:?} instead of a hello")),
        Err(error) => return Err(format!("{name}: {error}")),
    };
    let allowed = match role {
        Role::Peer => shared.config.parties.contains_key(&name) && name != shared.links.name(),
        Role::Control => shared.config.operators.contains_key(&name),
    };
    if !allowed {
        return Err(format!("{name}: not allowed a {role:?} connection"));
    }
    Ok((StreamOwned::new(connection, tcp), name, role))
}

/// A session as this worker will run it, once checked.
struct Prepared {
    protocol: SecretSharing,
    session: u64,
    overflow: OverflowCheck,
    graph: Graph,
    parties: Vec<String>,
    timeout: Duration,
    inputs: Vec<(PathBuf, InputSource)>,
    /// The data folder, and the folder for outputs inside it.
    data: PathBuf,
    outputs: PathBuf,
}

/// One operator request: prepare, wait for start, run (beating on the
/// control stream), answer.
fn control_session(shared: &Shared, operator: &str, mut stream: ServerStream) {
    let log = |line: String| (shared.log)(&line);
    let _ = stream.sock.set_read_timeout(Some(shared.config.timeout));
    let request = match control::receive::<Request>(&mut stream) {
        Ok(Request::Prepare(request)) => request,
        Ok(Request::Describe { path }) => {
            let reply = match describe(shared, &path) {
                Ok(shape) => Reply::Described(shape),
                Err(error) => {
                    if let Some(detail) = &error.private {
                        log(format!("describing {path} (kept here): {detail}"));
                    }
                    Reply::Refused { reason: error.public }
                }
            };
            log(format!("{operator} asked for the shape of {path}"));
            let _ = control::send(&mut stream, &reply);
            return;
        }
        Ok(Request::Status) => {
            let _ = control::send(&mut stream, &Reply::Status(holdings(shared)));
            return;
        }
        Ok(other) => return log(format!("{operator}: {other:?} before any prepare")),
        Err(error) => {
            log(format!("{operator}: {error}"));
            let reason = format!("{error} (is the launcher another version of blindfold?)");
            let _ = control::send(&mut stream, &Reply::Refused { reason });
            return;
        }
    };
    let session = request.session;
    let prepared = match prepare(shared, &request) {
        Ok(prepared) => prepared,
        Err(reason) => {
            log(format!("session {session:016x} from {operator} refused: {reason}"));
            let _ = control::send(&mut stream, &Reply::Refused { reason });
            // Frames peers sent for it meanwhile are dropped.
            shared.links.close_session(session);
            return;
        }
    };
    let hash = prepared.graph.hash();
    if control::send(&mut stream, &Reply::Prepared { hash: hash.clone() }).is_err() {
        shared.links.close_session(session);
        return;
    }
    // The operator starts the session once every party agreed; a session
    // not started within the timeout is dropped with what it buffered.
    let _ = stream.sock.set_read_timeout(Some(shared.config.timeout));
    let started = match control::receive::<Request>(&mut stream) {
        Ok(Request::Start) => true,
        Ok(_) => {
            log(format!("session {session:016x} cancelled by {operator}"));
            false
        }
        Err(error) => {
            log(format!("session {session:016x}: no start from {operator}: {error}"));
            false
        }
    };
    if !started {
        shared.links.close_session(session);
        return;
    }
    let _ = stream.sock.set_read_timeout(None);
    if !shared.running.lock().map(|mut running| running.insert(session)).unwrap_or(false) {
        let error = "a session with this id is already running here".to_string();
        let _ = control::send(&mut stream, &Reply::Failed { error, waiting_on: None });
        return;
    }
    log(format!("session {session:016x} started by {operator}: graph {hash}"));
    let clock = Instant::now();
    let stream = Mutex::new(stream);
    let reply = with_beats(&stream, prepared.timeout / 4, || run(shared, prepared));
    if let Ok(mut running) = shared.running.lock() {
        running.remove(&session);
    }
    match &reply {
        Reply::Finished { .. } => {
            log(format!("session {session:016x} finished in {:.3} s", clock.elapsed().as_secs_f64()))
        }
        Reply::Failed { error, .. } => log(format!("session {session:016x} failed: {error}")),
        _ => {}
    }
    let mut stream = stream.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    let _ = control::send(&mut stream, &reply);
}

/// Runs `work` while sending `Working` on `stream` every `every`, so the
/// operator can tell a worker that computes from one that stopped.
fn with_beats<T>(stream: &Mutex<ServerStream>, every: Duration, work: impl FnOnce() -> T) -> T {
    let done = (Mutex::new(false), Condvar::new());
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let (flag, wake) = &done;
            let mut finished = flag.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            while !*finished {
                finished = wake.wait_timeout(finished, every).unwrap_or_else(|p| p.into_inner()).0;
                if !*finished {
                    let mut stream = stream.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    if control::send(&mut *stream, &Reply::Working).is_err() {
                        return;
                    }
                }
            }
        });
        let result = work();
        let (flag, wake) = &done;
        *flag.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        wake.notify_all();
        result
    })
}

/// Answers `Describe` for the table at `path`, if this party's operator
/// lets the worker describe tables at all.
fn describe(shared: &Shared, path: &str) -> std::result::Result<TableShape, ReadError> {
    let party = shared.config.party(shared.links.name()).map_err(|e| ReadError::public(e.to_string()))?;
    if !party.describe {
        return Err(ReadError::public(format!(
            "{}'s operator does not let its worker describe tables (describe = false)",
            shared.links.name()
        )));
    }
    let file = inside(&party.data, path).map_err(ReadError::public)?;
    shared.reader.describe(&file)
}

/// Checks a request before anything is read: the graph parses, its hash is
/// approved by this party's operator, the parties are known, the paths
/// stay inside the data folder.
fn prepare(shared: &Shared, request: &SessionRequest) -> std::result::Result<Prepared, String> {
    let me = shared.links.name();
    let config = &shared.config;
    let graph = Graph::from_bytes(&request.graph).map_err(|e| format!("the graph does not parse: {e}"))?;
    let hash = graph.hash();
    let party = config.party(me).map_err(|e| e.to_string())?;
    let approval = shared.approvals.check(party, &hash);
    for problem in &approval.unreadable {
        (shared.log)(&format!("approved_dir: {problem}"));
    }
    if !approval.approved {
        return Err(format!(
            "graph {hash} is not approved by {me}'s operator (add it to `approved` in the parties file, \
             or put the graph file in approved_dir)"
        ));
    }
    for required in request.protocol.servers() {
        if !request.parties.iter().any(|p| p == required) {
            return Err(format!(
                "a {} session needs '{required}', and this one lacks it",
                request.protocol.protocol().name()
            ));
        }
    }
    if !request.parties.iter().any(|p| p == me) {
        return Err(format!("{me} is not a party of this session"));
    }
    if let Some(unknown) = request.parties.iter().find(|p| !config.parties.contains_key(*p)) {
        return Err(format!("'{unknown}' is not a party in {me}'s parties file"));
    }
    let data = &party.data;
    let mut inputs = Vec::new();
    for source in &request.part.inputs {
        inputs.push((inside(data, source.path())?, source.clone()));
    }
    let outputs = request.part.outputs.clone().unwrap_or_else(|| format!("outputs/{:016x}", request.session));
    let timeout = Duration::from_millis(request.timeout_ms.clamp(1, 24 * 3600 * 1000));
    Ok(Prepared {
        protocol: request.protocol,
        session: request.session,
        overflow: request.overflow.clone(),
        graph,
        parties: request.parties.clone(),
        timeout,
        inputs,
        data: data.clone(),
        outputs: inside(data, &outputs)?,
    })
}

/// `relative` inside `folder`, after symlinks are resolved: absolute
/// paths, `..` and links that lead out of the folder are refused. (A path
/// that does not exist yet resolves through its nearest existing folder.)
fn inside(folder: &Path, relative: &str) -> std::result::Result<PathBuf, String> {
    let path = Path::new(relative);
    let refused = || format!("'{relative}' is not a relative path inside the data folder");
    if relative.is_empty()
        || !path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(refused());
    }
    let root = folder.canonicalize().map_err(|e| format!("the data folder {}: {e}", folder.display()))?;
    let joined = root.join(path);
    // The longest existing prefix, resolved; the rest appended as is.
    let mut existing = joined.as_path();
    let mut rest = Vec::new();
    let resolved = loop {
        match existing.canonicalize() {
            Ok(resolved) => break resolved,
            Err(_) => {
                rest.push(existing.file_name().ok_or_else(refused)?);
                existing = existing.parent().ok_or_else(refused)?;
            }
        }
    };
    let resolved = rest.iter().rev().fold(resolved, |path, part| path.join(part));
    if !resolved.starts_with(&root) {
        return Err(format!("'{relative}' leads out of the data folder (through a symbolic link)"));
    }
    Ok(resolved)
}

/// Runs this party's part of the session.
fn run(shared: &Shared, prepared: Prepared) -> Reply {
    let me = shared.links.name().to_string();
    let peers: Vec<String> = prepared.parties.iter().filter(|p| **p != me).cloned().collect();
    let others: Vec<String> = prepared
        .parties
        .iter()
        .filter(|p| !prepared.protocol.servers().contains(&p.as_str()))
        .cloned()
        .collect();
    let wanted: Vec<WantedInput> = prepared
        .graph
        .nodes()
        .iter()
        .filter_map(|node| match &node.op {
            Op::Input { party, name } if *party == me => Some((name.clone(), node.ty.shape.clone())),
            _ => None,
        })
        .collect();
    let session =
        Session::new(prepared.graph).protocol(prepared.protocol.protocol()).options(SessionOptions {
            timeout: prepared.timeout,
            parties: Some(others),
            ..SessionOptions::default()
        });
    // The mailboxes open first, so that a failure to read an input is told
    // to the peers (the endpoint's end) instead of leaving them waiting.
    let mut endpoint =
        NetworkEndpoint::new(Arc::clone(&shared.links), prepared.session, peers, prepared.timeout);
    let mut inputs = HashMap::new();
    let reading = Instant::now();
    for (path, source) in &prepared.inputs {
        match shared.reader.read(path, source, &wanted) {
            Ok(values) => inputs.extend(values),
            Err(ReadError { public, private }) => {
                if let Some(detail) = private {
                    (shared.log)(&format!(
                        "session {:016x}: reading {} (kept here): {detail}",
                        prepared.session,
                        source.path()
                    ));
                }
                let error = format!("{me}: reading its input: {public}");
                endpoint.abandon(&error);
                drop(endpoint);
                return Reply::Failed { error, waiting_on: None };
            }
        }
    }
    if !prepared.inputs.is_empty() {
        (shared.log)(&format!(
            "session {:016x}: inputs read in {:.1} ms",
            prepared.session,
            reading.elapsed().as_secs_f64() * 1e3
        ));
    }
    if let Err(refusal) = overflow::check(&me, session.graph(), &inputs, &prepared.overflow) {
        (shared.log)(&format!("session {:016x}: refused (kept here): {}", prepared.session, refusal.private));
        endpoint.abandon(&refusal.public);
        drop(endpoint);
        return Reply::Failed { error: refusal.public, waiting_on: None };
    }
    let (outputs, profile) =
        match session.run_party(&me, prepared.session, Box::new(endpoint), inputs, Instant::now()) {
            Ok(result) => result,
            Err(error) => {
                if let Some(detail) = error.private_detail() {
                    (shared.log)(&format!("session {:016x} (kept here): {detail}", prepared.session));
                }
                let waiting_on = error.peer().map(str::to_string);
                return Reply::Failed { error: error.to_string(), waiting_on };
            }
        };
    match write_outputs(&prepared.data, &prepared.outputs, &outputs) {
        Ok(files) => Reply::Finished { profile, outputs: files },
        Err(error) => {
            Reply::Failed { error: format!("{me}: writing its outputs: {error}"), waiting_on: None }
        }
    }
}

/// Writes each output as `NAME.npy` into `folder` (inside the data folder
/// `data`, checked again once the folder exists). Files are created, never
/// opened: a symbolic link is not followed, and an existing file is not
/// replaced (the output takes the next free name, `NAME-1.npy`, …).
fn write_outputs(
    data: &Path,
    folder: &Path,
    outputs: &BTreeMap<String, ArrayD<f64>>,
) -> std::result::Result<Vec<String>, String> {
    use ndarray_npy::WriteNpyExt;
    if outputs.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let root = data.canonicalize().map_err(|e| format!("{}: {e}", data.display()))?;
    let folder = folder.canonicalize().map_err(|e| format!("{}: {e}", folder.display()))?;
    if !folder.starts_with(&root) {
        return Err(format!("{} leads out of the data folder (through a symbolic link)", folder.display()));
    }
    let mut files = Vec::new();
    for (name, value) in outputs {
        let stem: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
            .collect();
        let (path, file) = create_new(&folder, &stem)?;
        value.write_npy(std::io::BufWriter::new(file)).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(path.display().to_string());
    }
    Ok(files)
}

/// Creates `folder/STEM.npy`, or `STEM-1.npy`, `STEM-2.npy`, … if taken
/// (by a file or a link: nothing existing is opened).
fn create_new(folder: &Path, stem: &str) -> std::result::Result<(PathBuf, std::fs::File), String> {
    for attempt in 0..1000 {
        let name = if attempt == 0 { format!("{stem}.npy") } else { format!("{stem}-{attempt}.npy") };
        let path = folder.join(name);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(format!("{}: {error}", path.display())),
        }
    }
    Err(format!("{}: {stem}.npy and 999 numbered names are all taken", folder.display()))
}
