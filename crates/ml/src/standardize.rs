//! Privately pooled standardisation of the data owners' columns.
//!
//! Every owner computes its columns' sums and sums of squares; the servers
//! add the shares and reveal only the pooled sums to each data owner, who
//! standardises its own rows before sharing them. What this reveals: the
//! pooled mean and spread of every column (and each owner's row count,
//! which the graph's shapes show anyway). A model trained on standardised
//! columns is folded back to raw features ([`Statistics::fold_into`]): the
//! standardisation into its first layer and, for a regression, the label's
//! into its last.

use std::collections::HashMap;

use blindfold_ir::{GraphBuilder, GraphError, Inputs, Ring};
use blindfold_runtime::{Protocol, RuntimeError, Session};
use ndarray::{Array1, Array2, Axis};

use crate::training::DenseModel;

/// Pooled per-column statistics (the label's last, where it was included).
#[derive(Clone, Debug, PartialEq)]
pub struct Statistics {
    pub mean: Array1<f64>,
    pub std: Array1<f64>,
}

/// Why the pooled statistics could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum StandardizeError {
    #[error("no data owners")]
    NoOwners,
    #[error("the owners' tables have different widths")]
    Widths,
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Session(#[from] RuntimeError),
}

/// One data owner's columns for [`pooled_statistics`]: its features and,
/// for a regression, its labels (standardised too).
pub struct OwnerColumns<'a> {
    pub owner: String,
    pub features: &'a Array2<f64>,
    pub labels: Option<&'a Array1<f64>>,
}

/// The pooled mean and standard deviation of every column of the owners'
/// `features` (and of their `labels`, if given), computed under `protocol`:
/// each owner's sums and sums of squares are shared and added; every owner
/// receives only the totals. One session; 2·(d + 1) values per owner.
pub fn pooled_statistics(
    owners: &[OwnerColumns<'_>],
    protocol: Protocol,
) -> Result<Statistics, StandardizeError> {
    let first = owners.first().ok_or(StandardizeError::NoOwners)?;
    let width = first.features.ncols() + usize::from(first.labels.is_some());
    let mut g = GraphBuilder::with_ring(Ring::Z128);
    let mut total = None;
    let mut inputs = Inputs::new();
    for OwnerColumns { owner, features, labels } in owners {
        if features.ncols() + usize::from(labels.is_some()) != width {
            return Err(StandardizeError::Widths);
        }
        let sums = g.private_input(owner, "column-sums", &[2, width])?;
        let shared = g.share(sums)?;
        total = Some(match total {
            Some(t) => g.add(t, shared)?,
            None => shared,
        });
        let mut columns = (*features).clone();
        if let Some(labels) = labels {
            columns.push_column(labels.view()).expect("one label per row");
        }
        let mut local = Array2::zeros((2, width));
        local.row_mut(0).assign(&columns.sum_axis(Axis(0)));
        local.row_mut(1).assign(&columns.mapv(|v| v * v).sum_axis(Axis(0)));
        inputs.insert(owner.clone(), HashMap::from([("column-sums".to_string(), local.into_dyn())]));
    }
    let total = total.expect("at least one owner");
    for owner in owners {
        g.output(&owner.owner, "pooled-sums", total)?;
    }
    let result = Session::new(g.finish()).protocol(protocol).run(inputs)?;
    let sums = result.output(&first.owner, "pooled-sums").expect("every owner receives the sums");
    let n: f64 = owners.iter().map(|o| o.features.nrows()).sum::<usize>() as f64;
    let mean: Array1<f64> = (0..width).map(|j| sums[[0, j]] / n).collect();
    let std: Array1<f64> = (0..width)
        .map(|j| (sums[[1, j]] / n - mean[j] * mean[j]).max(0.0).sqrt())
        .map(|s| if s > 1e-12 { s } else { 1.0 })
        .collect();
    Ok(Statistics { mean, std })
}

impl Statistics {
    /// Standardises an owner's rows in place (and its labels, for a
    /// regression whose label was pooled).
    pub fn standardize(&self, features: &mut Array2<f64>, labels: &mut Array1<f64>, regression: bool) {
        let d = features.ncols();
        for mut row in features.rows_mut() {
            for j in 0..d {
                row[j] = (row[j] - self.mean[j]) / self.std[j];
            }
        }
        if regression {
            labels.mapv_inplace(|y| (y - self.mean[d]) / self.std[d]);
        }
    }

    /// The same model on raw features (and, for regression, raw labels).
    pub fn fold_into(&self, mut model: DenseModel, regression: bool) -> DenseModel {
        let (w, b) = &mut model.layers[0];
        let d = w.shape()[0];
        for i in 0..d {
            for k in 0..w.shape()[1] {
                let scaled = w[[i, k]] / self.std[i];
                b[[k]] -= self.mean[i] * scaled;
                w[[i, k]] = scaled;
            }
        }
        if regression {
            let (w, b) = model.layers.last_mut().expect("a layer");
            w.mapv_inplace(|v| v * self.std[d]);
            b.mapv_inplace(|v| v * self.std[d] + self.mean[d]);
        }
        model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_statistics_are_those_of_the_pooled_rows() {
        let a = Array2::from_shape_vec((2, 2), vec![1.0, 10.0, 3.0, 30.0]).unwrap();
        let b = Array2::from_shape_vec((1, 2), vec![5.0, 50.0]).unwrap();
        let labels_a = Array1::from(vec![1.0, 2.0]);
        let labels_b = Array1::from(vec![3.0]);
        let owners = vec![
            OwnerColumns { owner: "a".into(), features: &a, labels: Some(&labels_a) },
            OwnerColumns { owner: "b".into(), features: &b, labels: Some(&labels_b) },
        ];
        let stats = pooled_statistics(&owners, Protocol::Pond).unwrap();
        let expect = |values: [f64; 3], j: usize| {
            let mean = values.iter().sum::<f64>() / 3.0;
            let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
            assert!((stats.mean[j] - mean).abs() < 1e-6 && (stats.std[j] - std).abs() < 1e-6, "{stats:?}");
        };
        expect([1.0, 3.0, 5.0], 0);
        expect([10.0, 30.0, 50.0], 1);
        expect([1.0, 2.0, 3.0], 2);
    }
}
