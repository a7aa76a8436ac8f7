//! What a reader may allocate, checked before it allocates: the bytes of a
//! file (after decompression) and the values it holds. The defaults fit
//! the largest value a graph takes; `BLINDFOLD_MAX_INPUT_BYTES` and
//! `BLINDFOLD_MAX_INPUT_VALUES` raise or lower them for one process.

use blindfold_ir::MAX_ELEMENTS;

/// The limits of one read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Bytes of a file, after decompression.
    pub bytes: u64,
    /// Values in a file (elements of an array, cells of a table).
    pub values: usize,
}

/// 4 GiB: a `.npy` of [`MAX_ELEMENTS`] float64 values fits, with room.
pub const DEFAULT_BYTES: u64 = 4 << 30;

impl Default for ReadLimits {
    /// [`DEFAULT_BYTES`], and [`MAX_ELEMENTS`] values (the most a graph's
    /// input may have).
    fn default() -> ReadLimits {
        ReadLimits { bytes: DEFAULT_BYTES, values: MAX_ELEMENTS }
    }
}

impl ReadLimits {
    /// The defaults, with `BLINDFOLD_MAX_INPUT_BYTES` and
    /// `BLINDFOLD_MAX_INPUT_VALUES` in their place where set to a number.
    pub fn from_env() -> ReadLimits {
        let read = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
        let defaults = ReadLimits::default();
        ReadLimits {
            bytes: read("BLINDFOLD_MAX_INPUT_BYTES").unwrap_or(defaults.bytes),
            values: read("BLINDFOLD_MAX_INPUT_VALUES").map_or(defaults.values, |v| v as usize),
        }
    }

    /// Why `bytes` is too many, if it is.
    pub(crate) fn check_bytes(&self, bytes: u64, what: &str) -> Result<(), String> {
        if bytes > self.bytes {
            return Err(format!(
                "{what} of {bytes} bytes is more than the limit of {} (BLINDFOLD_MAX_INPUT_BYTES)",
                self.bytes
            ));
        }
        Ok(())
    }

    /// Why `shape` holds too many values, if it does (its product may wrap).
    pub(crate) fn check_shape(&self, shape: &[usize]) -> Result<usize, String> {
        match shape.iter().try_fold(1usize, |count, &d| count.checked_mul(d)) {
            Some(count) if count <= self.values => Ok(count),
            count => Err(format!(
                "shape {shape:?} declares {} values, more than the limit of {} (BLINDFOLD_MAX_INPUT_VALUES)",
                count.map_or_else(|| "more than 2^64".to_string(), |c| c.to_string()),
                self.values
            )),
        }
    }
}
