//! `blindfold bench paillier`: the operations at 2048 and 3072 bits, each
//! beside python-paillier 1.5 with gmpy2 measured in the same run (by
//! `scripts/bench_python_paillier.py`, in the virtual environment that
//! `scripts/setup-python-paillier.sh` makes), with the ratio. Single
//! operations run on one core, as python-paillier does; decryption and the
//! encrypted 100-feature dot product also on all cores. The spread of the
//! server's time across weight vectors of zeros, small and large values
//! shows it does not depend on them.

use std::path::{Path, PathBuf};
use std::process::Command;

use blindfold_paillier::{EncryptedMatrix, FixedPoint, PrivateKey, WeightFormat};
use serde_json::Value;

use blindfold_jobs::{JobError, Result};

use crate::bench::{Record, time};

/// Where `scripts/setup-python-paillier.sh` puts its interpreter.
pub const PYTHON_PAILLIER: &str = "target/python-paillier/bin/python";

/// python-paillier's figures, `{bits: {op: seconds}}`, or why there are none.
fn python_paillier(python: &Path, runs: usize, sizes: &[u32]) -> Result<Value> {
    if !python.exists() {
        return Err(JobError::file(
            python,
            "not there: run scripts/setup-python-paillier.sh to compare with python-paillier",
        ));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench_python_paillier.py");
    let output = Command::new(python)
        .arg(&script)
        .args(["--runs", &runs.to_string(), "--bits"])
        .args(sizes.iter().map(|b| b.to_string()))
        .output()
        .map_err(|e| JobError::file(python, e))?;
    if !output.status.success() {
        let reason = format!("python-paillier failed: {}", String::from_utf8_lossy(&output.stderr));
        return Err(JobError::Invalid(reason));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| JobError::Invalid(format!("python-paillier's output: {e}")))
}

pub fn run(runs: usize, quick: bool, python: Option<PathBuf>) -> Result<Vec<Record>> {
    let sizes: &[u32] = if quick { &[2048] } else { &[2048, 3072] };
    let python = python.unwrap_or_else(|| PathBuf::from(PYTHON_PAILLIER));
    let reference = python_paillier(&python, runs, sizes);
    if let Err(reason) = &reference {
        eprintln!("note: {reason}");
    }
    let versions = reference
        .as_ref()
        .ok()
        .map(|r| format!("python-paillier {} with gmpy2 {}", r["version"], r["gmpy2"]));
    let theirs =
        |bits: u32, op: &str| reference.as_ref().ok().and_then(|r| r["bits"][bits.to_string()][op].as_f64());
    let mut records = Vec::new();
    let one_core = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| JobError::Invalid(format!("a one-thread pool: {e}")))?;
    let all = rayon::current_num_threads();
    for &bits in sizes {
        let make = |name: &str, op: Option<&str>, timing: crate::bench::Timing, threads: usize| {
            let mut record = Record::new("paillier", format!("{name}-{bits}"), timing)
                .with("ops_per_s", (1.0 / timing.median_s).round())
                .with("key_bits", bits)
                .with("threads", threads);
            record.protocol = Some("paillier".into());
            if let Some(seconds) = op.and_then(|op| theirs(bits, op)) {
                record = record.with("python_paillier_s", seconds).with(
                    "speedup_over_python_paillier",
                    (seconds / timing.median_s * 100.0).round() / 100.0,
                );
                if let Some(versions) = &versions {
                    record = record.with("reference", versions.clone());
                }
            }
            record
        };
        let mut add = |record: Record| records.push(record);
        let keygen = time(runs.min(3), || drop(PrivateKey::generate(bits).expect("keygen")));
        add(make("keygen", Some("keygen"), keygen, 1));
        let key = PrivateKey::generate(bits)?;
        let public = key.public_key().clone();
        let kernel = public.kernel().name();
        let format = FixedPoint::default();
        let m = format.encode(&public, 123_456.789)?;
        // The fixed-base tables are built once per key (not timed).
        drop(public.encrypt(&m)?);
        drop(key.encrypt(&m)?);
        let c = key.encrypt(&m)?;
        let d = key.encrypt(&format.encode(&public, 42.0)?)?;
        let randomizer = public.djn_randomizer()?;
        let single = |work: &mut (dyn FnMut() + Send)| one_core.install(|| time(runs, work));
        add(make("encrypt", Some("encrypt"), single(&mut || drop(public.encrypt(&m).unwrap())), 1));
        add(make(
            "encrypt-key-owner-crt",
            Some("encrypt"),
            single(&mut || drop(key.encrypt(&m).unwrap())),
            1,
        ));
        add(make(
            "encrypt-precomputed-randomness",
            None,
            single(&mut || drop(public.encrypt_with(&m, &randomizer))),
            1,
        ));
        add(make("decrypt", Some("decrypt"), single(&mut || drop(key.decrypt(&c))), 1));
        // Decryption of a batch on every core: the rate per decryption.
        let batch = EncryptedMatrix::encrypt(&key, format, &vec![1.5; 64], 1, 64)?;
        let mut timing = time(runs, || drop(batch.decrypt(&key)));
        for t in [&mut timing.median_s, &mut timing.min_s, &mut timing.max_s] {
            *t /= 64.0;
        }
        add(make("decrypt-batch-per-ciphertext", Some("decrypt"), timing, all));
        add(make("add", Some("add"), single(&mut || drop(public.add(&c, &d))), 1));
        let factor = FixedPoint::default().scale(0.37)?;
        add(make(
            "multiply-plaintext",
            Some("multiply-plaintext"),
            single(&mut || drop(public.mul_plain(&c, factor, 34))),
            1,
        ));
        // The encrypted 100-feature dot product, as a server computes it.
        let features: Vec<f64> = (0..100).map(|i| (i as f64 - 50.0) / 10.0).collect();
        let weights: Vec<f64> = (0..100).map(|i| ((i * 37) % 19) as f64 / 10.0 - 0.9).collect();
        let encrypted = EncryptedMatrix::encrypt(&key, format, &features, 1, 100)?;
        let plaintext = time(runs, || {
            std::hint::black_box(features.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>());
        });
        let weight_format = WeightFormat::default();
        let dot = |weights: &[f64]| {
            drop(encrypted.matmul_plain(&public, weight_format, weights, 1, Some(&[0.5])).unwrap())
        };
        for threads in [1, all] {
            let timing = if threads == 1 {
                one_core.install(|| time(runs, || dot(&weights)))
            } else {
                time(runs, || dot(&weights))
            };
            let mut record = make("dot-product-100", Some("dot-product-100"), timing, threads);
            record.name = format!("dot-product-100-{bits}-t{threads}");
            record.plaintext_median_s = Some(plaintext.median_s);
            add(record);
        }
        // The server's time across weight vectors: zeros, small, large.
        let vectors = [
            vec![0.0; 100],
            vec![0.001; 100],
            (0..100).map(|i| if i % 2 == 0 { 4000.0 } else { -4000.0 }).collect(),
        ];
        let medians: Vec<f64> =
            vectors.iter().map(|w| one_core.install(|| time(runs, || dot(w))).median_s).collect();
        let lowest = medians.iter().copied().fold(f64::INFINITY, f64::min);
        let highest = medians.iter().copied().fold(0.0, f64::max);
        let spread = time(1, || {});
        let mut record = Record::new("paillier", format!("server-time-spread-{bits}"), spread)
            .with("medians_s_zero_small_large", medians.clone())
            .with("spread", ((highest - lowest) / lowest * 1000.0).round() / 1000.0)
            .with("key_bits", bits);
        record.median_s = (highest + lowest) / 2.0;
        records.push(record);
        for record in records
            .iter_mut()
            .filter(|r| r.name.ends_with(&bits.to_string()) || r.name.contains(&format!("-{bits}-")))
        {
            if !record.extra.contains_key("kernel") {
                record.extra.insert("kernel".into(), kernel.into());
            }
        }
    }
    Ok(records)
}
