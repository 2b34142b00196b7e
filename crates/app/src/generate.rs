//! `needlepoint generate`: fills an empty database with a generated chain
//! for benchmarks, with a progress bar on the terminal.

use needlepoint_store::generate::{Progress, Scale};
use needlepoint_store::Store;
use std::io::Write;
use std::time::Instant;

/// One line, redrawn in place: bar, share, counts, time so far and left.
pub fn bar(p: Progress, sessions_per_patient: f64, elapsed: std::time::Duration) -> String {
    let share = p.done as f64 / p.total.max(1) as f64;
    let filled = (share * 30.0).round() as usize;
    let left = if p.done == 0 {
        0.0
    } else {
        elapsed.as_secs_f64() * (1.0 - share) / share
    };
    let mmss = |s: f64| format!("{:02}:{:02}", (s as u64) / 60, (s as u64) % 60);
    format!(
        "[{}{}] {:>3.0}%  {} / {} patients, ~{} sessions  {} elapsed, ~{} left",
        "#".repeat(filled),
        ".".repeat(30 - filled),
        share * 100.0,
        p.done,
        p.total,
        (p.done as f64 * sessions_per_patient) as u64,
        mmss(elapsed.as_secs_f64()),
        mmss(left)
    )
}

pub async fn run(store: &dyn Store, scale: Scale) -> anyhow::Result<()> {
    let start = Instant::now();
    let per = scale.sessions as f64 / scale.patients.max(1) as f64;
    eprintln!(
        "Generating {} clinics, {} patients, {} sessions into {}…",
        scale.clinics,
        scale.patients,
        scale.sessions,
        store.backend().name()
    );
    let draw = move |p: Progress| {
        eprint!("\r{}", bar(p, per, start.elapsed()));
        let _ = std::io::stderr().flush();
    };
    let made = store.generate(&scale, &draw).await?;
    eprintln!();
    println!(
        "Generated {} clinics, {} patients and {} signed sessions using {} cartridge lots in {:.0} s.",
        made.clinic_ids.len(),
        made.patients,
        made.sessions,
        made.cartridge_lots.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_and_estimates() {
        let b = bar(
            Progress {
                done: 250,
                total: 1000,
            },
            5.0,
            std::time::Duration::from_secs(60),
        );
        assert!(
            b.starts_with("[########......................]  25%"),
            "{b}"
        );
        assert!(b.contains("250 / 1000 patients, ~1250 sessions"));
        assert!(b.contains("01:00 elapsed, ~03:00 left"), "{b}");
    }
}
