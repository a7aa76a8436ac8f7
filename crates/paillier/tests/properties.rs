//! Homomorphic properties on random keys of several sizes, signed fixed-point
//! dot products against the plaintext, the wire formats, and the
//! client–server protocol.

use std::sync::OnceLock;

use blindfold_paillier::{
    Client, EncryptedMatrix, FixedPoint, LinearModel, ModelKind, PrivateKey, PublicKey, Server,
};
use proptest::prelude::*;
use rug::Integer;

/// One key per size, generated once (keygen dominates test time).
fn key(bits: u32) -> &'static PrivateKey {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    let keys = KEYS
        .get_or_init(|| [256, 512, 1024, 2048].iter().map(|&b| PrivateKey::generate(b).unwrap()).collect());
    keys.iter().find(|k| k.public_key().bits() == bits).expect("a generated size")
}

const SIZES: [u32; 3] = [256, 512, 1024];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn sums_and_plaintext_products_decrypt_correctly(a: u64, b: u64, k: i64, size in 0usize..3) {
        let key = key(SIZES[size]);
        let public = key.public_key();
        let n = public.modulus().clone();
        let (ea, eb) = (public.encrypt(&Integer::from(a)).unwrap(), key.encrypt(&Integer::from(b)).unwrap());
        prop_assert_eq!(key.decrypt(&public.add(&ea, &eb)), Integer::from(a) + b);
        let expected = (Integer::from(a) * k % &n + &n) % &n;
        prop_assert_eq!(key.decrypt(&public.mul_plain(&ea, &Integer::from(k))), expected);
    }

    #[test]
    fn fixed_point_dot_products_match_the_plaintext(
        x in proptest::collection::vec(-1000.0f64..1000.0, 1..12),
        seed in 0u64..1000,
    ) {
        let key = key(1024);
        let format = FixedPoint::default();
        let weights: Vec<f64> = (0..x.len()).map(|i| ((i as u64 * 7919 + seed) % 2001) as f64 / 100.0 - 10.0).collect();
        let encrypted = EncryptedMatrix::encrypt(key, format, &x, 1, x.len()).unwrap();
        let result = encrypted.matmul_plain(key.public_key(), format, &weights, 1, Some(&[0.5])).unwrap();
        let decrypted = result.decrypt(key)[0];
        let exact: f64 = x.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>() + 0.5;
        // Each of the d encodings is off by at most 2^-33 on both sides.
        let bound = x.len() as f64 * (1000.0 + 10.0) * 2f64.powi(-32) + 1e-9 * exact.abs();
        prop_assert!((decrypted - exact).abs() <= bound, "{} vs {}", decrypted, exact);
    }
}

#[test]
fn a_2048_bit_key_round_trips() {
    let key = key(2048);
    assert_eq!(key.public_key().bits(), 2048);
    let c = key.public_key().encrypt(&Integer::from(42)).unwrap();
    assert_eq!(key.decrypt(&c), 42);
}

#[test]
fn keys_and_matrices_survive_the_wire_and_bad_bytes_are_refused() {
    let other = key(256).public_key();
    let key = key(512);
    let public = key.public_key();
    assert_eq!(&PublicKey::from_bytes(&public.to_bytes()).unwrap(), public);
    assert_eq!(&PrivateKey::from_bytes(&key.to_bytes()).unwrap(), key);
    let matrix = EncryptedMatrix::encrypt(key, FixedPoint::default(), &[1.5, -2.0, 3.25, 0.0], 2, 2).unwrap();
    let bytes = matrix.to_bytes(public);
    assert_eq!(EncryptedMatrix::from_bytes(public, &bytes).unwrap(), matrix);
    assert!(EncryptedMatrix::from_bytes(public, &bytes[..bytes.len() - 1]).is_err());
    // A ciphertext replaced by zero (outside Z*_{n²}) is refused.
    let mut zeroed = matrix.clone();
    zeroed.values[0] = public.check(Integer::from(1)).unwrap();
    let mut bytes = zeroed.to_bytes(public);
    let width = public.ciphertext_bytes();
    let start = bytes.len() - 4 * width;
    bytes[start + width - 1] = 0;
    assert!(EncryptedMatrix::from_bytes(public, &bytes).is_err());
    // Under another key.
    assert!(EncryptedMatrix::from_bytes(other, &matrix.to_bytes(public)).is_err());
    assert!(PrivateKey::from_bytes(b"not a key").is_err());
    assert!(format!("{key:?}").contains("redacted"));
}

#[test]
fn overflow_is_refused_before_computing() {
    let key = key(256);
    let format = FixedPoint::default();
    assert!(format.check_dot_product(key.public_key(), 10, 1.0, 1.0, 1.0).is_ok());
    assert!(format.check_dot_product(key.public_key(), 1000, 1e30, 1e30, 1.0).is_err());
}

#[test]
fn the_protocol_predicts_what_the_plaintext_model_does() {
    let model = LinearModel::from_json(
        r#"{"kind": "logistic", "weights": [[0.5, -1.0], [-0.25, 2.0], [1.0, 0.0]], "bias": [0.1, -0.2]}"#,
    )
    .unwrap();
    let x = [1.0, 2.0, -3.0, 0.5, -0.5, 4.0];
    let client = Client::new(key(1024).clone(), FixedPoint::default());
    let mut server = Server::new(model.clone(), FixedPoint::default());
    server.prepare(key(1024).public_key(), 4).unwrap();
    let request = client.request(&x, 2, 3).unwrap();
    let response = server.respond(&request).unwrap();
    let predictions = client.read(&response).unwrap();
    for (got, want) in predictions.iter().zip(model.predict(&x)) {
        assert!((got - want).abs() < 1e-8, "{got} vs {want}");
    }
    assert_eq!(model.kind, ModelKind::Logistic);
    // A request with the wrong number of features is refused.
    let bad = client.request(&x, 3, 2).unwrap();
    assert!(server.respond(&bad).unwrap_err().to_string().contains("features"));
    assert!(server.respond(b"garbage").is_err());
    assert!(
        LinearModel::from_json(r#"{"kind": "linear", "weights": [[1.0], [2.0, 3.0]], "bias": [0.0]}"#)
            .is_err()
    );
}
