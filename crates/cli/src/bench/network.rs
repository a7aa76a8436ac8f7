//! `blindfold bench inference --transport tls`: the same workloads on worker
//! processes of this binary on loopback (Pond's five; server2 too when the
//! replicated protocol is measured), with mutual TLS, launched as an
//! operator would. Each record's `median_s` is the launcher's
//! end-to-end time (connections, graph checks, the owners reading their
//! files, the session); `session_median_s` is the longest party's session
//! alone, the figure to set beside the in-process run.

use std::path::Path;

use blindfold_ir::parties::{MODEL_OWNER, PREDICTION_CLIENT};
use blindfold_network::launcher::launch;
use blindfold_onnx::ImportedModel;
use ndarray::ArrayD;

use blindfold_jobs::{JobError, Result};

use crate::bench::{Record, Timing};
use blindfold_jobs::launch::{PredictionLaunch, prediction_launch, prediction_parties_for};
use blindfold_jobs::local::LocalWorkers;
use blindfold_network::control::SecretSharing;
use blindfold_runtime::Protocol;

/// Worker processes for the benchmark.
pub struct TlsBench {
    workers: LocalWorkers,
}

impl TlsBench {
    /// Starts the workers (this executable) in a scratch folder: every
    /// party of a prediction under each of `protocols`.
    pub fn start(protocols: &[Protocol]) -> Result<TlsBench> {
        let dir = std::env::temp_dir().join(format!("blindfold-bench-{}", std::process::id()));
        let binary =
            std::env::current_exe().map_err(|e| JobError::Invalid(format!("this executable: {e}")))?;
        let mut parties: Vec<String> = Vec::new();
        for sharing in protocols.iter().filter_map(|&p| SecretSharing::of(p)) {
            for party in prediction_parties_for(sharing) {
                if !parties.contains(&party) {
                    parties.push(party);
                }
            }
        }
        let workers = LocalWorkers::start(&dir, &binary, &parties, 120.0)?;
        Ok(TlsBench { workers })
    }

    /// Runs `model` on input `x` over the workers under `protocol`: one
    /// warm-up, then `runs`; `accept_overflow_risk` launches without the
    /// overflow check (the polynomial-sigmoid workloads).
    #[allow(clippy::too_many_arguments)]
    pub fn measure(
        &mut self,
        name: &str,
        model_path: &Path,
        model: &ImportedModel,
        x: &ArrayD<f64>,
        runs: usize,
        protocol: Protocol,
        accept_overflow_risk: bool,
    ) -> Result<Record> {
        let sharing = SecretSharing::of(protocol)
            .ok_or_else(|| JobError::Invalid(format!("{} does not run on workers", protocol.name())))?;
        let deployment = &self.workers.deployment;
        let model_file = model_path
            .file_name()
            .ok_or_else(|| JobError::file(model_path, "no file name"))?
            .to_string_lossy()
            .to_string();
        let owner_copy = deployment.data(MODEL_OWNER).join(&model_file);
        std::fs::copy(model_path, &owner_copy).map_err(|e| JobError::file(&owner_copy, e))?;
        let input_file = format!("bench-{}.npy", x.shape()[0]);
        let client_copy = deployment.data(PREDICTION_CLIENT).join(&input_file);
        ndarray_npy::write_npy(&client_copy, x).map_err(|e| JobError::file(&client_copy, e))?;
        deployment.approve(&model.graph, &prediction_parties_for(sharing))?;
        let request = PredictionLaunch {
            weights: model_file,
            input: input_file,
            scale: None,
            first: 0,
            out: Some("bench".into()),
            // The sample images, scaled by 1/255.
            input_range: Some((0.0, 1.0)),
            accept_overflow_risk,
        };
        let session = prediction_launch(model, &request, deployment.config.timeout, sharing)?;
        let config = &deployment.config;
        let first = launch(config, "operator", session.clone())?;
        let (mut walls, mut sessions) = (Vec::new(), Vec::new());
        for _ in 0..runs.max(1) {
            let launched = launch(config, "operator", session.clone())?;
            walls.push(launched.report.wall_s);
            sessions.push(launched.session_s);
        }
        walls.sort_by(f64::total_cmp);
        sessions.sort_by(f64::total_cmp);
        let timing = Timing {
            runs: walls.len(),
            median_s: walls[walls.len() / 2],
            min_s: walls[0],
            max_s: walls[walls.len() - 1],
        };
        let mut record = Record::new("inference", name.to_string(), timing)
            .with("session_median_s", sessions[sessions.len() / 2])
            .with("offline_bytes", first.report.offline_bytes_sent);
        record.protocol = Some(protocol.name().into());
        record.transport = Some("tls".into());
        record.batch = Some(x.shape()[0]);
        record.bytes_sent = Some(first.report.bytes_sent + first.report.offline_bytes_sent);
        record.rounds = Some(first.report.rounds);
        Ok(record)
    }
}
