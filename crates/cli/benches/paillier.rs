//! Criterion benchmarks of Paillier at 2048 bits (`cargo bench -p
//! blindfold-cli --bench paillier`); `blindfold bench paillier` reports the
//! same operations, at 3072 bits too and beside python-paillier, as JSON
//! records.

use blindfold_paillier::{EncryptedMatrix, FixedPoint, PrivateKey, WeightFormat};
use criterion::{Criterion, criterion_group, criterion_main};

fn paillier(c: &mut Criterion) {
    let key = PrivateKey::generate(2048).unwrap();
    let public = key.public_key().clone();
    let m = public.plaintext(123_456_789);
    let a = key.encrypt(&m).unwrap();
    let b = key.encrypt(&public.plaintext(42)).unwrap();
    let mut group = c.benchmark_group(format!("paillier-2048-{}", public.kernel().name()));
    group.sample_size(20);
    group.bench_function("encrypt", |bench| bench.iter(|| public.encrypt(&m).unwrap()));
    group.bench_function("encrypt-key-owner-crt", |bench| bench.iter(|| key.encrypt(&m).unwrap()));
    group.bench_function("decrypt", |bench| bench.iter(|| key.decrypt(&a)));
    group.bench_function("add", |bench| bench.iter(|| public.add(&a, &b)));
    group.bench_function("multiply-plaintext-40-bit", |bench| {
        bench.iter(|| public.mul_plain(&a, 1 << 39, 41))
    });
    let features: Vec<f64> = (0..100).map(|i| (i as f64 - 50.0) / 10.0).collect();
    let weights: Vec<f64> = (0..100).map(|i| ((i * 37) % 19) as f64 / 10.0 - 0.9).collect();
    let encrypted = EncryptedMatrix::encrypt(&key, FixedPoint::default(), &features, 1, 100).unwrap();
    group.bench_function("dot-product-100", |bench| {
        bench.iter(|| {
            encrypted.matmul_plain(&public, WeightFormat::default(), &weights, 1, Some(&[0.5])).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, paillier);
criterion_main!(benches);
