//! The generated chain the benchmarks run on, made once and kept: SQLite in
//! NEEDLEPOINT_BENCH_DIR (default `target/bench-chain`), PostgreSQL in the
//! database NEEDLEPOINT_BENCH_DATABASE_URL (default: a `needlepoint_bench`
//! database on the local server, created when missing).
//! NEEDLEPOINT_BENCH_SCALE=small generates a tenth of the chain.

use needlepoint_store::generate::Scale;
use needlepoint_store::{open_postgres, open_sqlite, SqliteDurability, Store};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn scale() -> Scale {
    let mut s = Scale::chain(needlepoint_store::now());
    if std::env::var("NEEDLEPOINT_BENCH_SCALE").as_deref() == Ok("small") {
        s.patients /= 10;
        s.sessions /= 10;
    }
    s
}

/// Generates the chain into `store` unless it is already there.
pub async fn ensure_chain(store: &Arc<dyn Store>, name: &str) {
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

/// Where a backend's chain is kept: a SQLite file or a PostgreSQL URL.
pub enum Place {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

/// The folder the SQLite chain (and anything kept beside it) lives in.
pub fn dir() -> std::path::PathBuf {
    let dir = std::env::var("NEEDLEPOINT_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-chain")
        });
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Where the chain of `backend` ("sqlite" or "postgres") is kept.
pub async fn place(backend: &str) -> Place {
    match backend {
        "postgres" => Place::Postgres(postgres_url().await),
        _ => Place::Sqlite(dir().join("needlepoint.sqlite3")),
    }
}

/// Opens a chain's database as the server would (not generating it).
pub async fn open(place: &Place) -> Arc<dyn Store> {
    match place {
        Place::Sqlite(path) => open_sqlite(path, SqliteDurability::Full).await.unwrap(),
        Place::Postgres(url) => open_postgres(url).await.unwrap(),
    }
}

/// The chain of `backend`, generated where missing, and its display name.
pub async fn chain(backend: &str) -> (&'static str, Arc<dyn Store>) {
    let name = if backend == "postgres" {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let store = open(&place(backend).await).await;
    ensure_chain(&store, name).await;
    (name, store)
}

/// The chain on SQLite and on PostgreSQL, generated where missing
/// (NEEDLEPOINT_BENCH_BACKENDS=sqlite or postgres for one of them).
pub async fn chains() -> Vec<(&'static str, Arc<dyn Store>)> {
    let which =
        std::env::var("NEEDLEPOINT_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite postgres".into());
    let mut out = vec![];
    for backend in which.split_whitespace() {
        out.push(chain(backend).await);
    }
    out
}

/// The chain's owner, who sees every clinic.
pub async fn owner(store: &Arc<dyn Store>) -> needlepoint_store::Staff {
    let org = store.organisation().await.unwrap().unwrap();
    store
        .list_staff(org.id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.role == needlepoint_domain::Role::Owner)
        .unwrap()
}

/// Median, 95th and 99th percentile and maximum of some timings.
pub struct Figures {
    pub median: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Figures {
    pub fn of(mut times: Vec<Duration>) -> Figures {
        times.sort();
        let at = |q: usize| times[(times.len() * q / 100).min(times.len() - 1)];
        Figures {
            median: at(50),
            p95: at(95),
            p99: at(99),
            max: times[times.len() - 1],
        }
    }
}

/// Times one call.
pub async fn timed<T>(f: impl std::future::Future<Output = T>) -> (Duration, T) {
    let start = Instant::now();
    let out = f.await;
    (start.elapsed(), out)
}
