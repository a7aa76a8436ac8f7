//! The protocols blindfold parties run, one module each, on top of the ring
//! layer and the IR: [`pond`] (two servers and a crypto producer),
//! [`replicated`] (three servers, replicated shares, no producer) and the
//! plaintext references ([`plaintext`] in fixed point, [`float`] in f32/f64).
//!
//! A protocol talks to the network only through [`Communicator`], which the
//! runtime implements; the runtime drives each party's [`Executor`] over the
//! graph, node by node.

pub mod bounds;
pub mod calibration;
pub mod clear;
mod communicator;
pub mod dcf;
mod error;
mod executor;
pub mod float;
pub mod headroom;
mod party;
pub mod plaintext;
pub mod polynomial;
pub mod pond;
pub mod replicated;
#[cfg(test)]
mod test_network;

pub use communicator::{Communicator, Traffic};
pub use error::{ProtocolError, Result};
pub use executor::{Executor, last_uses};
pub use plaintext::{Inputs, Outputs};
