"""Fits the clamped sigmoid's polynomial (crates/ir/src/builder.rs,
SIGMOID_CLAMP and SIGMOID_CLAMPED_COEFFICIENTS).

The clamped sigmoid computes p(clamp(x, -a, a) / a) with p an odd degree-11
polynomial plus 1/2. Its error on the whole line is the larger of the fit's
error on [-a, a] and, beyond the clamp, |p(1) - sigmoid(x)| for x > a,
which is smallest when p(1) sits in the middle of [sigmoid(a), 1]. So the
fit (iteratively reweighted least squares towards the max norm) targets
that middle at t = +-1, and each clamp a is judged by its error on the
whole line. Prints each clamp's error, then the coefficients for the best
one and their error after rounding to 16 fractional bits.

    python3 scripts/fit_sigmoid.py
"""

import numpy as np

POWERS = list(range(1, 12, 2))
LINE = np.linspace(-30, 30, 600001)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def whole_line_error(coefficients, clamp, rounding=None):
    t = np.clip(LINE / clamp, -1, 1)
    if rounding:
        coefficients = np.round(np.asarray(coefficients) * rounding) / rounding
        t = np.round(t * rounding) / rounding
    value = 0.5 + sum(c * t**p for c, p in zip(coefficients, POWERS))
    return np.abs(value - sigmoid(LINE)).max()


def fit(clamp, iterations=300):
    t = np.linspace(-1, 1, 20001)
    target = sigmoid(clamp * t) - 0.5
    beyond = (1 - sigmoid(clamp)) / 2
    target[-1] += beyond
    target[0] -= beyond
    design = np.stack([t**p for p in POWERS], 1)
    weights = np.ones_like(t)
    best = None
    for _ in range(iterations):
        root = np.sqrt(weights)
        coefficients, *_ = np.linalg.lstsq(design * root[:, None], target * root, rcond=None)
        error = np.abs(design @ coefficients - target)
        error[[0, -1]] += beyond
        total = whole_line_error(coefficients, clamp)
        if best is None or total < best[1]:
            best = (coefficients.copy(), total)
        weights = weights * (error / error.max() + 1e-3)
        weights /= weights.mean()
    return best


def main():
    fits = {clamp: fit(clamp) for clamp in [5.5, 6.0, 6.5, 7.0, 8.0]}
    for clamp, (coefficients, error) in fits.items():
        print(f"clamp {clamp}: error {error:.5f} on the whole line, largest coefficient {np.abs(coefficients).max():.1f}")
    clamp = min(fits, key=lambda c: fits[c][1])
    coefficients, error = fits[clamp]
    print(f"\nclamp {clamp}: error {error:.6f}")
    for power, value in zip(POWERS, coefficients):
        print(f"  t^{power}: {value!r}")
    print(f"with 16 fractional bits: {whole_line_error(coefficients, clamp, 2.0**16):.6f}")


if __name__ == "__main__":
    main()
