//! End to end in headless Chromium against the real server: first-run
//! setup, sign-in (wrong then right), a new patient found by live search,
//! sign-out, and a front-desk member refused the clinical record.

use crate::common::webdriver::Browser;
use crate::common::{spawn_app, PASSWORD};
use needlepoint_store::testing::TestBackend;

async fn sign_in(b: &Browser, base: &str, email: &str, password: &str) {
    b.goto(&format!("{base}/login")).await;
    b.type_into("#email", email).await;
    b.type_into("#password", password).await;
    b.click("#sign-in").await;
}

async fn sign_out(b: &Browser) {
    b.click(".who form button").await;
    b.wait_for_url("/login").await;
}

async fn a_clinic_day(backend: TestBackend) {
    let app = spawn_app(backend).await;
    let base = app.base.clone();
    let shot = |name: &str| {
        format!(
            "{}-{name}",
            match backend {
                TestBackend::Sqlite => "sqlite",
                TestBackend::Postgres => "postgres",
            }
        )
    };
    let b = Browser::start().await;

    // First run: the setup page, then Settings as the new owner.
    b.goto(&base).await;
    b.wait_for_url("/setup").await;
    b.screenshot(&shot("01-setup")).await;
    b.type_into("#organisation", "Harbour Skin").await;
    b.type_into("#clinic_name", "Harbour Clinic").await;
    b.type_into("#time_zone", "Europe/London").await;
    b.type_into("#name", "Helen Marsh").await;
    b.type_into("#email", "helen@example.com").await;
    b.type_into("#password", PASSWORD).await;
    b.type_into("#password_confirm", PASSWORD).await;
    b.click("#create-owner").await;
    b.wait_for_url("/settings").await;
    b.wait_for_text("h1", "Settings").await;

    // The owner adds a front-desk colleague.
    b.click("#staff details summary").await;
    b.type_into("#add-staff-name", "Tom Reid").await;
    b.type_into("#add-staff-email", "tom@example.com").await;
    b.click("#add-staff-role option[value=front_desk]").await;
    b.type_into("#add-staff-password", PASSWORD).await;
    b.click("#add-staff input[name=clinic_ids]").await;
    b.click("#add-staff button[type=submit]").await;
    b.wait_for_text("#staff", "tom@example.com").await;
    b.screenshot(&shot("02-settings")).await;
    sign_out(&b).await;

    // A wrong password is refused with a message; the right one gets in.
    sign_in(&b, &base, "helen@example.com", "not my password").await;
    let msg = b.wait_for_text("#login-error", "do not match").await;
    assert!(msg.contains("e-mail and password"));
    b.screenshot(&shot("03-login-refused")).await;
    sign_in(&b, &base, "helen@example.com", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.wait_for_text("h1", "Helen").await;
    b.screenshot(&shot("04-today")).await;

    // A new patient, first with a mistake that comes back beside its field.
    b.click("nav.main a[href='/patients']").await;
    b.click("#new-patient").await;
    b.type_into("#given_name", "Amara").await;
    b.type_into("#family_name", "Okafor").await;
    b.type_into("#email", "amara@example.com").await;
    b.click("#save-patient").await;
    b.wait_for_text("#date_of_birth-error", "required").await;
    assert_eq!(
        b.value("#given_name").await,
        "Amara",
        "what was typed is kept"
    );
    b.screenshot(&shot("05-patient-form-error")).await;
    // Chromium's date input takes the digits of the locale's order (en-US: mm dd yyyy).
    b.type_into("#date_of_birth", "02281990").await;
    b.click("#save-patient").await;
    b.wait_for_text("#patient-name", "Amara Okafor").await;
    b.screenshot(&shot("06-patient")).await;
    let page = b.text("main").await;
    assert!(page.contains("born 28 Feb 1990"), "{page}");

    // Found again by live search (htmx) as the name is typed.
    b.click("nav.main a[href='/patients']").await;
    b.type_into("#patient-search", "okaf").await;
    b.wait_for_text("#patient-results", "Okafor, Amara").await;
    b.screenshot(&shot("07-search")).await;
    b.type_into("#patient-search", "nobody-by-this-name").await;
    b.wait_for_text("#patient-results", "No patients found")
        .await;
    let url = format!("{base}/patients/{}", patient_id(&app).await);
    sign_out(&b).await;

    // The front desk may see the patient, not the clinical record.
    sign_in(&b, &base, "tom@example.com", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.goto(&url).await;
    b.wait_for_text("#patient-name", "Amara Okafor").await;
    assert!(
        !b.exists("#clinical-record").await,
        "no link to what they may not open"
    );
    b.goto(&format!("{url}/notes")).await;
    b.wait_for_text("h1", "Not available to your role").await;
    b.screenshot(&shot("08-front-desk-refused")).await;
    b.quit().await;
}

async fn patient_id(app: &crate::common::TestApp) -> i64 {
    let owner = app
        .store
        .staff_credentials("helen@example.com")
        .await
        .unwrap()
        .unwrap()
        .staff;
    app.store
        .search_patients(owner.id, None, "okafor", 1, 0)
        .await
        .unwrap()
        .patients[0]
        .id
}

crate::both!(a_clinic_day);

/// Chromium's date input takes the digits in the locale's order (en-US).
fn typed(d: jiff::civil::Date) -> String {
    d.strftime("%m%d%Y").to_string()
}

/// The patient answers the intake form on a link; a clinician confirms the
/// answers and screens: the forehead is deferred, with the date and reason.
async fn intake_confirm_screen(backend: TestBackend) {
    let c = crate::common::spawn_clinic(backend).await;
    let base = c.app.base.clone();
    let shot = |name: &str| {
        format!(
            "{}-{name}",
            match backend {
                TestBackend::Sqlite => "sqlite",
                TestBackend::Postgres => "postgres",
            }
        )
    };
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Europe/London").unwrap())
        .date();
    let injected = today - jiff::Span::new().days(5);
    let until = injected + jiff::Span::new().days(14);
    let b = Browser::start().await;

    // The front desk makes the link.
    sign_in(&b, &base, "desk@example.com", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.goto(&format!("{base}/patients/{}", c.patient_id)).await;
    b.click("#send-intake-link").await;
    let url = b.text("#intake-url").await;
    assert!(url.contains("/intake/"), "{url}");
    b.screenshot(&shot("10-intake-link")).await;
    sign_out(&b).await;

    // The patient, without an account, one step at a time.
    b.goto(&url).await;
    b.wait_for_text("h1", "Hello Amara").await;
    b.screenshot(&shot("11-intake-start")).await;
    b.click("#step-next").await; // pregnancy: no (default)
    b.click("#step-next").await;
    b.click("input[name=fitzpatrick][value='3']").await;
    b.click("#step-next").await; // health: no (defaults)
    b.click("#step-next").await; // medicines: no
    b.click("#step-next").await; // allergies: none
    b.click("#step-next").await;
    b.click("#event-neurotoxin").await;
    b.type_into("#event-neurotoxin-on", &typed(injected)).await;
    b.click("div.question:has(#event-neurotoxin) details summary")
        .await;
    b.click("input[name='event.neurotoxin.areas'][value=forehead]")
        .await;
    b.screenshot(&shot("12-intake-events")).await;
    b.click("#step-next").await;
    b.click("#concern1-indication option[value=fine_lines]")
        .await;
    b.click("#concern1-area option[value=forehead]").await;
    b.click("#step-next").await;
    b.click("#send-intake").await;
    b.wait_for_text("#intake-done", "Thank you").await;
    b.goto(&url).await;
    b.wait_for_text("h1", "already sent").await;

    // A clinician confirms the answers and screens.
    sign_in(&b, &base, "clinician@example.com", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.goto(&format!("{base}/patients/{}", c.patient_id)).await;
    b.click("#review-intake").await;
    b.wait_for_text("#pending-intake", "Neurotoxin").await;
    b.screenshot(&shot("13-history-review")).await;
    b.click("#confirm-intake").await;
    b.wait_for_text("main", "from the patient's intake answers")
        .await;
    b.click("#go-screen").await;
    b.wait_for_url("/screenings").await;
    b.click("#run-screening").await;
    let outcome = b
        .wait_for_text("#screening-outcome", "Deferred until")
        .await;
    assert_eq!(
        outcome,
        format!("Deferred until {}", until.strftime("%-d %b %Y"))
    );
    let reasons = b.text("#reasons").await;
    assert!(
        reasons.contains("Neurotoxin in the area") && reasons.contains(&injected.to_string()),
        "{reasons}"
    );
    assert!(reasons.contains("source: Common practice"), "{reasons}");
    b.screenshot(&shot("14-screening-deferred")).await;
    b.goto(&format!("{base}/patients/{}", c.patient_id)).await;
    b.wait_for_text("#screening-summary", "Deferred until")
        .await;
    b.screenshot(&shot("15-patient-screened")).await;
    b.quit().await;
}

mod intake {
    crate::both!(intake_confirm_screen);
    use super::intake_confirm_screen;
}
