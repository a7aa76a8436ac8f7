//! CSV tables of numbers, read strictly: a byte-order mark is dropped; the
//! first line is a header only if the caller says so ([`Header::Present`])
//! or none of its cells is a number; a line whose cells are partly numbers
//! is an error, never a silently dropped row.

use std::path::Path;

use thiserror::Error;

use super::{InputError, ReadLimits, Result, unreadable};

/// Whether a table's first line names its columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Header {
    /// A header exactly when none of the first line's cells is a number.
    #[default]
    Detect,
    /// The first line is a header, whatever it holds.
    Present,
    /// Every line is data.
    Absent,
}

/// A CSV table: its header if it has one, and row-major numbers.
#[derive(Debug)]
pub struct Table {
    pub header: Option<Vec<String>>,
    pub columns: usize,
    pub rows: usize,
    pub values: Vec<f64>,
}

impl Table {
    /// The values of column `index`.
    pub fn column(&self, index: usize) -> Vec<f64> {
        self.values.iter().skip(index).step_by(self.columns).copied().collect()
    }

    /// Every column but `index`, row-major.
    pub fn without_column(&self, index: usize) -> Vec<f64> {
        let width = self.columns;
        self.values.iter().enumerate().filter(|(i, _)| i % width != index).map(|(_, &v)| v).collect()
    }

    /// The table with every column but `index` multiplied by `factor`
    /// (features scaled, the label kept).
    pub fn scaled_except(&self, index: usize, factor: f64) -> Table {
        let width = self.columns;
        let values = self
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| if i % width == index { v } else { v * factor })
            .collect();
        Table { header: self.header.clone(), columns: width, rows: self.rows, values }
    }

    /// The column a label names: a header cell, or a number (from 0) in a
    /// table without a header. The error lists the header's names (a
    /// header is the file's declared names, not data).
    pub fn column_named(&self, label: &str) -> std::result::Result<usize, ColumnError> {
        match &self.header {
            Some(names) => names.iter().position(|c| c == label).ok_or_else(|| ColumnError::NotInHeader {
                label: label.to_string(),
                header: names.join(","),
            }),
            None => match label.parse::<usize>() {
                Ok(index) if index < self.columns => Ok(index),
                Ok(index) => Err(ColumnError::OutOfRange { index, columns: self.columns }),
                Err(_) => Err(ColumnError::NoHeader { label: label.to_string() }),
            },
        }
    }
}

/// A label column that names no column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ColumnError {
    #[error("no label column '{label}' (the header names {header})")]
    NotInHeader { label: String, header: String },
    #[error("column {index} asked, the table has {columns} (from 0)")]
    OutOfRange { index: usize, columns: usize },
    #[error(
        "the table has no header, so the label column '{label}' names no column: give its number (from 0)"
    )]
    NoHeader { label: String },
}

/// A cell as a number, if it is one (finite or not: "NaN" is a number
/// cell, refused later as not finite).
fn number(cell: &str) -> Option<f64> {
    cell.trim().parse::<f64>().ok()
}

/// Reads a CSV table. Errors name the file, the line and the column (by
/// header name or number), never a cell's content: a ragged row, a cell
/// that is not a finite number, a first line that is neither a header nor
/// a row, an empty file.
pub fn read_table(path: &Path, header: Header) -> Result<Table> {
    read_table_within(path, header, &ReadLimits::from_env())
}

/// [`read_table`] within `limits`: the file's size is checked before it is
/// read, the cells as they are.
pub fn read_table_within(path: &Path, header: Header, limits: &ReadLimits) -> Result<Table> {
    let size = std::fs::metadata(path).map_err(|e| unreadable(path, e))?.len();
    limits.check_bytes(size, "the file").map_err(|problem| InputError::new(path, problem))?;
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(path, e))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()).peekable();
    let Some(&(first_index, first)) = lines.peek() else {
        return Err(InputError::new(path, "empty file"));
    };
    let cells: Vec<&str> = first.split(',').collect();
    let numbers = cells.iter().filter(|c| number(c).is_some()).count();
    let has_header = match header {
        Header::Present => true,
        Header::Absent => false,
        Header::Detect if numbers == 0 => true,
        Header::Detect if numbers == cells.len() => false,
        Header::Detect => {
            return Err(InputError::at_line(
                path,
                first_index + 1,
                format!(
                    "{numbers} of its {} cells are numbers: neither a header (names only) nor a row (numbers only)",
                    cells.len()
                ),
            ));
        }
    };
    let names: Option<Vec<String>> = has_header.then(|| {
        lines.next();
        cells.iter().map(|c| c.trim().trim_matches('"').to_string()).collect()
    });
    let columns = cells.len();
    let mut values = Vec::new();
    let mut rows = 0;
    for (index, line) in lines {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != columns {
            return Err(InputError::at_line(
                path,
                index + 1,
                format!("{} cells, {} in the first line", cells.len(), columns),
            ));
        }
        if values.len() + columns > limits.values {
            return Err(InputError::new(
                path,
                format!("more than the limit of {} values (BLINDFOLD_MAX_INPUT_VALUES)", limits.values),
            ));
        }
        for (column, cell) in cells.iter().enumerate() {
            // The cell itself is not quoted: a table's values are private.
            let value = number(cell).filter(|v| v.is_finite()).ok_or_else(|| {
                let name = names.as_ref().map_or_else(|| format!("{column}"), |n| format!("'{}'", n[column]));
                InputError::at_line(path, index + 1, format!("column {name}: not a finite number"))
            })?;
            values.push(value);
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(InputError::new(path, "a header but no rows"));
    }
    Ok(Table { header: names, columns, rows, values })
}
