//! Worker processes for the multi-process tests: five `blindfold worker`
//! processes on loopback (server0, server1, producer, model-owner,
//! prediction-client) with certificates made by `blindfold certs`, the
//! MNIST sample in the owners' data folders, and helpers to approve and
//! launch predictions.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use blindfold_jobs::local::LocalWorkers;
use ndarray::{ArrayD, Axis};

pub const BINARY: &str = env!("CARGO_BIN_EXE_blindfold");
pub const SCALE: f64 = 1.0 / 255.0;

pub fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

pub fn parties() -> Vec<String> {
    blindfold_jobs::launch::prediction_parties()
}

pub struct Workers {
    pub local: LocalWorkers,
    /// The worker processes' parties (Pond's by default).
    pub parties: Vec<String>,
    /// `--protocol` of the jobs it launches.
    pub protocol: &'static str,
}

impl Workers {
    /// Workers in a fresh folder, certificates remade by `blindfold certs`
    /// (then the workers restarted), models and images in the owners' data
    /// folders.
    pub fn new(name: &str, timeout_s: f64) -> Workers {
        Workers::with_settings(name, timeout_s, "")
    }

    /// The same, with `settings` (top-level lines of the parties file, such
    /// as limits) added before the workers restart.
    pub fn with_settings(name: &str, timeout_s: f64, settings: &str) -> Workers {
        Workers::for_protocol(name, timeout_s, settings, "pond", parties())
    }

    /// Workers for the replicated protocol: server0, server1, server2, the
    /// owner and the client.
    pub fn replicated(name: &str, timeout_s: f64) -> Workers {
        let parties = ["server0", "server1", "server2", "model-owner", "prediction-client"];
        Workers::for_protocol(name, timeout_s, "", "replicated", parties.map(String::from).to_vec())
    }

    fn for_protocol(
        name: &str,
        timeout_s: f64,
        settings: &str,
        protocol: &'static str,
        parties: Vec<String>,
    ) -> Workers {
        let dir = std::env::temp_dir().join(format!("blindfold-workers-{}-{name}", std::process::id()));
        let mut local = LocalWorkers::start(&dir, Path::new(BINARY), &parties, timeout_s).unwrap();
        if !settings.is_empty() {
            let path = &local.deployment.config_path;
            let text = std::fs::read_to_string(path).unwrap();
            std::fs::write(path, format!("{settings}\n{text}")).unwrap();
            local.deployment.config = blindfold_network::Config::load(path).unwrap();
        }
        let certs = Command::new(BINARY)
            .args(["certs", "--config"])
            .arg(&local.deployment.config_path)
            .arg("--out")
            .arg(dir.join("certs"))
            .output()
            .unwrap();
        assert!(certs.status.success(), "{}", String::from_utf8_lossy(&certs.stderr));
        for party in &parties {
            local.kill(party);
            local.start_party(party).unwrap();
        }
        let deployment = &local.deployment;
        for network in ["a", "c"] {
            let model = format!("mnist-{network}.onnx");
            std::fs::copy(
                repository(&format!("models/{model}")),
                deployment.data("model-owner").join(&model),
            )
            .unwrap();
        }
        let images: ArrayD<f64> = ndarray_npy::read_npy(repository("models/mnist-sample-images.npy"))
            .or_else(|_| {
                ndarray_npy::read_npy::<_, ArrayD<u8>>(repository("models/mnist-sample-images.npy"))
                    .map(|a| a.mapv(f64::from))
            })
            .unwrap();
        let many = ndarray::concatenate(Axis(0), &vec![images.view(); 4]).unwrap();
        ndarray_npy::write_npy(deployment.data("prediction-client").join("images.npy"), &many).unwrap();
        Workers { local, parties, protocol }
    }

    pub fn start(&mut self, party: &str) {
        self.local.start_party(party).unwrap();
    }

    pub fn kill(&mut self, party: &str) {
        self.local.kill(party);
    }

    pub fn log(&self, party: &str) -> String {
        self.local.log(party)
    }

    /// Approves network `network`'s graph at batch `batch` everywhere.
    pub fn approve(&self, network: &str, batch: usize) -> String {
        let file = self.local.deployment.dir.join(format!("{network}-{batch}.graph"));
        let output = Command::new(BINARY)
            .args(["graph", "predict", "--model"])
            .arg(repository(&format!("models/mnist-{network}.onnx")))
            .args(["--batch", &batch.to_string(), "--out"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let graph = blindfold_network::approval::read_graph(&file).unwrap();
        self.local.deployment.approve(&graph, &self.parties).unwrap();
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    /// `blindfold run predict` of the client's `input` (a path in its data
    /// folder), from its first row.
    pub fn predict_file(&self, network: &str, batch: usize, input: &str, out: &str) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(["run", "--json", "--config"])
            .arg(&self.local.deployment.config_path)
            .args(["predict", "--model"])
            .arg(repository(&format!("models/mnist-{network}.onnx")))
            .args(["--batch", &batch.to_string()])
            .args(["--input", input, "--scale", &SCALE.to_string(), "--out", out, "--input-range", "0:1"]);
        command
    }

    pub fn predict(&self, network: &str, batch: usize, first: usize, out: &str) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(["run", "--json", "--protocol", self.protocol, "--config"])
            .arg(&self.local.deployment.config_path)
            .args(["predict", "--model"])
            .arg(repository(&format!("models/mnist-{network}.onnx")))
            .args(["--batch", &batch.to_string(), "--first", &first.to_string()])
            .args([
                "--input",
                "images.npy",
                "--scale",
                &SCALE.to_string(),
                "--out",
                out,
                "--input-range",
                "0:1",
            ]);
        command
    }
}

pub fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}
