//! Organisation, staff, sign-in sessions, API tokens and who sees which clinic.

use super::*;

pub async fn setup_is_once_and_audited(b: TestBackend) {
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

pub async fn migrations_are_idempotent(b: TestBackend) {
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

pub async fn staff_emails_are_unique_and_case_blind(b: TestBackend) {
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

pub async fn sessions_expire_and_log_out(b: TestBackend) {
    let s = seeded(b).await;
    let t0 = now();
    let session = WebSession {
        token_hash: "abc".into(),
        staff_id: s.owner_id,
        created_at: t0,
        expires_at: t0 + SignedDuration::from_hours(1),
        last_seen_at: t0,
        ip: Some("127.0.0.1".into()),
        user_agent: None,
    };
    s.store
        .create_session(&session, &actor(s.owner_id))
        .await
        .unwrap();
    let used = s.store.session("abc", t0).await.unwrap().unwrap();
    let (got, staff) = (used.session, used.staff);
    assert_eq!(staff.id, s.owner_id);
    assert_eq!(
        used.clinic_ids,
        s.store.staff_clinic_ids(staff.id).await.unwrap(),
        "the staff member's clinics come with the session"
    );
    assert!(!used.clinic_ids.is_empty());
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

pub async fn failed_logins_count_since_last_success(b: TestBackend) {
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

pub async fn api_tokens_are_used_and_revoked(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let t = s
        .store
        .create_api_token(s.owner_id, "reporting", "h1", Role::FrontDesk, &a, now())
        .await
        .unwrap();
    assert!(t.last_used_at.is_none());
    // A second clinic, so that the owner's clinics come back as a list.
    s.store
        .create_clinic(
            s.organisation_id,
            &ClinicDetails::parse("Second", "Europe/Paris", "", "").unwrap(),
            &a,
            now(),
        )
        .await
        .unwrap();
    let use_ = s.store.use_api_token("h1", now()).await.unwrap().unwrap();
    let (used, staff) = (use_.token, use_.staff);
    assert_eq!((used.role, staff.id), (Role::FrontDesk, s.owner_id));
    assert!(used.last_used_at.is_some());
    let clinics = s.store.staff_clinic_ids(staff.id).await.unwrap();
    assert!(clinics.len() >= 2, "{clinics:?}");
    assert_eq!(use_.clinic_ids, clinics, "the owner's clinics, in order");
    let map = s.store.staff_clinic_map(s.organisation_id).await.unwrap();
    assert_eq!(
        map.get(&s.owner_id),
        Some(&clinics),
        "the organisation's map gives each member's clinics, in order"
    );
    for member in s.store.list_staff(s.organisation_id).await.unwrap() {
        assert_eq!(
            map.get(&member.id).cloned().unwrap_or_default(),
            s.store.staff_clinic_ids(member.id).await.unwrap()
        );
    }
    // Used again within the minute: the time is not written again; after
    // a minute it is.
    let t0 = used.last_used_at.unwrap();
    let again = s
        .store
        .use_api_token("h1", t0 + jiff::SignedDuration::from_secs(59))
        .await
        .unwrap()
        .unwrap()
        .token;
    assert_eq!(again.last_used_at, Some(t0));
    let later = t0 + needlepoint_store::LAST_USED_EVERY;
    let again = s
        .store
        .use_api_token("h1", later)
        .await
        .unwrap()
        .unwrap()
        .token;
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

pub async fn staff_see_only_their_clinics(b: TestBackend) {
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
        .search_patients(nurse.id, None, "", 50, None)
        .await
        .unwrap();
    assert_eq!(seen.total, 1);
    assert_eq!(seen.patients[0].details.given_name, "Ines");
    let all = s
        .store
        .search_patients(s.owner_id, None, "", 50, None)
        .await
        .unwrap();
    assert_eq!(all.total, 2);
    let one = s
        .store
        .search_patients(s.owner_id, Some(s.clinic_id), "", 50, None)
        .await
        .unwrap();
    assert_eq!(one.total, 1);
    assert!(matches!(
        s.store.clinic(9999).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn deactivated_staff_lose_access_but_not_the_last_owner(b: TestBackend) {
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
        last_seen_at: t0,
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
    // Reactivating the account does not bring its old token back to life:
    // whoever kept a copy must not regain access with it.
    assert!(s
        .store
        .use_api_token("n-token", t0)
        .await
        .unwrap()
        .is_none());
    assert!(s.store.session("n-session", t0).await.unwrap().is_none());
}
