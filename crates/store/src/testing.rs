//! Fresh databases for tests: a new SQLite file, or a new schema in the
//! PostgreSQL server named by `NEEDLEPOINT_TEST_DATABASE_URL`.
//!
//! PostgreSQL tests never skip: without a server they fail, saying how to get
//! one (`scripts/test` starts one when none answers).

use crate::{open_postgres, open_sqlite, Actor, NewStaff, SqliteDurability, Store};
use jiff::Timestamp;
use needlepoint_domain::{ClinicDetails, Role};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A folder under the system's temporary folder, new for each call.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("needlepoint_{prefix}")));
    std::fs::create_dir_all(&dir).expect("create temporary folder");
    dir
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

pub async fn fresh_store(backend: TestBackend) -> Arc<dyn Store> {
    fresh_store_at(backend).await.0
}

/// A fresh store and where it lives: an SQLite file path or a PostgreSQL URL,
/// for tests that must reach under the store (to prove the database itself
/// refuses something) or open it a second time.
pub async fn fresh_store_at(backend: TestBackend) -> (Arc<dyn Store>, String) {
    match backend {
        TestBackend::Sqlite => {
            let path = temp_dir("sqlite").join("test.sqlite3");
            let store = open_sqlite(&path, SqliteDurability::Normal)
                .await
                .expect("open a fresh SQLite database");
            (store, path.to_string_lossy().into_owned())
        }
        TestBackend::Postgres => {
            let url = fresh_postgres_url().await;
            let store = open_postgres(&url)
                .await
                .expect("open a fresh PostgreSQL schema");
            (store, url)
        }
    }
}

/// The URL of the PostgreSQL server for tests.
pub fn test_database_url() -> String {
    std::env::var("NEEDLEPOINT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_string())
}

/// A URL for a new, empty schema on the test server.
pub async fn fresh_postgres_url() -> String {
    let url = test_database_url();
    let schema = unique("t");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL tests need a server and none answered at {url}: {e}.\n\
                 Run scripts/test (it starts one), or set NEEDLEPOINT_TEST_DATABASE_URL."
            )
        });
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .expect("create test schema");
    pool.close().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// A store that has been set up: organisation, one clinic, one owner.
pub struct Seeded {
    pub store: Arc<dyn Store>,
    pub organisation_id: i64,
    pub clinic_id: i64,
    pub owner_id: i64,
}

pub fn now() -> Timestamp {
    crate::now()
}

pub async fn seeded(backend: TestBackend) -> Seeded {
    seed(fresh_store(backend).await).await
}

/// Sets up an empty store with an organisation, a clinic and an owner.
pub async fn seed(store: Arc<dyn Store>) -> Seeded {
    let clinic = ClinicDetails::parse("Harbour Clinic", "Europe/London", "", "").unwrap();
    let owner = NewStaff {
        organisation_id: 0,
        email: "owner@example.com".into(),
        name: "Olive Owner".into(),
        role: Role::Owner,
        password_hash: "not-a-real-hash".into(),
        practitioner: None,
        clinic_ids: vec![],
    };
    let (org, clinic, staff) = store
        .setup("Test Org", &clinic, &owner, &Actor::system("test"), now())
        .await
        .expect("setup");
    Seeded {
        store,
        organisation_id: org.id,
        clinic_id: clinic.id,
        owner_id: staff.id,
    }
}
