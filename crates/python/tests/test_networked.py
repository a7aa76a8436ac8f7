"""A graph built in Python runs on five `blindfold worker` processes (the
CLI binary, when built) with mutual TLS: each party reads its input from
its own data folder, the receiver writes the output to its own."""

import socket
import subprocess
import time

import numpy as np
import pytest

import blindfold as bf

from conftest import REPOSITORY

BINARY = REPOSITORY / "target" / "release" / "blindfold"
PARTIES = ["server0", "server1", "producer", "alice", "bob"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def workers(tmp_path):
    if not BINARY.exists():
        pytest.skip(f"{BINARY} is not built (cargo build --release -p blindfold-cli)")
    config = 'ca = "certs/ca.pem"\ntimeout_s = 20\n'
    for party in PARTIES:
        (tmp_path / "data" / party).mkdir(parents=True)
        (tmp_path / "approved" / party).mkdir(parents=True)
        config += (
            f'\n[parties.{party}]\nendpoint = "127.0.0.1:{free_port()}"\ncertificate = "certs/{party}.pem"\n'
            f'key = "certs/{party}.key"\napproved_dir = "approved/{party}"\n'
        )
    config += '\n[operators.ops]\ncertificate = "certs/ops.pem"\nkey = "certs/ops.key"\n'
    (tmp_path / "parties.toml").write_text(config)
    subprocess.run(
        [BINARY, "certs", "--config", tmp_path / "parties.toml", "--out", tmp_path / "certs"],
        check=True,
        capture_output=True,
    )
    logs = {party: open(tmp_path / f"{party}.log", "w") for party in PARTIES}
    processes = [
        subprocess.Popen(
            [BINARY, "worker", "--config", tmp_path / "parties.toml", "--party", party], stderr=logs[party]
        )
        for party in PARTIES
    ]
    deadline = time.monotonic() + 30
    while not all("listening" in (tmp_path / f"{p}.log").read_text() for p in PARTIES):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.02)
    yield tmp_path
    for process in processes:
        process.kill()
        process.wait()
    for log in logs.values():
        log.close()


def test_a_python_graph_runs_on_networked_workers(workers):
    g = bf.Graph()
    x = g.private_input("alice", "x", (2, 3))
    w = g.private_input("bob", "w", (3, 2))
    g.output("alice", "y", bf.relu(x @ w))
    values = {"x": np.arange(6.0).reshape(2, 3) - 2, "w": np.ones((3, 2)) * 0.5}
    np.save(workers / "data" / "alice" / "x.npy", values["x"])
    np.save(workers / "data" / "bob" / "w.npy", values["w"])
    inputs = {"alice": {"x": "x.npy"}, "bob": {"w": "w.npy"}}
    config = str(workers / "parties.toml")
    # Neither alice nor bob knows the other's input: one range is needed.
    with pytest.raises(ValueError, match="declare the range"):
        g.run(inputs, parties=config, out="result")
    ranges = {"alice": {"x": (-2.0, 3.0)}}
    with pytest.raises(bf.ProtocolError, match="not approved"):
        g.run(inputs, parties=config, out="result", input_ranges=ranges)
    for party in PARTIES:
        (workers / "approved" / party / "g.graph").write_bytes(g.to_bytes())
    result = g.run(inputs, parties=config, out="result", input_ranges=ranges)
    assert result.profile["graph"] == g.hash and result.profile["rounds"] > 0
    files = result.outputs["alice"]["files"]
    assert len(files) == 1 and files[0].endswith("y.npy")
    y = np.load(workers / "data" / "alice" / "result" / "y.npy")
    np.testing.assert_allclose(y, np.maximum(values["x"] @ values["w"], 0), atol=1e-3)
    assert not (workers / "data" / "bob" / "result").exists()
