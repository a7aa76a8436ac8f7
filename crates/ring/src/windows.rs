//! The window walk of convolution and pooling, once: which cell of one
//! input plane lies under each kernel offset of each output position, for
//! a stride and a zero padding. The ring kernels (im2col, window sums,
//! window gathers) and the f32/f64 twins in `protocols::float` all walk
//! windows through it, so that a change of geometry is made in one place.

use crate::convolution::Conv2dGeometry;

/// The windows of one `height`×`width` plane under a `kernel` and a geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaneWindows {
    /// Input (height, width).
    pub input: (usize, usize),
    /// Kernel (height, width).
    pub kernel: (usize, usize),
    /// Output (height, width): the number of window positions.
    pub output: (usize, usize),
    stride: (usize, usize),
    /// Padding before the first row and column.
    offset: (usize, usize),
}

impl PlaneWindows {
    /// The windows of `kernel` over an `input` plane, or `None` when the
    /// window does not fit the padded plane or a stride is 0.
    pub fn new(
        geometry: Conv2dGeometry,
        input: (usize, usize),
        kernel: (usize, usize),
    ) -> Option<PlaneWindows> {
        let output = geometry.output_size(input, kernel)?;
        let (top, left, _, _) = geometry.padding;
        Some(PlaneWindows { input, kernel, output, stride: geometry.stride, offset: (top, left) })
    }

    /// Window positions in the plane (output height × width).
    pub fn positions(&self) -> usize {
        self.output.0 * self.output.1
    }

    /// Cells in one window (kernel height × width).
    pub fn window_len(&self) -> usize {
        self.kernel.0 * self.kernel.1
    }

    /// The input row under output row `y` at kernel row `ky`; `None` in
    /// the padding.
    pub fn row(&self, y: usize, ky: usize) -> Option<usize> {
        let row = (y * self.stride.0 + ky).wrapping_sub(self.offset.0);
        (row < self.input.0).then_some(row)
    }

    /// The input column under output column `x` at kernel column `kx`;
    /// `None` in the padding.
    pub fn column(&self, x: usize, kx: usize) -> Option<usize> {
        let column = (x * self.stride.1 + kx).wrapping_sub(self.offset.1);
        (column < self.input.1).then_some(column)
    }

    /// The cells of the window at output position (`y`, `x`), kernel
    /// row-major: each an index into the plane, or `None` in the padding.
    pub fn cells(&self, y: usize, x: usize) -> impl Iterator<Item = Option<usize>> + '_ {
        let width = self.input.1;
        (0..self.kernel.0).flat_map(move |ky| {
            let row = self.row(y, ky);
            (0..self.kernel.1).map(move |kx| Some(row? * width + self.column(x, kx)?))
        })
    }

    /// The same cells with every padded position moved to the nearest
    /// cell of the plane (for gathers that must not invent a value).
    pub fn nearest_cells(&self, y: usize, x: usize) -> impl Iterator<Item = usize> + '_ {
        let (height, width) = self.input;
        (0..self.kernel.0).flat_map(move |ky| {
            let row = (y * self.stride.0 + ky).saturating_sub(self.offset.0).min(height - 1);
            (0..self.kernel.1).map(move |kx| {
                row * width + (x * self.stride.1 + kx).saturating_sub(self.offset.1).min(width - 1)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_follow_stride_and_padding() {
        // A 3x3 plane, 2x2 windows, stride 2, one row and column of padding
        // before: 2x2 positions, the first window mostly padding.
        let geometry = Conv2dGeometry { stride: (2, 2), padding: (1, 1, 0, 0) };
        let windows = PlaneWindows::new(geometry, (3, 3), (2, 2)).unwrap();
        assert_eq!((windows.output, windows.positions(), windows.window_len()), ((2, 2), 4, 4));
        assert_eq!(windows.cells(0, 0).collect::<Vec<_>>(), [None, None, None, Some(0)]);
        assert_eq!(windows.cells(1, 1).collect::<Vec<_>>(), [Some(4), Some(5), Some(7), Some(8)]);
        assert_eq!(windows.nearest_cells(0, 0).collect::<Vec<_>>(), [0, 0, 0, 0]);
        assert_eq!(windows.nearest_cells(0, 1).collect::<Vec<_>>(), [1, 2, 1, 2]);
        assert_eq!((windows.row(0, 0), windows.row(0, 1), windows.column(1, 1)), (None, Some(0), Some(2)));
    }

    #[test]
    fn windows_that_do_not_fit_are_none() {
        assert!(PlaneWindows::new(Conv2dGeometry::default(), (2, 2), (3, 3)).is_none());
        let zero_stride = Conv2dGeometry { stride: (0, 1), padding: (0, 0, 0, 0) };
        assert!(PlaneWindows::new(zero_stride, (4, 4), (2, 2)).is_none());
    }
}
