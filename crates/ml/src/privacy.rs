//! The Rényi-DP accountant of DP-SGD: the subsampled Gaussian mechanism
//! (Mironov, Talwar and Zhang 2019, "Rényi Differential Privacy of the
//! Sampled Gaussian Mechanism") composed over the training's steps, then
//! converted to (ε, δ) with the improved bound of Balle et al. 2020
//! (Proposition 12) — the accounting of TF Privacy, Opacus and Google's
//! dp_accounting, at integer orders 2 to 256 (checked against
//! dp_accounting's `RdpAccountant` in scripts/check_dp_accountant.py).
//!
//! Each step samples a batch at rate q = batch / rows and adds Gaussian
//! noise of standard deviation σ·C to the sum of the gradients clipped to
//! norm C. (Batches here come from a shuffle, not Poisson sampling: the
//! accounting's usual approximation, as in Opacus and TF Privacy.)

/// The orders at which the Rényi divergence is evaluated.
pub const ORDERS: std::ops::RangeInclusive<u32> = 2..=256;

/// log(e^a + e^b), stably.
fn log_add(a: f64, b: f64) -> f64 {
    let (high, low) = if a > b { (a, b) } else { (b, a) };
    if low == f64::NEG_INFINITY { high } else { high + (low - high).exp().ln_1p() }
}

/// log m! for m = 0..=n.
fn log_factorials(n: u32) -> Vec<f64> {
    let mut table = vec![0.0; n as usize + 1];
    for m in 1..=n as usize {
        table[m] = table[m - 1] + (m as f64).ln();
    }
    table
}

/// The Rényi divergence of order `alpha` of one step of the subsampled
/// Gaussian mechanism with sampling rate `q` and noise multiplier `sigma`.
pub fn step_rdp(q: f64, sigma: f64, alpha: u32) -> f64 {
    if q == 0.0 {
        return 0.0;
    }
    if q >= 1.0 {
        return f64::from(alpha) / (2.0 * sigma * sigma);
    }
    let (log_q, log_1mq) = (q.ln(), (-q).ln_1p());
    let ln_factorial = log_factorials(alpha);
    let log_binomial =
        |k: u32| ln_factorial[alpha as usize] - ln_factorial[k as usize] - ln_factorial[(alpha - k) as usize];
    let mut log_a = f64::NEG_INFINITY;
    for i in 0..=alpha {
        let i_f = f64::from(i);
        let term = log_binomial(i)
            + i_f * log_q
            + f64::from(alpha - i) * log_1mq
            + (i_f * i_f - i_f) / (2.0 * sigma * sigma);
        log_a = log_add(log_a, term);
    }
    log_a / f64::from(alpha - 1)
}

/// (ε, the best order) of `steps` steps at sampling rate `q` and noise
/// multiplier `sigma`, for `delta`.
pub fn epsilon(q: f64, sigma: f64, steps: usize, delta: f64) -> (f64, u32) {
    let mut best = (f64::INFINITY, 0);
    for alpha in ORDERS {
        let rdp = steps as f64 * step_rdp(q, sigma, alpha);
        let a = f64::from(alpha);
        let eps = if rdp < 0.0 || delta * delta + (-rdp).exp_m1() > 0.0 {
            0.0
        } else {
            rdp + (-1.0 / a).ln_1p() - (delta * a).ln() / (a - 1.0)
        };
        if eps < best.0 {
            best = (eps, alpha);
        }
    }
    (best.0.max(0.0), best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from Google's dp_accounting 0.4 (`RdpAccountant(orders=range(2, 257))`
    /// with a `PoissonSampledDpEvent` of a `GaussianDpEvent`), as
    /// scripts/check_dp_accountant.py prints them.
    #[test]
    fn epsilon_matches_dp_accounting() {
        let cases = [
            ((0.1, 1.1, 100, 1e-05), 6.745046581290989),
            ((0.01, 1.0, 1000, 1e-05), 2.1077530754515745),
            ((0.004266666666666667, 1.1, 14100, 1e-05), 2.6007181389425194),
            ((0.0935672514619883, 1.0, 100, 0.001), 5.249140692363059),
            ((0.5, 4.0, 20, 1e-06), 2.952235128010842),
        ];
        for ((q, sigma, steps, delta), reference) in cases {
            let (eps, _) = epsilon(q, sigma, steps, delta);
            assert!((eps - reference).abs() < 1e-3, "q {q} σ {sigma} {steps} steps: {eps} vs {reference}");
        }
    }

    #[test]
    fn no_sampling_or_full_batches() {
        assert_eq!(step_rdp(0.0, 1.0, 4), 0.0);
        assert!((step_rdp(1.0, 2.0, 4) - 4.0 / 8.0).abs() < 1e-12);
    }
}
