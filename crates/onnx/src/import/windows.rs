//! Convolution and pooling as ONNX defines them, on 1-D and 2-D windows:
//! strides, explicit and automatic padding (SAME_UPPER, SAME_LOWER, VALID),
//! dilations, ceil_mode, count_include_pad, groups. A 1-D op runs as 2-D
//! with a height of 1; 3-D pooling runs one axis at a time. 3-D
//! convolution is not supported.

use blindfold_ir::{Conv2dGeometry, Tensor};

use super::converter::Converter;
use super::structure;
use crate::attributes::{int_attribute, ints_attribute, string_attribute};
use crate::error::Result;
use crate::proto::NodeProto;

/// One spatial axis of a window: kernel, stride, dilation, padding, output.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Span {
    kernel: usize,
    stride: usize,
    dilation: usize,
    /// Padding before, and after (explicit).
    begin: usize,
    end: usize,
    /// Padding after including ceil_mode's extension.
    end_extended: usize,
    input: usize,
    output: usize,
}

impl Span {
    /// The kernel's extent with dilation.
    fn extent(&self) -> usize {
        (self.kernel - 1) * self.dilation + 1
    }

    /// How many elements window `o` averages over: its taps inside the
    /// input, or inside the explicitly padded input with count_include_pad.
    fn count(&self, o: usize, include_pad: bool) -> usize {
        let start = (o * self.stride) as i64 - self.begin as i64;
        let (low, high) = if include_pad {
            (-(self.begin as i64), (self.input + self.end) as i64)
        } else {
            (0, self.input as i64)
        };
        (0..self.kernel as i64).filter(|i| (low..high).contains(&(start + i * self.dilation as i64))).count()
    }
}

/// The spans of a node's window over `spatial` (the input's spatial dims).
fn spans(
    converter: &Converter,
    node: &NodeProto,
    spatial: &[usize],
    kernel: &[usize],
    ceil_allowed: bool,
) -> Result<Vec<Span>> {
    let n = spatial.len();
    let unsupported = |what: &str| converter.unsupported(node, what);
    let list = |name: &str, default: i64| -> Result<Vec<usize>> {
        let values = ints_attribute(node, name).unwrap_or_else(|| vec![default; n]);
        if values.len() != n || values.iter().any(|&v| v < 1) {
            return Err(unsupported(&format!("{name} must be {n} positive values")));
        }
        Ok(values.iter().map(|&v| v as usize).collect())
    };
    let (strides, dilations) = (list("strides", 1)?, list("dilations", 1)?);
    let ceil = ceil_allowed && int_attribute(node, "ceil_mode", 0) == 1;
    let auto_pad = string_attribute(node, "auto_pad").unwrap_or_default();
    let pads = ints_attribute(node, "pads").unwrap_or_else(|| vec![0; 2 * n]);
    // (A window or padding beyond a graph value's size could never fit.)
    let limit = blindfold_ir::MAX_ELEMENTS as i64;
    if pads.len() != 2 * n || pads.iter().any(|&p| !(0..=limit).contains(&p)) {
        return Err(unsupported(&format!("pads must be {} values in [0, {limit}]", 2 * n)));
    }
    if kernel.iter().chain(&strides).chain(&dilations).any(|&v| v as i64 > limit) {
        return Err(unsupported(&format!("kernel, strides and dilations must be at most {limit}")));
    }
    let mut result = Vec::new();
    for i in 0..n {
        let (input, k, s, d) = (spatial[i], kernel[i], strides[i], dilations[i]);
        let extent = (k - 1) * d + 1;
        let (begin, end) = match auto_pad.as_str() {
            "" | "NOTSET" => (pads[i] as usize, pads[i + n] as usize),
            "VALID" => (0, 0),
            "SAME_UPPER" | "SAME_LOWER" => {
                let output = input.div_ceil(s);
                let total = ((output.max(1) - 1) * s + extent).saturating_sub(input);
                let small = total / 2;
                if auto_pad == "SAME_UPPER" { (small, total - small) } else { (total - small, small) }
            }
            other => return Err(unsupported(&format!("auto_pad {other}"))),
        };
        let padded = input + begin + end;
        if padded < extent {
            return Err(unsupported(&format!(
                "a window of {extent} does not fit an axis of {padded} (padded)"
            )));
        }
        let mut output = if ceil { (padded - extent).div_ceil(s) + 1 } else { (padded - extent) / s + 1 };
        // ONNX: a window must start inside the input or its front padding.
        if ceil && (output - 1) * s >= input + begin {
            output -= 1;
        }
        let reach = (output - 1) * s + extent;
        let end_extended = end + reach.saturating_sub(padded);
        result.push(Span { kernel: k, stride: s, dilation: d, begin, end, end_extended, input, output });
    }
    Ok(result)
}

/// The kernel of a pooling node (or a conv's from its filters).
fn kernel_shape(converter: &Converter, node: &NodeProto, rank: usize) -> Result<Vec<usize>> {
    match ints_attribute(node, "kernel_shape") {
        Some(k) if k.len() == rank && k.iter().all(|&v| v > 0) => Ok(k.iter().map(|&v| v as usize).collect()),
        _ => Err(converter.unsupported(node, &format!("kernel_shape must have {rank} positive values"))),
    }
}

/// The 2-D geometry of spans (a 1-D span gets a height of 1).
fn geometry(spans: &[Span]) -> ((usize, usize), Conv2dGeometry) {
    let unit =
        Span { kernel: 1, stride: 1, dilation: 1, begin: 0, end: 0, end_extended: 0, input: 1, output: 1 };
    let (h, w) = match spans {
        [w] => (unit, *w),
        [h, w] => (*h, *w),
        _ => unreachable!("1-D and 2-D only"),
    };
    (
        (h.extent(), w.extent()),
        Conv2dGeometry {
            stride: (h.stride, w.stride),
            padding: (h.begin, w.begin, h.end_extended, w.end_extended),
        },
    )
}

/// The input as 4-D NCHW (a 1-D input gets H = 1), with its spatial dims.
fn as_planes(converter: &mut Converter, node: &NodeProto, x: Tensor) -> Result<(Tensor, Vec<usize>)> {
    let shape = converter.builder.ty(x).shape.clone();
    match shape.len() {
        4 => Ok((x, shape[2..].to_vec())),
        3 => {
            let planes = converter
                .builder
                .reshape(x, &[shape[0], shape[1], 1, shape[2]])
                .map_err(Converter::graph_error(node))?;
            Ok((planes, vec![shape[2]]))
        }
        rank => Err(converter.unsupported(
            node,
            &format!("a {}-D input: 1-D and 2-D windows are supported", rank.saturating_sub(2)),
        )),
    }
}

/// The result back in the input's rank.
fn from_planes(converter: &mut Converter, node: &NodeProto, y: Tensor, rank: usize) -> Result<Tensor> {
    if rank == 4 {
        return Ok(y);
    }
    let shape = converter.builder.ty(y).shape.clone();
    converter.builder.reshape(y, &[shape[0], shape[1], shape[3]]).map_err(Converter::graph_error(node))
}

pub fn convert(converter: &mut Converter, node: &NodeProto, op: &str) -> Result<bool> {
    let error = Converter::graph_error(node);
    match op {
        "Conv" => conv(converter, node)?,
        "MaxPool" | "AveragePool" => {
            if node.output.iter().skip(1).any(|o| !o.is_empty()) {
                return Err(converter.unsupported(node, "the Indices output is not supported"));
            }
            let x = converter.tensor(node, 0)?;
            let rank = converter.builder.ty(x).shape.len();
            let shape = converter.builder.ty(x).shape.clone();
            let dilated = ints_attribute(node, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1));
            if rank == 5 || dilated {
                let spatial = shape.get(2..).unwrap_or_default().to_vec();
                let kernel = kernel_shape(converter, node, spatial.len())?;
                let spans = spans(converter, node, &spatial, &kernel, true)?;
                let y = separable_pool(converter, node, x, &spans, op == "MaxPool")?;
                converter.set(node, y);
                return Ok(true);
            }
            let (planes, spatial) = as_planes(converter, node, x)?;
            let kernel = kernel_shape(converter, node, spatial.len())?;
            let spans = spans(converter, node, &spatial, &kernel, true)?;
            let (extent, geometry) = geometry(&spans);
            let y = if op == "MaxPool" {
                converter.builder.max_pool2d(planes, extent, geometry).map_err(&error)?
            } else {
                average_pool(converter, node, planes, &spans, extent, geometry)?
            };
            let y = from_planes(converter, node, y, rank)?;
            converter.set(node, y);
        }
        "GlobalAveragePool" | "GlobalMaxPool" => {
            let x = converter.tensor(node, 0)?;
            let shape = converter.builder.ty(x).shape.clone();
            if shape.len() < 3 {
                return Err(converter.unsupported(node, "the input must be [N, C, spatial...]"));
            }
            let axes: Vec<usize> = (2..shape.len()).collect();
            let y = if op == "GlobalAveragePool" {
                converter.builder.mean(x, &axes, true).map_err(&error)?
            } else {
                let flat = converter
                    .builder
                    .reshape(x, &[shape[0], shape[1], shape[2..].iter().product()])
                    .map_err(&error)?;
                let largest = converter.builder.max_last_axis(flat).map_err(&error)?;
                let mut kept = shape.clone();
                kept[2..].iter_mut().for_each(|d| *d = 1);
                converter.builder.reshape(largest, &kept).map_err(&error)?
            };
            converter.set(node, y);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Pooling over any number of spatial axes, one axis at a time (a max or
/// a sum over a box is one over each axis in turn): 3-D pooling, and
/// average pooling with dilations. Sums see zero padding; a max never picks
/// padding. Averages are the sums times the public 1/count per position.
fn separable_pool(
    converter: &mut Converter,
    node: &NodeProto,
    x: Tensor,
    spans: &[Span],
    maximum: bool,
) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    let mut y = x;
    for (index, span) in spans.iter().enumerate() {
        y = pool_axis(converter, node, y, 2 + index, span, maximum)?;
    }
    if maximum {
        return Ok(y);
    }
    let include_pad = int_attribute(node, "count_include_pad", 0) == 1;
    let counts: Vec<Vec<usize>> =
        spans.iter().map(|span| (0..span.output).map(|o| span.count(o, include_pad)).collect()).collect();
    let mut factors = vec![1.0];
    for axis in &counts {
        factors = factors.iter().flat_map(|&f| axis.iter().map(move |&c| f / c.max(1) as f64)).collect();
    }
    let mut shape = vec![1, 1];
    shape.extend(spans.iter().map(|s| s.output));
    let factors = converter.builder.constant(&shape, &factors).map_err(&error)?;
    converter.builder.mul(y, factors).map_err(&error)
}

/// A 1-D max or sum pool along `axis` of `x`, by its windows.
fn pool_axis(
    converter: &mut Converter,
    node: &NodeProto,
    x: Tensor,
    axis: usize,
    span: &Span,
    maximum: bool,
) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    let moved = structure::move_axis_last(converter, node, x, axis)?;
    let moved_shape = converter.builder.ty(moved).shape.clone();
    let length = *moved_shape.last().expect("spatial axis");
    let rows: usize = moved_shape[..moved_shape.len() - 1].iter().product();
    let mut planes = converter.builder.reshape(moved, &[rows, 1, 1, length]).map_err(&error)?;
    let mut padding = (0, span.begin, 0, span.end_extended);
    if (!maximum || span.dilation > 1) && (span.begin > 0 || span.end_extended > 0) {
        // Windows repeat the nearest element in their padding: right for a
        // max over whole windows, not for a sum (zeros) or a dilated max (a
        // repeated element need not be a tap: a value far below any
        // element's instead, still well inside the ring).
        let graph = converter.builder.graph();
        let fill = if maximum {
            -(2f64.powi((graph.ring().bits() - graph.fractional_bits() - 8) as i32))
        } else {
            0.0
        };
        let mut parts = Vec::new();
        for (count, after) in [(span.begin, false), (span.end_extended, true)] {
            if count > 0 {
                let block = converter
                    .builder
                    .constant(&[rows, 1, 1, count], &vec![fill; rows * count])
                    .map_err(&error)?;
                parts.push((block, after));
            }
        }
        let mut pieces: Vec<Tensor> = parts.iter().filter(|(_, after)| !after).map(|(t, _)| *t).collect();
        pieces.push(planes);
        pieces.extend(parts.iter().filter(|(_, after)| *after).map(|(t, _)| *t));
        planes = converter.builder.concat(&pieces, 3).map_err(&error)?;
        padding = (0, 0, 0, 0);
    }
    let geometry = Conv2dGeometry { stride: (1, span.stride), padding };
    let windows = converter.builder.windows2d(planes, (1, span.extent()), geometry).map_err(&error)?;
    let last = converter.builder.ty(windows).shape.len() - 1;
    let taps: Vec<usize> = (0..span.kernel).map(|i| i * span.dilation).collect();
    let picked = structure::select(converter, node, windows, last, &taps)?;
    let pooled = if maximum {
        converter.builder.max_last_axis(picked).map_err(&error)?
    } else {
        converter.builder.sum(picked, &[last], false).map_err(&error)?
    };
    let mut target = moved_shape.clone();
    *target.last_mut().expect("spatial axis") = span.output;
    let pooled = converter.builder.reshape(pooled, &target).map_err(&error)?;
    structure::move_last_axis_to(converter, node, pooled, axis)
}

/// Window sums times the public 1/count of each position (count_include_pad
/// and ceil_mode decide the counts).
fn average_pool(
    converter: &mut Converter,
    node: &NodeProto,
    planes: Tensor,
    spans: &[Span],
    extent: (usize, usize),
    geometry: Conv2dGeometry,
) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    let include_pad = int_attribute(node, "count_include_pad", 0) == 1;
    let sums = converter.builder.sum_pool2d(planes, extent, geometry).map_err(&error)?;
    let (rows, columns) = match spans {
        [w] => (vec![1], (0..w.output).map(|o| w.count(o, include_pad)).collect::<Vec<_>>()),
        [h, w] => (
            (0..h.output).map(|o| h.count(o, include_pad)).collect(),
            (0..w.output).map(|o| w.count(o, include_pad)).collect(),
        ),
        _ => unreachable!("1-D and 2-D only"),
    };
    let factors: Vec<f64> =
        rows.iter().flat_map(|&r| columns.iter().map(move |&c| 1.0 / (r * c).max(1) as f64)).collect();
    if factors.iter().all(|&f| f == factors[0]) {
        return converter.builder.scale(sums, factors[0]).map_err(&error);
    }
    let factors = converter.builder.constant(&[1, 1, rows.len(), columns.len()], &factors).map_err(&error)?;
    converter.builder.mul(sums, factors).map_err(&error)
}

/// Conv: groups by channel slices, dilations by spreading the filters
/// (a product with a public 0/1 matrix: exact), 1-D as 2-D.
fn conv(converter: &mut Converter, node: &NodeProto) -> Result<()> {
    let error = Converter::graph_error(node);
    let x = converter.tensor(node, 0)?;
    let rank = converter.builder.ty(x).shape.len();
    let (planes, spatial) = as_planes(converter, node, x)?;
    let mut filters = converter.tensor(node, 1)?;
    let filter_shape = converter.builder.ty(filters).shape.clone();
    if filter_shape.len() != rank {
        return Err(
            converter.unsupported(node, &format!("filters of shape {filter_shape:?} for a {rank}-D input"))
        );
    }
    if rank == 3 {
        filters = converter
            .builder
            .reshape(filters, &[filter_shape[0], filter_shape[1], 1, filter_shape[2]])
            .map_err(&error)?;
    }
    let kernel = filter_shape[2..].to_vec();
    if let Some(declared) = ints_attribute(node, "kernel_shape")
        && declared.iter().map(|&k| k as usize).collect::<Vec<_>>() != kernel
    {
        return Err(converter
            .unsupported(node, &format!("kernel_shape {declared:?} differs from the filters' {kernel:?}")));
    }
    let spans = spans(converter, node, &spatial, &kernel, false)?;
    let (_, geometry) = geometry(&spans);
    for (axis, span) in spans.iter().enumerate() {
        if span.dilation > 1 {
            let axis = if rank == 3 { 3 } else { 2 + axis };
            filters = dilate(converter, node, filters, axis, span.kernel, span.dilation)?;
        }
    }
    let groups = int_attribute(node, "group", 1).max(1) as usize;
    let channels = converter.builder.ty(planes).shape[1];
    let outputs = filter_shape[0];
    if !channels.is_multiple_of(groups)
        || !outputs.is_multiple_of(groups)
        || filter_shape[1] * groups != channels
    {
        return Err(converter.unsupported(
            node,
            &format!("group {groups} for {channels} input channels and filters {filter_shape:?}"),
        ));
    }
    let mut y = if groups == 1 {
        converter.builder.conv2d(planes, filters, geometry).map_err(&error)?
    } else {
        let (per_input, per_output) = (channels / groups, outputs / groups);
        let mut parts = Vec::new();
        for g in 0..groups {
            let xs =
                converter.builder.slice(planes, 1, g * per_input, (g + 1) * per_input).map_err(&error)?;
            let ws =
                converter.builder.slice(filters, 0, g * per_output, (g + 1) * per_output).map_err(&error)?;
            parts.push(converter.builder.conv2d(xs, ws, geometry).map_err(&error)?);
        }
        converter.builder.concat(&parts, 1).map_err(&error)?
    };
    if Converter::has_input(node, 2) {
        let bias_shape = converter.shape_of(node, 2)?;
        if bias_shape != [outputs] {
            return Err(converter.unsupported(
                node,
                &format!("its bias has shape {bias_shape:?}; Conv's B must be [M], one per filter"),
            ));
        }
        let bias = converter.tensor(node, 2)?;
        let bias = converter.builder.reshape(bias, &[1, outputs, 1, 1]).map_err(&error)?;
        y = converter.builder.add(y, bias).map_err(&error)?;
    }
    let y = from_planes(converter, node, y, rank)?;
    converter.set(node, y);
    Ok(())
}

/// Spreads `filters` along `axis` (2 or 3 of [M, C, KH, KW]) by `dilation`:
/// a product with the public 0/1 matrix that puts tap i at i·dilation.
fn dilate(
    converter: &mut Converter,
    node: &NodeProto,
    filters: Tensor,
    axis: usize,
    kernel: usize,
    dilation: usize,
) -> Result<Tensor> {
    let error = Converter::graph_error(node);
    let extent = (kernel - 1) * dilation + 1;
    let mut spread = vec![0i64; kernel * extent];
    for i in 0..kernel {
        spread[i * extent + i * dilation] = 1;
    }
    let matrix = converter.builder.integer_constant(&[kernel, extent], &spread).map_err(&error)?;
    let last = axis == 3;
    let moved = if last {
        filters
    } else {
        converter.builder.transpose(filters, Some(&[0, 1, 3, 2])).map_err(&error)?
    };
    let product = converter.builder.matmul(moved, matrix).map_err(&error)?;
    if last { Ok(product) } else { converter.builder.transpose(product, Some(&[0, 1, 3, 2])).map_err(&error) }
}
