//! Registration of a caregiver (`/care/register`, no log-in yet): the caregiver record and its
//! account are made in one transaction, then the person is logged in. The form is protected like
//! the log-in form: a token in the `__Host-` pre-session cookie, the same in a hidden field, and
//! the request's origin must be the hub.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use rusqlite::{Connection, params};
use serde::Deserialize;

use super::super::error::WebError;
use super::super::layout::{input, notice, page, select};
use super::super::login::password_problem;
use super::super::regions;
use super::super::session::{
    self, COOKIE, LOGIN_COOKIE, check_csrf, cookie, form_bytes, parse_form,
};
use crate::accounts;
use crate::api::AppState;
use crate::api::error::REQUEST_ID;
use crate::domain::common::{check_email, check_phone};
use crate::domain::{Account, Caregiver, Role};
use crate::store::logs::Who;
use crate::store::{StoreError, StoreResult, records};

/// Longest name taken (as on the kiosk's keyboard).
const MAX_NAME: usize = 80;
/// Longest e-mail address taken.
const MAX_EMAIL: usize = 100;

/// What the form sent.
#[derive(Debug, Default, Deserialize)]
struct RegisterForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    consent: Option<String>,
}

/// The account name of an e-mail address. Account names allow only `a-z 0-9 . _ -`, so the `@`
/// becomes `-at-` and any other character `-`; the person is told the result.
fn username_of(email: &str) -> String {
    email
        .to_lowercase()
        .replace('@', "-at-")
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn form(
    token: &str,
    all_regions: &[(String, String)],
    sent: &RegisterForm,
    problem: Option<&str>,
) -> Markup {
    page(
        None,
        "Als Kümmerer:in registrieren",
        html! {
            p { "Hier können Sie Fahrten und Beratungstermine für Menschen buchen, die selbst kein Internet nutzen." }
            @if let Some(problem) = problem { (notice("error", problem)) }
            form method="post" action="/care/register" class="care-form" {
                input type="hidden" name="_csrf" value=(token);
                (select("region", "Ihre Region", all_regions, &sent.region, true))
                (input("name", "Ihr Vor- und Nachname", "text", &sent.name, true, None))
                (input("email", "Ihre E-Mail-Adresse", "email", &sent.email, true,
                       Some("Damit melden Sie sich später an.")))
                (input("phone", "Ihre Telefonnummer (freiwillig)", "tel", &sent.phone, false,
                       Some("Damit die Zentrale Sie bei Fragen anrufen kann.")))
                (input("password", "Passwort", "password", "", true, Some("Mindestens 12 Zeichen.")))
                (input("repeat", "Passwort wiederholen", "password", "", true, None))
                div class="field care-check" {
                    input id="f-consent" type="checkbox" name="consent" value="yes" required;
                    label for="f-consent" {
                        "Ich bin einverstanden, dass Dorfpunkt meinen Namen, meine E-Mail-Adresse und "
                        "Telefonnummer speichert, um Buchungen für andere zu ermöglichen. Ich kann das "
                        "Konto jederzeit löschen lassen."
                    }
                }
                button type="submit" { "Registrieren" }
            }
            p { "Schon registriert? " a href="/login" { "Zur Anmeldung" } }
        },
    )
}

/// The registration page; gives the browser the form's own token cookie.
pub(super) async fn form_page(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let token = cookie(&headers, LOGIN_COOKIE).unwrap_or_else(session::new_token);
    let all = regions(&app).await?;
    let mut response = form(&token, &all, &RegisterForm::default(), None).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(LOGIN_COOKIE, &token),
    );
    Ok(response)
}

/// What is wrong with the form, in German; `None` when it may be stored.
fn problem_of(f: &RegisterForm, all: &[(String, String)]) -> Option<String> {
    let name = f.name.trim();
    let email = f.email.trim();
    let username = username_of(email);
    if !all.iter().any(|(id, _)| *id == f.region) {
        Some("Bitte wählen Sie Ihre Region aus der Liste.".into())
    } else if name.is_empty() {
        Some("Bitte geben Sie Ihren Namen ein.".into())
    } else if name.chars().count() > MAX_NAME {
        Some(format!(
            "Der Name ist zu lang (höchstens {MAX_NAME} Zeichen)."
        ))
    } else if email.chars().count() > MAX_EMAIL || check_email("email", email).is_err() {
        Some(
            "Bitte geben Sie eine gültige E-Mail-Adresse ein, zum Beispiel name@beispiel.de."
                .into(),
        )
    } else if !(3..=40).contains(&username.len()) {
        Some(
            "Diese E-Mail-Adresse ist für ein Konto zu lang. Bitte nehmen Sie eine kürzere.".into(),
        )
    } else if !f.phone.trim().is_empty() && check_phone("phone", f.phone.trim()).is_err() {
        Some("Die Telefonnummer ist nicht richtig, zum Beispiel: 05331 123456.".into())
    } else if f.consent.is_none() {
        Some("Bitte stimmen Sie der Speicherung Ihrer Daten zu.".into())
    } else {
        password_problem(&username, &f.password, &f.repeat).map(str::to_string)
    }
}

/// What storing a registration came to.
enum Outcome {
    /// The e-mail address (or its account name) is in use.
    Taken,
    /// Registered and logged in: the new session's cookie token.
    Registered(String),
}

/// Whether the e-mail address or its account name is in use already.
fn taken(conn: &Connection, email: &str, username: &str) -> StoreResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE username = ?2)
             OR EXISTS (SELECT 1 FROM caregivers WHERE lower(email) = lower(?1)
                        AND archived_at IS NULL)",
        params![email, username],
        |r| r.get(0),
    )?)
}

/// Makes caregiver, account and password, and opens a session, all in one transaction.
fn store_registration(conn: &mut Connection, f: &RegisterForm, hash: &str) -> StoreResult<Outcome> {
    let email = f.email.trim().to_string();
    let username = username_of(&email);
    let who = Who {
        actor: "web:self-registration".into(),
        request_id: REQUEST_ID.try_with(Clone::clone).ok(),
    };
    let tx = conn.transaction()?;
    if taken(&tx, &email, &username)? {
        return Ok(Outcome::Taken);
    }
    let phone = Some(f.phone.trim().to_string()).filter(|p| !p.is_empty());
    let caregiver = Caregiver {
        region_id: f.region.clone(),
        name: f.name.trim().to_string(),
        phone,
        email: Some(email),
        village_id: None,
    };
    let created = records::create_in(&tx, &who, None, &caregiver)?;
    let caregiver_id = created.record["id"]
        .as_str()
        .ok_or_else(|| StoreError::Internal("created caregiver has no id".into()))?
        .to_string();
    let account = Account {
        region_id: Some(f.region.clone()),
        username,
        display_name: caregiver.name.clone(),
        role: Role::Caregiver,
        caregiver_id: Some(caregiver_id),
    };
    let created = records::create_in(&tx, &who, None, &account)?;
    let account_id = created.record["id"]
        .as_str()
        .ok_or_else(|| StoreError::Internal("created account has no id".into()))?
        .to_string();
    tx.execute(
        "UPDATE accounts SET password_hash = ?2 WHERE id = ?1",
        params![account_id, hash],
    )?;
    let now = Utc::now();
    accounts::login_event(&tx, &account.username, Some(&account_id), "ok", now)?;
    let token = session::start(&tx, &account_id, "full", now)?;
    tx.commit()?;
    Ok(Outcome::Registered(token))
}

/// Takes the form: checks token and origin, then the fields; on success logs the person in and
/// sends them to `/care`.
pub(super) async fn register(
    State(app): State<AppState>,
    req: Request,
) -> Result<Response, WebError> {
    let (parts, body) = req.into_parts();
    let bytes = form_bytes(&parts, body).await?;
    let expected = cookie(&parts.headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() {
        return Err(WebError::CsrfFailed);
    }
    let sent: RegisterForm = parse_form(&bytes)?;
    check_csrf(&parts, &expected, &sent.csrf)?;
    let all = regions(&app).await?;
    let refuse = |status: StatusCode, problem: &str| {
        (status, form(&expected, &all, &sent, Some(problem))).into_response()
    };
    if let Some(problem) = problem_of(&sent, &all) {
        return Ok(refuse(StatusCode::BAD_REQUEST, &problem));
    }
    let password = sent.password.clone();
    let hash = tokio::task::spawn_blocking(move || accounts::hash_password(&password))
        .await
        .map_err(|e| WebError::Internal(format!("hashing task: {e}")))??;
    let stored = RegisterForm {
        csrf: String::new(),
        password: String::new(),
        repeat: String::new(),
        consent: sent.consent.clone(),
        region: sent.region.clone(),
        name: sent.name.clone(),
        email: sent.email.clone(),
        phone: sent.phone.clone(),
    };
    let outcome = app
        .store
        .run(move |conn| store_registration(conn, &stored, &hash))
        .await;
    let token = match outcome {
        Ok(Outcome::Registered(token)) => token,
        Ok(Outcome::Taken) | Err(StoreError::Conflict(_)) => {
            return Ok(refuse(
                StatusCode::CONFLICT,
                "Mit dieser E-Mail-Adresse ist schon jemand registriert. Bitte melden Sie sich an \
                 oder rufen Sie die Zentrale an.",
            ));
        }
        Err(StoreError::Invalid { .. }) => {
            return Ok(refuse(
                StatusCode::BAD_REQUEST,
                "Die Angaben können so nicht gespeichert werden. Bitte prüfen Sie sie.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = Redirect::to("/care?welcome=1").into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session::set_cookie(COOKIE, &token));
    headers.append(header::SET_COOKIE, session::clear_cookie(LOGIN_COOKIE));
    Ok(response)
}
