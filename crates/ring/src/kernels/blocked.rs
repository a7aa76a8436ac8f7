//! The BLIS-style blocking driver shared by every microkernel.
//!
//! C (m×n) is cut into disjoint tiles of at most `MC` rows and `nc` columns;
//! each tile is one rayon task. A task walks the shared dimension in blocks
//! of `KC`, packs its block of B into `NR`-column panels (kept in L1 by the
//! microkernel) and its block of A into `MR`-row panels (kept in L2), then
//! runs the microkernel over every `MR`×`NR` sub-tile. Packing is redone per
//! task; that costs about `1/MC + 1/nc` of the multiply-adds, around 1%.

use rayon::prelude::*;

use crate::element::RingElement;

/// Rows of A packed per task (a multiple of every kernel's `MR`).
const MC: usize = 96;
/// Depth of one packed block along the shared dimension.
const KC: usize = 256;
/// Widest column block of one task.
const NC_MAX: usize = 1024;
/// Below this many multiply-adds a matmul stays on the calling thread.
const PARALLEL_THRESHOLD: usize = 1 << 17;

/// How many cores a matmul may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threading {
    /// Rayon's global pool.
    AllCores,
    /// The calling thread only.
    SingleThread,
}

/// A register-blocked kernel computing one `MR`×`NR` tile of a product.
pub trait MicroKernel<R: RingElement>: Sync {
    const MR: usize;
    const NR: usize;

    /// `tile[i·NR + j] = Σ_{p < depth} a_panel[p·MR + i] · b_panel[p·NR + j]`.
    /// `a_panel` holds `depth·MR` elements, `b_panel` at least `depth·NR`.
    fn tile(&self, depth: usize, a_panel: &[R], b_panel: &[R], tile: &mut [R]);

    /// Rearranges a packed B block (whole `NR`-element rows) into the layout
    /// `tile` reads; run once per block, so its cost is shared by all rows.
    fn prepare_b(&self, _packed: &mut [R]) {}
}

/// `c = a · b`, row-major, wrapping, with `kernel`.
#[allow(clippy::too_many_arguments)]
pub fn matmul<R: RingElement, K: MicroKernel<R>>(
    kernel: &K,
    threading: Threading,
    m: usize,
    k: usize,
    n: usize,
    a: &[R],
    b: &[R],
    c: &mut [R],
) {
    assert_eq!(a.len(), m * k, "matmul: A is not {m}x{k}");
    assert_eq!(b.len(), k * n, "matmul: B is not {k}x{n}");
    assert_eq!(c.len(), m * n, "matmul: C is not {m}x{n}");
    c.fill(R::ZERO);
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let threads = match threading {
        Threading::SingleThread => 1,
        Threading::AllCores if m * n * k < PARALLEL_THRESHOLD => 1,
        Threading::AllCores => rayon::current_num_threads(),
    };
    let mc = MC.min(m.next_multiple_of(K::MR));
    let row_blocks = m.div_ceil(mc);
    // Enough column blocks that every thread gets about two tiles.
    let wanted_column_blocks = (2 * threads).div_ceil(row_blocks).max(1);
    let nc = n.div_ceil(wanted_column_blocks).next_multiple_of(K::NR).clamp(K::NR, NC_MAX);
    let column_blocks = n.div_ceil(nc);
    let output = DisjointTiles { start: c.as_mut_ptr(), len: c.len() };
    let run_tile = |tile_index: usize| {
        let row_start = (tile_index / column_blocks) * mc;
        let column_start = (tile_index % column_blocks) * nc;
        let block = Block {
            rows: row_start..(row_start + mc).min(m),
            columns: column_start..(column_start + nc).min(n),
        };
        multiply_block(kernel, k, n, a, b, &output, block);
    };
    let tiles = row_blocks * column_blocks;
    if threads == 1 {
        (0..tiles).for_each(run_tile);
    } else {
        (0..tiles).into_par_iter().for_each(run_tile);
    }
}

/// The rows and columns of C one task owns.
struct Block {
    rows: std::ops::Range<usize>,
    columns: std::ops::Range<usize>,
}

/// C's storage, handed to tasks that each write a disjoint tile.
struct DisjointTiles<R> {
    start: *mut R,
    len: usize,
}

// SAFETY: tasks write through `DisjointTiles` only inside their own `Block`,
// and blocks never overlap, so no element is touched by two threads.
unsafe impl<R: Send> Sync for DisjointTiles<R> {}
unsafe impl<R: Send> Send for DisjointTiles<R> {}

impl<R: RingElement> DisjointTiles<R> {
    /// Adds `value` to element `index`.
    ///
    /// # Safety
    /// `index` must lie in the calling task's own block.
    unsafe fn add(&self, index: usize, value: R) {
        assert!(index < self.len);
        // SAFETY: in bounds (checked above); exclusive per the caller's contract.
        unsafe {
            let element = self.start.add(index);
            *element = (*element).wrapping_add(value);
        }
    }
}

fn multiply_block<R: RingElement, K: MicroKernel<R>>(
    kernel: &K,
    k: usize,
    n: usize,
    a: &[R],
    b: &[R],
    output: &DisjointTiles<R>,
    block: Block,
) {
    let depth_max = KC.min(k);
    let mut a_packed = vec![R::ZERO; block.rows.len().next_multiple_of(K::MR) * depth_max];
    let mut b_packed = vec![R::ZERO; block.columns.len().next_multiple_of(K::NR) * depth_max];
    let mut tile = vec![R::ZERO; K::MR * K::NR];
    for depth_start in (0..k).step_by(KC) {
        let depth = KC.min(k - depth_start);
        pack_b::<R, K>(b, n, depth_start, depth, &block.columns, &mut b_packed);
        kernel.prepare_b(&mut b_packed[..block.columns.len().next_multiple_of(K::NR) * depth]);
        pack_a::<R, K>(a, k, depth_start, depth, &block.rows, &mut a_packed);
        for (panel_b, column) in block.columns.clone().step_by(K::NR).enumerate() {
            let b_panel = &b_packed[panel_b * depth * K::NR..];
            let columns_here = K::NR.min(block.columns.end - column);
            for (panel_a, row) in block.rows.clone().step_by(K::MR).enumerate() {
                let a_panel = &a_packed[panel_a * depth * K::MR..(panel_a + 1) * depth * K::MR];
                kernel.tile(depth, a_panel, b_panel, &mut tile);
                let rows_here = K::MR.min(block.rows.end - row);
                for i in 0..rows_here {
                    for j in 0..columns_here {
                        // SAFETY: (row + i, column + j) lies inside this task's block.
                        unsafe { output.add((row + i) * n + column + j, tile[i * K::NR + j]) };
                    }
                }
            }
        }
    }
}

/// Packs `a[rows, depth_start..depth_start + depth]` into `MR`-row panels,
/// depth-major inside each panel, zero-padding missing rows.
fn pack_a<R: RingElement, K: MicroKernel<R>>(
    a: &[R],
    k: usize,
    depth_start: usize,
    depth: usize,
    rows: &std::ops::Range<usize>,
    packed: &mut [R],
) {
    for (panel, row) in rows.clone().step_by(K::MR).enumerate() {
        let panel_data = &mut packed[panel * depth * K::MR..(panel + 1) * depth * K::MR];
        for i in 0..K::MR {
            if row + i < rows.end {
                let source = &a[(row + i) * k + depth_start..][..depth];
                for (p, &value) in source.iter().enumerate() {
                    panel_data[p * K::MR + i] = value;
                }
            } else {
                for p in 0..depth {
                    panel_data[p * K::MR + i] = R::ZERO;
                }
            }
        }
    }
}

/// Packs `b[depth_start..depth_start + depth, columns]` into `NR`-column
/// panels, depth-major inside each panel, zero-padding missing columns.
fn pack_b<R: RingElement, K: MicroKernel<R>>(
    b: &[R],
    n: usize,
    depth_start: usize,
    depth: usize,
    columns: &std::ops::Range<usize>,
    packed: &mut [R],
) {
    for (panel, column) in columns.clone().step_by(K::NR).enumerate() {
        let width = K::NR.min(columns.end - column);
        let panel_data = &mut packed[panel * depth * K::NR..(panel + 1) * depth * K::NR];
        for (p, packed_row) in panel_data.chunks_exact_mut(K::NR).enumerate() {
            let source = &b[(depth_start + p) * n + column..][..width];
            packed_row[..width].copy_from_slice(source);
            packed_row[width..].fill(R::ZERO);
        }
    }
}
