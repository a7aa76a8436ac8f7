//! Hostile models, made by editing real ones (the fixtures onnxruntime
//! checked): parameters of the wrong shape, dimensions that wrap, padding
//! without end, tensors that claim more values than they hold. Each is an
//! error naming what is wrong, never a panic or an allocation.

use std::path::PathBuf;

use blindfold_onnx::proto::{ModelProto, TensorProto, attribute_proto};
use blindfold_onnx::{ImportOptions, OnnxError, import};
use prost::Message;

fn model(name: &str) -> ModelProto {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    ModelProto::decode(std::fs::read(path).unwrap().as_slice()).unwrap()
}

/// Imports `model` after `edit`; the error, which must not be a panic.
fn import_edited(name: &str, edit: impl FnOnce(&mut ModelProto)) -> OnnxError {
    let mut edited = model(name);
    edit(&mut edited);
    let bytes = edited.encode_to_vec();
    match std::panic::catch_unwind(|| import(&bytes, ImportOptions::default())) {
        Ok(Ok(_)) => panic!("the edited {name} was accepted"),
        Ok(Err(error)) => error,
        Err(_) => panic!("the edited {name} made the importer panic"),
    }
}

fn initializer<'a>(model: &'a mut ModelProto, name: &str) -> &'a mut TensorProto {
    let graph = model.graph.as_mut().unwrap();
    graph.initializer.iter_mut().find(|t| t.name.as_deref() == Some(name)).unwrap()
}

/// A float tensor's shape and values, replaced.
fn set_floats(tensor: &mut TensorProto, dims: &[i64], values: &[f32]) {
    tensor.dims = dims.to_vec();
    tensor.raw_data = Some(values.iter().flat_map(|v| v.to_le_bytes()).collect());
    tensor.float_data.clear();
}

#[test]
fn batch_normalization_parameters_of_the_wrong_shape_are_named() {
    // cnn.onnx: Conv (4 filters) then BatchNormalization(g, bt, m, v), each [4].
    let short = import_edited("cnn.onnx", |m| set_floats(initializer(m, "m"), &[2], &[0.1, 0.2]));
    assert!(short.to_string().contains("its mean has shape [2]"), "{short}");
    let flat = import_edited("cnn.onnx", |m| set_floats(initializer(m, "bt"), &[2, 2], &[0.0; 4]));
    assert!(flat.to_string().contains("its B has shape [2, 2]"), "{flat}");
    let negative =
        import_edited("cnn.onnx", |m| set_floats(initializer(m, "v"), &[4], &[1.0, -1.0, 1.0, 1.0]));
    assert!(negative.to_string().contains("negative"), "{negative}");
    // The dense network's BatchNormalization after a Gemm, likewise.
    let dense = import_edited("mlp.onnx", |m| set_floats(initializer(m, "mean"), &[1], &[0.5]));
    assert!(matches!(dense, OnnxError::Unsupported { .. }), "{dense}");
}

#[test]
fn dimensions_that_wrap_or_exceed_the_limit_are_errors() {
    use blindfold_onnx::proto::tensor_shape_proto::dimension::Value as Dim;
    use blindfold_onnx::proto::type_proto::Value as Type;
    // The input declares [N, 2^40, 2^40, 1]: its product wraps usize.
    let wrapped = import_edited("cnn.onnx", |m| {
        let input = &mut m.graph.as_mut().unwrap().input[0];
        let Some(Type::TensorType(tensor)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) else {
            panic!("a tensor input")
        };
        for (i, dim) in tensor.shape.as_mut().unwrap().dim.iter_mut().enumerate().skip(1) {
            dim.value = Some(Dim::DimValue(if i < 3 { 1 << 40 } else { 1 }));
        }
    });
    assert!(wrapped.to_string().contains("limit"), "{wrapped}");
    // An initializer that claims 2^60 values and holds 16 bytes.
    let claimed = import_edited("cnn.onnx", |m| initializer(m, "c1").dims = vec![1 << 30, 1 << 30]);
    assert!(claimed.to_string().contains("limit"), "{claimed}");
    // A negative dimension.
    let negative = import_edited("cnn.onnx", |m| initializer(m, "c1").dims = vec![-4, 1, 3, 3]);
    assert!(negative.to_string().contains("dimension -4"), "{negative}");
}

#[test]
fn padding_without_end_is_an_error_not_an_allocation() {
    for pad in [1i64 << 20, 1 << 40, i64::MAX] {
        let error = import_edited("cnn.onnx", |m| {
            let conv = &mut m.graph.as_mut().unwrap().node[0];
            let pads = conv.attribute.iter_mut().find(|a| a.name.as_deref() == Some("pads"));
            let pads = match pads {
                Some(pads) => pads,
                None => {
                    conv.attribute.push(blindfold_onnx::proto::AttributeProto {
                        name: Some("pads".into()),
                        r#type: Some(attribute_proto::AttributeType::Ints as i32),
                        ..Default::default()
                    });
                    conv.attribute.last_mut().unwrap()
                }
            };
            pads.ints = vec![pad; 4];
        });
        assert!(matches!(error, OnnxError::Graph { .. } | OnnxError::Unsupported { .. }), "{pad}: {error}");
    }
}

/// A weight fixed point cannot hold (an int64 tensor of 2^60, an infinite
/// float) is an error naming the tensor, not a wrapped value; the value
/// itself (the owner's secret) is not in the message.
#[test]
fn weights_beyond_fixed_point_are_errors_naming_the_tensor() {
    let name = model("mlp.onnx").graph.unwrap().initializer[0].name.clone().unwrap();
    let huge = import_edited("mlp.onnx", |m| {
        let tensor = initializer(m, &name);
        let count: i64 = tensor.dims.iter().product();
        tensor.data_type = Some(blindfold_onnx::proto::tensor_proto::DataType::Int64 as i32);
        tensor.raw_data = Some((0..count).flat_map(|_| (1i64 << 60).to_le_bytes()).collect());
        tensor.float_data.clear();
    });
    match &huge {
        OnnxError::Tensor { name: named, reason } => {
            assert_eq!(named, &name);
            assert!(reason.contains("cannot hold") && !reason.contains("1152921504606846976"), "{reason}");
        }
        other => panic!("{other}"),
    }
    let infinite = import_edited("mlp.onnx", |m| {
        let tensor = initializer(m, &name);
        let dims = tensor.dims.clone();
        let count: i64 = dims.iter().product();
        set_floats(tensor, &dims, &vec![f32::INFINITY; count as usize]);
    });
    assert!(infinite.to_string().contains("not a finite number"), "{infinite}");
}
