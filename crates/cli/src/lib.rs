//! The `blindfold` command's library side: the benchmark suites behind
//! `blindfold bench`, shared with the criterion benchmarks in `benches/`.
//! Jobs live in `blindfold-jobs`; the binary only parses, calls and prints.

pub mod bench;
