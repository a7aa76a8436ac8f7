//! A register-blocked microkernel in plain Rust for any ring: the fallback on
//! CPUs without AVX2.

use super::blocked::MicroKernel;
use crate::element::RingElement;

/// An `MR`×`NR` tile of scalar accumulators.
pub struct Kernel<const MR: usize, const NR: usize>;

impl<R: RingElement, const MR: usize, const NR: usize> MicroKernel<R> for Kernel<MR, NR> {
    const MR: usize = MR;
    const NR: usize = NR;

    fn tile(&self, depth: usize, a_panel: &[R], b_panel: &[R], tile: &mut [R]) {
        let mut accumulators = [[R::ZERO; NR]; MR];
        for (a_column, b_row) in
            a_panel[..depth * MR].chunks_exact(MR).zip(b_panel[..depth * NR].chunks_exact(NR))
        {
            for (row, &a_value) in accumulators.iter_mut().zip(a_column) {
                for (accumulator, &b_value) in row.iter_mut().zip(b_row) {
                    *accumulator = accumulator.wrapping_add(a_value.wrapping_mul(b_value));
                }
            }
        }
        for (out_row, row) in tile.chunks_exact_mut(NR).zip(&accumulators) {
            out_row.copy_from_slice(row);
        }
    }
}
