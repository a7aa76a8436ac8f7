//! The operations of a graph. Each node holds one op and produces one value;
//! operands are the ids of earlier nodes.

use blindfold_ring::Conv2dGeometry;
use serde::{Deserialize, Serialize};

/// The id of a node, and of the value it produces: its index in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index into the graph's nodes.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "%{}", self.0)
    }
}

/// One operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// A tensor that `party` supplies at run time under `name`.
    Input {
        party: String,
        name: String,
    },
    /// A public tensor, row-major; reals are encoded with the value's dtype.
    Constant {
        values: Vec<f64>,
    },
    /// A private value split into shares among the compute parties.
    Share {
        source: NodeId,
    },
    /// A shared value opened to `party` only.
    Reveal {
        source: NodeId,
        party: String,
    },
    /// Delivers a value (private to `party`, or public) as output `name`.
    Output {
        source: NodeId,
        party: String,
        name: String,
    },
    Add {
        left: NodeId,
        right: NodeId,
    },
    Sub {
        left: NodeId,
        right: NodeId,
    },
    Neg {
        source: NodeId,
    },
    /// Elementwise product, numpy broadcasting.
    Mul {
        left: NodeId,
        right: NodeId,
    },
    /// numpy's matmul.
    MatMul {
        left: NodeId,
        right: NodeId,
    },
    /// NCHW input, [O, C, KH, KW] filters.
    Conv2d {
        input: NodeId,
        filters: NodeId,
        geometry: Conv2dGeometry,
    },
    /// Sum of each (kernel) window of an NCHW tensor, per channel.
    SumPool2d {
        source: NodeId,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
    },
    /// Sum over axes.
    Sum {
        source: NodeId,
        axes: Vec<usize>,
        keep_dims: bool,
    },
    Reshape {
        source: NodeId,
        shape: Vec<usize>,
    },
    /// Output axis i is input axis `permutation[i]`.
    Transpose {
        source: NodeId,
        permutation: Vec<usize>,
    },
    Concat {
        sources: Vec<NodeId>,
        axis: usize,
    },
    /// Drops `bits` fractional bits after a fixed-point product.
    Truncate {
        source: NodeId,
        bits: u32,
    },
    /// The source, unchanged, with the builder's guarantee that every
    /// element lies in [−bound, bound] because of how it was built (a
    /// clamp, a converging iteration). No party does any work for it; the
    /// overflow analysis (`protocols::bounds`) relies on it.
    Bounded {
        source: NodeId,
        bound: f64,
    },
    /// Σ coefficients[i] · x^i with public real coefficients.
    Polynomial {
        source: NodeId,
        coefficients: Vec<f64>,
    },
    /// 1 where x ≥ 0, else 0 (an integer): the derivative of ReLU, exactly.
    Drelu {
        source: NodeId,
    },
    /// Every `kernel` window of an NCHW tensor along a new last axis,
    /// `[N, C, H', W', KH·KW]`; a padded position repeats the nearest
    /// element of its window (padding must be smaller than the window).
    Windows2d {
        source: NodeId,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
    },
    /// The adjoint of [`Op::Windows2d`] (`nearest`) or of zero-padded
    /// windows: every element of `[N, C, H', W', KH·KW]` added to the cell
    /// of an `input` (H, W) plane it came from, `[N, C, H, W]` (the
    /// gradients of convolution and pooling).
    ScatterWindows2d {
        source: NodeId,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
        input: (usize, usize),
        nearest: bool,
    },
    /// Elements `start..end` along `axis`.
    Slice {
        source: NodeId,
        axis: usize,
        start: usize,
        end: usize,
    },
    /// The rows `indices[0], indices[1], …` of the first axis (public
    /// indices: a local op on shares), e.g. a public shuffle of a dataset.
    Gather {
        source: NodeId,
        indices: Vec<usize>,
    },
    /// 1 where x ≥ 0, else 0, for x known to lie in [−2^(bits−1), 2^(bits−1))
    /// as a ring integer: the sign of x mod 2^bits. Cheaper than
    /// [`Op::Drelu`] (a comparison over bits − 1 bits instead of the ring's),
    /// and exact within the bound.
    DreluBounded {
        source: NodeId,
        bits: u32,
    },
}

/// What an op is to a secret-sharing protocol, when its result is shared:
/// the one classification every protocol acts on. The match that makes it
/// is exhaustive, so a new op does not compile until it is classified, and
/// every protocol matches every class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareAction {
    /// Where values enter or leave the shares (input, constant, share,
    /// reveal, output): the protocol's sharing and opening.
    Boundary,
    /// Linear in its shared operands: each server applies it to its share
    /// (a public addend counted once).
    Local,
    /// A product (mul, matmul, conv2d): a protocol's multiplication when
    /// both operands are shared, linear when one is public.
    Product,
    /// Dropping the fractional bits a fixed-point product added.
    Truncation,
    /// A comparison with zero (the sign).
    Comparison,
    /// A polynomial in one shared value.
    Polynomial,
}

impl Op {
    /// What the op is to a secret-sharing protocol (see [`ShareAction`]).
    pub fn share_action(&self) -> ShareAction {
        match self {
            Op::Input { .. }
            | Op::Constant { .. }
            | Op::Share { .. }
            | Op::Reveal { .. }
            | Op::Output { .. } => ShareAction::Boundary,
            Op::Add { .. }
            | Op::Sub { .. }
            | Op::Neg { .. }
            | Op::SumPool2d { .. }
            | Op::Sum { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Concat { .. }
            | Op::Windows2d { .. }
            | Op::ScatterWindows2d { .. }
            | Op::Slice { .. }
            | Op::Gather { .. }
            | Op::Bounded { .. } => ShareAction::Local,
            Op::Mul { .. } | Op::MatMul { .. } | Op::Conv2d { .. } => ShareAction::Product,
            Op::Truncate { .. } => ShareAction::Truncation,
            Op::Drelu { .. } | Op::DreluBounded { .. } => ShareAction::Comparison,
            Op::Polynomial { .. } => ShareAction::Polynomial,
        }
    }

    /// A short name for reports and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input { .. } => "input",
            Op::Constant { .. } => "constant",
            Op::Share { .. } => "share",
            Op::Reveal { .. } => "reveal",
            Op::Output { .. } => "output",
            Op::Add { .. } => "add",
            Op::Sub { .. } => "sub",
            Op::Neg { .. } => "neg",
            Op::Mul { .. } => "mul",
            Op::MatMul { .. } => "matmul",
            Op::Conv2d { .. } => "conv2d",
            Op::SumPool2d { .. } => "sum_pool2d",
            Op::Sum { .. } => "sum",
            Op::Reshape { .. } => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Concat { .. } => "concat",
            Op::Truncate { .. } => "truncate",
            Op::Polynomial { .. } => "polynomial",
            Op::Drelu { .. } => "drelu",
            Op::DreluBounded { .. } => "drelu",
            Op::Windows2d { .. } => "windows2d",
            Op::ScatterWindows2d { .. } => "scatter_windows2d",
            Op::Slice { .. } => "slice",
            Op::Gather { .. } => "gather",
            Op::Bounded { .. } => "bounded",
        }
    }

    /// The operands, in order.
    pub fn operands(&self) -> Vec<NodeId> {
        match self {
            Op::Input { .. } | Op::Constant { .. } => vec![],
            Op::Share { source }
            | Op::Reveal { source, .. }
            | Op::Output { source, .. }
            | Op::Neg { source }
            | Op::SumPool2d { source, .. }
            | Op::Sum { source, .. }
            | Op::Reshape { source, .. }
            | Op::Transpose { source, .. }
            | Op::Truncate { source, .. }
            | Op::Polynomial { source, .. }
            | Op::Drelu { source }
            | Op::DreluBounded { source, .. }
            | Op::Windows2d { source, .. }
            | Op::ScatterWindows2d { source, .. }
            | Op::Slice { source, .. }
            | Op::Gather { source, .. }
            | Op::Bounded { source, .. } => vec![*source],
            Op::Add { left, right }
            | Op::Sub { left, right }
            | Op::Mul { left, right }
            | Op::MatMul { left, right } => {
                vec![*left, *right]
            }
            Op::Conv2d { input, filters, .. } => vec![*input, *filters],
            Op::Concat { sources, .. } => sources.clone(),
        }
    }
}
