"""python-paillier's figures for `blindfold bench paillier`: the same
operations blindfold times, on one core, printed as JSON
{"version": ..., "gmpy2": ..., "bits": {"2048": {"op": median seconds}}}.

    target/python-paillier/bin/python scripts/bench_python_paillier.py --runs 5 --bits 2048 3072
"""

import argparse
import json
import statistics
import time

import gmpy2
import phe
from phe import paillier


def median_time(work, runs, minimum=0.05):
    work()
    start = time.perf_counter()
    work()
    once = max(time.perf_counter() - start, 1e-9)
    repeats = max(1, int(minimum / once + 0.999))
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(repeats):
            work()
        samples.append((time.perf_counter() - start) / repeats)
    return statistics.median(samples)


def measure(bits, runs):
    start = time.perf_counter()
    public, private = paillier.generate_paillier_keypair(n_length=bits)
    keygen = time.perf_counter() - start
    value = 123456.789
    c = public.encrypt(value)
    d = public.encrypt(42.0)
    features = [(i - 50) / 10.0 for i in range(100)]
    weights = [((i * 37) % 19) / 10.0 - 0.9 for i in range(100)]
    encrypted = [public.encrypt(x) for x in features]

    def dot():
        total = encrypted[0] * weights[0]
        for x, w in zip(encrypted[1:], weights[1:]):
            total = total + x * w
        return total + 0.5

    return {
        "keygen": keygen,
        "encrypt": median_time(lambda: public.encrypt(value), runs),
        "decrypt": median_time(lambda: private.decrypt(c), runs),
        "add": median_time(lambda: c + d, runs),
        "multiply-plaintext": median_time(lambda: c * 0.37, runs),
        "dot-product-100": median_time(dot, runs),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bits", type=int, nargs="+", default=[2048, 3072])
    args = parser.parse_args()
    result = {
        "version": getattr(phe, "__version__", "1.5.0"),
        "gmpy2": gmpy2.version(),
        "bits": {str(bits): measure(bits, args.runs) for bits in args.bits},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
