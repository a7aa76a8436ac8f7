//! What blindfold's user-facing jobs do, once, under both faces (the
//! `blindfold` command and the Python package): a private prediction
//! ([`predict`]) and an encrypted one ([`predict_paillier`]), private
//! training ([`train`]), sessions launched on workers ([`launch`]) and the
//! files a worker reads ([`files`]), input files ([`input`]), worker
//! processes on this machine ([`local`]), the allocator settings
//! ([`allocator`]); every failure a [`JobError`].

pub mod allocator;
mod error;
pub mod files;
pub mod input;
pub mod launch;
pub mod local;
pub mod predict;
pub mod predict_paillier;
pub mod train;

pub use error::{JobError, Result};
