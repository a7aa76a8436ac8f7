//! `blindfold worker`: one party's long-running server. It accepts TLS
//! connections from the peers and operators the parties file names, feeds
//! peer streams into the shared [`Links`], and runs each session an
//! operator launches — if its own operator approved the graph — in a
//! thread of its own, so sessions run side by side.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blindfold_ir::{Graph, Op};
use blindfold_protocols::pond::{PRODUCER, SERVERS};
use blindfold_runtime::transport::Endpoint;
use blindfold_runtime::{Session, SessionOptions};
use ndarray::ArrayD;
use rustls::{ServerConnection, StreamOwned};

use crate::approval;
use crate::config::Config;
use crate::control::{self, InputSource, Reply, Request, SessionRequest};
use crate::endpoint::NetworkEndpoint;
use crate::error::{NetworkError, Result};
use crate::frame::{self, Frame, Role};
use crate::identity::{Identity, certificate_name};
use crate::links::{HANDSHAKE_TIMEOUT, Links};

/// A graph input this party owns: name and shape.
pub type WantedInput = (String, Vec<usize>);

/// How a worker reads its files (the formats live with the caller).
pub trait InputFiles: Send + Sync {
    /// Reads `source` at `path` (absolute, inside the data folder) as the
    /// graph inputs this party owns (`wanted`: name and shape).
    fn read(
        &self,
        path: &Path,
        source: &InputSource,
        wanted: &[WantedInput],
    ) -> std::result::Result<HashMap<String, ArrayD<f64>>, String>;

    /// The columns and row count of the table at `path`.
    fn describe(&self, path: &Path) -> std::result::Result<(Vec<String>, usize), String>;
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
}

/// A bound worker, ready to serve.
pub struct Worker {
    listener: TcpListener,
    shared: Arc<Shared>,
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
        };
        Ok(Worker { listener, shared: Arc::new(shared) })
    }

    pub fn local_address(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|e| NetworkError::Io(e.to_string()))
    }

    /// Serves until the process ends: one thread per connection.
    pub fn serve(self) -> Result<()> {
        for connection in self.listener.incoming() {
            match connection {
                Ok(tcp) => {
                    let shared = Arc::clone(&self.shared);
                    std::thread::spawn(move || handle_connection(&shared, tcp));
                }
                Err(error) => (self.shared.log)(&format!("accepting a connection failed: {error}")),
            }
        }
        Ok(())
    }
}

type ServerStream = StreamOwned<ServerConnection, TcpStream>;

/// Handshake, identification, hello; then a peer stream or a control stream.
fn handle_connection(shared: &Shared, tcp: TcpStream) {
    let address = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?".into());
    let log = |line: String| (shared.log)(&line);
    let mut stream = match accept(shared, tcp) {
        Ok(stream) => stream,
        Err(reason) => return log(format!("refused a connection from {address}: {reason}")),
    };
    let names = shared.config.parties.keys().chain(shared.config.operators.keys());
    let certificate = stream.conn.peer_certificates().and_then(|c| c.first()).cloned();
    let Some(name) = certificate.and_then(|c| certificate_name(&c, names)) else {
        return log(format!(
            "refused a connection from {address}: its certificate names no party or operator"
        ));
    };
    let role = match frame::read_frame(&mut stream, 64) {
        Ok(Frame::Hello { version: frame::VERSION, role }) => role,
        Ok(Frame::Hello { version, .. }) => {
            return log(format!("refused {name}: frame version {version}, not {}", frame::VERSION));
        }
        Ok(other) => return log(format!("refused {name}: {other:?} instead of a hello")),
        Err(error) => return log(format!("refused {name} ({address}): {error}")),
    };
    let allowed = match role {
        Role::Peer => shared.config.parties.contains_key(&name) && name != shared.links.name(),
        Role::Control => shared.config.operators.contains_key(&name),
    };
    if !allowed {
        return log(format!("refused {name}: not allowed a {role:?} connection"));
    }
    if frame::write_frame(&mut stream, &Frame::Ack).and_then(|_| stream.flush()).is_err()
        || stream.sock.set_read_timeout(None).is_err()
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

/// The TLS handshake, within the handshake timeout.
fn accept(shared: &Shared, tcp: TcpStream) -> std::result::Result<ServerStream, String> {
    tcp.set_read_timeout(Some(HANDSHAKE_TIMEOUT)).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(HANDSHAKE_TIMEOUT)).map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let connection =
        ServerConnection::new(Arc::clone(&shared.links.identity().server)).map_err(|e| e.to_string())?;
    let mut stream = StreamOwned::new(connection, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).map_err(|e| format!("TLS handshake failed: {e}"))?;
    }
    Ok(stream)
}

/// A session as this worker will run it, once checked.
struct Prepared {
    session: u64,
    graph: Graph,
    parties: Vec<String>,
    timeout: Duration,
    inputs: Vec<(PathBuf, InputSource)>,
    outputs: PathBuf,
}

/// One operator request: prepare, wait for start, run, answer.
fn control_session(shared: &Shared, operator: &str, mut stream: ServerStream) {
    let log = |line: String| (shared.log)(&line);
    let request = match control::receive::<Request>(&mut stream) {
        Ok(Request::Prepare(request)) => request,
        Ok(Request::Describe { path }) => {
            let data = match shared.config.party(shared.links.name()) {
                Ok(party) => party.data.clone(),
                Err(error) => return log(error.to_string()),
            };
            let reply = match inside(&data, &path).and_then(|file| shared.reader.describe(&file)) {
                Ok((columns, rows)) => Reply::Described { columns, rows },
                Err(reason) => Reply::Refused { reason },
            };
            log(format!("{operator} asked for the header of {path}"));
            let _ = control::send(&mut stream, &reply);
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
            return;
        }
    };
    let hash = prepared.graph.hash();
    if control::send(&mut stream, &Reply::Prepared { hash: hash.clone() }).is_err() {
        return;
    }
    // The operator starts the session once every party agreed.
    let _ = stream.sock.set_read_timeout(Some(shared.config.timeout));
    match control::receive::<Request>(&mut stream) {
        Ok(Request::Start) => {}
        Ok(_) => return log(format!("session {session:016x} cancelled by {operator}")),
        Err(error) => return log(format!("session {session:016x}: no start from {operator}: {error}")),
    }
    let _ = stream.sock.set_read_timeout(None);
    if !shared.running.lock().map(|mut running| running.insert(session)).unwrap_or(false) {
        let reason = "a session with this id is already running here".to_string();
        let _ = control::send(&mut stream, &Reply::Failed { error: reason });
        return;
    }
    log(format!("session {session:016x} started by {operator}: graph {hash}"));
    let started = Instant::now();
    let reply = run(shared, prepared);
    if let Ok(mut running) = shared.running.lock() {
        running.remove(&session);
    }
    match &reply {
        Reply::Finished { .. } => {
            log(format!("session {session:016x} finished in {:.3} s", started.elapsed().as_secs_f64()))
        }
        Reply::Failed { error } => log(format!("session {session:016x} failed: {error}")),
        _ => {}
    }
    let _ = control::send(&mut stream, &reply);
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
    for required in SERVERS.iter().chain([&PRODUCER]) {
        if !request.parties.iter().any(|p| p == required) {
            return Err(format!("a Pond session needs '{required}', and this one lacks it"));
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
        session: request.session,
        graph,
        parties: request.parties.clone(),
        timeout,
        inputs,
        outputs: inside(data, &outputs)?,
    })
}

/// `relative` inside `folder`; absolute paths and `..` are refused.
fn inside(folder: &Path, relative: &str) -> std::result::Result<PathBuf, String> {
    let path = Path::new(relative);
    if relative.is_empty()
        || !path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!("'{relative}' is not a relative path inside the data folder"));
    }
    Ok(folder.join(path))
}

/// Runs this party's part of the session.
fn run(shared: &Shared, prepared: Prepared) -> Reply {
    let me = shared.links.name().to_string();
    let peers: Vec<String> = prepared.parties.iter().filter(|p| **p != me).cloned().collect();
    let others: Vec<String> = prepared
        .parties
        .iter()
        .filter(|p| !SERVERS.contains(&p.as_str()) && *p != PRODUCER)
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
    let session = Session::new(prepared.graph).options(SessionOptions {
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
            Err(error) => {
                let error = format!("{me}: reading its input: {error}");
                endpoint.abandon(&error);
                drop(endpoint);
                return Reply::Failed { error };
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
    let (outputs, profile) =
        match session.run_party(&me, prepared.session, Box::new(endpoint), inputs, Instant::now()) {
            Ok(result) => result,
            Err(error) => return Reply::Failed { error: error.to_string() },
        };
    match write_outputs(&prepared.outputs, &outputs) {
        Ok(files) => Reply::Finished { profile, outputs: files },
        Err(error) => Reply::Failed { error: format!("{me}: writing its outputs: {error}") },
    }
}

/// Writes each output as `NAME.npy` into `folder`.
fn write_outputs(
    folder: &Path,
    outputs: &BTreeMap<String, ArrayD<f64>>,
) -> std::result::Result<Vec<String>, String> {
    if outputs.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let mut files = Vec::new();
    for (name, value) in outputs {
        let file: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
            .collect();
        let path = folder.join(format!("{file}.npy"));
        ndarray_npy::write_npy(&path, value).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(path.display().to_string());
    }
    Ok(files)
}
