//! Homomorphic properties on random keys of several sizes and on every
//! multiplication kernel this processor runs; DJN ciphertexts under the
//! standard decryption; re-randomised ciphertexts statistically uniform;
//! signed fixed-point dot products against the plaintext; the server's time
//! independent of its weights; the wire formats; the client–server
//! protocol.

use std::sync::OnceLock;

use blindfold_paillier::montgomery::multiplications_on_this_thread;
use blindfold_paillier::{
    BoxedUint, ClassLabels, Client, EncryptedMatrix, Finish, FixedPoint, LinearModel, Normalization,
    PostTransform, PrivateKey, PublicKey, Server, WeightFormat,
};
use proptest::prelude::*;

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
    fn sums_and_plaintext_products_decrypt_correctly(a: i64, b: i64, k: i32, size in 0usize..3) {
        let key = key(SIZES[size]);
        let public = key.public_key();
        let ea = public.encrypt(&public.plaintext(a as i128)).unwrap();
        let eb = key.encrypt(&public.plaintext(b as i128)).unwrap();
        let (sum, product) = (public.add(&ea, &eb), public.mul_plain(&ea, k as i128, 33).unwrap());
        prop_assert_eq!(key.decrypt(&sum), public.plaintext(a as i128 + b as i128));
        prop_assert_eq!(key.decrypt(&product), public.plaintext(a as i128 * k as i128));
    }

    #[test]
    fn fixed_point_dot_products_match_the_plaintext(
        x in proptest::collection::vec(-1000.0f64..1000.0, 1..12),
        seed in 0u64..1000,
    ) {
        let key = key(1024);
        let weights: Vec<f64> = (0..x.len()).map(|i| ((i as u64 * 7919 + seed) % 2001) as f64 / 100.0 - 10.0).collect();
        let encrypted = EncryptedMatrix::encrypt(key, FixedPoint::default(), &x, 1, x.len()).unwrap();
        let result = encrypted.matmul_plain(key.public_key(), WeightFormat::default(), &weights, 1, Some(&[0.5])).unwrap();
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
    let c = key.public_key().encrypt(&key.public_key().plaintext(42)).unwrap();
    assert_eq!(key.public_key().decode(&key.decrypt(&c), 0), 42.0);
}

/// DJN ciphertexts are ordinary Paillier ciphertexts: the textbook
/// decryption L(c^λ mod n²)·μ mod n (no CRT, no DJN constant) recovers m,
/// and so does the same ciphertext re-randomised with a textbook r^n.
#[test]
fn djn_ciphertexts_decrypt_with_the_standard_decryption() {
    use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
    use crypto_bigint::{ConcatenatingMul, NonZero, Odd, Resize};
    let key = PrivateKey::generate(512).unwrap();
    let bytes = key.to_bytes();
    // p and q from the private key's encoding (postcard: version, then
    // length-prefixed big-endian p and q).
    let decoded: (u16, Vec<u8>, Vec<u8>, Vec<u8>) = postcard::from_bytes(&bytes).unwrap();
    let p = BoxedUint::from_be_slice_vartime(&decoded.1).resize(256);
    let q = BoxedUint::from_be_slice_vartime(&decoded.2).resize(256);
    let public = key.public_key();
    let n = public.modulus().clone();
    let n_squared = Odd::new(public.modulus_squared().clone()).unwrap();
    let one = BoxedUint::one_with_precision(256);
    let lambda = p.wrapping_sub(&one).concatenating_mul(&q.wrapping_sub(&one)).resize(1024);
    let params = BoxedMontyParams::new(n_squared);
    let l = |u: BoxedUint| -> BoxedUint {
        u.wrapping_sub(BoxedUint::one_with_precision(1024))
            .div_rem(&NonZero::new((&n).resize(1024)).unwrap())
            .0
    };
    let g_lambda =
        BoxedMontyForm::new((&n).resize(1024).wrapping_add(BoxedUint::one_with_precision(1024)), &params)
            .pow(&lambda)
            .retrieve();
    let mu = l(g_lambda).resize(512).invert_odd_mod(&Odd::new(n.clone()).unwrap()).unwrap();
    let textbook = |c: &BoxedUint| -> BoxedUint {
        let u = BoxedMontyForm::new(c.resize(1024), &params).pow(&lambda).retrieve();
        let m = l(u).resize(512);
        m.mul_mod(&mu, &NonZero::new(n.clone()).unwrap())
    };
    for value in [0i128, 1, 123_456_789, -5, 1 << 100] {
        let m = public.plaintext(value);
        for c in [public.encrypt(&m).unwrap(), key.encrypt(&m).unwrap()] {
            assert_eq!(&textbook(c.value()), m.value(), "{value}");
            let fresh = public.rerandomize(&c).unwrap();
            assert_eq!(&textbook(fresh.value()), m.value());
        }
    }
}

/// Chi-square of the residues mod 251 of many ciphertexts (250 degrees of
/// freedom; 369 is exceeded with probability 10^-6).
fn chi_square_mod_251(values: &[BoxedUint]) -> f64 {
    let mut counts = [0f64; 251];
    let modulus = NonZeroLimb::new();
    for value in values {
        counts[modulus.reduce(value)] += 1.0;
    }
    let expected = values.len() as f64 / 251.0;
    counts.iter().map(|c| (c - expected).powi(2) / expected).sum()
}

struct NonZeroLimb(crypto_bigint::NonZero<crypto_bigint::Limb>);

impl NonZeroLimb {
    fn new() -> NonZeroLimb {
        NonZeroLimb(crypto_bigint::NonZero::new(crypto_bigint::Limb(251)).unwrap())
    }

    fn reduce(&self, value: &BoxedUint) -> usize {
        value.rem_limb(self.0).0 as usize
    }
}

/// A server's re-randomised replies are uniform: for a fixed plaintext,
/// their residues mod 251 pass a chi-square test, and so do those of a
/// different plaintext; the two samples differ nowhere a test can see.
#[test]
fn rerandomised_ciphertexts_are_uniform_whatever_the_plaintext() {
    let key = key(512);
    let public = key.public_key();
    let samples = |value: i128| -> Vec<BoxedUint> {
        let c = key.encrypt(&public.plaintext(value)).unwrap();
        (0..3000).map(|_| public.rerandomize(&c).unwrap().value().clone()).collect()
    };
    let (zeros, others) = (samples(0), samples(987_654_321));
    assert!(chi_square_mod_251(&zeros) < 369.0, "{}", chi_square_mod_251(&zeros));
    assert!(chi_square_mod_251(&others) < 369.0, "{}", chi_square_mod_251(&others));
    // All distinct: no randomizer repeats.
    let mut sorted: Vec<Vec<u8>> = zeros.iter().map(|v| v.to_be_bytes().to_vec()).collect();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), zeros.len());
    // The test would catch a biased sample: small numbers are not uniform.
    let small: Vec<BoxedUint> = (0..3000u64).map(|i| BoxedUint::from(i % 100)).collect();
    assert!(chi_square_mod_251(&small) > 369.0);
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
    // A ciphertext replaced by zero (outside Z*_{n²}) is refused; so is n².
    let width = public.ciphertext_bytes();
    let mut zeroed = bytes.clone();
    let start = zeroed.len() - 4 * width;
    zeroed[start..start + width].fill(0);
    let error = EncryptedMatrix::from_bytes(public, &zeroed).unwrap_err();
    assert!(error.to_string().contains("outside [1, n²)"), "{error}");
    let mut too_big = bytes.clone();
    too_big[start..start + width].fill(0xFF);
    assert!(EncryptedMatrix::from_bytes(public, &too_big).is_err());
    // Under another key.
    assert!(EncryptedMatrix::from_bytes(other, &matrix.to_bytes(public)).is_err());
    // Malformed keys.
    assert!(PrivateKey::from_bytes(b"not a key").is_err());
    assert!(PublicKey::from_bytes(b"\x02\x00\x01\x01\x01\x01").is_err());
    let (version, p, mut q, djn): (u16, Vec<u8>, Vec<u8>, Vec<u8>) =
        postcard::from_bytes(&key.to_bytes()).unwrap();
    *q.last_mut().unwrap() ^= 0x02;
    let not_prime = postcard::to_allocvec(&(version, p, q, djn)).unwrap();
    let error = PrivateKey::from_bytes(&not_prime).unwrap_err();
    assert!(error.to_string().contains("not prime"), "{error}");
    assert!(format!("{key:?}").contains("redacted"));
}

#[test]
fn overflow_is_refused_before_computing() {
    let key = key(256);
    let format = FixedPoint::default();
    let weights = WeightFormat::default();
    assert!(
        blindfold_paillier::encoding::check_dot_product(key.public_key(), 10, format, 1.0, weights).is_ok()
    );
    let error =
        blindfold_paillier::encoding::check_dot_product(key.public_key(), 1000, format, 1e55, weights)
            .unwrap_err();
    assert!(error.to_string().contains("needs"), "{error}");
}

/// The server's work on its secret weights is the same whatever their
/// values: for weight vectors of zeros, small values and values at the
/// format's limit, of both signs, the same number of modular
/// multiplications (every exponent has the format's length, zero digits
/// are multiplied in, table reads touch every entry). `blindfold bench
/// paillier` times the same vectors (`server-time-spread`).
#[test]
fn the_servers_work_does_not_depend_on_its_weights() {
    let key = key(512);
    let x: Vec<f64> = (0..40).map(|i| i as f64 / 7.0 - 3.0).collect();
    let encrypted = EncryptedMatrix::encrypt(key, FixedPoint::default(), &x, 1, 40).unwrap();
    let format = WeightFormat::default();
    let vectors: [Vec<f64>; 4] = [
        vec![0.0; 40],
        vec![0.001; 40],
        (0..40).map(|i| if i % 2 == 0 { 4095.0 } else { -4095.0 }).collect(),
        (0..40).map(|i| (i as f64 * 0.37).sin() * 100.0).collect(),
    ];
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    for outputs in [1usize, 3] {
        let counts: Vec<u64> = vectors
            .iter()
            .map(|weights| {
                let weights: Vec<f64> = weights.iter().flat_map(|&w| vec![w; outputs]).collect();
                one.install(|| {
                    let before = multiplications_on_this_thread();
                    encrypted.matmul_plain(key.public_key(), format, &weights, outputs, None).unwrap();
                    multiplications_on_this_thread() - before
                })
            })
            .collect();
        assert!(counts.iter().all(|&c| c == counts[0] && c > 0), "{outputs} outputs: {counts:?}");
    }
}

fn model(post_transform: PostTransform, labels: Option<ClassLabels>) -> LinearModel {
    LinearModel::new(
        vec![vec![0.5, -1.0], vec![-0.25, 2.0], vec![1.0, 0.0]],
        vec![0.1, -0.2],
        Finish { post_transform, labels, normalization: None },
    )
    .unwrap()
}

#[test]
fn the_protocol_predicts_what_the_plaintext_model_does() {
    let x = [1.0, 2.0, -3.0, 0.5, -0.5, 4.0];
    let client = Client::new(key(1024).clone(), FixedPoint::default());
    for post in [PostTransform::None, PostTransform::Logistic, PostTransform::Softmax] {
        let model = model(post, Some(ClassLabels::Strings(vec!["no".into(), "yes".into()])));
        let mut server = Server::new(model.clone());
        server.prepare(key(1024).public_key(), 4).unwrap();
        let request = client.request(&x, 2, 3).unwrap();
        let prediction = client.read(&server.respond(&request).unwrap()).unwrap();
        let expected = model.predict(&x);
        assert_eq!(prediction.labels, expected.labels);
        for (got, want) in prediction.outputs.iter().zip(&expected.outputs) {
            assert!((got - want).abs() < 1e-8, "{got} vs {want}");
        }
    }
    let server_model = model(PostTransform::None, None);
    let mut server = Server::new(server_model);
    // A request with the wrong number of features is refused.
    let bad = client.request(&x, 3, 2).unwrap();
    assert!(server.respond(&bad).unwrap_err().to_string().contains("features"));
    assert!(server.respond(b"garbage").is_err());
    assert!(
        LinearModel::from_json(r#"{"kind": "linear", "weights": [[1.0], [2.0, 3.0]], "bias": [0.0]}"#)
            .is_err()
    );
    let json = LinearModel::from_json(r#"{"kind": "logistic", "weights": [[1.0]], "bias": [0.0]}"#).unwrap();
    assert_eq!(json.finish.post_transform, PostTransform::Logistic);
}

#[test]
fn a_binary_classifier_with_one_score_reads_as_two_probabilities() {
    let finish = Finish {
        post_transform: PostTransform::Logistic,
        labels: Some(ClassLabels::Integers(vec![3, 7])),
        normalization: Some(Normalization::L1),
    };
    let prediction = finish.apply(&[2.0, -1.0], 1);
    assert_eq!(prediction.labels, Some(vec!["7".to_string(), "3".to_string()]));
    let p = 1.0 / (1.0 + (-2.0f64).exp());
    assert!((prediction.outputs[0] - (1.0 - p)).abs() < 1e-12 && (prediction.outputs[1] - p).abs() < 1e-12);
}
