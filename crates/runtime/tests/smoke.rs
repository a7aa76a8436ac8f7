use blindfold_ir::GraphBuilder;
use blindfold_protocols::Inputs;
use blindfold_runtime::{Protocol, Session};
use ndarray::ArrayD;

#[test]
fn smoke() {
    let mut g = GraphBuilder::new();
    let w = g.private_input("model-owner", "w", &[3, 2]).unwrap();
    let x = g.private_input("client", "x", &[2, 3]).unwrap();
    let y = g.matmul(x, w).unwrap();
    let z = g.sigmoid(y).unwrap();
    g.output("client", "y", y).unwrap();
    g.output("client", "z", z).unwrap();
    let graph = g.finish();
    let mut inputs = Inputs::new();
    inputs.entry("model-owner".into()).or_default().insert(
        "w".into(),
        ArrayD::from_shape_vec(vec![3, 2], vec![1.0, -2.0, 0.5, 0.25, 3.0, 1.5]).unwrap(),
    );
    inputs
        .entry("client".into())
        .or_default()
        .insert("x".into(), ArrayD::from_shape_vec(vec![2, 3], vec![0.1, 0.2, 0.3, -1.0, 2.0, 0.5]).unwrap());
    for protocol in [Protocol::Pond, Protocol::PlaintextFixed, Protocol::PlaintextFloat] {
        let result = Session::new(graph.clone()).protocol(protocol).run(inputs.clone()).unwrap();
        println!(
            "{protocol:?} y={:?} z={:?}",
            result.output("client", "y").unwrap().as_slice().unwrap(),
            result.output("client", "z").unwrap().as_slice().unwrap()
        );
        println!("{}", result.report.table());
    }
}
