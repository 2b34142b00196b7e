//! After the session: check-ins scheduled with the signature and answered
//! once, the adverse-event register, and the patient's sign-in codes.

use super::*;
use needlepoint_domain::adverse::{AdverseEvent, Outcome};
use needlepoint_domain::triage::{Advice, Answers};

/// A signed chart with its cartridge, and its check-ins on days 1 and 3.
async fn signed_with_checkins(
    b: TestBackend,
) -> (needlepoint_store::testing::Seeded, Chart, Lot, Vec<Checkin>) {
    let (s, appt, cartridge, _) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let c = s.store.open_chart(&appt, None, &a, now()).await.unwrap();
    let c = s.store.start_chart(c.id, &[], &a, now()).await.unwrap();
    s.store
        .save_zone(c.id, &zone_record("cheeks", 1000, None), &a, now())
        .await
        .unwrap();
    let c = s
        .store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await
        .unwrap();
    let at = |d: i64| now() + SignedDuration::from_hours(24 * d);
    let checkins = [(1, "t1"), (3, "t3")].map(|(day, t)| NewCheckin {
        day,
        token_hash: t.into(),
        due_at: at(i64::from(day)),
        expires_at: at(i64::from(day) + 2),
    });
    let c = s
        .store
        .sign_chart(c.id, c.version, false, &[], &checkins, &a, now())
        .await
        .unwrap();
    let list = s.store.patient_checkins(c.patient_id).await.unwrap();
    (s, c, cartridge, list)
}

pub async fn checkins_come_with_the_signature_and_are_answered_once(b: TestBackend) {
    let (s, c, _, list) = signed_with_checkins(b).await;
    assert_eq!(list.iter().map(|k| k.day).collect::<Vec<_>>(), [1, 3]);
    assert!(list
        .iter()
        .all(|k| k.chart_id == c.id && k.clinic_id == s.clinic_id));
    // A refused signature schedules nothing: signing again is refused.
    let again = s
        .store
        .sign_chart(c.id, c.version, false, &[], &[], &actor(s.owner_id), now())
        .await;
    assert!(again.is_err());
    assert_eq!(
        s.store.patient_checkins(c.patient_id).await.unwrap().len(),
        2
    );

    let day3 = list[1].clone();
    let on = day3.due_at + SignedDuration::from_hours(1);
    let k = s.store.checkin_by_token("t3", on).await.unwrap().unwrap();
    assert_eq!(k.id, day3.id);
    assert_eq!(
        s.store
            .checkin_by_token("nope", on)
            .await
            .unwrap()
            .unwrap_err(),
        LinkRefusal::Unknown
    );
    // Not answered a day after it was sent: waiting for a clinician.
    let later = day3.due_at + SignedDuration::from_hours(25);
    let open = s
        .store
        .open_checkins(s.clinic_id, later - SignedDuration::from_hours(24), later)
        .await
        .unwrap();
    assert!(open.iter().any(|k| k.id == day3.id), "{open:?}");

    let answer = CheckinAnswer {
        answers: Answers {
            levels: vec![("pus".into(), 1), ("fever".into(), 1)],
            note: "It weeps".into(),
        },
        advice: Advice::CallToday,
        findings: vec!["Call the clinic today: pus".into()],
        photo: Some(NewPhoto {
            clinic_id: s.clinic_id,
            patient_id: c.patient_id,
            chart_id: Some(c.id),
            view: "Check-in, day 3".into(),
            sha256: "ab".repeat(32),
            width: 10,
            height: 10,
            bytes: 100,
        }),
    };
    let alert = NewMessage {
        clinic_id: s.clinic_id,
        patient_id: Some(c.patient_id),
        appointment_id: None,
        kind: "checkin_alert".into(),
        channel: needlepoint_domain::message::MessageChannel::Email,
        to_address: "owner@example.com".into(),
        subject: "Check-in flagged".into(),
        body: "pus".into(),
        attachment: None,
        due_at: on,
    };
    let sys = Actor::system("patient via check-in link");
    let k = s
        .store
        .answer_checkin(day3.id, &answer, std::slice::from_ref(&alert), &sys, on)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k.advice, Some(Advice::CallToday));
    assert!(k.flagged());
    assert_eq!(k.answers.as_ref().unwrap().level("pus"), 1);
    let photo = s.store.photo(k.photo_id.unwrap()).await.unwrap();
    assert_eq!(photo.view, "Check-in, day 3");
    assert_eq!(photo.created_by, None, "the patient took it");
    // Once only: a second answer is refused and keeps nothing more.
    let twice = s
        .store
        .answer_checkin(day3.id, &answer, &[alert], &sys, on)
        .await
        .unwrap();
    assert_eq!(twice.unwrap_err(), LinkRefusal::AlreadyUsed);
    assert_eq!(
        s.store.patient_photos(c.patient_id).await.unwrap().len(),
        1,
        "the refused answer's photo row was not kept"
    );
    let alerts = s.store.patient_messages(c.patient_id, 10).await.unwrap();
    assert_eq!(
        alerts.iter().filter(|m| m.kind == "checkin_alert").count(),
        1
    );
    // Flagged until reviewed; then off the list.
    let open = s.store.open_checkins(s.clinic_id, on, on).await.unwrap();
    assert!(open.iter().any(|x| x.id == k.id));
    let reviewed = s
        .store
        .review_checkin(k.id, "Called her; antibiotics", &actor(s.owner_id), on)
        .await
        .unwrap();
    assert!(!reviewed.flagged());
    assert!(s
        .store
        .review_checkin(k.id, "again", &actor(s.owner_id), on)
        .await
        .is_err());
    let open = s.store.open_checkins(s.clinic_id, on, on).await.unwrap();
    assert!(!open.iter().any(|x| x.id == k.id));
    // An expired link is refused.
    let day1 = &list[0];
    assert_eq!(
        s.store
            .checkin_by_token("t1", day1.expires_at)
            .await
            .unwrap()
            .unwrap_err(),
        LinkRefusal::Expired
    );
}

fn event(grade: u8, outcome: Outcome) -> AdverseEvent {
    AdverseEvent {
        term: "skin_infection".into(),
        specify: None,
        onset: jiff::civil::date(2026, 11, 26),
        grade,
        expected: false,
        serious: false,
        actions: "Oral antibiotics".into(),
        outcome,
        resolved_on: None,
    }
}

pub async fn adverse_events_are_signed_amended_and_found_by_lot(b: TestBackend) {
    let (s, c, cartridge, list) = signed_with_checkins(b).await;
    let a = actor(s.owner_id);
    // A lot not used at the session cannot be suspected.
    let other = NewAdverseEvent {
        chart_id: c.id,
        checkin_id: None,
        event: event(2, Outcome::Ongoing),
        zones: vec!["cheeks".into()],
        lot_ids: vec![cartridge.id + 1000],
    };
    assert!(s
        .store
        .record_adverse_event(&other, &a, now())
        .await
        .is_err());
    assert!(s
        .store
        .lot_adverse_events(cartridge.id)
        .await
        .unwrap()
        .is_empty());

    let e = s
        .store
        .record_adverse_event(
            &NewAdverseEvent {
                lot_ids: vec![cartridge.id],
                checkin_id: Some(list[1].id),
                ..other
            },
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(e.versions.len(), 1);
    assert_eq!(e.current().event.grade, 2);
    assert_eq!(e.current().reason, None);
    assert_eq!(e.lot_ids, [cartridge.id]);
    assert_eq!(e.patient_id, c.patient_id);
    let by_lot = s.store.lot_adverse_events(cartridge.id).await.unwrap();
    assert_eq!(by_lot.iter().map(|x| x.id).collect::<Vec<_>>(), [e.id]);

    // An amendment is a new signed version; the first stays.
    let mut resolved = event(2, Outcome::Resolved);
    resolved.resolved_on = Some(jiff::civil::date(2026, 12, 3));
    let e2 = s
        .store
        .amend_adverse_event(e.id, 1, &resolved, &["cheeks".into()], "Healed", &a, now())
        .await
        .unwrap();
    assert_eq!(e2.versions.len(), 2);
    assert_eq!(e2.versions[0].event.outcome, Outcome::Ongoing);
    assert_eq!(e2.current().event.outcome, Outcome::Resolved);
    assert_eq!(e2.current().reason.as_deref(), Some("Healed"));
    // Amending the version already amended is refused.
    let stale = s
        .store
        .amend_adverse_event(e.id, 1, &event(3, Outcome::Ongoing), &[], "x", &a, now())
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(
        s.store.patient_adverse_events(c.patient_id).await.unwrap()[0]
            .versions
            .len(),
        2
    );
}

pub async fn patient_codes_work_once_and_lock_after_five_wrong(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Ada", "Lovelace", "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let found = s
        .store
        .patients_by_address(Some("ADA@example.com"), None)
        .await
        .unwrap();
    assert_eq!(found.iter().map(|x| x.id).collect::<Vec<_>>(), [p.id]);
    let t0 = now();
    let lock = SignedDuration::from_mins(15);
    let code = |hash: &str, link: &str| NewPatientCode {
        patient_id: p.id,
        address: "email:ada@example.com".into(),
        code_hash: hash.into(),
        link_hash: link.into(),
        expires_at: t0 + SignedDuration::from_mins(15),
    };
    s.store
        .add_patient_codes(&[code("right", "link1")], t0)
        .await
        .unwrap();
    let use_code = |h: &'static str, at: Timestamp| {
        let st = s.store.clone();
        async move {
            st.use_patient_code("email:ada@example.com", h, 5, lock, at)
                .await
                .unwrap()
        }
    };
    for _ in 0..4 {
        assert_eq!(use_code("wrong", t0).await, Err(CodeRefusal::Wrong));
    }
    // The fifth wrong code locks the address: even the right code waits.
    assert!(matches!(
        use_code("wrong", t0).await,
        Err(CodeRefusal::Locked(_))
    ));
    assert!(matches!(
        use_code("right", t0).await,
        Err(CodeRefusal::Locked(_))
    ));
    // After the lock, a new code works, once.
    let later = t0 + lock + SignedDuration::from_secs(1);
    let fresh = NewPatientCode {
        expires_at: later + SignedDuration::from_mins(15),
        ..code("right3", "link3")
    };
    s.store.add_patient_codes(&[fresh], later).await.unwrap();
    assert_eq!(use_code("right3", later).await, Ok(p.id));
    assert_eq!(use_code("right3", later).await, Err(CodeRefusal::Wrong));
    // Signing in used every code sent to the address, links too.
    assert_eq!(
        s.store.use_patient_link("link3", later).await.unwrap(),
        None
    );
    // An unknown address locks the same way: nothing tells them apart.
    for _ in 0..4 {
        assert_eq!(
            s.store
                .use_patient_code("email:nobody@example.com", "x", 5, lock, later)
                .await
                .unwrap(),
            Err(CodeRefusal::Wrong)
        );
    }
    assert!(matches!(
        s.store
            .use_patient_code("email:nobody@example.com", "x", 5, lock, later)
            .await
            .unwrap(),
        Err(CodeRefusal::Locked(_))
    ));
    // Sessions: live while used, ended by sign-out or idleness.
    let idle = SignedDuration::from_mins(30);
    s.store
        .create_patient_session("sess", p.id, later + SignedDuration::from_hours(12), later)
        .await
        .unwrap();
    assert_eq!(
        s.store.patient_session("sess", idle, later).await.unwrap(),
        Some(p.id)
    );
    assert_eq!(
        s.store
            .patient_session("sess", idle, later + SignedDuration::from_mins(31))
            .await
            .unwrap(),
        None
    );
    s.store.end_patient_session("sess").await.unwrap();
    assert_eq!(
        s.store.patient_session("sess", idle, later).await.unwrap(),
        None
    );
}
