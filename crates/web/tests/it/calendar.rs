//! Calendar feeds: valid iCalendar for a third-party parser, right across
//! DST, revocable.

use crate::common::Client;
use jiff::civil::{date, Weekday};
use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use needlepoint_store::{Actor, Channel, NewAppointment};

/// The last Sunday of March: Europe's spring-forward day.
fn spring_forward(year: i16) -> jiff::civil::Date {
    let mut d = date(year, 3, 31);
    while d.weekday() != Weekday::Sunday {
        d = d.yesterday().unwrap();
    }
    d
}

async fn feeds_are_valid_icalendar_across_dst(b: TestBackend) {
    let c = crate::browser::ready_to_plan(b).await;
    let zone = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let year = jiff::Zoned::now().year() + 1;
    let change = spring_forward(year);
    let actor = Actor {
        staff_id: Some(c.owner),
        label: "t".into(),
        channel: Channel::Web,
        ip: None,
    };
    let mut list = vec![];
    for (i, day) in [
        change - jiff::Span::new().days(5),
        change + jiff::Span::new().days(2),
    ]
    .into_iter()
    .enumerate()
    {
        let start = zone
            .to_ambiguous_timestamp(day.at(10, 0, 0, 0))
            .unambiguous()
            .unwrap();
        list.push(NewAppointment {
            clinic_id: c.clinic_id,
            patient_id: c.patient_id,
            plan_id: None,
            session_number: Some(i as i64 + 1),
            kind: needlepoint_domain::appointment::AppointmentKind::Session,
            practitioner_id: Some(c.clinician),
            room_id: None,
            device_id: None,
            starts_at: start,
            ends_at: start + jiff::SignedDuration::from_mins(65),
            local_start: day.at(10, 0, 0, 0).to_string(),
            time_zone: "Europe/London".into(),
            window_override: None,
            areas: None,
        });
    }
    c.app
        .store
        .book(&list, &actor, needlepoint_store::now())
        .await
        .unwrap();

    let mut nurse = c.client_as(Role::Clinician).await;
    let r = nurse.post_form("/account/calendar-feed", &[]).await;
    assert_eq!(r.status(), 201);
    let html = r.text().await.unwrap();
    let start = html.find("/calendar/feed/").unwrap();
    let path = html[start..].split('<').next().unwrap().to_string();
    let r = Client::new(&c.app.base).get(&path).await;
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let feed = r.text().await.unwrap();
    assert!(feed.contains("SUMMARY:Microneedling session 1 — Amara Okafor"));

    // A third-party parser reads it, and both sessions are at 10:00 in London.
    let file = needlepoint_store::testing::temp_dir("ics").join("feed.ics");
    std::fs::write(&file, &feed).unwrap();
    let script = r#"
import sys, icalendar, zoneinfo
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
events = [e for e in cal.walk("VEVENT")]
assert len(events) == 2, len(events)
for e in events:
    assert e.get("UID") and e.get("DTSTAMP"), "UID and DTSTAMP are required"
    local = e.decoded("DTSTART").astimezone(zoneinfo.ZoneInfo("Europe/London"))
    assert (local.hour, local.minute) == (10, 0), local
print("ok", len(events))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3 is needed (scripts/test installs icalendar)");
    assert!(
        out.status.success(),
        "icalendar refused the feed: {}\n{feed}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok 2");

    // A new address stops the old one; stopping the feed stops the new one.
    nurse.post_form("/account/calendar-feed", &[]).await;
    assert_eq!(Client::new(&c.app.base).get(&path).await.status(), 404);
    nurse.post_form("/account/calendar-feed/revoke", &[]).await;
    let appt = c
        .app
        .store
        .patient_appointments(c.patient_id)
        .await
        .unwrap()[0]
        .id;
    let one = nurse
        .get(&format!("/appointments/{appt}/ics"))
        .await
        .text()
        .await
        .unwrap();
    assert!(one.contains(&format!("UID:appointment-{appt}@needlepoint")));
}

/// The front desk sees today's appointments and moves them on; a
/// cancellation needs a reason and frees the time.
async fn todays_list_checks_patients_in(b: TestBackend) {
    let c = crate::browser::ready_to_plan(b).await;
    let zone = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let now = needlepoint_store::now();
    let today = now.to_zoned(zone.clone()).date();
    let actor = Actor {
        staff_id: Some(c.owner),
        label: "t".into(),
        channel: Channel::Web,
        ip: None,
    };
    let mut list = vec![];
    for minute in [1, 2] {
        // Late tonight, so "today" holds wherever the test runs in the day.
        let start = zone
            .to_ambiguous_timestamp(today.at(23, 0, 0, 0))
            .compatible()
            .unwrap()
            + jiff::SignedDuration::from_mins(minute * 15);
        list.push(NewAppointment {
            clinic_id: c.clinic_id,
            patient_id: c.patient_id,
            plan_id: None,
            session_number: None,
            kind: needlepoint_domain::appointment::AppointmentKind::Consultation,
            practitioner_id: None,
            room_id: None,
            device_id: None,
            starts_at: start,
            ends_at: start + jiff::SignedDuration::from_mins(10),
            local_start: today.to_string(),
            time_zone: "Europe/London".into(),
            window_override: None,
            areas: None,
        });
    }
    let booked = c.app.store.book(&list, &actor, now).await.unwrap();
    let mut desk = c.client_as(Role::FrontDesk).await;
    let page = desk.get("/today").await.text().await.unwrap();
    assert!(
        page.contains("Amara Okafor")
            && page.contains(&format!("appt-{}-checked_in", booked[0].id))
    );
    let r = desk
        .post_form(
            &format!("/appointments/{}/status", booked[0].id),
            &[("to", "checked_in")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        c.app
            .store
            .appointment(booked[0].id)
            .await
            .unwrap()
            .status
            .as_str(),
        "checked_in"
    );
    let r = desk
        .post_form(
            &format!("/appointments/{}/status", booked[1].id),
            &[("to", "cancelled")],
        )
        .await;
    assert_eq!(r.status(), 400, "a reason is needed");
    let r = desk
        .post_form(
            &format!("/appointments/{}/status", booked[1].id),
            &[
                ("to", "cancelled"),
                ("reason", "Patient called"),
                ("by", "clinic"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        c.app
            .store
            .appointment(booked[1].id)
            .await
            .unwrap()
            .cancel_reason
            .as_deref(),
        Some("Patient called")
    );

    // An owner of more clinics than one reads at once sees a line per
    // clinic, its day counted, and opens one clinic's list from it.
    let mut added = vec![];
    for name in ["Third Clinic", "Fourth Clinic"] {
        let made = c
            .app
            .store
            .create_clinic(
                c.app
                    .store
                    .clinic(c.clinic_id)
                    .await
                    .unwrap()
                    .organisation_id,
                &needlepoint_domain::ClinicDetails::parse(name, "Europe/London", "", "").unwrap(),
                &actor,
                now,
            )
            .await
            .unwrap();
        added.push(made.id);
    }
    let mut owner = c.client_as(Role::Owner).await;
    let page = owner.get("/today").await.text().await.unwrap();
    let line = page
        .split(&format!("id=\"clinic-{}\"", c.clinic_id))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("a line for the clinic");
    assert!(
        line.contains("<strong>2</strong>")
            && line.contains("1 checked in")
            && line.contains("1 cancelled"),
        "{line}"
    );
    assert!(page.contains("Fourth Clinic") && !page.contains("id=\"today-list\""));
    let day = owner
        .get(&format!("/today?clinic={}", c.clinic_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        day.contains("id=\"today-list\"")
            && day.contains(&format!("/appointments/{}", booked[0].id))
            && day.contains("All clinics")
    );
    // Another organisation's clinic, or none, is not found.
    assert_eq!(owner.get("/today?clinic=424242").await.status(), 404);
    // Reports count each clinic's patients from the kept summary.
    let reports = owner.get("/reports").await.text().await.unwrap();
    assert!(
        reports.contains("<td>Third Clinic</td><td>Europe/London</td><td>0</td>"),
        "{reports}"
    );
    assert!(
        reports.contains("<th>All</th><th></th><th>2</th>"),
        "{reports}"
    );
    // Settings too show one clinic at a time, and a change comes back to it.
    let fourth = owner
        .get(&format!("/settings?clinic={}", added[1]))
        .await
        .text()
        .await
        .unwrap();
    assert!(fourth.contains(&format!("id=\"clinic-{}\"", added[1])));
    assert!(!fourth.contains(&format!("id=\"clinic-{}\"", c.clinic_id)));
    assert!(fourth.contains("id=\"settings-clinic\""));
    assert_eq!(owner.get("/settings?clinic=424242").await.status(), 404);
    let r = owner
        .post_form(
            &format!("/settings/clinics/{}/closures", added[1]),
            &[("day", "2030-12-25"), ("reason", "Christmas")],
        )
        .await;
    assert_eq!(
        crate::common::location(&r),
        format!(
            "/settings?section=hours&saved=1&clinic={0}#clinic-{0}",
            added[1]
        )
    );
}

struct Refuses;
#[async_trait::async_trait]
impl needlepoint_practice::messages::Sender for Refuses {
    async fn send(&self, _: &needlepoint_store::Message) -> Result<(), String> {
        Err("provider down".into())
    }
}

/// Booking queues a confirmation (with the .ics) and two reminders; a
/// failed send is retried later and never lost; cancelling stops reminders.
async fn the_outbox_delivers_retries_and_never_loses(b: TestBackend) {
    use needlepoint_practice::messages::{deliver_due, letters, MailboxFolder};
    let c = crate::browser::ready_to_plan(b).await;
    let actor = Actor {
        staff_id: Some(c.owner),
        label: "t".into(),
        channel: Channel::Web,
        ip: None,
    };
    let mut details = c.app.store.patient(c.patient_id).await.unwrap();
    details.details.email =
        Some(needlepoint_domain::Email::parse("email", "amara@example.com").unwrap());
    let p = c
        .app
        .store
        .update_patient(
            c.patient_id,
            details.version,
            &details.details,
            &actor,
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    let now = needlepoint_store::now();
    let start = now + jiff::SignedDuration::from_hours(24 * 10);
    let appt = NewAppointment {
        clinic_id: c.clinic_id,
        patient_id: p.id,
        plan_id: None,
        session_number: Some(1),
        kind: needlepoint_domain::appointment::AppointmentKind::Session,
        practitioner_id: Some(c.clinician),
        room_id: None,
        device_id: None,
        starts_at: start,
        ends_at: start + jiff::SignedDuration::from_mins(65),
        local_start: "later".into(),
        time_zone: "Europe/London".into(),
        window_override: None,
        areas: None,
    };
    let kb = needlepoint_knowledge::shipped().unwrap();
    let state = needlepoint_web::AppState::new(
        c.app.store.clone(),
        kb,
        needlepoint_web::WebConfig::default(),
    );
    let steps = vec!["Stop retinoid creams 5 days before.".to_string()];
    let letters = letters(&state, &p).await.unwrap();
    let compose =
        |b: &[needlepoint_store::Appointment]| letters.appointments(b, "confirmation", &steps);
    let booked = c
        .app
        .store
        .book_and_message(&[appt], &compose, &actor, now)
        .await
        .unwrap();
    // The same messages queued again are ignored.
    c.app
        .store
        .enqueue_messages(&compose(&booked))
        .await
        .unwrap();
    let all = c.app.store.messages(c.clinic_id, 50).await.unwrap();
    assert_eq!(all.len(), 3, "confirmation and two reminders, queued once");

    // The provider is down: nothing is lost, the message waits for a retry.
    let now = needlepoint_store::now();
    let (sent, failed) = deliver_due(&state, &Refuses, now).await.unwrap();
    assert_eq!((sent, failed), (0, 1), "only the confirmation is due now");
    let m = c
        .app
        .store
        .messages(c.clinic_id, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.kind == "confirmation")
        .unwrap();
    assert_eq!(
        (m.status.as_str(), m.attempts, m.last_error.as_deref()),
        ("failed", 1, Some("provider down"))
    );
    assert!(
        c.app.store.due_messages(now, 50).await.unwrap().is_empty(),
        "not again at once"
    );

    let folder = needlepoint_store::testing::temp_dir("mailbox");
    let later = now + jiff::SignedDuration::from_mins(5);
    assert_eq!(
        deliver_due(&state, &MailboxFolder(folder.clone()), later)
            .await
            .unwrap(),
        (1, 0)
    );
    let files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (mode(&folder), mode(&files[0])),
            (0o700, 0o600),
            "the owner's only"
        );
    }
    assert!(
        eml.contains("To: amara@example.com")
            && eml.contains("Stop retinoid creams")
            && eml.contains("BEGIN:VCALENDAR"),
        "{eml}"
    );

    // Two days before, the 48-hour reminder is due; cancelling stops the 24-hour one.
    let two_days_before = start - jiff::SignedDuration::from_hours(48);
    assert_eq!(
        deliver_due(&state, &MailboxFolder(folder.clone()), two_days_before)
            .await
            .unwrap(),
        (1, 0)
    );
    c.app
        .store
        .set_appointment_status_and_message(
            booked[0].id,
            &needlepoint_store::StatusChange {
                status: needlepoint_domain::appointment::AppointmentStatus::Cancelled,
                reason: Some("Ill"),
                cancelled_by: Some("patient"),
                fee_minor: None,
            },
            &|done| letters.cancellation(done),
            &actor,
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    let (sent, _) = deliver_due(&state, &MailboxFolder(folder.clone()), start)
        .await
        .unwrap();
    assert_eq!(sent, 1, "the cancellation, not the 24-hour reminder");
    let kinds: Vec<(String, String)> = c
        .app
        .store
        .messages(c.clinic_id, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.kind, m.status.to_string()))
        .collect();
    assert!(
        kinds.contains(&("reminder_24h".into(), "cancelled".into()))
            && kinds.contains(&("cancellation".into(), "sent".into())),
        "{kinds:?}"
    );
    let mut desk = c.client_as(Role::FrontDesk).await;
    let page = desk.get("/messages?state=sent").await.text().await.unwrap();
    assert!(page.contains("Cancelled: your appointment") && page.contains("amara@example.com"));
}

crate::both!(
    feeds_are_valid_icalendar_across_dst,
    todays_list_checks_patients_in,
    the_outbox_delivers_retries_and_never_loses,
);
