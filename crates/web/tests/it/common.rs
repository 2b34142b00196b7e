//! The server under test, and clients for it.

pub mod webdriver;

use needlepoint_domain::{PractitionerDetails, Role};
use needlepoint_practice::signin;
use needlepoint_store::testing::{fresh_store, seed, TestBackend};
use needlepoint_store::{Actor, NewStaff, Store, WebSession};
use needlepoint_web::{auth, AppState, WebConfig};
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, Response};
use std::sync::Arc;

pub const PASSWORD: &str = "a long test password";

/// A running server on a fresh database.
pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
}

/// Starts the real server (the same `serve` the binary uses) on port 0.
pub async fn spawn_app(backend: TestBackend) -> TestApp {
    spawn_with(fresh_store(backend).await).await
}

pub async fn spawn_with(store: Arc<dyn Store>) -> TestApp {
    spawn_configured(store, false).await
}

/// The real server, with cookies marked `Secure` (as behind HTTPS) or not.
pub async fn spawn_configured(store: Arc<dyn Store>, secure_cookies: bool) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let kb = needlepoint_knowledge::shipped().unwrap();
    let config = WebConfig {
        data_dir: needlepoint_store::testing::temp_dir("web"),
        secure_cookies,
        payments: None,
    };
    let state = AppState::new(store.clone(), kb, config);
    tokio::spawn(async move {
        needlepoint_web::serve(listener, state).await.unwrap();
    });
    TestApp {
        base: format!("http://{addr}"),
        store,
    }
}

/// The demo clinic built as of `at` and served on a clock standing at
/// `at` (tests move it with `clock.set`).
pub struct DemoApp {
    pub app: TestApp,
    pub clock: needlepoint_practice::Clock,
}

/// A Wednesday afternoon in Bristol (15:00, UTC in winter): the demo's
/// today's list has every stage by then.
pub fn demo_afternoon() -> jiff::Timestamp {
    "2027-03-10T15:00:00Z".parse().unwrap()
}

pub async fn spawn_demo(backend: TestBackend) -> DemoApp {
    spawn_demo_paying(backend, None).await
}

/// The demo with an online payment provider (or none).
pub async fn spawn_demo_paying(
    backend: TestBackend,
    payments: Option<needlepoint_web::Payments>,
) -> DemoApp {
    let at = demo_afternoon();
    let store = fresh_store(backend).await;
    let kb = needlepoint_knowledge::shipped().unwrap();
    let data_dir = needlepoint_store::testing::temp_dir("demo");
    needlepoint_demo::seed(store.clone(), &kb, &data_dir, "http://localhost", at)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let clock = needlepoint_practice::Clock::fixed(at);
    let config = WebConfig {
        data_dir,
        secure_cookies: false,
        payments,
    };
    let state = AppState::with_clock(store.clone(), kb, config, clock.clone());
    tokio::spawn(async move {
        needlepoint_web::serve(listener, state).await.unwrap();
    });
    DemoApp {
        app: TestApp {
            base: format!("http://{addr}"),
            store,
        },
        clock,
    }
}

impl DemoApp {
    /// A client signed in as the demo login `email`, on the demo's clock.
    pub async fn client(&self, email: &str) -> Client {
        let staff = self
            .app
            .store
            .staff_credentials(email)
            .await
            .unwrap()
            .unwrap()
            .staff;
        self.app.client_for(staff.id, self.clock.now()).await
    }
}

impl TestApp {
    /// A client signed in as this staff member, with a session made
    /// straight in the store at `now` (the sign-in form has tests of its
    /// own).
    pub async fn client_for(&self, staff_id: i64, now: jiff::Timestamp) -> Client {
        let token = signin::random_token();
        self.store
            .create_session(
                &WebSession {
                    token_hash: signin::token_hash(&token),
                    staff_id,
                    created_at: now,
                    expires_at: now + jiff::SignedDuration::from_hours(signin::SESSION_HOURS),
                    last_seen_at: now,
                    ip: None,
                    user_agent: None,
                },
                &Actor::system("test"),
            )
            .await
            .unwrap();
        let mut c = Client::new(&self.base);
        c.cookies.push(("np_session".into(), token));
        c
    }
}

/// A set-up clinic: an owner, a clinician and a front-desk member (all with
/// [`PASSWORD`]), a second clinic only the owner belongs to, and one patient
/// in each clinic.
pub struct Clinic {
    pub app: TestApp,
    pub clinic_id: i64,
    pub owner: i64,
    pub clinician: i64,
    pub front_desk: i64,
    pub patient_id: i64,
    pub other_patient_id: i64,
}

pub async fn spawn_clinic(backend: TestBackend) -> Clinic {
    let s = seed(fresh_store(backend).await).await;
    let hash = signin::hash_password(PASSWORD.into()).await.unwrap();
    let sys = Actor::system("test");
    let now = needlepoint_store::now();
    let mut ids = vec![];
    for (email, role) in [
        ("clinician@example.com", Role::Clinician),
        ("desk@example.com", Role::FrontDesk),
    ] {
        let staff = s
            .store
            .create_staff(
                &NewStaff {
                    organisation_id: s.organisation_id,
                    email: email.into(),
                    name: format!("Test {}", role.label()),
                    role,
                    password_hash: hash.clone(),
                    practitioner: (role == Role::Clinician).then(|| {
                        PractitionerDetails::parse("Test Clinician", "Nurse", "").unwrap()
                    }),
                    clinic_ids: vec![s.clinic_id],
                },
                &sys,
                now,
            )
            .await
            .unwrap();
        ids.push(staff.id);
    }
    // The seeded owner has no usable password: tests sign owners in with a
    // session made in the store (see `client_as`).
    let other = s
        .store
        .create_clinic(
            s.organisation_id,
            &needlepoint_domain::ClinicDetails::parse("Other Clinic", "America/New_York", "", "")
                .unwrap(),
            &sys,
            now,
        )
        .await
        .unwrap();
    let p = needlepoint_domain::PatientInput {
        given_name: "Amara".into(),
        family_name: "Okafor".into(),
        date_of_birth: "1990-02-28".into(),
        sex: "female".into(),
        ..Default::default()
    }
    .validate(jiff::civil::date(2026, 1, 1))
    .unwrap();
    let patient = s
        .store
        .create_patient(s.clinic_id, &p, &sys, now)
        .await
        .unwrap();
    let mut q = p.clone();
    q.given_name = "Faraway".into();
    let other_patient = s
        .store
        .create_patient(other.id, &q, &sys, now)
        .await
        .unwrap();
    let app = spawn_with(s.store.clone()).await;
    Clinic {
        app,
        clinic_id: s.clinic_id,
        owner: s.owner_id,
        clinician: ids[0],
        front_desk: ids[1],
        patient_id: patient.id,
        other_patient_id: other_patient.id,
    }
}

impl Clinic {
    pub fn staff_id(&self, role: Role) -> i64 {
        match role {
            Role::Owner => self.owner,
            Role::Clinician => self.clinician,
            Role::FrontDesk => self.front_desk,
        }
    }

    /// A browser-like client signed in as `role`, with a fresh session made
    /// straight in the store (the sign-in form has tests of its own).
    pub async fn client_as(&self, role: Role) -> Client {
        self.client_for(self.staff_id(role)).await
    }

    /// A client signed in as this staff member.
    pub async fn client_for(&self, staff_id: i64) -> Client {
        self.app
            .client_for(staff_id, needlepoint_store::now())
            .await
    }
}

/// A client that keeps cookies and a CSRF token, and never follows redirects.
pub struct Client {
    pub base: String,
    http: reqwest::Client,
    pub cookies: Vec<(String, String)>,
    pub csrf: String,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let csrf = signin::random_token();
        Client {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: vec![("np_csrf".into(), csrf.clone())],
            csrf,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !val.is_empty() {
                self.cookies.push((k.to_string(), val.to_string()));
            }
        }
    }

    /// The token a page would have rendered for this client: bound to its
    /// session once signed in, else its browser cookie.
    pub fn token(&self) -> String {
        match self.cookies.iter().find(|(k, _)| k == "np_session") {
            Some((_, s)) => needlepoint_web::csrf::session_token(s),
            None => self.csrf.clone(),
        }
    }

    pub async fn request(&mut self, method: Method, path: &str, body: Body) -> Response {
        self.request_with(method, path, body, &[]).await
    }

    /// As [`Client::request`], with extra headers (`Origin`,
    /// `Sec-Fetch-Site`) as a browser would add them.
    pub async fn request_with(
        &mut self,
        method: Method,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Response {
        let token = self.token();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req = match body {
            // What a page's script sends (harmless on a GET).
            Body::None => req.header("x-csrf-token", token),
            Body::Form(mut pairs) => {
                pairs.push(("csrf_token".into(), token));
                req.header("content-type", "application/x-www-form-urlencoded")
                    .body(serde_urlencoded_pairs(&pairs))
            }
            Body::FormNoCsrf(pairs) => req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded_pairs(&pairs)),
            // A file upload: the token goes in the query string.
            Body::Multipart(boundary, bytes) => req
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(bytes),
            Body::Json(v) => req
                .header("content-type", "application/json")
                .header("x-csrf-token", token)
                .body(v),
        };
        let resp = req.send().await.unwrap();
        self.remember(resp.headers());
        resp
    }

    pub async fn get(&mut self, path: &str) -> Response {
        self.request(Method::GET, path, Body::None).await
    }

    pub async fn post_form(&mut self, path: &str, pairs: &[(&str, &str)]) -> Response {
        let pairs = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.request(Method::POST, path, Body::Form(pairs)).await
    }
}

impl Client {
    /// Uploads a photo as the chart's form does.
    pub async fn upload_photo(&mut self, chart: i64, view: &str, bytes: &[u8]) -> Response {
        let boundary = "----needlepoint-test-boundary".to_string();
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"view\"\r\n\r\n{view}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let path = format!("/sessions/{chart}/photos?csrf_token={}", self.token());
        self.request(Method::POST, &path, Body::Multipart(boundary, body))
            .await
    }
}

pub enum Body {
    None,
    Multipart(String, Vec<u8>),
    Form(Vec<(String, String)>),
    FormNoCsrf(Vec<(String, String)>),
    Json(String),
}

fn serde_urlencoded_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", auth::urlencode(k), auth::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn location(r: &Response) -> String {
    r.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Runs one async test body against both databases, as two test functions.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(needlepoint_store::testing::TestBackend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(needlepoint_store::testing::TestBackend::Postgres).await } )*
        }
    };
}

pub fn hex(bytes: &[u8]) -> String {
    signin::hex(bytes)
}

/// A JSON request through a client (session cookie and CSRF header), with
/// the status and the body as JSON (null when there is none).
pub async fn json_call(
    c: &mut Client,
    method: Method,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let b = if body.is_null() {
        Body::None
    } else {
        Body::Json(body.to_string())
    };
    let r = c.request(method, path, b).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(serde_json::Value::Null))
}
