//! The one implementation of [`Store`], for SQLite and for PostgreSQL. The
//! code is written once, in the files of `src/sql/` (one per area: the
//! core, screening, plans, scheduling, charting, generating), and included
//! into a module per backend where `Db` names its sqlx database. SQL is
//! written with `$N` placeholders (both drivers accept them); the few
//! statements that differ live in the per-backend `impl` blocks at the
//! bottom. (Generic code over `sqlx::Database` would need a bound for every
//! type bound and decoded; an include keeps the code plain.)

use crate::migrate::{Migration, POSTGRES, SQLITE};
use crate::types::{Day, Ts};
use crate::*;
use needlepoint_domain::appointment::{check_move, AppointmentStatus};
use needlepoint_domain::booking_rules::CancellationPolicy;
use needlepoint_domain::history::PatientHistory;
use needlepoint_domain::message_template::MessageTemplate;
use needlepoint_domain::patient_search;
use needlepoint_domain::plan::{Flag, Plan, PlanStatus};
use needlepoint_domain::planning::Proposal;
use needlepoint_domain::pricing::Quote;
use needlepoint_domain::scheduling::WeeklyHours;
use needlepoint_domain::screening::{Screening, Status};
use needlepoint_domain::ClinicPricing;
use needlepoint_domain::{Depth, Email, PractitionerDetails, PriceKind, Sex};
use serde_json::json;
use sqlx::{Postgres, Row, Sqlite};

pub struct SqlStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    /// SQLite must take the write lock at BEGIN (IMMEDIATE) or concurrent
    /// read-then-write transactions fail with "database is locked".
    begin: &'static str,
    /// The writer of views' audit rows, started on first use (inside the
    /// runtime); it stops when the store is dropped.
    views: std::sync::OnceLock<tokio::sync::mpsc::Sender<crate::view_audit::ViewRow>>,
}

impl SqlStore<Sqlite> {
    pub fn new_sqlite(pool: sqlx::SqlitePool) -> Self {
        SqlStore {
            pool,
            begin: "BEGIN IMMEDIATE",
            views: Default::default(),
        }
    }
}

impl SqlStore<Postgres> {
    pub fn new_postgres(pool: sqlx::PgPool) -> Self {
        SqlStore {
            pool,
            begin: "BEGIN",
            views: Default::default(),
        }
    }
}

/// Maps a unique-key violation to a `Conflict` with a message for people.
fn conflict(e: sqlx::Error, message: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(message.into()),
        _ => StoreError::Database(e),
    }
}

fn not_found(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        e => StoreError::Database(e),
    }
}

fn decode_err(column: &str, message: impl std::fmt::Display) -> StoreError {
    StoreError::Database(sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: message.to_string().into(),
    })
}

/// `%word%` for LIKE, with the wildcard characters in the word escaped.
fn like_pattern(word: &str) -> String {
    let mut p = String::from("%");
    for c in word.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

const STAFF_COLS: &str = "id, organisation_id, email, name, role, active, is_practitioner, \
     profession, registration_number, medical_director, created_at, totp_enabled_at";
/// A column list (`STAFF_COLS`, `PATIENT_COLS`…) of a table named `alias`
/// in a join.
/// `$first, $first+1, …`: `n` placeholders for an `IN (…)` list.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cols_of(cols: &str, alias: &str) -> String {
    cols.split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}
const PATIENT_COLS: &str = "id, clinic_id, given_name, family_name, date_of_birth, sex, email, \
     phone, address, notes, version, created_at, updated_at";
const AUDIT_COLS: &str =
    "id, at, actor_id, actor_label, channel, ip, action, entity, entity_id, patient_id, detail";
const TOKEN_COLS: &str = "id, staff_id, name, role, created_at, last_used_at, revoked_at";
mod sqlite_impl {
    use super::*;
    type Db = Sqlite;
    const BACKEND: Backend = Backend::Sqlite;
    const MIGRATIONS: &[Migration] = SQLITE;
    include!("sql/store.rs");
    include!("sql/screening.rs");
    include!("sql/plans.rs");
    include!("sql/schedule.rs");
    include!("sql/charting.rs");
    include!("sql/generate.rs");
    include!("sql/search.rs");
    include!("sql/after.rs");
    include!("sql/billing.rs");

    impl SqlStore<Sqlite> {
        const BULK_PARAMS: usize = crate::generate_sql::SQLITE_PARAMS;

        /// Rows written with their own ids need nothing more on SQLite; the
        /// query planner's statistics are refreshed.
        async fn after_bulk_load(&self, _tables: &[&str]) -> Result<()> {
            sqlx::query("ANALYZE").execute(&self.pool).await?;
            Ok(())
        }

        /// SQLite serialises writers with its own lock; nothing more needed.
        async fn lock_migrations(_tx: &mut Conn) -> Result<()> {
            Ok(())
        }

        /// The audit trail's protecting triggers, as `migrate` restores them.
        const AUDIT_TRIGGERS: &'static str = "
            CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            CREATE TRIGGER IF NOT EXISTS audit_chain_no_update BEFORE UPDATE ON audit_chain
            BEGIN SELECT RAISE(ABORT, 'audit_chain is append-only'); END;
            CREATE TRIGGER IF NOT EXISTS audit_chain_no_delete BEFORE DELETE ON audit_chain
            BEGIN SELECT RAISE(ABORT, 'audit_chain is append-only'); END;
            CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head
            BEGIN SELECT RAISE(ABORT, 'audit_head is kept'); END;";

        async fn missing_audit_triggers(&self) -> Result<Vec<String>> {
            let present: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                    .fetch_all(&self.pool)
                    .await?;
            Ok([
                "audit_log_no_update",
                "audit_log_no_delete",
                "audit_chain_no_update",
                "audit_chain_no_delete",
                "audit_head_no_delete",
            ]
            .iter()
            .filter(|t| !present.iter().any(|p| p == *t))
            .map(|t| t.to_string())
            .collect())
        }

        /// `VACUUM INTO` writes a consistent, compacted copy while others
        /// keep reading and writing.
        async fn backup(&self, path: &std::path::Path) -> Result<()> {
            if path.exists() {
                return Err(StoreError::Conflict(format!(
                    "{} already exists; choose a new file name",
                    path.display()
                )));
            }
            let target = path
                .to_str()
                .ok_or_else(|| StoreError::Unsupported("backup path is not valid UTF-8".into()))?;
            sqlx::query("VACUUM INTO $1")
                .bind(target)
                .execute(&self.pool)
                .await?;
            crate::files::private_file(path).map_err(|e| {
                StoreError::Unsupported(format!("cannot protect {}: {e}", path.display()))
            })?;
            Ok(())
        }
    }
}

mod postgres_impl {
    use super::*;
    type Db = Postgres;
    const BACKEND: Backend = Backend::Postgres;
    const MIGRATIONS: &[Migration] = POSTGRES;
    include!("sql/store.rs");
    include!("sql/screening.rs");
    include!("sql/plans.rs");
    include!("sql/schedule.rs");
    include!("sql/charting.rs");
    include!("sql/generate.rs");
    include!("sql/search.rs");
    include!("sql/after.rs");
    include!("sql/billing.rs");

    impl SqlStore<Postgres> {
        const BULK_PARAMS: usize = crate::generate_sql::POSTGRES_PARAMS;

        /// Rows written with their own ids leave each id sequence behind:
        /// move it past them. Then refresh the planner's statistics.
        async fn after_bulk_load(&self, tables: &[&str]) -> Result<()> {
            for t in tables {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {t}))"
                ))
                .execute(&self.pool)
                .await?;
            }
            sqlx::query("ANALYZE").execute(&self.pool).await?;
            Ok(())
        }

        /// Two servers starting at once must not both apply a migration.
        async fn lock_migrations(tx: &mut Conn) -> Result<()> {
            sqlx::query("SELECT pg_advisory_xact_lock(7245031)")
                .execute(&mut *tx)
                .await?;
            Ok(())
        }

        /// The audit trail's protecting triggers (and their functions), as
        /// `migrate` restores them.
        const AUDIT_TRIGGERS: &'static str = "
            CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$;
            CREATE OR REPLACE FUNCTION audit_chain_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$;
            CREATE OR REPLACE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
                FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
            CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
                FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
            CREATE OR REPLACE TRIGGER audit_chain_no_change BEFORE UPDATE OR DELETE ON audit_chain
                FOR EACH ROW EXECUTE FUNCTION audit_chain_append_only();
            CREATE OR REPLACE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
                FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_append_only();
            CREATE OR REPLACE TRIGGER audit_head_no_delete BEFORE DELETE OR TRUNCATE ON audit_head
                FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_append_only();";

        async fn missing_audit_triggers(&self) -> Result<Vec<String>> {
            let present: Vec<String> = sqlx::query_scalar(
                "SELECT t.tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE NOT t.tgisinternal AND n.nspname = current_schema()",
            )
            .fetch_all(&self.pool)
            .await?;
            Ok([
                "audit_log_no_change",
                "audit_log_no_truncate",
                "audit_chain_no_change",
                "audit_chain_no_truncate",
                "audit_head_no_delete",
            ]
            .iter()
            .filter(|t| !present.iter().any(|p| p == *t))
            .map(|t| t.to_string())
            .collect())
        }

        async fn backup(&self, _path: &std::path::Path) -> Result<()> {
            Err(StoreError::Unsupported(
                "On PostgreSQL, back up with pg_dump, which takes a consistent snapshot while \
                 Needlepoint runs:\n  pg_dump --format=custom --file=needlepoint.dump \"$NEEDLEPOINT_DATABASE_URL\"\n\
                 and restore with pg_restore --clean --dbname=URL needlepoint.dump"
                    .into(),
            ))
        }
    }
}

// rustfmt and rust-analyzer reach the included files through these
// declarations; the compiler never builds them (they are included above,
// once per backend).
#[cfg(any())]
#[path = "sql/after.rs"]
mod after_fmt;
#[cfg(any())]
#[path = "sql/billing.rs"]
mod billing_fmt;
#[cfg(any())]
#[path = "sql/charting.rs"]
mod charting_fmt;
#[cfg(any())]
#[path = "sql/generate.rs"]
mod generate_fmt;
#[cfg(any())]
#[path = "sql/plans.rs"]
mod plans_fmt;
#[cfg(any())]
#[path = "sql/schedule.rs"]
mod schedule_fmt;
#[cfg(any())]
#[path = "sql/screening.rs"]
mod screening_fmt;
#[cfg(any())]
#[path = "sql/search.rs"]
mod search_fmt;
#[cfg(any())]
#[path = "sql/store.rs"]
mod store_fmt;

/// Field-by-field differences between two versions, for the audit trail.
fn changes(a: &PatientDetails, b: &PatientDetails) -> serde_json::Value {
    let (a, b) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    );
    let mut out = serde_json::Map::new();
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        for (k, va) in a {
            let vb = b.get(k).cloned().unwrap_or_default();
            if *va != vb {
                out.insert(k.clone(), json!([va, vb]));
            }
        }
    }
    serde_json::Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("Ann"), "%ann%");
        assert_eq!(like_pattern("50%_x"), "%50\\%\\_x%");
    }
}
