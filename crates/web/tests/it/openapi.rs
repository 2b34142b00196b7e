//! The OpenAPI document: generated from the handlers, compared with a
//! snapshot (so a change to the API is a visible diff), and checked against
//! the route table (so the two cannot drift).

use needlepoint_web::routes;
use std::collections::BTreeSet;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");

#[test]
fn document_matches_snapshot() {
    let doc = serde_json::to_string_pretty(&needlepoint_web::api::openapi()).unwrap() + "\n";
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::create_dir_all(std::path::Path::new(SNAPSHOT).parent().unwrap()).unwrap();
        std::fs::write(SNAPSHOT, &doc).unwrap();
    }
    let saved = std::fs::read_to_string(SNAPSHOT)
        .expect("snapshot exists; create it with UPDATE_SNAPSHOTS=1");
    assert!(
        saved == doc,
        "the OpenAPI document changed; review it and re-run with UPDATE_SNAPSHOTS=1 to accept"
    );
}

#[test]
fn document_and_routes_list_the_same_operations() {
    let doc = serde_json::to_value(needlepoint_web::api::openapi()).unwrap();
    assert_eq!(doc["openapi"].as_str().unwrap().chars().next(), Some('3'));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routed: BTreeSet<_> = routes::all()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, routed);
}

#[tokio::test]
async fn served_document_is_the_generated_one() {
    let app = crate::common::spawn_app(needlepoint_store::testing::TestBackend::Sqlite).await;
    let served: serde_json::Value = reqwest::get(format!("{}/api/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        served,
        serde_json::to_value(needlepoint_web::api::openapi()).unwrap()
    );
}
