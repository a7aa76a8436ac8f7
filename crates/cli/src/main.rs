//! `blindfold`: private machine learning from the command line. This file
//! only dispatches: the flags are in `args.rs`, the jobs in `blindfold-jobs`,
//! the printing in `render.rs`, the benchmarks in `bench/`.

mod args;
mod error;
mod on_workers;
mod progress;
mod render;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use args::{Cli, Command, GraphAction, KindChoice, PredictArgs, PredictProtocol};
use blindfold_cli::bench;
use blindfold_jobs::predict_paillier::{self, PaillierOptions};
use blindfold_jobs::{JobError, predict, train};
use blindfold_network::{Config, approval, certificates, worker::Worker};
use blindfold_runtime::OverflowPolicy;
use clap::Parser;
use error::CliError;
use serde_json::Value;

/// mimalloc keeps freed pages for reuse: sessions allocate and free many
/// megabyte-sized shares, and the system allocator returns them to the
/// kernel and faults them in again (a quarter of a session's time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    blindfold_jobs::allocator::keep_freed_memory();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(detail) = error.private_detail() {
                eprintln!("  in detail (this process holds every party's data): {detail}");
            }
            ExitCode::from(if error.is_usage() { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Demo { batch, protocol, json, trace } => {
            let demo = blindfold_ml::demo::Demo::run(batch as usize, protocol, Default::default())?;
            if let Some(path) = trace {
                demo.report.write_chrome_trace(&path).map_err(|e| CliError::write(&path, e))?;
            }
            show(json, || demo.report.to_json(), || demo.to_string());
        }
        Command::Predict(args) => predict(args)?,
        Command::Train {
            data,
            test,
            training,
            no_standardize,
            scale,
            model,
            accept_overflow_risk,
            out,
            json,
            protocol,
        } => {
            let mut config = training.config(data.kind);
            config.protocol = protocol;
            let mut request = train::TrainRequest::new(config, &data.label_column);
            request.classes = training.classes.map(|c| c as usize);
            request.standardize = !no_standardize;
            request.scale = scale;
            request.architecture = match (data.kind, model) {
                (KindChoice::Onnx, Some(path)) => {
                    Some(std::fs::read(&path).map_err(|e| JobError::file(&path, e))?)
                }
                (KindChoice::Onnx, None) => {
                    return Err(JobError::Invalid("train onnx needs --model INIT.onnx".into()).into());
                }
                (_, Some(_)) => {
                    return Err(JobError::Invalid(
                        "--model is for kind onnx: blindfold train onnx --model INIT.onnx ...".into(),
                    )
                    .into());
                }
                (_, None) => None,
            };
            request.overflow = overflow_policy(accept_overflow_risk);
            let (bar, hook) = progress::training(json);
            request.progress = Some(hook);
            let sources = train::read_sources(&data.data)?;
            let test = test.map(|path| train::read_sources(&[("test".into(), path)])).transpose()?;
            let outcome = train::train(&request, &sources, test.as_ref().and_then(|t| t.first()));
            bar.finish_and_clear();
            let outcome = outcome?;
            if let Some(path) = &out {
                write(path, &outcome.model)?;
            }
            let out = out.as_deref();
            show(json, || outcome.record(out), || render::training_text(&outcome, out));
        }
        Command::Worker { config, party } => {
            let started = std::time::Instant::now();
            let name = party.clone();
            let log =
                move |line: &str| eprintln!("[{:10.3} s] {name}: {line}", started.elapsed().as_secs_f64());
            let reader = blindfold_jobs::files::input_reader();
            let worker = Worker::bind(Config::load(&config)?, &party, reader, Arc::new(log))?;
            eprintln!("{party}: listening on {}", worker.local_address()?);
            worker.serve()?;
        }
        Command::Certs { config, out } => {
            let config = Config::load(&config)?;
            let names: Vec<String> = config.parties.keys().chain(config.operators.keys()).cloned().collect();
            let files = certificates::generate(&names, "blindfold test CA", &out)?;
            println!(
                "wrote {} files to {} (a test CA; keep the .key files private)",
                files.len(),
                out.display()
            );
        }
        Command::Graph { action: GraphAction::Hash { file } } => {
            println!("{}", approval::read_graph(&file)?.hash())
        }
        Command::Graph { action: GraphAction::Predict { model, out } } => {
            let imported = model.import()?;
            write(&out, &imported.graph.to_bytes())?;
            println!("{}", imported.graph.hash());
        }
        Command::Run { launch, job } => on_workers::run(launch, job)?,
        Command::Bench(args) => {
            let json = args.json;
            bench::print(&bench::run(args.suite, args.options())?, json);
        }
    }
    Ok(())
}

fn predict(args: PredictArgs) -> Result<(), CliError> {
    let PredictProtocol::Session(protocol) = args.protocol else {
        let (bar, hook) = progress::inputs(args.json);
        let options = PaillierOptions { key_bits: args.key_bits, limit: args.limit, progress: Some(hook) };
        let prediction = predict_paillier::run(&args.model, &args.first_input(), &options);
        bar.finish_and_clear();
        let prediction = prediction?;
        show(args.json, || prediction.record(), || render::paillier_text(&prediction));
        return Ok(());
    };
    let (bar, hook) = progress::inputs(args.json);
    let options = predict::PredictOptions {
        progress: Some(hook),
        overflow: overflow_policy(args.accept_overflow_risk),
        ..args.options(protocol)
    };
    let outcome = predict::predict_files(&args.files(), &options);
    bar.finish_and_clear();
    let outcome = outcome?;
    if let (Some(path), Some(report)) = (&args.trace, &outcome.prediction.first_report) {
        report.write_chrome_trace(path).map_err(|e| CliError::write(path, e))?;
    }
    show(args.json, || outcome.record(), || render::prediction_text(&outcome));
    Ok(())
}

/// Refuse a model whose values could overflow, unless the user accepts it.
fn overflow_policy(accept: bool) -> OverflowPolicy {
    if accept { OverflowPolicy::Accept } else { OverflowPolicy::Refuse }
}

/// Prints one JSON record, or the text for a person.
pub(crate) fn show(json: bool, record: impl FnOnce() -> Value, text: impl FnOnce() -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(&record()).expect("a JSON value prints"));
    } else {
        println!("{}", text().trim_end());
    }
}

/// Writes a file the command produces.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|e| CliError::write(path, e))
}
