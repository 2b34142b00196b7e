//! The pages over HTTP: setup, sign-in and its throttle, CSRF, forms that
//! come back filled in with the error beside the field.

use crate::common::{location, spawn_app, spawn_clinic, Body, Client, PASSWORD};
use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use reqwest::header::SET_COOKIE;

fn set_cookie_for(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_default()
}

async fn first_run_setup_creates_the_owner_once(b: TestBackend) {
    let app = spawn_app(b).await;
    let mut c = Client::new(&app.base);
    let r = c.get("/").await;
    assert_eq!(location(&r), "/setup");
    let r = c.get("/login").await;
    assert_eq!(
        location(&r),
        "/setup",
        "no sign-in before there is an owner"
    );
    assert_eq!(c.get("/setup").await.status(), 200);

    let r = c
        .post_form(
            "/setup",
            &[
                ("organisation", "Skin & Co"),
                ("clinic_name", ""),
                ("time_zone", "Mars/Base"),
                ("name", "Olu"),
                ("email", "olu@example"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for id in [
        "clinic_name-error",
        "time_zone-error",
        "email-error",
        "password-error",
    ] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "{id} shown beside its field"
        );
    }
    assert!(
        html.contains("value=\"Skin &#38; Co\""),
        "what was typed comes back, escaped"
    );
    assert!(!app.store.owner_exists().await.unwrap());

    let r = c
        .post_form(
            "/setup",
            &[
                ("organisation", "Skin & Co"),
                ("clinic_name", "Main"),
                ("time_zone", "Europe/Dublin"),
                ("name", "Olu Ade"),
                ("email", "olu@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    // Owners sign in with a second factor: the new owner sets it up first.
    assert_eq!(
        (r.status().as_u16(), location(&r).as_str()),
        (303, "/login/two-factor?next=/settings")
    );
    assert!(
        set_cookie_for(&r, "np_session").is_empty(),
        "not signed in yet"
    );
    let html = c
        .get("/login/two-factor?next=/settings")
        .await
        .text()
        .await
        .unwrap();
    let secret = crate::two_factor::secret_in(&html);
    let code = needlepoint_practice::two_factor::code_at(&secret, jiff::Timestamp::now()).unwrap();
    let r = c
        .post_form(
            "/login/two-factor",
            &[("code", &code), ("secret", &secret), ("next", "/settings")],
        )
        .await;
    assert_eq!(r.status(), 200, "the recovery codes, shown once");
    let cookie = set_cookie_for(&r, "np_session");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("href=\"/settings\" id=\"continue\""));
    assert_eq!(
        c.get("/settings").await.status(),
        200,
        "signed in as the new owner"
    );
    let r = c.get("/setup").await;
    assert_eq!(location(&r), "/login", "setup is over once an owner exists");
    let again = Client::new(&app.base)
        .post_form(
            "/setup",
            &[
                ("organisation", "Evil"),
                ("clinic_name", "X"),
                ("time_zone", "UTC"),
                ("name", "E"),
                ("email", "e@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&again), "/login");
    assert_eq!(
        app.store.organisation().await.unwrap().unwrap().name,
        "Skin & Co"
    );
}

async fn sign_in_throttles_and_signs_out(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut web = Client::new(&c.app.base);
    let r = web
        .post_form(
            "/login",
            &[
                ("email", "clinician@example.com"),
                ("password", "wrong password!"),
            ],
        )
        .await;
    assert_eq!(r.status(), 401);
    let html = r.text().await.unwrap();
    assert!(html.contains("do not match") && html.contains("value=\"clinician@example.com\""));

    let r = web
        .post_form(
            "/login",
            &[
                ("email", "Clinician@Example.com"),
                ("password", PASSWORD),
                ("next", "/patients?q=a"),
            ],
        )
        .await;
    assert_eq!(
        (r.status().as_u16(), location(&r).as_str()),
        (303, "/patients?q=a")
    );
    assert_eq!(web.get("/today").await.status(), 200);
    let r = web.post_form("/logout", &[]).await;
    assert_eq!(location(&r), "/login");
    let r = web.get("/today").await;
    assert_eq!(
        (r.status().as_u16(), location(&r).as_str()),
        (303, "/login?next=/today")
    );

    // Five wrong passwords lock the account for the window, even for the right one.
    let mut attacker = Client::new(&c.app.base);
    for _ in 0..5 {
        let r = attacker
            .post_form(
                "/login",
                &[("email", "desk@example.com"), ("password", "guess guess")],
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = attacker
        .post_form(
            "/login",
            &[("email", "desk@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("Too many wrong passwords"));
    assert!(
        c.app
            .store
            .failed_logins_since(
                "desk@example.com",
                needlepoint_store::now() - jiff::SignedDuration::from_hours(1)
            )
            .await
            .unwrap()
            >= 5
    );
    // Another account is unaffected.
    let r = attacker
        .post_form(
            "/login",
            &[("email", "clinician@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 303);
    // An off-site `next` is ignored.
    let r = Client::new(&c.app.base)
        .post_form(
            "/login",
            &[
                ("email", "clinician@example.com"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/today");
}

async fn forms_need_their_csrf_token(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut web = c.client_as(Role::FrontDesk).await;
    let fields = vec![
        ("given_name".to_string(), "Forged".to_string()),
        ("family_name".to_string(), "Request".to_string()),
        ("date_of_birth".to_string(), "1990-01-01".to_string()),
        ("clinic_id".to_string(), c.clinic_id.to_string()),
    ];
    let r = web
        .request(
            reqwest::Method::POST,
            "/patients",
            Body::FormNoCsrf(fields.clone()),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Form expired"));
    let mut wrong = fields.clone();
    wrong.push(("csrf_token".into(), "0".repeat(64)));
    let r = web
        .request(reqwest::Method::POST, "/patients", Body::FormNoCsrf(wrong))
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        c.app
            .store
            .search_patients(c.owner, None, "forged", 10, None)
            .await
            .unwrap()
            .total,
        0,
        "nothing written"
    );
    let r = web
        .request(reqwest::Method::POST, "/patients", Body::Form(fields))
        .await;
    assert_eq!(r.status(), 303, "the same form with its token is accepted");
}

async fn patient_forms_keep_input_and_name_errors(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut web = c.client_as(Role::FrontDesk).await;
    let r = web
        .post_form(
            "/patients",
            &[
                ("given_name", "Zoë"),
                ("family_name", ""),
                ("date_of_birth", "2999-01-01"),
                ("email", "zoe@"),
                ("phone", "+44 7700 900111"),
                ("clinic_id", &c.clinic_id.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("value=\"Zoë\"") && html.contains("value=\"+44 7700 900111\""),
        "input kept"
    );
    assert!(html.contains("id=\"family_name-error\">This field is required."));
    assert!(html.contains("id=\"date_of_birth-error\">Date of birth cannot be in the future."));
    assert!(html.contains("id=\"email-error\""));

    // Editing with a stale version keeps the typed values and says why.
    let edit = format!("/patients/{}", c.patient_id);
    let ok = web
        .post_form(
            &edit,
            &[
                ("version", "1"),
                ("given_name", "Amara"),
                ("family_name", "Okafor-Reid"),
                ("date_of_birth", "1990-02-28"),
                ("sex", "female"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    let stale = web
        .post_form(
            &edit,
            &[
                ("version", "1"),
                ("given_name", "Amara"),
                ("family_name", "Overwrite"),
                ("date_of_birth", "1990-02-28"),
                ("sex", "female"),
            ],
        )
        .await;
    assert_eq!(stale.status(), 409);
    let html = stale.text().await.unwrap();
    assert!(
        html.contains("Someone else changed this patient") && html.contains("value=\"Overwrite\"")
    );
    assert_eq!(
        c.app
            .store
            .patient(c.patient_id)
            .await
            .unwrap()
            .details
            .family_name,
        "Okafor-Reid"
    );

    // Viewing is audited.
    assert_eq!(web.get(&edit).await.status(), 200);
    let trail = c.app.store.patient_audit(c.patient_id, 20).await.unwrap();
    assert!(trail
        .iter()
        .any(|e| e.action == "view" && e.actor_id == Some(c.front_desk) && e.channel == "web"));
}

async fn errors_are_pages_not_traces(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut web = c.client_as(Role::Clinician).await;
    let r = web.get("/no/such/page").await;
    assert_eq!(r.status(), 404);
    let csp = r
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'"));
    let html = r.text().await.unwrap();
    assert!(html.contains("<h1>Not found</h1>"));
    assert_eq!(web.get("/patients/999999").await.status(), 404);
    let r = web.get("/patients/not-a-number").await;
    assert_eq!(r.status(), 400);
    let r = web.get("/assets/app.css").await;
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

async fn settings_add_things_or_explain(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut owner = c.client_as(Role::Owner).await;
    let base = format!("/settings/clinics/{}", c.clinic_id);
    let r = owner
        .post_form(
            &format!("{base}/devices"),
            &[
                ("name", "Pen 9"),
                ("model", "SkinPen"),
                ("max_depth_mm", "abc"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Enter a depth in millimetres") && html.contains("value=\"Pen 9\""));
    let r = owner
        .post_form(
            &format!("{base}/devices"),
            &[
                ("name", "Pen 9"),
                ("model", "SkinPen"),
                ("max_depth_mm", "2.5"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = owner
        .post_form(&format!("{base}/rooms"), &[("name", "Room A")])
        .await;
    assert_eq!(r.status(), 303);
    let r = owner
        .post_form(&format!("{base}/rooms"), &[("name", "Room A")])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("already has a room"));
    let r = owner
        .post_form(
            &format!("{base}/prices"),
            &[
                ("code", "face"),
                ("name", "Face"),
                ("amount", "-5"),
                ("currency", "GBP"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = owner
        .post_form(
            &format!("{base}/prices"),
            &[
                ("kind", "area"),
                ("code", "face"),
                ("name", "Face"),
                ("amount", "249.99"),
                ("currency", "GBP"),
                ("areas", "cheeks"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        c.app.store.price_items(c.clinic_id).await.unwrap()[0]
            .details
            .amount_minor,
        24999
    );
    // Typed lines: a bundle of known areas, a package; an unknown area is named.
    let r = owner
        .post_form(
            &format!("{base}/prices"),
            &[
                ("kind", "bundle"),
                ("code", "full"),
                ("name", "Full face"),
                ("amount", "300"),
                ("currency", "GBP"),
                ("areas", "cheeks,elbow"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Unknown area &#34;elbow&#34;"));
    let r = owner
        .post_form(
            &format!("{base}/prices"),
            &[
                ("kind", "bundle"),
                ("code", "full"),
                ("name", "Full face"),
                ("amount", "300"),
                ("currency", "GBP"),
                ("areas", "cheeks,forehead"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = owner
        .post_form(
            &format!("{base}/prices"),
            &[
                ("kind", "package"),
                ("code", "three"),
                ("name", "Three"),
                ("currency", "GBP"),
                ("sessions", "3"),
                ("discount", "-5"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422, "a negative discount");
    let items = c.app.store.price_items(c.clinic_id).await.unwrap();
    let face = items.iter().find(|i| i.details.code == "face").unwrap();
    assert_eq!(
        face.details.kind,
        needlepoint_domain::PriceKind::Area,
        "used in quotes"
    );
    let bundle = items.iter().find(|i| i.details.code == "full").unwrap();
    assert_eq!(
        (bundle.details.kind, bundle.details.areas.len()),
        (needlepoint_domain::PriceKind::Bundle, 2)
    );
    let r = owner
        .post_form(
            "/settings/staff",
            &[
                ("name", "New Nurse"),
                ("email", "new@example.com"),
                ("role", "clinician"),
                ("password", PASSWORD),
                ("clinic_ids", &c.clinic_id.to_string()),
                ("is_practitioner", "yes"),
                ("profession", "Nurse"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let staff = c
        .app
        .store
        .staff_credentials("new@example.com")
        .await
        .unwrap()
        .unwrap()
        .staff;
    assert_eq!(staff.practitioner.unwrap().profession, "Nurse");
    // Each on its own settings page.
    for (section, shown) in [
        ("rooms", "Pen 9"),
        ("prices", "£249.99"),
        ("staff", "New Nurse"),
    ] {
        let page = owner
            .get(&format!("/settings?section={section}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains(shown), "{section}: {shown}");
        assert!(
            page.contains(&format!("id=\"settings-{section}\" aria-current=\"page\"")),
            "{section} is the current tab"
        );
    }

    // A member who leaves is signed out at once and cannot sign back in.
    let mut desk = c.client_as(Role::FrontDesk).await;
    assert_eq!(desk.get("/today").await.status(), 200);
    let r = owner
        .post_form(
            &format!("/settings/staff/{}/active", c.front_desk),
            &[("active", "no")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(desk.get("/today").await.status(), 303, "signed out");
    let r = Client::new(&c.app.base)
        .post_form(
            "/login",
            &[("email", "desk@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 401);
    let r = owner
        .post_form(
            &format!("/settings/staff/{}/active", c.owner),
            &[("active", "no")],
        )
        .await;
    assert_eq!(r.status(), 409, "the last owner stays");
}

/// The patient list pages by key: "Next" starts after the last row shown,
/// and so does the API's `next`; a page link that does not fit is said so.
async fn patient_lists_page_by_key(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let sys = needlepoint_store::Actor::system("test");
    for i in 0..30 {
        let p = needlepoint_domain::PatientInput {
            given_name: format!("Pat{i:02}"),
            family_name: "Pager".into(),
            date_of_birth: "1980-01-01".into(),
            sex: "female".into(),
            ..Default::default()
        }
        .validate(jiff::civil::date(2026, 1, 1))
        .unwrap();
        c.app
            .store
            .create_patient(c.clinic_id, &p, &sys, needlepoint_store::now())
            .await
            .unwrap();
    }
    let mut desk = c.client_as(Role::FrontDesk).await;
    let html = desk.get("/patients?q=pager").await.text().await.unwrap();
    assert!(
        html.contains("30 patients") && html.contains("Showing 1–25 of 30"),
        "{html}"
    );
    let next = html
        .split("id=\"next-page\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(next.contains("after="), "{next}");
    let html = desk.get(&next).await.text().await.unwrap();
    assert!(
        html.contains("Showing 26–30 of 30") && html.contains("Pat29"),
        "{html}"
    );
    assert!(!html.contains("Pat24") && !html.contains("id=\"next-page\""));
    assert!(html.contains("id=\"first-page\""));
    // Two letters: the start of the family name, and the page says so.
    let html = desk.get("/patients?q=pa").await.text().await.unwrap();
    assert!(
        html.contains("id=\"short-search\"") && html.contains("Pat00"),
        "{html}"
    );
    let html = desk
        .get("/patients?q=pager&after=nonsense")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("does not fit this list") && html.contains("Pat00"));

    let (s, v) = crate::common::json_call(
        &mut desk,
        reqwest::Method::GET,
        "/api/v1/patients?q=pager&limit=20",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    let after = v["next"].as_str().unwrap().to_string();
    let (_, v2) = crate::common::json_call(
        &mut desk,
        reqwest::Method::GET,
        &format!("/api/v1/patients?q=pager&limit=20&after={after}"),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(v2["patients"].as_array().unwrap().len(), 10);
    assert!(v2["next"].is_null());
    assert_eq!(v2["patients"][0]["given_name"], "Pat20");
    let (s, e) = crate::common::json_call(
        &mut desk,
        reqwest::Method::GET,
        "/api/v1/patients?after=1.2",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(
        (s, e["fields"][0]["field"].as_str()),
        (422, Some("after")),
        "{e}"
    );
}

crate::both!(
    patient_lists_page_by_key,
    first_run_setup_creates_the_owner_once,
    sign_in_throttles_and_signs_out,
    forms_need_their_csrf_token,
    patient_forms_keep_input_and_name_errors,
    errors_are_pages_not_traces,
    settings_add_things_or_explain,
);
