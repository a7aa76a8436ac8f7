//! Ops on values in the clear, in fixed point over the ring: the single
//! implementation of each op's arithmetic. The plaintext backend runs whole
//! graphs with it; Pond runs it on public and private values and, share by
//! share, for the ops that are linear.

use blindfold_ir::{DType, Graph, NodeId, Op};
use blindfold_ring::{FixedPoint, RingElement, RingTensor};

use crate::error::{ProtocolError, Result};
use crate::polynomial;

/// Encodes public reals or integers as the value's dtype.
pub fn encode<R: RingElement>(
    op: &str,
    dtype: DType,
    shape: &[usize],
    values: &[f64],
) -> Result<RingTensor<R>> {
    let format = FixedPoint::binary(dtype.fractional_bits());
    format.encode(shape, values).map_err(|source| ProtocolError::Ring { op: op.to_string(), source })
}

/// Decodes a value of `dtype` into reals.
pub fn decode<R: RingElement>(dtype: DType, tensor: &RingTensor<R>) -> ndarray::ArrayD<f64> {
    FixedPoint::binary(dtype.fractional_bits()).decode_array(tensor)
}

/// Names a ring error with the op it happened in.
pub(crate) fn ring_error(
    graph: &Graph,
    id: NodeId,
) -> impl Fn(blindfold_ring::RingError) -> ProtocolError + '_ {
    move |source| ProtocolError::Ring { op: describe(graph, id), source }
}

/// "%7 (matmul)": how errors and reports name a node.
pub fn describe(graph: &Graph, id: NodeId) -> String {
    match graph.node(id) {
        Some(node) => format!("{id} ({})", node.op.name()),
        None => format!("{id}"),
    }
}

/// The product of `op` (mul, matmul or conv2d) of two clear tensors,
/// without truncation: the bilinear map Beaver triples are made for.
pub fn product<R: RingElement>(
    op: &Op,
    left: &RingTensor<R>,
    right: &RingTensor<R>,
) -> blindfold_ring::Result<RingTensor<R>> {
    match op {
        Op::Mul { .. } | Op::Polynomial { .. } => left.mul(right),
        Op::MatMul { .. } => left.matmul(right),
        Op::Conv2d { geometry, .. } => left.conv2d(right, *geometry),
        other => unreachable!("{} is not a product", other.name()),
    }
}

/// Evaluates node `id` on clear operands (in operand order). Truncation is
/// the exact arithmetic shift (floor).
pub fn evaluate<R: RingElement>(
    graph: &Graph,
    id: NodeId,
    operands: &[&RingTensor<R>],
) -> Result<RingTensor<R>> {
    let node = graph.node(id).expect("the interpreter passes ids of this graph");
    let error = ring_error(graph, id);
    let operand = |i: usize| operands[i];
    match &node.op {
        Op::Constant { values } => encode(&describe(graph, id), node.ty.dtype, &node.ty.shape, values),
        Op::Share { .. } | Op::Reveal { .. } | Op::Output { .. } | Op::Bounded { .. } => {
            Ok(operand(0).clone())
        }
        Op::Input { .. } => unreachable!("inputs are read by the party that owns them"),
        Op::Add { .. } => operand(0).add(operand(1)).map_err(error),
        Op::Sub { .. } => operand(0).sub(operand(1)).map_err(error),
        Op::Neg { .. } => Ok(operand(0).neg()),
        Op::Mul { .. } | Op::MatMul { .. } | Op::Conv2d { .. } => {
            product(&node.op, operand(0), operand(1)).map_err(error)
        }
        Op::SumPool2d { kernel, geometry, .. } => operand(0).sum_pool2d(*kernel, *geometry).map_err(error),
        Op::Sum { axes, keep_dims, .. } => operand(0).sum_axes(axes, *keep_dims).map_err(error),
        Op::Reshape { shape, .. } => operand(0).reshape(shape).map_err(error),
        Op::Transpose { permutation, .. } => operand(0).transpose(Some(permutation)).map_err(error),
        Op::Concat { axis, .. } => RingTensor::concat(operands, *axis).map_err(error),
        Op::Truncate { bits, .. } => operand(0).shift_right_arithmetic(*bits).map_err(error),
        Op::Drelu { .. } => {
            Ok(operand(0).map(|x| if x.signed_less_than(R::ZERO) { R::ZERO } else { R::ONE }))
        }
        Op::DreluBounded { bits, .. } => {
            // The sign bit of x mod 2^bits.
            let sign = bits - 1;
            Ok(operand(0).map(|x| R::ONE.wrapping_sub(x.bit(sign))))
        }
        Op::Windows2d { kernel, geometry, .. } => operand(0).windows2d(*kernel, *geometry).map_err(error),
        Op::ScatterWindows2d { kernel, geometry, input, nearest, .. } => {
            operand(0).scatter_windows2d(*kernel, *geometry, *input, *nearest).map_err(error)
        }
        Op::Slice { axis, start, end, .. } => operand(0).slice_axis(*axis, *start, *end, 1).map_err(error),
        Op::Gather { indices, .. } => operand(0).select(0, indices).map_err(error),
        Op::Polynomial { coefficients, .. } => {
            let fractional_bits = graph.fractional_bits();
            let x = operand(0);
            let mut powers: Vec<Option<RingTensor<R>>> = vec![None; coefficients.len()];
            if powers.len() > 1 {
                powers[1] = Some(x.clone());
            }
            for step in polynomial::plan(coefficients) {
                let high = powers[step.high].as_ref().expect("planned earlier");
                let low = powers[step.low].as_ref().expect("planned earlier");
                let power =
                    high.mul(low).map_err(&error)?.shift_right_arithmetic(fractional_bits).map_err(&error)?;
                powers[step.power] = Some(power);
            }
            let combined =
                weighted_sum(coefficients, &powers, x.shape(), fractional_bits, &describe(graph, id), true)?;
            combined.shift_right_arithmetic(fractional_bits).map_err(error)
        }
    }
}

/// Σ_{i≥1} enc_F(c_i)·x^i, plus enc_2F(c_0) if `with_constant`: a
/// polynomial at 2F fractional bits before its one truncation. Local and
/// linear in the powers, so Pond's servers run it on shares (server 0 alone
/// adding the constant).
pub fn weighted_sum<R: RingElement>(
    coefficients: &[f64],
    powers: &[Option<RingTensor<R>>],
    shape: &[usize],
    fractional_bits: u32,
    op: &str,
    with_constant: bool,
) -> Result<RingTensor<R>> {
    let encode_scalar = |value: f64, bits: u32| -> Result<R> {
        FixedPoint::binary(bits)
            .encode_value(value)
            .map_err(|source| ProtocolError::Ring { op: op.to_string(), source })
    };
    let mut total = RingTensor::<R>::zeros(shape);
    for (power, &coefficient) in coefficients.iter().enumerate().skip(1) {
        if coefficient != 0.0 {
            let term = powers[power].as_ref().expect("the plan computes every power with a coefficient");
            total
                .add_assign(&term.mul_scalar(encode_scalar(coefficient, fractional_bits)?))
                .expect("same shape");
        }
    }
    if with_constant {
        total = total.add_scalar(encode_scalar(coefficients[0], 2 * fractional_bits)?);
    }
    Ok(total)
}
