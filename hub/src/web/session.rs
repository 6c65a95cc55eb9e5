//! Browser sessions and form protection.
//!
//! A session is a random 256-bit token in a `__Host-` cookie (Secure, HttpOnly, SameSite=Strict,
//! path `/`); the store keeps only its SHA-256. Staff sessions end after 15 idle minutes,
//! caregivers' after 60, every session after 12 hours. Every form that changes something carries
//! the session's CSRF token and must come from the hub's own origin (`CsrfForm`).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::error::WebError;
use crate::api::AppState;
use crate::api::error::REQUEST_ID;
use crate::domain::Role;
use crate::store::logs::Who;
use crate::store::{StoreError, StoreResult};

/// The session cookie.
pub const COOKIE: &str = "__Host-dorfpunkt";
/// The log-in form's own token cookie, before there is a session (protects the log-in form).
pub const LOGIN_COOKIE: &str = "__Host-dorfpunkt-login";
/// Idle time after which a staff session ends.
pub const STAFF_IDLE: Duration = Duration::minutes(15);
/// Idle time after which a caregiver's session ends.
pub const CAREGIVER_IDLE: Duration = Duration::minutes(60);
/// Longest life of any session.
pub const ABSOLUTE: Duration = Duration::hours(12);
/// Largest form body taken (CSV imports come as files through their own route).
pub const FORM_LIMIT: usize = 256 * 1024;

/// How long a session of `role` may sit idle.
pub fn idle_limit(role: Role) -> Duration {
    match role {
        Role::Caregiver => CAREGIVER_IDLE,
        _ => STAFF_IDLE,
    }
}

/// The logged-in person behind a page request (a session past all log-in steps).
#[derive(Clone, Debug)]
pub struct WebUser {
    pub account_id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The region a regional account works in; `None` for hub-wide admins.
    pub region_id: Option<String>,
    /// The caregiver record of a caregiver account.
    pub caregiver_id: Option<String>,
    /// The session's CSRF token, for the hidden field of every form.
    pub csrf: String,
    token_hash: String,
}

impl WebUser {
    /// The person as the audit log names them (same label as the API's), with the request id.
    pub fn who(&self) -> Who {
        Who {
            actor: format!("account:{}", self.username),
            request_id: REQUEST_ID.try_with(Clone::clone).ok(),
        }
    }

    /// Refuses unless the person has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), WebError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// The SHA-256 (hex) of the session token: which session this is.
    pub fn session_hash(&self) -> &str {
        &self.token_hash
    }

    /// Whether this person may act in `region`: admins everywhere, everyone else in their own.
    pub fn may_see_region(&self, region: &str) -> bool {
        self.role == Role::Admin || self.region_id.as_deref() == Some(region)
    }
}

/// A session between password and second factor (`stage` `totp` or `totp_setup`).
#[derive(Clone, Debug)]
pub struct PendingLogin {
    pub account_id: String,
    pub username: String,
    pub stage: String,
    pub csrf: String,
    pub token_hash: String,
}

/// SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token of 256 bits, hex.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value for a `__Host-` cookie that lives as long as the browser session.
pub fn set_cookie(name: &str, value: &str) -> HeaderValue {
    let text = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that removes cookie `name`.
pub fn clear_cookie(name: &str) -> HeaderValue {
    let text = format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse(at: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Internal(format!("stored time {at}: {e}")))
}

/// Opens a session for an account at `stage`; returns the cookie token (shown only to the browser).
pub fn start(
    conn: &Connection,
    account_id: &str,
    stage: &str,
    now: DateTime<Utc>,
) -> StoreResult<String> {
    let token = new_token();
    conn.execute(
        "INSERT INTO web_sessions (token_hash, account_id, stage, csrf_token, created_at,
                                   last_seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
        params![
            hash_token(&token),
            account_id,
            stage,
            new_token(),
            text(now),
            text(now + ABSOLUTE)
        ],
    )?;
    // Ended sessions are kept a day for the record.
    conn.execute(
        "DELETE FROM web_sessions WHERE (ended_at IS NOT NULL AND ended_at < ?1) OR expires_at < ?1",
        [text(now - Duration::days(1))],
    )?;
    Ok(token)
}

/// Ends a session.
pub fn end(conn: &Connection, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
    conn.execute(
        "UPDATE web_sessions SET ended_at = ?2 WHERE token_hash = ?1 AND ended_at IS NULL",
        params![token_hash, text(now)],
    )?;
    Ok(())
}

/// Ends every session of an account (password changed or reset, account locked or archived).
pub fn end_all(conn: &Connection, account_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    conn.execute(
        "UPDATE web_sessions SET ended_at = ?2 WHERE account_id = ?1 AND ended_at IS NULL",
        params![account_id, text(now)],
    )?;
    Ok(())
}

/// Replaces a session by a new one at `stage` (after each log-in step, so a token seen before
/// the second factor is worth nothing after it); returns the new token.
pub fn rotate(
    conn: &Connection,
    token_hash: &str,
    account_id: &str,
    stage: &str,
    now: DateTime<Utc>,
) -> StoreResult<String> {
    end(conn, token_hash, now)?;
    start(conn, account_id, stage, now)
}

/// A session as stored, with its account.
struct Loaded {
    user: WebUser,
    stage: String,
    must_change: bool,
}

/// Looks a live session up, ends it if it idled or aged out, and marks it seen.
fn load(conn: &Connection, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Loaded>> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
    );
    let row: Option<Row> = conn
        .query_row(
            "SELECT s.stage, s.csrf_token, s.last_seen_at, s.expires_at,
                    a.id, a.username, a.display_name, a.role, a.region_id, a.caregiver_id,
                    a.locked_until, a.password_must_change
             FROM web_sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = ?1 AND s.ended_at IS NULL AND a.archived_at IS NULL",
            [token_hash],
            |r| Row::try_from(r),
        )
        .optional()?;
    let Some((
        stage,
        csrf,
        last_seen,
        expires,
        id,
        username,
        display_name,
        role,
        region_id,
        caregiver_id,
        locked_until,
        must_change,
    )) = row
    else {
        return Ok(None);
    };
    let role = crate::accounts::stored_role(role)?;
    let locked = match locked_until {
        Some(until) => parse(&until)? > now,
        None => false,
    };
    if locked || parse(&expires)? <= now || parse(&last_seen)? + idle_limit(role) <= now {
        end(conn, token_hash, now)?;
        if !locked {
            conn.execute(
                "INSERT INTO login_events (at, username, account_id, outcome) VALUES (?1, ?2, ?3, 'expired')",
                params![text(now), username, id],
            )?;
        }
        return Ok(None);
    }
    conn.execute(
        "UPDATE web_sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
        params![token_hash, text(now)],
    )?;
    Ok(Some(Loaded {
        user: WebUser {
            account_id: id,
            username,
            display_name,
            role,
            region_id,
            caregiver_id,
            csrf,
            token_hash: token_hash.to_string(),
        },
        stage,
        must_change,
    }))
}

/// Where a person goes back to after logging in: the path asked for (GET pages only).
fn next_of(parts: &Parts) -> String {
    if parts.method == axum::http::Method::GET {
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into())
    } else {
        "/".into()
    }
}

/// Paths an account that must choose a new password may still open.
const WHILE_PASSWORD_MUST_CHANGE: &[&str] = &["/account/password", "/logout"];

impl FromRequestParts<AppState> for WebUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let login = || WebError::LoginRequired {
            next: next_of(parts),
        };
        let Some(token) = cookie(&parts.headers, COOKIE) else {
            return Err(login());
        };
        let hash = hash_token(&token);
        let loaded = state
            .store
            .run(move |conn| load(conn, &hash, Utc::now()))
            .await?;
        let Some(loaded) = loaded else {
            return Err(login());
        };
        if loaded.stage != "full" {
            return Err(login());
        }
        if loaded.must_change && !WHILE_PASSWORD_MUST_CHANGE.contains(&parts.uri.path()) {
            return Err(WebError::Redirect("/account/password".into()));
        }
        Ok(loaded.user)
    }
}

impl FromRequestParts<AppState> for PendingLogin {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let Some(token) = cookie(&parts.headers, COOKIE) else {
            return Err(WebError::LoginRequired { next: "/".into() });
        };
        let hash = hash_token(&token);
        let loaded = state
            .store
            .run(move |conn| load(conn, &hash, Utc::now()))
            .await?;
        match loaded {
            Some(l) if l.stage != "full" => Ok(PendingLogin {
                account_id: l.user.account_id,
                username: l.user.username,
                stage: l.stage,
                csrf: l.user.csrf,
                token_hash: l.user.token_hash,
            }),
            _ => Err(WebError::LoginRequired { next: "/".into() }),
        }
    }
}

/// Whether a state-changing request comes from the hub's own pages: its `Origin` (or, failing
/// that, its `Referer`) must be this host over HTTPS. Requests with neither are refused.
pub fn same_origin(parts: &Parts) -> bool {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_string()));
    let Some(host) = host else {
        return false;
    };
    let own = format!("https://{host}");
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        return origin.to_str().is_ok_and(|o| o == own);
    }
    parts
        .headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .is_some_and(|r| r == own || r.starts_with(&format!("{own}/")))
}

/// Compares two tokens in time independent of where they differ.
pub fn tokens_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Checks origin and token of a form sent by `user` (for bodies `CsrfForm` does not read, such as
/// file uploads).
pub fn check_csrf(parts: &Parts, expected: &str, sent: &str) -> Result<(), WebError> {
    if same_origin(parts) && tokens_match(expected, sent) {
        Ok(())
    } else {
        Err(WebError::CsrfFailed)
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// Reads a urlencoded form body of at most `FORM_LIMIT` bytes.
pub async fn form_bytes(
    parts: &Parts,
    body: axum::body::Body,
) -> Result<axum::body::Bytes, WebError> {
    let form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(WebError::BadRequest(
            "Das Formular wurde in einer unbekannten Form gesendet.".into(),
        ));
    }
    axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        WebError::BadRequest(format!(
            "Die Eingabe ist zu groß (höchstens {} KiB).",
            FORM_LIMIT / 1024
        ))
    })
}

/// Parses a form into `T`. `T` must not deny unknown fields (the form also carries `_csrf`).
pub fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WebError> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        WebError::BadRequest(format!("Das Formular ist unvollständig oder falsch: {e}"))
    })
}

/// A form sent by a logged-in person from the hub's own page: session, origin and CSRF token
/// checked, then the body parsed into `T`.
pub struct CsrfForm<T>(pub WebUser, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        let user = WebUser::from_request_parts(&mut parts, state).await?;
        let bytes = form_bytes(&parts, body).await?;
        let sent: CsrfField =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| WebError::CsrfFailed)?;
        check_csrf(&parts, &user.csrf, &sent.csrf)?;
        let value = parse_form(&bytes)?;
        Ok(CsrfForm(user, value))
    }
}
