//! ONNX models that are linear in their input, as one affine map and what
//! follows it: the form the encrypted (Paillier) path runs, where a server
//! computes x·W + b on ciphertexts and the client finishes the scores.
//!
//! The graph is evaluated symbolically: the model's input is the identity
//! map, and each node transforms an affine map (A, b) of the input —
//! Scaler, MatMul and Gemm by constants, Add/Sub/Mul/Div/Neg with
//! constants, LinearRegressor, LinearClassifier's scores, and the shape
//! ops that keep rows (Identity, Cast to a float type, Flatten, Reshape to
//! [N, k], Squeeze/Unsqueeze of unit axes). What may follow the map is
//! what the client computes after decryption: a post-transform (Sigmoid,
//! Softmax on the last axis, a linear model's post_transform), a
//! Normalizer, ZipMap, and a label (LinearClassifier's, or ArgMax on the
//! last axis), cast as the model wants. Anything else is an error naming
//! the node and the op: the model is not linear in its input.

use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayD, Axis, Ix2};
use prost::Message;

use crate::attributes::{
    float_attribute, floats_attribute, int_attribute, ints_attribute, node_name, string_attribute,
    strings_attribute,
};
use crate::error::{OnnxError, Result};
use crate::proto::{ModelProto, NodeProto};
use crate::tensor::to_array;

/// What the client applies to the decrypted scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostTransform {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
}

/// A classifier's labels, in score order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Labels {
    Integers(Vec<i64>),
    Strings(Vec<String>),
}

/// ONNX's Normalizer norms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    L1,
    L2,
    Max,
}

/// A model linear in its input, and how its scores are finished.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearPipeline {
    /// The model's input and its feature count.
    pub input: String,
    pub features: usize,
    /// `weights[feature][output]` and `bias[output]`: scores = x·W + b.
    pub weights: Vec<Vec<f64>>,
    pub bias: Vec<f64>,
    pub post_transform: PostTransform,
    /// The class labels, for a classifier (ArgMax alone gives 0..k).
    pub labels: Option<Labels>,
    pub normalization: Option<Norm>,
    /// The model's output that carries the scores or probabilities, and
    /// the one that carries the labels, if any.
    pub score_output: String,
    pub label_output: Option<String>,
}

/// An affine map of the input: features × k, and k.
#[derive(Clone, Debug)]
struct Affine {
    a: Array2<f64>,
    b: Array1<f64>,
}

/// The finishing steps after the affine map.
#[derive(Clone, Debug)]
struct Finish {
    map: Affine,
    post: PostTransform,
    labels: Option<Labels>,
    normalization: Option<Norm>,
}

/// A value during the walk.
#[derive(Clone, Debug)]
enum Symbol {
    Constant(ArrayD<f64>),
    /// Linear in the input (scores not yet finished).
    Affine(Affine),
    /// Scores after a post-transform.
    Scores(Finish),
    /// A label per row.
    Label(Finish),
}

/// The most input features the encrypted path reads: the model is traced
/// as an affine map from the identity, features × features values.
pub const MAX_FEATURES: usize = 1 << 14;

/// Reads `bytes` as a model linear in its input.
pub fn linear_model(bytes: &[u8]) -> Result<LinearPipeline> {
    let model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let graph = model.graph.ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;
    let mut values: HashMap<String, Symbol> = HashMap::new();
    for initializer in &graph.initializer {
        values.insert(initializer.name.clone().unwrap_or_default(), Symbol::Constant(to_array(initializer)?));
    }
    let inputs: Vec<_> =
        graph.input.iter().filter(|i| !values.contains_key(i.name.as_deref().unwrap_or(""))).collect();
    let [input] = inputs.as_slice() else {
        return Err(OnnxError::Signature(format!(
            "{} inputs besides the weights; the encrypted path takes one (the client's rows)",
            inputs.len()
        )));
    };
    let name = input.name.clone().unwrap_or_default();
    let features = feature_count(input).ok_or_else(|| {
        OnnxError::Signature(format!("input '{name}': its feature count (last dimension) is not fixed"))
    })?;
    if features > MAX_FEATURES {
        return Err(OnnxError::Signature(format!(
            "input '{name}' has {features} features, more than the encrypted path's limit of {MAX_FEATURES}"
        )));
    }
    values.insert(
        name.clone(),
        Symbol::Affine(Affine { a: Array2::eye(features), b: Array1::zeros(features) }),
    );
    for node in &graph.node {
        let outputs = evaluate(node, &values)?;
        for (output, symbol) in node.output.iter().zip(outputs) {
            values.insert(output.clone(), symbol);
        }
    }
    let mut scores: Option<(String, Finish)> = None;
    let mut label: Option<(String, Finish)> = None;
    for output in &graph.output {
        let output_name = output.name.clone().unwrap_or_default();
        let symbol = values.get(&output_name).ok_or_else(|| {
            OnnxError::Signature(format!("output '{output_name}' is not produced by any node"))
        })?;
        let slot = match symbol {
            Symbol::Affine(map) => (
                &mut scores,
                Finish { map: map.clone(), post: PostTransform::None, labels: None, normalization: None },
            ),
            Symbol::Scores(finish) => (&mut scores, finish.clone()),
            Symbol::Label(finish) => (&mut label, finish.clone()),
            Symbol::Constant(_) => {
                return Err(OnnxError::Signature(format!(
                    "output '{output_name}' does not depend on the input"
                )));
            }
        };
        if slot.0.is_some() {
            return Err(OnnxError::Signature(
                "more than one output of the same kind (scores or labels): the encrypted path returns one of each"
                    .into(),
            ));
        }
        *slot.0 = Some((output_name, slot.1));
    }
    let (score_output, finish) = match (scores, &label) {
        (Some(scores), _) => scores,
        (None, Some((_, finish))) => (String::new(), finish.clone()),
        (None, None) => return Err(OnnxError::Signature("the model has no output".into())),
    };
    if let Some((_, label_finish)) = &label
        && (label_finish.map.a != finish.map.a || label_finish.map.b != finish.map.b)
    {
        return Err(OnnxError::Signature("the labels and the scores come from different maps".into()));
    }
    let labels = label.as_ref().and_then(|(_, f)| f.labels.clone()).or(finish.labels.clone());
    let weights = finish.map.a.rows().into_iter().map(|row| row.to_vec()).collect();
    Ok(LinearPipeline {
        input: name,
        features,
        weights,
        bias: finish.map.b.to_vec(),
        post_transform: finish.post,
        labels,
        normalization: finish.normalization,
        score_output,
        label_output: label.map(|(name, _)| name),
    })
}

/// The last dimension of a [N, features] (or [features]) input, if fixed.
fn feature_count(input: &crate::proto::ValueInfoProto) -> Option<usize> {
    use crate::proto::type_proto::Value;
    let Some(Value::TensorType(tensor)) = input.r#type.as_ref()?.value.as_ref() else { return None };
    let dims = &tensor.shape.as_ref()?.dim;
    let last = dims.last()?;
    match last.value.as_ref()? {
        crate::proto::tensor_shape_proto::dimension::Value::DimValue(v) if *v > 0 => Some(*v as usize),
        _ => None,
    }
}

fn unsupported(node: &NodeProto, what: &str) -> OnnxError {
    OnnxError::Unsupported {
        node: node_name(node),
        op: node.op_type.clone().unwrap_or_default(),
        what: what.into(),
    }
}

fn not_linear(node: &NodeProto) -> OnnxError {
    unsupported(
        node,
        "not linear in the model's input: the encrypted path runs linear models only (use Pond for others)",
    )
}

/// A constant as a vector broadcast over `k` outputs (a scalar, [k] or [1, k]).
fn per_output(node: &NodeProto, constant: &ArrayD<f64>, k: usize) -> Result<Array1<f64>> {
    let values: Vec<f64> = constant.iter().copied().collect();
    match values.len() {
        1 => Ok(Array1::from_elem(k, values[0])),
        n if n == k && constant.ndim() <= 2 && constant.shape().first().is_none_or(|&d| d == k || d == 1) => {
            Ok(Array1::from(values))
        }
        n => Err(unsupported(node, &format!("a constant of {n} values does not broadcast over {k} outputs"))),
    }
}

/// The symbol of `name`, or an error naming the node.
fn input<'a>(node: &NodeProto, values: &'a HashMap<String, Symbol>, index: usize) -> Result<&'a Symbol> {
    let name = node.input.get(index).cloned().unwrap_or_default();
    values.get(&name).ok_or_else(|| OnnxError::MissingValue {
        node: node_name(node),
        op: node.op_type.clone().unwrap_or_default(),
        input: name,
    })
}

fn scale_columns(map: &Affine, factors: &Array1<f64>) -> Affine {
    Affine { a: &map.a * &factors.view().insert_axis(Axis(0)), b: &map.b * factors }
}

fn post_transform(node: &NodeProto) -> Result<PostTransform> {
    match string_attribute(node, "post_transform").as_deref().unwrap_or("NONE") {
        "NONE" => Ok(PostTransform::None),
        "LOGISTIC" => Ok(PostTransform::Logistic),
        "SOFTMAX" => Ok(PostTransform::Softmax),
        "SOFTMAX_ZERO" => Ok(PostTransform::SoftmaxZero),
        other => Err(unsupported(node, &format!("post_transform {other} is not supported"))),
    }
}

/// A linear model's coefficients ([outputs × inputs], row-major) applied to `map`.
fn apply_coefficients(node: &NodeProto, map: &Affine, outputs: usize) -> Result<Affine> {
    let coefficients: Vec<f64> =
        floats_attribute(node, "coefficients").unwrap_or_default().iter().map(|&v| v as f64).collect();
    let k = map.a.ncols();
    if outputs == 0 || coefficients.len() != outputs * k {
        return Err(unsupported(
            node,
            &format!("{} coefficients for {outputs} outputs of {k} inputs", coefficients.len()),
        ));
    }
    let w = Array2::from_shape_vec((outputs, k), coefficients).expect("sizes checked").reversed_axes();
    let intercepts: Vec<f64> =
        floats_attribute(node, "intercepts").unwrap_or_default().iter().map(|&v| v as f64).collect();
    let intercepts = match intercepts.len() {
        0 => Array1::zeros(outputs),
        n if n == outputs => Array1::from(intercepts),
        n => return Err(unsupported(node, &format!("{n} intercepts for {outputs} outputs"))),
    };
    Ok(Affine { a: map.a.dot(&w), b: map.b.dot(&w) + intercepts })
}

fn finish(map: Affine, post: PostTransform) -> Finish {
    Finish { map, post, labels: None, normalization: None }
}

/// One node's outputs from its inputs' symbols.
fn evaluate(node: &NodeProto, values: &HashMap<String, Symbol>) -> Result<Vec<Symbol>> {
    let op = node.op_type.as_deref().unwrap_or("");
    let first = input(node, values, 0)?;
    let constant = |index: usize| -> Result<&ArrayD<f64>> {
        match input(node, values, index)? {
            Symbol::Constant(c) => Ok(c),
            _ => Err(not_linear(node)),
        }
    };
    Ok(match (op, first) {
        // Shape ops that keep one row per input row.
        ("Identity" | "Flatten" | "Squeeze" | "Unsqueeze", symbol) => vec![symbol.clone()],
        ("Reshape", Symbol::Affine(map)) => {
            let shape = constant(1)?;
            let k = map.a.ncols() as f64;
            let dims: Vec<f64> = shape.iter().copied().collect();
            let keeps_rows = matches!(dims.as_slice(), [_, last] if *last == k || *last == -1.0)
                || matches!(dims.as_slice(), [single] if *single == -1.0 || *single == k);
            if !keeps_rows {
                return Err(unsupported(
                    node,
                    &format!("a reshape to {dims:?} does not keep rows of {k} values"),
                ));
            }
            vec![first.clone()]
        }
        ("Cast", Symbol::Affine(_) | Symbol::Scores(_)) => {
            // To a float type only: an integer cast of scores is not linear.
            match int_attribute(node, "to", 1) {
                1 | 10 | 11 | 16 => vec![first.clone()],
                other => return Err(unsupported(node, &format!("a cast of scores to element type {other}"))),
            }
        }
        ("Cast", Symbol::Label(_)) => vec![first.clone()],
        ("Scaler", Symbol::Affine(map)) => {
            let k = map.a.ncols();
            let read = |name: &str, default: f32| -> Result<Array1<f64>> {
                let values: Vec<f64> =
                    floats_attribute(node, name).unwrap_or_default().iter().map(|&v| v as f64).collect();
                match values.len() {
                    0 => Ok(Array1::from_elem(k, default as f64)),
                    1 => Ok(Array1::from_elem(k, values[0])),
                    n if n == k => Ok(Array1::from(values)),
                    n => Err(unsupported(node, &format!("{name} has {n} values for {k} inputs"))),
                }
            };
            let (offset, scale) = (read("offset", 0.0)?, read("scale", 1.0)?);
            let shifted = Affine { a: map.a.clone(), b: &map.b - &offset };
            vec![Symbol::Affine(scale_columns(&shifted, &scale))]
        }
        ("MatMul", Symbol::Affine(map)) => {
            let w = constant(1)?.clone().into_dimensionality::<Ix2>().map_err(|_| {
                unsupported(node, "the second operand must be a 2-D constant (a weight matrix)")
            })?;
            if w.nrows() != map.a.ncols() {
                return Err(unsupported(
                    node,
                    &format!("{} rows of weights for {} inputs", w.nrows(), map.a.ncols()),
                ));
            }
            vec![Symbol::Affine(Affine { a: map.a.dot(&w), b: map.b.dot(&w) })]
        }
        ("Gemm", Symbol::Affine(map)) => {
            if int_attribute(node, "transA", 0) != 0 {
                return Err(unsupported(node, "transA: the input must be the rows (A), not transposed"));
            }
            let mut w = constant(1)?
                .clone()
                .into_dimensionality::<Ix2>()
                .map_err(|_| unsupported(node, "B must be a 2-D constant (a weight matrix)"))?;
            if int_attribute(node, "transB", 0) != 0 {
                w = w.reversed_axes();
            }
            if w.nrows() != map.a.ncols() {
                return Err(unsupported(
                    node,
                    &format!("{} rows of weights for {} inputs", w.nrows(), map.a.ncols()),
                ));
            }
            let alpha = float_attribute(node, "alpha", 1.0) as f64;
            let beta = float_attribute(node, "beta", 1.0) as f64;
            let w = w * alpha;
            let mut b = map.b.dot(&w);
            if node.input.len() > 2 && !node.input[2].is_empty() {
                b = b + per_output(node, constant(2)?, w.ncols())? * beta;
            }
            vec![Symbol::Affine(Affine { a: map.a.dot(&w), b })]
        }
        ("Add" | "Sub", _) => {
            let second = input(node, values, 1)?;
            let sign = if op == "Sub" { -1.0 } else { 1.0 };
            match (first, second) {
                (Symbol::Affine(x), Symbol::Affine(y)) if x.a.dim() == y.a.dim() => {
                    vec![Symbol::Affine(Affine { a: &x.a + &(&y.a * sign), b: &x.b + &(&y.b * sign) })]
                }
                (Symbol::Affine(map), Symbol::Constant(c)) => {
                    let c = per_output(node, c, map.a.ncols())?;
                    vec![Symbol::Affine(Affine { a: map.a.clone(), b: &map.b + &(c * sign) })]
                }
                (Symbol::Constant(c), Symbol::Affine(map)) => {
                    let c = per_output(node, c, map.a.ncols())?;
                    vec![Symbol::Affine(Affine { a: &map.a * sign, b: c + &map.b * sign })]
                }
                _ => return Err(not_linear(node)),
            }
        }
        ("Mul" | "Div", _) => {
            let second = input(node, values, 1)?;
            let (map, c) = match (first, second) {
                (Symbol::Affine(map), Symbol::Constant(c)) => (map, c),
                (Symbol::Constant(c), Symbol::Affine(map)) if op == "Mul" => (map, c),
                _ => return Err(not_linear(node)),
            };
            let mut factors = per_output(node, c, map.a.ncols())?;
            if op == "Div" {
                if factors.iter().any(|&f| f == 0.0) {
                    return Err(unsupported(node, "a division by zero"));
                }
                factors.mapv_inplace(|f| 1.0 / f);
            }
            vec![Symbol::Affine(scale_columns(map, &factors))]
        }
        ("Neg", Symbol::Affine(map)) => vec![Symbol::Affine(Affine { a: -&map.a, b: -&map.b })],
        ("LinearRegressor", Symbol::Affine(map)) => {
            let targets = int_attribute(node, "targets", 1).max(1) as usize;
            let map = apply_coefficients(node, map, targets)?;
            match post_transform(node)? {
                PostTransform::None => vec![Symbol::Affine(map)],
                post => vec![Symbol::Scores(finish(map, post))],
            }
        }
        ("LinearClassifier", Symbol::Affine(map)) => {
            let labels = match (
                ints_attribute(node, "classlabels_ints"),
                strings_attribute(node, "classlabels_strings"),
            ) {
                (Some(ints), _) if !ints.is_empty() => Labels::Integers(ints),
                (_, Some(strings)) if !strings.is_empty() => Labels::Strings(strings),
                _ => return Err(unsupported(node, "no class labels")),
            };
            let count = match &labels {
                Labels::Integers(l) => l.len(),
                Labels::Strings(l) => l.len(),
            };
            let k = map.a.ncols();
            let coefficients = floats_attribute(node, "coefficients").unwrap_or_default().len();
            // Two classes may come with one row of coefficients (one score).
            let outputs = if count == 2 && coefficients == k { 1 } else { count };
            let map = apply_coefficients(node, map, outputs)?;
            let finish =
                Finish { map, post: post_transform(node)?, labels: Some(labels), normalization: None };
            vec![Symbol::Label(finish.clone()), Symbol::Scores(finish)]
        }
        ("Sigmoid", Symbol::Affine(map)) => {
            vec![Symbol::Scores(finish(map.clone(), PostTransform::Logistic))]
        }
        ("Softmax", Symbol::Affine(map)) => {
            let axis = int_attribute(node, "axis", -1);
            if axis != -1 && axis != 1 {
                return Err(unsupported(
                    node,
                    &format!("softmax on axis {axis}: the encrypted path's rows are axis 1"),
                ));
            }
            vec![Symbol::Scores(finish(map.clone(), PostTransform::Softmax))]
        }
        ("Normalizer", Symbol::Scores(f)) => {
            let norm = match string_attribute(node, "norm").as_deref().unwrap_or("MAX") {
                "L1" => Norm::L1,
                "L2" => Norm::L2,
                "MAX" => Norm::Max,
                other => return Err(unsupported(node, &format!("norm {other}"))),
            };
            vec![Symbol::Scores(Finish { normalization: Some(norm), ..f.clone() })]
        }
        ("ZipMap", Symbol::Scores(_)) => vec![first.clone()],
        ("ArgMax", Symbol::Affine(_) | Symbol::Scores(_)) => {
            let axis = int_attribute(node, "axis", 0);
            if axis != -1 && axis != 1 {
                return Err(unsupported(
                    node,
                    &format!("argmax on axis {axis}: the encrypted path's rows are axis 1"),
                ));
            }
            let f = match first {
                Symbol::Affine(map) => finish(map.clone(), PostTransform::None),
                Symbol::Scores(f) => f.clone(),
                _ => unreachable!("matched above"),
            };
            let k = f.map.a.ncols();
            let labels = f.labels.clone().unwrap_or(Labels::Integers((0..k as i64).collect()));
            vec![Symbol::Label(Finish { labels: Some(labels), ..f })]
        }
        _ => return Err(not_linear(node)),
    })
}
