//! Booking one appointment, moving it, cancelling it under the clinic's
//! policy, and the day view, over HTTP against the real server, on both
//! databases. Every refusal is checked for its reason.

use crate::common::{location, Client, Clinic};
use jiff::civil::{Date, Weekday};
use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use needlepoint_store::{Actor, Channel};

fn actor(id: i64) -> Actor {
    Actor {
        staff_id: Some(id),
        label: "test".into(),
        channel: Channel::Web,
        ip: None,
    }
}

fn london_today() -> Date {
    needlepoint_store::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/London").unwrap())
        .date()
}

/// The first `weekday` at least a week away.
fn next(weekday: Weekday) -> Date {
    let mut d = london_today() + jiff::Span::new().days(7);
    while d.weekday() != weekday {
        d = d.tomorrow().unwrap();
    }
    d
}

fn plus(d: Date, days: i64) -> Date {
    d + jiff::Span::new().days(days)
}

/// A screened patient with an e-mail and an accepted, consented plan of
/// three sessions 4–6 weeks apart; the clinic open Monday to Saturday
/// 9–18, with one room and one pen.
pub async fn bookable(b: TestBackend) -> (Clinic, i64) {
    bookable_with(
        b,
        needlepoint_domain::plan::PhotoUse::ClinicalRecordOnly,
        &["cheeks"],
    )
    .await
}

/// As [`bookable`], with the patient's choice of photo use in the consent
/// and acne scars on each of `areas`.
pub async fn bookable_with(
    b: TestBackend,
    photo_use: needlepoint_domain::plan::PhotoUse,
    areas: &[&str],
) -> (Clinic, i64) {
    use jiff::civil::time;
    let c = crate::browser::ready_to_plan_for(b, areas).await;
    let (owner, now) = (actor(c.owner), needlepoint_store::now());
    let st = &c.app.store;
    let hours = needlepoint_domain::scheduling::WeeklyHours::weekdays(
        time(9, 0, 0, 0),
        time(18, 0, 0, 0),
        Weekday::Saturday,
    );
    st.set_clinic_hours(c.clinic_id, &hours, &owner, now)
        .await
        .unwrap();
    st.create_room(
        c.clinic_id,
        &needlepoint_domain::RoomDetails::parse("Room 1").unwrap(),
        &owner,
        now,
    )
    .await
    .unwrap();
    let pen =
        needlepoint_domain::DeviceDetails::parse("Pen A", "SkinPen Precision", "", "2.5").unwrap();
    st.create_device(c.clinic_id, &pen, &owner, now)
        .await
        .unwrap();
    let mut p = st.patient(c.patient_id).await.unwrap();
    p.details.email = Some(needlepoint_domain::Email::parse("email", "amara@example.com").unwrap());
    st.update_patient(p.id, p.version, &p.details, &owner, now)
        .await
        .unwrap();

    let mut nurse = c.client_as(Role::Clinician).await;
    let (s, plan) = crate::common::json_call(
        &mut nurse,
        reqwest::Method::POST,
        &format!("/api/v1/patients/{}/plans", c.patient_id),
        serde_json::json!({"device": "skinpen"}),
    )
    .await;
    assert_eq!(s, 201, "{plan}");
    let id = plan["id"].as_i64().unwrap();
    let mut body = plan["plan"].clone();
    body["tracks"][0]["sessions"] = serde_json::json!(3);
    let (s, plan) = crate::common::json_call(
        &mut nurse,
        reqwest::Method::PUT,
        &format!("/api/v1/plans/{id}"),
        serde_json::json!({"version": 1, "plan": body}),
    )
    .await;
    assert_eq!(s, 200, "{plan}");
    let (text, sha256) = needlepoint_practice::planning::frozen_consent(
        "The plan as explained.",
        photo_use,
        "Amara Okafor",
        None,
        london_today(),
    );
    st.sign_consent(
        &needlepoint_store::NewConsent {
            plan_id: id,
            plan_version: 2,
            text,
            sha256,
            photo_use: photo_use.as_str().into(),
            typed_name: "Amara Okafor".into(),
            signature: "data:image/png;base64,AA==".into(),
            guardian: None,
            ip: None,
        },
        &actor(c.clinician),
        now,
    )
    .await
    .unwrap();
    let (s, v) = crate::common::json_call(
        &mut nurse,
        reqwest::Method::POST,
        &format!("/api/v1/plans/{id}/status"),
        serde_json::json!({"status": "accepted"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    (c, id)
}

/// Books by hand through the page; the response as it came.
pub async fn book(
    client: &mut Client,
    patient: i64,
    kind: &str,
    day: Date,
    time: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let (p, d) = (patient.to_string(), day.to_string());
    let mut form = vec![
        ("patient", p.as_str()),
        ("kind", kind),
        ("date", d.as_str()),
        ("time", time),
    ];
    form.extend_from_slice(extra);
    client.post_form("/appointments", &form).await
}

/// The new appointment's id from the redirect to its page.
fn booked_id(r: &reqwest::Response) -> i64 {
    assert_eq!(r.status(), 303, "booked");
    location(r).rsplit('/').next().unwrap().parse().unwrap()
}

async fn refused(r: reqwest::Response, status: u16, words: &str) {
    assert_eq!(r.status(), status, "expected a refusal saying {words:?}");
    let page = r.text().await.unwrap();
    assert!(
        page.contains(words),
        "{words:?} not in the refusal: {}",
        page.split("appt-problem")
            .nth(1)
            .or(page.split("booking-problem").nth(1))
            .unwrap_or(&page)
            .chars()
            .take(600)
            .collect::<String>()
    );
}

async fn post_move(client: &mut Client, id: i64, f: Vec<(String, String)>) -> reqwest::Response {
    let refs: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    client
        .post_form(&format!("/appointments/{id}/move"), &refs)
        .await
}

async fn cancel(client: &mut Client, id: i64, by: &str) -> reqwest::Response {
    client
        .post_form(
            &format!("/appointments/{id}/status"),
            &[("to", "cancelled"), ("reason", "Cannot come"), ("by", by)],
        )
        .await
}

async fn text(client: &mut Client, path: &str) -> String {
    client.get(path).await.text().await.unwrap()
}

async fn single_bookings_and_every_refusal(b: TestBackend) {
    let (c, _plan) = bookable(b).await;
    let mut desk = c.client_as(Role::FrontDesk).await;
    let monday = next(Weekday::Monday);
    let pid = c.patient_id;

    // The availability search offers the earliest free times.
    let page = desk
        .get(&format!(
            "/appointments/new?clinic={}&patient={pid}&kind=consultation&find=1&date={monday}",
            c.clinic_id
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Earliest free times")
            && page.contains(&format!("value=\"{monday}\""))
            && page.contains("value=\"09:00\""),
        "free times from 09:00 that Monday"
    );

    let id = booked_id(&book(&mut desk, pid, "consultation", monday, "10:00", &[]).await);
    let a = c.app.store.appointment(id).await.unwrap();
    assert_eq!(
        (
            a.kind.as_str(),
            a.practitioner_id,
            a.room_id.is_some(),
            a.device_id
        ),
        ("consultation", Some(c.clinician), true, None),
        "a consultation needs a room, not a pen"
    );
    let page = desk
        .get(&format!("/appointments/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Consultation: Amara Okafor") && page.contains("10:00"));

    // Each refusal names its reason, and nothing is booked.
    let sunday = next(Weekday::Sunday);
    refused(
        book(&mut desk, pid, "consultation", sunday, "10:00", &[]).await,
        422,
        "not open on Sundays",
    )
    .await;
    refused(
        book(&mut desk, pid, "consultation", monday, "07:30", &[]).await,
        422,
        "Outside opening hours",
    )
    .await;
    refused(
        book(&mut desk, pid, "consultation", monday, "17:45", &[]).await,
        422,
        "lasts 30 minutes",
    )
    .await;
    let tuesday = plus(monday, 1);
    c.app
        .store
        .add_closure(
            c.clinic_id,
            tuesday,
            "Staff training",
            &actor(c.owner),
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    refused(
        book(&mut desk, pid, "consultation", tuesday, "10:00", &[]).await,
        422,
        "closed on",
    )
    .await;
    refused(
        book(
            &mut desk,
            pid,
            "consultation",
            plus(london_today(), -3),
            "10:00",
            &[],
        )
        .await,
        422,
        "already passed",
    )
    .await;
    refused(
        book(&mut desk, pid, "consultation", monday, "ten", &[]).await,
        422,
        "HH:MM",
    )
    .await;
    refused(
        book(&mut desk, pid, "consultation", monday, "10:15", &[]).await,
        409,
        "is taken",
    )
    .await;
    assert_eq!(
        c.app.store.patient_appointments(pid).await.unwrap().len(),
        1
    );

    // Sessions: the healing window after the last one, overridable by a clinician only.
    let s1 = booked_id(&book(&mut desk, pid, "session", plus(monday, 2), "10:00", &[]).await);
    let s1 = c.app.store.appointment(s1).await.unwrap();
    assert_eq!((s1.session_number, s1.device_id.is_some()), (Some(1), true));
    let soon = plus(monday, 9);
    refused(
        book(&mut desk, pid, "session", soon, "10:00", &[]).await,
        422,
        "Only 7 days after the previous session",
    )
    .await;
    refused(
        book(
            &mut desk,
            pid,
            "session",
            soon,
            "10:00",
            &[("window_override", "Travelling")],
        )
        .await,
        403,
        "Only a clinician",
    )
    .await;
    let mut nurse = c.client_as(Role::Clinician).await;
    let s2 = booked_id(
        &book(
            &mut nurse,
            pid,
            "session",
            soon,
            "10:00",
            &[("window_override", "Leaves the country for a year")],
        )
        .await,
    );
    let s2 = c.app.store.appointment(s2).await.unwrap();
    assert_eq!(
        (s2.session_number, s2.window_override.as_deref()),
        (Some(2), Some("Leaves the country for a year"))
    );
    assert!(nurse
        .get(&format!("/appointments/{}", s2.id))
        .await
        .text()
        .await
        .unwrap()
        .contains("override"));
    // The override reaches only the window: a closed day stays closed.
    refused(
        book(
            &mut nurse,
            pid,
            "session",
            tuesday,
            "10:00",
            &[("window_override", "x")],
        )
        .await,
        422,
        "closed on",
    )
    .await;

    // A screening deferral: a filler recorded today holds sessions back two weeks.
    let mut h = c
        .app
        .store
        .current_history(pid)
        .await
        .unwrap()
        .unwrap()
        .history;
    h.events.push(needlepoint_domain::history::EventEntry {
        code: "filler".into(),
        on: london_today(),
        areas: vec!["cheeks".into()],
        note: None,
    });
    c.app
        .store
        .add_history_version(
            pid,
            &h,
            "clinician",
            None,
            &actor(c.clinician),
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    // Cancel session 2 so session 3's window is not the refusal.
    let r = nurse
        .post_form(
            &format!("/appointments/{}/status", s2.id),
            &[("to", "cancelled"), ("reason", "Rebook"), ("by", "clinic")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let in_window = plus(
        s1.starts_at
            .to_zoned(jiff::tz::TimeZone::get("Europe/London").unwrap())
            .date(),
        35,
    );
    let deferred_until = plus(london_today(), 14);
    if in_window < deferred_until {
        refused(
            book(&mut nurse, pid, "session", in_window, "10:00", &[]).await,
            422,
            "defers treatment until",
        )
        .await;
    }
    refused(
        book(
            &mut nurse,
            pid,
            "session",
            plus(london_today(), 8),
            "10:00",
            &[("window_override", "x")],
        )
        .await,
        422,
        "defers treatment until",
    )
    .await;
}

async fn moving_a_session_moves_the_later_ones_when_agreed(b: TestBackend) {
    let (c, _plan) = bookable(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    let pid = c.patient_id;
    let d0 = next(Weekday::Monday);
    let s1 = booked_id(&book(&mut nurse, pid, "session", d0, "10:00", &[]).await);
    let s2 = booked_id(&book(&mut nurse, pid, "session", plus(d0, 35), "10:00", &[]).await);
    let s3 = booked_id(&book(&mut nurse, pid, "session", plus(d0, 63), "10:00", &[]).await);
    let move_form = |day: Date, later: bool| {
        let mut f = vec![
            ("date".to_string(), day.to_string()),
            ("time".into(), "11:00".into()),
        ];
        if later {
            f.push(("move_later".into(), "1".into()));
        }
        f
    };
    // Too soon after session 1: refused, nothing moves.
    refused(
        post_move(&mut nurse, s2, move_form(plus(d0, 14), false)).await,
        422,
        "Only 14 days after the previous session",
    )
    .await;
    // Later is fine for session 1 but squeezes session 3: the page shows
    // where sessions would go, and nothing moves until agreed.
    let r = post_move(&mut nurse, s2, move_form(plus(d0, 42), false)).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Only 21 days before the next session"),
        "the next window"
    );
    assert!(
        page.contains("later-sessions") && page.contains("Session 3:"),
        "the proposal is shown"
    );
    assert_eq!(c.app.store.appointment(s2).await.unwrap().moved_from, None);
    let r = post_move(&mut nurse, s2, move_form(plus(d0, 42), true)).await;
    assert_eq!(
        r.status(),
        303,
        "{}",
        r.text()
            .await
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect::<String>()
    );
    let zone = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let day = |id: i64| {
        let st = c.app.store.clone();
        let zone = zone.clone();
        async move {
            st.appointment(id)
                .await
                .unwrap()
                .starts_at
                .to_zoned(zone)
                .date()
        }
    };
    let (n1, n2, n3) = (day(s1).await, day(s2).await, day(s3).await);
    assert_eq!(n2, plus(d0, 42));
    let gap = (n3 - n2).get_days();
    assert!(
        (28..=42).contains(&gap),
        "session 3 moved into its window: {gap} days"
    );
    assert_eq!(
        n3.weekday(),
        Weekday::Monday,
        "on the same weekday where free"
    );
    assert_eq!(n1, d0, "session 1 stays");
    let a3 = c.app.store.appointment(s3).await.unwrap();
    assert!(a3
        .moved_from
        .is_some_and(|m| m.starts_with(&plus(d0, 63).to_string())));
    // The patient is told, and the old reminders stop.
    let msgs = c.app.store.messages(c.clinic_id, 100).await.unwrap();
    let moved: Vec<_> = msgs.iter().filter(|m| m.kind == "rescheduled").collect();
    assert_eq!(moved.len(), 2, "one per moved session");
    assert!(moved.iter().any(|m| m.body.contains("has moved to")));
    assert!(msgs.iter().any(|m| m.appointment_id == Some(s2)
        && m.kind == "reminder_24h"
        && m.status.as_str() == "cancelled"));
    // The front desk cannot override a window when moving either.
    let mut desk = c.client_as(Role::FrontDesk).await;
    let mut f = move_form(plus(d0, 7), false);
    f.push(("window_override".into(), "Please".into()));
    refused(post_move(&mut desk, s2, f).await, 403, "Only a clinician").await;
}

async fn the_cancellation_policy_charges_late_patients(b: TestBackend) {
    let (c, _) = bookable(b).await;
    let mut owner = c.client_as(Role::Owner).await;
    let r = owner
        .post_form(
            &format!("/settings/clinics/{}/policy", c.clinic_id),
            &[("notice_hours", "two days"), ("fee", "30")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Enter whole hours"));
    let r = owner
        .post_form(
            &format!("/settings/clinics/{}/policy", c.clinic_id),
            &[("notice_hours", "48"), ("fee", "30")],
        )
        .await;
    assert_eq!(r.status(), 303);

    let mut desk = c.client_as(Role::FrontDesk).await;
    let pid = c.patient_id;
    // Within 48 hours: tomorrow, or the next open day after it.
    let mut soon = plus(london_today(), 1);
    while soon.weekday() == Weekday::Sunday {
        soon = soon.tomorrow().unwrap();
    }
    let far = next(Weekday::Wednesday);
    let late = booked_id(&book(&mut desk, pid, "consultation", soon, "17:00", &[]).await);
    let by_clinic = booked_id(&book(&mut desk, pid, "consultation", soon, "16:00", &[]).await);
    let early = booked_id(&book(&mut desk, pid, "consultation", far, "10:00", &[]).await);
    let future = booked_id(&book(&mut desk, pid, "follow_up", far, "11:00", &[]).await);
    // A visit that began an hour ago (booked directly: the pages refuse the past).
    let started = needlepoint_store::now() - jiff::SignedDuration::from_hours(1);
    let no_show = c
        .app
        .store
        .book(
            &[needlepoint_store::NewAppointment {
                clinic_id: c.clinic_id,
                patient_id: pid,
                plan_id: None,
                session_number: None,
                kind: needlepoint_domain::appointment::AppointmentKind::FollowUp,
                practitioner_id: None,
                room_id: None,
                device_id: None,
                starts_at: started,
                ends_at: started + jiff::SignedDuration::from_mins(15),
                local_start: started
                    .to_zoned(jiff::tz::TimeZone::get("Europe/London").unwrap())
                    .datetime()
                    .to_string(),
                time_zone: "Europe/London".into(),
                window_override: None,
                areas: None,
            }],
            &needlepoint_store::Actor::system("test"),
            needlepoint_store::now(),
        )
        .await
        .unwrap()[0]
        .id;
    let page = desk
        .get(&format!("/appointments/{late}"))
        .await
        .text()
        .await
        .unwrap();
    if plus(london_today(), 2) > soon {
        assert!(
            page.contains("the fee of £30.00 applies"),
            "the page warns before cancelling"
        );
    }
    refused(cancel(&mut desk, late, "").await, 400, "Say who cancelled").await;
    for (id, by) in [(late, "patient"), (by_clinic, "clinic"), (early, "patient")] {
        assert_eq!(cancel(&mut desk, id, by).await.status(), 303);
    }
    let page = desk
        .get(&format!("/appointments/{future}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("appt-no_show"),
        "no No-show button before the start"
    );
    refused(
        desk.post_form(
            &format!("/appointments/{future}/status"),
            &[("to", "no_show")],
        )
        .await,
        409,
        "once the appointment has started",
    )
    .await;
    let page = desk
        .get(&format!("/appointments/{no_show}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("appt-no_show"),
        "No-show offered once started"
    );
    let r = desk
        .post_form(
            &format!("/appointments/{no_show}/status"),
            &[("to", "no_show")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let fee = |id: i64| {
        let st = c.app.store.clone();
        async move { st.appointment(id).await.unwrap().fee_minor }
    };
    let late_fee = if soon < plus(london_today(), 2) {
        Some(3000)
    } else {
        fee(late).await
    };
    assert_eq!(fee(late).await, late_fee, "late, by the patient");
    assert_eq!(fee(by_clinic).await, None, "the clinic cancelled");
    assert_eq!(fee(early).await, None, "enough notice");
    assert_eq!(fee(no_show).await, Some(3000), "a no-show pays");
    assert_eq!(
        fee(future).await,
        None,
        "the refused no-show left it untouched"
    );
    let msgs = c.app.store.messages(c.clinic_id, 100).await.unwrap();
    let told = msgs
        .iter()
        .find(|m| m.appointment_id == Some(late) && m.kind == "cancellation")
        .unwrap();
    assert_eq!(
        told.body.contains("£30.00"),
        late_fee.is_some(),
        "{}",
        told.body
    );
    refused(
        cancel(&mut desk, late, "patient").await,
        409,
        "already cancelled",
    )
    .await;
}

async fn clinics_word_their_own_messages(b: TestBackend) {
    let (c, _) = bookable(b).await;
    let mut owner = c.client_as(Role::Owner).await;
    let path = format!("/settings/clinics/{}/messages/confirmation", c.clinic_id);
    let r = owner
        .post_form(
            &path,
            &[("subject", "See you {when}, {name}"), ("body", "Hello")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("{name} is not a placeholder"));
    let r = owner
        .post_form(
            &path,
            &[
                ("subject", "{clinic}: see you {when}"),
                ("body", "Hi {patient}! Your {what} is on {when}.{before}"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let settings = owner
        .get("/settings?section=messages")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        settings.contains("Hi {patient}! Your {what}"),
        "the form shows the clinic's wording"
    );
    // Beside it, the wording as a patient reads it, with sample details.
    let preview = settings
        .split(&format!(
            "id=\"message-{}-confirmation-preview\"",
            c.clinic_id
        ))
        .nth(1)
        .and_then(|p| p.split("</div>").next())
        .expect("a preview of the confirmation");
    let clinic = c.app.store.clinic(c.clinic_id).await.unwrap().details.name;
    assert!(
        preview.contains(&format!("{clinic}: see you Tuesday 2 March 2027 at 10:00"))
            && preview.contains("Hi Amara! Your microneedling session 2 is on Tuesday")
            && preview.contains("Stop retinoid creams")
            && !preview.contains('{'),
        "{preview}"
    );
    let mut desk = c.client_as(Role::FrontDesk).await;
    let id = booked_id(
        &book(
            &mut desk,
            c.patient_id,
            "consultation",
            next(Weekday::Monday),
            "10:00",
            &[],
        )
        .await,
    );
    let msgs = c.app.store.messages(c.clinic_id, 10).await.unwrap();
    let m = msgs
        .iter()
        .find(|m| m.appointment_id == Some(id) && m.kind == "confirmation")
        .unwrap();
    assert!(
        m.subject.starts_with(&format!("{clinic}: see you Monday")),
        "{}",
        m.subject
    );
    assert!(
        m.body
            .starts_with("Hi Amara! Your consultation is on Monday"),
        "{}",
        m.body
    );
    let reminder = msgs
        .iter()
        .find(|m| m.appointment_id == Some(id) && m.kind == "reminder_24h")
        .unwrap();
    assert!(
        reminder.subject.starts_with("Reminder"),
        "other messages keep the shipped wording"
    );
}

async fn the_day_view_offers_free_times_per_practitioner_and_room(b: TestBackend) {
    let (c, _) = bookable(b).await;
    let mut desk = c.client_as(Role::FrontDesk).await;
    let monday = next(Weekday::Monday);
    let id = booked_id(
        &book(
            &mut desk,
            c.patient_id,
            "consultation",
            monday,
            "10:00",
            &[],
        )
        .await,
    );
    let page = desk
        .get(&format!(
            "/calendar/day?clinic={}&date={monday}",
            c.clinic_id
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Test Clinician"), "a column per practitioner");
    assert!(
        page.contains(&format!("href=\"/appointments/{id}\"")),
        "the appointment opens"
    );
    assert!(
        page.contains(&format!(
            "/appointments/new?clinic={}&#38;date={monday}&#38;time=11:00&#38;practitioner={}",
            c.clinic_id, c.clinician
        )),
        "a free quarter books that time: {}",
        page.split("/appointments/new?")
            .nth(1)
            .unwrap_or("none")
            .chars()
            .take(120)
            .collect::<String>()
    );
    assert!(
        !page.contains("time=10:15&#38;practitioner"),
        "a booked quarter is not offered"
    );
    let rooms = desk
        .get(&format!(
            "/calendar/day?clinic={}&date={monday}&by=room",
            c.clinic_id
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(rooms.contains("<th>Room 1</th>") && rooms.contains(&format!("/appointments/{id}")));
    let sunday = desk
        .get(&format!(
            "/calendar/day?clinic={}&date={}",
            c.clinic_id,
            plus(monday, 6)
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(sunday.contains("closed on Sundays") && !sunday.contains("/appointments/new?"));
    // The week, for one practitioner or room, or someone else's (empty).
    assert!(text(
        &mut desk,
        &format!(
            "/calendar?clinic={}&week={monday}&who=p{}",
            c.clinic_id, c.clinician
        )
    )
    .await
    .contains(&format!("/appointments/{id}")));
    assert!(!text(
        &mut desk,
        &format!(
            "/calendar?clinic={}&week={monday}&who=p{}",
            c.clinic_id, c.owner
        )
    )
    .await
    .contains(&format!("/appointments/{id}")));
}

/// The API: free times, booking with the same refusals as the pages,
/// a plan's course proposed and booked whole, moving and cancelling.
async fn the_api_schedules_with_the_same_rules(b: TestBackend) {
    use crate::common::json_call;
    use reqwest::Method;
    use serde_json::json;
    let (c, plan) = bookable(b).await;
    let mut desk = c.client_as(Role::FrontDesk).await;
    let pid = c.patient_id;
    let monday = next(Weekday::Monday);
    let (s, v) = json_call(
        &mut desk,
        Method::GET,
        &format!("/api/v1/availability?patient_id={pid}&kind=consultation&from={monday}&limit=3"),
        json!(null),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[0]["local_start"], format!("{monday}T09:00:00"));
    assert_eq!(v[0]["practitioner_id"], c.clinician);

    let sunday = next(Weekday::Sunday);
    let (s, v) = json_call(
        &mut desk,
        Method::POST,
        "/api/v1/appointments",
        json!({"patient_id": pid, "kind": "consultation", "local_start": format!("{sunday}T10:00")}),
    )
    .await;
    assert_eq!(
        (s, v["fields"][0]["field"].as_str()),
        (422, Some("local_start")),
        "{v}"
    );
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("not open on Sundays"));
    let (s, v) = json_call(
        &mut desk,
        Method::POST,
        "/api/v1/appointments",
        json!({"patient_id": pid, "kind": "consultation", "local_start": "next monday"}),
    )
    .await;
    assert_eq!(
        (s, v["fields"][0]["field"].as_str()),
        (422, Some("local_start"))
    );
    let consult = json!({"patient_id": pid, "kind": "consultation", "local_start": format!("{monday}T10:00")});
    let (s, a) = json_call(
        &mut desk,
        Method::POST,
        "/api/v1/appointments",
        consult.clone(),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let (s, v) = json_call(&mut desk, Method::POST, "/api/v1/appointments", consult).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("conflict")),
        "double booked: {v}"
    );

    // The course: proposed, then booked only as proposed.
    let (s, proposal) = json_call(
        &mut desk,
        Method::GET,
        &format!("/api/v1/plans/{plan}/course?weekdays=Tue&time=morning"),
        json!(null),
    )
    .await;
    assert_eq!(s, 200, "{proposal}");
    let expected: Vec<String> = proposal
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["starts_at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(expected.len(), 3);
    let (s, _) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/plans/{plan}/course"),
        json!({"expected": ["2020-01-01T10:00:00Z"], "weekdays": "Tue", "time": "morning"}),
    )
    .await;
    assert_eq!(s, 409, "a stale proposal books nothing");
    let (s, course) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/plans/{plan}/course"),
        json!({"expected": expected, "weekdays": "Tue", "time": "morning"}),
    )
    .await;
    assert_eq!(s, 201, "{course}");
    assert_eq!(course[2]["session_number"], 3);

    // Moving session 2 a week after session 1: refused on the window, which
    // only a clinician may override.
    let s1_day: Date = course[0]["local_start"].as_str().unwrap()[..10]
        .parse()
        .unwrap();
    let s2 = course[1]["id"].as_i64().unwrap();
    let soon = json!({"local_start": format!("{}T10:00", plus(s1_day, 7))});
    let (s, v) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/appointments/{s2}/move"),
        soon.clone(),
    )
    .await;
    assert_eq!(
        (s, v["fields"][0]["field"].as_str()),
        (422, Some("window_override")),
        "{v}"
    );
    let mut over = soon.clone();
    over["window_override"] = json!("Flying out");
    let (s, _) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/appointments/{s2}/move"),
        over.clone(),
    )
    .await;
    assert_eq!(s, 403, "the front desk cannot override");
    let mut nurse = c.client_as(Role::Clinician).await;
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/appointments/{s2}/move"),
        over,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v[0]["window_override"], "Flying out");
    assert_eq!(v[0]["moved_from"], course[1]["local_start"]);

    let id = a["id"].as_i64().unwrap();
    let (s, v) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/appointments/{id}/status"),
        json!({"status": "cancelled", "reason": "Ill"}),
    )
    .await;
    assert_eq!(
        (s, v["fields"][0]["field"].as_str()),
        (422, Some("cancelled_by"))
    );
    let (s, v) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/appointments/{id}/status"),
        json!({"status": "cancelled", "reason": "Ill", "cancelled_by": "patient"}),
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str(), v["cancelled_by"].as_str()),
        (200, Some("cancelled"), Some("patient"))
    );
    let (s, v) = json_call(
        &mut desk,
        Method::GET,
        &format!(
            "/api/v1/appointments?clinic_id={}&from={}&to={}",
            c.clinic_id,
            london_today(),
            plus(monday, 150)
        ),
        json!(null),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 4, "cancelled ones included");
    let (s, _) = json_call(
        &mut desk,
        Method::GET,
        &format!("/api/v1/appointments/{}", id),
        json!(null),
    )
    .await;
    assert_eq!(s, 200);
}

crate::both!(
    single_bookings_and_every_refusal,
    moving_a_session_moves_the_later_ones_when_agreed,
    the_cancellation_policy_charges_late_patients,
    clinics_word_their_own_messages,
    the_day_view_offers_free_times_per_practitioner_and_room,
    the_api_schedules_with_the_same_rules,
);
