//! Paillier for Python: keys, encrypted tensors of reals (signed fixed
//! point, 32 fractional bits per encoding), `+` between encrypted tensors
//! or with plaintext arrays, `*` and `@` by plaintext arrays, decryption.
//!
//! Each tensor carries a bound on its encoded magnitude; an operation whose
//! result could pass n/2 (and so decrypt to garbage) is refused instead.

use std::sync::Arc;

use blindfold_paillier::{Ciphertext, EncryptedMatrix, FixedPoint, KEY_SIZES, Plaintext, WeightFormat};
use ndarray::{ArrayD, IxDyn};
use numpy::{PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rayon::prelude::*;

use crate::arrays::to_numpy;
use crate::errors::{protocol_error, value_error};

/// Fractional bits of each encoding.
const FRACTIONAL_BITS: u32 = 32;

/// A Paillier key pair (the private key never leaves this object).
#[pyclass(module = "blindfold._blindfold", frozen)]
pub struct PrivateKey {
    key: Arc<blindfold_paillier::PrivateKey>,
}

/// A public key: anyone may encrypt and compute on ciphertexts with it.
#[pyclass(module = "blindfold._blindfold", frozen)]
pub struct PublicKey {
    key: Arc<blindfold_paillier::PublicKey>,
}

/// A tensor of ciphertexts under one public key.
#[pyclass(module = "blindfold._blindfold", frozen)]
pub struct EncryptedTensor {
    key: Arc<blindfold_paillier::PublicKey>,
    shape: Vec<usize>,
    fractional_bits: u32,
    /// log2 of a bound on |encoded value| (the scaled integer).
    magnitude_bits: f64,
    values: Arc<Vec<Ciphertext>>,
}

/// Generates a key pair of `bits` (2048, 3072 or 4096) from the OS CSPRNG.
#[pyfunction]
#[pyo3(signature = (bits = 2048))]
pub fn generate_keys(py: Python<'_>, bits: u32) -> PyResult<PrivateKey> {
    if !KEY_SIZES.contains(&bits) {
        return Err(value_error(format!("bits {bits}: choose 2048, 3072 or 4096")));
    }
    let key = py.detach(|| blindfold_paillier::PrivateKey::generate(bits)).map_err(protocol_error)?;
    Ok(PrivateKey { key: Arc::new(key) })
}

/// log2 of the largest |v|·2^f over `values` (at least 0).
fn magnitude_bits(values: &[f64], fractional_bits: u32) -> f64 {
    let largest = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (largest.max(1.0)).log2() + fractional_bits as f64 + 1.0
}

fn encrypt_values(
    key: &Arc<blindfold_paillier::PublicKey>,
    values: &[f64],
    encrypt: impl Fn(&Plaintext) -> blindfold_paillier::Result<Ciphertext> + Sync,
) -> PyResult<Vec<Ciphertext>> {
    let format = FixedPoint { fractional_bits: FRACTIONAL_BITS };
    values
        .par_iter()
        .map(|&value| encrypt(&format.encode(key, value)?))
        .collect::<blindfold_paillier::Result<Vec<_>>>()
        .map_err(value_error)
}

impl EncryptedTensor {
    /// The same values at `bits` fractional bits (≥ its own): times 2^Δ.
    fn lift(&self, py: Python<'_>, bits: u32) -> PyResult<EncryptedTensor> {
        let shift = bits - self.fractional_bits;
        let (key, a) = (Arc::clone(&self.key), Arc::clone(&self.values));
        let values = if shift == 0 {
            a.as_ref().clone()
        } else if shift > 120 {
            return Err(value_error(format!("scales {} fractional bits apart cannot meet", shift)));
        } else {
            let factor = 1i128 << shift;
            py.detach(|| {
                a.par_iter()
                    .map(|c| key.mul_plain(c, factor, shift + 2))
                    .collect::<blindfold_paillier::Result<Vec<_>>>()
            })
            .map_err(value_error)?
        };
        EncryptedTensor::new(key, self.shape.clone(), bits, self.magnitude_bits + shift as f64, values)
    }

    fn new(
        key: Arc<blindfold_paillier::PublicKey>,
        shape: Vec<usize>,
        fractional_bits: u32,
        magnitude_bits: f64,
        values: Vec<Ciphertext>,
    ) -> PyResult<EncryptedTensor> {
        let room = key.bits() as f64 - 2.0;
        if magnitude_bits >= room {
            return Err(value_error(format!(
                "the result could reach 2^{magnitude_bits:.0}, past the key's n/2 ≈ 2^{room:.0}: \
                 decrypt and re-encrypt, or use a larger key"
            )));
        }
        Ok(EncryptedTensor { key, shape, fractional_bits, magnitude_bits, values: Arc::new(values) })
    }

    fn same_key(&self, other: &Arc<blindfold_paillier::PublicKey>) -> PyResult<()> {
        if self.key.modulus() == other.modulus() {
            Ok(())
        } else {
            Err(value_error("the tensors are encrypted under different keys"))
        }
    }

    /// A plaintext operand with this tensor's shape (a scalar broadcasts).
    fn operand(&self, plain: &PyReadonlyArrayDyn<'_, f64>) -> PyResult<Vec<f64>> {
        let array = plain.as_array();
        let count: usize = self.shape.iter().product();
        if array.len() == 1 {
            return Ok(vec![array.iter().copied().next().unwrap_or(0.0); count]);
        }
        if array.shape() != self.shape.as_slice() {
            return Err(value_error(format!(
                "shapes {:?} and {:?} differ (only a scalar broadcasts)",
                self.shape,
                array.shape()
            )));
        }
        Ok(array.iter().copied().collect())
    }
}

fn encrypt_array(
    key: &Arc<blindfold_paillier::PublicKey>,
    py: Python<'_>,
    values: PyReadonlyArrayDyn<'_, f64>,
    encrypt: impl Fn(&Plaintext) -> blindfold_paillier::Result<Ciphertext> + Sync + Send,
) -> PyResult<EncryptedTensor> {
    let array = values.as_array();
    let shape = array.shape().to_vec();
    let flat: Vec<f64> = array.iter().copied().collect();
    let bits = magnitude_bits(&flat, FRACTIONAL_BITS);
    let ciphertexts = py.detach(|| encrypt_values(key, &flat, encrypt))?;
    EncryptedTensor::new(Arc::clone(key), shape, FRACTIONAL_BITS, bits, ciphertexts)
}

#[pymethods]
impl PrivateKey {
    #[getter]
    fn public_key(&self) -> PublicKey {
        PublicKey { key: Arc::new(self.key.public_key().clone()) }
    }

    #[getter]
    fn bits(&self) -> u32 {
        self.key.public_key().bits()
    }

    /// Encrypts as the key owner (CRT: about four times faster).
    fn encrypt(&self, py: Python<'_>, values: PyReadonlyArrayDyn<'_, f64>) -> PyResult<EncryptedTensor> {
        let public = Arc::new(self.key.public_key().clone());
        let key = Arc::clone(&self.key);
        encrypt_array(&public, py, values, move |m| key.encrypt(m))
    }

    /// Decrypts and decodes to float64.
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        tensor: &EncryptedTensor,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        tensor.same_key(&Arc::new(self.key.public_key().clone()))?;
        let key = Arc::clone(&self.key);
        let values = Arc::clone(&tensor.values);
        let bits = tensor.fractional_bits;
        let decoded: Vec<f64> =
            py.detach(|| values.par_iter().map(|c| key.public_key().decode(&key.decrypt(c), bits)).collect());
        let array = ArrayD::from_shape_vec(IxDyn(&tensor.shape), decoded).map_err(protocol_error)?;
        Ok(to_numpy(py, array))
    }

    fn __repr__(&self) -> String {
        format!("PrivateKey({} bits, <redacted>)", self.key.public_key().bits())
    }

    /// The key pair's encoding (its primes: keep these bytes secret).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key.to_bytes())
    }

    /// A key pair from [`PrivateKey::to_bytes`]'s encoding (checked: the
    /// primes are primes, the numbers form a key).
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: Vec<u8>) -> PyResult<PrivateKey> {
        let key = py.detach(|| blindfold_paillier::PrivateKey::from_bytes(&data)).map_err(value_error)?;
        Ok(PrivateKey { key: Arc::new(key) })
    }
}

#[pymethods]
impl PublicKey {
    #[getter]
    fn bits(&self) -> u32 {
        self.key.bits()
    }

    /// Encrypts with the public key.
    fn encrypt(&self, py: Python<'_>, values: PyReadonlyArrayDyn<'_, f64>) -> PyResult<EncryptedTensor> {
        let key = Arc::clone(&self.key);
        encrypt_array(&self.key, py, values, move |m| key.encrypt(m))
    }

    fn __repr__(&self) -> String {
        format!("PublicKey({} bits)", self.key.bits())
    }

    /// The public key's encoding.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key.to_bytes())
    }

    /// A public key from [`PublicKey::to_bytes`]'s encoding (checked).
    #[staticmethod]
    fn from_bytes(data: Vec<u8>) -> PyResult<PublicKey> {
        let key = blindfold_paillier::PublicKey::from_bytes(&data).map_err(value_error)?;
        Ok(PublicKey { key: Arc::new(key) })
    }
}

/// An encrypted tensor's encoding: its public key, shape, scale, the bound
/// on its magnitude, and the ciphertexts as the crate's checked matrix
/// format (one row). Self-contained: a server can read it without the
/// key's owner.
#[derive(serde::Serialize, serde::Deserialize)]
struct TensorRecord {
    version: u16,
    key: Vec<u8>,
    shape: Vec<u64>,
    magnitude_bits: f64,
    matrix: Vec<u8>,
}

/// The version of [`TensorRecord`].
const TENSOR_VERSION: u16 = 1;

#[pymethods]
impl EncryptedTensor {
    /// The tensor's encoding, public key included.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let matrix = EncryptedMatrix {
            rows: 1,
            columns: self.values.len(),
            fractional_bits: self.fractional_bits,
            values: self.values.as_ref().clone(),
        };
        let record = TensorRecord {
            version: TENSOR_VERSION,
            key: self.key.to_bytes(),
            shape: self.shape.iter().map(|&d| d as u64).collect(),
            magnitude_bits: self.magnitude_bits,
            matrix: matrix.to_bytes(&self.key),
        };
        let bytes = postcard::to_allocvec(&record).map_err(protocol_error)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// A tensor from [`EncryptedTensor::to_bytes`]'s encoding: the key, the
    /// shape against the ciphertexts, every ciphertext against the key.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: Vec<u8>) -> PyResult<EncryptedTensor> {
        let malformed = |reason: String| value_error(format!("not an encrypted tensor: {reason}"));
        let record: TensorRecord = postcard::from_bytes(&data).map_err(|e| malformed(e.to_string()))?;
        if record.version != TENSOR_VERSION {
            return Err(malformed(format!(
                "format version {}, this build reads {TENSOR_VERSION}",
                record.version
            )));
        }
        let key = Arc::new(blindfold_paillier::PublicKey::from_bytes(&record.key).map_err(value_error)?);
        let matrix = py
            .detach(|| EncryptedMatrix::from_bytes(&key, &record.matrix))
            .map_err(|e| malformed(e.to_string()))?;
        let shape: Vec<usize> =
            record.shape.iter().map(|&d| usize::try_from(d).unwrap_or(usize::MAX)).collect();
        if shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) != Some(matrix.values.len()) {
            return Err(malformed(format!("shape {shape:?} for {} ciphertexts", matrix.values.len())));
        }
        if !(record.magnitude_bits.is_finite() && record.magnitude_bits >= 0.0) {
            return Err(malformed("a magnitude bound that is not a number".into()));
        }
        EncryptedTensor::new(key, shape, matrix.fractional_bits, record.magnitude_bits, matrix.values)
    }

    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    #[getter]
    fn fractional_bits(&self) -> u32 {
        self.fractional_bits
    }

    #[getter]
    fn public_key(&self) -> PublicKey {
        PublicKey { key: Arc::clone(&self.key) }
    }

    /// Encrypted + encrypted (same shape, key and scale).
    fn add(&self, py: Python<'_>, other: &EncryptedTensor) -> PyResult<EncryptedTensor> {
        self.same_key(&other.key)?;
        if self.shape != other.shape {
            return Err(value_error(format!("shapes {:?} and {:?} differ", self.shape, other.shape)));
        }
        // Different scales (after plaintext products) meet at the finer
        // one: the coarser is multiplied by 2^Δ, exactly.
        let bits = self.fractional_bits.max(other.fractional_bits);
        let (left, right) = (self.lift(py, bits)?, other.lift(py, bits)?);
        let (key, a, b) = (Arc::clone(&self.key), Arc::clone(&left.values), Arc::clone(&right.values));
        let values = py.detach(|| a.par_iter().zip(b.par_iter()).map(|(x, y)| key.add(x, y)).collect());
        let magnitude = left.magnitude_bits.max(right.magnitude_bits) + 1.0;
        EncryptedTensor::new(Arc::clone(&self.key), self.shape.clone(), bits, magnitude, values)
    }

    /// Encrypted + plaintext (same shape, or a scalar).
    fn add_plain(&self, py: Python<'_>, plain: PyReadonlyArrayDyn<'_, f64>) -> PyResult<EncryptedTensor> {
        let plain = self.operand(&plain)?;
        let format = FixedPoint { fractional_bits: self.fractional_bits };
        let encoded: Vec<Plaintext> = plain
            .iter()
            .map(|&v| format.encode(&self.key, v))
            .collect::<blindfold_paillier::Result<_>>()
            .map_err(value_error)?;
        let (key, a) = (Arc::clone(&self.key), Arc::clone(&self.values));
        let values =
            py.detach(|| a.par_iter().zip(encoded.par_iter()).map(|(c, m)| key.add_plain(c, m)).collect());
        let bits = self.magnitude_bits.max(magnitude_bits(&plain, self.fractional_bits)) + 1.0;
        EncryptedTensor::new(Arc::clone(&self.key), self.shape.clone(), self.fractional_bits, bits, values)
    }

    /// Encrypted ⊙ plaintext, element by element (same shape, or a scalar);
    /// the result carries 32 more fractional bits.
    fn mul_plain(&self, py: Python<'_>, plain: PyReadonlyArrayDyn<'_, f64>) -> PyResult<EncryptedTensor> {
        let plain = self.operand(&plain)?;
        let format = FixedPoint { fractional_bits: FRACTIONAL_BITS };
        let scaled: Vec<i128> = plain
            .iter()
            .map(|&v| format.scale(v))
            .collect::<blindfold_paillier::Result<_>>()
            .map_err(value_error)?;
        let factor_bits = magnitude_bits(&plain, FRACTIONAL_BITS);
        let bits = self.magnitude_bits + factor_bits;
        // The factors' length (a bound on their magnitude, which this
        // tensor already tracks) sets the exponent length: the time does
        // not depend on the factors' values below it.
        let exponent_bits = (factor_bits.ceil() as u32 + 1).min(128);
        let (key, a) = (Arc::clone(&self.key), Arc::clone(&self.values));
        let values = py.detach(|| key.mul_plain_many(&a, &scaled, exponent_bits)).map_err(value_error)?;
        EncryptedTensor::new(
            Arc::clone(&self.key),
            self.shape.clone(),
            self.fractional_bits + FRACTIONAL_BITS,
            bits,
            values,
        )
    }

    /// Encrypted (rows × k) @ plaintext (k × outputs); the result carries
    /// 32 more fractional bits.
    fn matmul_plain(&self, py: Python<'_>, plain: PyReadonlyArrayDyn<'_, f64>) -> PyResult<EncryptedTensor> {
        let weights = plain.as_array();
        let (rows, columns) = match self.shape.as_slice() {
            [rows, columns] => (*rows, *columns),
            [columns] => (1, *columns),
            other => {
                return Err(value_error(format!(
                    "@ takes a 1-D or 2-D encrypted tensor, not shape {other:?}"
                )));
            }
        };
        let outputs = match weights.shape() {
            [k, outputs] if *k == columns => *outputs,
            [k] if *k == columns => 1,
            other => {
                return Err(value_error(format!("shapes {:?} and {other:?} do not multiply", self.shape)));
            }
        };
        let flat: Vec<f64> = weights.iter().copied().collect();
        let bits =
            self.magnitude_bits + magnitude_bits(&flat, FRACTIONAL_BITS) + (columns.max(1) as f64).log2();
        let matrix = EncryptedMatrix {
            rows,
            columns,
            fractional_bits: self.fractional_bits,
            values: self.values.as_ref().clone(),
        };
        let key = Arc::clone(&self.key);
        let largest = flat.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let integer_bits = (largest.max(1.0).log2().floor() as u32 + 1).min(80);
        let format = WeightFormat { fractional_bits: FRACTIONAL_BITS, integer_bits };
        let product =
            py.detach(|| matrix.matmul_plain(&key, format, &flat, outputs, None)).map_err(value_error)?;
        let shape = match (self.shape.len(), weights.ndim()) {
            (2, 2) => vec![rows, outputs],
            (1, 2) => vec![outputs],
            (2, 1) => vec![rows],
            _ => vec![],
        };
        EncryptedTensor::new(Arc::clone(&self.key), shape, product.fractional_bits, bits, product.values)
    }

    /// −encrypted.
    fn neg(&self, py: Python<'_>) -> PyResult<EncryptedTensor> {
        let (key, a) = (Arc::clone(&self.key), Arc::clone(&self.values));
        let values = py.detach(|| a.par_iter().map(|c| key.neg(c)).collect());
        EncryptedTensor::new(
            Arc::clone(&self.key),
            self.shape.clone(),
            self.fractional_bits,
            self.magnitude_bits,
            values,
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "EncryptedTensor(shape={:?}, {}-bit key, {} fractional bits)",
            self.shape,
            self.key.bits(),
            self.fractional_bits
        )
    }
}
