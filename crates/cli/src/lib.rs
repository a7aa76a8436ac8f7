//! The `blindfold` command's library side: the benchmark suites behind
//! `blindfold bench`, shared with the criterion benchmarks in `benches/`.

pub mod bench;
pub mod bench_kernels;
pub mod bench_pond;
