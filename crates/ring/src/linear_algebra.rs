//! Matrix products: 2-D, batched with broadcast batch dimensions, and
//! numpy's rules for 1-D operands.

use rayon::prelude::*;

use crate::element::RingElement;
use crate::error::{Result, RingError};
use crate::kernels::Threading;
use crate::tensor::{RingTensor, broadcast_shapes};

/// Below this many multiply-adds per batch item, batch items run in parallel
/// with single-threaded kernels instead of one parallel kernel each.
const SMALL_PRODUCT: usize = 1 << 17;

impl<R: RingElement> RingTensor<R> {
    /// The wrapping matrix product, numpy's `matmul`: `[.., m, k] · [.., k, n]`
    /// with broadcast batch dimensions; a 1-D left operand is a row vector
    /// and a 1-D right operand a column vector, removed from the result.
    pub fn matmul(&self, other: &Self) -> Result<Self> {
        if self.ndim() == 0 || other.ndim() == 0 {
            return Err(self.matmul_mismatch(other, "operands must have at least one dimension"));
        }
        let left = if self.ndim() == 1 { self.reshape(&[1, self.len()])? } else { self.clone() };
        let right = if other.ndim() == 1 { other.reshape(&[other.len(), 1])? } else { other.clone() };
        let mut product = left
            .matmul_matrices(&right)
            .map_err(|_| self.matmul_mismatch(other, "inner dimensions or batch dimensions differ"))?;
        let mut shape = product.shape().to_vec();
        if other.ndim() == 1 {
            shape.pop();
        }
        if self.ndim() == 1 {
            shape.remove(shape.len() - 1 - usize::from(other.ndim() != 1));
        }
        if shape != product.shape() {
            product = product.reshape(&shape)?;
        }
        Ok(product)
    }

    /// `[.., m, k] · [.., k, n]` for operands of rank ≥ 2.
    fn matmul_matrices(&self, other: &Self) -> Result<Self> {
        let (ra, rb) = (self.ndim(), other.ndim());
        let (m, k) = (self.shape()[ra - 2], self.shape()[ra - 1]);
        let (k2, n) = (other.shape()[rb - 2], other.shape()[rb - 1]);
        if k != k2 {
            return Err(self.matmul_mismatch(other, "inner dimensions differ"));
        }
        // A shared right matrix (a weight against a batch): one big product.
        if rb == 2 {
            let rows: usize = self.shape()[..ra - 1].iter().product();
            let mut out = vec![R::ZERO; rows * n];
            R::matmul_kernel(Threading::AllCores, rows, k, n, self.as_slice(), other.as_slice(), &mut out);
            let mut shape = self.shape()[..ra - 1].to_vec();
            shape.push(n);
            return RingTensor::from_vec(&shape, out);
        }
        let batch = broadcast_shapes("matmul", &self.shape()[..ra - 2], &other.shape()[..rb - 2])?;
        let left = self.broadcast_batch(&batch, m, k)?;
        let right = other.broadcast_batch(&batch, k, n)?;
        let mut out = vec![R::ZERO; batch.iter().product::<usize>() * m * n];
        let (a, b) = (left.as_slice(), right.as_slice());
        let item = |(index, c): (usize, &mut [R]), threading| {
            let a_item = &a[index * m * k..(index + 1) * m * k];
            let b_item = &b[index * k * n..(index + 1) * k * n];
            R::matmul_kernel(threading, m, k, n, a_item, b_item, c);
        };
        if m * n > 0 {
            if m * k * n < SMALL_PRODUCT {
                out.par_chunks_mut(m * n).enumerate().for_each(|job| item(job, Threading::SingleThread));
            } else {
                out.chunks_mut(m * n).enumerate().for_each(|job| item(job, Threading::AllCores));
            }
        }
        let mut shape = batch;
        shape.extend([m, n]);
        RingTensor::from_vec(&shape, out)
    }

    fn broadcast_batch(&self, batch: &[usize], rows: usize, columns: usize) -> Result<Self> {
        let mut shape = batch.to_vec();
        shape.extend([rows, columns]);
        if self.shape() == shape.as_slice() { Ok(self.clone()) } else { self.broadcast_to(&shape) }
    }

    fn matmul_mismatch(&self, other: &Self, reason: &'static str) -> RingError {
        RingError::ShapeMismatch {
            operation: "matmul",
            left: self.shape().to_vec(),
            right: other.shape().to_vec(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::reference;

    fn counting(shape: &[usize], offset: u64) -> RingTensor<u64> {
        let n = shape.iter().product::<usize>() as u64;
        RingTensor::from_vec(shape, (0..n).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ offset).collect())
            .unwrap()
    }

    #[test]
    fn two_dimensional_matches_reference() {
        let (a, b) = (counting(&[5, 7], 1), counting(&[7, 3], 2));
        let product = a.matmul(&b).unwrap();
        assert_eq!(product.shape(), &[5, 3]);
        assert_eq!(product.to_vec(), reference::matmul(5, 7, 3, a.as_slice(), b.as_slice()));
        assert!(a.matmul(&counting(&[6, 3], 0)).is_err());
        assert!(a.matmul(&RingTensor::scalar(1)).is_err());
    }

    #[test]
    fn batched_with_broadcast_batch_dimensions() {
        let a = counting(&[2, 1, 4, 5], 3);
        let b = counting(&[3, 5, 6], 4);
        let product = a.matmul(&b).unwrap();
        assert_eq!(product.shape(), &[2, 3, 4, 6]);
        for i in 0..2 {
            for j in 0..3 {
                let left = &a.as_slice()[i * 20..(i + 1) * 20];
                let right = &b.as_slice()[j * 30..(j + 1) * 30];
                let start = (i * 3 + j) * 24;
                assert_eq!(
                    &product.as_slice()[start..start + 24],
                    &reference::matmul(4, 5, 6, left, right)[..]
                );
            }
        }
        // A shared 2-D weight against a batch is one product.
        let weights = counting(&[5, 2], 5);
        let batched = a.matmul(&weights).unwrap();
        assert_eq!(batched.shape(), &[2, 1, 4, 2]);
        assert_eq!(batched.to_vec(), reference::matmul(8, 5, 2, a.as_slice(), weights.as_slice()));
        assert!(counting(&[2, 4, 5], 0).matmul(&counting(&[3, 5, 6], 0)).is_err());
    }

    #[test]
    fn vectors_follow_numpy() {
        let v = counting(&[4], 6);
        let m = counting(&[4, 3], 7);
        assert_eq!(v.matmul(&m).unwrap().shape(), &[3]);
        assert_eq!(m.transpose(None).unwrap().matmul(&v).unwrap().shape(), &[3]);
        let dot = v.matmul(&v).unwrap();
        assert_eq!(dot.shape(), &[] as &[usize]);
        assert_eq!(dot.as_slice()[0], reference::matmul(1, 4, 1, v.as_slice(), v.as_slice())[0]);
        let batch = counting(&[2, 4, 3], 8);
        assert_eq!(v.matmul(&batch).unwrap().shape(), &[2, 3]);
    }
}
