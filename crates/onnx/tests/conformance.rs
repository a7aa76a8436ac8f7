//! ONNX's own backend node tests through blindfold (scripts/onnx-conformance.sh
//! installs onnx 1.16.2, which ships them, and runs this with
//! BLINDFOLD_ONNX_NODE_TESTS=its data/node folder).
//!
//! A test is applicable when every op of its model is in [`SUPPORTED`] and
//! its data inputs and outputs are numbers. Each applicable test is imported
//! with every float input shared among the servers (inputs given
//! alternately to the client and the model owner, each shared before use,
//! so that every op runs under Pond), integer inputs (indices, shapes,
//! axes: public structure in a blindfold graph) given to the importer as
//! constants, and run under Pond in Z_2^128 with 32 fractional bits. Its
//! outputs must equal the test's expected outputs within the tolerance of
//! its least exact op ([`tolerance`]). The harness prints every failure and
//! skip with its reason and fails below 95% of the applicable tests, or if
//! docs/onnx-support.md does not list an op of [`SUPPORTED`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use blindfold_ir::Ring;
use blindfold_onnx::proto::{ModelProto, TensorProto};
use blindfold_onnx::{ImportOptions, import, to_array};
use blindfold_runtime::{Protocol, Session, SessionOptions};
use ndarray::ArrayD;
use prost::Message;

/// The ops claimed as supported (docs/onnx-support.md lists each).
const SUPPORTED: &[&str] = &[
    "Abs",
    "Add",
    "ArgMax",
    "ArgMin",
    "ArrayFeatureExtractor",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "CastLike",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "Div",
    "Dropout",
    "Equal",
    "Exp",
    "Expand",
    "Flatten",
    "Gather",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "HardSigmoid",
    "Identity",
    "LeakyRelu",
    "LinearClassifier",
    "LinearRegressor",
    "LogSoftmax",
    "MatMul",
    "Max",
    "MaxPool",
    "Mean",
    "Min",
    "Mul",
    "Neg",
    "Normalizer",
    "PRelu",
    "Pad",
    "Range",
    "Reciprocal",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceSum",
    "Relu",
    "Reshape",
    "Scaler",
    "Shape",
    "Sigmoid",
    "Size",
    "Slice",
    "Softmax",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "Unsqueeze",
    "Where",
    "ZipMap",
];

/// The tolerance of a test: |got − expected| ≤ absolute + relative·|expected|,
/// from its least exact op. Exact ops (sums, products, comparisons, moves)
/// carry only fixed point's rounding at 32 fractional bits.
fn tolerance(ops: &[String]) -> (f64, f64) {
    let mut tolerance: (f64, f64) = (1e-4, 1e-4);
    for op in ops {
        let (absolute, relative) = match op.as_str() {
            // The clamped sigmoid: 0.003 everywhere; tanh = 2σ(2x) − 1.
            "Sigmoid" => (0.003, 0.0),
            "Tanh" => (0.006, 0.0),
            // p(x/16)^16: relative 2·10^−5 at 32 bits on |x| ≤ 16.
            "Exp" => (1e-4, 1e-4),
            // Newton's reciprocal: 2^−14 relative.
            "Div" | "Reciprocal" => (1e-4, 2e-4),
            "Sqrt" | "BatchNormalization" => (1e-4, 1e-4),
            _ => continue,
        };
        tolerance = (tolerance.0.max(absolute), tolerance.1.max(relative));
    }
    tolerance
}

enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

fn elem_type(value: &blindfold_onnx::proto::ValueInfoProto) -> Option<i32> {
    use blindfold_onnx::proto::type_proto::Value as Type;
    match value.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(tensor)) => tensor.elem_type,
        _ => None,
    }
}

fn read_tensor(path: &Path) -> Result<TensorProto, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    TensorProto::decode(bytes.as_slice()).map_err(|e| e.to_string())
}

fn run_test(folder: &Path) -> Outcome {
    let Ok(bytes) = std::fs::read(folder.join("model.onnx")) else {
        return Outcome::Skipped("no model.onnx".into());
    };
    let Ok(mut model) = ModelProto::decode(bytes.as_slice()) else {
        return Outcome::Skipped("the model does not decode".into());
    };
    let graph = model.graph.clone().unwrap_or_default();
    let ops: Vec<String> = graph.node.iter().map(|n| n.op_type.clone().unwrap_or_default()).collect();
    if let Some(op) = ops.iter().find(|op| !SUPPORTED.contains(&op.as_str())) {
        return Outcome::Skipped(format!("op {op} is not claimed"));
    }
    // float, float16, double data; integer types as constants.
    let is_float = |t: i32| matches!(t, 1 | 10 | 11);
    let is_integer = |t: i32| matches!(t, 2..=7 | 12 | 13);
    for value in graph.input.iter().chain(&graph.output) {
        let t = elem_type(value).unwrap_or(0);
        if !(is_float(t) || is_integer(t)) {
            return Outcome::Skipped(format!(
                "element type {t} of '{}' (numbers only)",
                value.name.clone().unwrap_or_default()
            ));
        }
    }
    let data = folder.join("test_data_set_0");
    let mut inputs: HashMap<String, ArrayD<f64>> = HashMap::new();
    let mut owners = HashMap::new();
    let mut first_dim = None;
    let mut float_inputs = 0;
    let mut moved = Vec::new();
    for (index, input) in graph.input.iter().enumerate() {
        let name = input.name.clone().unwrap_or_default();
        let tensor = match read_tensor(&data.join(format!("input_{index}.pb"))) {
            Ok(t) => t,
            Err(e) => return Outcome::Skipped(format!("input {index}: {e}")),
        };
        if is_integer(elem_type(input).unwrap_or(0)) {
            let mut constant = tensor;
            constant.name = Some(name);
            moved.push(constant);
            continue;
        }
        let array = match to_array(&tensor) {
            Ok(a) => a,
            Err(e) => return Outcome::Skipped(format!("input {index}: {e}")),
        };
        if float_inputs == 0 {
            first_dim = array.shape().first().copied();
        }
        let party = if float_inputs % 2 == 0 { "prediction-client" } else { "model-owner" };
        owners.insert(name.clone(), party.to_string());
        float_inputs += 1;
        inputs.insert(name, array);
    }
    if let Some(graph) = model.graph.as_mut() {
        graph.initializer.extend(moved);
        let constants: Vec<String> = graph.initializer.iter().filter_map(|i| i.name.clone()).collect();
        graph.input.retain(|i| !constants.contains(i.name.as_ref().unwrap_or(&String::new())));
    }
    let options = ImportOptions {
        batch: first_dim.unwrap_or(1),
        input_owners: owners,
        share_inputs: true,
        ring: Ring::Z128,
        ..ImportOptions::default()
    };
    let imported = match import(&model.encode_to_vec(), options) {
        Ok(m) => m,
        Err(e) => return Outcome::Failed(format!("import: {e}")),
    };
    let session_inputs = match imported.inputs_named(inputs) {
        Ok(i) => i,
        Err(e) => return Outcome::Failed(format!("inputs: {e}")),
    };
    let session_options = SessionOptions { timeout: Duration::from_secs(60), ..SessionOptions::default() };
    let result = match Session::new(imported.graph.clone())
        .protocol(Protocol::Pond)
        .options(session_options)
        .run(session_inputs)
    {
        Ok(r) => r,
        Err(e) => {
            if std::env::var("BLINDFOLD_ONNX_DUMP").is_ok() {
                for (i, n) in imported.graph.nodes().iter().enumerate() {
                    println!("  %{i} {:?} {:?}", n.op, n.ty.shape);
                }
            }
            return Outcome::Failed(format!("run: {e} {e:?}"));
        }
    };
    let (absolute, mut relative) = tolerance(&ops);
    // A float16 output is compared at float16's precision (11 bits).
    if graph.output.iter().any(|o| elem_type(o) == Some(10)) {
        relative = relative.max(1e-3);
    }
    for (index, output) in imported.outputs.iter().enumerate() {
        let expected = match read_tensor(&data.join(format!("output_{index}.pb"))).map(|t| to_array(&t)) {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => return Outcome::Skipped(format!("output {index}: {e}")),
            Err(e) => return Outcome::Skipped(format!("output {index}: {e}")),
        };
        let Some(revealed) = result.output(&output.party, &output.name) else {
            return Outcome::Failed(format!("output '{}' was not delivered", output.name));
        };
        let got = output.finish(revealed);
        if got.len() != expected.len() || (got.shape() != expected.shape() && expected.ndim() > 0) {
            return Outcome::Failed(format!(
                "output '{}': shape {:?}, expected {:?}",
                output.name,
                got.shape(),
                expected.shape()
            ));
        }
        for (g, e) in got.iter().zip(expected.iter()) {
            let close = (g - e).abs() <= absolute + relative * e.abs() || (e.is_infinite() && g.abs() > 1e6);
            if !close {
                return Outcome::Failed(format!(
                    "output '{}': {g} where {e} was expected (tolerance {absolute:e} + {relative:e}·|expected|)",
                    output.name
                ));
            }
        }
    }
    Outcome::Passed
}

#[test]
#[ignore = "needs ONNX's node tests: run scripts/onnx-conformance.sh"]
fn onnx_backend_node_tests() {
    let folder = std::env::var("BLINDFOLD_ONNX_NODE_TESTS")
        .expect("BLINDFOLD_ONNX_NODE_TESTS: the data/node folder of the onnx package (scripts/onnx-conformance.sh sets it)");
    let only = std::env::var("BLINDFOLD_ONNX_ONLY").ok();
    let mut tests: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("the node tests folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").exists())
        .filter(|p| {
            only.as_deref().is_none_or(|o| p.file_name().is_some_and(|n| n.to_string_lossy().contains(o)))
        })
        .collect();
    tests.sort();
    let (mut passed, mut failed, mut skipped) =
        (Vec::new(), Vec::new(), BTreeMap::<String, Vec<String>>::new());
    for test in &tests {
        let name = test.file_name().unwrap().to_string_lossy().to_string();
        let started = std::time::Instant::now();
        let outcome = std::panic::catch_unwind(|| run_test(test))
            .unwrap_or_else(|_| Outcome::Failed("panicked".into()));
        match outcome {
            Outcome::Passed => passed.push(name),
            Outcome::Failed(reason) => {
                println!("FAILED  {name}: {reason} ({:.1} s)", started.elapsed().as_secs_f64());
                failed.push((name, reason));
            }
            Outcome::Skipped(reason) => {
                let key = if reason.starts_with("op ") { "op not claimed".to_string() } else { reason };
                skipped.entry(key).or_default().push(name);
            }
        }
    }
    println!("\nskipped (not applicable):");
    for (reason, names) in &skipped {
        let shown: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
        println!(
            "  {reason}: {} ({}{})",
            names.len(),
            shown.join(", "),
            if names.len() > 6 { ", …" } else { "" }
        );
    }
    let applicable = passed.len() + failed.len();
    let rate = passed.len() as f64 / applicable.max(1) as f64;
    println!(
        "\nONNX node tests: {} passed, {} failed, {} skipped of {}; {:.1}% of the applicable {applicable} pass",
        passed.len(),
        failed.len(),
        skipped.values().map(Vec::len).sum::<usize>(),
        tests.len(),
        100.0 * rate
    );
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/onnx-support.md"))
            .expect("docs/onnx-support.md");
    let undocumented: Vec<&&str> =
        SUPPORTED.iter().filter(|op| !docs.contains(&format!("| {op} |"))).collect();
    assert!(undocumented.is_empty(), "docs/onnx-support.md does not list {undocumented:?}");
    if only.is_none() {
        assert!(
            applicable >= 300,
            "only {applicable} applicable tests: is this onnx 1.16's node test folder?"
        );
        assert!(rate >= 0.95, "{:.1}% of the applicable tests pass; 95% is the bar", 100.0 * rate);
    }
}
