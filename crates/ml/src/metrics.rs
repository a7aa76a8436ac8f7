//! How good a model's outputs are: R² for a regression, accuracy for a
//! classifier, and the class a row of outputs stands for.

use ndarray::{Array1, Array2};

/// The class of one row of outputs: the argmax, or the output thresholded
/// at 0.5 for a single (binary, sigmoid) output. Ties go to the first.
pub fn class(row: &[f64]) -> usize {
    match row {
        [single] => usize::from(*single > 0.5),
        _ => {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best })
                .0
        }
    }
}

/// The class of each row of `outputs` ([rows, k]).
pub fn classes(outputs: &Array2<f64>) -> Vec<usize> {
    outputs.outer_iter().map(|row| class(&row.to_vec())).collect()
}

/// The fraction of `predicted` equal to `expected` (over the shorter).
pub fn agreement(predicted: &[usize], expected: &[usize]) -> f64 {
    let n = predicted.len().min(expected.len());
    if n == 0 {
        return 0.0;
    }
    predicted.iter().zip(expected).filter(|(a, b)| a == b).count() as f64 / n as f64
}

/// The coefficient of determination of the first output column against `y`.
pub fn r_squared(predicted: &Array2<f64>, y: &Array1<f64>) -> f64 {
    let mean = y.mean().unwrap_or(0.0);
    let residual: f64 = predicted.column(0).iter().zip(y).map(|(p, y)| (p - y) * (p - y)).sum();
    let total: f64 = y.iter().map(|y| (y - mean) * (y - mean)).sum();
    1.0 - residual / total
}

/// The fraction of rows whose class ([`class`]) is the label in `y`.
pub fn accuracy(predicted: &Array2<f64>, y: &Array1<f64>) -> f64 {
    let labels: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    agreement(&classes(predicted), &labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_accuracy_and_r_squared() {
        assert_eq!(class(&[0.2, 0.7, 0.1]), 1);
        assert_eq!(class(&[0.6]), 1);
        assert_eq!(class(&[0.4]), 0);
        assert_eq!(class(&[0.5, 0.5]), 0);
        let predicted = Array2::from_shape_vec((3, 2), vec![0.9, 0.1, 0.2, 0.8, 0.6, 0.4]).unwrap();
        assert_eq!(accuracy(&predicted, &Array1::from(vec![0.0, 1.0, 1.0])), 2.0 / 3.0);
        let exact = Array2::from_shape_vec((3, 1), vec![1.0, 2.0, 3.0]).unwrap();
        assert_eq!(r_squared(&exact, &Array1::from(vec![1.0, 2.0, 3.0])), 1.0);
        assert_eq!(agreement(&[1, 2, 3], &[1, 0, 3]), 2.0 / 3.0);
    }
}
