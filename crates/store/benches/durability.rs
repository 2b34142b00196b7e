//! What `synchronous = FULL` costs: committed patient records per second on
//! SQLite with FULL (the default: an acknowledged write survives a power cut)
//! against NORMAL (consistent, but the last commits can be lost), and on
//! PostgreSQL when NEEDLEPOINT_TEST_DATABASE_URL (or the local server) answers.
//!
//! Run: cargo bench -p needlepoint-store --bench durability
//! Each write is one transaction with its audit row, as the app does it.

use needlepoint_domain::PatientInput;
use needlepoint_store::testing::{fresh_store_at, seed, temp_dir, TestBackend};
use needlepoint_store::{open_sqlite, Actor, SqliteDurability, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WRITES: usize = 500;
const ROUNDS: usize = 5;

fn details() -> needlepoint_domain::PatientDetails {
    PatientInput {
        given_name: "Bench".into(),
        family_name: "Mark".into(),
        date_of_birth: "1990-01-01".into(),
        ..Default::default()
    }
    .validate(jiff::civil::date(2026, 1, 1))
    .unwrap()
}

/// Median time per committed write over several rounds, and writes per second.
async fn measure(store: Arc<dyn Store>) -> (Duration, f64) {
    let s = seed(store).await;
    let d = details();
    let actor = Actor::system("bench");
    let mut per_write = vec![];
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..WRITES {
            s.store
                .create_patient(s.clinic_id, &d, &actor, needlepoint_store::now())
                .await
                .unwrap();
        }
        per_write.push(start.elapsed() / WRITES as u32);
    }
    per_write.sort();
    let median = per_write[ROUNDS / 2];
    (median, 1.0 / median.as_secs_f64())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("{WRITES} sequential patient creations (each a transaction with its audit row), median of {ROUNDS} rounds");
    println!("{:<34} {:>14} {:>14}", "database", "per write", "writes/s");
    for (name, durability) in [
        ("SQLite, synchronous=FULL", SqliteDurability::Full),
        ("SQLite, synchronous=NORMAL", SqliteDurability::Normal),
    ] {
        let path = temp_dir("bench").join("bench.sqlite3");
        let store = open_sqlite(&path, durability).await.unwrap();
        let (t, rate) = measure(store).await;
        println!("{name:<34} {:>11.1} µs {rate:>14.0}", t.as_secs_f64() * 1e6);
    }
    let pg = tokio::time::timeout(
        Duration::from_secs(10),
        fresh_store_at(TestBackend::Postgres),
    )
    .await;
    match pg {
        Ok((store, _)) => {
            let (t, rate) = measure(store).await;
            println!(
                "{:<34} {:>11.1} µs {rate:>14.0}",
                "PostgreSQL (server defaults)",
                t.as_secs_f64() * 1e6
            );
        }
        Err(_) => println!("PostgreSQL: no server answered; skipped"),
    }
}
