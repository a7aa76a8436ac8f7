//! ONNX tensors (initializers, constants) into ndarray arrays of f64.

use ndarray::ArrayD;

use crate::error::{OnnxError, Result};
use crate::proto::TensorProto;
use crate::proto::tensor_proto::{DataLocation, DataType};

/// The values of `tensor` as f64 (float, double, float16, integer and
/// boolean tensors).
pub fn to_array(tensor: &TensorProto) -> Result<ArrayD<f64>> {
    let name = tensor.name.clone().unwrap_or_default();
    let error = |reason: String| OnnxError::Tensor { name: name.clone(), reason };
    if tensor.data_location == Some(DataLocation::External as i32) {
        return Err(error("external data is not supported: save the model with its weights inside".into()));
    }
    let shape: Vec<usize> = tensor
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| error(format!("dimension {d}"))))
        .collect::<Result<_>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |count, &d| count.checked_mul(d))
        .filter(|&count| count <= blindfold_ir::MAX_ELEMENTS)
        .ok_or_else(|| {
            error(format!(
                "shape {shape:?} has more than the limit of {} elements",
                blindfold_ir::MAX_ELEMENTS
            ))
        })?;
    let raw = tensor.raw_data.as_deref().unwrap_or_default();
    let from_raw = |width: usize, read: fn(&[u8]) -> f64| -> Result<Vec<f64>> {
        if raw.len() != count * width {
            return Err(error(format!("{} raw bytes for {count} values of {width} bytes", raw.len())));
        }
        Ok(raw.chunks_exact(width).map(read).collect())
    };
    let data_type = DataType::try_from(tensor.data_type.unwrap_or(0)).unwrap_or(DataType::Undefined);
    let values: Vec<f64> = match data_type {
        DataType::Float if !raw.is_empty() => {
            from_raw(4, |b| f32::from_le_bytes(b.try_into().unwrap()) as f64)?
        }
        DataType::Float => tensor.float_data.iter().map(|&v| v as f64).collect(),
        // (Typed fields are checked against the shape below.)
        DataType::Double if !raw.is_empty() => from_raw(8, |b| f64::from_le_bytes(b.try_into().unwrap()))?,
        DataType::Double => tensor.double_data.clone(),
        DataType::Int64 if !raw.is_empty() => {
            from_raw(8, |b| i64::from_le_bytes(b.try_into().unwrap()) as f64)?
        }
        DataType::Int64 => tensor.int64_data.iter().map(|&v| v as f64).collect(),
        DataType::Int32 if !raw.is_empty() => {
            from_raw(4, |b| i32::from_le_bytes(b.try_into().unwrap()) as f64)?
        }
        DataType::Int32 => tensor.int32_data.iter().map(|&v| v as f64).collect(),
        DataType::Float16 if !raw.is_empty() => {
            from_raw(2, |b| half_to_f64(u16::from_le_bytes(b.try_into().unwrap())))?
        }
        DataType::Float16 => tensor.int32_data.iter().map(|&v| half_to_f64(v as u16)).collect(),
        DataType::Int8 | DataType::Bool if !raw.is_empty() => from_raw(1, |b| b[0] as i8 as f64)?,
        DataType::Uint8 if !raw.is_empty() => from_raw(1, |b| b[0] as f64)?,
        DataType::Int16 if !raw.is_empty() => {
            from_raw(2, |b| i16::from_le_bytes(b.try_into().unwrap()) as f64)?
        }
        DataType::Uint16 if !raw.is_empty() => {
            from_raw(2, |b| u16::from_le_bytes(b.try_into().unwrap()) as f64)?
        }
        DataType::Uint32 if !raw.is_empty() => {
            from_raw(4, |b| u32::from_le_bytes(b.try_into().unwrap()) as f64)?
        }
        DataType::Uint64 if !raw.is_empty() => {
            from_raw(8, |b| u64::from_le_bytes(b.try_into().unwrap()) as f64)?
        }
        // Small integer types and booleans sit in int32_data, uint32/64 in uint64_data.
        DataType::Int8 | DataType::Uint8 | DataType::Int16 | DataType::Uint16 | DataType::Bool => {
            tensor.int32_data.iter().map(|&v| v as f64).collect()
        }
        DataType::Uint32 | DataType::Uint64 => tensor.uint64_data.iter().map(|&v| v as f64).collect(),
        other => return Err(error(format!("element type {other:?} is not supported"))),
    };
    ArrayD::from_shape_vec(shape.clone(), values)
        .map_err(|_| error(format!("the values do not fill shape {shape:?}")))
}

/// An IEEE 754 half-precision value.
fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let exponent = ((bits >> 10) & 0x1f) as i32;
    let fraction = (bits & 0x3ff) as f64;
    sign * match exponent {
        0 => fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + fraction / 1024.0) * 2f64.powi(exponent - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::half_to_f64;

    #[test]
    fn half_precision_values_decode() {
        assert_eq!(half_to_f64(0x3c00), 1.0);
        assert_eq!(half_to_f64(0xc000), -2.0);
        assert_eq!(half_to_f64(0x7bff), 65504.0);
        assert_eq!(half_to_f64(0x0001), 2f64.powi(-24));
    }
}
