//! Attacks repeated as tests: each one worked before it was closed, and
//! each must stay refused (issue #13).

use crate::common::{spawn_clinic, Body, Client};
use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use reqwest::Method;

/// A page on another port of the same host (or a sibling subdomain) can set
/// the browser's `np_csrf` cookie to a value it knows and post that value.
/// Signed in, the token is bound to the session, so that forgery fails; and
/// a request the browser marks as from another site or origin fails even
/// with the right token. Nothing is written either way.
async fn forged_or_cross_origin_posts_are_refused(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    let path = format!("/patients/{}/notes", c.patient_id);
    let note = |body: &str| vec![("body".to_string(), body.to_string())];

    let known = "ab".repeat(32);
    let mut forger = c.client_as(Role::Clinician).await;
    forger.cookies.retain(|(k, _)| k != "np_csrf");
    forger.cookies.push(("np_csrf".into(), known.clone()));
    let mut fields = note("forged by a planted cookie");
    fields.push(("csrf_token".into(), known));
    let r = forger
        .request(Method::POST, &path, Body::FormNoCsrf(fields))
        .await;
    assert_eq!(r.status(), 403, "a token the attacker chose");

    for headers in [
        [("origin", "http://127.0.0.1:9")].as_slice(),
        &[("origin", "null")],
        &[("sec-fetch-site", "same-site")],
        &[("sec-fetch-site", "cross-site")],
    ] {
        let r = nurse
            .request_with(
                Method::POST,
                &path,
                Body::Form(note("from another origin")),
                headers,
            )
            .await;
        assert_eq!(r.status(), 403, "{headers:?}");
    }
    // The API with the session cookie is held to the same rule.
    let r = nurse
        .request_with(
            Method::POST,
            &format!("/api/v1/patients/{}/notes", c.patient_id),
            Body::Json(r#"{"body":"from another origin"}"#.into()),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(
        c.app
            .store
            .clinical_notes(c.patient_id)
            .await
            .unwrap()
            .is_empty(),
        "nothing written"
    );
    // The page's own token from its own origin is accepted.
    let host = c.app.base.clone();
    let r = nurse
        .request_with(
            Method::POST,
            &path,
            Body::Form(note("written here")),
            &[("sec-fetch-site", "same-origin"), ("origin", host.as_str())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        c.app
            .store
            .clinical_notes(c.patient_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Behind HTTPS the cookies carry the `__Host-` prefix (no subdomain or
/// plain-HTTP page can set them) and browsers are told to keep to HTTPS.
async fn secure_cookies_are_host_only_with_hsts(b: TestBackend) {
    let store = needlepoint_store::testing::fresh_store(b).await;
    let app = crate::common::spawn_configured(store, true).await;
    let mut browser = Client::new(&app.base);
    let r = browser.get("/login").await;
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-np_csrf=")
            && c.contains("; Secure")
            && c.contains("Path=/")),
        "{cookies:?}"
    );
    assert_eq!(
        r.headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000")
    );
    // The sign-in halfway (before the second factor) is host-only too.
    browser.csrf = browser
        .cookies
        .iter()
        .find(|(k, _)| k == "__Host-np_csrf")
        .unwrap()
        .1
        .clone();
    let r = browser
        .post_form(
            "/setup",
            &[
                ("organisation", "Org"),
                ("clinic_name", "Main"),
                ("time_zone", "Europe/London"),
                ("name", "Owner"),
                ("email", "owner@example.com"),
                ("password", crate::common::PASSWORD),
                ("password_confirm", crate::common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let challenge = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("__Host-np_2fa="))
        .unwrap_or_default();
    assert!(
        challenge.contains("; Secure") && challenge.contains("HttpOnly"),
        "{challenge:?}"
    );
}

/// The attack as it happened, in Chromium: a nurse is signed in; a page on
/// another port of the same host plants a `np_csrf` cookie it knows (cookies
/// ignore ports) and submits a clinical note with it. Refused, nothing
/// written.
async fn browser_forgery_from_another_port_is_refused(b: TestBackend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let c = spawn_clinic(b).await;
    let known = "cd".repeat(32);
    let target = format!("{}/patients/{}/notes", c.app.base, c.patient_id);
    let page = format!(
        "<!doctype html><form method=post action='{target}'>\
         <input name=csrf_token value='{known}'><input name=body value='forged note'></form>\
         <script>document.forms[0].submit()</script>"
    );
    let evil = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil_url = format!("http://{}/", evil.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = evil.accept().await {
            let mut buf = vec![0u8; 8192];
            let _ = s.read(&mut buf).await;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSet-Cookie: np_csrf={known}; Path=/\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    let browser = crate::common::webdriver::Browser::start().await;
    crate::browser::sign_in(
        &browser,
        &c.app.base,
        "clinician@example.com",
        crate::common::PASSWORD,
    )
    .await;
    browser.wait_for_url("/today").await;
    browser.goto(&evil_url).await;
    browser.wait_for_text("body", "Form expired").await;
    assert!(browser.url().await.starts_with(&target));
    assert!(
        c.app
            .store
            .clinical_notes(c.patient_id)
            .await
            .unwrap()
            .is_empty(),
        "no note was written"
    );
    browser.quit().await;
}

/// A line break in a name, e-mail address or phone number would end up in
/// an e-mail header: refused where it is typed, on the pages and the API,
/// with the field named, and nothing saved.
async fn names_with_line_breaks_are_refused_where_typed(b: TestBackend) {
    use crate::common::json_call;
    let c = spawn_clinic(b).await;
    let mut owner = c.client_as(Role::Owner).await;
    let evil = "Ann\r\nBcc: thief@evil.example";
    let (s, v) = json_call(
        &mut owner,
        Method::POST,
        "/api/v1/patients",
        serde_json::json!({
            "clinic_id": c.clinic_id, "given_name": evil, "family_name": "Smith",
            "date_of_birth": "1990-01-01", "email": "ann@example.com\r\nBcc: x@evil.example",
            "phone": "+44 20 7946 0000\n"
        }),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let fields: Vec<&str> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in ["given_name", "email"] {
        assert!(fields.contains(&f), "{f} not named: {v}");
    }
    let r = owner
        .post_form(
            &format!("/settings/clinics/{}", c.clinic_id),
            &[
                ("name", "Harbour\r\nBcc: thief@evil.example"),
                ("time_zone", "Europe/London"),
                ("address", ""),
                ("phone", "+44 20 7946 0000\r\nX: y"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Keep this to one line"), "{html}");
    let clinic = c.app.store.clinic(c.clinic_id).await.unwrap();
    assert!(!clinic.details.name.contains('\n'), "nothing saved");
    let r = owner
        .post_form(
            "/patients",
            &[
                ("clinic_id", &c.clinic_id.to_string()),
                ("given_name", "Ann"),
                ("family_name", "Smith\nBcc: thief@evil.example"),
                ("date_of_birth", "1990-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Keep this to one line"));
}

/// After signing in, `next` leads only to a path on this site: a tab, line
/// break or backslash (which browsers drop or read as a slash) sends the
/// user to Today, and nothing answers with a server error.
async fn sign_in_never_redirects_off_the_site(b: TestBackend) {
    let c = spawn_clinic(b).await;
    for next in [
        "/\t/evil.example/",
        "/\\evil.example",
        "/\r\nSet-Cookie: a=b",
        "/patients",
    ] {
        let mut web = Client::new(&c.app.base);
        let r = web
            .post_form(
                "/login",
                &[
                    ("email", "clinician@example.com"),
                    ("password", crate::common::PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "{next:?}");
        let to = crate::common::location(&r);
        let want = if next == "/patients" {
            "/patients"
        } else {
            "/today"
        };
        assert_eq!(to, want, "{next:?}");
        let r = web
            .get(&format!(
                "/login?next={}",
                needlepoint_web::auth::urlencode(next)
            ))
            .await;
        assert!(r.status().as_u16() < 500, "{next:?}: {}", r.status());
    }
}

/// A screening is for today or a planned day ahead: a date far in the
/// future would headline a deferred patient as eligible, and a past one
/// would backdate a record. Refused on the API and the page, nothing kept.
async fn screenings_are_for_today_or_a_sane_day_ahead(b: TestBackend) {
    use crate::common::json_call;
    let c = crate::browser::ready_to_plan(b).await;
    let before = c.app.store.screenings(c.patient_id).await.unwrap().len();
    let mut nurse = c.client_as(Role::Clinician).await;
    let today = jiff::Zoned::now().date();
    for date in [
        "9999-12-31".to_string(),
        (today - jiff::Span::new().days(2)).to_string(),
    ] {
        let (s, v) = json_call(
            &mut nurse,
            Method::POST,
            &format!("/api/v1/patients/{}/screenings", c.patient_id),
            serde_json::json!({"date": date}),
        )
        .await;
        assert_eq!(
            (s, v["fields"][0]["field"].as_str()),
            (422, Some("date")),
            "{date}: {v}"
        );
        let r = nurse
            .post_form(
                &format!("/patients/{}/screenings", c.patient_id),
                &[("areas", "cheeks"), ("on", date.as_str())],
            )
            .await;
        assert_eq!(r.status(), 422, "{date}");
        assert!(r.text().await.unwrap().contains("up to a year ahead"));
    }
    assert_eq!(
        c.app.store.screenings(c.patient_id).await.unwrap().len(),
        before
    );
    let next_month = (today + jiff::Span::new().days(30)).to_string();
    let (s, v) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/patients/{}/screenings", c.patient_id),
        serde_json::json!({"date": next_month}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
}

/// The API answers in its JSON error format even when the framework
/// refuses the request: a path or query that does not parse.
async fn api_path_and_query_errors_are_json(b: TestBackend) {
    use crate::common::json_call;
    let c = spawn_clinic(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    for path in ["/api/v1/patients/abc", "/api/v1/patients?limit=abc"] {
        let (s, v) = json_call(&mut nurse, Method::GET, path, serde_json::Value::Null).await;
        assert_eq!(s, 400, "{path}: {v}");
        assert_eq!(v["error"], "bad_request", "{path}: {v}");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    let (s, v) = json_call(
        &mut nurse,
        Method::DELETE,
        "/api/v1/patients",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (405, Some("method_not_allowed")),
        "{v}"
    );
}

/// The audit page checks the hash chain on demand and says whether it
/// holds (the breaks themselves are tested under the store and the CLI).
async fn the_audit_page_checks_the_chain(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut owner = c.client_as(Role::Owner).await;
    let page = owner.get("/audit").await.text().await.unwrap();
    assert!(
        page.contains("id=\"check-chain\""),
        "checked on demand only"
    );
    let page = owner.get("/audit?check=1").await.text().await.unwrap();
    assert!(page.contains("The trail is intact"), "{page}");
}

/// The account page lists where the account is signed in; "sign out
/// everywhere" ends every one of those sessions, this one too.
async fn sign_out_everywhere_ends_every_session(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut here = c.client_as(Role::Clinician).await;
    let mut there = c.client_as(Role::Clinician).await;
    let page = here.get("/account").await.text().await.unwrap();
    let rows = page
        .split("id=\"sessions\"")
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap()
        .matches("<li>")
        .count();
    assert_eq!(rows, 2, "two browsers signed in");
    assert_eq!(there.get("/today").await.status(), 200);
    let r = here.post_form("/account/sign-out-everywhere", &[]).await;
    assert_eq!(
        (r.status().as_u16(), crate::common::location(&r).as_str()),
        (303, "/login")
    );
    for client in [&mut here, &mut there] {
        let r = client.get("/today").await;
        assert_eq!(r.status(), 303, "signed out");
    }
}

crate::both!(
    sign_out_everywhere_ends_every_session,
    the_audit_page_checks_the_chain,
    api_path_and_query_errors_are_json,
    screenings_are_for_today_or_a_sane_day_ahead,
    sign_in_never_redirects_off_the_site,
    names_with_line_breaks_are_refused_where_typed,
    forged_or_cross_origin_posts_are_refused,
    secure_cookies_are_host_only_with_hsts,
    browser_forgery_from_another_port_is_refused
);
