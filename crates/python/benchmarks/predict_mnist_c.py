"""predict() on MNIST network C at batch 100, beside the same call through
the CLI (`blindfold predict --batch 100 --json`), alternating, in one run.

    python crates/python/benchmarks/predict_mnist_c.py [--runs 3] [--binary target/release/blindfold]

Both time the private sessions the same way (their own `wall_s`); the
Python figure also reports the whole call (ONNX import, array
conversion). Prints one JSON record.
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import blindfold as bf

REPOSITORY = Path(__file__).resolve().parents[3]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--binary", default=str(REPOSITORY / "target" / "release" / "blindfold"))
    parser.add_argument("--network", default="c")
    args = parser.parse_args()
    model = REPOSITORY / "models" / f"mnist-{args.network}.onnx"
    images = np.load(REPOSITORY / "models" / "mnist-sample-images.npy").astype(np.float64)
    x = np.concatenate([images] * 7)[:100].reshape(100, 1, 28, 28) / 255.0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "images.npy"
        np.save(path, x)
        command = [args.binary, "predict", "--model", str(model), "--input", str(path), "--batch", "100", "--json"]
        python_session, python_call, cli_session, cli_process = [], [], [], []
        bf.predict(model, x[:1])  # warm up the thread pools
        for _ in range(args.runs):
            started = time.perf_counter()
            outputs, summary = bf.predict(model, x, batch=100, return_summary=True)
            python_call.append(time.perf_counter() - started)
            python_session.append(summary["wall_s"])
            started = time.perf_counter()
            record = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            cli_process.append(time.perf_counter() - started)
            cli_session.append(record["wall_s"])
            assert record["predictions"] == outputs.argmax(axis=1).tolist()
    median = statistics.median
    print(
        json.dumps(
            {
                "workload": f"predict MNIST {args.network.upper()}, batch 100",
                "runs": args.runs,
                "python_session_median_s": median(python_session),
                "python_call_median_s": median(python_call),
                "cli_session_median_s": median(cli_session),
                "cli_process_median_s": median(cli_process),
                "python_over_cli": median(python_session) / median(cli_session),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
