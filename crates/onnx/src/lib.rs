//! ONNX models into the blindfold IR: the model's weights become the model
//! owner's private inputs, the model's input the prediction client's, and
//! its output is revealed to the client alone.
//!
//! Ops (opset 11 to 21): Gemm, MatMul, Add, Sub, Mul, Conv (group 1, any
//! stride and padding), MaxPool, AveragePool, GlobalAveragePool, Relu,
//! Sigmoid (the degree-7 polynomial), Softmax (final op only: the client
//! gets the logits, whose argmax is the class), Flatten, Reshape, Transpose,
//! Identity, Dropout, Constant, and BatchNormalization folded into the Conv
//! or Gemm before it. Anything else is an error naming the node, the op and
//! what is missing. Parsing is prost's, from ONNX's own onnx.proto.
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
pub use import::{ClientStep, ImportOptions, ImportedModel, ModelInput, ModelOutput, import};
pub use linear::{LinearPipeline, linear_model};
pub use tensor::to_array;
