//! The parties' names, once: the compute servers and the crypto producer
//! that the protocols expect, and the input and output parties that jobs
//! name by default. Party names are also certificate names on the network.

/// Compute server 0.
pub const SERVER0: &str = "server0";
/// Compute server 1.
pub const SERVER1: &str = "server1";
/// Compute server 2 (the replicated protocol's third server).
pub const SERVER2: &str = "server2";
/// Pond's two compute servers.
pub const SERVERS: [&str; 2] = [SERVER0, SERVER1];
/// Pond's crypto producer (it deals correlated randomness, sees no data).
pub const PRODUCER: &str = "producer";
/// The party that holds a model's weights, and receives a trained model.
pub const MODEL_OWNER: &str = "model-owner";
/// The party that holds the inputs of a prediction and receives its outputs.
pub const PREDICTION_CLIENT: &str = "prediction-client";
