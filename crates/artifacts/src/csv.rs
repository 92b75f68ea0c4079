//! CSV files through polars: tables out (atomically), tables back in for the regression check.

use crate::atomic::write_atomic_with;
use crate::table::{Column, Table};
use anyhow::{bail, Context, Result};
use polars::prelude::{CsvReadOptions, CsvWriter, DataFrame, DataType, SerReader, SerWriter};
use std::path::Path;

/// Writes a table as CSV with a header; floats keep full round-trip precision.
pub fn write_csv(table: &Table, path: &Path) -> Result<()> {
    if !table.is_rectangular() {
        bail!("table for {} has columns of different lengths", path.display());
    }
    let cols: Vec<polars::prelude::Column> = table
        .columns
        .iter()
        .map(|(name, c)| match c {
            Column::F64(v) => polars::prelude::Column::new(name.as_str().into(), v.as_slice()),
            Column::I64(v) => polars::prelude::Column::new(name.as_str().into(), v.as_slice()),
            Column::Str(v) => polars::prelude::Column::new(name.as_str().into(), v.as_slice()),
        })
        .collect();
    let mut df = DataFrame::new_infer_height(cols).with_context(|| format!("building the table for {}", path.display()))?;
    write_atomic_with(path, |f| CsvWriter::new(f).include_header(true).finish(&mut df).map_err(Into::into))
}

/// Reads a CSV written by [`write_csv`] back into a table (floats, integers and text).
pub fn read_csv(path: &Path) -> Result<Table> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(None)
        .try_into_reader_with_file_path(Some(path.into()))
        .and_then(|r| r.finish())
        .with_context(|| format!("reading {}", path.display()))?;
    let mut t = Table::new();
    for c in df.columns() {
        let name = c.name().as_str();
        let s = c.as_materialized_series();
        t = match s.dtype() {
            DataType::Float64 | DataType::Float32 => t.f64(name, s.cast(&DataType::Float64)?.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect()),
            DataType::Int64 | DataType::Int32 | DataType::UInt32 | DataType::UInt64 => {
                t.i64(name, s.cast(&DataType::Int64)?.i64()?.iter().map(|v| v.unwrap_or(0)).collect())
            }
            _ => t.str(name, s.cast(&DataType::String)?.str()?.iter().map(|v| v.unwrap_or("").to_string()).collect()),
        };
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_bit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let xs = vec![0.1, 1.0 / 3.0, 1e-300, -2.5e17, std::f64::consts::PI];
        let t = Table::new()
            .f64("x", xs.clone())
            .i64("n", vec![1, 2, 3, 4, 5])
            .str("s", vec!["a".into(), "b,c".into(), "".into(), "d".into(), "e".into()]);
        write_csv(&t, &p).unwrap();
        let back = read_csv(&p).unwrap();
        assert_eq!(back.f64_column("x").unwrap(), xs);
        assert_eq!(back.column("n"), t.column("n"));
    }
}
