//! [`GraphBuilder`]: the Rust API that reads like tf-encrypted's
//! `define_private_input` / `define_output` programs.
//!
//! The builder places the protocol steps a user should not have to write:
//! a private operand meeting a shared one (or another party's) is shared
//! first, once; a fixed-point product is truncated back to the graph's
//! fractional bits; an output of a shared value reveals it to the receiver
//! only.

use std::collections::HashMap;

use crate::error::{GraphError, Result};
use crate::graph::{Graph, Node};
use crate::inference::infer;
use crate::op::{NodeId, Op};
use crate::types::{DType, Ring, ValueType, Visibility};

pub use blindfold_ring::Conv2dGeometry;

/// A handle to a value of the graph being built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tensor(NodeId);

impl Tensor {
    /// The node producing the value.
    pub fn id(self) -> NodeId {
        self.0
    }

    /// The value of node `id` (of the builder that made it).
    pub(crate) fn from_id(id: NodeId) -> Tensor {
        Tensor(id)
    }
}

/// The least-squares fit of the logistic sigmoid on [−8, 8] by
/// 0.5 + Σ c_i·x^i over odd i ≤ 7, rewritten for t = x/8: coefficients of
/// t^0..t^7 (c_i·8^i). Maximum error 0.032 on [−8, 8] (0.022 on [−4, 4]);
/// outside [−8, 8] the polynomial leaves [0, 1] quickly. Evaluating in t keeps
/// every coefficient far above one ulp at 16 fractional bits (c_7 = 1.2·10^−6
/// would round to 0) and every power of t within [−1, 1].
pub const SIGMOID_COEFFICIENTS_OVER_8: [f64; 8] = [
    0.5,
    0.216_891_725 * 8.0,
    0.0,
    -0.008_194_077_32 * 512.0,
    0.0,
    0.000_165_908_044 * 32_768.0,
    0.0,
    -0.000_001_196_247_81 * 2_097_152.0,
];

/// Where the clamped sigmoid clamps its input (the clamp whose whole-line
/// error is smallest, `scripts/fit_sigmoid.py`).
pub const SIGMOID_CLAMP: f64 = 6.0;

/// The clamped sigmoid's polynomial: 0.5 + Σ c_i·t^i over odd i ≤ 11 in
/// t = clamp(x, −6, 6)/6 (coefficients of t^0..t^11), fitted towards the
/// max norm on the whole line (beyond the clamp, p(1) sits between σ(6) and
/// 1): maximum error 0.00124 for every real x, 0.00125 with the rounding of
/// 16 fractional bits (`scripts/fit_sigmoid.py`). The clamp at 8 that came
/// before erred by 0.0041, and its coefficients (up to 35, against 11 here)
/// scaled the evaluation's rounding errors three times more.
pub const SIGMOID_CLAMPED_COEFFICIENTS: [f64; 12] = [
    0.5,
    1.481_759_817_823,
    0.0,
    -3.824_709_219_687,
    0.0,
    8.371_797_462_844,
    0.0,
    -11.137_285_299_937,
    0.0,
    7.781_124_427_973,
    0.0,
    -2.173_923_857_918,
];

/// Builds a [`Graph`] op by op, inferring and checking types as it goes.
#[derive(Debug, Clone)]
pub struct GraphBuilder {
    graph: Graph,
    /// The share node made for each private value, to share it only once.
    shared: HashMap<NodeId, NodeId>,
    /// Comparisons on x mod 2^bits (see [`GraphBuilder::set_comparison_bits`]).
    comparison_bits: Option<u32>,
}

impl Default for GraphBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl GraphBuilder {
    /// A graph over Z_2^64 with 16 fractional bits.
    pub fn new() -> Self {
        Self::with_ring(Ring::Z64)
    }

    /// A graph over `ring` with its default fractional bits.
    pub fn with_ring(ring: Ring) -> Self {
        Self::with_precision(ring, ring.default_fractional_bits())
    }

    /// A graph over `ring` with `fractional_bits` for fixed-point values.
    pub fn with_precision(ring: Ring, fractional_bits: u32) -> Self {
        GraphBuilder {
            graph: Graph::empty(ring, fractional_bits),
            shared: HashMap::new(),
            comparison_bits: None,
        }
    }

    /// Makes every later comparison (drelu, and relu, max, argmax and the
    /// clamped sigmoid built on it) assume |x| < 2^(bits−1−F) in real terms
    /// (2^(bits−1) as a ring integer) and compare x mod 2^bits: exact within
    /// that bound, and about (bits−1)/(k−1) of the full-ring comparison's
    /// time and producer bytes. Outside the bound the result is the sign of
    /// x mod 2^bits: wrong, so choose a bound the values cannot reach.
    /// `None` (the default) compares on the whole ring.
    pub fn set_comparison_bits(&mut self, bits: Option<u32>) -> Result<()> {
        let (ring_bits, fractional_bits) = (self.graph.ring().bits(), self.graph.fractional_bits());
        if let Some(bits) = bits.filter(|&b| b <= fractional_bits + 1 || b > ring_bits) {
            return Err(self.invalid(
                "comparison bits",
                &format!("{bits} bits: more than {} and at most {ring_bits} (the ring)", fractional_bits + 1),
            ));
        }
        self.comparison_bits = bits.filter(|&b| b < ring_bits);
        Ok(())
    }

    /// The width comparisons use (`None`: the whole ring).
    pub fn comparison_bits(&self) -> Option<u32> {
        self.comparison_bits
    }

    /// The type of a value.
    pub fn ty(&self, tensor: Tensor) -> &ValueType {
        &self.graph.nodes()[tensor.0.index()].ty
    }

    /// The graph so far.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The graph, built.
    pub fn finish(self) -> Graph {
        self.graph
    }

    fn fixed(&self) -> DType {
        DType::Fixed { fractional_bits: self.graph.fractional_bits() }
    }

    /// Appends `op`, its type inferred.
    pub(crate) fn push_op(&mut self, op: Op) -> Result<Tensor> {
        self.push(op, None)
    }

    fn push(&mut self, op: Op, declared: Option<ValueType>) -> Result<Tensor> {
        let id = NodeId(self.graph.nodes().len() as u32);
        let ty = infer(&self.graph, id, &op, declared.as_ref())?;
        Ok(Tensor(self.graph.push(Node { op, ty })))
    }

    /// A real tensor that `party` supplies at run time as `name`.
    pub fn private_input(&mut self, party: &str, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.input(party, name, shape, self.fixed())
    }

    /// An integer tensor that `party` supplies at run time as `name`.
    pub fn private_integer_input(&mut self, party: &str, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.input(party, name, shape, DType::Integer)
    }

    fn input(&mut self, party: &str, name: &str, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let duplicate = self
            .graph
            .nodes()
            .iter()
            .any(|node| matches!(&node.op, Op::Input { party: p, name: n } if p == party && n == name));
        if duplicate {
            return Err(GraphError::InvalidArgument {
                node: NodeId(self.graph.nodes().len() as u32),
                op: "input",
                reason: format!("{party} already has an input named '{name}'"),
            });
        }
        let declared =
            ValueType { shape: shape.to_vec(), dtype, visibility: Visibility::Private(party.into()) };
        self.push(Op::Input { party: party.into(), name: name.into() }, Some(declared))
    }

    /// A public real tensor (row-major values).
    pub fn constant(&mut self, shape: &[usize], values: &[f64]) -> Result<Tensor> {
        let declared =
            ValueType { shape: shape.to_vec(), dtype: self.fixed(), visibility: Visibility::Public };
        self.push(Op::Constant { values: values.to_vec() }, Some(declared))
    }

    /// A public real scalar.
    pub fn scalar(&mut self, value: f64) -> Result<Tensor> {
        self.constant(&[], &[value])
    }

    /// A public integer tensor.
    pub fn integer_constant(&mut self, shape: &[usize], values: &[i64]) -> Result<Tensor> {
        let declared =
            ValueType { shape: shape.to_vec(), dtype: DType::Integer, visibility: Visibility::Public };
        self.push(Op::Constant { values: values.iter().map(|&v| v as f64).collect() }, Some(declared))
    }

    /// Splits a private value into shares (done for you when needed).
    pub fn share(&mut self, tensor: Tensor) -> Result<Tensor> {
        if let Some(&shared) = self.shared.get(&tensor.0) {
            return Ok(Tensor(shared));
        }
        let shared = self.push(Op::Share { source: tensor.0 }, None)?;
        self.shared.insert(tensor.0, shared.0);
        Ok(shared)
    }

    /// Opens a shared value to `party` only.
    pub fn reveal(&mut self, tensor: Tensor, party: &str) -> Result<Tensor> {
        self.push(Op::Reveal { source: tensor.0, party: party.into() }, None)
    }

    /// Delivers `tensor` to `party` as output `name`, revealing it to that
    /// party alone if it is shared.
    pub fn output(&mut self, party: &str, name: &str, tensor: Tensor) -> Result<Tensor> {
        let source = match self.ty(tensor).visibility {
            Visibility::Shared => self.reveal(tensor, party)?,
            _ => tensor,
        };
        self.push(Op::Output { source: source.0, party: party.into(), name: name.into() }, None)
    }

    /// Brings operands to a common visibility: if they are not all public
    /// or private to one party, every private operand is shared.
    fn align(&mut self, operands: &[Tensor]) -> Result<Vec<NodeId>> {
        let mut owner: Option<&str> = None;
        let mut needs_sharing = false;
        for operand in operands {
            match &self.ty(*operand).visibility {
                Visibility::Public => {}
                Visibility::Shared => needs_sharing = true,
                Visibility::Private(party) => match owner {
                    Some(existing) if existing != party => needs_sharing = true,
                    _ => owner = Some(party),
                },
            }
        }
        if owner.is_none() || !needs_sharing {
            return Ok(operands.iter().map(|t| t.0).collect());
        }
        operands
            .iter()
            .map(|&operand| match self.ty(operand).visibility {
                Visibility::Private(_) => self.share(operand).map(|t| t.0),
                _ => Ok(operand.0),
            })
            .collect()
    }

    /// Truncates a fixed-point value carrying more than the graph's
    /// fractional bits back to them.
    fn rescale(&mut self, tensor: Tensor) -> Result<Tensor> {
        match self.ty(tensor).dtype {
            DType::Fixed { fractional_bits } if fractional_bits > self.graph.fractional_bits() => {
                let bits = fractional_bits - self.graph.fractional_bits();
                self.push(Op::Truncate { source: tensor.0, bits }, None)
            }
            _ => Ok(tensor),
        }
    }

    pub fn add(&mut self, left: Tensor, right: Tensor) -> Result<Tensor> {
        let [left, right] = self.align(&[left, right])?[..] else { unreachable!() };
        self.push(Op::Add { left, right }, None)
    }

    pub fn sub(&mut self, left: Tensor, right: Tensor) -> Result<Tensor> {
        let [left, right] = self.align(&[left, right])?[..] else { unreachable!() };
        self.push(Op::Sub { left, right }, None)
    }

    pub fn neg(&mut self, tensor: Tensor) -> Result<Tensor> {
        self.push(Op::Neg { source: tensor.0 }, None)
    }

    /// Elementwise product (numpy broadcasting), truncated.
    pub fn mul(&mut self, left: Tensor, right: Tensor) -> Result<Tensor> {
        let [left, right] = self.align(&[left, right])?[..] else { unreachable!() };
        let product = self.push(Op::Mul { left, right }, None)?;
        self.rescale(product)
    }

    /// `tensor · tensor`: one opening of the value instead of two.
    pub fn square(&mut self, tensor: Tensor) -> Result<Tensor> {
        self.mul(tensor, tensor)
    }

    /// Multiplies by a public real factor.
    pub fn scale(&mut self, tensor: Tensor, factor: f64) -> Result<Tensor> {
        let factor = self.scalar(factor)?;
        self.mul(tensor, factor)
    }

    /// numpy's matmul, truncated.
    pub fn matmul(&mut self, left: Tensor, right: Tensor) -> Result<Tensor> {
        let [left, right] = self.align(&[left, right])?[..] else { unreachable!() };
        let product = self.push(Op::MatMul { left, right }, None)?;
        self.rescale(product)
    }

    /// NCHW convolution with [O, C, KH, KW] filters, truncated.
    pub fn conv2d(&mut self, input: Tensor, filters: Tensor, geometry: Conv2dGeometry) -> Result<Tensor> {
        let [input, filters] = self.align(&[input, filters])?[..] else { unreachable!() };
        let product = self.push(Op::Conv2d { input, filters, geometry }, None)?;
        self.rescale(product)
    }

    /// Average pooling of NCHW windows: window sums times the public
    /// 1/(KH·KW), truncated. Zero padding counts towards the average.
    pub fn avg_pool2d(
        &mut self,
        tensor: Tensor,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
    ) -> Result<Tensor> {
        let sums = self.push(Op::SumPool2d { source: tensor.0, kernel, geometry }, None)?;
        self.scale(sums, 1.0 / (kernel.0 * kernel.1) as f64)
    }

    /// The sum of each (kernel) window of an NCHW tensor, per channel
    /// (zero padding).
    pub fn sum_pool2d(
        &mut self,
        tensor: Tensor,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
    ) -> Result<Tensor> {
        self.push(Op::SumPool2d { source: tensor.0, kernel, geometry }, None)
    }

    /// Every `kernel` window of an NCHW tensor along a new last axis
    /// (see [`Op::Windows2d`] for padding).
    pub fn windows2d(
        &mut self,
        tensor: Tensor,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
    ) -> Result<Tensor> {
        self.push(Op::Windows2d { source: tensor.0, kernel, geometry }, None)
    }

    /// Sum over `axes`.
    pub fn sum(&mut self, tensor: Tensor, axes: &[usize], keep_dims: bool) -> Result<Tensor> {
        self.push(Op::Sum { source: tensor.0, axes: axes.to_vec(), keep_dims }, None)
    }

    /// Mean over `axes`: the sum times the public 1/count, truncated.
    pub fn mean(&mut self, tensor: Tensor, axes: &[usize], keep_dims: bool) -> Result<Tensor> {
        let count: usize = axes.iter().filter_map(|&a| self.ty(tensor).shape.get(a)).product();
        let sum = self.sum(tensor, axes, keep_dims)?;
        self.scale(sum, 1.0 / count.max(1) as f64)
    }

    pub fn reshape(&mut self, tensor: Tensor, shape: &[usize]) -> Result<Tensor> {
        self.push(Op::Reshape { source: tensor.0, shape: shape.to_vec() }, None)
    }

    /// Permutes axes; `None` reverses them.
    pub fn transpose(&mut self, tensor: Tensor, permutation: Option<&[usize]>) -> Result<Tensor> {
        let permutation = match permutation {
            Some(p) => p.to_vec(),
            None => (0..self.ty(tensor).shape.len()).rev().collect(),
        };
        self.push(Op::Transpose { source: tensor.0, permutation }, None)
    }

    pub fn concat(&mut self, tensors: &[Tensor], axis: usize) -> Result<Tensor> {
        let sources = self.align(tensors)?;
        self.push(Op::Concat { sources, axis }, None)
    }

    /// Σ coefficients[i] · x^i with public real coefficients.
    pub fn polynomial(&mut self, tensor: Tensor, coefficients: &[f64]) -> Result<Tensor> {
        self.push(Op::Polynomial { source: tensor.0, coefficients: coefficients.to_vec() }, None)
    }

    /// `tensor`, unchanged, declared to lie in [−bound, bound] by how it was
    /// built (no work at run time; the overflow analysis relies on it, so
    /// only a bound that holds by construction belongs here).
    pub fn bounded(&mut self, tensor: Tensor, bound: f64) -> Result<Tensor> {
        self.push(Op::Bounded { source: tensor.0, bound }, None)
    }

    /// 1 where `tensor` ≥ 0, else 0, exactly (an integer tensor).
    pub fn drelu(&mut self, tensor: Tensor) -> Result<Tensor> {
        match self.comparison_bits {
            Some(bits) => self.push(Op::DreluBounded { source: tensor.0, bits }, None),
            None => self.push(Op::Drelu { source: tensor.0 }, None),
        }
    }

    /// max(x, 0) exactly: drelu(x)·x (a product with an integer: no truncation).
    pub fn relu(&mut self, tensor: Tensor) -> Result<Tensor> {
        let positive = self.drelu(tensor)?;
        self.mul(positive, tensor)
    }

    /// Rows `indices` of the first axis, in that order (public indices).
    pub fn gather(&mut self, tensor: Tensor, indices: &[usize]) -> Result<Tensor> {
        self.push(Op::Gather { source: tensor.0, indices: indices.to_vec() }, None)
    }

    /// Elements `start..end` along `axis`.
    pub fn slice(&mut self, tensor: Tensor, axis: usize, start: usize, end: usize) -> Result<Tensor> {
        self.push(Op::Slice { source: tensor.0, axis, start, end }, None)
    }

    /// The maximum over the last axis (removed), by a tournament: ⌈log2 n⌉
    /// levels of max(a, b) = b + drelu(a − b)·(a − b) over adjacent pairs,
    /// each level one comparison round and one product round.
    pub fn max_last_axis(&mut self, tensor: Tensor) -> Result<Tensor> {
        let shape = self.ty(tensor).shape.clone();
        let axis =
            shape.len().checked_sub(1).ok_or_else(|| self.invalid("max", "a scalar has no last axis"))?;
        let mut with_item = shape.clone();
        with_item.push(1);
        let items = self.reshape(tensor, &with_item)?;
        let winner = self.tournament(items, axis)?;
        self.reshape(winner, &shape[..axis])
    }

    /// Max pooling of NCHW windows (padding never wins).
    pub fn max_pool2d(
        &mut self,
        tensor: Tensor,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
    ) -> Result<Tensor> {
        let windows = self.push(Op::Windows2d { source: tensor.0, kernel, geometry }, None)?;
        self.max_last_axis(windows)
    }

    /// The index of the largest element along the last axis (removed), as a
    /// real: the same tournament over (value, index) pairs, one product per
    /// level moving both. Ties go to the earlier index.
    pub fn argmax(&mut self, tensor: Tensor) -> Result<Tensor> {
        let length = self.ty(tensor).shape.last().copied().unwrap_or(0);
        let indices: Vec<f64> = (0..length).map(|i| i as f64).collect();
        self.argmax_labelled(tensor, &indices)
    }

    /// `labels[i]` for i the index of the largest element along the last
    /// axis (removed): [`argmax`](Self::argmax)'s tournament carrying public
    /// labels (a classifier's class labels) instead of the indices, at the
    /// same cost. Ties go to the earlier index.
    pub fn argmax_labelled(&mut self, tensor: Tensor, labels: &[f64]) -> Result<Tensor> {
        let shape = self.ty(tensor).shape.clone();
        let axis =
            shape.len().checked_sub(1).ok_or_else(|| self.invalid("argmax", "a scalar has no last axis"))?;
        let length = shape[axis];
        if labels.len() != length {
            return Err(self.invalid("argmax", &format!("{} labels for an axis of {length}", labels.len())));
        }
        let mut with_item = shape.clone();
        with_item.push(1);
        let values = self.reshape(tensor, &with_item)?;
        let indices: Vec<f64> =
            (0..shape.iter().product::<usize>()).map(|i| labels[i % length.max(1)]).collect();
        let indices = self.constant(&with_item, &indices)?;
        let pairs = self.concat(&[values, indices], axis + 1)?;
        let winner = self.tournament(pairs, axis)?;
        let index = self.slice(winner, axis + 1, 1, 2)?;
        self.reshape(index, &shape[..axis])
    }

    /// Reduces `items` ([..., n, m], item j = the m values after `axis`)
    /// to the item with the largest first value, [..., 1, m]: adjacent items
    /// meet, the earlier one winning ties, so every survivor keeps its
    /// block's order.
    fn tournament(&mut self, items: Tensor, axis: usize) -> Result<Tensor> {
        let mut current = items;
        loop {
            let shape = self.ty(current).shape.clone();
            let length = shape[axis];
            if length == 0 {
                return Err(self.invalid("max", "an empty axis has no maximum"));
            }
            if length == 1 {
                return Ok(current);
            }
            let half = length / 2;
            let body = if length % 2 == 1 { self.slice(current, axis, 0, 2 * half)? } else { current };
            let mut paired = shape.clone();
            paired[axis] = half;
            paired.insert(axis + 1, 2);
            let paired_tensor = self.reshape(body, &paired)?;
            let a = self.slice(paired_tensor, axis + 1, 0, 1)?;
            let b = self.slice(paired_tensor, axis + 1, 1, 2)?;
            let difference = self.sub(a, b)?;
            let key = self.slice(difference, axis + 2, 0, 1)?;
            let take_a = self.drelu(key)?;
            let moved = self.mul(take_a, difference)?;
            let winners = self.add(b, moved)?;
            let mut level = shape.clone();
            level[axis] = half;
            let winners = self.reshape(winners, &level)?;
            current = if length % 2 == 1 {
                let rest = self.slice(current, axis, 2 * half, length)?;
                self.concat(&[winners, rest], axis)?
            } else {
                winners
            };
        }
    }

    pub(crate) fn invalid(&self, op: &'static str, reason: &str) -> GraphError {
        GraphError::InvalidArgument {
            node: NodeId(self.graph.nodes().len() as u32),
            op,
            reason: reason.into(),
        }
    }

    /// The logistic sigmoid with a bounded error on the whole line: x is
    /// clamped to [−6, 6] by comparisons, x − relu(x − 6) + relu(−6 − x)
    /// (the two comparisons in one round, one product round), then the
    /// degree-11 polynomial [`SIGMOID_CLAMPED_COEFFICIENTS`] (4 rounds).
    /// Error ≤ 0.00125 in fixed point and ≤ 0.003 under Pond's truncation
    /// (tested), for every input, where
    /// [`sigmoid`](Self::sigmoid) is cheaper (3 rounds, no comparison) but
    /// wrong outside [−8, 8].
    pub fn sigmoid_clamped(&mut self, tensor: Tensor) -> Result<Tensor> {
        let shape = self.ty(tensor).shape.clone();
        let mut stacked_shape = shape.clone();
        stacked_shape.insert(0, 1);
        let x = self.reshape(tensor, &stacked_shape)?;
        let negated = self.neg(x)?;
        let both = self.concat(&[x, negated], 0)?;
        let bound = self.scalar(SIGMOID_CLAMP)?;
        let excess = self.sub(both, bound)?;
        let beyond = self.relu(excess)?;
        let above = self.slice(beyond, 0, 0, 1)?;
        let below = self.slice(beyond, 0, 1, 2)?;
        let clamped = self.sub(x, above)?;
        let clamped = self.add(clamped, below)?;
        let clamped = self.reshape(clamped, &shape)?;
        let clamped = self.bounded(clamped, SIGMOID_CLAMP)?;
        let scaled = self.scale(clamped, 1.0 / SIGMOID_CLAMP)?;
        self.polynomial(scaled, &SIGMOID_CLAMPED_COEFFICIENTS)
    }

    /// 1/x elementwise for x in [2^−(F/2), 2^max_exponent) (F the graph's
    /// fractional bits), to within 2^−14 relative error plus 4 ulps (tested).
    ///
    /// An initial guess from comparisons, then Newton: the bits
    /// b_j = 1[x ≥ 2^j] for every j in [−F/2, max_exponent) take one
    /// comparison round, and y₀ = 2^(F/2) − Σ b_j·2^−(j+1) = 2^−(k+1) for
    /// x in [2^k, 2^(k+1)) is local, so x·y₀ ∈ [1/2, 1). Four Newton steps
    /// y ← y·(2 − x·y) (two product rounds each) square the error 1 − x·y
    /// four times: 2^−16. Rounds: 9. Comparisons: F/2 + max_exponent per
    /// element. `max_exponent` is at most F − 4 so that y₀ keeps 4 bits.
    pub fn reciprocal(&mut self, tensor: Tensor, max_exponent: i32) -> Result<Tensor> {
        let half = (self.graph.fractional_bits() / 2) as i32;
        if max_exponent <= -half || max_exponent > self.graph.fractional_bits() as i32 - 4 {
            return Err(self.invalid(
                "reciprocal",
                &format!(
                    "max_exponent {max_exponent} must lie in ({}, {}] at {} fractional bits",
                    -half,
                    self.graph.fractional_bits() as i32 - 4,
                    self.graph.fractional_bits()
                ),
            ));
        }
        let mut y =
            self.octave_guess(tensor, -half..max_exponent, 2f64.powi(half), |j| -(2f64.powi(-(j + 1))))?;
        let two = self.scalar(2.0)?;
        for _ in 0..4 {
            let product = self.mul(tensor, y)?;
            let correction = self.sub(two, product)?;
            y = self.mul(y, correction)?;
        }
        Ok(y)
    }

    /// The seed's softmax alternative along the last axis:
    /// relu(x_i) / Σ_j relu(x_j), exact ReLUs and a [`reciprocal`](Self::reciprocal)
    /// of the sum (which must stay below 2^max_exponent). A row whose sum is
    /// below 2^−(F/2) (every x_i ≤ 0, in effect) gives zeros. Rounds: 2 (ReLU)
    /// + 9 (reciprocal) + 1 (product) = 12.
    pub fn softmax_alternative(&mut self, tensor: Tensor, max_exponent: i32) -> Result<Tensor> {
        let rank = self.ty(tensor).shape.len();
        if rank == 0 {
            return Err(self.invalid("softmax_alternative", "a scalar has no last axis"));
        }
        let rectified = self.relu(tensor)?;
        let total = self.sum(rectified, &[rank - 1], true)?;
        let inverse = self.reciprocal(total, max_exponent)?;
        self.mul(rectified, inverse)
    }

    /// The logistic sigmoid by the degree-7 polynomial
    /// [`SIGMOID_COEFFICIENTS_OVER_8`] in x/8 (error ≤ 0.032 on [−8, 8]).
    pub fn sigmoid(&mut self, tensor: Tensor) -> Result<Tensor> {
        let scaled = self.scale(tensor, 0.125)?;
        self.polynomial(scaled, &SIGMOID_COEFFICIENTS_OVER_8)
    }
}
