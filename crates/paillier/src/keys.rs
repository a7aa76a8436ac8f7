//! Keys. The public key is n (g = n + 1 is implicit) and the DJN element
//! h_s = (−x²)^n mod n² of Damgård, Jurik and Nielsen; the private key keeps
//! p and q and the constants of CRT decryption and CRT encryption.
//!
//! Key generation draws p and q of equal size from the OS CSPRNG with
//! crypto-primes' search (a sieve, then Miller–Rabin base 2 and the strong
//! Lucas test of Baillie–PSW). Every exponentiation by a secret exponent
//! (decryption by p − 1 and q − 1, the constants below) runs in constant
//! time (crypto-bigint's fixed-window Montgomery ladder); the prime search
//! itself is not constant time (it runs once, on the key owner's machine,
//! before the key exists).

use std::sync::{Arc, OnceLock};

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, NonZero, Odd};
use crypto_bigint::{ConcatenatingMul, Resize};
use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;

use crate::error::{PaillierError, Result};
use crate::fixed_base::FixedBase;
use crate::integer::{fill_random, odd, precision, random_unit};
use crate::montgomery::{Element, Modulus};

/// The public key.
#[derive(Clone)]
pub struct PublicKey {
    pub(crate) n: Odd<BoxedUint>,
    /// Arithmetic modulo n² (on the fastest kernel here).
    pub(crate) square: Arc<Modulus>,
    /// n / 2: plaintexts above it read as negative.
    pub(crate) half_n: BoxedUint,
    /// The DJN element h_s, an n-th residue modulo n².
    pub(crate) djn: BoxedUint,
    bits: u32,
    /// h_s's fixed-base table, built on first use and shared by clones.
    table: Arc<OnceLock<FixedBase>>,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.n.as_ref() == other.n.as_ref() && self.djn == other.djn
    }
}

impl Eq for PublicKey {}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({} bits)", self.bits)
    }
}

/// The key sizes offered (bits of n).
pub const KEY_SIZES: [u32; 3] = [2048, 3072, 4096];

/// The length of DJN's random exponent α for a k-bit modulus: ⌈k/2⌉ bits,
/// Damgård–Jurik–Nielsen's choice (2010, §4.2): Pollard's lambda method
/// needs about 2^(k/4) steps to recover such an α (2^512 at k = 2048).
pub fn randomness_bits(key_bits: u32) -> u32 {
    key_bits.div_ceil(2)
}

impl PublicKey {
    /// The public key of modulus n and DJN element h_s; checks n is odd and
    /// at least 256 bits, and h_s is a unit below n².
    pub fn from_parts(n: BoxedUint, djn: BoxedUint) -> Result<PublicKey> {
        let bits = n.bit_width_vartime();
        if bits < 256 {
            return Err(PaillierError::InvalidKey(format!("a {bits}-bit modulus: at least 256 bits")));
        }
        let n = odd(n.resize(precision(bits)), "the modulus")?;
        let n_squared = odd(n.as_ref().concatenating_mul(n.as_ref()).resize(precision(2 * bits)), "n²")?;
        // (Public values: a variable-time width check is fine.)
        if djn.bit_width_vartime() > n_squared.bits_precision() {
            return Err(PaillierError::InvalidKey("the DJN element is not below n²".into()));
        }
        let djn = djn.resize(n_squared.bits_precision());
        if djn >= *n_squared.as_ref() || djn == BoxedUint::zero_with_precision(djn.bits_precision()) {
            return Err(PaillierError::InvalidKey("the DJN element is not below n²".into()));
        }
        if !is_unit(&djn, &n) {
            return Err(PaillierError::InvalidKey("the DJN element is not a unit".into()));
        }
        let half_n = n.as_ref().shr_vartime(1).expect("a shift within the precision");
        let square = Arc::new(Modulus::new(n_squared));
        Ok(PublicKey { n, square, half_n, djn, bits, table: Arc::new(OnceLock::new()) })
    }

    /// The modulus n.
    pub fn modulus(&self) -> &BoxedUint {
        self.n.as_ref()
    }

    /// n².
    pub fn modulus_squared(&self) -> &BoxedUint {
        self.square.value().as_ref()
    }

    /// The multiplication kernel this key's arithmetic runs on.
    pub fn kernel(&self) -> crate::montgomery::Kernel {
        self.square.kernel()
    }

    /// Bits of n.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Bytes of one ciphertext on the wire (those of n²).
    pub fn ciphertext_bytes(&self) -> usize {
        (2 * self.bits).div_ceil(8) as usize
    }

    /// h_s's fixed-base table (built once: ⌈(k/2)/6⌉·63 multiplications
    /// modulo n², about 85 ms at 2048 bits).
    pub(crate) fn djn_table(&self) -> &FixedBase {
        self.table.get_or_init(|| {
            FixedBase::new(&self.square, &self.square.load(&self.djn), randomness_bits(self.bits))
        })
    }

    /// The first 8 bytes of n: which key a matrix of ciphertexts is under.
    pub(crate) fn tag(&self) -> u64 {
        self.n.as_ref().as_limbs()[0].0
    }
}

/// Whether `value` is coprime to `n` (public values: variable time).
fn is_unit(value: &BoxedUint, n: &Odd<BoxedUint>) -> bool {
    let reduced = value.rem_vartime(&NonZero::new(n.as_ref().resize(value.bits_precision())).expect("n ≠ 0"));
    let gcd = crypto_bigint::Gcd::gcd_vartime(n, &reduced.resize(n.bits_precision()));
    gcd.as_ref() == &BoxedUint::one_with_precision(gcd.bits_precision())
}

/// One prime's constants: modulo r and r², r − 1, and h_r.
#[derive(Clone)]
struct PrimeParts {
    prime: Odd<BoxedUint>,
    /// Arithmetic modulo r and modulo r².
    modulo: Modulus,
    squared: Modulus,
    minus_one: BoxedUint,
    /// h_r = L_r(g^(r−1) mod r²)^(−1) mod r.
    h: BoxedUint,
}

impl PrimeParts {
    fn new(prime: Odd<BoxedUint>, n: &BoxedUint) -> Result<PrimeParts> {
        let bits = prime.bits_precision();
        let squared_value =
            odd(prime.as_ref().concatenating_mul(prime.as_ref()).resize(2 * bits), "a prime's square")?;
        let squared = Modulus::new(squared_value);
        let modulo = Modulus::new(prime.clone());
        let minus_one = prime.as_ref().wrapping_sub(BoxedUint::one_with_precision(bits));
        // g^(r−1) mod r² for g = n + 1, then L_r, then its inverse mod r.
        let g = n.resize(2 * bits).wrapping_add(BoxedUint::one_with_precision(2 * bits));
        let g = g.rem(&NonZero::new(squared.value().as_ref().clone()).expect("r² ≠ 0"));
        let u = squared.store(&squared.pow(&squared.load(&g), &minus_one, bits));
        let l = l_function(&u, &prime);
        let h = Option::from(l.invert_odd_mod(&prime)).ok_or_else(invalid)?;
        Ok(PrimeParts { prime, modulo, squared, minus_one, h })
    }

    /// m mod r of ciphertext c: L_r(c^(r−1) mod r²)·h_r mod r. Cost: one
    /// constant-time exponentiation by r − 1 modulo r² (|r| squarings and
    /// |r|/5 multiplications of |r²| bits), then 3 multiplications mod r.
    fn decrypt(&self, c: &BoxedUint) -> BoxedUint {
        let modulus = NonZero::new(self.squared.value().as_ref().resize(c.bits_precision())).expect("r² ≠ 0");
        let reduced = c.rem(&modulus);
        let bits = self.prime.bits_precision();
        let u = self.squared.store(&self.squared.pow(&self.squared.load(&reduced), &self.minus_one, bits));
        let l = l_function(&u, &self.prime);
        self.modulo.store(&self.modulo.mul(&self.modulo.load(&l), &self.modulo.load(&self.h)))
    }
}

/// L_r(u) = (u − 1)/r for u ≡ 1 mod r, as an integer below r (constant
/// time: an exact division whatever u).
fn l_function(u: &BoxedUint, prime: &Odd<BoxedUint>) -> BoxedUint {
    let minus_one = u.wrapping_sub(BoxedUint::one_with_precision(u.bits_precision()));
    let divisor = NonZero::new(prime.as_ref().resize(u.bits_precision())).expect("r ≠ 0");
    minus_one.div_rem(&divisor).0.resize(prime.bits_precision())
}

/// The private key. `Debug` hides the primes.
#[derive(Clone)]
pub struct PrivateKey {
    pub(crate) public: PublicKey,
    p: PrimeParts,
    q: PrimeParts,
    /// q^(−1) mod p, for recombining plaintexts.
    q_inverse: BoxedUint,
    /// (q²)^(−1) mod p², for recombining randomizers.
    q_squared_inverse: BoxedUint,
    /// h_s's tables modulo p² and q² (CRT encryption), built on first use.
    crt_tables: Arc<OnceLock<(FixedBase, FixedBase)>>,
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &PrivateKey) -> bool {
        self.public == other.public && self.p.prime.as_ref() == other.p.prime.as_ref()
    }
}

impl Eq for PrivateKey {}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({} bits, <redacted>)", self.public.bits())
    }
}

impl PrivateKey {
    /// A fresh key with n of `bits` bits: 2048 (the default), 3072 or 4096.
    /// Any even size from 256 is accepted so that tests run fast; below
    /// 2048 bits a key is not secure.
    pub fn generate(bits: u32) -> Result<PrivateKey> {
        if !(256..=8192).contains(&bits) || bits % 2 == 1 {
            return Err(PaillierError::KeySize(bits));
        }
        // Fail cleanly if the OS has no randomness, before a search that
        // would panic on it.
        fill_random(&mut [0u8; 16])?;
        let mut rng = UnwrapErr(SysRng);
        loop {
            let p: BoxedUint = crypto_primes::random_prime(&mut rng, crypto_primes::Flavor::Any, bits / 2);
            let q: BoxedUint = crypto_primes::random_prime(&mut rng, crypto_primes::Flavor::Any, bits / 2);
            let n = p.concatenating_mul(&q);
            if p != q && n.bit_width_vartime() == bits {
                let djn = djn_element(&n)?;
                return PrivateKey::from_primes(p, q, djn);
            }
        }
    }

    /// The key of primes p and q (distinct odd primes with
    /// gcd(pq, (p−1)(q−1)) = 1) and DJN element h_s.
    pub fn from_primes(p: BoxedUint, q: BoxedUint, djn: BoxedUint) -> Result<PrivateKey> {
        let prime_bits = p.bit_width_vartime().max(q.bit_width_vartime());
        let (p, q) = (p.resize(precision(prime_bits)), q.resize(precision(prime_bits)));
        if p == q || p.bit_width_vartime() < 2 || q.bit_width_vartime() < 2 {
            return Err(PaillierError::InvalidKey("p and q must be distinct odd primes".into()));
        }
        let (p, q) = (odd(p, "p")?, odd(q, "q")?);
        let n = p.as_ref().concatenating_mul(q.as_ref());
        let one = BoxedUint::one_with_precision(p.bits_precision());
        let totient = p.as_ref().wrapping_sub(&one).concatenating_mul(&q.as_ref().wrapping_sub(&one));
        let n_odd = odd(n.clone(), "n")?;
        if crypto_bigint::Gcd::gcd(&n_odd, &totient).as_ref()
            != &BoxedUint::one_with_precision(n.bits_precision())
        {
            return Err(PaillierError::InvalidKey("gcd(pq, (p-1)(q-1)) must be 1".into()));
        }
        let public = PublicKey::from_parts(n.clone(), djn)?;
        let p_parts = PrimeParts::new(p, public.modulus())?;
        let q_parts = PrimeParts::new(q, public.modulus())?;
        let q_inverse = Option::from(
            q_parts
                .prime
                .as_ref()
                .rem(&NonZero::new(p_parts.prime.as_ref().clone()).expect("p ≠ 0"))
                .invert_odd_mod(&p_parts.prime),
        )
        .ok_or_else(invalid)?;
        let q_squared = q_parts.squared.value().as_ref().clone();
        let p_squared = p_parts.squared.value().clone();
        let q_squared_inverse = Option::from(
            q_squared.rem(&NonZero::new(p_squared.as_ref().clone()).expect("≠ 0")).invert_odd_mod(&p_squared),
        )
        .ok_or_else(invalid)?;
        Ok(PrivateKey {
            public,
            p: p_parts,
            q: q_parts,
            q_inverse,
            q_squared_inverse,
            crt_tables: Arc::new(OnceLock::new()),
        })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// p and q (for the key's encoding).
    pub(crate) fn primes(&self) -> (&BoxedUint, &BoxedUint) {
        (self.p.prime.as_ref(), self.q.prime.as_ref())
    }

    /// The plaintext of ciphertext value `c` by the Chinese remainder
    /// theorem: m_p and m_q (each one constant-time exponentiation modulo
    /// p² or q², by p − 1 or q − 1), then m = m_q + q·((m_p − m_q)·q^(−1)
    /// mod p). Cost: about 2.5·k multiplications of k bits.
    pub(crate) fn decrypt_raw(&self, c: &BoxedUint) -> BoxedUint {
        let m_p = self.p.decrypt(c);
        let m_q = self.q.decrypt(c);
        let p_modulus = NonZero::new(self.p.prime.as_ref().clone()).expect("p ≠ 0");
        let m_q_mod_p = m_q.rem(&p_modulus);
        let difference = m_p.sub_mod(&m_q_mod_p, &p_modulus);
        let modulo = &self.p.modulo;
        let h = modulo.store(&modulo.mul(&modulo.load(&difference), &modulo.load(&self.q_inverse)));
        let bits = self.public.n.bits_precision();
        h.concatenating_mul(self.q.prime.as_ref()).resize(bits).wrapping_add(m_q.resize(bits))
    }

    /// h_s^α mod n² by CRT: the powers modulo p² and q² from their tables
    /// (2·⌈(k/2)/6⌉ multiplications of k bits, a quarter the cost of those
    /// modulo n²), recombined (x ≡ r_p mod p², x ≡ r_q mod q²). Constant
    /// time in α.
    pub(crate) fn crt_randomizer(&self, alpha: &BoxedUint) -> Element {
        let (table_p, table_q) = self.crt_tables.get_or_init(|| {
            let base = |parts: &PrimeParts| {
                let modulus =
                    NonZero::new(parts.squared.value().as_ref().resize(self.public.djn.bits_precision()));
                let reduced = parts.squared.load(&self.public.djn.rem(&modulus.expect("≠ 0")));
                FixedBase::new(&parts.squared, &reduced, randomness_bits(self.public.bits))
            };
            (base(&self.p), base(&self.q))
        });
        let r_p = self.p.squared.store(&table_p.pow(&self.p.squared, alpha));
        let r_q = self.q.squared.store(&table_q.pow(&self.q.squared, alpha));
        let p_squared = NonZero::new(self.p.squared.value().as_ref().clone()).expect("≠ 0");
        let difference = r_p.sub_mod(&r_q.rem(&p_squared), &p_squared);
        let modulo = &self.p.squared;
        let h = modulo.store(&modulo.mul(&modulo.load(&difference), &modulo.load(&self.q_squared_inverse)));
        let bits = self.public.square.value().bits_precision();
        let x =
            h.concatenating_mul(self.q.squared.value().as_ref()).resize(bits).wrapping_add(r_q.resize(bits));
        self.public.square.load(&x)
    }
}

/// A DJN element for modulus n: h_s = h^n mod n² for h = −x² mod n, x a
/// uniform unit. Cost: one exponentiation by n modulo n².
fn djn_element(n: &BoxedUint) -> Result<BoxedUint> {
    let n_odd = odd(n.clone(), "n")?;
    let x = random_unit(&n_odd)?;
    let params = BoxedMontyParams::new(n_odd.clone());
    let x_squared = BoxedMontyForm::new(x, &params).square().retrieve();
    let h = n.wrapping_sub(&x_squared);
    let bits = precision(2 * n.bit_width_vartime());
    let square = Modulus::new(odd(n.concatenating_mul(n).resize(bits), "n²")?);
    Ok(square.store(&square.pow(&square.load(&h.resize(bits)), n, n.bits_precision())))
}

fn invalid() -> PaillierError {
    PaillierError::InvalidKey("p and q are not primes that make a Paillier key".into())
}
