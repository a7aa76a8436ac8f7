//! The native module `blindfold._blindfold`, wrapped by the Python package
//! `blindfold` (in `python/blindfold`): graphs built from Python and run
//! with Pond, one-call prediction and training, Paillier. Long calls run
//! with the interpreter released and stop cleanly on Ctrl-C.

mod arrays;
mod builder;
mod errors;
mod interrupt;
mod paillier;
mod predict;
mod train;

use pyo3::prelude::*;

/// Sessions allocate and free many megabyte-sized shares: mimalloc, set up
/// as in the `blindfold` binary, keeps the pages for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// blindfold's native core (use the `blindfold` package).
#[pymodule]
fn _blindfold(module: &Bound<'_, PyModule>) -> PyResult<()> {
    blindfold_jobs::allocator::keep_freed_memory();
    let py = module.py();
    module.add("ProtocolError", py.get_type::<errors::ProtocolError>())?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<builder::Builder>()?;
    module.add_class::<paillier::PrivateKey>()?;
    module.add_class::<paillier::PublicKey>()?;
    module.add_class::<paillier::EncryptedTensor>()?;
    module.add_function(wrap_pyfunction!(predict::predict, module)?)?;
    module.add_function(wrap_pyfunction!(train::train, module)?)?;
    module.add_function(wrap_pyfunction!(paillier::generate_keys, module)?)?;
    Ok(())
}
