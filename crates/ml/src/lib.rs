//! Models and workloads built on the builder: the seed's private prediction
//! network, the private matmul benchmark, and [`demo`], the program the
//! README's first command runs.

pub mod demo;
pub mod private_matmul;
pub mod seed_network;
pub mod training;
