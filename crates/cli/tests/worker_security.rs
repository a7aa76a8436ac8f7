//! The security review's findings against five `blindfold worker`
//! processes on loopback: a headerless table's rows never reach the
//! launcher; errors that cross parties carry no position or value of a
//! private input; a half-started session is dropped with its buffers; a
//! slow-handshake flood leaves the worker serving with bounded threads;
//! symbolic links do not lead out of a data folder and outputs are never
//! replaced; a frozen (SIGSTOP) server, receiver or producer ends the
//! session everywhere within twice the timeout, and the launcher names it.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use blindfold_jobs::launch::{PredictionLaunch, prediction_graph, prediction_launch};
use blindfold_network::control::{self, Holdings, Reply, Request, SessionRequest};
use blindfold_network::identity::Identity;
use blindfold_network::launcher::{control_stream, status};
use blindfold_network::links::ControlStream;
use blindfold_onnx::SigmoidMethod;
use common::{BINARY, Workers, parties, repository, text};
use ndarray::ArrayD;

const OPERATOR: &str = "operator";

fn holdings(workers: &Workers, party: &str) -> Holdings {
    status(&workers.local.deployment.config, OPERATOR, party).unwrap()
}

/// Every worker's log but `except`'s, and the launcher's output.
fn everything_but(workers: &Workers, except: &str, launcher: &str) -> String {
    let logs: Vec<String> = parties().iter().filter(|p| *p != except).map(|p| workers.log(p)).collect();
    format!("{}\n{launcher}", logs.join("\n"))
}

#[test]
fn describe_never_shows_a_headerless_tables_rows() {
    let workers = Workers::new("describe", 10.0);
    let data = workers.local.deployment.data("prediction-client");
    std::fs::write(data.join("patients.csv"), "4711.5,37.2,1\n80.25,36.6,0\n").unwrap();
    let train = |table: &str, label: &str| {
        Command::new(BINARY)
            .args(["run", "--config"])
            .arg(&workers.local.deployment.config_path)
            .args(["train", "linreg", "--data", &format!("prediction-client={table}")])
            .args(["--label-column", label])
            .output()
            .unwrap()
    };
    // The review's attack: a label name the table cannot have.
    let output = train("patients.csv", "target");
    let said = text(&output);
    assert!(!output.status.success());
    assert!(said.contains("has no header line"), "{said}");
    let everywhere = everything_but(&workers, "", &said);
    for private in ["4711.5", "37.2", "80.25", "36.6"] {
        assert!(!everywhere.contains(private), "'{private}' left the client's worker: {everywhere}");
    }
    // A header the file declares is public, and is named.
    std::fs::write(data.join("named.csv"), "weight,temperature,sick\n4711.5,37.2,1\n").unwrap();
    let said = text(&train("named.csv", "target"));
    assert!(said.contains("weight,temperature,sick") && !said.contains("4711.5"), "{said}");
    // A typo in the first row is an error, not a header to show.
    std::fs::write(data.join("typo.csv"), "4711.5,37.2.1,1\n80.25,36.6,0\n").unwrap();
    let said = text(&train("typo.csv", "2"));
    assert!(said.contains("neither a header") && !said.contains("4711.5"), "{said}");
    assert!(!everything_but(&workers, "prediction-client", &said).contains("typo.csv:1"), "{said}");
}

/// Network A's images with one pixel far out of the fixed-point range.
fn planted_images(workers: &Workers) -> (Vec<usize>, String) {
    let data = workers.local.deployment.data("prediction-client");
    let mut images: ArrayD<f64> = ndarray_npy::read_npy(data.join("images.npy")).unwrap();
    images[[0, 3, 3]] = 1e17;
    ndarray_npy::write_npy(data.join("planted.npy"), &images).unwrap();
    let model =
        prediction_graph(&repository("models/mnist-a.onnx"), 16, SigmoidMethod::Clamped, None).unwrap();
    let shape = model.input_shape.clone();
    let position = if shape.len() == 4 { vec![0, 0, 3, 3] } else { vec![0, 3 * 28 + 3] };
    (position.clone(), format!("{position:?}"))
}

#[test]
fn errors_that_cross_parties_carry_no_position_or_value() {
    let workers = Workers::new("sanitised", 10.0);
    workers.approve("a", 16);
    let (_, position) = planted_images(&workers);
    // The declared range catches the planted pixel first, without its value.
    let output = workers.predict_file("a", 16, "planted.npy", "ranged").output().unwrap();
    let said = text(&output);
    assert!(said.contains("input 'image' has values outside its declared range [0, 1]"), "{said}");
    assert!(!said.contains("1e17") && !said.contains("1e+17"), "{said}");
    // Without the check, the encoding refuses it, again without its value.
    let output = workers
        .predict_file("a", 16, "planted.npy", "planted")
        .arg("--accept-overflow-risk")
        .output()
        .unwrap();
    let said = text(&output);
    assert!(!output.status.success(), "an unencodable input ran: {said}");
    assert!(said.contains("outside the representable range"), "{said}");
    let elsewhere = everything_but(&workers, "prediction-client", &said);
    let digits = format!("{}", 1e17 / 255.0);
    for private in [position.as_str(), &digits[..8], "1e17", "100000000000000000"] {
        assert!(!elsewhere.contains(private), "'{private}' crossed parties: {elsewhere}");
    }
    // The owner's own log has the detail.
    assert!(workers.log("prediction-client").contains(&position), "{}", workers.log("prediction-client"));
}

/// Prepares a prediction at every worker and starts it at all but
/// `left_out`; the operator's streams stay open, silent (a launcher hung
/// between its starts), until the result is dropped.
fn partial_start(workers: &Workers, left_out: &str) -> Vec<(String, ControlStream)> {
    let config = &workers.local.deployment.config;
    let model =
        prediction_graph(&repository("models/mnist-a.onnx"), 16, SigmoidMethod::Clamped, None).unwrap();
    let request = PredictionLaunch {
        weights: "mnist-a.onnx".into(),
        input: "images.npy".into(),
        scale: None,
        first: 0,
        out: None,
        input_range: Some((0.0, 1.0)),
        accept_overflow_risk: false,
    };
    let launch = prediction_launch(&model, &request, config.timeout, Default::default()).unwrap();
    let identity = Identity::load(config, OPERATOR).unwrap();
    let session = blindfold_runtime::session_id();
    let mut streams = Vec::new();
    for party in &launch.parties {
        let mut stream = control_stream(config, &identity, party).unwrap();
        let request = SessionRequest {
            session,
            graph: launch.graph.to_bytes(),
            parties: launch.parties.clone(),
            timeout_ms: launch.timeout.as_millis() as u64,
            part: launch.parts.get(party).cloned().unwrap_or_default(),
            overflow: launch.overflow.clone(),
            protocol: launch.protocol,
        };
        control::send(&mut stream, &Request::Prepare(request)).unwrap();
        assert!(matches!(control::receive::<Reply>(&mut stream).unwrap(), Reply::Prepared { .. }));
        streams.push((party.clone(), stream));
    }
    for (party, stream) in &mut streams {
        if party != left_out {
            control::send(stream, &Request::Start).unwrap();
        }
    }
    streams
}

#[test]
fn a_partial_start_leaves_the_worker_as_it_was() {
    let timeout_s = 3.0;
    let workers = Workers::new("partial", timeout_s);
    workers.approve("a", 16);
    // A whole session first: every stream between the workers exists.
    let output = workers.predict("a", 16, 0, "warm").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let before: Vec<Holdings> = parties().iter().map(|p| holdings(&workers, p)).collect();
    let hung = partial_start(&workers, "server1");
    // While the others run, server1 buffers what they send it.
    let deadline = Instant::now() + Duration::from_secs_f64(timeout_s);
    while holdings(&workers, "server1").buffered_bytes == 0 {
        assert!(Instant::now() < deadline, "the peers sent server1 nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Within the timeout (and the others' failures), all of it is gone,
    // though the launcher's streams are still open.
    std::thread::sleep(Duration::from_secs_f64(timeout_s * 2.0 + 0.5));
    assert!(workers.log("server1").contains("no start from operator"), "{}", workers.log("server1"));
    for (party, before) in parties().iter().zip(&before) {
        let after = holdings(&workers, party);
        assert_eq!((after.mailboxes, after.buffered_bytes, after.sessions), (0, 0, 0), "{party}: {after:?}");
        assert_eq!(after.connections, before.connections, "{party}: {before:?} then {after:?}");
        assert_eq!(after.threads, before.threads, "{party}: {before:?} then {after:?}");
    }
    drop(hung);
    // A launcher that dies between its starts: dropped at once.
    let before = holdings(&workers, "server1");
    drop(partial_start(&workers, "server1"));
    std::thread::sleep(Duration::from_secs_f64(timeout_s * 2.0 + 0.5));
    let after = holdings(&workers, "server1");
    assert_eq!((after.mailboxes, after.buffered_bytes), (0, 0), "{after:?}");
    assert_eq!(after.threads, before.threads, "{before:?} then {after:?}");
    // And the workers serve the next session.
    let output = workers.predict("a", 16, 16, "after").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn a_slow_handshake_flood_leaves_the_worker_serving_with_bounded_threads() {
    let settings = "handshake_timeout_s = 2\nmax_handshakes_per_address = 8\nmax_connections = 64";
    let workers = Workers::with_settings("flood", 10.0, settings);
    workers.approve("a", 16);
    let output = workers.predict("a", 16, 0, "warm").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let before = holdings(&workers, "server0");
    let target: SocketAddr =
        workers.local.deployment.config.party("server0").unwrap().endpoint.parse().unwrap();
    // 200 connections from a second loopback address, each sending a TLS
    // record header announcing 512 bytes, then trickling one byte of it
    // every 300 ms.
    let flooding = std::thread::spawn(move || {
        let mut sockets = Vec::new();
        for _ in 0..200 {
            let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            socket.bind(&"127.0.0.2:0".parse::<SocketAddr>().unwrap().into()).unwrap();
            if socket.connect_timeout(&target.into(), Duration::from_secs(1)).is_ok() {
                let mut stream = std::net::TcpStream::from(socket);
                let _ = stream.write(&[0x16, 0x03, 0x01, 0x02, 0x00]);
                sockets.push(stream);
            }
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            for socket in &mut sockets {
                let _ = socket.write(&[0x01]);
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let during = holdings(&workers, "server0");
    assert!(during.handshaking <= 8 + 1, "{during:?}");
    assert!(during.connections <= before.connections + 9, "{before:?} then {during:?}");
    let threads = |h: &Holdings| h.threads.unwrap_or(0);
    assert!(threads(&during) <= threads(&before) + 9, "{before:?} then {during:?}");
    // Sessions run meanwhile.
    let output = workers.predict("a", 16, 16, "during").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    flooding.join().unwrap();
    // Every flood connection was cut at the handshake deadline.
    std::thread::sleep(Duration::from_millis(2500));
    let after = holdings(&workers, "server0");
    assert_eq!((after.handshaking, after.connections), (0, before.connections), "{after:?}");
    assert!(workers.log("server0").contains("the handshake took too long"), "{}", workers.log("server0"));
    assert!(workers.log("server0").contains("max_handshakes_per_address"), "{}", workers.log("server0"));
}

#[test]
fn symbolic_links_do_not_lead_out_of_the_data_folder_and_outputs_are_never_replaced() {
    let workers = Workers::new("links", 10.0);
    workers.approve("a", 16);
    let client = workers.local.deployment.data("prediction-client");
    let outside = workers.local.deployment.dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::copy(client.join("images.npy"), outside.join("secret.npy")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.npy"), client.join("link.npy")).unwrap();
    let output = workers.predict_file("a", 16, "link.npy", "o").output().unwrap();
    assert!(!output.status.success());
    assert!(text(&output).contains("leads out of the data folder"), "{}", text(&output));
    // An output folder that is a link to elsewhere.
    std::os::unix::fs::symlink(&outside, client.join("escape")).unwrap();
    let output = workers.predict("a", 16, 0, "escape").output().unwrap();
    assert!(!output.status.success());
    assert!(text(&output).contains("leads out of the data folder"), "{}", text(&output));
    assert!(!outside.join("logits.npy").exists());
    // An output file that is a link: not followed, not replaced.
    std::fs::create_dir_all(client.join("out")).unwrap();
    std::os::unix::fs::symlink(outside.join("victim.npy"), client.join("out/logits.npy")).unwrap();
    let output = workers.predict("a", 16, 0, "out").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(!outside.join("victim.npy").exists());
    assert!(client.join("out/logits-1.npy").exists());
    let output = workers.predict("a", 16, 0, "out").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(client.join("out/logits-2.npy").exists());
}

fn signal(workers: &Workers, party: &str, signal: i32) {
    let pid = workers.local.pid(party).expect("a running worker") as libc::pid_t;
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "signalling {party}");
}

#[test]
fn a_frozen_party_ends_the_session_everywhere_within_twice_the_timeout_and_is_named() {
    let timeout_s = 3.0;
    let workers = Workers::new("frozen", timeout_s);
    workers.approve("c", 16);
    workers.approve("a", 16);
    let bound = Duration::from_secs_f64(2.0 * timeout_s);
    // A server, the receiver (also an input owner), the producer: frozen
    // mid-session. The model owner, whose part is over once its weights
    // are shared: frozen before the launch.
    let roles = [("server1", true), ("prediction-client", true), ("producer", true), ("model-owner", false)];
    for (round, (frozen, mid_session)) in roles.into_iter().enumerate() {
        let count = |party: &str| workers.log(party).matches("started by operator").count();
        let already: Vec<usize> = parties().iter().map(|p| count(p)).collect();
        if !mid_session {
            signal(&workers, frozen, libc::SIGSTOP);
        }
        let frozen_at = Instant::now();
        let session = workers
            .predict("c", 16, 0, &format!("c{round}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Freeze it once the session runs everywhere.
        let deadline = Instant::now() + Duration::from_secs(60);
        while mid_session && parties().iter().zip(&already).any(|(p, &n)| count(p) <= n) {
            assert!(Instant::now() < deadline, "the session never started: {}", workers.log("server0"));
            std::thread::sleep(Duration::from_millis(10));
        }
        let frozen_at = if mid_session {
            std::thread::sleep(Duration::from_millis(200));
            signal(&workers, frozen, libc::SIGSTOP);
            Instant::now()
        } else {
            frozen_at
        };
        let output = session.wait_with_output().unwrap();
        let ended = frozen_at.elapsed();
        let said = text(&output);
        signal(&workers, frozen, libc::SIGCONT);
        assert!(!output.status.success(), "the session survived a frozen {frozen}: {said}");
        assert!(ended <= bound, "{frozen} frozen: the launcher returned after {ended:?}: {said}");
        if mid_session {
            assert!(said.contains(&format!("the session failed at {frozen} ")), "{frozen}: {said}");
        } else {
            assert!(
                said.contains(&format!("{frozen}: ")) && said.contains("did not complete the handshake"),
                "{said}"
            );
        }
        // The others ended too (their logs say so), and all keep serving.
        let output = workers.predict("a", 16, 0, &format!("after{round}")).output().unwrap();
        assert!(output.status.success(), "after freezing {frozen}: {}", text(&output));
    }
}
