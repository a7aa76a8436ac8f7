//! Plain, obviously correct kernels that the fast ones are tested against.

use crate::element::RingElement;

/// `c = a · b` by the textbook triple loop, wrapping.
pub fn matmul<R: RingElement>(m: usize, k: usize, n: usize, a: &[R], b: &[R]) -> Vec<R> {
    let mut c = vec![R::ZERO; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut sum = R::ZERO;
            for p in 0..k {
                sum = sum.wrapping_add(a[i * k + p].wrapping_mul(b[p * n + j]));
            }
            c[i * n + j] = sum;
        }
    }
    c
}

/// Direct NCHW convolution by its definition, wrapping: for every output
/// element, the sum over channels and window of input · filter, with zero
/// padding. `padding` is (top, left, bottom, right).
#[allow(clippy::too_many_arguments)]
pub fn conv2d<R: RingElement>(
    input: &[R],
    [batch, channels, height, width]: [usize; 4],
    filters: &[R],
    [outputs, _, kernel_height, kernel_width]: [usize; 4],
    (stride_rows, stride_columns): (usize, usize),
    (top, left, bottom, right): (usize, usize, usize, usize),
) -> (Vec<R>, [usize; 4]) {
    let out_height = (height + top + bottom - kernel_height) / stride_rows + 1;
    let out_width = (width + left + right - kernel_width) / stride_columns + 1;
    let mut out = vec![R::ZERO; batch * outputs * out_height * out_width];
    for n in 0..batch {
        for o in 0..outputs {
            for y in 0..out_height {
                for x in 0..out_width {
                    let mut sum = R::ZERO;
                    for c in 0..channels {
                        for ky in 0..kernel_height {
                            for kx in 0..kernel_width {
                                let sy = (y * stride_rows + ky) as isize - top as isize;
                                let sx = (x * stride_columns + kx) as isize - left as isize;
                                if sy < 0 || sx < 0 || sy >= height as isize || sx >= width as isize {
                                    continue;
                                }
                                let value =
                                    input[((n * channels + c) * height + sy as usize) * width + sx as usize];
                                let weight =
                                    filters[((o * channels + c) * kernel_height + ky) * kernel_width + kx];
                                sum = sum.wrapping_add(value.wrapping_mul(weight));
                            }
                        }
                    }
                    out[((n * outputs + o) * out_height + y) * out_width + x] = sum;
                }
            }
        }
    }
    (out, [batch, outputs, out_height, out_width])
}
