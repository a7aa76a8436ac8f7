//! Hand-written wrapping-integer kernels: the hot loops of every private
//! prediction. No well-kept crate multiplies u64/u128 matrices modulo 2^k fast
//! (ndarray's integer `dot` is a naive strided loop), so these are ours.
//!
//! Layout: [`blocked`] is a BLIS-style driver (pack panels of A and B, walk
//! cache-sized blocks, run a register-blocked microkernel, split the output
//! into disjoint tiles for rayon); the microkernels are in [`avx2`] (u64 and
//! u128 with AVX2) and [`portable`] (any ring, any CPU). [`reference`] is the
//! plain triple loop the property tests compare against.

mod avx2;
mod blocked;
mod portable;
pub mod reference;

pub use blocked::Threading;

/// Row-major wrapping `c = a · b` over Z_2^64, (m×k)·(k×n), on all cores.
pub fn matmul_u64(m: usize, k: usize, n: usize, a: &[u64], b: &[u64], c: &mut [u64]) {
    matmul_u64_with(Threading::AllCores, m, k, n, a, b, c)
}

/// Row-major wrapping `c = a · b` over Z_2^128, (m×k)·(k×n), on all cores.
pub fn matmul_u128(m: usize, k: usize, n: usize, a: &[u128], b: &[u128], c: &mut [u128]) {
    matmul_u128_with(Threading::AllCores, m, k, n, a, b, c)
}

/// [`matmul_u64`] on the calling thread only (for benchmarks and for callers
/// that already parallelise over something else).
pub fn matmul_u64_single_thread(m: usize, k: usize, n: usize, a: &[u64], b: &[u64], c: &mut [u64]) {
    matmul_u64_with(Threading::SingleThread, m, k, n, a, b, c)
}

/// [`matmul_u128`] on the calling thread only.
pub fn matmul_u128_single_thread(m: usize, k: usize, n: usize, a: &[u128], b: &[u128], c: &mut [u128]) {
    matmul_u128_with(Threading::SingleThread, m, k, n, a, b, c)
}

pub(crate) fn matmul_u64_with(
    threading: Threading,
    m: usize,
    k: usize,
    n: usize,
    a: &[u64],
    b: &[u64],
    c: &mut [u64],
) {
    match avx2::U64Kernel::detect() {
        Some(kernel) => blocked::matmul(&kernel, threading, m, k, n, a, b, c),
        None => blocked::matmul(&portable::Kernel::<4, 4>, threading, m, k, n, a, b, c),
    }
}

pub(crate) fn matmul_u128_with(
    threading: Threading,
    m: usize,
    k: usize,
    n: usize,
    a: &[u128],
    b: &[u128],
    c: &mut [u128],
) {
    match avx2::U128Kernel::detect() {
        Some(kernel) => blocked::matmul(&kernel, threading, m, k, n, a, b, c),
        None => blocked::matmul(&portable::Kernel::<2, 2>, threading, m, k, n, a, b, c),
    }
}

/// The name of the microkernels this CPU runs (for benchmark records).
pub fn kernel_name() -> &'static str {
    if avx2::U64Kernel::detect().is_some() { "avx2" } else { "portable" }
}

#[cfg(test)]
mod tests;
