//! Elementwise wrapping arithmetic with numpy broadcasting, and scalar forms.

use crate::element::RingElement;
use crate::error::Result;
use crate::tensor::RingTensor;

impl<R: RingElement> RingTensor<R> {
    /// `self + other` mod 2^k, broadcasting.
    pub fn add(&self, other: &Self) -> Result<Self> {
        self.zip_with(other, "add", R::wrapping_add)
    }

    /// `self − other` mod 2^k, broadcasting.
    pub fn sub(&self, other: &Self) -> Result<Self> {
        self.zip_with(other, "sub", R::wrapping_sub)
    }

    /// `self · other` elementwise mod 2^k, broadcasting.
    pub fn mul(&self, other: &Self) -> Result<Self> {
        self.zip_with(other, "mul", R::wrapping_mul)
    }

    /// `−self` mod 2^k.
    pub fn neg(&self) -> Self {
        self.map(R::wrapping_neg)
    }

    /// `self + value` for every element.
    pub fn add_scalar(&self, value: R) -> Self {
        self.map(move |x| x.wrapping_add(value))
    }

    /// `self − value` for every element.
    pub fn sub_scalar(&self, value: R) -> Self {
        self.map(move |x| x.wrapping_sub(value))
    }

    /// `self · value` for every element.
    pub fn mul_scalar(&self, value: R) -> Self {
        self.map(move |x| x.wrapping_mul(value))
    }

    /// `self += other` in place; `other` must broadcast to `self`'s shape.
    pub fn add_assign(&mut self, other: &Self) -> Result<()> {
        if self.shape() == other.shape() {
            for (x, &y) in self.as_mut_slice().iter_mut().zip(other.as_slice()) {
                *x = x.wrapping_add(y);
            }
            return Ok(());
        }
        *self = self.add(other)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(shape: &[usize], values: &[i128]) -> RingTensor<u64> {
        let values = values.iter().map(|&v| u64::from_i128_wrapping(v)).collect();
        RingTensor::from_vec(shape, values).unwrap()
    }

    #[test]
    fn arithmetic_wraps() {
        let a = tensor(&[2], &[-1, 5]);
        let b = tensor(&[2], &[2, -7]);
        assert_eq!(a.add(&b).unwrap(), tensor(&[2], &[1, -2]));
        assert_eq!(a.sub(&b).unwrap(), tensor(&[2], &[-3, 12]));
        assert_eq!(a.mul(&b).unwrap(), tensor(&[2], &[-2, -35]));
        assert_eq!(a.neg(), tensor(&[2], &[1, -5]));
        let big = RingTensor::<u64>::from_vec(&[1], vec![u64::MAX]).unwrap();
        assert_eq!(big.add_scalar(2).to_vec(), vec![1]);
        assert_eq!(big.mul_scalar(u64::MAX).to_vec(), vec![1]);
    }

    #[test]
    fn broadcasting_rows_and_columns() {
        let matrix = tensor(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let row = tensor(&[3], &[10, 20, 30]);
        let column = tensor(&[2, 1], &[100, 200]);
        assert_eq!(matrix.add(&row).unwrap(), tensor(&[2, 3], &[11, 22, 33, 14, 25, 36]));
        assert_eq!(matrix.mul(&column).unwrap(), tensor(&[2, 3], &[100, 200, 300, 800, 1000, 1200]));
        assert!(matrix.add(&tensor(&[2], &[1, 2])).is_err());
        let mut accumulator = matrix.clone();
        accumulator.add_assign(&row).unwrap();
        assert_eq!(accumulator, matrix.add(&row).unwrap());
    }

    #[test]
    fn large_tensors_take_the_parallel_path() {
        let n = crate::tensor::PARALLEL_ELEMENTS + 3;
        let a = RingTensor::<u128>::from_vec(&[n], (0..n as u128).collect()).unwrap();
        let sum = a.add(&a).unwrap();
        assert!(sum.as_slice().iter().enumerate().all(|(i, &v)| v == 2 * i as u128));
        let shifted = a.add(&RingTensor::scalar(1)).unwrap();
        assert_eq!(shifted.as_slice()[n - 1], n as u128);
    }
}
