//! `blindfold bench kernels`: the ring kernels against plaintext f32 on the
//! same machine in the same run.
//!
//! Matmul: u64 and u128 wrapping products beside gemm's f32 product of the
//! same shape and thread count, in giga multiply-accumulates per second.
//! Conv2d: network C's second convolution at batch 100. PRG: AES-CTR
//! expansion of a seed into ring elements, in GB/s.

use blindfold_ring::kernels::{
    self, matmul_u64, matmul_u64_single_thread, matmul_u128, matmul_u128_single_thread,
};
use blindfold_ring::{Conv2dGeometry, Prg, RingTensor, Seed};

use crate::bench::{Record, time};

/// The matmul shapes of docs/benchmarks.md: (m, k, n).
const MATMUL_SHAPES: [(usize, usize, usize); 3] = [(128, 784, 128), (256, 256, 256), (1024, 1024, 1024)];

/// What `--quick` leaves out: the 1024³ product (seconds per run).
fn shapes(quick: bool) -> impl Iterator<Item = (usize, usize, usize)> {
    MATMUL_SHAPES.into_iter().filter(move |&(m, _, _)| !quick || m < 1024)
}

pub fn run(runs: usize, quick: bool) -> Vec<Record> {
    let threads = rayon::current_num_threads();
    let mut records = Vec::new();
    for (m, k, n) in shapes(quick) {
        for thread_count in [1, threads] {
            records.push(matmul_record::<u64>(m, k, n, thread_count, runs));
        }
    }
    for thread_count in [1, threads] {
        records.push(matmul_record::<u128>(128, 784, 128, thread_count, runs));
    }
    records.push(conv2d_record(runs));
    for thread_count in [1, threads] {
        records.push(prg_record(thread_count, runs));
    }
    records
}

/// Deterministic filler values (timing does not depend on them).
fn filler<T>(count: usize, make: impl Fn(u64) -> T) -> Vec<T> {
    (0..count as u64).map(|i| make(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 7)).collect()
}

/// A ring matmul kernel run on one thread or all.
trait MatmulRing: Copy + Default + Send + Sync {
    const NAME: &'static str;
    fn from_u64(x: u64) -> Self;
    fn matmul(threads: usize, m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]);
}

impl MatmulRing for u64 {
    const NAME: &'static str = "u64";
    fn from_u64(x: u64) -> Self {
        x
    }
    fn matmul(threads: usize, m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]) {
        if threads == 1 { matmul_u64_single_thread(m, k, n, a, b, c) } else { matmul_u64(m, k, n, a, b, c) }
    }
}

impl MatmulRing for u128 {
    const NAME: &'static str = "u128";
    fn from_u64(x: u64) -> Self {
        (x as u128) << 61 ^ x as u128
    }
    fn matmul(threads: usize, m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]) {
        if threads == 1 { matmul_u128_single_thread(m, k, n, a, b, c) } else { matmul_u128(m, k, n, a, b, c) }
    }
}

/// gemm's f32 product (m×k)·(k×n), row-major, on `threads` threads: the
/// plaintext twin of the ring kernels.
pub fn f32_matmul(threads: usize, m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    let parallelism = if threads == 1 { gemm::Parallelism::None } else { gemm::Parallelism::Rayon(threads) };
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    // SAFETY: the asserted lengths cover every index gemm reads and writes
    // with these row-major strides.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    }
}

fn matmul_record<R: MatmulRing>(m: usize, k: usize, n: usize, threads: usize, runs: usize) -> Record {
    let a = filler(m * k, R::from_u64);
    let b = filler(k * n, R::from_u64);
    let mut c = vec![R::default(); m * n];
    let ring = time(runs, || R::matmul(threads, m, k, n, &a, &b, &mut c));
    let af = filler(m * k, |x| (x % 1000) as f32 / 1000.0);
    let bf = filler(k * n, |x| (x % 1000) as f32 / 1000.0);
    let mut cf = vec![0f32; m * n];
    let plaintext = time(runs, || f32_matmul(threads, m, k, n, &af, &bf, &mut cf));
    let macs = (m * k * n) as f64;
    let mut record = Record::new("kernels", format!("matmul-{}-{m}x{k}x{n}-t{threads}", R::NAME), ring)
        .with("gmacs", round(macs / ring.median_s / 1e9))
        .with("f32_gmacs", round(macs / plaintext.median_s / 1e9))
        .with("ratio_to_f32", round(plaintext.median_s / ring.median_s))
        .with("threads", threads)
        .with("kernel", kernels::kernel_name());
    record.plaintext_median_s = Some(plaintext.median_s);
    record
}

/// Network C's second convolution: 100×16×12×12 input, 16 filters of 16×5×5.
fn conv2d_record(runs: usize) -> Record {
    let (batch, channels, size, outputs, kernel) = (100, 16, 12, 16, 5);
    let input =
        RingTensor::from_vec(&[batch, channels, size, size], filler(batch * channels * size * size, |x| x))
            .expect("shape matches");
    let filters = RingTensor::from_vec(
        &[outputs, channels, kernel, kernel],
        filler(outputs * channels * kernel * kernel, |x| x),
    )
    .expect("shape matches");
    let geometry = Conv2dGeometry::default();
    let ring = time(runs, || {
        std::hint::black_box(input.conv2d(&filters, geometry).expect("valid shapes"));
    });
    // The f32 twin: the same im2col layout and one gemm product.
    let out = size - kernel + 1;
    let patch = channels * kernel * kernel;
    let columns = batch * out * out;
    let input_f32: Vec<f32> = input.as_slice().iter().map(|&x| (x % 251) as f32).collect();
    let filters_f32: Vec<f32> = filters.as_slice().iter().map(|&x| (x % 251) as f32).collect();
    let threads = rayon::current_num_threads();
    let plaintext = time(runs, || {
        let mut unfolded = vec![0f32; patch * columns];
        for (row, target) in unfolded.chunks_mut(columns).enumerate() {
            let (channel, ky, kx) = (row / (kernel * kernel), (row / kernel) % kernel, row % kernel);
            for image in 0..batch {
                for y in 0..out {
                    for x in 0..out {
                        target[(image * out + y) * out + x] =
                            input_f32[((image * channels + channel) * size + y + ky) * size + x + kx];
                    }
                }
            }
        }
        let mut product = vec![0f32; outputs * columns];
        f32_matmul(threads, outputs, patch, columns, &filters_f32, &unfolded, &mut product);
        std::hint::black_box(product);
    });
    let macs = (batch * outputs * out * out * patch) as f64;
    let mut record = Record::new("kernels", "conv2d-u64-netC-conv2".to_string(), ring)
        .with("gmacs", round(macs / ring.median_s / 1e9))
        .with("ratio_to_f32", round(plaintext.median_s / ring.median_s))
        .with("threads", threads);
    record.batch = Some(batch);
    record.plaintext_median_s = Some(plaintext.median_s);
    record
}

/// Expanding a seed into 2^24 u64 elements (128 MiB).
fn prg_record(threads: usize, runs: usize) -> Record {
    let elements = 1 << 24;
    let mut out = vec![0u64; elements];
    let seed = Seed::from_bytes([42; 16]);
    let mut fill = || Prg::new(&seed).fill(&mut out);
    let timing = if threads == 1 {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a one-thread pool");
        pool.install(|| time(runs, &mut fill))
    } else {
        time(runs, &mut fill)
    };
    let bytes = (elements * 8) as f64;
    Record::new("kernels", format!("prg-aes-ctr-u64-t{threads}"), timing)
        .with("gb_per_s", round(bytes / timing.median_s / 1e9))
        .with("threads", threads)
}

/// Three significant decimals for figures in records.
fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
