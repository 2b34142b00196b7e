//! Values and statement sizes for writing a generated chain (see
//! [`crate::generate`]) in bulk; the writing itself is in `sql/generate.rs`.

/// A value for a bulk insert.
pub enum V {
    I(i64),
    OptI(Option<i64>),
    S(String),
    OptS(Option<String>),
    T(jiff::Timestamp),
    D(jiff::civil::Date),
}

/// Bound parameters per statement, by backend. SQLite looks `$N` parameters
/// up by name while preparing, so thousands in one statement are slow: for
/// 100,000 sessions, 30,000 per statement took 160 s, 2,000 took 14 s, 400
/// took 7 s. PostgreSQL prefers fewer, larger statements (its limit is 65,535).
pub const SQLITE_PARAMS: usize = 400;
pub const POSTGRES_PARAMS: usize = 20_000;
