//! ONNX models into the blindfold IR: the model's weights become the model
//! owner's private inputs, each graph input its owner's (the first the
//! prediction client's), and every output is revealed to the receiver
//! alone.
//!
//! Ops (opsets 1 to 21, ai.onnx and ai.onnx.ml): the list, with each op's
//! attributes, limits and precision, is docs/onnx-support.md, checked by
//! ONNX's own node tests (`tests/conformance.rs`). Anything else is an error
//! naming the node, the op and what is missing. Parsing is prost's, from
//! ONNX's own onnx.proto.
//! [`dense_model`] writes the dense models that `blindfold train` makes.

mod attributes;
mod error;
mod export;
mod import;
pub mod linear;
pub mod proto;
mod tensor;

pub use blindfold_ir::SigmoidMethod;
pub use error::{OnnxError, Result};
pub use export::{OutputActivation, dense_model};
pub use import::{
    Bindings, ClientStep, Forward, ImportOptions, ImportedModel, ModelInput, ModelOutput, forward, import,
    input_row_shape, parameters, with_parameters,
};
pub use linear::{LinearPipeline, linear_model};
pub use tensor::to_array;
