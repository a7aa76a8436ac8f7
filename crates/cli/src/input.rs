//! Reading input matrices: `.npy` (float64, float32 or uint8) or `.csv`
//! (numbers, an optional header row). Errors name the file and what is
//! wrong with it.

use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::read_npy;

/// A row-major matrix of reals.
pub struct Matrix {
    pub rows: usize,
    pub columns: usize,
    pub values: Vec<f64>,
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
    }
}
