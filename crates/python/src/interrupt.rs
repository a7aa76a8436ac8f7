//! Long calls: the work runs on its own thread with the interpreter
//! released; every 100 ms the caller checks for signals, and on Ctrl-C it
//! sets the session's cancel flag, waits for the parties to stop (each
//! stops before its next op) and raises `KeyboardInterrupt` — no thread is
//! left behind. Meanwhile it can draw the work's progress on Python's
//! `sys.stderr` (so that notebooks show it too).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors::protocol_error;

/// How far a call has come: `done` of `total` `unit`s, set by the work.
pub struct Progress {
    pub done: AtomicUsize,
    pub total: AtomicUsize,
    unit: &'static str,
}

impl Progress {
    /// A progress of `unit`s (inputs, steps), nothing done yet.
    pub fn new(unit: &'static str) -> Arc<Progress> {
        Arc::new(Progress { done: AtomicUsize::new(0), total: AtomicUsize::new(0), unit })
    }

    /// Sets both counts.
    pub fn set(&self, done: usize, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
    }

    /// "[#########...........]  450/1000 inputs".
    fn line(&self) -> String {
        let (done, total) = (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed));
        let filled = (done * 30).checked_div(total).unwrap_or(0).min(30);
        format!("\r[{}{}] {done:>7}/{total} {}", "#".repeat(filled), ".".repeat(30 - filled), self.unit)
    }
}

/// Runs `work` (which watches `cancel`) off the interpreter, interruptibly.
pub fn run<T: Send + 'static>(
    py: Python<'_>,
    cancel: Arc<AtomicBool>,
    work: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    run_showing(py, cancel, None, work)
}

/// [`run`], drawing `progress` on `sys.stderr` while the work runs.
pub fn run_showing<T: Send + 'static>(
    py: Python<'_>,
    cancel: Arc<AtomicBool>,
    progress: Option<Arc<Progress>>,
    work: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    let (sender, receiver) = channel();
    let worker = std::thread::Builder::new()
        .name("blindfold call".into())
        .spawn(move || {
            let _ = sender.send(work());
        })
        .map_err(protocol_error)?;
    let draw = |py: Python<'_>, text: &str| {
        if let Ok(stderr) = py.import("sys").and_then(|sys| sys.getattr("stderr")) {
            let _ = stderr.call_method1("write", (text,));
            let _ = stderr.call_method0("flush");
        }
    };
    let mut receiver = Some(receiver);
    let mut drawn = false;
    let outcome = loop {
        let waiting = receiver.take().expect("the receiver is put back after each wait");
        let (received, waiting) =
            py.detach(move || (waiting.recv_timeout(Duration::from_millis(100)), waiting));
        receiver = Some(waiting);
        match received {
            Ok(value) => {
                let _ = py.detach(|| worker.join());
                break Ok(value);
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    cancel.store(true, Ordering::Relaxed);
                    let _ = py.detach(|| worker.join());
                    break Err(interrupt);
                }
                if let Some(progress) = &progress {
                    draw(py, &progress.line());
                    drawn = true;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = py.detach(|| worker.join());
                break Err(protocol_error("the computation crashed (a panic in blindfold)"));
            }
        }
    };
    if let (true, Some(progress)) = (drawn, &progress) {
        draw(py, &format!("{}\n", progress.line()));
    }
    outcome
}
