//! `blindfold`: private machine learning from the command line.

use blindfold_cli::{
    bench, bench_inference, bench_kernels, bench_paillier, bench_pond, bench_training, networked,
    predict_paillier, predict_pond, train,
};
use blindfold_ir::Ring;
use blindfold_ml::training::{self, ModelKind, TrainingConfig};
use blindfold_onnx::SigmoidMethod;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use blindfold_ml::demo::Demo;
use blindfold_runtime::{Protocol, SessionOptions};

use clap::{Parser, Subcommand, ValueEnum};

/// mimalloc keeps freed pages for reuse: sessions allocate and free many
/// megabyte-sized shares, and the system allocator returns them to the
/// kernel and faults them in again (a quarter of a session's time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Machine learning on data that nobody gets to see: secret sharing (Pond)
/// and homomorphic encryption, in one Rust program that every party runs.
#[derive(Debug, Parser)]
#[command(name = "blindfold", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The seed's private prediction: a three-layer network of the model
    /// owner classifies the prediction client's input under Pond, every
    /// party a thread of this process; prints what the client learned beside
    /// the plaintext results, and the profile.
    Demo {
        /// Inputs in the client's batch.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        batch: u64,
        /// The protocol: pond, or a plaintext backend for debugging
        /// (plaintext: the same fixed-point arithmetic in the clear;
        /// plaintext-f64: floating point).
        #[arg(long, value_enum, default_value_t = ProtocolChoice::Pond)]
        protocol: ProtocolChoice,
        /// Print the profile as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Write a Chrome trace-event file (open in Perfetto or chrome://tracing).
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
    /// Private prediction, all parties in this process. Pond: an ONNX model
    /// of the model owner classifies the client's inputs, which stay shared;
    /// Paillier: the client encrypts its rows, the server scores them with a
    /// linear or logistic model, only the client decrypts.
    Predict {
        /// The model: ONNX (pond), or a JSON weights file {"kind":
        /// "linear"|"logistic", "weights": [[..] per feature], "bias": [..]} (paillier).
        #[arg(long, value_name = "FILE")]
        model: PathBuf,
        /// The client's inputs: .npy (float64, float32 or uint8), IDX (MNIST,
        /// gzipped or not) or .csv.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        #[arg(long, value_enum, default_value_t = PredictProtocol::Pond)]
        protocol: PredictProtocol,
        /// Inputs per session (pond).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch: u64,
        /// Multiply every input value by this (e.g. 0.00392156862745098 = 1/255 for pixels).
        #[arg(long)]
        scale: Option<f64>,
        /// True classes (IDX or .npy), for the accuracy (pond).
        #[arg(long, value_name = "FILE")]
        labels: Option<PathBuf>,
        /// Also run the model in the clear and report the agreement (pond).
        #[arg(long)]
        compare_plaintext: bool,
        /// How Sigmoid nodes are computed (pond): clamped (comparisons, then a
        /// degree-11 polynomial; error ≤ 0.003 everywhere) or polynomial
        /// (degree 7, cheaper, wrong outside [-8, 8]).
        #[arg(long, value_enum, default_value_t = SigmoidChoice::Clamped)]
        sigmoid: SigmoidChoice,
        /// Compare on x mod 2^BITS (pond): about half the comparison cost at
        /// 32, exact only while every compared value stays below
        /// 2^(BITS-17) (16 fractional bits); default: the whole ring, exact.
        #[arg(long, value_name = "BITS")]
        comparison_bits: Option<u32>,
        /// Only the first N inputs.
        #[arg(long)]
        limit: Option<usize>,
        /// Write a Chrome trace of the first batch (pond).
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Bits of the client's Paillier modulus.
        #[arg(long, default_value_t = 2048, value_parser = key_bits)]
        key_bits: u32,
        /// Print one JSON record (BENCHMARKS.md's predict format).
        #[arg(long)]
        json: bool,
    },
    /// Private training, all parties in this process: the data owners' CSV
    /// rows are secret-shared, a model is trained with SGD under Pond, and
    /// only the model owner gets it (as ONNX); the same training in
    /// plaintext f64 runs beside it for comparison.
    Train {
        /// linreg (squared error), logreg (cross-entropy; one-vs-rest for
        /// more than two classes) or mlp (ReLU hidden layers).
        kind: KindChoice,
        /// A data owner's rows: OWNER=FILE.csv (a header row, numbers only).
        /// Repeat for each owner; every file must have the same columns.
        #[arg(long = "data", value_name = "OWNER=FILE", value_parser = owner_file, required = true)]
        data: Vec<(String, PathBuf)>,
        /// The label's column.
        #[arg(long, value_name = "NAME")]
        label_column: String,
        /// Rows to test on (same columns): R² or accuracy, private beside plaintext.
        #[arg(long, value_name = "FILE")]
        test: Option<PathBuf>,
        #[command(flatten)]
        training: TrainingArgs,
        /// Train on the raw columns (default: standardised with privately pooled statistics).
        #[arg(long)]
        no_standardize: bool,
        /// Write the model owner's trained model here (ONNX).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print one JSON record (BENCHMARKS.md's train format).
        #[arg(long)]
        json: bool,
    },
    /// Serve as one party of a deployment: accept the peers and operators
    /// the parties file names (mutual TLS), run the sessions operators
    /// launch — only graphs this party's operator approved — reading inputs
    /// from and writing outputs to this party's data folder. Runs until
    /// stopped.
    Worker {
        /// The parties file (parties.toml).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Which party this worker is.
        #[arg(long, value_name = "NAME")]
        party: String,
    },
    /// Make a test CA and a certificate and key for every party and
    /// operator of a parties file (for trying workers out; use your own PKI
    /// in production).
    Certs {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The folder to write ca.pem, ca.key, NAME.pem, NAME.key to.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Graph files: build the graph a job runs (for an operator to review
    /// and approve), print a graph file's hash.
    Graph {
        #[command(subcommand)]
        action: GraphAction,
    },
    /// Launch a session on running workers (see `blindfold worker`): each
    /// worker checks the graph's hash against its approvals, reads its own
    /// inputs and writes its own outputs; this prints the graph hash, the
    /// profile and where the outputs went.
    Run {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The operator to launch as (default: the file's only operator).
        #[arg(long = "as", value_name = "OPERATOR")]
        operator: Option<String>,
        /// Seconds a party waits on a silent, idle peer (default: the file's timeout_s).
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<f64>,
        /// Print one JSON record.
        #[arg(long)]
        json: bool,
        /// Also write the graph it launches to FILE (for the parties'
        /// operators to review and approve).
        #[arg(long, value_name = "FILE")]
        save_graph: Option<PathBuf>,
        #[command(subcommand)]
        job: RunJob,
    },
    /// Measure a benchmark suite on this machine (figures beside their
    /// plaintext twin from the same run).
    Bench {
        /// Which suite.
        suite: Suite,
        /// Print one JSON array (format in BENCHMARKS.md) instead of a table.
        #[arg(long)]
        json: bool,
        /// Timed runs per workload (the median, min and max are reported).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
        runs: u64,
        /// Skip the slowest workloads.
        #[arg(long)]
        quick: bool,
        /// inference: the folder with mnist-NAME.onnx and mnist-sample-images.npy.
        #[arg(long, default_value = "models", value_name = "DIR")]
        models: PathBuf,
        /// inference: which networks (a, b, c, d, a-sigmoid, c-sigmoid-avgpool).
        #[arg(long, value_delimiter = ',', value_name = "NAMES")]
        networks: Vec<String>,
        /// inference: compare on x mod 2^BITS (default: the whole ring).
        #[arg(long, value_name = "BITS")]
        comparison_bits: Option<u32>,
        /// inference: in-process only, or also tls (five worker processes of
        /// this binary on loopback with mutual TLS; each record follows its
        /// in-process twin from the same run).
        #[arg(long, value_enum, default_value_t = TransportChoice::InProcess)]
        transport: TransportChoice,
        /// paillier: the Python with python-paillier to measure beside
        /// blindfold (default: target/python-paillier/bin/python, made by
        /// scripts/setup-python-paillier.sh).
        #[arg(long, value_name = "PYTHON")]
        python_paillier: Option<PathBuf>,
    },
}

/// How to train (in-process and on workers alike).
#[derive(Debug, clap::Args)]
struct TrainingArgs {
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    epochs: u64,
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch_size: u64,
    #[arg(long, default_value_t = 0.1)]
    learning_rate: f64,
    /// Classes (logreg, mlp); in-process the default is the largest label + 1.
    #[arg(long)]
    classes: Option<usize>,
    /// Hidden layer widths of the mlp, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "128,128")]
    hidden: Vec<usize>,
    /// The ring: z128 (default; 32 fractional bits) or z64 (20 fractional bits).
    #[arg(long, value_enum, default_value_t = RingChoice::Z128)]
    ring: RingChoice,
    /// The classifiers' sigmoid: clamped (comparisons, error <= 0.003
    /// everywhere) or polynomial (cheaper, wrong outside [-8, 8]).
    #[arg(long, value_enum, default_value_t = SigmoidChoice::Clamped)]
    sigmoid: SigmoidChoice,
    /// Compare on x mod 2^BITS; default: fractional bits + 24 (exact while
    /// compared values stay below 2^23); the ring's bits compare on the
    /// whole ring.
    #[arg(long, value_name = "BITS")]
    comparison_bits: Option<u32>,
    /// Reveal each epoch's mean squared error to the model owner.
    #[arg(long)]
    reveal_loss: bool,
}

impl TrainingArgs {
    /// The training graph's settings for `kind`.
    fn config(&self, kind: KindChoice) -> TrainingConfig {
        let (ring, fractional_bits) = self.ring.precision();
        let mut config = TrainingConfig::new(kind.model(self.hidden.clone()));
        config.epochs = self.epochs as usize;
        config.batch_size = self.batch_size as usize;
        config.learning_rate = self.learning_rate;
        config.ring = ring;
        config.fractional_bits = fractional_bits;
        config.sigmoid = self.sigmoid.training();
        config.comparison_bits = self.comparison_bits.or(Some(fractional_bits + 24));
        config.reveal_loss = self.reveal_loss;
        config
    }
}

#[derive(Debug, Subcommand)]
enum GraphAction {
    /// Print the hash a party approves (BLAKE3 of the graph file).
    Hash { file: PathBuf },
    /// Write the graph `blindfold run predict` runs for a model, and print its hash.
    Predict {
        #[command(flatten)]
        model: PredictGraph,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// What the prediction graph depends on.
#[derive(Debug, clap::Args)]
struct PredictGraph {
    /// The ONNX model (its architecture; the weights stay with the owner).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Inputs per session.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
    #[arg(long, value_enum, default_value_t = SigmoidChoice::Clamped)]
    sigmoid: SigmoidChoice,
    #[arg(long, value_name = "BITS")]
    comparison_bits: Option<u32>,
}

impl PredictGraph {
    fn sigmoid(&self) -> SigmoidMethod {
        self.sigmoid.onnx()
    }
}

#[derive(Debug, Subcommand)]
enum RunJob {
    /// A private prediction: model-owner's worker reads the model's weights,
    /// prediction-client's worker reads its inputs; only the client's
    /// worker gets (and writes) the outputs.
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
    },
    /// Private training: each data owner's worker reads its own table (a
    /// CSV with a header row, inside its data folder); the model owner's
    /// worker writes the trained weights (layer{l}.weight.npy and
    /// layer{l}.bias.npy). Columns are used as they are: standardise them
    /// beforehand (the in-process `blindfold train` pools the statistics
    /// privately). The operator learns each table's header and row count.
    Train {
        kind: KindChoice,
        /// A data owner's table: OWNER=PATH (inside its data folder). Repeat per owner.
        #[arg(long = "data", value_name = "OWNER=PATH", value_parser = owner_file, required = true)]
        data: Vec<(String, PathBuf)>,
        #[arg(long, value_name = "NAME")]
        label_column: String,
        #[command(flatten)]
        training: TrainingArgs,
        /// The folder, inside the model owner's data folder, for the weights.
        #[arg(long, value_name = "PATH")]
        out: Option<String>,
    },
    /// What each worker holds now: connections, sessions, buffered bytes,
    /// threads (for monitoring; nothing about values).
    Status,
    /// Any graph file: inputs as PARTY:INPUT=PATH (a path in that party's
    /// data folder), outputs written by their receivers.
    Graph {
        file: PathBuf,
        #[arg(long = "input", value_name = "PARTY:INPUT=PATH")]
        inputs: Vec<String>,
        /// The folder, inside each receiver's data folder, for its outputs.
        #[arg(long, value_name = "PATH")]
        out: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TransportChoice {
    InProcess,
    Tls,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindChoice {
    Linreg,
    Logreg,
    Mlp,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RingChoice {
    Z64,
    Z128,
}

/// OWNER=FILE.
fn owner_file(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((owner, file)) if !owner.is_empty() && !file.is_empty() => {
            Ok((owner.to_string(), PathBuf::from(file)))
        }
        _ => Err(format!("'{text}': expected OWNER=FILE.csv")),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SigmoidChoice {
    Clamped,
    Polynomial,
}

impl SigmoidChoice {
    /// For imported models.
    fn onnx(self) -> SigmoidMethod {
        match self {
            SigmoidChoice::Clamped => SigmoidMethod::Clamped,
            SigmoidChoice::Polynomial => SigmoidMethod::Polynomial,
        }
    }

    /// For training graphs.
    fn training(self) -> training::SigmoidMethod {
        match self {
            SigmoidChoice::Clamped => training::SigmoidMethod::Clamped,
            SigmoidChoice::Polynomial => training::SigmoidMethod::Polynomial,
        }
    }
}

impl KindChoice {
    fn model(self, hidden: Vec<usize>) -> ModelKind {
        match self {
            KindChoice::Linreg => ModelKind::LinearRegression,
            KindChoice::Logreg => ModelKind::LogisticRegression,
            KindChoice::Mlp => ModelKind::Mlp { hidden },
        }
    }
}

impl RingChoice {
    /// The ring and its fractional bits for training.
    fn precision(self) -> (Ring, u32) {
        match self {
            RingChoice::Z64 => (Ring::Z64, 20),
            RingChoice::Z128 => (Ring::Z128, 32),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProtocolChoice {
    Pond,
    Plaintext,
    #[value(name = "plaintext-f64")]
    PlaintextF64,
}

impl From<ProtocolChoice> for Protocol {
    fn from(choice: ProtocolChoice) -> Protocol {
        match choice {
            ProtocolChoice::Pond => Protocol::Pond,
            ProtocolChoice::Plaintext => Protocol::PlaintextFixed,
            ProtocolChoice::PlaintextF64 => Protocol::PlaintextFloat,
        }
    }
}

/// A Paillier key size: 2048, 3072 or 4096.
fn key_bits(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(bits) if blindfold_paillier::KEY_SIZES.contains(&bits) => Ok(bits),
        _ => Err("choose 2048, 3072 or 4096".to_string()),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PredictProtocol {
    Pond,
    Paillier,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Suite {
    /// Ring matmul (u64, u128) and conv2d against f32 gemm; PRG throughput.
    Kernels,
    /// Pond sessions: private matmul and the seed's network at batch 1 and 100.
    Pond,
    /// The MNIST networks A–D (and their sigmoid/average-pool adaptations)
    /// from models/*.onnx with Pond at batch 1 and 100.
    Inference,
    /// Private training: logistic regression with 100 features, one SGD
    /// step at batch 128 and one epoch over 10,000 rows.
    Training,
    /// Paillier at 2048 and 3072 bits: keygen, encrypt, decrypt, add,
    /// plaintext multiply, an encrypted 100-feature dot product.
    Paillier,
}

fn main() -> ExitCode {
    blindfold_cli::allocator::keep_freed_memory();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Demo { batch, protocol, json, trace } => {
            let demo = Demo::run(batch as usize, protocol.into(), SessionOptions::default())?;
            if let Some(path) = trace {
                demo.report
                    .write_chrome_trace(&path)
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&demo.report.to_json())?);
            } else {
                println!("{demo}");
            }
        }
        Command::Predict { model, input, protocol: PredictProtocol::Paillier, key_bits, json, .. } => {
            let prediction = predict_paillier::run(&model, &input, key_bits)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&prediction.json())?);
            } else {
                println!("{prediction}");
            }
        }
        Command::Predict {
            model,
            input,
            protocol: PredictProtocol::Pond,
            batch,
            scale,
            labels,
            compare_plaintext,
            sigmoid,
            comparison_bits,
            limit,
            trace,
            json,
            ..
        } => {
            let request = predict_pond::Request {
                model,
                input,
                batch: batch as usize,
                scale,
                labels,
                compare_plaintext,
                sigmoid: sigmoid.onnx(),
                comparison_bits,
                limit,
                trace,
                progress: !json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            let outcome = predict_pond::run(&request)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome.json())?);
            } else {
                println!("{outcome}");
            }
        }
        Command::Train { kind, data, label_column, test, training, no_standardize, out, json } => {
            let (ring, fractional_bits) = training.ring.precision();
            let request = train::Request {
                kind: kind.model(training.hidden),
                data,
                label_column,
                test,
                epochs: training.epochs as usize,
                batch_size: training.batch_size as usize,
                learning_rate: training.learning_rate,
                classes: training.classes,
                ring,
                fractional_bits,
                sigmoid: training.sigmoid.training(),
                comparison_bits: training.comparison_bits.or(Some(fractional_bits + 24)),
                reveal_loss: training.reveal_loss,
                standardize: !no_standardize,
                out,
                progress: !json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
                cancel: None,
            };
            let outcome = train::run(&request)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome.json())?);
            } else {
                println!("{outcome}");
            }
        }
        Command::Worker { config, party } => {
            let config = blindfold_network::Config::load(&config)?;
            let started = std::time::Instant::now();
            let name = party.clone();
            let log =
                move |line: &str| eprintln!("[{:10.3} s] {name}: {line}", started.elapsed().as_secs_f64());
            let worker = blindfold_network::worker::Worker::bind(
                config,
                &party,
                networked::input_reader(),
                std::sync::Arc::new(log),
            )?;
            eprintln!("{party}: listening on {}", worker.local_address()?);
            worker.serve()?;
        }
        Command::Certs { config, out } => {
            let config = blindfold_network::Config::load(&config)?;
            let names: Vec<String> = config.parties.keys().chain(config.operators.keys()).cloned().collect();
            let files = blindfold_network::certificates::generate(&names, "blindfold test CA", &out)?;
            println!(
                "wrote {} files to {} (a test CA; keep the .key files private)",
                files.len(),
                out.display()
            );
        }
        Command::Graph { action: GraphAction::Hash { file } } => {
            let graph = blindfold_network::approval::read_graph(&file)?;
            println!("{}", graph.hash());
        }
        Command::Graph { action: GraphAction::Predict { model, out } } => {
            let imported = networked::prediction_graph(
                &model.model,
                model.batch as usize,
                model.sigmoid(),
                model.comparison_bits,
            )?;
            std::fs::write(&out, imported.graph.to_bytes()).map_err(|e| format!("{}: {e}", out.display()))?;
            println!("{}", imported.graph.hash());
        }
        Command::Run { config, operator, timeout, json, save_graph, job } => {
            let config = blindfold_network::Config::load(&config)?;
            let operator = networked::operator(&config, operator)?;
            let timeout = match timeout {
                Some(seconds) if seconds.is_finite() && seconds > 0.0 => Duration::from_secs_f64(seconds),
                Some(seconds) => {
                    return Err(format!("--timeout {seconds}: give a positive number of seconds").into());
                }
                None => config.timeout,
            };
            let session = match job {
                RunJob::Status => {
                    for party in config.parties.keys() {
                        match blindfold_network::launcher::status(&config, &operator, party) {
                            Ok(h) => println!(
                                "{party}: {} connections ({} in their handshake), {} sessions, {} mailboxes holding {} bytes, {} threads",
                                h.connections,
                                h.handshaking,
                                h.sessions,
                                h.mailboxes,
                                h.buffered_bytes,
                                h.threads.map_or("?".to_string(), |t| t.to_string())
                            ),
                            Err(error) => println!("{party}: {error}"),
                        }
                    }
                    return Ok(());
                }
                RunJob::Predict { graph, weights, input, scale, first, out } => {
                    let weights = match weights {
                        Some(path) => path,
                        None => graph
                            .model
                            .file_name()
                            .map(|n| n.to_string_lossy().to_string())
                            .ok_or("--model has no file name: give --weights")?,
                    };
                    let model = networked::prediction_graph(
                        &graph.model,
                        graph.batch as usize,
                        graph.sigmoid(),
                        graph.comparison_bits,
                    )?;
                    let request = networked::PredictRequest { weights, input, scale, first, out };
                    networked::prediction_launch(&model, &request, timeout)
                }
                RunJob::Train { kind, data, label_column, training, out } => {
                    let request = networked::TrainRequest {
                        training: training.config(kind),
                        data: data
                            .into_iter()
                            .map(|(owner, path)| (owner, path.display().to_string()))
                            .collect(),
                        label_column,
                        classes: training.classes,
                        out,
                    };
                    networked::training_launch(&config, &operator, &request, timeout)?
                }
                RunJob::Graph { file, inputs, out } => {
                    let graph = blindfold_network::approval::read_graph(&file)?;
                    networked::graph_launch(graph, &inputs, out, timeout)?
                }
            };
            eprintln!("graph {}", session.graph.hash());
            if let Some(path) = save_graph {
                std::fs::write(&path, session.graph.to_bytes())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            let launched = blindfold_network::launcher::launch(&config, &operator, session)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&networked::launched_json(&launched))?);
            } else {
                print!("{}", networked::launched_text(&launched));
            }
        }
        Command::Bench {
            suite,
            json,
            runs,
            quick,
            models,
            networks,
            comparison_bits,
            transport,
            python_paillier,
        } => {
            if transport == TransportChoice::Tls && !matches!(suite, Suite::Inference) {
                return Err("--transport tls applies to the inference suite".into());
            }
            let records = match suite {
                Suite::Kernels => bench_kernels::run(runs as usize, quick),
                Suite::Pond => bench_pond::run(runs as usize)?,
                Suite::Inference => {
                    let networks = if networks.is_empty() {
                        bench_inference::NETWORKS.iter().map(|n| n.to_string()).collect()
                    } else {
                        networks
                    };
                    let mut workers = match transport {
                        TransportChoice::Tls => Some(blindfold_cli::bench_network::TlsBench::start()?),
                        TransportChoice::InProcess => None,
                    };
                    bench_inference::run(
                        runs as usize,
                        &models,
                        &networks,
                        quick,
                        comparison_bits,
                        workers.as_mut(),
                    )?
                }
                Suite::Training => bench_training::run(runs as usize, quick)?,
                Suite::Paillier => bench_paillier::run(runs as usize, quick, python_paillier)?,
            };
            bench::print(&records, json);
        }
    }
    Ok(())
}
