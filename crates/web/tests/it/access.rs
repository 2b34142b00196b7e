//! Every route, with every role and with no sign-in: the answer each gets.
//! The list of routes comes from the router's own table, so a new route is
//! walked here without anyone remembering to add it.

use crate::common::{location, spawn_clinic, Body, Client};
use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use needlepoint_web::access::Access;
use needlepoint_web::routes;
use reqwest::Method;

/// A request body that reaches the handler: CSRF passes, fields are empty.
fn body_for(method: &Method, path: &str) -> Body {
    if *method == Method::GET || *method == Method::DELETE {
        Body::None
    } else if path.starts_with("/api/") {
        Body::Json("{}".into())
    } else {
        Body::Form(vec![])
    }
}

async fn walk(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let specs = routes::all();
    assert!(
        specs.len() >= 40,
        "the table lists every route ({} now)",
        specs.len()
    );
    let mut checked = 0;
    for spec in &specs {
        let path = spec
            .path
            .replace("{name}", "app.css")
            .replace(
                "/settings/clinics/{id}",
                &format!("/settings/clinics/{}", c.clinic_id),
            )
            // Token ids that do not exist: an admitted caller gets 404, never 401/403.
            .replace("/tokens/{id}", "/tokens/999999")
            .replace("{sid}", "999999")
            .replace("{pid}", "999999")
            .replace("{cid}", &c.clinic_id.to_string())
            .replace("{sub}", "999999")
            .replace("{token}", "not-a-token")
            .replace("{id}", &c.patient_id.to_string());
        let api = path.starts_with("/api/");

        // Nobody signed in.
        let mut anon = Client::new(&c.app.base);
        let r = anon
            .request(spec.method.clone(), &path, body_for(&spec.method, &path))
            .await;
        let s = r.status().as_u16();
        match spec.access {
            // Public routes answer on their own terms (a sign-in with no
            // password is a 401 from the login page, not from the guard).
            Access::Public => assert!(s < 500 && s != 403, "{} {path} anonymous: {s}", spec.method),
            Access::Staff(_) if api => assert_eq!(s, 401, "{} {path} anonymous", spec.method),
            Access::Staff(_) => {
                assert_eq!(s, 303, "{} {path} anonymous", spec.method);
                assert!(
                    location(&r).starts_with("/login?next="),
                    "{} {path} → {}",
                    spec.method,
                    location(&r)
                );
            }
        }
        checked += 1;

        for role in Role::ALL {
            // A fresh session each time: one route signs out, another revokes.
            let mut client = c.client_as(role).await;
            let r = client
                .request(spec.method.clone(), &path, body_for(&spec.method, &path))
                .await;
            let s = r.status().as_u16();
            if spec.access == Access::Public {
                assert!(s < 500 && s != 403, "{} {path} as {role}: {s}", spec.method);
            } else if spec.access.admits(role) {
                assert!(
                    matches!(s, 200 | 201 | 204 | 303 | 400 | 404 | 409 | 422),
                    "{} {path} as {role}: admitted, but got {s}: {}",
                    spec.method,
                    r.text().await.unwrap_or_default()
                );
            } else {
                assert_eq!(s, 403, "{} {path} as {role} must be refused", spec.method);
                if api {
                    let v: serde_json::Value = r.json().await.unwrap();
                    assert_eq!(v["error"], "forbidden");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, specs.len() * 4);
}

/// A refused write leaves nothing behind.
async fn refused_writes_write_nothing(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut desk = c.client_as(Role::FrontDesk).await;
    let before = c.app.store.recent_audit(1000).await.unwrap().len();
    let r = desk
        .post_form(
            &format!("/patients/{}/notes", c.patient_id),
            &[("body", "should not be saved")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = desk
        .request(
            Method::POST,
            "/settings/clinics",
            Body::Form(vec![
                ("name".into(), "X".into()),
                ("time_zone".into(), "UTC".into()),
            ]),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(c
        .app
        .store
        .clinical_notes(c.patient_id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        c.app.store.clinics_for_staff(c.owner).await.unwrap().len(),
        2
    );
    assert_eq!(c.app.store.recent_audit(1000).await.unwrap().len(), before);
}

/// Staff never see a patient of a clinic they do not belong to.
async fn other_clinics_patients_are_not_found(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut nurse = c.client_as(Role::Clinician).await;
    assert_eq!(
        nurse
            .get(&format!("/patients/{}", c.other_patient_id))
            .await
            .status(),
        404
    );
    assert_eq!(
        nurse
            .get(&format!("/api/v1/patients/{}", c.other_patient_id))
            .await
            .status(),
        404
    );
    let list = nurse.get("/patients?q=Faraway").await.text().await.unwrap();
    assert!(list.contains("No patients found"));
    assert!(!list.contains(&format!("/patients/{}", c.other_patient_id)));
    let mut owner = c.client_as(Role::Owner).await;
    assert_eq!(
        owner
            .get(&format!("/patients/{}", c.other_patient_id))
            .await
            .status(),
        200
    );
}

/// The main menu of a page.
fn menu(page: &str) -> &str {
    page.split("<nav class=\"main\"")
        .nth(1)
        .and_then(|n| n.split("</nav>").next())
        .expect("the main menu")
}

/// The main menu offers each role the sections it may open, and no other:
/// Messages to everyone, the audit trail to owners; the section shown is
/// the one marked current.
async fn the_menu_offers_what_each_role_may_open(b: TestBackend) {
    let c = spawn_clinic(b).await;
    for role in Role::ALL {
        let mut client = c.client_as(role).await;
        let page = client.get("/today").await.text().await.unwrap();
        let links: Vec<String> = menu(&page)
            .split("href=\"")
            .skip(1)
            .filter_map(|l| l.split('"').next().map(str::to_string))
            .collect();
        assert!(
            links.contains(&"/messages".to_string()),
            "{role}: {links:?}"
        );
        assert_eq!(
            links.contains(&"/audit".to_string()),
            role == Role::Owner,
            "{role}: {links:?}"
        );
        for link in &links {
            let r = client.get(link).await;
            assert_eq!(
                r.status().as_u16(),
                200,
                "{role} opens {link} from the menu"
            );
            let page = r.text().await.unwrap();
            let href = format!("href=\"{link}\"");
            let tag = menu(&page)
                .split("<a ")
                .find(|a| a.contains(&href))
                .unwrap_or_default();
            assert!(
                tag.contains("aria-current=\"page\""),
                "{role}: {link} is marked as the section shown: {tag}"
            );
        }
    }
}

crate::both!(
    the_menu_offers_what_each_role_may_open,
    walk,
    refused_writes_write_nothing,
    other_clinics_patients_are_not_found
);
