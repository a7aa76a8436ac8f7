//! Models and workloads built on the builder: the seed's private prediction
//! network, and [`demo`], the program the README's first command runs.

pub mod demo;
pub mod seed_network;
