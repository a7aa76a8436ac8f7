//! AVX2 microkernels for wrapping u64 and u128 matrix products.
//!
//! AVX2 has no 64-bit lane multiply. With a = a_hi·2^32 + a_lo,
//!
//!   a·b mod 2^64 = a_lo·b_lo + 2^32·(a_hi·b_lo + a_lo·b_hi mod 2^32),
//!
//! and AVX2 has exactly the two pieces: `vpmuludq` multiplies the low 32 bits
//! of each 64-bit lane into a full 64-bit product (a_lo·b_lo), and `vpmulld`
//! multiplies 32-bit lanes keeping the low 32 bits. Broadcasting a with its
//! halves swapped ([a_hi, a_lo] per 64-bit lane) against b ([b_lo, b_hi])
//! gives a_hi·b_lo in the even 32-bit lane and a_lo·b_hi in the odd one. The
//! kernel accumulates `low` in 64-bit lanes and `cross` in 32-bit lanes (both
//! wrap exactly as the ring needs) and folds them once per tile:
//! result = low + (cross_even + cross_odd)·2^32. Two multiplies and two adds
//! per four multiply-adds.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::blocked::MicroKernel;

/// The u64 kernel: a 2×8 tile.
#[derive(Clone, Copy)]
pub struct U64Kernel {
    _detected: (),
}

/// Rows of the u64 tile.
const U64_ROWS: usize = 2;
/// 256-bit vectors (4 lanes each) across the u64 tile.
const U64_VECTORS: usize = 2;

/// Whether this CPU runs the AVX2 kernels.
fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

impl U64Kernel {
    /// The kernel, if this CPU has AVX2.
    pub fn detect() -> Option<Self> {
        avx2_available().then_some(U64Kernel { _detected: () })
    }
}

impl MicroKernel<u64> for U64Kernel {
    const MR: usize = U64_ROWS;
    const NR: usize = 4 * U64_VECTORS;

    fn tile(&self, depth: usize, a_panel: &[u64], b_panel: &[u64], tile: &mut [u64]) {
        assert!(a_panel.len() >= depth * U64_ROWS);
        assert!(b_panel.len() >= depth * 4 * U64_VECTORS);
        assert!(tile.len() >= U64_ROWS * 4 * U64_VECTORS);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `U64Kernel` exists only where AVX2 was detected; the asserts
        // above bound every load and store.
        unsafe {
            u64_tile(depth, a_panel.as_ptr(), b_panel.as_ptr(), tile.as_mut_ptr())
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("U64Kernel::detect returns None off x86_64")
    }
}

/// The u64 tile product, 2 rows by 8 columns; see the module documentation
/// for the method. The depth loop is inline assembly: written with
/// intrinsics, LLVM recognises the 32-bit pieces as one 64-bit multiply and
/// re-expands them into five multiplies and shifts, twice the work.
///
/// # Safety
/// AVX2 must be available; `a` must hold `depth·2` elements, `b` `depth·8`,
/// and `tile` 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn u64_tile(depth: usize, a: *const u64, b: *const u64, tile: *mut u64) {
    let zero = _mm256_setzero_si256();
    let (mut low00, mut low01, mut cross00, mut cross01) = (zero, zero, zero, zero);
    let (mut low10, mut low11, mut cross10, mut cross11) = (zero, zero, zero, zero);
    if depth > 0 {
        // Per step p: load B's 8 values; per row, broadcast a (x) and a with
        // swapped halves (y); low += vpmuludq(x, b), cross += vpmulld(y, b).
        // SAFETY: reads a[0..2·depth] and b[0..8·depth] as the caller
        // guarantees; all registers used are declared below.
        unsafe {
            std::arch::asm!(
                "2:",
                "vmovdqu {b0}, ymmword ptr [{b}]",
                "vmovdqu {b1}, ymmword ptr [{b} + 32]",
                "vpbroadcastq {x}, qword ptr [{a}]",
                "vpshufd {y}, {x}, 0xb1",
                "vpmuludq {t0}, {x}, {b0}",
                "vpaddq {l00}, {l00}, {t0}",
                "vpmuludq {t1}, {x}, {b1}",
                "vpaddq {l01}, {l01}, {t1}",
                "vpmulld {t0}, {y}, {b0}",
                "vpaddd {c00}, {c00}, {t0}",
                "vpmulld {t1}, {y}, {b1}",
                "vpaddd {c01}, {c01}, {t1}",
                "vpbroadcastq {x}, qword ptr [{a} + 8]",
                "vpshufd {y}, {x}, 0xb1",
                "vpmuludq {t0}, {x}, {b0}",
                "vpaddq {l10}, {l10}, {t0}",
                "vpmuludq {t1}, {x}, {b1}",
                "vpaddq {l11}, {l11}, {t1}",
                "vpmulld {t0}, {y}, {b0}",
                "vpaddd {c10}, {c10}, {t0}",
                "vpmulld {t1}, {y}, {b1}",
                "vpaddd {c11}, {c11}, {t1}",
                "add {a}, 16",
                "add {b}, 64",
                "dec {k}",
                "jnz 2b",
                a = inout(reg) a => _,
                b = inout(reg) b => _,
                k = inout(reg) depth => _,
                l00 = inout(ymm_reg) low00,
                l01 = inout(ymm_reg) low01,
                c00 = inout(ymm_reg) cross00,
                c01 = inout(ymm_reg) cross01,
                l10 = inout(ymm_reg) low10,
                l11 = inout(ymm_reg) low11,
                c10 = inout(ymm_reg) cross10,
                c11 = inout(ymm_reg) cross11,
                b0 = out(ymm_reg) _,
                b1 = out(ymm_reg) _,
                x = out(ymm_reg) _,
                y = out(ymm_reg) _,
                t0 = out(ymm_reg) _,
                t1 = out(ymm_reg) _,
                options(nostack, readonly),
            );
        }
    }
    let results = [(low00, cross00), (low01, cross01), (low10, cross10), (low11, cross11)];
    for (index, (low, cross)) in results.into_iter().enumerate() {
        // (even + odd) · 2^32: even moved up by the shift, odd masked in place.
        let high_mask = _mm256_set1_epi64x(!0xffff_ffff);
        let folded = _mm256_add_epi64(_mm256_slli_epi64(cross, 32), _mm256_and_si256(cross, high_mask));
        let result = _mm256_add_epi64(low, folded);
        // SAFETY: 4·index + 3 < 16, inside `tile`.
        unsafe { _mm256_storeu_si256(tile.add(4 * index) as *mut __m256i, result) };
    }
}

/// The u128 kernel: a 1×4 tile.
///
/// With a = A1·2^64 + A0 and A0 = a1·2^32 + a0 (likewise b),
///
///   a·b mod 2^128 = A0·B0 + 2^64·(A0·B1 + A1·B0 mod 2^64),
///   A0·B0 = a0·b0 + 2^32·(a0·b1 + a1·b0) + 2^64·a1·b1.
///
/// The wrapping part U = Σ A0·B1 + A1·B0 + a1·b1 (mod 2^64) uses the u64
/// kernel's `vpmuludq` + `vpmulld` pair. The exact parts Σ a0·b0 and
/// Σ a0·b1 + a1·b0 need carries past 64 bits: for each 64-bit product p the
/// kernel adds p to a wrapping accumulator W and p >> 32 to H; since
/// Σ (p mod 2^32) < depth·2^33 < 2^64, the exact sum is
/// 2^32·H + (W − 2^32·H mod 2^64). Eight multiplies, three shifts and eleven
/// adds per four multiply-adds; B's panel is de-interleaved into low and high
/// words once per block by [`MicroKernel::prepare_b`].
#[derive(Clone, Copy)]
pub struct U128Kernel {
    _detected: (),
}

impl U128Kernel {
    /// The kernel, if this CPU has AVX2.
    pub fn detect() -> Option<Self> {
        avx2_available().then_some(U128Kernel { _detected: () })
    }
}

/// The largest depth for which the exact accumulators cannot overflow
/// (the driver's blocks are far shorter).
const U128_MAX_DEPTH: usize = 1 << 30;

impl MicroKernel<u128> for U128Kernel {
    const MR: usize = 1;
    const NR: usize = 4;

    fn tile(&self, depth: usize, a_panel: &[u128], b_panel: &[u128], tile: &mut [u128]) {
        assert!(depth <= U128_MAX_DEPTH);
        assert!(a_panel.len() >= depth);
        assert!(b_panel.len() >= depth * 4);
        assert!(tile.len() >= 4);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `U128Kernel` exists only where AVX2 was detected; the
        // asserts above bound every load and store.
        unsafe {
            u128_tile(depth, a_panel.as_ptr(), b_panel.as_ptr(), tile)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("U128Kernel::detect returns None off x86_64")
    }

    /// Each row of four elements [lo0 hi0 lo1 hi1 lo2 hi2 lo3 hi3] (64-bit
    /// words) becomes [lo0 lo1 lo2 lo3 hi0 hi1 hi2 hi3].
    fn prepare_b(&self, packed: &mut [u128]) {
        for row in packed.chunks_exact_mut(4) {
            let low = |x: u128| x as u64 as u128;
            let high = |x: u128| x >> 64;
            let [e0, e1, e2, e3] = [row[0], row[1], row[2], row[3]];
            row[0] = low(e0) | low(e1) << 64;
            row[1] = low(e2) | low(e3) << 64;
            row[2] = high(e0) | high(e1) << 64;
            row[3] = high(e2) | high(e3) << 64;
        }
    }
}

/// The u128 tile product; see [`U128Kernel`] for the method.
///
/// # Safety
/// AVX2 must be available; `a` must hold `depth` elements and `b`
/// `depth·4`, prepared by [`U128Kernel::prepare_b`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn u128_tile(depth: usize, a: *const u128, b: *const u128, tile: &mut [u128]) {
    let zero = _mm256_setzero_si256();
    let (mut upper_low, mut upper_cross) = (zero, zero);
    let (mut low_wrapped, mut low_high) = (zero, zero);
    let (mut middle_wrapped, mut middle_high) = (zero, zero);
    if depth > 0 {
        // SAFETY: reads a[0..depth] and b[0..4·depth] (the offset load at
        // b + 4 bytes stays inside the row's 64 bytes); registers declared.
        unsafe {
            std::arch::asm!(
                "2:",
                "vpbroadcastq {a0}, qword ptr [{a}]",
                "vpbroadcastq {a1}, qword ptr [{a} + 8]",
                "vpbroadcastd {ah}, dword ptr [{a} + 4]",
                "vpshufd {s0}, {a0}, 0xb1",
                "vpshufd {s1}, {a1}, 0xb1",
                "vmovdqu {b0}, ymmword ptr [{b}]",
                "vmovdqu {b1}, ymmword ptr [{b} + 32]",
                "vmovdqu {bh}, ymmword ptr [{b} + 4]",
                // U += A0·B1 + A1·B0 + a1·b1 (mod 2^64)
                "vpmuludq {t0}, {a0}, {b1}",
                "vpaddq {ul}, {ul}, {t0}",
                "vpmulld {t1}, {s0}, {b1}",
                "vpaddd {uc}, {uc}, {t1}",
                "vpmuludq {t0}, {a1}, {b0}",
                "vpaddq {ul}, {ul}, {t0}",
                "vpmulld {t1}, {s1}, {b0}",
                "vpaddd {uc}, {uc}, {t1}",
                "vpmuludq {t0}, {ah}, {bh}",
                "vpaddq {ul}, {ul}, {t0}",
                // L += a0·b0, exactly
                "vpmuludq {t1}, {a0}, {b0}",
                "vpaddq {lw}, {lw}, {t1}",
                "vpsrlq {t1}, {t1}, 32",
                "vpaddq {lh}, {lh}, {t1}",
                // M += a0·b1 + a1·b0, exactly
                "vpmuludq {t0}, {a0}, {bh}",
                "vpaddq {mw}, {mw}, {t0}",
                "vpsrlq {t0}, {t0}, 32",
                "vpaddq {mh}, {mh}, {t0}",
                "vpmuludq {t1}, {ah}, {b0}",
                "vpaddq {mw}, {mw}, {t1}",
                "vpsrlq {t1}, {t1}, 32",
                "vpaddq {mh}, {mh}, {t1}",
                "add {a}, 16",
                "add {b}, 64",
                "dec {k}",
                "jnz 2b",
                a = inout(reg) a => _,
                b = inout(reg) b => _,
                k = inout(reg) depth => _,
                ul = inout(ymm_reg) upper_low,
                uc = inout(ymm_reg) upper_cross,
                lw = inout(ymm_reg) low_wrapped,
                lh = inout(ymm_reg) low_high,
                mw = inout(ymm_reg) middle_wrapped,
                mh = inout(ymm_reg) middle_high,
                a0 = out(ymm_reg) _,
                a1 = out(ymm_reg) _,
                ah = out(ymm_reg) _,
                s0 = out(ymm_reg) _,
                s1 = out(ymm_reg) _,
                b0 = out(ymm_reg) _,
                b1 = out(ymm_reg) _,
                bh = out(ymm_reg) _,
                t0 = out(ymm_reg) _,
                t1 = out(ymm_reg) _,
                options(nostack, readonly),
            );
        }
    }
    let lanes = |v: __m256i| -> [u64; 4] {
        let mut out = [0u64; 4];
        // SAFETY: `out` is 32 bytes.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, v) };
        out
    };
    let (upper_low, upper_cross) = (lanes(upper_low), lanes(upper_cross));
    let (low_wrapped, low_high) = (lanes(low_wrapped), lanes(low_high));
    let (middle_wrapped, middle_high) = (lanes(middle_wrapped), lanes(middle_high));
    let exact = |wrapped: u64, high: u64| -> u128 {
        ((high as u128) << 32) + wrapped.wrapping_sub(high << 32) as u128
    };
    for lane in 0..4 {
        let cross = upper_cross[lane];
        let upper = upper_low[lane].wrapping_add(cross << 32).wrapping_add(cross & !0xffff_ffff);
        let low = exact(low_wrapped[lane], low_high[lane]);
        let middle = exact(middle_wrapped[lane], middle_high[lane]);
        tile[lane] = low.wrapping_add(middle << 32).wrapping_add((upper as u128) << 64);
    }
}
