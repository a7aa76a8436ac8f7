//! Bad graphs and inputs are typed errors naming the op; a party that
//! crashes, leaves, stalls or sends garbage ends the session with an error
//! naming that party, within a bounded time, never a hang.

mod common;

use std::time::{Duration, Instant};

use blindfold_ir::{GraphBuilder, GraphError};
use blindfold_runtime::{Fault, FaultKind, Protocol, RuntimeError, Session, SessionOptions};
use common::{inputs, random};

fn two_party_graph() -> blindfold_ir::Graph {
    let mut g = GraphBuilder::new();
    let x = g.private_input("client", "x", &[2, 3]).unwrap();
    let w = g.private_input("owner", "w", &[3, 2]).unwrap();
    let y = g.matmul(x, w).unwrap();
    let z = g.square(y).unwrap();
    g.output("client", "z", z).unwrap();
    g.finish()
}

fn good_inputs() -> blindfold_protocols::Inputs {
    inputs(vec![("client", "x", random(&[2, 3], 1.0, 1)), ("owner", "w", random(&[3, 2], 1.0, 2))])
}

fn with_fault(party: &str, node: u32, kind: FaultKind) -> SessionOptions {
    SessionOptions {
        timeout: Duration::from_secs(2),
        fault: Some(Fault { party: party.into(), node, kind }),
        ..SessionOptions::default()
    }
}

#[test]
fn an_output_to_an_unknown_party_names_the_op() {
    let options = SessionOptions { parties: Some(vec!["client".into()]), ..SessionOptions::default() };
    let error = Session::new(two_party_graph()).options(options).run(good_inputs()).unwrap_err();
    match error {
        RuntimeError::Graph(GraphError::UnknownParty { op, party, .. }) => {
            assert_eq!(party, "owner");
            assert_eq!(op, "input");
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn missing_and_misshapen_inputs_are_reported_before_anything_runs() {
    let mut values = good_inputs();
    values.get_mut("owner").unwrap().clear();
    let error = Session::new(two_party_graph()).run(values).unwrap_err();
    assert!(error.to_string().contains("owner has no input named 'w'"), "{error}");
    let mut values = good_inputs();
    values.get_mut("client").unwrap().insert("x".into(), random(&[3, 2], 1.0, 3));
    let error = Session::new(two_party_graph()).run(values).unwrap_err();
    assert!(error.to_string().contains("[2, 3]") && error.to_string().contains("[3, 2]"), "{error}");
    let mut values = good_inputs();
    values.insert("mallory".into(), Default::default());
    assert!(matches!(
        Session::new(two_party_graph()).run(values),
        Err(RuntimeError::UnknownInputParty { .. })
    ));
}

#[test]
fn an_unencodable_input_names_neither_its_position_nor_its_value() {
    let mut values = good_inputs();
    let mut x = random(&[2, 3], 1.0, 1);
    x[[1, 2]] = 1.0e300;
    values.get_mut("client").unwrap().insert("x".into(), x);
    let error = Session::new(two_party_graph()).run(values).unwrap_err();
    // The message reaches every party; the position only the owner's log.
    let text = error.to_string();
    assert!(text.contains("client") && text.contains("outside the representable range"), "{text}");
    assert!(!text.contains("[1, 2]") && !text.contains("1e300"), "{text}");
    assert_eq!(error.private_detail().unwrap(), "the first such value is at position [1, 2]");
}

/// Runs with a fault and checks the error names `party` within a few seconds.
fn fails_naming(party: &str, kind: FaultKind) -> RuntimeError {
    fails_naming_under(Protocol::Pond, party, kind)
}

/// [`fails_naming`] under `protocol`.
fn fails_naming_under(protocol: Protocol, party: &str, kind: FaultKind) -> RuntimeError {
    let start = Instant::now();
    let session = Session::new(two_party_graph()).protocol(protocol).options(with_fault(party, 4, kind));
    let error = session.run(good_inputs()).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert!(error.to_string().contains(party), "{error} does not name {party}");
    error
}

/// The replicated protocol's third server failing in each way: the
/// session ends with an error naming it, as Pond's do.
#[test]
fn under_the_replicated_protocol_a_failing_server2_is_named() {
    let error = fails_naming_under(Protocol::Replicated, "server2", FaultKind::Panic);
    assert!(matches!(error, RuntimeError::PartyPanicked { ref party, .. } if party == "server2"), "{error}");
    let error = fails_naming_under(Protocol::Replicated, "server2", FaultKind::Leave);
    assert!(matches!(error, RuntimeError::Party { ref party, .. } if party == "server2"), "{error}");
    let error = fails_naming_under(Protocol::Replicated, "server2", FaultKind::Stall);
    assert!(matches!(error, RuntimeError::Party { .. }), "{error}");
    let error = fails_naming_under(Protocol::Replicated, "server2", FaultKind::Garbage);
    let text = error.to_string();
    assert!(text.contains("arrived") || text.contains("bytes"), "{text}");
}

#[test]
fn a_crashing_party_is_named() {
    let error = fails_naming("server1", FaultKind::Panic);
    assert!(matches!(error, RuntimeError::PartyPanicked { ref party, .. } if party == "server1"), "{error}");
}

#[test]
fn a_party_that_leaves_is_named() {
    let error = fails_naming("server0", FaultKind::Leave);
    assert!(matches!(error, RuntimeError::Party { ref party, .. } if party == "server0"), "{error}");
}

#[test]
fn a_stalled_party_is_named_after_the_timeout() {
    // Its peers time out waiting for server1 (2 s) and fail naming it; the
    // staller itself gives up later. Either way the error names server1.
    let start = Instant::now();
    let error = fails_naming("server1", FaultKind::Stall);
    assert!(start.elapsed() >= Duration::from_secs(2));
    assert!(matches!(error, RuntimeError::Party { .. }), "{error}");
}

#[test]
fn an_unexpected_message_is_an_error_not_a_wrong_answer() {
    let error = fails_naming("server0", FaultKind::Garbage);
    let text = error.to_string();
    assert!(text.contains("server0") && (text.contains("arrived") || text.contains("bytes")), "{text}");
}
