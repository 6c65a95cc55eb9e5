//! A browser-like client for the hub's web pages: keeps cookies, sends forms with the page's CSRF
//! token and the hub's own `Origin`, follows no redirects by itself (tests look at them), and logs
//! in with password and, for admins and dispatchers, a TOTP code computed from the stored secret
//! (as the person's authenticator app would).

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::StatusCode;
use serde_json::json;

use super::{Fixture, TestHub, id};

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    /// The `Location` of a redirect.
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// Fails unless the page was answered with 200 and shows each of `words`.
    pub fn assert_shows(&self, words: &[&str]) {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        for words in words {
            assert!(self.body.contains(words), "{words}: {}", self.body);
        }
    }

    /// The value of the first hidden `_csrf` field on the page.
    pub fn csrf(&self) -> String {
        hidden_value(&self.body, "_csrf")
            .unwrap_or_else(|| panic!("no _csrf field on {}", self.body))
    }
}

/// The `value` of the first input named `name`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let end = tag[v..].find('"')?;
    Some(
        tag[v..v + end]
            .replace("&amp;", "&")
            .replace("&quot;", "\""),
    )
}

pub struct Browser<'a> {
    pub hub: &'a TestHub,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
    /// The Origin header sent with forms (a test of CSRF changes it).
    pub origin: String,
}

impl<'a> Browser<'a> {
    pub fn new(hub: &'a TestHub) -> Browser<'a> {
        let client = hub
            .client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser {
            hub,
            client,
            cookies: Mutex::new(BTreeMap::new()),
            origin: format!("https://localhost:{}", hub.addr.port()),
        }
    }

    /// A browser logged in completely as `username` (see [`Browser::login`]).
    pub async fn logged_in(hub: &'a TestHub, username: &str, password: &str) -> Browser<'a> {
        let browser = Browser::new(hub);
        browser.login(username, password).await;
        browser
    }

    fn cookie_header(&self) -> String {
        let cookies = self.cookies.lock().expect("cookies");
        cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The value of a cookie the hub set (and did not remove).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("cookies").get(name).cloned()
    }

    async fn finish(&self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(reqwest::header::SET_COOKIE) {
            let text = set.to_str().expect("cookie text");
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let mut cookies = self.cookies.lock().expect("cookies");
                if value.is_empty() || text.contains("Max-Age=0") {
                    cookies.remove(name);
                } else {
                    cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        let body = response.text().await.expect("body");
        Page {
            status,
            location,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .client
            .get(self.hub.url(path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("GET sent");
        self.finish(response).await
    }

    /// Posts a form with the given fields as they stand (add `_csrf` yourself, or use `submit`).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .client
            .post(self.hub.url(path))
            .header("cookie", self.cookie_header())
            .header("origin", &self.origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST sent");
        self.finish(response).await
    }

    /// Opens `page_path`, takes its CSRF token and posts `fields` with it to `action`.
    pub async fn submit(&self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{page_path}: {}", page.body);
        let token = page.csrf();
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Logs in with username and password only (no second factor); returns the answer to the
    /// password form.
    pub async fn password_step(&self, username: &str, password: &str) -> Page {
        self.submit(
            "/login",
            "/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Logs in completely, with a TOTP code where the role needs one (set up on first log-in).
    pub async fn login(&self, username: &str, password: &str) -> Page {
        let page = self.password_step(username, password).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "log-in of {username}: {}",
            page.body
        );
        let location = page.location.clone().unwrap_or_default();
        if location != "/login/totp" && location != "/login/totp-setup" {
            return page;
        }
        let form = self.get(&location).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let code = self.totp_code(username);
        let done = self
            .post(&location, &[("_csrf", &form.csrf()), ("code", &code)])
            .await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "code for {username}: {}",
            done.body
        );
        done
    }

    /// The code the account's authenticator shows now (the next one if this one was used).
    pub fn totp_code(&self, username: &str) -> String {
        let (secret, last): (String, Option<i64>) = self
            .hub
            .store
            .blocking(|c| {
                Ok(c.query_row(
                    "SELECT totp_secret, totp_last_step FROM accounts WHERE username = ?1",
                    [username],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .expect("totp secret");
        let secret = hex::decode(secret).expect("hex secret");
        let now = chrono::Utc::now().timestamp();
        let step = hub::web::totp::step_of(now).max(last.map_or(i64::MIN, |l| l + 1));
        format!("{:06}", hub::web::totp::code_at(&secret, step))
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Makes an account with a password through the API and the hub's library; returns its id and
/// password. `region` is required for every role but admin.
pub async fn account(
    hub: &TestHub,
    role: &str,
    username: &str,
    region: Option<&str>,
) -> (String, String) {
    let account_id = id();
    let mut body = json!({
        "id": account_id, "username": username, "display_name": format!("{username} Test"),
        "role": role,
    });
    if let Some(region) = region {
        body["region_id"] = json!(region);
    }
    hub.create("accounts", body).await;
    let password = hub::accounts::random_password();
    hub::accounts::set_password(&hub.store, username, &password).expect("password");
    (account_id, password)
}

/// A browser logged in as the hub's first administrator.
pub async fn admin(hub: &TestHub) -> Browser<'_> {
    Browser::logged_in(hub, &hub.user, &hub.password).await
}

/// A browser logged in as a fresh account of `role` in `region`, made by [`account`].
pub async fn as_role<'a>(
    hub: &'a TestHub,
    role: &str,
    username: &str,
    region: &str,
) -> Browser<'a> {
    let (_, password) = account(hub, role, username, Some(region)).await;
    Browser::logged_in(hub, username, &password).await
}

/// Makes a caregiver account of the fixture's caregiver (Jonas Köhler) with a password; returns
/// the password.
pub async fn caregiver_account(hub: &TestHub, f: &Fixture, username: &str) -> String {
    hub.create(
        "accounts",
        json!({"id": id(), "username": username, "display_name": "Jonas Köhler",
               "role": "caregiver", "region_id": f.region, "caregiver_id": f.caregiver}),
    )
    .await;
    let password = hub::accounts::random_password();
    hub::accounts::set_password(&hub.store, username, &password).expect("password");
    password
}

/// A browser logged in as a fresh caregiver account of the fixture's caregiver.
pub async fn as_caregiver<'a>(hub: &'a TestHub, f: &Fixture, username: &str) -> Browser<'a> {
    let password = caregiver_account(hub, f, username).await;
    Browser::logged_in(hub, username, &password).await
}
