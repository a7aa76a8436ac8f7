//! The values a session takes and delivers, per party.

use std::collections::{BTreeMap, HashMap};

use ndarray::ArrayD;

/// Every party's inputs: party → input name → values.
pub type Inputs = BTreeMap<String, HashMap<String, ArrayD<f64>>>;

/// Every party's outputs: party → output name → values.
pub type Outputs = BTreeMap<String, BTreeMap<String, ArrayD<f64>>>;
