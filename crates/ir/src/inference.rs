//! Shape, dtype and visibility inference: the type of each op's value from
//! its operands' types, or an error naming the op and the mismatch.

use blindfold_ring::broadcast_shapes;

use crate::error::{GraphError, Result};
use crate::graph::Graph;
use crate::op::{NodeId, Op};
use crate::types::{DType, MAX_ELEMENTS, ValueType, Visibility};

/// The type of `op` as node `id` of `graph` (which holds the earlier nodes).
/// `declared` is the type an input or constant was declared with. A value
/// of more than [`MAX_ELEMENTS`] elements is an error, found before anything
/// allocates it.
pub(crate) fn infer(graph: &Graph, id: NodeId, op: &Op, declared: Option<&ValueType>) -> Result<ValueType> {
    if let Some(declared) = declared {
        check_size(id, op.name(), &declared.shape)?;
    }
    let ty = infer_type(graph, id, op, declared)?;
    check_size(id, op.name(), &ty.shape)?;
    Ok(ty)
}

/// `shape` has at most [`MAX_ELEMENTS`] elements (its product does not wrap).
fn check_size(node: NodeId, op: &'static str, shape: &[usize]) -> Result<()> {
    match shape.iter().try_fold(1usize, |count, &d| count.checked_mul(d)) {
        Some(count) if count <= MAX_ELEMENTS => Ok(()),
        count => Err(GraphError::TooLarge {
            node,
            op,
            shape: shape.to_vec(),
            elements: count.map_or_else(|| "more than 2^64".into(), |c| c.to_string()),
        }),
    }
}

fn infer_type(graph: &Graph, id: NodeId, op: &Op, declared: Option<&ValueType>) -> Result<ValueType> {
    let name = op.name();
    let operand_types = op
        .operands()
        .into_iter()
        .map(|operand| {
            if operand.index() >= id.index() {
                return Err(GraphError::UnknownOperand { node: id, op: name, operand });
            }
            graph.node(operand).map(|n| n.ty.clone()).ok_or(GraphError::UnknownOperand {
                node: id,
                op: name,
                operand,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let context = Context { id, op: name, ring_bits: graph.ring().bits() };
    match op {
        Op::Input { party, .. } => {
            let declared = context.declared(declared)?;
            if declared.visibility != Visibility::Private(party.clone()) {
                return Err(context.visibility(format!("an input of {party} must be private to {party}")));
            }
            Ok(declared.clone())
        }
        Op::Constant { values } => {
            let declared = context.declared(declared)?;
            if declared.visibility != Visibility::Public {
                return Err(context.visibility("a constant is public".into()));
            }
            if values.len() != declared.len() {
                return Err(context.invalid(format!(
                    "{} values cannot fill shape {:?}",
                    values.len(),
                    declared.shape
                )));
            }
            Ok(declared.clone())
        }
        Op::Share { .. } => {
            let source = &operand_types[0];
            match &source.visibility {
                Visibility::Private(_) => Ok(ValueType { visibility: Visibility::Shared, ..source.clone() }),
                other => {
                    Err(context.visibility(format!("only a private value can be shared, not a {other} one")))
                }
            }
        }
        Op::Reveal { party, .. } => {
            let source = &operand_types[0];
            if source.visibility != Visibility::Shared {
                return Err(context.visibility(format!(
                    "only a shared value can be revealed, not a {} one",
                    source.visibility
                )));
            }
            Ok(ValueType { visibility: Visibility::Private(party.clone()), ..source.clone() })
        }
        Op::Output { party, .. } => {
            let source = &operand_types[0];
            match &source.visibility {
                Visibility::Public => Ok(source.clone()),
                Visibility::Private(owner) if owner == party => Ok(source.clone()),
                other => Err(context.visibility(format!("a {other} value cannot be output to {party}"))),
            }
        }
        Op::Add { .. } | Op::Sub { .. } => {
            let (left, right) = (&operand_types[0], &operand_types[1]);
            if left.dtype != right.dtype {
                return Err(context.dtype(format!("operands are {} and {}", left.dtype, right.dtype)));
            }
            let shape = context.broadcast(&left.shape, &right.shape)?;
            Ok(ValueType { shape, dtype: left.dtype, visibility: context.join(&operand_types)? })
        }
        Op::Mul { .. } => {
            let (left, right) = (&operand_types[0], &operand_types[1]);
            let shape = context.broadcast(&left.shape, &right.shape)?;
            Ok(ValueType {
                shape,
                dtype: product_dtype(left.dtype, right.dtype),
                visibility: context.join(&operand_types)?,
            })
        }
        Op::MatMul { .. } => {
            let (left, right) = (&operand_types[0], &operand_types[1]);
            let shape = matmul_shape(&left.shape, &right.shape)
                .map_err(|reason| context.shapes(&left.shape, &right.shape, reason))?;
            Ok(ValueType {
                shape,
                dtype: product_dtype(left.dtype, right.dtype),
                visibility: context.join(&operand_types)?,
            })
        }
        Op::Conv2d { geometry, .. } => {
            let (input, filters) = (&operand_types[0], &operand_types[1]);
            let shape = match (input.shape.as_slice(), filters.shape.as_slice()) {
                (&[n, c, h, w], &[o, fc, kh, kw]) if c == fc => geometry
                    .output_size((h, w), (kh, kw))
                    .map(|(oh, ow)| vec![n, o, oh, ow])
                    .ok_or_else(|| {
                        context.shapes(
                            &input.shape,
                            &filters.shape,
                            "the window does not fit the padded input, or a stride is 0".into(),
                        )
                    })?,
                _ => {
                    return Err(context.shapes(
                        &input.shape,
                        &filters.shape,
                        "conv2d takes [N, C, H, W] and [O, C, KH, KW]".into(),
                    ));
                }
            };
            Ok(ValueType {
                shape,
                dtype: product_dtype(input.dtype, filters.dtype),
                visibility: context.join(&operand_types)?,
            })
        }
        Op::Neg { .. } => Ok(operand_types[0].clone()),
        Op::Bounded { bound, .. } => {
            if !(bound.is_finite() && *bound > 0.0) {
                return Err(context.invalid(format!("bound {bound} is not a positive number")));
            }
            Ok(operand_types[0].clone())
        }
        Op::Drelu { .. } => Ok(ValueType { dtype: DType::Integer, ..operand_types[0].clone() }),
        Op::DreluBounded { bits, .. } => {
            let ring_bits = context.ring_bits();
            if *bits < 2 || *bits > ring_bits {
                return Err(context.invalid(format!("{bits} comparison bits in a {ring_bits}-bit ring")));
            }
            Ok(ValueType { dtype: DType::Integer, ..operand_types[0].clone() })
        }
        Op::Windows2d { kernel, geometry, .. } => {
            let source = &operand_types[0];
            let (top, left, bottom, right) = geometry.padding;
            if top.max(bottom) >= kernel.0 || left.max(right) >= kernel.1 {
                return Err(context.invalid(format!(
                    "padding {:?} must be smaller than the {kernel:?} window",
                    geometry.padding
                )));
            }
            let window = kernel.0.saturating_mul(kernel.1);
            let shape = match source.shape.as_slice() {
                &[n, c, h, w] => geometry
                    .output_size((h, w), *kernel)
                    .map(|(oh, ow)| vec![n, c, oh, ow, window])
                    .ok_or_else(|| {
                        context.invalid(format!("a {kernel:?} window does not fit {:?}", source.shape))
                    })?,
                _ => {
                    return Err(context.invalid(format!("windows take [N, C, H, W], not {:?}", source.shape)));
                }
            };
            Ok(ValueType { shape, ..source.clone() })
        }
        Op::ScatterWindows2d { kernel, geometry, input, .. } => {
            let source = &operand_types[0];
            let window = kernel.0.saturating_mul(kernel.1);
            let expected = geometry.output_size(*input, *kernel);
            match (source.shape.as_slice(), expected) {
                (&[n, c, oh, ow, k], Some(output)) if (oh, ow) == output && k == window => {
                    Ok(ValueType { shape: vec![n, c, input.0, input.1], ..source.clone() })
                }
                _ => Err(context.invalid(format!(
                    "{:?} are not the {kernel:?} windows of a {input:?} plane",
                    source.shape
                ))),
            }
        }
        Op::Gather { indices, .. } => {
            let source = &operand_types[0];
            match source.shape.first() {
                Some(&rows) if indices.iter().all(|&i| i < rows) => {
                    let mut shape = source.shape.clone();
                    shape[0] = indices.len();
                    Ok(ValueType { shape, ..source.clone() })
                }
                _ => Err(context.invalid(format!("row indices outside {:?}", source.shape))),
            }
        }
        Op::Slice { axis, start, end, .. } => {
            let source = &operand_types[0];
            match source.shape.get(*axis) {
                Some(&length) if start < end && *end <= length => {
                    let mut shape = source.shape.clone();
                    shape[*axis] = end - start;
                    Ok(ValueType { shape, ..source.clone() })
                }
                _ => Err(context
                    .invalid(format!("{start}..{end} along axis {axis} does not fit {:?}", source.shape))),
            }
        }
        Op::SumPool2d { kernel, geometry, .. } => {
            let source = &operand_types[0];
            let shape = match source.shape.as_slice() {
                &[n, c, h, w] => {
                    geometry.output_size((h, w), *kernel).map(|(oh, ow)| vec![n, c, oh, ow]).ok_or_else(
                        || context.invalid(format!("a {kernel:?} window does not fit {:?}", source.shape)),
                    )?
                }
                _ => {
                    return Err(
                        context.invalid(format!("pooling takes [N, C, H, W], not {:?}", source.shape))
                    );
                }
            };
            Ok(ValueType { shape, ..source.clone() })
        }
        Op::Sum { axes, keep_dims, .. } => {
            let source = &operand_types[0];
            let mut sorted = axes.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if sorted.len() != axes.len() || sorted.iter().any(|&a| a >= source.shape.len()) {
                return Err(
                    context.invalid(format!("axes {axes:?} are not distinct axes of {:?}", source.shape))
                );
            }
            let shape = source
                .shape
                .iter()
                .enumerate()
                .filter_map(|(axis, &d)| match (axes.contains(&axis), keep_dims) {
                    (false, _) => Some(d),
                    (true, true) => Some(1),
                    (true, false) => None,
                })
                .collect();
            Ok(ValueType { shape, ..source.clone() })
        }
        Op::Reshape { shape, .. } => {
            let source = &operand_types[0];
            if shape.iter().try_fold(1usize, |count, &d| count.checked_mul(d)) != Some(source.len()) {
                return Err(context.shapes(&source.shape, shape, "element counts differ".into()));
            }
            Ok(ValueType { shape: shape.clone(), ..source.clone() })
        }
        Op::Transpose { permutation, .. } => {
            let source = &operand_types[0];
            let mut sorted = permutation.clone();
            sorted.sort_unstable();
            if sorted != (0..source.shape.len()).collect::<Vec<_>>() {
                return Err(context.invalid(format!(
                    "{permutation:?} is not a permutation of {} axes",
                    source.shape.len()
                )));
            }
            let shape = permutation.iter().map(|&axis| source.shape[axis]).collect();
            Ok(ValueType { shape, ..source.clone() })
        }
        Op::Concat { axis, .. } => {
            let first = operand_types
                .first()
                .ok_or_else(|| context.invalid("concat needs at least one operand".into()))?;
            if *axis >= first.shape.len() {
                return Err(context.invalid(format!("axis {axis} is out of range for {:?}", first.shape)));
            }
            let mut shape = first.shape.clone();
            shape[*axis] = 0;
            for operand in &operand_types {
                let agrees = operand.shape.len() == first.shape.len()
                    && (0..shape.len()).all(|i| i == *axis || operand.shape[i] == first.shape[i]);
                if !agrees {
                    return Err(context.shapes(
                        &first.shape,
                        &operand.shape,
                        "dimensions other than the joined axis differ".into(),
                    ));
                }
                if operand.dtype != first.dtype {
                    return Err(context.dtype(format!("operands are {} and {}", first.dtype, operand.dtype)));
                }
                shape[*axis] += operand.shape[*axis];
            }
            Ok(ValueType { shape, dtype: first.dtype, visibility: context.join(&operand_types)? })
        }
        Op::Truncate { bits, .. } => {
            let source = &operand_types[0];
            match source.dtype {
                DType::Fixed { fractional_bits } if fractional_bits >= *bits => Ok(ValueType {
                    dtype: DType::Fixed { fractional_bits: fractional_bits - bits },
                    ..source.clone()
                }),
                other => {
                    Err(context.dtype(format!("cannot drop {bits} fractional bits from a {other} value")))
                }
            }
        }
        Op::Polynomial { coefficients, .. } => {
            let source = &operand_types[0];
            if source.dtype != (DType::Fixed { fractional_bits: graph.fractional_bits() }) {
                return Err(context.dtype(format!(
                    "a polynomial takes fixed{} values, not {}",
                    graph.fractional_bits(),
                    source.dtype
                )));
            }
            if coefficients.is_empty() || coefficients.iter().any(|c| !c.is_finite()) {
                return Err(context.invalid("coefficients must be finite and at least one".into()));
            }
            Ok(source.clone())
        }
    }
}

/// The dtype of a product: fractional bits add.
fn product_dtype(left: DType, right: DType) -> DType {
    match (left, right) {
        (DType::Integer, DType::Integer) => DType::Integer,
        _ => DType::Fixed { fractional_bits: left.fractional_bits() + right.fractional_bits() },
    }
}

/// numpy's matmul shape rule for operands of rank ≥ 1.
pub fn matmul_shape(left: &[usize], right: &[usize]) -> std::result::Result<Vec<usize>, String> {
    if left.is_empty() || right.is_empty() {
        return Err("operands must have at least one dimension".into());
    }
    let promoted_left: Vec<usize> = if left.len() == 1 { vec![1, left[0]] } else { left.to_vec() };
    let promoted_right: Vec<usize> = if right.len() == 1 { vec![right[0], 1] } else { right.to_vec() };
    let (rl, rr) = (promoted_left.len(), promoted_right.len());
    if promoted_left[rl - 1] != promoted_right[rr - 2] {
        return Err("inner dimensions differ".into());
    }
    let mut shape = broadcast_shapes("matmul", &promoted_left[..rl - 2], &promoted_right[..rr - 2])
        .map_err(|_| "batch dimensions do not broadcast".to_string())?;
    if left.len() != 1 {
        shape.push(promoted_left[rl - 2]);
    }
    if right.len() != 1 {
        shape.push(promoted_right[rr - 1]);
    }
    Ok(shape)
}

/// The node being inferred, for error messages.
struct Context {
    id: NodeId,
    op: &'static str,
    ring_bits: u32,
}

impl Context {
    fn ring_bits(&self) -> u32 {
        self.ring_bits
    }

    fn declared<'a>(&self, declared: Option<&'a ValueType>) -> Result<&'a ValueType> {
        declared.ok_or_else(|| self.invalid("inputs and constants need a declared type".into()))
    }

    fn broadcast(&self, left: &[usize], right: &[usize]) -> Result<Vec<usize>> {
        broadcast_shapes(self.op, left, right)
            .map_err(|_| self.shapes(left, right, "cannot broadcast".into()))
    }

    /// The visibility of an op's value from its operands': public if all are;
    /// private to p if all are public or private to p; shared if any is
    /// shared and the rest public. A private operand beside a shared one (or
    /// beside another party's) must be shared first — the builder does that.
    fn join(&self, operands: &[ValueType]) -> Result<Visibility> {
        let mut result = Visibility::Public;
        for operand in operands {
            result = match (&result, &operand.visibility) {
                (_, Visibility::Public) => result,
                (Visibility::Public, other) => other.clone(),
                (Visibility::Shared, Visibility::Shared) => Visibility::Shared,
                (Visibility::Private(a), Visibility::Private(b)) if a == b => result,
                (a, b) => {
                    return Err(self.visibility(format!(
                        "cannot combine a {a} value with a {b} one without sharing it"
                    )));
                }
            };
        }
        Ok(result)
    }

    fn shapes(&self, left: &[usize], right: &[usize], reason: String) -> GraphError {
        GraphError::ShapeMismatch {
            node: self.id,
            op: self.op,
            left: left.to_vec(),
            right: right.to_vec(),
            reason,
        }
    }

    fn dtype(&self, reason: String) -> GraphError {
        GraphError::DTypeMismatch { node: self.id, op: self.op, reason }
    }

    fn visibility(&self, reason: String) -> GraphError {
        GraphError::Visibility { node: self.id, op: self.op, reason }
    }

    fn invalid(&self, reason: String) -> GraphError {
        GraphError::InvalidArgument { node: self.id, op: self.op, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::matmul_shape;

    #[test]
    fn matmul_shapes_follow_numpy() {
        assert_eq!(matmul_shape(&[2, 3], &[3, 4]).unwrap(), vec![2, 4]);
        assert_eq!(matmul_shape(&[5, 2, 3], &[3, 4]).unwrap(), vec![5, 2, 4]);
        assert_eq!(matmul_shape(&[3], &[3, 4]).unwrap(), vec![4]);
        assert_eq!(matmul_shape(&[2, 3], &[3]).unwrap(), vec![2]);
        assert_eq!(matmul_shape(&[3], &[3]).unwrap(), Vec::<usize>::new());
        assert!(matmul_shape(&[2, 3], &[4, 5]).is_err());
        assert!(matmul_shape(&[2, 2, 3], &[3, 3, 1]).is_err());
    }
}
