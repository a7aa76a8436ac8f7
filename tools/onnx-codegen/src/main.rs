//! Writes the prost code for onnx.proto: `onnx-codegen PROTO OUT_DIR`.
fn main() {
    let mut args = std::env::args().skip(1);
    let (proto, out) = (args.next().expect("PROTO"), args.next().expect("OUT_DIR"));
    let dir = std::path::Path::new(&proto).parent().expect("a file in a folder").to_path_buf();
    let descriptors = protox::compile([&proto], [&dir]).expect("onnx.proto compiles");
    prost_build::Config::new().out_dir(&out).compile_fds(descriptors).expect("code generation");
}
