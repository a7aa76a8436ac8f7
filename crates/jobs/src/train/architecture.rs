//! Training an ONNX model's own architecture (`--model INIT.onnx`): the
//! owners' rows as they are (no standardisation: the model's first layer
//! sees raw features, as it will after training), the loss from the
//! model's end, and the trained model written back as the same ONNX
//! architecture with its new weights.

use blindfold_ml::architecture_training::{self, Loss};
use blindfold_ml::metrics::{accuracy, r_squared};
use blindfold_onnx::{ImportOptions, import, with_parameters};
use blindfold_runtime::{Protocol, Session};
use ndarray::{Array1, Array2, ArrayD, IxDyn};

use super::{DataSource, TrainOutcome, TrainRequest, encode_labels};
use crate::error::{JobError, Result};

/// Trains `model` on `sources` (label column `label`), all parties in this
/// process, with the plaintext twin; `test` measures both models.
pub(super) fn train(
    request: &TrainRequest,
    model: &[u8],
    sources: &[DataSource],
    test: Option<&DataSource>,
    label: usize,
) -> Result<TrainOutcome> {
    let first = &sources[0].table;
    let features = first.columns - 1;
    let config = &request.config;
    let (loss, outputs) = architecture_training::loss_of(model, config)?;
    let regression = loss == Loss::SquaredError;
    let data: Vec<(String, ArrayD<f64>, ArrayD<f64>)> = sources
        .iter()
        .map(|source| {
            let table = &source.table;
            let x =
                Array2::from_shape_vec((table.rows, features), table.without_column(label)).expect("sizes");
            let y = Array1::from(table.column(label));
            if !regression
                && let Some(bad) =
                    y.iter().find(|&&v| v < 0.0 || v.fract() != 0.0 || v as usize >= outputs.max(2))
            {
                return Err(JobError::Invalid(format!(
                    "{}: label {bad} is not a class of a model with {} outputs",
                    source.name, outputs
                )));
            }
            Ok((source.owner.clone(), x.into_dyn(), encode_labels(&y, outputs, regression)))
        })
        .collect::<Result<_>>()?;
    let owners: Vec<(String, usize)> = data.iter().map(|(o, x, _)| (o.clone(), x.shape()[0])).collect();
    let plan = architecture_training::build(config, model, &owners, features)?;
    let options = super::session_options_for(request, plan.epoch_ends.clone());
    let run = architecture_training::run_with_twin(config, &plan, model, &data, options)?;
    let written = |source| JobError::Model { file: "the trained model".into(), source };
    let private_model = with_parameters(model, &run.private).map_err(written)?;
    let twin_model = with_parameters(model, &run.twin).map_err(written)?;
    let losses = super::revealed_losses(&run.session, config.epochs);
    let mut test_metric = None;
    if let Some(test) = test {
        let (x, y) = super::test_rows(test, first, label)?;
        let metric = |bytes: &[u8]| -> Result<f64> {
            let predicted = predict_f64(bytes, &x)?;
            Ok(if regression { r_squared(&predicted, &y) } else { accuracy(&predicted, &y) })
        };
        test_metric = Some((metric(&private_model)?, metric(&twin_model)?));
    }
    let rows = owners.iter().map(|(_, r)| r).sum();
    let report = &run.session.report;
    Ok(TrainOutcome {
        protocol: config.protocol,
        kind: config.kind.clone(),
        rows,
        epochs: config.epochs,
        steps: plan.steps_per_epoch * config.epochs,
        model: private_model,
        owners,
        losses,
        test_rows: test.map(|t| t.table.rows),
        test_metric,
        wall_s: run.private_s,
        plaintext_s: run.twin_s,
        bytes_sent: report.bytes_sent,
        offline_bytes: report.offline_bytes_sent,
        rounds: report.rounds,
        architecture: true,
        regression,
        privacy: config.dp.as_ref().map(|dp| {
            super::PrivacyReport::new(dp, config.batch_size, rows, plan.steps_per_epoch * config.epochs)
        }),
    })
}

/// A model's first output for rows `x` in f64 (the model as the client
/// would run it, finishing steps applied): [rows, outputs].
fn predict_f64(bytes: &[u8], x: &Array2<f64>) -> Result<Array2<f64>> {
    let model = import(bytes, ImportOptions { batch: x.nrows(), ..ImportOptions::default() })
        .map_err(|source| JobError::Model { file: "the trained model".into(), source })?;
    let input = x.clone().into_dyn().into_shape_with_order(IxDyn(&model.input_shape)).map_err(|_| {
        JobError::Invalid(format!(
            "rows of {} features for a model that takes {:?}",
            x.ncols(),
            &model.input_shape[1..]
        ))
    })?;
    let result =
        Session::new(model.graph.clone()).protocol(Protocol::PlaintextFloat).run(model.inputs(input))?;
    let output = &model.outputs[0];
    let values = output.finish(result.output(&output.party, &output.name).expect("the output is delivered"));
    let rows = values.shape()[0];
    let columns = values.len() / rows.max(1);
    Ok(values.into_shape_with_order((rows, columns)).expect("sizes"))
}
