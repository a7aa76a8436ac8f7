"""Array inputs: anything numpy can convert (arrays, lists, pandas
DataFrames and Series, torch tensors on the CPU, anything with
``__array__``) becomes a C-contiguous float64 array; booleans, strings and
objects are a TypeError, NaN and infinity a ValueError."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_float64(value: Any, what: str) -> np.ndarray:
    """``value`` as a C-contiguous float64 array (no copy when it already
    is one), or ``TypeError``/``ValueError`` naming ``what``."""
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{what}: expected a numpy array of numbers (or anything numpy converts), got {type(value).__name__}")
    elif hasattr(value, "__array__") or isinstance(value, (list, tuple, int, float, np.number)):
        try:
            array = np.asarray(value)
        except Exception as error:  # a conversion the object refuses (e.g. a GPU tensor)
            raise TypeError(f"{what}: cannot be read as a numpy array ({error})") from None
    else:
        raise TypeError(
            f"{what}: expected a numpy array (or a pandas, torch or list value numpy converts), got {type(value).__name__}"
        )
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(f"{what}: expected real numbers (float or int dtype), got dtype {array.dtype}")
    converted = np.ascontiguousarray(array, dtype=np.float64)
    if not np.all(np.isfinite(converted)):
        raise ValueError(f"{what}: contains NaN or infinity")
    return converted


def column_names(value: Any) -> Any:
    """A table's column names, where it has them (a pandas DataFrame)."""
    columns = getattr(value, "columns", None)
    if columns is None or isinstance(value, np.ndarray):
        return None
    return [str(c) for c in columns]
