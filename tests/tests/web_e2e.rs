//! The hub's web pages in a real headless Chromium against a real `hub demo` process over TLS:
//! log-in with second factor, refusals (CSRF, wrong roles, locked accounts), and every page
//! visited checked with axe-core for WCAG 2.2 AA.
//!
//! Needs Debian's `chromium` and `chromium-driver`, and axe-core from the npm registry; `tests/run`
//! installs and fetches them.

#[path = "web_e2e/browser.rs"]
mod browser;
#[path = "web_e2e/care_driver_flows.rs"]
mod care_driver_flows;
#[path = "web_e2e/console_flows.rs"]
mod console_flows;
#[path = "kiosk_hub/harness.rs"]
#[allow(dead_code)]
mod harness;

use serde_json::json;

use browser::{Browser, axe_script};
use harness::Hub;

/// The demo hub's administrator (written by the hub on first start).
fn admin(hub: &Hub) -> (String, String) {
    hub::accounts::read_credentials(&hub.dir.join(hub::accounts::CREDENTIALS_FILE))
        .expect("admin credentials")
}

/// The TOTP code an account's authenticator shows now (the next one if this one was used).
fn totp_code(hub: &Hub, username: &str) -> String {
    let (secret, last): (String, Option<i64>) = hub
        .db()
        .query_row(
            "SELECT totp_secret, totp_last_step FROM accounts WHERE username = ?1",
            [username],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("secret");
    let secret = hex::decode(secret).expect("hex");
    let now = chrono::Utc::now().timestamp();
    let step = hub::web::totp::step_of(now).max(last.map_or(i64::MIN, |l| l + 1));
    format!("{:06}", hub::web::totp::code_at(&secret, step))
}

/// Fills and sends the log-in form.
async fn password_step(browser: &Browser, hub: &Hub, username: &str, password: &str) {
    browser.goto(&format!("{}/login", hub.url())).await;
    browser.fill("#f-username", username).await;
    browser.fill("#f-password", password).await;
    browser
        .click_and_load("form[action='/login'] button[type=submit]")
        .await;
}

/// Logs in completely (second factor where the role needs it), checking each page with axe.
async fn login(browser: &Browser, hub: &Hub, axe: &str, username: &str, password: &str) {
    password_step(browser, hub, username, password).await;
    let url = browser.url().await;
    if url.ends_with("/login/totp") || url.ends_with("/login/totp-setup") {
        browser.assert_accessible(axe).await;
        browser.fill("#f-code", &totp_code(hub, username)).await;
        browser
            .click_and_load("main form button[type=submit]")
            .await;
    }
}

/// Logs in with a one-time password and chooses `new` on the page the hub sends one to first.
async fn first_login(
    browser: &Browser,
    hub: &Hub,
    axe: &str,
    username: &str,
    one_time: &str,
    new: &str,
) {
    login(browser, hub, axe, username, one_time).await;
    assert!(
        browser.url().await.ends_with("/account/password"),
        "{}",
        browser.url().await
    );
    browser.assert_accessible(axe).await;
    browser.fill("#f-current", one_time).await;
    browser.fill("#f-new", new).await;
    browser.fill("#f-repeat", new).await;
    browser
        .click_and_load("main form button[type=submit]")
        .await;
    assert!(
        !browser.url().await.ends_with("/account/password"),
        "{}",
        browser.text().await
    );
}

/// Makes an account through the API as the administrator; returns its one-time password.
async fn account(hub: &Hub, role: &str, username: &str) -> String {
    hub::server::install_crypto();
    let (admin, admin_password) = admin(hub);
    let cert = std::fs::read(hub.cert()).expect("cert");
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).expect("pem"))
        .build()
        .expect("client");
    let region = hub.one("SELECT id FROM regions LIMIT 1");
    let id = uuid::Uuid::new_v4().to_string();
    let answer = client
        .post(format!("{}/api/v1/accounts", hub.url()))
        .basic_auth(&admin, Some(&admin_password))
        .json(
            &json!({ "id": id, "username": username, "display_name": username,
                       "role": role, "region_id": region }),
        )
        .send()
        .await
        .expect("create account");
    assert_eq!(
        answer.status(),
        201,
        "{}",
        answer.text().await.unwrap_or_default()
    );
    let output = hub.command(&["account", "password", "--username", username]);
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .find_map(|l| l.strip_prefix("password="))
        .unwrap_or_else(|| panic!("no password= line in {text}"))
        .trim()
        .to_string()
}

#[tokio::test]
async fn an_admin_logs_in_with_a_second_factor_and_every_page_passes_axe() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = Hub::start(dir.path());
    let axe = axe_script();
    let browser = Browser::start(&hub.cert()).await;
    browser.goto(&format!("{}/", hub.url())).await;
    assert!(
        browser.url().await.contains("/login"),
        "{}",
        browser.url().await
    );
    browser.assert_accessible(&axe).await;
    let (user, password) = admin(&hub);
    login(&browser, &hub, &axe, &user, &password).await;
    assert!(
        browser.url().await.ends_with("/console"),
        "{}",
        browser.url().await
    );
    assert!(browser.text().await.contains("Übersicht"));
    browser.assert_accessible(&axe).await;
    browser
        .goto(&format!("{}/account/password", hub.url()))
        .await;
    browser.assert_accessible(&axe).await;
    // Log out: the console needs a log-in again.
    browser.click_and_load("form.logout button").await;
    browser.goto(&format!("{}/console", hub.url())).await;
    assert!(browser.url().await.contains("/login?next=/console"));
    browser.quit().await;
}

#[tokio::test]
async fn wrong_roles_forged_forms_and_locked_accounts_are_refused_in_the_browser() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = Hub::start(dir.path());
    let axe = axe_script();
    let one_time = account(&hub, "driver", "fahrerin").await;
    let password = "fahrerin-passwort-2026";
    let browser = Browser::start(&hub.cert()).await;
    first_login(&browser, &hub, &axe, "fahrerin", &one_time, password).await;
    // A driver is not let into the console.
    browser.goto(&format!("{}/console", hub.url())).await;
    assert!(browser.text().await.contains("nicht freigegeben"));
    browser.assert_accessible(&axe).await;
    // A form without the CSRF token, sent from the page by script, is refused and changes nothing.
    let status = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/account/password', { method: 'POST',
                 headers: { 'content-type': 'application/x-www-form-urlencoded' },
                 body: 'current=x&new=aaaaaaaaaaaaaaaa&repeat=aaaaaaaaaaaaaaaa' })
               .then(r => done(r.status)).catch(e => done(String(e)));",
            json!([]),
        )
        .await;
    assert_eq!(status, json!(403));
    // A form posted from another origin: no session cookie (SameSite) and a foreign origin.
    let before = hub.one("SELECT password_hash FROM accounts WHERE username = 'fahrerin'");
    let forged = format!(
        "data:text/html,<form id=f method=post action='{}/account/password'>\
         <input name=current value=x><input name=new value=aaaaaaaaaaaaaaaa>\
         <input name=repeat value=aaaaaaaaaaaaaaaa></form><script>f.submit()</script>",
        hub.url()
    );
    browser.goto(&forged).await;
    assert_eq!(
        hub.one("SELECT password_hash FROM accounts WHERE username = 'fahrerin'"),
        before
    );
    // Five wrong passwords lock the account; then the right one is refused too.
    let other = Browser::start(&hub.cert()).await;
    for _ in 0..5 {
        password_step(&other, &hub, "fahrerin", "falsches-passwort").await;
    }
    assert!(
        other.text().await.contains("gesperrt"),
        "{}",
        other.text().await
    );
    other.assert_accessible(&axe).await;
    password_step(&other, &hub, "fahrerin", password).await;
    assert!(
        other.url().await.ends_with("/login"),
        "{}",
        other.url().await
    );
    assert!(other.text().await.contains("gesperrt"));
    other.quit().await;
    browser.quit().await;
}
