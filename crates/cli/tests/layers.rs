//! The crates keep DESIGN.md's layers: a crate depends only on crates of
//! lower layers (dev-dependencies included, for tests may not reach up
//! either, except the onnx tests' use of the runtime to run what they
//! import), and the two faces (CLI, Python) meet only in `jobs`.

use std::collections::BTreeMap;
use std::process::Command;

/// Each crate's layer, bottom up, as DESIGN.md numbers them.
const LAYERS: [(&str, u32); 11] = [
    ("blindfold-ring", 1),
    ("blindfold-paillier", 2),
    ("blindfold-ir", 3),
    ("blindfold-protocols", 4),
    ("blindfold-runtime", 5),
    ("blindfold-onnx", 6),
    ("blindfold-ml", 7),
    ("blindfold-network", 7),
    ("blindfold-jobs", 8),
    ("blindfold-cli", 9),
    ("blindfold-python", 9),
];

/// Dependencies between blindfold crates: (crate, dependency, kind).
fn dependencies() -> Vec<(String, String, String)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut edges = Vec::new();
    for package in metadata["packages"].as_array().unwrap() {
        for dependency in package["dependencies"].as_array().unwrap() {
            let name = dependency["name"].as_str().unwrap();
            if name.starts_with("blindfold-") {
                let kind = dependency["kind"].as_str().unwrap_or("normal").to_string();
                edges.push((package["name"].as_str().unwrap().to_string(), name.to_string(), kind));
            }
        }
    }
    edges
}

#[test]
fn no_crate_imports_a_crate_above_it() {
    let layers: BTreeMap<&str, u32> = LAYERS.into_iter().collect();
    let edges = dependencies();
    assert!(!edges.is_empty());
    for (from, to, kind) in &edges {
        let (Some(&upper), Some(&lower)) = (layers.get(from.as_str()), layers.get(to.as_str())) else {
            panic!("{from} or {to} has no layer in this test: add it as DESIGN.md places it");
        };
        let allowed =
            lower < upper || (from == "blindfold-onnx" && to == "blindfold-runtime" && kind == "dev");
        assert!(allowed, "{from} (layer {upper}) depends on {to} (layer {lower}) as {kind}");
    }
}

#[test]
fn python_binds_to_jobs_not_to_the_command() {
    let edges = dependencies();
    let python: Vec<&str> = edges
        .iter()
        .filter(|(from, _, _)| from == "blindfold-python")
        .map(|(_, to, _)| to.as_str())
        .collect();
    assert!(python.contains(&"blindfold-jobs"), "{python:?}");
    assert!(!python.contains(&"blindfold-cli"), "{python:?}");
}
