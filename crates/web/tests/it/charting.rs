//! Charting a session over HTTP, on both databases: the checklist gate,
//! zone guardrails, lots, photos and their rejections, sign-off, the second
//! sign-off, amendments, stock and recalls; and the same through the API.

use crate::appointments::bookable_with;
use crate::common::{json_call, location, Client, Clinic};
use needlepoint_domain::charting::{Anaesthetic, SupplyKind};
use needlepoint_domain::plan::PhotoUse;
use needlepoint_domain::{PractitionerDetails, Role};
use needlepoint_store::testing::TestBackend;
use needlepoint_store::{
    Actor, Channel, ChecklistRecord, NewAppointment, NewLot, NewStaff, NewSupplyItem,
};
use reqwest::Method;
use serde_json::json;

fn actor(id: i64) -> Actor {
    Actor {
        staff_id: Some(id),
        label: "test".into(),
        channel: Channel::Web,
        ip: None,
    }
}

/// A clinic with a booked first session of an accepted plan (cheeks), and
/// stock: a cartridge lot, a vitamin C serum lot, an expired lot and a lot
/// about to be recalled.
pub struct Fixture {
    pub c: Clinic,
    pub appointment: i64,
    pub cartridge: i64,
    pub serum: i64,
    pub expired: i64,
    pub other: i64,
}

pub async fn fixture(b: TestBackend) -> Fixture {
    fixture_with(b, PhotoUse::ClinicalRecordOnly).await
}

pub async fn fixture_with(b: TestBackend, photo_use: PhotoUse) -> Fixture {
    fixture_for(b, photo_use, &["cheeks"]).await
}

/// As [`fixture`], with the plan treating `areas`.
pub async fn fixture_for(b: TestBackend, photo_use: PhotoUse, areas: &[&str]) -> Fixture {
    let (c, plan_id) = bookable_with(b, photo_use, areas).await;
    let st = c.app.store.clone();
    let (owner, now) = (actor(c.owner), needlepoint_store::now());
    let room = st.rooms(c.clinic_id).await.unwrap()[0].id;
    let start = jiff::Timestamp::from_second(now.as_second() / 300 * 300).unwrap();
    let a = st
        .book(
            &[NewAppointment {
                clinic_id: c.clinic_id,
                patient_id: c.patient_id,
                plan_id: Some(plan_id),
                session_number: Some(1),
                kind: needlepoint_domain::appointment::AppointmentKind::Session,
                practitioner_id: Some(c.clinician),
                room_id: Some(room),
                device_id: None,
                starts_at: start,
                ends_at: start + jiff::SignedDuration::from_mins(90),
                local_start: "today".into(),
                time_zone: "Europe/London".into(),
                window_override: None,
                areas: None,
            }],
            &owner,
            now,
        )
        .await
        .unwrap()
        .remove(0);
    let mut lots = vec![];
    for (kind, name, intradermal, lot, expires, q) in [
        (
            SupplyKind::Cartridge,
            "SkinPen cartridge",
            false,
            "C-100",
            "2030-01-31",
            10,
        ),
        (
            SupplyKind::Product,
            "Vitamin C serum",
            false,
            "S-7",
            "2030-01-31",
            5,
        ),
        (
            SupplyKind::Cartridge,
            "Old cartridge",
            false,
            "OLD-1",
            "2024-01-31",
            3,
        ),
        (
            SupplyKind::Cartridge,
            "Other cartridge",
            false,
            "R-9",
            "2030-01-31",
            4,
        ),
    ] {
        let item = st
            .create_supply_item(
                c.clinic_id,
                &NewSupplyItem {
                    kind,
                    name: name.into(),
                    supplier: "Crown Aesthetics".into(),
                    intradermal,
                    reorder_at: 5,
                },
                &owner,
                now,
            )
            .await
            .unwrap();
        // An expired lot can only be in stock from before it expired: put
        // it there directly, as a delivery long ago would have.
        let l = st
            .receive_lot(
                &NewLot {
                    item_id: item.id,
                    lot_number: lot.into(),
                    expires_on: expires.parse().unwrap(),
                    quantity: q,
                },
                &owner,
                now,
            )
            .await
            .unwrap();
        lots.push(l.id);
    }
    Fixture {
        c,
        appointment: a.id,
        cartridge: lots[0],
        serum: lots[1],
        expired: lots[2],
        other: lots[3],
    }
}

/// A small real JPEG, optionally carrying an EXIF segment with GPS words.
pub fn jpeg(exif: bool) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 120])
    });
    let mut out = vec![];
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    if exif {
        let payload =
            b"Exif\0\0MM\0*GPSLatitude 51.5072 N GPSLongitude 0.1276 W SerialNumber 12345";
        let len = (payload.len() + 2) as u16;
        let mut seg = vec![0xFF, 0xE1];
        seg.extend_from_slice(&len.to_be_bytes());
        seg.extend_from_slice(payload);
        out.splice(2..2, seg);
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG header claiming `w` × `h` pixels, with almost no data: a bomb.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = vec![];
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

/// Opens the session's chart as `client`; its id.
pub async fn open_chart(client: &mut Client, appointment: i64) -> i64 {
    let r = client
        .get(&format!("/appointments/{appointment}/chart"))
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    location(&r)
        .trim_start_matches("/sessions/")
        .parse()
        .unwrap()
}

async fn page(client: &mut Client, chart: i64) -> String {
    let r = client.get(&format!("/sessions/{chart}")).await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// Photos for the three face views, and numbing cream on 40 minutes ago.
async fn make_ready(f: &Fixture, nurse: &mut Client, chart: i64) {
    for view in ["front", "left_45", "right_45"] {
        let r = nurse.upload_photo(chart, view, &jpeg(false)).await;
        assert_eq!(r.status(), 303, "{view}: {}", r.text().await.unwrap());
    }
    numb(f, chart).await;
}

/// Records numbing cream put on 40 minutes ago.
async fn numb(f: &Fixture, chart: i64) {
    let at = needlepoint_store::now() - jiff::SignedDuration::from_mins(40);
    f.c.app
        .store
        .save_checklist(
            chart,
            &ChecklistRecord {
                anaesthetic: Anaesthetic::AppliedAt { at },
                antiviral_taken: false,
            },
            &actor(f.c.clinician),
            needlepoint_store::now(),
        )
        .await
        .unwrap();
}

/// A clinician with the session's chart open, the checklist done and
/// needling started.
async fn needling(f: &Fixture) -> (Client, i64) {
    let mut nurse = f.c.client_as(Role::Clinician).await;
    let chart = open_chart(&mut nurse, f.appointment).await;
    make_ready(f, &mut nurse, chart).await;
    let r = nurse
        .post_form(&format!("/sessions/{chart}/start"), &[])
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    (nurse, chart)
}

async fn zone(
    nurse: &mut Client,
    chart: i64,
    z: &str,
    depth: &str,
    reason: &str,
) -> reqwest::Response {
    nurse
        .post_form(
            &format!("/sessions/{chart}/zones"),
            &[
                ("zone", z),
                ("depth", depth),
                ("passes", "3"),
                ("device", "skinpen"),
                ("speed", "single speed"),
                ("endpoint", "pinpoint_bleeding"),
                ("notes", ""),
                ("override_reason", reason),
            ],
        )
        .await
}

async fn checklist_gates_the_start(b: TestBackend) {
    let f = fixture(b).await;
    let mut nurse = f.c.client_as(Role::Clinician).await;
    let chart = open_chart(&mut nurse, f.appointment).await;
    assert_eq!(
        open_chart(&mut nurse, f.appointment).await,
        chart,
        "one chart per session"
    );
    let html = page(&mut nurse, chart).await;
    for why in [
        "Why: Re-screen when the history changed",
        "(J Drugs Dermatol 2024 (authors and title not recorded",
        "Baseline photos still to take: Front, Left 45°, Right 45°",
    ] {
        assert!(html.contains(why), "{why}");
    }
    // Nothing is ready: the start is refused, with every missing item.
    let r = nurse
        .post_form(&format!("/sessions/{chart}/start"), &[])
        .await;
    assert_eq!(r.status(), 422);
    let refusal = r.text().await.unwrap();
    assert!(refusal.contains("Photos before needling: Baseline photos still to take"));
    assert!(refusal.contains("Record when the numbing cream went on"));
    // Zones wait for the start.
    let r = zone(&mut nurse, chart, "cheeks", "1.0", "").await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("start the session before charting zones"));
    // A badly typed time is refused at its field; a time to come too.
    let r = nurse
        .post_form(
            &format!("/sessions/{chart}/checklist"),
            &[("anaesthetic_at", "9.15")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Write the time as HH:MM"));
    let london =
        jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::get("Europe/London").unwrap());
    if london.hour() < 23 {
        let r = nurse
            .post_form(
                &format!("/sessions/{chart}/checklist"),
                &[("anaesthetic_at", "23:59")],
            )
            .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("still to come"));
    } else {
        let r = nurse
            .post_form(
                &format!("/sessions/{chart}/checklist"),
                &[("anaesthetic_at", "00:00")],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    // No anaesthetic, with a reason, passes that item.
    let r = nurse
        .post_form(
            &format!("/sessions/{chart}/checklist"),
            &[("no_anaesthetic", "allergic to lidocaine")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(page(&mut nurse, chart)
        .await
        .contains("No anaesthetic: allergic to lidocaine"));
    make_ready(&f, &mut nurse, chart).await;
    // A history changed after the screening makes it stale again.
    let st = &f.c.app.store;
    let h = st.current_history(f.c.patient_id).await.unwrap().unwrap();
    st.add_history_version(
        f.c.patient_id,
        &h.history,
        "clinician",
        Some("reviewed"),
        &actor(f.c.clinician),
        needlepoint_store::now(),
    )
    .await
    .unwrap();
    let r = nurse
        .post_form(&format!("/sessions/{chart}/start"), &[])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Screen again: The history has changed since this screening."));
    // Screened again, but not for the area planned today: still refused.
    let today = london.date().to_string();
    let r = nurse
        .post_form(
            &format!("/patients/{}/screenings", f.c.patient_id),
            &[("areas", "forehead"), ("on", today.as_str())],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = nurse
        .post_form(&format!("/sessions/{chart}/start"), &[])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The screening did not cover Cheeks"));
    // Screened again for the planned area, needling starts.
    let r = nurse
        .post_form(
            &format!("/patients/{}/screenings", f.c.patient_id),
            &[("areas", "cheeks"), ("on", today.as_str())],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = nurse
        .post_form(&format!("/sessions/{chart}/start"), &[])
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let c = st.chart(chart).await.unwrap();
    assert_eq!(c.status.as_str(), "in_progress");
    let started = c.started_checks.unwrap();
    assert_eq!(started.len(), 5, "the checklist is kept as it stood");
}

async fn zone_guardrails_refuse_and_flag(b: TestBackend) {
    let f = fixture(b).await;
    let (mut nurse, chart) = needling(&f).await;
    assert_eq!(
        zone(&mut nurse, chart, "cheeks", "1.0", "").await.status(),
        303
    );
    for (z, depth, reason, says) in [
        ("cheeks", "-1", "", "Depth cannot be negative."),
        ("cheeks", "abc", "", "Enter a depth in millimetres"),
        (
            "cheeks",
            "2.75",
            "I am sure",
            "beyond what SkinPen Precision allows",
        ),
        (
            "inside_orbital_rim",
            "0.25",
            "I am sure",
            "Inside the orbital rim is never needled",
        ),
        ("cheeks", "1.75", "", "safety was evaluated to (1.5 mm"),
        ("neck", "0.5", "", "The signed consent does not cover Neck"),
    ] {
        let r = zone(&mut nurse, chart, z, depth, reason).await;
        assert_eq!(r.status(), 422, "{z} {depth}");
        let html = r.text().await.unwrap();
        assert!(html.contains(says), "{z} {depth}: {says:?} missing");
        // What was typed comes back in the form.
        if z == "cheeks" {
            assert!(
                html.contains(&format!("value=\"{depth}\"")),
                "{depth} not kept"
            );
        }
    }
    // Nothing of the refused ones was saved; the first zone is intact.
    let c = f.c.app.store.chart(chart).await.unwrap();
    assert_eq!(c.zones.len(), 1);
    assert_eq!(c.zones[0].depth.micrometres(), 1000);
    // Above the range with a reason: kept, and flagged on the record.
    let r = zone(
        &mut nurse,
        chart,
        "cheeks",
        "1.75",
        "Deep boxcar scars; agreed with the patient",
    )
    .await;
    assert_eq!(r.status(), 303);
    let c = f.c.app.store.chart(chart).await.unwrap();
    assert!(c.zones[0]
        .flag
        .as_deref()
        .unwrap()
        .contains("safety was evaluated to"));
    let html = page(&mut nurse, chart).await;
    assert!(html.contains("class='zone flagged'") && html.contains(">override</span>"));
    assert!(html.contains("Reason: Deep boxcar scars; agreed with the patient"));
}

async fn lots_are_checked_and_stock_moves_at_signoff(b: TestBackend) {
    let f = fixture(b).await;
    let st = f.c.app.store.clone();
    let (mut nurse, chart) = needling(&f).await;
    let lot = |id: i64| id.to_string();
    // Expired and recalled lots are refused by name.
    let r = nurse
        .post_form(
            &format!("/sessions/{chart}/lots"),
            &[("lot_id", &lot(f.expired))],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Old cartridge lot OLD-1 expired on 2024-01-31: it must not be used."));
    st.recall_lot(
        f.other,
        "Sterility breach notice 2026-11",
        &actor(f.c.owner),
        needlepoint_store::now(),
    )
    .await
    .unwrap();
    let r = nurse
        .post_form(
            &format!("/sessions/{chart}/lots"),
            &[("lot_id", &lot(f.other))],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("has been recalled (Sterility breach notice 2026-11)"));
    let r = nurse
        .post_form(
            &format!("/sessions/{chart}/lots"),
            &[("lot_id", &lot(f.cartridge)), ("quantity", "99")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Quantity is a whole number from 1 to 20."));
    // Signing needs a zone and a needle lot.
    let v = st.chart(chart).await.unwrap().version.to_string();
    let r = nurse
        .post_form(&format!("/sessions/{chart}/sign"), &[("version", &v)])
        .await;
    assert_eq!(r.status(), 422);
    let refusal = r.text().await.unwrap();
    assert!(
        refusal.contains("Chart at least one zone")
            && refusal.contains("Record the cartridge or roller lot used.")
    );
    assert_eq!(
        nurse
            .post_form(
                &format!("/sessions/{chart}/lots"),
                &[("lot_id", &lot(f.cartridge))]
            )
            .await
            .status(),
        303
    );
    // A vitamin C serum is recorded, with the granuloma warning.
    assert_eq!(
        nurse
            .post_form(
                &format!("/sessions/{chart}/lots"),
                &[("lot_id", &lot(f.serum)), ("quantity", "2")]
            )
            .await
            .status(),
        303
    );
    let html = page(&mut nurse, chart).await;
    assert!(
        html.contains("not made for intradermal contact")
            && html.contains("granulomas")
            && html.contains("Soltani-Arabshahi")
    );
    assert_eq!(
        zone(&mut nurse, chart, "cheeks", "1.0", "").await.status(),
        303
    );
    // The front desk may not sign (nor see the chart).
    let mut desk = f.c.client_as(Role::FrontDesk).await;
    let v = st.chart(chart).await.unwrap().version.to_string();
    assert_eq!(
        desk.post_form(&format!("/sessions/{chart}/sign"), &[("version", &v)])
            .await
            .status(),
        403
    );
    // The owner here does not treat patients: refused with the reason.
    let mut owner = f.c.client_as(Role::Owner).await;
    let r = owner
        .post_form(&format!("/sessions/{chart}/sign"), &[("version", &v)])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Only a clinician who treats patients can sign a session."));
    assert_eq!(
        st.lot(f.cartridge).await.unwrap().quantity,
        10,
        "stock moves only at sign-off"
    );
    let aftercare = |list: Vec<needlepoint_store::Message>| -> Vec<needlepoint_store::Message> {
        list.into_iter().filter(|m| m.kind == "aftercare").collect()
    };
    assert!(
        aftercare(st.patient_messages(f.c.patient_id, 100).await.unwrap()).is_empty(),
        "a refused signature sends nothing"
    );
    assert!(st
        .patient_checkins(f.c.patient_id)
        .await
        .unwrap()
        .is_empty());
    // This clinic asks on days 2 and 5 (its rules page, with a reason).
    let r = owner
        .post_form(
            &format!("/settings/clinics/{}/rules", f.c.clinic_id),
            &[
                ("key", "checkins.days"),
                ("value", "2, 5"),
                ("reason", "Our nurses call on day 1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = nurse
        .post_form(&format!("/sessions/{chart}/sign"), &[("version", &v)])
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    // The check-ins come with the signature, on the clinic's days, each
    // with its link queued for 09:00 that day (the link opens this server).
    let checkins = st.patient_checkins(f.c.patient_id).await.unwrap();
    assert_eq!(checkins.iter().map(|k| k.day).collect::<Vec<_>>(), [2, 5]);
    let links: Vec<_> = st
        .patient_messages(f.c.patient_id, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "checkin_link")
        .collect();
    assert_eq!(links.len(), 2);
    for m in &links {
        assert!(
            m.body.contains(&format!("{}/checkin/", f.c.app.base)),
            "{}",
            m.body
        );
        let local = m
            .due_at
            .to_zoned(jiff::tz::TimeZone::get("Europe/London").unwrap())
            .time();
        assert_eq!(local, jiff::civil::time(9, 0, 0, 0));
        assert!(checkins.iter().any(|k| k.due_at == m.due_at));
    }
    assert_eq!(
        checkins[0].expires_at, checkins[1].due_at,
        "each works until the next"
    );
    assert_eq!(st.lot(f.cartridge).await.unwrap().quantity, 9);
    assert_eq!(st.lot(f.serum).await.unwrap().quantity, 3);
    // The aftercare goes to the patient with the signature: every step
    // with its window, what was put on her skin, the warning signs.
    let sent = aftercare(st.patient_messages(f.c.patient_id, 100).await.unwrap());
    assert_eq!(sent.len(), 1, "one aftercare message");
    let body = &sent[0].body;
    for needle in [
        "For the first 8 hours: put nothing on the skin",
        "Days 3 to 7: use gentle products only",
        "Put on your skin today: Vitamin C serum.",
        "Call emergency services at once if you have:",
        "- Spreading redness, heat, pus or a fever",
    ] {
        assert!(body.contains(needle), "{needle:?} in {body}");
    }
    assert_eq!(sent[0].appointment_id, Some(f.appointment));
    // The same sheet to print, each window ending at a time of day.
    let sheet = nurse
        .get(&format!("/sessions/{chart}/aftercare"))
        .await
        .text()
        .await
        .unwrap();
    assert!(sheet.contains("Looking after your skin") && sheet.contains("until "));
    assert!(sheet.contains("Vitamin C serum"));
    assert_eq!(
        desk.get(&format!("/sessions/{chart}/aftercare"))
            .await
            .status(),
        403
    );
    assert_eq!(
        st.appointment(f.appointment).await.unwrap().status.as_str(),
        "completed"
    );
    // Below the reorder level (5): the serum shows on Today.
    let today = owner.get("/today").await.text().await.unwrap();
    assert!(
        today.contains("Low stock") && today.contains("Vitamin C serum: 3 usable (reorder at 5)"),
        "{today}"
    );
}

async fn a_signed_session_is_read_only_and_amended_beside_the_original(b: TestBackend) {
    let f = fixture(b).await;
    let st = f.c.app.store.clone();
    let (mut nurse, chart) = needling(&f).await;
    assert_eq!(
        zone(&mut nurse, chart, "cheeks", "1.0", "").await.status(),
        303
    );
    assert_eq!(
        nurse
            .post_form(
                &format!("/sessions/{chart}/lots"),
                &[("lot_id", &f.cartridge.to_string())]
            )
            .await
            .status(),
        303
    );
    // This patient gave no e-mail or phone: nothing can reach her, so the
    // signature schedules no check-ins for her to miss.
    let mut p = st.patient(f.c.patient_id).await.unwrap();
    (p.details.email, p.details.phone) = (None, None);
    st.update_patient(
        p.id,
        p.version,
        &p.details,
        &actor(f.c.owner),
        needlepoint_store::now(),
    )
    .await
    .unwrap();
    let v = st.chart(chart).await.unwrap().version;
    // Signing an older version than the one on record is refused.
    let r = nurse
        .post_form(
            &format!("/sessions/{chart}/sign"),
            &[("version", &(v - 1).to_string())],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("changed while you were signing"));
    assert_eq!(
        nurse
            .post_form(
                &format!("/sessions/{chart}/sign"),
                &[("version", &v.to_string())]
            )
            .await
            .status(),
        303
    );
    let signed = st.chart(chart).await.unwrap();
    assert!(st
        .patient_checkins(f.c.patient_id)
        .await
        .unwrap()
        .is_empty());
    assert!(st
        .patient_messages(f.c.patient_id, 100)
        .await
        .unwrap()
        .iter()
        .all(|m| m.kind != "checkin_link" && m.kind != "aftercare"));
    let cartridge = f.cartridge.to_string();
    for (path, form) in [
        (
            "zones",
            vec![
                ("zone", "cheeks"),
                ("depth", "0.5"),
                ("passes", "2"),
                ("device", "skinpen"),
                ("endpoint", "erythema"),
            ],
        ),
        ("zones/cheeks/remove", vec![]),
        ("lots", vec![("lot_id", cartridge.as_str())]),
        ("checklist", vec![("no_anaesthetic", "changed my mind")]),
    ] {
        let r = nurse
            .post_form(&format!("/sessions/{chart}/{path}"), &form)
            .await;
        assert_eq!(r.status(), 422, "{path}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("signed and can no longer be changed"),
            "{path}"
        );
    }
    let r = nurse.upload_photo(chart, "front", &jpeg(false)).await;
    assert_eq!(r.status(), 422);
    assert_eq!(st.chart(chart).await.unwrap().zones, signed.zones);
    // An amendment needs a correction and a reason.
    let r = nurse
        .post_form(
            &format!("/sessions/{chart}/amend"),
            &[
                ("zone", "cheeks"),
                ("text", "Depth was 0.75 mm"),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Write why it is corrected."));
    let r = nurse
        .post_form(
            &format!("/sessions/{chart}/amend"),
            &[
                ("zone", "cheeks"),
                ("text", "Depth was 0.75 mm"),
                ("reason", "Typed the plan's depth, not the pen's"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = page(&mut nurse, chart).await;
    assert!(html.contains("<td>1.00 mm</td>"), "the original stays");
    assert!(html.contains("<strong>Amended:</strong> Depth was 0.75 mm"));
    assert!(
        html.contains("Reason: Typed the plan&#39;s depth, not the pen&#39;s")
            || html.contains("Reason: Typed the plan's depth, not the pen's")
    );
    assert!(html.contains("This record is read-only"));
}

async fn an_override_needs_a_medical_directors_second_signoff(b: TestBackend) {
    let f = fixture(b).await;
    let st = f.c.app.store.clone();
    let (mut nurse, chart) = needling(&f).await;
    assert_eq!(
        zone(&mut nurse, chart, "cheeks", "1.75", "Rolling scars")
            .await
            .status(),
        303
    );
    assert_eq!(
        nurse
            .post_form(
                &format!("/sessions/{chart}/lots"),
                &[("lot_id", &f.cartridge.to_string())]
            )
            .await
            .status(),
        303
    );
    let v = st.chart(chart).await.unwrap().version.to_string();
    assert_eq!(
        nurse
            .post_form(&format!("/sessions/{chart}/sign"), &[("version", &v)])
            .await
            .status(),
        303
    );
    let c = st.chart(chart).await.unwrap();
    assert!(c.needs_cosign && c.cosigned_at.is_none());
    assert!(page(&mut nurse, chart)
        .await
        .contains("awaiting second sign-off"));
    // The signer cannot countersign, even as a medical director.
    st.set_medical_director(
        f.c.clinician,
        true,
        &actor(f.c.owner),
        needlepoint_store::now(),
    )
    .await
    .unwrap();
    let r = nurse
        .post_form(&format!("/sessions/{chart}/cosign"), &[])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("someone other than the clinician who signed"));
    // Another clinician who is not a medical director cannot either.
    let hash = needlepoint_practice::signin::hash_password(crate::common::PASSWORD.into())
        .await
        .unwrap();
    let org = st.clinic(f.c.clinic_id).await.unwrap().organisation_id;
    let director = st
        .create_staff(
            &NewStaff {
                organisation_id: org,
                email: "director@example.com".into(),
                name: "Dr Director".into(),
                role: Role::Clinician,
                password_hash: hash,
                practitioner: Some(
                    PractitionerDetails::parse("Dr Director", "Physician", "GMC 1234567").unwrap(),
                ),
                clinic_ids: vec![f.c.clinic_id],
            },
            &actor(f.c.owner),
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    let mut doctor = f.c.client_for(director.id).await;
    let r = doctor
        .post_form(&format!("/sessions/{chart}/cosign"), &[])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("by a clinician who is a medical director"));
    // The owner marks them medical director in Settings; then they can.
    let mut owner = f.c.client_as(Role::Owner).await;
    let r = owner
        .post_form(
            &format!("/settings/staff/{}/medical-director", director.id),
            &[("on", "yes")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = doctor
        .post_form(&format!("/sessions/{chart}/cosign"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let c = st.chart(chart).await.unwrap();
    assert_eq!(c.cosigned_by, Some(director.id));
    assert!(page(&mut nurse, chart)
        .await
        .contains("Second sign-off by Dr Director"));
}

/// The lot the organisation's other clinic stocks and used on its patient.
struct FarUse {
    clinic: i64,
    lot: i64,
}

/// The organisation's other clinic receives the fixture's cartridge (same
/// item, supplier and lot number) and uses it on its own patient.
async fn other_clinic_used_the_lot(f: &Fixture, number: &str) -> FarUse {
    let st = f.c.app.store.clone();
    let (owner, now) = (actor(f.c.owner), needlepoint_store::now());
    let mut p = st.patient(f.c.other_patient_id).await.unwrap();
    p.details.email =
        Some(needlepoint_domain::Email::parse("email", "faraway@example.com").unwrap());
    st.update_patient(p.id, p.version, &p.details, &owner, now)
        .await
        .unwrap();
    let item = st
        .create_supply_item(
            p.clinic_id,
            &NewSupplyItem {
                kind: SupplyKind::Cartridge,
                name: "SkinPen cartridge".into(),
                supplier: "Crown Aesthetics".into(),
                intradermal: false,
                reorder_at: 0,
            },
            &owner,
            now,
        )
        .await
        .unwrap();
    let lot = st
        .receive_lot(
            &NewLot {
                item_id: item.id,
                lot_number: number.into(),
                expires_on: jiff::civil::date(2030, 1, 31),
                quantity: 3,
            },
            &owner,
            now,
        )
        .await
        .unwrap();
    let start = jiff::Timestamp::from_second(now.as_second() / 300 * 300).unwrap();
    let a = st
        .book(
            &[NewAppointment {
                clinic_id: p.clinic_id,
                patient_id: p.id,
                plan_id: None,
                session_number: None,
                kind: needlepoint_domain::appointment::AppointmentKind::Session,
                practitioner_id: None,
                room_id: None,
                device_id: None,
                starts_at: start,
                ends_at: start + jiff::SignedDuration::from_mins(60),
                local_start: "today".into(),
                time_zone: "America/New_York".into(),
                window_override: None,
                areas: None,
            }],
            &owner,
            now,
        )
        .await
        .unwrap()
        .remove(0);
    let chart = st.open_chart(&a, None, &owner, now).await.unwrap();
    let chart = st.start_chart(chart.id, &[], &owner, now).await.unwrap();
    st.add_chart_lot(chart.id, lot.id, 1, None, &owner, now)
        .await
        .unwrap();
    FarUse {
        clinic: p.clinic_id,
        lot: lot.id,
    }
}

async fn a_recall_lists_every_patient_and_messages_them_once(b: TestBackend) {
    let f = fixture(b).await;
    let st = f.c.app.store.clone();
    let far = other_clinic_used_the_lot(&f, "C-100").await;
    let (mut nurse, chart) = needling(&f).await;
    assert_eq!(
        nurse
            .post_form(
                &format!("/sessions/{chart}/lots"),
                &[("lot_id", &f.cartridge.to_string())]
            )
            .await
            .status(),
        303
    );
    let lot_page = format!("/inventory/lots/{}", f.cartridge);
    let html = nurse.get(&lot_page).await.text().await.unwrap();
    assert!(html.contains("Used in 1 session (1 patient)") && html.contains("Amara Okafor"));
    let r = nurse
        .post_form(&format!("{lot_page}/recall"), &[("reason", "")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Give the reason for the recall"));
    let r = nurse
        .post_form(
            &format!("{lot_page}/recall"),
            &[("reason", "Maker's notice FSN-2026-14: sterility")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = nurse.post_form(&format!("{lot_page}/notify"), &[]).await;
    assert_eq!(r.status(), 303);
    let recall: Vec<_> = st
        .messages(f.c.clinic_id, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "recall")
        .collect();
    assert_eq!(recall.len(), 1);
    assert_eq!(recall[0].to_address, "amara@example.com");
    assert!(
        recall[0]
            .body
            .contains("needle cartridge (SkinPen cartridge, lot C-100)"),
        "{}",
        recall[0].body
    );
    let r = nurse.post_form(&format!("{lot_page}/notify"), &[]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("messaged once per recall"));
    // The same maker's lot at the organisation's other clinic is recalled
    // with it, and its patient messaged in that clinic's wording.
    let there = st.lot(far.lot).await.unwrap();
    assert!(there.recalled_at.is_some() && there.recall_notified_at.is_some());
    let far_recall: Vec<_> = st
        .messages(far.clinic, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "recall")
        .collect();
    assert_eq!(far_recall.len(), 1);
    assert_eq!(far_recall[0].to_address, "faraway@example.com");
    assert_eq!(far_recall[0].patient_id, Some(f.c.other_patient_id));
    // The recalled lot is now refused for the next session, and no longer
    // counted as usable stock.
    let inventory = nurse.get("/inventory").await.text().await.unwrap();
    assert!(inventory.contains(">recalled</span>"));

    // An owner of two clinics sees both, the recall on each, and may pick
    // one; a change brings her back to that clinic's stock.
    let mut owner = f.c.client_as(Role::Owner).await;
    let both = owner.get("/inventory").await.text().await.unwrap();
    for id in [f.c.clinic_id, far.clinic] {
        let section = both
            .split(&format!("id=\"clinic-{id}\""))
            .nth(1)
            .unwrap_or_else(|| panic!("clinic {id} is listed"));
        let section = section.split("<section").next().unwrap();
        assert!(section.contains(">recalled</span>"), "the recall at {id}");
    }
    assert!(both.contains("<option value=\"\">Every clinic</option>"));
    let one = owner
        .get(&format!("/inventory?clinic={}", far.clinic))
        .await
        .text()
        .await
        .unwrap();
    assert!(one.contains(&format!("id=\"clinic-{}\"", far.clinic)));
    assert!(!one.contains(&format!("id=\"clinic-{}\"", f.c.clinic_id)));
    assert_eq!(owner.get("/inventory?clinic=").await.status(), 200);
    assert_eq!(owner.get("/inventory?clinic=abc").await.status(), 404);
    let r = owner
        .post_form(
            "/inventory/items",
            &[
                ("clinic_id", far.clinic.to_string().as_str()),
                ("kind", "roller"),
                ("name", "Medical roller 0.5 mm"),
                ("supplier", "Dermaroller GmbH"),
                ("reorder_at", "2"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(
        r.headers()["location"],
        format!("/inventory?clinic={0}#clinic-{0}", far.clinic).as_str()
    );

    // An owner of more clinics than a page lists at once sees one clinic's
    // stock at a time, and picks the others.
    let org = st.clinic(f.c.clinic_id).await.unwrap().organisation_id;
    for name in ["Third Clinic", "Fourth Clinic"] {
        st.create_clinic(
            org,
            &needlepoint_domain::ClinicDetails::parse(name, "Europe/London", "", "").unwrap(),
            &actor(f.c.owner),
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    }
    let far_page = owner
        .get(&format!("/inventory?clinic={}", far.clinic))
        .await
        .text()
        .await
        .unwrap();
    assert!(far_page.contains("id=\"inventory-clinic\"") && far_page.contains("Fourth Clinic"));
    assert!(far_page.contains(&format!("id=\"clinic-{}\"", far.clinic)));
    assert!(!far_page.contains(&format!("id=\"clinic-{}\"", f.c.clinic_id)));
    assert!(far_page.contains(">recalled</span>"));
    assert_eq!(owner.get("/inventory?clinic=424242").await.status(), 404);
}

async fn uploads_are_checked_cleaned_and_kept_by_content(b: TestBackend) {
    let f = fixture(b).await;
    let mut nurse = f.c.client_as(Role::Clinician).await;
    let chart = open_chart(&mut nurse, f.appointment).await;
    for (bytes, status, says) in [
        (
            b"%PDF-1.7 not a photo".to_vec(),
            422,
            "not a photo: upload a JPEG or PNG",
        ),
        (
            png_bomb(100_000, 100_000),
            422,
            "claims 100000 × 100000 pixels",
        ),
        (jpeg(false)[..300].to_vec(), 422, "damaged or incomplete"),
        (
            vec![0xFF; 26 * 1024 * 1024],
            413,
            "photos up to 25 MB are accepted",
        ),
        (vec![], 422, "Choose a photo to upload."),
    ] {
        let r = nurse.upload_photo(chart, "front", &bytes).await;
        assert_eq!(r.status(), status, "{says}");
        assert!(r.text().await.unwrap().contains(says), "{says}");
    }
    let r = nurse.upload_photo(chart, "elbow", &jpeg(false)).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Choose which view this photo is."));
    assert!(
        f.c.app
            .store
            .patient_photos(f.c.patient_id)
            .await
            .unwrap()
            .is_empty(),
        "nothing kept"
    );
    // A 200 MB upload is refused from its announced length, before it is read.
    let addr = f.c.app.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = format!(
        "POST /sessions/{chart}/photos?csrf_token={csrf} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookies}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {}\r\n\r\n--x\r\n",
        200 * 1024 * 1024,
        csrf = nurse.token(),
        cookies = nurse.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "),
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = vec![];
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(30), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&got).contains("</html>") {
            break;
        }
    }
    let resp = String::from_utf8_lossy(&got);
    assert!(
        resp.starts_with("HTTP/1.1 413"),
        "{}",
        &resp[..resp.len().min(200)]
    );
    assert!(resp.contains("The file is 200 MB; photos up to 25 MB are accepted."));
    // A real photo with GPS in its EXIF: kept without any of it.
    let r = nurse.upload_photo(chart, "front", &jpeg(true)).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let photos = f.c.app.store.patient_photos(f.c.patient_id).await.unwrap();
    assert_eq!(photos.len(), 1);
    let p = &photos[0];
    assert_eq!(
        (p.width, p.height, p.view.as_str(), p.chart_id),
        (64, 48, "front", Some(chart))
    );
    let kept = nurse.get(&format!("/photos/{}", p.id)).await;
    assert_eq!(kept.headers()["content-type"], "image/jpeg");
    assert_eq!(
        kept.headers()["cache-control"],
        "no-store",
        "not kept in a shared workstation's browser"
    );
    let kept = kept.bytes().await.unwrap().to_vec();
    let text = String::from_utf8_lossy(&kept);
    assert!(
        !text.contains("GPSLatitude") && !text.contains("Exif") && !text.contains("SerialNumber")
    );
    assert_eq!(
        needlepoint_web::photos::sha256_hex(&kept),
        p.sha256,
        "kept under its content's hash"
    );
    assert_eq!(image::load_from_memory(&kept).unwrap().width(), 64);
    let thumb = nurse
        .get(&format!("/photos/{}?thumb=true", p.id))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(image::load_from_memory(&thumb).is_ok());
    // The same photo again is stored once (content-addressed).
    assert_eq!(
        nurse
            .upload_photo(chart, "front", &jpeg(true))
            .await
            .status(),
        303
    );
    let photos = f.c.app.store.patient_photos(f.c.patient_id).await.unwrap();
    assert_eq!(photos[0].sha256, photos[1].sha256);
    // The front desk cannot fetch clinical photos.
    let mut desk = f.c.client_as(Role::FrontDesk).await;
    assert_eq!(desk.get(&format!("/photos/{}", p.id)).await.status(), 403);
    // Before and after, side by side.
    let html = nurse
        .get(&format!("/patients/{}/photos", f.c.patient_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Before and after") && html.contains("overlay-slider"));
}

async fn no_photos_when_the_patient_declined_them(b: TestBackend) {
    let f = fixture_with(b, PhotoUse::NoPhotos).await;
    let mut nurse = f.c.client_as(Role::Clinician).await;
    let chart = open_chart(&mut nurse, f.appointment).await;
    let r = nurse.upload_photo(chart, "front", &jpeg(false)).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("consent allows no photos: none can be kept"));
    assert!(f
        .c
        .app
        .store
        .patient_photos(f.c.patient_id)
        .await
        .unwrap()
        .is_empty());
    let html = page(&mut nurse, chart).await;
    assert!(html.contains("Photo consent: No photos may be taken of me."));
    assert!(
        !html.contains("id=\"photo-form\""),
        "no upload form is offered"
    );
    // The photo item does not hold the session up.
    numb(&f, chart).await;
    assert_eq!(
        nurse
            .post_form(&format!("/sessions/{chart}/start"), &[])
            .await
            .status(),
        303
    );
}

async fn no_photos_before_a_consent_is_signed(b: TestBackend) {
    let f = fixture(b).await;
    let st = f.c.app.store.clone();
    // A second plan, proposed and not yet consented, with a session booked.
    let mut nurse = f.c.client_as(Role::Clinician).await;
    let (s, plan) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/patients/{}/plans", f.c.patient_id),
        json!({"device": "skinpen"}),
    )
    .await;
    assert_eq!(s, 201, "{plan}");
    let mut a = st.appointment(f.appointment).await.unwrap();
    let start = a.starts_at + jiff::SignedDuration::from_hours(24 * 60);
    let booked = st
        .book(
            &[NewAppointment {
                clinic_id: a.clinic_id,
                patient_id: a.patient_id,
                plan_id: plan["id"].as_i64(),
                session_number: Some(1),
                kind: needlepoint_domain::appointment::AppointmentKind::Session,
                practitioner_id: a.practitioner_id,
                room_id: a.room_id,
                device_id: None,
                starts_at: start,
                ends_at: start + jiff::SignedDuration::from_mins(90),
                local_start: "later".into(),
                time_zone: a.time_zone.clone(),
                window_override: None,
                areas: None,
            }],
            &actor(f.c.owner),
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    a = booked[0].clone();
    // Two months ahead: opened early, with a reason.
    let r = nurse
        .post_form(
            &format!("/appointments/{}/chart", a.id),
            &[("reason", "Checking the photo consent ahead")],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let chart: i64 = location(&r)
        .trim_start_matches("/sessions/")
        .parse()
        .unwrap();
    let html = page(&mut nurse, chart).await;
    assert!(
        html.contains("Photo consent: no consent signed.") && !html.contains("id=\"photo-form\"")
    );
    assert!(html.contains("No consent is signed for the plan as it stands."));
    let r = nurse.upload_photo(chart, "front", &jpeg(false)).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("once the patient has signed the consent"));
    assert!(st.patient_photos(f.c.patient_id).await.unwrap().is_empty());
}

async fn the_api_charts_a_session_with_the_same_rules(b: TestBackend) {
    let f = fixture(b).await;
    let st = f.c.app.store.clone();
    let mut nurse = f.c.client_as(Role::Clinician).await;
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/appointments/{}/session", f.appointment),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["ready"], false);
    assert_eq!(v["checks"].as_array().unwrap().len(), 5);
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/sessions/{id}/start"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("Photos before needling"));
    make_ready(&f, &mut nurse, id).await;
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/sessions/{id}/start"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let zone = |depth: &str| json!({"depth": depth, "passes": "3", "device": "skinpen", "endpoint": "erythema"});
    let (s, v) = json_call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/sessions/{id}/zones/cheeks"),
        zone("abc"),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(v["fields"][0]["field"], "depth");
    let (s, v) = json_call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/sessions/{id}/zones/cheeks"),
        zone("0.75"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["zones"][0]["depth"], 750);
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/sessions/{id}/lots"),
        json!({"lot_id": f.expired}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("expired on 2024-01-31"));
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/sessions/{id}/lots"),
        json!({"lot_id": f.cartridge}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let version = v["version"].as_i64().unwrap();
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/sessions/{id}/sign"),
        json!({"version": version}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "signed");
    // Signed through the API, the aftercare goes as from the page; the
    // sheet is read back whole.
    let sent: Vec<_> = st
        .patient_messages(f.c.patient_id, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "aftercare")
        .collect();
    assert_eq!(sent.len(), 1);
    let (s, v) = json_call(
        &mut nurse,
        Method::GET,
        &format!("/api/v1/sessions/{id}/aftercare"),
        json!(null),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["duties"][0]["window"], "For the first 8 hours");
    assert_eq!(v["warnings"][0]["urgency"], "emergency");
    assert!(sent[0]
        .body
        .contains(v["text"].as_str().unwrap().trim_end()));
    let mut desk = f.c.client_as(Role::FrontDesk).await;
    let (s, _) = json_call(
        &mut desk,
        Method::GET,
        &format!("/api/v1/sessions/{id}/aftercare"),
        json!(null),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = json_call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/sessions/{id}/zones/cheeks"),
        zone("0.5"),
    )
    .await;
    assert_eq!(s, 409);
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/sessions/{id}/amendments"),
        json!({"zone": "cheeks", "text": "0.5 mm in the scars", "reason": "Detail added"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["amendments"][0]["text"], "0.5 mm in the scars");
    // A corrected depth passes the guardrails the zone did: beyond the
    // device it is refused on its field, and nothing is added.
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/sessions/{id}/amendments"),
        json!({"zone": "cheeks", "text": "Wrong depth", "reason": "Typo", "depth": "2.8"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["fields"][0]["field"], "depth");
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/sessions/{id}/amendments"),
        json!({"zone": "cheeks", "text": "Wrong depth", "reason": "Typo", "depth": "0.75"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["amendments"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["amendments"][1]["text"],
        "Depth corrected to 0.75 mm. Wrong depth"
    );
    // Inventory, lots and the recall.
    let (s, v) = json_call(
        &mut nurse,
        Method::GET,
        &format!("/api/v1/inventory?clinic_id={}", f.c.clinic_id),
        json!(null),
    )
    .await;
    assert_eq!(s, 200);
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["name"] == "SkinPen cartridge" && i["usable"] == 9));
    let (s, v) = json_call(&mut nurse, Method::POST, "/api/v1/lots", json!({"item_id": st.lot(f.cartridge).await.unwrap().item_id, "lot_number": "C-101", "expires_on": "2020-01-01", "quantity": 5})).await;
    assert_eq!(s, 422);
    assert!(v["message"].as_str().unwrap().contains("expired"));
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/lots/{}/recall", f.cartridge),
        json!({"reason": "FSN-1", "notify": true}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["uses"][0]["patient_id"], f.c.patient_id);
    assert_eq!(v["messages_queued"], 1);
    let (s, v) = json_call(
        &mut nurse,
        Method::GET,
        &format!("/api/v1/patients/{}/sessions", f.c.patient_id),
        json!(null),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v[0]["status"], "signed");
}

/// A session's chart opens on its day; on another day only with a
/// clinician's reason, which the chart then shows; the same through the API.
async fn charts_open_on_their_day_or_with_a_reason(b: TestBackend) {
    let f = fixture(b).await;
    let st = f.c.app.store.clone();
    let (owner, now) = (actor(f.c.owner), needlepoint_store::now());
    let first = st.appointment(f.appointment).await.unwrap();
    let mut later = vec![];
    for days in [2, 3] {
        let start = first.starts_at + jiff::SignedDuration::from_hours(24 * days);
        later.push(
            st.book(
                &[NewAppointment {
                    clinic_id: first.clinic_id,
                    patient_id: first.patient_id,
                    plan_id: first.plan_id,
                    session_number: Some(days),
                    kind: needlepoint_domain::appointment::AppointmentKind::Session,
                    practitioner_id: None,
                    room_id: None,
                    device_id: None,
                    starts_at: start,
                    ends_at: start + jiff::SignedDuration::from_mins(90),
                    local_start: "later".into(),
                    time_zone: "Europe/London".into(),
                    window_override: None,
                    areas: None,
                }],
                &owner,
                now,
            )
            .await
            .unwrap()
            .remove(0)
            .id,
        );
    }
    let mut nurse = f.c.client_as(Role::Clinician).await;
    // On the day: straight to the chart.
    open_chart(&mut nurse, f.appointment).await;
    // Days ahead: the page asks why, and nothing is opened yet.
    let r = nurse
        .get(&format!("/appointments/{}/chart", later[0]))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Open the chart on another day?") && html.contains("off-day-reason"));
    assert!(st.chart_for_appointment(later[0]).await.unwrap().is_none());
    let r = nurse
        .post_form(
            &format!("/appointments/{}/chart", later[0]),
            &[("reason", "  ")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("its chart opens on that day"));
    assert!(st.chart_for_appointment(later[0]).await.unwrap().is_none());
    let r = nurse
        .post_form(
            &format!("/appointments/{}/chart", later[0]),
            &[(
                "reason",
                "Charting the consent review ahead of a long session",
            )],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let chart = st.chart_for_appointment(later[0]).await.unwrap().unwrap();
    assert_eq!(
        chart.off_day_reason.as_deref(),
        Some("Charting the consent review ahead of a long session")
    );
    let html = page(&mut nurse, chart.id).await;
    assert!(html.contains("Opened on another day than the session"));
    // Once open, it opens again without asking.
    assert_eq!(open_chart(&mut nurse, later[0]).await, chart.id);
    // The API: refused on the reason field, then opened with one.
    let path = format!("/api/v1/appointments/{}/session", later[1]);
    let (s, v) = json_call(&mut nurse, Method::POST, &path, json!(null)).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["fields"][0]["field"], "reason");
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("{path}?reason=Moved%20at%20short%20notice"),
        json!(null),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["off_day_reason"], "Moved at short notice");
}

/// A mole on the cheeks sent for checking after the plan was made: the
/// map greys the cheeks out with why, and charting them is refused with the
/// same words, nothing saved.
async fn zones_the_history_bars_are_grey_and_refused(b: TestBackend) {
    let f = fixture(b).await;
    let (mut nurse, chart) = needling(&f).await;
    let st = &f.c.app.store;
    let mut h = st
        .current_history(f.c.patient_id)
        .await
        .unwrap()
        .unwrap()
        .history;
    h.conditions
        .push(needlepoint_domain::history::ConditionEntry {
            code: "lesion_under_review".into(),
            areas: vec!["cheeks".into()],
            since: None,
            resolved_on: None,
            controlled: None,
            note: None,
        });
    st.add_history_version(
        f.c.patient_id,
        &h,
        "clinician",
        Some("a mole sent for checking"),
        &actor(f.c.clinician),
        needlepoint_store::now(),
    )
    .await
    .unwrap();
    let why = "A mole or patch being checked, in the area (until it resolves)";
    let html = page(&mut nurse, chart).await;
    assert!(
        html.contains("class='zone barred'"),
        "the cheeks are greyed out"
    );
    assert!(html.contains(&format!(
        "<title>Cheeks and zygoma: not to be needled today: {why}</title>"
    )));
    let r = zone(&mut nurse, chart, "cheeks", "1.0", "").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains(&format!(
        "Cheeks and zygoma must not be needled today: {why}."
    )));
    assert!(st.chart(chart).await.unwrap().zones.is_empty());
    let form = nurse
        .get(&format!("/sessions/{chart}?zone=cheeks"))
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("id=\"nogo-notice\"") && form.contains("must not be needled today"));
}

crate::both!(
    charts_open_on_their_day_or_with_a_reason,
    checklist_gates_the_start,
    zone_guardrails_refuse_and_flag,
    lots_are_checked_and_stock_moves_at_signoff,
    a_signed_session_is_read_only_and_amended_beside_the_original,
    an_override_needs_a_medical_directors_second_signoff,
    a_recall_lists_every_patient_and_messages_them_once,
    uploads_are_checked_cleaned_and_kept_by_content,
    no_photos_when_the_patient_declined_them,
    no_photos_before_a_consent_is_signed,
    the_api_charts_a_session_with_the_same_rules,
    zones_the_history_bars_are_grey_and_refused,
);
