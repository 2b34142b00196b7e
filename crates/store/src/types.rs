//! Column types whose storage differs by backend: instants and dates.
//!
//! PostgreSQL keeps them as TIMESTAMPTZ and DATE. SQLite has no such types, so
//! instants are fixed-width UTC text (text order = time order, readable in the
//! sqlite3 shell) and dates are `YYYY-MM-DD`. The query code stays the same for
//! both: it binds and reads [`Ts`] and [`Day`].

use jiff::civil::Date;
use jiff::Timestamp;
use jiff_sqlx::ToSqlx;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteTypeInfo, SqliteValueRef};
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type};

/// A UTC instant as stored in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub Timestamp);

/// A calendar date as stored in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub Date);

/// `2026-11-22T09:30:00.000000Z`: always 27 characters, so it sorts.
pub fn sqlite_instant(t: Timestamp) -> String {
    let c = t.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        c.year(),
        c.month(),
        c.day(),
        c.hour(),
        c.minute(),
        c.second(),
        c.subsec_nanosecond() / 1000
    )
}

impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(sqlite_instant(self.0), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Ts(s.parse::<Timestamp>()?))
    }
}

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <jiff_sqlx::Timestamp as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <jiff_sqlx::Timestamp as Type<Postgres>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Postgres> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <jiff_sqlx::Timestamp as Encode<'q, Postgres>>::encode(self.0.to_sqlx(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Ts(<jiff_sqlx::Timestamp as Decode<Postgres>>::decode(
            value,
        )?
        .to_jiff()))
    }
}

impl Type<Sqlite> for Day {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Day {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(self.0.to_string(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Day {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Day(s.parse::<Date>()?))
    }
}

impl Type<Postgres> for Day {
    fn type_info() -> PgTypeInfo {
        <jiff_sqlx::Date as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <jiff_sqlx::Date as Type<Postgres>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Postgres> for Day {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <jiff_sqlx::Date as Encode<'q, Postgres>>::encode(self.0.to_sqlx(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Day {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Day(
            <jiff_sqlx::Date as Decode<Postgres>>::decode(value)?.to_jiff()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_instants_are_fixed_width_and_round_trip() {
        let t: Timestamp = "2026-03-29T01:30:00.5+01:00".parse().unwrap();
        let s = sqlite_instant(t);
        assert_eq!(s, "2026-03-29T00:30:00.500000Z");
        assert_eq!(s.parse::<Timestamp>().unwrap(), t);
        let early = sqlite_instant("2026-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(early.len(), s.len());
        assert!(early < s);
    }
}
