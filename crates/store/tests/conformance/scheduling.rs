//! Appointments: the lifecycle, messages with the change, no double booking, moves.

use super::*;

/// The one state machine, checked in the store's transaction: a no-show
/// only once the appointment has started, a checked-in patient is never a
/// no-show, and a completed, cancelled or no-show appointment is final.
pub async fn an_appointment_moves_through_its_lifecycle(b: TestBackend) {
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
pub async fn messages_are_queued_with_the_change_or_not_at_all(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Mo", "Sage", "1990-01-01"), &a, now())
        .await
        .unwrap();
    let room = room(&s).await;
    let note = |kind: &'static str| {
        move |list: &[Appointment]| -> Vec<NewMessage> {
            list.iter()
                .map(|x| NewMessage {
                    clinic_id: x.clinic_id,
                    patient_id: Some(x.patient_id),
                    appointment_id: Some(x.id),
                    kind: kind.into(),
                    channel: needlepoint_domain::message::MessageChannel::Email,
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
                .filter(|m| m.kind == kind && m.status.as_str() == state)
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
                fee_minor: None,
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

pub async fn nothing_is_booked_twice(b: TestBackend) {
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
    let room = room(&s).await;
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
pub async fn racing_bookings_one_wins(b: TestBackend) {
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

/// Moving appointments frees their old time and claims the new one, all or
/// none, and a course can move along onto its own sessions' times.
pub async fn moves_are_whole_and_never_double_book(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Mo", "Ving", "1990-01-01"), &a, now())
        .await
        .unwrap();
    let room = room(&s).await;
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
