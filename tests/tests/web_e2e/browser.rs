//! A real headless Chromium driven over the W3C WebDriver protocol (Debian's `chromium` and
//! `chromium-driver`), with axe-core injected to check pages against WCAG 2.2 AA.
//!
//! The browser trusts exactly the hub's certificate (by its public key's SHA-256,
//! `--ignore-certificate-errors-spki-list`), so the `__Host-` cookies work over real HTTPS.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{Process, free_port};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The axe-core script `tests/run` fetched from the npm registry.
pub fn axe_script() -> String {
    let path = std::env::var_os("DORFPUNKT_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/axe-core/package/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is missing at {} ({e}): tests/run fetches it with npm (README)",
            path.display()
        )
    })
}

/// base64 SHA-256 of the certificate's SubjectPublicKeyInfo, as Chromium's SPKI list takes it.
pub fn spki_hash(cert_pem: &Path) -> String {
    let pem = std::fs::read(cert_pem).expect("hub certificate");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
    let cert = pem.parse_x509().expect("certificate");
    let spki = cert.tbs_certificate.subject_pki.raw;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki))
}

/// A Chromium session.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    _driver: Process,
    _profile: tempfile::TempDir,
}

/// A page's accessibility problem as axe reports it.
#[derive(Debug)]
pub struct Violation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub targets: Vec<String>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium that trusts the certificate `cert_pem`.
    pub async fn start(cert_pem: &Path) -> Browser {
        // reqwest is built with rustls and no default crypto provider.
        hub::server::install_crypto();
        let port = free_port();
        let mut command = Command::new("chromedriver");
        command.arg(format!("--port={port}"));
        let mut driver = Process::spawn(command);
        driver.wait_for("started successfully", Duration::from_secs(30));
        let profile = tempfile::tempdir().expect("profile dir");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let base = format!("http://127.0.0.1:{port}");
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,900", "--lang=de-DE",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--ignore-certificate-errors-spki-list={}", spki_hash(cert_pem)),
                ]
            }
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session answer");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer:#}"))
            .to_string();
        Browser {
            http,
            base,
            session,
            _driver: driver,
            _profile: profile,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("webdriver request");
        let status = response.status();
        let answer: Value = response.json().await.expect("webdriver answer");
        assert!(status.is_success(), "{path}: {status} {answer:#}");
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None).await
    }

    /// Opens an address and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The address shown now.
    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The element matching a CSS selector, waiting up to 10 s for it.
    pub async fn find(&self, css: &str) -> String {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let answer: Value = self
                .http
                .post(&url)
                .json(&json!({ "using": "css selector", "value": css }))
                .send()
                .await
                .expect("find")
                .json()
                .await
                .expect("find answer");
            if let Some(id) = answer["value"][ELEMENT].as_str() {
                return id.to_string();
            }
            assert!(Instant::now() < until, "no element {css}: {answer:#}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types into the field matching `css` (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{element}/clear"), json!({}))
            .await;
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// The visible text of the page's body.
    pub async fn text(&self) -> String {
        self.execute("return document.body.innerText;", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs a script, or `None` while the page cannot answer (it is being replaced).
    async fn try_execute(&self, script: &str) -> Option<Value> {
        let url = format!("{}/session/{}/execute/sync", self.base, self.session);
        let response = self
            .http
            .post(&url)
            .json(&json!({ "script": script, "args": [] }))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let answer: Value = response.json().await.ok()?;
        Some(answer["value"].clone())
    }

    /// Clicks the element matching `css` and waits until the next page has loaded.
    pub async fn click_and_load(&self, css: &str) {
        self.execute("window.__dorfpunktOld = true; return null;", json!([]))
            .await;
        self.click(css).await;
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let loaded = self
                .try_execute(
                    "return window.__dorfpunktOld !== true && document.readyState === 'complete';",
                )
                .await;
            if loaded == Some(Value::Bool(true)) {
                return;
            }
            assert!(Instant::now() < until, "no new page after clicking {css}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs a script in the page and returns its value.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Runs an asynchronous script: it calls `arguments[arguments.length - 1]` with its result.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.post("/execute/async", json!({ "script": script, "args": args }))
            .await
    }

    /// Checks the page with axe-core against WCAG 2.0/2.1/2.2 A and AA.
    pub async fn axe(&self, axe: &str) -> Vec<Violation> {
        self.post("/timeouts", json!({ "script": 60_000 })).await;
        self.execute(axe, json!([])).await;
        let result = self
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values:
                     ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
                   .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact || '',
                       help: v.help, targets: v.nodes.map(n => n.target.join(' ')) }))))
                   .catch(e => done({ error: String(e) }));",
                json!([]),
            )
            .await;
        let list = result
            .as_array()
            .unwrap_or_else(|| panic!("axe failed: {result:#}"));
        list.iter()
            .map(|v| Violation {
                id: v["id"].as_str().unwrap_or_default().to_string(),
                impact: v["impact"].as_str().unwrap_or_default().to_string(),
                help: v["help"].as_str().unwrap_or_default().to_string(),
                targets: v["targets"]
                    .as_array()
                    .map(|t| {
                        t.iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Asserts the current page has no axe violation.
    pub async fn assert_accessible(&self, axe: &str) {
        let violations = self.axe(axe).await;
        let url = self.url().await;
        let report: Vec<String> = violations
            .iter()
            .map(|v| {
                format!(
                    "{} ({}): {} at {}",
                    v.id,
                    v.impact,
                    v.help,
                    v.targets.join(", ")
                )
            })
            .collect();
        assert!(
            report.is_empty(),
            "{url} fails WCAG 2.2 AA checks:\n{}",
            report.join("\n")
        );
    }

    /// Sets a form field's value by script and tells the page (`input` and `change` events), for
    /// fields whose typing depends on the browser's locale (date, time) and for selections.
    pub async fn set_value(&self, css: &str, value: &str) {
        self.find(css).await;
        let set = self
            .execute(
                "const field = document.querySelector(arguments[0]);
                 field.value = arguments[1];
                 field.dispatchEvent(new Event('input', { bubbles: true }));
                 field.dispatchEvent(new Event('change', { bubbles: true }));
                 return field.value;",
                json!([css, value]),
            )
            .await;
        assert_eq!(set, json!(value), "{css} does not take {value}");
    }

    /// Waits (up to 10 s) for a `confirm` or `alert` dialog, accepts it and returns its text.
    pub async fn accept_dialog(&self) -> String {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let url = format!("{}/session/{}/alert/text", self.base, self.session);
            let answer: Value = self
                .http
                .get(&url)
                .send()
                .await
                .expect("alert text")
                .json()
                .await
                .expect("alert answer");
            if let Some(text) = answer["value"].as_str() {
                let text = text.to_string();
                self.post("/alert/accept", json!({})).await;
                return text;
            }
            assert!(Instant::now() < until, "no dialog: {answer:#}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element matching `css`, accepts the confirmation the page asks for and waits
    /// for the next page; returns the question's text.
    pub async fn click_confirm_and_load(&self, css: &str) -> String {
        self.execute("window.__dorfpunktOld = true; return null;", json!([]))
            .await;
        self.click(css).await;
        let question = self.accept_dialog().await;
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let loaded = self
                .try_execute(
                    "return window.__dorfpunktOld !== true && document.readyState === 'complete';",
                )
                .await;
            if loaded == Some(Value::Bool(true)) {
                return question;
            }
            assert!(Instant::now() < until, "no new page after confirming {css}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs a Chrome DevTools command through chromedriver.
    pub async fn devtools(&self, cmd: &str, params: Value) -> Value {
        self.post("/goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
            .await
    }

    /// Cuts the page off the network (`true`) or gives the connection back (`false`), as a
    /// phone in a dead spot: requests fail at once and `navigator.onLine` follows.
    pub async fn set_offline(&self, offline: bool) {
        self.devtools("Network.enable", json!({})).await;
        self.devtools(
            "Network.emulateNetworkConditions",
            json!({ "offline": offline, "latency": 0,
                    "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await;
    }

    /// Fetches `path` from the page (same origin, with its cookies) and returns `status`,
    /// `type` (content type), `text` (the body as text) and `base64` (the body's bytes).
    pub async fn fetch(&self, path: &str) -> Value {
        self.execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], { credentials: 'same-origin' })
               .then(async (r) => {
                 const bytes = new Uint8Array(await r.arrayBuffer());
                 let binary = '';
                 for (let i = 0; i < bytes.length; i += 0x8000) {
                   binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
                 }
                 done({ status: r.status, type: r.headers.get('content-type') || '',
                        text: new TextDecoder().decode(bytes), base64: btoa(binary) });
               })
               .catch((e) => done({ error: String(e) }));",
            json!([path]),
        )
        .await
    }

    /// Sets the window's outer size in CSS pixels (a phone is about 360 x 740).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await;
    }

    /// Ends the browser session.
    pub async fn quit(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(&url).send().await;
    }
}
