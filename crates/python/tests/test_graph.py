"""The builder: a program written like tf-encrypted's, run with Pond,
equals numpy within the fixed-point bound; the profile counts what ran."""

import threading
import time

import numpy as np
import pytest

import blindfold as bf

CLIENT, OWNER = "prediction-client", "model-owner"
ULP = 2.0**-16  # z64's 16 fractional bits


def test_a_dense_network_equals_numpy_within_the_truncation_bound():
    rng = np.random.default_rng(1)
    x, w1, w2 = rng.normal(size=(3, 8)), rng.normal(size=(8, 5)) * 0.5, rng.normal(size=(5, 2)) * 0.5
    b1 = rng.normal(size=5)
    g = bf.Graph()
    xs = g.private_input(CLIENT, "x", shape=x.shape)
    hidden = bf.relu(xs @ g.private_input(OWNER, "w1", shape=w1.shape) + b1)
    y = hidden @ g.private_input(OWNER, "w2", shape=w2.shape)
    g.output(CLIENT, "y", y)
    g.output(CLIENT, "p", bf.sigmoid(y))
    assert xs.visibility == f"private:{CLIENT}" and y.visibility == "shared" and y.shape == (3, 2)
    result = g.run({CLIENT: {"x": x}, OWNER: {"w1": w1, "w2": w2}})
    expected = np.maximum(x @ w1 + b1, 0) @ w2
    got = result.outputs[CLIENT]["y"]
    assert got.dtype == np.float64 and got.shape == (3, 2)
    # Two truncated products of 8 and 5 terms: a few ulps each, scaled by the weights.
    assert np.max(np.abs(got - expected)) < 64 * ULP
    assert np.max(np.abs(result.outputs[CLIENT]["p"] - 1 / (1 + np.exp(-expected)))) < 0.006
    assert set(result.outputs) == {CLIENT}  # the owner receives nothing


def test_operators_constants_and_reductions_match_numpy():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    g = bf.Graph(ring="z128")
    x, y = g.private_input("alice", "a", (2, 3)), g.private_input("bob", "b", (2, 3))
    g.output("alice", "sum", (x + y - 1.5) * 2)
    g.output("alice", "prod", x * y)
    g.output("alice", "neg", -x + np.arange(3.0))
    g.output("alice", "t", (x @ y.T).sum(axis=1))
    g.output("alice", "mean", x.mean())
    g.output("alice", "max", bf.reduce_max(x))
    g.output("alice", "argmax", bf.argmax(x + y))
    out = g.run({"alice": {"a": a}, "bob": {"b": b}}).outputs["alice"]
    close = lambda got, want: np.testing.assert_allclose(got, want, atol=1e-6)  # noqa: E731
    close(out["sum"], (a + b - 1.5) * 2)
    close(out["prod"], a * b)
    close(out["neg"], -a + np.arange(3.0))
    close(out["t"], (a @ b.T).sum(axis=1))
    close(out["mean"], a.mean())
    close(out["max"], a.max(axis=1))
    np.testing.assert_array_equal(out["argmax"], (a + b).argmax(axis=1))


def test_convolution_and_pooling_match_numpy():
    rng = np.random.default_rng(3)
    image, filters = rng.normal(size=(1, 1, 6, 6)), rng.normal(size=(2, 1, 3, 3)) * 0.3
    g = bf.Graph()
    x = g.private_input(CLIENT, "x", image.shape)
    conv = bf.conv2d(x, g.private_input(OWNER, "f", filters.shape), stride=1, padding=1)
    g.output(CLIENT, "max", bf.max_pool2d(conv, 2))
    g.output(CLIENT, "avg", bf.avg_pool2d(conv, 2))
    out = g.run({CLIENT: {"x": image}, OWNER: {"f": filters}}).outputs[CLIENT]
    padded = np.pad(image, ((0, 0), (0, 0), (1, 1), (1, 1)))
    reference = np.zeros((1, 2, 6, 6))
    for o in range(2):
        for i in range(6):
            for j in range(6):
                reference[0, o, i, j] = np.sum(padded[0, 0, i : i + 3, j : j + 3] * filters[o, 0])
    windows = reference.reshape(1, 2, 3, 2, 3, 2)
    np.testing.assert_allclose(out["max"], windows.max(axis=(3, 5)), atol=32 * ULP)
    np.testing.assert_allclose(out["avg"], windows.mean(axis=(3, 5)), atol=32 * ULP)


def test_the_profile_counts_bytes_and_rounds_and_plaintext_runs_agree():
    g = bf.Graph()
    x = g.private_input(CLIENT, "x", (4, 4))
    g.output(CLIENT, "y", bf.relu(x @ g.private_input(OWNER, "w", (4, 4))))
    values = {CLIENT: {"x": np.eye(4)}, OWNER: {"w": -np.eye(4) + 0.25}}
    pond = g.run(values)
    clear = g.run(values, protocol="plaintext-f64")
    np.testing.assert_allclose(pond.outputs[CLIENT]["y"], clear.outputs[CLIENT]["y"], atol=4 * ULP)
    table = pond.profile_table()
    assert pond.profile["protocol"] == "pond" and pond.profile["rounds"] > 0
    assert sum(row["bytes_sent"] for row in table) == pond.profile["bytes_sent"]
    assert {row["op"] for row in table} >= {"matmul", "drelu"}
    assert clear.profile["bytes_sent"] == 0


def test_bad_input_raises_clear_python_exceptions():
    g = bf.Graph()
    x = g.private_input(CLIENT, "x", (2, 2))
    g.output(CLIENT, "y", x @ g.private_input(OWNER, "w", (2, 2)))
    good = {CLIENT: {"x": np.ones((2, 2))}, OWNER: {"w": np.ones((2, 2))}}
    with pytest.raises(ValueError, match="shape"):
        g.run({CLIENT: {"x": np.ones((3, 2))}, OWNER: {"w": np.ones((2, 2))}})
    with pytest.raises(ValueError, match="mallory"):
        g.run({**good, "mallory": {"x": np.ones((2, 2))}})
    with pytest.raises(ValueError, match="model-owner"):
        g.run({CLIENT: good[CLIENT]})
    with pytest.raises(TypeError, match="dtype"):
        g.run({CLIENT: {"x": np.array([["a", "b"], ["c", "d"]])}, OWNER: good[OWNER]})
    with pytest.raises(TypeError, match="numpy array"):
        g.run({CLIENT: {"x": "not an array"}, OWNER: good[OWNER]})
    with pytest.raises(ValueError, match="NaN"):
        g.run({CLIENT: {"x": np.full((2, 2), np.nan)}, OWNER: good[OWNER]})
    with pytest.raises(ValueError, match="protocol"):
        g.run(good, protocol="spdz")
    with pytest.raises(ValueError):
        x @ g.private_input(OWNER, "v", (3, 3))  # shapes do not multiply
    with pytest.raises(ValueError, match="another graph"):
        x + bf.Graph().private_input(CLIENT, "z", (2, 2))
    with pytest.raises(ValueError, match="ring"):
        bf.Graph(ring="z32")


def test_runs_release_the_interpreter():
    """Another Python thread keeps running while a session runs."""
    g = bf.Graph()
    x = g.private_input(CLIENT, "x", (64, 256))
    g.output(CLIENT, "y", bf.relu(bf.relu(x @ g.private_input(OWNER, "w", (256, 256)))))
    values = {CLIENT: {"x": np.ones((64, 256))}, OWNER: {"w": np.ones((256, 256)) / 256}}
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.monotonic())
            done.wait(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    time.sleep(0.01)
    started = time.monotonic()
    g.run(values)
    ended = time.monotonic()
    done.set()
    ticker.join()
    during = sum(started < t < ended for t in ticks)
    # Held interpreter: no tick during the run. Released: about one a ms.
    assert during >= max(3, (ended - started) * 1000 / 20), f"{during} ticks in {ended - started:.3f} s"
