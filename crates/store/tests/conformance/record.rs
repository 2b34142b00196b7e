//! The record itself: the append-only audit trail, views audited together, backups, concurrent writes.

use super::*;

/// Views racing in are each in the trail when their call returns; they are
/// written by one writer, many to a transaction.
pub async fn every_view_is_audited_before_it_returns(b: TestBackend) {
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

pub async fn audit_log_is_append_only_in_the_database(b: TestBackend) {
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

pub async fn backup_makes_a_consistent_copy_or_says_how(b: TestBackend) {
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
                .search_patients(s.owner_id, None, "stone", 10, None)
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

/// Many writers at once all commit: on SQLite each write transaction takes
/// the lock at BEGIN (IMMEDIATE) and waits its turn instead of failing.
pub async fn concurrent_writes_all_commit(b: TestBackend) {
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
            .search_patients(s.owner_id, None, "crowd", 100, None)
            .await
            .unwrap()
            .total,
        40
    );
}

/// An appointment's kind and status and a message's channel are words the
/// product knows, on both databases, even for a write that bypasses it.
pub async fn lifecycle_words_are_checked_by_the_database(b: TestBackend) {
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Ru", "Vale", "1990-01-01"), &a, now())
        .await
        .unwrap();
    let room = room(&s).await;
    let mut new = appointment(&s, p.id, room, "2027-03-02T10:00:00Z", 30);
    new.kind = needlepoint_domain::appointment::AppointmentKind::FollowUp;
    let booked = s.store.book(&[new], &a, now()).await.unwrap();
    assert_eq!(
        booked[0].kind,
        needlepoint_domain::appointment::AppointmentKind::FollowUp,
        "read back as it was written"
    );
    // Each pair: a write with a word the product knows, which must pass
    // (so that the refusal of the other is the check's, not another fault),
    // and the same write with an unknown word.
    let message = |channel: &str| {
        format!(
            "INSERT INTO messages (clinic_id, kind, channel, to_address, subject, body, due_at, status, attempts, created_at) \
             SELECT clinic_id, 'confirmation', '{channel}', 'x', 's', 'b', starts_at, 'pending', 0, starts_at FROM appointments"
        )
    };
    let pairs = [
        (
            "UPDATE appointments SET kind = 'consultation'".to_string(),
            "UPDATE appointments SET kind = 'massage'".to_string(),
        ),
        (
            "UPDATE appointments SET status = 'checked_in'".to_string(),
            "UPDATE appointments SET status = 'lost'".to_string(),
        ),
        (message("sms"), message("fax")),
    ];
    let at: &str = &at;
    for (good, bad) in pairs {
        let run = |sql: String| async move {
            match b {
                TestBackend::Sqlite => {
                    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{at}"))
                        .await
                        .unwrap();
                    sqlx::query(&sql).execute(&pool).await.map(|_| ())
                }
                TestBackend::Postgres => {
                    let pool = sqlx::PgPool::connect(at).await.unwrap();
                    sqlx::query(&sql).execute(&pool).await.map(|_| ())
                }
            }
        };
        run(good.clone())
            .await
            .unwrap_or_else(|e| panic!("{good}: {e}"));
        assert!(
            run(bad.clone()).await.is_err(),
            "the database let through: {bad}"
        );
    }
}

/// Runs SQL by hand on the database under the store, as someone holding
/// the file (or the server's credentials) could.
pub async fn by_hand(b: TestBackend, at: &str, sql: &str) {
    match b {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{at}"))
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(at).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// With the triggers dropped by hand, a row edited, inserted or deleted is
/// found by `verify_audit`, which names the row; opening the database again
/// puts the triggers back.
pub async fn the_audit_chain_finds_rows_changed_by_hand(b: TestBackend) {
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    for i in 1..=4 {
        s.store
            .record_audit(
                &actor(s.owner_id),
                &AuditEvent::new("view", "patient", Some(i)).patient(i),
                now(),
            )
            .await
            .unwrap();
    }
    let v = s.store.verify_audit().await.unwrap();
    assert_eq!(v.broken, None, "intact as written");
    assert!(v.rows >= 4);
    let ids: Vec<i64> = s
        .store
        .recent_audit(100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    let (newest, middle) = (ids[0], ids[2]);
    let drop_triggers = match b {
        TestBackend::Sqlite => {
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; \
             DROP TRIGGER audit_chain_no_update; DROP TRIGGER audit_chain_no_delete;"
        }
        TestBackend::Postgres => {
            "DROP TRIGGER audit_log_no_change ON audit_log; \
             DROP TRIGGER audit_chain_no_change ON audit_chain;"
        }
    };
    by_hand(b, &at, drop_triggers).await;

    // Edited.
    by_hand(
        b,
        &at,
        &format!("UPDATE audit_log SET action = 'nothing' WHERE id = {middle}"),
    )
    .await;
    let v = s.store.verify_audit().await.unwrap();
    let (row, why) = v.broken.expect("an edit is found");
    assert_eq!(row, middle);
    assert!(why.contains("changed"), "{why}");
    by_hand(
        b,
        &at,
        &format!("UPDATE audit_log SET action = 'view' WHERE id = {middle}"),
    )
    .await;
    assert_eq!(
        s.store.verify_audit().await.unwrap().broken,
        None,
        "put back, intact"
    );

    // Inserted.
    by_hand(
        b,
        &at,
        &format!(
            "INSERT INTO audit_log (id, at, actor_label, channel, action, entity, detail) \
             VALUES ({}, '2026-01-01T00:00:00Z', 'nobody', 'web', 'view', 'patient', '{{}}')",
            newest + 1
        ),
    )
    .await;
    let (row, why) = s
        .store
        .verify_audit()
        .await
        .unwrap()
        .broken
        .expect("an insert is found");
    assert_eq!(row, newest + 1);
    assert!(why.contains("inserted"), "{why}");
    by_hand(
        b,
        &at,
        &format!("DELETE FROM audit_log WHERE id = {}", newest + 1),
    )
    .await;
    assert_eq!(s.store.verify_audit().await.unwrap().broken, None);

    // Deleted, and deleted with its link too.
    by_hand(
        b,
        &at,
        &format!("DELETE FROM audit_log WHERE id = {middle}"),
    )
    .await;
    let (row, why) = s
        .store
        .verify_audit()
        .await
        .unwrap()
        .broken
        .expect("a delete is found");
    assert_eq!(row, middle);
    assert!(why.contains("deleted"), "{why}");
    by_hand(
        b,
        &at,
        &format!("DELETE FROM audit_chain WHERE audit_id = {middle}"),
    )
    .await;
    let (row, why) = s
        .store
        .verify_audit()
        .await
        .unwrap()
        .broken
        .expect("still found");
    assert!(row > middle && why.contains("deleted"), "{row}: {why}");

    // Opened again, the database has its triggers back.
    let again = match b {
        TestBackend::Sqlite => needlepoint_store::open::open_sqlite(
            std::path::Path::new(&at),
            needlepoint_store::open::SqliteDurability::Normal,
        )
        .await
        .unwrap(),
        TestBackend::Postgres => needlepoint_store::open::open_postgres(&at).await.unwrap(),
    };
    drop(again);
    let refused = match b {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{at}"))
                .await
                .unwrap();
            sqlx::query("UPDATE audit_log SET action = 'x'")
                .execute(&pool)
                .await
                .map(|_| ())
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&at).await.unwrap();
            sqlx::query("UPDATE audit_log SET action = 'x'")
                .execute(&pool)
                .await
                .map(|_| ())
        }
    };
    assert!(refused.unwrap_err().to_string().contains("append-only"));
}

/// The walk reads the trail a page at a time; a break past the first page
/// is found and named all the same.
pub async fn the_audit_walk_reads_page_after_page(b: TestBackend) {
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    // Views are committed in batches: thousands at once take a few commits.
    let writes: Vec<_> = (0..5_200)
        .map(|i| {
            let store = s.store.clone();
            let who = actor(s.owner_id);
            tokio::spawn(async move {
                store
                    .record_audit(
                        &who,
                        &AuditEvent::new("view", "patient", Some(i)).patient(i),
                        now(),
                    )
                    .await
            })
        })
        .collect();
    for w in writes {
        w.await.unwrap().unwrap();
    }
    let v = s.store.verify_audit().await.unwrap();
    assert_eq!(v.broken, None);
    assert!(v.rows > 5_200, "{}", v.rows);
    let newest = s.store.recent_audit(1).await.unwrap()[0].id;
    assert!(newest > 5_000, "past the first page");
    let drop = match b {
        TestBackend::Sqlite => "DROP TRIGGER audit_log_no_update;",
        TestBackend::Postgres => "DROP TRIGGER audit_log_no_change ON audit_log;",
    };
    by_hand(b, &at, drop).await;
    by_hand(
        b,
        &at,
        &format!("UPDATE audit_log SET ip = '10.0.0.1' WHERE id = {newest}"),
    )
    .await;
    let v = s.store.verify_audit().await.unwrap();
    assert_eq!(v.broken.map(|(row, _)| row), Some(newest));
}
