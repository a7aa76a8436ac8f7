//! The two secure sigmoids by name: one vocabulary for imported models,
//! training, the command line and Python.

use crate::builder::{GraphBuilder, Tensor};
use crate::error::Result;

/// How a graph computes the logistic sigmoid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SigmoidMethod {
    /// Clamped to [−6, 6] by comparisons, then a degree-11 polynomial:
    /// error ≤ 0.003 for every input, 6 rounds
    /// ([`GraphBuilder::sigmoid_clamped`]).
    #[default]
    Clamped,
    /// The degree-7 polynomial alone: error ≤ 0.032 on [−8, 8] and
    /// unbounded outside, 3 rounds, no comparison ([`GraphBuilder::sigmoid`]).
    Polynomial,
}

impl SigmoidMethod {
    /// Both, in the order they are offered.
    pub const ALL: [SigmoidMethod; 2] = [SigmoidMethod::Clamped, SigmoidMethod::Polynomial];

    /// The method's one name: "clamped" or "polynomial".
    pub fn name(self) -> &'static str {
        match self {
            SigmoidMethod::Clamped => "clamped",
            SigmoidMethod::Polynomial => "polynomial",
        }
    }
}

/// A sigmoid name that is not one of [`SigmoidMethod::ALL`]'s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("sigmoid '{0}': choose clamped or polynomial")]
pub struct UnknownSigmoid(pub String);

impl std::str::FromStr for SigmoidMethod {
    type Err = UnknownSigmoid;

    fn from_str(name: &str) -> std::result::Result<SigmoidMethod, UnknownSigmoid> {
        SigmoidMethod::ALL.into_iter().find(|m| m.name() == name).ok_or_else(|| UnknownSigmoid(name.into()))
    }
}

impl GraphBuilder {
    /// The sigmoid of `tensor` by `method`.
    pub fn sigmoid_by(&mut self, method: SigmoidMethod, tensor: Tensor) -> Result<Tensor> {
        match method {
            SigmoidMethod::Clamped => self.sigmoid_clamped(tensor),
            SigmoidMethod::Polynomial => self.sigmoid(tensor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for method in SigmoidMethod::ALL {
            assert_eq!(method.name().parse(), Ok(method));
        }
        assert!("tanh".parse::<SigmoidMethod>().unwrap_err().to_string().contains("clamped or polynomial"));
    }
}
