//! Reverse-mode differentiation on the graph being built: the backward ops
//! of a model are emitted by the same builder as its forward ops, so a
//! training step (forward, gradients, SGD update) is one graph that the
//! parties run, and every backward product is shared and truncated like a
//! forward one.

use std::collections::{HashMap, HashSet};

use crate::builder::{GraphBuilder, Tensor};
use crate::error::{GraphError, Result};
use crate::op::{NodeId, Op};
use crate::types::DType;

impl GraphBuilder {
    /// The gradients of Σ(`gradient` ⊙ `output`) with respect to each of
    /// `wrt`: given ∂L/∂output, returns ∂L/∂w for every w in `wrt` (a zero
    /// tensor where w does not reach `output`).
    ///
    /// Comparisons (drelu) are treated as constants, which is their
    /// derivative almost everywhere: through relu = drelu(x)·x the gradient
    /// is drelu(x)·g, and through a max tournament it goes to the winner.
    /// Integer values get no gradient. Convolution, pooling windows and
    /// gathers have their rules in `window_gradients`.
    pub fn backward(&mut self, output: Tensor, gradient: Tensor, wrt: &[Tensor]) -> Result<Vec<Tensor>> {
        if self.ty(output).shape != self.ty(gradient).shape {
            let reason = format!(
                "the gradient has shape {:?}, the output {:?}",
                self.ty(gradient).shape,
                self.ty(output).shape
            );
            return Err(self.invalid("backward", &reason));
        }
        let lowest = wrt.iter().map(|t| t.id().index()).min().unwrap_or(0);
        let on_path = self.nodes_depending_on(wrt, output.id().index());
        let mut gradients: HashMap<NodeId, Tensor> = HashMap::from([(output.id(), gradient)]);
        for index in (lowest..=output.id().index()).rev() {
            let id = NodeId(index as u32);
            let Some(&g) = gradients.get(&id) else { continue };
            let op = self.graph().node(id).expect("built node").op.clone();
            for (operand, contribution) in self.operand_gradients(&op, id, g, &on_path)? {
                let total = match gradients.get(&operand) {
                    Some(&earlier) => self.add(earlier, contribution)?,
                    None => contribution,
                };
                gradients.insert(operand, total);
            }
        }
        wrt.iter()
            .map(|w| match gradients.get(&w.id()) {
                Some(&g) => Ok(g),
                None => {
                    let shape = self.ty(*w).shape.clone();
                    self.constant(&shape, &vec![0.0; shape.iter().product()])
                }
            })
            .collect()
    }

    /// Nodes (up to `last`) that depend on any of `roots`, roots included.
    fn nodes_depending_on(&self, roots: &[Tensor], last: usize) -> HashSet<NodeId> {
        let mut on_path: HashSet<NodeId> = roots.iter().map(|t| t.id()).collect();
        let lowest = roots.iter().map(|t| t.id().index()).min().unwrap_or(0);
        for index in lowest..=last {
            let id = NodeId(index as u32);
            let node = self.graph().node(id).expect("built node");
            if node.ty.dtype == DType::Integer {
                continue;
            }
            if node.op.operands().iter().any(|o| on_path.contains(o)) {
                on_path.insert(id);
            }
        }
        on_path
    }

    /// (operand, ∂L/∂operand) for the operands of `op` (node `id`) on the
    /// differentiated path, given `g` = ∂L/∂node.
    fn operand_gradients(
        &mut self,
        op: &Op,
        id: NodeId,
        g: Tensor,
        on_path: &HashSet<NodeId>,
    ) -> Result<Vec<(NodeId, Tensor)>> {
        let wanted = |operand: &NodeId| on_path.contains(operand);
        let shape_of = |builder: &GraphBuilder, operand: NodeId| {
            builder.graph().node(operand).expect("operand").ty.shape.clone()
        };
        let mut out = Vec::new();
        match op {
            Op::Input { .. }
            | Op::Constant { .. }
            | Op::Drelu { .. }
            | Op::DreluBounded { .. }
            | Op::Output { .. } => {}
            Op::Share { source }
            | Op::Reveal { source, .. }
            | Op::Truncate { source, .. }
            | Op::Bounded { source, .. } => {
                if wanted(source) {
                    out.push((*source, g));
                }
            }
            Op::Add { left, right } | Op::Sub { left, right } => {
                let negate = matches!(op, Op::Sub { .. });
                if wanted(left) {
                    let shape = shape_of(self, *left);
                    out.push((*left, self.unbroadcast(g, &shape)?));
                }
                if wanted(right) {
                    let shape = shape_of(self, *right);
                    let reduced = self.unbroadcast(g, &shape)?;
                    out.push((*right, if negate { self.neg(reduced)? } else { reduced }));
                }
            }
            Op::Neg { source } => {
                if wanted(source) {
                    out.push((*source, self.neg(g)?));
                }
            }
            Op::Mul { left, right } => {
                for (this, other) in [(*left, *right), (*right, *left)] {
                    if wanted(&this) {
                        let product = self.mul(g, Tensor::from_id(other))?;
                        let shape = shape_of(self, this);
                        out.push((this, self.unbroadcast(product, &shape)?));
                    }
                }
            }
            Op::MatMul { left, right } => {
                let (left_shape, right_shape) = (shape_of(self, *left), shape_of(self, *right));
                if left_shape.len() != 2 || right_shape.len() != 2 {
                    return Err(self.no_rule(id, "matmul of operands that are not matrices"));
                }
                if wanted(left) {
                    let right_t = self.transpose(Tensor::from_id(*right), None)?;
                    out.push((*left, self.matmul(g, right_t)?));
                }
                if wanted(right) {
                    let left_t = self.transpose(Tensor::from_id(*left), None)?;
                    out.push((*right, self.matmul(left_t, g)?));
                }
            }
            Op::Sum { source, axes, keep_dims } => {
                if wanted(source) {
                    let shape = shape_of(self, *source);
                    let mut kept = shape.clone();
                    for &axis in axes {
                        kept[axis] = 1;
                    }
                    let g = if *keep_dims { g } else { self.reshape(g, &kept)? };
                    out.push((*source, self.broadcast_to(g, &shape)?));
                }
            }
            Op::Reshape { source, .. } => {
                if wanted(source) {
                    let shape = shape_of(self, *source);
                    out.push((*source, self.reshape(g, &shape)?));
                }
            }
            Op::Transpose { source, permutation } => {
                if wanted(source) {
                    let mut inverse = vec![0; permutation.len()];
                    for (position, &axis) in permutation.iter().enumerate() {
                        inverse[axis] = position;
                    }
                    out.push((*source, self.transpose(g, Some(&inverse))?));
                }
            }
            Op::Concat { sources, axis } => {
                let mut start = 0;
                for source in sources {
                    let length = shape_of(self, *source)[*axis];
                    if wanted(source) {
                        out.push((*source, self.slice(g, *axis, start, start + length)?));
                    }
                    start += length;
                }
            }
            Op::Slice { source, axis, start, end } => {
                if wanted(source) {
                    let shape = shape_of(self, *source);
                    let mut pieces = Vec::new();
                    for (from, to) in [(0, *start), (*end, shape[*axis])] {
                        if to > from {
                            let mut zeros_shape = shape.clone();
                            zeros_shape[*axis] = to - from;
                            pieces.push((from, self.zeros(&zeros_shape)?));
                        }
                    }
                    pieces.push((*start, g));
                    pieces.sort_by_key(|(from, _)| *from);
                    let parts: Vec<Tensor> = pieces.into_iter().map(|(_, t)| t).collect();
                    out.push((*source, self.concat(&parts, *axis)?));
                }
            }
            Op::Polynomial { source, coefficients } => {
                if wanted(source) {
                    let derivative: Vec<f64> =
                        coefficients.iter().enumerate().skip(1).map(|(i, c)| i as f64 * c).collect();
                    let slope = if derivative.is_empty() {
                        self.zeros(&shape_of(self, *source))?
                    } else {
                        self.polynomial(Tensor::from_id(*source), &derivative)?
                    };
                    out.push((*source, self.mul(g, slope)?));
                }
            }
            Op::Conv2d { input, filters, geometry } => {
                let input_shape = shape_of(self, *input);
                if wanted(input) {
                    let plane = (input_shape[2], input_shape[3]);
                    out.push((
                        *input,
                        self.conv2d_input_gradient(g, Tensor::from_id(*filters), *geometry, plane)?,
                    ));
                }
                if wanted(filters) {
                    let filter_shape = shape_of(self, *filters);
                    let kernel = (filter_shape[2], filter_shape[3]);
                    out.push((
                        *filters,
                        self.conv2d_filter_gradient(g, Tensor::from_id(*input), kernel, *geometry)?,
                    ));
                }
            }
            Op::Windows2d { source, kernel, geometry } => {
                if wanted(source) {
                    let shape = shape_of(self, *source);
                    out.push((
                        *source,
                        self.scatter_windows2d(g, *kernel, *geometry, (shape[2], shape[3]), true)?,
                    ));
                }
            }
            Op::SumPool2d { source, kernel, geometry } => {
                if wanted(source) {
                    let shape = shape_of(self, *source);
                    let mut each = self.ty(g).shape.clone();
                    each.push(1);
                    let spread = self.reshape(g, &each)?;
                    *each.last_mut().expect("rank 5") = kernel.0 * kernel.1;
                    let spread = self.broadcast_to(spread, &each)?;
                    out.push((
                        *source,
                        self.scatter_windows2d(spread, *kernel, *geometry, (shape[2], shape[3]), false)?,
                    ));
                }
            }
            Op::ScatterWindows2d { source, kernel, geometry, nearest, .. } => {
                if wanted(source) {
                    let gathered = if *nearest {
                        self.windows2d(g, *kernel, *geometry)?
                    } else {
                        self.zero_padded_windows(g, *kernel, *geometry)?
                    };
                    out.push((*source, gathered));
                }
            }
            Op::Gather { source, indices } => {
                if wanted(source) {
                    let rows = shape_of(self, *source)[0];
                    out.push((*source, self.gather_gradient(g, indices, rows)?));
                }
            }
        }
        Ok(out)
    }

    /// Sums `g` over the axes that broadcasting added or stretched to reach
    /// `shape`.
    fn unbroadcast(&mut self, g: Tensor, shape: &[usize]) -> Result<Tensor> {
        let g_shape = self.ty(g).shape.clone();
        if g_shape == shape {
            return Ok(g);
        }
        let extra = g_shape.len() - shape.len();
        let mut axes: Vec<usize> = (0..extra).collect();
        axes.extend(
            (0..shape.len()).filter(|&i| shape[i] == 1 && g_shape[extra + i] != 1).map(|i| i + extra),
        );
        let summed = self.sum(g, &axes, false)?;
        self.reshape(summed, shape)
    }

    /// `g` repeated along its size-1 axes to `shape` (adding public zeros:
    /// local and exact).
    fn broadcast_to(&mut self, g: Tensor, shape: &[usize]) -> Result<Tensor> {
        if self.ty(g).shape == shape {
            return Ok(g);
        }
        let zeros = self.zeros(shape)?;
        self.add(zeros, g)
    }

    /// A public tensor of zeros.
    pub fn zeros(&mut self, shape: &[usize]) -> Result<Tensor> {
        self.constant(shape, &vec![0.0; shape.iter().product()])
    }

    fn no_rule(&self, id: NodeId, reason: &str) -> GraphError {
        let op = self.graph().node(id).expect("built node").op.name();
        GraphError::InvalidArgument { node: id, op, reason: format!("cannot differentiate: {reason}") }
    }
}
