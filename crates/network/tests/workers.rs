//! Five workers on loopback, each in a thread of this test, with mutual TLS:
//! a networked session equals the in-process one (values within the
//! truncation bound, bytes and rounds exactly); concurrent sessions do not
//! mix; unapproved graphs are refused before any input is read; a stalled
//! peer, a foreign certificate, a truncated or oversized message end
//! sessions with errors naming the peer.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blindfold_ir::{Graph, GraphBuilder};
use blindfold_network::control::{
    InputRange, InputSource, OverflowCheck, PartyRequest, SecretSharing, TableShape,
};
use blindfold_network::frame::{self, Frame, Role};
use blindfold_network::identity::Identity;
use blindfold_network::launcher::{Launch, launch};
use blindfold_network::links::{Dial, Links, connect};
use blindfold_network::local::{LocalDeployment, prepare};
use blindfold_network::worker::{InputFiles, InputReader, ReadError, Worker};
use blindfold_network::{Config, NetworkError};
use blindfold_runtime::transport::{Message, TransportError};
use blindfold_runtime::{Session, SessionOptions};
use ndarray::{ArrayD, IxDyn};

const OWNER: &str = "alice";
const CLIENT: &str = "bob";
const OPERATOR: &str = "ops";

fn parties() -> Vec<String> {
    ["server0", "server1", "producer", OWNER, CLIENT].map(String::from).to_vec()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("blindfold-network-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Reads `.npy` inputs; counts reads; sleeps on files named `stall*`.
struct NpyFiles {
    reads: Arc<AtomicUsize>,
    stall: Duration,
}

impl InputFiles for NpyFiles {
    fn read(
        &self,
        path: &Path,
        source: &InputSource,
        _wanted: &[(String, Vec<usize>)],
    ) -> Result<HashMap<String, ArrayD<f64>>, ReadError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("stall")) {
            std::thread::sleep(self.stall);
        }
        let InputSource::Array { input, .. } = source else { return Err(ReadError::public("arrays only")) };
        let array: ArrayD<f64> = ndarray_npy::read_npy(path).map_err(|e| ReadError::public(e.to_string()))?;
        Ok(HashMap::from([(input.clone(), array)]))
    }

    fn describe(&self, _path: &Path) -> Result<TableShape, ReadError> {
        Err(ReadError::public("no tables here"))
    }
}

fn reader(reads: Arc<AtomicUsize>, stall: Duration) -> Arc<InputReader> {
    Arc::new(NpyFiles { reads, stall })
}

struct Cluster {
    deployment: LocalDeployment,
    reads: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<String>>>,
}

/// A deployment with every worker serving in a thread.
fn cluster(name: &str, timeout_s: f64) -> Cluster {
    let deployment = prepare(&scratch(name), &parties(), &[OPERATOR.to_string()], timeout_s).unwrap();
    let reads = Arc::new(AtomicUsize::new(0));
    let log = Arc::new(Mutex::new(Vec::new()));
    for party in parties() {
        let sink = Arc::clone(&log);
        let name = party.clone();
        let worker = Worker::bind(
            deployment.config.clone(),
            &party,
            reader(Arc::clone(&reads), Duration::from_secs_f64(timeout_s * 3.0)),
            Arc::new(move |line: &str| sink.lock().unwrap().push(format!("{name}: {line}"))),
        )
        .unwrap();
        std::thread::spawn(move || worker.serve());
    }
    Cluster { deployment, reads, log }
}

/// bob's x (2×4) times alice's w (4×3), ReLU, to bob; its sum to alice.
fn graph() -> Graph {
    let mut g = GraphBuilder::new();
    let x = g.private_input(CLIENT, "x", &[2, 4]).unwrap();
    let w = g.private_input(OWNER, "w", &[4, 3]).unwrap();
    let (x, w) = (g.share(x).unwrap(), g.share(w).unwrap());
    let y = g.matmul(x, w).unwrap();
    let y = g.relu(y).unwrap();
    g.output(CLIENT, "y", y).unwrap();
    let total = g.sum(y, &[0, 1], false).unwrap();
    g.output(OWNER, "total", total).unwrap();
    g.finish()
}

fn array(shape: &[usize], seed: f64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| (i as f64 * 0.37 + seed).sin() * 3.0).collect())
        .unwrap()
}

fn write(cluster: &Cluster, party: &str, file: &str, value: &ArrayD<f64>) {
    ndarray_npy::write_npy(cluster.deployment.data(party).join(file), value).unwrap();
}

fn request(x_file: &str, w_file: &str, out: &str) -> Launch {
    let array_input = |input: &str, path: &str| InputSource::Array {
        input: input.into(),
        path: path.into(),
        scale: None,
        rows: None,
    };
    Launch {
        graph: graph(),
        parties: parties(),
        parts: BTreeMap::from([
            (
                CLIENT.to_string(),
                PartyRequest { inputs: vec![array_input("x", x_file)], outputs: Some(out.into()) },
            ),
            (
                OWNER.to_string(),
                PartyRequest { inputs: vec![array_input("w", w_file)], outputs: Some(out.into()) },
            ),
        ]),
        timeout: Duration::from_secs(10),
        // The client's values lie in [−3, 3] (see `array`).
        overflow: OverflowCheck::Ranges(vec![InputRange {
            party: CLIENT.into(),
            input: "x".into(),
            low: -3.0,
            high: 3.0,
        }]),
        protocol: SecretSharing::Pond,
    }
}

fn read_output(cluster: &Cluster, party: &str, out: &str, name: &str) -> ArrayD<f64> {
    ndarray_npy::read_npy(cluster.deployment.data(party).join(out).join(format!("{name}.npy"))).unwrap()
}

fn assert_close(a: &ArrayD<f64>, b: &ArrayD<f64>, bound: f64) {
    assert_eq!(a.shape(), b.shape());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= bound, "{x} vs {y}");
    }
}

#[test]
fn a_networked_session_equals_the_in_process_one_and_concurrent_sessions_do_not_mix() {
    let cluster = cluster("equal", 10.0);
    cluster.deployment.approve(&graph(), &parties()).unwrap();
    let (x, w) = (array(&[2, 4], 0.0), array(&[4, 3], 1.0));
    let (x2, w2) = (array(&[2, 4], 5.0), array(&[4, 3], 7.0));
    write(&cluster, CLIENT, "x.npy", &x);
    write(&cluster, OWNER, "w.npy", &w);
    write(&cluster, CLIENT, "x2.npy", &x2);
    write(&cluster, OWNER, "w2.npy", &w2);
    let config = &cluster.deployment.config;
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| launch(config, OPERATOR, request("x.npy", "w.npy", "one")));
        let second = scope.spawn(|| launch(config, OPERATOR, request("x2.npy", "w2.npy", "two")));
        (first.join().unwrap().unwrap(), second.join().unwrap().unwrap())
    });
    assert_ne!(first.session, second.session);
    assert_eq!(first.hash, graph().hash());
    // Each receiver wrote its own output, on its own disk, nobody else's.
    assert_eq!(first.outputs.keys().collect::<Vec<_>>(), [OWNER, CLIENT]);
    for (out, x, w, launched) in [("one", &x, &w, &first), ("two", &x2, &w2, &second)] {
        let inputs = BTreeMap::from([
            (CLIENT.to_string(), HashMap::from([("x".to_string(), x.clone())])),
            (OWNER.to_string(), HashMap::from([("w".to_string(), w.clone())])),
        ]);
        let local = Session::new(graph()).options(SessionOptions::default()).run(inputs).unwrap();
        // Pond's truncation is probabilistic: within two ulps per value.
        let ulp = 2f64.powi(-(graph().fractional_bits() as i32));
        assert_close(&read_output(&cluster, CLIENT, out, "y"), local.output(CLIENT, "y").unwrap(), 2.0 * ulp);
        assert_close(
            &read_output(&cluster, OWNER, out, "total"),
            local.output(OWNER, "total").unwrap(),
            12.0 * ulp,
        );
        // The same protocol: the same bytes and rounds, party by party.
        for (remote, local) in launched.report.parties.iter().zip(&local.report.parties) {
            assert_eq!(remote.party, local.party);
            assert_eq!(
                (remote.bytes_sent, remote.offline_bytes_sent, remote.bytes_received, remote.rounds),
                (local.bytes_sent, local.offline_bytes_sent, local.bytes_received, local.rounds),
                "{}",
                remote.party
            );
        }
    }
}

#[test]
fn an_unapproved_graph_is_refused_by_every_worker_before_any_input_is_read() {
    let cluster = cluster("unapproved", 10.0);
    write(&cluster, CLIENT, "x.npy", &array(&[2, 4], 0.0));
    write(&cluster, OWNER, "w.npy", &array(&[4, 3], 1.0));
    let config = &cluster.deployment.config;
    let hash = graph().hash();
    let Err(NetworkError::Refused { refusals }) = launch(config, OPERATOR, request("x.npy", "w.npy", "o"))
    else {
        panic!("an unapproved graph ran");
    };
    assert_eq!(refusals.len(), 5, "{refusals:?}");
    for (party, reason) in &refusals {
        assert!(reason.contains(&hash) && reason.contains(&format!("{party}'s operator")), "{reason}");
    }
    // One party alone not approving stops the session everywhere.
    let approving: Vec<String> = parties().into_iter().filter(|p| p != "server1").collect();
    cluster.deployment.approve(&graph(), &approving).unwrap();
    let Err(NetworkError::Refused { refusals }) = launch(config, OPERATOR, request("x.npy", "w.npy", "o"))
    else {
        panic!("a graph server1 did not approve ran");
    };
    assert_eq!(refusals.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["server1"]);
    assert_eq!(cluster.reads.load(Ordering::SeqCst), 0, "an input was read");
    // Approved everywhere, it runs.
    cluster.deployment.approve(&graph(), &["server1".to_string()]).unwrap();
    launch(config, OPERATOR, request("x.npy", "w.npy", "o")).unwrap();
    assert_eq!(cluster.reads.load(Ordering::SeqCst), 2);
}

#[test]
fn a_stalled_peer_ends_the_session_within_the_timeout_with_its_name() {
    let cluster = cluster("stall", 1.0);
    cluster.deployment.approve(&graph(), &parties()).unwrap();
    write(&cluster, CLIENT, "x.npy", &array(&[2, 4], 0.0));
    write(&cluster, OWNER, "stall-w.npy", &array(&[4, 3], 1.0));
    let mut launch_request = request("x.npy", "stall-w.npy", "o");
    launch_request.timeout = Duration::from_secs(1);
    let started = Instant::now();
    let Err(NetworkError::Failed { failures, .. }) =
        launch(&cluster.deployment.config, OPERATOR, launch_request)
    else {
        panic!("the session survived a stalled party");
    };
    let servers: Vec<&(String, String)> = failures.iter().filter(|(p, _)| p.starts_with("server")).collect();
    assert_eq!(servers.len(), 2, "{failures:?}");
    for (_, reason) in servers {
        assert!(reason.contains("alice sent nothing for 1.0 s"), "{reason}");
    }
    // The stall is 3 s; the servers gave up after 1 s; the launcher waits
    // for alice to notice that everyone left.
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
}

#[test]
fn a_party_that_fails_tells_its_peers_why() {
    let cluster = cluster("why", 10.0);
    cluster.deployment.approve(&graph(), &parties()).unwrap();
    write(&cluster, CLIENT, "x.npy", &array(&[2, 4], 0.0));
    // alice's file is not there: alice fails reading it, and says so.
    let Err(NetworkError::Failed { failures, .. }) =
        launch(&cluster.deployment.config, OPERATOR, request("x.npy", "missing.npy", "o"))
    else {
        panic!("the session ran without alice's input");
    };
    let servers: Vec<&(String, String)> = failures.iter().filter(|(p, _)| p.starts_with("server")).collect();
    assert_eq!(servers.len(), 2, "{failures:?}");
    for (_, reason) in servers {
        assert!(
            reason.contains("alice left the session after it failed: alice: reading its input"),
            "{reason}"
        );
    }
}

#[test]
fn weights_that_overflow_on_the_declared_range_are_refused_by_their_owner() {
    let cluster = cluster("overflow", 10.0);
    cluster.deployment.approve(&graph(), &parties()).unwrap();
    write(&cluster, CLIENT, "x.npy", &array(&[2, 4], 0.0));
    write(&cluster, OWNER, "w.npy", &array(&[4, 3], 1.0).mapv(|v| v * 1e9));
    let Err(NetworkError::Failed { failures, stopped }) =
        launch(&cluster.deployment.config, OPERATOR, request("x.npy", "w.npy", "o"))
    else {
        panic!("the session ran weights that overflow");
    };
    assert_eq!(stopped, [OWNER], "{failures:?}");
    let (_, reason) = failures.iter().find(|(p, _)| p == OWNER).unwrap();
    assert!(reason.contains("fixed point could overflow at %") && !reason.contains("e9"), "{reason}");
    // The client's file outside its declared range is refused by the client.
    write(&cluster, OWNER, "w.npy", &array(&[4, 3], 1.0));
    write(&cluster, CLIENT, "x.npy", &array(&[2, 4], 0.0).mapv(|v| v * 2.0));
    let Err(NetworkError::Failed { failures, .. }) =
        launch(&cluster.deployment.config, OPERATOR, request("x.npy", "w.npy", "o"))
    else {
        panic!("the session ran inputs outside their declared range");
    };
    let (_, reason) = failures.iter().find(|(p, _)| p == CLIENT).unwrap();
    assert!(reason.contains("outside its declared range [-3, 3]"), "{reason}");
}

#[test]
fn a_certificate_from_another_ca_is_refused_at_connection() {
    let cluster = cluster("foreign", 10.0);
    let other = prepare(&scratch("foreign-ca"), &parties(), &[OPERATOR.to_string()], 10.0).unwrap();
    let endpoint = cluster.deployment.config.party("server0").unwrap().endpoint.clone();
    // An operator of the other CA: it refuses the worker, the worker it.
    let stranger = Identity::load(&other.config, OPERATOR).unwrap();
    match connect(
        &stranger,
        "server0",
        &endpoint,
        Role::Control,
        Duration::from_secs(5),
        Duration::from_secs(5),
    ) {
        Err(Dial::Refused(reason)) => assert!(reason.contains("certificate"), "{reason}"),
        _ => panic!("a foreign CA's worker was accepted"),
    }
    // A client that trusts the right CA but shows the other CA's certificate.
    let mut mixed = other.config.clone();
    mixed.ca = cluster.deployment.config.ca.clone();
    let foreign_certificate = blindfold_network::identity::read_certificates(&other.config.ca).unwrap();
    assert!(!foreign_certificate.is_empty());
    let error = Identity::load(&mixed, OPERATOR).unwrap_err();
    assert!(error.to_string().contains("not valid for 'ops' under the CA"), "{error}");
    let launcher_error = launch(&mixed, OPERATOR, request("x.npy", "w.npy", "o")).unwrap_err();
    assert!(matches!(launcher_error, NetworkError::Tls(_)), "{launcher_error}");
    // The worker's side: a raw TLS client with the foreign certificate.
    let refused = foreign_client_is_refused(&cluster.deployment.config, &other.config, &endpoint);
    assert!(
        refused.contains("alert") || refused.contains("closed") || refused.contains("reset"),
        "{refused}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cluster
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("server0: refused a connection") && l.contains("certificate"))
    {
        assert!(Instant::now() < deadline, "{:?}", cluster.log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Connects to `endpoint` trusting `trusted`'s CA, with `foreign`'s operator
/// certificate; returns how it failed.
fn foreign_client_is_refused(trusted: &Config, foreign: &Config, endpoint: &str) -> String {
    use rustls::pki_types::pem::PemObject;
    use std::io::{Read, Write};
    let mut roots = rustls::RootCertStore::empty();
    for ca in blindfold_network::identity::read_certificates(&trusted.ca).unwrap() {
        roots.add(ca).unwrap();
    }
    let (certificate, key) = foreign.credentials(OPERATOR).unwrap();
    let chain = blindfold_network::identity::read_certificates(&certificate).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&key).unwrap();
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap();
    let mut tcp = std::net::TcpStream::connect(endpoint).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::ClientConnection::new(Arc::new(config), "server0".try_into().unwrap()).unwrap();
    let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
    let _ = frame::write_frame(&mut stream, &Frame::Hello { version: frame::VERSION, role: Role::Control });
    let _ = stream.flush();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => "closed".into(),
        Ok(_) => panic!("the worker answered a foreign certificate"),
        Err(error) => error.to_string(),
    }
}

fn data_frame(session: u64, payload: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    let message = Message {
        session,
        op: 0,
        sequence: 0,
        traffic: blindfold_protocols::Traffic::Online,
        round: 0,
        op_round: 0,
        payload: vec![7; payload],
    };
    frame::write_data(&mut bytes, &message).unwrap();
    bytes
}

/// A peer stream fed `bytes`: what a session waiting on it gets.
fn feed(name: &str, bytes: Vec<u8>, max_message_mib: u64) -> Vec<Result<Message, TransportError>> {
    let deployment = prepare(&scratch(name), &parties(), &[], 10.0).unwrap();
    let mut config = deployment.config.clone();
    config.max_message_bytes = (max_message_mib as usize) << 20;
    let identity = Identity::load(&config, "server0").unwrap();
    let links = Arc::new(Links::new(identity, Arc::new(config)));
    links.open_session(9, &["server1".to_string()]);
    let reading = Arc::clone(&links);
    std::thread::spawn(move || reading.serve_peer("server1", bytes.as_slice()));
    (0..2).map(|_| links.receive(9, "server1", Duration::from_secs(5))).collect()
}

#[test]
fn truncated_and_oversized_messages_fail_the_session_naming_the_peer() {
    let whole = data_frame(9, 100);
    let mut truncated = whole.clone();
    truncated.extend(&data_frame(9, 1000)[..500]);
    let results = feed("truncated", truncated, 1);
    assert_eq!(results[0].as_ref().unwrap().payload.len(), 100);
    match &results[1] {
        Err(TransportError::Connection { peer, reason }) => {
            assert_eq!(peer, "server1");
            assert!(reason.contains("truncated message: 500 of 1042 bytes"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let mut oversized = whole;
    oversized.extend(&data_frame(9, (1 << 20) + 1)[..64]);
    let results = feed("oversized", oversized, 1);
    assert!(results[0].is_ok());
    match &results[1] {
        Err(TransportError::Connection { peer, reason }) => {
            assert_eq!(peer, "server1");
            assert!(reason.contains("over the 1048576-byte limit, was refused"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_worker_whose_operator_turned_describing_off_describes_nothing() {
    let deployment = prepare(&scratch("describe-off"), &parties(), &[OPERATOR.to_string()], 10.0).unwrap();
    let mut config = deployment.config.clone();
    config.parties.get_mut(CLIENT).unwrap().describe = false;
    let worker = Worker::bind(
        config,
        CLIENT,
        reader(Arc::new(AtomicUsize::new(0)), Duration::ZERO),
        Arc::new(|_: &str| {}),
    )
    .unwrap();
    std::thread::spawn(move || worker.serve());
    let error =
        blindfold_network::launcher::describe(&deployment.config, OPERATOR, CLIENT, "table.csv").unwrap_err();
    assert!(error.to_string().contains("does not let its worker describe tables"), "{error}");
}

#[test]
fn connections_in_their_handshake_are_capped_in_all_and_cut_at_the_deadline() {
    let deployment = prepare(&scratch("handshakes"), &parties(), &[OPERATOR.to_string()], 10.0).unwrap();
    let mut config = deployment.config.clone();
    config.limits.max_handshakes = 4;
    config.limits.max_handshakes_per_address = 100;
    config.limits.handshake_timeout = Duration::from_millis(800);
    let worker = Worker::bind(
        config,
        "server0",
        reader(Arc::new(AtomicUsize::new(0)), Duration::ZERO),
        Arc::new(|_: &str| {}),
    )
    .unwrap();
    let monitor = worker.monitor();
    let endpoint = deployment.config.party("server0").unwrap().endpoint.clone();
    std::thread::spawn(move || worker.serve());
    // Twenty silent connections: at most four are held, and only until
    // the deadline.
    let silent: Vec<std::net::TcpStream> =
        (0..20).filter_map(|_| std::net::TcpStream::connect(&endpoint).ok()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let held = monitor.holdings();
    assert!(held.handshaking <= 4 && held.connections <= 4, "{held:?}");
    std::thread::sleep(Duration::from_millis(1200));
    let after = monitor.holdings();
    assert_eq!((after.handshaking, after.connections), (0, 0), "{after:?}");
    drop(silent);
    // An operator still gets in.
    blindfold_network::launcher::status(&deployment.config, OPERATOR, "server0").unwrap();
}
