//! End to end in headless Chromium against the real server: first-run
//! setup, sign-in (wrong then right), a new patient found by live search,
//! sign-out, and a front-desk member refused the clinical record.

use crate::common::webdriver::Browser;
use crate::common::{spawn_app, PASSWORD};
use needlepoint_store::testing::TestBackend;

/// A screenshot's file name, per database.
fn shot_name(backend: TestBackend, name: &str) -> String {
    let db = match backend {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgres",
    };
    format!("{db}-{name}")
}

/// The menu's and the account's links that are out of sight: outside the
/// window, or scrolled out of the menu's own box.
async fn links_out_of_sight(b: &Browser) -> serde_json::Value {
    b.execute(
        "const nav = document.querySelector('nav.main').getBoundingClientRect();
         return [...document.querySelectorAll('nav.main a, .who a')]
           .filter(a => a.offsetParent !== null)
           .filter(a => { const r = a.getBoundingClientRect();
                          const inNav = a.closest('nav.main') !== null;
                          return r.left < 0 || r.right > window.innerWidth + 0.5
                              || (inNav && (r.left < nav.left - 0.5 || r.right > nav.right + 0.5)); })
           .map(a => a.textContent.trim());",
    )
    .await
}

pub async fn sign_in(b: &Browser, base: &str, email: &str, password: &str) {
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
    let shot = |name: &str| shot_name(backend, name);
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
    // Owners sign in with a second factor: the authenticator app is set up
    // first (the code computed here as the app would), then Settings.
    b.wait_for_url("/login/two-factor").await;
    b.wait_for_text("h1", "Set up two-factor sign-in").await;
    b.screenshot(&shot("01b-two-factor-set-up")).await;
    let secret = b.value("input[name=secret]").await;
    let code = needlepoint_practice::two_factor::code_at(&secret, jiff::Timestamp::now()).unwrap();
    b.type_into("#code", &code).await;
    b.click("#confirm-code").await;
    let codes = b.wait_for_text("#recovery-codes", "-").await;
    let recovery = codes.split_whitespace().next().unwrap().to_string();
    b.screenshot(&shot("01c-recovery-codes")).await;
    b.click("#continue").await;
    b.wait_for_url("/settings").await;
    b.wait_for_text("h1", "Settings").await;
    // An owner's whole menu is in sight on a desktop.
    assert_eq!(
        links_out_of_sight(&b).await,
        serde_json::json!([]),
        "the owner's menu"
    );

    // The owner adds a front-desk colleague, on the settings' staff page.
    b.click("#settings-staff").await;
    b.wait_for_url("section=staff").await;
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
    // The code just used works once: a recovery code instead.
    b.wait_for_url("/login/two-factor").await;
    b.type_into("#code", &recovery).await;
    b.click("#confirm-code").await;
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
        .search_patients(owner.id, None, "okafor", 1, None)
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
    let shot = |name: &str| shot_name(backend, name);
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
    b.click("#step-next").await;
    answer_no(&b).await; // pregnancy
    b.click("#step-next").await;
    b.click("input[name=fitzpatrick][value='3']").await;
    b.click("#step-next").await;
    for _ in 0..4 {
        answer_no(&b).await; // skin, health, medicines, allergies
        b.click("#step-next").await;
    }
    answer_no(&b).await;
    b.click("#event-neurotoxin-yes").await;
    b.type_into("#event-neurotoxin-on", &typed(injected)).await;
    // A Yes opens "where?" by itself.
    assert_eq!(
        b.execute("return document.querySelector('div.question:has(#event-neurotoxin-yes) details.where').open;")
            .await,
        serde_json::json!(true)
    );
    b.click("input[name='event.neurotoxin.areas'][value=forehead]")
        .await;
    b.screenshot(&shot("12-intake-events")).await;
    b.click("#step-next").await;
    b.click("#concern1-indication option[value=fine_lines]")
        .await;
    b.click("#concern1-area option[value=forehead]").await;
    b.click("#step-next").await;
    let review = b.wait_for_text("#intake-review", "You told us").await;
    assert!(
        review.contains("Neurotoxin") || review.contains("wrinkle"),
        "{review}"
    );
    assert!(review.contains("(where: Forehead)"), "{review}");
    b.click("#declaration").await;
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
        reasons.contains("Neurotoxin in the area")
            && reasons.contains(&injected.strftime("%-d %b %Y").to_string()),
        "{reasons}"
    );
    assert!(reasons.contains("Source: Common practice"), "{reasons}");
    assert!(
        !reasons.contains("neurotoxin_area") && !reasons.contains("· common practice"),
        "no internal code, and the evidence said once: {reasons}"
    );
    b.screenshot(&shot("14-screening-deferred")).await;
    b.goto(&format!("{base}/patients/{}", c.patient_id)).await;
    b.wait_for_text("#screening-summary", "Deferred until")
        .await;
    b.screenshot(&shot("15-patient-screened")).await;
    b.quit().await;
}

/// Answers "No" to every question of the intake step on screen, one
/// click each, as a patient would.
async fn answer_no(b: &Browser) {
    let names = b
        .execute("return Array.from(document.querySelectorAll('fieldset.step.current input[type=radio][value=no]')).map(r => r.name);")
        .await;
    for name in names.as_array().unwrap() {
        b.click(&format!(
            "input[name='{}'][value=no]",
            name.as_str().unwrap()
        ))
        .await;
    }
}

/// On a phone, a patient in a hurry taps Next without answering: she is
/// stopped on the step, told how many questions are left, and cannot send
/// until every question is answered and the declaration ticked.
async fn intake_on_a_phone_waits_for_every_answer(backend: TestBackend) {
    let c = crate::common::spawn_clinic(backend).await;
    let shot = |name: &str| shot_name(backend, name);
    let mut desk = c.client_as(needlepoint_domain::Role::FrontDesk).await;
    let html = desk
        .post_form(&format!("/patients/{}/intake-links", c.patient_id), &[])
        .await
        .text()
        .await
        .unwrap();
    let start = html.find("/intake/").unwrap();
    let path = html[start..].split('<').next().unwrap().to_string();
    let b = Browser::start().await;
    b.resize(390, 844).await;
    b.goto(&format!("{}{path}", c.app.base)).await;
    b.wait_for_text("h1", "Hello Amara").await;
    b.click("#step-next").await;
    b.click("#step-next").await; // nothing answered
    b.wait_for_text("#step-problem", "Please answer the 2 questions")
        .await;
    assert_eq!(b.text("fieldset.step.current legend").await, "Pregnancy");
    b.screenshot(&shot("16-intake-phone-unanswered")).await;
    b.click("input[name=pregnant][value=no]").await;
    b.click("#step-next").await;
    b.wait_for_text("#step-problem", "Please answer the question marked below")
        .await;
    assert_eq!(b.text("fieldset.step.current legend").await, "Pregnancy");
    b.click("input[name=breastfeeding][value=no]").await;
    b.click("#step-next").await;
    b.wait_for_text("fieldset.step.current legend", "Your skin in the sun")
        .await;
    b.click("input[name=fitzpatrick][value=unsure]").await;
    b.click("#step-next").await;
    // The skin where she wants treatment, asked per area.
    b.wait_for_text(
        "fieldset.step.current legend",
        "Your skin where you want treatment",
    )
    .await;
    b.screenshot_full(&shot("16b-intake-phone-skin"), 390, 844)
        .await;
    answer_no(&b).await;
    b.click("#step-next").await;
    b.wait_for_text("fieldset.step.current legend", "Your health")
        .await;
    // Health: one question left unanswered stops the patient here.
    answer_no(&b).await;
    b.click("#cond-diabetes-unsure").await;
    b.execute(
        "document.querySelector('input[name=\"cond.keloid_tendency\"]:checked').checked = false;",
    )
    .await;
    b.click("#step-next").await;
    b.wait_for_text("#step-problem", "Please answer the question marked below")
        .await;
    b.screenshot(&shot("17-intake-phone-one-left")).await;
    b.click("input[name='cond.keloid_tendency'][value=no]")
        .await;
    b.click("#step-next").await;
    for _ in 0..3 {
        answer_no(&b).await; // medicines, allergies, recent treatments
        b.click("#step-next").await;
    }
    b.click("#step-next").await; // nothing to treat named
    let review = b.wait_for_text("#intake-review", "You told us").await;
    assert!(
        review.contains("diabetes") && review.contains("I am not sure"),
        "{review}"
    );
    b.screenshot(&shot("18-intake-phone-review")).await;
    // Sending without the declaration is refused by the server too.
    b.click("#send-intake").await;
    b.wait_for_text("#intake-problems", "Tick the box").await;
    assert!(c
        .app
        .store
        .pending_intakes(c.patient_id)
        .await
        .unwrap()
        .is_empty());
    b.click("#declaration").await;
    b.click("#send-intake").await;
    b.wait_for_text("#intake-done", "Thank you").await;
    let width = b
        .execute("return document.documentElement.scrollWidth;")
        .await
        .as_u64()
        .unwrap();
    assert!(
        width <= 390,
        "nothing overflows sideways on a phone ({width}px)"
    );
    let sent = c.app.store.pending_intakes(c.patient_id).await.unwrap();
    let h = &sent[0].history;
    assert_eq!(h.conditions.len(), 1);
    assert_eq!(h.conditions[0].code, "diabetes");
    assert_eq!(h.fitzpatrick, None, "not sure is left for the clinician");
    b.quit().await;
}

mod intake {
    crate::both!(intake_confirm_screen);
    use super::intake_confirm_screen;
}

mod intake_on_a_phone {
    crate::both!(intake_on_a_phone_waits_for_every_answer);
    use super::intake_on_a_phone_waits_for_every_answer;
}

/// A screened patient with a concern, and a price list, ready to plan.
pub async fn ready_to_plan(backend: TestBackend) -> crate::common::Clinic {
    ready_to_plan_for(backend, &["cheeks"]).await
}

/// As [`ready_to_plan`], with acne scars on each of `areas`.
pub async fn ready_to_plan_for(backend: TestBackend, areas: &[&str]) -> crate::common::Clinic {
    use needlepoint_domain::history::{Concern, PatientHistory, Severity};
    let c = crate::common::spawn_clinic(backend).await;
    let actor = needlepoint_store::Actor {
        staff_id: Some(c.clinician),
        label: "test".into(),
        channel: needlepoint_store::Channel::Web,
        ip: None,
    };
    let now = needlepoint_store::now();
    let kb = needlepoint_knowledge::shipped().unwrap();
    let h = PatientHistory {
        date_of_birth: Some(jiff::civil::date(1990, 2, 28)),
        fitzpatrick: Some(2),
        concerns: areas
            .iter()
            .map(|a| Concern {
                indication: "acne_scars".into(),
                area: a.to_string(),
                severity: Severity::Moderate,
            })
            .collect(),
        ..Default::default()
    };
    let v = c
        .app
        .store
        .add_history_version(c.patient_id, &h, "clinician", None, &actor, now)
        .await
        .unwrap();
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Europe/London").unwrap())
        .date();
    let areas: Vec<String> = areas.iter().map(|a| a.to_string()).collect();
    let s = needlepoint_domain::screening::screen(&kb, &h, &areas, today).unwrap();
    c.app
        .store
        .record_screening(c.patient_id, v.id, &s, &actor, now)
        .await
        .unwrap();
    let owner = needlepoint_store::Actor {
        staff_id: Some(c.owner),
        ..actor
    };
    for item in [
        needlepoint_domain::PriceItemDetails::parse_typed(
            "area", "cheeks", "Cheeks", "150", "GBP", "cheeks", "", "",
        )
        .unwrap(),
        needlepoint_domain::PriceItemDetails::parse_typed(
            "package",
            "three",
            "Course of 3: 10 % off",
            "",
            "GBP",
            "",
            "3",
            "10",
        )
        .unwrap(),
    ] {
        c.app
            .store
            .create_price_item(c.clinic_id, &item, &owner, now)
            .await
            .unwrap();
    }
    let vat = needlepoint_domain::ClinicPricing {
        currency: "GBP".into(),
        tax_rate_bp: 2000,
        tax_included: true,
    };
    c.app
        .store
        .set_clinic_pricing(c.clinic_id, &vat, &owner, now)
        .await
        .unwrap();
    c
}

/// From a screened patient to an accepted plan with a signed consent and a
/// printed quote.
async fn plan_consent_accept_print(backend: TestBackend) {
    let c = ready_to_plan(backend).await;
    let base = c.app.base.clone();
    let shot = |name: &str| shot_name(backend, name);
    let b = Browser::start().await;
    sign_in(&b, &base, "clinician@example.com", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.goto(&format!("{base}/patients/{}", c.patient_id)).await;
    b.click("#plans-link").await;
    b.click("#propose-plan").await;
    b.wait_for_text("#plan-status", "Proposed").await;
    // 150 × 3 = 450, less 10 % = 405, VAT included.
    assert_eq!(b.text("#quote-total").await, "£405.00");
    b.screenshot(&shot("20-plan-proposed")).await;

    // Accepting before consent is refused, with the reason.
    b.click("#to-accepted").await;
    b.wait_for_text("#plan-errors", "has not signed a consent")
        .await;

    b.click("#sign-consent").await;
    b.wait_for_text("#consent-document", "Cheeks and zygoma: 0.5-1.5 mm")
        .await;
    b.click("input[name=photo_use][value=anonymised]").await;
    b.type_into("#typed_name", "Amara Okafor").await;
    b.click("#sign").await;
    b.wait_for_text("#consent-errors", "Draw your signature")
        .await;
    b.click("input[name=photo_use][value=anonymised]").await;
    b.draw("#signature-pad").await;
    b.screenshot(&shot("21-consent-signing")).await;
    b.click("#sign").await;
    b.wait_for_text("main", "covers this plan").await;
    b.click("#to-accepted").await;
    b.wait_for_text("#plan-status", "Accepted").await;
    assert!(
        !b.exists("#save-plan").await,
        "an accepted plan is no longer editable"
    );
    b.screenshot(&shot("22-plan-accepted")).await;

    b.click("#print-plan").await;
    b.wait_for_text("body", "Total").await;
    let page = b.text("body").await;
    assert!(
        page.contains("£405.00")
            && page.contains("Signed by Amara Okafor")
            && page.contains("SHA-256"),
        "{page}"
    );
    let a4 = b.print_pdf(&shot("23-plan-a4"), 21.0, 29.7).await;
    let letter = b.print_pdf(&shot("23-plan-letter"), 21.59, 27.94).await;
    for pdf in [&a4, &letter] {
        let pages = pdf
            .windows(10)
            .filter(|w| w == b"/Type /Pag" || w == b"/Type/Page")
            .count();
        assert!(
            (2..=6).contains(&pages),
            "plan and quote, then the consent: {pages} pages"
        );
    }
    b.screenshot(&shot("24-plan-print")).await;

    let consent = &c
        .app
        .store
        .consents(c.app.store.plans(c.patient_id).await.unwrap()[0].id)
        .await
        .unwrap()[0];
    use sha2::Digest;
    assert_eq!(
        crate::common::hex(&sha2::Sha256::digest(consent.text.as_bytes())),
        consent.sha256,
        "the hash is of the frozen text"
    );
    assert!(consent
        .text
        .contains("Photo use chosen: In my record, and anonymised"));
    b.quit().await;
}

/// An off-guideline depth needs a reason and is flagged; beyond the device
/// it is refused whatever the reason.
async fn off_guideline_depth_is_flagged(backend: TestBackend) {
    let c = ready_to_plan(backend).await;
    let base = c.app.base.clone();
    let shot = |name: &str| shot_name(backend, name);
    let b = Browser::start().await;
    sign_in(&b, &base, "clinician@example.com", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.goto(&format!("{base}/patients/{}/plans", c.patient_id))
        .await;
    b.click("#propose-plan").await;
    b.wait_for_text("#plan-status", "Proposed").await;

    b.type_into("#depth_max_0", "2.0").await;
    b.click("#save-plan").await;
    b.wait_for_text("#plan-errors", "outside the guideline")
        .await;
    assert_eq!(
        b.value("#depth_max_0").await,
        "2.0",
        "what was typed is kept"
    );

    b.type_into("#depth_max_0", "3.0").await;
    b.type_into("#reason_0", "Deep boxcar scars").await;
    b.click("#save-plan").await;
    b.wait_for_text("#plan-errors", "beyond what SkinPen Precision allows")
        .await;

    b.type_into("#depth_max_0", "2.0").await;
    b.type_into("#reason_0", "Deep boxcar scars; tolerated 2.0 mm before")
        .await;
    b.click("#save-plan").await;
    let flags = b.wait_for_text("#plan-flags", "Deep boxcar scars").await;
    assert!(
        flags.contains("0.5–2 mm is outside the guideline of 0.5–1.5 mm"),
        "{flags}"
    );
    assert!(b.text("#plan-areas").await.contains("flagged"));
    b.screenshot(&shot("25-plan-flagged")).await;
    b.click("#print-plan").await;
    assert!(
        b.wait_for_text("body", "Outside the guideline")
            .await
            .contains("Deep boxcar scars"),
        "flagged on the printout too"
    );
    b.quit().await;
}

mod plans {
    use super::{
        off_guideline_depth_is_flagged, plan_consent_accept_print, the_consent_reads_on_a_phone,
    };
    crate::both!(
        plan_consent_accept_print,
        off_guideline_depth_is_flagged,
        the_consent_reads_on_a_phone
    );
}

/// What a patient reads on her phone before signing: the consent with its
/// aftercare (each duty with its window), what to expect and the warning
/// signs by urgency, 390 px wide, nothing wider than the screen, text no
/// smaller than 15 px. Full-page screenshots go to `test-artifacts/`.
async fn the_consent_reads_on_a_phone(backend: TestBackend) {
    use crate::common::json_call;
    use needlepoint_domain::Role;
    let c = ready_to_plan(backend).await;
    let shot = |name: &str| shot_name(backend, name);
    let mut nurse = c.client_as(Role::Clinician).await;
    let (s, p) = json_call(
        &mut nurse,
        reqwest::Method::POST,
        &format!("/api/v1/patients/{}/plans", c.patient_id),
        serde_json::json!({"device": "skinpen"}),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let html = nurse
        .post_form(
            &format!("/patients/{}/plans/{}/consent-links", c.patient_id, p["id"]),
            &[],
        )
        .await
        .text()
        .await
        .unwrap();
    let start = html.find("/consent/").unwrap();
    let path = html[start..].split('<').next().unwrap().to_string();

    let b = Browser::start().await;
    b.resize(390, 844).await;
    b.goto(&format!("{}{path}", c.app.base)).await;
    let doc = b
        .wait_for_text("#consent-document", "Afterwards, I agree to")
        .await;
    for words in [
        "For the first 8 hours: put nothing on the skin",
        "What to expect",
        "Call emergency services at once",
        "Call the clinic the same day",
    ] {
        assert!(doc.contains(words), "{words:?} missing:\n{doc}");
    }
    let wide = b
        .execute("return document.documentElement.scrollWidth;")
        .await
        .as_u64()
        .unwrap();
    assert!(wide <= 390, "the page is {wide} px wide on a 390 px phone");
    let smallest = b
        .execute(
            "return Math.min(...Array.from(document.querySelectorAll('#consent-document, #consent-document *'))\
             .filter(e => e.textContent.trim()).map(e => parseFloat(getComputedStyle(e).fontSize)));",
        )
        .await
        .as_f64()
        .unwrap();
    assert!(smallest >= 15.0, "consent text as small as {smallest} px");
    // A risk's source on demand.
    b.click("#consent-document details.source summary").await;
    let source = b.text("#consent-document details.source[open]").await;
    assert!(source.contains("et al."), "{source}");
    b.screenshot_full(&shot("26-consent-phone"), 390, 844).await;
    b.execute(
        "Array.from(document.querySelectorAll('#consent-document *'))\
         .find(e => e.textContent.startsWith('Afterwards, I agree to')).scrollIntoView();",
    )
    .await;
    b.screenshot(&shot("27-consent-aftercare-phone")).await;
    b.quit().await;
}

/// An accepted plan's four sessions booked in one step, then seen on the
/// clinic's week view.
async fn book_a_course_from_a_plan(backend: TestBackend) {
    use jiff::civil::{time, Weekday};
    let c = ready_to_plan(backend).await;
    let owner = needlepoint_store::Actor {
        staff_id: Some(c.owner),
        label: "test".into(),
        channel: needlepoint_store::Channel::Web,
        ip: None,
    };
    let now = needlepoint_store::now();
    let hours = needlepoint_domain::scheduling::WeeklyHours::weekdays(
        time(9, 0, 0, 0),
        time(18, 0, 0, 0),
        Weekday::Saturday,
    );
    c.app
        .store
        .set_clinic_hours(c.clinic_id, &hours, &owner, now)
        .await
        .unwrap();
    c.app
        .store
        .create_room(
            c.clinic_id,
            &needlepoint_domain::RoomDetails::parse("Room 1").unwrap(),
            &owner,
            now,
        )
        .await
        .unwrap();
    let pen =
        needlepoint_domain::DeviceDetails::parse("Pen A", "SkinPen Precision", "", "2.5").unwrap();
    c.app
        .store
        .create_device(c.clinic_id, &pen, &owner, now)
        .await
        .unwrap();

    let base = c.app.base.clone();
    let shot = |name: &str| shot_name(backend, name);
    let b = Browser::start().await;
    sign_in(&b, &base, "clinician@example.com", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.goto(&format!("{base}/patients/{}/plans", c.patient_id))
        .await;
    b.click("#propose-plan").await;
    b.wait_for_text("#plan-status", "Proposed").await;
    b.type_into("#sessions_0", "4").await;
    b.click("#save-plan").await;
    b.wait_for_text("main", "version 2").await;
    b.click("#sign-consent").await;
    b.click("input[name=photo_use][value=clinical_record_only]")
        .await;
    b.type_into("#typed_name", "Amara Okafor").await;
    // Signed from the keyboard: Enter on the pad writes the typed name.
    b.press("#signature-pad", "\u{E007}").await;
    assert!(
        b.value("#signature")
            .await
            .starts_with("data:image/png;base64,"),
        "the typed name became the signature"
    );
    b.click("#sign").await;
    b.wait_for_text("main", "covers this plan").await;
    b.click("#to-accepted").await;
    b.wait_for_text("#plan-status", "Accepted").await;

    b.click("#book-course").await;
    b.click("input[name=day][value=Tue]").await;
    b.click("#time option[value=morning]").await;
    b.click("#propose-times").await;
    let proposal = b.wait_for_text("#proposal", "Session 4").await;
    assert!(proposal.contains("Test Clinician"), "{proposal}");
    b.screenshot(&shot("30-booking-proposal")).await;
    b.click("#book-all").await;
    b.wait_for_url("/calendar").await;
    let week = b.wait_for_text("#week", "Session 1").await;
    assert!(
        week.contains("Amara Okafor") && week.contains("Room 1"),
        "{week}"
    );
    b.screenshot(&shot("31-week-view")).await;

    let booked = c
        .app
        .store
        .patient_appointments(c.patient_id)
        .await
        .unwrap();
    assert_eq!(booked.len(), 4);
    let zone = jiff::tz::TimeZone::get("Europe/London").unwrap();
    for w in booked.windows(2) {
        let gap = (w[1].starts_at.to_zoned(zone.clone()).date()
            - w[0].starts_at.to_zoned(zone.clone()).date())
        .get_days();
        assert!(
            (28..=42).contains(&gap),
            "inside the 4–6 week window: {gap} days"
        );
    }
    assert!(
        booked
            .iter()
            .all(|a| a.starts_at.to_zoned(zone.clone()).hour() < 12),
        "mornings"
    );
    b.quit().await;
}

mod booking {
    use super::book_a_course_from_a_plan;
    crate::both!(book_a_course_from_a_plan);
}

/// The front desk clicks a free time on the day view, books a consultation
/// for a patient there, opens it and moves it; a time outside opening hours
/// is refused on the page with the reason.
async fn book_from_the_day_view(backend: TestBackend) {
    let (c, _plan) = crate::appointments::bookable(backend).await;
    let base = c.app.base.clone();
    let shot = |name: &str| shot_name(backend, name);
    let monday = {
        let mut d = needlepoint_store::now()
            .to_zoned(jiff::tz::TimeZone::get("Europe/London").unwrap())
            .date()
            + jiff::Span::new().days(7);
        while d.weekday() != jiff::civil::Weekday::Monday {
            d = d.tomorrow().unwrap();
        }
        d
    };
    let b = Browser::start().await;
    sign_in(&b, &base, "desk@example.com", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.goto(&format!(
        "{base}/calendar/day?clinic={}&date={monday}",
        c.clinic_id
    ))
    .await;
    b.wait_for_text("#day", "10:30").await;
    b.screenshot(&shot("40-day-view-empty")).await;
    b.click("#day a[aria-label='Book at 10:30']").await;
    b.wait_for_url("/appointments/new").await;
    b.type_into("#patient-q", "Okafor").await;
    b.click("form.searchbar button").await;
    b.click("#patient-matches a").await;
    b.wait_for_text("main", "For Amara Okafor").await;
    assert_eq!(
        b.value("#book-time").await,
        "10:30",
        "the clicked time is kept"
    );
    b.screenshot(&shot("41-book-one")).await;
    b.click("#book-at").await;
    b.wait_for_url("/appointments/").await;
    b.wait_for_text("main", "Consultation: Amara Okafor").await;
    b.screenshot(&shot("42-appointment")).await;

    // Moving it before opening time is refused, with the reason, on the page.
    b.type_into("#move-time", "0700AM").await;
    b.click("#move-submit").await;
    let why = b
        .wait_for_text("#appt-problem", "Outside opening hours")
        .await;
    assert!(why.contains("09:00-18:00"), "{why}");
    b.screenshot(&shot("43-move-refused")).await;
    b.type_into("#move-time", "0200PM").await;
    b.click("#move-submit").await;
    b.wait_for_text("main", "14:00–14:30").await;
    b.goto(&format!(
        "{base}/calendar/day?clinic={}&date={monday}",
        c.clinic_id
    ))
    .await;
    let day = b.wait_for_text("#day", "Amara Okafor").await;
    assert!(day.contains("14:00–14:30"), "{day}");
    b.screenshot(&shot("44-day-view-booked")).await;
    b.quit().await;
}

mod day_view {
    use super::book_from_the_day_view;
    crate::both!(book_from_the_day_view);
}

/// A clinician charts a whole first session on the face map: the checklist
/// (numbing time, three baseline photos through the guide), three zones,
/// the orbital rim refused, a cartridge lot, the sign-off; then tries to
/// change the signed record and is refused, and adds an amendment instead.
async fn chart_a_session(backend: TestBackend) {
    use needlepoint_domain::plan::PhotoUse;
    let f = crate::charting::fixture_for(
        backend,
        PhotoUse::ClinicalRecordOnly,
        &["cheeks", "forehead", "nose"],
    )
    .await;
    let base = f.c.app.base.clone();
    let shot = |name: &str| shot_name(backend, name);
    let dir = needlepoint_store::testing::temp_dir("photos-to-upload");
    let b = Browser::start().await;
    sign_in(&b, &base, "clinician@example.com", PASSWORD).await;
    b.wait_for_url("/today").await;
    b.click(&format!("#chart-{}", f.appointment)).await;
    b.wait_for_url("/sessions/").await;
    b.wait_for_text("#checklist", "Before needling").await;
    let chart: i64 = b.url().await.rsplit('/').next().unwrap().parse().unwrap();
    b.screenshot(&shot("50-chart-checklist")).await;

    // Numbing cream went on 40 minutes ago (or, just after midnight, none
    // was used, with the reason).
    let london = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let now = needlepoint_store::now().to_zoned(london);
    let on = &now - jiff::SignedDuration::from_mins(40);
    if on.date() == now.date() {
        b.type_into("#anaesthetic-at", &on.strftime("%I%M%p").to_string())
            .await;
    } else {
        b.type_into("#no-anaesthetic", "declined numbing cream")
            .await;
    }
    b.click("#checklist-save").await;
    b.wait_for_text("#checklist", "Topical anaesthetic on long enough")
        .await;
    let start_refused = b.text("#checklist").await;
    assert!(start_refused.contains("Baseline photos still to take"));

    // Three baseline photos, each through the guide overlay.
    for (i, view) in ["front", "left_45", "right_45"].iter().enumerate() {
        let path = dir.join(format!("{view}.jpg"));
        std::fs::write(&path, crate::charting::jpeg(i == 0)).unwrap();
        b.click(&format!("#photo-view option[value='{view}']"))
            .await;
        b.choose_file("#photo-file", &path).await;
        if i == 0 {
            b.find("#photo-guide:not([hidden])").await;
            b.screenshot(&shot("51-photo-guide")).await;
        }
        b.click("#photo-upload").await;
        b.wait_for_url("#photos").await;
        b.wait_for_text(
            "#photos .thumbs",
            match *view {
                "front" => "Front",
                "left_45" => "Left 45°",
                _ => "Right 45°",
            },
        )
        .await;
    }
    // A second front view, to compare.
    b.click("#photo-view option[value='front']").await;
    b.choose_file("#photo-file", &dir.join("left_45.jpg")).await;
    b.click("#photo-upload").await;
    // The URL already ends in #photos from the uploads before: wait for the
    // new page's checklist, not the URL.
    b.wait_for_text("#checklist", "Baseline photos taken.")
        .await;
    b.click("#start-session").await;
    b.wait_for_text("#chart-status", "needling").await;

    // The orbital rim is never needled: the map says so.
    b.click("#map-inside_orbital_rim ellipse").await;
    b.wait_for_text("#nogo-notice", "never needled").await;

    // Three zones from the face map; a depth typed wrong is refused at its
    // field and kept for correcting.
    for (zone, depth, endpoint) in [
        ("cheeks", "1.0", "pinpoint_bleeding"),
        ("forehead", "0.5", "erythema"),
        ("nose", "0.25", "erythema"),
    ] {
        b.click(&format!("#map-{zone} path")).await;
        b.wait_for_text("#zone-form", "Usual depth").await;
        if zone == "cheeks" {
            assert!(
                !b.value("#zone-depth").await.is_empty(),
                "the plan's depth is pre-filled"
            );
            b.type_into("#zone-depth", "-1").await;
            b.click(&format!("#endpoint-{endpoint}")).await;
            b.click("#zone-save").await;
            b.wait_for_text("#depth-error", "Depth cannot be negative.")
                .await;
            b.screenshot(&shot("52-zone-refused")).await;
        }
        b.type_into("#zone-depth", depth).await;
        b.type_into("#zone-passes", "3").await;
        b.type_into("#zone-speed", "single speed").await;
        b.click(&format!("#endpoint-{endpoint}")).await;
        b.click("#zone-save").await;
        b.wait_for_text("#zone-table", depth).await;
    }
    let table = b.text("#zone-table").await;
    for words in [
        "Cheeks and zygoma",
        "1.00 MM",
        "Forehead",
        "0.50 MM",
        "Nose",
        "0.25 MM",
        "Pinpoint bleeding",
    ] {
        assert!(
            table.to_uppercase().contains(&words.to_uppercase()),
            "{words} in {table}"
        );
    }

    b.execute("document.getElementById('zones').scrollIntoView()")
        .await;
    b.screenshot(&shot("53-chart-map")).await;

    // The cartridge lot used; then the sign-off.
    b.click(&format!("#lot-id option[value='{}']", f.cartridge))
        .await;
    b.click("#lot-add").await;
    b.wait_for_text("#lot-table", "C-100").await;
    b.screenshot(&shot("54-chart-charted")).await;
    b.click("#sign-session").await;
    b.wait_for_text("#signed-notice", "Signed by Test Clinician")
        .await;
    b.screenshot(&shot("55-chart-signed")).await;
    assert!(
        !b.exists("#zone-record").await
            && !b.exists("#lot-form").await
            && !b.exists("#photo-form").await
    );
    assert_eq!(f.c.app.store.lot(f.cartridge).await.unwrap().quantity, 9);

    // A mole on the neck sent for checking: the map greys the neck out and
    // says why, at every width.
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
            areas: vec!["neck".into()],
            since: None,
            resolved_on: None,
            controlled: None,
            note: None,
        });
    let clinician = needlepoint_store::Actor {
        staff_id: Some(f.c.clinician),
        label: "test".into(),
        channel: needlepoint_store::Channel::Web,
        ip: None,
    };
    st.add_history_version(
        f.c.patient_id,
        &h,
        "clinician",
        Some("a mole sent for checking"),
        &clinician,
        needlepoint_store::now(),
    )
    .await
    .unwrap();
    let chart_url = b.url().await;
    let chart_url = chart_url.split(['?', '#']).next().unwrap().to_string();
    b.goto(&format!("{chart_url}?zone=neck#zone-form")).await;
    b.wait_for_text(
        "#nogo-notice",
        "Neck must not be needled today: A mole or patch being checked",
    )
    .await;
    assert!(b.exists("#map-neck.barred").await);
    for (name, w, h) in [
        ("desktop", 1366, 900),
        ("tablet", 1024, 768),
        ("phone", 390, 844),
    ] {
        b.resize(w, h).await;
        b.execute("document.getElementById('zones').scrollIntoView()")
            .await;
        b.screenshot(&shot(&format!("55-chart-barred-{name}")))
            .await;
        let wide = b
            .execute("return document.documentElement.scrollWidth;")
            .await
            .as_u64()
            .unwrap();
        assert!(wide <= u64::from(w), "{name}: {wide} px wide");
    }

    // Try to change it anyway, as a stale form or a crafted request would.
    b.execute(&format!(
        "var f = document.createElement('form'); f.method = 'post'; f.action = '/sessions/{chart}/zones';\
         var add = function (k, v) {{ var i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }};\
         add('csrf_token', document.querySelector('meta[name=csrf-token]').content);\
         add('zone', 'cheeks'); add('depth', '0.5'); add('passes', '2'); add('device', 'skinpen'); add('endpoint', 'erythema');\
         document.body.appendChild(f); f.submit();"
    ))
    .await;
    let refusal = b
        .wait_for_text("#chart-problem", "signed and can no longer be changed")
        .await;
    assert!(refusal.contains("add an amendment instead"), "{refusal}");
    b.screenshot(&shot("56-edit-refused")).await;
    let c = f.c.app.store.chart(chart).await.unwrap();
    assert_eq!(
        c.zones
            .iter()
            .find(|z| z.zone == "cheeks")
            .unwrap()
            .depth
            .micrometres(),
        1000
    );

    // The correction goes beside the original.
    b.goto(&format!("{base}/sessions/{chart}#amend")).await;
    b.click("#amend-zone option[value='cheeks']").await;
    b.type_into("#amend-text", "Depth was 0.75 mm on the left cheek")
        .await;
    b.type_into("#amend-reason", "Pen display misread").await;
    b.click("#amend-save").await;
    let table = b.wait_for_text("#zone-table", "Amended").await;
    assert!(
        table.contains("Depth was 0.75 mm on the left cheek") && table.contains("1.00 mm"),
        "{table}"
    );
    b.screenshot(&shot("57-amended")).await;

    // The stock the session used, and who had the lot.
    b.goto(&format!("{base}/inventory")).await;
    let stock = b.wait_for_text("main", "SkinPen cartridge").await;
    assert!(stock.contains("expired"), "the expired lot says so");
    b.screenshot(&shot("58-inventory")).await;
    b.goto(&format!("{base}/inventory/lots/{}", f.cartridge))
        .await;
    let uses = b.wait_for_text("#lot-uses", "Amara Okafor").await;
    assert!(uses.contains("amara@example.com"), "{uses}");
    b.screenshot(&shot("59-lot")).await;
    b.goto(&format!("{base}/today")).await;
    b.wait_for_text("#low-stock", "Vitamin C serum").await;
    b.screenshot(&shot("60-today-low-stock")).await;
    b.goto(&format!("{base}/patients/{}/photos", f.c.patient_id))
        .await;
    b.wait_for_text("#compare", "Before and after").await;
    b.find("#overlay-slider").await;
    b.screenshot(&shot("61-photos-compare")).await;
    b.quit().await;
}

mod chart_a_session {
    use super::*;
    crate::both!(chart_a_session);
}

/// A clinician opens a session's chart two days early: the page asks why,
/// at desktop, tablet and phone widths without sideways overflow; the
/// reason is then shown on the chart.
async fn open_a_chart_early(backend: TestBackend) {
    use needlepoint_domain::plan::PhotoUse;
    let f = crate::charting::fixture_for(backend, PhotoUse::ClinicalRecordOnly, &["cheeks"]).await;
    let st = f.c.app.store.clone();
    let first = st.appointment(f.appointment).await.unwrap();
    let start = first.starts_at + jiff::SignedDuration::from_hours(48);
    let later = st
        .book(
            &[needlepoint_store::NewAppointment {
                clinic_id: first.clinic_id,
                patient_id: first.patient_id,
                plan_id: first.plan_id,
                session_number: Some(2),
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
            &needlepoint_store::Actor::system("test"),
            needlepoint_store::now(),
        )
        .await
        .unwrap()
        .remove(0);
    let base = f.c.app.base.clone();
    let shot = |name: &str| shot_name(backend, name);
    let b = Browser::start().await;
    sign_in(&b, &base, "clinician@example.com", PASSWORD).await;
    b.wait_for_url("/today").await;
    for (name, w, h) in [
        ("desktop", 1280, 900),
        ("tablet", 1024, 768),
        ("phone", 390, 844),
    ] {
        b.resize(w, h).await;
        b.goto(&format!("{base}/appointments/{}/chart", later.id))
            .await;
        b.wait_for_text("h1", "Open the chart on another day?")
            .await;
        // On a phone the menu waits behind its button, as a person finds it.
        if w <= 600 {
            b.click(".menu-button").await;
        }
        let overflow = b
            .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
            .await
            .as_i64()
            .unwrap();
        assert!(overflow <= 0, "{name}: {overflow}px sideways");
        // Every destination in the navigation is in sight, none scrolled
        // out of the window, and the account is reachable at every width.
        assert_eq!(
            links_out_of_sight(&b).await,
            serde_json::json!([]),
            "{name}: links out of sight"
        );
        let account = b
            .execute(
                "return [...document.querySelectorAll('a[href=\"/account\"]')]
                   .some(a => a.offsetParent !== null);",
            )
            .await;
        assert_eq!(
            account,
            serde_json::json!(true),
            "{name}: no way to the account"
        );
        b.screenshot(&shot(&format!("55-chart-early-{name}"))).await;
    }
    b.type_into(
        "#off-day-reason",
        "Patient asked to review the plan before the day",
    )
    .await;
    b.click("#open-off-day").await;
    b.wait_for_url("/sessions/").await;
    b.wait_for_text("#off-day", "Patient asked to review the plan")
        .await;
    b.screenshot(&shot("56-chart-opened-early")).await;
    b.quit().await;
}

mod chart_early {
    crate::both!(open_a_chart_early);
    use super::open_a_chart_early;
}
