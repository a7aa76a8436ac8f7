//! Long calls: the work runs on its own thread with the interpreter
//! released; every 100 ms the caller checks for signals, and on Ctrl-C it
//! sets the session's cancel flag, waits for the parties to stop (each
//! stops before its next op) and raises `KeyboardInterrupt` — no thread is
//! left behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors::protocol_error;

/// Runs `work` (which watches `cancel`) off the interpreter, interruptibly.
pub fn run<T: Send + 'static>(
    py: Python<'_>,
    cancel: Arc<AtomicBool>,
    work: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    let (sender, receiver) = channel();
    let worker = std::thread::Builder::new()
        .name("blindfold call".into())
        .spawn(move || {
            let _ = sender.send(work());
        })
        .map_err(protocol_error)?;
    let mut receiver = Some(receiver);
    loop {
        let waiting = receiver.take().expect("the receiver is put back after each wait");
        let (received, waiting) =
            py.detach(move || (waiting.recv_timeout(Duration::from_millis(100)), waiting));
        receiver = Some(waiting);
        match received {
            Ok(value) => {
                let _ = py.detach(|| worker.join());
                return Ok(value);
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    cancel.store(true, Ordering::Relaxed);
                    let _ = py.detach(|| worker.join());
                    return Err(interrupt);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = py.detach(|| worker.join());
                return Err(protocol_error("the computation crashed (a panic in blindfold)"));
            }
        }
    }
}
