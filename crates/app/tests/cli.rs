//! The binary as an operator uses it.

use needlepoint_store::testing::{fresh_postgres_url, temp_dir};
use needlepoint_store::{open_sqlite, SqliteDurability};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_needlepoint"));
    c.env_remove("NEEDLEPOINT_DATABASE_URL")
        .env("NEEDLEPOINT_LOG", "warn");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["demo", "--help"],
        vec!["migrate", "--help"],
        vec!["user", "add", "--help"],
        vec!["backup", "--help"],
    ] {
        let o = run(&args);
        assert!(o.status.success(), "{args:?}");
        assert!(stdout(&o).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    let o = run(&[
        "serve",
        "--database-url",
        "postgres://nobody:secret@127.0.0.1:1/none",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("needlepoint: cannot open the database (PostgreSQL at postgres://nobody:***@127.0.0.1:1/none)"), "{err}");
    assert!(!err.contains("secret") && !err.contains("panicked"));
    let o = run(&["migrate", "--database-url", "mysql://x"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unsupported database URL"));
}

#[tokio::test]
async fn sqlite_migrate_users_and_backup() {
    let dir = temp_dir("cli");
    let d = dir.to_str().unwrap();
    let o = run(&["migrate", "--data-dir", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("up to date (SQLite)"));

    let add = |args: &[&str], password: &str| {
        let mut c = bin()
            .args(["user", "add", "--data-dir", d])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        c.wait_with_output().unwrap()
    };
    let o = add(
        &[
            "--email",
            "a@example.com",
            "--name",
            "A",
            "--role",
            "clinician",
        ],
        "long enough password",
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no organisation yet"), "{}", stderr(&o));
    let o = add(
        &[
            "--email",
            "owner@example.com",
            "--name",
            "Owner",
            "--role",
            "owner",
            "--organisation",
            "Org",
            "--clinic-name",
            "Main",
            "--time-zone",
            "Europe/Paris",
        ],
        "long enough password",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = add(
        &[
            "--email",
            "nurse@example.com",
            "--name",
            "Nurse",
            "--role",
            "clinician",
        ],
        "short",
    );
    assert!(
        stderr(&o).contains("password: Use at least 10 characters"),
        "{}",
        stderr(&o)
    );
    let o = add(
        &[
            "--email",
            "nurse@example.com",
            "--name",
            "Nurse",
            "--role",
            "nurse",
        ],
        "long enough password",
    );
    assert!(stderr(&o).contains("--role"), "{}", stderr(&o));
    let o = add(
        &[
            "--email",
            "nurse@example.com",
            "--name",
            "Nurse",
            "--role",
            "clinician",
        ],
        "long enough password",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = add(
        &[
            "--email",
            "nurse@example.com",
            "--name",
            "Nurse",
            "--role",
            "clinician",
        ],
        "long enough password",
    );
    assert!(stderr(&o).contains("already exists"));

    let store = open_sqlite(&dir.join("needlepoint.sqlite3"), SqliteDurability::Full)
        .await
        .unwrap();
    let nurse = store
        .staff_credentials("nurse@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(nurse.password_hash.starts_with("$argon2id$"));
    assert_eq!(
        store.staff_clinic_ids(nurse.staff.id).await.unwrap().len(),
        1,
        "every clinic by default"
    );
    assert!(store
        .recent_audit(10)
        .await
        .unwrap()
        .iter()
        .any(|e| e.actor_label.starts_with("cli:")));

    // A lost phone and no owner to reset it: the operator resets it here.
    store
        .enable_two_factor(
            nurse.staff.id,
            &needlepoint_store::Enrolment {
                secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into(),
                step: 1,
                recovery_code_hashes: vec!["x".into()],
            },
            &needlepoint_store::Actor::system("test"),
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    let o = run(&[
        "user",
        "reset-two-factor",
        "--data-dir",
        d,
        "--email",
        "nurse@example.com",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("reset for nurse@example.com"),
        "{}",
        stdout(&o)
    );
    let after = store
        .staff_credentials("nurse@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(after.authenticator.is_none() && after.staff.two_factor_since.is_none());
    assert_eq!(store.recovery_codes_left(nurse.staff.id).await.unwrap(), 0);
    let o = run(&[
        "user",
        "reset-two-factor",
        "--data-dir",
        d,
        "--email",
        "nobody@example.com",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no such staff member"),
        "{}",
        stderr(&o)
    );

    let target = dir.join("backup.sqlite3");
    let o = run(&["backup", "--data-dir", d, "--to", target.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Patient data is for the user who runs Needlepoint alone, whatever the
    // umask: the data folder 0700, the database and its backup 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "the data folder");
    assert_eq!(
        mode(&dir.join("needlepoint.sqlite3")),
        0o600,
        "the database"
    );
    assert_eq!(mode(&target), 0o600, "the backup");
    // The audit trail checks itself end to end.
    let o = run(&["audit", "verify", "--data-dir", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("The audit trail is intact"),
        "{}",
        stdout(&o)
    );
    // Someone with the file drops the triggers and edits a row: `verify`
    // names it and fails; `migrate` warns loudly and restores the triggers.
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.join("needlepoint.sqlite3").display()
    ))
    .await
    .unwrap();
    sqlx::raw_sql(
        "DROP TRIGGER audit_log_no_update; \
         UPDATE audit_log SET actor_label = 'someone else' WHERE id = (SELECT MIN(id) FROM audit_log);",
    )
    .execute(&pool)
    .await
    .unwrap();
    let first: i64 = sqlx::query_scalar("SELECT MIN(id) FROM audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    let o = run(&["audit", "verify", "--data-dir", d]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&format!("BROKEN at row {first}: row {first} was changed")),
        "{}",
        stderr(&o)
    );
    // Opening the database (for verify, migrate or serve) said so loudly and
    // put the trigger back, once.
    assert!(
        stderr(&o).contains("WARNING") && stderr(&o).contains("audit_log_no_update"),
        "{}",
        stderr(&o)
    );
    let o = run(&["migrate", "--data-dir", d]);
    assert!(
        !stderr(&o).contains("WARNING"),
        "restored once: {}",
        stderr(&o)
    );
    let copy = open_sqlite(&target, SqliteDurability::Full).await.unwrap();
    assert!(copy
        .staff_credentials("nurse@example.com")
        .await
        .unwrap()
        .is_some());
    let o = run(&["backup", "--data-dir", d, "--to", target.to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("already exists"));
}

#[tokio::test]
async fn postgres_migrate_and_backup_advice() {
    let url = fresh_postgres_url().await;
    let o = run(&["migrate", "--database-url", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("up to date (PostgreSQL)"));
    let o = bin()
        .args(["backup", "--to", "/tmp/x.dump"])
        .env("NEEDLEPOINT_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("pg_dump"), "{}", stderr(&o));
}

#[tokio::test]
async fn demo_seeds_both_databases() {
    let dir = temp_dir("demo");
    let o = run(&["demo", "--no-serve", "--data-dir", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for login in [
        "owner@demo.needlepoint.test",
        "clinician@demo.needlepoint.test",
        "frontdesk@demo.needlepoint.test",
    ] {
        assert!(out.contains(login), "{out}");
    }
    let store = open_sqlite(&dir.join("needlepoint.sqlite3"), SqliteDurability::Full)
        .await
        .unwrap();
    let owner = store
        .staff_credentials("owner@demo.needlepoint.test")
        .await
        .unwrap()
        .unwrap()
        .staff;
    let clinics = store.clinics_for_staff(owner.id).await.unwrap();
    let zones: Vec<_> = clinics
        .iter()
        .map(|c| c.details.time_zone.as_str())
        .collect();
    assert_eq!(zones.len(), 2);
    assert_ne!(zones[0], zones[1], "two clinics in different zones");
    let patients = store
        .search_patients(owner.id, None, "", 100, None)
        .await
        .unwrap();
    assert!(
        (45..=60).contains(&patients.total),
        "about 50 patients: {}",
        patients.total
    );
    assert!(
        !store
            .clinical_notes(patients.patients[0].id)
            .await
            .unwrap()
            .is_empty(),
        "with histories"
    );
    let again = run(&["demo", "--no-serve", "--data-dir", dir.to_str().unwrap()]);
    assert!(!again.status.success(), "never seeds over existing data");

    let url = fresh_postgres_url().await;
    let o = run(&["demo", "--no-serve", "--database-url", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[tokio::test]
async fn serve_answers_on_its_port() {
    let dir = temp_dir("serve");
    let mut child = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let ready: serde_json::Value = reqwest::get(format!("{url}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let setup = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(
        setup.headers()["location"],
        "/setup",
        "a new install starts at setup"
    );
    assert!(
        dir.join("needlepoint.sqlite3").exists(),
        "created on first start"
    );
}

fn example() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/history.json").to_string()
}

#[test]
fn screen_prints_a_table_or_json() {
    let o = run(&["screen", &example(), "--date", "2026-11-22"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Overall: Deferred until resolved"), "{out}");
    assert!(
        out.contains("forehead       Deferred until 2026-12-15"),
        "{out}"
    );
    assert!(
        out.contains("[neurotoxin_area]") && out.contains("source: Common practice"),
        "{out}"
    );
    let o = run(&[
        "screen",
        &example(),
        "--date",
        "2026-12-15",
        "--areas",
        "cheeks,neck",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["areas"][0]["area"], "cheeks");
    assert_eq!(
        v["areas"][0]["status"], "eligible_with_precautions",
        "the wait ended that day"
    );
    assert_eq!(v["areas"][1]["status"], "eligible_with_precautions");
}

#[test]
fn screen_refuses_unknown_codes_and_contradictions() {
    let dir = temp_dir("screen");
    let file = dir.join("h.json");
    std::fs::write(&file, r#"{"date_of_birth": "1990-01-01", "medications": [{"code": "isotretinoin", "started_on": "2026-05-01", "stopped_on": "2026-04-01"}], "conditions": [{"code": "warts"}]}"#).unwrap();
    let o = run(&["screen", file.to_str().unwrap(), "--areas", "cheeks"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("medications[0].stopped_on") && err.contains("conditions[0].code"),
        "{err}"
    );
    std::fs::write(&file, r#"{"date_of_birth": "1990-01-01", "smoker": true}"#).unwrap();
    let o = run(&["screen", file.to_str().unwrap(), "--areas", "cheeks"]);
    assert!(
        stderr(&o).contains("unknown field `smoker`"),
        "{}",
        stderr(&o)
    );
    let o = run(&["screen", &example(), "--areas", "elbow"]);
    assert!(
        stderr(&o).contains("Unknown area \"elbow\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_malformed_knowledge_file_stops_the_start() {
    let dir = temp_dir("kb");
    let file = dir.join("kb.toml");
    let text = needlepoint_knowledge::SHIPPED.replacen(
        "max_age_days = 30",
        "max_age_days = \"thirty\"",
        1,
    );
    std::fs::write(&file, text).unwrap();
    let o = run(&[
        "serve",
        "--knowledge",
        file.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("kb.toml:") && err.contains("field `screening.max_age_days`"),
        "{err}"
    );
    assert!(
        !dir.join("needlepoint.sqlite3").exists(),
        "stopped before opening the database"
    );
}

#[test]
fn plan_proposes_a_course_or_says_why_not() {
    let o = run(&["plan", &example(), "--date", "2026-12-16"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("4 sessions (4–5), 30 days apart, first no earlier than 2026-12-16"),
        "{out}"
    );
    assert!(
        out.contains("Cheeks and zygoma            0.5-1 "),
        "conservative for type IV: {out}"
    );
    assert!(
        out.contains("jaw_chin: Deferred until a condition resolves"),
        "{out}"
    );
    let o = run(&[
        "plan",
        &example(),
        "--date",
        "2026-12-16",
        "--json",
        "--device",
        "exceed",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["tracks"][0]["sessions"], 4);
    let o = run(&["plan", &example(), "--device", "laser"]);
    assert!(
        !o.status.success() && stderr(&o).contains("unknown device"),
        "{}",
        stderr(&o)
    );
}
