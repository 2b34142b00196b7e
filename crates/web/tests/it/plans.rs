//! Plans over the API and the remote consent link.

use crate::common::{json_call as call, Client};
use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use reqwest::Method;
use serde_json::{json, Value};

async fn plans_over_the_api(b: TestBackend) {
    let c = crate::browser::ready_to_plan(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    let (s, v) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/patients/{}/plans", c.patient_id),
        json!({"device": "laser"}),
    )
    .await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("device")));
    let (s, p) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/patients/{}/plans", c.patient_id),
        json!({"device": "skinpen"}),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(
        (
            p["status"].as_str(),
            p["quote"]["total"].as_i64(),
            p["quote"]["tax"].as_i64()
        ),
        (Some("proposed"), Some(40_500), Some(6_750))
    );
    let id = p["id"].as_i64().unwrap();

    let mut plan = p["plan"].clone();
    plan["areas"][0]["depth"] = json!("0.5-2.0");
    let (s, v) = call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/plans/{id}"),
        json!({"version": 1, "plan": plan}),
    )
    .await;
    assert_eq!(
        (s, v["fields"][0]["field"].as_str()),
        (422, Some("areas[0].depth"))
    );
    plan["areas"][0]["reason"] = json!("Deep scars");
    plan["tracks"][0]["sessions"] = json!(4);
    let (s, v) = call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/plans/{id}"),
        json!({"version": 1, "plan": plan}),
    )
    .await;
    assert_eq!(
        (s, v["version"].as_i64(), v["flags"][0]["reason"].as_str()),
        (200, Some(2), Some("Deep scars"))
    );
    // Four sessions: 600 less the course-of-3 discount (10 %) = 540.
    assert_eq!(v["quote"]["total"], 54_000);
    let (s, _) = call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/plans/{id}"),
        json!({"version": 1, "plan": plan}),
    )
    .await;
    assert_eq!(s, 409, "a stale version");
    plan["areas"][0]["depth"] = json!("0.5-2.75");
    let (s, v) = call(
        &mut nurse,
        Method::PUT,
        &format!("/api/v1/plans/{id}"),
        json!({"version": 2, "plan": plan}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("beyond what SkinPen"),
        "{v}"
    );

    let (s, v) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/plans/{id}/status"),
        json!({"status": "accepted"}),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("conflict")),
        "no consent yet"
    );
    let (s, v) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/plans/{id}/status"),
        json!({"status": "cancelled"}),
    )
    .await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("reason")));
    let (s, v) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/plans/{id}/status"),
        json!({"status": "cancelled", "reason": "Changed her mind"}),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("cancelled")));
    let (s, _) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/plans/{id}/status"),
        json!({"status": "accepted"}),
    )
    .await;
    assert_eq!(s, 409, "nothing follows a cancelled plan");

    let mut desk = c.client_as(Role::FrontDesk).await;
    let (s, _) = call(
        &mut desk,
        Method::GET,
        &format!("/api/v1/plans/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 403);
}

/// The concern's severity reaches the plan through the record: severe acne
/// scars on the cheeks get the most sessions and the upper part of the
/// cheeks' depth range; mild ones the fewest and the lower part.
async fn severity_shapes_the_proposed_plan(b: TestBackend) {
    let c = crate::browser::ready_to_plan(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    for (severity, sessions, depth) in [("severe", 5, "1-1.5"), ("mild", 3, "0.5-1")] {
        let history = json!({
            "fitzpatrick": 2,
            "concerns": [{"indication": "acne_scars", "area": "cheeks", "severity": severity}]
        });
        let (s, v) = call(
            &mut nurse,
            Method::PUT,
            &format!("/api/v1/patients/{}/history", c.patient_id),
            history,
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let (s, v) = call(
            &mut nurse,
            Method::POST,
            &format!("/api/v1/patients/{}/screenings", c.patient_id),
            json!({}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let (s, p) = call(
            &mut nurse,
            Method::POST,
            &format!("/api/v1/patients/{}/plans", c.patient_id),
            json!({"device": "skinpen"}),
        )
        .await;
        assert_eq!(s, 201, "{p}");
        assert_eq!(
            p["plan"]["tracks"][0]["sessions"], sessions,
            "{severity}: {p}"
        );
        assert_eq!(p["plan"]["areas"][0]["depth"], depth, "{severity}: {p}");
        let stored = c.app.store.plan(p["id"].as_i64().unwrap()).await.unwrap();
        assert_eq!(
            stored.plan.tracks[0].sessions as i64, sessions,
            "{severity}: as kept"
        );
        // The page writes ranges as a person reads them: "1–1.5 mm", a
        // single value once ("0.5 mm", not "0.5-0.5"), an interval in one
        // unit.
        let page = nurse
            .get(&format!("/patients/{}/plans/{}", c.patient_id, p["id"]))
            .await
            .text()
            .await
            .unwrap();
        let words = format!("{} mm", depth.replace('-', "–"));
        assert!(page.contains(&words), "{severity}: {words} on the page");
        let ascii_range = hyphen_range(&page);
        assert!(ascii_range.is_none(), "{severity}: {ascii_range:?}");
    }
}

/// A range written with a hyphen between numbers ("0.5-0.5"), outside
/// dates and the page's markup (attributes, scripts).
fn hyphen_range(page: &str) -> Option<String> {
    let text: String = page
        .split('<')
        .filter_map(|t| t.split_once('>').map(|(_, text)| text))
        .collect::<Vec<_>>()
        .join(" ");
    let b = text.as_bytes();
    (1..b.len().saturating_sub(1))
        .find(|&i| {
            b[i] == b'-'
                && b[i - 1].is_ascii_digit()
                && b[i + 1].is_ascii_digit()
                // A date: 2026-12-06.
                && !(i >= 4 && b[i - 4..i].iter().all(u8::is_ascii_digit))
                && !(i >= 3 && i + 3 < b.len() && b[i - 3] == b'-')
        })
        .map(|i| String::from_utf8_lossy(&b[i.saturating_sub(12)..(i + 12).min(b.len())]).into())
}

async fn consent_links_refuse_reuse_and_wrong_input(b: TestBackend) {
    let c = crate::browser::ready_to_plan(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    let (_, p) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/patients/{}/plans", c.patient_id),
        json!({"device": "skinpen"}),
    )
    .await;
    let pid = p["id"].as_i64().unwrap();
    let r = nurse
        .post_form(
            &format!("/patients/{}/plans/{pid}/consent-links", c.patient_id),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    let html = r.text().await.unwrap();
    let start = html.find("/consent/").unwrap();
    let path = html[start..].split('<').next().unwrap().to_string();

    let mut patient = Client::new(&c.app.base);
    let page = patient.get(&path).await.text().await.unwrap();
    assert!(page.contains("Cheeks and zygoma: 0.5-1.5 mm"));
    // A PNG data URL stand-in long enough to pass the shape check.
    let png = format!("data:image/png;base64,iVBORw0KGgo{}", "A".repeat(400));
    let r = patient
        .post_form(
            &path,
            &[
                ("version", "1"),
                ("photo_use", "publish"),
                ("typed_name", ""),
                ("signature", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Type your full name") && html.contains("Draw your signature"));
    let r = patient
        .post_form(
            &path,
            &[
                ("version", "7"),
                ("photo_use", "publish"),
                ("typed_name", "Amara Okafor"),
                ("signature", &png),
            ],
        )
        .await;
    assert_eq!(
        r.status(),
        422,
        "signed against another version of the plan"
    );
    assert!(
        c.app.store.consents(pid).await.unwrap().is_empty(),
        "nothing signed"
    );
    let r = patient
        .post_form(
            &path,
            &[
                ("version", "1"),
                ("photo_use", "publish"),
                ("typed_name", "Amara Okafor"),
                ("signature", &png),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let consent = &c.app.store.consents(pid).await.unwrap()[0];
    assert_eq!(
        (consent.signed_via.as_str(), consent.photo_use.as_str()),
        ("link", "publish")
    );
    let r = patient
        .post_form(
            &path,
            &[
                ("version", "1"),
                ("photo_use", "publish"),
                ("typed_name", "Amara Okafor"),
                ("signature", &png),
            ],
        )
        .await;
    assert_eq!(r.status(), 410, "a link signs once");
    assert_eq!(
        Client::new(&c.app.base).get("/consent/nope").await.status(),
        404
    );
    // Another patient's plan cannot be reached through this patient's pages.
    let r = nurse
        .get(&format!("/patients/{}/plans/{pid}", c.other_patient_id))
        .await;
    assert_eq!(r.status(), 404);
}

crate::both!(
    severity_shapes_the_proposed_plan,
    plans_over_the_api,
    consent_links_refuse_reuse_and_wrong_input,
    a_patient_under_18_signs_with_a_guardian
);

/// A patient under 18 signs with a parent or guardian: the form asks for
/// their name, how they are related and their signature, refuses without
/// them (nothing signed), and keeps them in the signed text and the record.
async fn a_patient_under_18_signs_with_a_guardian(b: TestBackend) {
    let c = crate::browser::ready_to_plan(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    let (_, p) = call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/patients/{}/plans", c.patient_id),
        json!({"device": "skinpen"}),
    )
    .await;
    let pid = p["id"].as_i64().unwrap();
    // She turns out to be 16 on the day she signs.
    let st = &c.app.store;
    let patient = st.patient(c.patient_id).await.unwrap();
    let mut details = patient.details.clone();
    let today = jiff::Zoned::now().date();
    details.date_of_birth = today - jiff::Span::new().years(16);
    st.update_patient(
        c.patient_id,
        patient.version,
        &details,
        &needlepoint_store::Actor {
            staff_id: Some(c.clinician),
            label: "test".into(),
            channel: needlepoint_store::Channel::Web,
            ip: None,
        },
        needlepoint_store::now(),
    )
    .await
    .unwrap();
    let form = format!("/patients/{}/plans/{pid}/consent", c.patient_id);
    let page = nurse.get(&form).await.text().await.unwrap();
    assert!(page.contains("id=\"guardian\"") && page.contains("A parent or guardian signs too"));
    let png = format!("data:image/png;base64,iVBORw0KGgo{}", "A".repeat(400));
    let mut fields = vec![
        ("version", "1"),
        ("photo_use", "clinical_record_only"),
        ("typed_name", "Amara Okafor"),
        ("signature", png.as_str()),
    ];
    let r = nurse.post_form(&form, &fields).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for says in [
        "a parent or guardian types their full name too",
        "Say how the parent or guardian is related to you",
        "the parent&#x27;s or guardian&#x27;s signature",
    ] {
        assert!(
            html.contains(says) || html.contains(&says.replace("&#x27;", "&#39;")),
            "{says}"
        );
    }
    assert!(st.consents(pid).await.unwrap().is_empty(), "nothing signed");
    fields.extend([
        ("guardian_name", "Ngozi Okafor"),
        ("guardian_relationship", "mother"),
        ("guardian_signature", png.as_str()),
    ]);
    let r = nurse.post_form(&form, &fields).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let consent = &st.consents(pid).await.unwrap()[0];
    assert_eq!(
        consent.guardian_name.as_deref(),
        Some("Ngozi Okafor (mother)")
    );
    assert_eq!(consent.guardian_signature.as_deref(), Some(png.as_str()));
    assert!(consent
        .text
        .contains("Signed also by a parent or guardian (typed name): Ngozi Okafor (mother)\n"));
    let (_, v) = call(
        &mut nurse,
        Method::GET,
        &format!("/api/v1/plans/{pid}"),
        json!(null),
    )
    .await;
    assert_eq!(v["consents"][0]["guardian_name"], "Ngozi Okafor (mother)");
    let print = nurse
        .get(&format!("/patients/{}/plans/{pid}/print", c.patient_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(print.contains("Signed also by a parent or guardian: Ngozi Okafor (mother)"));
}
