//! The harness: mutate seeds, run a target on each case under a watchdog,
//! and turn a panic, a hang or a broken property into a reported finding.
//!
//! Cases are deterministic: case `i` of a target draws its mutation from
//! ChaCha8 seeded with (BLINDFOLD_FUZZ_SEED, target, i), so that a finding
//! is reproduced with `BLINDFOLD_FUZZ_SEED=S BLINDFOLD_FUZZ_ONLY=i`. The
//! number of cases per target is BLINDFOLD_FUZZ_CASES (CI: a few hundred in
//! debug; the long runs: 100,000 in release).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What a target made of a case.
pub enum Outcome {
    /// The input was taken (and any property held).
    Accepted,
    /// Taken, with a result less exact than the target's tolerance (but
    /// within its property).
    Imprecise,
    /// A clean error.
    Refused,
}

/// A case that crashed, hung or broke a property.
pub type Finding = String;

/// How long one case may run before it counts as a hang.
const HANG: Duration = Duration::from_secs(60);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// Runs `cases` cases of `target` on mutations of `seeds`; panics with the
/// findings, if any.
pub fn campaign(
    name: &str,
    default_cases: u64,
    seeds: &[Vec<u8>],
    mutate: impl Fn(&mut ChaCha8Rng, &[Vec<u8>]) -> Vec<u8>,
    target: impl Fn(&[u8]) -> Result<Outcome, Finding>,
) {
    let cases = env_number("BLINDFOLD_FUZZ_CASES", default_cases);
    let seed = env_number("BLINDFOLD_FUZZ_SEED", 2026);
    let only = std::env::var("BLINDFOLD_FUZZ_ONLY").ok().and_then(|v| v.parse::<u64>().ok());
    let tag = name.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    // The watchdog: a case past HANG ends the process, naming it.
    let current = Arc::new(AtomicU64::new(u64::MAX));
    let started = Arc::new(std::sync::Mutex::new(Instant::now()));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (current, started, done, name) =
            (current.clone(), started.clone(), done.clone(), name.to_string());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let case = current.load(Ordering::Relaxed);
                let elapsed = started.lock().map(|s| s.elapsed()).unwrap_or_default();
                if case != u64::MAX && elapsed > HANG {
                    eprintln!(
                        "fuzz {name}: case {case} ran past {HANG:?}: a hang (BLINDFOLD_FUZZ_ONLY={case})"
                    );
                    std::process::abort();
                }
            }
        })
    };
    let begun = Instant::now();
    let in_flight =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-{name}-in-flight.bin"));
    // Panics are findings, reported below: no backtrace on the way (the
    // usual hook is back for the report).
    let usual = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let (mut accepted, mut imprecise, mut refused, mut findings) = (0u64, 0u64, 0u64, Vec::new());
    for case in 0..cases {
        if only.is_some_and(|o| o != case) {
            continue;
        }
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed ^ tag.rotate_left(17) ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let input = mutate(&mut rng, seeds);
        // The case in flight, for a crash no handler sees (an abort, the
        // kernel's OOM killer).
        let _ = std::fs::write(&in_flight, &input);
        *started.lock().unwrap() = Instant::now();
        current.store(case, Ordering::Relaxed);
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| target(&input)));
        current.store(u64::MAX, Ordering::Relaxed);
        match result {
            Ok(Ok(Outcome::Accepted)) => accepted += 1,
            Ok(Ok(Outcome::Imprecise)) => imprecise += 1,
            Ok(Ok(Outcome::Refused)) => refused += 1,
            Ok(Err(finding)) => findings.push(format!("case {case}: {finding}")),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                findings.push(format!("case {case}: panic: {message}"));
            }
        }
        if findings.len() > 20 {
            break;
        }
        if let Some(path) = findings.last().filter(|f| f.starts_with(&format!("case {case}:"))).map(|_| {
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-{name}-{case}.bin"))
        }) {
            let _ = std::fs::write(&path, &input);
        }
    }
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    std::panic::set_hook(usual);
    eprintln!(
        "fuzz {name}: {} cases in {:.1} s: {accepted} accepted, {imprecise} imprecise, {refused} refused cleanly, \
         {} findings (seed {seed})",
        accepted + imprecise + refused + findings.len() as u64,
        begun.elapsed().as_secs_f64(),
        findings.len()
    );
    assert!(
        findings.is_empty(),
        "fuzz {name}: findings (inputs in {}):\n{}",
        env!("CARGO_TARGET_TMPDIR"),
        findings.join("\n")
    );
}
