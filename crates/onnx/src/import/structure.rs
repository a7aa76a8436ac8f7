//! Ops that move values without arithmetic: reshapes, transposes, slices,
//! concatenation, splits, padding, gathers by public indices, casts. All
//! are local on shares. The shape rules here serve the folded (known) values
//! too.

use blindfold_ir::Tensor;
use ndarray::ArrayD;

use super::converter::Converter;
use super::folding::is_integer_type;
use super::value::Value;
use crate::attributes::{float_attribute, int_attribute, ints_attribute, string_attribute};
use crate::error::Result;
use crate::proto::NodeProto;

/// An ONNX axis (negative counts from the end) as an index below `rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let rank = rank as i64;
    let axis = if axis < 0 { axis + rank } else { axis };
    (0..rank).contains(&axis).then_some(axis as usize)
}

/// numpy's broadcast of two shapes.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= rank { s[i + s.len() - rank] } else { 1 };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// ONNX Reshape's target: 0 copies the input dimension (unless
/// `allow_zero`), −1 is inferred.
pub fn reshape_target(shape: &[usize], target: &ArrayD<f64>, allow_zero: bool) -> Option<Vec<usize>> {
    let total: usize = shape.iter().product();
    let mut dims: Vec<Option<usize>> = Vec::new();
    for (i, &t) in target.iter().enumerate() {
        dims.push(match t as i64 {
            0 if !allow_zero => Some(*shape.get(i)?),
            -1 => None,
            v if v >= 0 => Some(v as usize),
            _ => return None,
        });
    }
    let known = dims.iter().flatten().try_fold(1usize, |count, &d| count.checked_mul(d))?;
    match dims.iter().filter(|d| d.is_none()).count() {
        0 if known == total => Some(dims.into_iter().flatten().collect()),
        1 if known > 0 && total.is_multiple_of(known) => {
            Some(dims.into_iter().map(|d| d.unwrap_or(total / known)).collect())
        }
        _ => None,
    }
}

/// Flatten's 2-D shape.
pub fn flatten_shape(shape: &[usize], axis: i64) -> Option<Vec<usize>> {
    let rank = shape.len() as i64;
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..=rank).contains(&axis) {
        return None;
    }
    let outer: usize = shape[..axis as usize].iter().product();
    let inner: usize = shape[axis as usize..].iter().product();
    Some(vec![outer, inner])
}

/// Squeeze's shape: the given axes (each of size 1), or every axis of size 1.
pub fn squeeze_shape(shape: &[usize], axes: Option<&[i64]>) -> Option<Vec<usize>> {
    let removed: Vec<usize> = match axes {
        Some(axes) if !axes.is_empty() => axes
            .iter()
            .map(|&a| normalize_axis(a, shape.len()).filter(|&a| shape[a] == 1))
            .collect::<Option<_>>()?,
        _ => (0..shape.len()).filter(|&a| shape[a] == 1).collect(),
    };
    Some(shape.iter().enumerate().filter(|(i, _)| !removed.contains(i)).map(|(_, &d)| d).collect())
}

/// Unsqueeze's shape: a new axis of size 1 at each of `axes` (of the output).
pub fn unsqueeze_shape(shape: &[usize], axes: &[i64]) -> Option<Vec<usize>> {
    let rank = shape.len() + axes.len();
    let mut inserted: Vec<usize> = axes.iter().map(|&a| normalize_axis(a, rank)).collect::<Option<_>>()?;
    inserted.sort_unstable();
    inserted.dedup();
    if inserted.len() != axes.len() {
        return None;
    }
    let mut dims = shape.iter();
    (0..rank).map(|i| if inserted.contains(&i) { Some(1) } else { dims.next().copied() }).collect()
}

/// Gather's positions: negative indices count from the end.
pub fn gather_positions(indices: impl Iterator<Item = i64>, length: i64) -> Option<Vec<usize>> {
    indices
        .map(|i| {
            let i = if i < 0 { i + length } else { i };
            (0..length).contains(&i).then_some(i as usize)
        })
        .collect()
}

/// Transpose's permutation (reversed axes by default).
pub fn permutation(node: &NodeProto, rank: usize) -> Option<Vec<usize>> {
    match ints_attribute(node, "perm") {
        Some(perm) => {
            let perm: Vec<usize> = perm.iter().map(|&p| normalize_axis(p, rank)).collect::<Option<_>>()?;
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            (sorted == (0..rank).collect::<Vec<_>>()).then_some(perm)
        }
        None => Some((0..rank).rev().collect()),
    }
}

/// An axes argument: input `index` (newer opsets) or the `axes` attribute.
pub fn axes_argument(converter: &Converter, node: &NodeProto, index: usize) -> Result<Option<Vec<i64>>> {
    match converter.integers(node, index, "axes")? {
        Some(axes) => Ok(Some(axes)),
        None => Ok(ints_attribute(node, "axes")),
    }
}

/// Refuses a shape with more elements than a graph value may have.
pub fn checked_elements(converter: &Converter, node: &NodeProto, shape: &[usize]) -> Result<()> {
    let fits = shape
        .iter()
        .try_fold(1usize, |count, &d| count.checked_mul(d))
        .is_some_and(|count| count <= blindfold_ir::MAX_ELEMENTS);
    if fits {
        Ok(())
    } else {
        Err(converter.unsupported(
            node,
            &format!("shape {shape:?} has more than {} elements", blindfold_ir::MAX_ELEMENTS),
        ))
    }
}

/// Slice's selected positions per axis (starts, ends, axes, steps as inputs
/// from opset 10, attributes before).
pub fn slice_selections(
    converter: &Converter,
    node: &NodeProto,
    shape: &[usize],
) -> Result<Vec<(usize, Vec<usize>)>> {
    let (starts, ends, axes, steps) = if converter.opset >= 10 {
        (
            converter.integers(node, 1, "starts")?.unwrap_or_default(),
            converter.integers(node, 2, "ends")?.unwrap_or_default(),
            converter.integers(node, 3, "axes")?,
            converter.integers(node, 4, "steps")?,
        )
    } else {
        (
            ints_attribute(node, "starts").unwrap_or_default(),
            ints_attribute(node, "ends").unwrap_or_default(),
            ints_attribute(node, "axes"),
            None,
        )
    };
    let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(converter.unsupported(node, "starts, ends, axes and steps differ in length"));
    }
    let mut selections = Vec::new();
    for (((&start, &end), &axis), &step) in starts.iter().zip(&ends).zip(&axes).zip(&steps) {
        let axis = normalize_axis(axis, shape.len())
            .ok_or_else(|| converter.unsupported(node, "axis out of range"))?;
        if step == 0 {
            return Err(converter.unsupported(node, "a step of 0"));
        }
        let length = shape[axis] as i64;
        let resolve = |v: i64, low: i64, high: i64| (if v < 0 { v + length } else { v }).clamp(low, high);
        let positions: Vec<usize> = if step > 0 {
            let (s, e) = (resolve(start, 0, length), resolve(end, 0, length));
            (s..e).step_by(step as usize).map(|p| p as usize).collect()
        } else {
            let (s, e) = (resolve(start, -1, length - 1), resolve(end, -1, length - 1));
            let mut p = s;
            let mut out = Vec::new();
            while p > e {
                out.push(p as usize);
                p += step;
            }
            out
        };
        selections.push((axis, positions));
    }
    Ok(selections)
}

/// `tensor` with `axis` moved last (the other axes in order).
pub fn move_axis_last(
    converter: &mut Converter,
    node: &NodeProto,
    tensor: Tensor,
    axis: usize,
) -> Result<Tensor> {
    let rank = converter.builder.ty(tensor).shape.len();
    if axis + 1 == rank {
        return Ok(tensor);
    }
    let mut order: Vec<usize> = (0..rank).filter(|&a| a != axis).collect();
    order.push(axis);
    converter.builder.transpose(tensor, Some(&order)).map_err(Converter::graph_error(node))
}

/// Undoes [`move_axis_last`] for a tensor of the same rank.
pub fn move_last_axis_to(
    converter: &mut Converter,
    node: &NodeProto,
    tensor: Tensor,
    axis: usize,
) -> Result<Tensor> {
    let rank = converter.builder.ty(tensor).shape.len();
    if axis + 1 == rank {
        return Ok(tensor);
    }
    let order: Vec<usize> = (0..rank)
        .map(|a| {
            if a < axis {
                a
            } else if a == axis {
                rank - 1
            } else {
                a - 1
            }
        })
        .collect();
    converter.builder.transpose(tensor, Some(&order)).map_err(Converter::graph_error(node))
}

/// The elements at `positions` along `axis` (public positions; local on
/// shares): contiguous runs are slices, anything else a gather on the
/// first axis.
pub fn select(
    converter: &mut Converter,
    node: &NodeProto,
    tensor: Tensor,
    axis: usize,
    positions: &[usize],
) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    let length = converter.builder.ty(tensor).shape[axis];
    let contiguous = positions.windows(2).all(|w| w[1] == w[0] + 1);
    if contiguous && !positions.is_empty() {
        let (start, end) = (positions[0], positions[positions.len() - 1] + 1);
        if (start, end) == (0, length) {
            return Ok(tensor);
        }
        return converter.builder.slice(tensor, axis, start, end).map_err(&error);
    }
    let rank = converter.builder.ty(tensor).shape.len();
    let mut to_front: Vec<usize> = vec![axis];
    to_front.extend((0..rank).filter(|&a| a != axis));
    let front = if axis == 0 {
        tensor
    } else {
        converter.builder.transpose(tensor, Some(&to_front)).map_err(&error)?
    };
    let gathered = converter.builder.gather(front, positions).map_err(&error)?;
    if axis == 0 {
        return Ok(gathered);
    }
    let back: Vec<usize> = (0..rank)
        .map(|a| {
            if a == axis {
                0
            } else if a < axis {
                a + 1
            } else {
                a
            }
        })
        .collect();
    converter.builder.transpose(gathered, Some(&back)).map_err(&error)
}

/// Converts a structural op on a graph tensor; false if `op` is not one.
pub fn convert(converter: &mut Converter, node: &NodeProto, op: &str) -> Result<bool> {
    let error = Converter::graph_error(node);
    let unsupported = |converter: &Converter, what: &str| converter.unsupported(node, what);
    match op {
        "Identity" | "Dropout" => {
            if op == "Dropout" && node.output.get(1).is_some_and(|m| converter.consumers.contains_key(m)) {
                return Err(unsupported(converter, "the Dropout mask output is not supported"));
            }
            let value = converter.value(node, 0)?;
            converter.set_at(node, 0, value);
            converter.keep_integral(node);
        }
        "Cast" | "CastLike" => {
            let to = int_attribute(node, "to", 1);
            let value = converter.value(node, 0)?;
            let integral = node.input.first().is_some_and(|i| converter.integral.contains(i))
                || matches!(value, Value::ArgMax { .. });
            if op == "Cast" && is_integer_type(to) && !integral {
                return Err(unsupported(
                    converter,
                    "a cast of computed real values to an integer type (rounding) is not supported; labels and indices (ArgMax, ArrayFeatureExtractor) cast freely",
                ));
            }
            if op == "Cast" && !(is_integer_type(to) || matches!(to, 1 | 10 | 11 | 16)) {
                return Err(unsupported(converter, &format!("a cast to element type {to}")));
            }
            converter.set_at(node, 0, value);
            converter.keep_integral(node);
        }
        "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" | "Expand" => {
            if let (Value::ArgMax { .. }, "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze") =
                (converter.value(node, 0)?, op)
            {
                converter.integral.extend(node.output.first().cloned());
            }
            let x = converter.tensor(node, 0)?;
            let shape = converter.builder.ty(x).shape.clone();
            let target = match op {
                "Reshape" => {
                    let target = converter.array(node, 1, "Reshape's shape")?;
                    reshape_target(&shape, &target, int_attribute(node, "allowzero", 0) == 1).ok_or_else(
                        || {
                            unsupported(
                                converter,
                                &format!(
                                    "cannot reshape {shape:?} to {:?}",
                                    target.iter().collect::<Vec<_>>()
                                ),
                            )
                        },
                    )?
                }
                "Flatten" => flatten_shape(&shape, int_attribute(node, "axis", 1))
                    .ok_or_else(|| unsupported(converter, "axis out of range"))?,
                "Squeeze" => {
                    let axes = axes_argument(converter, node, 1)?;
                    squeeze_shape(&shape, axes.as_deref())
                        .ok_or_else(|| unsupported(converter, "an axis is out of range or not of size 1"))?
                }
                "Unsqueeze" => {
                    let axes = axes_argument(converter, node, 1)?.unwrap_or_default();
                    unsqueeze_shape(&shape, &axes)
                        .ok_or_else(|| unsupported(converter, "axes out of range"))?
                }
                _ => {
                    let target: Vec<usize> =
                        converter.array(node, 1, "Expand's shape")?.iter().map(|&d| d as usize).collect();
                    let expanded = broadcast_shape(&shape, &target)
                        .ok_or_else(|| unsupported(converter, "shapes do not broadcast"))?;
                    checked_elements(converter, node, &expanded)?;
                    let zeros = converter
                        .builder
                        .constant(&expanded, &vec![0.0; expanded.iter().product()])
                        .map_err(&error)?;
                    let y = converter.builder.add(x, zeros).map_err(&error)?;
                    converter.set(node, y);
                    return Ok(true);
                }
            };
            let y = converter.builder.reshape(x, &target).map_err(&error)?;
            converter.set(node, y);
            converter.keep_integral(node);
        }
        "Transpose" => {
            let x = converter.tensor(node, 0)?;
            let rank = converter.builder.ty(x).shape.len();
            let perm = permutation(node, rank)
                .ok_or_else(|| unsupported(converter, "perm is not a permutation of the axes"))?;
            let y = converter.builder.transpose(x, Some(&perm)).map_err(&error)?;
            converter.set(node, y);
        }
        "Concat" => {
            let count = node.input.len();
            let tensors: Vec<Tensor> =
                (0..count).map(|i| converter.tensor(node, i)).collect::<Result<_>>()?;
            let rank = converter.builder.ty(tensors[0]).shape.len();
            let axis = normalize_axis(int_attribute(node, "axis", 0), rank)
                .ok_or_else(|| unsupported(converter, "axis out of range"))?;
            let y = converter.builder.concat(&tensors, axis).map_err(&error)?;
            converter.set(node, y);
        }
        "Split" => {
            let x = converter.tensor(node, 0)?;
            let shape = converter.builder.ty(x).shape.clone();
            let axis = normalize_axis(int_attribute(node, "axis", 0), shape.len())
                .ok_or_else(|| unsupported(converter, "axis out of range"))?;
            let parts = node.output.len();
            let sizes: Vec<usize> =
                match converter.integers(node, 1, "split")?.or_else(|| ints_attribute(node, "split")) {
                    Some(sizes) => sizes.iter().map(|&s| s.max(0) as usize).collect(),
                    None => {
                        let pieces = int_attribute(node, "num_outputs", parts as i64).max(1) as usize;
                        let size = shape[axis].div_ceil(pieces);
                        (0..pieces).map(|i| size.min(shape[axis].saturating_sub(i * size))).collect()
                    }
                };
            if sizes.iter().sum::<usize>() != shape[axis] || sizes.len() != parts {
                return Err(unsupported(
                    converter,
                    &format!("split sizes {sizes:?} for an axis of {} into {parts} outputs", shape[axis]),
                ));
            }
            let mut start = 0;
            for (index, size) in sizes.iter().enumerate() {
                let part = converter.builder.slice(x, axis, start, start + size).map_err(&error)?;
                converter.set_at(node, index, Value::Tensor(part));
                start += size;
            }
        }
        "Slice" => {
            let x = converter.tensor(node, 0)?;
            let shape = converter.builder.ty(x).shape.clone();
            let mut y = x;
            for (axis, positions) in slice_selections(converter, node, &shape)? {
                if positions.is_empty() {
                    return Err(unsupported(converter, "an empty slice"));
                }
                y = select(converter, node, y, axis, &positions)?;
            }
            converter.set(node, y);
            converter.keep_integral(node);
        }
        "Gather" => {
            let x = converter.tensor(node, 0)?;
            let shape = converter.builder.ty(x).shape.clone();
            let indices = converter.array(node, 1, "Gather's indices")?;
            let axis = normalize_axis(int_attribute(node, "axis", 0), shape.len())
                .ok_or_else(|| unsupported(converter, "axis out of range"))?;
            let positions = gather_positions(indices.iter().map(|&v| v as i64), shape[axis] as i64)
                .ok_or_else(|| unsupported(converter, "an index is out of range"))?;
            if positions.is_empty() {
                return Err(unsupported(converter, "no indices"));
            }
            let taken = select(converter, node, x, axis, &positions)?;
            let mut target = shape[..axis].to_vec();
            target.extend(indices.shape());
            target.extend(&shape[axis + 1..]);
            let y = converter.builder.reshape(taken, &target).map_err(&error)?;
            converter.set(node, y);
        }
        "Pad" => pad(converter, node)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Pad's fill value: known at import, or computed (a graph input).
#[derive(Clone, Copy)]
enum Fill {
    Known(f64),
    Computed(Tensor),
}

/// Pad: in constant mode a concatenation with the fill value, in edge,
/// reflect and wrap modes a selection of public positions; a negative pad
/// is a slice.
fn pad(converter: &mut Converter, node: &NodeProto) -> Result<()> {
    let error = Converter::graph_error(node);
    let mode = string_attribute(node, "mode").unwrap_or_else(|| "constant".into());
    if !matches!(mode.as_str(), "constant" | "edge" | "reflect" | "wrap") {
        return Err(converter.unsupported(node, &format!("mode {mode}")));
    }
    let x = converter.tensor(node, 0)?;
    let shape = converter.builder.ty(x).shape.clone();
    let rank = shape.len();
    let (pads, fill) = if converter.opset >= 11 {
        let pads = converter.integers(node, 1, "pads")?.unwrap_or_default();
        let fill = match converter.value(node, 2) {
            _ if !Converter::has_input(node, 2) => Fill::Known(0.0),
            Ok(Value::Public(a) | Value::Weight(a)) => Fill::Known(a.iter().next().copied().unwrap_or(0.0)),
            _ => Fill::Computed(converter.tensor(node, 2)?),
        };
        (pads, fill)
    } else {
        (
            ints_attribute(node, "pads").unwrap_or_default(),
            Fill::Known(float_attribute(node, "value", 0.0) as f64),
        )
    };
    let axes: Vec<usize> = match converter.integers(node, 3, "axes")? {
        Some(axes) => axes
            .iter()
            .map(|&a| normalize_axis(a, rank))
            .collect::<Option<_>>()
            .ok_or_else(|| converter.unsupported(node, "axes out of range"))?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(converter.unsupported(node, &format!("{} pads for {} axes", pads.len(), axes.len())));
    }
    let mut y = x;
    for (i, &axis) in axes.iter().enumerate() {
        let (before, after) = (pads[i], pads[i + axes.len()]);
        let length = converter.builder.ty(y).shape[axis] as i64;
        if before < 0 || after < 0 {
            let (start, end) = ((-before).max(0), length - (-after).max(0));
            if start >= end {
                return Err(converter.unsupported(node, "the pads remove the whole axis"));
            }
            y = converter.builder.slice(y, axis, start as usize, end as usize).map_err(&error)?;
        }
        let length = converter.builder.ty(y).shape[axis] as i64;
        if mode != "constant" && (before > 0 || after > 0) {
            // Edge, reflect and wrap padding repeat public positions.
            let position = |i: i64| -> Option<usize> {
                let p = match mode.as_str() {
                    "edge" => i.clamp(0, length - 1),
                    "wrap" => i.rem_euclid(length),
                    _ if length == 1 => 0,
                    _ => {
                        let period = 2 * (length - 1);
                        let r = i.rem_euclid(period);
                        if r < length { r } else { period - r }
                    }
                };
                usize::try_from(p).ok()
            };
            let positions: Option<Vec<usize>> =
                (-before.max(0)..length + after.max(0)).map(position).collect();
            let positions = positions.ok_or_else(|| converter.unsupported(node, "padding an empty axis"))?;
            y = select(converter, node, y, axis, &positions)?;
            continue;
        }
        let mut parts = Vec::new();
        for (count, at_end) in [(before.max(0) as usize, false), (after.max(0) as usize, true)] {
            if count == 0 {
                continue;
            }
            let mut block = converter.builder.ty(y).shape.clone();
            block[axis] = count;
            checked_elements(converter, node, &block)?;
            let constant = match fill {
                Fill::Known(value) => converter
                    .builder
                    .constant(&block, &vec![value; block.iter().product()])
                    .map_err(&error)?,
                Fill::Computed(value) => {
                    let ones = converter
                        .builder
                        .integer_constant(&block, &vec![1; block.iter().product()])
                        .map_err(&error)?;
                    converter.builder.mul(ones, value).map_err(&error)?
                }
            };
            parts.push((constant, at_end));
        }
        if parts.is_empty() {
            continue;
        }
        let mut pieces: Vec<Tensor> = parts.iter().filter(|(_, end)| !end).map(|(t, _)| *t).collect();
        pieces.push(y);
        pieces.extend(parts.iter().filter(|(_, end)| *end).map(|(t, _)| *t));
        y = converter.builder.concat(&pieces, axis).map_err(&error)?;
    }
    converter.set(node, y);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_rules_follow_onnx() {
        assert_eq!(broadcast_shape(&[3, 1], &[4]), Some(vec![3, 4]));
        assert_eq!(broadcast_shape(&[3, 2], &[4]), None);
        let target = ndarray::arr1(&[0.0, -1.0]).into_dyn();
        assert_eq!(reshape_target(&[2, 3, 4], &target, false), Some(vec![2, 12]));
        assert_eq!(squeeze_shape(&[1, 3, 1], None), Some(vec![3]));
        assert_eq!(squeeze_shape(&[1, 3, 1], Some(&[-1])), Some(vec![1, 3]));
        assert_eq!(unsqueeze_shape(&[3, 4], &[0, 3]), Some(vec![1, 3, 4, 1]));
        assert_eq!(flatten_shape(&[2, 3, 4], 0), Some(vec![1, 24]));
        assert_eq!(gather_positions([-1, 0].into_iter(), 3), Some(vec![2, 0]));
    }
}
