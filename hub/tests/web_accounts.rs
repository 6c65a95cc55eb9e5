//! Web pages: accounts. Listing and creating accounts, one-time passwords, unlocking, resetting the
//! second factor, archiving and log-in events; roles, CSRF, bad input and unknown ids.

use reqwest::StatusCode;

use crate::common::web::{Browser, account, admin, as_role, hidden_value};
use crate::common::{TestHub, fixture};

fn column(hub: &TestHub, username: &str, column: &str) -> Option<String> {
    hub.store
        .blocking(|c| {
            Ok(c.query_row(
                &format!("SELECT CAST({column} AS TEXT) FROM accounts WHERE username = ?1"),
                [username],
                |r| r.get(0),
            )?)
        })
        .expect("account column")
}

fn audit_lines(hub: &TestHub, action: &str, account_id: &str) -> i64 {
    hub.store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM audit_log WHERE kind = 'accounts' AND action = ?1
                 AND entity_id = ?2 AND actor = 'account:admin'",
                [action, account_id],
                |r| r.get(0),
            )?)
        })
        .expect("audit")
}

/// The password shown on a one-time password page.
fn shown_password(body: &str) -> String {
    let start = body
        .find("id=\"one-time-password\">")
        .expect("password on page")
        + 23;
    let end = start + body[start..].find('<').expect("end of password");
    body[start..end].to_string()
}

#[tokio::test]
async fn an_admin_creates_an_account_whose_person_must_choose_a_password() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let browser = admin(&hub).await;
    let list = browser.get("/console/accounts").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains(">admin</a>"));
    assert!(list.body.contains("alle Regionen"));
    assert!(!list.body.contains("value=\"caregiver\""));
    let client_id = hidden_value(&list.body, "client_id").expect("client id");
    let created = browser
        .post(
            "/console/accounts",
            &[
                ("_csrf", &list.csrf()),
                ("client_id", &client_id),
                ("username", "m.weber"),
                ("display_name", "Maria Weber"),
                ("role", "dispatcher"),
                ("region_id", &f.region),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let password = shown_password(&created.body);
    assert_eq!(password.len(), 20);
    assert_eq!(
        column(&hub, "m.weber", "id").as_deref(),
        Some(client_id.as_str())
    );
    assert_eq!(
        column(&hub, "m.weber", "role").as_deref(),
        Some("dispatcher")
    );
    assert_eq!(column(&hub, "m.weber", "region_id"), Some(f.region.clone()));
    assert_eq!(
        column(&hub, "m.weber", "password_must_change").as_deref(),
        Some("1")
    );
    assert_eq!(audit_lines(&hub, "create", &client_id), 1);
    let list = browser.get("/console/accounts").await;
    assert!(list.body.contains(">m.weber</a>"));
    assert!(list.body.contains("Maria Weber"));
    assert!(list.body.contains("Elm-Asse"));

    // The person logs in (second factor set up on the way) and must choose a password first.
    let person = Browser::logged_in(&hub, "m.weber", &password).await;
    let console = person.get("/console").await;
    assert_eq!(console.status, StatusCode::SEE_OTHER);
    assert_eq!(console.location.as_deref(), Some("/account/password"));
}

#[tokio::test]
async fn a_reset_password_works_once_and_must_be_changed() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (id, old) = account(&hub, "driver", "k.fahrer", Some(&f.region)).await;
    let driver = Browser::logged_in(&hub, "k.fahrer", &old).await;
    assert_eq!(driver.get("/account/password").await.status, StatusCode::OK);
    let browser = admin(&hub).await;
    let page = format!("/console/accounts/{id}");
    let detail = browser.get(&page).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    assert!(detail.body.contains("angemeldet"), "the log-in is listed");
    // A locked account is unlocked by the reset, or the new password would be of no use.
    hub.store
        .blocking(|c| {
            Ok(c.execute(
                "UPDATE accounts SET locked_until = '2999-01-01T00:00:00Z' WHERE id = ?1",
                [&id],
            )?)
        })
        .unwrap();
    let reset = browser
        .submit(&page, &format!("{page}/password"), &[])
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let password = shown_password(&reset.body);
    assert_ne!(password, old);
    assert_eq!(audit_lines(&hub, "update", &id), 1);
    // The driver's session ended; the old password is gone; the new one forces a change.
    let after = driver.get("/account/password").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location.unwrap_or_default().starts_with("/login"));
    let wrong = Browser::new(&hub).password_step("k.fahrer", &old).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let fresh = Browser::logged_in(&hub, "k.fahrer", &password).await;
    let home = fresh.get("/console").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location.as_deref(), Some("/account/password"));
    let changed = fresh
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current", &password),
                ("new", "ein neues langes Passwort"),
                ("repeat", "ein neues langes Passwort"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(
        column(&hub, "k.fahrer", "password_must_change").as_deref(),
        Some("0")
    );
    // The events list shows the wrong try, newest first.
    let detail = browser.get(&page).await;
    let wrong_at = detail
        .body
        .find("falsches Passwort")
        .expect("wrong try listed");
    let first_ok = detail.body.find("angemeldet").expect("log-in listed");
    assert!(first_ok < wrong_at, "newest first");
}

#[tokio::test]
async fn unlocking_lets_a_locked_account_log_in() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (id, password) = account(&hub, "driver", "gesperrt", Some(&f.region)).await;
    hub.store
        .blocking(|c| {
            Ok(c.execute(
                "UPDATE accounts SET locked_until = '2999-01-01T00:00:00Z', failed_logins = 3
                 WHERE id = ?1",
                [&id],
            )?)
        })
        .unwrap();
    let locked = Browser::new(&hub)
        .password_step("gesperrt", &password)
        .await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    let browser = admin(&hub).await;
    let page = format!("/console/accounts/{id}");
    let detail = browser.get(&page).await;
    assert!(detail.body.contains("Sperre aufheben"));
    let done = browser.submit(&page, &format!("{page}/unlock"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(column(&hub, "gesperrt", "locked_until"), None);
    assert_eq!(
        column(&hub, "gesperrt", "failed_logins").as_deref(),
        Some("0")
    );
    assert_eq!(audit_lines(&hub, "update", &id), 1);
    let open = Browser::new(&hub)
        .password_step("gesperrt", &password)
        .await;
    assert_eq!(open.status, StatusCode::SEE_OTHER, "{}", open.body);
}

#[tokio::test]
async fn a_reset_second_factor_is_set_up_again() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (id, password) = account(&hub, "dispatcher", "d.totp", Some(&f.region)).await;
    let person = Browser::logged_in(&hub, "d.totp", &password).await;
    assert_eq!(person.get("/console").await.status, StatusCode::OK);
    let browser = admin(&hub).await;
    let page = format!("/console/accounts/{id}");
    let done = browser
        .submit(&page, &format!("{page}/totp-reset"), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(column(&hub, "d.totp", "totp_secret"), None);
    assert_eq!(column(&hub, "d.totp", "totp_confirmed_at"), None);
    assert_eq!(audit_lines(&hub, "update", &id), 1);
    assert_eq!(person.get("/console").await.status, StatusCode::SEE_OTHER);
    let again = Browser::new(&hub).password_step("d.totp", &password).await;
    assert_eq!(again.location.as_deref(), Some("/login/totp-setup"));
}

#[tokio::test]
async fn an_archived_account_cannot_log_in() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (id, password) = account(&hub, "driver", "weg", Some(&f.region)).await;
    let person = Browser::logged_in(&hub, "weg", &password).await;
    let browser = admin(&hub).await;
    let page = format!("/console/accounts/{id}");
    let done = browser.submit(&page, &format!("{page}/archive"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(column(&hub, "weg", "archived_at").is_some());
    assert_eq!(audit_lines(&hub, "cancel", &id), 1);
    assert_eq!(
        person.get("/account/password").await.status,
        StatusCode::SEE_OTHER
    );
    let refused = Browser::new(&hub).password_step("weg", &password).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // Nobody archives their own account.
    let own = column(&hub, "admin", "id").unwrap();
    let own_page = format!("/console/accounts/{own}");
    let detail = browser.get(&own_page).await;
    assert!(!detail.body.contains("Konto archivieren"));
    let refused = browser
        .submit(&own_page, &format!("{own_page}/archive"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(column(&hub, "admin", "archived_at"), None);
}

#[tokio::test]
async fn dispatchers_and_drivers_may_not_manage_accounts() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (victim, _) = account(&hub, "driver", "opfer", Some(&f.region)).await;
    for (role, name) in [("dispatcher", "disp.acc"), ("driver", "driver.acc")] {
        let browser = as_role(&hub, role, name, &f.region).await;
        assert_eq!(
            browser.get("/console/accounts").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            browser
                .get(&format!("/console/accounts/{victim}"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        for action in ["password", "unlock", "totp-reset", "archive"] {
            let page = browser
                .submit(
                    "/account/password",
                    &format!("/console/accounts/{victim}/{action}"),
                    &[],
                )
                .await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{role} {action}");
        }
        let before = hub.count("accounts");
        let create = browser
            .submit(
                "/account/password",
                "/console/accounts",
                &[
                    ("client_id", &crate::common::id()),
                    ("username", "boss"),
                    ("display_name", "Boss"),
                    ("role", "admin"),
                ],
            )
            .await;
        assert_eq!(create.status, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(hub.count("accounts"), before);
    }
    assert_eq!(column(&hub, "opfer", "archived_at"), None);
    assert_eq!(
        column(&hub, "opfer", "password_must_change").as_deref(),
        Some("0")
    );
}

#[tokio::test]
async fn forms_without_the_token_change_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (victim, password) = account(&hub, "driver", "bleibt", Some(&f.region)).await;
    let browser = admin(&hub).await;
    let before = hub.count("accounts");
    let create = browser
        .post(
            "/console/accounts",
            &[
                ("client_id", &crate::common::id()),
                ("username", "neu"),
                ("display_name", "Neu"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    for action in ["password", "archive"] {
        let page = browser
            .post(
                &format!("/console/accounts/{victim}/{action}"),
                &[("_csrf", "falsch")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(hub.count("accounts"), before);
    assert_eq!(column(&hub, "bleibt", "archived_at"), None);
    let still = Browser::new(&hub).password_step("bleibt", &password).await;
    assert_eq!(
        still.status,
        StatusCode::SEE_OTHER,
        "old password still works"
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let browser = admin(&hub).await;
    let before = hub.count("accounts");
    let long = "N".repeat(101);
    for (username, name, role, region) in [
        ("leer", "", "dispatcher", f.region.as_str()),
        ("lang", long.as_str(), "dispatcher", f.region.as_str()),
        ("rolle", "Rolle", "king", f.region.as_str()),
        ("angehoerig", "Angehörige", "caregiver", f.region.as_str()),
        ("ohne.region", "Ohne Region", "driver", ""),
        ("fremde.region", "Fremd", "driver", "no-such-region"),
        ("Gross Schreibung", "Groß", "driver", f.region.as_str()),
        ("admin.region", "Admin", "admin", f.region.as_str()),
    ] {
        let page = browser
            .submit(
                "/console/accounts",
                "/console/accounts",
                &[
                    ("client_id", &crate::common::id()),
                    ("username", username),
                    ("display_name", name),
                    ("role", role),
                    ("region_id", region),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{username}");
        assert!(page.body.contains("role=\"alert\""));
    }
    let taken = browser
        .submit(
            "/console/accounts",
            "/console/accounts",
            &[
                ("client_id", &crate::common::id()),
                ("username", "admin"),
                ("display_name", "Noch ein Admin"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(hub.count("accounts"), before);
}

#[tokio::test]
async fn unknown_accounts_are_not_found() {
    let hub = TestHub::start().await;
    let browser = admin(&hub).await;
    assert_eq!(
        browser
            .get("/console/accounts/no-such-account")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for action in ["password", "unlock", "totp-reset", "archive"] {
        let page = browser
            .submit(
                "/console/accounts",
                &format!("/console/accounts/no-such-account/{action}"),
                &[],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{action}");
    }
}
