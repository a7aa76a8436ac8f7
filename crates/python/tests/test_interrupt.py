"""Ctrl-C during a long session: KeyboardInterrupt within a moment, and
no thread of the session is left running."""

import _thread
import os
import threading
import time

import numpy as np
import pytest

import blindfold as bf


def threads():
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc")
def test_ctrl_c_stops_the_session_and_leaves_no_thread():
    g = bf.Graph()
    x = g.private_input("prediction-client", "x", (32, 64))
    w = g.private_input("model-owner", "w", (64, 64))
    for _ in range(10000):
        x = bf.relu(x @ w)
    g.output("prediction-client", "y", x)
    values = {"prediction-client": {"x": np.ones((32, 64))}, "model-owner": {"w": np.eye(64)}}
    small = bf.Graph()
    s = small.private_input("a", "s", (2, 2))
    small.output("a", "t", bf.relu(s @ small.private_input("b", "u", (2, 2))))
    small.run({"a": {"s": np.ones((2, 2))}, "b": {"u": np.ones((2, 2))}})  # starts the thread pools
    before = threads()
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        g.run(values)
    stopped = time.monotonic() - started
    timer.join()
    assert stopped < 5.0, f"took {stopped:.1f} s to stop"
    assert threads() <= before, f"{threads()} threads, {before} before"
