//! Models and workloads built on the builder: the seed's private prediction
//! network, the private matmul benchmark, [`demo`] (the seed's program),
//! private training ([`training`]; any ONNX architecture:
//! [`architecture_training`]) with privately pooled standardisation
//! ([`standardize`]), and the metrics that judge a model ([`metrics`]).

pub mod architecture_training;
pub mod demo;
pub mod dp_sgd;
pub mod metrics;
pub mod privacy;
pub mod private_matmul;
pub mod seed_network;
pub mod standardize;
pub mod training;
