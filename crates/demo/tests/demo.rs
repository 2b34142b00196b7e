//! The demo clinic in the middle of its life, built as of a fixed instant
//! on both databases: every state the issue asks for is there, made by the
//! services, and nothing is recorded after the instant the demo starts.

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_domain::plan::PlanStatus;
use needlepoint_domain::screening::Deferral;
use needlepoint_store::testing::{fresh_store, temp_dir, TestBackend};
use std::collections::{BTreeMap, BTreeSet};

/// A Wednesday afternoon in Bristol (15:00 local, UTC in winter).
fn wednesday_afternoon() -> Timestamp {
    "2027-03-10T15:00:00Z".parse().unwrap()
}

async fn the_demo_is_a_clinic_in_the_middle_of_its_life(b: TestBackend) {
    let store = fresh_store(b).await;
    let kb = needlepoint_knowledge::shipped().unwrap();
    let dir = temp_dir("demo");
    let now = wednesday_afternoon();
    needlepoint_demo::seed(store.clone(), &kb, &dir, "http://localhost", now)
        .await
        .unwrap();

    let owner = store
        .staff_credentials("owner@demo.needlepoint.test")
        .await
        .unwrap()
        .unwrap()
        .staff;
    let clinics = store.clinics_for_staff(owner.id).await.unwrap();
    let bristol = clinics
        .iter()
        .find(|c| c.details.time_zone == "Europe/London")
        .unwrap();
    let patients = store
        .search_patients(owner.id, Some(bristol.id), "", 100, None)
        .await
        .unwrap()
        .patients;

    // Plans in every state.
    let mut states = BTreeSet::new();
    for p in &patients {
        for r in store.plans(p.id).await.unwrap() {
            states.insert(r.status.as_str());
        }
    }
    for s in PlanStatus::ALL {
        assert!(states.contains(s.as_str()), "no plan is {s:?}: {states:?}");
    }

    // Today's list at every stage, each where its chart says it is.
    let day = store
        .appointments(
            bristol.id,
            "2027-03-10T00:00:00Z".parse().unwrap(),
            "2027-03-11T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    let mut stages = BTreeMap::new();
    for a in &day {
        let chart = store.chart_for_appointment(a.id).await.unwrap();
        let stage = match (a.status, &chart) {
            (AppointmentStatus::Completed, Some(c)) if c.signed_at.is_some() => "signed",
            (AppointmentStatus::CheckedIn, Some(c)) if c.signed_at.is_none() => "being charted",
            (AppointmentStatus::CheckedIn, None) => "checked in",
            (AppointmentStatus::Booked, None) => "booked",
            other => panic!("appointment {} is {other:?}", a.id),
        };
        *stages.entry(stage).or_insert(0) += 1;
    }
    for s in ["signed", "being charted", "checked in", "booked"] {
        assert!(stages.contains_key(s), "nobody is {s} today: {stages:?}");
    }

    // Signed charts with zones, lots and photos kept on disk.
    let mut signed = 0;
    let mut photos = 0;
    for p in &patients {
        for c in store.patient_charts(p.id).await.unwrap() {
            if let Some(at) = c.signed_at {
                signed += 1;
                assert!(!c.zones.is_empty() && !c.lots.is_empty(), "chart {}", c.id);
                assert!(at <= now, "signed after the demo began");
            }
        }
        for ph in store.patient_photos(p.id).await.unwrap() {
            let file = needlepoint_practice::photos::path(&dir, &ph.sha256, false);
            assert!(file.exists(), "photo {} is on disk", ph.id);
            photos += 1;
        }
    }
    assert!(signed >= 5, "{signed} signed charts");
    assert!(photos >= signed, "{photos} photos for {signed} charts");

    // Courses booked across the coming weeks.
    let ahead = store
        .appointments(
            bristol.id,
            now + SignedDuration::from_hours(24 * 7),
            now + SignedDuration::from_hours(24 * 120),
        )
        .await
        .unwrap();
    let booked_ahead: BTreeSet<i64> = ahead
        .iter()
        .filter(|a| a.status == AppointmentStatus::Booked && a.plan_id.is_some())
        .map(|a| a.patient_id)
        .collect();
    assert!(booked_ahead.len() >= 3, "{booked_ahead:?}");

    // A recalled lot, the patients treated with it told.
    let lots = store.lots(bristol.id).await.unwrap();
    let recalled = lots
        .iter()
        .find(|l| l.recalled_at.is_some())
        .expect("a recalled lot");
    assert!(!store.lot_uses(recalled.id).await.unwrap().is_empty());

    // Check-ins answered after the sessions, one waiting for a clinician.
    let mut answered = vec![];
    for p in &patients {
        answered.extend(
            store
                .patient_checkins(p.id)
                .await
                .unwrap()
                .into_iter()
                .filter(|k| k.answered_at.is_some()),
        );
    }
    assert!(answered.len() >= 3, "{answered:?}");
    assert!(answered.iter().all(|k| k.answered_at.unwrap() <= now));
    assert_eq!(answered.iter().filter(|k| k.flagged()).count(), 1);

    // Messages sent (into the mailbox) and still scheduled; low stock.
    let messages = store.messages(bristol.id, 1000).await.unwrap();
    let kinds: BTreeSet<&str> = messages.iter().map(|m| m.kind.as_str()).collect();
    assert!(
        kinds.contains("confirmation") && kinds.contains("recall"),
        "{kinds:?}"
    );
    assert!(messages.iter().any(|m| m.sent_at.is_some()));
    assert!(messages
        .iter()
        .any(|m| m.sent_at.is_none() && m.due_at > now));
    assert!(messages.iter().all(|m| m.sent_at.is_none_or(|t| t <= now)));
    assert!(std::fs::read_dir(dir.join("mailbox")).unwrap().count() > 0);
    let items = store
        .supply_items(bristol.id, date(2027, 3, 10))
        .await
        .unwrap();
    assert!(
        items
            .iter()
            .any(|i| i.reorder_at > 0 && i.usable < i.reorder_at),
        "low stock"
    );

    // A patient deferred until a date after today.
    let mut deferred = false;
    for p in &patients {
        if let Some(s) = store.screenings(p.id).await.unwrap().first() {
            deferred |=
                matches!(s.result.deferral, Some(Deferral::Until(d)) if d > date(2027, 3, 10));
        }
    }
    assert!(deferred, "no patient is deferred with a date");
}

macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $case() { super::$case(super::TestBackend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $case() { super::$case(super::TestBackend::Postgres).await } )*
        }
    };
}

/// The demo starts whenever it is run: just after midnight on a Monday
/// (the day's list before any of it has happened), on a Sunday, and at
/// closing in summer time.
async fn the_demo_starts_at_any_hour(b: TestBackend) {
    let kb = needlepoint_knowledge::shipped().unwrap();
    for at in [
        "2026-12-07T00:08:00Z",
        "2027-03-14T12:00:00Z",
        "2027-07-21T19:59:00Z",
    ] {
        let store = fresh_store(b).await;
        let now: Timestamp = at.parse().unwrap();
        needlepoint_demo::seed(
            store.clone(),
            &kb,
            &temp_dir("demo-hour"),
            "http://localhost",
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("the demo does not start at {at}: {e:#}"));
        let owner = store
            .staff_credentials("owner@demo.needlepoint.test")
            .await
            .unwrap()
            .unwrap()
            .staff;
        // Nothing is recorded after the demo starts, and each patient's
        // latest screening is the one made last.
        for p in store
            .search_patients(owner.id, None, "", 200, None)
            .await
            .unwrap()
            .patients
        {
            let s = store.screenings(p.id).await.unwrap();
            assert!(s.iter().all(|x| x.created_at <= now), "{at}");
            assert!(
                s.windows(2).all(|w| w[0].created_at >= w[1].created_at),
                "{at}"
            );
        }
    }
}

on_both!(
    the_demo_is_a_clinic_in_the_middle_of_its_life,
    the_demo_starts_at_any_hour,
);
