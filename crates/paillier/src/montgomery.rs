//! Arithmetic modulo one odd modulus in Montgomery form, on the fastest
//! kernel this processor has: AVX-512 IFMA ([`crate::ifma`]) where the
//! processor has it, else crypto-bigint's portable Montgomery
//! multiplication. Elements are the kernel's words (64-bit limbs, or
//! 52-bit limbs for IFMA); tables store them as such ([`LimbTable`]).
//! Every operation here runs in time independent of the values.

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Choice, CtLt, NonZero, Odd, Resize, Word};

use crate::ifma;

/// Which kernel multiplies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// crypto-bigint's 64-bit Montgomery multiplication (any processor).
    Portable,
    /// AVX-512 IFMA, radix 2^52.
    Ifma,
}

impl Kernel {
    /// The fastest kernel this processor runs; `BLINDFOLD_PAILLIER_KERNEL=
    /// portable` forces the portable one (to compare them).
    pub fn best() -> Kernel {
        let forced = std::env::var("BLINDFOLD_PAILLIER_KERNEL").is_ok_and(|v| v == "portable");
        if !forced && ifma::available() { Kernel::Ifma } else { Kernel::Portable }
    }

    /// Every kernel this processor runs.
    pub fn available() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Portable];
        if ifma::available() {
            kernels.push(Kernel::Ifma);
        }
        kernels
    }

    pub fn name(&self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Ifma => "avx512-ifma",
        }
    }
}

thread_local! {
    /// Modular multiplications (squarings included) done on this thread.
    static MULTIPLICATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Modular multiplications (squarings included) this thread has done: the
/// unit every cost in this crate is stated in, and what a test compares to
/// show that work does not depend on secret values.
pub fn multiplications_on_this_thread() -> u64 {
    MULTIPLICATIONS.with(|count| count.get())
}

fn counted() {
    MULTIPLICATIONS.with(|count| count.set(count.get() + 1));
}

/// An element modulo the modulus, in the kernel's Montgomery form.
#[derive(Clone, Debug)]
pub struct Element(pub(crate) Box<[Word]>);

#[derive(Clone, Debug)]
struct IfmaModulus {
    /// The modulus in 52-bit limbs, −M^(−1) mod 2^52, R² mod M, R mod M.
    limbs: Vec<u64>,
    k0: u64,
    r_squared: Vec<u64>,
    one: Vec<u64>,
}

#[derive(Clone, Debug)]
enum Backend {
    Portable(BoxedMontyParams),
    Ifma(IfmaModulus),
}

/// An odd modulus and its kernel's constants.
#[derive(Clone, Debug)]
pub struct Modulus {
    value: Odd<BoxedUint>,
    backend: Backend,
}

impl Modulus {
    /// The modulus `value` on the best kernel.
    pub fn new(value: Odd<BoxedUint>) -> Modulus {
        Modulus::with_kernel(value, Kernel::best())
    }

    /// The modulus `value` on `kernel` (which must be available).
    pub fn with_kernel(value: Odd<BoxedUint>, kernel: Kernel) -> Modulus {
        let backend = match kernel {
            Kernel::Ifma if ifma::available() => {
                let bits = value.bits_precision();
                let limbs = ifma::limbs_for(bits);
                let modulus_limbs = ifma::to_radix_52(value.as_ref().as_words(), limbs);
                // R mod M and R² mod M for R = 2^(52·limbs).
                let wide = (104 * limbs as u32).div_ceil(64) * 64 + 64;
                let divisor = NonZero::new(value.as_ref().resize(wide)).expect("odd, so non-zero");
                let power = |exponent: u32| {
                    let one = BoxedUint::one_with_precision(wide);
                    let words = one.shl(exponent).rem(&divisor);
                    ifma::to_radix_52(words.as_words(), limbs)
                };
                Backend::Ifma(IfmaModulus {
                    k0: ifma::negated_inverse(modulus_limbs[0]),
                    r_squared: power(104 * limbs as u32),
                    one: power(52 * limbs as u32),
                    limbs: modulus_limbs,
                })
            }
            _ => Backend::Portable(BoxedMontyParams::new(value.clone())),
        };
        Modulus { value, backend }
    }

    /// The kernel in use.
    pub fn kernel(&self) -> Kernel {
        match self.backend {
            Backend::Portable(_) => Kernel::Portable,
            Backend::Ifma(_) => Kernel::Ifma,
        }
    }

    /// The modulus.
    pub fn value(&self) -> &Odd<BoxedUint> {
        &self.value
    }

    /// Words per element.
    pub fn width(&self) -> usize {
        match &self.backend {
            Backend::Portable(_) => self.value.as_ref().nlimbs(),
            Backend::Ifma(m) => m.limbs.len(),
        }
    }

    /// 1 in Montgomery form.
    pub fn one(&self) -> Element {
        match &self.backend {
            Backend::Portable(params) => portable(&BoxedMontyForm::one(params)),
            Backend::Ifma(m) => Element(m.one.clone().into_boxed_slice()),
        }
    }

    /// x (below the modulus) in Montgomery form: one multiplication.
    pub fn load(&self, x: &BoxedUint) -> Element {
        let x = x.resize(self.value.bits_precision());
        match &self.backend {
            Backend::Portable(params) => portable(&BoxedMontyForm::new(x, params)),
            Backend::Ifma(m) => {
                let limbs = ifma::to_radix_52(x.as_words(), m.limbs.len());
                Element(self.ifma_multiply(m, &limbs, &m.r_squared))
            }
        }
    }

    /// The element as an integer in [0, M): one multiplication (and, for
    /// IFMA, one constant-time conditional subtraction).
    pub fn store(&self, element: &Element) -> BoxedUint {
        match &self.backend {
            Backend::Portable(params) => self.portable_form(element, params).retrieve(),
            Backend::Ifma(m) => {
                let mut unit = vec![0u64; m.limbs.len()];
                unit[0] = 1;
                let limbs = self.ifma_multiply(m, &element.0, &unit);
                let words = ifma::from_radix_52(&limbs, self.value.as_ref().nlimbs() + 1);
                let value = BoxedUint::from_words(words);
                // In [0, 2M) (in fact at most M): subtract M where it is not below.
                let modulus = self.value.as_ref().resize(value.bits_precision());
                let reduced = value.wrapping_sub(&modulus);
                let keep = value.ct_lt(&modulus);
                crypto_bigint::CtSelect::ct_select(&reduced, &value, keep).resize(self.value.bits_precision())
            }
        }
    }

    /// a ← a·b, without allocating.
    pub fn mul_assign(&self, a: &mut Element, b: &Element) {
        counted();
        match &self.backend {
            Backend::Portable(params) => {
                *a = portable(&self.portable_form(a, params).mul(&self.portable_form(b, params)));
            }
            Backend::Ifma(m) => {
                let mut out = [0u64; 8 * ifma::MAX_VECTORS];
                let out = &mut out[..m.limbs.len()];
                self.ifma_multiply_into(m, &a.0, &b.0, out);
                a.0.copy_from_slice(out);
            }
        }
    }

    /// a ← a², without allocating.
    pub fn square_assign(&self, a: &mut Element) {
        counted();
        match &self.backend {
            Backend::Portable(params) => *a = portable(&self.portable_form(a, params).square()),
            Backend::Ifma(m) => {
                let mut out = [0u64; 8 * ifma::MAX_VECTORS];
                let out = &mut out[..m.limbs.len()];
                self.ifma_multiply_into(m, &a.0, &a.0, out);
                a.0.copy_from_slice(out);
            }
        }
    }

    /// a·b.
    pub fn mul(&self, a: &Element, b: &Element) -> Element {
        counted();
        match &self.backend {
            Backend::Portable(params) => {
                portable(&self.portable_form(a, params).mul(&self.portable_form(b, params)))
            }
            Backend::Ifma(m) => Element(self.ifma_multiply(m, &a.0, &b.0)),
        }
    }

    /// a².
    pub fn square(&self, a: &Element) -> Element {
        counted();
        match &self.backend {
            Backend::Portable(params) => portable(&self.portable_form(a, params).square()),
            Backend::Ifma(m) => Element(self.ifma_multiply(m, &a.0, &a.0)),
        }
    }

    /// a^(−1) for a public a (variable time): through crypto-bigint.
    pub fn invert_vartime(&self, a: &Element) -> Option<Element> {
        let value = self.store(a);
        let inverse = Option::<BoxedUint>::from(value.invert_odd_mod_vartime(&self.value))?;
        Some(self.load(&inverse))
    }

    /// base^exponent for an exponent below 2^bits (a public length), by
    /// fixed 5-bit windows with constant-time table reads: bits squarings
    /// and ⌈bits/5⌉ + 30 multiplications whatever the exponent.
    pub fn pow(&self, base: &Element, exponent: &BoxedUint, bits: u32) -> Element {
        const WINDOW: u32 = 5;
        let mut table = LimbTable::new(self.width(), 1 << WINDOW);
        let mut power = self.one();
        for _ in 0..(1usize << WINDOW) {
            table.push(&power);
            power = self.mul(&power, base);
        }
        let windows = bits.div_ceil(WINDOW).max(1);
        let mut result = self.one();
        let mut entry = self.one();
        for window in (0..windows).rev() {
            if window + 1 < windows {
                for _ in 0..WINDOW {
                    self.square_assign(&mut result);
                }
            }
            table.read(digit(exponent.as_words(), window * WINDOW, WINDOW), &mut entry);
            self.mul_assign(&mut result, &entry);
        }
        result
    }

    fn portable_form(&self, element: &Element, params: &BoxedMontyParams) -> BoxedMontyForm {
        BoxedMontyForm::from_montgomery(BoxedUint::from_words(element.0.iter().copied()), params)
    }

    fn ifma_multiply(&self, m: &IfmaModulus, a: &[u64], b: &[u64]) -> Box<[u64]> {
        let mut out = vec![0u64; m.limbs.len()].into_boxed_slice();
        self.ifma_multiply_into(m, a, b, &mut out);
        out
    }

    fn ifma_multiply_into(&self, m: &IfmaModulus, a: &[u64], b: &[u64], out: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: an IFMA modulus is only made where `ifma::available()`.
        unsafe {
            ifma::multiply(a, b, &m.limbs, m.k0, out)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (m, a, b, out);
    }
}

fn portable(form: &BoxedMontyForm) -> Element {
    Element(form.as_montgomery().as_words().to_vec().into_boxed_slice())
}

/// The `window`-bit digit of `words` (little-endian) at bit `offset` (a
/// public position).
pub(crate) fn digit(words: &[Word], offset: u32, window: u32) -> u64 {
    let bits = Word::BITS;
    let (index, shift) = ((offset / bits) as usize, offset % bits);
    let low = words.get(index).map_or(0, |w| *w) >> shift;
    let high = match (shift, words.get(index + 1)) {
        (0, _) | (_, None) => 0,
        (_, Some(next)) => next << (bits - shift),
    };
    (low | high) & ((1 << window) - 1)
}

/// Elements of one width stored contiguously, read and written in constant
/// time: every access touches every entry, and keeps or changes the one at
/// the index by masks, never by a branch or an address that depends on it.
#[derive(Clone, Debug)]
pub(crate) struct LimbTable {
    width: usize,
    data: Vec<Word>,
}

impl LimbTable {
    /// An empty table of `width`-word entries, with room for `entries`.
    pub(crate) fn new(width: usize, entries: usize) -> LimbTable {
        LimbTable { width, data: Vec::with_capacity(width * entries) }
    }

    /// `count` copies of `value`.
    pub(crate) fn filled(value: &Element, count: usize) -> LimbTable {
        LimbTable { width: value.0.len(), data: value.0.repeat(count) }
    }

    /// Appends `value` (a public position).
    pub(crate) fn push(&mut self, value: &Element) {
        self.data.extend_from_slice(&value.0);
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.data.len() / self.width
    }

    /// Entry `index` (a public position) into `out`.
    pub(crate) fn get(&self, index: usize, out: &mut Element) {
        out.0.copy_from_slice(&self.data[index * self.width..(index + 1) * self.width]);
    }

    /// Entry `index` (secret) into `out`, reading every entry.
    pub(crate) fn read(&self, index: u64, out: &mut Element) {
        out.0.iter_mut().for_each(|word| *word = 0);
        for (position, entry) in self.data.chunks_exact(self.width).enumerate() {
            let mask = Choice::from_u64_eq(position as u64, index).to_u64_mask() as Word;
            for (word, &value) in out.0.iter_mut().zip(entry) {
                *word |= value & mask;
            }
        }
    }

    /// Sets entry `index` (secret) to `value`, writing every entry.
    pub(crate) fn write(&mut self, index: u64, value: &Element) {
        for (position, entry) in self.data.chunks_exact_mut(self.width).enumerate() {
            let mask = Choice::from_u64_eq(position as u64, index).to_u64_mask() as Word;
            for (word, &source) in entry.iter_mut().zip(value.0.iter()) {
                *word = (source & mask) | (*word & !mask);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integer::random_bits;

    fn modulus(bits: u32) -> Odd<BoxedUint> {
        let mut value = random_bits(bits, bits).unwrap();
        value = value.bitor(&BoxedUint::one_with_precision(bits).shl(bits - 1));
        Odd::new(value.bitor(&BoxedUint::one_with_precision(bits))).unwrap()
    }

    #[test]
    fn every_kernel_computes_the_same_products_and_powers() {
        for bits in [256u32, 1024, 2048, 4160] {
            let value = modulus(bits);
            let params = BoxedMontyParams::new(value.clone());
            let (a, b) = (random_bits(bits - 1, bits).unwrap(), random_bits(bits - 1, bits).unwrap());
            let expected =
                BoxedMontyForm::new(a.clone(), &params).mul(&BoxedMontyForm::new(b.clone(), &params));
            let exponent = random_bits(300, 320).unwrap();
            let power = BoxedMontyForm::new(a.clone(), &params).pow(&exponent).retrieve();
            for kernel in Kernel::available() {
                let m = Modulus::with_kernel(value.clone(), kernel);
                let (x, y) = (m.load(&a), m.load(&b));
                assert_eq!(m.store(&m.mul(&x, &y)), expected.retrieve(), "{kernel:?} {bits}");
                assert_eq!(
                    m.store(&m.square(&x)),
                    BoxedMontyForm::new(a.clone(), &params).square().retrieve()
                );
                assert_eq!(m.store(&m.pow(&x, &exponent, 300)), power, "{kernel:?} {bits}");
                assert_eq!(m.store(&m.one()), BoxedUint::one_with_precision(bits));
                // (The random modulus may share a factor with a.)
                if let Some(inverse) = m.invert_vartime(&x) {
                    assert_eq!(m.store(&m.mul(&x, &inverse)), BoxedUint::one_with_precision(bits));
                }
            }
        }
    }

    #[test]
    fn table_reads_and_writes_touch_the_right_entry() {
        let m = Modulus::new(modulus(256));
        let values: Vec<Element> = (1..=8u64).map(|v| m.load(&BoxedUint::from(v))).collect();
        let mut table = LimbTable::new(m.width(), 8);
        values.iter().for_each(|v| table.push(v));
        let mut out = m.one();
        table.read(5, &mut out);
        assert_eq!(m.store(&out), BoxedUint::from(6u64).resize(256));
        table.write(2, &values[7]);
        table.read(2, &mut out);
        assert_eq!(m.store(&out), BoxedUint::from(8u64).resize(256));
        table.read(3, &mut out);
        assert_eq!(m.store(&out), BoxedUint::from(4u64).resize(256));
    }
}
