//! IDX files (the MNIST format: magic 0x0000_08RR for unsigned bytes of
//! rank RR, big-endian dimensions), gzipped or not. Decompression stops at
//! the byte limit, and the declared shape is checked before the values are
//! converted.

use std::io::Read;
use std::path::Path;

use ndarray::ArrayD;

use super::{InputError, ReadLimits, Result, unreadable};

/// Reads an IDX file within `limits`; gzipped when it ends in `.gz`.
pub(super) fn read(path: &Path, limits: &ReadLimits) -> Result<ArrayD<f64>> {
    let size = std::fs::metadata(path).map_err(|e| unreadable(path, e))?.len();
    limits.check_bytes(size, "the file").map_err(|problem| InputError::new(path, problem))?;
    let raw = std::fs::read(path).map_err(|e| unreadable(path, e))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(limits.bytes.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|error| InputError::new(path, format!("not a valid gzip file ({error})")))?;
        limits
            .check_bytes(out.len() as u64, "the decompressed file")
            .map_err(|problem| InputError::new(path, problem))?;
        out
    } else {
        raw
    };
    let corrupt =
        |reason: &str| InputError::new(path, format!("not an IDX file of unsigned bytes ({reason})"));
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 {
        return Err(corrupt("bad magic number"));
    }
    let rank = bytes[3] as usize;
    let header = 4 + 4 * rank;
    if rank == 0 || bytes.len() < header {
        return Err(corrupt("truncated header"));
    }
    let shape: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize)
        .collect();
    let count = limits.check_shape(&shape).map_err(|problem| InputError::new(path, problem))?;
    if bytes.len() != header + count {
        return Err(corrupt(&format!("{} data bytes for shape {shape:?}", bytes.len() - header)));
    }
    ArrayD::from_shape_vec(shape, bytes[header..].iter().map(|&b| b as f64).collect())
        .map_err(|e| corrupt(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let dir = std::env::temp_dir().join(format!("blindfold-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bomb-idx1-ubyte.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&[0, 0, 8, 1, 0x10, 0, 0, 0]).unwrap();
        encoder.write_all(&vec![0u8; 1 << 22]).unwrap();
        std::fs::write(&path, encoder.finish().unwrap()).unwrap();
        let limits = ReadLimits { bytes: 1 << 20, ..ReadLimits::default() };
        let error = read(&path, &limits).unwrap_err().to_string();
        assert!(error.contains("decompressed file") && error.contains("limit"), "{error}");
        // A header declaring 2^28 labels, over a tighter value limit.
        let tight = ReadLimits { values: 1 << 20, ..ReadLimits::default() };
        let error = read(&path, &tight).unwrap_err().to_string();
        assert!(error.contains("declares 268435456 values"), "{error}");
    }
}
