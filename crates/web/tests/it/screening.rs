//! Histories and screenings over the API, with the clinic's rule overrides.

use crate::common::{spawn_clinic, Body, Client};
use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use needlepoint_store::Actor;
use reqwest::Method;
use serde_json::{json, Value};

async fn call(c: &mut Client, method: Method, path: &str, body: Value) -> (u16, Value) {
    let b = if body.is_null() {
        Body::None
    } else {
        Body::Json(body.to_string())
    };
    let r = c.request(method, path, b).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn history_then_screening_then_override(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    let p = c.patient_id;
    let (s, v) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/patients/{p}/screenings"),
        json!({"areas": ["forehead"]}),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("conflict")),
        "no history yet"
    );

    let bad = json!({"medications": [{"code": "isotretinoin", "started_on": "2026-05-01", "stopped_on": "2026-04-01"}],
                     "conditions": [{"code": "warts"}]});
    let (s, v) = call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/patients/{p}/history"),
        bad,
    )
    .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["conditions[0].code", "medications[0].stopped_on"]);
    let (s, v) = call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/patients/{p}/history"),
        json!({"smoker": true}),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("smoker")));
    assert!(
        c.app.store.current_history(p).await.unwrap().is_none(),
        "nothing saved"
    );

    let h = json!({"fitzpatrick": 2, "events": [{"code": "neurotoxin", "on": "2026-11-10", "areas": ["forehead"]}],
                   "concerns": [{"indication": "fine_lines", "area": "forehead", "severity": "mild"}]});
    let (s, v) = call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/patients/{p}/history"),
        h,
    )
    .await;
    assert_eq!((s, v["version"].as_i64()), (201, Some(1)), "{v}");
    assert_eq!(
        v["history"]["date_of_birth"], "1990-02-28",
        "from the patient's details"
    );

    let (s, v) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/patients/{p}/screenings"),
        json!({"date": "2026-11-20"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"], "deferred");
    assert_eq!(
        v["result"]["areas"][0]["area"], "forehead",
        "the concerns' areas by default"
    );
    assert_eq!(v["result"]["deferral"]["date"], "2026-11-24");
    assert_eq!(
        v["result"]["areas"][0]["reasons"][0]["rule_id"],
        "neurotoxin_area"
    );
    let sid = v["id"].as_i64().unwrap();

    // A later history makes the screening stale.
    let h2 = json!({"fitzpatrick": 2, "pregnant": true});
    call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/patients/{p}/history"),
        h2,
    )
    .await;
    let (_, list) = call(
        &mut nurse,
        Method::GET,
        &format!("/api/v1/patients/{p}/screenings"),
        Value::Null,
    )
    .await;
    assert_eq!(
        list[0]["stale"],
        "The history has changed since this screening."
    );

    let (s, v) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/screenings/{sid}/override"),
        json!({"status": "eligible", "justification": " "}),
    )
    .await;
    assert_eq!(
        (s, v["fields"][0]["field"].as_str()),
        (422, Some("justification"))
    );
    let (s, v) = call(&mut nurse, Method::POST, &format!("/api/v1/screenings/{sid}/override"),
        json!({"status": "eligible", "justification": "Injection was to the glabella only; forehead untouched."})).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("eligible")));
    assert_eq!(
        v["result"]["status"], "deferred",
        "the overridden screening is kept as it was"
    );
    assert_eq!(v["overrides"][0]["created_by_name"], "Test Clinician");

    let mut desk = c.client_as(Role::FrontDesk).await;
    let (s, _) = call(
        &mut desk,
        Method::GET,
        &format!("/api/v1/patients/{p}/history"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 403);
}

async fn clinic_overrides_change_the_rule(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    let h = json!({"history": {"date_of_birth": "1990-01-01", "medications": [{"code": "isotretinoin", "stopped_on": "2026-06-01"}]},
                   "areas": ["cheeks"], "date": "2026-11-22"});
    let (s, v) = call(&mut nurse, Method::POST, "/api/v1/screen", h.clone()).await;
    assert_eq!(
        (s, v["deferral"]["date"].as_str()),
        (200, Some("2026-12-01")),
        "{v}"
    );
    let owner = Actor {
        staff_id: Some(c.owner),
        label: "owner".into(),
        channel: needlepoint_store::Channel::Web,
        ip: None,
    };
    c.app
        .store
        .add_knowledge_override(
            c.clinic_id,
            "contraindication.isotretinoin_stopped.wait",
            "3 months",
            "Spring et al. 2017",
            &owner,
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    let (_, v) = call(&mut nurse, Method::POST, "/api/v1/screen", h).await;
    assert_eq!(
        v["status"], "eligible",
        "3 months after June 1 has passed: {v}"
    );
    let (_, kb) = call(&mut nurse, Method::GET, "/api/v1/knowledge", Value::Null).await;
    let rule = kb["contraindication"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "isotretinoin_stopped")
        .unwrap();
    assert_eq!(rule["wait"], "3 months");
    assert!(rule["source"].as_str().unwrap().contains("SkinPen"));
    let (s, _) = call(
        &mut nurse,
        Method::POST,
        "/api/v1/screen",
        json!({"history": {"date_of_birth": "1990-01-01"}, "areas": ["elbow"]}),
    )
    .await;
    assert_eq!(s, 422);
}

crate::both!(
    history_then_screening_then_override,
    clinic_overrides_change_the_rule
);
