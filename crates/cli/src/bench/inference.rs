//! `blindfold bench inference`: the MNIST networks of docs/benchmarks.md (A–D,
//! and the model adaptations A-sigmoid and C-sigmoid-avgpool) imported from
//! the repository's ONNX files and run with Pond (and/or the replicated
//! protocol, `--protocol`) at batch 1 and 100, beside the plaintext f32 run
//! of the same graph in the same process.
//!
//! Inputs are the shipped sample test images (`mnist-sample-images.npy`,
//! repeated to fill a batch of 100), so the suite needs the repository only.

use blindfold_ir::{Graph, Op};
use blindfold_onnx::{ImportOptions, SigmoidMethod, import};
use ndarray::{Axis, IxDyn, concatenate};

use crate::bench::network::TlsBench;
use crate::bench::pond::measure_with;
use blindfold_jobs::{JobError, Result};
use blindfold_runtime::OverflowPolicy;

use crate::bench::{BenchOptions, Record};
use blindfold_jobs::input::read_array;
use blindfold_jobs::predict::calibrate as calibrate_widths;
use blindfold_protocols::calibration;

/// The networks measured when none are named.
pub const NETWORKS: [&str; 6] = ["a", "b", "c", "d", "a-sigmoid", "c-sigmoid-avgpool"];

/// Measures each of `networks` (names as in `models/mnist-NAME.onnx`) at
/// batch 1 and 100; `quick` measures batch 1 only. With `workers` (the
/// TLS transport), each workload is also run on the worker processes, and
/// that record follows the in-process one.
pub fn run(
    options: &BenchOptions,
    networks: &[String],
    mut workers: Option<&mut TlsBench>,
) -> Result<Vec<Record>> {
    let (runs, models, quick) = (options.runs, options.models.as_path(), options.quick);
    let (comparison_bits, protocols, calibrate) =
        (options.comparison_bits, &options.protocols, options.calibrate.as_deref());
    let sample = match calibrate {
        Some(path) => {
            let sample = read_array(path)?.mapv(|pixel| pixel / 255.0);
            if sample.ndim() != 3 {
                return Err(JobError::Invalid(format!("{}: expected N images of HxW", path.display())));
            }
            Some(sample.insert_axis(Axis(1)))
        }
        None => None,
    };
    let images_path = models.join("mnist-sample-images.npy");
    let images = read_array(&images_path)?.mapv(|pixel| pixel / 255.0);
    if images.ndim() != 3 || images.shape()[0] == 0 {
        return Err(JobError::Invalid(format!("{}: expected N images of HxW", images_path.display())));
    }
    let images = images.insert_axis(Axis(1));
    let mut records = Vec::new();
    for network in networks {
        let path = models.join(format!("mnist-{}.onnx", network.to_ascii_lowercase()));
        let bytes = std::fs::read(&path).map_err(|e| JobError::file(&path, e))?;
        let methods: &[(SigmoidMethod, &str)] = if network.contains("sigmoid") {
            &[(SigmoidMethod::Clamped, ""), (SigmoidMethod::Polynomial, "-polynomial")]
        } else {
            &[(SigmoidMethod::Clamped, "")]
        };
        for (batch, &(sigmoid, suffix)) in iproduct(if quick { &[1][..] } else { &[1, 100][..] }, methods) {
            let import_at = |batch: usize| {
                import(&bytes, ImportOptions { batch, sigmoid, comparison_bits, ..ImportOptions::default() })
                    .map_err(|source| JobError::Model { file: path.display().to_string(), source })
            };
            let mut imported = import_at(batch)?;
            let mut bits = comparison_bits.map_or_else(|| "ring".to_string(), |b| b.to_string());
            if let Some(sample) = &sample {
                let widths = calibrate_widths(&import_at, sample, &[], &path.display().to_string())?;
                imported.graph = calibration::apply(&imported.graph, &widths).map_err(JobError::Graph)?;
                let histogram: Vec<String> =
                    widths.histogram().iter().map(|(bits, count)| format!("{count}x{bits}")).collect();
                bits = format!("calibrated {}", histogram.join(" "));
            }
            let copies = batch.div_ceil(images.shape()[0]);
            let views = vec![images.view(); copies];
            let x = concatenate(Axis(0), &views)
                .expect("copies of one array")
                .slice_axis(Axis(0), (0..batch).into())
                .to_owned();
            let x = x
                .into_shape_with_order(IxDyn(&imported.input_shape))
                .map_err(|_| JobError::file(&path, "the model does not take 1x28x28 images"))?;
            let comparisons = comparisons(&imported.graph);
            let name = display_name(network) + suffix;
            let inputs = imported.inputs(x.clone());
            // The polynomial sigmoid leaves its range on these networks (the
            // point of the workload, docs/model-adaptation.md): measured with
            // the overflow risk accepted, and the record says so.
            let overflow = if sigmoid == SigmoidMethod::Polynomial {
                OverflowPolicy::Accept
            } else {
                OverflowPolicy::Refuse
            };
            let accepted = overflow == OverflowPolicy::Accept;
            for &protocol in protocols {
                let graph = imported.graph.clone();
                let record = measure_with(
                    protocol,
                    overflow,
                    "inference",
                    &name,
                    Some(batch),
                    graph,
                    inputs.clone(),
                    runs,
                )?;
                let in_process_s = record.median_s;
                let mark = |record: Record| {
                    let record =
                        record.with("comparisons", comparisons).with("comparison_bits", bits.clone());
                    if accepted { record.with("overflow_risk_accepted", true) } else { record }
                };
                records.push(mark(record));
                // Each protocol's networked record follows its in-process one.
                if let Some(workers) = workers.as_deref_mut() {
                    let networked = workers.measure(&name, &path, &imported, &x, runs, protocol, accepted)?;
                    let ratio = networked.median_s / in_process_s;
                    records.push(
                        mark(networked)
                            .with("in_process_median_s", in_process_s)
                            .with("ratio_to_in_process", (ratio * 100.0).round() / 100.0),
                    );
                }
            }
        }
    }
    Ok(records)
}

/// Elements compared (DReLU evaluations) in one run of `graph`.
fn comparisons(graph: &Graph) -> usize {
    graph
        .nodes()
        .iter()
        .filter(|node| matches!(node.op, Op::Drelu { .. } | Op::DreluBounded { .. }))
        .map(|node| node.ty.shape.iter().product::<usize>())
        .sum()
}

/// "c-sigmoid-avgpool" → "C-sigmoid-avgpool", as docs/benchmarks.md names the networks.
fn display_name(network: &str) -> String {
    let mut chars = network.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// Every (batch, method) pair, batches outermost.
fn iproduct<'a, T: Copy>(batches: &'a [usize], methods: &'a [T]) -> impl Iterator<Item = (usize, &'a T)> {
    batches.iter().flat_map(move |&batch| methods.iter().map(move |method| (batch, method)))
}
