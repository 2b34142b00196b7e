//! Opening the record: SQLite in a data folder, or PostgreSQL by URL.

use crate::sql::SqlStore;
use crate::{Result, Store, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// How hard SQLite works to keep an acknowledged write through a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteDurability {
    /// `synchronous = FULL`: in WAL mode the log is fsynced at every commit, so
    /// a write we acknowledged survives a crash of the machine. The default:
    /// a clinical record must not lose a signed note.
    Full,
    /// `synchronous = NORMAL`: fsync only at checkpoints; still consistent,
    /// but the last commits can be lost on power failure. For benchmarks and
    /// throwaway data only.
    Normal,
}

/// Opens whichever database `database_url` names, or SQLite in `data_dir`.
pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Arc<dyn Store>> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            open_postgres(url).await
        }
        Some(url) => Err(StoreError::Unsupported(format!(
            "unsupported database URL {:?}: use postgres://… or leave it out for SQLite",
            redact(url)
        ))),
        None => {
            crate::files::private_dir(data_dir).map_err(|e| {
                StoreError::Unsupported(format!(
                    "cannot create data folder {}: {e}",
                    data_dir.display()
                ))
            })?;
            open_sqlite(
                &data_dir.join("needlepoint.sqlite3"),
                SqliteDurability::Full,
            )
            .await
        }
    }
}

/// Opens (creating if needed) and migrates an SQLite database file.
pub async fn open_sqlite(path: &Path, durability: SqliteDurability) -> Result<Arc<dyn Store>> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match durability {
            SqliteDurability::Full => SqliteSynchronous::Full,
            SqliteDurability::Normal => SqliteSynchronous::Normal,
        })
        .foreign_keys(true)
        // 16 MB of pages per connection (SQLite's default is 2 MB): a
        // clinic's search probes an index 41,000 times on a chain, and
        // each page read from the file cost a system call; it took 50 ms
        // instead of 20. Eight connections stay well inside the memory
        // goal (BENCHMARKS.md).
        .pragma("cache_size", "-16384")
        // Writers queue behind BEGIN IMMEDIATE instead of failing at once.
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    // The database file and its journal hold every record: the owner's only.
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = std::path::PathBuf::from(name);
        if file.exists() {
            crate::files::private_file(&file).map_err(|e| {
                StoreError::Unsupported(format!("cannot protect {}: {e}", file.display()))
            })?;
        }
    }
    let store = SqlStore::new_sqlite(pool);
    store.migrate().await?;
    Ok(Arc::new(store))
}

/// Connects to and migrates a PostgreSQL database.
pub async fn open_postgres(url: &str) -> Result<Arc<dyn Store>> {
    // Planned for the values of each call: after five calls a prepared
    // statement otherwise gets one generic plan, which cannot tell a rare
    // word from a common one (a clinic's "Da Silva" went from 26 ms to
    // 81 ms, reading every "silva" in the chain).
    let options =
        PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?;
    let store = SqlStore::new_postgres(pool);
    store.migrate().await?;
    Ok(Arc::new(store))
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
