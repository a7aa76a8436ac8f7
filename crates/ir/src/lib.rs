//! The IR: the dataflow graph that every party of a blindfold session runs.
//!
//! Every value has a shape, a dtype ([`DType`]: fixed-point real or ring
//! integer) and a [`Visibility`] (public, private to a named party, or shared
//! among the compute parties). Build graphs with [`GraphBuilder`]:
//!
//! ```
//! use blindfold_ir::GraphBuilder;
//! let mut g = GraphBuilder::new();
//! let w = g.private_input("model-owner", "weights", &[784, 10])?;
//! let x = g.private_input("prediction-client", "image", &[1, 784])?;
//! let logits = g.matmul(x, w)?; // both are shared first, then truncated
//! g.output("prediction-client", "logits", logits)?;
//! let graph = g.finish();
//! assert_eq!(graph.parties(), ["model-owner", "prediction-client"]);
//! # Ok::<(), blindfold_ir::GraphError>(())
//! ```

mod approximations;
mod builder;
mod error;
mod gradient;
mod graph;
mod inference;
mod op;
pub mod parties;
mod sigmoid;
mod types;
mod values;
mod window_gradients;

pub use approximations::EXP_DOMAIN;
pub use builder::{
    Conv2dGeometry, GraphBuilder, SIGMOID_CLAMP, SIGMOID_CLAMPED_COEFFICIENTS, SIGMOID_COEFFICIENTS_OVER_8,
    Tensor,
};
pub use error::{GraphError, Result};
pub use graph::{Graph, Node};
pub use inference::matmul_shape;
pub use op::{NodeId, Op, ShareAction};
pub use sigmoid::{SigmoidMethod, UnknownSigmoid};
pub use types::{DType, MAX_ELEMENTS, Ring, UnknownRing, ValueType, Visibility};
pub use values::{Inputs, Outputs};

#[cfg(test)]
mod tests;
