"""The TLS transport's cost per round and per session: a chain of products
(one round each) on five `blindfold worker` processes on loopback, beside
the same graph in this process; medians of 7.

    python crates/python/benchmarks/round_latency.py [--binary target/release/blindfold]
"""

import argparse
import json
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import blindfold as bf

REPOSITORY = Path(__file__).resolve().parents[3]
PARTIES = ["server0", "server1", "producer", "alice", "bob"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(REPOSITORY / "target" / "release" / "blindfold"))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        config = 'ca = "certs/ca.pem"\ntimeout_s = 20\n'
        for party in PARTIES:
            (root / "data" / party).mkdir(parents=True)
            (root / "approved" / party).mkdir(parents=True)
            config += (
                f'\n[parties.{party}]\nendpoint = "127.0.0.1:{free_port()}"\ncertificate = "certs/{party}.pem"\n'
                f'key = "certs/{party}.key"\napproved_dir = "approved/{party}"\n'
            )
        config += '\n[operators.ops]\ncertificate = "certs/ops.pem"\nkey = "certs/ops.key"\n'
        (root / "parties.toml").write_text(config)
        subprocess.run([args.binary, "certs", "--config", root / "parties.toml", "--out", root / "certs"], check=True)
        workers = [
            subprocess.Popen(
                [args.binary, "worker", "--config", root / "parties.toml", "--party", party],
                stderr=subprocess.DEVNULL,
            )
            for party in PARTIES
        ]
        try:
            time.sleep(1)
            np.save(root / "data" / "alice" / "x.npy", np.ones((1, 1)))
            np.save(root / "data" / "bob" / "y.npy", np.ones((1, 1)))
            records = []
            for products in (1, 50):
                g = bf.Graph()
                x, y = g.private_input("alice", "x", (1, 1)), g.private_input("bob", "y", (1, 1))
                z = x
                for _ in range(products):
                    z = z * y
                g.output("alice", "z", z)
                for party in PARTIES:
                    (root / "approved" / party / f"chain-{products}.graph").write_bytes(g.to_bytes())
                launcher, session, in_process = [], [], []
                for _ in range(args.runs):
                    record = g.run(
                        {"alice": {"x": "x.npy"}, "bob": {"y": "y.npy"}}, parties=str(root / "parties.toml"), out="o"
                    ).profile
                    launcher.append(record["wall_s"])
                    session.append(max(p["wall_s"] for p in record["report"]["parties"]))
                    in_process.append(
                        g.run({"alice": {"x": np.ones((1, 1))}, "bob": {"y": np.ones((1, 1))}}).profile["wall_s"]
                    )
                records.append(
                    {
                        "products": products,
                        "rounds": record["rounds"],
                        "tls_launcher_median_s": statistics.median(launcher),
                        "tls_session_median_s": statistics.median(session),
                        "in_process_median_s": statistics.median(in_process),
                    }
                )
        finally:
            for worker in workers:
                worker.kill()
                worker.wait()
    one, fifty = records
    rounds = fifty["rounds"] - one["rounds"]
    print(
        json.dumps(
            {
                "records": records,
                "tls_per_round_s": (fifty["tls_session_median_s"] - one["tls_session_median_s"]) / rounds,
                "in_process_per_round_s": (fifty["in_process_median_s"] - one["in_process_median_s"]) / rounds,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
