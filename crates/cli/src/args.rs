//! The command line: every command, flag and default, with an example in
//! each command's help. The same flag has the same meaning and default in
//! every command that takes it.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use blindfold_cli::bench::{BenchOptions, Suite, Transport};
use blindfold_ir::Ring;
use blindfold_jobs::JobError;
use blindfold_jobs::launch::{GraphInput, parse_input_range, parse_low_high, prediction_graph};
use blindfold_jobs::predict::{PredictFiles, PredictOptions};
use blindfold_ml::training::{ModelKind, TrainingConfig};
use blindfold_network::control::InputRange;
use blindfold_onnx::ImportedModel;
use blindfold_onnx::SigmoidMethod;
use blindfold_runtime::Protocol;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Machine learning on data that nobody gets to see: secret sharing (Pond)
/// and homomorphic encryption (Paillier), in one Rust program that every
/// party runs.
#[derive(Debug, Parser)]
#[command(name = "blindfold", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Inputs per session unless a command says otherwise: the same in
/// `predict`, `graph predict` and `run predict`.
pub const DEFAULT_BATCH: u64 = 100;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The seed's private prediction: a three-layer network of the model
    /// owner classifies the prediction client's input under Pond, every
    /// party a thread of this process; prints what the client learned beside
    /// the plaintext results, and the profile.
    #[command(after_help = "Examples:\n  blindfold demo\n  blindfold demo --batch 100 --json\n  \
                            blindfold demo --protocol plaintext-fixed")]
    Demo {
        /// Inputs in the client's batch.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        batch: u64,
        /// pond, or a plaintext run for debugging: plaintext-fixed (the same
        /// fixed-point arithmetic in the clear) or plaintext-f64.
        #[arg(long, default_value = "pond", value_parser = Protocol::from_str)]
        protocol: Protocol,
        /// Print the profile as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Write a Chrome trace-event file (open it in Perfetto or chrome://tracing).
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
    /// Private prediction, all parties in this process. Pond: an ONNX model
    /// of the model owner classifies the client's inputs, which stay shared;
    /// Paillier: the client encrypts its rows, the server scores them with a
    /// linear model, only the client decrypts.
    #[command(
        after_help = "Examples:\n  blindfold predict --model models/mnist-b.onnx --input models/mnist-sample-images.npy \\\n      \
                            --labels models/mnist-sample-labels.npy --scale 0.00392156862745098 --compare-plaintext\n  \
                            blindfold predict --protocol paillier --model models/sklearn/breast-cancer-logistic.onnx \\\n      \
                            --input models/sklearn/breast-cancer-logistic-rows.csv --json"
    )]
    Predict(PredictArgs),
    /// Private training, all parties in this process: the data owners' CSV
    /// rows are secret-shared, a model is trained with SGD under Pond, and
    /// only the model owner gets it (as ONNX); the same training in
    /// plaintext f64 runs beside it for comparison.
    #[command(
        after_help = "Examples:\n  blindfold train linreg --data hospital-a=a.csv --data hospital-b=b.csv \\\n      \
                            --label-column target --epochs 5 --out model.onnx\n  \
                            blindfold train logreg --data owner=rows.csv --label-column label --classes 10 --json"
    )]
    Train {
        #[command(flatten)]
        data: TrainingData,
        /// Rows to test on (the same columns): R² or accuracy, private beside plaintext.
        #[arg(long, value_name = "FILE")]
        test: Option<PathBuf>,
        #[command(flatten)]
        training: TrainingArgs,
        /// Train on the raw columns (default: standardised with privately pooled statistics).
        #[arg(long)]
        no_standardize: bool,
        /// Multiply every feature by this (e.g. 0.00392156862745098 = 1/255
        /// for pixels); the trained model takes features so scaled.
        #[arg(long)]
        scale: Option<f64>,
        /// With kind onnx: the model to train, its architecture and initial
        /// weights (any model the importer reads, without BatchNormalization);
        /// trained on raw columns, written back as the same architecture.
        #[arg(long, value_name = "INIT.onnx")]
        model: Option<PathBuf>,
        /// Train even if values could overflow fixed point (by default such
        /// a training is refused before it starts, naming the node).
        #[arg(long)]
        accept_overflow_risk: bool,
        /// Write the model owner's trained model here (ONNX).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print one JSON record (docs/benchmarks.md's train format).
        #[arg(long)]
        json: bool,
        /// The secret-sharing protocol: pond or replicated.
        #[arg(long, default_value = "pond", value_parser = secure_protocol)]
        protocol: Protocol,
    },
    /// Serve as one party of a deployment: accept the peers and operators
    /// the parties file names (mutual TLS), run the sessions operators
    /// launch (only graphs this party's operator approved), reading inputs
    /// from and writing outputs to this party's data folder. Runs until
    /// stopped.
    #[command(after_help = "Example:\n  blindfold worker --config parties.toml --party server0")]
    Worker {
        /// The parties file (parties.toml; docs/networking.md).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Which party this worker is.
        #[arg(long, value_name = "NAME")]
        party: String,
    },
    /// Make a test CA and a certificate and key for every party and
    /// operator of a parties file (for trying workers out; use your own PKI
    /// in production).
    #[command(after_help = "Example:\n  blindfold certs --config parties.toml --out certs")]
    Certs {
        /// The parties file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The folder to write ca.pem, ca.key, NAME.pem, NAME.key to.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Graph files: build the graph a job runs (for an operator to review
    /// and approve), print a graph file's hash.
    #[command(
        after_help = "Examples:\n  blindfold graph predict --model models/mnist-a.onnx --batch 16 --out a-16.graph\n  \
                            blindfold graph hash a-16.graph"
    )]
    Graph {
        #[command(subcommand)]
        action: GraphAction,
    },
    /// Launch a session on running workers (see `blindfold worker`): each
    /// worker checks the graph's hash against its approvals, reads its own
    /// inputs and writes its own outputs; this prints the graph hash, the
    /// profile and where the outputs went.
    #[command(
        after_help = "Examples:\n  blindfold run --config parties.toml predict --model models/mnist-a.onnx \\\n      \
                            --input images.npy --scale 0.00392156862745098 --batch 16\n  \
                            blindfold run status --config parties.toml"
    )]
    Run {
        #[command(flatten)]
        launch: LaunchArgs,
        #[command(subcommand)]
        job: RunJob,
    },
    /// Measure a benchmark suite on this machine, each figure beside its
    /// plaintext twin (or python-paillier) from the same run.
    #[command(after_help = "Examples:\n  blindfold bench inference --networks a,c --runs 3\n  \
                            blindfold bench paillier --json\n  blindfold bench kernels --quick")]
    Bench(BenchArgs),
}

/// `blindfold predict`'s flags.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model: ONNX (any protocol; Paillier takes models linear in their
    /// input, such as scikit-learn's linear and logistic regressions), or a
    /// JSON weights file (Paillier).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The client's inputs: .npy (float64, float32, int64, int32 or uint8), IDX (MNIST's
    /// format, gzipped or not) or .csv (a header row is detected). FILE is
    /// the model's first graph input; NAME=FILE gives the graph input NAME
    /// (repeat for a model with several inputs).
    #[arg(long, value_name = "[NAME=]FILE", required = true)]
    pub input: Vec<String>,
    /// Who supplies graph input NAME (by default the first graph input is
    /// the client's and any other the model owner's), e.g.
    /// --input-owner weights=model-owner. Repeatable.
    #[arg(long, value_name = "NAME=PARTY", value_parser = name_and_party)]
    pub input_owner: Vec<(String, String)>,
    /// pond (secret sharing), paillier (encryption), or a plaintext run for
    /// debugging: plaintext-fixed or plaintext-f64.
    #[arg(long, default_value = "pond", value_parser = predict_protocol)]
    pub protocol: PredictProtocol,
    /// Inputs per session (Pond).
    #[arg(long, default_value_t = DEFAULT_BATCH, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch: u64,
    /// Multiply every input value by this (e.g. 0.00392156862745098 = 1/255 for pixels).
    #[arg(long)]
    pub scale: Option<f64>,
    /// The true classes (IDX, .npy or .csv), for the accuracy.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Also run the model in plaintext f64 and report the agreement.
    #[arg(long)]
    pub compare_plaintext: bool,
    #[command(flatten)]
    pub graph: GraphOptions,
    /// Only the first N inputs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// The model owner's sample of inputs (same formats as --input, scaled
    /// by --scale): each comparison gets the narrowest power-of-two width
    /// that holds 16× the largest value the sample gives it (cheaper;
    /// an input beyond it is refused, never compared wrongly). The widths
    /// are in the graph every party approves (docs/security.md).
    #[arg(long, value_name = "FILE")]
    pub calibrate: Option<PathBuf>,
    /// Write a Chrome trace of the first batch (Pond).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Bits of the client's Paillier modulus: 2048, 3072 or 4096.
    #[arg(long, default_value_t = 2048, value_parser = key_bits)]
    pub key_bits: u32,
    /// Run even if the model's values could overflow fixed point on these
    /// inputs (by default such a model is refused, naming the node).
    #[arg(long)]
    pub accept_overflow_risk: bool,
    /// Seconds a party waits on a silent, idle peer before the session fails.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = seconds)]
    pub timeout: f64,
    /// Print one JSON record (docs/benchmarks.md's predict format).
    #[arg(long)]
    pub json: bool,
}

impl PredictArgs {
    /// The files a prediction reads.
    pub fn files(&self) -> PredictFiles {
        let mut inputs = self.inputs().into_iter();
        let (input_name, input) = inputs.next().expect("clap requires one --input");
        PredictFiles {
            model: self.model.clone(),
            input,
            input_name,
            named_inputs: inputs.filter_map(|(name, path)| Some((name?, path))).collect(),
            labels: self.labels.clone(),
            scale: self.scale,
            limit: self.limit,
            calibration: self.calibrate.clone(),
        }
    }

    /// How a session protocol predicts.
    pub fn options(&self, protocol: Protocol) -> PredictOptions {
        PredictOptions {
            batch: self.batch as usize,
            protocol,
            sigmoid: self.graph.sigmoid,
            comparison_bits: self.graph.comparison_bits,
            compare_plaintext: self.compare_plaintext,
            timeout: Duration::from_secs_f64(self.timeout),
            input_owners: self.input_owner.iter().cloned().collect(),
            ..PredictOptions::default()
        }
    }

    /// The `--input` files: `NAME=FILE` names a graph input (unless the
    /// whole text is an existing file), `FILE` is the first; the first
    /// given is read first (its rows are the inputs).
    pub fn inputs(&self) -> Vec<(Option<String>, PathBuf)> {
        let mut inputs: Vec<(Option<String>, PathBuf)> = self
            .input
            .iter()
            .map(|text| match text.split_once('=') {
                Some((name, path)) if !PathBuf::from(text).exists() && !name.is_empty() => {
                    (Some(name.to_string()), PathBuf::from(path))
                }
                _ => (None, PathBuf::from(text)),
            })
            .collect();
        // The unnamed file (the first graph input) leads.
        if let Some(position) = inputs.iter().position(|(name, _)| name.is_none()) {
            let first = inputs.remove(position);
            inputs.insert(0, first);
        }
        inputs
    }

    /// The first input's file (the rows).
    pub fn first_input(&self) -> PathBuf {
        self.inputs().remove(0).1
    }
}

/// `NAME=PARTY`.
fn name_and_party(text: &str) -> Result<(String, String), ValueError> {
    match text.split_once('=') {
        Some((name, party)) if !name.is_empty() && !party.is_empty() => Ok((name.into(), party.into())),
        _ => Err(ValueError::NameParty(text.into())),
    }
}

/// How `predict` computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PredictProtocol {
    /// A session protocol (Pond, or a plaintext run).
    Session(Protocol),
    /// Paillier encryption.
    Paillier,
}

/// What a prediction graph depends on (its hash changes with each).
#[derive(Debug, Args)]
pub struct GraphOptions {
    /// How Sigmoid nodes are computed: clamped (comparisons clamp to [-6, 6],
    /// then a degree-11 polynomial; error <= 0.003 everywhere) or polynomial
    /// (degree 7: cheaper, wrong outside [-8, 8]).
    #[arg(long, default_value = "clamped", value_parser = SigmoidMethod::from_str)]
    pub sigmoid: SigmoidMethod,
    /// Compare on x mod 2^BITS: about half the comparison cost at 32, exact
    /// only while every compared value stays below 2^(BITS-17) (16
    /// fractional bits). Default: the whole ring, exact for every value.
    #[arg(long, value_name = "BITS")]
    pub comparison_bits: Option<u32>,
}

/// The data owners' tables and the label.
#[derive(Debug, Args)]
pub struct TrainingData {
    /// linreg (squared error), logreg (cross-entropy; one-vs-rest for more
    /// than two classes), mlp (ReLU hidden layers), or onnx (the model
    /// given with --model: softmax cross-entropy for logits or a final
    /// Softmax, logistic after a final Sigmoid, squared error for one
    /// linear output).
    pub kind: KindChoice,
    /// A data owner's rows: OWNER=FILE.csv (numbers; a header row names the
    /// columns), or OWNER=SAMPLES:LABELS (.npy or IDX arrays, one sample per
    /// row of the first axis: images; the label column is then "label").
    /// Repeat for each owner; every owner must send the same columns.
    #[arg(long = "data", value_name = "OWNER=FILE", value_parser = owner_file, required = true)]
    pub data: Vec<(String, PathBuf)>,
    /// The label's column: its header name, or its number (from 0) in a
    /// table without a header.
    #[arg(long, value_name = "NAME")]
    pub label_column: String,
}

/// How to train (in-process and on workers alike).
#[derive(Debug, Args)]
pub struct TrainingArgs {
    /// Passes over the data.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub epochs: u64,
    /// Rows per SGD step.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_size: u64,
    /// The SGD step size.
    #[arg(long, default_value_t = 0.1, value_parser = positive)]
    pub learning_rate: f64,
    /// SGD with momentum (v ← μ·v + g, as PyTorch's SGD), in [0, 1); 0 is plain SGD.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    /// Differentially private SGD: Gaussian noise of σ·C, σ this (each
    /// example's gradient clipped to --max-grad-norm C, the noise drawn by
    /// the servers, half each); ε is reported for --dp-delta.
    #[arg(long, value_name = "SIGMA", value_parser = positive)]
    pub dp_noise_multiplier: Option<f64>,
    /// DP-SGD's clipping norm C.
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub max_grad_norm: f64,
    /// The δ DP-SGD's ε is reported for.
    #[arg(long, default_value_t = 1e-5, value_parser = positive)]
    pub dp_delta: f64,
    /// Classes (logreg, mlp), at most 10,000; in-process the default is the
    /// largest label + 1.
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=10_000))]
    pub classes: Option<u64>,
    /// Hidden layer widths of the mlp, comma-separated (each at most 65,536).
    #[arg(long, value_delimiter = ',', default_value = "128,128", value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub hidden: Vec<u64>,
    /// The ring: z128 (default; 32 fractional bits) or z64 (20 fractional bits).
    #[arg(long, default_value = "z128", value_parser = Ring::from_str)]
    pub ring: Ring,
    /// The classifiers' sigmoid: clamped (comparisons; error <= 0.003
    /// everywhere) or polynomial (cheaper, wrong outside [-8, 8]).
    #[arg(long, default_value = "clamped", value_parser = SigmoidMethod::from_str)]
    pub sigmoid: SigmoidMethod,
    /// Compare on x mod 2^BITS; default: fractional bits + 24 (exact while
    /// compared values stay below 2^23); the ring's bits compare on the
    /// whole ring.
    #[arg(long, value_name = "BITS")]
    pub comparison_bits: Option<u32>,
    /// Reveal each epoch's mean squared error to the model owner.
    #[arg(long)]
    pub reveal_loss: bool,
}

impl TrainingArgs {
    /// The training graph's settings for `kind`.
    pub fn config(&self, kind: KindChoice) -> TrainingConfig {
        let hidden = self.hidden.iter().map(|&h| h as usize).collect();
        let mut config = TrainingConfig::new(kind.model(hidden));
        config.set_ring(self.ring);
        config.epochs = self.epochs as usize;
        config.batch_size = self.batch_size as usize;
        config.learning_rate = self.learning_rate;
        config.momentum = self.momentum;
        config.dp = self.dp_noise_multiplier.map(|noise_multiplier| blindfold_ml::dp_sgd::DpSgd {
            noise_multiplier,
            max_grad_norm: self.max_grad_norm,
            delta: self.dp_delta,
        });
        config.sigmoid = self.sigmoid;
        config.comparison_bits = self.comparison_bits.or(config.comparison_bits);
        config.reveal_loss = self.reveal_loss;
        config
    }
}

#[derive(Debug, Subcommand)]
pub enum GraphAction {
    /// Print the hash a party approves (BLAKE3 of the graph file).
    #[command(after_help = "Example:\n  blindfold graph hash a-16.graph")]
    Hash {
        /// The graph file.
        file: PathBuf,
    },
    /// Write the graph `blindfold run predict` runs for a model, and print its hash.
    #[command(
        after_help = "Example:\n  blindfold graph predict --model models/mnist-a.onnx --batch 16 --out a-16.graph"
    )]
    Predict {
        #[command(flatten)]
        model: PredictGraph,
        /// Where to write the graph file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// What a networked prediction's graph depends on.
#[derive(Debug, Args)]
pub struct PredictGraph {
    /// The ONNX model (its architecture; the weights stay with the owner).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Inputs per session.
    #[arg(long, default_value_t = DEFAULT_BATCH, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch: u64,
    #[command(flatten)]
    pub graph: GraphOptions,
}

impl PredictGraph {
    /// The graph for this model and settings.
    pub fn import(&self) -> Result<ImportedModel, JobError> {
        let sigmoid = self.graph.sigmoid;
        prediction_graph(&self.model, self.batch as usize, sigmoid, self.graph.comparison_bits)
    }

    /// The model file on the owner's disk: `given`, or the model's file name.
    pub fn weights_file(&self, given: Option<String>) -> Result<String, JobError> {
        match given {
            Some(path) => Ok(path),
            None => self.model.file_name().map(|name| name.to_string_lossy().to_string()).ok_or_else(|| {
                JobError::Invalid(format!(
                    "{}: no file name to look for on the owner's disk: give --weights",
                    self.model.display()
                ))
            }),
        }
    }
}

/// Where and as whom `run` launches (accepted before or after the job).
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// The parties file (parties.toml).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// The operator to launch as (default: the file's only operator).
    #[arg(long = "as", value_name = "OPERATOR", global = true)]
    pub operator: Option<String>,
    /// Seconds a party waits on a silent, idle peer (default: the file's timeout_s).
    #[arg(long, value_name = "SECONDS", value_parser = seconds, global = true)]
    pub timeout: Option<f64>,
    /// Print one JSON record.
    #[arg(long, global = true)]
    pub json: bool,
    /// Also write the graph it launches to FILE (for the parties'
    /// operators to review and approve).
    #[arg(long, value_name = "FILE", global = true)]
    pub save_graph: Option<PathBuf>,
    /// The secret-sharing protocol: pond (server0, server1, producer) or
    /// replicated (server0, server1, server2).
    #[arg(long, default_value = "pond", value_parser = secure_protocol, global = true)]
    pub protocol: Protocol,
}

#[derive(Debug, Subcommand)]
pub enum RunJob {
    /// A private prediction: model-owner's worker reads the model's weights,
    /// prediction-client's worker reads its inputs; only the client's
    /// worker gets (and writes) the outputs.
    #[command(
        after_help = "Example:\n  blindfold run --config parties.toml predict --model models/mnist-a.onnx --batch 16 \\\n      \
                            --input images.npy --scale 0.00392156862745098 --input-range 0:1 --out predictions"
    )]
    Predict {
        #[command(flatten)]
        graph: PredictGraph,
        /// The model file on the model owner's machine, inside its data
        /// folder (default: the --model file's name).
        #[arg(long, value_name = "PATH")]
        weights: Option<String>,
        /// The client's inputs on its machine, inside its data folder.
        #[arg(long, value_name = "PATH")]
        input: String,
        /// Multiply the client's inputs by this.
        #[arg(long)]
        scale: Option<f64>,
        /// The first row of the client's file to predict (then --batch rows).
        #[arg(long, default_value_t = 0)]
        first: usize,
        /// The folder, inside the client's data folder, for its outputs
        /// (default: outputs/SESSION).
        #[arg(long, value_name = "PATH")]
        out: Option<String>,
        /// The range of every (scaled) input value, e.g. 0:1 for pixels
        /// scaled by 1/255: the client's worker checks its rows against it,
        /// the owner's worker checks that fixed point holds the model on it.
        #[arg(long, value_name = "LOW:HIGH", value_parser = parse_low_high)]
        input_range: Option<(f64, f64)>,
        /// Launch without the overflow check.
        #[arg(long)]
        accept_overflow_risk: bool,
    },
    /// Private training: each data owner's worker reads its own table (a
    /// CSV inside its data folder); the model owner's worker writes the
    /// trained weights (layer{l}.weight.npy and layer{l}.bias.npy). Columns
    /// are used as they are: standardise them beforehand. The operator
    /// learns each table's row and column counts, and its header where the
    /// file has one.
    #[command(
        after_help = "Example:\n  blindfold run --config parties.toml train linreg --data hospital-a=rows.csv \\\n      \
                            --data hospital-b=rows.csv --label-column target --epochs 3 --out model"
    )]
    Train {
        #[command(flatten)]
        data: TrainingData,
        #[command(flatten)]
        training: TrainingArgs,
        /// The folder, inside the model owner's data folder, for the weights.
        #[arg(long, value_name = "PATH")]
        out: Option<String>,
    },
    /// Any graph file: inputs as PARTY:INPUT=PATH (a path in that party's
    /// data folder), outputs written by their receivers.
    #[command(
        after_help = "Example:\n  blindfold run --config parties.toml graph model.graph --input alice:x=x.npy \\\n      \
                            --input bob:w=w.npy --input-range alice:x=-1:1 --out result"
    )]
    Graph {
        /// The graph file (from `blindfold graph` or Python's builder).
        file: PathBuf,
        /// One party's input: PARTY:INPUT=PATH. Repeat per input.
        #[arg(long = "input", value_name = "PARTY:INPUT=PATH")]
        inputs: Vec<GraphInput>,
        /// The folder, inside each receiver's data folder, for its outputs.
        #[arg(long, value_name = "PATH")]
        out: Option<String>,
        /// The declared range of one input, PARTY:INPUT=LOW:HIGH (repeat):
        /// its owner checks its values, the others bound the graph with it.
        #[arg(long = "input-range", value_name = "PARTY:INPUT=LOW:HIGH", value_parser = parse_input_range)]
        ranges: Vec<InputRange>,
        /// Launch without the overflow check.
        #[arg(long)]
        accept_overflow_risk: bool,
    },
    /// What each worker holds now: connections, sessions, buffered bytes,
    /// threads (for monitoring; nothing about values).
    #[command(after_help = "Example:\n  blindfold run status --config parties.toml")]
    Status,
}

/// `blindfold bench`'s flags.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which suite.
    pub suite: Suite,
    /// Print one JSON array (docs/benchmarks.md's format) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Timed runs per workload (the median, min and max are reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub runs: u64,
    /// Skip the slowest workloads.
    #[arg(long)]
    pub quick: bool,
    /// inference: the folder with mnist-NAME.onnx and mnist-sample-images.npy.
    #[arg(long, default_value = "models", value_name = "DIR")]
    pub models: PathBuf,
    /// inference: which networks (a, b, c, d, a-sigmoid, c-sigmoid-avgpool).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub networks: Vec<String>,
    /// inference: compare on x mod 2^BITS (default: the whole ring).
    #[arg(long, value_name = "BITS")]
    pub comparison_bits: Option<u32>,
    /// inference: the protocols to measure, each beside the same plaintext
    /// twin (pond, replicated; comma-separated).
    #[arg(long = "protocol", value_delimiter = ',', default_value = "pond", value_parser = secure_protocol)]
    pub protocols: Vec<Protocol>,
    /// inference: calibrate each comparison's width on this sample of
    /// images (IDX or .npy, pixels 0–255), e.g.
    /// data/mnist/train-sample-images.idx3-ubyte.gz.
    #[arg(long, value_name = "FILE")]
    pub calibrate: Option<PathBuf>,
    /// inference: in-process only, or also tls (five worker processes of
    /// this binary on loopback with mutual TLS; each record follows its
    /// in-process twin from the same run).
    #[arg(long, value_enum, default_value_t = Transport::InProcess)]
    pub transport: Transport,
    /// paillier: the Python with python-paillier to measure beside
    /// blindfold (default: target/python-paillier/bin/python, made by
    /// scripts/setup-python-paillier.sh).
    #[arg(long, value_name = "PYTHON")]
    pub python_paillier: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindChoice {
    Linreg,
    Logreg,
    Mlp,
    Onnx,
}

impl KindChoice {
    pub fn model(self, hidden: Vec<usize>) -> ModelKind {
        match self {
            // (The architecture comes from --model; the kind is a placeholder.)
            KindChoice::Linreg | KindChoice::Onnx => ModelKind::LinearRegression,
            KindChoice::Logreg => ModelKind::LogisticRegression,
            KindChoice::Mlp => ModelKind::Mlp { hidden },
        }
    }
}

impl BenchArgs {
    /// What the suites take.
    pub fn options(self) -> BenchOptions {
        BenchOptions {
            runs: self.runs as usize,
            quick: self.quick,
            models: self.models,
            networks: self.networks,
            comparison_bits: self.comparison_bits,
            protocols: self.protocols,
            calibrate: self.calibrate,
            transport: self.transport,
            python_paillier: self.python_paillier,
        }
    }
}

/// A flag's value that is not one it takes (clap prints it beside the flag).
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    #[error("'{0}': expected OWNER=FILE.csv")]
    OwnerFile(String),
    #[error("'{0}': expected NAME=PARTY, e.g. weights=model-owner")]
    NameParty(String),
    #[error("protocol '{0}': choose paillier, pond, replicated, plaintext-fixed or plaintext-f64")]
    PredictProtocol(String),
    #[error("protocol '{0}': choose pond or replicated")]
    SecureProtocol(String),
    #[error("'{0}': choose 2048, 3072 or 4096")]
    KeyBits(String),
    #[error("'{0}': a positive number of seconds, at most 86400")]
    Seconds(String),
    #[error("'{0}': a positive number")]
    Positive(String),
}

/// OWNER=FILE.
fn owner_file(text: &str) -> Result<(String, PathBuf), ValueError> {
    match text.split_once('=') {
        Some((owner, file)) if !owner.is_empty() && !file.is_empty() => {
            Ok((owner.to_string(), PathBuf::from(file)))
        }
        _ => Err(ValueError::OwnerFile(text.into())),
    }
}

/// A secret-sharing protocol.
fn secure_protocol(text: &str) -> Result<Protocol, ValueError> {
    match text.parse() {
        Ok(protocol @ (Protocol::Pond | Protocol::Replicated)) => Ok(protocol),
        _ => Err(ValueError::SecureProtocol(text.into())),
    }
}

/// A session protocol, or paillier.
fn predict_protocol(text: &str) -> Result<PredictProtocol, ValueError> {
    match text {
        "paillier" => Ok(PredictProtocol::Paillier),
        other => {
            other.parse().map(PredictProtocol::Session).map_err(|_| ValueError::PredictProtocol(text.into()))
        }
    }
}

/// A Paillier key size: 2048, 3072 or 4096.
fn key_bits(text: &str) -> Result<u32, ValueError> {
    match text.parse::<u32>() {
        Ok(bits) if blindfold_paillier::KEY_SIZES.contains(&bits) => Ok(bits),
        _ => Err(ValueError::KeyBits(text.into())),
    }
}

/// A positive, finite number of seconds (at most a day).
fn seconds(text: &str) -> Result<f64, ValueError> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(ValueError::Seconds(text.into())),
    }
}

/// A positive, finite number.
fn positive(text: &str) -> Result<f64, ValueError> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(ValueError::Positive(text.into())),
    }
}
