//! The ai.onnx.ml ops scikit-learn's exporter (skl2onnx) writes for linear
//! models and MLPs: LinearRegressor, LinearClassifier (every post_transform
//! but PROBIT), Scaler, Normalizer, ZipMap (dropped: the probability tensor
//! is returned) and ArrayFeatureExtractor on public indices or as a
//! classifier's label lookup. Coefficients are the model owner's.

use ndarray::{ArrayD, Axis, IxDyn};

use super::converter::Converter;
use super::structure;
use super::value::{ClientStep, Value};
use crate::attributes::{
    floats_attribute, int_attribute, ints_attribute, node_name, string_attribute, strings_attribute,
};
use crate::error::{OnnxError, Result};
use crate::proto::NodeProto;

pub fn convert(converter: &mut Converter, node: &NodeProto, op: &str) -> Result<()> {
    match op {
        "LinearRegressor" => linear_regressor(converter, node),
        "LinearClassifier" => linear_classifier(converter, node),
        "Scaler" => scaler(converter, node),
        "Normalizer" => normalizer(converter, node),
        "ZipMap" => {
            let value = converter.value(node, 0)?;
            converter.set_at(node, 0, value);
            Ok(())
        }
        "ArrayFeatureExtractor" => array_feature_extractor(converter, node),
        _ => Err(OnnxError::UnsupportedOp { node: node_name(node), op: format!("ai.onnx.ml.{op}") }),
    }
}

/// A float-list attribute as f64.
fn floats(node: &NodeProto, name: &str) -> Vec<f64> {
    floats_attribute(node, name).unwrap_or_default().iter().map(|&v| v as f64).collect()
}

/// x·Wᵀ + b for `outputs` rows of coefficients: the owner's weights.
fn affine(converter: &mut Converter, node: &NodeProto, outputs: usize) -> Result<blindfold_ir::Tensor> {
    let error = Converter::graph_error(node);
    let x = converter.tensor(node, 0)?;
    let shape = converter.builder.ty(x).shape.clone();
    let x = match shape.len() {
        2 => x,
        1 => converter.builder.reshape(x, &[1, shape[0]]).map_err(&error)?,
        _ => {
            return Err(
                converter.unsupported(node, &format!("an input of shape {shape:?}; [N, features] is read"))
            );
        }
    };
    let features = converter.builder.ty(x).shape[1];
    let coefficients = floats(node, "coefficients");
    if outputs == 0 || coefficients.len() != outputs * features {
        return Err(converter.unsupported(
            node,
            &format!("{} coefficients for {outputs} outputs of {features} features", coefficients.len()),
        ));
    }
    let weights = ArrayD::from_shape_vec(IxDyn(&[outputs, features]), coefficients)
        .expect("length checked")
        .reversed_axes()
        .as_standard_layout()
        .into_owned();
    let intercepts = match floats(node, "intercepts") {
        values if values.is_empty() => vec![0.0; outputs],
        values if values.len() == outputs => values,
        values => {
            return Err(
                converter.unsupported(node, &format!("{} intercepts for {outputs} outputs", values.len()))
            );
        }
    };
    let name = node_name(node);
    let w = converter.weight(node, &format!("{name}/coefficients"), weights)?;
    let product = converter.builder.matmul(x, w).map_err(&error)?;
    let b = converter.weight(
        node,
        &format!("{name}/intercepts"),
        ArrayD::from_shape_vec(IxDyn(&[outputs]), intercepts).expect("length"),
    )?;
    converter.builder.add(product, b).map_err(&error)
}

fn linear_regressor(converter: &mut Converter, node: &NodeProto) -> Result<()> {
    let post = string_attribute(node, "post_transform").unwrap_or_else(|| "NONE".into());
    if post != "NONE" {
        return Err(converter.unsupported(node, &format!("post_transform {post}: a regressor's is NONE")));
    }
    let targets = int_attribute(node, "targets", 1).max(1) as usize;
    let y = affine(converter, node, targets)?;
    converter.set(node, y);
    Ok(())
}

/// Labels (output 0) by the exact argmax carrying the class labels, scores
/// (output 1) finished by the post_transform, deferred to the receiver.
fn linear_classifier(converter: &mut Converter, node: &NodeProto) -> Result<()> {
    let error = Converter::graph_error(node);
    let labels: Vec<f64> =
        match (ints_attribute(node, "classlabels_ints"), strings_attribute(node, "classlabels_strings")) {
            (Some(ints), _) if !ints.is_empty() => ints.iter().map(|&v| v as f64).collect(),
            (_, Some(strings)) if !strings.is_empty() => {
                return Err(converter
                    .unsupported(node, "string class labels are not supported: export integer labels"));
            }
            _ => return Err(converter.unsupported(node, "no class labels")),
        };
    let features = converter.shape_of(node, 0)?.last().copied().unwrap_or(0);
    let coefficients = floats_attribute(node, "coefficients").unwrap_or_default().len();
    // Two classes may come with one row of coefficients: scores (−s, s).
    let binary = labels.len() == 2 && coefficients == features;
    let outputs = if binary { 1 } else { labels.len() };
    let mut scores = affine(converter, node, outputs)?;
    if binary {
        let negated = converter.builder.neg(scores).map_err(&error)?;
        scores = converter.builder.concat(&[negated, scores], 1).map_err(&error)?;
    }
    let post = string_attribute(node, "post_transform").unwrap_or_else(|| "NONE".into());
    let steps = match post.as_str() {
        "NONE" => vec![],
        "LOGISTIC" => vec![ClientStep::Logistic],
        "SOFTMAX" => vec![ClientStep::Softmax { axis: 1 }],
        "SOFTMAX_ZERO" => vec![ClientStep::SoftmaxZero { axis: 1 }],
        other => return Err(converter.unsupported(node, &format!("post_transform {other} is not supported"))),
    };
    converter.set_at(node, 0, Value::ArgMax { scores, axis: 1, keep_dims: false, labels: Some(labels) });
    if let Some(name) = node.output.first() {
        converter.integral.insert(name.clone());
    }
    let value =
        if steps.is_empty() { Value::Tensor(scores) } else { Value::Deferred { tensor: scores, steps } };
    converter.set_at(node, 1, value);
    Ok(())
}

/// (x − offset)·scale per feature, the owner's offsets and scales.
fn scaler(converter: &mut Converter, node: &NodeProto) -> Result<()> {
    let error = Converter::graph_error(node);
    let features = converter.shape_of(node, 0)?.last().copied().unwrap_or(0);
    let read = |name: &str, default: f64| -> Result<Vec<f64>> {
        match floats(node, name) {
            values if values.is_empty() => Ok(vec![default; features]),
            values if values.len() == 1 => Ok(vec![values[0]; features]),
            values if values.len() == features => Ok(values),
            values => Err(converter
                .unsupported(node, &format!("{name} has {} values for {features} features", values.len()))),
        }
    };
    let (offset, scale) = (read("offset", 0.0)?, read("scale", 1.0)?);
    let x = converter.tensor(node, 0)?;
    let name = node_name(node);
    let offset = converter.weight(
        node,
        &format!("{name}/offset"),
        ArrayD::from_shape_vec(IxDyn(&[features]), offset).expect("length"),
    )?;
    let scale = converter.weight(
        node,
        &format!("{name}/scale"),
        ArrayD::from_shape_vec(IxDyn(&[features]), scale).expect("length"),
    )?;
    let shifted = converter.builder.sub(x, offset).map_err(&error)?;
    let y = converter.builder.mul(shifted, scale).map_err(&error)?;
    converter.set(node, y);
    Ok(())
}

/// Normalizer: a finishing step along axis 1 (deferred like a softmax).
fn normalizer(converter: &mut Converter, node: &NodeProto) -> Result<()> {
    let axis = converter.shape_of(node, 0)?.len().saturating_sub(1);
    let step = match string_attribute(node, "norm").as_deref().unwrap_or("MAX") {
        "L1" => ClientStep::NormalizeL1 { axis },
        "L2" => ClientStep::NormalizeL2 { axis },
        "MAX" => ClientStep::NormalizeMax { axis },
        other => return Err(converter.unsupported(node, &format!("norm {other}"))),
    };
    let (tensor, mut steps) = match converter.value(node, 0)? {
        Value::Deferred { tensor, steps } => (tensor, steps),
        _ => (converter.tensor(node, 0)?, Vec::new()),
    };
    // An L1 normalisation of a softmax changes nothing.
    if !(step == ClientStep::NormalizeL1 { axis } && steps.last() == Some(&ClientStep::Softmax { axis })) {
        steps.push(step);
    }
    converter.set_at(node, 0, Value::Deferred { tensor, steps });
    Ok(())
}

/// ArrayFeatureExtractor(X, indices): elements of X's last axis. Known
/// labels indexed by an ArgMax become the labels the argmax carries.
fn array_feature_extractor(converter: &mut Converter, node: &NodeProto) -> Result<()> {
    let indices = converter.value(node, 1)?;
    match (converter.value(node, 0)?, indices) {
        (
            Value::Weight(labels) | Value::Public(labels),
            Value::ArgMax { scores, axis, keep_dims, labels: None },
        ) => {
            let length = converter.builder.ty(scores).shape[axis];
            if labels.ndim() != 1 || labels.len() != length {
                return Err(converter
                    .unsupported(node, &format!("{} labels for an argmax over {length}", labels.len())));
            }
            let labels = labels.iter().copied().collect();
            converter.set_at(node, 0, Value::ArgMax { scores, axis, keep_dims, labels: Some(labels) });
            if let Some(name) = node.output.first() {
                converter.integral.insert(name.clone());
            }
        }
        (x, Value::Weight(positions) | Value::Public(positions)) => {
            let shape = converter.shape_of(node, 0)?;
            let last = shape.len().saturating_sub(1);
            let positions =
                structure::gather_positions(positions.iter().map(|&v| v as i64), shape[last] as i64)
                    .ok_or_else(|| converter.unsupported(node, "an index is out of range"))?;
            let value = match x {
                Value::Weight(array) => Value::Weight(array.select(Axis(last), &positions)),
                Value::Public(array) => Value::Public(array.select(Axis(last), &positions)),
                _ => {
                    let x = converter.tensor(node, 0)?;
                    Value::Tensor(structure::select(converter, node, x, last, &positions)?)
                }
            };
            converter.set_at(node, 0, value);
        }
        _ => {
            return Err(
                converter.unsupported(node, "the indices must be public, or an ArgMax over known labels")
            );
        }
    }
    Ok(())
}
