//! numpy arrays across the boundary. In: a float64 array (the package
//! converts other real dtypes first) is copied once into the session's own
//! memory, which parties on other threads use while the interpreter runs on.
//! Out: results move into numpy without a copy.

use ndarray::ArrayD;
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;

/// An owned copy of a float64 array.
pub fn owned(array: &PyReadonlyArrayDyn<'_, f64>) -> ArrayD<f64> {
    array.as_array().to_owned()
}

/// `array` as a numpy array (its memory handed over, not copied).
pub fn to_numpy<'py>(py: Python<'py>, array: ArrayD<f64>) -> Bound<'py, PyArrayDyn<f64>> {
    array.into_pyarray(py)
}
