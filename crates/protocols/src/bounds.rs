//! How large every value of a graph can get: interval bound propagation in
//! f64, from what is known of the inputs (exact values, or a declared
//! range), elementwise.
//!
//! Each value is an interval per element. Linear and structural ops map
//! the intervals exactly; elementwise products take the four corner
//! products; matmul and conv2d use the midpoint–radius form (centre
//! c = A_c·B_c, radius |A_c|·B_r + A_r·|B_c| + A_r·B_r), which can only
//! widen an interval, never narrow it below the truth. Comparisons give
//! [0, 1] unless the sign is known; a polynomial's powers follow the
//! interval's sign. An [`Op::Bounded`] value is intersected with its
//! declared bound (the builder's clamp). With exact inputs the intervals
//! are points: the bounds are the values the graph computes, in f64.
//!
//! The result feeds [`crate::headroom`], which says whether fixed point in
//! the graph's ring holds them.

use std::collections::BTreeMap;

use blindfold_ir::{Graph, NodeId, Op};
use ndarray::{ArrayD, Axis, IxDyn, Zip};

use crate::float;

/// What is known of one input.
#[derive(Clone, Debug)]
pub enum Known {
    /// Its values (the party's own input, or every input in-process).
    Exact(ArrayD<f64>),
    /// A declared range every element lies in.
    Range { low: f64, high: f64 },
}

/// Inputs by (party, name).
pub type KnownInputs = BTreeMap<(String, String), Known>;

/// How large one node's values can get.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodeBound {
    /// The least and the largest value over the value's elements.
    pub low: f64,
    pub high: f64,
    /// The largest |x| over the value's elements.
    pub value: f64,
    /// For a polynomial: the largest |x^i| over its powers (each computed
    /// as a product at 2F fractional bits, then truncated), and the
    /// weighted sum before its truncation.
    pub internal: Option<f64>,
}

/// Why the bounds could not be computed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BoundsError {
    /// An input with neither values nor a declared range.
    #[error("nothing is known of input '{name}' of {party}: give its values or a range")]
    Unknown { party: String, name: String },
    /// Values of the wrong shape for an input.
    #[error("input '{name}' of {party} has shape {got:?}, the graph expects {expected:?}")]
    Shape { party: String, name: String, expected: Vec<usize>, got: Vec<usize> },
    /// A declared range that is not one.
    #[error("the range [{low}, {high}] of input '{name}' of {party} is not a range of finite numbers")]
    Range { party: String, name: String, low: f64, high: f64 },
}

/// Per-element lower and upper bounds of one value; an exact value (every
/// input known, as when a session checks its own inputs) is held once.
#[derive(Clone, Debug)]
struct Interval {
    low: ArrayD<f64>,
    /// `None`: the value is exact, its upper bound is `low`.
    high: Option<ArrayD<f64>>,
}

impl Interval {
    fn exact(values: ArrayD<f64>) -> Interval {
        Interval { low: values, high: None }
    }

    fn range(low: ArrayD<f64>, high: ArrayD<f64>) -> Interval {
        Interval { low, high: Some(high) }
    }

    fn high(&self) -> &ArrayD<f64> {
        self.high.as_ref().unwrap_or(&self.low)
    }

    /// (least, largest) over the elements; NaN is taken as unbounded.
    fn extremes(&self) -> (f64, f64) {
        let low = self
            .low
            .iter()
            .fold(f64::INFINITY, |m, &v| if v.is_nan() { f64::NEG_INFINITY } else { m.min(v) });
        let high = self
            .high()
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| if v.is_nan() { f64::INFINITY } else { m.max(v) });
        (low.min(high), high.max(low))
    }

    /// The same structural map (reshape, slice, pooling sums, ...) of both
    /// ends; valid for any map that is monotone in each element.
    fn map(&self, f: impl Fn(&ArrayD<f64>) -> ArrayD<f64>) -> Interval {
        Interval { low: f(&self.low), high: self.high.as_ref().map(f) }
    }

    /// The map of two intervals' ends, `low` and `high` given the operands'
    /// (low, high) ends; exact if both are.
    fn combine(
        x: &Interval,
        y: &Interval,
        low: impl Fn((&ArrayD<f64>, &ArrayD<f64>), (&ArrayD<f64>, &ArrayD<f64>)) -> ArrayD<f64>,
        high: impl Fn((&ArrayD<f64>, &ArrayD<f64>), (&ArrayD<f64>, &ArrayD<f64>)) -> ArrayD<f64>,
    ) -> Interval {
        let (xe, ye) = ((&x.low, x.high()), (&y.low, y.high()));
        if x.is_exact() && y.is_exact() {
            Interval::exact(low(xe, ye))
        } else {
            Interval::range(low(xe, ye), high(xe, ye))
        }
    }

    fn centre_radius(&self) -> (ArrayD<f64>, ArrayD<f64>) {
        ((&self.low + self.high()) * 0.5, (self.high() - &self.low) * 0.5)
    }

    fn is_exact(&self) -> bool {
        self.high.is_none()
    }
}

/// The bound of every node of `graph`, in order, from `inputs`.
pub fn propagate(graph: &Graph, inputs: &KnownInputs) -> Result<Vec<NodeBound>, BoundsError> {
    let last_use = crate::executor::last_uses(graph);
    let mut values: Vec<Option<Interval>> = vec![None; graph.nodes().len()];
    let mut bounds = Vec::with_capacity(graph.nodes().len());
    for (index, node) in graph.nodes().iter().enumerate() {
        let operand = |i: usize| values[node.op.operands()[i].index()].as_ref().expect("operands precede");
        let shape = node.ty.shape.as_slice();
        let mut internal = None;
        let interval = match &node.op {
            Op::Input { party, name } => input(inputs, party, name, shape)?,
            Op::Constant { values } => Interval::exact(
                ArrayD::from_shape_vec(IxDyn(shape), values.clone()).expect("inferred length"),
            ),
            Op::Share { .. } | Op::Reveal { .. } | Op::Output { .. } | Op::Truncate { .. } => {
                operand(0).clone()
            }
            Op::Bounded { bound, .. } => operand(0).map(|ends| ends.mapv(|v| v.clamp(-bound, *bound))),
            Op::Add { .. } => Interval::combine(operand(0), operand(1), |x, y| x.0 + y.0, |x, y| x.1 + y.1),
            Op::Sub { .. } => Interval::combine(operand(0), operand(1), |x, y| x.0 - y.1, |x, y| x.1 - y.0),
            Op::Neg { .. } => match &operand(0).high {
                None => Interval::exact(operand(0).low.mapv(|v| -v)),
                Some(high) => Interval::range(high.mapv(|v| -v), operand(0).low.mapv(|v| -v)),
            },
            Op::Mul { .. } => elementwise_product(operand(0), operand(1), shape),
            Op::MatMul { .. } => bilinear(operand(0), operand(1), |a, b| float::matmul(a, b, shape)),
            Op::Conv2d { geometry, .. } => {
                bilinear(operand(0), operand(1), |a, b| float::conv2d(a, b, geometry, shape))
            }
            Op::SumPool2d { kernel, geometry, .. } => {
                operand(0).map(|ends| float::sum_pool2d(ends, *kernel, geometry, shape))
            }
            Op::Windows2d { kernel, geometry, .. } => {
                operand(0).map(|ends| float::windows2d(ends, *kernel, geometry, shape))
            }
            // A sum with coefficients 1: the ends map to the ends.
            Op::ScatterWindows2d { kernel, geometry, input, nearest, .. } => {
                operand(0).map(|ends| float::scatter_windows2d(ends, *kernel, geometry, *input, *nearest))
            }
            Op::Sum { axes, keep_dims, .. } => operand(0).map(|ends| float::sum_axes(ends, axes, *keep_dims)),
            Op::Reshape { .. } => operand(0).map(|ends| {
                ends.as_standard_layout().into_owned().into_shape_with_order(IxDyn(shape)).expect("inferred")
            }),
            Op::Transpose { permutation, .. } => operand(0)
                .map(|ends| ends.view().permuted_axes(IxDyn(permutation)).as_standard_layout().into_owned()),
            Op::Concat { axis, sources } => {
                let parts: Vec<&Interval> =
                    sources.iter().map(|s| values[s.index()].as_ref().expect("operands precede")).collect();
                let join = |pick: fn(&Interval) -> &ArrayD<f64>| {
                    let views: Vec<_> = parts.iter().map(|part| pick(part).view()).collect();
                    ndarray::concatenate(Axis(*axis), &views).expect("inferred")
                };
                if parts.iter().all(|part| part.is_exact()) {
                    Interval::exact(join(|i| &i.low))
                } else {
                    Interval::range(join(|i| &i.low), join(|i| i.high()))
                }
            }
            Op::Slice { axis, start, end, .. } => {
                operand(0).map(|ends| float::slice(ends, *axis, *start, *end))
            }
            Op::Gather { indices, .. } => operand(0).map(|ends| ends.select(Axis(0), indices)),
            Op::Drelu { .. } | Op::DreluBounded { .. } => {
                operand(0).map(|ends| ends.mapv(|v| if v >= 0.0 { 1.0 } else { 0.0 }))
            }
            Op::Polynomial { coefficients, .. } => {
                let (value, largest) = polynomial(operand(0), coefficients);
                internal = Some(largest);
                value
            }
        };
        let (low, high) = interval.extremes();
        bounds.push(NodeBound { low, high, value: low.abs().max(high.abs()), internal });
        values[index] = Some(interval);
        let id = NodeId(index as u32);
        for operand in node.op.operands().into_iter().chain([id]) {
            if last_use[operand.index()] == index {
                values[operand.index()] = None;
            }
        }
    }
    Ok(bounds)
}

fn input(inputs: &KnownInputs, party: &str, name: &str, shape: &[usize]) -> Result<Interval, BoundsError> {
    let key = (party.to_string(), name.to_string());
    match inputs.get(&key) {
        Some(Known::Exact(values)) if values.shape() == shape => Ok(Interval::exact(values.clone())),
        Some(Known::Exact(values)) => Err(BoundsError::Shape {
            party: party.into(),
            name: name.into(),
            expected: shape.to_vec(),
            got: values.shape().to_vec(),
        }),
        Some(&Known::Range { low, high }) if low.is_finite() && high.is_finite() && low <= high => {
            Ok(Interval::range(ArrayD::from_elem(IxDyn(shape), low), ArrayD::from_elem(IxDyn(shape), high)))
        }
        Some(&Known::Range { low, high }) => {
            Err(BoundsError::Range { party: party.into(), name: name.into(), low, high })
        }
        None => Err(BoundsError::Unknown { party: party.into(), name: name.into() }),
    }
}

/// x ⊙ y elementwise (broadcasting): the least and largest corner products.
fn elementwise_product(x: &Interval, y: &Interval, shape: &[usize]) -> Interval {
    if x.is_exact() && y.is_exact() {
        return Interval::exact(&x.low * &y.low);
    }
    let corners = [&x.low * &y.low, &x.low * y.high(), x.high() * &y.low, x.high() * y.high()];
    let mut low = ArrayD::from_elem(IxDyn(shape), f64::INFINITY);
    let mut high = ArrayD::from_elem(IxDyn(shape), f64::NEG_INFINITY);
    for corner in &corners {
        Zip::from(&mut low).and(&mut high).and(corner).for_each(|l, h, &c| {
            *l = l.min(c);
            *h = h.max(c);
        });
    }
    Interval::range(low, high)
}

/// A bilinear map (matmul, conv2d) of two intervals, midpoint–radius.
fn bilinear(
    x: &Interval,
    y: &Interval,
    product: impl Fn(&ArrayD<f64>, &ArrayD<f64>) -> ArrayD<f64>,
) -> Interval {
    if x.is_exact() && y.is_exact() {
        return Interval::exact(product(&x.low, &y.low));
    }
    let ((xc, xr), (yc, yr)) = (x.centre_radius(), y.centre_radius());
    let centre = product(&xc, &yc);
    let mut radius = product(&xc.mapv(f64::abs), &yr);
    radius += &product(&xr, &yc.mapv(f64::abs));
    radius += &product(&xr, &yr);
    Interval::range(&centre - &radius, &centre + &radius)
}

/// Σ c_i·x^i over the interval x, and the largest |x^i| or partial sum on
/// the way (what the products and the final truncation carry).
fn polynomial(x: &Interval, coefficients: &[f64]) -> (Interval, f64) {
    let power_range = |low: f64, high: f64, i: i32| -> (f64, f64) {
        let (a, b) = (low.powi(i), high.powi(i));
        // x^0 is 1 everywhere (an interval around 0 is not [0, 1] for it).
        if i == 0 {
            return (1.0, 1.0);
        }
        if i % 2 == 0 && low <= 0.0 && high >= 0.0 { (0.0, a.max(b)) } else { (a.min(b), a.max(b)) }
    };
    let mut largest: f64 = 0.0;
    let mut low = ArrayD::zeros(x.low.raw_dim());
    let mut high = ArrayD::zeros(x.low.raw_dim());
    Zip::from(&mut low).and(&mut high).and(&x.low).and(x.high()).for_each(|l, h, &xl, &xh| {
        let (mut sum_low, mut sum_high, mut magnitude) = (0.0, 0.0, 0.0);
        for (i, &c) in coefficients.iter().enumerate() {
            let (pl, ph) = power_range(xl, xh, i as i32);
            largest = largest.max(pl.abs()).max(ph.abs());
            let (a, b) = (c * pl, c * ph);
            sum_low += a.min(b);
            sum_high += a.max(b);
            magnitude += a.abs().max(b.abs());
        }
        largest = largest.max(magnitude);
        (*l, *h) = (sum_low, sum_high);
    });
    let value = if x.is_exact() { Interval::exact(low) } else { Interval::range(low, high) };
    (value, largest)
}

#[cfg(test)]
mod tests {
    use blindfold_ir::{GraphBuilder, parties::MODEL_OWNER};

    use super::*;

    fn known(entries: Vec<(&str, &str, Known)>) -> KnownInputs {
        entries.into_iter().map(|(p, n, k)| ((p.to_string(), n.to_string()), k)).collect()
    }

    /// A polynomial of an exact value is exact, zero included (x^0 = 1):
    /// a widened constant term once made the reciprocal's Newton steps, and
    /// training's polynomial sigmoid, look like overflows they were not.
    #[test]
    fn a_polynomial_of_an_exact_zero_is_its_constant() {
        let mut g = GraphBuilder::new();
        let x = g.private_input("client", "x", &[2]).unwrap();
        let p = g.polynomial(x, &[0.5, 2.0, 3.0]).unwrap();
        g.output("client", "p", p).unwrap();
        let graph = g.finish();
        let inputs = known(vec![(
            "client",
            "x",
            Known::Exact(ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.0, 1.0]).unwrap()),
        )]);
        let bounds = propagate(&graph, &inputs).unwrap();
        let polynomial = graph.nodes().iter().position(|n| n.op.name() == "polynomial").unwrap();
        assert_eq!((bounds[polynomial].low, bounds[polynomial].high), (0.5, 5.5));
    }

    #[test]
    fn exact_inputs_give_the_values_themselves() {
        let mut g = GraphBuilder::new();
        let x = g.private_input("client", "x", &[1, 2]).unwrap();
        let w = g.private_input(MODEL_OWNER, "w", &[2, 2]).unwrap();
        let y = g.matmul(x, w).unwrap();
        let r = g.relu(y).unwrap();
        g.output("client", "r", r).unwrap();
        let graph = g.finish();
        let inputs = known(vec![
            ("client", "x", Known::Exact(ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![1.0, -2.0]).unwrap())),
            (
                MODEL_OWNER,
                "w",
                Known::Exact(ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![3.0, 1.0, 4.0, -5.0]).unwrap()),
            ),
        ]);
        let bounds = propagate(&graph, &inputs).unwrap();
        // x·w = [1·3 − 2·4, 1·1 + 2·5] = [−5, 11]; relu: [0, 11].
        let at = |name: &str| {
            graph
                .nodes()
                .iter()
                .zip(&bounds)
                .filter(|(n, _)| n.op.name() == name)
                .map(|(_, b)| b.value)
                .collect::<Vec<_>>()
        };
        assert_eq!(at("matmul"), [11.0]);
        assert_eq!(at("output"), [11.0]);
    }

    #[test]
    fn ranges_bound_what_any_input_in_them_gives() {
        // y = x·w + b for x ∈ [0, 1]^3 and known w: |y| ≤ Σ|w| + |b| per column.
        let mut g = GraphBuilder::new();
        let x = g.private_input("client", "x", &[1, 3]).unwrap();
        let w = g.private_input(MODEL_OWNER, "w", &[3, 1]).unwrap();
        let y = g.matmul(x, w).unwrap();
        let s = g.sigmoid_clamped(y).unwrap();
        g.output("client", "s", s).unwrap();
        let graph = g.finish();
        let w = ArrayD::from_shape_vec(IxDyn(&[3, 1]), vec![2.0, -3.0, 0.5]).unwrap();
        let inputs = known(vec![
            ("client", "x", Known::Range { low: 0.0, high: 1.0 }),
            (MODEL_OWNER, "w", Known::Exact(w)),
        ]);
        let bounds = propagate(&graph, &inputs).unwrap();
        let matmul = graph.nodes().iter().position(|n| n.op.name() == "matmul").unwrap();
        // Midpoint–radius: centre 0.5·(2 − 3 + 0.5) = −0.25, radius 0.5·5.5: [−3, 2.5].
        assert_eq!(bounds[matmul].value, 3.0);
        // The clamp's bound holds the polynomial's input to [−1, 1]: its
        // powers stay at most 1 and its terms at most Σ|c_i| (about 2.1),
        // whatever the clamp's arithmetic widened (without the bound the
        // input would be [−1.25, 1.25] here, and 27 at x ∈ [0, 100]).
        let polynomial = graph.nodes().iter().position(|n| n.op.name() == "polynomial").unwrap();
        let coefficients: f64 = blindfold_ir::SIGMOID_CLAMPED_COEFFICIENTS.iter().map(|c| c.abs()).sum();
        assert!(bounds[polynomial].internal.unwrap() <= coefficients + 1e-9, "{:?}", bounds[polynomial]);
        assert!(bounds[polynomial].value <= coefficients + 1e-9, "{:?}", bounds[polynomial]);
    }

    #[test]
    fn an_unknown_input_is_an_error() {
        let mut g = GraphBuilder::new();
        let x = g.private_input("client", "x", &[2]).unwrap();
        g.output("client", "x", x).unwrap();
        let error = propagate(&g.finish(), &KnownInputs::new()).unwrap_err();
        assert!(matches!(error, BoundsError::Unknown { .. }));
    }
}
