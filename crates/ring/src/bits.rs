//! Shifts, bit extraction and comparisons under the signed reading.

use crate::element::RingElement;
use crate::error::{Result, RingError};
use crate::tensor::RingTensor;

impl<R: RingElement> RingTensor<R> {
    /// Left shift of every element by `bits` (< k).
    pub fn shift_left(&self, bits: u32) -> Result<Self> {
        check_shift::<R>("shift_left", bits)?;
        Ok(self.map(move |x| x.shift_left(bits)))
    }

    /// Logical right shift of every element by `bits` (< k).
    pub fn shift_right_logical(&self, bits: u32) -> Result<Self> {
        check_shift::<R>("shift_right_logical", bits)?;
        Ok(self.map(move |x| x.shift_right_logical(bits)))
    }

    /// Arithmetic right shift (signed reading) of every element by `bits` (< k).
    pub fn shift_right_arithmetic(&self, bits: u32) -> Result<Self> {
        check_shift::<R>("shift_right_arithmetic", bits)?;
        Ok(self.map(move |x| x.shift_right_arithmetic(bits)))
    }

    /// Bit `index` (0 = least significant) of every element, as 0 or 1.
    pub fn bit(&self, index: u32) -> Result<Self> {
        check_shift::<R>("bit", index)?;
        Ok(self.map(move |x| x.bit(index)))
    }

    /// All k bits of every element, least significant first, along a new
    /// last axis of length k.
    pub fn bit_decompose(&self) -> Self {
        let mut shape = self.shape().to_vec();
        shape.push(R::BITS as usize);
        let values = self.as_slice().iter().flat_map(|&x| (0..R::BITS).map(move |i| x.bit(i))).collect();
        RingTensor::from_vec(&shape, values).expect("length is len · k")
    }

    /// The most significant bit of every element: 1 where the signed reading
    /// is negative.
    pub fn most_significant_bit(&self) -> Self {
        self.map(|x| x.bit(R::BITS - 1))
    }

    /// 1 where `self < other` under the signed reading, else 0; broadcasting.
    pub fn less_than(&self, other: &Self) -> Result<Self> {
        self.zip_with(other, "less_than", |x, y| indicator(x.signed_less_than(y)))
    }

    /// 1 where `self > other` under the signed reading, else 0; broadcasting.
    pub fn greater_than(&self, other: &Self) -> Result<Self> {
        self.zip_with(other, "greater_than", |x, y| indicator(y.signed_less_than(x)))
    }

    /// 1 where `self == other`, else 0; broadcasting.
    pub fn equal(&self, other: &Self) -> Result<Self> {
        self.zip_with(other, "equal", |x, y| indicator(x == y))
    }
}

fn indicator<R: RingElement>(condition: bool) -> R {
    if condition { R::ONE } else { R::ZERO }
}

fn check_shift<R: RingElement>(operation: &'static str, bits: u32) -> Result<()> {
    if bits >= R::BITS {
        return Err(RingError::InvalidArgument {
            operation,
            reason: format!("{bits} is not below the ring's {} bits", R::BITS),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed<R: RingElement>(values: &[i128]) -> RingTensor<R> {
        RingTensor::from_vec(&[values.len()], values.iter().map(|&v| R::from_i128_wrapping(v)).collect())
            .unwrap()
    }

    fn shifts_and_comparisons<R: RingElement>() {
        let t = signed::<R>(&[-8, 7, 0, -1]);
        assert_eq!(t.shift_right_arithmetic(2).unwrap(), signed(&[-2, 1, 0, -1]));
        assert_eq!(t.shift_left(1).unwrap(), signed(&[-16, 14, 0, -2]));
        let logical = t.shift_right_logical(R::BITS - 1).unwrap();
        assert_eq!(logical, signed(&[1, 0, 0, 1]));
        assert_eq!(t.most_significant_bit(), logical);
        assert_eq!(t.bit(0).unwrap(), signed(&[0, 1, 0, 1]));
        assert!(t.bit(R::BITS).is_err());
        assert!(t.shift_left(R::BITS).is_err());
        let other = signed::<R>(&[-7, 7, -1, 0]);
        assert_eq!(t.less_than(&other).unwrap(), signed(&[1, 0, 0, 1]));
        assert_eq!(t.greater_than(&other).unwrap(), signed(&[0, 0, 1, 0]));
        assert_eq!(t.equal(&other).unwrap(), signed(&[0, 1, 0, 0]));
        let most_negative = R::ONE.shift_left(R::BITS - 1);
        let most_positive = most_negative.wrapping_sub(R::ONE);
        let extremes = RingTensor::from_vec(&[2], vec![most_negative, most_positive]).unwrap();
        assert_eq!(extremes.less_than(&RingTensor::scalar(R::ZERO)).unwrap(), signed(&[1, 0]));
        assert_eq!(extremes.most_significant_bit(), signed(&[1, 0]));
    }

    #[test]
    fn shifts_and_comparisons_in_both_rings() {
        shifts_and_comparisons::<u64>();
        shifts_and_comparisons::<u128>();
    }

    #[test]
    fn bit_decomposition_reassembles() {
        let t = signed::<u64>(&[-3, 12345]);
        let bits = t.bit_decompose();
        assert_eq!(bits.shape(), &[2, 64]);
        for (row, &value) in bits.as_slice().chunks(64).zip(t.as_slice()) {
            let rebuilt = row.iter().enumerate().fold(0u64, |acc, (i, &b)| acc | (b << i));
            assert_eq!(rebuilt, value);
        }
    }
}
