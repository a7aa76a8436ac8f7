//! Gradient rules of the windowed ops (convolution, window sums, window
//! gathers) and of gathers by public indices, as graph ops: each is linear
//! in the upstream gradient, so the backward pass of a CNN is window walks,
//! their adjoint ([`Op::ScatterWindows2d`]) and products, shared and
//! truncated like the forward pass.
//!
//! For y = conv2d(x, w) with windows X = windows(x) ([N, C, H', W', K],
//! zero padding) and g = ∂L/∂y ([N, O, H', W']):
//! - ∂L/∂X[n, c, p, k] = Σ_o g[n, o, p]·w[o, c, k], scattered back to x;
//! - ∂L/∂w[o, c, k] = Σ_{n, p} g[n, o, p]·X[n, c, p, k].
//!
//! Each is one matmul (a Beaver product when both factors are shared).

use crate::builder::{Conv2dGeometry, GraphBuilder, Tensor};
use crate::error::Result;
use crate::op::Op;

impl GraphBuilder {
    /// The adjoint of the window walk: `[N, C, H', W', KH·KW]` summed back
    /// into `[N, C, H, W]` planes of size `input` (see [`Op::ScatterWindows2d`]).
    pub fn scatter_windows2d(
        &mut self,
        tensor: Tensor,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
        input: (usize, usize),
        nearest: bool,
    ) -> Result<Tensor> {
        self.push_op(Op::ScatterWindows2d { source: tensor.id(), kernel, geometry, input, nearest })
    }

    /// The windows of `x` with zero padding (as convolution reads them):
    /// the padding made explicit with public zeros, then the window walk.
    pub fn zero_padded_windows(
        &mut self,
        x: Tensor,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
    ) -> Result<Tensor> {
        let (top, left, bottom, right) = geometry.padding;
        let mut padded = x;
        for (axis, before, after) in [(2, top, bottom), (3, left, right)] {
            let mut parts = Vec::new();
            for (count, at_end) in [(before, false), (after, true)] {
                if count > 0 {
                    let mut shape = self.ty(padded).shape.clone();
                    shape[axis] = count;
                    let zeros = self.zeros(&shape)?;
                    parts.push((zeros, at_end));
                }
            }
            if parts.is_empty() {
                continue;
            }
            let mut pieces: Vec<Tensor> = parts.iter().filter(|(_, end)| !end).map(|(t, _)| *t).collect();
            pieces.push(padded);
            pieces.extend(parts.iter().filter(|(_, end)| *end).map(|(t, _)| *t));
            padded = self.concat(&pieces, axis)?;
        }
        let unpadded = Conv2dGeometry { stride: geometry.stride, padding: (0, 0, 0, 0) };
        self.windows2d(padded, kernel, unpadded)
    }

    /// ∂L/∂x of y = conv2d(x, w), given g = ∂L/∂y.
    pub(crate) fn conv2d_input_gradient(
        &mut self,
        g: Tensor,
        filters: Tensor,
        geometry: Conv2dGeometry,
        input: (usize, usize),
    ) -> Result<Tensor> {
        let [n, o, oh, ow] = self.ty(g).shape[..] else { unreachable!("conv2d gives [N, O, H', W']") };
        let [_, c, kh, kw] = self.ty(filters).shape[..] else { unreachable!("filters are [O, C, KH, KW]") };
        let positions = self.reshape(g, &[n, o, oh * ow])?;
        let positions = self.transpose(positions, Some(&[0, 2, 1]))?;
        let flat_filters = self.reshape(filters, &[o, c * kh * kw])?;
        let cells = self.matmul(positions, flat_filters)?;
        let cells = self.reshape(cells, &[n, oh, ow, c, kh * kw])?;
        let windows = self.transpose(cells, Some(&[0, 3, 1, 2, 4]))?;
        self.scatter_windows2d(windows, (kh, kw), geometry, input, false)
    }

    /// ∂L/∂w of y = conv2d(x, w), given g = ∂L/∂y.
    pub(crate) fn conv2d_filter_gradient(
        &mut self,
        g: Tensor,
        input: Tensor,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
    ) -> Result<Tensor> {
        let [n, o, oh, ow] = self.ty(g).shape[..] else { unreachable!("conv2d gives [N, O, H', W']") };
        let c = self.ty(input).shape[1];
        let windows = self.zero_padded_windows(input, kernel, geometry)?;
        let windows = self.transpose(windows, Some(&[0, 2, 3, 1, 4]))?;
        let windows = self.reshape(windows, &[n * oh * ow, c * kernel.0 * kernel.1])?;
        let by_filter = self.transpose(g, Some(&[1, 0, 2, 3]))?;
        let by_filter = self.reshape(by_filter, &[o, n * oh * ow])?;
        let flat = self.matmul(by_filter, windows)?;
        self.reshape(flat, &[o, c, kernel.0, kernel.1])
    }

    /// ∂L/∂x of rows `indices` of x (first axis, `rows` of them): each
    /// row's gradients summed into the row it came from, by a product with a
    /// public 0/1 integer matrix (exact: no truncation).
    pub(crate) fn gather_gradient(&mut self, g: Tensor, indices: &[usize], rows: usize) -> Result<Tensor> {
        let shape = self.ty(g).shape.clone();
        let rest: usize = shape[1..].iter().product();
        let mut matrix = vec![0i64; rows * indices.len()];
        for (j, &i) in indices.iter().enumerate() {
            matrix[i * indices.len() + j] += 1;
        }
        let matrix = self.integer_constant(&[rows, indices.len()], &matrix)?;
        let flat = self.reshape(g, &[indices.len(), rest])?;
        let summed = self.matmul(matrix, flat)?;
        let mut target = shape.clone();
        target[0] = rows;
        self.reshape(summed, &target)
    }
}
