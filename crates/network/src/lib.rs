//! blindfold's parties on separate machines.
//!
//! Every party runs a long-lived [`worker`]: it listens on its endpoint with
//! mutual TLS, accepts only the peers and operators that the session's
//! [`config`] names (identified by certificates from one CA), and runs the
//! same interpreter as the in-process session over a [`NetworkEndpoint`]
//! (persistent TLS streams per pair of parties, length-prefixed [`frame`]s).
//! An operator's [`launcher`] sends the graph to every worker; each worker
//! runs it only if its operator approved the graph's hash
//! ([`approval`]), reads its own inputs from its own disk and writes its
//! own outputs to it.

pub mod approval;
pub mod certificates;
pub mod config;
pub mod control;
pub mod endpoint;
pub mod error;
pub mod frame;
pub mod identity;
pub mod launcher;
pub mod links;
pub mod local;
pub mod overflow;
pub mod worker;

pub use config::Config;
pub use endpoint::NetworkEndpoint;
pub use error::{NetworkError, Result};
