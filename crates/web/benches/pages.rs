//! Every GET page and API route of the route table, timed on the generated
//! chain (50 clinics, 1,000,000 patients, 5,000,000 sessions), signed in
//! through the sign-in form as an owner of every clinic and as one clinic's
//! front desk (issue #14: p95 under 100 ms per route).
//!
//! The routes come from `routes::all()`, so a page added later is measured
//! without changing this file; its path's ids are filled in by the resource
//! they follow (`/patients/{id}` takes a patient's id, `/plans/{pid}` a
//! plan's). The ids are real: a patient of the first clinic, given once a
//! screening, an accepted plan, a booked session today with a photo, and
//! fresh intake and consent links, all made through the store and the API
//! as a clinic would make them.
//!
//! The server runs in a child process (this benchmark started again), so its
//! memory is its own: resident set at rest, and its high-water mark after
//! the run (issue #14: under 100 MB at rest, under 300 MB while measured).
//!
//! Run: cargo bench -p needlepoint-web --bench pages
//! (NEEDLEPOINT_BENCH_BACKENDS=sqlite for one database only; where the chain
//! is kept: see `crates/store/benches/chain/mod.rs`). Exits 1 when a route
//! misses its goal or answers with an error.

#![allow(dead_code, unused_imports)]
#[path = "../../store/benches/chain/mod.rs"]
mod chain;
#[path = "../tests/it"]
mod it {
    pub mod common;
}

use chain::Figures;
use it::common::{json_call, Client};
use needlepoint_domain::appointment::AppointmentKind;
use needlepoint_domain::history::{Concern, PatientHistory, Severity};
use needlepoint_domain::{PractitionerDetails, Role};
use needlepoint_practice::{signin, two_factor};
use needlepoint_store::{Actor, NewAppointment, NewConsent, NewStaff, Store};
use needlepoint_web::access::Access;
use reqwest::Method;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Timed requests per route, after one to warm up.
const RUNS: usize = 20;
const GOAL: Duration = Duration::from_millis(100);
const REST_MB: f64 = 100.0;
const PEAK_MB: f64 = 300.0;
const PASSWORD: &str = "a long benchmark password";
const CHILD: &str = "NEEDLEPOINT_PAGES_BENCH_SERVER";

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(backend) = std::env::var(CHILD) {
        return rt.block_on(serve_child(&backend));
    }
    let backends =
        std::env::var("NEEDLEPOINT_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite postgres".into());
    let mut ok = true;
    for backend in backends.split_whitespace() {
        ok &= rt.block_on(measure(backend));
    }
    if !ok {
        std::process::exit(1);
    }
}

/// The server under measurement: the chain's database, served as
/// `needlepoint serve` serves it; its address on one line for the parent.
async fn serve_child(backend: &str) {
    let store = chain::open(&chain::place(backend).await).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = needlepoint_web::WebConfig {
        data_dir: chain::dir().join(format!("web-{backend}")),
        secure_cookies: false,
        payments: None,
    };
    let state =
        needlepoint_web::AppState::new(store, needlepoint_knowledge::shipped().unwrap(), config);
    println!("http://{}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    needlepoint_web::serve(listener, state).await.unwrap();
}

/// Real ids to put in the routes' paths.
struct Sample {
    clinic: i64,
    patient: i64,
    practitioner: i64,
    screening: i64,
    plan: i64,
    appointment: i64,
    chart: i64,
    photo: i64,
    lot: i64,
    message: i64,
    intake_token: String,
    consent_token: String,
    feed_token: String,
    /// After a signed session: a check-in (with its link), an adverse
    /// event, and the patient's session on her own page.
    checkin: i64,
    checkin_token: String,
    adverse: i64,
    /// An invoice of the patient's, half paid in cash, and its payment.
    invoice: i64,
    payment: i64,
    /// The clinic's today, for routes that take dates.
    today: jiff::civil::Date,
}

impl Sample {
    /// `path` with each `{param}` replaced by the id of the resource it
    /// follows; `None` for a parameter no GET route has had yet.
    fn fill(&self, path: &str) -> Result<String, String> {
        let mut out = vec![];
        let segments: Vec<&str> = path.split('/').collect();
        for (i, seg) in segments.iter().enumerate() {
            if !seg.starts_with('{') {
                out.push(seg.to_string());
                continue;
            }
            let after = if i > 0 { segments[i - 1] } else { "" };
            out.push(match after {
                "patients" => self.patient.to_string(),
                "plans" => self.plan.to_string(),
                "screenings" => self.screening.to_string(),
                "appointments" => self.appointment.to_string(),
                "sessions" => self.chart.to_string(),
                "lots" => self.lot.to_string(),
                "messages" => self.message.to_string(),
                "photos" => self.photo.to_string(),
                "staff" => self.practitioner.to_string(),
                "clinics" | "hours" => self.clinic.to_string(),
                "assets" => "app.css".into(),
                "feed" => self.feed_token.clone(),
                "intake" => self.intake_token.clone(),
                "checkin" => self.checkin_token.clone(),
                "checkins" => self.checkin.to_string(),
                "adverse-events" => self.adverse.to_string(),
                "invoices" => self.invoice.to_string(),
                "payments" => self.payment.to_string(),
                "consent" => self.consent_token.clone(),
                _ => {
                    return Err(format!(
                        "{path}: which id goes in {seg} after /{after}/? Add it to Sample::fill."
                    ))
                }
            });
        }
        Ok(out.join("/"))
    }

    /// The query string a route must have: each parameter the OpenAPI
    /// document marks required, filled in by its name.
    fn query(&self, doc: &serde_json::Value, path: &str) -> Result<String, String> {
        let params = doc["paths"][path]["get"]["parameters"].as_array();
        let mut pairs = vec![];
        for p in params.into_iter().flatten() {
            if p["in"] != "query" || p["required"] != true {
                continue;
            }
            let name = p["name"].as_str().unwrap_or_default();
            pairs.push(format!(
                "{name}={}",
                match name {
                    "clinic_id" => self.clinic.to_string(),
                    "patient_id" => self.patient.to_string(),
                    "from" => self.today.to_string(),
                    "to" => (self.today + jiff::Span::new().days(6)).to_string(),
                    // The next session of the patient's accepted plan.
                    "kind" => "session".into(),
                    _ => {
                        return Err(format!(
                            "{path}: what goes in its required ?{name}=? Add it to Sample::query."
                        ));
                    }
                }
            ));
        }
        Ok(if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        })
    }
}

fn actor(staff_id: i64) -> Actor {
    Actor {
        staff_id: Some(staff_id),
        label: "page benchmark".into(),
        channel: needlepoint_store::Channel::Web,
        ip: None,
    }
}

/// A staff member with the benchmark's password, made once.
async fn staff_member(
    store: &Arc<dyn Store>,
    email: &str,
    role: Role,
    clinic_ids: Vec<i64>,
) -> i64 {
    if let Some(c) = store.staff_credentials(email).await.unwrap() {
        return c.staff.id;
    }
    let org = store.organisation().await.unwrap().unwrap();
    store
        .create_staff(
            &NewStaff {
                organisation_id: org.id,
                email: email.into(),
                name: format!("Bench {}", role.label()),
                role,
                password_hash: signin::hash_password(PASSWORD.into()).await.unwrap(),
                practitioner: (role == Role::Owner)
                    .then(|| PractitionerDetails::parse("Bench Owner", "Nurse", "").unwrap()),
                clinic_ids,
            },
            &Actor::system("page benchmark"),
            needlepoint_store::now(),
        )
        .await
        .unwrap()
        .id
}

/// Signs in through the form; an owner sets up an authenticator on the way
/// (turned off first, so every run goes the same way).
async fn sign_in(store: &Arc<dyn Store>, base: &str, staff_id: i64, email: &str) -> Client {
    let now = needlepoint_store::now();
    store
        .disable_two_factor(staff_id, &Actor::system("page benchmark"), now)
        .await
        .unwrap();
    let mut web = Client::new(base);
    let r = web
        .post_form(
            "/login",
            &[("email", email), ("password", PASSWORD), ("next", "/today")],
        )
        .await;
    assert_eq!(r.status(), 303, "{email} signs in");
    if it::common::location(&r).starts_with("/login/two-factor") {
        let html = web
            .get("/login/two-factor?next=/today")
            .await
            .text()
            .await
            .unwrap();
        let secret = html
            .split("name=\"secret\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("the set-up page holds the key")
            .to_string();
        let code = two_factor::code_at(&secret, needlepoint_store::now()).unwrap();
        let r = web
            .post_form(
                "/login/two-factor",
                &[("code", &code), ("secret", &secret), ("next", "/today")],
            )
            .await;
        assert_eq!(r.status(), 200, "{email} sets up two-factor sign-in");
    }
    assert!(
        web.cookies.iter().any(|(k, _)| k == "np_session"),
        "{email} is signed in"
    );
    web
}

/// The sample patient's record, made where missing.
async fn sample(store: &Arc<dyn Store>, owner_id: i64, owner: &mut Client) -> Sample {
    let now = needlepoint_store::now();
    let by = actor(owner_id);
    let clinic = store.clinics_for_staff(owner_id).await.unwrap()[0].clone();
    let patient = store
        .search_patients(owner_id, Some(clinic.id), "", 1, None)
        .await
        .unwrap()
        .patients
        .remove(0);
    let practitioner = store
        .list_staff(clinic.organisation_id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.practitioner.is_some() && s.role == Role::Clinician)
        .expect("a practitioner")
        .id;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get(&clinic.details.time_zone).unwrap())
        .date();

    // Open on weekdays, with a room and a pen that reaches the plan's
    // depth, as a clinic set up for
    // booking is (the generated chain has its history, not its hours).
    if store.clinic_hours(clinic.id).await.unwrap().is_none() {
        use jiff::civil::{time, Weekday};
        let hours = needlepoint_domain::scheduling::WeeklyHours::weekdays(
            time(9, 0, 0, 0),
            time(18, 0, 0, 0),
            Weekday::Saturday,
        );
        store
            .set_clinic_hours(clinic.id, &hours, &by, now)
            .await
            .unwrap();
        store
            .create_room(
                clinic.id,
                &needlepoint_domain::RoomDetails::parse("Room 1").unwrap(),
                &by,
                now,
            )
            .await
            .unwrap();
    }

    let devices = store.devices(clinic.id).await.unwrap();
    if !devices.iter().any(|d| d.details.name == "Bench pen") {
        let pen =
            needlepoint_domain::DeviceDetails::parse("Bench pen", "SkinPen Precision", "", "2.5")
                .unwrap();
        store
            .create_device(clinic.id, &pen, &by, now)
            .await
            .unwrap();
    }

    // Screened for acne scars on the cheeks.
    let screenings = store.screenings(patient.id).await.unwrap();
    let screening = match screenings.last() {
        Some(s) => s.id,
        None => {
            let kb = needlepoint_knowledge::shipped().unwrap();
            let h = PatientHistory {
                date_of_birth: Some(patient.details.date_of_birth),
                fitzpatrick: Some(2),
                concerns: vec![Concern {
                    indication: "acne_scars".into(),
                    area: "cheeks".into(),
                    severity: Severity::Moderate,
                }],
                ..Default::default()
            };
            let v = store
                .add_history_version(patient.id, &h, "clinician", None, &by, now)
                .await
                .unwrap();
            let s =
                needlepoint_domain::screening::screen(&kb, &h, &["cheeks".into()], today).unwrap();
            store
                .record_screening(patient.id, v.id, &s, &by, now)
                .await
                .unwrap()
                .id
        }
    };

    // An accepted plan with its signed consent.
    let plans = store.plans(patient.id).await.unwrap();
    let plan = match plans.last() {
        Some(p) => p.id,
        None => {
            let (s, plan) = json_call(
                owner,
                Method::POST,
                &format!("/api/v1/patients/{}/plans", patient.id),
                serde_json::json!({"device": "skinpen"}),
            )
            .await;
            assert_eq!(s, 201, "{plan}");
            let id = plan["id"].as_i64().unwrap();
            let name = patient.details.full_name();
            let photo_use = needlepoint_domain::plan::PhotoUse::ClinicalRecordOnly;
            let (text, sha256) = needlepoint_practice::planning::frozen_consent(
                "The plan as explained.",
                photo_use,
                &name,
                None,
                today,
            );
            store
                .sign_consent(
                    &NewConsent {
                        plan_id: id,
                        plan_version: 1,
                        text,
                        sha256,
                        photo_use: photo_use.as_str().into(),
                        typed_name: name,
                        signature: "data:image/png;base64,AA==".into(),
                        guardian: None,
                        ip: None,
                    },
                    &by,
                    now,
                )
                .await
                .unwrap();
            let (s, v) = json_call(
                owner,
                Method::POST,
                &format!("/api/v1/plans/{id}/status"),
                serde_json::json!({"status": "accepted"}),
            )
            .await;
            assert_eq!(s, 200, "{v}");
            id
        }
    };

    // Its first session booked today, charted, with a photo.
    let photos = store.patient_photos(patient.id).await.unwrap();
    let (chart, photo) = match photos.first() {
        Some(p) => (p.chart_id.unwrap(), p.id),
        None => {
            let start = jiff::Timestamp::from_second(now.as_second() / 300 * 300).unwrap();
            let a = store
                .book(
                    &[NewAppointment {
                        clinic_id: clinic.id,
                        patient_id: patient.id,
                        plan_id: Some(plan),
                        session_number: Some(1),
                        kind: AppointmentKind::Session,
                        practitioner_id: Some(owner_id),
                        room_id: None,
                        device_id: None,
                        starts_at: start,
                        ends_at: start + jiff::SignedDuration::from_mins(90),
                        local_start: "today".into(),
                        time_zone: clinic.details.time_zone.clone(),
                        window_override: None,
                        areas: None,
                    }],
                    &by,
                    now,
                )
                .await
                .unwrap()
                .remove(0);
            let r = owner.get(&format!("/appointments/{}/chart", a.id)).await;
            let at = it::common::location(&r);
            let chart: i64 = at
                .strip_prefix("/sessions/")
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("a chart opens: {} {at}", r.status()));
            let r = owner.upload_photo(chart, "front", &jpeg()).await;
            assert_eq!(r.status(), 303, "the photo is kept");
            let photo = store.patient_photos(patient.id).await.unwrap()[0].id;
            (chart, photo)
        }
    };
    let appointment = store.chart(chart).await.unwrap().appointment_id;
    let lot = store.lots(clinic.id).await.unwrap()[0].id;

    // Links are kept only as hashes: fresh ones each run.
    let week = jiff::SignedDuration::from_hours(24 * 7);
    let intake_token = signin::random_token();
    store
        .create_intake_link(
            patient.id,
            &signin::token_hash(&intake_token),
            now + week,
            &by,
            now,
        )
        .await
        .unwrap();
    let consent_token = signin::random_token();
    store
        .create_consent_link(
            plan,
            &signin::token_hash(&consent_token),
            now + week,
            &by,
            now,
        )
        .await
        .unwrap();
    let feed_token = signin::random_token();
    store
        .replace_calendar_feed(practitioner, &signin::token_hash(&feed_token), &by, now)
        .await
        .unwrap();
    // A message to the patient, for the message's page.
    let message = match store.patient_messages(patient.id, 1).await.unwrap().first() {
        Some(m) => m.id,
        None => {
            store
                .enqueue_messages(&[needlepoint_store::NewMessage {
                    clinic_id: clinic.id,
                    patient_id: Some(patient.id),
                    appointment_id: None,
                    kind: "intake_link".into(),
                    channel: needlepoint_domain::message::MessageChannel::Email,
                    to_address: "bench@example.com".into(),
                    subject: "Your health questions".into(),
                    body: "A link.".into(),
                    attachment: None,
                    due_at: now,
                }])
                .await
                .unwrap();
            store.patient_messages(patient.id, 1).await.unwrap()[0].id
        }
    };
    let (checkin, checkin_token, adverse) =
        after_session(store, &clinic, patient.id, lot, &by, now).await;
    // The owner's browser is also signed in as the patient on her page.
    let patient_token = signin::random_token();
    store
        .create_patient_session(
            &signin::token_hash(&patient_token),
            patient.id,
            now + jiff::SignedDuration::from_hours(12),
            now,
        )
        .await
        .unwrap();
    owner.cookies.push(("np_patient".into(), patient_token));
    let (invoice, payment) = money(store, &clinic, patient.id, &by, now).await;
    Sample {
        invoice,
        payment,
        checkin,
        checkin_token,
        adverse,
        clinic: clinic.id,
        patient: patient.id,
        practitioner,
        screening,
        plan,
        appointment,
        chart,
        photo,
        lot,
        message,
        intake_token,
        consent_token,
        feed_token,
        today,
    }
}

/// An invoice for a product over the counter, half paid in cash today:
/// the money pages' records. Returns (invoice, payment).
async fn money(
    store: &Arc<dyn Store>,
    clinic: &needlepoint_store::Clinic,
    patient: i64,
    by: &Actor,
    now: jiff::Timestamp,
) -> (i64, i64) {
    use needlepoint_domain::billing::{price_lines, LineInput, Method};
    let pricing = store.clinic_pricing(clinic.id).await.unwrap();
    let (lines, totals) = price_lines(
        &[LineInput {
            label: "Aftercare kit".into(),
            quantity: 1,
            unit_minor: 4500,
            source: None,
        }],
        pricing.tax_rate_bp,
        pricing.tax_included,
    )
    .unwrap();
    let today = now
        .to_zoned(jiff::tz::TimeZone::get(&clinic.details.time_zone).unwrap())
        .date();
    let invoice = store
        .issue_invoice(
            &needlepoint_store::NewInvoice {
                clinic_id: clinic.id,
                patient_id: patient,
                issued_on: today,
                currency: pricing.currency,
                tax_rate_bp: pricing.tax_rate_bp,
                tax_included: pricing.tax_included,
                lines,
                totals,
                credits: None,
                package: None,
                settle_from: vec![],
            },
            by,
            now,
        )
        .await
        .unwrap();
    let payment = store
        .record_payment(
            &needlepoint_store::NewPayment {
                clinic_id: clinic.id,
                patient_id: patient,
                method: Method::Cash,
                amount_minor: invoice.totals.total / 2,
                reference: None,
                deposit: false,
                invoice_id: Some(invoice.id),
                received_on: today,
                provider_event: None,
            },
            by,
            now,
        )
        .await
        .unwrap();
    (invoice.id, payment.id)
}

/// A session signed today with a day-3 check-in (a fresh link each run),
/// an adverse event linked to its lot, and a home rolling logged: the
/// after-the-session pages' records. Returns (check-in, its token, event).
async fn after_session(
    store: &Arc<dyn Store>,
    clinic: &needlepoint_store::Clinic,
    patient: i64,
    lot: i64,
    by: &Actor,
    now: jiff::Timestamp,
) -> (i64, String, i64) {
    let start = jiff::Timestamp::from_second(now.as_second() / 300 * 300).unwrap();
    let a = store
        .book(
            &[NewAppointment {
                clinic_id: clinic.id,
                patient_id: patient,
                plan_id: None,
                session_number: None,
                kind: AppointmentKind::Session,
                practitioner_id: None,
                room_id: None,
                device_id: None,
                starts_at: start,
                ends_at: start + jiff::SignedDuration::from_mins(90),
                local_start: "today".into(),
                time_zone: clinic.details.time_zone.clone(),
                window_override: None,
                areas: None,
            }],
            by,
            now,
        )
        .await
        .unwrap()
        .remove(0);
    let c = store.open_chart(&a, None, by, now).await.unwrap();
    let c = store.start_chart(c.id, &[], by, now).await.unwrap();
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
    store.save_zone(c.id, &zone, by, now).await.unwrap();
    let c = store
        .add_chart_lot(c.id, lot, 1, None, by, now)
        .await
        .unwrap();
    let token = signin::random_token();
    let day3 = needlepoint_store::NewCheckin {
        day: 3,
        token_hash: signin::token_hash(&token),
        due_at: now,
        expires_at: now + jiff::SignedDuration::from_hours(24 * 7),
    };
    let c = store
        .sign_chart(c.id, c.version, false, &[], &[day3], by, now)
        .await
        .unwrap();
    let checkin = store
        .checkin_by_token(&signin::token_hash(&token), now)
        .await
        .unwrap()
        .unwrap()
        .id;
    let today = now
        .to_zoned(jiff::tz::TimeZone::get(&clinic.details.time_zone).unwrap())
        .date();
    let event = needlepoint_domain::adverse::AdverseEvent {
        term: "skin_infection".into(),
        specify: None,
        onset: today,
        grade: 2,
        expected: false,
        serious: false,
        actions: "Oral antibiotics".into(),
        outcome: needlepoint_domain::adverse::Outcome::Ongoing,
        resolved_on: None,
    };
    let adverse = store
        .record_adverse_event(
            &needlepoint_store::NewAdverseEvent {
                chart_id: c.id,
                checkin_id: Some(checkin),
                event,
                zones: vec!["cheeks".into()],
                lot_ids: vec![lot],
            },
            by,
            now,
        )
        .await
        .unwrap()
        .id;
    let used = needlepoint_domain::homecare::HomeUse {
        on: today,
        area: "cheeks".into(),
        needle: needlepoint_domain::Depth::from_micrometres(250).unwrap(),
        inflamed: false,
    };
    store
        .add_home_care(patient, &used, &[], by, now)
        .await
        .unwrap();
    // The clinic shows patients their photos, so her page shows them.
    store
        .set_photo_sharing(clinic.id, true, by, now)
        .await
        .unwrap();
    (checkin, token, adverse)
}

/// A small real photo.
fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([150 + x as u8, 110 + y as u8, 90])
    });
    let mut out = vec![];
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// One route's timings, or why it could not be measured.
struct Row {
    who: &'static str,
    path: String,
    status: u16,
    figures: Figures,
}

/// Requests `path` once to warm up, then [`RUNS`] times.
async fn time(web: &mut Client, path: &str) -> (u16, Figures) {
    eprint!("{path} … ");
    let mut status = web.get(path).await.status().as_u16();
    let mut times = vec![];
    for _ in 0..RUNS {
        let start = Instant::now();
        let r = web.get(path).await;
        status = status.max(r.status().as_u16());
        r.bytes().await.unwrap();
        times.push(start.elapsed());
    }
    let figures = Figures::of(times);
    eprintln!("{status}, p95 {:.1} ms", figures.p95.as_secs_f64() * 1000.0);
    (status, figures)
}

async fn measure(backend: &str) -> bool {
    let (name, store) = chain::chain(backend).await;
    let clinics: Vec<i64> = store
        .clinics_for_staff(chain::owner(&store).await.id)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    let owner_id = staff_member(
        &store,
        "bench-owner@generated.example",
        Role::Owner,
        clinics.clone(),
    )
    .await;
    let desk_id = staff_member(
        &store,
        "bench-desk@generated.example",
        Role::FrontDesk,
        vec![clinics[0]],
    )
    .await;

    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, backend)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut base = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut base)
        .unwrap();
    let base = base.trim().to_string();
    let rest = status_kb(pid, "VmRSS:");

    let mut owner = sign_in(&store, &base, owner_id, "bench-owner@generated.example").await;
    let mut desk = sign_in(&store, &base, desk_id, "bench-desk@generated.example").await;
    let sample = sample(&store, owner_id, &mut owner).await;

    let doc: serde_json::Value = owner.get("/api/openapi.json").await.json().await.unwrap();

    let mut rows = vec![];
    let started = Instant::now();
    for route in needlepoint_web::routes::all() {
        // A single-use sign-in link answers once: nothing to time.
        if route.method != Method::GET || route.path == "/me/link/{token}" {
            continue;
        }
        let path = match (sample.fill(route.path), sample.query(&doc, route.path)) {
            (Ok(p), Ok(q)) => p + &q,
            (Err(why), _) | (_, Err(why)) => panic!("{why}"),
        };
        for (who, role, web) in [
            ("owner", Role::Owner, &mut owner),
            ("front desk", Role::FrontDesk, &mut desk),
        ] {
            let admits = match route.access {
                Access::Public => who == "owner",
                a => a.admits(role),
            };
            if !admits {
                continue;
            }
            let (status, figures) = time(web, &path).await;
            rows.push(Row {
                who,
                path: path.clone(),
                status,
                figures,
            });
        }
    }
    // The searches of the issue's table, as pages and through the API.
    for q in ["smith", "zzzz", "1997-03-13", "%2B44"] {
        for path in [
            format!("/patients?q={q}"),
            format!("/api/v1/patients?q={q}&limit=20"),
        ] {
            for (who, web) in [("owner", &mut owner), ("front desk", &mut desk)] {
                let (status, figures) = time(web, &path).await;
                rows.push(Row {
                    who,
                    path: path.clone(),
                    status,
                    figures,
                });
            }
        }
    }
    let wall = started.elapsed();
    let peak = status_kb(pid, "VmHWM:");
    child.kill().ok();
    child.wait().ok();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "\n{name}: {} routes, {RUNS} requests each, in {:.0} s",
        rows.len(),
        wall.as_secs_f64()
    );
    println!("| who | route | status | p50 ms | p95 ms | max ms |");
    println!("|---|---|---:|---:|---:|---:|");
    let mut ok = true;
    for r in &rows {
        let slow = r.figures.p95 >= GOAL;
        let failed = r.status >= 400;
        ok &= !slow && !failed;
        println!(
            "| {} | `{}` | {} | {:.1} | {:.1} | {:.1} |{}",
            r.who,
            r.path,
            r.status,
            ms(r.figures.median),
            ms(r.figures.p95),
            ms(r.figures.max),
            if slow {
                " **over 100 ms**"
            } else if failed {
                " **error**"
            } else {
                ""
            }
        );
    }
    let slowest = rows.iter().max_by_key(|r| r.figures.p95).unwrap();
    println!(
        "{name}: slowest p95 {:.1} ms ({} {}); server memory at rest {:.0} MB, peak {:.0} MB (VmHWM)",
        ms(slowest.figures.p95),
        slowest.who,
        slowest.path,
        mb(rest),
        mb(peak)
    );
    if mb(rest) >= REST_MB || mb(peak) >= PEAK_MB {
        println!("{name}: FAIL: memory over {REST_MB:.0} MB at rest or {PEAK_MB:.0} MB at peak");
        ok = false;
    }
    if !ok {
        println!(
            "{name}: FAIL: a route over {} ms p95 or answering with an error",
            ms(GOAL)
        );
    }
    ok
}
