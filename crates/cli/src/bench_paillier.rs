//! `blindfold bench paillier`: the operations at 2048 and 3072 bits on one
//! core (as python-paillier's figures in BENCHMARKS.md are), and the
//! encrypted 100-feature dot product on all cores.

use blindfold_paillier::{EncryptedMatrix, FixedPoint, PrivateKey};
use rug::Integer;

use crate::bench::{Record, time};

pub fn run(runs: usize, quick: bool) -> Result<Vec<Record>, Box<dyn std::error::Error>> {
    let mut records = Vec::new();
    let sizes: &[u32] = if quick { &[2048] } else { &[2048, 3072] };
    for &bits in sizes {
        let keygen = time(runs.min(3), || {
            PrivateKey::generate(bits).expect("keygen");
        });
        records.push(record("keygen", bits, keygen, 1));
        let key = PrivateKey::generate(bits)?;
        let public = key.public_key().clone();
        let m = Integer::from(123_456_789u64);
        let c = key.encrypt(&m)?;
        let d = key.encrypt(&Integer::from(42))?;
        let weight = Integer::from(1u64 << 40);
        let randomizer = public.randomizer()?;
        // Single-ciphertext operations run on the calling thread.
        let measure = |f: &mut dyn FnMut()| time(runs, f);
        records.push(record("encrypt", bits, measure(&mut || drop(public.encrypt(&m).unwrap())), 1));
        records.push(record(
            "encrypt-key-owner-crt",
            bits,
            measure(&mut || drop(key.encrypt(&m).unwrap())),
            1,
        ));
        records.push(record(
            "encrypt-precomputed-randomness",
            bits,
            measure(&mut || drop(public.encrypt_with(&m, &randomizer).unwrap())),
            1,
        ));
        records.push(record("decrypt", bits, measure(&mut || drop(key.decrypt(&c))), 1));
        records.push(record("add", bits, measure(&mut || drop(public.add(&c, &d))), 1));
        records.push(record(
            "multiply-plaintext-40-bit",
            bits,
            measure(&mut || drop(public.mul_plain(&c, &weight))),
            1,
        ));
        // The encrypted 100-feature dot product, as a server computes it.
        let format = FixedPoint::default();
        let features: Vec<f64> = (0..100).map(|i| (i as f64 - 50.0) / 10.0).collect();
        let weights: Vec<f64> = (0..100).map(|i| ((i * 37) % 19) as f64 / 10.0 - 0.9).collect();
        let encrypted = EncryptedMatrix::encrypt(&key, format, &features, 1, 100)?;
        let threads = rayon::current_num_threads();
        let dot =
            time(runs, || drop(encrypted.matmul_plain(&public, format, &weights, 1, Some(&[0.5])).unwrap()));
        let plaintext = time(runs, || {
            std::hint::black_box(features.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>());
        });
        let mut dot_record = record("dot-product-100", bits, dot, threads);
        dot_record.plaintext_median_s = Some(plaintext.median_s);
        records.push(dot_record);
    }
    Ok(records)
}

fn record(name: &str, bits: u32, timing: crate::bench::Timing, threads: usize) -> Record {
    let mut record = Record::new("paillier", format!("{name}-{bits}"), timing)
        .with("ops_per_s", (1.0 / timing.median_s).round())
        .with("key_bits", bits)
        .with("threads", threads);
    record.protocol = Some("paillier".into());
    record
}
