//! `Builder`: the graph builder for Python. The package's `Graph` and
//! `Tensor` wrap it; tensors are small integers indexing this builder's
//! handles. Running a graph returns what each receiver got and the profile.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use blindfold_ir::Inputs;
use blindfold_ir::{Conv2dGeometry, Graph, GraphBuilder, Ring, Tensor, Visibility};
use blindfold_jobs::launch::{self, GraphInput};
use blindfold_network::control::InputRange;
use blindfold_onnx::SigmoidMethod;
use blindfold_runtime::{OverflowPolicy, Protocol, Session, SessionOptions};
use numpy::{PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{owned, to_numpy};
use crate::errors::{job_error, protocol_error, session_error, value_error};
use crate::interrupt;

/// What each receiver got: {party: {name: array}}.
type Outputs<'py> = BTreeMap<String, BTreeMap<String, Bound<'py, PyArrayDyn<f64>>>>;

/// A graph being built.
#[pyclass(module = "blindfold._blindfold")]
pub struct Builder {
    inner: GraphBuilder,
    tensors: Vec<Tensor>,
}

/// A protocol by its Python name.
pub fn protocol(name: &str) -> PyResult<Protocol> {
    name.parse().map_err(value_error)
}

/// A sigmoid method by its Python name.
pub fn sigmoid_method(name: &str) -> PyResult<SigmoidMethod> {
    name.parse().map_err(value_error)
}

/// The session's inputs from a `{party: {name: float64 array}}` dict.
pub fn inputs(values: &Bound<'_, PyDict>) -> PyResult<Inputs> {
    let mut inputs = Inputs::new();
    for (party, arrays) in values.iter() {
        let party: String = party.extract()?;
        let arrays =
            arrays.cast::<PyDict>().map_err(|_| value_error(format!("inputs['{party}'] must be a dict")))?;
        let mut own = HashMap::new();
        for (name, array) in arrays.iter() {
            let name: String = name.extract()?;
            let array: PyReadonlyArrayDyn<'_, f64> = array.extract()?;
            own.insert(name, owned(&array));
        }
        inputs.insert(party, own);
    }
    Ok(inputs)
}

impl Builder {
    fn tensor(&self, id: usize) -> PyResult<Tensor> {
        self.tensors.get(id).copied().ok_or_else(|| value_error(format!("tensor {id} is not of this graph")))
    }

    fn add(&mut self, result: blindfold_ir::Result<Tensor>) -> PyResult<usize> {
        let tensor = result.map_err(value_error)?;
        self.tensors.push(tensor);
        Ok(self.tensors.len() - 1)
    }

    fn graph(&self) -> Graph {
        self.inner.graph().clone()
    }
}

fn geometry(stride: (usize, usize), padding: (usize, usize, usize, usize)) -> Conv2dGeometry {
    Conv2dGeometry { stride, padding }
}

#[pymethods]
impl Builder {
    #[new]
    #[pyo3(signature = (ring = "z64", fractional_bits = None))]
    fn new(ring: &str, fractional_bits: Option<u32>) -> PyResult<Builder> {
        let ring = match ring {
            "z64" => Ring::Z64,
            "z128" => Ring::Z128,
            other => return Err(value_error(format!("ring '{other}': choose 'z64' or 'z128'"))),
        };
        let fractional_bits = fractional_bits.unwrap_or(ring.default_fractional_bits());
        if fractional_bits == 0 || fractional_bits >= ring.bits() / 2 {
            return Err(value_error(format!(
                "fractional_bits {fractional_bits}: between 1 and {} for this ring",
                ring.bits() / 2 - 1
            )));
        }
        Ok(Builder { inner: GraphBuilder::with_precision(ring, fractional_bits), tensors: Vec::new() })
    }

    fn private_input(&mut self, party: &str, name: &str, shape: Vec<usize>) -> PyResult<usize> {
        let result = self.inner.private_input(party, name, &shape);
        self.add(result)
    }

    fn constant(&mut self, values: PyReadonlyArrayDyn<'_, f64>) -> PyResult<usize> {
        let array = values.as_array();
        let flat: Vec<f64> = array.iter().copied().collect();
        let result = self.inner.constant(array.shape(), &flat);
        self.add(result)
    }

    fn binary(&mut self, op: &str, left: usize, right: usize) -> PyResult<usize> {
        let (left, right) = (self.tensor(left)?, self.tensor(right)?);
        let result = match op {
            "add" => self.inner.add(left, right),
            "sub" => self.inner.sub(left, right),
            "mul" => self.inner.mul(left, right),
            "matmul" => self.inner.matmul(left, right),
            other => return Err(value_error(format!("unknown binary op '{other}'"))),
        };
        self.add(result)
    }

    fn unary(&mut self, op: &str, tensor: usize) -> PyResult<usize> {
        let tensor = self.tensor(tensor)?;
        let result = match op {
            "neg" => self.inner.neg(tensor),
            "relu" => self.inner.relu(tensor),
            "square" => self.inner.square(tensor),
            "sigmoid" => self.inner.sigmoid_clamped(tensor),
            "sigmoid-polynomial" => self.inner.sigmoid(tensor),
            "argmax" => self.inner.argmax(tensor),
            "max" => self.inner.max_last_axis(tensor),
            other => return Err(value_error(format!("unknown op '{other}'"))),
        };
        self.add(result)
    }

    fn scale(&mut self, tensor: usize, factor: f64) -> PyResult<usize> {
        let tensor = self.tensor(tensor)?;
        let result = self.inner.scale(tensor, factor);
        self.add(result)
    }

    fn polynomial(&mut self, tensor: usize, coefficients: Vec<f64>) -> PyResult<usize> {
        let tensor = self.tensor(tensor)?;
        let result = self.inner.polynomial(tensor, &coefficients);
        self.add(result)
    }

    fn softmax(&mut self, tensor: usize, max_exponent: i32) -> PyResult<usize> {
        let tensor = self.tensor(tensor)?;
        let result = self.inner.softmax_alternative(tensor, max_exponent);
        self.add(result)
    }

    fn conv2d(
        &mut self,
        input: usize,
        filters: usize,
        stride: (usize, usize),
        padding: (usize, usize, usize, usize),
    ) -> PyResult<usize> {
        let (input, filters) = (self.tensor(input)?, self.tensor(filters)?);
        let result = self.inner.conv2d(input, filters, geometry(stride, padding));
        self.add(result)
    }

    fn pool2d(
        &mut self,
        kind: &str,
        input: usize,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize, usize, usize),
    ) -> PyResult<usize> {
        let input = self.tensor(input)?;
        let result = match kind {
            "avg" => self.inner.avg_pool2d(input, kernel, geometry(stride, padding)),
            "max" => self.inner.max_pool2d(input, kernel, geometry(stride, padding)),
            other => return Err(value_error(format!("unknown pooling '{other}'"))),
        };
        self.add(result)
    }

    fn reshape(&mut self, tensor: usize, shape: Vec<usize>) -> PyResult<usize> {
        let tensor = self.tensor(tensor)?;
        let result = self.inner.reshape(tensor, &shape);
        self.add(result)
    }

    #[pyo3(signature = (tensor, permutation = None))]
    fn transpose(&mut self, tensor: usize, permutation: Option<Vec<usize>>) -> PyResult<usize> {
        let tensor = self.tensor(tensor)?;
        let result = self.inner.transpose(tensor, permutation.as_deref());
        self.add(result)
    }

    fn reduce(&mut self, kind: &str, tensor: usize, axes: Vec<usize>, keep_dims: bool) -> PyResult<usize> {
        let tensor = self.tensor(tensor)?;
        let result = match kind {
            "sum" => self.inner.sum(tensor, &axes, keep_dims),
            "mean" => self.inner.mean(tensor, &axes, keep_dims),
            other => return Err(value_error(format!("unknown reduction '{other}'"))),
        };
        self.add(result)
    }

    fn concat(&mut self, tensors: Vec<usize>, axis: usize) -> PyResult<usize> {
        let tensors = tensors.into_iter().map(|t| self.tensor(t)).collect::<PyResult<Vec<_>>>()?;
        let result = self.inner.concat(&tensors, axis);
        self.add(result)
    }

    fn output(&mut self, party: &str, name: &str, tensor: usize) -> PyResult<usize> {
        let tensor = self.tensor(tensor)?;
        let result = self.inner.output(party, name, tensor);
        self.add(result)
    }

    fn set_comparison_bits(&mut self, bits: Option<u32>) -> PyResult<()> {
        self.inner.set_comparison_bits(bits).map_err(value_error)
    }

    fn shape(&self, tensor: usize) -> PyResult<Vec<usize>> {
        Ok(self.inner.ty(self.tensor(tensor)?).shape.clone())
    }

    /// "public", "private:PARTY" or "shared".
    fn visibility(&self, tensor: usize) -> PyResult<String> {
        Ok(match &self.inner.ty(self.tensor(tensor)?).visibility {
            Visibility::Public => "public".to_string(),
            Visibility::Private(party) => format!("private:{party}"),
            Visibility::Shared => "shared".to_string(),
        })
    }

    fn parties(&self) -> Vec<String> {
        self.inner.graph().parties()
    }

    fn hash(&self) -> String {
        self.inner.graph().hash()
    }

    fn to_bytes(&self) -> Vec<u8> {
        self.inner.graph().to_bytes()
    }

    fn nodes(&self) -> usize {
        self.inner.graph().nodes().len()
    }

    /// Runs the graph in this process; returns ({party: {name: array}}, the
    /// profile as JSON).
    #[pyo3(signature = (inputs, protocol = "pond", timeout = 60.0, accept_overflow = false))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyDict>,
        protocol: &str,
        timeout: f64,
        accept_overflow: bool,
    ) -> PyResult<(Outputs<'py>, String)> {
        let protocol = self::protocol(protocol)?;
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(value_error(format!("timeout {timeout}: a positive number of seconds")));
        }
        let inputs = self::inputs(inputs)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let options = SessionOptions {
            timeout: Duration::from_secs_f64(timeout),
            cancel: Some(Arc::clone(&cancel)),
            overflow: if accept_overflow { OverflowPolicy::Accept } else { OverflowPolicy::Refuse },
            ..SessionOptions::default()
        };
        let session = Session::new(self.graph()).protocol(protocol).options(options);
        let result = interrupt::run(py, cancel, move || session.run(inputs))?.map_err(session_error)?;
        let report = serde_json::to_string(&result.report.to_json()).map_err(protocol_error)?;
        let outputs = result
            .outputs
            .into_iter()
            .map(|(party, values)| {
                (party, values.into_iter().map(|(name, value)| (name, to_numpy(py, value))).collect())
            })
            .collect();
        Ok((outputs, report))
    }

    /// Runs the graph on networked workers (`blindfold worker`): inputs are
    /// `{party: {name: path on that party's disk}}`; returns the launch
    /// record as JSON (session, hash, profile, the files receivers wrote).
    #[pyo3(signature = (config, inputs, operator = None, out = None, timeout = None, ranges = BTreeMap::new(), accept_overflow = false))]
    #[allow(clippy::too_many_arguments)]
    fn run_networked(
        &self,
        py: Python<'_>,
        config: &str,
        inputs: BTreeMap<String, BTreeMap<String, String>>,
        operator: Option<String>,
        out: Option<String>,
        timeout: Option<f64>,
        ranges: BTreeMap<String, BTreeMap<String, (f64, f64)>>,
        accept_overflow: bool,
    ) -> PyResult<String> {
        let config = blindfold_network::Config::load(std::path::Path::new(config)).map_err(value_error)?;
        let operator = launch::operator(&config, operator).map_err(job_error)?;
        let inputs: Vec<GraphInput> = inputs
            .into_iter()
            .flat_map(|(party, named)| {
                named.into_iter().map(move |(input, path)| GraphInput { party: party.clone(), input, path })
            })
            .collect();
        let timeout = timeout.map_or(config.timeout, Duration::from_secs_f64);
        let ranges = ranges
            .into_iter()
            .flat_map(|(party, named)| {
                named.into_iter().map(move |(input, (low, high))| InputRange {
                    party: party.clone(),
                    input,
                    low,
                    high,
                })
            })
            .collect();
        let overflow = launch::OverflowOptions { ranges, accept_risk: accept_overflow };
        let session =
            launch::graph_launch(self.graph(), &inputs, out, timeout, &overflow, Default::default())
                .map_err(job_error)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let launched = interrupt::run(py, cancel, move || {
            blindfold_network::launcher::launch(&config, &operator, session)
        })?
        .map_err(protocol_error)?;
        let mut record = launch::launched_json(&launched);
        record["report"] = launched.report.to_json();
        serde_json::to_string(&record).map_err(protocol_error)
    }
}
