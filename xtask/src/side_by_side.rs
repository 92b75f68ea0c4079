//! The side-by-side table printed after a run: quantity, paper, ours, tolerance, verdict.

use crate::pipeline::{Finished, SummaryRow};

fn ours_text(r: &SummaryRow) -> String {
    let v = if r.ours.is_finite() && r.ours != 0.0 && (r.ours.abs() < 1e-3 || r.ours.abs() >= 1e5) {
        format!("{:.4e}", r.ours)
    } else {
        format!("{:.4}", r.ours)
    };
    if r.se.is_finite() {
        format!("{v} ± {:.2e}", r.se)
    } else {
        v
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// Renders the side-by-side table and the notes of a finished run.
pub fn render(f: &Finished) -> String {
    let mut s = format!("\n{} — {} [tier {}]\n", f.decl.id, f.decl.title, f.tier.as_str());
    s += &format!("{:<46} {:<28} {:<24} {:<16} {}\n", "quantity", "paper", "ours", "tolerance", "verdict");
    s += &format!("{}\n", "-".repeat(140));
    for r in f.rows.iter().filter(|r| r.verdict != "no reference") {
        s += &format!(
            "{:<46} {:<28} {:<24} {:<16} {}\n",
            clip(&r.quantity, 46),
            clip(&r.paper, 28),
            ours_text(r),
            clip(&r.tolerance, 16),
            r.verdict
        );
    }
    let other: Vec<&SummaryRow> = f.rows.iter().filter(|r| r.verdict == "no reference").collect();
    if !other.is_empty() {
        s += "\nother computed quantities (no paper value):\n";
        for r in other {
            s += &format!("  {:<50} {}\n", r.key, ours_text(r));
        }
    }
    if !f.decl.notes.is_empty() {
        s += &format!("\nreading of the sources: {}\n", f.decl.notes.trim());
    }
    for n in &f.notes {
        s += &format!("note: {n}\n");
    }
    s += &format!("\nwrote {} files in {:.1} s\n", f.outputs.len(), f.wall_s);
    s
}
