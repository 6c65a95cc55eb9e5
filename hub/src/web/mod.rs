//! The hub in a browser: server-rendered HTML (maud) for admins and dispatchers (`/console`),
//! health workers (`/counselling`), drivers (`/driver`) and caregivers (`/care`). German first;
//! everything works without JavaScript and without internet (no CDN: CSS and the one script are
//! compiled in). Sessions, CSRF and roles live in `session.rs`; every page takes a `WebUser`
//! (or a `CsrfForm` for a form) and calls `require` with the roles that may see it.

pub mod accounts;
pub mod care;
pub mod counselling;
pub mod data;
pub mod devices;
pub mod driver;
pub mod error;
pub mod evaluation;
pub mod i18n;
pub mod imbus;
pub mod layout;
pub mod login;
pub mod privacy;
pub mod reminders;
pub mod rides;
pub mod session;
pub mod totp;
pub mod updates;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use rusqlite::OptionalExtension;

use crate::api::AppState;
use crate::domain::Role;
use error::WebError;
use layout::page;
use session::WebUser;

/// Path prefixes served as web pages (HTML): their answers carry the page security headers.
pub const PAGE_PREFIXES: &[&str] = &[
    "/login",
    "/logout",
    "/account",
    "/console",
    "/counselling",
    "/driver",
    "/care",
    "/static",
];

/// All web routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(login::routes())
        .merge(accounts::routes())
        .merge(care::routes())
        .merge(counselling::routes())
        .merge(data::routes())
        .merge(devices::routes())
        .merge(driver::routes())
        .merge(evaluation::routes())
        .merge(imbus::routes())
        .merge(privacy::routes())
        .merge(reminders::routes())
        .merge(rides::routes())
        .merge(updates::routes())
        .route("/console", get(console_home))
        .route("/static/site.css", get(site_css))
        .route("/static/app.js", get(app_js))
}

/// Adds the headers of web pages: a strict Content-Security-Policy (own origin only; no inline
/// script or style), no framing, no referrer to other sites.
pub async fn page_headers(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut response = next.run(req).await;
    if path == "/" || PAGE_PREFIXES.iter().any(|p| path.starts_with(p)) {
        let headers = response.headers_mut();
        headers.insert(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
        headers.insert(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        );
        headers.insert(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        );
    }
    response
}

async fn site_css() -> Response {
    static_file(
        "text/css; charset=utf-8",
        include_str!("../../web/site.css"),
    )
}

async fn app_js() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    )
}

pub(crate) fn static_file(kind: &'static str, text: &'static str) -> Response {
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// Percent-encodes a query value.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A region a console page shows: dispatchers their own; admins the one asked for (`?region=`) or
/// the first by name. Returns id, name and time zone.
pub async fn chosen_region(
    app: &AppState,
    user: &WebUser,
    asked: Option<&str>,
) -> Result<(String, String, String), WebError> {
    let wanted = match user.role {
        Role::Admin => asked.map(str::to_string),
        _ => Some(user.region_id.clone().ok_or(WebError::Forbidden)?),
    };
    if let (Some(asked), Some(own)) = (asked, user.region_id.as_deref())
        && user.role != Role::Admin
        && asked != own
    {
        return Err(WebError::Forbidden);
    }
    let row = app
        .store
        .run(move |conn| {
            let sql = "SELECT id, name, time_zone FROM regions WHERE archived_at IS NULL
                       AND (?1 IS NULL OR id = ?1) ORDER BY name LIMIT 1";
            Ok(conn
                .query_row(sql, [wanted], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?)
        })
        .await?;
    row.ok_or(WebError::NotFound)
}

/// All live regions (id, name), for an admin's region choice.
pub async fn regions(app: &AppState) -> Result<Vec<(String, String)>, WebError> {
    Ok(app
        .store
        .run(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, name FROM regions WHERE archived_at IS NULL ORDER BY name")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?)
}

/// The regions a user chooses among on a console page: every region for an admin, none for the
/// others (they work in their own).
pub async fn regions_to_choose(
    app: &AppState,
    user: &WebUser,
) -> Result<Vec<(String, String)>, WebError> {
    if user.role == Role::Admin {
        regions(app).await
    } else {
        Ok(Vec::new())
    }
}

/// [`regions_to_choose`], or, for an admin while there is no region yet, the page `title` that
/// says so with `next` below it (the way on), which the handler returns as it is.
pub async fn regions_or_none_yet(
    app: &AppState,
    user: &WebUser,
    title: &str,
    next: Markup,
) -> Result<Result<Vec<(String, String)>, Markup>, WebError> {
    let all = regions_to_choose(app, user).await?;
    if user.role == Role::Admin && all.is_empty() {
        return Ok(Err(page(
            Some(user),
            title,
            html! {
                (layout::notice("warn", "Es ist noch keine Region angelegt."))
                (next)
            },
        )));
    }
    Ok(Ok(all))
}

/// An instant (RFC 3339 text) in a region's time zone as people read it: "Mo 23.11.2026, 07:30".
pub fn local_time(instant: &str, time_zone: &str) -> String {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Europe::Berlin);
    match DateTime::parse_from_rfc3339(instant) {
        Ok(at) => {
            let local = at.with_timezone(&tz);
            let day = i18n::WEEKDAYS_DE
                [chrono::Datelike::weekday(&local).num_days_from_monday() as usize];
            format!("{day} {}", local.format("%d.%m.%Y, %H:%M"))
        }
        Err(_) => instant.to_string(),
    }
}

/// The console's start page: what needs attention in the region today.
async fn console_home(
    State(app): State<AppState>,
    user: WebUser,
    axum::extract::Query(q): axum::extract::Query<RegionQuery>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin, Role::Dispatcher])?;
    let next = html! { p { a href="/console/data" { "Region anlegen oder importieren" } } };
    let all = match regions_or_none_yet(&app, &user, "Übersicht", next).await? {
        Ok(all) => all,
        Err(none_yet) => return Ok(none_yet),
    };
    let (region, name, _tz) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let today = Utc::now().date_naive().to_string();
    let (devices, online, unplanned, call_backs) = app
        .store
        .run(move |conn| {
            let count = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<i64> {
                conn.query_row(sql, args, |r| r.get(0))
            };
            let devices = count(
                "SELECT count(*) FROM devices WHERE region_id = ?1 AND status = 'active'",
                &[&region],
            )?;
            let online = count(
                "SELECT count(*) FROM devices d WHERE d.region_id = ?1 AND d.status = 'active'
                 AND EXISTS (SELECT 1 FROM device_heartbeats h WHERE h.device_id = d.id
                             AND h.received_at > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-5 minutes'))",
                &[&region],
            )?;
            let unplanned = count(
                "SELECT count(*) FROM ride_requests WHERE region_id = ?1 AND status = 'requested'
                 AND pickup_window_start IS NULL
                 AND substr(COALESCE(pickup_at, appointment_at), 1, 10) >= ?2",
                &[&region, &today],
            )?;
            let call_backs = count(
                "SELECT count(*) FROM call_backs WHERE region_id = ?1 AND status = 'open'",
                &[&region],
            )?;
            Ok((devices, online, unplanned, call_backs))
        })
        .await?;
    Ok(page(
        Some(&user),
        &format!("Übersicht {name}"),
        html! {
            @if !all.is_empty() {
                form method="get" action="/console" class="region-choice" {
                    (layout::select("region", "Region", &all, &q.region.clone().unwrap_or_default(), false))
                    button type="submit" class="secondary" { "Anzeigen" }
                }
            }
            ul class="cards" {
                li { h2 { "Geräte" } p { (online) " von " (devices) " Kiosken sind erreichbar." } }
                li { h2 { "Fahrten" } p { (unplanned) " Fahrtwünsche ab heute sind noch nicht eingeplant." } }
                li { h2 { "Rückrufe" } p { (call_backs) " Rückrufbitten sind offen." } }
            }
        },
    ))
}

/// `?region=` of console pages.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RegionQuery {
    pub region: Option<String>,
}
