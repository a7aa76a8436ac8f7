//! Elementwise arithmetic, products and activations. Exact where the ring
//! is (sums, products, ReLU, max/min, Abs, Clip by exact comparisons);
//! approximations state their error in `blindfold_ir`'s builder (sigmoid,
//! tanh, exp, reciprocal, square root).

use blindfold_ir::{SigmoidMethod, Tensor};
use ndarray::{ArrayD, IxDyn};

use super::converter::Converter;
use super::value::Value;
use crate::attributes::{float_attribute, int_attribute, node_name};
use crate::error::Result;
use crate::proto::NodeProto;

/// Converts an arithmetic op; false if `op` is not one.
pub fn convert(converter: &mut Converter, node: &NodeProto, op: &str) -> Result<bool> {
    let error = Converter::graph_error(node);
    let y = match op {
        "Add" | "Sub" | "Mul" => {
            let (a, b) = (converter.tensor(node, 0)?, converter.tensor(node, 1)?);
            match op {
                "Add" => converter.builder.add(a, b),
                "Sub" => converter.builder.sub(a, b),
                _ => converter.builder.mul(a, b),
            }
            .map_err(&error)?
        }
        "Div" => divide(converter, node)?,
        "Reciprocal" => {
            let x = converter.tensor(node, 0)?;
            signed_reciprocal(converter, node, x)?
        }
        "Sum" | "Mean" | "Max" | "Min" => {
            let mut total = converter.tensor(node, 0)?;
            for index in 1..node.input.len() {
                let next = converter.tensor(node, index)?;
                total = match op {
                    "Max" => converter.builder.maximum(total, next),
                    "Min" => converter.builder.minimum(total, next),
                    _ => converter.builder.add(total, next),
                }
                .map_err(&error)?;
            }
            if op == "Mean" && node.input.len() > 1 {
                total = converter.builder.scale(total, 1.0 / node.input.len() as f64).map_err(&error)?;
            }
            total
        }
        "Neg" => {
            let x = converter.tensor(node, 0)?;
            converter.builder.neg(x).map_err(&error)?
        }
        "Abs" => {
            let x = converter.tensor(node, 0)?;
            converter.builder.abs(x).map_err(&error)?
        }
        "Relu" => {
            let x = converter.tensor(node, 0)?;
            converter.builder.relu(x).map_err(&error)?
        }
        "Sigmoid" => {
            let x = converter.tensor(node, 0)?;
            converter.builder.sigmoid_by(converter.options.sigmoid, x).map_err(&error)?
        }
        "Tanh" => {
            // tanh(x) = 2σ(2x) − 1: twice the sigmoid's error.
            let x = converter.tensor(node, 0)?;
            let doubled = converter.builder.add(x, x).map_err(&error)?;
            let s = converter.builder.sigmoid_by(converter.options.sigmoid, doubled).map_err(&error)?;
            let twice = converter.builder.add(s, s).map_err(&error)?;
            let one = converter.builder.scalar(1.0).map_err(&error)?;
            converter.builder.sub(twice, one).map_err(&error)?
        }
        "Exp" => {
            let x = converter.tensor(node, 0)?;
            converter.builder.exp(x).map_err(&error)?
        }
        "Sqrt" => {
            // √x = x · (1/√x), for x in [2^−(F/2), 2^F).
            let x = converter.tensor(node, 0)?;
            let bits = converter.builder.graph().fractional_bits() as i32;
            let inverse = converter.builder.inverse_sqrt(x, bits).map_err(&error)?;
            converter.builder.mul(x, inverse).map_err(&error)?
        }
        "LeakyRelu" => {
            let alpha = float_attribute(node, "alpha", 0.01) as f64;
            let x = converter.tensor(node, 0)?;
            let rectified = converter.builder.relu(x).map_err(&error)?;
            let linear = converter.builder.scale(x, alpha).map_err(&error)?;
            let rest = converter.builder.scale(rectified, 1.0 - alpha).map_err(&error)?;
            converter.builder.add(linear, rest).map_err(&error)?
        }
        "PRelu" => {
            // relu(x) + slope·(x − relu(x)), the slope the owner's.
            let x = converter.tensor(node, 0)?;
            let slope = converter.tensor(node, 1)?;
            let rectified = converter.builder.relu(x).map_err(&error)?;
            let negative = converter.builder.sub(x, rectified).map_err(&error)?;
            let sloped = converter.builder.mul(slope, negative).map_err(&error)?;
            converter.builder.add(rectified, sloped).map_err(&error)?
        }
        "Clip" | "HardSigmoid" | "Relu6" => clip(converter, node, op)?,
        "MatMul" => {
            let (a, b) = (converter.tensor(node, 0)?, converter.tensor(node, 1)?);
            converter.builder.matmul(a, b).map_err(&error)?
        }
        "Gemm" => gemm(converter, node)?,
        "BatchNormalization" => batch_normalization(converter, node)?,
        _ => return Ok(false),
    };
    converter.set(node, y);
    Ok(true)
}

/// a / b: by a known b, a product with 1/b (public if b is, the owner's
/// otherwise); by a computed b, a product with its private reciprocal.
fn divide(converter: &mut Converter, node: &NodeProto) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    let a = converter.tensor(node, 0)?;
    let inverse = match converter.value(node, 1)? {
        Value::Public(b) | Value::Weight(b) if b.iter().any(|&v| v == 0.0) => {
            return Err(converter.unsupported(node, "a division by zero"));
        }
        Value::Public(b) => {
            let inverse = b.mapv(|v| 1.0 / v);
            converter.public(node, &inverse)?
        }
        Value::Weight(b) => {
            let name = format!("{}/inverse", node_name(node));
            converter.weight(node, &name, b.mapv(|v| 1.0 / v))?
        }
        _ => {
            let b = converter.tensor(node, 1)?;
            signed_reciprocal(converter, node, b)?
        }
    };
    converter.builder.mul(a, inverse).map_err(&error)
}

/// 1/x for |x| in [2^−(F/2), 2^(F−4)), either sign: the sign s from one
/// comparison, 1/|x| by the builder's reciprocal, times 2s − 1.
fn signed_reciprocal(converter: &mut Converter, node: &NodeProto, x: Tensor) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    let b = &mut converter.builder;
    let positive = b.drelu(x).map_err(&error)?;
    let rectified = b.mul(positive, x).map_err(&error)?;
    let twice = b.add(rectified, rectified).map_err(&error)?;
    let magnitude = b.sub(twice, x).map_err(&error)?;
    let max_exponent = b.graph().fractional_bits() as i32 - 4;
    let inverse = b.reciprocal(magnitude, max_exponent).map_err(&error)?;
    let kept = b.mul(positive, inverse).map_err(&error)?;
    let twice = b.add(kept, kept).map_err(&error)?;
    b.sub(twice, inverse).map_err(&error)
}

/// Clip (bounds from inputs, or attributes before opset 11), HardSigmoid
/// (clip(αx + β, 0, 1)): exact comparisons against the bounds.
fn clip(converter: &mut Converter, node: &NodeProto, op: &str) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    let mut x = converter.tensor(node, 0)?;
    let (mut low, mut high) = (None, None);
    if op == "HardSigmoid" {
        let (alpha, beta) =
            (float_attribute(node, "alpha", 0.2) as f64, float_attribute(node, "beta", 0.5) as f64);
        x = converter.builder.scale(x, alpha).map_err(&error)?;
        let shift = converter.builder.scalar(beta).map_err(&error)?;
        x = converter.builder.add(x, shift).map_err(&error)?;
        low = Some(converter.builder.scalar(0.0).map_err(&error)?);
        high = Some(converter.builder.scalar(1.0).map_err(&error)?);
    } else if converter.opset < 11 {
        low = Some(converter.builder.scalar(float_attribute(node, "min", f32::MIN) as f64).map_err(&error)?);
        high = Some(converter.builder.scalar(float_attribute(node, "max", f32::MAX) as f64).map_err(&error)?);
        // The attributes' defaults are the float range: no bound at all.
        if float_attribute(node, "min", f32::MIN) == f32::MIN {
            low = None;
        }
        if float_attribute(node, "max", f32::MAX) == f32::MAX {
            high = None;
        }
    } else {
        if Converter::has_input(node, 1) {
            low = Some(converter.tensor(node, 1)?);
        }
        if Converter::has_input(node, 2) {
            high = Some(converter.tensor(node, 2)?);
        }
    }
    if let Some(low) = low {
        x = converter.builder.maximum(x, low).map_err(&error)?;
    }
    if let Some(high) = high {
        x = converter.builder.minimum(x, high).map_err(&error)?;
    }
    Ok(x)
}

/// Gemm: alpha·A'·B' + beta·C with A' = Aᵀ if transA, B' = Bᵀ if transB.
fn gemm(converter: &mut Converter, node: &NodeProto) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    let (alpha, beta) =
        (float_attribute(node, "alpha", 1.0) as f64, float_attribute(node, "beta", 1.0) as f64);
    let mut a = converter.tensor(node, 0)?;
    if int_attribute(node, "transA", 0) == 1 {
        a = converter.builder.transpose(a, None).map_err(&error)?;
    }
    let transpose_b = int_attribute(node, "transB", 0) == 1;
    let b = match converter.value(node, 1)? {
        // A known B is transposed and scaled by alpha here, once.
        Value::Weight(mut b) if b.ndim() == 2 => {
            if transpose_b {
                b = b.t().as_standard_layout().into_owned();
            }
            b.mapv_inplace(|v| v * alpha);
            let name = node.input[1].clone();
            converter.weight(node, &name, b)?
        }
        _ => {
            let mut b = converter.tensor(node, 1)?;
            if transpose_b {
                b = converter.builder.transpose(b, None).map_err(&error)?;
            }
            if alpha != 1.0 {
                b = converter.builder.scale(b, alpha).map_err(&error)?;
            }
            b
        }
    };
    let mut y = converter.builder.matmul(a, b).map_err(&error)?;
    if Converter::has_input(node, 2) {
        let c = match converter.value(node, 2)? {
            Value::Weight(c) => {
                let name = node.input[2].clone();
                converter.weight(node, &name, c.mapv(|v| v * beta))?
            }
            _ => {
                let c = converter.tensor(node, 2)?;
                if beta == 1.0 { c } else { converter.builder.scale(c, beta).map_err(&error)? }
            }
        };
        y = converter.builder.add(y, c).map_err(&error)?;
    }
    Ok(y)
}

/// BatchNormalization (inference) where it stands: y = x·s + t per
/// channel, s = γ/√(var + ε), t = β − mean·s. Known parameters are combined
/// here (the owner's); computed ones privately (the inverse square root).
fn batch_normalization(converter: &mut Converter, node: &NodeProto) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    if int_attribute(node, "training_mode", 0) != 0 || node.output.iter().skip(1).any(|o| !o.is_empty()) {
        return Err(
            converter.unsupported(node, "training mode (running statistics as outputs) is not supported")
        );
    }
    let epsilon = float_attribute(node, "epsilon", 1e-5) as f64;
    let x = converter.tensor(node, 0)?;
    let rank = converter.builder.ty(x).shape.len();
    let channels = converter.builder.ty(x).shape.get(1).copied().unwrap_or(0);
    // [C] parameters broadcast over [N, C, ...] as [C, 1, ..., 1].
    let mut per_channel = vec![channels];
    per_channel.extend(std::iter::repeat_n(1, rank.saturating_sub(2)));
    let known: Option<Vec<ArrayD<f64>>> = (1..5)
        .map(|i| match converter.value(node, i) {
            Ok(Value::Weight(a) | Value::Public(a)) => Some(a),
            _ => None,
        })
        .collect();
    let (scale, shift) = match known {
        Some(parameters) => {
            if parameters.iter().any(|p| p.ndim() != 1 || p.len() != channels) {
                return Err(converter.unsupported(
                    node,
                    &format!("scale, B, mean and var must each be [C] (C = {channels})"),
                ));
            }
            if parameters[3].iter().any(|&v| !(v >= 0.0 && v.is_finite())) {
                return Err(converter.unsupported(node, "its var has a negative or non-finite value"));
            }
            let s: Vec<f64> =
                (0..channels).map(|c| parameters[0][c] / (parameters[3][c] + epsilon).sqrt()).collect();
            let t: Vec<f64> = (0..channels).map(|c| parameters[1][c] - parameters[2][c] * s[c]).collect();
            let shape = IxDyn(&per_channel);
            let name = node_name(node);
            let s = converter.weight(
                node,
                &format!("{name}/scale"),
                ArrayD::from_shape_vec(shape.clone(), s).expect("length"),
            )?;
            let t = converter.weight(
                node,
                &format!("{name}/shift"),
                ArrayD::from_shape_vec(shape, t).expect("length"),
            )?;
            (s, t)
        }
        None => {
            let [gamma, beta, mean, variance] = [1, 2, 3, 4].map(|i| converter.tensor(node, i));
            let (gamma, beta, mean, variance) = (gamma?, beta?, mean?, variance?);
            let b = &mut converter.builder;
            let epsilon = b.scalar(epsilon).map_err(&error)?;
            let shifted = b.add(variance, epsilon).map_err(&error)?;
            let bits = b.graph().fractional_bits() as i32;
            let inverse = b.inverse_sqrt(shifted, bits).map_err(&error)?;
            let s = b.mul(gamma, inverse).map_err(&error)?;
            let moved = b.mul(mean, s).map_err(&error)?;
            let t = b.sub(beta, moved).map_err(&error)?;
            let s = b.reshape(s, &per_channel).map_err(&error)?;
            let t = b.reshape(t, &per_channel).map_err(&error)?;
            (s, t)
        }
    };
    let scaled = converter.builder.mul(x, scale).map_err(&error)?;
    converter.builder.add(scaled, shift).map_err(&error)
}

/// The sigmoid of a graph value by the import's method (for ML ops).
pub fn sigmoid(converter: &mut Converter, node: &NodeProto, x: Tensor) -> Result<Tensor> {
    let method: SigmoidMethod = converter.options.sigmoid;
    converter.builder.sigmoid_by(method, x).map_err(Converter::graph_error(node))
}
