//! The experiment runner behind `cargo xtask`: list, reproduce (sharded, resumable), check, bless, report, datasets.

pub mod bench;
pub mod check;
pub mod layout;
pub mod list;
pub mod pipeline;
pub mod report;
pub mod side_by_side;
