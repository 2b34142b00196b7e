//! Histories, screenings, knowledge-base overrides and intake links.

use super::*;

pub async fn histories_and_screenings_are_kept_as_written(b: TestBackend) {
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
    // Newest first by when it was made, even when written later (an
    // import, a record brought up to date).
    let earlier = s
        .store
        .record_screening(
            p.id,
            v1.id,
            &result(Status::Deferred),
            &a,
            now() - jiff::SignedDuration::from_hours(24),
        )
        .await
        .unwrap();
    let list = s.store.screenings(p.id).await.unwrap();
    assert_eq!(
        list.iter().map(|x| x.id).collect::<Vec<_>>(),
        [sc.id, earlier.id]
    );
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

pub async fn knowledge_overrides_keep_who_and_why(b: TestBackend) {
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

pub async fn intake_links_work_once_and_expire(b: TestBackend) {
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

/// A patient asks for an intake link from her own page: it is made by no
/// staff member. On SQLite the intake tables were rebuilt to allow that;
/// rebuilding them again over links and answers keeps every row, and
/// every answer still points at its link.
pub async fn patients_make_their_own_intake_links(b: TestBackend) {
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Ida", "Own", "1990-01-01"), &a, now())
        .await
        .unwrap();
    let week = SignedDuration::from_hours(24 * 7);
    s.store
        .create_intake_link(p.id, "by-staff", now() + week, &a, now())
        .await
        .unwrap();
    s.store
        .submit_intake("by-staff", &history(false), now())
        .await
        .unwrap()
        .unwrap();
    let herself = Actor {
        staff_id: None,
        label: format!("patient {} on their page", p.id),
        channel: Channel::Web,
        ip: None,
    };
    let link = s
        .store
        .create_intake_link(p.id, "by-her", now() + week, &herself, now())
        .await
        .unwrap();
    assert_eq!(link.patient_id, p.id);
    s.store
        .submit_intake("by-her", &history(true), now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.store.pending_intakes(p.id).await.unwrap().len(), 2);
    if b == TestBackend::Sqlite {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                format!("sqlite://{at}")
                    .parse::<sqlx::sqlite::SqliteConnectOptions>()
                    .unwrap()
                    .foreign_keys(true),
            )
            .await
            .unwrap();
        let mut tx = pool.begin().await.unwrap();
        sqlx::raw_sql(include_str!(
            "../../migrations/sqlite/0023_patient_intake.sql"
        ))
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let orphans: Vec<sqlx::sqlite::SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert!(orphans.is_empty(), "every answer keeps its link");
        let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM intake_links")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(links, 2);
        assert_eq!(s.store.pending_intakes(p.id).await.unwrap().len(), 2);
    }
}
