//! The seed's example as a program: the model owner's three-layer network
//! classifies the prediction client's input under Pond, with every party a
//! thread of this process. Prints the client's result beside the plaintext
//! results and the session's profile.
//!
//! `cargo run --release --example private_prediction [BATCH]`

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use blindfold_ml::demo::Demo;
use blindfold_runtime::{Protocol, SessionOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let batch = std::env::args().nth(1).map(|b| b.parse()).transpose()?.unwrap_or(1);
    println!("{}", Demo::run(batch, Protocol::Pond, SessionOptions::default())?);
    Ok(())
}
