//! Five `blindfold worker` processes on loopback (server0, server1,
//! producer, model-owner, prediction-client) with certificates made by
//! `blindfold certs`: `blindfold run predict` gets the in-process session's
//! predictions; killing a worker mid-session ends the others with errors
//! naming it within the timeout, and the workers serve the next session.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use blindfold_jobs::local::LocalWorkers;
use blindfold_onnx::{ImportOptions, import};
use blindfold_runtime::Session;
use common::{BINARY, SCALE, Workers, repository, text};
use ndarray::{ArrayD, Axis};

#[test]
fn five_worker_processes_predict_like_the_in_process_session() {
    let workers = Workers::new("predict", 20.0);
    let hash = workers.approve("a", 16);
    let output = workers.predict("a", 16, 0, "first").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let record: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(record["graph"], hash.as_str());
    assert!(String::from_utf8_lossy(&output.stderr).contains(&hash));
    let logits: ArrayD<f64> =
        ndarray_npy::read_npy(workers.local.deployment.data("prediction-client").join("first/logits.npy"))
            .unwrap();

    // The same prediction, every party a thread of this process.
    let bytes = std::fs::read(repository("models/mnist-a.onnx")).unwrap();
    let model = import(&bytes, ImportOptions { batch: 16, ..ImportOptions::default() }).unwrap();
    let images: ArrayD<f64> =
        ndarray_npy::read_npy(workers.local.deployment.data("prediction-client").join("images.npy")).unwrap();
    let x = images.slice_axis(Axis(0), (0..16).into()).mapv(|v| v * SCALE);
    let x = x.into_shape_with_order(model.input_shape.clone()).unwrap();
    let local = Session::new(model.graph.clone()).run(model.inputs(x)).unwrap();
    let expected = local.output("prediction-client", &model.output).unwrap();
    assert_eq!(logits.shape(), expected.shape());
    let classes = |a: &ArrayD<f64>| -> Vec<usize> {
        a.outer_iter()
            .map(|row| row.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).unwrap().0)
            .collect()
    };
    assert_eq!(classes(&logits), classes(expected));
    let labels: Vec<usize> =
        ndarray_npy::read_npy::<_, ArrayD<f64>>(repository("models/mnist-sample-labels.npy"))
            .map(|a| a.iter().map(|&v| v as usize).collect())
            .or_else(|_| {
                ndarray_npy::read_npy::<_, ArrayD<u8>>(repository("models/mnist-sample-labels.npy"))
                    .map(|a| a.iter().map(|&v| v as usize).collect())
            })
            .unwrap();
    assert_eq!(classes(&logits), labels);
    // Logits within the truncation error of the in-process run (a few
    // units in the last of 16 fractional bits, through four layers).
    for (a, b) in logits.iter().zip(expected) {
        assert!((a - b).abs() < 0.01, "{a} vs {b}");
    }
    // Same protocol, same bytes and rounds.
    assert_eq!(record["rounds"], local.report.rounds);
    assert_eq!(record["bytes_sent"], local.report.bytes_sent + local.report.offline_bytes_sent);
    // Outputs stay on the client's disk; nothing else was written elsewhere.
    assert!(!workers.local.deployment.data("server0").join("first").exists());
}

#[test]
fn killing_a_worker_mid_session_ends_the_others_naming_it_and_the_rest_keep_serving() {
    let timeout_s = 10.0;
    let mut workers = Workers::new("kill", timeout_s);
    workers.approve("c", 64);
    workers.approve("a", 16);
    let session =
        workers.predict("c", 64, 0, "c").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Kill server1 once the session runs there.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !workers.log("server1").contains("started by operator") {
        assert!(Instant::now() < deadline, "the session never started: {}", workers.log("server1"));
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    workers.kill("server1");
    let killed = Instant::now();
    let output = session.wait_with_output().unwrap();
    let ended = killed.elapsed();
    let message = text(&output);
    assert!(!output.status.success(), "the session survived a dead server: {message}");
    assert!(ended < Duration::from_secs_f64(timeout_s), "took {ended:?}: {message}");
    assert!(message.contains("server1: the worker's connection closed before it answered"), "{message}");
    // Every party that failed names server1: directly, or through the
    // reason a peer gave as it left (a party that had already done its
    // part, like a producer far ahead, may have finished).
    let line = message.lines().find(|l| l.trim_start().starts_with("server0:")).unwrap_or("");
    assert!(line.contains("server1"), "{message}");
    for failure in message.lines().filter(|l| l.starts_with("  ")) {
        assert!(failure.contains("server1"), "{failure}: {message}");
    }
    // server1 back: the same workers run the next session.
    workers.start("server1");
    let output = workers.predict("a", 16, 16, "after").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(workers.local.deployment.data("prediction-client").join("after/logits.npy").exists());
}

/// The diabetes table standardised (as owners would with agreed public
/// constants), split in two hospitals' CSV files on their own disks.
fn diabetes_tables(local: &LocalWorkers) -> Vec<ndarray::Array2<f64>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/diabetes.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows: Vec<Vec<f64>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let mut table = ndarray::Array2::from_shape_vec((rows.len(), 11), rows.concat()).unwrap();
    for mut column in table.columns_mut() {
        let mean = column.mean().unwrap();
        let std = column.std(0.0);
        column.mapv_inplace(|v| (v - mean) / std);
    }
    let parts =
        [table.slice(ndarray::s![..200, ..]).to_owned(), table.slice(ndarray::s![200.., ..]).to_owned()];
    for (party, part) in ["hospital-a", "hospital-b"].iter().zip(&parts) {
        let mut csv = header.clone() + "\n";
        for row in part.rows() {
            csv += &(row.iter().map(|v| format!("{v:.17}")).collect::<Vec<_>>().join(",") + "\n");
        }
        std::fs::write(local.deployment.data(party).join("rows.csv"), csv).unwrap();
    }
    parts.to_vec()
}

#[test]
fn training_on_workers_is_refused_until_approved_then_learns_what_the_plaintext_twin_learns() {
    let dir = std::env::temp_dir().join(format!("blindfold-workers-{}-train", std::process::id()));
    let parties: Vec<String> = ["server0", "server1", "producer", "hospital-a", "hospital-b", "model-owner"]
        .map(String::from)
        .to_vec();
    let local = LocalWorkers::start(&dir, Path::new(BINARY), &parties, 20.0).unwrap();
    let tables = diabetes_tables(&local);
    let graph_file = dir.join("train.graph");
    let train = || {
        Command::new(BINARY)
            .args(["run", "--json", "--save-graph"])
            .arg(&graph_file)
            .arg("--config")
            .arg(&local.deployment.config_path)
            .args(["train", "linreg", "--data", "hospital-a=rows.csv", "--data", "hospital-b=rows.csv"])
            .args(["--label-column", "target", "--epochs", "3", "--learning-rate", "0.05", "--out", "model"])
            .output()
            .unwrap()
    };
    // The operator's first run: refused (nobody approved), the graph saved for review.
    let refused = train();
    assert!(!refused.status.success());
    assert!(text(&refused).contains("is not approved by hospital-a's operator"), "{}", text(&refused));
    let graph = blindfold_network::approval::read_graph(&graph_file).unwrap();
    local.deployment.approve(&graph, &parties).unwrap();
    let output = train();
    assert!(output.status.success(), "{}", text(&output));
    let folder = local.deployment.data("model-owner").join("model");
    let weight: ArrayD<f64> = ndarray_npy::read_npy(folder.join("layer0.weight.npy")).unwrap();
    let bias: ArrayD<f64> = ndarray_npy::read_npy(folder.join("layer0.bias.npy")).unwrap();
    // The same graph in the clear, on the same rows.
    let data: Vec<(String, ArrayD<f64>, ArrayD<f64>)> = ["hospital-a", "hospital-b"]
        .iter()
        .zip(&tables)
        .map(|(owner, t)| {
            let features = t.slice(ndarray::s![.., ..10]).to_owned().into_dyn();
            let labels = t.slice(ndarray::s![.., 10..]).to_owned().into_dyn();
            (owner.to_string(), features, labels)
        })
        .collect();
    let twin = Session::new(graph)
        .protocol(blindfold_runtime::Protocol::PlaintextFloat)
        .run(blindfold_ml::training::inputs(&data))
        .unwrap();
    let expected = twin.output("model-owner", "layer0.weight").unwrap();
    assert_eq!(weight.shape(), [10, 1]);
    for (a, b) in weight.iter().zip(expected.iter()) {
        assert!((a - b).abs() < 1e-3, "{weight:?} vs {expected:?}");
    }
    assert!((bias[[0]] - twin.output("model-owner", "layer0.bias").unwrap()[[0]]).abs() < 1e-3);
    // Only the model owner wrote anything.
    assert!(!local.deployment.data("hospital-a").join("model").exists());
}

#[test]
fn three_server_workers_predict_replicated_like_in_process_and_a_killed_server_ends_the_others() {
    let timeout_s = 10.0;
    let mut workers = Workers::replicated("replicated", timeout_s);
    workers.approve("a", 16);
    let output = workers.predict("a", 16, 0, "first").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let record: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let logits: ArrayD<f64> =
        ndarray_npy::read_npy(workers.local.deployment.data("prediction-client").join("first/logits.npy"))
            .unwrap();
    let bytes = std::fs::read(repository("models/mnist-a.onnx")).unwrap();
    let model = import(&bytes, ImportOptions { batch: 16, ..ImportOptions::default() }).unwrap();
    let images: ArrayD<f64> =
        ndarray_npy::read_npy(workers.local.deployment.data("prediction-client").join("images.npy")).unwrap();
    let x = images.slice_axis(Axis(0), (0..16).into()).mapv(|v| v * SCALE);
    let x = x.into_shape_with_order(model.input_shape.clone()).unwrap();
    let local = Session::new(model.graph.clone())
        .protocol(blindfold_runtime::Protocol::Replicated)
        .run(model.inputs(x))
        .unwrap();
    let expected = local.output("prediction-client", &model.output).unwrap();
    for (a, b) in logits.iter().zip(expected) {
        assert!((a - b).abs() < 0.01, "{a} vs {b}");
    }
    // The same protocol: no producer, the same bytes and rounds.
    assert_eq!(record["rounds"], local.report.rounds);
    assert_eq!(record["bytes_sent"], local.report.bytes_sent + local.report.offline_bytes_sent);
    assert!(local.report.parties.iter().all(|p| p.party != "producer"));

    // server2 killed mid-session: the others end, naming it.
    workers.approve("c", 64);
    let session =
        workers.predict("c", 64, 0, "c").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !workers.log("server2").contains("started by operator") {
        assert!(Instant::now() < deadline, "the session never started: {}", workers.log("server2"));
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    workers.kill("server2");
    let killed = Instant::now();
    let output = session.wait_with_output().unwrap();
    let message = text(&output);
    assert!(!output.status.success(), "the session survived a dead server: {message}");
    assert!(killed.elapsed() < Duration::from_secs_f64(timeout_s), "{message}");
    assert!(message.contains("server2: the worker's connection closed before it answered"), "{message}");
    for failure in message.lines().filter(|l| l.starts_with("  ")) {
        assert!(failure.contains("server2"), "{failure}: {message}");
    }
}
