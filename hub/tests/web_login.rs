//! Logging in on the web: passwords, second factor, lock-out, sessions, CSRF and roles.

use reqwest::StatusCode;

use crate::common::web::{Browser, account};
use crate::common::{TestHub, fixture};

#[tokio::test]
async fn an_admin_sets_up_the_second_factor_then_needs_it_each_time() {
    let hub = TestHub::start().await;
    let browser = Browser::new(&hub);
    // Password first: a session that is not yet logged in.
    let page = browser.password_step(&hub.user, &hub.password).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/login/totp-setup"));
    let console = browser.get("/console").await;
    assert_eq!(
        console.status,
        StatusCode::SEE_OTHER,
        "no console before the code"
    );
    // The set-up page shows the secret and a QR code; a wrong code is refused.
    let setup = browser.get("/login/totp-setup").await;
    assert!(setup.body.contains("totp-secret"), "{}", setup.body);
    assert!(setup.body.contains("data:image/svg+xml;base64,"));
    let wrong = browser
        .post(
            "/login/totp-setup",
            &[("_csrf", &setup.csrf()), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Der Code stimmt nicht"));
    let before = browser.cookie("__Host-dorfpunkt").expect("session cookie");
    let done = browser
        .post(
            "/login/totp-setup",
            &[
                ("_csrf", &setup.csrf()),
                ("code", &browser.totp_code(&hub.user)),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let after = browser.cookie("__Host-dorfpunkt").expect("session cookie");
    assert_ne!(before, after, "a new session token after the second factor");
    let console = browser.get("/console").await;
    assert_eq!(console.status, StatusCode::OK, "{}", console.body);
    assert!(console.body.contains("Übersicht"));

    // A second browser: password then the code, now without set-up.
    let other = Browser::new(&hub);
    let page = other.password_step(&hub.user, &hub.password).await;
    assert_eq!(page.location.as_deref(), Some("/login/totp"));
    // The code just used does not count again.
    let form = other.get("/login/totp").await;
    let last: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT totp_last_step FROM accounts WHERE username = 'admin'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    let secret: String = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT totp_secret FROM accounts WHERE username = 'admin'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    let used = format!(
        "{:06}",
        hub::web::totp::code_at(&hex::decode(secret).unwrap(), last)
    );
    let replay = other
        .post("/login/totp", &[("_csrf", &form.csrf()), ("code", &used)])
        .await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "a code is used once"
    );
    let ok = other
        .post(
            "/login/totp",
            &[
                ("_csrf", &form.csrf()),
                ("code", &other.totp_code(&hub.user)),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(other.get("/").await.location.as_deref(), Some("/console"));
}

#[tokio::test]
async fn the_session_cookie_is_host_only_secure_http_only_and_strict() {
    let hub = TestHub::start().await;
    let fx = fixture(&hub, 0).await;
    let (_, password) = account(&hub, "driver", "fahrer1", Some(&fx.region)).await;
    let browser = Browser::new(&hub);
    let page = browser.password_step("fahrer1", &password).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let set = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("__Host-dorfpunkt="))
        .expect("session cookie set");
    for part in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(part), "{part} missing in {set}");
    }
    let token = set
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    assert_eq!(token.len(), 64, "256 random bits, hex");
    // Only the token's hash is stored.
    let stored: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM web_sessions WHERE token_hash = ?1",
                [&token],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(stored, 0);
    // A driver goes to the driver's page, and the console is not theirs.
    assert_eq!(browser.get("/").await.location.as_deref(), Some("/driver"));
    assert_eq!(browser.get("/console").await.status, StatusCode::FORBIDDEN);
    // Page security headers.
    let login = Browser::new(&hub).get("/login").await;
    let csp = login
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(login.headers.get("strict-transport-security").is_some());
    assert_eq!(login.headers.get("x-frame-options").unwrap(), "DENY");
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_web_and_api() {
    let hub = TestHub::start().await;
    let fx = fixture(&hub, 0).await;
    let (_, password) = account(&hub, "driver", "fahrer2", Some(&fx.region)).await;
    let browser = Browser::new(&hub);
    // An unknown name and a wrong password get the same answer.
    let unknown = browser.password_step("niemand", "falsch-falsch").await;
    let wrong = browser.password_step("fahrer2", "falsch-falsch").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        unknown
            .body
            .contains("Benutzername oder Passwort ist falsch")
    );
    assert!(wrong.body.contains("Benutzername oder Passwort ist falsch"));
    for _ in 0..3 {
        browser.password_step("fahrer2", "falsch-falsch").await;
    }
    let fifth = browser.password_step("fahrer2", "falsch-falsch").await;
    assert_eq!(fifth.status, StatusCode::FORBIDDEN, "{}", fifth.body);
    assert!(fifth.body.contains("gesperrt"));
    // Now even the right password is refused, on the web and on the API.
    let right = browser.password_step("fahrer2", &password).await;
    assert_eq!(right.status, StatusCode::FORBIDDEN);
    assert!(browser.cookie("__Host-dorfpunkt").is_none(), "no session");
    let api = hub
        .client
        .get(hub.url("/api/v1/regions"))
        .basic_auth("fahrer2", Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let outcomes: Vec<String> = hub
        .store
        .blocking(|c| {
            let mut s = c.prepare(
                "SELECT outcome FROM login_events WHERE username = 'fahrer2' ORDER BY seq",
            )?;
            Ok(s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
        })
        .unwrap();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "wrong_password").count(),
        5
    );
    assert_eq!(outcomes.last().map(String::as_str), Some("locked"));
    // When the lock ends, the right password works again.
    hub.store
        .blocking(|c| Ok(c.execute("UPDATE accounts SET locked_until = '2000-01-01T00:00:00Z' WHERE username = 'fahrer2'", [])?))
        .unwrap();
    let again = browser.password_step("fahrer2", &password).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
}

#[tokio::test]
async fn forms_without_the_token_or_from_another_origin_are_refused() {
    let hub = TestHub::start().await;
    let fx = fixture(&hub, 0).await;
    let (_, password) = account(&hub, "driver", "fahrer3", Some(&fx.region)).await;
    let mut browser = Browser::new(&hub);
    // The log-in form itself needs its token.
    let no_token = browser
        .post(
            "/login",
            &[("username", "fahrer3"), ("password", &password)],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert!(browser.cookie("__Host-dorfpunkt").is_none());
    browser.login("fahrer3", &password).await;
    let page = browser.get("/account/password").await;
    let token = page.csrf();
    let change = [
        ("current", password.as_str()),
        ("new", "ein-neues-langes-passwort"),
        ("repeat", "ein-neues-langes-passwort"),
    ];
    // Wrong token.
    let mut fields = vec![("_csrf", "0000")];
    fields.extend_from_slice(&change);
    assert_eq!(
        browser.post("/account/password", &fields).await.status,
        StatusCode::FORBIDDEN
    );
    // Right token, other origin.
    browser.origin = "https://evil.example".into();
    let mut fields = vec![("_csrf", token.as_str())];
    fields.extend_from_slice(&change);
    assert_eq!(
        browser.post("/account/password", &fields).await.status,
        StatusCode::FORBIDDEN
    );
    // Nothing changed: the old password still works.
    assert!(hub::api::auth::verify_password(
        &password,
        &password_hash(&hub, "fahrer3")
    ));
    // From our own origin it works, and the old password is gone.
    browser.origin = format!("https://localhost:{}", hub.addr.port());
    let done = browser.post("/account/password", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(hub::api::auth::verify_password(
        "ein-neues-langes-passwort",
        &password_hash(&hub, "fahrer3")
    ));
}

fn password_hash(hub: &TestHub, username: &str) -> String {
    hub.store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT password_hash FROM accounts WHERE username = ?1",
                [username],
                |r| r.get(0),
            )?)
        })
        .expect("password hash")
}

#[tokio::test]
async fn an_idle_staff_session_ends_and_logout_ends_it_at_once() {
    let hub = TestHub::start().await;
    let fx = fixture(&hub, 0).await;
    let (_, password) = account(&hub, "driver", "fahrer4", Some(&fx.region)).await;
    let browser = Browser::new(&hub);
    browser.login("fahrer4", &password).await;
    assert_eq!(
        browser.get("/account/password").await.status,
        StatusCode::OK
    );
    // Sixteen idle minutes later the session is over.
    hub.store
        .blocking(|c| {
            Ok(c.execute(
                "UPDATE web_sessions SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-16 minutes')",
                [],
            )?)
        })
        .unwrap();
    let page = browser.get("/account/password").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location.as_deref(),
        Some("/login?next=/account/password")
    );
    // Log in again, then log out: the same cookie opens nothing.
    browser.login("fahrer4", &password).await;
    let cookie = browser.cookie("__Host-dorfpunkt").unwrap();
    let out = browser.submit("/account/password", "/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let reuse = hub
        .client
        .get(hub.url("/account/password"))
        .header("cookie", format!("__Host-dorfpunkt={cookie}"))
        .send()
        .await
        .unwrap();
    assert!(reuse.url().path().starts_with("/login"), "{}", reuse.url());
}

#[tokio::test]
async fn an_account_whose_password_was_reset_must_choose_a_new_one_first() {
    let hub = TestHub::start().await;
    let fx = fixture(&hub, 0).await;
    let (_, password) = account(&hub, "driver", "fahrer5", Some(&fx.region)).await;
    hub.store
        .blocking(|c| {
            Ok(c.execute(
                "UPDATE accounts SET password_must_change = 1 WHERE username = 'fahrer5'",
                [],
            )?)
        })
        .unwrap();
    let browser = Browser::new(&hub);
    browser.login("fahrer5", &password).await;
    let page = browser.get("/console").await;
    assert_eq!(page.location.as_deref(), Some("/account/password"));
    let short = browser
        .submit(
            "/account/password",
            "/account/password",
            &[("current", &password), ("new", "kurz"), ("repeat", "kurz")],
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.body.contains("mindestens 12 Zeichen"));
    let ok = browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current", &password),
                ("new", "langes-passwort-2026"),
                ("repeat", "langes-passwort-2026"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let must: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT password_must_change FROM accounts WHERE username = 'fahrer5'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(must, 0);
}

/// Registers a caregiver through the registration page; returns nothing but the account exists.
async fn register(hub: &TestHub, region: &str, email: &str, password: &str) {
    let browser = Browser::new(hub);
    let done = browser
        .submit(
            "/care/register",
            "/care/register",
            &[
                ("region", region),
                ("name", "Anna Schmidt"),
                ("email", email),
                ("phone", ""),
                ("password", password),
                ("repeat", password),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}

#[tokio::test]
async fn a_caregiver_logs_in_with_the_e_mail_address_as_typed() {
    let hub = TestHub::start().await;
    let fx = fixture(&hub, 0).await;
    let password = "ein langes Passwort 42";
    register(&hub, &fx.region, "Anna.Schmidt@Example.org", password).await;
    for typed in [
        "Anna.Schmidt@Example.org",
        " anna.schmidt@example.org ",
        "anna.schmidt-at-example.org",
    ] {
        let browser = Browser::new(&hub);
        let page = browser.password_step(typed, password).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{typed}: {}", page.body);
        let home = browser.get("/care").await;
        assert_eq!(home.status, StatusCode::OK, "{typed}");
        assert!(home.body.contains("anna.schmidt-at-example.org"));
    }
    // A wrong password with the e-mail address counts against the account and shows what was
    // typed again.
    let browser = Browser::new(&hub);
    let wrong = browser
        .password_step("Anna.Schmidt@Example.org", "falsches Passwort 1")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Benutzername oder Passwort ist falsch"));
    assert!(wrong.body.contains(r#"value="Anna.Schmidt@Example.org""#));
    let failures: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT failed_logins FROM accounts WHERE username = 'anna.schmidt-at-example.org'",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("failures");
    assert_eq!(failures, 1);
    // Another address is nobody's.
    let other = Browser::new(&hub)
        .password_step("anna.schmidt@example.com", password)
        .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_log_in_and_password_pages_speak_the_chosen_language_to_caregivers_only() {
    let hub = TestHub::start().await;
    let fx = fixture(&hub, 0).await;
    let browser = Browser::new(&hub);
    let chosen = browser.get("/care/language?lang=tr&back=/login").await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER);
    assert_eq!(chosen.location.as_deref(), Some("/login"));
    let page = browser.get("/login").await;
    assert!(
        page.body.contains(r#"<html lang="tr" dir="ltr">"#),
        "{}",
        page.body
    );
    for text in [
        "Giriş yap",
        "Kullanıcı adı veya e-posta adresi",
        "Şifre",
        "Bakım veren olarak kaydol",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    let wrong = browser
        .password_step("niemand", "falsches Passwort 1")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("Kullanıcı adı veya şifre yanlış."),
        "{}",
        wrong.body
    );

    // A caregiver's password page in Turkish, its refusal too.
    let password = "ein langes Passwort 42";
    register(&hub, &fx.region, "ayse@example.org", password).await;
    let carer = Browser::new(&hub);
    carer.get("/care/language?lang=tr&back=/login").await;
    carer.password_step("ayse@example.org", password).await;
    let form = carer.get("/account/password").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Şifreyi değiştir"), "{}", form.body);
    let short = carer
        .submit(
            "/account/password",
            "/account/password",
            &[("current", password), ("new", "kurz"), ("repeat", "kurz")],
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.body.contains("Yeni şifre çok kısa"), "{}", short.body);

    // Staff pages stay German whatever the cookie says.
    let (_, driver_password) = account(&hub, "driver", "fahrer2", Some(&fx.region)).await;
    let staff = Browser::new(&hub);
    staff.get("/care/language?lang=tr&back=/login").await;
    staff.password_step("fahrer2", &driver_password).await;
    let form = staff.get("/account/password").await;
    assert!(form.body.contains(r#"<html lang="de">"#), "{}", form.body);
    assert!(form.body.contains("Passwort ändern"));
}
