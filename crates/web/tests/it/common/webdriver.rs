//! A small W3C WebDriver client for Debian's chromedriver and Chromium:
//! enough to open pages, type, click, read text and take screenshots.

use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// axe-core (MPL-2.0, from npm, kept in tests/assets with its licence):
/// the accessibility rules every page a browser test shows is checked by.
const AXE: &str = include_str!("../../assets/axe-core-4.14.1.min.js");
/// How long to wait for an element to appear (a wait, not an assertion).
const WAIT: Duration = Duration::from_secs(15);

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: std::path::PathBuf,
}

pub struct Element(String);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a new profile.
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            // Its own process group, with the Chromium it starts, so that a
            // failed test can stop them all (see Drop).
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be installed (Debian package chromium-driver); scripts/test installs it");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.json::<Value>()
                    .await
                    .map(|v| v["value"]["ready"] == true)
                    .unwrap_or(false)
                {
                    ready = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not start");
        let profile = needlepoint_store::testing::temp_dir("chromium");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update",
                         "--no-first-run", "--disable-sync", "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_string();
        Browser {
            driver,
            base,
            session,
            http,
            _profile: profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
        self.settle().await;
    }

    /// Sets a cookie on the site open now (go to it first).
    pub async fn add_cookie(&self, name: &str, value: &str) {
        self.call(
            reqwest::Method::POST,
            "/cookie",
            Some(json!({ "cookie": { "name": name, "value": value, "path": "/" } })),
        )
        .await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn try_find(&self, css: &str) -> Option<Element> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT_KEY].as_str().map(|id| Element(id.to_string()))
    }

    /// Waits for an element to be present, then returns it.
    pub async fn find(&self, css: &str) -> Element {
        let start = std::time::Instant::now();
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            if start.elapsed() > WAIT {
                panic!(
                    "no element {css:?} on {}\n{}",
                    self.url().await,
                    self.source().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.try_find(css).await.is_some()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/clear", e.0),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Sends keys to an element as typed, without clearing it first:
    /// WebDriver's key codes, e.g. "\u{E015}" (arrow down) and
    /// "\u{E007}" (Enter).
    pub async fn press(&self, css: &str, keys: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": keys })),
        )
        .await;
    }

    /// Chooses a file for a file input (no clearing first: file inputs
    /// refuse it).
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": path.display().to_string() })),
        )
        .await;
    }

    /// Runs a script in the page (WebDriver's own channel, not the page's
    /// CSP); returns its value.
    pub async fn execute(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Sets the window to a screen's size, e.g. a phone's 390×844.
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Waits until htmx has no request in flight and no swap or settle under
    /// way, so the next step never acts on an element a swap is replacing.
    /// Waits for the page to settle; a page of the app not yet checked is
    /// then checked once with axe-core, so that every page a test acts on
    /// has no serious or critical accessibility violation.
    pub async fn settle(&self) {
        self.idle().await;
        let unchecked = "if (window.__axeChecked \
            || !document.querySelector('link[href=\"/assets/app.css\"]')) { return false; } \
            window.__axeChecked = true; return true;";
        if self.execute(unchecked).await == Value::Bool(true) {
            self.assert_accessible("a page acted on").await;
        }
    }

    async fn assert_accessible(&self, name: &str) {
        let violations = self.accessibility_violations().await;
        assert!(
            violations.is_empty(),
            "{name}: {} on {}:\n{}",
            "accessibility violations",
            self.url().await,
            violations.join("\n")
        );
    }

    /// Waits until the page has loaded and htmx has finished its swaps.
    async fn idle(&self) {
        let start = std::time::Instant::now();
        let busy = "return !!(window.htmx && document.querySelector(\
            '.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')) \
            || document.readyState !== 'complete';";
        while self.execute(busy).await == Value::Bool(true) {
            if start.elapsed() > WAIT {
                panic!("the page never settled on {}", self.url().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        // An element found just before a swap replaced it is stale: find it
        // again (a few times at most); any other error fails the test.
        for attempt in 0.. {
            self.settle().await;
            let e = self.find(css).await;
            // The sticky header can cover an element scrolled just into view.
            self.call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({
                    "script": "arguments[0].scrollIntoView({block: 'center'});",
                    "args": [{ ELEMENT_KEY: e.0 }],
                })),
            )
            .await;
            let v = self
                .call(
                    reqwest::Method::POST,
                    &format!("/element/{}/click", e.0),
                    Some(json!({})),
                )
                .await;
            match v.get("error").and_then(Value::as_str) {
                None => return,
                Some("stale element reference") if attempt < 3 => continue,
                Some(err) => panic!("clicking {css}: {err}: {}", v["message"]),
            }
        }
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/text", e.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// The current value of an input.
    pub async fn value(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/property/value", e.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// Waits until the page's text contains `needle`; returns the text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let start = std::time::Instant::now();
        loop {
            if self.exists(css).await {
                let t = self.text(css).await;
                if t.contains(needle) {
                    self.settle().await;
                    return t;
                }
            }
            if start.elapsed() > WAIT {
                panic!(
                    "{css:?} never contained {needle:?} on {}\n{}",
                    self.url().await,
                    self.source().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the current URL contains `part`.
    pub async fn wait_for_url(&self, part: &str) -> String {
        let start = std::time::Instant::now();
        loop {
            let u = self.url().await;
            if u.contains(part) {
                self.settle().await;
                return u;
            }
            if start.elapsed() > WAIT {
                panic!(
                    "URL never contained {part:?}; it is {u}\n{}",
                    self.source().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Draws a zigzag across an element with the pointer (a signature).
    pub async fn draw(&self, css: &str) {
        let e = self.find(css).await;
        let origin = json!({ ELEMENT_KEY: e.0 });
        let mut actions = vec![json!({"type": "pointerMove", "origin": origin, "x": -120, "y": 0})];
        actions.push(json!({"type": "pointerDown", "button": 0}));
        for (x, y) in [
            (-80, -30),
            (-40, 30),
            (0, -30),
            (40, 30),
            (80, -30),
            (120, 20),
        ] {
            actions.push(
                json!({"type": "pointerMove", "origin": origin, "x": x, "y": y, "duration": 50}),
            );
        }
        actions.push(json!({"type": "pointerUp", "button": 0}));
        let body = json!({"actions": [{"type": "pointer", "id": "pen", "parameters": {"pointerType": "mouse"}, "actions": actions}]});
        self.call(reqwest::Method::POST, "/actions", Some(body))
            .await;
    }

    /// Prints the page to PDF at a paper size in centimetres; saved as an artifact.
    pub async fn print_pdf(&self, name: &str, width_cm: f64, height_cm: f64) -> Vec<u8> {
        let body = json!({"page": {"width": width_cm, "height": height_cm}, "background": true});
        let b64 = self.call(reqwest::Method::POST, "/print", Some(body)).await;
        let pdf = base64_decode(b64.as_str().unwrap_or(""));
        assert!(pdf.starts_with(b"%PDF"), "a PDF");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).unwrap();
        pdf
    }

    /// The serious and critical accessibility violations axe-core finds
    /// on the page as it stands, one line each (rule, help, elements).
    pub async fn accessibility_violations(&self) -> Vec<String> {
        self.idle().await;
        if self.execute("return !!window.axe;").await != Value::Bool(true) {
            self.execute(&format!("{AXE}\n;return true;")).await;
        }
        let found = self
            .call(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({
                    "script": "const done = arguments[arguments.length - 1];
                        axe.run(document, { resultTypes: ['violations'] })
                          .then(r => done(r.violations
                            .filter(v => v.impact === 'serious' || v.impact === 'critical')
                            .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at '
                                 + v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(', '))))
                          .catch(e => done(['axe failed: ' + e]));",
                    "args": [],
                })),
            )
            .await;
        serde_json::from_value(found.clone()).unwrap_or_else(|_| vec![format!("axe: {found}")])
    }

    /// Saves a PNG of the page under `test-artifacts/` at the workspace
    /// root, after checking the page with axe-core: every page a test
    /// shows has no serious or critical accessibility violation.
    pub async fn screenshot(&self, name: &str) {
        self.assert_accessible(name).await;
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64_decode(b64.as_str().unwrap_or(""));
        assert!(png.starts_with(b"\x89PNG"), "screenshot is a PNG");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Saves a PNG of the whole page at `width`: the window grows to the
    /// page's height for the shot, then returns to `width` × `height`.
    pub async fn screenshot_full(&self, name: &str, width: u32, height: u32) {
        let tall = self
            .execute("return document.documentElement.scrollHeight;")
            .await
            .as_u64()
            .map_or(height, |h| u32::try_from(h).unwrap_or(height));
        self.resize(width, tall.max(height)).await;
        self.screenshot(name).await;
        self.resize(width, height).await;
    }

    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test still stops its chromedriver and every Chromium
        // process it started: killing chromedriver alone leaves Chromium
        // running, so the whole process group goes.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
