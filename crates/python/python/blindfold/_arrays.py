"""numpy inputs: real dtypes become float64 (without a copy when they
already are, C-contiguous); anything else is a TypeError."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_float64(value: Any, what: str) -> np.ndarray:
    """``value`` as a C-contiguous float64 array, or ``TypeError``."""
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (list, tuple, int, float, np.number)) and not isinstance(value, bool):
        array = np.asarray(value)
    else:
        raise TypeError(f"{what}: expected a numpy array, got {type(value).__name__}")
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(f"{what}: expected real numbers (float or int dtype), got dtype {array.dtype}")
    converted = np.ascontiguousarray(array, dtype=np.float64)
    if not np.all(np.isfinite(converted)):
        raise ValueError(f"{what}: contains NaN or infinity")
    return converted
