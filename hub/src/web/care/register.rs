//! Registration of a caregiver (`/care/register`, no log-in yet): the caregiver record and its
//! account are made in one transaction, then the person is logged in. The form is protected like
//! the log-in form: a token in the `__Host-` pre-session cookie, the same in a hidden field, and
//! the request's origin must be the hub. The page is in the reader's language, and says that the
//! e-mail address is what one logs in with (the log-in maps it to the account name).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use rusqlite::{Connection, params};
use serde::Deserialize;

use super::super::error::WebError;
use super::super::i18n::{self, Lang};
use super::super::layout::{input, notice, page_in, select};
use super::super::login::password_problem_in;
use super::super::regions;
use super::super::session::{
    self, COOKIE, LOGIN_COOKIE, check_csrf, cookie, form_bytes, parse_form,
};
use super::{answer, texts};
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
/// becomes `-at-` and any other character `-`; the person is told the result, and the log-in
/// applies the same mapping to a name typed with an `@`.
pub(crate) fn username_of(email: &str) -> String {
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
    lang: Lang,
    token: &str,
    all_regions: &[(String, String)],
    sent: &RegisterForm,
    problem: Option<&str>,
) -> Markup {
    page_in(
        lang,
        "/care/register",
        None,
        i18n::REGISTER_AS_CAREGIVER.get(lang),
        html! {
            p { (texts::REGISTER_INTRO.get(lang)) }
            @if let Some(problem) = problem { (notice("error", problem)) }
            form method="post" action="/care/register" class="care-form" {
                input type="hidden" name="_csrf" value=(token);
                (select("region", texts::YOUR_REGION.get(lang), all_regions, &sent.region, true))
                (input("name", texts::YOUR_NAME.get(lang), "text", &sent.name, true, None))
                (input("email", texts::YOUR_EMAIL.get(lang), "email", &sent.email, true,
                       Some(texts::EMAIL_HINT.get(lang))))
                (input("phone", texts::YOUR_PHONE.get(lang), "tel", &sent.phone, false,
                       Some(texts::PHONE_HINT.get(lang))))
                (input("password", i18n::PASSWORD.get(lang), "password", "", true, Some(i18n::AT_LEAST_12.get(lang))))
                (input("repeat", texts::REPEAT_PASSWORD.get(lang), "password", "", true, None))
                div class="field care-check" {
                    input id="f-consent" type="checkbox" name="consent" value="yes" required;
                    label for="f-consent" { (texts::CONSENT.get(lang)) }
                }
                button type="submit" { (texts::REGISTER.get(lang)) }
            }
            p { (texts::ALREADY_REGISTERED.get(lang)) a href="/login" { (texts::TO_LOGIN.get(lang)) } }
        },
    )
}

/// The registration page; gives the browser the form's own token cookie.
pub(super) async fn form_page(
    State(app): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    let token = cookie(&headers, LOGIN_COOKIE).unwrap_or_else(session::new_token);
    let all = match regions(&app).await {
        Ok(all) => all,
        Err(e) => return answer::<Response>(lang, Err(e)),
    };
    let mut response = form(lang, &token, &all, &RegisterForm::default(), None).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(LOGIN_COOKIE, &token),
    );
    response
}

/// What is wrong with the form, in `lang`; `None` when it may be stored.
fn problem_of(lang: Lang, f: &RegisterForm, all: &[(String, String)]) -> Option<String> {
    let name = f.name.trim();
    let email = f.email.trim();
    let username = username_of(email);
    let text = if !all.iter().any(|(id, _)| *id == f.region) {
        texts::CHOOSE_REGION
    } else if name.is_empty() {
        texts::GIVE_NAME
    } else if name.chars().count() > MAX_NAME {
        return Some(texts::NAME_TOO_LONG.fill(lang, &[("max", &MAX_NAME.to_string())]));
    } else if email.chars().count() > MAX_EMAIL || check_email("email", email).is_err() {
        texts::GIVE_EMAIL
    } else if !(3..=40).contains(&username.len()) {
        texts::EMAIL_TOO_LONG
    } else if !f.phone.trim().is_empty() && check_phone("phone", f.phone.trim()).is_err() {
        texts::PHONE_WRONG
    } else if f.consent.is_none() {
        texts::GIVE_CONSENT
    } else {
        return password_problem_in(lang, &username, &f.password, &f.repeat).map(str::to_string);
    };
    Some(text.get(lang).to_string())
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
pub(super) async fn register(State(app): State<AppState>, lang: Lang, req: Request) -> Response {
    answer(lang, take_registration(app, lang, req).await)
}

async fn take_registration(app: AppState, lang: Lang, req: Request) -> Result<Response, WebError> {
    let (parts, body) = req.into_parts();
    let bytes = form_bytes(&parts, body).await?;
    let expected = cookie(&parts.headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() {
        return Err(WebError::CsrfFailed);
    }
    let sent: RegisterForm = parse_form(&bytes)
        .map_err(|_| WebError::BadRequest(texts::FORM_BROKEN.get(lang).to_string()))?;
    check_csrf(&parts, &expected, &sent.csrf)?;
    let all = regions(&app).await?;
    let refuse = |status: StatusCode, problem: &str| {
        (status, form(lang, &expected, &all, &sent, Some(problem))).into_response()
    };
    if let Some(problem) = problem_of(lang, &sent, &all) {
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
            return Ok(refuse(StatusCode::CONFLICT, texts::EMAIL_TAKEN.get(lang)));
        }
        Err(StoreError::Invalid { .. }) => {
            return Ok(refuse(
                StatusCode::BAD_REQUEST,
                texts::NOT_STORABLE.get(lang),
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
