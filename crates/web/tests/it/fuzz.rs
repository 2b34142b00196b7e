//! The OpenAPI document against the running server: a validator reads the
//! document, then a fuzzer (schemathesis, driven by the document) sends
//! bounded, seeded requests to every operation as an owner, and fails on any
//! server error or any response that does not match the document.

use crate::common::spawn_clinic;
use needlepoint_domain::Role;
use needlepoint_store::testing::TestBackend;
use std::process::Command;

/// Python tools the test command installs (scripts/test).
fn tool(args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.args(args);
    c
}

async fn the_api_matches_its_document_under_a_fuzzer(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let token = crate::api::bearer(&c, Role::Owner, "owner").await;
    let url = format!("{}/api/openapi.json", c.app.base);
    let doc = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let dir = needlepoint_store::testing::temp_dir("fuzz");
    let file = dir.join("openapi.json");
    std::fs::write(&file, doc).unwrap();

    let v = tool(&["-m", "openapi_spec_validator", file.to_str().unwrap()])
        .output()
        .expect("python3 with openapi-spec-validator (scripts/test installs it)");
    assert!(
        v.status.success(),
        "the OpenAPI document is invalid:\n{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );

    // Run off the async threads: the server under test shares this runtime.
    let auth = format!("Authorization: Bearer {token}");
    let report = dir.join("report");
    let out = tokio::task::spawn_blocking({
        let (url, report, dir) = (url.clone(), report.clone(), dir.clone());
        move || {
            let mut fuzz = tool(&[
                "-m",
                "schemathesis.cli",
                "run",
                &url,
                "--header",
                &auth,
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-examples",
                "8",
                "--seed",
                "20261130",
                "--generation-deterministic",
                "--workers",
                "1",
                "--request-timeout",
                "20",
                // Signing out or revoking its own token would end the run.
                "--exclude-path-regex",
                "^/api/v1/tokens",
                "--report-dir",
                report.to_str().unwrap(),
                "--no-color",
            ]);
            // Its caches go to the test's own folder, not the source tree.
            fuzz.current_dir(&dir)
                .output()
                .expect("python3 with schemathesis (scripts/test installs it)")
        }
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the fuzzer found server errors or responses off the document:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("passed") && !text.contains("No operations"),
        "the fuzzer ran no operation:\n{text}"
    );
}

crate::both!(the_api_matches_its_document_under_a_fuzzer);
