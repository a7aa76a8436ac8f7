//! Graph rewrites before conversion: BatchNormalization folded into the
//! layer before it, max-pooling moved before ReLU.

use std::collections::HashMap;

use ndarray::{ArrayD, Axis, IxDyn};

use crate::attributes::{float_attribute, int_attribute, node_name};
use crate::error::{OnnxError, Result};
use crate::proto::NodeProto;

pub(crate) fn count_consumers(nodes: &[NodeProto]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for node in nodes {
        for input in &node.input {
            *counts.entry(input.clone()).or_insert(0) += 1;
        }
    }
    counts
}

/// Folds each BatchNormalization into the Conv or Gemm that feeds it alone
/// (others are converted where they stand, `arithmetic::batch_normalization`):
/// with s = γ/√(var + ε), the layer's weights are scaled by s per output
/// channel and its bias becomes (b − mean)·s + β.
pub(crate) fn fold_batch_norms(
    nodes: &mut Vec<NodeProto>,
    constants: &mut HashMap<String, ArrayD<f64>>,
    outputs: &[String],
) -> Result<()> {
    let consumers = count_consumers(nodes);
    let mut index = 0;
    while index < nodes.len() {
        let bn = nodes[index].clone();
        if bn.op_type.as_deref() != Some("BatchNormalization") {
            index += 1;
            continue;
        }
        let source = bn.input.first().cloned().unwrap_or_default();
        let producer = nodes.iter().position(|n| n.output.first() == Some(&source));
        let parameters: Option<Vec<ArrayD<f64>>> =
            (1..5).map(|i| bn.input.get(i).and_then(|n| constants.get(n)).cloned()).collect();
        let layer_weights_known = |layer: &NodeProto| {
            layer.input.get(1).is_some_and(|w| constants.contains_key(w))
                && layer.input.get(2).is_none_or(|b| b.is_empty() || constants.contains_key(b))
        };
        let (Some(producer), Some(parameters)) = (producer, parameters) else {
            index += 1;
            continue;
        };
        let layer = nodes[producer].clone();
        let kind = layer.op_type.clone().unwrap_or_default();
        if !(kind == "Conv" || kind == "Gemm")
            || consumers.get(&source) != Some(&1)
            || outputs.contains(&source)
            || bn.output.len() > 1
            || !layer_weights_known(&layer)
            || (kind == "Gemm" && int_attribute(&layer, "transA", 0) != 0)
        {
            index += 1;
            continue;
        }
        let unfoldable = || OnnxError::Unsupported {
            node: node_name(&bn),
            op: "BatchNormalization".into(),
            what: "its parameters do not match the layer before it".into(),
        };
        let [gamma, beta, mean, variance] =
            <[ArrayD<f64>; 4]>::try_from(parameters).expect("four parameters");
        // ONNX: scale, B, mean and var are each [C], one per channel.
        let channels = gamma.len();
        for (name, parameter) in [("scale", &gamma), ("B", &beta), ("mean", &mean), ("var", &variance)] {
            if parameter.ndim() != 1 || parameter.len() != channels {
                return Err(OnnxError::Unsupported {
                    node: node_name(&bn),
                    op: "BatchNormalization".into(),
                    what: format!(
                        "its {name} has shape {:?}; scale, B, mean and var must each be [C] (C = {channels})",
                        parameter.shape()
                    ),
                });
            }
        }
        if variance.iter().any(|&v| !(v >= 0.0 && v.is_finite())) {
            return Err(OnnxError::Unsupported {
                node: node_name(&bn),
                op: "BatchNormalization".into(),
                what: "its var has a negative or non-finite value".into(),
            });
        }
        let epsilon = float_attribute(&bn, "epsilon", 1e-5) as f64;
        let scale: Vec<f64> =
            gamma.iter().zip(variance.iter()).map(|(g, v)| g / (v + epsilon).sqrt()).collect();
        let weight_name = layer.input.get(1).cloned().ok_or_else(unfoldable)?;
        let mut weight = constants.get(&weight_name).cloned().ok_or_else(unfoldable)?;
        // The axis of the weight that indexes output channels.
        let channel_axis = match kind.as_str() {
            "Conv" => 0,
            _ if int_attribute(&layer, "transB", 0) == 1 => 0,
            _ => 1,
        };
        if weight.shape().get(channel_axis) != Some(&scale.len()) {
            return Err(unfoldable());
        }
        for (channel, mut lane) in weight.axis_iter_mut(Axis(channel_axis)).enumerate() {
            lane.mapv_inplace(|w| w * scale[channel]);
        }
        let bias_name = layer.input.get(2).cloned().filter(|n| !n.is_empty());
        let bias: Vec<f64> = match &bias_name {
            Some(name) => constants.get(name).ok_or_else(unfoldable)?.iter().copied().collect(),
            None => vec![0.0; scale.len()],
        };
        if bias.len() != scale.len() {
            return Err(unfoldable());
        }
        let folded_bias: Vec<f64> =
            (0..scale.len()).map(|c| (bias[c] - mean[c]) * scale[c] + beta[c]).collect();
        let new_weight = format!("{weight_name}/folded-{}", node_name(&bn));
        let new_bias = format!("{new_weight}/bias");
        constants.insert(new_weight.clone(), weight);
        constants.insert(
            new_bias.clone(),
            ArrayD::from_shape_vec(IxDyn(&[scale.len()]), folded_bias).expect("length"),
        );
        let mut folded = layer;
        folded.input = vec![folded.input[0].clone(), new_weight, new_bias];
        folded.output = vec![bn.output.first().cloned().unwrap_or_default()];
        nodes[producer] = folded;
        nodes.remove(index);
    }
    Ok(())
}

/// Rewrites MaxPool(Relu(x)) as Relu(MaxPool(x)) where the ReLU's output
/// has no other reader: the same values (ReLU is monotone, and padding never
/// wins either way), with a quarter of the comparisons for 2x2 pools.
pub(crate) fn pool_before_relu(nodes: &mut Vec<NodeProto>, outputs: &[String]) {
    let consumers = count_consumers(nodes);
    let mut index = 0;
    while index < nodes.len() {
        let relu = &nodes[index];
        let rectified = relu.output.first().cloned().unwrap_or_default();
        let pool = (relu.op_type.as_deref() == Some("Relu")
            && relu.input.len() == 1
            && consumers.get(&rectified) == Some(&1)
            && !outputs.contains(&rectified))
        .then(|| {
            nodes.iter().position(|n| {
                n.op_type.as_deref() == Some("MaxPool")
                    && n.input.first() == Some(&rectified)
                    && n.output.len() == 1
            })
        })
        .flatten();
        let Some(pool) = pool.filter(|&pool| pool > index) else {
            index += 1;
            continue;
        };
        let mut relu = nodes.remove(index);
        let pool = pool - 1;
        let pooled = format!("{rectified}/pooled-first");
        let pool_node = &mut nodes[pool];
        pool_node.input[0] = relu.input[0].clone();
        relu.output = vec![std::mem::replace(&mut pool_node.output[0], pooled.clone())];
        relu.input = vec![pooled];
        nodes.insert(pool + 1, relu);
    }
}
