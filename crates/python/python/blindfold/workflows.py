"""One-call workflows: private prediction with an ONNX model, private
training on several owners' tables."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _blindfold
from ._arrays import as_float64, column_names

Model = Union[str, "os.PathLike[str]", bytes, Any]
Table = Union[str, "os.PathLike[str]", np.ndarray, Tuple[Any, Any], Any]

#: The most rows one ``predict`` call takes unless ``max_rows`` says more:
#: each batch is a session of its own, but the outputs of every row are
#: kept.
MAX_ROWS = 1_000_000


def _model_bytes(model: Model) -> bytes:
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        with open(model, "rb") as file:
            return file.read()
    if hasattr(model, "SerializeToString"):  # an onnx.ModelProto
        return model.SerializeToString()
    raise TypeError(f"model: an ONNX file path, ONNX bytes or an onnx.ModelProto, not {type(model).__name__}")


def predict(
    model: Model,
    x: Any,
    protocol: str = "pond",
    batch: int = 100,
    sigmoid: str = "clamped",
    comparison_bits: Optional[int] = None,
    timeout: float = 60.0,
    return_summary: bool = False,
    progress: Optional[bool] = None,
    max_rows: int = MAX_ROWS,
    accept_overflow: bool = False,
    input_owners: Optional[Dict[str, str]] = None,
    calibrate: Any = None,
) -> Any:
    """The model owner's ONNX ``model`` applied to the client's ``x`` (first
    axis: the inputs; a numpy array, a pandas DataFrame, a torch tensor,
    anything numpy converts), with every party in this process: the servers
    see only shares of ``x`` and of the weights; only the client gets the
    outputs (one row per input; a final Softmax is the client's, left out
    here: the logits are returned).

    ``batch`` inputs go in each session (100 by default), with a progress
    bar on ``sys.stderr`` when ``progress`` (default: when it is a
    terminal). More than ``max_rows`` rows are refused unless ``max_rows``
    is raised. ``protocol="replicated"`` runs it among three servers with
    replicated shares (no producer); ``protocol="plaintext-f64"`` runs the model in the clear,
    for comparison (``"plaintext-fixed"``: Pond's fixed point in the
    clear). A model whose values could overflow fixed point on ``x`` raises
    ``OverflowError`` naming the node, unless ``accept_overflow=True``.
    With ``return_summary``, also returns the job's record: time, bytes
    (each party's received bytes under ``"received"``) and rounds per
    batch, as ``blindfold predict --json`` prints them.

    A model with several graph inputs takes ``x`` as a dict from input name
    to values (the first entry's rows are the inputs; an input whose first
    dimension is not the batch goes whole to every session), and
    ``input_owners`` gives any graph input to a party (by default the first
    is the client's, any other the model owner's). A model with several
    outputs (scikit-learn's label and probabilities) returns a dict from
    output name to values as the model defines them: labels as integers,
    probabilities with the final softmax applied.

    ``calibrate``: the model owner's sample of inputs (rows like ``x``'s);
    each comparison then gets the narrowest power-of-two width that holds
    16× the largest value the sample gives it: cheaper, and an input beyond
    it raises ``OverflowError``, never a wrong answer."""
    named_inputs = []
    if isinstance(x, dict):
        if not x:
            raise ValueError("x: give at least one input")
        (first_name, first), *rest = list(x.items())
        named_inputs = [(str(name), as_float64(value, str(name))) for name, value in rest]
        owners = dict(input_owners or {})
        x = first
        first_name = str(first_name)
    else:
        first_name = None
        owners = dict(input_owners or {})
    data = as_float64(x, "x")
    if data.ndim >= 1 and data.shape[0] > max_rows:
        raise ValueError(
            f"x has {data.shape[0]} rows, more than max_rows={max_rows}: predict in parts, or raise max_rows"
        )
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ValueError(f"batch: a positive int, not {batch!r}")
    shown = _stderr_is_terminal() if progress is None else bool(progress)
    result = _blindfold.predict(
        _model_bytes(model),
        data,
        protocol,
        batch,
        sigmoid,
        comparison_bits,
        float(timeout),
        shown,
        bool(accept_overflow),
        named_inputs,
        owners,
        first_name,
        None if calibrate is None else as_float64(calibrate, "calibrate"),
    )
    outputs, summary, named = result
    if len(named) > 1:
        outputs = {name: (values.round().astype(np.int64) if integer else values) for name, values, integer in named}
    return (outputs, json.loads(summary)) if return_summary else outputs


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class TrainResult:
    """A privately trained model: ``model`` is ONNX bytes (raw features in;
    feed it to ``predict`` or onnxruntime); ``metrics`` has the losses, the
    test metric of the private model beside its plaintext twin's, time and
    communication."""

    model: bytes
    metrics: Dict[str, Any]


def _table(value: Table, labels: Union[str, int], what: str) -> Any:
    if isinstance(value, (str, os.PathLike)):
        if not isinstance(labels, str):
            raise TypeError(f"{what}: a CSV file needs labels= the label column's name")
        return os.fspath(value)
    names = column_names(value)
    if names is not None and isinstance(labels, str):
        # A DataFrame: its own column names, the label by name.
        if labels not in names:
            raise ValueError(f"{what}: no column '{labels}' (it has {', '.join(names)})")
        array = as_float64(value, what)
        if array.ndim != 2:
            raise ValueError(f"{what}: a 2-D table, not shape {array.shape}")
        return (names, np.ascontiguousarray(array))
    if isinstance(value, tuple):
        if len(value) != 2:
            raise TypeError(f"{what}: (features, labels) or one array")
        features = as_float64(value[0], f"{what} features")
        target = as_float64(value[1], f"{what} labels")
        if features.ndim != 2 or target.ndim != 1 or len(target) != len(features):
            raise ValueError(
                f"{what}: features of shape {features.shape} and labels of shape {target.shape}: "
                "give (rows × features, rows)"
            )
        array = np.column_stack([features, target])
        label_index = array.shape[1] - 1
    else:
        array = as_float64(value, what)
        if array.ndim != 2:
            raise ValueError(f"{what}: a 2-D array (rows × columns), not shape {array.shape}")
        if not isinstance(labels, int):
            raise TypeError(f"{what}: for an array, labels= is the label column's index")
        if not -array.shape[1] <= labels < array.shape[1]:
            raise ValueError(f"{what}: label column {labels} of {array.shape[1]} columns")
        label_index = labels % array.shape[1]
    columns = [f"x{i}" for i in range(array.shape[1])]
    columns[label_index] = "label"
    return (columns, np.ascontiguousarray(array))


def train(
    kind: str,
    data: Mapping[str, Table],
    labels: Union[str, int] = -1,
    test: Optional[Table] = None,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 0.1,
    classes: Optional[int] = None,
    hidden: Sequence[int] = (128, 128),
    ring: str = "z128",
    sigmoid: str = "clamped",
    comparison_bits: Optional[int] = None,
    reveal_loss: bool = False,
    standardize: bool = True,
    progress: Optional[bool] = None,
    accept_overflow: bool = False,
    model: Optional[Model] = None,
    momentum: float = 0.0,
    dp_noise_multiplier: Optional[float] = None,
    max_grad_norm: float = 1.0,
    dp_delta: float = 1e-5,
    protocol: str = "pond",
) -> TrainResult:
    """Trains ``kind`` (``"linreg"``, ``"logreg"`` or ``"mlp"``; or
    ``"onnx"`` with ``model``, an ONNX model whose architecture and weights
    are trained, on raw columns, and returned as the same architecture) with SGD
    under Pond (or ``protocol="replicated"``: three servers, no producer)
    on the rows of several data owners, every party in this process; only
    the model owner gets the model.

    ``data`` maps each owner to its rows: a CSV path (a header row; then
    ``labels`` names the label column), a pandas DataFrame (``labels``
    names the label column), a 2-D array (``labels`` is the label column's
    index, default the last), or scikit-learn's ``(X, y)`` (any array-like
    features and labels). Columns are standardised with privately pooled
    statistics unless ``standardize=False`` (the model takes raw features
    either way). ``test`` (same forms) gives the test metric: R² for
    regression, accuracy for classifiers, private beside plaintext.
    ``progress`` draws a bar on ``sys.stderr`` (default: when it is a
    terminal). ``momentum`` (in [0, 1)) is SGD's momentum as in PyTorch.
    ``dp_noise_multiplier`` trains with DP-SGD (each example's gradient
    clipped to ``max_grad_norm``, Gaussian noise drawn by the servers); the
    metrics' ``"dp"`` has ε for ``dp_delta``.
    A training whose values could overflow fixed point raises
    ``OverflowError`` before it starts, unless ``accept_overflow=True``."""
    if not isinstance(data, Mapping) or not data:
        raise TypeError("data: a dict {owner: rows} with at least one owner")
    tables = {owner: _table(value, labels, f"data['{owner}']") for owner, value in data.items()}
    label_name = labels if isinstance(labels, str) else "label"
    test_table = None if test is None else _table(test, labels, "test")
    model, metrics = _blindfold.train(
        kind,
        tables,
        label_name,
        test_table,
        int(epochs),
        int(batch_size),
        float(learning_rate),
        classes,
        [int(h) for h in hidden],
        ring,
        sigmoid,
        comparison_bits,
        bool(reveal_loss),
        bool(standardize),
        _stderr_is_terminal() if progress is None else bool(progress),
        bool(accept_overflow),
        None if model is None else _model_bytes(model),
        float(momentum),
        None if dp_noise_multiplier is None else float(dp_noise_multiplier),
        float(max_grad_norm),
        float(dp_delta),
        protocol,
    )
    return TrainResult(model=bytes(model), metrics=json.loads(metrics))
