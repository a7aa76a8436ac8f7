"""Paths shared by the tests: the repository, its models, its data."""

from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[3]
MODELS = REPOSITORY / "models"
DIABETES = REPOSITORY / "data" / "diabetes.csv"


@pytest.fixture
def diabetes():
    """The diabetes table (442 rows, 10 features, target last)."""
    import numpy as np

    return np.loadtxt(DIABETES, delimiter=",", skiprows=1)
