//! Progress bars on the terminal (stderr) while a job runs; none when the
//! output is JSON or stderr is not a terminal.

use std::io::IsTerminal;
use std::sync::Arc;

use blindfold_jobs::train::TrainingProgress;
use indicatif::{ProgressBar, ProgressStyle};

/// A bar, or a hidden one when nobody watches.
pub fn bar(total: u64, template: &str, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(ProgressStyle::with_template(template).expect("a valid template"));
    bar
}

/// A prediction's progress: inputs done of all.
pub fn inputs(json: bool) -> (ProgressBar, Arc<dyn Fn(usize, usize) + Send + Sync>) {
    let bar = bar(1, "{bar:40} {pos}/{len} inputs, {elapsed} ({eta} left)", json);
    let hook = bar.clone();
    let update = move |done: usize, total: usize| {
        hook.set_length(total as u64);
        hook.set_position(done as u64);
    };
    (bar, Arc::new(update))
}

/// A training's progress: the epoch, the last revealed loss, ops done.
pub fn training(json: bool) -> (ProgressBar, Arc<dyn Fn(TrainingProgress) + Send + Sync>) {
    let bar = bar(1, "{msg} {bar:40} {percent}% ({elapsed}, {eta} left)", json);
    let hook = bar.clone();
    let update = move |progress: TrainingProgress| {
        let loss = match &progress.loss {
            Some((name, value)) => format!(", {name}: mean squared error {value:.4}"),
            None => String::new(),
        };
        hook.set_length(progress.total as u64);
        hook.set_message(format!("epoch {}/{}{loss}", progress.epoch, progress.epochs));
        hook.set_position(progress.done as u64);
    };
    (bar, Arc::new(update))
}
