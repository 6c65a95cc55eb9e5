//! Logging in and out: password, then for admins and dispatchers a TOTP code (set up on the
//! first log-in), lock-out after five failed tries in a row, a new session token after each step,
//! and choosing a new password after an admin reset. Caregivers may type their e-mail address as
//! the name, and read the log-in and password pages in their language (`i18n.rs`).

use axum::Router;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use maud::{Markup, html};
use rusqlite::params;
use serde::Deserialize;

use super::error::WebError;
use super::i18n::{self, Lang};
use super::layout::{self, home_of, input, notice, page, page_in};
use super::session::{
    self, COOKIE, CsrfForm, LOGIN_COOKIE, PendingLogin, WebUser, check_csrf, cookie, form_bytes,
    parse_form,
};
use super::totp;
use crate::accounts::{self, LoginAccount};
use crate::api::AppState;
use crate::api::auth::verify_password;
use crate::domain::Role;
use crate::store::StoreError;

/// Shortest password chosen on the web.
pub const MIN_PASSWORD: usize = 12;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/login/totp", get(totp_page).post(totp_check))
        .route("/login/totp-setup", get(totp_setup_page).post(totp_setup))
        .route("/logout", axum::routing::post(logout))
        .route(
            "/account/password",
            get(password_page).post(password_change),
        )
}

/// Only paths of this site are followed after logging in.
fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .map(str::to_string)
}

async fn home(State(app): State<AppState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    match WebUser::from_request_parts(&mut parts, &app).await {
        Ok(user) => Redirect::to(home_of(user.role)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// The log-in form in `lang` (caregivers read it too). The name field takes a user name or the
/// e-mail address a caregiver registered with.
fn login_form(
    lang: Lang,
    token: &str,
    next: &str,
    username: &str,
    problem: Option<&str>,
) -> Markup {
    let here = if next == "/" {
        "/login".to_string()
    } else {
        format!("/login?next={}", super::percent_encode(next))
    };
    page_in(
        lang,
        &here,
        None,
        i18n::LOG_IN.get(lang),
        html! {
            @if let Some(problem) = problem { (notice("error", problem)) }
            form method="post" action="/login" {
                input type="hidden" name="_csrf" value=(token);
                input type="hidden" name="next" value=(next);
                div class="field" {
                    label for="f-username" { (i18n::USERNAME_OR_EMAIL.get(lang)) }
                    input id="f-username" name="username" type="text" value=(username)
                        autocomplete="username" autocapitalize="none" spellcheck="false"
                        dir="auto" required autofocus;
                }
                div class="field" {
                    label for="f-password" { (i18n::PASSWORD.get(lang)) }
                    input id="f-password" name="password" type="password"
                        autocomplete="current-password" required;
                }
                button type="submit" { (i18n::LOG_IN.get(lang)) }
            }
            p class="muted" { (i18n::FORGOT_PASSWORD.get(lang)) }
            p {
                (i18n::NO_ACCOUNT_YET.get(lang))
                a href="/care/register" { (i18n::REGISTER_AS_CAREGIVER.get(lang)) }
            }
        },
    )
}

/// The log-in page; gives the browser the form's own token cookie.
async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let lang = Lang::of_headers(&headers);
    let token = cookie(&headers, LOGIN_COOKIE).unwrap_or_else(session::new_token);
    let next = safe_next(q.next.as_deref()).unwrap_or_else(|| "/".into());
    let mut response = login_form(lang, &token, &next, "", None).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(LOGIN_COOKIE, &token),
    );
    response
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// Where a password check ended.
enum PasswordOutcome {
    Wrong,
    Locked(chrono::DateTime<Utc>),
    Ok(LoginAccount),
}

fn locked_text(lang: Lang, until: chrono::DateTime<Utc>) -> String {
    let local = until.with_timezone(&chrono_tz::Europe::Berlin);
    i18n::LOCKED.fill(lang, &[("time", &local.format("%H:%M").to_string())])
}

/// The account name to look up for what was typed into the name field: an e-mail address (it has
/// an `@`) becomes the user name registration made of it; anything else is taken as typed.
fn account_name(typed: &str) -> String {
    if typed.contains('@') {
        super::care::username_of(typed)
    } else {
        typed.to_string()
    }
}

async fn login(State(app): State<AppState>, req: Request) -> Result<Response, WebError> {
    let (parts, body) = req.into_parts();
    let lang = Lang::of_headers(&parts.headers);
    let bytes = form_bytes(&parts, body).await?;
    let form: LoginForm = parse_form(&bytes)?;
    let expected = cookie(&parts.headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() {
        return Err(WebError::CsrfFailed);
    }
    check_csrf(&parts, &expected, &form.csrf)?;
    let next = safe_next(form.next.as_deref());
    let typed = form.username.trim().to_string();
    let username = account_name(&typed);
    if username.is_empty() || username.len() > 100 || form.password.len() > 1024 {
        let body = login_form(
            lang,
            &expected,
            next.as_deref().unwrap_or("/"),
            "",
            Some(i18n::GIVE_NAME_AND_PASSWORD.get(lang)),
        );
        return Ok((axum::http::StatusCode::UNAUTHORIZED, body).into_response());
    }
    let password = form.password;
    let name = username.clone();
    let outcome = app
        .store
        .run(move |conn| {
            let now = Utc::now();
            let Some(account) = accounts::login_account(conn, &name)? else {
                // As slow as a known name, so the answer does not tell which names exist.
                verify_password(&password, accounts::decoy_hash());
                accounts::login_event(conn, &name, None, "unknown_user", now)?;
                return Ok(PasswordOutcome::Wrong);
            };
            if account.username != name {
                verify_password(&password, accounts::decoy_hash());
                return Ok(PasswordOutcome::Wrong);
            }
            if let Some(until) = account.locked_at(now) {
                accounts::login_event(conn, &name, Some(&account.id), "locked", now)?;
                return Ok(PasswordOutcome::Locked(until));
            }
            let ok = account
                .password_hash
                .as_deref()
                .is_some_and(|hash| verify_password(&password, hash));
            if !ok {
                return Ok(
                    match accounts::record_failure(conn, &account, "wrong_password", now)? {
                        Some(until) => PasswordOutcome::Locked(until),
                        None => PasswordOutcome::Wrong,
                    },
                );
            }
            Ok(PasswordOutcome::Ok(account))
        })
        .await?;
    let account = match outcome {
        PasswordOutcome::Ok(account) => account,
        PasswordOutcome::Wrong => {
            let body = login_form(
                lang,
                &expected,
                next.as_deref().unwrap_or("/"),
                &typed,
                Some(i18n::WRONG_LOGIN.get(lang)),
            );
            return Ok((axum::http::StatusCode::UNAUTHORIZED, body).into_response());
        }
        PasswordOutcome::Locked(until) => {
            let body = login_form(
                lang,
                &expected,
                next.as_deref().unwrap_or("/"),
                &typed,
                Some(&locked_text(lang, until)),
            );
            return Ok((axum::http::StatusCode::FORBIDDEN, body).into_response());
        }
    };
    let stage = if !account.needs_totp() {
        "full"
    } else if account.totp_confirmed {
        "totp"
    } else {
        "totp_setup"
    };
    let account_id = account.id.clone();
    let token = app
        .store
        .run(move |conn| {
            let now = Utc::now();
            if stage == "full" {
                accounts::record_success(conn, &account, now)?;
            }
            session::start(conn, &account_id, stage, now)
        })
        .await?;
    let target = match stage {
        "totp" => "/login/totp".to_string(),
        "totp_setup" => "/login/totp-setup".to_string(),
        // Without a `next`, `/` sends each role to its start page.
        _ => next.unwrap_or_else(|| "/".into()),
    };
    let mut response = Redirect::to(&target).into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session::set_cookie(COOKIE, &token));
    headers.append(header::SET_COOKIE, session::clear_cookie(LOGIN_COOKIE));
    Ok(response)
}

fn code_form(pending: &PendingLogin, action: &str, problem: Option<&str>, intro: Markup) -> Markup {
    let title = if action == "/login/totp" {
        "Bestätigungscode"
    } else {
        "Zweiten Faktor einrichten"
    };
    page(
        None,
        title,
        html! {
            (intro)
            @if let Some(problem) = problem { (notice("error", problem)) }
            form method="post" action=(action) {
                input type="hidden" name="_csrf" value=(pending.csrf);
                div class="field" {
                    label for="f-code" { "Sechsstelliger Code aus Ihrer Authenticator-App" }
                    input id="f-code" name="code" type="text" inputmode="numeric"
                        autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required autofocus;
                }
                button type="submit" { "Bestätigen" }
            }
        },
    )
}

async fn totp_page(pending: PendingLogin) -> Result<Markup, WebError> {
    if pending.stage != "totp" {
        return Err(WebError::Redirect("/login/totp-setup".into()));
    }
    Ok(code_form(
        &pending,
        "/login/totp",
        None,
        html! {
            p { "Bitte geben Sie den aktuellen Code aus Ihrer Authenticator-App ein." }
        },
    ))
}

/// Makes (once) the secret an account is setting up and returns it.
async fn pending_secret(app: &AppState, account_id: String) -> Result<(Vec<u8>, String), WebError> {
    Ok(app
        .store
        .run(move |conn| {
            let account = accounts::login_account(conn, &account_id)?.ok_or_else(|| {
                StoreError::NotFound {
                    kind: "account",
                    id: account_id.clone(),
                }
            })?;
            if account.totp_confirmed {
                return Err(StoreError::Conflict("second factor already set up".into()));
            }
            let secret = match account.totp_secret {
                Some(secret) => secret,
                None => {
                    let secret = totp::new_secret();
                    conn.execute(
                        "UPDATE accounts SET totp_secret = ?2 WHERE id = ?1",
                        params![account.id, hex::encode(&secret)],
                    )?;
                    secret
                }
            };
            Ok((secret, account.username))
        })
        .await?)
}

fn setup_intro(secret: &[u8], username: &str) -> Markup {
    let uri = totp::otpauth_uri("Dorfpunkt", username, secret);
    let qr = qrcode::QrCode::new(uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(220, 220)
                .quiet_zone(true)
                .build()
        })
        .ok();
    html! {
        p {
            "Für Ihr Konto ist ein zweiter Faktor vorgeschrieben. Scannen Sie den QR-Code mit einer "
            "Authenticator-App (zum Beispiel FreeOTP oder Aegis) oder geben Sie den Schlüssel von Hand ein."
        }
        @if let Some(svg) = qr {
            figure class="qr" {
                img alt="QR-Code mit dem Schlüssel für die Authenticator-App"
                    src={ "data:image/svg+xml;base64," (base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg)) };
            }
        }
        p { "Schlüssel: " span class="code" id="totp-secret" { (totp::base32(secret)) } }
    }
}

async fn totp_setup_page(
    State(app): State<AppState>,
    pending: PendingLogin,
) -> Result<Markup, WebError> {
    if pending.stage != "totp_setup" {
        return Err(WebError::Redirect("/login/totp".into()));
    }
    let (secret, username) = pending_secret(&app, pending.account_id.clone()).await?;
    Ok(code_form(
        &pending,
        "/login/totp-setup",
        None,
        setup_intro(&secret, &username),
    ))
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    code: String,
}

/// Where a code check ended.
enum CodeOutcome {
    Wrong,
    Locked(chrono::DateTime<Utc>),
    Ok(String),
}

/// Checks a code of the pending session's account; on success records the step, confirms a
/// set-up secret and replaces the session by a full one (new token).
async fn check_code(
    app: &AppState,
    pending: &PendingLogin,
    code: String,
) -> Result<CodeOutcome, WebError> {
    let pending = pending.clone();
    Ok(app
        .store
        .run(move |conn| {
            let now = Utc::now();
            let account = accounts::login_account(conn, &pending.account_id)?.ok_or_else(|| {
                StoreError::NotFound {
                    kind: "account",
                    id: pending.account_id.clone(),
                }
            })?;
            if let Some(until) = account.locked_at(now) {
                return Ok(CodeOutcome::Locked(until));
            }
            let step = account.totp_secret.as_deref().and_then(|secret| {
                totp::verify(secret, &code, now.timestamp(), account.totp_last_step)
            });
            let Some(step) = step else {
                return Ok(
                    match accounts::record_failure(conn, &account, "wrong_code", now)? {
                        Some(until) => CodeOutcome::Locked(until),
                        None => CodeOutcome::Wrong,
                    },
                );
            };
            conn.execute(
                "UPDATE accounts SET totp_last_step = ?2,
                        totp_confirmed_at = COALESCE(totp_confirmed_at, ?3)
                 WHERE id = ?1",
                params![account.id, step, crate::store::now_text()],
            )?;
            accounts::record_success(conn, &account, now)?;
            let token = session::rotate(conn, &pending.token_hash, &account.id, "full", now)?;
            Ok(CodeOutcome::Ok(token))
        })
        .await?)
}

async fn code_step(
    app: AppState,
    req: Request,
    action: &'static str,
) -> Result<Response, WebError> {
    let (mut parts, body) = req.into_parts();
    let pending = PendingLogin::from_request_parts(&mut parts, &app).await?;
    let bytes = form_bytes(&parts, body).await?;
    let form: CodeForm = parse_form(&bytes)?;
    check_csrf(&parts, &pending.csrf, &form.csrf)?;
    if (action == "/login/totp") != (pending.stage == "totp") {
        return Err(WebError::Redirect(
            if pending.stage == "totp" {
                "/login/totp"
            } else {
                "/login/totp-setup"
            }
            .into(),
        ));
    }
    match check_code(&app, &pending, form.code).await? {
        CodeOutcome::Ok(token) => {
            let mut response = Redirect::to("/").into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, session::set_cookie(COOKIE, &token));
            Ok(response)
        }
        CodeOutcome::Locked(until) => {
            let body = page(
                None,
                "Anmelden",
                html! {
                    (notice("error", &locked_text(Lang::De, until)))
                    p { a href="/login" { "Zur Anmeldung" } }
                },
            );
            let mut response = (axum::http::StatusCode::FORBIDDEN, body).into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, session::clear_cookie(COOKIE));
            Ok(response)
        }
        CodeOutcome::Wrong => {
            let intro = if action == "/login/totp" {
                html! { p { "Bitte geben Sie den aktuellen Code aus Ihrer Authenticator-App ein." } }
            } else {
                let (secret, username) = pending_secret(&app, pending.account_id.clone()).await?;
                setup_intro(&secret, &username)
            };
            let body = code_form(
                &pending,
                action,
                Some("Der Code stimmt nicht. Bitte den aktuellen Code eingeben."),
                intro,
            );
            Ok((axum::http::StatusCode::UNAUTHORIZED, body).into_response())
        }
    }
}

async fn totp_check(State(app): State<AppState>, req: Request) -> Result<Response, WebError> {
    code_step(app, req, "/login/totp").await
}

async fn totp_setup(State(app): State<AppState>, req: Request) -> Result<Response, WebError> {
    code_step(app, req, "/login/totp-setup").await
}

#[derive(Deserialize)]
struct Empty {}

async fn logout(
    State(app): State<AppState>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let hash = user.session_hash().to_string();
    app.store
        .run(move |conn| {
            let now = Utc::now();
            session::end(conn, &hash, now)?;
            accounts::login_event(conn, &user.username, Some(&user.account_id), "logout", now)
        })
        .await?;
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie(COOKIE));
    Ok(response)
}

/// The language of the password page: the chosen one for caregivers, German for staff.
fn password_lang(user: &WebUser, chosen: Lang) -> Lang {
    if user.role == Role::Caregiver {
        chosen
    } else {
        Lang::De
    }
}

fn password_form(lang: Lang, user: &WebUser, problem: Option<&str>, done: bool) -> Markup {
    let body = html! {
        @if done { (notice("ok", i18n::NEW_PASSWORD_WORKS.get(lang))) }
        @if let Some(problem) = problem { (notice("error", problem)) }
        form method="post" action="/account/password" {
            (layout::csrf_field(user))
            (input("current", i18n::CURRENT_PASSWORD.get(lang), "password", "", true, None))
            (input("new", i18n::NEW_PASSWORD.get(lang), "password", "", true, Some(i18n::AT_LEAST_12.get(lang))))
            (input("repeat", i18n::REPEAT_NEW_PASSWORD.get(lang), "password", "", true, None))
            button type="submit" { (i18n::CHANGE_PASSWORD.get(lang)) }
        }
    };
    let title = i18n::CHANGE_PASSWORD.get(lang);
    if user.role == Role::Caregiver {
        page_in(lang, "/account/password", Some(user), title, body)
    } else {
        page(Some(user), title, body)
    }
}

async fn password_page(user: WebUser, lang: Lang) -> Markup {
    let lang = password_lang(&user, lang);
    password_form(lang, &user, None, false)
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
    repeat: String,
}

/// Checks a new password; the German reason when it is refused.
pub fn password_problem(username: &str, new: &str, repeat: &str) -> Option<&'static str> {
    password_problem_in(Lang::De, username, new, repeat)
}

/// Checks a new password; the reason in `lang` when it is refused.
pub fn password_problem_in(
    lang: Lang,
    username: &str,
    new: &str,
    repeat: &str,
) -> Option<&'static str> {
    let problem = if new != repeat {
        i18n::PASSWORDS_DIFFER
    } else if new.chars().count() < MIN_PASSWORD {
        i18n::PASSWORD_TOO_SHORT
    } else if new.len() > 1024 {
        i18n::PASSWORD_TOO_LONG
    } else if new.eq_ignore_ascii_case(username) {
        i18n::PASSWORD_IS_USERNAME
    } else {
        return None;
    };
    Some(problem.get(lang))
}

async fn password_change(
    State(app): State<AppState>,
    lang: Lang,
    CsrfForm(user, form): CsrfForm<PasswordForm>,
) -> Result<Response, WebError> {
    let lang = password_lang(&user, lang);
    if let Some(problem) = password_problem_in(lang, &user.username, &form.new, &form.repeat) {
        return Ok((
            axum::http::StatusCode::BAD_REQUEST,
            password_form(lang, &user, Some(problem), false),
        )
            .into_response());
    }
    let account_id = user.account_id.clone();
    let current = form.current;
    let new = form.new;
    let changed = app
        .store
        .run(move |conn| {
            let now = Utc::now();
            let account = accounts::login_account(conn, &account_id)?.ok_or_else(|| {
                StoreError::NotFound {
                    kind: "account",
                    id: account_id.clone(),
                }
            })?;
            let ok = account
                .password_hash
                .as_deref()
                .is_some_and(|h| verify_password(&current, h));
            if !ok {
                accounts::record_failure(conn, &account, "wrong_password", now)?;
                return Ok(None);
            }
            let hash = accounts::hash_password(&new)?;
            conn.execute(
                "UPDATE accounts SET password_hash = ?2, password_must_change = 0,
                        updated_at = ?3, version = version + 1
                 WHERE id = ?1",
                params![account.id, hash, crate::store::now_text()],
            )?;
            // Other sessions of the account end; this one goes on under a new token.
            session::end_all(conn, &account.id, now)?;
            let token = session::start(conn, &account.id, "full", now)?;
            Ok(Some(token))
        })
        .await?;
    let Some(token) = changed else {
        return Ok((
            axum::http::StatusCode::BAD_REQUEST,
            password_form(
                lang,
                &user,
                Some(i18n::CURRENT_PASSWORD_WRONG.get(lang)),
                false,
            ),
        )
            .into_response());
    };
    let mut response = Redirect::to(home_of(user.role)).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::set_cookie(COOKIE, &token));
    Ok(response)
}
