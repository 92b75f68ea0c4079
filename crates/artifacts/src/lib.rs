//! Experiment outputs: typed tables written as CSV with polars, sha256 manifests, atomic writes.

pub mod atomic;
pub mod csv;
pub mod manifest;
pub mod table;

pub use atomic::write_atomic;
pub use manifest::{sha256_hex, Manifest};
pub use table::{Column, Table, Tables};
