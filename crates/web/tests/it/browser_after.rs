//! After the session in headless Chromium, on the demo clinic: a patient
//! answers her day-3 check-in on a phone from the link in her mailbox and
//! is told to call the clinic today; the clinician finds the flag on
//! Today, records a grade 2 skin infection linked to the session's
//! cartridge lot, and the lot's page lists it. And a patient on her own
//! page moves a session inside the notice period: the fee is shown first,
//! and a time that would break the healing window is refused.

use crate::after_session::{day3_checkin, jpeg, latest_code, patient_with_next_sessions};
use crate::browser::sign_in;
use crate::common::spawn_demo;
use crate::common::webdriver::Browser;
use crate::demo_day::look;
use jiff::SignedDuration;
use needlepoint_practice::messages::{deliver_due, MailboxFolder};
use needlepoint_store::testing::TestBackend;

const PASSWORD: &str = "demo-password";

async fn a_flagged_checkin_becomes_an_adverse_event(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let st = d.app.store.clone();
    let base = d.app.base.clone();
    let k = day3_checkin(&d).await;

    // Day 3, an hour after the link was due: the outbox sends it to the
    // mailbox folder.
    let on = k.checkin.due_at + SignedDuration::from_hours(1);
    d.clock.set(on);
    let mailbox = needlepoint_store::testing::temp_dir("mailbox");
    let cx = needlepoint_practice::Context::new(
        st.clone(),
        needlepoint_knowledge::shipped().unwrap(),
        needlepoint_practice::Clock::fixed(on),
    );
    while deliver_due(&cx, &MailboxFolder(mailbox.clone()), on)
        .await
        .unwrap()
        .0
        > 0
    {}
    let eml = std::fs::read_dir(&mailbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{:06}-checkin_link", k.message_id))
        })
        .expect("the day-3 link is in the mailbox");
    assert!(std::fs::metadata(&eml).unwrap().len() > 0);
    let sent = st.message(k.message_id).await.unwrap();
    assert_eq!(sent.status.as_str(), "sent");
    // The demo's links name its own server; this one runs on a free port.
    let link = format!("{base}{}", k.path);
    assert!(sent.body.contains(&k.path));

    // On her phone: pus and a fever, moderate redness, a photo.
    let b = Browser::start().await;
    b.resize(390, 844).await;
    b.goto(&link).await;
    b.wait_for_text("h1", "How is your skin").await;
    for q in needlepoint_domain::triage::QUESTIONS {
        let value = match q.code {
            "pus" | "fever" => "1",
            "redness" => "2",
            "pain" => "4",
            _ => "0",
        };
        b.click(&format!("#{}-{value}", q.code)).await;
    }
    b.type_into("#note", "Yellow crusts on my left cheek since last night")
        .await;
    let photo = needlepoint_store::testing::temp_dir("checkin-photo").join("cheek.jpg");
    std::fs::write(&photo, jpeg(800, 600)).unwrap();
    b.choose_file("#photo", &photo).await;
    look(&b, backend, "after-01-checkin-form").await;
    b.resize(390, 844).await;
    b.click("#send-checkin").await;
    let told = b
        .wait_for_text("#triage-headline", "call the clinic today")
        .await;
    assert_eq!(told, "Please call the clinic today");
    let text = b.text("#triage-result").await;
    assert!(
        text.contains("+44 117 496 0123"),
        "the clinic's phone: {text}"
    );
    assert_eq!(
        b.execute("return document.getElementById('call-clinic').getAttribute('href');")
            .await,
        serde_json::json!("tel:+441174960123"),
        "one tap to call"
    );
    let reported = b.text("#triage-reported").await;
    assert!(
        reported.contains("pus") && reported.contains("fever"),
        "{reported}"
    );
    look(&b, backend, "after-02-checkin-call-today").await;
    let kept = st.checkin(k.checkin.id).await.unwrap();
    assert!(kept.flagged());
    assert!(kept.photo_id.is_some(), "the photo came with the answers");
    let alert = st
        .patient_messages(k.chart.patient_id, 5)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.kind == "checkin_alert")
        .expect("the clinician is alerted");
    assert!(
        alert.subject.contains("Call the clinic today"),
        "{}",
        alert.subject
    );

    // The clinician: the flag on Today, the answers, an adverse event.
    b.resize(1280, 900).await;
    sign_in(&b, &base, "clinician@demo.needlepoint.test", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.wait_for_text("#checkins-waiting", "Call the clinic today")
        .await;
    look(&b, backend, "after-03-today-flag").await;
    b.click(&format!("#checkin-{}", k.checkin.id)).await;
    b.wait_for_text("#checkin-advice", "Call the clinic today")
        .await;
    assert!(b.text("#checkin-findings").await.contains("pus"));
    assert!(b.exists("#checkin-photo").await);
    look(&b, backend, "after-04-checkin-review").await;
    b.click("#raise-adverse").await;
    b.wait_for_text("h1", "Record an adverse event").await;
    b.click("#term option[value=skin_infection]").await;
    let onset = on
        .to_zoned(jiff::tz::TimeZone::get("Europe/London").unwrap())
        .date()
        .to_string();
    b.execute(&format!(
        "document.getElementById('onset').value = '{onset}';"
    ))
    .await;
    b.click("#grade-2").await;
    b.click(&format!("#lot-{}", k.cartridge_lot)).await;
    b.type_into("#actions", "Seen the same day; oral antibiotics started.")
        .await;
    b.click("#outcome option[value=ongoing]").await;
    look(&b, backend, "after-05-adverse-form").await;
    b.click("#ae-sign").await;
    b.wait_for_url("/adverse-events/").await;
    let head = b.wait_for_text("h1", "Skin infection").await;
    assert!(head.contains("grade 2"), "{head}");
    look(&b, backend, "after-06-adverse-event").await;
    let events = st.patient_adverse_events(k.chart.patient_id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].lot_ids, [k.cartridge_lot]);
    assert_eq!(events[0].checkin_id, Some(k.checkin.id));

    // The lot's page lists it.
    b.goto(&format!("{base}/inventory/lots/{}", k.cartridge_lot))
        .await;
    let listed = b
        .wait_for_text("#lot-adverse-events", "Skin infection, grade 2")
        .await;
    assert!(listed.contains(
        &st.patient(k.chart.patient_id)
            .await
            .unwrap()
            .details
            .given_name
    ));
    look(&b, backend, "after-07-lot-adverse-events").await;
    b.quit().await;
}

async fn a_patient_moves_her_session_on_her_page(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let st = d.app.store.clone();
    let base = d.app.base.clone();
    let (p, a, next) = patient_with_next_sessions(&d).await;
    // A day before the session: inside the demo's 48 hours' notice.
    d.clock.set(a.starts_at - SignedDuration::from_hours(24));
    let email = p.details.email.as_ref().unwrap().to_string();

    let b = Browser::start().await;
    b.resize(390, 844).await;
    b.goto(&format!("{base}/me")).await;
    b.wait_for_url("/me/sign-in").await;
    look(&b, backend, "portal-01-sign-in").await;
    b.type_into("#address", &email).await;
    b.click("#send-code").await;
    b.wait_for_text("#code-sent", "a code is on its way").await;
    let (code, _) = latest_code(&d, p.id).await;
    b.type_into("#code", &code).await;
    b.click("#sign-in-code").await;
    b.wait_for_url("/me").await;
    b.wait_for_text("h1", &p.details.given_name).await;
    look(&b, backend, "portal-02-home").await;

    b.click(&format!("#move-{}", a.id)).await;
    b.wait_for_url("/move").await;
    // The fee comes first.
    let fee = b.wait_for_text("#change-fee", "£40.00").await;
    assert!(fee.contains("moving it now costs"), "{fee}");
    look(&b, backend, "portal-03-move-fee").await;

    // After the next session of the course: the healing window breaks.
    let tz = jiff::tz::TimeZone::get(&a.time_zone).unwrap();
    let local = |t: jiff::Timestamp| {
        t.to_zoned(tz.clone())
            .datetime()
            .strftime("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let too_late = local(next.starts_at + SignedDuration::from_hours(24));
    b.execute(&format!(
        "document.getElementById('to').value = '{too_late}';"
    ))
    .await;
    b.click("#check-move").await;
    let refused = b
        .wait_for_text("#change-problems", "Nothing has changed")
        .await;
    assert!(
        refused.to_lowercase().contains("window") || refused.contains("days after"),
        "the healing window: {refused}"
    );
    look(&b, backend, "portal-04-move-refused").await;
    assert_eq!(st.appointment(a.id).await.unwrap().starts_at, a.starts_at);

    // A time the rules allow (found by the same rules): in a weekly course
    // only the same day, at another hour.
    let cx = needlepoint_practice::Context::new(
        st.clone(),
        needlepoint_knowledge::shipped().unwrap(),
        needlepoint_practice::Clock::fixed(d.clock.now()),
    );
    let day = a.starts_at.to_zoned(tz.clone()).date();
    let mut ok = None;
    for hour in 8..19 {
        let at = day.at(hour, 0, 0, 0);
        if at == a.starts_at.to_zoned(tz.clone()).datetime() {
            continue;
        }
        let at = at.to_string();
        if needlepoint_practice::portal::plan_move(&cx, &a, &at, false)
            .await
            .is_ok()
        {
            ok = Some(at);
            break;
        }
    }
    let ok = ok.expect("a free time inside the window");
    b.execute(&format!(
        "document.getElementById('to').value = '{}';",
        &ok[..16]
    ))
    .await;
    b.click("#check-move").await;
    b.wait_for_text("#move-to", "The new time").await;
    let confirm = b.text("#confirm-move").await;
    assert_eq!(confirm, "Move it and pay £40.00");
    look(&b, backend, "portal-05-move-confirm").await;
    b.click("#confirm-move").await;
    b.wait_for_text("#portal-notice", "has moved").await;
    let moved = st.appointment(a.id).await.unwrap();
    assert_ne!(moved.starts_at, a.starts_at);
    assert_eq!(moved.fee_minor, Some(4000), "the late-change fee is kept");
    look(&b, backend, "portal-06-moved").await;
    b.quit().await;
}

crate::both!(
    a_flagged_checkin_becomes_an_adverse_event,
    a_patient_moves_her_session_on_her_page,
);
