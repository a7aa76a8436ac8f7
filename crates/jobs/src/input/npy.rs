//! `.npy` files (float64, float32, int64, int32 or uint8, little-endian, C order): the
//! header is read and checked against the file's length and the limits
//! before the data is, so that a header declaring a huge shape is an error,
//! not an allocation.

use std::io::Read;
use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::read_npy;

use super::{InputError, ReadLimits, Result, unreadable};

/// The dtypes read, by their numpy `descr`, with their element size.
const DTYPES: [(&str, u64); 7] =
    [("<f8", 8), ("<f4", 4), ("|u1", 1), ("<u1", 1), ("|i1", 1), ("<i8", 8), ("<i4", 4)];

/// What the header declares.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
    /// Bytes before the data.
    length: u64,
}

/// Reads a `.npy` file within `limits`.
pub(super) fn read(path: &Path, limits: &ReadLimits) -> Result<ArrayD<f64>> {
    let size = std::fs::metadata(path).map_err(|e| unreadable(path, e))?.len();
    limits.check_bytes(size, "the file").map_err(|problem| InputError::new(path, problem))?;
    let mut file = std::fs::File::open(path).map_err(|e| unreadable(path, e))?;
    let mut start = vec![0u8; 4096.min(size as usize)];
    file.read_exact(&mut start).map_err(|e| unreadable(path, e))?;
    let header =
        header(&start).map_err(|problem| InputError::new(path, format!("not a .npy file ({problem})")))?;
    let Some(&(_, width)) = DTYPES.iter().find(|(descr, _)| *descr == header.descr) else {
        return Err(InputError::new(
            path,
            format!("holds {} values: give float64, float32, int64, int32 or uint8", header.descr),
        ));
    };
    if header.fortran_order {
        return Err(InputError::new(path, "is in Fortran order: save it in C order (numpy's default)"));
    }
    let count = limits.check_shape(&header.shape).map_err(|problem| InputError::new(path, problem))?;
    let data = count as u64 * width;
    if size != header.length + data {
        return Err(InputError::new(
            path,
            format!(
                "{} data bytes for shape {:?} of {}",
                size.saturating_sub(header.length),
                header.shape,
                header.descr
            ),
        ));
    }
    let read_as =
        |error: ndarray_npy::ReadNpyError| InputError::new(path, format!("not a valid .npy file ({error})"));
    match (width, header.descr.as_str()) {
        // (int64 labels and indices; a value beyond 2^53 rounds.)
        (8, "<i8") => read_npy::<_, ArrayD<i64>>(path).map(|a| a.mapv(|v| v as f64)).map_err(read_as),
        (4, "<i4") => read_npy::<_, ArrayD<i32>>(path).map(|a| a.mapv(f64::from)).map_err(read_as),
        (8, _) => read_npy::<_, ArrayD<f64>>(path).map_err(read_as),
        (4, _) => read_npy::<_, ArrayD<f32>>(path).map(|a| a.mapv(f64::from)).map_err(read_as),
        _ if header.descr == "|i1" => {
            read_npy::<_, ArrayD<i8>>(path).map(|a| a.mapv(f64::from)).map_err(read_as)
        }
        _ => read_npy::<_, ArrayD<u8>>(path).map(|a| a.mapv(f64::from)).map_err(read_as),
    }
}

/// Parses the header at the start of a `.npy` file (versions 1 to 3).
fn header(bytes: &[u8]) -> std::result::Result<Header, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("no .npy magic string".into());
    }
    let (prefix, declared): (usize, usize) = match bytes[6] {
        1 => (10, u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
        2 | 3 if bytes.len() >= 12 => {
            (12, u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize)
        }
        version => return Err(format!("format version {version}")),
    };
    let text =
        bytes.get(prefix..prefix.saturating_add(declared)).ok_or("a header longer than the file's start")?;
    let text = std::str::from_utf8(text).map_err(|_| "a header that is not text")?;
    let field = |key: &str| -> std::result::Result<&str, String> {
        let at = text.find(&format!("'{key}'")).ok_or(format!("no '{key}' in the header"))?;
        let rest = text[at + key.len() + 2..].trim_start();
        Ok(rest.strip_prefix(':').ok_or(format!("no value for '{key}'"))?.trim_start())
    };
    let descr = field("descr")?;
    let descr =
        descr.strip_prefix('\'').and_then(|d| d.split('\'').next()).ok_or("a descr that is not a string")?;
    let fortran_order = field("fortran_order")?.starts_with("True");
    let shape_text = field("shape")?;
    let inside = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("a shape that is not a tuple")?;
    let shape = inside
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('L').parse::<usize>().map_err(|_| format!("a dimension '{d}'")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Header { descr: descr.to_string(), fortran_order, shape, length: (prefix + declared) as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str) -> Vec<u8> {
        let mut text = header.to_string();
        while !(10 + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((text.len() as u16).to_le_bytes());
        bytes.extend(text.as_bytes());
        bytes
    }

    #[test]
    fn headers_parse_as_numpy_writes_them() {
        let parsed = header(&npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }")).unwrap();
        assert_eq!((parsed.descr.as_str(), parsed.fortran_order, parsed.shape), ("<f8", false, vec![3, 4]));
        assert_eq!(parsed.length % 64, 0);
        assert_eq!(
            header(&npy("{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }")).unwrap().shape,
            [5]
        );
        assert_eq!(
            header(&npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }")).unwrap().shape,
            Vec::<usize>::new()
        );
        assert!(header(b"\x93NUMPY\x09\x00").is_err());
        assert!(header(&npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, -1), }")).is_err());
    }

    #[test]
    fn a_huge_declared_shape_is_an_error_before_any_allocation() {
        let dir = std::env::temp_dir().join(format!("blindfold-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("huge.npy");
        let mut bytes = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000), }");
        bytes.extend([0u8; 64]);
        std::fs::write(&path, &bytes).unwrap();
        let error = read(&path, &ReadLimits::default()).unwrap_err().to_string();
        assert!(error.contains("more than the limit") && error.contains("huge.npy"), "{error}");
        // Within the limits but longer than the file: said as such.
        let mut short = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000,), }");
        short.extend([0u8; 80]);
        std::fs::write(&path, &short).unwrap();
        let error = read(&path, &ReadLimits::default()).unwrap_err().to_string();
        assert!(error.contains("80 data bytes for shape [1000]"), "{error}");
        // A tighter limit refuses what the default takes.
        let mut small = npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }");
        small.extend([1u8; 6]);
        std::fs::write(&path, &small).unwrap();
        assert_eq!(read(&path, &ReadLimits::default()).unwrap().shape(), [2, 3]);
        assert!(read(&path, &ReadLimits { values: 5, ..ReadLimits::default() }).is_err());
        assert!(read(&path, &ReadLimits { bytes: 10, ..ReadLimits::default() }).is_err());
    }
}
