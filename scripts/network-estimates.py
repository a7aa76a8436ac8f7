#!/usr/bin/env python3
"""LAN and WAN estimates from a loopback benchmark, where netem is missing.

    blindfold bench inference --transport tls --json > tls.json
    python3 scripts/network-estimates.py tls.json

For each TLS record: the measured loopback session + rounds × round trip +
bytes ÷ bandwidth, with all traffic on one link (as
scripts/emulate-network.sh emulates); the last column counts only the
online bytes (the producer's material shipped ahead of time). Estimates,
not measurements.
"""

import json
import sys

PROFILES = {"LAN": (0.0002, 10e9), "WAN": (0.040, 100e6)}


def seconds(value: float) -> str:
    return f"{value * 1e3:.0f} ms" if value < 1 else f"{value:.2f} s"


def main() -> None:
    records = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
    print("| network | batch | LAN (0.2 ms, 10 Gbit/s) | WAN (40 ms, 100 Mbit/s) | WAN, online phase only |")
    print("| --- | --- | --- | --- | --- |")
    for record in records:
        if record.get("transport") != "tls":
            continue
        session = record["extra"]["session_median_s"]
        total = record["bytes_sent"]
        online = total - record["extra"]["offline_bytes"]
        rounds = record["rounds"]

        def estimate(profile: str, sent: float) -> float:
            round_trip, bandwidth = PROFILES[profile]
            return session + rounds * round_trip + sent * 8 / bandwidth

        print(
            f"| {record['name']} | {record['batch']} | {seconds(estimate('LAN', total))} | "
            f"{seconds(estimate('WAN', total))} | {seconds(estimate('WAN', online))} |"
        )


if __name__ == "__main__":
    main()
