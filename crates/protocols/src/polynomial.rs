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

#[cfg(test)]
mod tests {
    use super::*;

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
