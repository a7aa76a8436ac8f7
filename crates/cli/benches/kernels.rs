//! Criterion benchmarks of the ring kernels beside their f32 twins
//! (`cargo bench -p blindfold-cli --bench kernels`). `blindfold bench kernels` reports the
//! same workloads as JSON records.

use blindfold_cli::bench::kernels::f32_matmul;
use blindfold_ring::kernels::{matmul_u64, matmul_u128};
use blindfold_ring::{Conv2dGeometry, Prg, RingTensor, Seed};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn filler(count: usize) -> Vec<u64> {
    (0..count as u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect()
}

fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    for (m, k, n) in [(128, 784, 128), (256, 256, 256)] {
        group.throughput(Throughput::Elements((m * k * n) as u64));
        let label = format!("{m}x{k}x{n}");
        let (a, b) = (filler(m * k), filler(k * n));
        let mut out = vec![0u64; m * n];
        group.bench_function(BenchmarkId::new("u64", &label), |bench| {
            bench.iter(|| matmul_u64(m, k, n, &a, &b, &mut out))
        });
        let (a, b): (Vec<u128>, Vec<u128>) =
            (a.iter().map(|&x| x as u128 * 3).collect(), b.iter().map(|&x| x as u128 * 5).collect());
        let mut out = vec![0u128; m * n];
        group.bench_function(BenchmarkId::new("u128", &label), |bench| {
            bench.iter(|| matmul_u128(m, k, n, &a, &b, &mut out))
        });
        let (a, b): (Vec<f32>, Vec<f32>) =
            (a.iter().map(|&x| (x % 97) as f32).collect(), b.iter().map(|&x| (x % 89) as f32).collect());
        let mut out = vec![0f32; m * n];
        group.bench_function(BenchmarkId::new("f32-gemm", &label), |bench| {
            bench.iter(|| f32_matmul(2, m, k, n, &a, &b, &mut out))
        });
    }
    group.finish();
}

fn conv2d(c: &mut Criterion) {
    let input = RingTensor::from_vec(&[100, 16, 12, 12], filler(100 * 16 * 144)).unwrap();
    let filters = RingTensor::from_vec(&[16, 16, 5, 5], filler(16 * 16 * 25)).unwrap();
    c.bench_function("conv2d/u64/netC-conv2-batch100", |bench| {
        bench.iter(|| input.conv2d(&filters, Conv2dGeometry::default()).unwrap())
    });
}

fn prg(c: &mut Criterion) {
    let mut group = c.benchmark_group("prg");
    let elements = 1 << 20;
    group.throughput(Throughput::Bytes((elements * 8) as u64));
    let seed = Seed::from_bytes([7; 16]);
    let mut out = vec![0u64; elements];
    group.bench_function("aes-ctr-u64", |bench| bench.iter(|| Prg::new(&seed).fill(&mut out)));
    group.finish();
}

criterion_group!(benches, matmul, conv2d, prg);
criterion_main!(benches);
