//! The runtime: sessions, the interpreter every party runs, transports and
//! profiling.
//!
//! A [`Session`] binds a graph to a protocol and parties; by default every
//! party is a thread of this process, connected by in-memory channels
//! ([`transport::in_process`]). Each party runs the same interpreter over
//! the same graph and does its own part of each op; the [`link::PartyLink`]
//! under it stamps and checks every message and records the [`Report`].

pub mod error;
pub mod link;
pub mod profile;
pub mod session;
pub mod transport;

pub use error::{Result, RuntimeError};
pub use profile::Report;
pub use session::{
    Fault, FaultKind, OfflinePhase, OutputHook, OverflowPolicy, PartyResult, ProgressHook, Protocol, Session,
    SessionOptions, SessionResult, UnknownProtocol, session_id,
};
