//! `blindfold`: private machine learning from the command line.

mod bench;
mod bench_kernels;

use clap::{Parser, Subcommand, ValueEnum};

/// Machine learning on data that nobody gets to see: secret sharing (Pond)
/// and homomorphic encryption, in one Rust program that every party runs.
#[derive(Debug, Parser)]
#[command(name = "blindfold", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure a benchmark suite on this machine (figures beside their
    /// plaintext twin from the same run).
    Bench {
        /// Which suite.
        suite: Suite,
        /// Print one JSON array (format in BENCHMARKS.md) instead of a table.
        #[arg(long)]
        json: bool,
        /// Timed runs per workload (the median, min and max are reported).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
        runs: u64,
        /// Skip the slowest workloads.
        #[arg(long)]
        quick: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Suite {
    /// Ring matmul (u64, u128) and conv2d against f32 gemm; PRG throughput.
    Kernels,
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Bench { suite, json, runs, quick } => {
            let records = match suite {
                Suite::Kernels => bench_kernels::run(runs as usize, quick),
            };
            bench::print(&records, json);
        }
    }
}
