"""Reference values for blindfold's Rényi-DP accountant (crates/ml/src/privacy.rs):
Google's dp_accounting RdpAccountant at integer orders 2..256, for a
Poisson-sampled Gaussian mechanism composed over the steps. The Rust test
`epsilon_matches_dp_accounting` holds these numbers.

    python3 -m venv /tmp/dp && /tmp/dp/bin/pip install dp-accounting
    /tmp/dp/bin/python scripts/check_dp_accountant.py
"""

import dp_accounting
from dp_accounting import rdp

CASES = [
    (0.1, 1.1, 100, 1e-5),
    (0.01, 1.0, 1000, 1e-5),
    (256 / 60000, 1.1, 60 * 235, 1e-5),
    (32 / 342, 1.0, 10 * 10, 1e-3),
    (0.5, 4.0, 20, 1e-6),
]

for q, sigma, steps, delta in CASES:
    accountant = rdp.RdpAccountant(orders=list(range(2, 257)))
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps
    )
    accountant.compose(event)
    print(f"(({q!r}, {sigma!r}, {steps}, {delta!r}), {float(accountant.get_epsilon(delta))!r}),")
