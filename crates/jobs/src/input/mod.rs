//! Reading inputs: `.npy` (float64, float32, int64, int32 or uint8), `.csv` (numbers,
//! with or without a header row) and IDX (the MNIST format, gzipped or
//! not), each within [`ReadLimits`] checked before allocating. Errors name
//! the file, what is wrong, and where; the "where" (a line, a position) is
//! a fact about the data, kept apart so that a worker tells it only to its
//! own log ([`InputError::public`]).

mod idx;
mod limits;
mod npy;
mod table;

use std::path::Path;

use ndarray::ArrayD;
use thiserror::Error;

pub use limits::{DEFAULT_BYTES, ReadLimits};
pub use table::{ColumnError, Header, Table, read_table, read_table_within};

/// Why an input file could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{file}{}: {problem}", .location.as_ref().map(|l| l.to_string()).unwrap_or_default())]
pub struct InputError {
    /// The file's name as given.
    pub file: String,
    /// Where in the file (private: it says something about the data).
    pub location: Option<Location>,
    /// What is wrong (no cell values).
    pub problem: String,
}

/// Where in a file a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A line of a text file, from 1.
    Line(usize),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Line(line) => write!(f, ":{line}"),
        }
    }
}

impl InputError {
    pub(crate) fn new(path: &Path, problem: impl Into<String>) -> InputError {
        InputError { file: path.display().to_string(), location: None, problem: problem.into() }
    }

    pub(crate) fn at_line(path: &Path, line: usize, problem: impl Into<String>) -> InputError {
        InputError {
            file: path.display().to_string(),
            location: Some(Location::Line(line)),
            problem: problem.into(),
        }
    }

    /// The error as other parties may read it: the file and the problem,
    /// not where in the data it is.
    pub fn public(&self) -> String {
        format!("{}: {}", self.file, self.problem)
    }

    /// The same error naming the file by `name` (a worker names files by
    /// their path inside its data folder, not by where that folder is).
    pub fn renamed(mut self, name: &str) -> InputError {
        self.file = name.to_string();
        self
    }
}

/// Result of reading an input.
pub type Result<T> = std::result::Result<T, InputError>;

/// A row-major matrix of reals.
pub struct Matrix {
    pub rows: usize,
    pub columns: usize,
    pub values: Vec<f64>,
}

/// Reads an array of any rank: `.npy`, IDX (`.idx*`, `*-ubyte`, optionally
/// `.gz`), or `.csv` (a matrix), within the limits of [`ReadLimits::from_env`].
pub fn read_array(path: &Path) -> Result<ArrayD<f64>> {
    read_array_within(path, &ReadLimits::from_env())
}

/// [`read_array`] within `limits`.
pub fn read_array_within(path: &Path, limits: &ReadLimits) -> Result<ArrayD<f64>> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    let stem = file_name.trim_end_matches(".gz");
    if stem.contains("idx") || stem.ends_with("ubyte") {
        return idx::read(path, limits);
    }
    if file_name.ends_with(".npy") {
        return npy::read(path, limits);
    }
    let matrix = read_matrix_within(path, limits)?;
    ArrayD::from_shape_vec(vec![matrix.rows, matrix.columns], matrix.values)
        .map_err(|e| InputError::new(path, e.to_string()))
}

/// Reads an IDX file (gzipped when it ends in `.gz`).
pub fn read_idx(path: &Path) -> Result<ArrayD<f64>> {
    idx::read(path, &ReadLimits::from_env())
}

/// A missing or unreadable file, said as such.
fn unreadable(path: &Path, error: std::io::Error) -> InputError {
    match error.kind() {
        std::io::ErrorKind::NotFound => InputError::new(path, "no such file"),
        std::io::ErrorKind::PermissionDenied => InputError::new(path, "permission denied"),
        _ => InputError::new(path, format!("cannot be read ({error})")),
    }
}

/// Reads `path` as a matrix (a 1-D array is one row); a CSV's header is
/// detected ([`Header::Detect`]).
pub fn read_matrix(path: &Path) -> Result<Matrix> {
    read_matrix_within(path, &ReadLimits::from_env())
}

/// [`read_matrix`] within `limits`.
pub fn read_matrix_within(path: &Path, limits: &ReadLimits) -> Result<Matrix> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let array: ArrayD<f64> = match extension.as_str() {
        "npy" => npy::read(path, limits)?,
        "csv" => {
            let table = read_table_within(path, Header::Detect, limits)?;
            return Ok(Matrix { rows: table.rows, columns: table.columns, values: table.values });
        }
        _ => return Err(InputError::new(path, "give a .npy or .csv file")),
    };
    let (rows, columns) = match array.shape() {
        [columns] => (1, *columns),
        [rows, columns] => (*rows, *columns),
        shape => return Err(InputError::new(path, format!("expected a matrix, found shape {shape:?}"))),
    };
    Ok(Matrix { rows, columns, values: array.iter().copied().collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("blindfold-input-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn csv_with_and_without_a_header_and_bad_files() {
        let dir = scratch("csv");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let m = read_matrix(&write("a.csv", "x,y\n1,2\n3,4.5\n")).unwrap();
        assert_eq!((m.rows, m.columns, m.values), (2, 2, vec![1.0, 2.0, 3.0, 4.5]));
        let headerless = read_matrix(&write("n.csv", "1,2\n3,4.5\n")).unwrap();
        assert_eq!(headerless.rows, 2);
        assert!(
            read_matrix(&write("b.csv", "1,2\n3\n")).err().expect("an error").to_string().contains("b.csv:2")
        );
        assert!(read_matrix(&write("c.csv", "1,2\nx,y\n")).is_err());
        assert!(read_matrix(&write("d.txt", "1")).is_err());
        let npy = read_matrix(&write("e.npy", "not numpy")).err().expect("an error").to_string();
        assert!(npy.contains(".npy"), "{npy}");
        let missing = read_array(&dir.join("absent.npy")).expect_err("an error").to_string();
        assert!(missing.ends_with("absent.npy: no such file"), "{missing}");
        let array =
            ndarray::Array2::<f32>::from_shape_vec((2, 3), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let path = dir.join("f.npy");
        ndarray_npy::write_npy(&path, &array).unwrap();
        let m = read_matrix(&path).unwrap();
        assert_eq!((m.rows, m.columns), (2, 3));
        assert_eq!(m.values[5], 6.0);
        // IDX: two 2x2 images; then truncated and with a bad magic number.
        let mut idx = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2];
        idx.extend([1, 2, 3, 4, 5, 6, 7, 255]);
        let path = dir.join("images-idx3-ubyte");
        std::fs::write(&path, &idx).unwrap();
        let images = read_array(&path).unwrap();
        assert_eq!(images.shape(), &[2, 2, 2]);
        assert_eq!(images[[1, 1, 1]], 255.0);
        std::fs::write(&path, &idx[..idx.len() - 1]).unwrap();
        assert!(read_array(&path).expect_err("an error").to_string().contains("data bytes"));
        std::fs::write(&path, [1, 2, 3, 4]).unwrap();
        assert!(read_array(&path).expect_err("an error").to_string().contains("magic"));
        let gz = dir.join("bad-idx1-ubyte.gz");
        std::fs::write(&gz, b"not gzip").unwrap();
        assert!(read_array(&gz).expect_err("an error").to_string().contains("gzip"));
    }

    #[test]
    fn tables_and_their_errors_name_file_line_and_column() {
        let dir = scratch("table");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let table = read_table(&write("ok.csv", "a,b,label\n1,2,0\n\n3,4.5,1\n"), Header::Detect).unwrap();
        assert_eq!((table.columns, table.rows), (3, 2));
        assert_eq!(table.header.as_deref(), Some(&["a".to_string(), "b".into(), "label".into()][..]));
        assert_eq!(table.column(2), vec![0.0, 1.0]);
        assert_eq!(table.without_column(2), vec![1.0, 2.0, 3.0, 4.5]);
        assert_eq!(table.column_named("label"), Ok(2));
        let error =
            |name: &str, text: &str| read_table(&write(name, text), Header::Detect).expect_err("an error");
        assert!(error("empty.csv", "").to_string().contains("empty.csv: empty file"));
        assert!(error("header.csv", "a,b\n").to_string().contains("no rows"));
        let ragged = error("ragged.csv", "a,b\n1,2\n3\n");
        assert!(ragged.to_string().contains("ragged.csv:3: 1 cells, 2 in the first line"), "{ragged}");
        let text = error("text.csv", "a,b\n1,2\n3,x\n");
        assert!(text.to_string().contains("text.csv:3: column 'b': not a finite number"), "{text}");
        assert!(!text.to_string().contains("'x'"), "a private cell in an error: {text}");
        // What other parties may read: no line.
        assert!(text.public().ends_with("text.csv: column 'b': not a finite number"), "{}", text.public());
        assert!(error("nan.csv", "a\nNaN\n").to_string().contains("not a finite number"));
    }

    #[test]
    fn no_row_is_taken_for_a_header_silently() {
        let dir = scratch("strict");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        // A byte-order mark before the first row: the row is kept.
        let bom = read_table(&write("bom.csv", "\u{feff}4711.5,37.2,1\n2,3,0\n"), Header::Detect).unwrap();
        assert_eq!((bom.header, bom.rows, bom.values[0]), (None, 2, 4711.5));
        // A byte-order mark before a header: still a header, without the mark.
        let named = read_table(&write("bomh.csv", "\u{feff}a,b\n1,2\n"), Header::Detect).unwrap();
        assert_eq!(named.header.unwrap()[0], "a");
        // A typo in the first row: an error naming line 1, not a header.
        let typo = read_table(&write("typo.csv", "4711.5,37.2.1,1\n2,3,0\n"), Header::Detect).unwrap_err();
        assert_eq!(typo.location, Some(Location::Line(1)));
        assert!(typo.problem.contains("neither a header"), "{typo}");
        // The caller can say there is no header: the typo is then a cell error.
        let absent = read_table(&write("typo2.csv", "4711.5,37.2.1,1\n"), Header::Absent).unwrap_err();
        assert!(absent.to_string().contains("typo2.csv:1: column 1: not a finite number"), "{absent}");
        // Or that there is one, whatever it holds.
        let present = read_table(&write("num.csv", "1,2\n3,4\n"), Header::Present).unwrap();
        assert_eq!((present.rows, present.header.unwrap()), (1, vec!["1".to_string(), "2".into()]));
        // Columns of a headerless table are named by number.
        let table = read_table(&write("h.csv", "1,2,3\n"), Header::Detect).unwrap();
        assert_eq!(table.column_named("2"), Ok(2));
        assert!(table.column_named("label").unwrap_err().to_string().contains("no header"));
    }

    #[test]
    fn the_shipped_mnist_test_labels_begin_7_2_1_0_4() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist/t10k-sample-labels.idx1-ubyte.gz");
        let labels = read_array(&path).unwrap();
        assert_eq!(labels.shape(), &[1_000]);
        let images = read_array(&path.with_file_name("t10k-sample-images.idx3-ubyte.gz")).unwrap();
        assert_eq!(images.shape(), &[1_000, 28, 28]);
        assert_eq!(labels.iter().take(5).copied().collect::<Vec<_>>(), vec![7.0, 2.0, 1.0, 0.0, 4.0]);
    }
}
