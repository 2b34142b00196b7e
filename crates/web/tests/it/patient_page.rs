//! The patient's page as the hub of her care, walked on the demo clinic:
//! alerts first, the course and how far it has come, appointments to come
//! with their actions, messages sent to her, and one click on to the next
//! step, each role seeing what it may.

use crate::common::{spawn_demo, DemoApp};
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_domain::dates::local_time;
use needlepoint_domain::plan::PlanStatus;
use needlepoint_domain::screening::{Deferral, Status};
use needlepoint_store::testing::TestBackend;
use needlepoint_store::Patient;

const CLINICIAN: &str = "clinician@demo.needlepoint.test";
const DESK: &str = "frontdesk@demo.needlepoint.test";

async fn bristol_patients(d: &DemoApp) -> Vec<Patient> {
    let st = &d.app.store;
    let desk = st.staff_credentials(DESK).await.unwrap().unwrap().staff;
    st.search_patients(desk.id, None, "", 200, None)
        .await
        .unwrap()
        .patients
}

/// The first patient `pick` chooses, by what the record holds.
async fn find<F, Fut>(d: &DemoApp, what: &str, pick: F) -> Patient
where
    F: Fn(Patient) -> Fut,
    Fut: std::future::Future<Output = Option<Patient>>,
{
    for p in bristol_patients(d).await {
        if let Some(p) = pick(p).await {
            return p;
        }
    }
    panic!("the demo has no patient who {what}");
}

/// The first patient whose course is under way.
async fn course_under_way(d: &DemoApp) -> Patient {
    let st = d.app.store.clone();
    find(d, "has a course under way", |p| {
        let st = st.clone();
        async move {
            let plans = st.plans(p.id).await.unwrap();
            plans
                .iter()
                .any(|r| r.status == PlanStatus::InProgress)
                .then_some(p)
        }
    })
    .await
}

async fn page(c: &mut crate::common::Client, path: &str) -> String {
    let r = c.get(path).await;
    assert_eq!(r.status(), 200, "{path}: {:?}", r.headers().get("location"));
    r.text().await.unwrap()
}

async fn the_patient_page_is_the_hub(b: TestBackend) {
    let d = spawn_demo(b).await;
    let st = d.app.store.clone();
    let now = d.clock.now();
    let mut clinician = d.client(CLINICIAN).await;
    let mut desk = d.client(DESK).await;

    // A course under way with sessions booked ahead.
    let p = course_under_way(&d).await;
    let ahead: Vec<_> = st
        .patient_appointments(p.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.status == AppointmentStatus::Booked && a.starts_at > now)
        .collect();
    let html = page(&mut clinician, &format!("/patients/{}", p.id)).await;
    assert!(html.contains("id=\"course-progress\""), "{html}");
    assert!(html.contains(" signed."), "progress in words");
    if let Some(next) = ahead.iter().min_by_key(|a| a.starts_at) {
        assert!(
            html.contains(&format!(
                "Next session: {}.",
                local_time(next.starts_at, &next.time_zone)
            )),
            "the next session is named"
        );
    }
    assert_eq!(
        html.matches(">Move or cancel</a>").count(),
        ahead.len(),
        "one row with its actions per appointment to come"
    );
    let latest = st.patient_messages(p.id, 1).await.unwrap();
    let subject = &latest.first().expect("messages were sent").subject;
    assert!(
        html.contains(&askama_escape(subject)),
        "the latest message: {subject}"
    );
    assert!(
        html.contains("id=\"sessions\""),
        "a clinician sees the charts"
    );
    // Its plan, under way, reads as agreed: read-only, and cancelling it
    // is a step apart from the main action.
    let plan = st
        .plans(p.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.status == PlanStatus::InProgress)
        .unwrap();
    let html = page(
        &mut clinician,
        &format!("/patients/{}/plans/{}", p.id, plan.id),
    )
    .await;
    assert!(html.contains("id=\"read-only\"") && !html.contains("id=\"save-plan\""));
    assert!(html.contains("<details class=\"danger-zone\" id=\"cancel-plan\">"));

    let html = page(&mut desk, &format!("/patients/{}", p.id)).await;
    assert!(
        html.contains("id=\"course-progress\""),
        "the desk sees the course"
    );
    assert_eq!(html.matches(">Move or cancel</a>").count(), ahead.len());
    assert!(!html.contains("id=\"sessions\""), "never the charts");
    assert!(
        !html.contains("Clinical record"),
        "never the clinical record"
    );

    // Treated with the recalled lot: a clinical alert.
    let exposed = find(&d, "was treated with the recalled lot", |p| {
        let st = st.clone();
        async move {
            for c in st.patient_charts(p.id).await.unwrap() {
                if c.lots.iter().any(|l| l.lot_number == "CA25-0217") {
                    return Some(p);
                }
            }
            None
        }
    })
    .await;
    let path = format!("/patients/{}", exposed.id);
    assert!(page(&mut clinician, &path)
        .await
        .contains("Treated with recalled lot CA25-0217"));
    assert!(!page(&mut desk, &path).await.contains("recalled lot"));

    // Deferred with a date: both see the date, only the clinician why.
    let deferred = find(&d, "is deferred with a date", |p| {
        let st = st.clone();
        async move {
            let s = st.screenings(p.id).await.unwrap();
            matches!(s.first()?.result.deferral, Some(Deferral::Until(_))).then_some(p)
        }
    })
    .await;
    let path = format!("/patients/{}", deferred.id);
    let html = page(&mut clinician, &path).await;
    assert!(
        html.contains("Treatment deferred until") && html.contains("Because: "),
        "{html}"
    );
    let html = page(&mut desk, &path).await;
    assert!(html.contains("Treatment deferred until"));
    assert!(
        !html.contains("Because: "),
        "the desk never sees the clinical reason"
    );

    // Screened, treatable, no plan: one click to propose one.
    let ready = find(&d, "is screened and has no plan", |p| {
        let st = st.clone();
        async move {
            let s = st.screenings(p.id).await.unwrap();
            let ok = matches!(
                s.first()?.status(),
                Status::Eligible | Status::EligibleWithPrecautions
            );
            (ok && st.plans(p.id).await.unwrap().is_empty()).then_some(p)
        }
    })
    .await;
    let path = format!("/patients/{}", ready.id);
    assert!(page(&mut clinician, &path)
        .await
        .contains("id=\"propose-plan\""));
    assert!(!page(&mut desk, &path).await.contains("id=\"propose-plan\""));
    let r = clinician
        .post_form(&format!("{path}/plans"), &[("device", "skinpen")])
        .await;
    assert_eq!(r.status(), 303);
    let html = page(&mut clinician, &path).await;
    assert!(html.contains("Proposed") && !html.contains("id=\"propose-plan\""));

    // An accepted plan with sessions still to book: one click to book them.
    let booking = find(&d, "has sessions of an accepted plan to book", |p| {
        let st = st.clone();
        async move {
            let plans = st.plans(p.id).await.unwrap();
            let r = plans.iter().find(|r| r.status == PlanStatus::Accepted)?;
            let booked = st
                .patient_appointments(p.id)
                .await
                .unwrap()
                .iter()
                .filter(|a| a.plan_id == Some(r.id) && a.status.holds_time())
                .count();
            (booked < r.plan.tracks.iter().map(|t| t.sessions as usize).max()?).then_some(p)
        }
    })
    .await;
    let html = page(&mut desk, &format!("/patients/{}", booking.id)).await;
    let needle = "id=\"book-course\" href=\"";
    let at = html.find(needle).expect("a link to book the course");
    let href = &html[at + needle.len()..];
    let href = &href[..href.find('"').unwrap()];
    assert!(page(&mut desk, href).await.contains("Book"), "{href}");
}

/// The timeline: everything that happened, newest first, each linked to
/// where it is read whole; the desk sees appointments, consents and
/// messages, never screenings, plans or charts.
async fn the_timeline_tells_everything_in_order(b: TestBackend) {
    let d = spawn_demo(b).await;
    let st = d.app.store.clone();
    let mut clinician = d.client(CLINICIAN).await;
    let mut desk = d.client(DESK).await;
    let p = course_under_way(&d).await;
    let path = format!("/patients/{}", p.id);
    let items = |html: &str| -> Vec<String> {
        between(html, "<ol class=\"events\">", "</ol>")
            .split("<li")
            .skip(1)
            .map(|i| i.trim().to_string())
            .collect()
    };

    let whole = items(&page(&mut clinician, &format!("{path}?timeline=all")).await);
    assert!(
        whole.last().unwrap().contains("Record created"),
        "the oldest last: {:?}",
        whole.last()
    );
    let mut charts = st.patient_charts(p.id).await.unwrap();
    charts.retain(|c| c.signed_at.is_some());
    charts.sort_by_key(|c| c.signed_at);
    assert!(!charts.is_empty(), "a course under way has signed sessions");
    let at = |needle: &str| {
        whole
            .iter()
            .position(|i| i.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in the timeline: {whole:#?}"))
    };
    // Each signed chart once, the latest signed highest.
    let places: Vec<usize> = charts
        .iter()
        .map(|c| at(&format!("href=\"/sessions/{}\">Session", c.id)))
        .collect();
    assert!(
        places.windows(2).all(|w| w[0] > w[1]),
        "newest first: {places:?}"
    );
    assert_eq!(
        whole
            .iter()
            .filter(|i| i.contains("charted and signed"))
            .count(),
        charts.len()
    );
    assert_eq!(
        whole.iter().filter(|i| i.contains("Screened: ")).count(),
        st.screenings(p.id).await.unwrap().len()
    );
    assert!(
        at("Consent signed") < at(" proposed</a>"),
        "signed after proposed"
    );
    assert!(whole.iter().any(|i| i.contains("photos taken")));
    let sent = st.patient_messages(p.id, 100).await.unwrap();
    let m = sent.iter().find(|m| m.sent_at.is_some()).unwrap();
    at(&format!("href=\"/messages/{}\"", m.id));
    // The aftercare right after the signature it follows (newest first:
    // above it).
    let first = &charts[0];
    let aftercare = sent
        .iter()
        .find(|m| m.kind == "aftercare" && m.appointment_id == Some(first.appointment_id))
        .expect("an aftercare message for the first session");
    assert!(
        at(&format!("href=\"/messages/{}\"", aftercare.id))
            < at(&format!("href=\"/sessions/{}\">Session", first.id)),
        "the aftercare above its signature"
    );

    // The page shows the latest few and says how many more there are.
    let html = page(&mut clinician, &path).await;
    let shown = items(&html);
    assert_eq!(shown.len(), 12.min(whole.len()));
    assert_eq!(shown[..], whole[..shown.len()]);
    if whole.len() > shown.len() {
        assert!(html.contains(&format!("Show all ({} more)", whole.len() - shown.len())));
    }

    // The desk: appointments, consents and messages; nothing clinical.
    let desk_whole = items(&page(&mut desk, &format!("{path}?timeline=all")).await);
    assert!(desk_whole.iter().any(|i| i.contains("Consent signed")));
    assert!(desk_whole.iter().any(|i| i.contains(": completed")));
    assert!(desk_whole
        .iter()
        .any(|i| i.contains(&format!("href=\"/messages/{}\"", m.id))));
    for clinical in [
        "Screened",
        "charted",
        "proposed",
        "photos",
        "/sessions/",
        "/plans/",
    ] {
        assert!(
            !desk_whole.iter().any(|i| i.contains(clinical)),
            "the desk never sees {clinical}: {desk_whole:#?}"
        );
    }
}

/// Text as the templates escape it.
fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// The text between `from` and the next `to` in `html`.
fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let at = html
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in {html}"))
        + from.len();
    let rest = &html[at..];
    &rest[..rest.find(to).unwrap()]
}

/// Intake and consent links go to the patient by e-mail or SMS from the
/// page, and are still shown to copy; with no address, the page says so
/// and nothing is queued.
async fn links_are_sent_to_the_patient_or_say_why_not(b: TestBackend) {
    let d = spawn_demo(b).await;
    let st = d.app.store.clone();
    let mut clinician = d.client(CLINICIAN).await;
    let mut desk = d.client(DESK).await;
    let p = find(&d, "has a proposed plan", |p| {
        let st = st.clone();
        async move {
            let plans = st.plans(p.id).await.unwrap();
            plans
                .iter()
                .any(|r| r.status == PlanStatus::Proposed)
                .then_some(p)
        }
    })
    .await;
    let email = p.details.email.as_ref().unwrap().to_string();
    let phone = p.details.phone.clone().unwrap();
    let before = st.patient_messages(p.id, 100).await.unwrap().len();

    // The usual way: by e-mail, the link in the message as on the page.
    let r = desk
        .post_form(&format!("/patients/{}/intake-links", p.id), &[])
        .await;
    assert_eq!(r.status(), 201);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("Sent by e-mail to {email}.")),
        "{html}"
    );
    let url = between(&html, "id=\"intake-url\">", "<");
    let sent = st.patient_messages(p.id, 1).await.unwrap().remove(0);
    assert_eq!(
        (sent.kind.as_str(), sent.to_address.as_str()),
        ("intake_link", email.as_str())
    );
    assert!(sent.body.contains(url), "{} lacks {url}", sent.body);
    assert_eq!(sent.due_at, d.clock.now(), "sent now");

    // By text message when asked; shown only when asked.
    let r = desk
        .post_form(
            &format!("/patients/{}/intake-links", p.id),
            &[("send", "sms")],
        )
        .await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains(&format!("Sent by text message to {phone}.")));
    let r = desk
        .post_form(
            &format!("/patients/{}/intake-links", p.id),
            &[("send", "copy")],
        )
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"intake-url\"") && !html.contains("Sent by"));
    assert_eq!(
        st.patient_messages(p.id, 100).await.unwrap().len(),
        before + 2
    );

    // The consent link, from the plan.
    let plan = st
        .plans(p.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.status == PlanStatus::Proposed)
        .unwrap();
    let r = clinician
        .post_form(
            &format!("/patients/{}/plans/{}/consent-links", p.id, plan.id),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("Sent by e-mail to {email}.")),
        "{html}"
    );
    let url = between(&html, "id=\"consent-url\">", "<");
    let sent = st.patient_messages(p.id, 1).await.unwrap().remove(0);
    assert_eq!(sent.kind, "consent_link");
    assert!(sent.body.contains(url));

    // No e-mail and no phone: said where it was asked, link still there.
    let details = needlepoint_domain::PatientInput {
        given_name: "Noor".into(),
        family_name: "Walk-in".into(),
        date_of_birth: "1991-05-04".into(),
        sex: "female".into(),
        ..Default::default()
    }
    .validate(jiff::civil::date(2027, 3, 10))
    .unwrap();
    let walk_in = st
        .create_patient(
            p.clinic_id,
            &details,
            &needlepoint_store::Actor::system("test"),
            d.clock.now(),
        )
        .await
        .unwrap();
    let r = desk
        .post_form(&format!("/patients/{}/intake-links", walk_in.id), &[])
        .await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains("no e-mail address or phone number on file"),
        "{html}"
    );
    assert!(
        html.contains("id=\"intake-url\""),
        "the link is offered to copy"
    );
    assert!(st
        .patient_messages(walk_in.id, 10)
        .await
        .unwrap()
        .is_empty());
    let r = desk
        .post_form(
            &format!("/patients/{}/intake-links", walk_in.id),
            &[("send", "sms")],
        )
        .await;
    assert!(r.text().await.unwrap().contains("no phone number on file"));
}

/// The Messages page: scheduled apart from sent, filtered by kind and
/// patient, a message opened whole, a failed one sent again, and nothing
/// of another clinic's.
async fn messages_are_listed_by_state_and_sent_again(b: TestBackend) {
    use needlepoint_domain::message::MessageStatus;
    let d = spawn_demo(b).await;
    let st = d.app.store.clone();
    let mut desk = d.client(DESK).await;
    let desk_id = st.staff_credentials(DESK).await.unwrap().unwrap().staff.id;
    let mine = st.staff_messages(desk_id, 1000).await.unwrap();
    let count = |s: MessageStatus| mine.iter().filter(|m| m.status == s).count();
    assert!(count(MessageStatus::Pending) > 0 && count(MessageStatus::Sent) > 0);

    // Scheduled by default, soonest first; sent on its own tab.
    let html = page(&mut desk, "/messages").await;
    assert!(html.contains("id=\"tab-scheduled\" aria-current=\"page\""));
    assert_eq!(
        html.matches(">Scheduled</span>").count(),
        count(MessageStatus::Pending)
    );
    assert!(!html.contains(">Sent</span>"));
    let mut due: Vec<_> = mine
        .iter()
        .filter(|m| m.status == MessageStatus::Pending)
        .collect();
    due.sort_by_key(|m| (m.due_at, m.id));
    let first = html.find(&format!("/messages/{}\"", due[0].id)).unwrap();
    let last = html
        .find(&format!("/messages/{}\"", due[due.len() - 1].id))
        .unwrap();
    assert!(first < last, "soonest first");
    let html = page(&mut desk, "/messages?state=sent").await;
    assert_eq!(
        html.matches(">Sent</span>").count(),
        count(MessageStatus::Sent)
    );
    assert!(!html.contains(">Scheduled</span>"));

    // By kind, and to one patient.
    let recalls = mine.iter().filter(|m| m.kind == "recall").count();
    let html = page(&mut desk, "/messages?state=all&kind=recall").await;
    assert_eq!(html.matches(" · Recall · ").count(), recalls);
    let m = mine.iter().find(|m| m.kind == "recall").unwrap();
    let to = m.patient_id.unwrap();
    let html = page(&mut desk, &format!("/messages?state=all&patient={to}")).await;
    assert!(html.contains("id=\"patient-filter\""));
    let hers = st.patient_messages(to, 1000).await.unwrap().len();
    assert_eq!(html.matches("<li><span class=\"row-main\">").count(), hers);
    // Or by her name, typed: one patient found is the filter.
    let her = st.patient(to).await.unwrap();
    let typed = format!("{} {}", her.details.given_name, her.details.family_name);
    let html = page(
        &mut desk,
        &format!("/messages?state=all&who={}", typed.replace(' ', "+")),
    )
    .await;
    assert!(html.contains("id=\"patient-filter\""), "{html}");
    assert_eq!(html.matches("<li><span class=\"row-main\">").count(), hers);
    assert!(
        html.contains(&format!("who={}", typed.replace(' ', "%20"))),
        "the tabs keep the name"
    );
    // Several match (a family name shared): she is chosen from a list,
    // and the list of messages waits.
    let names: Vec<String> = bristol_patients(&d)
        .await
        .into_iter()
        .map(|p| p.details.family_name)
        .collect();
    let shared = names
        .iter()
        .find(|n| names.iter().filter(|m| m == n).count() > 1)
        .expect("two demo patients share a family name");
    let html = page(&mut desk, &format!("/messages?state=all&who={shared}")).await;
    assert!(html.contains("id=\"choose-patient\""), "{html}");
    assert!(!html.contains("<li><span class=\"row-main\">"));
    for nobody in ["Zebedee Quux", "%25%25%25", &"x".repeat(300)] {
        let html = page(&mut desk, &format!("/messages?who={nobody}")).await;
        assert!(html.contains("id=\"no-patient\""), "{nobody}");
    }

    // Opened whole; a failed one sent again, a sent one refused.
    let html = page(&mut desk, &format!("/messages/{}", m.id)).await;
    assert!(html.contains(&askama_escape(&m.body[..40])), "the body");
    st.mark_failed(m.id, "the mail server said no", d.clock.now())
        .await
        .unwrap();
    let html = page(&mut desk, &format!("/messages/{}", m.id)).await;
    assert!(html.contains("the mail server said no") && html.contains("id=\"retry-message\""));
    let r = desk
        .post_form(&format!("/messages/{}/retry", m.id), &[])
        .await;
    assert_eq!(r.status(), 303);
    let again = st.message(m.id).await.unwrap();
    assert_eq!(
        (again.status, again.due_at),
        (MessageStatus::Pending, d.clock.now())
    );
    let sent = mine
        .iter()
        .find(|m| m.status == MessageStatus::Sent)
        .unwrap();
    let r = desk
        .post_form(&format!("/messages/{}/retry", sent.id), &[])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("only a message that failed"));

    // Brooklyn's messages and patients are not the Bristol desk's.
    let ny_staff = st
        .staff_credentials("ny.frontdesk@demo.needlepoint.test")
        .await
        .unwrap()
        .unwrap()
        .staff;
    let ny_patient = st
        .search_patients(ny_staff.id, None, "", 1, None)
        .await
        .unwrap()
        .patients
        .remove(0);
    st.enqueue_messages(&[needlepoint_store::NewMessage {
        clinic_id: ny_patient.clinic_id,
        patient_id: Some(ny_patient.id),
        appointment_id: None,
        kind: "intake_link".into(),
        channel: needlepoint_domain::message::MessageChannel::Email,
        to_address: "someone@example.com".into(),
        subject: "Brooklyn's own".into(),
        body: "Not for Bristol.".into(),
        attachment: None,
        due_at: d.clock.now(),
    }])
    .await
    .unwrap();
    let theirs = st
        .patient_messages(ny_patient.id, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        desk.get(&format!("/messages/{}", theirs.id)).await.status(),
        404
    );
    let r = desk
        .post_form(&format!("/messages/{}/retry", theirs.id), &[])
        .await;
    assert_eq!(r.status(), 404);
    assert!(!page(&mut desk, "/messages?state=all")
        .await
        .contains("Brooklyn&#39;s own"));
    assert_eq!(
        desk.get(&format!("/messages?patient={}", ny_patient.id))
            .await
            .status(),
        404
    );
}

crate::both!(
    the_patient_page_is_the_hub,
    the_timeline_tells_everything_in_order,
    links_are_sent_to_the_patient_or_say_why_not,
    messages_are_listed_by_state_and_sent_again,
    the_audit_trail_reads_as_words,
    pages_show_no_internal_codes,
);

/// The audit trail reads as words: people by name, changes before →
/// after, filtered by person, action, patient and dates, and the same
/// list as CSV; only for owners.
async fn the_audit_trail_reads_as_words(b: TestBackend) {
    use needlepoint_store::AuditFilter;
    let d = spawn_demo(b).await;
    let st = d.app.store.clone();
    let mut owner = d.client("owner@demo.needlepoint.test").await;
    let clinician = st
        .staff_credentials(CLINICIAN)
        .await
        .unwrap()
        .unwrap()
        .staff;
    let entries = |html: &str| html.matches("<li><span class=\"row-main\">").count();

    let html = page(&mut owner, "/audit").await;
    assert!(html.contains("Signed a session") && html.contains("Dr Samira Haddad"));
    assert!(!html.contains("patient 1<"), "patients by name");

    // By person: every entry is hers, as many as the record holds.
    let hers = st
        .find_audit(
            &AuditFilter {
                actor_id: Some(clinician.id),
                ..Default::default()
            },
            500,
        )
        .await
        .unwrap()
        .len();
    let html = page(&mut owner, &format!("/audit?who={}", clinician.id)).await;
    assert_eq!(entries(&html), hers);
    assert_eq!(html.matches(" · Dr Samira Haddad (").count(), hers);

    // By action and patient, and the changes in words.
    let html = page(&mut owner, "/audit?action=status").await;
    assert!(
        html.contains("accepted → in progress") || html.contains("proposed → accepted"),
        "{html}"
    );
    let p = bristol_patients(&d).await.remove(0);
    let html = page(&mut owner, &format!("/audit?patient={}", p.id)).await;
    assert!(html.contains("id=\"audit-patient\""));
    assert_eq!(
        entries(&html),
        st.patient_audit(p.id, 500).await.unwrap().len()
    );

    // By dates, in the viewer's clinic's zone; a date that is not one is
    // said so.
    let html = page(&mut owner, "/audit?from=2027-03-10&to=2027-03-10").await;
    let zone = between(&html, "Times are in ", ".");
    let tz = jiff::tz::TimeZone::get(zone).unwrap();
    let day = |d: jiff::civil::Date| d.to_zoned(tz.clone()).unwrap().timestamp();
    let today = st
        .find_audit(
            &AuditFilter {
                from: Some(day(jiff::civil::date(2027, 3, 10))),
                to: Some(day(jiff::civil::date(2027, 3, 11))),
                ..Default::default()
            },
            500,
        )
        .await
        .unwrap()
        .len();
    assert!(today > 0, "the demo's day is in the trail");
    assert_eq!(entries(&html), today);
    assert!(page(&mut owner, "/audit?from=31/02/2027")
        .await
        .contains("id=\"audit-problem\""));

    // The same list as CSV.
    let r = owner.get(&format!("/audit.csv?who={}", clinician.id)).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with(&format!(
        "When ({zone}),Who,E-mail,From,What,Patient,Details\r\n"
    )));
    assert_eq!(csv.lines().count(), hers + 1);
    assert!(csv
        .lines()
        .skip(1)
        .all(|l| l.contains(",Dr Samira Haddad,")));

    let mut desk = d.client(DESK).await;
    assert_ne!(desk.get("/audit.csv").await.status(), 200);
}

/// The words a page shows (tags, scripts and styles taken out).
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let tag = &rest[open..];
        let skip_to = if tag.starts_with("<script") {
            tag.find("</script>").map(|i| i + 9)
        } else if tag.starts_with("<style") {
            tag.find("</style>").map(|i| i + 8)
        } else {
            tag.find('>').map(|i| i + 1)
        };
        rest = &tag[skip_to.unwrap_or(tag.len())..];
    }
    out.push_str(rest);
    out
}

/// Codes a person would not say: "max_age_days", "not_eligible", "course-3"
/// style keys with underscores, shown as text.
fn internal_codes(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || ",;:()[]{}\"'“”.".contains(c))
        .filter(|w| !w.contains('@') && !w.contains("://") && !w.starts_with('/'))
        .filter(|w| {
            let b = w.as_bytes();
            b.windows(3)
                .any(|x| x[0].is_ascii_lowercase() && x[1] == b'_' && x[2].is_ascii_lowercase())
        })
        .map(String::from)
        .collect()
}

/// No page of the demo clinic shows an internal code or key as text.
async fn pages_show_no_internal_codes(b: TestBackend) {
    let d = spawn_demo(b).await;
    let st = d.app.store.clone();
    let mut owner = d.client("owner@demo.needlepoint.test").await;
    let p = course_under_way(&d).await;
    let plan = st.plans(p.id).await.unwrap().remove(0);
    let screening = st.screenings(p.id).await.unwrap().remove(0);
    let chart = st.patient_charts(p.id).await.unwrap().remove(0);
    let message = st.patient_messages(p.id, 1).await.unwrap().remove(0);
    let mut paths = vec![
        "/today".to_string(),
        "/patients".into(),
        format!("/patients/{}", p.id),
        format!("/patients/{}/plans/{}", p.id, plan.id),
        format!("/patients/{}/screenings/{}", p.id, screening.id),
        format!("/patients/{}/history", p.id),
        format!("/sessions/{}", chart.id),
        format!("/messages/{}", message.id),
        format!("/settings/clinics/{}/rules", p.clinic_id),
        "/messages?state=all".into(),
        "/audit".into(),
        "/inventory".into(),
        "/calendar".into(),
        "/reports".into(),
    ];
    for section in [
        "clinic", "hours", "staff", "rooms", "prices", "messages", "policies",
    ] {
        paths.push(format!("/settings?section={section}"));
    }
    for path in paths {
        let html = page(&mut owner, &path).await;
        let codes = internal_codes(&visible_text(&html));
        assert!(codes.is_empty(), "{path} shows {codes:?}");
    }
}
