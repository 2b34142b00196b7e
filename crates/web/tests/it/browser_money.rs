//! Money in headless Chromium on the demo clinic: the owner asks a
//! deposit, books a patient's course, sells it as a package and takes the
//! deposit; two sessions are signed and the package's sessions left fall
//! on the account page; a late cancellation's fee is taken from the
//! deposit; the fee's invoice prints on one A4 page. Every page on the way
//! is looked at on a desktop, a tablet and a phone.

use crate::common::spawn_demo;
use crate::common::webdriver::Browser;
use crate::demo_day::look;
use crate::money::course_without_money;
use jiff::SignedDuration;
use needlepoint_store::testing::TestBackend;
use needlepoint_store::{Actor, Appointment, Channel, NewAppointment, Store};
use std::sync::Arc;

/// Signs the session of `a` as the clinician would, at its time: the
/// chart opened, needling started, a zone recorded, signed.
pub async fn sign_session(st: &Arc<dyn Store>, a: &Appointment, clinician: i64) {
    let who = Actor {
        staff_id: Some(clinician),
        label: "clinician".into(),
        channel: Channel::Web,
        ip: None,
    };
    let at = a.starts_at + SignedDuration::from_mins(10);
    let c = st.open_chart(a, None, &who, at).await.unwrap();
    let c = st.start_chart(c.id, &[], &who, at).await.unwrap();
    let zone = needlepoint_domain::charting::ZoneRecord {
        zone: "cheeks".into(),
        depth: needlepoint_domain::Depth::from_micrometres(1000).unwrap(),
        passes: 3,
        device: "skinpen".into(),
        speed: "single speed".into(),
        endpoint: needlepoint_domain::charting::Endpoint::Erythema,
        notes: String::new(),
        override_reason: None,
        flag: None,
    };
    let c = st.save_zone(c.id, &zone, &who, at).await.unwrap();
    st.sign_chart(
        c.id,
        c.version,
        false,
        &[],
        &[],
        &who,
        at + SignedDuration::from_mins(50),
    )
    .await
    .unwrap();
}

/// A new session for the staff member at `now` (the demo's clock jumps
/// weeks ahead, past any session's idle time).
async fn session(st: &Arc<dyn Store>, staff_id: i64, now: jiff::Timestamp) -> String {
    let token = needlepoint_practice::signin::random_token();
    st.create_session(
        &needlepoint_store::WebSession {
            token_hash: needlepoint_practice::signin::token_hash(&token),
            staff_id,
            created_at: now,
            expires_at: now + SignedDuration::from_hours(12),
            last_seen_at: now,
            ip: None,
            user_agent: None,
        },
        &Actor::system("test"),
    )
    .await
    .unwrap();
    token
}

/// The page at three widths without sideways scroll, and no serious or
/// critical accessibility violation.
async fn check(b: &Browser, backend: TestBackend, name: &str) {
    look(b, backend, name).await;
    let v = b.accessibility_violations().await;
    assert!(v.is_empty(), "{name}: {v:#?}");
}

/// How many pages a PDF has ("/Type /Page", not "/Type /Pages").
fn pdf_pages(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's')
        .count()
}

async fn a_course_sold_as_a_package_with_a_deposit(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let st = d.app.store.clone();
    let base = d.app.base.clone();
    let (p, booked, _) = course_without_money(&d).await;
    let plan_id = booked.plan_id.unwrap();
    let clinician = st
        .staff_credentials("clinician@demo.needlepoint.test")
        .await
        .unwrap()
        .unwrap()
        .staff
        .id;

    let b = Browser::start().await;
    // Owners sign in with an authenticator code (tested on its own): the
    // owner's session is made in the store and handed to the browser.
    let owner = st
        .staff_credentials("owner@demo.needlepoint.test")
        .await
        .unwrap()
        .unwrap()
        .staff
        .id;
    b.goto(&format!("{base}/login")).await;
    b.add_cookie("np_session", &session(&st, owner, d.clock.now()).await)
        .await;
    // The clinic asks a £50 deposit and takes fees from it.
    b.goto(&format!("{base}/settings/billing?clinic={}", p.clinic_id))
        .await;
    b.type_into("#deposit", "50").await;
    b.click("#billing-settings button[type=submit]").await;
    b.wait_for_text(".notice.ok", "Saved").await;
    check(&b, backend, "money-01-settings").await;
    let s = st.billing_settings(p.clinic_id).await.unwrap();
    assert_eq!((s.deposit_minor, s.fee_from_deposit), (5000, true));

    // The course is booked here: the clinic first cancels what the demo
    // booked of it, so its sessions wait to be booked again.
    for a in st.patient_appointments(p.id).await.unwrap() {
        if a.plan_id == Some(plan_id)
            && a.status == needlepoint_domain::appointment::AppointmentStatus::Booked
        {
            let change = needlepoint_store::StatusChange {
                status: needlepoint_domain::appointment::AppointmentStatus::Cancelled,
                reason: Some("Rebooked with the patient"),
                cancelled_by: Some("clinic"),
                fee_minor: None,
            };
            st.set_appointment_status(a.id, &change, &Actor::system("test"), d.clock.now())
                .await
                .unwrap();
        }
    }
    b.goto(&format!("{base}/patients/{}", p.id)).await;
    b.click("#book-course").await;
    b.click("#propose-times").await;
    b.wait_for_text("#proposal", "Session").await;
    b.click("#book-all").await;
    b.wait_for_url("/calendar").await;
    let mut course: Vec<Appointment> = st
        .patient_appointments(p.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| {
            a.plan_id == Some(plan_id)
                && a.status == needlepoint_domain::appointment::AppointmentStatus::Booked
        })
        .collect();
    course.sort_by_key(|a| a.starts_at);
    assert!(course.len() >= 2, "a course booked: {course:?}");
    let (first, second) = (course[0].clone(), course[1].clone());
    // Booked without a deposit: the patient's page says so.
    b.goto(&format!("{base}/patients/{}", p.id)).await;
    b.wait_for_text("#alerts", "deposit of £50.00").await;

    // The course, sold as a package: its invoice is issued and the
    // package holds the sessions not yet signed.
    b.goto(&format!("{base}/patients/{}/account", p.id)).await;
    check(&b, backend, "money-02-account").await;
    b.click(&format!("#sell-package-{plan_id}")).await;
    b.wait_for_text(".notice.ok", "sold as a package").await;
    let acc = st.patient_account(p.id).await.unwrap();
    let package = acc.packages[0].clone();
    let sessions = package.sessions;
    assert!(sessions >= 2, "two sessions to sign: {sessions}");
    let left = |n: u32| format!("{n} of {sessions} sessions left");
    b.wait_for_text(&format!("#package-{}-left", package.id), &left(sessions))
        .await;
    assert!(b
        .source()
        .await
        .contains("The clinic asks a deposit of £50.00"));

    // The deposit, by card, on account.
    b.click("input[name=method][value=card]").await;
    b.type_into("#pay-amount", "50").await;
    b.type_into("#pay-reference", "T-5001").await;
    b.click("input[name=deposit]").await;
    b.click("#record-payment").await;
    b.wait_for_text(".notice.ok", "Payment recorded").await;
    b.wait_for_text("#balance", "Owes").await;
    check(&b, backend, "money-03-package-and-deposit").await;
    let deposit = st.patient_account(p.id).await.unwrap().payments[0].clone();
    assert!(deposit.deposit && deposit.free_minor() == 5000);

    // Two sessions signed: each draws one from the package.
    for (n, a) in [first.clone(), second.clone()].iter().enumerate() {
        d.clock.set(a.starts_at + SignedDuration::from_hours(1));
        sign_session(&st, a, clinician).await;
        b.add_cookie("np_session", &session(&st, owner, d.clock.now()).await)
            .await;
        b.goto(&format!("{base}/patients/{}/account", p.id)).await;
        b.wait_for_text(
            &format!("#package-{}-left", package.id),
            &left(sessions - 1 - n as u32),
        )
        .await;
    }
    check(&b, backend, "money-04-two-sessions-drawn").await;
    let acc = st.patient_account(p.id).await.unwrap();
    assert_eq!(acc.packages[0].used, 2);
    // A signed session drawn from the package is not offered for invoicing.
    let page = b.source().await;
    for a in [&first, &second] {
        let chart = st.chart_for_appointment(a.id).await.unwrap().unwrap();
        assert!(!page.contains(&format!("value=\"chart:{}\"", chart.id)));
    }
    b.goto(&format!("{base}/patients/{}", p.id)).await;
    b.wait_for_text(
        ".package-balance",
        &format!("{} of {sessions} sessions left", sessions - 2),
    )
    .await;

    // A day before another appointment, the patient cancels by phone:
    // inside the 48 hours' notice, so the £40 fee is taken from the deposit.
    let later = d.clock.now() + SignedDuration::from_hours(24 * 3);
    let room = st.rooms(p.clinic_id).await.unwrap()[0].id;
    let third = st
        .book(
            &[NewAppointment {
                clinic_id: p.clinic_id,
                patient_id: p.id,
                plan_id: None,
                session_number: None,
                kind: needlepoint_domain::appointment::AppointmentKind::FollowUp,
                practitioner_id: Some(clinician),
                room_id: Some(room),
                device_id: None,
                starts_at: later,
                ends_at: later + SignedDuration::from_mins(30),
                local_start: "later".into(),
                time_zone: first.time_zone.clone(),
                window_override: None,
                areas: None,
            }],
            &Actor::system("test"),
            d.clock.now(),
        )
        .await
        .unwrap()
        .remove(0);
    d.clock.set(later - SignedDuration::from_hours(24));
    b.add_cookie("np_session", &session(&st, owner, d.clock.now()).await)
        .await;
    b.goto(&format!("{base}/appointments/{}", third.id)).await;
    b.click("#by-patient").await;
    b.type_into("#cancel-reason", "Away with work").await;
    b.click("#cancel-submit").await;
    b.settle().await;
    let cancelled = st.appointment(third.id).await.unwrap();
    assert_eq!(cancelled.fee_minor, Some(4000), "the policy's fee");
    let acc = st.patient_account(p.id).await.unwrap();
    let fee = acc
        .invoices
        .iter()
        .find(|i| {
            i.lines
                .iter()
                .any(|l| l.label.starts_with("Late cancellation fee"))
        })
        .expect("the fee is invoiced")
        .clone();
    assert_eq!(
        (fee.totals.total, fee.paid_minor, fee.due_minor()),
        (4000, 4000, 0)
    );
    let deposit = acc.payments.iter().find(|x| x.id == deposit.id).unwrap();
    assert_eq!(
        deposit.free_minor(),
        1000,
        "£10 of the deposit left on account"
    );

    b.goto(&format!("{base}/patients/{}/account", p.id)).await;
    b.wait_for_text(
        &format!("#payment-{}", deposit.id),
        "£40.00 against invoices",
    )
    .await;
    assert!(b
        .text(&format!("#payment-{}", deposit.id))
        .await
        .contains("£10.00 on account"));
    check(&b, backend, "money-05-fee-from-deposit").await;

    // The takings of the day the deposit was taken: a card payment, and no
    // cash expected in the till.
    b.goto(&format!(
        "{base}/takings?clinic={}&day={}",
        p.clinic_id, deposit.received_on
    ))
    .await;
    b.wait_for_text("#by-method", "Card").await;
    b.wait_for_text("#cash-expected", "£0.00").await;
    check(&b, backend, "money-06-takings").await;
    b.goto(&format!("{base}/payments/{}/receipt", deposit.id))
        .await;
    b.wait_for_text("h1", "Receipt").await;
    check(&b, backend, "money-07-receipt").await;

    // The fee's invoice, printed at A4: one page, with its number.
    b.goto(&format!("{base}/patients/{}/account", p.id)).await;
    b.click(&format!("#invoice-{} a", fee.id)).await;
    b.wait_for_text("#document-number", &fee.label()).await;
    assert_eq!(b.text("#document-due").await, "£0.00");
    check(&b, backend, "money-08-invoice").await;
    b.resize(1280, 900).await;
    let a4 = b
        .print_pdf(
            &format!("{}-money-invoice-a4", backend_name(backend)),
            21.0,
            29.7,
        )
        .await;
    assert_eq!(pdf_pages(&a4), 1, "the invoice fits one A4 page");
    b.goto(&format!("{base}/invoices/{}?paper=letter", fee.id))
        .await;
    b.wait_for_text("#document-number", &fee.label()).await;
    let letter = b
        .print_pdf(
            &format!("{}-money-invoice-letter", backend_name(backend)),
            21.59,
            27.94,
        )
        .await;
    assert_eq!(pdf_pages(&letter), 1, "and one Letter page");
    b.quit().await;
}

fn backend_name(b: TestBackend) -> &'static str {
    match b {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgres",
    }
}

crate::both!(a_course_sold_as_a_package_with_a_deposit,);
