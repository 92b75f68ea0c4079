//! `cargo xtask list`: every declared experiment with its tiers, source and expected run time.

use crate::layout::Layout;
use anyhow::Result;

/// Prints the table of declared experiments.
pub fn list(layout: &Layout) -> Result<()> {
    let dir = layout.experiments();
    println!("{:<16} {:<14} {:>9}  {:<5}  {:<60}  source", "id", "tiers", "runtime", "quick", "title");
    for id in registry::ids(&dir)? {
        let d = registry::load(&dir, &id, &[])?;
        let tiers = d.tiers.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",");
        let runtime = if d.runtime_s < 120.0 {
            format!("{:.0} s", d.runtime_s)
        } else {
            format!("{:.0} min", d.runtime_s / 60.0)
        };
        println!(
            "{:<16} {:<14} {:>9}  {:<5}  {:<60}  {}",
            d.id,
            tiers,
            runtime,
            if d.quick() { "yes" } else { "no" },
            d.title,
            d.source
        );
    }
    Ok(())
}
