//! Shape operations: reshape, transpose, slice, concatenate, stack, broadcast.

use ndarray::{Axis, IxDyn};

use crate::element::RingElement;
use crate::error::{Result, RingError};
use crate::tensor::RingTensor;

impl<R: RingElement> RingTensor<R> {
    /// The same elements in a new shape with as many elements.
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        if shape.iter().product::<usize>() != self.len() {
            return Err(RingError::ShapeMismatch {
                operation: "reshape",
                left: self.shape().to_vec(),
                right: shape.to_vec(),
                reason: "element counts differ",
            });
        }
        RingTensor::from_vec(shape, self.to_vec())
    }

    /// Permutes the axes: output axis i is input axis `permutation[i]`.
    /// `None` reverses the axes (numpy's default).
    pub fn transpose(&self, permutation: Option<&[usize]>) -> Result<Self> {
        let permutation: Vec<usize> = match permutation {
            Some(p) => p.to_vec(),
            None => (0..self.ndim()).rev().collect(),
        };
        let mut seen = vec![false; self.ndim()];
        let valid = permutation.len() == self.ndim()
            && permutation.iter().all(|&axis| axis < seen.len() && !std::mem::replace(&mut seen[axis], true));
        if !valid {
            return Err(RingError::InvalidArgument {
                operation: "transpose",
                reason: format!("{permutation:?} is not a permutation of the {} axes", self.ndim()),
            });
        }
        let view = self.as_array().view().permuted_axes(IxDyn(&permutation));
        Ok(RingTensor::from_array(view.to_owned()))
    }

    /// Elements `start, start + step, …` below `end` along `axis`.
    pub fn slice_axis(&self, axis: usize, start: usize, end: usize, step: usize) -> Result<Self> {
        self.check_axis("slice", axis)?;
        let length = self.shape()[axis];
        if step == 0 || start > end || end > length {
            return Err(RingError::InvalidArgument {
                operation: "slice",
                reason: format!(
                    "range {start}..{end} step {step} does not fit axis {axis} of length {length}"
                ),
            });
        }
        // Contiguous runs copied whole: a strided view copied element by
        // element was a fifth of a CNN's private prediction (max-pooling
        // slices its windows).
        let inner: usize = self.shape()[axis + 1..].iter().product();
        let outer: usize = self.shape()[..axis].iter().product();
        let count = (end - start).div_ceil(step);
        let data = self.as_slice();
        let mut values = Vec::with_capacity(outer * count * inner);
        for block in data.chunks_exact((length * inner).max(1)).take(outer) {
            if step == 1 {
                values.extend_from_slice(&block[start * inner..end * inner]);
            } else {
                for index in (start..end).step_by(step) {
                    values.extend_from_slice(&block[index * inner..(index + 1) * inner]);
                }
            }
        }
        let mut shape = self.shape().to_vec();
        shape[axis] = count;
        RingTensor::from_vec(&shape, values)
    }

    /// The slices `indices[0], indices[1], …` along `axis` (numpy's `take`).
    pub fn select(&self, axis: usize, indices: &[usize]) -> Result<Self> {
        self.check_axis("select", axis)?;
        let length = self.shape()[axis];
        if let Some(bad) = indices.iter().find(|&&i| i >= length) {
            return Err(RingError::InvalidArgument {
                operation: "select",
                reason: format!("index {bad} is outside axis {axis} of length {length}"),
            });
        }
        Ok(RingTensor::from_array(self.as_array().select(Axis(axis), indices)))
    }

    /// Joins tensors along an existing axis; all other dimensions must agree.
    pub fn concat(tensors: &[&Self], axis: usize) -> Result<Self> {
        let first = Self::first("concat", tensors)?;
        first.check_axis("concat", axis)?;
        for tensor in tensors {
            let same_rank = tensor.ndim() == first.ndim();
            let agree =
                same_rank && (0..first.ndim()).all(|i| i == axis || tensor.shape()[i] == first.shape()[i]);
            if !agree {
                return Err(RingError::ShapeMismatch {
                    operation: "concat",
                    left: first.shape().to_vec(),
                    right: tensor.shape().to_vec(),
                    reason: "dimensions other than the joined axis differ",
                });
            }
        }
        let views: Vec<_> = tensors.iter().map(|t| t.as_array().view()).collect();
        let array = ndarray::concatenate(Axis(axis), &views).expect("shapes checked above");
        Ok(RingTensor::from_array(array))
    }

    /// Joins equally shaped tensors along a new axis.
    pub fn stack(tensors: &[&Self], axis: usize) -> Result<Self> {
        let first = Self::first("stack", tensors)?;
        if axis > first.ndim() {
            return Err(RingError::InvalidArgument {
                operation: "stack",
                reason: format!("axis {axis} is out of range for rank {}", first.ndim() + 1),
            });
        }
        if let Some(other) = tensors.iter().find(|t| t.shape() != first.shape()) {
            return Err(RingError::ShapeMismatch {
                operation: "stack",
                left: first.shape().to_vec(),
                right: other.shape().to_vec(),
                reason: "stacked tensors must have equal shapes",
            });
        }
        let views: Vec<_> = tensors.iter().map(|t| t.as_array().view()).collect();
        let array = ndarray::stack(Axis(axis), &views).expect("shapes checked above");
        Ok(RingTensor::from_array(array))
    }

    /// The tensor repeated along broadcast dimensions to `shape`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Self> {
        match self.as_array().broadcast(IxDyn(shape)) {
            Some(view) => Ok(RingTensor::from_array(view.to_owned())),
            None => Err(RingError::ShapeMismatch {
                operation: "broadcast_to",
                left: self.shape().to_vec(),
                right: shape.to_vec(),
                reason: "cannot broadcast",
            }),
        }
    }

    pub(crate) fn check_axis(&self, operation: &'static str, axis: usize) -> Result<()> {
        if axis >= self.ndim() {
            return Err(RingError::InvalidArgument {
                operation,
                reason: format!("axis {axis} is out of range for shape {:?}", self.shape()),
            });
        }
        Ok(())
    }

    fn first<'a>(operation: &'static str, tensors: &[&'a Self]) -> Result<&'a Self> {
        tensors
            .first()
            .copied()
            .ok_or(RingError::InvalidArgument { operation, reason: "no tensors given".to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(shape: &[usize]) -> RingTensor<u64> {
        let n = shape.iter().product::<usize>() as u64;
        RingTensor::from_vec(shape, (0..n).collect()).unwrap()
    }

    #[test]
    fn reshape_and_transpose() {
        let t = range(&[2, 3]);
        assert_eq!(t.reshape(&[3, 2]).unwrap().to_vec(), vec![0, 1, 2, 3, 4, 5]);
        assert!(t.reshape(&[4]).is_err());
        assert_eq!(t.transpose(None).unwrap().to_vec(), vec![0, 3, 1, 4, 2, 5]);
        let cube = range(&[2, 3, 4]);
        let moved = cube.transpose(Some(&[1, 2, 0])).unwrap();
        assert_eq!(moved.shape(), &[3, 4, 2]);
        assert_eq!(moved.as_array()[[2, 1, 1]], cube.as_array()[[1, 2, 1]]);
        assert!(cube.transpose(Some(&[0, 0, 1])).is_err());
    }

    #[test]
    fn slices_equal_ndarrays_on_every_axis_and_step() {
        let cube = range(&[3, 5, 4, 2]);
        for axis in 0..4 {
            let length = cube.shape()[axis];
            for (start, end, step) in [(0, length, 1), (1, length, 2), (0, 1, 1), (1, 1, 1), (0, length, 3)] {
                let slice = ndarray::Slice::new(start as isize, Some(end as isize), step as isize);
                let expected = cube.as_array().slice_axis(Axis(axis), slice).to_owned();
                let got = cube.slice_axis(axis, start, end, step).unwrap();
                assert_eq!(got.as_array(), &expected, "axis {axis}, {start}..{end} step {step}");
            }
        }
    }

    #[test]
    fn slice_concat_stack() {
        let t = range(&[4, 2]);
        assert_eq!(t.slice_axis(0, 1, 4, 2).unwrap().to_vec(), vec![2, 3, 6, 7]);
        assert!(t.slice_axis(0, 3, 5, 1).is_err());
        assert!(t.slice_axis(2, 0, 1, 1).is_err());
        let joined = RingTensor::concat(&[&t, &range(&[1, 2])], 0).unwrap();
        assert_eq!(joined.shape(), &[5, 2]);
        assert!(RingTensor::concat(&[&t, &range(&[1, 3])], 0).is_err());
        let stacked = RingTensor::stack(&[&t, &t], 2).unwrap();
        assert_eq!(stacked.shape(), &[4, 2, 2]);
        assert_eq!(stacked.as_array()[[3, 1, 1]], 7);
        assert!(RingTensor::<u64>::stack(&[], 0).is_err());
    }

    #[test]
    fn broadcast_to_repeats() {
        let row = range(&[3]);
        assert_eq!(row.broadcast_to(&[2, 3]).unwrap().to_vec(), vec![0, 1, 2, 0, 1, 2]);
        assert!(row.broadcast_to(&[2, 2]).is_err());
    }
}
