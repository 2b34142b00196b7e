//! One suite, two databases: every case runs against SQLite and PostgreSQL.

use jiff::{SignedDuration, Timestamp};
use needlepoint_domain::{
    ClinicDetails, DeviceDetails, PatientInput, PriceItemDetails, Role, RoomDetails,
};
use needlepoint_store::testing::{fresh_store_at, now, seed, seeded, TestBackend};
use needlepoint_store::*;

fn actor(staff_id: i64) -> Actor {
    Actor {
        staff_id: Some(staff_id),
        label: format!("staff:{staff_id}"),
        channel: Channel::Web,
        ip: Some("127.0.0.1".into()),
    }
}

fn patient(given: &str, family: &str, dob: &str) -> needlepoint_domain::PatientDetails {
    PatientInput {
        given_name: given.into(),
        family_name: family.into(),
        date_of_birth: dob.into(),
        sex: "female".into(),
        email: format!("{}@example.com", given.to_lowercase()),
        ..Default::default()
    }
    .validate(jiff::civil::date(2026, 11, 22))
    .unwrap()
}

fn new_staff(org: i64, email: &str, role: Role, clinics: Vec<i64>) -> NewStaff {
    NewStaff {
        organisation_id: org,
        email: email.into(),
        name: email.split('@').next().unwrap().into(),
        role,
        password_hash: "hash".into(),
        practitioner: None,
        clinic_ids: clinics,
    }
}

async fn setup_is_once_and_audited(b: TestBackend) {
    let s = seeded(b).await;
    assert!(s.store.owner_exists().await.unwrap());
    let org = s.store.organisation().await.unwrap().unwrap();
    assert_eq!(org.name, "Test Org");
    let again = s
        .store
        .setup(
            "Other",
            &ClinicDetails::parse("X", "UTC", "", "").unwrap(),
            &new_staff(0, "b@example.com", Role::Owner, vec![]),
            &Actor::system("test"),
            now(),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let audit = s.store.recent_audit(10).await.unwrap();
    assert_eq!(audit.len(), 1, "the refused setup wrote nothing");
    assert_eq!(audit[0].action, "setup");
    assert_eq!(
        s.store.staff_clinic_ids(s.owner_id).await.unwrap(),
        vec![s.clinic_id]
    );
}

async fn migrations_are_idempotent(b: TestBackend) {
    let (store, at) = fresh_store_at(b).await;
    seed(store).await;
    let reopened = match b {
        TestBackend::Sqlite => {
            open_sqlite(std::path::Path::new(&at), SqliteDurability::Normal).await
        }
        TestBackend::Postgres => open_postgres(&at).await,
    }
    .expect("reopen and re-run migrations");
    assert!(
        reopened.owner_exists().await.unwrap(),
        "data kept across reopen"
    );
}

async fn staff_emails_are_unique_and_case_blind(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    s.store
        .create_staff(
            &new_staff(
                s.organisation_id,
                "cara@example.com",
                Role::Clinician,
                vec![s.clinic_id],
            ),
            &a,
            now(),
        )
        .await
        .unwrap();
    let dup = s
        .store
        .create_staff(
            &new_staff(
                s.organisation_id,
                "cara@example.com",
                Role::FrontDesk,
                vec![],
            ),
            &a,
            now(),
        )
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(ref m)) if m.contains("already exists")),
        "{dup:?}"
    );
    let creds = s
        .store
        .staff_credentials("  CARA@example.com ")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.staff.role, Role::Clinician);
    assert_eq!(creds.password_hash, "hash");
    assert!(s
        .store
        .staff_credentials("nobody@example.com")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.store.list_staff(s.organisation_id).await.unwrap().len(),
        2
    );
}

async fn sessions_expire_and_log_out(b: TestBackend) {
    let s = seeded(b).await;
    let t0 = now();
    let session = WebSession {
        token_hash: "abc".into(),
        staff_id: s.owner_id,
        created_at: t0,
        expires_at: t0 + SignedDuration::from_hours(1),
        ip: Some("127.0.0.1".into()),
        user_agent: None,
    };
    s.store
        .create_session(&session, &actor(s.owner_id))
        .await
        .unwrap();
    let (got, staff) = s.store.session("abc", t0).await.unwrap().unwrap();
    assert_eq!(staff.id, s.owner_id);
    assert_eq!(
        got.expires_at, session.expires_at,
        "instants round-trip to the microsecond"
    );
    assert!(s
        .store
        .session("abc", t0 + SignedDuration::from_hours(2))
        .await
        .unwrap()
        .is_none());
    s.store
        .delete_session("abc", &actor(s.owner_id), t0)
        .await
        .unwrap();
    assert!(s.store.session("abc", t0).await.unwrap().is_none());
    let actions: Vec<String> = s
        .store
        .recent_audit(5)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(&actions[..2], ["logout", "login"]);
}

async fn failed_logins_count_since_last_success(b: TestBackend) {
    let s = seeded(b).await;
    let t0: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
    let m = |n: i64| t0 + SignedDuration::from_mins(n);
    for i in 0..3 {
        s.store
            .record_login_attempt("x@example.com", None, false, m(i))
            .await
            .unwrap();
    }
    assert_eq!(
        s.store
            .failed_logins_since("X@example.com", m(-1))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        s.store
            .failed_logins_since("x@example.com", m(1))
            .await
            .unwrap(),
        1
    );
    s.store
        .record_login_attempt("x@example.com", None, true, m(3))
        .await
        .unwrap();
    s.store
        .record_login_attempt("x@example.com", None, false, m(4))
        .await
        .unwrap();
    assert_eq!(
        s.store
            .failed_logins_since("x@example.com", m(-1))
            .await
            .unwrap(),
        1
    );
}

async fn api_tokens_are_used_and_revoked(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let t = s
        .store
        .create_api_token(s.owner_id, "reporting", "h1", Role::FrontDesk, &a, now())
        .await
        .unwrap();
    assert!(t.last_used_at.is_none());
    let (used, staff) = s.store.use_api_token("h1", now()).await.unwrap().unwrap();
    assert_eq!((used.role, staff.id), (Role::FrontDesk, s.owner_id));
    assert!(used.last_used_at.is_some());
    // Used again within the minute: the time is not written again; after
    // a minute it is.
    let t0 = used.last_used_at.unwrap();
    let (again, _) = s
        .store
        .use_api_token("h1", t0 + jiff::SignedDuration::from_secs(59))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.last_used_at, Some(t0));
    let later = t0 + needlepoint_store::LAST_USED_EVERY;
    let (again, _) = s.store.use_api_token("h1", later).await.unwrap().unwrap();
    assert_eq!(again.last_used_at, Some(later));
    let listed = s.store.list_api_tokens(staff.id).await.unwrap();
    assert_eq!(
        listed[0].last_used_at,
        Some(later),
        "written to the database"
    );
    assert!(s
        .store
        .use_api_token("nope", now())
        .await
        .unwrap()
        .is_none());
    let other = s
        .store
        .revoke_api_token(t.id, s.owner_id + 1000, &a, now())
        .await;
    assert!(
        matches!(other, Err(StoreError::NotFound)),
        "only the owner revokes"
    );
    s.store
        .revoke_api_token(t.id, s.owner_id, &a, now())
        .await
        .unwrap();
    assert!(s.store.use_api_token("h1", now()).await.unwrap().is_none());
    assert!(s.store.list_api_tokens(s.owner_id).await.unwrap()[0]
        .revoked_at
        .is_some());
}

async fn staff_see_only_their_clinics(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let north = s
        .store
        .create_clinic(
            s.organisation_id,
            &ClinicDetails::parse("North", "America/New_York", "", "").unwrap(),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        s.store.clinic(north.id).await.unwrap().details.time_zone,
        "America/New_York"
    );
    let nurse = s
        .store
        .create_staff(
            &new_staff(
                s.organisation_id,
                "n@example.com",
                Role::Clinician,
                vec![north.id],
            ),
            &a,
            now(),
        )
        .await
        .unwrap();
    let owner_clinics = s.store.clinics_for_staff(s.owner_id).await.unwrap();
    assert_eq!(owner_clinics.len(), 2, "owners join every new clinic");
    let nurse_clinics = s.store.clinics_for_staff(nurse.id).await.unwrap();
    assert_eq!(
        nurse_clinics.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![north.id]
    );

    s.store
        .create_patient(
            s.clinic_id,
            &patient("Hana", "South", "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    s.store
        .create_patient(north.id, &patient("Ines", "North", "1985-05-05"), &a, now())
        .await
        .unwrap();
    let seen = s
        .store
        .search_patients(nurse.id, None, "", 50, 0)
        .await
        .unwrap();
    assert_eq!(seen.total, 1);
    assert_eq!(seen.patients[0].details.given_name, "Ines");
    let all = s
        .store
        .search_patients(s.owner_id, None, "", 50, 0)
        .await
        .unwrap();
    assert_eq!(all.total, 2);
    let one = s
        .store
        .search_patients(s.owner_id, Some(s.clinic_id), "", 50, 0)
        .await
        .unwrap();
    assert_eq!(one.total, 1);
    assert!(matches!(
        s.store.clinic(9999).await,
        Err(StoreError::NotFound)
    ));
}

async fn patient_search_matches_every_word(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    for (g, f, d) in [
        ("Amara", "Okafor", "1990-02-28"),
        ("Amara", "Lind", "1979-07-14"),
        ("Ben", "Okafor", "2001-12-01"),
        ("Zoë", "Percent_50%", "1960-03-03"),
    ] {
        s.store
            .create_patient(s.clinic_id, &patient(g, f, d), &a, now())
            .await
            .unwrap();
    }
    let names = |p: PatientPage| {
        p.patients
            .iter()
            .map(|p| p.details.full_name())
            .collect::<Vec<_>>()
    };
    let q = |text: &'static str| s.store.search_patients(s.owner_id, None, text, 50, 0);
    assert_eq!(names(q("amara oka").await.unwrap()), ["Amara Okafor"]);
    assert_eq!(
        names(q("OKAFOR").await.unwrap()),
        ["Amara Okafor", "Ben Okafor"]
    );
    assert_eq!(names(q("1979-07").await.unwrap()), ["Amara Lind"]);
    assert_eq!(names(q("ben@example").await.unwrap()), ["Ben Okafor"]);
    assert_eq!(
        names(q("_50%").await.unwrap()),
        ["Zoë Percent_50%"],
        "wildcards are literal"
    );
    assert_eq!(q("%").await.unwrap().total, 1);
    let page = s
        .store
        .search_patients(s.owner_id, None, "", 2, 2)
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(
        names(page),
        ["Ben Okafor", "Zoë Percent_50%"],
        "ordered by family name, then given"
    );
}

async fn patient_updates_check_version_and_audit_changes(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Cleo", "Marsh", "1988-08-08"),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(p.version, 1);
    let mut d = p.details.clone();
    d.phone = Some("+44 7700 900456".into());
    let p2 = s
        .store
        .update_patient(p.id, 1, &d, &a, now())
        .await
        .unwrap();
    assert_eq!(
        (p2.version, p2.details.phone.as_deref()),
        (2, Some("+44 7700 900456"))
    );
    let mut stale = p.details.clone();
    stale.family_name = "Overwritten".into();
    let r = s.store.update_patient(p.id, 1, &stale, &a, now()).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(
        s.store.patient(p.id).await.unwrap().details.family_name,
        "Marsh",
        "nothing overwritten"
    );
    let trail = s.store.patient_audit(p.id, 10).await.unwrap();
    assert_eq!(
        trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["update", "create"]
    );
    assert_eq!(trail[0].detail["changed"]["phone"][1], "+44 7700 900456");
    assert_eq!(trail[0].actor_id, Some(s.owner_id));
    assert_eq!(trail[0].ip.as_deref(), Some("127.0.0.1"));
    assert!(matches!(
        s.store.update_patient(424242, 1, &d, &a, now()).await,
        Err(StoreError::NotFound)
    ));
}

/// Views racing in are each in the trail when their call returns; they are
/// written by one writer, many to a transaction.
async fn every_view_is_audited_before_it_returns(b: TestBackend) {
    let s = seeded(b).await;
    let mut calls = vec![];
    for i in 0..200 {
        let store = s.store.clone();
        let a = actor(s.owner_id);
        calls.push(tokio::spawn(async move {
            store
                .record_audit(
                    &a,
                    &AuditEvent::new("view", "patient", Some(i)).patient(i),
                    now(),
                )
                .await
        }));
    }
    for c in calls {
        c.await.unwrap().unwrap();
    }
    let trail = s.store.recent_audit(1000).await.unwrap();
    let mut seen: Vec<i64> = trail
        .iter()
        .filter(|e| e.action == "view")
        .filter_map(|e| e.entity_id)
        .collect();
    seen.sort();
    assert_eq!(seen, (0..200).collect::<Vec<_>>(), "every view, once");
}

async fn audit_log_is_append_only_in_the_database(b: TestBackend) {
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    s.store
        .record_audit(
            &actor(s.owner_id),
            &AuditEvent::new("view", "patient", Some(1)).patient(1),
            now(),
        )
        .await
        .unwrap();
    let (update, delete) = match b {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{at}"))
                .await
                .unwrap();
            (
                sqlx::query("UPDATE audit_log SET action = 'x'")
                    .execute(&pool)
                    .await
                    .map(|_| ()),
                sqlx::query("DELETE FROM audit_log")
                    .execute(&pool)
                    .await
                    .map(|_| ()),
            )
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&at).await.unwrap();
            (
                sqlx::query("UPDATE audit_log SET action = 'x'")
                    .execute(&pool)
                    .await
                    .map(|_| ()),
                sqlx::query("DELETE FROM audit_log")
                    .execute(&pool)
                    .await
                    .map(|_| ()),
            )
        }
    };
    for r in [update, delete] {
        let e = r.expect_err("the database must refuse");
        assert!(e.to_string().contains("append-only"), "{e}");
    }
    assert_eq!(s.store.patient_audit(1, 10).await.unwrap().len(), 1);
}

async fn rooms_devices_and_prices_round_trip(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    s.store
        .create_room(
            s.clinic_id,
            &RoomDetails::parse("Room 1").unwrap(),
            &a,
            now(),
        )
        .await
        .unwrap();
    let dup = s
        .store
        .create_room(
            s.clinic_id,
            &RoomDetails::parse("Room 1").unwrap(),
            &a,
            now(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let dev = DeviceDetails::parse("Pen A", "SkinPen Precision", "SP-001", "2.5").unwrap();
    s.store
        .create_device(s.clinic_id, &dev, &a, now())
        .await
        .unwrap();
    let got = s.store.devices(s.clinic_id).await.unwrap();
    assert_eq!(got[0].details, dev);
    assert_eq!(got[0].details.max_depth.micrometres(), 2500);
    let price = PriceItemDetails::parse("face", "Full face", "250.00", "gbp").unwrap();
    s.store
        .create_price_item(s.clinic_id, &price, &a, now())
        .await
        .unwrap();
    let items = s.store.price_items(s.clinic_id).await.unwrap();
    assert_eq!(
        (
            items[0].details.amount_minor,
            items[0].details.currency.as_str()
        ),
        (25000, "GBP")
    );
    assert_eq!(s.store.rooms(s.clinic_id).await.unwrap().len(), 1);
}

async fn clinical_notes_keep_author_and_order(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Dee", "Ray", "1970-01-01"), &a, now())
        .await
        .unwrap();
    let t0 = now();
    s.store
        .add_clinical_note(p.id, s.owner_id, "first", &a, t0)
        .await
        .unwrap();
    s.store
        .add_clinical_note(
            p.id,
            s.owner_id,
            "second",
            &a,
            t0 + SignedDuration::from_secs(1),
        )
        .await
        .unwrap();
    let notes = s.store.clinical_notes(p.id).await.unwrap();
    assert_eq!(
        notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(),
        ["second", "first"]
    );
    assert_eq!(notes[0].author_name, "Olive Owner");
    let missing = s
        .store
        .add_clinical_note(999_999, s.owner_id, "x", &a, t0)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

async fn backup_makes_a_consistent_copy_or_says_how(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    s.store
        .create_patient(
            s.clinic_id,
            &patient("Eve", "Stone", "1999-09-09"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let target = needlepoint_store::testing::temp_dir("backup").join("copy.sqlite3");
    match b {
        TestBackend::Sqlite => {
            s.store.backup_to(&target).await.unwrap();
            let copy = open_sqlite(&target, SqliteDurability::Normal)
                .await
                .unwrap();
            let found = copy
                .search_patients(s.owner_id, None, "stone", 10, 0)
                .await
                .unwrap();
            assert_eq!(found.total, 1, "the copy holds the data");
            let again = s.store.backup_to(&target).await;
            assert!(
                matches!(again, Err(StoreError::Conflict(_))),
                "never overwrite a file"
            );
        }
        TestBackend::Postgres => {
            let e = s.store.backup_to(&target).await.unwrap_err();
            assert!(e.to_string().contains("pg_dump"), "{e}");
            assert!(!target.exists());
        }
    }
}

async fn deactivated_staff_lose_access_but_not_the_last_owner(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let nurse = s
        .store
        .create_staff(
            &new_staff(
                s.organisation_id,
                "n@example.com",
                Role::Clinician,
                vec![s.clinic_id],
            ),
            &a,
            now(),
        )
        .await
        .unwrap();
    let t0 = now();
    let session = WebSession {
        token_hash: "n-session".into(),
        staff_id: nurse.id,
        created_at: t0,
        expires_at: t0 + SignedDuration::from_hours(1),
        ip: None,
        user_agent: None,
    };
    s.store.create_session(&session, &a).await.unwrap();
    s.store
        .create_api_token(nurse.id, "t", "n-token", Role::Clinician, &a, t0)
        .await
        .unwrap();
    let off = s
        .store
        .set_staff_active(nurse.id, false, &a, t0)
        .await
        .unwrap();
    assert!(!off.active);
    assert!(s.store.session("n-session", t0).await.unwrap().is_none());
    assert!(s
        .store
        .use_api_token("n-token", t0)
        .await
        .unwrap()
        .is_none());
    let last = s.store.set_staff_active(s.owner_id, false, &a, t0).await;
    assert!(matches!(last, Err(StoreError::Conflict(_))), "{last:?}");
    assert!(
        s.store.staff(s.owner_id).await.unwrap().active,
        "nothing half-written"
    );
    assert!(
        s.store
            .set_staff_active(nurse.id, true, &a, t0)
            .await
            .unwrap()
            .active
    );
    assert!(s
        .store
        .use_api_token("n-token", t0)
        .await
        .unwrap()
        .is_some());
}

/// Many writers at once all commit: on SQLite each write transaction takes
/// the lock at BEGIN (IMMEDIATE) and waits its turn instead of failing.
async fn concurrent_writes_all_commit(b: TestBackend) {
    let s = seeded(b).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = s.store.clone();
        let clinic = s.clinic_id;
        let owner = s.owner_id;
        tasks.spawn(async move {
            let p = store
                .create_patient(
                    clinic,
                    &patient(&format!("P{i}"), "Crowd", "1990-01-01"),
                    &actor(owner),
                    now(),
                )
                .await?;
            let mut d = p.details.clone();
            d.notes = Some(format!("edit {i}"));
            store
                .update_patient(p.id, p.version, &d, &actor(owner), now())
                .await
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().expect("every concurrent write commits");
    }
    assert_eq!(
        s.store
            .search_patients(s.owner_id, None, "crowd", 100, 0)
            .await
            .unwrap()
            .total,
        40
    );
}

fn history(pregnant: bool) -> needlepoint_domain::history::PatientHistory {
    needlepoint_domain::history::PatientHistory {
        date_of_birth: Some(jiff::civil::date(1990, 1, 1)),
        pregnant,
        ..Default::default()
    }
}

fn result(
    status: needlepoint_domain::screening::Status,
) -> needlepoint_domain::screening::Screening {
    needlepoint_domain::screening::Screening {
        on: jiff::civil::date(2026, 11, 22),
        knowledge_version: "test".into(),
        status,
        deferral: None,
        precautions: vec![],
        areas: vec![],
    }
}

async fn histories_and_screenings_are_kept_as_written(b: TestBackend) {
    use needlepoint_domain::screening::Status;
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Hal", "Story", "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert!(s.store.current_history(p.id).await.unwrap().is_none());
    let v1 = s
        .store
        .add_history_version(p.id, &history(false), "clinician", None, &a, now())
        .await
        .unwrap();
    let v2 = s
        .store
        .add_history_version(p.id, &history(true), "api", Some("now pregnant"), &a, now())
        .await
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    let current = s.store.current_history(p.id).await.unwrap().unwrap();
    assert!(current.history.pregnant);
    assert_eq!(current.created_by_name.as_deref(), Some("Olive Owner"));
    assert_eq!(s.store.history_versions(p.id).await.unwrap().len(), 2);

    let sc = s
        .store
        .record_screening(p.id, v1.id, &result(Status::Eligible), &a, now())
        .await
        .unwrap();
    assert_eq!(
        (sc.history_version, sc.status()),
        (1, Status::Eligible),
        "points at what was known then"
    );
    let other = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Ida", "Other", "1980-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let wrong = s
        .store
        .record_screening(other.id, v1.id, &result(Status::Eligible), &a, now())
        .await;
    assert!(matches!(wrong, Err(StoreError::Conflict(_))));
    s.store
        .override_screening(
            sc.id,
            Status::NeedsPhysicianApproval,
            "GP letter pending",
            &a,
            now(),
        )
        .await
        .unwrap();
    let again = s.store.screening(sc.id).await.unwrap();
    assert_eq!(
        again.result.status,
        Status::Eligible,
        "the engine's result stays"
    );
    assert_eq!(again.status(), Status::NeedsPhysicianApproval);
    assert_eq!(again.overrides[0].justification, "GP letter pending");
    assert_eq!(s.store.screenings(p.id).await.unwrap().len(), 1);
    assert!(matches!(
        s.store.screening(999_999).await,
        Err(StoreError::NotFound)
    ));

    let refused = |sql: &'static str| {
        let at = at.clone();
        async move {
            match b {
                TestBackend::Sqlite => {
                    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{at}"))
                        .await
                        .unwrap();
                    sqlx::query(sql).execute(&pool).await.map(|_| ())
                }
                TestBackend::Postgres => {
                    let pool = sqlx::PgPool::connect(&at).await.unwrap();
                    sqlx::query(sql).execute(&pool).await.map(|_| ())
                }
            }
        }
    };
    for sql in [
        "UPDATE patient_histories SET history = '{}'",
        "DELETE FROM patient_histories",
        "UPDATE screenings SET status = 'eligible'",
        "DELETE FROM screening_overrides",
    ] {
        let e = refused(sql).await.expect_err(sql);
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
}

async fn knowledge_overrides_keep_who_and_why(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    s.store
        .add_knowledge_override(
            s.clinic_id,
            "contraindication.isotretinoin_stopped.wait",
            "3 months",
            "Spring 2017 consensus",
            &a,
            now(),
        )
        .await
        .unwrap();
    s.store
        .add_knowledge_override(
            s.clinic_id,
            "contraindication.isotretinoin_stopped.wait",
            "12 months",
            "Insurer asks",
            &a,
            now(),
        )
        .await
        .unwrap();
    let list = s.store.knowledge_overrides(s.clinic_id).await.unwrap();
    assert_eq!(
        list.iter().map(|k| k.value.as_str()).collect::<Vec<_>>(),
        ["3 months", "12 months"]
    );
    assert_eq!(
        (list[1].reason.as_str(), list[1].created_by_name.as_str()),
        ("Insurer asks", "Olive Owner")
    );
    let audit = s.store.recent_audit(1).await.unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].detail["reason"].as_str()),
        ("override", Some("Insurer asks"))
    );
}

async fn intake_links_work_once_and_expire(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Ivy", "Intake", "1991-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let t0 = now();
    s.store
        .create_intake_link(p.id, "tok", t0 + SignedDuration::from_hours(24), &a, t0)
        .await
        .unwrap();
    s.store
        .create_intake_link(p.id, "old", t0 + SignedDuration::from_hours(1), &a, t0)
        .await
        .unwrap();
    assert!(s.store.intake_link("tok", t0).await.unwrap().is_ok());
    assert_eq!(
        s.store.intake_link("nope", t0).await.unwrap().unwrap_err(),
        LinkRefusal::Unknown
    );
    let later = t0 + SignedDuration::from_hours(2);
    assert_eq!(
        s.store
            .intake_link("old", later)
            .await
            .unwrap()
            .unwrap_err(),
        LinkRefusal::Expired
    );
    assert_eq!(
        s.store
            .submit_intake("old", &history(false), later)
            .await
            .unwrap()
            .unwrap_err(),
        LinkRefusal::Expired
    );
    let sub = s
        .store
        .submit_intake("tok", &history(true), later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.store
            .submit_intake("tok", &history(false), later)
            .await
            .unwrap()
            .unwrap_err(),
        LinkRefusal::AlreadyUsed
    );
    assert_eq!(s.store.pending_intakes(p.id).await.unwrap().len(), 1);
    let v = s
        .store
        .confirm_intake(sub.id, &sub.history, &a, later)
        .await
        .unwrap();
    assert_eq!(
        (v.version, v.source.as_str(), v.history.pregnant),
        (1, "intake", true)
    );
    assert!(s.store.pending_intakes(p.id).await.unwrap().is_empty());
    let twice = s
        .store
        .confirm_intake(sub.id, &sub.history, &a, later)
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))));
    assert_eq!(
        s.store.history_versions(p.id).await.unwrap().len(),
        1,
        "nothing half-written"
    );
}

fn proposal() -> needlepoint_domain::planning::Proposal {
    use needlepoint_domain::knowledge::{DepthRange, Interval};
    needlepoint_domain::planning::Proposal {
        sessions: 3,
        sessions_min: 3,
        sessions_max: 5,
        interval: Interval::try_from("4-6 weeks".to_string()).unwrap(),
        reconciliation: vec![],
        areas: vec![needlepoint_domain::planning::PlannedArea {
            area: "cheeks".into(),
            indications: vec!["acne_scars".into()],
            guideline: DepthRange::parse("0.5-1.0").unwrap(),
            depth: DepthRange::parse("0.5-1.0").unwrap(),
            notes: vec![],
        }],
        excluded: vec![],
        earliest_start: jiff::civil::date(2026, 11, 22),
        precautions: vec![],
        pretreatment: vec![],
        downtime: vec![],
        adjuncts: vec![],
    }
}

/// A patient with a history and an eligible screening, ready to plan.
async fn screened_patient(
    s: &needlepoint_store::testing::Seeded,
    given: &str,
    family: &str,
) -> (Patient, ScreeningRecord) {
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient(given, family, "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let v = s
        .store
        .add_history_version(p.id, &history(false), "clinician", None, &a, now())
        .await
        .unwrap();
    let result = result(needlepoint_domain::screening::Status::Eligible);
    let sc = s
        .store
        .record_screening(p.id, v.id, &result, &a, now())
        .await
        .unwrap();
    (p, sc)
}

fn consent(plan: &PlanRecord) -> NewConsent {
    NewConsent {
        plan_id: plan.id,
        plan_version: plan.version,
        text: "I agree.".into(),
        sha256: "abc".into(),
        photo_use: "clinical_record_only".into(),
        typed_name: "Pat Ient".into(),
        signature: "data:image/png;base64,AAAA".into(),
        ip: None,
    }
}

async fn plans_need_a_covering_consent_and_freeze_when_accepted(b: TestBackend) {
    use needlepoint_domain::plan::{Plan, PlanStatus};
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    let a = actor(s.owner_id);
    let (p, sc) = screened_patient(&s, "Pia", "Plan").await;
    let prop = proposal();
    let plan = Plan::from_proposal(&prop, "skinpen");
    let other = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Oli", "Other", "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert!(matches!(
        s.store
            .create_plan(
                other.id,
                s.clinic_id,
                sc.id,
                &prop,
                &plan,
                &[],
                None,
                &a,
                now()
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let rec = s
        .store
        .create_plan(p.id, s.clinic_id, sc.id, &prop, &plan, &[], None, &a, now())
        .await
        .unwrap();
    assert_eq!((rec.status, rec.version), (PlanStatus::Proposed, 1));

    let refused = s
        .store
        .set_plan_status(rec.id, PlanStatus::Accepted, None, &a, now())
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(ref m)) if m.contains("consent")),
        "{refused:?}"
    );
    s.store
        .sign_consent(&consent(&rec), &a, now())
        .await
        .unwrap();
    // An edit after signing: the consent no longer covers the plan.
    let mut edited = plan.clone();
    edited.sessions = 4;
    let rec2 = s
        .store
        .update_plan(rec.id, 1, &edited, &[], None, &a, now())
        .await
        .unwrap();
    assert_eq!(rec2.version, 2);
    assert!(matches!(
        s.store
            .update_plan(rec.id, 1, &edited, &[], None, &a, now())
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s
        .store
        .set_plan_status(rec.id, PlanStatus::Accepted, None, &a, now())
        .await
        .is_err());
    assert!(
        matches!(
            s.store.sign_consent(&consent(&rec), &a, now()).await,
            Err(StoreError::Conflict(_))
        ),
        "old version"
    );
    s.store
        .sign_consent(&consent(&rec2), &a, now())
        .await
        .unwrap();
    let accepted = s
        .store
        .set_plan_status(rec.id, PlanStatus::Accepted, None, &a, now())
        .await
        .unwrap();
    assert_eq!(accepted.status, PlanStatus::Accepted);
    assert!(
        matches!(s.store.update_plan(rec.id, 2, &plan, &[], None, &a, now()).await, Err(StoreError::Conflict(ref m)) if m.contains("no longer be edited"))
    );
    assert!(
        s.store
            .set_plan_status(rec.id, PlanStatus::Completed, None, &a, now())
            .await
            .is_err(),
        "not before it starts"
    );
    assert!(matches!(
        s.store
            .set_plan_status(rec.id, PlanStatus::Cancelled, Some(" "), &a, now())
            .await,
        Err(StoreError::Invalid(_))
    ));
    let cancelled = s
        .store
        .set_plan_status(
            rec.id,
            PlanStatus::Cancelled,
            Some("Moved abroad"),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(cancelled.cancel_reason.as_deref(), Some("Moved abroad"));
    assert_eq!(s.store.consents(rec.id).await.unwrap().len(), 2);
    assert_eq!(s.store.plans(p.id).await.unwrap().len(), 1);

    let sql = "UPDATE consents SET text = 'changed'";
    let e = match b {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{at}"))
                .await
                .unwrap();
            sqlx::query(sql).execute(&pool).await.map(|_| ())
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&at).await.unwrap();
            sqlx::query(sql).execute(&pool).await.map(|_| ())
        }
    };
    assert!(e.unwrap_err().to_string().contains("append-only"));
}

async fn consent_links_sign_once(b: TestBackend) {
    use needlepoint_domain::plan::Plan;
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let (p, sc) = screened_patient(&s, "Lin", "Link").await;
    let prop = proposal();
    let rec = s
        .store
        .create_plan(
            p.id,
            s.clinic_id,
            sc.id,
            &prop,
            &Plan::from_proposal(&prop, "skinpen"),
            &[],
            None,
            &a,
            now(),
        )
        .await
        .unwrap();
    let t0 = now();
    s.store
        .create_consent_link(rec.id, "ct", t0 + SignedDuration::from_hours(1), &a, t0)
        .await
        .unwrap();
    assert_eq!(s.store.consent_link("ct", t0).await.unwrap(), Ok(rec.id));
    assert_eq!(
        s.store.consent_link("zz", t0).await.unwrap(),
        Err(LinkRefusal::Unknown)
    );
    let late = t0 + SignedDuration::from_hours(2);
    assert_eq!(
        s.store
            .sign_consent_by_link("ct", &consent(&rec), late)
            .await
            .unwrap()
            .unwrap_err(),
        LinkRefusal::Expired
    );
    let c = s
        .store
        .sign_consent_by_link("ct", &consent(&rec), t0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.signed_via.as_str(), c.witness_id), ("link", None));
    assert_eq!(
        s.store
            .sign_consent_by_link("ct", &consent(&rec), t0)
            .await
            .unwrap()
            .unwrap_err(),
        LinkRefusal::AlreadyUsed
    );
}

async fn pricing_and_typed_price_items_round_trip(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let default = s.store.clinic_pricing(s.clinic_id).await.unwrap();
    assert_eq!(
        (
            default.currency.as_str(),
            default.tax_rate_bp,
            default.tax_included
        ),
        ("GBP", 0, true)
    );
    let p = needlepoint_domain::ClinicPricing {
        currency: "USD".into(),
        tax_rate_bp: 875,
        tax_included: false,
    };
    s.store
        .set_clinic_pricing(s.clinic_id, &p, &a, now())
        .await
        .unwrap();
    assert_eq!(s.store.clinic_pricing(s.clinic_id).await.unwrap(), p);
    let bundle = PriceItemDetails::parse_typed(
        "bundle",
        "face",
        "Full face",
        "400",
        "USD",
        "cheeks,forehead",
        "",
        "",
    )
    .unwrap();
    let pkg =
        PriceItemDetails::parse_typed("package", "four", "Course of 4", "", "USD", "", "4", "10")
            .unwrap();
    s.store
        .create_price_item(s.clinic_id, &bundle, &a, now())
        .await
        .unwrap();
    s.store
        .create_price_item(s.clinic_id, &pkg, &a, now())
        .await
        .unwrap();
    let items: Vec<_> = s
        .store
        .price_items(s.clinic_id)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.details)
        .collect();
    assert!(items.contains(&bundle) && items.contains(&pkg));
    let list = needlepoint_domain::clinic::price_list(&p, &items);
    assert_eq!(
        (list.bundles.len(), list.packages[0].discount_bp),
        (1, 1000)
    );
}

fn appointment(
    s: &needlepoint_store::testing::Seeded,
    patient_id: i64,
    room: i64,
    start: &str,
    minutes: i64,
) -> NewAppointment {
    let starts_at: Timestamp = start.parse().unwrap();
    NewAppointment {
        clinic_id: s.clinic_id,
        patient_id,
        plan_id: None,
        session_number: None,
        kind: "session".into(),
        practitioner_id: Some(s.owner_id),
        room_id: Some(room),
        device_id: None,
        starts_at,
        ends_at: starts_at + SignedDuration::from_mins(minutes),
        local_start: start.into(),
        time_zone: "Europe/London".into(),
        window_override: None,
    }
}

fn status<'a>(status: &'a str, reason: Option<&'a str>) -> StatusChange<'a> {
    StatusChange {
        status: needlepoint_domain::appointment::AppointmentStatus::parse(status).unwrap(),
        reason,
        cancelled_by: None,
        fee_minor: None,
    }
}

/// The one state machine, checked in the store's transaction: a no-show
/// only once the appointment has started, a checked-in patient is never a
/// no-show, and a completed, cancelled or no-show appointment is final.
async fn an_appointment_moves_through_its_lifecycle(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Li", "Fe", "1990-01-01"), &a, now())
        .await
        .unwrap();
    let book = |start: &'static str| {
        let new = appointment(&s, p.id, 0, start, 30);
        let store = s.store.clone();
        let a = a.clone();
        async move {
            let mut new = new;
            new.room_id = None;
            store.book(&[new], &a, now()).await.unwrap()[0].id
        }
    };
    let at = |t: &str| -> Timestamp { t.parse().unwrap() };
    let one = book("2026-12-02T10:00:00Z").await;
    let e = s
        .store
        .set_appointment_status(
            one,
            &status("no_show", None),
            &a,
            at("2026-12-02T09:59:00Z"),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("once the appointment has started"),
        "{e}"
    );
    assert_eq!(
        s.store.appointment(one).await.unwrap().status.as_str(),
        "booked"
    );
    let c = s
        .store
        .set_appointment_status(
            one,
            &status("checked_in", None),
            &a,
            at("2026-12-02T09:55:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(c.status.as_str(), "checked_in");
    assert!(
        s.store
            .set_appointment_status(
                one,
                &status("no_show", None),
                &a,
                at("2026-12-02T10:10:00Z")
            )
            .await
            .is_err(),
        "a patient who checked in came"
    );
    s.store
        .set_appointment_status(
            one,
            &status("completed", None),
            &a,
            at("2026-12-02T10:30:00Z"),
        )
        .await
        .unwrap();
    for to in ["checked_in", "no_show", "cancelled", "completed"] {
        assert!(
            s.store
                .set_appointment_status(one, &status(to, Some("x")), &a, at("2026-12-02T11:00:00Z"))
                .await
                .is_err(),
            "completed is final ({to})"
        );
    }
    let two = book("2026-12-03T10:00:00Z").await;
    let n = s
        .store
        .set_appointment_status(
            two,
            &status("no_show", None),
            &a,
            at("2026-12-03T10:01:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(n.status.as_str(), "no_show");
}

/// A booking, a move and a cancellation queue their messages in the same
/// transaction as the change: all of it, or none of it.
async fn messages_are_queued_with_the_change_or_not_at_all(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Mo", "Sage", "1990-01-01"), &a, now())
        .await
        .unwrap();
    let room = s
        .store
        .create_room(s.clinic_id, &RoomDetails::parse("R1").unwrap(), &a, now())
        .await
        .unwrap()
        .id;
    let note = |kind: &'static str| {
        move |list: &[Appointment]| -> Vec<NewMessage> {
            list.iter()
                .map(|x| NewMessage {
                    clinic_id: x.clinic_id,
                    patient_id: Some(x.patient_id),
                    appointment_id: Some(x.id),
                    kind: kind.into(),
                    channel: "email".into(),
                    to_address: "mo@example.com".into(),
                    subject: format!("{kind} {}", x.local_start),
                    body: x.status.as_str().into(),
                    attachment: None,
                    due_at: now(),
                })
                .collect()
        }
    };
    let count = |kind: &'static str, state: &'static str| {
        let store = s.store.clone();
        let clinic = s.clinic_id;
        async move {
            store
                .messages(clinic, 100)
                .await
                .unwrap()
                .iter()
                .filter(|m| m.kind == kind && m.status == state)
                .count()
        }
    };
    let booked = s
        .store
        .book_and_message(
            &[appointment(&s, p.id, room, "2026-12-07T10:00:00Z", 30)],
            &note("confirmation"),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(count("confirmation", "pending").await, 1);
    // The same time again: refused, and no confirmation of it is queued.
    let again = s
        .store
        .book_and_message(
            &[appointment(&s, p.id, room, "2026-12-07T10:00:00Z", 30)],
            &note("confirmation"),
            &a,
            now(),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(
        count("confirmation", "pending").await,
        1,
        "nothing for a failed booking"
    );
    // A move stops the old message and queues the new one, together.
    let start: Timestamp = "2026-12-08T10:00:00Z".parse().unwrap();
    let moved = s
        .store
        .reschedule_and_message(
            &[Move {
                id: booked[0].id,
                practitioner_id: Some(s.owner_id),
                room_id: Some(room),
                device_id: None,
                starts_at: start,
                ends_at: start + SignedDuration::from_mins(30),
                local_start: "2026-12-08T10:00:00Z".into(),
                window_override: None,
            }],
            &note("rescheduled"),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(moved[0].local_start, "2026-12-08T10:00:00Z");
    assert_eq!(count("confirmation", "cancelled").await, 1);
    assert_eq!(count("rescheduled", "pending").await, 1);
    // A refused change queues nothing: a no-show before the start.
    let early = s
        .store
        .set_appointment_status_and_message(
            booked[0].id,
            &status("no_show", None),
            &note("no_show"),
            &a,
            "2026-12-08T09:00:00Z".parse().unwrap(),
        )
        .await;
    assert!(early.is_err());
    assert_eq!(count("no_show", "pending").await, 0);
    // Cancelling stops the pending message and queues the notice, which
    // sees the appointment as cancelled.
    s.store
        .set_appointment_status_and_message(
            booked[0].id,
            &status("cancelled", Some("Ill")),
            &note("cancellation"),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(count("rescheduled", "cancelled").await, 1);
    let notice: Vec<_> = s
        .store
        .messages(s.clinic_id, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "cancellation")
        .collect();
    assert_eq!((notice.len(), notice[0].body.as_str()), (1, "cancelled"));
}

async fn nothing_is_booked_twice(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Bo", "Oking", "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let room = s
        .store
        .create_room(s.clinic_id, &RoomDetails::parse("R1").unwrap(), &a, now())
        .await
        .unwrap()
        .id;
    let room2 = s
        .store
        .create_room(s.clinic_id, &RoomDetails::parse("R2").unwrap(), &a, now())
        .await
        .unwrap()
        .id;
    let first = s
        .store
        .book(
            &[appointment(&s, p.id, room, "2026-11-23T10:00:00Z", 60)],
            &a,
            now(),
        )
        .await
        .unwrap();
    // Overlapping the practitioner (even in another room) is refused and says why.
    let clash = s
        .store
        .book(
            &[appointment(&s, p.id, room2, "2026-11-23T10:30:00Z", 60)],
            &a,
            now(),
        )
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict(ref m)) if m.contains("practitioner is already booked")),
        "{clash:?}"
    );
    // Back to back is fine.
    s.store
        .book(
            &[appointment(&s, p.id, room, "2026-11-23T11:00:00Z", 60)],
            &a,
            now(),
        )
        .await
        .unwrap();
    // A course is booked whole or not at all.
    let course = [
        appointment(&s, p.id, room, "2026-12-21T10:00:00Z", 60),
        appointment(&s, p.id, room, "2026-11-23T11:30:00Z", 30),
    ];
    assert!(s.store.book(&course, &a, now()).await.is_err());
    assert_eq!(
        s.store.patient_appointments(p.id).await.unwrap().len(),
        2,
        "the first of the course was not kept"
    );
    // Cancelling frees the time.
    let c = s
        .store
        .set_appointment_status(first[0].id, &status("cancelled", Some("Ill")), &a, now())
        .await
        .unwrap();
    assert_eq!(
        (c.status.as_str(), c.cancel_reason.as_deref()),
        ("cancelled", Some("Ill"))
    );
    s.store
        .book(
            &[appointment(&s, p.id, room2, "2026-11-23T10:00:00Z", 60)],
            &a,
            now(),
        )
        .await
        .unwrap();
    assert!(
        s.store
            .set_appointment_status(first[0].id, &status("checked_in", None), &a, now())
            .await
            .is_err(),
        "cancelled is final"
    );
    let day = s
        .store
        .appointments(
            s.clinic_id,
            "2026-11-23T00:00:00Z".parse().unwrap(),
            "2026-11-24T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(day.len(), 3, "cancelled ones included");
}

/// Many requests race for one practitioner's hour: exactly one wins, the
/// others are refused, on both databases.
async fn racing_bookings_one_wins(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Ray", "Race", "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let mut rooms = vec![];
    for i in 0..24 {
        rooms.push(
            s.store
                .create_room(
                    s.clinic_id,
                    &RoomDetails::parse(&format!("R{i}")).unwrap(),
                    &a,
                    now(),
                )
                .await
                .unwrap()
                .id,
        );
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, room) in rooms.into_iter().enumerate() {
        let store = s.store.clone();
        // Each request starts a few minutes apart, so they overlap in different ways.
        let start = format!("2026-11-23T10:{:02}:00Z", (i % 6) * 5);
        let appt = appointment(&s, p.id, room, &start, 60);
        let a = a.clone();
        tasks.spawn(async move { store.book(&[appt], &a, now()).await });
    }
    let (mut won, mut refused) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(_)) => refused += 1,
            Err(e) => panic!("a refusal must be a clear conflict, not {e}"),
        }
    }
    assert_eq!((won, refused), (1, 23));
    assert_eq!(s.store.patient_appointments(p.id).await.unwrap().len(), 1);
}

async fn hours_and_closures_round_trip(b: TestBackend) {
    use jiff::civil::{date, time, Weekday};
    use needlepoint_domain::scheduling::WeeklyHours;
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    assert!(s.store.clinic_hours(s.clinic_id).await.unwrap().is_none());
    let h = WeeklyHours::weekdays(time(9, 0, 0, 0), time(17, 30, 0, 0), Weekday::Friday);
    s.store
        .set_clinic_hours(s.clinic_id, &h, &a, now())
        .await
        .unwrap();
    let later = WeeklyHours::weekdays(time(8, 0, 0, 0), time(18, 0, 0, 0), Weekday::Saturday);
    s.store
        .set_clinic_hours(s.clinic_id, &later, &a, now())
        .await
        .unwrap();
    assert_eq!(
        s.store.clinic_hours(s.clinic_id).await.unwrap(),
        Some(later)
    );
    s.store
        .set_staff_hours(s.owner_id, s.clinic_id, &h, &a, now())
        .await
        .unwrap();
    assert_eq!(
        s.store.staff_hours(s.owner_id, s.clinic_id).await.unwrap(),
        Some(h)
    );
    s.store
        .add_closure(s.clinic_id, date(2026, 12, 25), "Christmas", &a, now())
        .await
        .unwrap();
    assert!(matches!(
        s.store
            .add_closure(s.clinic_id, date(2026, 12, 25), "x", &a, now())
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.store.closures(s.clinic_id).await.unwrap(),
        vec![(date(2026, 12, 25), "Christmas".to_string())]
    );
}

fn moved(a: &Appointment, room: i64, start: &str, minutes: i64) -> Move {
    let starts_at: Timestamp = start.parse().unwrap();
    Move {
        id: a.id,
        practitioner_id: a.practitioner_id,
        room_id: Some(room),
        device_id: a.device_id,
        starts_at,
        ends_at: starts_at + SignedDuration::from_mins(minutes),
        local_start: start.into(),
        window_override: None,
    }
}

/// Moving appointments frees their old time and claims the new one, all or
/// none, and a course can move along onto its own sessions' times.
async fn moves_are_whole_and_never_double_book(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Mo", "Ving", "1990-01-01"), &a, now())
        .await
        .unwrap();
    let room = s
        .store
        .create_room(s.clinic_id, &RoomDetails::parse("R1").unwrap(), &a, now())
        .await
        .unwrap()
        .id;
    let course = s
        .store
        .book(
            &[
                appointment(&s, p.id, room, "2026-11-23T10:00:00Z", 60),
                appointment(&s, p.id, room, "2026-12-21T10:00:00Z", 60),
            ],
            &a,
            now(),
        )
        .await
        .unwrap();
    let other = s
        .store
        .book(
            &[appointment(&s, p.id, room, "2026-11-24T10:00:00Z", 60)],
            &a,
            now(),
        )
        .await
        .unwrap();
    // Session 1 onto session 2's time, session 2 four weeks later: one step.
    let mut m2 = moved(&course[1], room, "2027-01-18T10:00:00Z", 60);
    m2.window_override = Some("Patient travelling".into());
    let done = s
        .store
        .reschedule(
            &[moved(&course[0], room, "2026-12-21T10:00:00Z", 60), m2],
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(done[0].local_start, "2026-12-21T10:00:00Z");
    assert_eq!(done[0].moved_from.as_deref(), Some("2026-11-23T10:00:00Z"));
    assert_eq!(
        done[1].window_override.as_deref(),
        Some("Patient travelling")
    );
    // The freed time can be booked again.
    s.store
        .book(
            &[appointment(&s, p.id, room, "2026-11-23T10:00:00Z", 60)],
            &a,
            now(),
        )
        .await
        .unwrap();
    // Onto another appointment's time: refused, and nothing moved.
    let clash = s
        .store
        .reschedule(
            &[
                moved(&done[1], room, "2027-01-25T10:00:00Z", 60),
                moved(&done[0], room, "2026-11-24T10:30:00Z", 60),
            ],
            &a,
            now(),
        )
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict(ref m)) if m.contains("already booked")),
        "{clash:?}"
    );
    let kept = s.store.appointment(done[1].id).await.unwrap();
    assert_eq!(
        kept.local_start, "2027-01-18T10:00:00Z",
        "the first move was rolled back"
    );
    assert!(
        s.store
            .book(
                &[appointment(&s, p.id, room, "2027-01-18T10:30:00Z", 30)],
                &a,
                now()
            )
            .await
            .is_err(),
        "its time is still claimed"
    );
    // Only a booked appointment moves.
    s.store
        .set_appointment_status(other[0].id, &status("checked_in", None), &a, now())
        .await
        .unwrap();
    assert!(matches!(
        s.store
            .reschedule(
                &[moved(&other[0], room, "2026-11-30T10:00:00Z", 60)],
                &a,
                now()
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
}

async fn policies_templates_and_fees_round_trip(b: TestBackend) {
    use needlepoint_domain::booking_rules::CancellationPolicy;
    use needlepoint_domain::message_template::MessageTemplate;
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    assert_eq!(
        s.store.cancellation_policy(s.clinic_id).await.unwrap(),
        CancellationPolicy::default(),
        "no policy until one is set"
    );
    let policy = CancellationPolicy::parse("48", "30").unwrap();
    s.store
        .set_cancellation_policy(s.clinic_id, &policy, &a, now())
        .await
        .unwrap();
    assert_eq!(
        s.store.cancellation_policy(s.clinic_id).await.unwrap(),
        policy
    );

    assert!(s
        .store
        .message_templates(s.clinic_id)
        .await
        .unwrap()
        .is_empty());
    let t = MessageTemplate::parse("See you {when}", "Hello {patient}").unwrap();
    s.store
        .set_message_template(s.clinic_id, "reminder_24h", &t, &a, now())
        .await
        .unwrap();
    let t2 = MessageTemplate::parse("Soon: {when}", "Hi {patient}").unwrap();
    s.store
        .set_message_template(s.clinic_id, "reminder_24h", &t2, &a, now())
        .await
        .unwrap();
    assert_eq!(
        s.store.message_templates(s.clinic_id).await.unwrap(),
        vec![("reminder_24h".to_string(), t2)]
    );
    assert!(s
        .store
        .set_message_template(s.clinic_id, "birthday", &t, &a, now())
        .await
        .is_err());

    // A late cancellation keeps who cancelled and the fee.
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Fe", "Late", "1990-01-01"), &a, now())
        .await
        .unwrap();
    let room = s
        .store
        .create_room(s.clinic_id, &RoomDetails::parse("R1").unwrap(), &a, now())
        .await
        .unwrap()
        .id;
    let booked = s
        .store
        .book(
            &[appointment(&s, p.id, room, "2026-11-23T10:00:00Z", 60)],
            &a,
            now(),
        )
        .await
        .unwrap();
    let c = s
        .store
        .set_appointment_status(
            booked[0].id,
            &StatusChange {
                status: needlepoint_domain::appointment::AppointmentStatus::Cancelled,
                reason: Some("Forgot"),
                cancelled_by: Some("patient"),
                fee_minor: Some(3000),
            },
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        (c.cancelled_by.as_deref(), c.fee_minor),
        (Some("patient"), Some(3000))
    );
    // Its unsent messages stop; a new message of the same kind may be queued.
    let msg = |kind: &str| NewMessage {
        clinic_id: s.clinic_id,
        patient_id: Some(p.id),
        appointment_id: Some(c.id),
        kind: kind.into(),
        channel: "email".into(),
        to_address: "fe@example.com".into(),
        subject: "s".into(),
        body: "b".into(),
        attachment: None,
        due_at: now(),
    };
    s.store
        .enqueue_messages(&[msg("reminder_24h"), msg("reminder_24h")])
        .await
        .unwrap();
    assert_eq!(
        s.store.messages(s.clinic_id, 10).await.unwrap().len(),
        1,
        "queued once"
    );
    s.store.cancel_messages(c.id).await.unwrap();
    s.store
        .enqueue_messages(&[msg("reminder_24h")])
        .await
        .unwrap();
    let statuses: Vec<String> = s
        .store
        .messages(s.clinic_id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.status)
        .collect();
    assert_eq!(statuses, ["pending", "cancelled"]);
}

// ---- charting ------------------------------------------------------------------

fn zone_record(
    zone: &str,
    um: u32,
    flag: Option<&str>,
) -> needlepoint_domain::charting::ZoneRecord {
    needlepoint_domain::charting::ZoneRecord {
        zone: zone.into(),
        depth: needlepoint_domain::Depth::from_micrometres(um).unwrap(),
        passes: 3,
        device: "skinpen".into(),
        speed: "single speed".into(),
        endpoint: needlepoint_domain::charting::Endpoint::Erythema,
        notes: String::new(),
        override_reason: flag.map(|_| "agreed".to_string()),
        flag: flag.map(str::to_string),
    }
}

/// A seeded clinic with a patient, a booked session, a cartridge with one lot
/// of 10 and a serum with one lot of 5.
async fn charting_setup(
    b: TestBackend,
) -> (needlepoint_store::testing::Seeded, Appointment, Lot, Lot) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Cy", "Chart", "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let room = s
        .store
        .create_room(s.clinic_id, &RoomDetails::parse("R1").unwrap(), &a, now())
        .await
        .unwrap()
        .id;
    let appt = s
        .store
        .book(
            &[appointment(&s, p.id, room, "2026-11-23T10:00:00Z", 90)],
            &a,
            now(),
        )
        .await
        .unwrap()
        .remove(0);
    use needlepoint_domain::charting::SupplyKind;
    let mut lots = vec![];
    for (kind, name, q) in [
        (SupplyKind::Cartridge, "SkinPen 14-pin cartridge", 10),
        (SupplyKind::Product, "Vitamin C serum", 5),
    ] {
        let item = s
            .store
            .create_supply_item(
                s.clinic_id,
                &NewSupplyItem {
                    kind,
                    name: name.into(),
                    supplier: "Crown".into(),
                    intradermal: false,
                    reorder_at: 8,
                },
                &a,
                now(),
            )
            .await
            .unwrap();
        lots.push(
            s.store
                .receive_lot(
                    &NewLot {
                        item_id: item.id,
                        lot_number: format!("L-{q}"),
                        expires_on: jiff::civil::date(2027, 6, 30),
                        quantity: q,
                    },
                    &a,
                    now(),
                )
                .await
                .unwrap(),
        );
    }
    let serum = lots.pop().unwrap();
    (s, appt, lots.pop().unwrap(), serum)
}

async fn charts_are_read_only_once_signed_and_take_stock(b: TestBackend) {
    let (s, appt, cartridge, serum) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let c = s.store.open_chart(&appt, None, &a, now()).await.unwrap();
    assert_eq!(
        s.store.open_chart(&appt, None, &a, now()).await.unwrap().id,
        c.id,
        "one chart per appointment"
    );
    // Zones wait for the start.
    let early = s
        .store
        .save_zone(c.id, &zone_record("cheeks", 1000, None), &a, now())
        .await;
    assert!(matches!(early, Err(StoreError::Conflict(_))), "{early:?}");
    let c = s.store.start_chart(c.id, &[], &a, now()).await.unwrap();
    assert_eq!(c.status.as_str(), "in_progress");
    s.store
        .save_zone(c.id, &zone_record("cheeks", 1000, None), &a, now())
        .await
        .unwrap();
    s.store
        .save_zone(c.id, &zone_record("forehead", 500, None), &a, now())
        .await
        .unwrap();
    // The same zone again replaces it.
    let c = s
        .store
        .save_zone(c.id, &zone_record("cheeks", 750, None), &a, now())
        .await
        .unwrap();
    assert_eq!(c.zones.len(), 2);
    assert_eq!(c.zones[0].depth.micrometres(), 750);
    s.store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await
        .unwrap();
    let twice = s
        .store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    let c = s
        .store
        .add_chart_lot(c.id, serum.id, 2, Some("not intradermal"), &a, now())
        .await
        .unwrap();
    assert_eq!(c.needle_lots(), 1);
    assert_eq!(c.lots[1].warning.as_deref(), Some("not intradermal"));
    // Stock is unchanged until the session is signed.
    assert_eq!(s.store.lot(cartridge.id).await.unwrap().quantity, 10);
    // Signing checks the version the clinician saw.
    let stale = s
        .store
        .sign_chart(c.id, c.version - 1, false, &a, now())
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(
        s.store.appointment(appt.id).await.unwrap().status.as_str(),
        "booked",
        "a refused signature completes nothing"
    );
    let signed = s
        .store
        .sign_chart(c.id, c.version, false, &a, now())
        .await
        .unwrap();
    assert!(signed.is_signed() && signed.signed_by == Some(s.owner_id));
    assert_eq!(
        s.store.appointment(appt.id).await.unwrap().status.as_str(),
        "completed",
        "signing completes the appointment in the same transaction"
    );
    assert_eq!(s.store.lot(cartridge.id).await.unwrap().quantity, 9);
    assert_eq!(s.store.lot(serum.id).await.unwrap().quantity, 3);
    let moves = s.store.stock_movements(serum.id).await.unwrap();
    assert_eq!(
        moves
            .iter()
            .map(|m| (m.delta, m.reason.as_str(), m.chart_id))
            .collect::<Vec<_>>(),
        vec![(5, "received", None), (-2, "used", Some(c.id))]
    );
    // Nothing about a signed session changes through the store...
    for r in [
        s.store
            .save_zone(c.id, &zone_record("nose", 250, None), &a, now())
            .await,
        s.store.remove_zone(c.id, "cheeks", &a, now()).await,
        s.store
            .remove_chart_lot(c.id, cartridge.id, &a, now())
            .await,
        s.store
            .save_checklist(c.id, &ChecklistRecord::default(), &a, now())
            .await,
        s.store
            .sign_chart(c.id, signed.version, false, &a, now())
            .await,
    ] {
        match r {
            Err(StoreError::Conflict(m)) => {
                assert!(m.contains("amendment") || m.contains("signed"), "{m}")
            }
            other => panic!("a signed chart changed: {other:?}"),
        }
    }
    assert_eq!(s.store.chart(c.id).await.unwrap().zones, signed.zones);
    // ...and an amendment sits beside the original.
    let amended = s
        .store
        .amend_chart(
            c.id,
            &needlepoint_domain::charting::AmendmentInput {
                zone: "cheeks".into(),
                text: "Depth was 0.5 mm".into(),
                reason: "Wrong value typed".into(),
                depth: String::new(),
            },
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(amended.zones, signed.zones, "the original stays");
    assert_eq!(amended.amendments.len(), 1);
    assert_eq!(amended.amendments[0].zone.as_deref(), Some("cheeks"));
    assert_eq!(amended.amendments[0].created_by, s.owner_id);
    let audit = s.store.patient_audit(appt.patient_id, 50).await.unwrap();
    for action in ["sign", "amend", "zone", "lot", "start"] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.entity == "chart"),
            "{action}"
        );
    }
}

async fn the_database_refuses_to_change_a_signed_chart(b: TestBackend) {
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    let (s2, appt, cartridge, _) = {
        // Reuse the setup's steps on this store, which we can reach directly.
        let a = actor(s.owner_id);
        let p = s
            .store
            .create_patient(s.clinic_id, &patient("Di", "Db", "1990-01-01"), &a, now())
            .await
            .unwrap();
        let room = s
            .store
            .create_room(s.clinic_id, &RoomDetails::parse("R1").unwrap(), &a, now())
            .await
            .unwrap()
            .id;
        let appt = s
            .store
            .book(
                &[appointment(&s, p.id, room, "2026-11-23T10:00:00Z", 90)],
                &a,
                now(),
            )
            .await
            .unwrap()
            .remove(0);
        let item = s
            .store
            .create_supply_item(
                s.clinic_id,
                &NewSupplyItem {
                    kind: needlepoint_domain::charting::SupplyKind::Cartridge,
                    name: "Cartridge".into(),
                    supplier: "Crown".into(),
                    intradermal: false,
                    reorder_at: 0,
                },
                &a,
                now(),
            )
            .await
            .unwrap();
        let lot = s
            .store
            .receive_lot(
                &NewLot {
                    item_id: item.id,
                    lot_number: "X1".into(),
                    expires_on: jiff::civil::date(2027, 1, 1),
                    quantity: 3,
                },
                &a,
                now(),
            )
            .await
            .unwrap();
        (&s, appt, lot, ())
    };
    let a = actor(s2.owner_id);
    let c = s2.store.open_chart(&appt, None, &a, now()).await.unwrap();
    let c = s2.store.start_chart(c.id, &[], &a, now()).await.unwrap();
    s2.store
        .save_zone(c.id, &zone_record("cheeks", 1000, None), &a, now())
        .await
        .unwrap();
    let c = s2
        .store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await
        .unwrap();
    s2.store
        .sign_chart(c.id, c.version, false, &a, now())
        .await
        .unwrap();
    let statements = [
        "UPDATE charts SET zones = '[]'".to_string(),
        "DELETE FROM charts".to_string(),
        format!("DELETE FROM chart_lots WHERE chart_id = {}", c.id),
        format!("INSERT INTO chart_lots (chart_id, lot_id, patient_id, clinic_id, quantity, used_at) VALUES ({}, {}, {}, {}, 1, '2026-11-23T10:00:00Z')", c.id, cartridge.id, appt.patient_id, appt.clinic_id),
    ];
    for sql in statements {
        let r = match b {
            TestBackend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{at}"))
                    .await
                    .unwrap();
                sqlx::query(&sql).execute(&pool).await.map(|_| ())
            }
            TestBackend::Postgres => {
                let pool = sqlx::PgPool::connect(&at).await.unwrap();
                sqlx::query(&sql).execute(&pool).await.map(|_| ())
            }
        };
        let e = r.expect_err(&format!("the database must refuse: {sql}"));
        assert!(
            e.to_string().contains("read-only") || e.to_string().contains("never deleted"),
            "{sql}: {e}"
        );
    }
    assert_eq!(s2.store.chart(c.id).await.unwrap().zones.len(), 1);
}

async fn a_flagged_session_waits_for_a_second_signoff(b: TestBackend) {
    let (s, appt, cartridge, _) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let c = s.store.open_chart(&appt, None, &a, now()).await.unwrap();
    let c = s.store.start_chart(c.id, &[], &a, now()).await.unwrap();
    s.store
        .save_zone(
            c.id,
            &zone_record("forehead", 750, Some("above range")),
            &a,
            now(),
        )
        .await
        .unwrap();
    let c = s
        .store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await
        .unwrap();
    let signed = s
        .store
        .sign_chart(c.id, c.version, true, &a, now())
        .await
        .unwrap();
    assert!(signed.needs_cosign && signed.cosigned_at.is_none());
    let director = s
        .store
        .create_staff(
            &new_staff(
                s.organisation_id,
                "md@example.com",
                Role::Clinician,
                vec![s.clinic_id],
            ),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert!(!director.medical_director);
    let director = s
        .store
        .set_medical_director(director.id, true, &a, now())
        .await
        .unwrap();
    assert!(director.medical_director);
    let done = s
        .store
        .cosign_chart(c.id, &actor(director.id), now())
        .await
        .unwrap();
    assert_eq!(done.cosigned_by, Some(director.id));
    assert_eq!(done.cosigned_by_name.as_deref(), Some("md"));
    let again = s.store.cosign_chart(c.id, &actor(director.id), now()).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}

async fn recalls_reach_the_chain_find_every_use_and_message_once(b: TestBackend) {
    let (s, appt, cartridge, _) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let c = s.store.open_chart(&appt, None, &a, now()).await.unwrap();
    let c = s.store.start_chart(c.id, &[], &a, now()).await.unwrap();
    s.store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await
        .unwrap();
    let uses = s.store.lot_uses(cartridge.id).await.unwrap();
    assert_eq!(uses.len(), 1);
    assert_eq!(
        (
            uses[0].patient_name.as_str(),
            uses[0].chart_id,
            uses[0].appointment_id
        ),
        ("Cy Chart", c.id, appt.id)
    );
    assert_eq!(uses[0].email.as_deref(), Some("cy@example.com"));
    let msg = NewMessage {
        clinic_id: s.clinic_id,
        patient_id: Some(appt.patient_id),
        appointment_id: Some(appt.id),
        kind: "recall".into(),
        channel: "email".into(),
        to_address: "cy@example.com".into(),
        subject: "Recall".into(),
        body: "Recall".into(),
        attachment: None,
        due_at: now(),
    };
    let early = s
        .store
        .notify_recall(&[cartridge.id], std::slice::from_ref(&msg), &a, now())
        .await;
    assert!(
        matches!(early, Err(StoreError::Conflict(_))),
        "not recalled yet: {early:?}"
    );
    // The same maker's lot at the organisation's other clinic, spelled in
    // another case; a different lot number and another maker's lot are not
    // part of the recall.
    let north = s
        .store
        .create_clinic(
            s.organisation_id,
            &ClinicDetails::parse("North", "America/New_York", "", "").unwrap(),
            &a,
            now(),
        )
        .await
        .unwrap();
    let north_lot = |name: &'static str, supplier: &'static str, number: &'static str| {
        let store = s.store.clone();
        let a = a.clone();
        async move {
            let item = store
                .create_supply_item(
                    north.id,
                    &NewSupplyItem {
                        kind: needlepoint_domain::charting::SupplyKind::Cartridge,
                        name: name.into(),
                        supplier: supplier.into(),
                        intradermal: false,
                        reorder_at: 0,
                    },
                    &a,
                    now(),
                )
                .await
                .unwrap();
            store
                .receive_lot(
                    &NewLot {
                        item_id: item.id,
                        lot_number: number.into(),
                        expires_on: jiff::civil::date(2027, 6, 30),
                        quantity: 4,
                    },
                    &a,
                    now(),
                )
                .await
                .unwrap()
        }
    };
    let same = north_lot("SKINPEN 14-pin cartridge", "crown", "L-10").await;
    let other_number = {
        let store = s.store.clone();
        store
            .receive_lot(
                &NewLot {
                    item_id: same.item_id,
                    lot_number: "L-11".into(),
                    expires_on: jiff::civil::date(2027, 6, 30),
                    quantity: 4,
                },
                &a,
                now(),
            )
            .await
            .unwrap()
    };
    let other_maker = north_lot("SkinPen 14-pin cartridge", "Someone else", "L-10").await;
    let siblings: Vec<i64> = s
        .store
        .lot_siblings(cartridge.id)
        .await
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(siblings, [cartridge.id, same.id], "this lot first");
    let lot = s
        .store
        .recall_lot(cartridge.id, "sterility breach", &a, now())
        .await
        .unwrap();
    assert_eq!(lot.recall_reason.as_deref(), Some("sterility breach"));
    assert!(lot.recalled_at.is_some());
    let at_north = s.store.lot(same.id).await.unwrap();
    assert_eq!(
        at_north.recall_reason.as_deref(),
        Some("sterility breach"),
        "the same lot at the other clinic is recalled too"
    );
    for untouched in [other_number.id, other_maker.id] {
        assert!(s.store.lot(untouched).await.unwrap().recalled_at.is_none());
    }
    assert!(matches!(
        s.store.recall_lot(cartridge.id, "again", &a, now()).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.store.recall_lot(same.id, "again", &a, now()).await,
        Err(StoreError::Conflict(_))
    ));
    // Notifying is all the lots at once, or nothing.
    let half = s
        .store
        .notify_recall(
            &[cartridge.id, other_number.id],
            std::slice::from_ref(&msg),
            &a,
            now(),
        )
        .await;
    assert!(matches!(half, Err(StoreError::Conflict(_))), "{half:?}");
    assert!(s
        .store
        .lot(cartridge.id)
        .await
        .unwrap()
        .recall_notified_at
        .is_none());
    s.store
        .notify_recall(
            &[cartridge.id, same.id],
            std::slice::from_ref(&msg),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert!(s
        .store
        .lot(cartridge.id)
        .await
        .unwrap()
        .recall_notified_at
        .is_some());
    assert!(s
        .store
        .lot(same.id)
        .await
        .unwrap()
        .recall_notified_at
        .is_some());
    let again = s
        .store
        .notify_recall(&[cartridge.id], &[msg], &a, now())
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let queued = s.store.messages(s.clinic_id, 10).await.unwrap();
    assert_eq!(queued.iter().filter(|m| m.kind == "recall").count(), 1);
    // A recalled lot no longer counts as usable stock.
    let items = s
        .store
        .supply_items(s.clinic_id, jiff::civil::date(2026, 11, 22))
        .await
        .unwrap();
    let cart = items.iter().find(|i| i.id == cartridge.item_id).unwrap();
    assert_eq!(cart.usable, 0);
}

async fn stock_is_received_counted_and_usable_until_expiry(b: TestBackend) {
    let (s, _, cartridge, serum) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let dup = s
        .store
        .receive_lot(
            &NewLot {
                item_id: cartridge.item_id,
                lot_number: cartridge.lot_number.clone(),
                expires_on: jiff::civil::date(2027, 1, 1),
                quantity: 1,
            },
            &a,
            now(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let counted = s.store.count_lot(serum.id, 4, &a, now()).await.unwrap();
    assert_eq!(counted.quantity, 4);
    assert_eq!(
        s.store
            .stock_movements(serum.id)
            .await
            .unwrap()
            .last()
            .unwrap()
            .delta,
        -1
    );
    let before_expiry = s
        .store
        .supply_items(s.clinic_id, jiff::civil::date(2027, 6, 30))
        .await
        .unwrap();
    let after_expiry = s
        .store
        .supply_items(s.clinic_id, jiff::civil::date(2027, 7, 1))
        .await
        .unwrap();
    let usable = |items: &[SupplyItem], id| items.iter().find(|i| i.id == id).unwrap().usable;
    assert_eq!(usable(&before_expiry, cartridge.item_id), 10);
    assert_eq!(usable(&after_expiry, cartridge.item_id), 0);
    let lots = s.store.lots(s.clinic_id).await.unwrap();
    assert_eq!(lots.len(), 2);
    let same_name = s
        .store
        .create_supply_item(
            s.clinic_id,
            &NewSupplyItem {
                kind: needlepoint_domain::charting::SupplyKind::Product,
                name: "Vitamin C serum".into(),
                supplier: "X".into(),
                intradermal: true,
                reorder_at: 0,
            },
            &a,
            now(),
        )
        .await;
    assert!(
        matches!(same_name, Err(StoreError::Conflict(_))),
        "{same_name:?}"
    );
}

async fn photos_are_recorded_with_their_view(b: TestBackend) {
    let (s, appt, _, _) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let c = s.store.open_chart(&appt, None, &a, now()).await.unwrap();
    let p = s
        .store
        .add_photo(
            &NewPhoto {
                clinic_id: s.clinic_id,
                patient_id: appt.patient_id,
                chart_id: Some(c.id),
                view: "front".into(),
                sha256: "ab".repeat(32),
                width: 640,
                height: 480,
                bytes: 1234,
            },
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(s.store.photo(p.id).await.unwrap().sha256, "ab".repeat(32));
    let all = s.store.patient_photos(appt.patient_id).await.unwrap();
    assert_eq!(
        (all.len(), all[0].chart_id, all[0].view.as_str()),
        (1, Some(c.id), "front")
    );
}

async fn a_generated_chain_is_whole_and_recallable(b: TestBackend) {
    use needlepoint_store::generate::Scale;
    let store = needlepoint_store::testing::fresh_store(b).await;
    let scale = Scale {
        clinics: 2,
        patients: 30,
        sessions: 100,
        seed: 1,
        until: now(),
    };
    let seen = std::sync::Mutex::new(vec![]);
    let made = store
        .generate(&scale, &|p| seen.lock().unwrap().push((p.done, p.total)))
        .await
        .unwrap();
    assert_eq!(
        (made.clinic_ids.len(), made.patients, made.sessions),
        (2, 30, 100)
    );
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&(30, 30)),
        "progress reaches the end"
    );
    // Every session used one cartridge lot: the recalls add up.
    let mut uses = 0;
    for lot in &made.cartridge_lots {
        let list = store.lot_uses(*lot).await.unwrap();
        assert!(list.iter().all(|u| made.clinic_ids.contains(&u.clinic_id)));
        uses += list.len();
    }
    assert_eq!(uses, 100);
    // Generated sessions are signed, hence read-only.
    let chart = store.patient_charts(1).await.unwrap().remove(0);
    assert!(chart.is_signed() && chart.signed_by.is_some());
    assert!(!chart.lots.is_empty());
    let a = Actor::system("test");
    let z = store
        .save_zone(chart.id, &zone_record("nose", 250, None), &a, now())
        .await;
    assert!(matches!(z, Err(StoreError::Conflict(_))), "{z:?}");
    // New records after a bulk load get fresh ids (sequences moved on).
    let p = store
        .create_patient(
            made.clinic_ids[0],
            &patient("New", "After", "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(p.id, 31);
    // A second run refuses: generate needs an empty database.
    let again = store.generate(&scale, &|_| {}).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $case() { super::$case(super::TestBackend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $case() { super::$case(super::TestBackend::Postgres).await } )*
        }
    };
}

conformance!(
    setup_is_once_and_audited,
    migrations_are_idempotent,
    staff_emails_are_unique_and_case_blind,
    sessions_expire_and_log_out,
    failed_logins_count_since_last_success,
    api_tokens_are_used_and_revoked,
    staff_see_only_their_clinics,
    patient_search_matches_every_word,
    patient_updates_check_version_and_audit_changes,
    audit_log_is_append_only_in_the_database,
    every_view_is_audited_before_it_returns,
    rooms_devices_and_prices_round_trip,
    clinical_notes_keep_author_and_order,
    backup_makes_a_consistent_copy_or_says_how,
    deactivated_staff_lose_access_but_not_the_last_owner,
    concurrent_writes_all_commit,
    histories_and_screenings_are_kept_as_written,
    knowledge_overrides_keep_who_and_why,
    intake_links_work_once_and_expire,
    plans_need_a_covering_consent_and_freeze_when_accepted,
    consent_links_sign_once,
    pricing_and_typed_price_items_round_trip,
    an_appointment_moves_through_its_lifecycle,
    messages_are_queued_with_the_change_or_not_at_all,
    nothing_is_booked_twice,
    racing_bookings_one_wins,
    hours_and_closures_round_trip,
    moves_are_whole_and_never_double_book,
    policies_templates_and_fees_round_trip,
    charts_are_read_only_once_signed_and_take_stock,
    the_database_refuses_to_change_a_signed_chart,
    a_flagged_session_waits_for_a_second_signoff,
    recalls_reach_the_chain_find_every_use_and_message_once,
    stock_is_received_counted_and_usable_until_expiry,
    photos_are_recorded_with_their_view,
    a_generated_chain_is_whole_and_recallable,
);
