//! Simultaneous multi-exponentiation Π b_i^(e_i) with secret exponents of
//! a public length, in constant time: what a server computes for an
//! encrypted dot product Σ w_i·x_i from Enc(x_i) and its secret weights.
//!
//! Two methods, both sharing the squarings among all bases, both reading
//! every table entry at each lookup (constant-time selects) and doing the
//! same multiplications whatever the exponents (zero digits included):
//!
//! - **Straus** (interleaved windows): a table of b^0..b^(2^w−1) per base,
//!   then per w-bit window w squarings and one multiplication per base.
//!   The tables serve every product over the same bases (a matmul's rows
//!   against all its outputs). Cost: d·(2^w − 2) for the tables, then per
//!   product `bits` squarings and ⌈bits/w⌉·d multiplications.
//! - **Pippenger** (buckets): per c-bit window, each base is multiplied
//!   into the bucket of its digit (a constant-time read and write of the
//!   2^c buckets around one multiplication), then the buckets are summed by
//!   running products. Cost per product: ⌈bits/c⌉·(d + 2^(c+1)) + `bits`
//!   multiplications; cheaper than Straus for one product of many bases.
//!
//! [`plan`] picks the cheaper for a given number of bases, exponent bits
//! and products.

use rayon::prelude::*;

use crate::montgomery::{Element, LimbTable, Modulus};

/// How a batch of products over the same bases is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Shared per-base tables of 2^window entries.
    Straus { window: u32 },
    /// Buckets of 2^window entries, per product.
    Pippenger { window: u32 },
}

/// Modular multiplications (squarings included) for `products` products
/// of `bases` bases with `bits`-bit exponents by `method`.
pub fn cost(method: Method, bases: usize, bits: u32, products: usize) -> usize {
    let (d, b, m) = (bases, bits as usize, products);
    match method {
        Method::Straus { window } => {
            let w = window as usize;
            d * ((1 << w) - 2) + m * (b + b.div_ceil(w) * d)
        }
        Method::Pippenger { window } => {
            let c = window as usize;
            m * (b.div_ceil(c) * (d + (2 << c)) + b)
        }
    }
}

/// The cheapest method (and window) for the job.
pub fn plan(bases: usize, bits: u32, products: usize) -> Method {
    let candidates =
        (1..=6).map(|w| Method::Straus { window: w }).chain((2..=8).map(|c| Method::Pippenger { window: c }));
    candidates.min_by_key(|&method| cost(method, bases, bits, products)).expect("candidates")
}

/// The w-bit digit of `exponent` at bit `offset` (public positions).
fn digit(exponent: u128, offset: u32, window: u32) -> u64 {
    ((exponent >> offset) & ((1u128 << window) - 1)) as u64
}

/// Per-base tables b^0..b^(2^w − 1) for Straus's method.
pub struct BaseTables {
    window: u32,
    tables: Vec<LimbTable>,
}

impl BaseTables {
    /// The tables of `bases` (non-empty). Cost: d·(2^w − 2)
    /// multiplications, on all cores.
    pub fn new(modulus: &Modulus, bases: &[Element], window: u32) -> BaseTables {
        let tables = bases
            .par_iter()
            .map(|base| {
                let mut table = LimbTable::new(modulus.width(), 1 << window);
                table.push(&modulus.one());
                let mut power = base.clone();
                for exponent in 1..(1usize << window) {
                    table.push(&power);
                    if exponent + 1 < 1 << window {
                        power = modulus.mul(&power, base);
                    }
                }
                table
            })
            .collect();
        BaseTables { window, tables }
    }

    /// Π b_i^(e_i) for `exponents` below 2^bits, one per base. Cost:
    /// `bits` squarings and ⌈bits/w⌉·d multiplications, constant time.
    pub fn product(&self, modulus: &Modulus, exponents: &[u128], bits: u32) -> Element {
        let w = self.window;
        let windows = bits.div_ceil(w);
        let mut accumulator = modulus.one();
        let mut entry = modulus.one();
        for window in (0..windows).rev() {
            if window + 1 < windows {
                for _ in 0..w {
                    modulus.square_assign(&mut accumulator);
                }
            }
            for (table, &exponent) in self.tables.iter().zip(exponents) {
                table.read(digit(exponent, window * w, w), &mut entry);
                modulus.mul_assign(&mut accumulator, &entry);
            }
        }
        accumulator
    }
}

/// Π b_i^(e_i) by Pippenger's buckets with c-bit windows, the bases split
/// across all cores (each core's partial product shares nothing; the
/// partials are multiplied at the end). Constant time in the exponents.
pub fn pippenger(
    modulus: &Modulus,
    bases: &[Element],
    exponents: &[u128],
    bits: u32,
    window: u32,
) -> Element {
    let parts = rayon::current_num_threads().clamp(1, bases.len().max(1));
    let chunk = bases.len().div_ceil(parts);
    bases
        .par_chunks(chunk)
        .zip(exponents.par_chunks(chunk))
        .map(|(bases, exponents)| pippenger_serial(modulus, bases, exponents, bits, window))
        .reduce(|| modulus.one(), |a, b| modulus.mul(&a, &b))
}

fn pippenger_serial(modulus: &Modulus, bases: &[Element], exponents: &[u128], bits: u32, c: u32) -> Element {
    let one = modulus.one();
    let windows = bits.div_ceil(c);
    let mut accumulator = one.clone();
    let empty = LimbTable::filled(&one, 1 << c);
    let mut slot = one.clone();
    for window in (0..windows).rev() {
        if window + 1 < windows {
            for _ in 0..c {
                accumulator = modulus.square(&accumulator);
            }
        }
        let mut buckets = empty.clone();
        for (base, &exponent) in bases.iter().zip(exponents) {
            let index = digit(exponent, window * c, c);
            buckets.read(index, &mut slot);
            modulus.mul_assign(&mut slot, base);
            buckets.write(index, &slot);
        }
        // Σ_j j·B_j as running products: bucket 0 (digit 0) is left out.
        let mut running = one.clone();
        let mut total = one.clone();
        let mut bucket = one.clone();
        for index in (1..buckets.len()).rev() {
            buckets.get(index, &mut bucket);
            modulus.mul_assign(&mut running, &bucket);
            modulus.mul_assign(&mut total, &running);
        }
        modulus.mul_assign(&mut accumulator, &total);
    }
    accumulator
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::montgomery::Kernel;
    use crypto_bigint::{BoxedUint, Odd, Resize};

    #[test]
    fn both_methods_equal_separate_exponentiations() {
        let value = Odd::new(BoxedUint::from(0xFFFF_FFFF_FFFF_FFC5u64).resize(128)).unwrap();
        for kernel in Kernel::available() {
            let modulus = Modulus::with_kernel(value.clone(), kernel);
            let bases: Vec<Element> =
                (0..37u64).map(|i| modulus.load(&BoxedUint::from(1_000_003 * i + 7))).collect();
            for bits in [1u32, 5, 33, 64, 100] {
                let exponents: Vec<u128> =
                    (0..37u128).map(|i| (i * 0x9E37_79B9_7F4A_7C15_F39C) & ((1u128 << bits) - 1)).collect();
                let expected = bases.iter().zip(&exponents).fold(modulus.one(), |acc, (b, &e)| {
                    modulus.mul(&acc, &modulus.pow(b, &BoxedUint::from(e), 128))
                });
                let expected = modulus.store(&expected);
                for window in 1..=5 {
                    let tables = BaseTables::new(&modulus, &bases, window);
                    let product = tables.product(&modulus, &exponents, bits);
                    assert_eq!(modulus.store(&product), expected, "straus w={window} bits={bits}");
                }
                for window in 2..=6 {
                    let product = pippenger(&modulus, &bases, &exponents, bits, window);
                    assert_eq!(modulus.store(&product), expected, "pippenger c={window}");
                }
            }
        }
    }

    #[test]
    fn the_plan_takes_pippenger_for_one_product_and_straus_for_many() {
        assert!(matches!(plan(100, 37, 1), Method::Pippenger { .. }));
        assert!(matches!(plan(100, 37, 64), Method::Straus { .. }));
        let best = cost(plan(100, 37, 1), 100, 37, 1);
        assert!(best < 1500, "{best} multiplications for a 100-term dot product");
    }
}
