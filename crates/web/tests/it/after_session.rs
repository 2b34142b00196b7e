//! After the session, over HTTP against the demo clinic: the check-in form
//! from its link (every answer checked, kept once, nothing kept half), and
//! the patient's own sign-in (a code that works once, five wrong codes
//! lock the address whether or not anyone has it, another patient's
//! appointment or check-in not found).

use crate::common::{json_call, location, spawn_demo, Body, Client, DemoApp};
use jiff::SignedDuration;
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_practice::signin::token_hash;
use needlepoint_store::testing::TestBackend;
use needlepoint_store::{Appointment, Chart, Checkin, Patient};
use reqwest::{Method, StatusCode};

/// A day-3 check-in still to come after a signed demo session with a
/// cartridge, and its link's path (`/checkin/TOKEN`) from the message.
pub struct Day3 {
    pub chart: Chart,
    pub checkin: Checkin,
    pub path: String,
    pub cartridge_lot: i64,
    pub message_id: i64,
}

/// The token a link in a message body carries after `marker`.
fn token_after<'a>(body: &'a str, marker: &str) -> Option<&'a str> {
    let at = body.find(marker)? + marker.len();
    let rest = &body[at..];
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

async fn bristol(d: &DemoApp) -> i64 {
    let st = &d.app.store;
    let clinician = st
        .staff_credentials("clinician@demo.needlepoint.test")
        .await
        .unwrap()
        .unwrap()
        .staff;
    let clinics = st.clinics_for_staff(clinician.id).await.unwrap();
    clinics
        .iter()
        .find(|c| c.details.name.contains("Harbour"))
        .unwrap()
        .id
}

/// The latest session the demo signed with a cartridge, with its day-3
/// check-in (not yet due at the demo's afternoon).
pub async fn day3_checkin(d: &DemoApp) -> Day3 {
    let st = &d.app.store;
    let now = d.clock.now();
    let clinic = bristol(d).await;
    let past = st
        .appointments(clinic, now - SignedDuration::from_hours(24 * 30), now)
        .await
        .unwrap();
    let mut best: Option<(Chart, Checkin, i64)> = None;
    for a in past
        .iter()
        .filter(|a| a.kind.is_session() && a.status == AppointmentStatus::Completed)
    {
        let Some(chart) = st.chart_for_appointment(a.id).await.unwrap() else {
            continue;
        };
        let Some(lot) = chart
            .lots
            .iter()
            .find(|l| l.kind == needlepoint_domain::charting::SupplyKind::Cartridge)
        else {
            continue;
        };
        let lot = lot.lot_id;
        for k in st.patient_checkins(chart.patient_id).await.unwrap() {
            let open = k.chart_id == chart.id
                && k.day == 3
                && k.expires_at > now
                && k.answered_at.is_none();
            if open && best.as_ref().is_none_or(|(_, b, _)| k.due_at > b.due_at) {
                best = Some((chart.clone(), k, lot));
            }
        }
    }
    let (chart, checkin, cartridge_lot) =
        best.expect("a signed demo session with its day-3 check-in");
    let on = checkin.due_at + SignedDuration::from_hours(1);
    let messages = st.patient_messages(chart.patient_id, 100).await.unwrap();
    for m in messages.iter().filter(|m| m.kind == "checkin_link") {
        let token = token_after(&m.body, "/checkin/").unwrap();
        if let Ok(k) = st.checkin_by_token(&token_hash(token), on).await.unwrap() {
            if k.id == checkin.id {
                return Day3 {
                    chart,
                    path: format!("/checkin/{token}"),
                    checkin,
                    cartridge_lot,
                    message_id: m.id,
                };
            }
        }
    }
    panic!("no message carries the day-3 check-in's link");
}

/// A multipart body as the check-in form sends it: answers, then a photo.
pub fn checkin_body(answers: &[(&str, &str)], photo: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "----needlepoint-checkin".to_string();
    let mut body = vec![];
    for (k, v) in answers {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{}\"\r\n\
             Content-Type: image/jpeg\r\n\r\n",
            if photo.is_some() { "skin.jpg" } else { "" }
        )
        .as_bytes(),
    );
    body.extend_from_slice(photo.unwrap_or_default());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, body)
}

/// Every question answered "no" or 0, then these.
pub fn answers<'a>(these: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = needlepoint_domain::triage::QUESTIONS
        .iter()
        .map(|q| (q.code, "0"))
        .collect();
    for (k, v) in these {
        out.retain(|(q, _)| q != k);
        out.push((k, v));
    }
    out
}

async fn send(
    c: &mut Client,
    path: &str,
    answers: &[(&str, &str)],
    photo: Option<&[u8]>,
) -> (StatusCode, String) {
    let (boundary, body) = checkin_body(answers, photo);
    let path = format!("{path}?csrf_token={}", c.token());
    let r = c
        .request(Method::POST, &path, Body::Multipart(boundary, body))
        .await;
    (r.status(), r.text().await.unwrap())
}

pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 200) as u8, 90])
    });
    let mut out = std::io::Cursor::new(vec![]);
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

async fn checkin_answers_are_checked_and_kept_once(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let st = d.app.store.clone();
    let k = day3_checkin(&d).await;
    // Before its day the link is in the outbox, waiting.
    let m = st.message(k.message_id).await.unwrap();
    assert_eq!(m.status.as_str(), "pending");
    assert_eq!(m.due_at, k.checkin.due_at);
    d.clock
        .set(k.checkin.due_at + SignedDuration::from_hours(1));
    let mut c = Client::new(&d.app.base);
    let page = c.get(&k.path).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Day 3 after your session"), "{html}");
    assert!(
        !html.contains(" checked"),
        "no answer is chosen for the patient"
    );

    // Pain 11, a question left out, a photo too large: refused at their
    // place, nothing kept.
    let (s, html) = send(&mut c, &k.path, &answers(&[("pain", "11")]), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Pain is from 0 to 10."), "{html}");
    let mut missing = answers(&[]);
    missing.retain(|(q, _)| *q != "fever");
    let (s, html) = send(&mut c, &k.path, &missing, None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Please answer: A fever"), "{html}");
    let big = vec![0xFFu8; 26 * 1024 * 1024];
    let (s, html) = send(&mut c, &k.path, &answers(&[]), Some(&big)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("photos up to 25 MB"), "{html}");
    let (s, html) = send(&mut c, &k.path, &answers(&[]), Some(b"not a photo")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("not a photo"), "{html}");
    let now = st.checkin(k.checkin.id).await.unwrap();
    assert!(now.answered_at.is_none(), "nothing was kept");

    // Mild redness on day 3: as expected, with what is normal now.
    let (s, html) = send(
        &mut c,
        &k.path,
        &answers(&[("redness", "1"), ("pain", "2")]),
        Some(&jpeg(64, 48)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("What you describe is expected"), "{html}");
    let kept = st.checkin(k.checkin.id).await.unwrap();
    assert_eq!(
        kept.advice,
        Some(needlepoint_domain::triage::Advice::Reassure)
    );
    assert!(!kept.flagged());
    let photo = st.photo(kept.photo_id.unwrap()).await.unwrap();
    assert_eq!(photo.patient_id, k.chart.patient_id);
    // Once only.
    let (s, html) = send(&mut c, &k.path, &answers(&[]), None).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(html.contains("You have answered this check-in"), "{html}");
    // A guessed link says nothing of anyone.
    let r = c.get(&format!("/checkin/{}", "ab".repeat(32))).await;
    assert_eq!(r.status(), 404);
}

/// A demo patient with an e-mail, a booked session of a course and the
/// course's next session after it.
pub async fn patient_with_next_sessions(d: &DemoApp) -> (Patient, Appointment, Appointment) {
    let st = &d.app.store;
    let now = d.clock.now();
    let clinic = bristol(d).await;
    let ahead = st
        .appointments(
            clinic,
            now + SignedDuration::from_hours(2),
            now + SignedDuration::from_hours(24 * 90),
        )
        .await
        .unwrap();
    for a in ahead.iter().filter(|a| {
        a.kind.is_session() && a.status == AppointmentStatus::Booked && a.plan_id.is_some()
    }) {
        let next = ahead.iter().find(|b| {
            b.plan_id == a.plan_id
                && b.status == AppointmentStatus::Booked
                && b.session_number > a.session_number
        });
        let p = st.patient(a.patient_id).await.unwrap();
        if let (Some(next), Some(_)) = (next, &p.details.email) {
            return (p, a.clone(), next.clone());
        }
    }
    panic!("the demo has a course with two sessions booked ahead");
}

/// The latest sign-in code sent to the patient, and its link's path.
pub async fn latest_code(d: &DemoApp, patient_id: i64) -> (String, String) {
    let m = d
        .app
        .store
        .patient_messages(patient_id, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(m.kind, "portal_code");
    let at = m.body.find(" is ").unwrap() + 4;
    let code: String = m.body[at..at + 7].to_string();
    assert!(
        code.chars().filter(char::is_ascii_digit).count() == 6,
        "{code}"
    );
    let link = token_after(&m.body, "/me/link/").unwrap();
    (code, format!("/me/link/{link}"))
}

async fn post(c: &mut Client, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String, String) {
    let r = c.post_form(path, pairs).await;
    let (s, to) = (r.status(), location(&r));
    (s, to, r.text().await.unwrap())
}

async fn patients_sign_in_with_a_code_and_five_wrong_codes_lock_it(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let (p, a, _) = patient_with_next_sessions(&d).await;
    let email = p.details.email.as_ref().unwrap().to_string();
    let mut c = Client::new(&d.app.base);
    let r = c.get("/me").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/me/sign-in");

    // A known address and an unknown one get the same answer.
    let (s, _, known) = post(&mut c, "/me/sign-in", &[("address", &email.to_uppercase())]).await;
    assert_eq!(s, 200);
    let (_, _, unknown) = post(&mut c, "/me/sign-in", &[("address", "nobody@example.com")]).await;
    assert_eq!(
        known.replace(&email.to_uppercase(), "ADDRESS"),
        unknown.replace("nobody@example.com", "ADDRESS"),
        "no hint whether the patient exists"
    );
    let (code, _) = latest_code(&d, p.id).await;
    let wrong = if code == "111 111" {
        "222 222"
    } else {
        "111 111"
    };

    // Four wrong codes are refused; the fifth locks the address, and then
    // even the right code waits. An unknown address locks alike.
    for address in [email.as_str(), "nobody@example.com"] {
        let mut answers = vec![];
        for _ in 0..5 {
            let (s, _, html) =
                post(&mut c, "/me/code", &[("address", address), ("code", wrong)]).await;
            answers.push((s, html));
        }
        for (s, html) in &answers[..4] {
            assert_eq!(*s, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(html.contains("That code is not right"), "{html}");
        }
        assert_eq!(answers[4].0, StatusCode::TOO_MANY_REQUESTS, "{address}");
        assert!(
            answers[4].1.contains("paused for 15 more minutes"),
            "{}",
            answers[4].1
        );
        let (s, _, html) = post(&mut c, "/me/code", &[("address", address), ("code", &code)]).await;
        assert_eq!(
            s,
            StatusCode::TOO_MANY_REQUESTS,
            "{address}: locked, even the right code"
        );
        assert!(html.contains("paused"));
    }
    // A code that is not six digits is refused where typed.
    let (s, _, html) = post(
        &mut c,
        "/me/code",
        &[("address", "x@example.com"), ("code", "12ab")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("six digits"), "{html}");
    assert!(c.get("/me").await.status() == 303, "still not signed in");

    // Fifteen minutes on, a new code signs her in, once.
    d.clock.set(d.clock.now() + SignedDuration::from_mins(16));
    post(&mut c, "/me/sign-in", &[("address", &email)]).await;
    let (code, link) = latest_code(&d, p.id).await;
    let (s, to, _) = post(
        &mut c,
        "/me/code",
        &[("address", &email), ("code", &code.replace(' ', ""))],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/me"));
    let home = c.get("/me").await;
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(
        html.contains(&format!("Hello {}", p.details.given_name)),
        "{html}"
    );
    assert!(
        html.contains(&format!("/me/appointments/{}/move", a.id)),
        "her appointment"
    );
    // The link sent with that code was used with it.
    let mut other = Client::new(&d.app.base);
    assert_eq!(other.get(&link).await.status(), 410);

    // Another patient's appointment, or check-in, is not found.
    let someone = d
        .app
        .store
        .appointments(
            a.clinic_id,
            d.clock.now(),
            d.clock.now() + SignedDuration::from_hours(24 * 60),
        )
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.patient_id != p.id)
        .unwrap();
    for path in [
        format!("/me/appointments/{}/move", someone.id),
        format!("/me/appointments/{}/cancel", someone.id),
    ] {
        assert_eq!(c.get(&path).await.status(), 404, "{path}");
    }
    let r = c
        .post_form(
            &format!("/me/appointments/{}/cancel", someone.id),
            &[("fee", "0")],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        d.app.store.appointment(someone.id).await.unwrap().status,
        AppointmentStatus::Booked
    );
    let k = day3_checkin(&d).await;
    assert_ne!(k.chart.patient_id, p.id);
    assert_eq!(
        c.get(&format!("/me/checkins/{}", k.checkin.id))
            .await
            .status(),
        404
    );

    // A link works once, and signs in on its own.
    d.clock.set(d.clock.now() + SignedDuration::from_mins(1));
    post(&mut other, "/me/sign-in", &[("address", &email)]).await;
    let (_, link) = latest_code(&d, p.id).await;
    let r = other.get(&link).await;
    assert_eq!(
        (r.status(), location(&r).as_str()),
        (StatusCode::SEE_OTHER, "/me")
    );
    assert_eq!(other.get("/me").await.status(), 200);
    assert_eq!(Client::new(&d.app.base).get(&link).await.status(), 410);

    // Asking again and again does not flood her inbox: five codes an hour.
    for _ in 0..4 {
        let (s, _, html) = post(&mut other, "/me/sign-in", &[("address", &email)]).await;
        assert_eq!(s, 200);
        assert!(html.contains("a code is on its way"), "the same answer");
    }
    let codes = d
        .app
        .store
        .patient_messages(p.id, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "portal_code")
        .count();
    assert_eq!(codes as i64, needlepoint_practice::portal::CODES_PER_HOUR);

    // Signing out ends the session.
    let r = c.post_form("/me/sign-out", &[]).await;
    assert_eq!(location(&r), "/me/sign-in");
    assert_eq!(c.get("/me").await.status(), 303);
}

/// A client signed in as the patient, by a code sent to her e-mail.
pub async fn patient_client(d: &DemoApp, p: &Patient) -> Client {
    let mut c = Client::new(&d.app.base);
    let email = p.details.email.as_ref().unwrap().to_string();
    post(&mut c, "/me/sign-in", &[("address", &email)]).await;
    let (code, _) = latest_code(d, p.id).await;
    let (s, to, _) = post(&mut c, "/me/code", &[("address", &email), ("code", &code)]).await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/me"));
    c
}

async fn home_rolling_is_logged_with_the_clinics_warnings(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let (p, a, _) = patient_with_next_sessions(&d).await;
    let mut c = patient_client(&d, &p).await;
    let tz = jiff::tz::TimeZone::get(&a.time_zone).unwrap();
    let today = d.clock.now().to_zoned(tz.clone()).date();
    let session_day = a.starts_at.to_zoned(tz).date();
    // Refused where typed: the skin question unanswered, a day to come, a
    // needle of no length.
    let tomorrow = (today + jiff::Span::new().days(1)).to_string();
    let (s, _, html) = post(
        &mut c,
        "/me/home-care",
        &[("on", &tomorrow), ("area", "cheeks"), ("needle_mm", "0")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for m in [
        "Please answer: was the skin red",
        "That day has not come yet.",
        "Write the needle length",
    ] {
        assert!(html.contains(m), "{m}: {html}");
    }
    assert!(d.app.store.home_care(p.id).await.unwrap().is_empty());

    // A 1 mm roller today, days before her session: logged, with the
    // clinic's advice.
    let (s, to, _) = post(
        &mut c,
        "/me/home-care",
        &[
            ("on", &today.to_string()),
            ("area", "cheeks"),
            ("needle_mm", "1.0"),
            ("inflamed", "no"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let html = c.get(&to).await.text().await.unwrap();
    assert!(html.contains("Logged. Please note"), "{html}");
    assert!(html.contains("for the clinic only"), "the needle: {html}");
    assert!(html.contains("Too close to your clinic session"), "{html}");
    let log = d.app.store.home_care(p.id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].needle_um, 1000);
    assert_eq!(log[0].logged_by, None, "she logged it herself");
    assert_eq!(log[0].warnings.len(), 2, "{:?}", log[0].warnings);

    // Staff see it on her pages, and the session's page warns.
    let mut staff = d.client("clinician@demo.needlepoint.test").await;
    let html = staff
        .get(&format!("/patients/{}/home-care", p.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("by the patient") && html.contains("1.00 mm"),
        "{html}"
    );
    let html = staff
        .get(&format!("/patients/{}", p.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Home rolling on"), "an alert: {html}");
    assert!(session_day > today);
    let html = staff
        .get(&format!("/appointments/{}", a.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"home-care-warning\"") && html.contains("logged home rolling"),
        "{html}"
    );
    // Staff log one for her; the front desk may not.
    let r = staff
        .post_form(
            &format!("/patients/{}/home-care", p.id),
            &[
                ("on", &today.to_string()),
                ("area", "forehead"),
                ("needle_mm", "0.25"),
                ("inflamed", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let log = d.app.store.home_care(p.id).await.unwrap();
    assert!(log[1].logged_by.is_some());
    assert!(log[1]
        .warnings
        .iter()
        .any(|w| w.contains("Never roll on red")));
    let mut desk = d.client("frontdesk@demo.needlepoint.test").await;
    assert_eq!(
        desk.get(&format!("/patients/{}/home-care", p.id))
            .await
            .status(),
        403
    );
}

async fn the_api_records_adverse_events_and_reads_checkins_and_home_care(backend: TestBackend) {
    use serde_json::json;
    let d = spawn_demo(backend).await;
    let k = day3_checkin(&d).await;
    let mut c = d.client("clinician@demo.needlepoint.test").await;
    let session = k.chart.id;
    let tz = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let today = d.clock.now().to_zoned(tz.clone()).date();
    let (s, list) = json_call(
        &mut c,
        Method::GET,
        &format!("/api/v1/patients/{}/checkins", k.chart.patient_id),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == k.checkin.id && x["day"] == 3 && x["answered_at"].is_null()));

    // Bad input: refused by field, nothing recorded.
    let event = |grade: i64, onset: &str| {
        json!({
            "term": "skin_infection",
            "onset": onset,
            "grade": grade,
            "outcome": "ongoing",
            "lot_ids": [k.cartridge_lot],
            "checkin_id": k.checkin.id,
        })
    };
    let path = format!("/api/v1/sessions/{session}/adverse-events");
    let session_day = d
        .app
        .store
        .appointment(k.chart.appointment_id)
        .await
        .unwrap()
        .starts_at
        .to_zoned(tz)
        .date();
    let before = (session_day - jiff::Span::new().days(1)).to_string();
    let future = (today + jiff::Span::new().days(1)).to_string();
    for (body, field) in [
        (event(6, &today.to_string()), "grade"),
        (event(2, &before), "onset"),
        (event(2, &future), "onset"),
        (
            json!({ "term": "skin_hyperpigmentation", "onset": today.to_string(), "grade": 3, "outcome": "ongoing" }),
            "grade",
        ),
    ] {
        let (s, v) = json_call(&mut c, Method::POST, &path, body).await;
        assert_eq!(s, 422, "{v}");
        assert!(
            v["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["field"] == field),
            "{field}: {v}"
        );
    }
    assert!(d
        .app
        .store
        .patient_adverse_events(k.chart.patient_id)
        .await
        .unwrap()
        .is_empty());

    // The page's form refuses the same, each beside its field.
    let r = c
        .post_form(
            &format!("/sessions/{session}/adverse-events"),
            &[
                ("term", "skin_infection"),
                ("onset", &before),
                ("grade", "6"),
                ("outcome", "ongoing"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for m in [
        "Choose a grade from 1 to 5.",
        "The onset is before the session",
    ] {
        assert!(html.contains(m), "{m}: {html}");
    }
    assert!(html.contains("Nothing has been saved yet."));
    let (s, e) = json_call(&mut c, Method::POST, &path, event(2, &today.to_string())).await;
    assert_eq!(s, 201, "{e}");
    assert_eq!(e["versions"][0]["grade"], 2);
    assert_eq!(e["versions"][0]["wording_verified"], false);
    assert!(!e["versions"][0]["grade_words"].as_str().unwrap().is_empty());
    let id = e["id"].as_i64().unwrap();
    let (_, by_lot) = json_call(
        &mut c,
        Method::GET,
        &format!("/api/v1/lots/{}/adverse-events", k.cartridge_lot),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(by_lot[0]["id"], id);
    // An amendment needs its reason and the version it amends.
    let mut amend = event(3, &today.to_string());
    amend["version"] = json!(1);
    let (s, v) = json_call(
        &mut c,
        Method::POST,
        &format!("/api/v1/adverse-events/{id}/amendments"),
        amend.clone(),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    amend["reason"] = json!("Spreading despite antibiotics");
    let (s, v) = json_call(
        &mut c,
        Method::POST,
        &format!("/api/v1/adverse-events/{id}/amendments"),
        amend.clone(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["versions"].as_array().unwrap().len(), 2);
    let (s, _) = json_call(
        &mut c,
        Method::POST,
        &format!("/api/v1/adverse-events/{id}/amendments"),
        amend,
    )
    .await;
    assert_eq!(s, 409, "the version was amended already");

    // The patient's timeline tells of it.
    let page = c
        .get(&format!("/patients/{}?timeline=all", k.chart.patient_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Adverse event recorded: Skin infection, grade 2"),
        "{page}"
    );

    // The home-care log.
    let (s, v) = json_call(
        &mut c,
        Method::POST,
        &format!("/api/v1/patients/{}/home-care", k.chart.patient_id),
        json!({ "used_on": today.to_string(), "area": "cheeks", "needle_mm": "0.2", "inflamed": false }),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["needle_um"], 200);
    let (s, v) = json_call(
        &mut c,
        Method::POST,
        &format!("/api/v1/patients/{}/home-care", k.chart.patient_id),
        json!({ "used_on": "soon", "area": "knees", "needle_mm": "0.2", "inflamed": false }),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (_, log) = json_call(
        &mut c,
        Method::GET,
        &format!("/api/v1/patients/{}/home-care", k.chart.patient_id),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(log.as_array().unwrap().len(), 1);

    // The front desk reads none of it.
    let mut desk = d.client("frontdesk@demo.needlepoint.test").await;
    let (s, _) = json_call(
        &mut desk,
        Method::GET,
        &format!("/api/v1/adverse-events/{id}"),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(s, 403);
}

async fn a_patient_cancels_with_the_fee_shown_and_reads_her_plan(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let st = d.app.store.clone();
    let (p, a, _) = patient_with_next_sessions(&d).await;
    d.clock.set(a.starts_at - SignedDuration::from_hours(24));
    let mut c = patient_client(&d, &p).await;
    let home = c.get("/me").await.text().await.unwrap();
    let plan = a.plan_id.unwrap();
    assert!(home.contains(&format!("/me/plans/{plan}")), "{home}");
    let print = c.get(&format!("/me/plans/{plan}")).await;
    assert_eq!(print.status(), 200);
    let html = print.text().await.unwrap();
    assert!(html.contains(&p.details.full_name()), "{html}");
    // Another patient's plan is not found.
    let theirs = st
        .appointments(
            a.clinic_id,
            d.clock.now(),
            d.clock.now() + SignedDuration::from_hours(24 * 60),
        )
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.patient_id != p.id && x.plan_id.is_some())
        .unwrap();
    assert_eq!(
        c.get(&format!("/me/plans/{}", theirs.plan_id.unwrap()))
            .await
            .status(),
        404
    );

    // A day before: the fee first; a fee not the one shown is refused.
    let form = c
        .get(&format!("/me/appointments/{}/cancel", a.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("cancelling it now costs <strong>£40.00</strong>"),
        "{form}"
    );
    let (s, _, html) = post(
        &mut c,
        &format!("/me/appointments/{}/cancel", a.id),
        &[("fee", "0")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("has changed since you saw it"), "{html}");
    assert_eq!(
        st.appointment(a.id).await.unwrap().status,
        AppointmentStatus::Booked
    );
    let (s, to, _) = post(
        &mut c,
        &format!("/me/appointments/{}/cancel", a.id),
        &[("fee", "4000")],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/me?done=cancelled")
    );
    let done = st.appointment(a.id).await.unwrap();
    assert_eq!(done.status, AppointmentStatus::Cancelled);
    assert_eq!(done.fee_minor, Some(4000));
    assert_eq!(done.cancelled_by.as_deref(), Some("patient"));
    let told = st.patient_messages(p.id, 5).await.unwrap();
    assert!(
        told.iter()
            .any(|m| m.kind == "cancellation" && m.body.contains("£40.00")),
        "{told:?}"
    );
    // Once cancelled, nothing more to change.
    assert_eq!(
        c.post_form(
            &format!("/me/appointments/{}/cancel", a.id),
            &[("fee", "0")]
        )
        .await
        .status(),
        422
    );
}

async fn a_patient_moves_a_session_with_the_rest_of_her_course(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let st = d.app.store.clone();
    let now = d.clock.now();
    let cx = needlepoint_practice::Context::new(
        st.clone(),
        needlepoint_knowledge::shipped().unwrap(),
        needlepoint_practice::Clock::fixed(now),
    );
    // A booked session of a course with sessions after it that can move a
    // few days later, the rest following (found by the same rules).
    let ahead = st
        .appointments(
            bristol(&d).await,
            now + SignedDuration::from_hours(24 * 3),
            now + SignedDuration::from_hours(24 * 120),
        )
        .await
        .unwrap();
    let mut found = None;
    'search: for a in ahead.iter().filter(|a| {
        a.kind.is_session() && a.status == AppointmentStatus::Booked && a.plan_id.is_some()
    }) {
        let later: Vec<_> = ahead
            .iter()
            .filter(|b| b.plan_id == a.plan_id && b.session_number > a.session_number)
            .collect();
        let with_email = st
            .patient(a.patient_id)
            .await
            .unwrap()
            .details
            .email
            .is_some();
        if later.is_empty() || !with_email {
            continue;
        }
        let tz = jiff::tz::TimeZone::get(&a.time_zone).unwrap();
        let at = a.starts_at.to_zoned(tz).datetime();
        for days in 1..4 {
            let to = (at + jiff::Span::new().days(days)).to_string();
            if needlepoint_practice::portal::plan_move(&cx, a, &to, true)
                .await
                .is_ok()
            {
                found = Some((a.clone(), later[0].clone(), to));
                break 'search;
            }
        }
    }
    let (a, next, to) = found.expect("a course whose session can move with the rest");
    let p = st.patient(a.patient_id).await.unwrap();
    let mut c = patient_client(&d, &p).await;
    let path = format!("/me/appointments/{}/move", a.id);
    let form = c.get(&path).await.text().await.unwrap();
    assert!(form.contains("id=\"move-later\""), "{form}");
    assert!(!form.contains("id=\"change-fee\""), "days ahead: no fee");
    let to = &to[..16];
    let (s, _, html) = post(&mut c, &path, &[("to", to), ("later", "yes"), ("fee", "0")]).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Your later sessions move to"), "{html}");
    let (s, where_to, _) = post(
        &mut c,
        &path,
        &[
            ("to", to),
            ("later", "yes"),
            ("confirm", "yes"),
            ("fee", "0"),
        ],
    )
    .await;
    assert_eq!(
        (s, where_to.as_str()),
        (StatusCode::SEE_OTHER, "/me?done=moved")
    );
    let moved = st.appointment(a.id).await.unwrap();
    assert!(moved.starts_at > a.starts_at);
    assert_eq!(moved.fee_minor, None);
    assert_ne!(
        st.appointment(next.id).await.unwrap().starts_at,
        next.starts_at,
        "the next moved along"
    );
}

async fn a_patient_updates_her_history_for_a_clinician_to_confirm(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let st = d.app.store.clone();
    let (p, _, _) = patient_with_next_sessions(&d).await;
    let before = st.pending_intakes(p.id).await.unwrap().len();
    let mut c = patient_client(&d, &p).await;
    let r = c.post_form("/me/history", &[]).await;
    assert_eq!(r.status(), 303);
    let path = location(&r);
    assert!(path.starts_with("/intake/"), "{path}");
    let form = c.get(&path).await.text().await.unwrap();
    assert!(!form.contains(" checked>"), "nothing answered for her");
    let kb = needlepoint_knowledge::shipped().unwrap();
    let mut answers = crate::screening::every_answer_no(&kb);
    answers.retain(|(k, _)| k != "med.isotretinoin");
    answers.extend([
        ("med.isotretinoin".into(), "now".into()),
        ("declaration".into(), "yes".into()),
    ]);
    let pairs: Vec<(&str, &str)> = answers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = c.post_form(&path, &pairs).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // It waits for a clinician, as an intake from the clinic's link does;
    // the trail names the patient, not a staff member.
    let pending = st.pending_intakes(p.id).await.unwrap();
    assert_eq!(pending.len(), before + 1);
    assert_eq!(
        pending.last().unwrap().history.medications[0].code,
        "isotretinoin"
    );
    let home = c.get("/me").await.text().await.unwrap();
    assert!(home.contains("waiting for a clinician"), "{home}");
    let mut clinician = d.client("clinician@demo.needlepoint.test").await;
    let review = clinician
        .get(&format!("/patients/{}/history", p.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        review.contains("/intake/"),
        "a confirm form for it: {review}"
    );
}

async fn patients_see_their_photos_only_when_the_clinic_shares_them(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let st = d.app.store.clone();
    let k = day3_checkin(&d).await;
    let p = st.patient(k.chart.patient_id).await.unwrap();
    let photos = st.patient_photos(p.id).await.unwrap();
    assert!(!photos.is_empty(), "the demo photographed her sessions");
    let mine = format!("/me/photos/{}", photos[0].id);
    let mut c = patient_client(&d, &p).await;
    let home = c.get("/me").await.text().await.unwrap();
    assert!(!home.contains("Your photos"), "not shared yet");
    assert_eq!(c.get(&mine).await.status(), 404);
    // The owner turns sharing on for the clinic.
    let owner = st
        .staff_credentials("owner@demo.needlepoint.test")
        .await
        .unwrap()
        .unwrap()
        .staff;
    let mut o = d.app.client_for(owner.id, d.clock.now()).await;
    let r = o
        .post_form(
            &format!("/settings/clinics/{}/photo-sharing", p.clinic_id),
            &[("share_photos", "yes")],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let home = c.get("/me").await.text().await.unwrap();
    assert!(
        home.contains("Your photos") && home.contains(&mine),
        "{home}"
    );
    let r = c.get(&format!("{mine}?thumb=true")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    // Another patient's photo is not found.
    let clinic = bristol(&d).await;
    let mut other = None;
    for a in st
        .appointments(
            clinic,
            d.clock.now() - SignedDuration::from_hours(24 * 60),
            d.clock.now(),
        )
        .await
        .unwrap()
        .iter()
        .filter(|a| a.patient_id != p.id)
    {
        if let Some(ph) = st.patient_photos(a.patient_id).await.unwrap().first() {
            other = Some(ph.id);
            break;
        }
    }
    let other = other.expect("another patient with a photo");
    assert_eq!(c.get(&format!("/me/photos/{other}")).await.status(), 404);
}

crate::both!(
    patients_see_their_photos_only_when_the_clinic_shares_them,
    a_patient_updates_her_history_for_a_clinician_to_confirm,
    a_patient_moves_a_session_with_the_rest_of_her_course,
    a_patient_cancels_with_the_fee_shown_and_reads_her_plan,
    the_api_records_adverse_events_and_reads_checkins_and_home_care,
    checkin_answers_are_checked_and_kept_once,
    patients_sign_in_with_a_code_and_five_wrong_codes_lock_it,
    home_rolling_is_logged_with_the_clinics_warnings,
);
