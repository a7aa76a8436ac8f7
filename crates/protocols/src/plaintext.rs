//! The plaintext backend: the whole graph in one process, in the clear.
//!
//! [`run_fixed_point`] runs the same fixed-point ring arithmetic as Pond
//! without sharing (truncation is the exact arithmetic shift), so a secure
//! result differs from it only by the protocol's truncation error; it is the
//! reference the tests hold Pond to. [`crate::float::run`] runs the graph in
//! f32 or f64: what the model computes without fixed point at all.

use blindfold_ir::{Graph, NodeId, Op};
use blindfold_ring::{RingElement, RingTensor};
use ndarray::ArrayD;

use crate::clear;
use crate::error::{ProtocolError, Result};
use crate::executor::last_uses;

pub use blindfold_ir::{Inputs, Outputs};

/// Looks up `party`'s input `name` and checks its shape.
pub fn input<'a>(inputs: &'a Inputs, party: &str, name: &str, shape: &[usize]) -> Result<&'a ArrayD<f64>> {
    let array = inputs
        .get(party)
        .and_then(|own| own.get(name))
        .ok_or_else(|| ProtocolError::MissingInput { party: party.into(), name: name.into() })?;
    if array.shape() != shape {
        return Err(ProtocolError::InputShape {
            party: party.into(),
            name: name.into(),
            expected: shape.to_vec(),
            got: array.shape().to_vec(),
        });
    }
    Ok(array)
}

/// Runs `graph` in fixed point over ring `R`, in the clear.
pub fn run_fixed_point<R: RingElement>(graph: &Graph, inputs: &Inputs) -> Result<Outputs> {
    let last_use = last_uses(graph);
    let mut values: Vec<Option<RingTensor<R>>> = vec![None; graph.nodes().len()];
    let mut outputs = Outputs::new();
    for (index, node) in graph.nodes().iter().enumerate() {
        let id = NodeId(index as u32);
        let value = match &node.op {
            Op::Input { party, name } => {
                let array = input(inputs, party, name, &node.ty.shape)?;
                let flat: Vec<f64> = array.iter().copied().collect();
                clear::encode(&clear::describe(graph, id), node.ty.dtype, &node.ty.shape, &flat)?
            }
            Op::Output { source, party, name } => {
                let value = values[source.index()].as_ref().expect("operands precede");
                let decoded = clear::decode(node.ty.dtype, value);
                outputs.entry(party.clone()).or_default().insert(name.clone(), decoded);
                value.clone()
            }
            op => {
                let operands: Vec<&RingTensor<R>> = op
                    .operands()
                    .iter()
                    .map(|operand| values[operand.index()].as_ref().expect("operands precede"))
                    .collect();
                clear::evaluate(graph, id, &operands)?
            }
        };
        values[index] = Some(value);
        for operand in node.op.operands().into_iter().chain([id]) {
            if last_use[operand.index()] == index {
                values[operand.index()] = None;
            }
        }
    }
    Ok(outputs)
}
