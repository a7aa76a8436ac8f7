//! Sums and means over axes.

use ndarray::Axis;

use crate::element::RingElement;
use crate::error::{Result, RingError};
use crate::tensor::RingTensor;

impl<R: RingElement> RingTensor<R> {
    /// The wrapping sum over `axes` (any order, no repeats); `keep_dims`
    /// leaves the summed axes in place with length 1.
    pub fn sum_axes(&self, axes: &[usize], keep_dims: bool) -> Result<Self> {
        let mut sorted = axes.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != axes.len() {
            return Err(RingError::InvalidArgument {
                operation: "sum",
                reason: format!("axes {axes:?} repeat an axis"),
            });
        }
        for &axis in &sorted {
            self.check_axis("sum", axis)?;
        }
        let mut array = self.as_array().clone();
        for &axis in sorted.iter().rev() {
            let summed = array.fold_axis(Axis(axis), R::ZERO, |total, &x| total.wrapping_add(x));
            array = if keep_dims { summed.insert_axis(Axis(axis)) } else { summed };
        }
        Ok(RingTensor::from_array(array))
    }

    /// The wrapping sum of all elements.
    pub fn sum_all(&self) -> R {
        self.as_slice().iter().fold(R::ZERO, |total, &x| total.wrapping_add(x))
    }

    /// The mean over `axes` under the signed reading: the exact sum divided
    /// by the count and rounded to nearest, ties away from zero. (A mean of
    /// secret shares is instead a product with the public fixed-point 1/count
    /// followed by truncation; that lives in the protocols.)
    pub fn mean_axes(&self, axes: &[usize], keep_dims: bool) -> Result<Self> {
        let count: usize = axes.iter().filter_map(|&a| self.shape().get(a)).product();
        if count == 0 {
            return Err(RingError::InvalidArgument {
                operation: "mean",
                reason: format!(
                    "the mean over axes {axes:?} of shape {:?} is over no elements",
                    self.shape()
                ),
            });
        }
        let sum = self.sum_axes(axes, keep_dims)?;
        let count = count as i128;
        Ok(sum.map(|total| {
            let value = total.to_i128();
            let half = count / 2;
            let rounded = if value >= 0 { (value + half) / count } else { (value - half) / count };
            R::from_i128_wrapping(rounded)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(shape: &[usize], values: &[i128]) -> RingTensor<u64> {
        RingTensor::from_vec(shape, values.iter().map(|&v| u64::from_i128_wrapping(v)).collect()).unwrap()
    }

    #[test]
    fn sums_over_axes() {
        let t = signed(&[2, 3], &[1, 2, 3, 4, 5, -6]);
        assert_eq!(t.sum_axes(&[0], false).unwrap(), signed(&[3], &[5, 7, -3]));
        assert_eq!(t.sum_axes(&[1], true).unwrap(), signed(&[2, 1], &[6, 3]));
        assert_eq!(t.sum_axes(&[1, 0], false).unwrap(), signed(&[], &[9]));
        assert_eq!(t.sum_all(), 9);
        assert!(t.sum_axes(&[2], false).is_err());
        assert!(t.sum_axes(&[0, 0], false).is_err());
    }

    #[test]
    fn mean_rounds_to_nearest_ties_away_from_zero() {
        let t = signed(&[2, 2], &[1, 2, -1, -2]);
        // 3/2 = 1.5 -> 2; -3/2 -> -2.
        assert_eq!(t.mean_axes(&[1], false).unwrap(), signed(&[2], &[2, -2]));
        assert_eq!(signed(&[3], &[1, 1, 2]).mean_axes(&[0], false).unwrap(), signed(&[], &[1]));
        assert!(signed(&[0], &[]).mean_axes(&[0], false).is_err());
    }
}
