//! `blindfold bench paillier`: the operations at 2048 and 3072 bits on one
//! core (as python-paillier's figures in BENCHMARKS.md are), the encrypted
//! 100-feature dot product on one core and on all, and each operation beside
//! the bare modular exponentiations it is made of (`extra.modexp_ratio`).

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
        // The bare exponentiations: r^n mod n² (public encryption); a
        // constant-time (bits/2)-bit exponent modulo a (bits)-bit modulus
        // (half a CRT decryption); and a (bits)-bit one (half a CRT encryption).
        let n_squared = public.modulus_squared().clone();
        let r = public.modulus().clone() - 12345u32;
        let public_modexp = measure(&mut || drop(r.clone().pow_mod(public.modulus(), &n_squared).unwrap()));
        let half_modulus = public.modulus().clone();
        let half_exponent = Integer::from(public.modulus() >> (bits / 2)) | Integer::from(1);
        let half = measure(&mut || drop(r.clone().secure_pow_mod(&half_exponent, &half_modulus)));
        let crt_half = measure(&mut || drop(r.clone().secure_pow_mod(&half_modulus, &half_modulus)));
        let encrypt = measure(&mut || drop(public.encrypt(&m).unwrap()));
        records.push(
            record("encrypt", bits, encrypt, 1)
                .with("modexp_ratio", ratio(encrypt.median_s, public_modexp.median_s)),
        );
        let owner = measure(&mut || drop(key.encrypt(&m).unwrap()));
        records.push(
            record("encrypt-key-owner-crt", bits, owner, 1)
                .with("modexp_ratio", ratio(owner.median_s, 2.0 * crt_half.median_s)),
        );
        records.push(record(
            "encrypt-precomputed-randomness",
            bits,
            measure(&mut || drop(public.encrypt_with(&m, &randomizer).unwrap())),
            1,
        ));
        let decrypt = measure(&mut || drop(key.decrypt(&c)));
        records.push(
            record("decrypt", bits, decrypt, 1)
                .with("modexp_ratio", ratio(decrypt.median_s, 2.0 * half.median_s)),
        );
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
        let plaintext = time(runs, || {
            std::hint::black_box(features.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>());
        });
        let one_core = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
        let dot = || drop(encrypted.matmul_plain(&public, format, &weights, 1, Some(&[0.5])).unwrap());
        for threads in [1, rayon::current_num_threads()] {
            let timing = if threads == 1 { one_core.install(|| time(runs, dot)) } else { time(runs, dot) };
            let mut dot_record = record("dot-product-100", bits, timing, threads);
            dot_record.name = format!("dot-product-100-{bits}-t{threads}");
            dot_record.plaintext_median_s = Some(plaintext.median_s);
            records.push(dot_record);
        }
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

/// a / b to three decimals.
fn ratio(a: f64, b: f64) -> f64 {
    (a / b * 1000.0).round() / 1000.0
}
