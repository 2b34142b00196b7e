//! Histories and screenings over the API, with the clinic's rule overrides.

use crate::common::{json_call as call, spawn_clinic, Client};
use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use needlepoint_store::Actor;
use reqwest::Method;
use serde_json::{json, Value};

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

    // Relative to the clinic's today: a wrinkle-relaxing injection ten days
    // ago defers the forehead until two weeks after it.
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Europe/London").unwrap())
        .date();
    let injected = today - jiff::Span::new().days(10);
    let h = json!({"fitzpatrick": 2, "events": [{"code": "neurotoxin", "on": injected.to_string(), "areas": ["forehead"]}],
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
        json!({"date": today.to_string()}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"], "deferred");
    assert_eq!(
        v["result"]["areas"][0]["area"], "forehead",
        "the concerns' areas by default"
    );
    assert_eq!(
        v["result"]["deferral"]["date"],
        (injected + jiff::Span::new().days(14)).to_string()
    );
    assert_eq!(
        v["result"]["areas"][0]["reasons"][0]["rule_id"],
        "neurotoxin_area"
    );
    let sid = v["id"].as_i64().unwrap();
    // The page names the rule's source as a reader would cite it, and the
    // strength of its evidence in words; no internal code is shown.
    let page = nurse
        .get(&format!("/patients/{p}/screenings/{sid}"))
        .await
        .text()
        .await
        .unwrap();
    let reasons = page.split("id=\"reasons\"").nth(1).unwrap();
    let reasons = reasons.split("</ul>").next().unwrap();
    let shown: String = reasons
        .split('<')
        .filter_map(|t| t.split_once('>').map(|(_, text)| text))
        .collect();
    assert!(shown.contains("Source: "), "{shown}");
    assert!(
        ["published evidence", "common practice", "no source found"]
            .iter()
            .any(|w| shown.to_lowercase().contains(w)),
        "{shown}"
    );
    assert!(
        !shown.contains("neurotoxin_area") && !shown.contains("evidence A"),
        "{shown}"
    );

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
    let h = json!({"history": {"date_of_birth": "1990-01-01", "fitzpatrick": 2, "medications": [{"code": "isotretinoin", "stopped_on": "2026-06-01"}]},
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

async fn history_forms_refuse_contradictions_and_keep_versions(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    let path = format!("/patients/{}/history", c.patient_id);
    let r = nurse
        .post_form(
            &path,
            &[
                ("op", "add_medication"),
                ("code", "isotretinoin"),
                ("started_on", "2026-05-01"),
                ("stopped_on", "2026-04-01"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("The stop date is before the start date.")
            && html.contains("value=\"2026-04-01\""),
        "kept and explained"
    );
    assert!(
        c.app
            .store
            .current_history(c.patient_id)
            .await
            .unwrap()
            .is_none(),
        "nothing saved"
    );
    let r = nurse
        .post_form(
            &path,
            &[("op", "add_condition"), ("code", "no_such_condition")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Unknown condition"));
    let r = nurse
        .post_form(
            &path,
            &[
                ("op", "add_event"),
                ("code", "filler"),
                ("on", "2026-11-01"),
                ("areas", "cheeks"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = nurse
        .post_form(
            &path,
            &[("op", "basics"), ("fitzpatrick", "5"), ("pregnant", "yes")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = nurse
        .post_form(
            &path,
            &[("op", "remove"), ("section", "events"), ("index", "0")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let versions = c.app.store.history_versions(c.patient_id).await.unwrap();
    assert_eq!(versions.len(), 3, "one version per change");
    assert!(versions[0].history.events.is_empty() && versions[0].history.pregnant);
    assert_eq!(
        versions[2].history.events[0].code, "filler",
        "earlier versions keep what was known"
    );
    let mut desk = c.client_as(Role::FrontDesk).await;
    assert_eq!(desk.get(&path).await.status(), 403);
}

/// Every question of the intake form answered "No" (skin type III), without
/// the declaration.
pub fn every_answer_no(kb: &needlepoint_domain::knowledge::KnowledgeBase) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![
        ("pregnant".into(), "no".into()),
        ("breastfeeding".into(), "no".into()),
        ("fitzpatrick".into(), "3".into()),
    ];
    for (prefix, list) in [
        ("cond", &kb.conditions),
        ("med", &kb.medications),
        ("allergy", &kb.allergies),
        ("event", &kb.events),
    ] {
        out.extend(
            list.iter()
                .map(|r| (format!("{prefix}.{}", r.code), "no".into())),
        );
    }
    out
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect()
}

async fn intake_links_refuse_bad_answers_and_second_use(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut desk = c.client_as(Role::FrontDesk).await;
    let r = desk
        .post_form(&format!("/patients/{}/intake-links", c.patient_id), &[])
        .await;
    assert_eq!(r.status(), 201);
    let html = r.text().await.unwrap();
    let start = html.find("/intake/").unwrap();
    let path = html[start..].split('<').next().unwrap().to_string();
    let mut patient = Client::new(&c.app.base);
    let form = patient.get(&path).await.text().await.unwrap();
    assert!(
        form.contains("required>") && !form.contains(" checked>"),
        "no answer is chosen for the patient before she reads the question"
    );
    // Answering one medicine and sending: every other question is named,
    // and nothing is sent.
    let r = patient
        .post_form(
            &path,
            &[("med.isotretinoin", "stopped"), ("fitzpatrick", "3")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("when did you stop?")
            && html.contains(
                "Please answer: Are you pregnant, trying to become pregnant, or could you be?"
            )
            && html.contains("Please answer: Do you have diabetes?")
            && html.contains("Tick the box to say you answered every question yourself")
            && html.contains("Nothing has been sent yet"),
        "explained"
    );
    assert!(c
        .app
        .store
        .pending_intakes(c.patient_id)
        .await
        .unwrap()
        .is_empty());
    // Every question answered, but no declaration: still not sent.
    let kb = needlepoint_knowledge::shipped().unwrap();
    let mut answers = every_answer_no(&kb);
    let r = patient.post_form(&path, &pairs(&answers)).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Tick the box"));
    answers.retain(|(k, _)| k != "med.isotretinoin" && k != "allergy.topical_anaesthetic");
    answers.extend([
        ("med.isotretinoin".into(), "stopped".into()),
        ("med.isotretinoin.stopped".into(), "2026-09-01".into()),
        ("allergy.topical_anaesthetic".into(), "unsure".into()),
        ("other.medicines".into(), "  Fish oil daily ".into()),
        ("declaration".into(), "yes".into()),
    ]);
    let r = patient.post_form(&path, &pairs(&answers)).await;
    assert_eq!(r.status(), 200);
    let pending = c.app.store.pending_intakes(c.patient_id).await.unwrap();
    let h = &pending[0].history;
    assert_eq!(
        h.medications[0].stopped_on,
        Some(jiff::civil::date(2026, 9, 1))
    );
    assert_eq!(h.allergies.len(), 1, "not sure counts, to be asked");
    assert_eq!(
        h.allergies[0].note.as_deref(),
        Some("the patient was not sure")
    );
    assert_eq!(h.notes, ["Other medicines: Fish oil daily"]);
    assert!(!h.pregnant && h.conditions.is_empty() && h.events.is_empty());
    let mut clinician = c.client_as(Role::Clinician).await;
    let review = clinician
        .get(&format!("/patients/{}/history", c.patient_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        review.contains("The patient wrote: Other medicines: Fish oil daily")
            && review.contains("(the patient was not sure)"),
        "the clinician sees the free text and the doubt"
    );
    let r = patient.post_form(&path, &[("fitzpatrick", "1")]).await;
    assert_eq!(r.status(), 410, "a link works once");
    assert_eq!(
        Client::new(&c.app.base)
            .get("/intake/not-a-token")
            .await
            .status(),
        404
    );
}

async fn owners_change_rules_with_a_reason(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut owner = c.client_as(Role::Owner).await;
    let path = format!("/settings/clinics/{}/rules", c.clinic_id);
    let key = "contraindication.neurotoxin_area.wait";
    let r = owner
        .post_form(
            &path,
            &[("key", key), ("value", "a while"), ("reason", "x")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("is not a period"));
    let r = owner
        .post_form(&path, &[("key", key), ("value", "4 weeks"), ("reason", "")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(c
        .app
        .store
        .knowledge_overrides(c.clinic_id)
        .await
        .unwrap()
        .is_empty());
    let r = owner
        .post_form(
            &path,
            &[
                ("key", key),
                ("value", "4 weeks"),
                ("reason", "Our injectors prefer a month"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = owner.get(&path).await.text().await.unwrap();
    assert!(
        page.contains("Our injectors prefer a month") && page.contains("<strong>4 weeks</strong>")
    );
    // The change is listed under the setting's name, not its key.
    let changes = page.split("id=\"changes\"").nth(1).unwrap();
    let changes = changes.split("</ul>").next().unwrap();
    assert!(!changes.contains(key), "{changes}");
    // The isotretinoin wait is chosen from the waits with a source, in its
    // own form; a wait without one is refused there, nothing saved.
    let iso = "contraindication.isotretinoin_stopped.wait";
    assert!(page.contains(&format!("id=\"choice-{iso}\"")));
    assert!(page.contains("Spring et al., JAMA Dermatol 2017"));
    let r = owner
        .post_form(
            &path,
            &[("key", iso), ("value", "12 months"), ("reason", "Cautious")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    let form = html.split(&format!("id=\"choice-{iso}\"")).next().unwrap();
    assert!(
        form.rsplit("<form")
            .next()
            .unwrap()
            .contains("Choose one of 0 months, 3 months, 6 months"),
        "the message sits in the choice's own form"
    );
    assert!(!html.contains("id=\"rule-error\""));
    let r = owner
        .post_form(
            &path,
            &[
                ("key", iso),
                ("value", "3 months"),
                ("reason", "Chosen by our medical director"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = owner.get(&path).await.text().await.unwrap();
    assert!(
        page.contains("<strong>3 months</strong> (in use)"),
        "{page}"
    );
    assert!(page.contains("Chosen by our medical director"));
    let mut nurse = c.client_as(Role::Clinician).await;
    assert_eq!(
        nurse.get(&path).await.status(),
        200,
        "clinicians read the rules"
    );
    assert_eq!(
        nurse
            .post_form(&path, &[("key", key), ("value", "1 day"), ("reason", "x")])
            .await
            .status(),
        403
    );
}

mod forms {
    use super::*;
    crate::both!(
        history_forms_refuse_contradictions_and_keep_versions,
        intake_links_refuse_bad_answers_and_second_use,
        owners_change_rules_with_a_reason,
    );
}
