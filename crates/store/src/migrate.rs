//! A small migrator: numbered SQL files embedded in the binary, applied in
//! order, each in its own transaction with its row in `schema_migrations`.
//! (sqlx's own migrator would need its macros feature, which compiles every
//! driver's query checker; this is all we use of it.)

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../migrations/sqlite/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "screening",
        sql: include_str!("../migrations/sqlite/0002_screening.sql"),
    },
    Migration {
        version: 3,
        name: "plans",
        sql: include_str!("../migrations/sqlite/0003_plans.sql"),
    },
    Migration {
        version: 4,
        name: "scheduling",
        sql: include_str!("../migrations/sqlite/0004_scheduling.sql"),
    },
    Migration {
        version: 5,
        name: "hours",
        sql: include_str!("../migrations/sqlite/0005_hours.sql"),
    },
    Migration {
        version: 6,
        name: "feeds",
        sql: include_str!("../migrations/sqlite/0006_feeds.sql"),
    },
    Migration {
        version: 7,
        name: "outbox",
        sql: include_str!("../migrations/sqlite/0007_outbox.sql"),
    },
    Migration {
        version: 8,
        name: "changes",
        sql: include_str!("../migrations/sqlite/0008_changes.sql"),
    },
    Migration {
        version: 9,
        name: "charting",
        sql: include_str!("../migrations/sqlite/0009_charting.sql"),
    },
    Migration {
        version: 10,
        name: "service",
        sql: include_str!("../migrations/sqlite/0010_service.sql"),
    },
    Migration {
        version: 11,
        name: "kinds",
        sql: include_str!("../migrations/sqlite/0011_kinds.sql"),
    },
    Migration {
        version: 12,
        name: "appointment_areas",
        sql: include_str!("../migrations/sqlite/0012_appointment_areas.sql"),
    },
    Migration {
        version: 13,
        name: "plan_tracks",
        sql: include_str!("../migrations/sqlite/0013_plan_tracks.sql"),
    },
    Migration {
        version: 14,
        name: "guardian_consent",
        sql: include_str!("../migrations/sqlite/0014_guardian_consent.sql"),
    },
    Migration {
        version: 15,
        name: "audit_chain",
        sql: include_str!("../migrations/sqlite/0015_audit_chain.sql"),
    },
    Migration {
        version: 16,
        name: "sign_in",
        sql: include_str!("../migrations/sqlite/0016_sign_in.sql"),
    },
    Migration {
        version: 17,
        name: "patient_search",
        sql: include_str!("../migrations/sqlite/0017_patient_search.sql"),
    },
    Migration {
        version: 18,
        name: "chain_speed",
        sql: include_str!("../migrations/sqlite/0018_chain_speed.sql"),
    },
    Migration {
        version: 19,
        name: "birth_date_search",
        sql: include_str!("../migrations/sqlite/0019_birth_date_search.sql"),
    },
    Migration {
        version: 20,
        name: "patient_messages",
        sql: include_str!("../migrations/sqlite/0020_patient_messages.sql"),
    },
    Migration {
        version: 21,
        name: "after_session",
        sql: include_str!("../migrations/sqlite/0021_after_session.sql"),
    },
    Migration {
        version: 22,
        name: "home_care",
        sql: include_str!("../migrations/sqlite/0022_home_care.sql"),
    },
    Migration {
        version: 23,
        name: "patient_intake",
        sql: include_str!("../migrations/sqlite/0023_patient_intake.sql"),
    },
    Migration {
        version: 24,
        name: "photo_sharing",
        sql: include_str!("../migrations/sqlite/0024_photo_sharing.sql"),
    },
    Migration {
        version: 25,
        name: "billing",
        sql: include_str!("../migrations/sqlite/0025_billing.sql"),
    },
];

pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "screening",
        sql: include_str!("../migrations/postgres/0002_screening.sql"),
    },
    Migration {
        version: 3,
        name: "plans",
        sql: include_str!("../migrations/postgres/0003_plans.sql"),
    },
    Migration {
        version: 4,
        name: "scheduling",
        sql: include_str!("../migrations/postgres/0004_scheduling.sql"),
    },
    Migration {
        version: 5,
        name: "hours",
        sql: include_str!("../migrations/postgres/0005_hours.sql"),
    },
    Migration {
        version: 6,
        name: "feeds",
        sql: include_str!("../migrations/postgres/0006_feeds.sql"),
    },
    Migration {
        version: 7,
        name: "outbox",
        sql: include_str!("../migrations/postgres/0007_outbox.sql"),
    },
    Migration {
        version: 8,
        name: "changes",
        sql: include_str!("../migrations/postgres/0008_changes.sql"),
    },
    Migration {
        version: 9,
        name: "charting",
        sql: include_str!("../migrations/postgres/0009_charting.sql"),
    },
    Migration {
        version: 10,
        name: "service",
        sql: include_str!("../migrations/postgres/0010_service.sql"),
    },
    Migration {
        version: 11,
        name: "kinds",
        sql: include_str!("../migrations/postgres/0011_kinds.sql"),
    },
    Migration {
        version: 12,
        name: "appointment_areas",
        sql: include_str!("../migrations/postgres/0012_appointment_areas.sql"),
    },
    Migration {
        version: 13,
        name: "plan_tracks",
        sql: include_str!("../migrations/postgres/0013_plan_tracks.sql"),
    },
    Migration {
        version: 14,
        name: "guardian_consent",
        sql: include_str!("../migrations/postgres/0014_guardian_consent.sql"),
    },
    Migration {
        version: 15,
        name: "audit_chain",
        sql: include_str!("../migrations/postgres/0015_audit_chain.sql"),
    },
    Migration {
        version: 16,
        name: "sign_in",
        sql: include_str!("../migrations/postgres/0016_sign_in.sql"),
    },
    Migration {
        version: 17,
        name: "patient_search",
        sql: include_str!("../migrations/postgres/0017_patient_search.sql"),
    },
    Migration {
        version: 18,
        name: "chain_speed",
        sql: include_str!("../migrations/postgres/0018_chain_speed.sql"),
    },
    Migration {
        version: 19,
        name: "birth_date_search",
        sql: include_str!("../migrations/postgres/0019_birth_date_search.sql"),
    },
    Migration {
        version: 20,
        name: "patient_messages",
        sql: include_str!("../migrations/postgres/0020_patient_messages.sql"),
    },
    Migration {
        version: 21,
        name: "after_session",
        sql: include_str!("../migrations/postgres/0021_after_session.sql"),
    },
    Migration {
        version: 22,
        name: "home_care",
        sql: include_str!("../migrations/postgres/0022_home_care.sql"),
    },
    Migration {
        version: 23,
        name: "patient_intake",
        sql: include_str!("../migrations/postgres/0023_patient_intake.sql"),
    },
    Migration {
        version: 24,
        name: "photo_sharing",
        sql: include_str!("../migrations/postgres/0024_photo_sharing.sql"),
    },
    Migration {
        version: 25,
        name: "billing",
        sql: include_str!("../migrations/postgres/0025_billing.sql"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations_in_order() {
        let v = |m: &[Migration]| m.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(v(SQLITE), v(POSTGRES));
        for w in SQLITE.windows(2) {
            assert!(w[0].version < w[1].version);
        }
    }
}
