//! The graph in floating point (f32 or f64) with ndarray: the model as
//! trained, and the plaintext twin that benchmarks time.

use blindfold_ir::{Graph, NodeId, Op};
use blindfold_ring::PlaneWindows;
use ndarray::{Array2, ArrayD, Axis, IxDyn, NdFloat};

use crate::error::Result;
use crate::executor::last_uses;
use crate::plaintext::{Inputs, Outputs, input};

/// Runs `graph` in `T` arithmetic (fixed-point truncations are no-ops).
pub fn run<T: NdFloat>(graph: &Graph, inputs: &Inputs) -> Result<Outputs> {
    let prepared = prepare::<T>(graph, inputs)?;
    Ok(evaluate(graph, &prepared))
}

/// The inputs converted to `T`, by node: the part of [`run`] a benchmark
/// leaves out of its timing.
pub fn prepare<T: NdFloat>(graph: &Graph, inputs: &Inputs) -> Result<Vec<Option<ArrayD<T>>>> {
    graph
        .nodes()
        .iter()
        .map(|node| match &node.op {
            Op::Input { party, name } => {
                let array = input(inputs, party, name, &node.ty.shape)?;
                Ok(Some(array.mapv(|v| T::from(v).expect("f64 converts"))))
            }
            _ => Ok(None),
        })
        .collect()
}

/// Runs `graph` on prepared inputs.
pub fn evaluate<T: NdFloat>(graph: &Graph, prepared: &[Option<ArrayD<T>>]) -> Outputs {
    let last_use = last_uses(graph);
    let mut values: Vec<Option<ArrayD<T>>> = vec![None; graph.nodes().len()];
    let mut outputs = Outputs::new();
    for (index, node) in graph.nodes().iter().enumerate() {
        let id = NodeId(index as u32);
        let operand = |i: usize| values[node.op.operands()[i].index()].as_ref().expect("operands precede");
        let value = match &node.op {
            Op::Input { .. } => prepared[index].clone().expect("prepared inputs"),
            Op::Constant { values } => ArrayD::from_shape_vec(
                IxDyn(&node.ty.shape),
                values.iter().map(|&v| T::from(v).expect("f64 converts")).collect(),
            )
            .expect("inference checked the length"),
            Op::Output { party, name, .. } => {
                let value = operand(0).clone();
                outputs
                    .entry(party.clone())
                    .or_default()
                    .insert(name.clone(), value.mapv(|v| v.to_f64().unwrap_or(f64::NAN)));
                value
            }
            Op::Share { .. } | Op::Reveal { .. } | Op::Truncate { .. } | Op::Bounded { .. } => {
                operand(0).clone()
            }
            Op::Add { .. } => operand(0) + operand(1),
            Op::Sub { .. } => operand(0) - operand(1),
            Op::Neg { .. } => operand(0).mapv(|v| -v),
            Op::Mul { .. } => operand(0) * operand(1),
            Op::MatMul { .. } => matmul(operand(0), operand(1), &node.ty.shape),
            Op::Conv2d { geometry, .. } => conv2d(operand(0), operand(1), geometry, &node.ty.shape),
            Op::SumPool2d { kernel, geometry, .. } => {
                sum_pool2d(operand(0), *kernel, geometry, &node.ty.shape)
            }
            Op::Sum { axes, keep_dims, .. } => sum_axes(operand(0), axes, *keep_dims),
            Op::Reshape { shape, .. } => operand(0)
                .as_standard_layout()
                .into_owned()
                .into_shape_with_order(IxDyn(shape))
                .expect("inferred"),
            Op::Transpose { permutation, .. } => {
                operand(0).view().permuted_axes(IxDyn(permutation)).as_standard_layout().into_owned()
            }
            Op::Concat { axis, .. } => {
                let views: Vec<_> =
                    node.op.operands().iter().map(|o| values[o.index()].as_ref().unwrap().view()).collect();
                ndarray::concatenate(Axis(*axis), &views).expect("inferred")
            }
            Op::Drelu { .. } | Op::DreluBounded { .. } => {
                operand(0).mapv(|x| if x >= T::zero() { T::one() } else { T::zero() })
            }
            Op::Windows2d { kernel, geometry, .. } => {
                windows2d(operand(0), *kernel, geometry, &node.ty.shape)
            }
            Op::ScatterWindows2d { kernel, geometry, input, nearest, .. } => {
                scatter_windows2d(operand(0), *kernel, geometry, *input, *nearest)
            }
            Op::Gather { indices, .. } => operand(0).select(Axis(0), indices),
            Op::Slice { axis, start, end, .. } => slice(operand(0), *axis, *start, *end),
            Op::Polynomial { coefficients, .. } => operand(0).mapv(|x| {
                coefficients
                    .iter()
                    .rev()
                    .fold(T::zero(), |total, &c| total * x + T::from(c).expect("f64 converts"))
            }),
        };
        values[index] = Some(value);
        for operand in node.op.operands().into_iter().chain([id]) {
            if last_use[operand.index()] == index {
                values[operand.index()] = None;
            }
        }
    }
    outputs
}

/// The sum over `axes` (kept as length 1 with `keep_dims`).
/// Elements start..end along `axis`, copied as contiguous runs (a strided
/// view copied element by element is several times slower).
pub(crate) fn slice<T: Copy>(value: &ArrayD<T>, axis: usize, start: usize, end: usize) -> ArrayD<T> {
    let standard = value.as_standard_layout();
    let data = standard.as_slice().expect("standard layout");
    let shape = value.shape();
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let mut values = Vec::with_capacity(outer * (end - start) * inner);
    for block in data.chunks_exact((shape[axis] * inner).max(1)).take(outer) {
        values.extend_from_slice(&block[start * inner..end * inner]);
    }
    let mut sliced = shape.to_vec();
    sliced[axis] = end - start;
    ArrayD::from_shape_vec(IxDyn(&sliced), values).expect("length is the shape's product")
}

pub(crate) fn sum_axes<T: NdFloat>(value: &ArrayD<T>, axes: &[usize], keep_dims: bool) -> ArrayD<T> {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    let mut value = value.clone();
    for &axis in sorted.iter().rev() {
        value = value.sum_axis(Axis(axis));
        if keep_dims {
            value = value.insert_axis(Axis(axis));
        }
    }
    value
}

/// numpy's matmul through ndarray's `dot` (matrixmultiply's sgemm/dgemm).
pub(crate) fn matmul<T: NdFloat>(left: &ArrayD<T>, right: &ArrayD<T>, shape: &[usize]) -> ArrayD<T> {
    let left2 = if left.ndim() == 1 { left.clone().insert_axis(Axis(0)) } else { left.clone() };
    let right2 = if right.ndim() == 1 { right.clone().insert_axis(Axis(1)) } else { right.clone() };
    let (m, k) = (left2.shape()[left2.ndim() - 2], left2.shape()[left2.ndim() - 1]);
    let n = right2.shape()[right2.ndim() - 1];
    let batch: Vec<usize> = shape[..shape.len().saturating_sub(2)].to_vec();
    let batch_count: usize = batch.iter().product();
    let broadcast = |array: &ArrayD<T>, rows: usize, columns: usize| {
        let mut full = batch.clone();
        full.extend([rows, columns]);
        let view = array.broadcast(IxDyn(&full)).expect("inferred shapes broadcast");
        view.as_standard_layout()
            .into_owned()
            .into_shape_with_order((batch_count.max(1), rows, columns))
            .expect("same size")
    };
    let (a, b) = (broadcast(&left2, m, k), broadcast(&right2, k, n));
    let mut out = Vec::with_capacity(batch_count.max(1) * m * n);
    for i in 0..batch_count.max(1) {
        out.extend(a.index_axis(Axis(0), i).dot(&b.index_axis(Axis(0), i)).iter().copied());
    }
    ArrayD::from_shape_vec(IxDyn(shape), out).expect("inferred shape")
}

/// NCHW convolution by im2col and one `dot`.
pub(crate) fn conv2d<T: NdFloat>(
    input: &ArrayD<T>,
    filters: &ArrayD<T>,
    geometry: &blindfold_ring::Conv2dGeometry,
    shape: &[usize],
) -> ArrayD<T> {
    let (&[batch, channels, height, width], &[outputs, _, kh, kw]) = (input.shape(), filters.shape()) else {
        unreachable!("inference checked the ranks")
    };
    let windows = PlaneWindows::new(*geometry, (height, width), (kh, kw)).expect("inference checked the fit");
    let (oh, ow) = windows.output;
    let columns = batch * oh * ow;
    let mut unfolded = Array2::<T>::zeros((channels * kh * kw, columns));
    let input = input.as_standard_layout();
    let flat = input.as_slice().expect("standard layout");
    for (row, mut target) in unfolded.axis_iter_mut(Axis(0)).enumerate() {
        let (channel, ky, kx) = (row / (kh * kw), (row / kw) % kh, row % kw);
        for image in 0..batch {
            let plane = &flat[(image * channels + channel) * height * width..][..height * width];
            for y in 0..oh {
                let Some(source_y) = windows.row(y, ky) else { continue };
                for x in 0..ow {
                    if let Some(source_x) = windows.column(x, kx) {
                        target[(image * oh + y) * ow + x] = plane[source_y * width + source_x];
                    }
                }
            }
        }
    }
    let weights = filters
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((outputs, channels * kh * kw))
        .expect("same size");
    let product = weights.dot(&unfolded); // [O, N·OH·OW]
    let product = product.into_shape_with_order((outputs, batch, oh * ow)).expect("same size");
    product
        .permuted_axes([1, 0, 2])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(shape))
        .expect("same size")
}

/// Window sums per channel, zero padding.
pub(crate) fn sum_pool2d<T: NdFloat>(
    input: &ArrayD<T>,
    kernel: (usize, usize),
    geometry: &blindfold_ring::Conv2dGeometry,
    shape: &[usize],
) -> ArrayD<T> {
    over_windows(input, kernel, geometry, shape, |plane, windows, (y, x), out| {
        out.push(windows.cells(y, x).flatten().fold(T::zero(), |total, cell| total + plane[cell]));
    })
}

/// Every window along a new last axis; a padded position repeats the
/// nearest element of its window.
pub(crate) fn windows2d<T: NdFloat>(
    input: &ArrayD<T>,
    kernel: (usize, usize),
    geometry: &blindfold_ring::Conv2dGeometry,
    shape: &[usize],
) -> ArrayD<T> {
    over_windows(input, kernel, geometry, shape, |plane, windows, (y, x), out| {
        out.extend(windows.nearest_cells(y, x).map(|cell| plane[cell]));
    })
}

/// The adjoint of the window walk (see `RingTensor::scatter_windows2d`).
pub(crate) fn scatter_windows2d<T: NdFloat>(
    windows_values: &ArrayD<T>,
    kernel: (usize, usize),
    geometry: &blindfold_ring::Conv2dGeometry,
    input: (usize, usize),
    nearest: bool,
) -> ArrayD<T> {
    let shape = windows_values.shape().to_vec();
    let windows = PlaneWindows::new(*geometry, input, kernel).expect("inference checked the fit");
    let values = windows_values.as_standard_layout();
    let flat = values.as_slice().expect("standard layout");
    let plane = input.0 * input.1;
    let mut out = vec![T::zero(); shape[0] * shape[1] * plane];
    let plane_in = windows.positions() * windows.window_len();
    for (index, target) in out.chunks_mut(plane.max(1)).enumerate().take(shape[0] * shape[1]) {
        let source = &flat[index * plane_in..][..plane_in];
        for (position, cells) in source.chunks(windows.window_len()).enumerate() {
            let (y, x) = (position / windows.output.1, position % windows.output.1);
            if nearest {
                for (value, cell) in cells.iter().zip(windows.nearest_cells(y, x)) {
                    target[cell] += *value;
                }
            } else {
                for (value, cell) in cells.iter().zip(windows.cells(y, x)) {
                    if let Some(cell) = cell {
                        target[cell] += *value;
                    }
                }
            }
        }
    }
    ArrayD::from_shape_vec(IxDyn(&[shape[0], shape[1], input.0, input.1]), out).expect("inferred shape")
}

/// Calls `visit` for each window position of each plane of an NCHW input,
/// in order, to push that position's values; the result has `shape`.
fn over_windows<T: NdFloat>(
    input: &ArrayD<T>,
    kernel: (usize, usize),
    geometry: &blindfold_ring::Conv2dGeometry,
    shape: &[usize],
    mut visit: impl FnMut(&[T], &PlaneWindows, (usize, usize), &mut Vec<T>),
) -> ArrayD<T> {
    let &[_, _, height, width] = input.shape() else { unreachable!("inference checked the rank") };
    let windows = PlaneWindows::new(*geometry, (height, width), kernel).expect("inference checked the fit");
    let input = input.as_standard_layout();
    let flat = input.as_slice().expect("standard layout");
    let mut out = Vec::with_capacity(shape.iter().product());
    for plane in flat.chunks(height * width).take(shape[0] * shape[1]) {
        for position in 0..windows.positions() {
            visit(plane, &windows, (position / windows.output.1, position % windows.output.1), &mut out);
        }
    }
    ArrayD::from_shape_vec(IxDyn(shape), out).expect("inferred shape")
}
