//! [`RingTensor`]: a dense n-dimensional tensor over Z_2^64 or Z_2^128.
//!
//! Storage, shapes and views come from ndarray; the array is always kept in
//! standard (row-major, contiguous) layout so that kernels can take slices.
//! `Debug` prints the ring and shape only: a tensor may hold a secret share,
//! and shares never reach logs.

use ndarray::{ArrayD, IxDyn, Zip};

use crate::element::RingElement;
use crate::error::{Result, RingError};

/// A dense tensor over the ring `R`, row-major.
#[derive(Clone, PartialEq, Eq)]
pub struct RingTensor<R: RingElement> {
    array: ArrayD<R>,
}

impl<R: RingElement> std::fmt::Debug for RingTensor<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RingTensor<{}>{:?}", R::NAME, self.shape())
    }
}

/// Elementwise work above this many elements is spread over rayon's pool.
pub(crate) const PARALLEL_ELEMENTS: usize = 1 << 15;

impl<R: RingElement> RingTensor<R> {
    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::filled(shape, R::ZERO)
    }

    /// A tensor with every element `value`.
    pub fn filled(shape: &[usize], value: R) -> Self {
        RingTensor { array: ArrayD::from_elem(IxDyn(shape), value) }
    }

    /// A zero-dimensional tensor holding `value`.
    pub fn scalar(value: R) -> Self {
        Self::filled(&[], value)
    }

    /// A tensor from row-major values; errors if `values` has the wrong length.
    pub fn from_vec(shape: &[usize], values: Vec<R>) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if values.len() != expected {
            return Err(RingError::InvalidArgument {
                operation: "from_vec",
                reason: format!("{} values cannot fill shape {shape:?} ({expected} elements)", values.len()),
            });
        }
        let array = ArrayD::from_shape_vec(IxDyn(shape), values).expect("length checked above");
        Ok(RingTensor { array })
    }

    /// A tensor from an ndarray array of any layout.
    pub fn from_array(array: ArrayD<R>) -> Self {
        let array = if array.is_standard_layout() { array } else { array.as_standard_layout().into_owned() };
        RingTensor { array }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        self.array.shape()
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.array.ndim()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.array.len()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.array.is_empty()
    }

    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[R] {
        self.array.as_slice().expect("RingTensor is always in standard layout")
    }

    /// The elements in row-major order, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [R] {
        self.array.as_slice_mut().expect("RingTensor is always in standard layout")
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<R> {
        self.as_slice().to_vec()
    }

    /// The underlying ndarray array.
    pub fn as_array(&self) -> &ArrayD<R> {
        &self.array
    }

    /// The underlying ndarray array, by value.
    pub fn into_array(self) -> ArrayD<R> {
        self.array
    }

    /// Applies `f` to every element.
    pub fn map(&self, f: impl Fn(R) -> R + Sync + Send) -> Self {
        let mut out = self.clone();
        out.map_in_place(f);
        out
    }

    /// Applies `f` to every element in place.
    pub fn map_in_place(&mut self, f: impl Fn(R) -> R + Sync + Send) {
        let parallel = self.len() >= PARALLEL_ELEMENTS;
        let zip = Zip::from(&mut self.array);
        if parallel {
            zip.par_for_each(|x| *x = f(*x));
        } else {
            zip.for_each(|x| *x = f(*x));
        }
    }

    /// Combines two tensors elementwise under numpy broadcasting.
    pub fn zip_with(
        &self,
        other: &Self,
        operation: &'static str,
        f: impl Fn(R, R) -> R + Sync + Send,
    ) -> Result<Self> {
        let shape = broadcast_shapes(operation, self.shape(), other.shape())?;
        if self.shape() == other.shape() {
            let mut out = self.clone();
            let parallel = out.len() >= PARALLEL_ELEMENTS;
            let zip = Zip::from(&mut out.array).and(&other.array);
            if parallel {
                zip.par_for_each(|x, &y| *x = f(*x, y));
            } else {
                zip.for_each(|x, &y| *x = f(*x, y));
            }
            return Ok(out);
        }
        let left = self.array.broadcast(IxDyn(&shape)).expect("shape from broadcast_shapes");
        let right = other.array.broadcast(IxDyn(&shape)).expect("shape from broadcast_shapes");
        let zip = Zip::from(&left).and(&right);
        let array = if shape.iter().product::<usize>() >= PARALLEL_ELEMENTS {
            zip.par_map_collect(|&x, &y| f(x, y))
        } else {
            zip.map_collect(|&x, &y| f(x, y))
        };
        Ok(RingTensor { array })
    }

    /// The elements as little-endian bytes, `R::BYTES` each, row-major:
    /// the wire format of a tensor.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.le_bytes().to_vec()
    }

    /// The elements' bytes in place (little-endian targets only, so these
    /// are the wire format): append them to a message without a copy per
    /// element.
    pub fn le_bytes(&self) -> &[u8] {
        bytemuck::cast_slice(self.as_slice())
    }

    /// Reads a tensor of `shape` from its wire format; errors unless `bytes`
    /// holds exactly `len · R::BYTES` bytes.
    pub fn from_le_bytes(shape: &[usize], bytes: &[u8]) -> Result<Self> {
        let expected = shape.iter().product::<usize>() * R::BYTES;
        if bytes.len() != expected {
            return Err(RingError::InvalidArgument {
                operation: "from_le_bytes",
                reason: format!(
                    "{} bytes cannot hold a {shape:?} tensor over Z_2^{} ({expected} bytes)",
                    bytes.len(),
                    R::BITS
                ),
            });
        }
        // One copy into aligned storage (the bytes may be unaligned).
        Self::from_vec(shape, bytemuck::pod_collect_to_vec(bytes))
    }
}

/// The shape two shapes broadcast to under numpy's rules (align on the
/// right; each pair of dimensions equal, or one of them 1).
pub fn broadcast_shapes(operation: &'static str, left: &[usize], right: &[usize]) -> Result<Vec<usize>> {
    let rank = left.len().max(right.len());
    let mut shape = vec![0; rank];
    for (position, dimension) in shape.iter_mut().enumerate() {
        let pick = |s: &[usize]| {
            let offset = rank - s.len();
            if position < offset { 1 } else { s[position - offset] }
        };
        let (l, r) = (pick(left), pick(right));
        *dimension = match (l, r) {
            _ if l == r => l,
            (1, _) => r,
            (_, 1) => l,
            _ => {
                return Err(RingError::ShapeMismatch {
                    operation,
                    left: left.to_vec(),
                    right: right.to_vec(),
                    reason: "cannot broadcast",
                });
            }
        };
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes("t", &[2, 3], &[3]).unwrap(), vec![2, 3]);
        assert_eq!(broadcast_shapes("t", &[4, 1, 5], &[3, 1]).unwrap(), vec![4, 3, 5]);
        assert_eq!(broadcast_shapes("t", &[], &[2]).unwrap(), vec![2]);
        assert_eq!(broadcast_shapes("t", &[0, 3], &[1, 3]).unwrap(), vec![0, 3]);
        let error = broadcast_shapes("add", &[2, 3], &[4]).unwrap_err();
        assert!(error.to_string().contains("add"), "{error}");
    }

    #[test]
    fn wire_format_round_trips_and_rejects_truncation() {
        let tensor = RingTensor::<u128>::from_vec(&[2, 2], vec![1, u128::MAX, 3, 1 << 100]).unwrap();
        let bytes = tensor.to_le_bytes();
        assert_eq!(bytes.len(), 64);
        assert_eq!(RingTensor::<u128>::from_le_bytes(&[2, 2], &bytes).unwrap(), tensor);
        assert!(RingTensor::<u128>::from_le_bytes(&[2, 2], &bytes[..63]).is_err());
    }

    #[test]
    fn debug_hides_values() {
        let tensor = RingTensor::<u64>::from_vec(&[2], vec![123456789, 987654321]).unwrap();
        let text = format!("{tensor:?}");
        assert_eq!(text, "RingTensor<u64>[2]");
    }

    #[test]
    fn from_vec_checks_length() {
        assert!(RingTensor::<u64>::from_vec(&[2, 3], vec![0; 5]).is_err());
        assert_eq!(RingTensor::<u64>::from_vec(&[0, 3], vec![]).unwrap().len(), 0);
    }
}
