//! The JSON API: tokens, patients, errors that name the field.

use crate::common::{spawn_clinic, Body, Client};
use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use reqwest::Method;
use serde_json::{json, Value};

pub async fn bearer(c: &crate::common::Clinic, role: Role, token_role: &str) -> String {
    let mut web = c.client_as(role).await;
    let r = web
        .request(
            Method::POST,
            "/api/v1/tokens",
            Body::Json(json!({"name": "test", "role": token_role}).to_string()),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let t = v["token"].as_str().unwrap().to_string();
    assert!(t.starts_with("np_"));
    t
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn call(
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn tokens_act_with_their_role_until_revoked(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let t = bearer(&c, Role::Owner, "front_desk").await;
    let (s, me) = call(&c.app.base, &t, Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        (me["staff"]["role"].as_str(), me["acting_role"].as_str()),
        (Some("owner"), Some("front_desk"))
    );
    let (s, v) = call(&c.app.base, &t, Method::GET, "/api/v1/staff", None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("forbidden")),
        "a front-desk token cannot list staff"
    );
    let (s, _) = call(&c.app.base, &t, Method::GET, "/api/v1/patients", None).await;
    assert_eq!(s, 200);

    // Nobody grants more than they have.
    let mut desk = c.client_as(Role::FrontDesk).await;
    let r = desk
        .request(
            Method::POST,
            "/api/v1/tokens",
            Body::Json(json!({"name": "x", "role": "owner"}).to_string()),
        )
        .await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["fields"][0]["field"], "role");

    let (_, list) = call(&c.app.base, &t, Method::GET, "/api/v1/tokens", None).await;
    let id = list[0]["id"].as_i64().unwrap();
    assert!(list[0]["last_used_at"].is_string());
    let (s, _) = call(
        &c.app.base,
        &t,
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, v) = call(&c.app.base, &t, Method::GET, "/api/v1/me", None).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("unauthorized")));
    let (s, _) = call(
        &c.app.base,
        "np_not-a-token",
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_eq!(s, 401);
}

async fn patients_round_trip_with_versions(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let t = bearer(&c, Role::Clinician, "clinician").await;
    let body = json!({"given_name": "Lena", "family_name": "Novak", "date_of_birth": "1985-06-30",
                      "sex": "female", "email": "Lena@Example.com"});
    let (s, p) = call(
        &c.app.base,
        &t,
        Method::POST,
        "/api/v1/patients",
        Some(body),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(
        (
            p["email"].as_str(),
            p["version"].as_i64(),
            p["clinic_id"].as_i64()
        ),
        (Some("lena@example.com"), Some(1), Some(c.clinic_id))
    );
    let id = p["id"].as_i64().unwrap();

    let (s, found) = call(
        &c.app.base,
        &t,
        Method::GET,
        "/api/v1/patients?q=novak%201985",
        None,
    )
    .await;
    assert_eq!((s, found["total"].as_i64()), (200, Some(1)));

    let update = json!({"version": 1, "given_name": "Lena", "family_name": "Novak-Berg", "date_of_birth": "1985-06-30"});
    let (s, p2) = call(
        &c.app.base,
        &t,
        Method::PUT,
        &format!("/api/v1/patients/{id}"),
        Some(update.clone()),
    )
    .await;
    assert_eq!(
        (s, p2["version"].as_i64(), p2["family_name"].as_str()),
        (200, Some(2), Some("Novak-Berg"))
    );
    let (s, v) = call(
        &c.app.base,
        &t,
        Method::PUT,
        &format!("/api/v1/patients/{id}"),
        Some(update),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("conflict")),
        "a stale version is refused"
    );

    let (s, n) = call(
        &c.app.base,
        &t,
        Method::POST,
        &format!("/api/v1/patients/{id}/notes"),
        Some(json!({"body": "Consultation."})),
    )
    .await;
    assert_eq!((s, n["author_id"].as_i64()), (201, Some(c.clinician)));
    let (s, notes) = call(
        &c.app.base,
        &t,
        Method::GET,
        &format!("/api/v1/patients/{id}/notes"),
        None,
    )
    .await;
    assert_eq!((s, notes.as_array().map(|a| a.len())), (200, Some(1)));

    // Reading a record is audited, with who and from where.
    let (_, _) = call(
        &c.app.base,
        &t,
        Method::GET,
        &format!("/api/v1/patients/{id}"),
        None,
    )
    .await;
    let trail = c.app.store.patient_audit(id, 10).await.unwrap();
    let view = trail
        .iter()
        .find(|e| e.action == "view" && e.entity == "patient")
        .expect("a view entry");
    assert_eq!(
        (view.actor_id, view.channel.as_str(), view.ip.as_deref()),
        (Some(c.clinician), "api", Some("127.0.0.1"))
    );
    assert!(view.actor_label.contains("token test"));
}

async fn bad_input_is_named_and_saves_nothing(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let t = bearer(&c, Role::FrontDesk, "front_desk").await;
    let before = c
        .app
        .store
        .search_patients(c.owner, None, "", 100, None)
        .await
        .unwrap()
        .total;
    let post = |body: &'static str| {
        let base = c.app.base.clone();
        let t = t.clone();
        async move {
            let r = http()
                .post(format!("{base}/api/v1/patients"))
                .bearer_auth(t)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = post(r#"{"given_name": "A", "date_of_birth": "1990-01-01"}"#).await;
    assert_eq!(
        (s, v["error"].as_str(), v["field"].as_str()),
        (400, Some("invalid_json"), Some("family_name"))
    );
    let (s, v) =
        post(r#"{"given_name": "A", "family_name": "B", "date_of_birth": 19900101}"#).await;
    assert_eq!((s, v["field"].as_str()), (400, Some("date_of_birth")));
    let (s, v) = post(
        r#"{"given_name": "A", "family_name": "B", "date_of_birth": "1990-01-01", "shoe_size": 9}"#,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (400, Some("shoe_size")),
        "unknown fields are errors"
    );
    let (s, v) = post(r#"{"given_name": "A", "family_name": "#).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_json")));
    let (s, v) = post(r#"{"given_name": "A", "family_name": "B", "date_of_birth": "2999-01-01", "email": "nope"}"#).await;
    assert_eq!((s, v["error"].as_str()), (422, Some("validation")));
    let fields: Vec<&str> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["date_of_birth", "email"]);
    let (s, v) = post(r#"{"clinic_id": 999999, "given_name": "A", "family_name": "B", "date_of_birth": "1990-01-01"}"#).await;
    assert_eq!(
        (s, v["fields"][0]["field"].as_str()),
        (422, Some("clinic_id"))
    );
    let r = http()
        .post(format!("{}/api/v1/patients", c.app.base))
        .bearer_auth(&t)
        .body("given_name=A")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a body that is not JSON");
    assert_eq!(
        c.app
            .store
            .search_patients(c.owner, None, "", 100, None)
            .await
            .unwrap()
            .total,
        before,
        "nothing saved"
    );

    let (s, v) = call(
        &c.app.base,
        &t,
        Method::GET,
        "/api/v1/patients/424242",
        None,
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (404, Some("not_found")));
    let (s, v) = call(
        &c.app.base,
        &t,
        Method::GET,
        "/api/v1/patients?limit=0",
        None,
    )
    .await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("limit")));
    let (s, _) = call(&c.app.base, &t, Method::GET, "/api/v1/patients/abc", None).await;
    assert_eq!(s, 400);
}

async fn cookie_sessions_need_the_csrf_header_on_the_api(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut web: Client = c.client_as(Role::Clinician).await;
    let r = web
        .request(
            Method::POST,
            "/api/v1/tokens",
            Body::FormNoCsrf(vec![("name".into(), "x".into())]),
        )
        .await;
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "csrf");
    assert!(c
        .app
        .store
        .list_api_tokens(c.clinician)
        .await
        .unwrap()
        .is_empty());
}

async fn health_and_readiness(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let v: Value = reqwest::get(format!("{}/healthz", c.app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "ok");
    let r = reqwest::get(format!("{}/readyz", c.app.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let expected = match b {
        TestBackend::Sqlite => "SQLite",
        TestBackend::Postgres => "PostgreSQL",
    };
    assert_eq!(
        (v["status"].as_str(), v["database"].as_str()),
        (Some("ready"), Some(expected))
    );
}

crate::both!(
    tokens_act_with_their_role_until_revoked,
    patients_round_trip_with_versions,
    bad_input_is_named_and_saves_nothing,
    cookie_sessions_need_the_csrf_header_on_the_api,
    health_and_readiness,
);
