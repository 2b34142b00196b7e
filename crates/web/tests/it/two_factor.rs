//! Two-factor sign-in and session hygiene (issue #13): owners must set up
//! an authenticator, codes are computed here as an authenticator app
//! would (RFC 6238), each works once; recovery codes; a clinic that asks
//! everyone for it; the idle timeout.

use crate::common::{location, spawn_clinic, Client, Clinic, PASSWORD};
use jiff::SignedDuration;
use needlepoint_domain::{Role, SignInPolicy};
use needlepoint_practice::{signin, two_factor};
use needlepoint_store::testing::TestBackend;
use needlepoint_store::{Actor, NewStaff, WebSession};

/// The hidden secret a set-up page offers the authenticator app.
pub fn secret_in(html: &str) -> String {
    html.split("name=\"secret\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page offers a secret")
        .to_string()
}

/// The recovery codes a page shows once.
fn recovery_codes_in(html: &str) -> Vec<String> {
    let list = html
        .split("id=\"recovery-codes\">")
        .nth(1)
        .unwrap()
        .split("</ol>")
        .next()
        .unwrap();
    list.split("<li>")
        .skip(1)
        .map(|c| c.split("</li>").next().unwrap().to_string())
        .collect()
}

fn code_now(secret: &str) -> String {
    two_factor::code_at(secret, jiff::Timestamp::now()).unwrap()
}

/// A second owner with the test password (the seeded one has none).
async fn owner_with_password(c: &Clinic) -> String {
    let email = "second.owner@example.com";
    c.app
        .store
        .create_staff(
            &NewStaff {
                organisation_id: c.app.store.staff(c.owner).await.unwrap().organisation_id,
                email: email.into(),
                name: "Second Owner".into(),
                role: Role::Owner,
                password_hash: signin::hash_password(PASSWORD.into()).await.unwrap(),
                practitioner: None,
                clinic_ids: vec![c.clinic_id],
            },
            &Actor::system("test"),
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    email.into()
}

async fn password_step(web: &mut Client, email: &str) -> reqwest::Response {
    web.post_form(
        "/login",
        &[
            ("email", email),
            ("password", PASSWORD),
            ("next", "/patients"),
        ],
    )
    .await
}

fn has_session(web: &Client) -> bool {
    web.cookies.iter().any(|(k, _)| k == "np_session")
}

async fn owners_set_up_an_authenticator_and_each_code_works_once(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let email = owner_with_password(&c).await;

    // The right password alone does not sign an owner in.
    let mut web = Client::new(&c.app.base);
    let r = password_step(&mut web, &email).await;
    assert_eq!(
        (r.status().as_u16(), location(&r).as_str()),
        (303, "/login/two-factor?next=/patients")
    );
    assert!(!has_session(&web), "no session before the second factor");
    assert_eq!(web.get("/today").await.status(), 303, "not signed in yet");

    let page = web.get("/login/two-factor?next=/patients").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Set up two-factor sign-in") && html.contains("<svg"));
    let secret = secret_in(&html);

    // A wrong code is refused where it was typed; the same key stays.
    let wrong = if code_now(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let r = web
        .post_form(
            "/login/two-factor",
            &[("code", wrong), ("secret", &secret), ("next", "/patients")],
        )
        .await;
    assert_eq!(r.status(), 401);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"code-error\""), "{html}");
    assert_eq!(secret_in(&html), secret, "the app already has this key");
    assert!(!has_session(&web));

    // The app's code turns it on, signs in and shows recovery codes once.
    let first_code = code_now(&secret);
    let r = web
        .post_form(
            "/login/two-factor",
            &[
                ("code", &first_code),
                ("secret", &secret),
                ("next", "/patients"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let codes = recovery_codes_in(&r.text().await.unwrap());
    assert_eq!(codes.len(), two_factor::RECOVERY_CODES);
    assert!(has_session(&web));
    assert_eq!(web.get("/patients").await.status(), 200, "signed in");
    assert!(
        !web.cookies.iter().any(|(k, _)| k == "np_2fa"),
        "the sign-in halfway is over"
    );

    // Next time: password, then a code. The code just used is refused,
    // whether its step has passed or not (RFC 6238 §5.2).
    let mut again = Client::new(&c.app.base);
    password_step(&mut again, &email).await;
    let html = again.get("/login/two-factor").await.text().await.unwrap();
    assert!(html.contains("enter the six-digit code") && !html.contains("name=\"secret\""));
    let r = again
        .post_form("/login/two-factor", &[("code", &first_code)])
        .await;
    assert_eq!(r.status(), 401, "a code works once");
    assert!(!has_session(&again));

    // A recovery code, typed loosely, signs in once.
    let loose = codes[0].to_uppercase().replace('-', " ");
    let r = again
        .post_form("/login/two-factor", &[("code", &loose), ("next", "/today")])
        .await;
    assert_eq!(
        (r.status().as_u16(), location(&r).as_str()),
        (303, "/today")
    );
    assert!(has_session(&again));
    let mut third = Client::new(&c.app.base);
    password_step(&mut third, &email).await;
    let r = third
        .post_form("/login/two-factor", &[("code", &codes[0])])
        .await;
    assert_eq!(r.status(), 401, "a recovery code works once");

    // The account page says so; an owner cannot turn it off.
    let account = web.get("/account").await.text().await.unwrap();
    assert!(
        account.contains("9 unused recovery codes left"),
        "{account}"
    );
    assert!(!account.contains("id=\"two-factor-off\""));
    let r = web
        .post_form("/account/two-factor/off", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("requires two-factor"));

    // Wrong codes count as wrong passwords: with the reused recovery code
    // above, the fifth wrong answer in the window throttles the account.
    let mut guesser = Client::new(&c.app.base);
    password_step(&mut guesser, &email).await;
    let mut statuses = vec![];
    for _ in 0..signin::MAX_FAILED_LOGINS {
        let r = guesser
            .post_form("/login/two-factor", &[("code", "not-a-recovery-code")])
            .await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429]);
    let r = password_step(&mut guesser, &email).await;
    assert_eq!(
        r.status(),
        429,
        "the password is refused too, for the window"
    );
}

async fn a_clinic_can_ask_everyone_for_a_second_factor(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut owner = c.client_as(Role::Owner).await;
    let path = format!("/settings/clinics/{}/sign-in", c.clinic_id);
    let r = owner
        .post_form(
            &path,
            &[("idle_minutes", "3"), ("require_two_factor", "yes")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("from 5 to 720"), "said at the field: {html}");
    assert!(
        !c.app
            .store
            .sign_in_policy(c.clinic_id)
            .await
            .unwrap()
            .require_two_factor
    );

    let r = owner
        .post_form(
            &path,
            &[("idle_minutes", "45"), ("require_two_factor", "yes")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        c.app.store.sign_in_policy(c.clinic_id).await.unwrap(),
        SignInPolicy {
            idle_minutes: 45,
            require_two_factor: true
        }
    );

    // The clinician now sets up an authenticator before signing in.
    let mut nurse = Client::new(&c.app.base);
    let r = password_step(&mut nurse, "clinician@example.com").await;
    assert!(location(&r).starts_with("/login/two-factor"));
    let html = nurse.get("/login/two-factor").await.text().await.unwrap();
    assert!(html.contains("your clinic asks all its staff"));
    let secret = secret_in(&html);
    let r = nurse
        .post_form(
            "/login/two-factor",
            &[("code", &code_now(&secret)), ("secret", &secret)],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(has_session(&nurse));

    // Lost phone and codes: an owner resets it; the nurse is signed out
    // and sets up a new authenticator at the next sign-in.
    let r = owner
        .post_form(
            &format!("/settings/staff/{}/reset-two-factor", c.clinician),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(nurse.get("/today").await.status(), 303, "signed out");
    let staff = c.app.store.staff(c.clinician).await.unwrap();
    assert!(staff.two_factor_since.is_none());
    let mut back = Client::new(&c.app.base);
    password_step(&mut back, "clinician@example.com").await;
    let html = back.get("/login/two-factor").await.text().await.unwrap();
    assert!(html.contains("Set up two-factor sign-in"));
    // Wrong codes end the sign-in halfway: the password is asked again.
    let secret = secret_in(&html);
    for i in 1..=signin::MAX_CODE_ATTEMPTS {
        let r = back
            .post_form(
                "/login/two-factor",
                &[("code", "99999"), ("secret", &secret)],
            )
            .await;
        assert_eq!(r.status(), 401);
        let html = r.text().await.unwrap();
        let ended = html.contains("This sign-in has ended");
        assert_eq!(ended, i == signin::MAX_CODE_ATTEMPTS, "attempt {i}");
    }
    let r = back.get("/login/two-factor").await;
    assert_eq!(location(&r), "/login");

    // The front desk may not reset anyone's.
    let mut desk = c.client_as(Role::FrontDesk).await;
    let r = desk
        .post_form(
            &format!("/settings/staff/{}/reset-two-factor", c.owner),
            &[],
        )
        .await;
    assert_eq!(r.status(), 403);
}

/// Someone not required to may set it up from the account page and turn
/// it off again with their password.
async fn staff_may_turn_it_on_and_off_from_their_account(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let mut desk = c.client_as(Role::FrontDesk).await;
    let html = desk.get("/account").await.text().await.unwrap();
    assert!(html.contains("id=\"set-up-two-factor\""));
    let html = desk.get("/account/two-factor").await.text().await.unwrap();
    let secret = secret_in(&html);
    let r = desk
        .post_form(
            "/account/two-factor",
            &[("code", "12345"), ("secret", &secret)],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("does not match"));
    let r = desk
        .post_form(
            "/account/two-factor",
            &[("code", &code_now(&secret)), ("secret", &secret)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let codes = recovery_codes_in(&r.text().await.unwrap());
    assert_eq!(codes.len(), two_factor::RECOVERY_CODES);

    // Signing in now asks for a code.
    let mut web = Client::new(&c.app.base);
    let r = password_step(&mut web, "desk@example.com").await;
    assert!(location(&r).starts_with("/login/two-factor"));

    // New recovery codes need the password; the old ones stop working.
    let r = desk
        .post_form(
            "/account/two-factor/recovery-codes",
            &[("password", "wrong")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("not your password"));
    let r = desk
        .post_form(
            "/account/two-factor/recovery-codes",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = web
        .post_form("/login/two-factor", &[("code", &codes[1])])
        .await;
    assert_eq!(r.status(), 401, "an old recovery code");

    // Turned off (password again): signed out, and the password suffices.
    let r = desk
        .post_form("/account/two-factor/off", &[("password", PASSWORD)])
        .await;
    assert_eq!(location(&r), "/login");
    assert_eq!(desk.get("/today").await.status(), 303);
    let r = password_step(&mut Client::new(&c.app.base), "desk@example.com").await;
    assert_eq!(location(&r), "/patients");
}

/// A session unused for longer than the clinic's idle timeout has ended;
/// one in use stays, and its last use is noted (at most once a minute).
async fn idle_sessions_end(b: TestBackend) {
    let c = spawn_clinic(b).await;
    let store = &c.app.store;
    let policy = SignInPolicy {
        idle_minutes: 10,
        require_two_factor: false,
    };
    store
        .set_sign_in_policy(
            c.clinic_id,
            &policy,
            &Actor::system("test"),
            needlepoint_store::now(),
        )
        .await
        .unwrap();
    let session_idle_for = |minutes: i64| {
        let token = signin::random_token();
        let start = needlepoint_store::now() - SignedDuration::from_mins(minutes);
        let s = WebSession {
            token_hash: signin::token_hash(&token),
            staff_id: c.clinician,
            created_at: start,
            expires_at: start + SignedDuration::from_hours(signin::SESSION_HOURS),
            last_seen_at: start,
            ip: None,
            user_agent: None,
        };
        (token, s)
    };
    let (idle, s) = session_idle_for(11);
    store
        .create_session(&s, &Actor::system("test"))
        .await
        .unwrap();
    let (busy, s2) = session_idle_for(9);
    store
        .create_session(&s2, &Actor::system("test"))
        .await
        .unwrap();

    let client = |token: &str| {
        let mut w = Client::new(&c.app.base);
        w.cookies.push(("np_session".into(), token.to_string()));
        w
    };
    let r = client(&idle).get("/today").await;
    assert_eq!(
        (r.status().as_u16(), location(&r).as_str()),
        (303, "/login?next=/today"),
        "idle for 11 minutes of 10"
    );
    assert_eq!(client(&busy).get("/today").await.status(), 200);
    let seen = store
        .staff_sessions(c.clinician, needlepoint_store::now())
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.token_hash == s2.token_hash)
        .unwrap()
        .last_seen_at;
    assert!(
        needlepoint_store::now().duration_since(seen) < SignedDuration::from_mins(1),
        "its use is noted: {seen}"
    );
    // The default for a clinic that never set one is 30 minutes.
    assert_eq!(SignInPolicy::default().idle_minutes, 30);
}

crate::both!(
    owners_set_up_an_authenticator_and_each_code_works_once,
    a_clinic_can_ask_everyone_for_a_second_factor,
    staff_may_turn_it_on_and_off_from_their_account,
    idle_sessions_end
);
