//! A fuzzing harness that runs on stable Rust in CI: every reader of
//! untrusted bytes (ONNX models, `.npy`, IDX and CSV inputs, graph
//! encodings, wire frames and control messages, Paillier keys, ciphertext
//! matrices, requests, responses and JSON models) gets mutated real inputs,
//! byte-level and structure-aware. A finding is a panic, a hang past a
//! minute, or a broken property: an imported model that fixed point accepts
//! must not be wrong by more than its own magnitude where f64 is not, both
//! on the exact inputs and on the inputs as fixed point encodes them (a
//! wrap, a silent overflow). Results that follow the encoded weights
//! (fixed point's rounding of badly scaled models: huge activations times
//! weights of a few ulps) are counted and reported as imprecise, not as
//! findings: the overflow check bounds magnitudes, not rounding
//! (docs/protocols.md).
//!
//!     cargo test -p blindfold-jobs --test fuzz                       # CI: 2,000 to 5,000 cases each
//!     BLINDFOLD_FUZZ_CASES=100000 cargo test --release -p blindfold-jobs --test fuzz -- --nocapture
//!
//! (an allocation the input did not pay for would abort the process: a
//! finding too).

mod bytes;
mod harness;
mod models;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use blindfold_ir::Graph;
use blindfold_jobs::input::{Header, ReadLimits, read_array_within, read_matrix_within, read_table_within};
use blindfold_network::control::{
    self, InputSource, OverflowCheck, PartyRequest, Reply, Request, SessionRequest,
};
use blindfold_network::frame::{self, Frame};
use blindfold_onnx::{ImportOptions, import};
use blindfold_paillier::{Client, EncryptedMatrix, FixedPoint, LinearModel, PrivateKey, PublicKey, Server};
use blindfold_runtime::{Protocol, Session};
use harness::{Finding, Outcome, campaign};
use ndarray::{ArrayD, IxDyn};
use rand::Rng;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn read(paths: &[&str]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| std::fs::read(repository(p)).unwrap()).collect()
}

/// What reading limits the file readers get here (small: the harness must
/// not spend its time filling legitimate gigabytes).
const LIMITS: ReadLimits = ReadLimits { bytes: 1 << 24, values: 1 << 22 };

/// A scratch file for `bytes`, one per thread and name.
fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let thread =
        format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-{thread}-{name}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn refused_or_accepted<T, E>(result: Result<T, E>) -> Outcome {
    if result.is_ok() { Outcome::Accepted } else { Outcome::Refused }
}

#[test]
fn onnx_models() {
    let seeds = read(&[
        "crates/onnx/tests/fixtures/cnn.onnx",
        "crates/onnx/tests/fixtures/mlp.onnx",
        "crates/onnx/tests/fixtures/misc.onnx",
        "models/mnist-a.onnx",
        "models/mnist-a-sigmoid.onnx",
        "models/sklearn/breast-cancer-pipeline.onnx",
        "models/sklearn/digits-logistic.onnx",
    ]);
    let mutate = |rng: &mut rand_chacha::ChaCha8Rng, seeds: &[Vec<u8>]| {
        if rng.random_bool(0.75) { models::mutate(rng, seeds) } else { bytes::mutate(rng, seeds) }
    };
    campaign("onnx", 3000, &seeds, mutate, onnx_model);
}

/// Imports the model (both readers); if fixed point runs it, f64 must agree.
fn onnx_model(bytes: &[u8]) -> Result<Outcome, Finding> {
    let _ = blindfold_onnx::linear_model(bytes);
    let Ok(model) = import(bytes, ImportOptions::default()) else { return Ok(Outcome::Refused) };
    let elements: usize = model.graph.nodes().iter().map(|n| n.ty.len()).sum();
    if elements > 1_000_000 {
        return Ok(Outcome::Accepted);
    }
    let count: usize = model.input_shape.iter().product();
    let x = ArrayD::from_shape_vec(
        IxDyn(&model.input_shape),
        (0..count).map(|i| ((i as f64) * 0.618_033_988_75).fract() * 2.0 - 1.0).collect(),
    )
    .expect("sized");
    let inputs = model.inputs(x);
    let Ok(fixed) = Session::new(model.graph.clone()).protocol(Protocol::PlaintextFixed).run(inputs.clone())
    else {
        return Ok(Outcome::Refused);
    };
    let float = |inputs| {
        Session::new(model.graph.clone())
            .protocol(Protocol::PlaintextFloat)
            .run(inputs)
            .map_err(|e| format!("f64 failed where fixed point ran: {e}"))
    };
    // f64 on the inputs as fixed point encodes them (each weight rounded to
    // a multiple of 2^−F): what rounding the model's own weights does,
    // which the overflow check does not bound (a weight of 5·10^−5 is 3.3
    // ulps: 10% off before anything runs).
    let ulp = 2f64.powi(-(model.graph.fractional_bits() as i32));
    let mut encoded = inputs.clone();
    for named in encoded.values_mut() {
        for values in named.values_mut() {
            values.mapv_inplace(|v| (v / ulp).round() * ulp);
        }
    }
    let (exact, rounded) = (float(inputs)?, float(encoded)?);
    let mut imprecise = false;
    for (party, outputs) in &fixed.outputs {
        for (name, values) in outputs {
            let (expected, encoded) = (&exact.outputs[party][name], &rounded.outputs[party][name]);
            for ((got, want), near) in values.iter().zip(expected).zip(encoded) {
                let off = (got - want).abs();
                if off > 0.05 + 0.01 * want.abs() || off.is_nan() {
                    imprecise = true;
                }
                // A wrap is wrong against both; rounding's error follows the
                // rounded weights.
                let wrong = |reference: f64| {
                    let off = (got - reference).abs();
                    (off.is_nan() || off > reference.abs().max(1.0)) && reference.is_finite()
                };
                if wrong(*want) && wrong(*near) {
                    return Err(format!(
                        "silent overflow: fixed point {got} where f64 gives {want} ({near} with the weights as encoded; {party}'s {name})"
                    ));
                }
            }
        }
    }
    Ok(if imprecise { Outcome::Imprecise } else { Outcome::Accepted })
}

/// Valid `.npy` files of the dtypes read, written by ndarray-npy.
fn npy_seeds() -> Vec<Vec<u8>> {
    let write = |name: &str, write: &dyn Fn(&Path)| {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        write(&path);
        std::fs::read(path).unwrap()
    };
    vec![
        write("seed-f64.npy", &|p| ndarray_npy::write_npy(p, &ndarray::Array2::<f64>::ones((3, 4))).unwrap()),
        write("seed-f32.npy", &|p| {
            ndarray_npy::write_npy(p, &ndarray::Array3::<f32>::zeros((2, 2, 5))).unwrap()
        }),
        write("seed-u8.npy", &|p| {
            ndarray_npy::write_npy(p, &ndarray::Array1::<u8>::from(vec![1, 2, 3])).unwrap()
        }),
        write("seed-i64.npy", &|p| {
            ndarray_npy::write_npy(p, &ndarray::Array1::<i64>::from(vec![7, -2, 9])).unwrap()
        }),
    ]
}

#[test]
fn npy_files() {
    let mutate = |rng: &mut rand_chacha::ChaCha8Rng, seeds: &[Vec<u8>]| {
        if !rng.random_bool(0.5) {
            return bytes::mutate(rng, seeds);
        }
        // The header's shape or dtype, edited as text.
        let seed = &seeds[rng.random_range(0..seeds.len())];
        let text = String::from_utf8_lossy(seed).to_string();
        let edited = match rng.random_range(0..3) {
            0 => text.replacen("(3, 4)", &format!("({}, {})", huge(rng), huge(rng)), 1),
            1 => text.replacen("<f8", ["<f2", ">f8", "<i8", "|b1", "<c16", "O"][rng.random_range(0..6)], 1),
            _ => text.replacen("False", "True", 1),
        };
        let mut bytes = seed.clone();
        let header = edited.as_bytes();
        bytes[..header.len().min(128)].copy_from_slice(&header[..header.len().min(128)]);
        bytes
    };
    campaign("npy", 5000, &npy_seeds(), mutate, |bytes| {
        Ok(refused_or_accepted(read_array_within(&scratch("case.npy", bytes), &LIMITS)))
    });
}

fn huge(rng: &mut rand_chacha::ChaCha8Rng) -> u64 {
    [0, 1, 3, 1 << 20, 1 << 32, u64::MAX / 3, 99_999_999_999][rng.random_range(0..7)]
}

#[test]
fn idx_files() {
    let raw = vec![0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8];
    let labels = vec![0u8, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1];
    let mutate = |rng: &mut rand_chacha::ChaCha8Rng, seeds: &[Vec<u8>]| {
        let mut bytes = bytes::mutate(rng, seeds);
        // Half the cases gzipped, so that the decompressor sees valid streams.
        if rng.random_bool(0.5) {
            use std::io::Write;
            let mut encoder = flate2::write::GzEncoder::new(vec![1u8], flate2::Compression::fast());
            encoder.write_all(&bytes).unwrap();
            bytes = encoder.finish().unwrap();
        } else {
            bytes.insert(0, 0);
        }
        bytes
    };
    campaign("idx", 5000, &[raw, labels], mutate, |tagged| {
        let (gzipped, bytes) = (tagged[0] == 1, &tagged[1..]);
        let name = if gzipped { "case-idx3-ubyte.gz" } else { "case-idx3-ubyte" };
        Ok(refused_or_accepted(read_array_within(&scratch(name, bytes), &LIMITS)))
    });
}

#[test]
fn csv_tables() {
    let seeds: Vec<Vec<u8>> = [
        "a,b,label\n1,2,0\n3,4.5,1\n",
        "1,2,3\n4,5,6\n",
        "\u{feff}x,y\n-1e300,2\n\n3,NaN\n",
        "\"q\",r\n1,2\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    campaign("csv", 5000, &seeds, bytes::mutate, |bytes| {
        let path = scratch("case.csv", bytes);
        for header in [Header::Detect, Header::Present, Header::Absent] {
            let _ = read_table_within(&path, header, &LIMITS);
        }
        Ok(refused_or_accepted(read_matrix_within(&path, &LIMITS)))
    });
}

fn graph_seeds() -> Vec<Vec<u8>> {
    let model =
        import(&std::fs::read(repository("models/mnist-a.onnx")).unwrap(), ImportOptions::default()).unwrap();
    let seed = blindfold_ml::seed_network::graph(1).unwrap();
    let mut config =
        blindfold_ml::training::TrainingConfig::new(blindfold_ml::training::ModelKind::LogisticRegression);
    config.epochs = 1;
    config.batch_size = 4;
    let training = blindfold_ml::training::build(&config, &[("a".into(), 8)], 3, 1).unwrap();
    vec![model.graph.to_bytes(), seed.to_bytes(), training.graph.to_bytes()]
}

#[test]
fn graph_encodings() {
    campaign("graph", 5000, &graph_seeds(), bytes::mutate, |bytes| match Graph::from_bytes(bytes) {
        Ok(graph) => {
            let _ = (graph.hash(), graph.parties());
            Ok(Outcome::Accepted)
        }
        Err(_) => Ok(Outcome::Refused),
    });
}

/// Frames as workers send them: control messages, data, beats, ends.
fn frame_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let request = Request::Prepare(SessionRequest {
        session: 7,
        graph: graph_seeds().swap_remove(1),
        parties: vec!["server0".into(), "server1".into(), "producer".into(), "client".into()],
        timeout_ms: 10_000,
        part: PartyRequest {
            inputs: vec![InputSource::Array {
                input: "x".into(),
                path: "x.npy".into(),
                scale: Some(0.5),
                rows: Some((0, 4)),
            }],
            outputs: Some("out".into()),
        },
        overflow: OverflowCheck::Accepted,
        protocol: Default::default(),
    });
    for message in [request, Request::Start, Request::Describe { path: "t.csv".into() }, Request::Status] {
        let mut bytes = Vec::new();
        control::send(&mut bytes, &message).unwrap();
        seeds.push(bytes);
    }
    let reply = Reply::Failed { error: "x: failed".into(), waiting_on: Some("server1".into()) };
    let mut bytes = Vec::new();
    control::send(&mut bytes, &reply).unwrap();
    seeds.push(bytes);
    let message = blindfold_runtime::transport::Message {
        session: 7,
        op: 3,
        sequence: 1,
        traffic: blindfold_protocols::Traffic::Online,
        round: 2,
        op_round: 1,
        payload: vec![9; 40],
    };
    let mut bytes = Vec::new();
    frame::write_data(&mut bytes, &message).unwrap();
    frame::write_frame(&mut bytes, &Frame::Beat { session: 7 }).unwrap();
    seeds.push(bytes);
    seeds
}

#[test]
fn frames_and_control_messages() {
    campaign("frames", 5000, &frame_seeds(), bytes::mutate, |bytes| {
        let mut stream = Cursor::new(bytes);
        while let Ok(frame) = frame::read_frame(&mut stream, 1 << 20) {
            if let Frame::Control(body) = frame {
                let _ = postcard::from_bytes::<Request>(&body);
                let _ = postcard::from_bytes::<Reply>(&body);
            }
        }
        let _ = control::receive::<Request>(&mut Cursor::new(bytes));
        Ok(refused_or_accepted(control::receive::<Reply>(&mut Cursor::new(bytes))))
    });
}

/// One key, a 3-feature model, and messages made with them.
struct Paillier {
    key: PrivateKey,
    model: LinearModel,
    seeds: Vec<Vec<u8>>,
}

fn paillier() -> &'static Paillier {
    static KEYS: OnceLock<Paillier> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = PrivateKey::generate(2048).unwrap();
        let json = r#"{"kind": "logistic", "weights": [[1.5, -2.0], [0.25, 1.0], [-3.0, 0.5]], "bias": [0.1, -0.2]}"#;
        let model = LinearModel::from_json(json).unwrap();
        let client = Client::new(key.clone(), FixedPoint::default());
        let request = client.request(&[1.0, 2.0, 3.0, -1.0, 0.5, 0.0], 2, 3).unwrap();
        let response = Server::new(model.clone()).respond(&request).unwrap();
        let matrix = EncryptedMatrix::encrypt(&key, FixedPoint::default(), &[1.5, -2.0], 1, 2).unwrap();
        let public = key.public_key();
        let seeds = vec![
            key.public_key().to_bytes(),
            key.to_bytes(),
            matrix.to_bytes(public),
            request,
            response,
            json.as_bytes().to_vec(),
        ];
        Paillier { key, model, seeds }
    })
}

#[test]
fn paillier_formats() {
    let keys = paillier();
    campaign("paillier", 2000, &keys.seeds, bytes::mutate, |bytes| {
        let public = keys.key.public_key();
        let mut taken = 0;
        taken += PublicKey::from_bytes(bytes).is_ok() as usize;
        taken += PrivateKey::from_bytes(bytes).is_ok() as usize;
        taken += EncryptedMatrix::from_bytes(public, bytes).is_ok() as usize;
        taken += Server::new(keys.model.clone()).respond(bytes).is_ok() as usize;
        taken += Client::new(keys.key.clone(), FixedPoint::default()).read(bytes).is_ok() as usize;
        taken += std::str::from_utf8(bytes).ok().and_then(|text| LinearModel::from_json(text).ok()).is_some()
            as usize;
        Ok(if taken > 0 { Outcome::Accepted } else { Outcome::Refused })
    });
}
