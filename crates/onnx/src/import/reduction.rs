//! Reductions over axes (sum, mean, max, min), ArgMax/ArgMin by the exact
//! comparison tournament, and Softmax/LogSoftmax: left to the receiver when
//! they finish an output, computed privately anywhere else.

use blindfold_ir::Tensor;

use super::converter::Converter;
use super::structure::{self, normalize_axis};
use super::value::{ClientStep, Value};
use crate::attributes::int_attribute;
use crate::error::Result;
use crate::proto::NodeProto;

pub fn convert(converter: &mut Converter, node: &NodeProto, op: &str) -> Result<bool> {
    match op {
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" => reduce(converter, node, op)?,
        "ArgMax" | "ArgMin" => argmax(converter, node, op == "ArgMin")?,
        "Softmax" | "LogSoftmax" => softmax(converter, node, op == "LogSoftmax")?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The axes a reduction names (all when none are named, unless
/// noop_with_empty_axes), sorted.
fn reduced_axes(
    converter: &Converter,
    node: &NodeProto,
    op: &str,
    rank: usize,
) -> Result<Option<Vec<usize>>> {
    let from_input = op == "ReduceSum" && converter.opset >= 13 || converter.opset >= 18;
    let axes = if from_input {
        converter.integers(node, 1, "axes")?
    } else {
        crate::attributes::ints_attribute(node, "axes")
    };
    let axes = match axes {
        Some(axes) if !axes.is_empty() => axes,
        _ if int_attribute(node, "noop_with_empty_axes", 0) == 1 => return Ok(None),
        _ => (0..rank as i64).collect(),
    };
    let mut axes: Vec<usize> = axes
        .iter()
        .map(|&a| normalize_axis(a, rank))
        .collect::<Option<_>>()
        .ok_or_else(|| converter.unsupported(node, "an axis is out of range"))?;
    axes.sort_unstable();
    axes.dedup();
    Ok(Some(axes))
}

fn reduce(converter: &mut Converter, node: &NodeProto, op: &str) -> Result<()> {
    let error = Converter::graph_error(node);
    let x = converter.tensor(node, 0)?;
    let shape = converter.builder.ty(x).shape.clone();
    let keep = int_attribute(node, "keepdims", 1) == 1;
    let Some(axes) = reduced_axes(converter, node, op, shape.len())? else {
        converter.set(node, x);
        return Ok(());
    };
    let y = match op {
        "ReduceSum" => converter.builder.sum(x, &axes, keep).map_err(&error)?,
        "ReduceMean" => converter.builder.mean(x, &axes, keep).map_err(&error)?,
        _ => {
            // The reduced axes last, flattened, and the tournament over them.
            let kept_axes: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).collect();
            let order: Vec<usize> = kept_axes.iter().chain(&axes).copied().collect();
            let moved = converter.builder.transpose(x, Some(&order)).map_err(&error)?;
            let mut flat: Vec<usize> = kept_axes.iter().map(|&a| shape[a]).collect();
            flat.push(axes.iter().map(|&a| shape[a]).product());
            let flat_tensor = converter.builder.reshape(moved, &flat).map_err(&error)?;
            let source = if op == "ReduceMin" {
                converter.builder.neg(flat_tensor).map_err(&error)?
            } else {
                flat_tensor
            };
            let mut largest = converter.builder.max_last_axis(source).map_err(&error)?;
            if op == "ReduceMin" {
                largest = converter.builder.neg(largest).map_err(&error)?;
            }
            let target: Vec<usize> = if keep {
                shape.iter().enumerate().map(|(a, &d)| if axes.contains(&a) { 1 } else { d }).collect()
            } else {
                kept_axes.iter().map(|&a| shape[a]).collect()
            };
            converter.builder.reshape(largest, &target).map_err(&error)?
        }
    };
    converter.set(node, y);
    Ok(())
}

/// ArgMax/ArgMin, left as a lazy value (see `Value::ArgMax`). An ArgMax of
/// a softmax (or another order-keeping step) along its axis reads the
/// logits. ArgMin is the ArgMax of −x; select_last_index reverses the axis
/// and its labels.
fn argmax(converter: &mut Converter, node: &NodeProto, minimum: bool) -> Result<()> {
    let error = Converter::graph_error(node);
    let rank = converter.shape_of(node, 0)?.len();
    let axis = normalize_axis(int_attribute(node, "axis", 0), rank)
        .ok_or_else(|| converter.unsupported(node, "axis out of range"))?;
    let keep_dims = int_attribute(node, "keepdims", 1) == 1;
    let mut scores = match converter.value(node, 0)? {
        Value::Deferred { tensor, steps }
            if steps.iter().all(|s| s.keeps_order() && step_axis(s).is_none_or(|a| a == axis)) =>
        {
            tensor
        }
        _ => converter.tensor(node, 0)?,
    };
    if minimum {
        scores = converter.builder.neg(scores).map_err(&error)?;
    }
    let length = converter.builder.ty(scores).shape[axis];
    let labels = if int_attribute(node, "select_last_index", 0) == 1 {
        let reversed: Vec<usize> = (0..length).rev().collect();
        scores = structure::select(converter, node, scores, axis, &reversed)?;
        Some(reversed.iter().map(|&i| i as f64).collect())
    } else {
        None
    };
    converter.set_at(node, 0, Value::ArgMax { scores, axis, keep_dims, labels });
    if let Some(name) = node.output.first() {
        converter.integral.insert(name.clone());
    }
    Ok(())
}

/// The axis a step works along (None: elementwise).
fn step_axis(step: &ClientStep) -> Option<usize> {
    match *step {
        ClientStep::Logistic => None,
        ClientStep::Softmax { axis }
        | ClientStep::SoftmaxZero { axis }
        | ClientStep::LogSoftmax { axis }
        | ClientStep::NormalizeL1 { axis }
        | ClientStep::NormalizeL2 { axis }
        | ClientStep::NormalizeMax { axis } => Some(axis),
    }
}

/// Softmax/LogSoftmax on one axis (opset 13+, or the last axis), deferred;
/// before opset 13 on a middle axis, over the flattened trailing axes,
/// privately.
fn softmax(converter: &mut Converter, node: &NodeProto, log: bool) -> Result<()> {
    let error = Converter::graph_error(node);
    let x = converter.tensor(node, 0)?;
    let shape = converter.builder.ty(x).shape.clone();
    let default = if converter.opset >= 13 { -1 } else { 1 };
    let axis = normalize_axis(int_attribute(node, "axis", default), shape.len())
        .ok_or_else(|| converter.unsupported(node, "axis out of range"))?;
    if converter.opset < 13 && axis + 1 != shape.len() {
        if log {
            return Err(
                converter.unsupported(node, "LogSoftmax over several axes (opset < 13) is not supported")
            );
        }
        let outer: usize = shape[..axis].iter().product();
        let flat = converter.builder.reshape(x, &[outer, shape[axis..].iter().product()]).map_err(&error)?;
        let y = converter.builder.softmax(flat).map_err(&error)?;
        let y = converter.builder.reshape(y, &shape).map_err(&error)?;
        converter.set(node, y);
        return Ok(());
    }
    let step = if log { ClientStep::LogSoftmax { axis } } else { ClientStep::Softmax { axis } };
    converter.set_at(node, 0, Value::Deferred { tensor: x, steps: vec![step] });
    Ok(())
}

/// A finishing step computed privately (the value is read by another op).
pub fn private_step(
    converter: &mut Converter,
    node: &NodeProto,
    x: Tensor,
    step: ClientStep,
) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    let reciprocal_exponent = converter.builder.graph().fractional_bits() as i32 - 4;
    match step {
        ClientStep::Logistic => super::arithmetic::sigmoid(converter, node, x),
        ClientStep::Softmax { axis } => {
            let moved = structure::move_axis_last(converter, node, x, axis)?;
            let y = converter.builder.softmax(moved).map_err(&error)?;
            structure::move_last_axis_to(converter, node, y, axis)
        }
        ClientStep::NormalizeL1 { axis } | ClientStep::NormalizeL2 { axis } | ClientStep::NormalizeMax { axis } => {
            let b = &mut converter.builder;
            let factor = match step {
                ClientStep::NormalizeL1 { .. } => {
                    let magnitude = b.abs(x).map_err(&error)?;
                    let total = b.sum(magnitude, &[axis], true).map_err(&error)?;
                    b.reciprocal(total, reciprocal_exponent).map_err(&error)?
                }
                ClientStep::NormalizeL2 { .. } => {
                    let squares = b.square(x).map_err(&error)?;
                    let total = b.sum(squares, &[axis], true).map_err(&error)?;
                    let bits = b.graph().fractional_bits() as i32;
                    b.inverse_sqrt(total, bits).map_err(&error)?
                }
                _ => {
                    let magnitude = b.abs(x).map_err(&error)?;
                    let moved = structure::move_axis_last(converter, node, magnitude, axis)?;
                    let b = &mut converter.builder;
                    let largest = b.max_last_axis(moved).map_err(&error)?;
                    let mut kept = b.ty(x).shape.clone();
                    kept[axis] = 1;
                    let largest = b.reshape(largest, &kept).map_err(&error)?;
                    b.reciprocal(largest, reciprocal_exponent).map_err(&error)?
                }
            };
            converter.builder.mul(x, factor).map_err(&error)
        }
        ClientStep::LogSoftmax { .. } | ClientStep::SoftmaxZero { .. } => Err(converter.unsupported(
            node,
            &format!("{} is supported where its result is a model output (its receiver computes it), not as an input to another op", step.name()),
        )),
    }
}
