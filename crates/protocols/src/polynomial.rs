//! The evaluation plan of Σ c_i·x^i shared by the secure and the clear
//! evaluation, so both truncate at the same places.
//!
//! Power p ≥ 2 is x^h · x^(p−h) with h the largest power of two below p,
//! truncated; all powers of one round depend only on earlier rounds, so
//! degree d takes ⌈log2 d⌉ rounds (degree 7: x², then x³ and x⁴, then
//! x⁵…x⁷). Powers are computed only where a coefficient or a later power
//! needs them. The sum Σ_{i≥1} enc_F(c_i)·x^i + enc_2F(c_0) is truncated
//! once.

/// One product of the plan: `power = low_factor + high_factor` in `round`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PowerStep {
    pub power: usize,
    pub high: usize,
    pub low: usize,
    pub round: u32,
}

/// The products that compute the powers needed by `coefficients`, in
/// execution order (by round, then by power).
pub fn plan(coefficients: &[f64]) -> Vec<PowerStep> {
    let degree = coefficients.iter().rposition(|&c| c != 0.0).unwrap_or(0);
    let mut needed = vec![false; degree + 1];
    for power in (2..=degree).rev() {
        if coefficients[power] != 0.0 || needed[power] {
            needed[power] = true;
            let high = split(power);
            needed[high] = true;
            needed[power - high] = true;
        }
    }
    let mut steps: Vec<PowerStep> = (2..=degree)
        .filter(|&p| needed[p])
        .map(|power| {
            let high = split(power);
            PowerStep { power, high, low: power - high, round: usize::BITS - (power - 1).leading_zeros() }
        })
        .collect();
    steps.sort_by_key(|s| (s.round, s.power));
    steps
}

/// The largest power of two below `power` (≥ 2).
fn split(power: usize) -> usize {
    1 << (usize::BITS - 1 - (power - 1).leading_zeros())
}

/// Rounds of communication the plan takes.
pub fn rounds(steps: &[PowerStep]) -> u32 {
    steps.iter().map(|s| s.round).max().unwrap_or(0)
}

/// A bound, in ulps (2^−F), on how far a secure evaluation with local
/// truncation can be from the exact-truncation reference, for inputs with
/// |x| ≤ `max_input` that already differ by up to `input_error` ulps.
///
/// A power x^p = x^h · x^l whose factors differ by e_h and e_l ulps differs
/// by at most M^h·e_l + M^l·e_h ulps before truncation (M = `max_input`,
/// dropping the e_h·e_l·2^−F term, below an ulp for the ranges here), and
/// truncation adds at most 2 (local truncation is off by one from floor,
/// and floors of different values differ by one more). The result differs
/// by Σ |c_i|·e_i + 2.
pub fn error_bound_ulps(coefficients: &[f64], max_input: f64, input_error: f64) -> f64 {
    let mut errors = vec![0.0; coefficients.len().max(2)];
    errors[1] = input_error;
    for step in plan(coefficients) {
        errors[step.power] = max_input.powi(step.high as i32) * errors[step.low]
            + max_input.powi(step.low as i32) * errors[step.high]
            + 2.0;
    }
    coefficients.iter().zip(&errors).skip(1).map(|(c, e)| c.abs() * e).sum::<f64>() + 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bounds_grow_with_degree_and_range() {
        assert_eq!(error_bound_ulps(&[1.0, 2.0], 10.0, 0.0), 2.0);
        assert_eq!(error_bound_ulps(&[0.0, 0.0, 1.0], 1.0, 0.0), 4.0);
        let small = error_bound_ulps(&[0.0, 0.0, 0.0, 1.0], 1.0, 1.0);
        let large = error_bound_ulps(&[0.0, 0.0, 0.0, 1.0], 4.0, 1.0);
        assert!(small < large);
    }

    #[test]
    fn degree_seven_odd_takes_three_rounds_and_skips_x6() {
        let steps = plan(&[0.5, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
        let powers: Vec<usize> = steps.iter().map(|s| s.power).collect();
        assert_eq!(powers, [2, 3, 4, 5, 7]);
        assert_eq!(rounds(&steps), 3);
        assert_eq!(steps[4], PowerStep { power: 7, high: 4, low: 3, round: 3 });
    }

    #[test]
    fn low_degrees() {
        assert!(plan(&[1.0, 2.0]).is_empty());
        assert!(plan(&[3.0]).is_empty());
        assert_eq!(rounds(&plan(&[0.0, 0.0, 1.0])), 1);
        assert_eq!(rounds(&plan(&[0.0, 0.0, 0.0, 1.0])), 2);
        assert_eq!(rounds(&plan(&[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])), 3);
    }
}
