//! `blindfold run`: a job launched on running workers (each reads its own
//! inputs and writes its own outputs), or their status.

use std::time::Duration;

use blindfold_jobs::{JobError, launch};
use blindfold_network::control::SecretSharing;
use blindfold_network::{Config, approval, launcher};

use crate::args::{LaunchArgs, RunJob};
use crate::error::CliError;
use crate::{render, show, write};

/// Launches `job` as `args` say, and prints what the operator learns.
pub fn run(args: LaunchArgs, job: RunJob) -> Result<(), CliError> {
    let config_path =
        args.config.ok_or(CliError::Usage("give the parties file: --config parties.toml".into()))?;
    let config = Config::load(&config_path)?;
    let operator = launch::operator(&config, args.operator)?;
    let timeout = args.timeout.map_or(config.timeout, Duration::from_secs_f64);
    let protocol = SecretSharing::of(args.protocol).expect("the flag takes pond or replicated");
    let session = match job {
        RunJob::Status => {
            for party in config.parties.keys() {
                match launcher::status(&config, &operator, party) {
                    Ok(holdings) => println!("{}", render::status_line(party, &holdings)),
                    Err(error) => println!("{party}: {error}"),
                }
            }
            return Ok(());
        }
        RunJob::Predict { graph, weights, input, scale, first, out, input_range, accept_overflow_risk } => {
            let weights = graph.weights_file(weights)?;
            let request = launch::PredictionLaunch {
                weights,
                input,
                scale,
                first,
                out,
                input_range,
                accept_overflow_risk,
            };
            launch::prediction_launch(&graph.import()?, &request, timeout, protocol)?
        }
        RunJob::Train { data, training, out } => {
            if matches!(data.kind, crate::args::KindChoice::Onnx) {
                return Err(JobError::Invalid(
                    "training an ONNX architecture runs in one process for now (blindfold train onnx --model ...)".into(),
                )
                .into());
            }
            if training.dp_noise_multiplier.is_some() {
                return Err(JobError::Invalid(
                    "DP-SGD runs in one process for now (blindfold train ... --dp-noise-multiplier): between \
                     workers each server would draw its own noise"
                        .into(),
                )
                .into());
            }
            let tables =
                data.data.iter().map(|(owner, path)| (owner.clone(), path.display().to_string())).collect();
            let classes = training.classes.map(|c| c as usize);
            let config_of_training = training.config(data.kind);
            let request = launch::TrainingLaunch {
                training: config_of_training,
                data: tables,
                label_column: data.label_column,
                classes,
                out,
            };
            launch::training_launch(&config, &operator, &request, timeout, protocol)?
        }
        RunJob::Graph { file, inputs, out, ranges, accept_overflow_risk } => {
            let overflow = launch::OverflowOptions { ranges, accept_risk: accept_overflow_risk };
            launch::graph_launch(approval::read_graph(&file)?, &inputs, out, timeout, &overflow, protocol)?
        }
    };
    eprintln!("graph {}", session.graph.hash());
    if let Some(path) = &args.save_graph {
        write(path, &session.graph.to_bytes())?;
    }
    let launched = launcher::launch(&config, &operator, session)?;
    show(args.json, || launch::launched_json(&launched), || render::launched_text(&launched));
    Ok(())
}
