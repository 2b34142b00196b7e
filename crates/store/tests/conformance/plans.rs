//! Plans, consents and consent links.

use super::*;

pub async fn plans_need_a_covering_consent_and_freeze_when_accepted(b: TestBackend) {
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
    edited.tracks[0].sessions = 4;
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

pub async fn consent_links_sign_once(b: TestBackend) {
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

/// Plans saved before tracks (one course for every area) read back as one
/// track with the same values once the migration has run; running it again
/// changes nothing.
pub async fn plans_saved_before_tracks_become_one_track(b: TestBackend) {
    use needlepoint_domain::plan::Plan;
    use needlepoint_domain::pricing::{PriceList, Quote};
    use serde_json::{json, Value};
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    let a = actor(s.owner_id);
    let (p, sc) = screened_patient(&s, "Ola", "Older").await;
    let prop = proposal();
    let mut plan = Plan::from_proposal(&prop, "skinpen");
    plan.tracks[0].sessions_reason = Some("Agreed".into());
    let list = PriceList {
        currency: "GBP".into(),
        tax_rate_bp: 2000,
        tax_included: true,
        areas: vec![("cheeks".into(), 15_000)],
        bundles: vec![],
        packages: vec![],
        addons: vec![],
    };
    let quote: Quote = list.quote(&plan.priced_tracks(), &[]).unwrap();
    let rec = s
        .store
        .create_plan(
            p.id,
            s.clinic_id,
            sc.id,
            &prop,
            &plan,
            &[],
            Some(&quote),
            &a,
            now(),
        )
        .await
        .unwrap();

    // The same plan as it was written before tracks.
    let track = |v: &Value| v["tracks"][0].clone();
    let mut old_plan = serde_json::to_value(&rec.plan).unwrap();
    let t = track(&old_plan);
    for k in ["sessions", "sessions_reason", "interval", "interval_reason"] {
        old_plan[k] = t[k].clone();
    }
    old_plan.as_object_mut().unwrap().remove("tracks");
    let mut old_proposal = serde_json::to_value(&rec.proposal).unwrap();
    let t = track(&old_proposal);
    for k in [
        "sessions",
        "sessions_min",
        "sessions_max",
        "interval",
        "reconciliation",
    ] {
        old_proposal[k] = t[k].clone();
    }
    old_proposal.as_object_mut().unwrap().remove("tracks");
    let mut old_quote = serde_json::to_value(rec.quote.as_ref().unwrap()).unwrap();
    let t = track(&old_quote);
    for k in ["session_lines", "per_session", "sessions"] {
        old_quote[k] = t[k].clone();
    }
    old_quote.as_object_mut().unwrap().remove("tracks");
    assert_eq!(old_plan["sessions"], json!(3));

    let write = format!(
        "UPDATE plans SET plan = '{}', proposal = '{}', quote = '{}' WHERE id = {}",
        old_plan, old_proposal, old_quote, rec.id
    );
    let migration = match b {
        TestBackend::Sqlite => include_str!("../../migrations/sqlite/0013_plan_tracks.sql"),
        TestBackend::Postgres => include_str!("../../migrations/postgres/0013_plan_tracks.sql"),
    };
    for sql in [write.as_str(), migration, migration] {
        match b {
            TestBackend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{at}"))
                    .await
                    .unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            }
            TestBackend::Postgres => {
                let pool = sqlx::PgPool::connect(&at).await.unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            }
        }
    }
    let back = s.store.plan(rec.id).await.unwrap();
    assert_eq!(back.plan, rec.plan);
    assert_eq!(back.proposal, rec.proposal);
    assert_eq!(back.quote, rec.quote);
}
