"""Paths shared by the tests: the repository, its models, the shared data."""

from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[3]
MODELS = REPOSITORY / "models"
DIABETES = REPOSITORY.parent / "shared" / "data" / "diabetes" / "diabetes.csv"


@pytest.fixture
def diabetes():
    """The diabetes table (442 rows, 10 features, target last)."""
    if not DIABETES.exists():
        pytest.skip(f"{DIABETES} is not here")
    import numpy as np

    return np.loadtxt(DIABETES, delimiter=",", skiprows=1)
