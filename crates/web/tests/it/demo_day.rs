//! A day in the demo clinic, walked in headless Chromium as people would:
//! the front desk finds a patient from the header's search, sees and books
//! her course from her page, sends her the intake form and checks her in;
//! the clinician charts and signs her session. Every page on the way is
//! shown at desktop, tablet and phone widths (screenshots in
//! `test-artifacts/`), must not scroll sideways, and must pass axe-core.

use crate::browser::sign_in;
use crate::common::spawn_demo;
use crate::common::webdriver::Browser;
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_store::testing::TestBackend;

const PASSWORD: &str = "demo-password";

/// The page at the three widths: nothing wider than the window, a
/// screenshot of each (checked by axe-core as it is taken), then back to
/// the desktop.
pub async fn look(b: &Browser, backend: TestBackend, name: &str) {
    let db = match backend {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgres",
    };
    for (width_name, w, h) in [
        ("desktop", 1280, 900),
        ("tablet", 1024, 768),
        ("phone", 390, 844),
    ] {
        b.resize(w, h).await;
        b.settle().await;
        // The picture first, so that a page failing below can be seen.
        b.screenshot_full(&format!("{db}-demo-{name}-{width_name}"), w, h)
            .await;
        let overflow = b
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            )
            .await
            .as_i64()
            .unwrap();
        if overflow > 0 {
            // Name what sticks out, to find it without a screenshot.
            let wide = b
                .execute(
                    "const w = document.documentElement.clientWidth;
                     return [...document.querySelectorAll('body *')]
                       .filter(e => e.getBoundingClientRect().right > w + 0.5)
                       .slice(0, 5)
                       .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ': ' + e.textContent.trim().slice(0, 40));",
                )
                .await;
            panic!(
                "{name} at {width_name}: {overflow}px sideways on {}: {wide}",
                b.url().await
            );
        }
    }
    b.resize(1280, 900).await;
}

async fn a_day_in_the_demo_clinic(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let st = d.app.store.clone();
    let base = d.app.base.clone();
    let kb = needlepoint_knowledge::shipped().unwrap();

    // The patient still to come this afternoon: booked, nothing else yet.
    let desk_id = st
        .staff_credentials("frontdesk@demo.needlepoint.test")
        .await
        .unwrap()
        .unwrap()
        .staff
        .id;
    let bristol = st.clinics_for_staff(desk_id).await.unwrap()[0].id;
    let today = st
        .appointments(
            bristol,
            "2027-03-10T00:00:00Z".parse().unwrap(),
            "2027-03-11T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    let a = today
        .iter()
        .find(|a| a.status == AppointmentStatus::Booked)
        .expect("someone is still to come")
        .clone();
    let p = st.patient(a.patient_id).await.unwrap();
    let name = p.details.full_name();

    let b = Browser::start().await;
    sign_in(&b, &base, "frontdesk@demo.needlepoint.test", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.wait_for_text("main", &name).await;
    look(&b, backend, "01-today-front-desk").await;

    // Found from the header: typed, chosen with the arrow key, opened
    // with Enter.
    b.type_into("#header-search", &name).await;
    let found = b.wait_for_text("#header-search-results li", &name).await;
    assert!(found.contains("born"), "{found}");
    b.press("#header-search", "\u{E015}").await;
    assert_eq!(
        b.execute("return document.getElementById('header-search').getAttribute('aria-activedescendant');")
            .await,
        serde_json::json!(format!("suggest-{}", p.id)),
        "the arrow key chooses her"
    );
    b.press("#header-search", "\u{E007}").await;
    b.wait_for_url(&format!("/patients/{}", p.id)).await;

    // Her page: today's session, and the rest of her course to book.
    b.wait_for_text("#course", "to book").await;
    b.wait_for_text("#upcoming", "Session 1").await;
    look(&b, backend, "02-patient-front-desk").await;
    b.click("#book-course").await;
    b.click("#propose-times").await;
    b.wait_for_text("#proposal", "Session 2").await;
    look(&b, backend, "03-book-the-course").await;
    b.click("#book-all").await;
    b.wait_for_url("/calendar").await;
    b.goto(&format!("{base}/patients/{}", p.id)).await;
    let upcoming = b.wait_for_text("#upcoming", "Session 2").await;
    assert!(upcoming.contains("Session 1"), "{upcoming}");
    look(&b, backend, "04-patient-course-booked").await;

    // The intake form goes to her by e-mail.
    b.click("#send-intake-link").await;
    let sent = b.wait_for_text("#link-sent", "Sent by e-mail to").await;
    assert!(sent.contains(&p.details.email.as_ref().unwrap().to_string()));
    let url = b.text("#intake-url").await;
    let message = st.patient_messages(p.id, 1).await.unwrap().remove(0);
    assert_eq!(message.kind, "intake_link");
    assert!(message.body.contains(&url), "the message carries the link");
    look(&b, backend, "05-intake-form-sent").await;

    // She arrives: checked in from Today.
    b.goto(&format!("{base}/today")).await;
    b.click(&format!("#appt-{}-checked_in", a.id)).await;
    b.find(&format!("#appt-{}-completed", a.id)).await;
    assert_eq!(
        st.appointment(a.id).await.unwrap().status,
        AppointmentStatus::CheckedIn
    );
    look(&b, backend, "06-today-checked-in").await;
    b.click(".who form button").await;
    b.wait_for_url("/login").await;

    // The clinician charts her session: numbing cream, baseline photos,
    // each planned zone from the map, the cartridge lot, the signature.
    sign_in(&b, &base, "clinician@demo.needlepoint.test", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.click(&format!("#chart-{}", a.id)).await;
    b.wait_for_url("/sessions/").await;
    b.wait_for_text("#checklist", "Before needling").await;
    look(&b, backend, "07-chart-checklist").await;
    // The numbing cream goes on with one tap; the page counts down on the
    // clinic's clock (standing at 15:00 here), and 40 minutes later the
    // checklist passes.
    b.click("#cream-on-now").await;
    let countdown = b
        .wait_for_text("#numbing-countdown", "ready at 15:30")
        .await;
    assert!(countdown.contains("30 min to go"), "{countdown}");
    look(&b, backend, "07b-numbing-countdown").await;
    // Two steps of 20 minutes, a page seen between, as a clinician at
    // work would: the idle sign-out does not fall between them.
    let url = b.url().await;
    let chart: String = url
        .split("/sessions/")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let chart_url = format!("{base}/sessions/{chart}");
    for _ in 0..2 {
        d.clock
            .set(d.clock.now() + jiff::SignedDuration::from_mins(20));
        b.goto(&chart_url).await;
        b.wait_for_text("#checklist", "Before needling").await;
    }
    b.click("#checklist-save").await;
    b.wait_for_text("#checklist", "Topical anaesthetic on long enough")
        .await;
    assert!(!b.exists("#numbing-countdown").await);
    // Each photo form offers the next view still to take.
    let areas = a.areas.clone().unwrap_or_default();
    let dir = needlepoint_store::testing::temp_dir("demo-photos");
    // A photo over the limit is refused as it is chosen, before the upload.
    let big = dir.join("big.jpg");
    std::fs::write(&big, vec![0xFFu8; 26 * 1024 * 1024]).unwrap();
    b.choose_file("#photo-file", &big).await;
    let said = b
        .execute("return document.getElementById('photo-file').validationMessage;")
        .await;
    assert_eq!(
        said.as_str(),
        Some("The file is 26 MB; photos up to 25 MB are accepted."),
        "{said}"
    );
    for (i, view) in needlepoint_domain::charting::required_views(&kb, &areas)
        .iter()
        .enumerate()
    {
        assert_eq!(
            b.value("#photo-view").await,
            *view,
            "the view offered is the next one needed"
        );
        let path = dir.join(format!("{i}.jpg"));
        std::fs::write(&path, crate::charting::jpeg(false)).unwrap();
        b.choose_file("#photo-file", &path).await;
        b.click("#photo-upload").await;
        b.wait_for_text("#photos .thumbs", "").await;
    }
    b.wait_for_text("#checklist", "Baseline photos taken.")
        .await;
    b.click("#start-session").await;
    b.wait_for_text("#chart-status", "needling").await;
    // Each zone from the map (named on it), saved in place: the page is
    // not reloaded and does not jump.
    b.execute("window.stillHere = true;").await;
    for area in &areas {
        let zone_name = kb.area(area).map(|x| x.name.clone()).unwrap();
        let on_map = b.text(&format!("#map-{area} .zone-name")).await;
        assert!(
            !on_map.is_empty() && zone_name.starts_with(&on_map),
            "{on_map}"
        );
        b.click(&format!("#map-{area} :is(path, ellipse, rect, polygon)"))
            .await;
        b.wait_for_text("#zone-form", "Usual depth").await;
        b.type_into("#zone-passes", "3").await;
        b.click("#endpoint-erythema").await;
        b.click("#zone-save").await;
        b.wait_for_text("#zone-table", &zone_name).await;
        assert!(
            b.exists(&format!("#map-{area}.charted")).await,
            "the map shows it charted"
        );
        assert_eq!(
            b.execute("return window.stillHere === true;").await,
            serde_json::json!(true),
            "saved in place, not by a new page"
        );
        // No jump: the map is still in sight where the clinician works.
        let in_sight = b
            .execute(
                "const r = document.querySelector('#zones .map-wrap').getBoundingClientRect();
                 return r.bottom > 0 && r.top < window.innerHeight && window.scrollY > 0;",
            )
            .await;
        assert_eq!(in_sight, serde_json::json!(true), "the map stays in sight");
    }
    let lot = st
        .lots(bristol)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.lot_number == "CA24-0912")
        .unwrap();
    b.click(&format!("#lot-id option[value='{}']", lot.id))
        .await;
    b.click("#lot-add").await;
    b.wait_for_text("#lot-table", "CA24-0912").await;
    look(&b, backend, "08-chart-charted").await;
    b.click("#sign-session").await;
    b.wait_for_text("#signed-notice", "Signed by Dr Samira Haddad")
        .await;
    look(&b, backend, "09-chart-signed").await;
    assert_eq!(
        st.appointment(a.id).await.unwrap().status,
        AppointmentStatus::Completed,
        "signing completes the appointment"
    );
    b.quit().await;
}

crate::both!(a_day_in_the_demo_clinic);

/// The accessibility check itself can fail: a field with no name and a
/// button with no text are found, as serious or critical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_unnamed_controls() {
    let b = Browser::start().await;
    b.goto("data:text/html,<!doctype html><html lang=en><title>t</title><main><input type=text><button></button></main></html>")
        .await;
    let found = b.accessibility_violations().await;
    assert!(
        found.iter().any(|v| v.contains("critical label"))
            && found.iter().any(|v| v.contains("button-name")),
        "{found:?}"
    );
    b.quit().await;
}
