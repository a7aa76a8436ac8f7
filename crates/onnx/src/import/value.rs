//! What an ONNX value is while a model is converted, and the finishing
//! steps a receiver applies to an output in the clear.

use blindfold_ir::Tensor;
use ndarray::{ArrayD, Axis};

/// An ONNX value during conversion.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// A value of the graph being built.
    Tensor(Tensor),
    /// An initializer: the model owner's private data, held by the importer
    /// until an op needs it as a graph value (then a private input of the
    /// owner).
    Weight(ArrayD<f64>),
    /// Public structure: a Constant node's value, a shape, or what the
    /// importer folded from them (every party knows it).
    Public(ArrayD<f64>),
    /// `tensor` followed by `steps` that are monotone along their axis
    /// (softmax, logistic, a normalisation of positive values): if the value
    /// reaches an output unchanged, the receiver applies the steps to the
    /// revealed tensor in the clear (exact, and no private exponential); an
    /// ArgMax reads the tensor itself; any other use computes the steps
    /// privately.
    Deferred { tensor: Tensor, steps: Vec<ClientStep> },
    /// ArgMax's (or ArgMin's) result, not computed yet, so that an
    /// ArrayFeatureExtractor of public class labels can carry the labels
    /// through the comparison tournament instead of the indices.
    /// `labels` are the public labels carried (the indices when `None`).
    ArgMax { scores: Tensor, axis: usize, keep_dims: bool, labels: Option<Vec<f64>> },
}

/// A finishing step an output's receiver applies in the clear.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClientStep {
    /// Softmax along `axis`.
    Softmax { axis: usize },
    /// ONNX LinearClassifier's SOFTMAX_ZERO: softmax along `axis` over the
    /// nonzero scores, zeros kept.
    SoftmaxZero { axis: usize },
    /// LogSoftmax along `axis`.
    LogSoftmax { axis: usize },
    /// The logistic sigmoid of every element.
    Logistic,
    /// Division by the L1 norm along `axis`.
    NormalizeL1 { axis: usize },
    /// Division by the L2 norm along `axis`.
    NormalizeL2 { axis: usize },
    /// Division by the largest magnitude along `axis`.
    NormalizeMax { axis: usize },
}

impl ClientStep {
    /// The step's name in records and errors.
    pub fn name(&self) -> &'static str {
        match self {
            ClientStep::Softmax { .. } => "softmax",
            ClientStep::SoftmaxZero { .. } => "softmax-zero",
            ClientStep::LogSoftmax { .. } => "log-softmax",
            ClientStep::Logistic => "logistic",
            ClientStep::NormalizeL1 { .. } => "normalize-l1",
            ClientStep::NormalizeL2 { .. } => "normalize-l2",
            ClientStep::NormalizeMax { .. } => "normalize-max",
        }
    }

    /// Whether the step keeps every lane's order along its axis, so that
    /// an argmax may look through it. The normalisations keep it for the
    /// positive values the other steps make (they follow one here).
    pub fn keeps_order(&self) -> bool {
        !matches!(self, ClientStep::SoftmaxZero { .. })
    }

    /// The step applied to `values`.
    pub fn apply(&self, values: &ArrayD<f64>) -> ArrayD<f64> {
        let mut out = values.clone();
        let lanes = |axis: usize| Axis(axis.min(values.ndim().saturating_sub(1)));
        match *self {
            ClientStep::Logistic => out.mapv_inplace(|v| 1.0 / (1.0 + (-v).exp())),
            ClientStep::Softmax { axis }
            | ClientStep::LogSoftmax { axis }
            | ClientStep::SoftmaxZero { axis } => {
                let zero_kept = matches!(self, ClientStep::SoftmaxZero { .. });
                let log = matches!(self, ClientStep::LogSoftmax { .. });
                for mut lane in out.lanes_mut(lanes(axis)) {
                    let counted = |v: f64| !(zero_kept && v == 0.0);
                    let largest =
                        lane.iter().filter(|v| counted(**v)).fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                    let total: f64 = lane.iter().filter(|v| counted(**v)).map(|&v| (v - largest).exp()).sum();
                    lane.mapv_inplace(|v| match (counted(v), log) {
                        (false, _) => 0.0,
                        (true, true) => v - largest - total.ln(),
                        (true, false) => (v - largest).exp() / total,
                    });
                }
            }
            ClientStep::NormalizeL1 { axis }
            | ClientStep::NormalizeL2 { axis }
            | ClientStep::NormalizeMax { axis } => {
                for mut lane in out.lanes_mut(lanes(axis)) {
                    let size = match self {
                        ClientStep::NormalizeL1 { .. } => lane.iter().map(|v| v.abs()).sum::<f64>(),
                        ClientStep::NormalizeL2 { .. } => lane.iter().map(|v| v * v).sum::<f64>().sqrt(),
                        _ => lane.iter().fold(0.0f64, |m, v| m.max(v.abs())),
                    };
                    if size > 0.0 {
                        lane.mapv_inplace(|v| v / size);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_rows_sum_to_one_and_log_softmax_is_its_log() {
        let x = array![[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]].into_dyn();
        let p = ClientStep::Softmax { axis: 1 }.apply(&x);
        for row in p.outer_iter() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        let l = ClientStep::LogSoftmax { axis: 1 }.apply(&x);
        for (a, b) in p.iter().zip(l.iter()) {
            assert!((a.ln() - b).abs() < 1e-12);
        }
        let columns = ClientStep::Softmax { axis: 0 }.apply(&x);
        assert!((columns[[0, 2]] - 3f64.exp() / (3f64.exp() + 1.0)).abs() < 1e-12);
    }

    #[test]
    fn normalisations_divide_by_their_norm() {
        let x = array![[3.0, -4.0]].into_dyn();
        assert_eq!(ClientStep::NormalizeL1 { axis: 1 }.apply(&x), array![[3.0 / 7.0, -4.0 / 7.0]].into_dyn());
        assert_eq!(ClientStep::NormalizeL2 { axis: 1 }.apply(&x), array![[0.6, -0.8]].into_dyn());
        assert_eq!(ClientStep::NormalizeMax { axis: 1 }.apply(&x), array![[0.75, -1.0]].into_dyn());
    }
}
