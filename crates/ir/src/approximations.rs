//! Functions no ring op computes directly, composed from exact comparisons,
//! products and polynomials: absolute value, elementwise max/min and clamps,
//! the exponential, the inverse square root and the private softmax. Each
//! states its error and its rounds; each works on public, private and
//! shared values alike (on a private value the owner computes the same
//! steps in the clear).

use crate::builder::{GraphBuilder, Tensor};
use crate::error::Result;

/// The exponential's domain for its stated error: |x| ≤ 16.
pub const EXP_DOMAIN: f64 = 16.0;

/// How often the exponential squares: exp(x) = p(x/16)^16.
const EXP_SQUARINGS: u32 = 4;

/// Taylor coefficients of e^t, t ∈ [−1, 1], to degree 9 (remainder
/// ≤ e/10! < 7.5·10^−7, relative).
const EXP_TAYLOR: [f64; 10] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
];

impl GraphBuilder {
    /// |x| = 2·relu(x) − x: one comparison round, one product round.
    pub fn abs(&mut self, tensor: Tensor) -> Result<Tensor> {
        let rectified = self.relu(tensor)?;
        let twice = self.add(rectified, rectified)?;
        self.sub(twice, tensor)
    }

    /// max(a, b) elementwise (numpy broadcasting) = b + relu(a − b).
    pub fn maximum(&mut self, a: Tensor, b: Tensor) -> Result<Tensor> {
        let difference = self.sub(a, b)?;
        let excess = self.relu(difference)?;
        self.add(b, excess)
    }

    /// min(a, b) elementwise (numpy broadcasting) = a − relu(a − b).
    pub fn minimum(&mut self, a: Tensor, b: Tensor) -> Result<Tensor> {
        let difference = self.sub(a, b)?;
        let excess = self.relu(difference)?;
        self.sub(a, excess)
    }

    /// e^x for |x| ≤ [`EXP_DOMAIN`]: e^x = p(x/16)^16 with p the degree-9
    /// Taylor polynomial of e^t on [−1, 1] (relative error < 7.5·10^−7) and
    /// four squarings, which multiply p's relative error by 16. With F
    /// fractional bits, p's rounding adds about 3 ulps, so the relative
    /// error is ≤ 16·(7.5·10^−7 + 3·2^−F) + 2^−F/e^x per squaring's
    /// truncation: ≤ 8·10^−4 at F = 16, ≤ 2·10^−5 at F = 32 (tested).
    /// Outside the domain the error grows (p is a Taylor polynomial).
    /// Rounds: 1 (scaling) + the polynomial's + 4.
    pub fn exp(&mut self, tensor: Tensor) -> Result<Tensor> {
        let reduced = self.scale(tensor, 1.0 / f64::from(1u32 << EXP_SQUARINGS))?;
        let mut power = self.polynomial(reduced, &EXP_TAYLOR)?;
        for _ in 0..EXP_SQUARINGS {
            power = self.square(power)?;
        }
        Ok(power)
    }

    /// 1/√x elementwise for x in [2^−(F/2), 2^max_exponent): a guess from
    /// comparisons, then Newton's y ← y·(3 − x·y²)/2.
    ///
    /// The bits b_j = 1[x ≥ 2^j] (one comparison round) select
    /// y₀ = 2^−(k+½)/2 for x in [2^k, 2^(k+1)) as a local sum, within 19% of
    /// 1/√x; five Newton steps (3 product rounds each) bring the relative
    /// error below 2^−20 plus rounding (a few ulps). Rounds: 1 + 15 + 1.
    pub fn inverse_sqrt(&mut self, tensor: Tensor, max_exponent: i32) -> Result<Tensor> {
        let half = (self.graph().fractional_bits() / 2) as i32;
        if max_exponent <= -half || max_exponent > self.graph().fractional_bits() as i32 {
            return Err(self.invalid(
                "inverse_sqrt",
                &format!(
                    "max_exponent {max_exponent} must lie in ({}, {}]",
                    -half,
                    self.graph().fractional_bits()
                ),
            ));
        }
        let guess = |k: i32| 2f64.powf(-(f64::from(k) + 0.5) / 2.0);
        let mut y =
            self.octave_guess(tensor, -half + 1..max_exponent, guess(-half), |j| guess(j) - guess(j - 1))?;
        let three = self.scalar(3.0)?;
        for _ in 0..5 {
            let squared = self.square(y)?;
            let product = self.mul(tensor, squared)?;
            let correction = self.sub(three, product)?;
            let halved = self.scale(correction, 0.5)?;
            y = self.mul(y, halved)?;
        }
        Ok(y)
    }

    /// A guess that depends on x's octave: start + Σ_j 1[x ≥ 2^j]·step(j)
    /// over j in `exponents`, the bits from one comparison round (the
    /// elementwise comparisons of x with every power) and the sum local.
    pub(crate) fn octave_guess(
        &mut self,
        tensor: Tensor,
        exponents: std::ops::Range<i32>,
        start: f64,
        step: impl Fn(i32) -> f64,
    ) -> Result<Tensor> {
        let shape = self.ty(tensor).shape.clone();
        let exponents: Vec<i32> = exponents.collect();
        let mut expanded = shape.clone();
        expanded.push(1);
        let x = self.reshape(tensor, &expanded)?;
        let thresholds: Vec<f64> = exponents.iter().map(|&j| 2f64.powi(j)).collect();
        let thresholds = self.constant(&[exponents.len()], &thresholds)?;
        let differences = self.sub(x, thresholds)?;
        let bits = self.drelu(differences)?;
        let steps: Vec<f64> = exponents.iter().map(|&j| step(j)).collect();
        let steps = self.constant(&[exponents.len()], &steps)?;
        let weighted = self.mul(bits, steps)?;
        let drops = self.sum(weighted, &[shape.len()], false)?;
        let start = self.scalar(start)?;
        self.add(drops, start)
    }

    /// The softmax along the last axis, computed privately:
    /// m = max (a tournament), d = max(x − m, −16) (one comparison), e^d by
    /// [`exp`](Self::exp) on [−16, 0], and the sum's reciprocal (the sum
    /// lies in [1, n]). Error: the exponential's (≤ 8·10^−4 relative at 16
    /// fractional bits) plus the reciprocal's 2^−14, plus e^−16 < 1.2·10^−7
    /// for the terms cut off. Rounds: ⌈log2 n⌉·2 + 2 + the exponential's + 9 + 1.
    pub fn softmax(&mut self, tensor: Tensor) -> Result<Tensor> {
        let shape = self.ty(tensor).shape.clone();
        let Some(&length) = shape.last() else {
            return Err(self.invalid("softmax", "a scalar has no last axis"));
        };
        let largest = self.max_last_axis(tensor)?;
        let mut kept = shape.clone();
        *kept.last_mut().expect("rank ≥ 1") = 1;
        let largest = self.reshape(largest, &kept)?;
        let shifted = self.sub(tensor, largest)?;
        let floor = self.scalar(EXP_DOMAIN)?;
        let lifted = self.add(shifted, floor)?;
        let lifted = self.relu(lifted)?;
        let clamped = self.sub(lifted, floor)?;
        let clamped = self.bounded(clamped, EXP_DOMAIN)?;
        let exponentials = self.exp(clamped)?;
        let total = self.sum(exponentials, &[shape.len() - 1], true)?;
        let max_exponent = (usize::BITS - length.max(1).leading_zeros()) as i32;
        let inverse = self.reciprocal(total, max_exponent)?;
        self.mul(exponentials, inverse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_taylor_coefficients_are_the_factorials() {
        let mut factorial = 1.0;
        for (i, &c) in EXP_TAYLOR.iter().enumerate() {
            if i > 0 {
                factorial *= i as f64;
            }
            assert!((c - 1.0 / factorial).abs() < 1e-18);
        }
    }

    #[test]
    fn inverse_sqrt_rejects_exponents_outside_its_range() {
        let mut g = GraphBuilder::new();
        let x = g.private_input("a", "x", &[2]).unwrap();
        assert!(g.inverse_sqrt(x, 40).is_err());
        assert!(g.inverse_sqrt(x, 8).is_ok());
    }
}
