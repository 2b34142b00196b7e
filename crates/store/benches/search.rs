//! Patient search on a chain (50 clinics, 1,000,000 patients): 200 searches
//! drawn from the data (family names, given and family names, three-letter
//! prefixes, phone numbers, birth dates), each a first page of 20 with its
//! count, on SQLite and on PostgreSQL; as the owner of every clinic (the
//! issue's goal: p99 under 50 ms) and within one clinic, as its front desk
//! searches.
//!
//! Run: cargo bench -p needlepoint-store --bench search
//! (NEEDLEPOINT_BENCH_BACKENDS=sqlite for one database only; where the chain
//! is kept: see `chain/mod.rs`).

mod chain;

use chain::{timed, Figures};
use needlepoint_store::generate::Rng;
use needlepoint_store::Store;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const SEARCHES: usize = 200;

/// Searches as the front desk types them, from patients picked at random
/// (from the first clinic's when `clinic` is given).
async fn searches(
    store: &Arc<dyn Store>,
    patients: i64,
    clinic: Option<i64>,
) -> Vec<(&'static str, String)> {
    let mut rng = Rng::new(7);
    let mut out = vec![];
    while out.len() < SEARCHES {
        let id = 1 + rng.below(patients as u64) as i64;
        let Ok(p) = store.patient(id).await else {
            continue;
        };
        if clinic.is_some_and(|c| c != p.clinic_id) {
            continue;
        }
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

struct Run {
    figures: Figures,
    /// The slowest searches, slowest first.
    slowest: Vec<(Duration, String)>,
    /// Median and maximum per kind of search.
    kinds: BTreeMap<&'static str, Figures>,
}

async fn run(
    store: &Arc<dyn Store>,
    staff_id: i64,
    clinic: Option<i64>,
    queries: &[(&'static str, String)],
) -> Run {
    // Warm the cache as a running server would be.
    for (_, q) in queries.iter().take(20) {
        store
            .search_patients(staff_id, clinic, q, 20, None)
            .await
            .unwrap();
    }
    let mut times = vec![];
    let mut each = vec![];
    let mut kinds: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    for (kind, q) in queries {
        let (t, page) = timed(store.search_patients(staff_id, clinic, q, 20, None)).await;
        let page = page.unwrap();
        assert!(
            !page.patients.is_empty(),
            "{kind} {q:?} finds the patient it came from"
        );
        if matches!(*kind, "family name" | "given and family") {
            let family = q.rsplit_once(' ').filter(|_| *kind != "family name");
            let family = family.map_or(q.as_str(), |(_, f)| f);
            assert!(
                page.patients[0].details.family_name.ends_with(family),
                "{kind} {q:?}: the family name first, not {}",
                page.patients[0].details.full_name()
            );
        }
        each.push((t, format!("{kind} {q:?}: {} found", page.total)));
        kinds.entry(kind).or_default().push(t);
        times.push(t);
    }
    each.sort_by_key(|e| std::cmp::Reverse(e.0));
    each.truncate(5);
    Run {
        figures: Figures::of(times),
        slowest: each,
        kinds: kinds
            .into_iter()
            .map(|(k, t)| (k, Figures::of(t)))
            .collect(),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let s = chain::scale();
    let mut results = vec![];
    for (name, store) in chain::chains().await {
        let owner = chain::owner(&store).await;
        let all = searches(&store, s.patients as i64, None).await;
        results.push((name, "all clinics", run(&store, owner.id, None, &all).await));
        let first = *store
            .staff_clinic_ids(owner.id)
            .await
            .unwrap()
            .first()
            .unwrap();
        let mine = searches(&store, s.patients as i64, Some(first)).await;
        let one = run(&store, owner.id, Some(first), &mine).await;
        results.push((name, "one clinic", one));
    }
    println!(
        "\nPatient search, {SEARCHES} searches from the data, {} clinics with {} patients \
         (first page of 20 and the count up to 1,000):",
        s.clinics, s.patients
    );
    println!(
        "{:<12} {:<12} {:>10} {:>10} {:>10} {:>10}",
        "database", "scope", "median", "p95", "p99", "max"
    );
    for (name, scope, r) in &results {
        let f = &r.figures;
        println!(
            "{:<12} {:<12} {:>10.2?} {:>10.2?} {:>10.2?} {:>10.2?}",
            name, scope, f.median, f.p95, f.p99, f.max
        );
    }
    for (name, scope, r) in &results {
        println!("\n{name}, {scope}: median / max by kind");
        for (kind, f) in &r.kinds {
            println!("  {kind:<18} {:>10.2?} {:>10.2?}", f.median, f.max);
        }
        println!("  slowest:");
        for (t, what) in &r.slowest {
            println!("  {t:>10.2?}  {what}");
        }
    }
    println!();
    for (name, scope, r) in &results {
        let meets = r.figures.p99 < Duration::from_millis(50);
        println!(
            "{name}, {scope}: p99 {} the 50 ms goal",
            if meets { "meets" } else { "MISSES" }
        );
    }
}
