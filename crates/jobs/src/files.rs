//! How a worker reads its own files for a session: arrays (`.npy`, IDX,
//! CSV) as a graph input, an ONNX model's weights (kept between sessions
//! until the file changes), and tables for training. Errors other parties
//! see name the file and the problem; lines stay in the worker's log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use blindfold_network::control::{InputSource, TableShape};
use blindfold_network::worker::{InputFiles, InputReader, ReadError, WantedInput};
use blindfold_onnx::{ImportOptions, import};
use ndarray::{ArrayD, Axis, IxDyn};

use crate::input::{Header, InputError, read_array, read_table};

/// A model's weights as last read: (modified, length, weights).
type WeightsCache = Mutex<HashMap<PathBuf, (SystemTime, u64, Arc<HashMap<String, ArrayD<f64>>>)>>;

/// How a worker reads its files: arrays (`.npy`, IDX, CSV), an ONNX
/// model's weights (kept between sessions until the file changes), tables.
#[derive(Default)]
pub struct WorkerFiles {
    weights: WeightsCache,
}

impl InputFiles for WorkerFiles {
    fn read(
        &self,
        path: &Path,
        source: &InputSource,
        wanted: &[WantedInput],
    ) -> Result<HashMap<String, ArrayD<f64>>, ReadError> {
        read_source(path, source, wanted, &self.weights)
    }

    fn describe(&self, path: &Path) -> Result<TableShape, ReadError> {
        let table = read_table(path, Header::Detect).map_err(|e| private(e, path))?;
        Ok(TableShape { header: table.header, columns: table.columns, rows: table.rows })
    }
}

/// A reading error as a worker reports it: the file by its name, not its
/// place on disk; the line only in the worker's own log.
fn private(error: InputError, path: &Path) -> ReadError {
    let error = error.renamed(&file_name(path));
    ReadError { public: error.public(), private: error.location.is_some().then(|| error.to_string()) }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
}

/// The reader `blindfold worker` uses.
pub fn input_reader() -> Arc<InputReader> {
    Arc::new(WorkerFiles::default())
}

/// The weights of the ONNX model at `path`, from `cache` if unchanged.
fn model_weights(path: &Path, cache: &WeightsCache) -> Result<Arc<HashMap<String, ArrayD<f64>>>, ReadError> {
    let file = file_name(path);
    let metadata = std::fs::metadata(path).map_err(|e| ReadError::public(format!("{file}: {e}")))?;
    let stamp = (metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH), metadata.len());
    if let Some((modified, length, weights)) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(path)
        && (*modified, *length) == stamp
    {
        return Ok(Arc::clone(weights));
    }
    let bytes = std::fs::read(path).map_err(|e| ReadError::public(format!("{file}: {e}")))?;
    let weights = Arc::new(
        import(&bytes, ImportOptions::default())
            .map_err(|e| ReadError::public(format!("{file}: {e}")))?
            .weights,
    );
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(path.to_path_buf(), (stamp.0, stamp.1, Arc::clone(&weights)));
    Ok(weights)
}

/// A table's columns as `features` and its label column as `labels`.
fn read_training_table(
    path: &Path,
    label_column: &str,
    (features, labels): (&str, &str),
    classes: Option<usize>,
) -> Result<HashMap<String, ArrayD<f64>>, ReadError> {
    let file = file_name(path);
    let table = read_table(path, Header::Detect).map_err(|e| private(e, path))?;
    let label = table.column_named(label_column).map_err(|e| ReadError::public(format!("{file}: {e}")))?;
    let x = ArrayD::from_shape_vec(vec![table.rows, table.columns - 1], table.without_column(label))
        .map_err(|e| ReadError::public(format!("{file}: {e}")))?;
    let values = table.column(label);
    let y = match classes {
        None => ArrayD::from_shape_vec(vec![table.rows, 1], values)
            .map_err(|e| ReadError::public(format!("{file}: {e}")))?,
        Some(classes) => {
            let mut one_hot = ArrayD::zeros(vec![table.rows, classes]);
            let first_line = if table.header.is_some() { 2 } else { 1 };
            for (row, &value) in values.iter().enumerate() {
                if value < 0.0 || value.fract() != 0.0 || value as usize >= classes {
                    // Neither the value nor the row leaves this worker.
                    return Err(ReadError {
                        public: format!("{file}: a label is not a class number below {classes}"),
                        private: Some(format!(
                            "{file}:{}: the label is not a class number",
                            row + first_line
                        )),
                    });
                }
                one_hot[[row, value as usize]] = 1.0;
            }
            one_hot
        }
    };
    Ok(HashMap::from([(features.to_string(), x), (labels.to_string(), y)]))
}

fn read_source(
    path: &Path,
    source: &InputSource,
    wanted: &[WantedInput],
    cache: &WeightsCache,
) -> Result<HashMap<String, ArrayD<f64>>, ReadError> {
    let file = file_name(path);
    let public = |message: String| ReadError::public(format!("{file}: {message}"));
    match source {
        InputSource::Array { input, scale, rows, .. } => {
            let shape = &wanted
                .iter()
                .find(|(name, _)| name == input)
                .ok_or_else(|| ReadError::public(format!("the graph has no input '{input}' of this party")))?
                .1;
            let mut array = read_array(path).map_err(|e| private(e, path))?;
            if let Some((first, count)) = rows {
                let available = array.shape().first().copied().unwrap_or(0);
                if first + count > available {
                    return Err(public(format!("rows {first}..{} asked, it has {available}", first + count)));
                }
                array = array.slice_axis(Axis(0), (*first..first + count).into()).to_owned();
            }
            if let Some(scale) = scale {
                array.mapv_inplace(|v| v * scale);
            }
            let expected: usize = shape.iter().product();
            if array.len() != expected {
                return Err(public(format!(
                    "{} values (shape {:?}), input '{input}' takes shape {shape:?}",
                    array.len(),
                    array.shape()
                )));
            }
            let array = array.into_shape_with_order(IxDyn(shape)).map_err(|e| public(e.to_string()))?;
            Ok(HashMap::from([(input.clone(), array)]))
        }
        InputSource::ModelWeights { .. } => {
            let weights: HashMap<String, ArrayD<f64>> = model_weights(path, cache)?
                .iter()
                .filter(|(name, _)| wanted.iter().any(|(w, _)| w == *name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            if weights.is_empty() {
                return Err(public("none of its weights is an input of the graph".into()));
            }
            Ok(weights)
        }
        InputSource::Table { label_column, features, labels, classes, .. } => {
            read_training_table(path, label_column, (features, labels), *classes)
        }
    }
}
