//! Patient search on a chain (50 clinics, 1,000,000 patients), as the owner
//! of every clinic: 200 searches drawn from the data (family names, given
//! and family names, three-letter prefixes, phone numbers, birth dates),
//! each a first page of 20 with its count, on SQLite and on PostgreSQL.
//! Goal (issue #14): p99 under 50 ms.
//!
//! Run: cargo bench -p needlepoint-store --bench search
//! (where the chain is kept: see `chain/mod.rs`).

mod chain;

use chain::{timed, Figures};
use needlepoint_store::generate::Rng;
use needlepoint_store::Store;
use std::sync::Arc;
use std::time::Duration;

const SEARCHES: usize = 200;

/// Searches as the front desk types them, from patients picked at random.
async fn searches(store: &Arc<dyn Store>, patients: i64) -> Vec<(&'static str, String)> {
    let mut rng = Rng::new(7);
    let mut out = vec![];
    while out.len() < SEARCHES {
        let id = 1 + rng.below(patients as u64) as i64;
        let Ok(p) = store.patient(id).await else {
            continue;
        };
        let d = &p.details;
        let dob = d.date_of_birth;
        out.push(match out.len() % 5 {
            0 => ("family name", d.family_name.clone()),
            1 => (
                "given and family",
                format!("{} {}", d.given_name, d.family_name),
            ),
            2 => ("3-letter prefix", d.family_name.chars().take(3).collect()),
            3 => match &d.phone {
                Some(phone) => ("phone", phone.clone()),
                None => ("birth date", dob.to_string()),
            },
            _ => (
                "birth date",
                format!("{:02}/{:02}/{}", dob.day(), dob.month(), dob.year()),
            ),
        });
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let s = chain::scale();
    let mut results = vec![];
    for (name, store) in chain::chains().await {
        let owner = chain::owner(&store).await;
        let queries = searches(&store, s.patients as i64).await;
        // Warm the cache as a running server would be.
        for (_, q) in queries.iter().take(20) {
            store
                .search_patients(owner.id, None, q, 20, None)
                .await
                .unwrap();
        }
        let mut times = vec![];
        let mut slowest = (Duration::ZERO, String::new());
        let mut empty = 0;
        for (kind, q) in &queries {
            let (t, page) = timed(store.search_patients(owner.id, None, q, 20, None)).await;
            let page = page.unwrap();
            empty += usize::from(page.patients.is_empty());
            if t > slowest.0 {
                slowest = (t, format!("{kind} {q:?}: {} found", page.total));
            }
            times.push(t);
        }
        assert_eq!(empty, 0, "every search finds the patient it came from");
        results.push((name, Figures::of(times), slowest));
    }
    println!(
        "\nPatient search, {SEARCHES} searches from the data, as the owner of {} clinics with {} patients \
         (first page of 20 and the count up to 1,000):",
        s.clinics, s.patients
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10}  slowest",
        "database", "median", "p95", "p99", "max"
    );
    for (name, f, slowest) in &results {
        println!(
            "{:<12} {:>10.2?} {:>10.2?} {:>10.2?} {:>10.2?}  {}",
            name, f.median, f.p95, f.p99, f.max, slowest.1
        );
    }
    for (name, f, _) in &results {
        let meets = f.p99 < Duration::from_millis(50);
        println!(
            "{name}: p99 {} the 50 ms goal",
            if meets { "meets" } else { "MISSES" }
        );
    }
}
