//! 2-D convolution (NCHW) through im2col and the fast matmul kernel.

use rayon::prelude::*;

use crate::element::RingElement;
use crate::error::{Result, RingError};
use crate::kernels::Threading;
use crate::tensor::RingTensor;
use crate::windows::PlaneWindows;

/// Stride and zero padding of a 2-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Conv2dGeometry {
    /// Step between windows: (rows, columns).
    pub stride: (usize, usize),
    /// Zero padding: (top, left, bottom, right), ONNX's order.
    pub padding: (usize, usize, usize, usize),
}

impl Default for Conv2dGeometry {
    fn default() -> Self {
        Conv2dGeometry { stride: (1, 1), padding: (0, 0, 0, 0) }
    }
}

impl Conv2dGeometry {
    /// Stride `s` and the same padding `p` on every side.
    pub fn uniform(stride: usize, padding: usize) -> Self {
        Conv2dGeometry { stride: (stride, stride), padding: (padding, padding, padding, padding) }
    }

    /// The output height and width for an input of `height`×`width` and a
    /// `kernel_height`×`kernel_width` window, or `None` if the window does
    /// not fit or a stride is 0.
    pub fn output_size(
        &self,
        (height, width): (usize, usize),
        (kernel_height, kernel_width): (usize, usize),
    ) -> Option<(usize, usize)> {
        let (top, left, bottom, right) = self.padding;
        let (stride_rows, stride_columns) = self.stride;
        let padded_height = height.checked_add(top)?.checked_add(bottom)?;
        let padded_width = width.checked_add(left)?.checked_add(right)?;
        if stride_rows == 0 || stride_columns == 0 || kernel_height == 0 || kernel_width == 0 {
            return None;
        }
        if kernel_height > padded_height || kernel_width > padded_width {
            return None;
        }
        Some((
            (padded_height - kernel_height) / stride_rows + 1,
            (padded_width - kernel_width) / stride_columns + 1,
        ))
    }
}

impl<R: RingElement> RingTensor<R> {
    /// Convolution of an NCHW input `[N, C, H, W]` with filters
    /// `[O, C, KH, KW]`, giving `[N, O, H', W']`; wrapping arithmetic.
    ///
    /// Work: N·O·H'·W'·C·KH·KW multiply-adds in one matmul of
    /// `[O, C·KH·KW] · [C·KH·KW, N·H'·W']`, plus the im2col copy.
    pub fn conv2d(&self, filters: &Self, geometry: Conv2dGeometry) -> Result<Self> {
        let mismatch = |reason| RingError::ShapeMismatch {
            operation: "conv2d",
            left: self.shape().to_vec(),
            right: filters.shape().to_vec(),
            reason,
        };
        let (&[batch, channels, height, width], &[outputs, filter_channels, kernel_height, kernel_width]) =
            (self.shape(), filters.shape())
        else {
            return Err(mismatch("input must be [N, C, H, W] and filters [O, C, KH, KW]"));
        };
        if channels != filter_channels {
            return Err(mismatch("input and filter channels differ"));
        }
        let windows = PlaneWindows::new(geometry, (height, width), (kernel_height, kernel_width))
            .ok_or_else(|| mismatch("the window does not fit the padded input, or a stride is 0"))?;
        let (out_height, out_width) = windows.output;
        let patch = channels * windows.window_len();
        let positions = windows.positions();
        let columns = self.im2col(&windows);
        let mut product = vec![R::ZERO; outputs * batch * positions];
        R::matmul_kernel(
            Threading::AllCores,
            outputs,
            patch,
            batch * positions,
            filters.as_slice(),
            &columns,
            &mut product,
        );
        // [O, N, H'·W'] -> [N, O, H'·W'].
        let mut out = vec![R::ZERO; product.len()];
        if positions > 0 && outputs > 0 {
            for (image, image_out) in out.chunks_mut(outputs * positions).enumerate() {
                for (filter, target) in image_out.chunks_mut(positions).enumerate() {
                    let start = (filter * batch + image) * positions;
                    target.copy_from_slice(&product[start..start + positions]);
                }
            }
        }
        RingTensor::from_vec(&[batch, outputs, out_height, out_width], out)
    }

    /// The sum of every `kernel` window of each channel of an NCHW input
    /// `[N, C, H, W]`, giving `[N, C, H', W']`; zero padding adds nothing.
    /// The local part of average pooling (N·C·H'·W'·KH·KW additions).
    pub fn sum_pool2d(&self, kernel: (usize, usize), geometry: Conv2dGeometry) -> Result<Self> {
        let invalid = |reason: String| RingError::InvalidArgument { operation: "sum_pool2d", reason };
        let &[batch, channels, height, width] = self.shape() else {
            return Err(invalid(format!("input must be [N, C, H, W], not {:?}", self.shape())));
        };
        let windows = PlaneWindows::new(geometry, (height, width), kernel)
            .ok_or_else(|| invalid(format!("a {kernel:?} window does not fit {:?}", self.shape())))?;
        let (out_height, out_width) = windows.output;
        let plane_out = windows.positions();
        let mut out = vec![R::ZERO; batch * channels * plane_out];
        if plane_out > 0 {
            let input = self.as_slice();
            out.par_chunks_mut(plane_out).enumerate().for_each(|(plane, target)| {
                let source = &input[plane * height * width..][..height * width];
                for (position, total) in target.iter_mut().enumerate() {
                    let cells = windows.cells(position / out_width, position % out_width);
                    *total = cells.flatten().fold(R::ZERO, |sum, cell| sum.wrapping_add(source[cell]));
                }
            });
        }
        RingTensor::from_vec(&[batch, channels, out_height, out_width], out)
    }

    /// The adjoint of the window walk: each element of `[N, C, H', W',
    /// KH·KW]` (window position, kernel cell) added to the cell of an
    /// `input` = (H, W) plane it came from, giving `[N, C, H, W]`. A cell in
    /// the padding is dropped (`nearest` false: the adjoint of zero-padded
    /// windows, as convolution and window sums read them) or added to the
    /// nearest plane cell (`nearest`: the adjoint of [`windows2d`](Self::windows2d)).
    /// The gradient of convolution's input and of pooling (N·C·H'·W'·KH·KW
    /// additions).
    pub fn scatter_windows2d(
        &self,
        kernel: (usize, usize),
        geometry: Conv2dGeometry,
        input: (usize, usize),
        nearest: bool,
    ) -> Result<Self> {
        let invalid = |reason: String| RingError::InvalidArgument { operation: "scatter_windows2d", reason };
        let windows = PlaneWindows::new(geometry, input, kernel)
            .ok_or_else(|| invalid(format!("a {kernel:?} window does not fit a {input:?} plane")))?;
        let window = windows.window_len();
        let &[batch, channels, out_height, out_width, cells] = self.shape() else {
            return Err(invalid(format!("windows must be [N, C, H', W', K], not {:?}", self.shape())));
        };
        if (out_height, out_width) != windows.output || cells != window {
            return Err(invalid(format!("{:?} are not the windows of a {input:?} plane", self.shape())));
        }
        let plane = input.0 * input.1;
        let mut out = vec![R::ZERO; batch * channels * plane];
        if plane > 0 {
            let source = self.as_slice();
            let plane_in = windows.positions() * window;
            out.par_chunks_mut(plane).enumerate().for_each(|(index, target)| {
                let values = &source[index * plane_in..][..plane_in];
                for (position, cells) in values.chunks(window).enumerate() {
                    let (y, x) = (position / out_width, position % out_width);
                    if nearest {
                        for (value, cell) in cells.iter().zip(windows.nearest_cells(y, x)) {
                            target[cell] = target[cell].wrapping_add(*value);
                        }
                    } else {
                        for (value, cell) in cells.iter().zip(windows.cells(y, x)) {
                            if let Some(cell) = cell {
                                target[cell] = target[cell].wrapping_add(*value);
                            }
                        }
                    }
                }
            });
        }
        RingTensor::from_vec(&[batch, channels, input.0, input.1], out)
    }

    /// Every `kernel` window of an NCHW input, `[N, C, H', W', KH·KW]`: the
    /// gather max-pooling reduces over its last axis. A position in the
    /// padding repeats the nearest input element (coordinates clamped),
    /// which lies in the same window when the padding is smaller than the
    /// window: a maximum is unchanged, and no special value is needed.
    pub fn windows2d(&self, kernel: (usize, usize), geometry: Conv2dGeometry) -> Result<Self> {
        let invalid = |reason: String| RingError::InvalidArgument { operation: "windows2d", reason };
        let &[batch, channels, height, width] = self.shape() else {
            return Err(invalid(format!("input must be [N, C, H, W], not {:?}", self.shape())));
        };
        let windows = PlaneWindows::new(geometry, (height, width), kernel)
            .ok_or_else(|| invalid(format!("a {kernel:?} window does not fit {:?}", self.shape())))?;
        let (out_height, out_width) = windows.output;
        let (top, left, bottom, right) = geometry.padding;
        if top >= kernel.0
            || bottom >= kernel.0
            || left >= kernel.1
            || right >= kernel.1
            || height == 0
            || width == 0
        {
            return Err(invalid(format!(
                "padding {:?} must be smaller than the {kernel:?} window",
                geometry.padding
            )));
        }
        let window = windows.window_len();
        let plane_out = windows.positions() * window;
        let mut out = vec![R::ZERO; batch * channels * plane_out];
        if plane_out > 0 {
            let input = self.as_slice();
            out.par_chunks_mut(plane_out).enumerate().for_each(|(plane, target)| {
                let source = &input[plane * height * width..][..height * width];
                for (position, cells) in target.chunks_mut(window).enumerate() {
                    let nearest = windows.nearest_cells(position / out_width, position % out_width);
                    for (cell, index) in cells.iter_mut().zip(nearest) {
                        *cell = source[index];
                    }
                }
            });
        }
        RingTensor::from_vec(&[batch, channels, out_height, out_width, window], out)
    }

    /// The `[C·KH·KW, N·H'·W']` matrix whose column (n, y, x) holds the input
    /// window under output position (y, x) of image n, zero outside.
    fn im2col(&self, windows: &PlaneWindows) -> Vec<R> {
        let &[batch, channels, height, width] = self.shape() else { unreachable!("checked by conv2d") };
        let ((out_height, out_width), (kernel_height, kernel_width)) = (windows.output, windows.kernel);
        let row_length = batch * windows.positions();
        let mut columns = vec![R::ZERO; channels * windows.window_len() * row_length];
        if row_length == 0 {
            return columns;
        }
        let input = self.as_slice();
        columns.par_chunks_mut(row_length).enumerate().for_each(|(row, target)| {
            let channel = row / (kernel_height * kernel_width);
            let ky = (row / kernel_width) % kernel_height;
            let kx = row % kernel_width;
            for image in 0..batch {
                let plane = &input[(image * channels + channel) * height * width..][..height * width];
                for y in 0..out_height {
                    let Some(source_y) = windows.row(y, ky) else { continue }; // padding rows stay zero
                    let target_row = &mut target[(image * out_height + y) * out_width..][..out_width];
                    for (x, value) in target_row.iter_mut().enumerate() {
                        if let Some(source_x) = windows.column(x, kx) {
                            *value = plane[source_y * width + source_x];
                        }
                    }
                }
            }
        });
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::reference;
    use proptest::prelude::*;

    fn values<R: RingElement>(count: usize, seed: u64) -> Vec<R> {
        let mut state = seed | 1;
        (0..count)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                R::from_i128_wrapping(((state as i128) << 64) ^ (state.rotate_left(17) as i128))
            })
            .collect()
    }

    fn check<R: RingElement>(
        input_shape: [usize; 4],
        filter_shape: [usize; 4],
        geometry: Conv2dGeometry,
        seed: u64,
    ) {
        let input = values::<R>(input_shape.iter().product(), seed);
        let filters = values::<R>(filter_shape.iter().product(), seed + 1);
        let (expected, shape) =
            reference::conv2d(&input, input_shape, &filters, filter_shape, geometry.stride, geometry.padding);
        let x = RingTensor::from_vec(&input_shape, input).unwrap();
        let w = RingTensor::from_vec(&filter_shape, filters).unwrap();
        let out = x.conv2d(&w, geometry).unwrap();
        assert_eq!(out.shape(), &shape);
        assert_eq!(out.as_slice(), &expected[..]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn conv2d_matches_direct_convolution(
            batch in 0usize..3, channels in 1usize..4, outputs in 1usize..4,
            height in 1usize..9, width in 1usize..9, kernel in 1usize..4,
            stride in 1usize..3, padding in (0usize..3, 0usize..3, 0usize..3, 0usize..3), seed: u64,
        ) {
            let geometry = Conv2dGeometry { stride: (stride, stride + 1), padding };
            prop_assume!(geometry.output_size((height, width), (kernel, kernel)).is_some());
            check::<u64>([batch, channels, height, width], [outputs, channels, kernel, kernel], geometry, seed);
            check::<u128>([batch, channels, height, width], [outputs, channels, kernel, kernel], geometry, seed);
        }
    }

    #[test]
    fn mnist_shaped_convolutions() {
        check::<u64>([4, 1, 28, 28], [5, 1, 5, 5], Conv2dGeometry::uniform(2, 2), 1);
        check::<u64>([2, 16, 12, 12], [16, 16, 5, 5], Conv2dGeometry::default(), 2);
    }

    #[test]
    fn window_sums_match_a_ones_filter_per_channel() {
        let input = RingTensor::<u64>::from_vec(&[2, 3, 5, 6], values(180, 3)).unwrap();
        let geometry = Conv2dGeometry { stride: (2, 1), padding: (1, 0, 1, 2) };
        let pooled = input.sum_pool2d((3, 2), geometry).unwrap();
        for channel in 0..3 {
            let single = input.slice_axis(1, channel, channel + 1, 1).unwrap();
            let ones = RingTensor::filled(&[1, 1, 3, 2], 1u64);
            let expected = single.conv2d(&ones, geometry).unwrap();
            let got = pooled.slice_axis(1, channel, channel + 1, 1).unwrap();
            assert_eq!(got, expected);
        }
        assert!(input.sum_pool2d((7, 1), Conv2dGeometry::default()).is_err());
        assert!(RingTensor::<u64>::zeros(&[2, 2]).sum_pool2d((1, 1), Conv2dGeometry::default()).is_err());
    }

    #[test]
    fn windows_gather_what_window_sums_add() {
        let input = RingTensor::<u64>::from_vec(&[1, 2, 5, 4], values(40, 5)).unwrap();
        let geometry = Conv2dGeometry { stride: (2, 1), padding: (1, 1, 0, 0) };
        let unpadded = Conv2dGeometry { stride: (2, 1), padding: (0, 0, 0, 0) };
        let windows = input.windows2d((2, 3), unpadded).unwrap();
        assert_eq!(windows.shape(), &[1, 2, 2, 2, 6]);
        let summed = windows.sum_axes(&[4], false).unwrap();
        assert_eq!(summed, input.sum_pool2d((2, 3), unpadded).unwrap());
        // Padded positions repeat the nearest element of the same window.
        let padded = input.windows2d((2, 2), geometry).unwrap();
        let first = &padded.as_slice()[..4];
        assert_eq!(first, &[input.as_slice()[0]; 4], "the top-left window is x[0][0] and padding");
        assert!(
            input.windows2d((2, 2), Conv2dGeometry::uniform(1, 2)).is_err(),
            "padding as wide as the window"
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        let x = RingTensor::<u64>::zeros(&[1, 2, 5, 5]);
        assert!(x.conv2d(&RingTensor::zeros(&[3, 1, 3, 3]), Conv2dGeometry::default()).is_err());
        assert!(x.conv2d(&RingTensor::zeros(&[3, 2, 7, 7]), Conv2dGeometry::default()).is_err());
        assert!(x.conv2d(&RingTensor::zeros(&[3, 2, 3]), Conv2dGeometry::default()).is_err());
        let zero_stride = Conv2dGeometry { stride: (0, 1), padding: (0, 0, 0, 0) };
        assert!(x.conv2d(&RingTensor::zeros(&[3, 2, 3, 3]), zero_stride).is_err());
    }
}
