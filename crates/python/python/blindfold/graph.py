"""Graphs written like tf-encrypted programs: private inputs of named
parties, arithmetic, ReLU, sigmoid, convolution and pooling, outputs to a
named party; run with Pond (or in the clear) in this process, or on
networked workers. Private operands are secret-shared when they meet, and
fixed-point products are truncated, without being asked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _blindfold
from ._arrays import as_float64

Operand = Union["Tensor", np.ndarray, float, int]
Pair = Union[int, Tuple[int, int]]


def _pair(value: Pair, what: str) -> Tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value
    raise TypeError(f"{what}: an int or a pair of ints, not {value!r}")


def _padding(value: Union[int, Tuple[int, int], Tuple[int, int, int, int]]) -> Tuple[int, int, int, int]:
    if isinstance(value, int):
        return (value, value, value, value)
    if isinstance(value, tuple) and len(value) == 2:
        return (value[0], value[1], value[0], value[1])
    if isinstance(value, tuple) and len(value) == 4:
        return value  # type: ignore[return-value]
    raise TypeError(f"padding: an int, (rows, columns) or (top, left, bottom, right), not {value!r}")


class Tensor:
    """A value of a graph being built: public, private to a party, or
    shared. Supports ``+``, ``-``, ``*``, ``@`` and unary ``-`` with other
    tensors of the same graph, numpy arrays and numbers (public constants)."""

    __slots__ = ("graph", "id")

    def __init__(self, graph: "Graph", id: int) -> None:
        self.graph = graph
        self.id = id

    @property
    def shape(self) -> Tuple[int, ...]:
        """The value's shape."""
        return tuple(self.graph._builder.shape(self.id))

    @property
    def visibility(self) -> str:
        """``"public"``, ``"private:PARTY"`` or ``"shared"``."""
        return self.graph._builder.visibility(self.id)

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, {self.visibility})"

    def _binary(self, op: str, other: Operand, reverse: bool = False) -> "Tensor":
        other_tensor = self.graph._operand(other)
        left, right = (other_tensor, self) if reverse else (self, other_tensor)
        return self.graph._make(self.graph._builder.binary(op, left.id, right.id))

    def __add__(self, other: Operand) -> "Tensor":
        return self._binary("add", other)

    def __radd__(self, other: Operand) -> "Tensor":
        return self._binary("add", other, reverse=True)

    def __sub__(self, other: Operand) -> "Tensor":
        return self._binary("sub", other)

    def __rsub__(self, other: Operand) -> "Tensor":
        return self._binary("sub", other, reverse=True)

    def __mul__(self, other: Operand) -> "Tensor":
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return self.graph._make(self.graph._builder.scale(self.id, float(other)))
        return self._binary("mul", other)

    def __rmul__(self, other: Operand) -> "Tensor":
        return self.__mul__(other)

    def __matmul__(self, other: Operand) -> "Tensor":
        return self._binary("matmul", other)

    def __rmatmul__(self, other: Operand) -> "Tensor":
        return self._binary("matmul", other, reverse=True)

    def __neg__(self) -> "Tensor":
        return self.graph._make(self.graph._builder.unary("neg", self.id))

    def square(self) -> "Tensor":
        """x², one product."""
        return self.graph._make(self.graph._builder.unary("square", self.id))

    def reshape(self, *shape: int) -> "Tensor":
        """The same values in another shape."""
        dims = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return self.graph._make(self.graph._builder.reshape(self.id, [int(d) for d in dims]))

    def transpose(self, *axes: int) -> "Tensor":
        """Axes permuted (reversed when none are given)."""
        return self.graph._make(self.graph._builder.transpose(self.id, list(axes) if axes else None))

    @property
    def T(self) -> "Tensor":
        """Axes reversed."""
        return self.transpose()

    def sum(self, axis: Union[int, Sequence[int], None] = None, keepdims: bool = False) -> "Tensor":
        """Sum over ``axis`` (all axes when ``None``)."""
        return self._reduce("sum", axis, keepdims)

    def mean(self, axis: Union[int, Sequence[int], None] = None, keepdims: bool = False) -> "Tensor":
        """Mean over ``axis`` (all axes when ``None``)."""
        return self._reduce("mean", axis, keepdims)

    def _reduce(self, kind: str, axis: Union[int, Sequence[int], None], keepdims: bool) -> "Tensor":
        rank = len(self.shape)
        axes = list(range(rank)) if axis is None else [axis] if isinstance(axis, int) else list(axis)
        axes = [a + rank if a < 0 else a for a in axes]
        return self.graph._make(self.graph._builder.reduce(kind, self.id, axes, keepdims))


@dataclass
class Result:
    """What a run delivered: ``outputs[party][name]`` (numpy arrays in this
    process; for networked runs, the paths each receiver wrote on its own
    disk) and the ``profile`` (time, bytes and rounds, per party and op)."""

    outputs: Dict[str, Dict[str, Any]]
    profile: Dict[str, Any] = field(repr=False)

    def profile_table(self) -> List[Dict[str, Any]]:
        """One row per op: node, op, duration_s, bytes_sent,
        offline_bytes_sent, messages_sent, rounds (``pandas.DataFrame(...)``
        takes it as is)."""
        return [dict(row) for row in self.profile.get("ops", [])]


class Graph:
    """A dataflow graph every party runs. ``ring`` is ``"z64"`` (16
    fractional bits) or ``"z128"`` (32)."""

    def __init__(self, ring: str = "z64", fractional_bits: Optional[int] = None) -> None:
        if not isinstance(ring, str):
            raise TypeError(f"ring: 'z64' or 'z128', not {ring!r}")
        self._builder = _blindfold.Builder(ring, fractional_bits)

    def __repr__(self) -> str:
        return f"Graph({self._builder.nodes()} nodes, parties {self.parties})"

    def _make(self, id: int) -> Tensor:
        return Tensor(self, id)

    def _operand(self, value: Operand) -> Tensor:
        if isinstance(value, Tensor):
            if value.graph is not self:
                raise ValueError("the tensor belongs to another graph")
            return value
        return self.constant(value)

    def private_input(self, party: str, name: str, shape: Sequence[int]) -> Tensor:
        """A real tensor of ``shape`` that ``party`` supplies when the graph runs."""
        if not isinstance(party, str) or not isinstance(name, str):
            raise TypeError("party and name are strings")
        return self._make(self._builder.private_input(party, name, [int(d) for d in shape]))

    def constant(self, value: Union[np.ndarray, float, int, list]) -> Tensor:
        """A public constant (every party knows it)."""
        return self._make(self._builder.constant(as_float64(value, "constant")))

    def output(self, party: str, name: str, tensor: Tensor) -> Tensor:
        """Delivers ``tensor`` to ``party`` alone (a shared value is revealed
        to it only)."""
        if not isinstance(tensor, Tensor):
            raise TypeError(f"output: a Tensor, not {type(tensor).__name__}")
        return self._make(self._builder.output(party, name, self._operand(tensor).id))

    def set_comparison_bits(self, bits: Optional[int]) -> None:
        """Compare on x mod 2^bits from now on (cheaper; exact only while
        |x| < 2^(bits-1) ulps); ``None``: the whole ring, always exact."""
        self._builder.set_comparison_bits(bits)

    @property
    def parties(self) -> List[str]:
        """The input and output parties named so far."""
        return self._builder.parties()

    @property
    def hash(self) -> str:
        """The content hash a party approves before running the graph on a
        networked worker (as ``blindfold graph hash`` prints it)."""
        return self._builder.hash()

    def to_bytes(self) -> bytes:
        """The graph file (``blindfold run graph FILE`` runs it)."""
        return bytes(self._builder.to_bytes())

    def run(
        self,
        inputs: Mapping[str, Mapping[str, Any]],
        protocol: str = "pond",
        parties: Optional[str] = None,
        operator: Optional[str] = None,
        out: Optional[str] = None,
        timeout: Optional[float] = None,
        input_ranges: Optional[Mapping[str, Mapping[str, Tuple[float, float]]]] = None,
        accept_overflow: bool = False,
    ) -> Result:
        """Runs the graph: ``inputs[party][name]`` is each private input.

        In this process (default): values are numpy arrays; ``protocol`` is
        ``"pond"``, ``"plaintext-f64"`` (f64 in the clear) or
        ``"plaintext-fixed"`` (Pond's fixed point in the clear), the names
        the command line uses. With ``parties="parties.toml"``: the graph
        runs on the networked workers (it must be approved by every party),
        values are paths in each party's data folder, and ``outputs`` lists
        the files each receiver wrote (in ``out``, inside its data folder).
        Ctrl-C stops the session; failures raise ``blindfold.ProtocolError``.

        Before it runs, the graph is checked for fixed-point overflow: in
        this process on the inputs themselves; on workers on each party's
        own inputs and the others' ``input_ranges[party][name] = (low,
        high)`` (every input some party does not own needs one). A graph
        that could overflow raises ``OverflowError`` naming the node, unless
        ``accept_overflow=True``.
        """
        if not isinstance(inputs, Mapping):
            raise TypeError(f"inputs: a dict {{party: {{name: value}}}}, not {type(inputs).__name__}")
        if parties is not None:
            paths: Dict[str, Dict[str, str]] = {}
            for party, named in inputs.items():
                paths[party] = {}
                for name, path in named.items():
                    if not isinstance(path, str):
                        raise TypeError(f"inputs['{party}']['{name}']: a path on {party}'s disk for a networked run")
                    paths[party][name] = path
            ranges = {
                party: {name: (float(low), float(high)) for name, (low, high) in named.items()}
                for party, named in (input_ranges or {}).items()
            }
            record = json.loads(
                self._builder.run_networked(
                    parties, paths, operator, out, timeout, ranges, bool(accept_overflow)
                )
            )
            return Result(outputs={p: {"files": f} for p, f in record["outputs"].items()}, profile=record)
        arrays: Dict[str, Dict[str, np.ndarray]] = {}
        for party, named in inputs.items():
            if not isinstance(named, Mapping):
                raise TypeError(f"inputs['{party}']: a dict {{name: array}}")
            arrays[party] = {name: as_float64(value, f"inputs['{party}']['{name}']") for name, value in named.items()}
        outputs, profile = self._builder.run(
            arrays, protocol, 60.0 if timeout is None else float(timeout), bool(accept_overflow)
        )
        return Result(outputs=outputs, profile=json.loads(profile))


def _graph_of(*tensors: Tensor) -> Graph:
    for tensor in tensors:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"expected a Tensor, got {type(tensor).__name__}")
    graph = tensors[0].graph
    if any(t.graph is not graph for t in tensors):
        raise ValueError("the tensors belong to different graphs")
    return graph


def relu(x: Tensor) -> Tensor:
    """max(x, 0), exact (one comparison and one product)."""
    graph = _graph_of(x)
    return graph._make(graph._builder.unary("relu", x.id))


def sigmoid(x: Tensor, method: str = "clamped") -> Tensor:
    """The logistic sigmoid: ``"clamped"`` (comparisons clamp to [-6, 6],
    then a degree-11 polynomial; error ≤ 0.003 everywhere) or
    ``"polynomial"`` (degree 7, cheaper, wrong outside [-8, 8])."""
    graph = _graph_of(x)
    if method not in ("clamped", "polynomial"):
        raise ValueError(f"method '{method}': 'clamped' or 'polynomial'")
    op = "sigmoid" if method == "clamped" else "sigmoid-polynomial"
    return graph._make(graph._builder.unary(op, x.id))


def polynomial(x: Tensor, coefficients: Sequence[float]) -> Tensor:
    """Σ coefficients[i]·x^i with public coefficients."""
    graph = _graph_of(x)
    return graph._make(graph._builder.polynomial(x.id, [float(c) for c in coefficients]))


def softmax(x: Tensor, max_exponent: int = 8) -> Tensor:
    """relu(x_i) / Σ_j relu(x_j) over the last axis (the MPC-friendly
    alternative to softmax); row sums must stay below 2^max_exponent."""
    graph = _graph_of(x)
    return graph._make(graph._builder.softmax(x.id, int(max_exponent)))


def reduce_max(x: Tensor) -> Tensor:
    """The maximum over the last axis (removed)."""
    graph = _graph_of(x)
    return graph._make(graph._builder.unary("max", x.id))


def argmax(x: Tensor) -> Tensor:
    """The index of the largest element of the last axis (removed)."""
    graph = _graph_of(x)
    return graph._make(graph._builder.unary("argmax", x.id))


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Tensors joined along ``axis``."""
    graph = _graph_of(*tensors)
    return graph._make(graph._builder.concat([t.id for t in tensors], axis))


def conv2d(x: Tensor, filters: Operand, stride: Pair = 1, padding: Any = 0) -> Tensor:
    """NCHW convolution with [out, in, kh, kw] filters."""
    graph = _graph_of(x)
    f = graph._operand(filters)
    return graph._make(graph._builder.conv2d(x.id, f.id, _pair(stride, "stride"), _padding(padding)))


def avg_pool2d(x: Tensor, kernel: Pair, stride: Optional[Pair] = None, padding: Any = 0) -> Tensor:
    """Average pooling of NCHW windows (stride defaults to the kernel)."""
    graph = _graph_of(x)
    k = _pair(kernel, "kernel")
    s = k if stride is None else _pair(stride, "stride")
    return graph._make(graph._builder.pool2d("avg", x.id, k, s, _padding(padding)))


def max_pool2d(x: Tensor, kernel: Pair, stride: Optional[Pair] = None, padding: Any = 0) -> Tensor:
    """Max pooling of NCHW windows (stride defaults to the kernel)."""
    graph = _graph_of(x)
    k = _pair(kernel, "kernel")
    s = k if stride is None else _pair(stride, "stride")
    return graph._make(graph._builder.pool2d("max", x.id, k, s, _padding(padding)))
