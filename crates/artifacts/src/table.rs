//! Typed column tables: what experiments produce, what cells cache and what CSVs hold.

use serde::{Deserialize, Serialize};

/// One column of values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Column {
    /// Floating-point values (cached as bit patterns, so NaN and every bit survive JSON).
    F64(#[serde(with = "f64_bits")] Vec<f64>),
    /// Integer values.
    I64(Vec<i64>),
    /// Text values.
    Str(Vec<String>),
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::F64(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn extend(&mut self, other: &Column) -> bool {
        match (self, other) {
            (Column::F64(a), Column::F64(b)) => a.extend_from_slice(b),
            (Column::I64(a), Column::I64(b)) => a.extend_from_slice(b),
            (Column::Str(a), Column::Str(b)) => a.extend_from_slice(b),
            _ => return false,
        }
        true
    }
}

/// Serialises floats by their IEEE bit patterns.
mod f64_bits {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<u64>::deserialize(d)?.into_iter().map(f64::from_bits).collect())
    }
}

/// A named table: equal-length named columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The columns in order.
    pub columns: Vec<(String, Column)>,
}

/// Tables by name (the CSV file stem), in output order.
pub type Tables = Vec<(String, Table)>;

/// The table named `name` among `tables`, or an error naming it.
pub fn find<'a>(tables: &'a Tables, name: &str) -> anyhow::Result<&'a Table> {
    tables
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .ok_or_else(|| anyhow::anyhow!("no `{name}` table"))
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Table::default()
    }

    /// Adds a float column.
    pub fn f64(mut self, name: &str, values: Vec<f64>) -> Self {
        self.columns.push((name.to_string(), Column::F64(values)));
        self
    }

    /// Adds an integer column.
    pub fn i64(mut self, name: &str, values: Vec<i64>) -> Self {
        self.columns.push((name.to_string(), Column::I64(values)));
        self
    }

    /// Adds a text column.
    pub fn str(mut self, name: &str, values: Vec<String>) -> Self {
        self.columns.push((name.to_string(), Column::Str(values)));
        self
    }

    /// Number of rows (0 for no columns).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// A float column by name (integers are converted).
    pub fn f64_column(&self, name: &str) -> Option<Vec<f64>> {
        match self.column(name)? {
            Column::F64(v) => Some(v.clone()),
            Column::I64(v) => Some(v.iter().map(|&x| x as f64).collect()),
            Column::Str(_) => None,
        }
    }

    /// A text column by name, or an error naming it.
    pub fn strings(&self, name: &str) -> anyhow::Result<Vec<String>> {
        match self.column(name) {
            Some(Column::Str(v)) => Ok(v.clone()),
            Some(_) => anyhow::bail!("column `{name}` is not text"),
            None => anyhow::bail!("the table has no column `{name}`"),
        }
    }

    /// A float column by name (integers converted), or an error naming it.
    pub fn numbers(&self, name: &str) -> anyhow::Result<Vec<f64>> {
        self.f64_column(name).ok_or_else(|| anyhow::anyhow!("the table has no numeric column `{name}`"))
    }

    /// Appends the rows of a table with the same columns; false when the columns differ.
    pub fn append(&mut self, other: &Table) -> bool {
        if self.columns.is_empty() {
            *self = other.clone();
            return true;
        }
        if self.columns.len() != other.columns.len() || self.columns.iter().zip(&other.columns).any(|((a, _), (b, _))| a != b) {
            return false;
        }
        self.columns.iter_mut().zip(&other.columns).all(|((_, a), (_, b))| a.extend(b))
    }

    /// Checks that every column has the same length.
    pub fn is_rectangular(&self) -> bool {
        self.columns.iter().all(|(_, c)| c.len() == self.rows())
    }
}

/// Concatenates per-cell tables by name, in cell order.
pub fn concat(parts: &[Tables]) -> Result<Tables, String> {
    let mut out: Tables = Vec::new();
    for part in parts {
        for (name, t) in part {
            match out.iter_mut().find(|(n, _)| n == name) {
                Some((_, acc)) => {
                    if !acc.append(t) {
                        return Err(format!("table `{name}`: cells produced different columns"));
                    }
                }
                None => out.push((name.clone(), t.clone())),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_nan_and_every_bit() {
        let t = Table::new().f64("v", vec![f64::NAN, 0.1, -0.0, 1e-310]);
        let back: Table = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        let (a, b) = (t.f64_column("v").unwrap(), back.f64_column("v").unwrap());
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }

    #[test]
    fn concat_in_order_and_rejects_mismatch() {
        let a = vec![("x".to_string(), Table::new().f64("v", vec![1.0]).str("s", vec!["a".into()]))];
        let b = vec![("x".to_string(), Table::new().f64("v", vec![2.0]).str("s", vec!["b".into()]))];
        let c = concat(&[a.clone(), b]).unwrap();
        assert_eq!(c[0].1.f64_column("v").unwrap(), vec![1.0, 2.0]);
        let bad = vec![("x".to_string(), Table::new().f64("w", vec![2.0]))];
        assert!(concat(&[a, bad]).is_err());
    }
}
