//! A batch whose comparison keys would not fit in memory is refused before
//! anything runs, with the batch that fits, instead of the system killing
//! the process (BLINDFOLD_MEMORY_BYTES stands in for the memory available;
//! one test in this binary, as it sets the environment).

use std::path::Path;

use blindfold_jobs::predict::{PredictOptions, predict};
use ndarray::{ArrayD, IxDyn};

#[test]
fn a_batch_too_large_for_memory_is_refused_with_one_that_fits() {
    let model =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/mnist-a.onnx")).unwrap();
    let x = ArrayD::from_elem(IxDyn(&[16, 1, 28, 28]), 0.5);
    let options = PredictOptions { batch: 16, ..PredictOptions::default() };
    // Network A compares 256 values per image, 3,174 bytes of keys each in
    // Z_2^64: 13.0 MB for 16 images; half of 20 MB holds 12 images.
    unsafe { std::env::set_var("BLINDFOLD_MEMORY_BYTES", "20000000") };
    let refused = predict(&model, "mnist-a.onnx", &x, &options).err().expect("refused").to_string();
    assert!(refused.contains("13.0 MB") && refused.contains("use --batch 12 or less"), "{refused}");
    unsafe { std::env::set_var("BLINDFOLD_MEMORY_BYTES", "100000000") };
    assert!(predict(&model, "mnist-a.onnx", &x, &options).is_ok());
}
