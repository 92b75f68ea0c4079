//! Typed access to an experiment's parameters; every error names the key.

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Value;

/// The final parameters of a run (file, then environment, then `--set`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Params(pub BTreeMap<String, Value>);

/// The declared type of a value, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Integer(_) => "integer",
        Value::Float(_) => "number",
        Value::Boolean(_) => "boolean",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Table(_) => "table",
        Value::Datetime(_) => "datetime",
    }
}

impl Params {
    fn get(&self, key: &str) -> Result<&Value> {
        self.0.get(key).ok_or_else(|| {
            anyhow!(
                "parameter `{key}` is not declared (declared: {})",
                self.0.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// A number (integers are accepted).
    pub fn f64(&self, key: &str) -> Result<f64> {
        match self.get(key)? {
            Value::Float(x) => Ok(*x),
            Value::Integer(i) => Ok(*i as f64),
            v => bail!("parameter `{key}` must be a number, found {}", type_name(v)),
        }
    }

    /// A non-negative integer.
    pub fn usize(&self, key: &str) -> Result<usize> {
        match self.get(key)? {
            Value::Integer(i) if *i >= 0 => Ok(*i as usize),
            v => bail!("parameter `{key}` must be a non-negative integer, found {v}"),
        }
    }

    /// A 64-bit unsigned integer (seeds).
    pub fn u64(&self, key: &str) -> Result<u64> {
        self.usize(key).map(|v| v as u64)
    }

    /// A boolean.
    pub fn bool(&self, key: &str) -> Result<bool> {
        match self.get(key)? {
            Value::Boolean(b) => Ok(*b),
            v => bail!("parameter `{key}` must be a boolean, found {}", type_name(v)),
        }
    }

    /// A string.
    pub fn str(&self, key: &str) -> Result<&str> {
        match self.get(key)? {
            Value::String(s) => Ok(s),
            v => bail!("parameter `{key}` must be a string, found {}", type_name(v)),
        }
    }

    /// A list of numbers.
    pub fn f64_list(&self, key: &str) -> Result<Vec<f64>> {
        match self.get(key)? {
            Value::Array(a) => a
                .iter()
                .map(|v| match v {
                    Value::Float(x) => Ok(*x),
                    Value::Integer(i) => Ok(*i as f64),
                    v => bail!("parameter `{key}` must be a list of numbers, found an element {v}"),
                })
                .collect(),
            v => bail!("parameter `{key}` must be a list of numbers, found {}", type_name(v)),
        }
    }

    /// A list of non-negative integers.
    pub fn usize_list(&self, key: &str) -> Result<Vec<usize>> {
        match self.get(key)? {
            Value::Array(a) => a
                .iter()
                .map(|v| match v {
                    Value::Integer(i) if *i >= 0 => Ok(*i as usize),
                    v => bail!("parameter `{key}` must be a list of non-negative integers, found an element {v}"),
                })
                .collect(),
            v => bail!("parameter `{key}` must be a list of integers, found {}", type_name(v)),
        }
    }

    /// A list of strings.
    pub fn str_list(&self, key: &str) -> Result<Vec<String>> {
        match self.get(key)? {
            Value::Array(a) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    v => bail!("parameter `{key}` must be a list of strings, found an element {v}"),
                })
                .collect(),
            v => bail!("parameter `{key}` must be a list of strings, found {}", type_name(v)),
        }
    }
}
