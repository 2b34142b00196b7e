//! The recall query on a chain: every patient and session that used one
//! lot, on generated data (50 clinics, 1,000,000 patients, 5,000,000
//! sessions; `needlepoint generate` makes the same), on SQLite and on
//! PostgreSQL. Goal (issue #6): under 50 ms.
//!
//! Run: cargo bench -p needlepoint-store --bench recall
//!
//! The chain is generated once and kept: SQLite in NEEDLEPOINT_BENCH_DIR
//! (default `target/bench-chain`), PostgreSQL in the database
//! NEEDLEPOINT_BENCH_DATABASE_URL (default: a `needlepoint_bench` database
//! on the local server, created when missing). NEEDLEPOINT_BENCH_SCALE=small
//! generates a tenth of the chain, for a quick look.

use needlepoint_domain::charting::SupplyKind;
use needlepoint_store::generate::{Rng, Scale};
use needlepoint_store::{open_postgres, open_sqlite, SqliteDurability, Store};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

const QUERIES: usize = 300;

fn scale() -> Scale {
    let mut s = Scale::chain(needlepoint_store::now());
    if std::env::var("NEEDLEPOINT_BENCH_SCALE").as_deref() == Ok("small") {
        s.patients /= 10;
        s.sessions /= 10;
    }
    s
}

/// Generates the chain into `store` unless it is already there.
async fn ensure_chain(store: &Arc<dyn Store>, name: &str) {
    if store.owner_exists().await.unwrap() {
        println!("{name}: reusing the chain already generated");
        return;
    }
    let scale = scale();
    let start = Instant::now();
    store
        .generate(&scale, &|p| {
            eprint!("\r{name}: generating {} / {} patients", p.done, p.total);
            let _ = std::io::stderr().flush();
        })
        .await
        .unwrap();
    eprintln!();
    println!(
        "{name}: generated {} patients and {} sessions in {:.0} s",
        scale.patients,
        scale.sessions,
        start.elapsed().as_secs_f64()
    );
}

/// The chain's cartridge lots.
async fn cartridge_lots(store: &Arc<dyn Store>) -> Vec<i64> {
    let org = store.organisation().await.unwrap().unwrap();
    let owner = store
        .list_staff(org.id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.role == needlepoint_domain::Role::Owner)
        .unwrap();
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

struct Figures {
    median: Duration,
    p95: Duration,
    max: Duration,
    rows: f64,
}

async fn measure(store: &Arc<dyn Store>) -> Figures {
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
        let start = Instant::now();
        let uses = store.lot_uses(lot).await.unwrap();
        times.push(start.elapsed());
        rows += uses.len();
    }
    times.sort();
    Figures {
        median: times[QUERIES / 2],
        p95: times[QUERIES * 95 / 100],
        max: times[QUERIES - 1],
        rows: rows as f64 / QUERIES as f64,
    }
}

async fn postgres_url() -> String {
    if let Ok(url) = std::env::var("NEEDLEPOINT_BENCH_DATABASE_URL") {
        return url;
    }
    let admin = "postgres://postgres@127.0.0.1:5432/postgres";
    let pool = sqlx::PgPool::connect(admin)
        .await
        .expect("a PostgreSQL server on 127.0.0.1:5432, or NEEDLEPOINT_BENCH_DATABASE_URL");
    let exists: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = 'needlepoint_bench'")
            .fetch_optional(&pool)
            .await
            .unwrap();
    if exists.is_none() {
        sqlx::query("CREATE DATABASE needlepoint_bench")
            .execute(&pool)
            .await
            .unwrap();
    }
    "postgres://postgres@127.0.0.1:5432/needlepoint_bench".into()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = std::env::var("NEEDLEPOINT_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-chain")
        });
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = open_sqlite(&dir.join("needlepoint.sqlite3"), SqliteDurability::Full)
        .await
        .unwrap();
    let postgres = open_postgres(&postgres_url().await).await.unwrap();
    let mut results = vec![];
    for (name, store) in [("SQLite", sqlite), ("PostgreSQL", postgres)] {
        ensure_chain(&store, name).await;
        results.push((name, measure(&store).await));
    }
    let s = scale();
    println!(
        "\nRecall query (every session and patient that used one cartridge lot), {} random lots \
         of a chain of {} clinics, {} patients, {} sessions:",
        QUERIES, s.clinics, s.patients, s.sessions
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>14}",
        "database", "median", "p95", "max", "rows per lot"
    );
    for (name, f) in &results {
        println!(
            "{:<12} {:>10.2?} {:>10.2?} {:>10.2?} {:>14.0}",
            name, f.median, f.p95, f.max, f.rows
        );
    }
    let goal = Duration::from_millis(50);
    for (name, f) in &results {
        println!(
            "{name}: p95 {} the 50 ms goal",
            if f.p95 < goal { "meets" } else { "MISSES" }
        );
    }
}
