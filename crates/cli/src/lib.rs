//! The `blindfold` command's library side: the benchmark suites behind
//! `blindfold bench` (shared with the criterion benchmarks in `benches/`),
//! input files, and encrypted prediction.

pub mod allocator;
pub mod bench;
pub mod bench_inference;
pub mod bench_kernels;
pub mod bench_network;
pub mod bench_paillier;
pub mod bench_pond;
pub mod bench_training;
pub mod input;
pub mod local_workers;
pub mod networked;
pub mod predict_paillier;
pub mod predict_pond;
pub mod train;
