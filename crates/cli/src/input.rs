//! Reading inputs: `.npy` (float64, float32 or uint8), `.csv` (numbers, an
//! optional header row) and IDX (the MNIST format, gzipped or not). Errors
//! name the file and what is wrong with it.

use std::path::Path;

use std::io::Read;

use ndarray::ArrayD;
use ndarray_npy::read_npy;

/// A row-major matrix of reals.
pub struct Matrix {
    pub rows: usize,
    pub columns: usize,
    pub values: Vec<f64>,
}

/// Reads an array of any rank: `.npy`, IDX (`.idx*`, `*-ubyte`, optionally
/// `.gz`), or `.csv` (a matrix).
pub fn read_array(path: &Path) -> Result<ArrayD<f64>, String> {
    let name = path.display();
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    let stem = file_name.trim_end_matches(".gz");
    if stem.contains("idx") || stem.ends_with("ubyte") {
        return read_idx(path);
    }
    if file_name.ends_with(".npy") {
        return read_npy::<_, ArrayD<f64>>(path)
            .or_else(|_| read_npy::<_, ArrayD<f32>>(path).map(|a| a.mapv(f64::from)))
            .or_else(|_| read_npy::<_, ArrayD<u8>>(path).map(|a| a.mapv(f64::from)))
            .map_err(|error| format!("{name}: not a float64, float32 or uint8 .npy file ({error})"));
    }
    let matrix = read_matrix(path)?;
    ArrayD::from_shape_vec(vec![matrix.rows, matrix.columns], matrix.values)
        .map_err(|e| format!("{name}: {e}"))
}

/// Reads an IDX file (magic 0x0000_08TT with TT = 08 for unsigned bytes;
/// big-endian dimensions), gzipped when it ends in `.gz`.
pub fn read_idx(path: &Path) -> Result<ArrayD<f64>, String> {
    let name = path.display();
    let raw = std::fs::read(path).map_err(|error| format!("{name}: {error}"))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|error| format!("{name}: not a valid gzip file ({error})"))?;
        out
    } else {
        raw
    };
    let corrupt = |reason: &str| format!("{name}: not an IDX file of unsigned bytes ({reason})");
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
        .map(|d| u32::from_be_bytes(d.try_into().unwrap()) as usize)
        .collect();
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| corrupt("huge dimensions"))?;
    if bytes.len() != header + count {
        return Err(corrupt(&format!("{} data bytes for shape {shape:?}", bytes.len() - header)));
    }
    ArrayD::from_shape_vec(shape, bytes[header..].iter().map(|&b| b as f64).collect())
        .map_err(|e| corrupt(&e.to_string()))
}

/// Reads `path` as a matrix (a 1-D array is one row).
pub fn read_matrix(path: &Path) -> Result<Matrix, String> {
    let name = path.display();
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let array: ArrayD<f64> = match extension.as_str() {
        "npy" => read_npy::<_, ArrayD<f64>>(path)
            .or_else(|_| read_npy::<_, ArrayD<f32>>(path).map(|a| a.mapv(f64::from)))
            .or_else(|_| read_npy::<_, ArrayD<u8>>(path).map(|a| a.mapv(f64::from)))
            .map_err(|error| format!("{name}: not a float64, float32 or uint8 .npy file ({error})"))?,
        "csv" => return read_csv(path),
        _ => return Err(format!("{name}: give a .npy or .csv file")),
    };
    let (rows, columns) = match array.shape() {
        [columns] => (1, *columns),
        [rows, columns] => (*rows, *columns),
        shape => return Err(format!("{name}: expected a matrix, found shape {shape:?}")),
    };
    Ok(Matrix { rows, columns, values: array.iter().copied().collect() })
}

fn read_csv(path: &Path) -> Result<Matrix, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|error| format!("{name}: {error}"))?;
    let mut values = Vec::new();
    let (mut rows, mut columns) = (0, None);
    for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Result<Vec<f64>, _> = line.split(',').map(|f| f.trim().parse::<f64>()).collect();
        let fields = match fields {
            Ok(fields) => fields,
            Err(_) if index == 0 => continue, // a header
            Err(_) => return Err(format!("{name}:{}: not a row of numbers", index + 1)),
        };
        if *columns.get_or_insert(fields.len()) != fields.len() {
            return Err(format!(
                "{name}:{}: {} values, earlier rows have {}",
                index + 1,
                fields.len(),
                columns.unwrap()
            ));
        }
        values.extend(fields);
        rows += 1;
    }
    let columns = columns.ok_or_else(|| format!("{name}: no rows"))?;
    Ok(Matrix { rows, columns, values })
}

/// A CSV table with a header row: column names and row-major numbers.
pub struct Table {
    pub columns: Vec<String>,
    pub rows: usize,
    pub values: Vec<f64>,
}

impl Table {
    /// The values of column `index`.
    pub fn column(&self, index: usize) -> Vec<f64> {
        self.values.iter().skip(index).step_by(self.columns.len()).copied().collect()
    }

    /// Every column but `index`, row-major.
    pub fn without_column(&self, index: usize) -> Vec<f64> {
        let width = self.columns.len();
        self.values.iter().enumerate().filter(|(i, _)| i % width != index).map(|(_, &v)| v).collect()
    }
}

/// Reads a CSV file whose first line names the columns. Errors name the
/// file, the line and the column: an empty file, a row with more or fewer
/// cells than the header, a cell that is not a number.
pub fn read_table(path: &Path) -> Result<Table, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|error| format!("{name}: {error}"))?;
    let mut lines = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| format!("{name}: empty file (expected a header row)"))?;
    let columns: Vec<String> = header.split(',').map(|c| c.trim().trim_matches('"').to_string()).collect();
    let mut values = Vec::new();
    let mut rows = 0;
    for (index, line) in lines {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != columns.len() {
            return Err(format!(
                "{name}:{}: {} cells, the header has {} columns",
                index + 1,
                cells.len(),
                columns.len()
            ));
        }
        for (cell, column) in cells.iter().zip(&columns) {
            // The cell itself is not quoted: a table's values are private
            // (a worker's errors reach the operator and its log).
            let value = cell
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{name}:{}: column '{column}': not a finite number", index + 1))?;
            values.push(value);
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(format!("{name}: a header but no rows"));
    }
    Ok(Table { columns, rows, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_and_without_a_header_and_bad_files() {
        let dir = std::env::temp_dir().join(format!("blindfold-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let m = read_matrix(&write("a.csv", "x,y\n1,2\n3,4.5\n")).unwrap();
        assert_eq!((m.rows, m.columns, m.values), (2, 2, vec![1.0, 2.0, 3.0, 4.5]));
        assert!(read_matrix(&write("b.csv", "1,2\n3\n")).err().expect("an error").contains("b.csv:2"));
        assert!(read_matrix(&write("c.csv", "1,2\nx,y\n")).is_err());
        assert!(read_matrix(&write("d.txt", "1")).is_err());
        assert!(read_matrix(&write("e.npy", "not numpy")).err().expect("an error").contains(".npy"));
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
        assert!(read_array(&path).expect_err("an error").contains("data bytes"));
        std::fs::write(&path, [1, 2, 3, 4]).unwrap();
        assert!(read_array(&path).expect_err("an error").contains("magic"));
        let gz = dir.join("bad-idx1-ubyte.gz");
        std::fs::write(&gz, b"not gzip").unwrap();
        assert!(read_array(&gz).expect_err("an error").contains("gzip"));
    }

    #[test]
    fn tables_and_their_errors_name_file_line_and_column() {
        let dir = std::env::temp_dir().join(format!("blindfold-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let table = read_table(&write("ok.csv", "a,b,label\n1,2,0\n\n3,4.5,1\n")).unwrap();
        assert_eq!((table.columns.len(), table.rows), (3, 2));
        assert_eq!(table.column(2), vec![0.0, 1.0]);
        assert_eq!(table.without_column(2), vec![1.0, 2.0, 3.0, 4.5]);
        let error = |name: &str, text: &str| read_table(&write(name, text)).err().expect("an error");
        assert!(error("empty.csv", "").contains("empty.csv: empty file"));
        assert!(error("header.csv", "a,b\n").contains("no rows"));
        assert!(error("ragged.csv", "a,b\n1,2\n3\n").contains("ragged.csv:3: 1 cells, the header has 2"));
        let text = error("text.csv", "a,b\n1,2\n3,x\n");
        assert!(text.contains("text.csv:3: column 'b': not a finite number"), "{text}");
        assert!(!text.contains("'x'"), "a private cell in an error: {text}");
        assert!(error("nan.csv", "a\nNaN\n").contains("not a finite number"));
    }

    #[test]
    fn the_shared_mnist_test_labels_begin_7_2_1_0_4() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/mnist/t10k-labels.idx1-ubyte.gz");
        // The shared data lies beside the checkout in development and in CI.
        let labels = read_array(&path).unwrap();
        assert_eq!(labels.shape(), &[10_000]);
        assert_eq!(labels.iter().take(5).copied().collect::<Vec<_>>(), vec![7.0, 2.0, 1.0, 0.0, 4.0]);
    }
}
