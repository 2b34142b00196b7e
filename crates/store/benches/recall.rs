//! The recall query on a chain: every patient and session that used one
//! lot, on generated data (50 clinics, 1,000,000 patients, 5,000,000
//! sessions; `needlepoint generate` makes the same), on SQLite and on
//! PostgreSQL. Goal (issue #6): under 50 ms.
//!
//! Run: cargo bench -p needlepoint-store --bench recall
//! (where the chain is kept: see `chain/mod.rs`).

mod chain;

use chain::{timed, Figures};
use needlepoint_domain::charting::SupplyKind;
use needlepoint_store::generate::Rng;
use needlepoint_store::Store;
use std::sync::Arc;
use std::time::Duration;

const QUERIES: usize = 300;

/// The chain's cartridge lots.
async fn cartridge_lots(store: &Arc<dyn Store>) -> Vec<i64> {
    let owner = chain::owner(store).await;
    let mut out = vec![];
    for c in store.clinics_for_staff(owner.id).await.unwrap() {
        for l in store.lots(c.id).await.unwrap() {
            if l.kind == SupplyKind::Cartridge {
                out.push(l.id);
            }
        }
    }
    out
}

async fn measure(store: &Arc<dyn Store>) -> (Figures, f64) {
    let lots = cartridge_lots(store).await;
    assert!(!lots.is_empty(), "the chain has cartridge lots");
    // A recall is of a lot that was used; a lot received and never opened
    // has nobody to find.
    let mut used = vec![];
    for lot in &lots {
        if !store.lot_uses(*lot).await.unwrap().is_empty() {
            used.push(*lot);
        }
    }
    assert!(used.len() * 10 >= lots.len() * 9, "most lots were used");
    let lots = used;
    let mut rng = Rng::new(42);
    // Warm the cache as a running server would be.
    for _ in 0..20 {
        store
            .lot_uses(lots[rng.below(lots.len() as u64) as usize])
            .await
            .unwrap();
    }
    let mut times = vec![];
    let mut rows = 0usize;
    for _ in 0..QUERIES {
        let lot = lots[rng.below(lots.len() as u64) as usize];
        let (t, uses) = timed(store.lot_uses(lot)).await;
        times.push(t);
        rows += uses.unwrap().len();
    }
    (Figures::of(times), rows as f64 / QUERIES as f64)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut results = vec![];
    for (name, store) in chain::chains().await {
        results.push((name, measure(&store).await));
    }
    let s = chain::scale();
    println!(
        "\nRecall query (every session and patient that used one cartridge lot), {} random lots \
         of a chain of {} clinics, {} patients, {} sessions:",
        QUERIES, s.clinics, s.patients, s.sessions
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>14}",
        "database", "median", "p95", "p99", "max", "rows per lot"
    );
    for (name, (f, rows)) in &results {
        println!(
            "{:<12} {:>10.2?} {:>10.2?} {:>10.2?} {:>10.2?} {:>14.0}",
            name, f.median, f.p95, f.p99, f.max, rows
        );
    }
    let goal = Duration::from_millis(50);
    for (name, (f, _)) in &results {
        println!(
            "{name}: p95 {} the 50 ms goal",
            if f.p95 < goal { "meets" } else { "MISSES" }
        );
    }
}
