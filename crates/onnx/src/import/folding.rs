//! Nodes whose inputs are all known at import time are computed then, in
//! f64: the shape subgraphs exporters write (`x.view(x.size(0), -1)` is a
//! Shape/Gather/Unsqueeze/Concat chain), casts of constants, arithmetic on
//! constants. The result is public when its inputs are, and the model
//! owner's otherwise.

use ndarray::{ArrayD, Axis, IxDyn, concatenate};

use super::converter::Converter;
use super::structure::{self, normalize_axis};
use super::value::Value;
use crate::attributes::{attribute, float_attribute, int_attribute, ints_attribute};
use crate::error::Result;
use crate::proto::NodeProto;
use crate::tensor::to_array;

/// The ops folded when every input is known.
const FOLDED: [&str; 24] = [
    "Identity",
    "Cast",
    "CastLike",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "Gather",
    "Slice",
    "Transpose",
    "ConstantOfShape",
    "Range",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Neg",
    "Abs",
    "Equal",
    "Where",
    "Expand",
    "Max",
    "Min",
];

/// Folds `node` if it can: a Constant, a Shape or Size (only shapes are
/// needed), or a [`FOLDED`] op on known inputs. Returns whether it did.
pub fn fold(converter: &mut Converter, node: &NodeProto, op: &str) -> Result<bool> {
    match op {
        "Constant" => {
            let array = constant_value(converter, node)?;
            let tensor_type = attribute(node, "value").and_then(|a| a.t.as_ref()).and_then(|t| t.data_type);
            if tensor_type.is_some_and(|t| is_integer_type(t.into()))
                || attribute(node, "value_int").is_some()
                || attribute(node, "value_ints").is_some()
            {
                converter.integral.extend(node.output.first().cloned());
            }
            converter.set_at(node, 0, Value::Public(array));
            return Ok(true);
        }
        "Shape" | "Size" => {
            let shape = converter.shape_of(node, 0)?;
            let array = if op == "Size" {
                ArrayD::from_elem(IxDyn(&[]), shape.iter().product::<usize>() as f64)
            } else {
                let rank = shape.len() as i64;
                let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
                let start = clamp(int_attribute(node, "start", 0));
                let end = clamp(int_attribute(node, "end", rank)).max(start);
                let dims: Vec<f64> = shape[start..end].iter().map(|&d| d as f64).collect();
                ArrayD::from_shape_vec(IxDyn(&[dims.len()]), dims).expect("length")
            };
            converter.set_at(node, 0, Value::Public(array));
            converter.integral.extend(node.output.first().cloned());
            return Ok(true);
        }
        _ => {}
    }
    if !FOLDED.contains(&op) {
        return Ok(false);
    }
    let mut arrays = Vec::new();
    let mut public = true;
    for index in 0..node.input.len() {
        if !Converter::has_input(node, index) {
            arrays.push(None);
            continue;
        }
        match converter.value(node, index)? {
            Value::Public(array) => arrays.push(Some(array)),
            Value::Weight(array) => {
                public = false;
                arrays.push(Some(array));
            }
            _ => return Ok(false),
        }
    }
    let Some(Some(first)) = arrays.first().cloned() else { return Ok(false) };
    let second = || arrays.get(1).cloned().flatten();
    let unsupported = |what: &str| converter.unsupported(node, what);
    let result: ArrayD<f64> = match op {
        "Identity" => first,
        "Cast" | "CastLike" => {
            let to = if op == "Cast" { int_attribute(node, "to", 1) } else { 1 };
            cast(first, to)
        }
        "Reshape" => {
            let target = second().ok_or_else(|| unsupported("Reshape needs a shape"))?;
            let shape =
                structure::reshape_target(first.shape(), &target, int_attribute(node, "allowzero", 0) == 1)
                    .ok_or_else(|| {
                    unsupported(&format!("cannot reshape {:?} to {:?}", first.shape(), target.as_slice()))
                })?;
            first.into_shape_with_order(IxDyn(&shape)).map_err(|e| unsupported(&e.to_string()))?
        }
        "Flatten" => {
            let shape = structure::flatten_shape(first.shape(), int_attribute(node, "axis", 1))
                .ok_or_else(|| unsupported("axis out of range"))?;
            first.into_shape_with_order(IxDyn(&shape)).map_err(|e| unsupported(&e.to_string()))?
        }
        "Squeeze" | "Unsqueeze" => {
            let axes = structure::axes_argument(converter, node, 1)?;
            let shape = if op == "Squeeze" {
                structure::squeeze_shape(first.shape(), axes.as_deref())
            } else {
                structure::unsqueeze_shape(first.shape(), axes.as_deref().unwrap_or_default())
            }
            .ok_or_else(|| unsupported("axes out of range"))?;
            first.into_shape_with_order(IxDyn(&shape)).map_err(|e| unsupported(&e.to_string()))?
        }
        "Concat" => {
            let parts: Vec<ArrayD<f64>> = arrays.iter().flatten().cloned().collect();
            let axis = normalize_axis(int_attribute(node, "axis", 0), first.ndim())
                .ok_or_else(|| unsupported("axis out of range"))?;
            let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
            concatenate(Axis(axis), &views).map_err(|e| unsupported(&e.to_string()))?
        }
        "Gather" => {
            let indices = second().ok_or_else(|| unsupported("Gather needs indices"))?;
            let axis = normalize_axis(int_attribute(node, "axis", 0), first.ndim())
                .ok_or_else(|| unsupported("axis out of range"))?;
            let length = first.shape()[axis] as i64;
            let positions = structure::gather_positions(indices.iter().map(|&v| v as i64), length)
                .ok_or_else(|| unsupported("an index is out of range"))?;
            let taken = first.select(Axis(axis), &positions);
            let mut shape = first.shape()[..axis].to_vec();
            shape.extend(indices.shape());
            shape.extend(&first.shape()[axis + 1..]);
            taken.into_shape_with_order(IxDyn(&shape)).map_err(|e| unsupported(&e.to_string()))?
        }
        "Slice" => {
            let selections = structure::slice_selections(converter, node, first.shape())?;
            let mut out = first;
            for (axis, positions) in selections {
                out = out.select(Axis(axis), &positions);
            }
            out
        }
        "Transpose" => {
            let permutation =
                structure::permutation(node, first.ndim()).ok_or_else(|| unsupported("perm"))?;
            first.permuted_axes(IxDyn(&permutation)).as_standard_layout().into_owned()
        }
        "ConstantOfShape" => {
            let shape: Vec<usize> = first.iter().map(|&d| d as usize).collect();
            let fill = attribute(node, "value").and_then(|a| a.t.as_ref()).map(to_array).transpose()?;
            let fill = fill.and_then(|f| f.iter().next().copied()).unwrap_or(0.0);
            structure::checked_elements(converter, node, &shape)?;
            ArrayD::from_elem(IxDyn(&shape), fill)
        }
        "Range" => {
            let scalar = |i: usize| arrays.get(i).cloned().flatten().and_then(|a| a.iter().next().copied());
            let (start, limit, delta) = match (scalar(0), scalar(1), scalar(2)) {
                (Some(s), Some(l), Some(d)) if d != 0.0 => (s, l, d),
                _ => return Err(unsupported("start, limit and a nonzero delta")),
            };
            let count = ((limit - start) / delta).ceil().max(0.0) as usize;
            structure::checked_elements(converter, node, &[count])?;
            ArrayD::from_shape_fn(IxDyn(&[count]), |i| start + i[0] as f64 * delta)
        }
        "Add" | "Sub" | "Mul" | "Div" | "Equal" | "Max" | "Min" if arrays.len() == 2 => {
            let b = second().ok_or_else(|| unsupported("two operands"))?;
            let shape = structure::broadcast_shape(first.shape(), b.shape()).ok_or_else(|| {
                unsupported(&format!("shapes {:?} and {:?} do not broadcast", first.shape(), b.shape()))
            })?;
            let (a, b) =
                (first.broadcast(IxDyn(&shape)).expect("shape"), b.broadcast(IxDyn(&shape)).expect("shape"));
            let integers = node.input.iter().take(2).all(|i| converter.integral.contains(i));
            ndarray::Zip::from(&a).and(&b).map_collect(|&x, &y| match op {
                "Add" => x + y,
                "Sub" => x - y,
                "Mul" => x * y,
                "Div" if integers => (x / y).trunc(),
                "Div" => x / y,
                "Max" => x.max(y),
                "Min" => x.min(y),
                _ => f64::from(u8::from(x == y)),
            })
        }
        "Neg" => first.mapv(|v| -v),
        "Abs" => first.mapv(f64::abs),
        "Where" => {
            let (x, y) = (second(), arrays.get(2).cloned().flatten());
            let (Some(x), Some(y)) = (x, y) else { return Err(unsupported("three operands")) };
            let shape = structure::broadcast_shape(first.shape(), x.shape())
                .and_then(|s| structure::broadcast_shape(&s, y.shape()))
                .ok_or_else(|| unsupported("shapes do not broadcast"))?;
            let view = |a: &ArrayD<f64>| a.broadcast(IxDyn(&shape)).expect("shape").to_owned();
            ndarray::Zip::from(&view(&first))
                .and(&view(&x))
                .and(&view(&y))
                .map_collect(|&c, &a, &b| if c != 0.0 { a } else { b })
        }
        "Expand" => {
            let target: Vec<usize> =
                second().ok_or_else(|| unsupported("a shape"))?.iter().map(|&d| d as usize).collect();
            let shape = structure::broadcast_shape(first.shape(), &target)
                .ok_or_else(|| unsupported("shapes do not broadcast"))?;
            structure::checked_elements(converter, node, &shape)?;
            first.broadcast(IxDyn(&shape)).expect("shape").to_owned()
        }
        _ => return Ok(false),
    };
    // Integers stay integers through moves and integer arithmetic.
    let from_integers = node.input.iter().filter(|i| !i.is_empty()).all(|i| converter.integral.contains(i));
    let integral = match op {
        "Cast" => is_integer_type(int_attribute(node, "to", 1)) || from_integers,
        "Equal" => true,
        "Gather" | "Slice" | "Where" => node.input.first().is_some_and(|i| converter.integral.contains(i)),
        _ => from_integers,
    };
    if integral && let Some(name) = node.output.first() {
        converter.integral.insert(name.clone());
    }
    let value = if public { Value::Public(result) } else { Value::Weight(result) };
    converter.set_at(node, 0, value);
    Ok(true)
}

/// Whether an ONNX element type is an integer or boolean.
pub fn is_integer_type(to: i64) -> bool {
    matches!(to, 2..=7 | 9 | 12 | 13)
}

/// ONNX Cast of known values: to an integer type truncates toward zero
/// (saturating), to bool tests for nonzero, to float32/float16 rounds.
fn cast(array: ArrayD<f64>, to: i64) -> ArrayD<f64> {
    match to {
        9 => array.mapv(|v| f64::from(u8::from(v != 0.0))),
        2..=7 | 12 | 13 => array.mapv(f64::trunc),
        1 => array.mapv(|v| v as f32 as f64),
        10 => array.mapv(|v| half_round(v as f32) as f64),
        _ => array,
    }
}

/// A float32 rounded to float16's precision (11 significant bits, to nearest even).
fn half_round(v: f32) -> f32 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    let exponent = v.abs().log2().floor().max(-14.0);
    let quantum = 2f32.powf(exponent - 10.0);
    let scaled = v / quantum;
    let rounded =
        if (scaled - scaled.trunc()).abs() == 0.5 { 2.0 * (scaled / 2.0).round() } else { scaled.round() };
    (rounded * quantum).clamp(-65504.0, 65504.0)
}

/// A Constant node's value, from whichever attribute it has.
fn constant_value(converter: &Converter, node: &NodeProto) -> Result<ArrayD<f64>> {
    if let Some(tensor) = attribute(node, "value").and_then(|a| a.t.as_ref()) {
        return to_array(tensor);
    }
    if attribute(node, "value_float").is_some() {
        return Ok(ArrayD::from_elem(IxDyn(&[]), float_attribute(node, "value_float", 0.0) as f64));
    }
    if attribute(node, "value_int").is_some() {
        return Ok(ArrayD::from_elem(IxDyn(&[]), int_attribute(node, "value_int", 0) as f64));
    }
    if let Some(values) = attribute(node, "value_floats").map(|a| a.floats.clone()) {
        return Ok(ArrayD::from_shape_vec(
            IxDyn(&[values.len()]),
            values.iter().map(|&v| v as f64).collect(),
        )
        .expect("length"));
    }
    if let Some(values) = ints_attribute(node, "value_ints") {
        return Ok(ArrayD::from_shape_vec(
            IxDyn(&[values.len()]),
            values.iter().map(|&v| v as f64).collect(),
        )
        .expect("length"));
    }
    Err(converter
        .unsupported(node, "a Constant needs a numeric value (value, value_float(s) or value_int(s))"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float16_rounding_keeps_eleven_bits() {
        assert_eq!(half_round(1.0), 1.0);
        assert_eq!(half_round(1.0 + 1.0 / 4096.0), 1.0);
        assert_eq!(half_round(2049.0), 2048.0);
        assert_eq!(half_round(1e6), 65504.0);
    }
}
