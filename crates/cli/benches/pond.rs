//! Criterion benchmarks of Pond sessions beside the plaintext f32 run of the
//! same graph (`cargo bench -p blindfold-cli --bench pond`). `blindfold bench pond`
//! reports the same workloads as JSON records.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use blindfold_ml::{private_matmul, seed_network};
use blindfold_protocols::float;
use blindfold_runtime::Session;
use criterion::{Criterion, criterion_group, criterion_main};

fn seed_network(c: &mut Criterion) {
    let mut group = c.benchmark_group("seed-network");
    group.sample_size(20);
    for batch in [1, 100] {
        let graph = seed_network::graph(batch).unwrap();
        let inputs = seed_network::inputs(batch, 7);
        let session = Session::new(graph.clone());
        group.bench_function(format!("pond/batch{batch}"), |b| {
            b.iter(|| session.run(inputs.clone()).unwrap())
        });
        let prepared = float::prepare::<f32>(&graph, &inputs).unwrap();
        group.bench_function(format!("plaintext-f32/batch{batch}"), |b| {
            b.iter(|| float::evaluate::<f32>(&graph, &prepared))
        });
    }
    group.finish();
}

fn matmul(c: &mut Criterion) {
    let (graph, inputs) = private_matmul::workload(128, 784, 128).unwrap();
    let session = Session::new(graph.clone());
    let mut group = c.benchmark_group("private-matmul-128x784x128");
    group.sample_size(20);
    group.bench_function("pond", |b| b.iter(|| session.run(inputs.clone()).unwrap()));
    let prepared = float::prepare::<f32>(&graph, &inputs).unwrap();
    group.bench_function("plaintext-f32", |b| b.iter(|| float::evaluate::<f32>(&graph, &prepared)));
    group.finish();
}

criterion_group!(benches, matmul, seed_network);
criterion_main!(benches);
