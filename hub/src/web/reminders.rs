//! Web pages: the dispatcher's view of e-mail reminders to caregivers (`/console/reminders`):
//! what waits to be sent, what could not be delivered (with the error and the number of tries)
//! and what went out in the last week; a failed reminder can be sent again.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Duration, SecondsFormat, Utc};
use maud::{Markup, html};
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;

use super::error::WebError;
use super::layout::{self, page};
use super::session::{CsrfForm, WebUser};
use super::{chosen_region, local_time, percent_encode, regions};
use crate::api::AppState;
use crate::domain::Role;
use crate::reminders::{self, SmtpMailer};
use crate::store::StoreError;
use crate::store::logs::{self, Action};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/reminders", get(list))
        .route("/console/reminders/{id}/retry", post(retry))
}

/// `?region=` and the outcome of a retry just made.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    region: Option<String>,
    done: Option<String>,
}

/// One reminder as the page shows it.
struct Row {
    id: String,
    kind: String,
    status: String,
    due_at: String,
    attempts: i64,
    next_try_at: String,
    last_error: Option<String>,
    sent_at: Option<String>,
    to_address: String,
    caregiver: String,
    code: Option<String>,
    starts_at: Option<String>,
}

/// How many days of sent reminders the page shows.
const SENT_DAYS: i64 = 7;

async fn list(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin, Role::Dispatcher])?;
    let (region, name, tz) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let all = if user.role == Role::Admin {
        regions(&app).await?
    } else {
        Vec::new()
    };
    let who = user.who();
    let since = (Utc::now() - Duration::days(SENT_DAYS)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let key = region.clone();
    let rows = app
        .store
        .run(move |conn| {
            let rows = {
                let mut stmt = conn.prepare(
                    "SELECT m.id, m.kind, m.status, m.due_at, m.attempts, m.next_try_at,
                            m.last_error, m.sent_at, m.to_address, c.name,
                            COALESCE(r.booking_code, a.booking_code, na.booking_code),
                            COALESCE(r.pickup_at, r.appointment_at, a.starts_at,
                                     n.new_start, n.old_start)
                     FROM reminders m
                     JOIN caregivers c ON c.id = m.caregiver_id
                     LEFT JOIN ride_requests r ON m.kind = 'ride' AND r.id = m.entity_id
                     LEFT JOIN appointments a ON m.kind = 'appointment' AND a.id = m.entity_id
                     LEFT JOIN notices n ON m.kind = 'notice' AND n.id = m.entity_id
                     LEFT JOIN appointments na ON na.id = n.appointment_id
                     WHERE m.region_id = ?1 AND (m.status IN ('pending', 'failed')
                           OR (m.status = 'sent' AND m.sent_at >= ?2))
                     ORDER BY m.due_at, m.rowid LIMIT 500",
                )?;
                stmt.query_map(params![key, since], |r| {
                    Ok(Row {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        status: r.get(2)?,
                        due_at: r.get(3)?,
                        attempts: r.get(4)?,
                        next_try_at: r.get(5)?,
                        last_error: r.get(6)?,
                        sent_at: r.get(7)?,
                        to_address: r.get(8)?,
                        caregiver: r.get(9)?,
                        code: r.get(10)?,
                        starts_at: r.get(11)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?
            };
            // The page names caregivers and their addresses.
            logs::audit(conn, &who, Action::List, "reminders", None, Some(&key))?;
            Ok(rows)
        })
        .await?;
    let e_mail = app.config.smtp_host.is_some();
    Ok(page(
        Some(&user),
        &format!("Erinnerungen {name}"),
        html! {
            @if !all.is_empty() {
                form method="get" action="/console/reminders" class="region-choice" {
                    (layout::select("region", "Region", &all, &region, false))
                    button type="submit" class="secondary" { "Anzeigen" }
                }
            }
            @if let Some(done) = q.done.as_deref() { (done_notice(done)) }
            @if !e_mail {
                (layout::notice("warn", "Der Versand von E-Mails ist nicht eingerichtet (smtp_host in der Konfiguration des Hubs). Erinnerungen warten, bis er eingerichtet ist."))
            }
            p { "Angehörige mit E-Mail-Adresse bekommen am Vortag eine Erinnerung an Fahrten und Beratungstermine, und sofort eine Mitteilung, wenn ein IMBUS-Termin ausfällt, verschoben wird oder von der Warteliste frei wird. Was nicht zugestellt werden kann, wird nach 5 Minuten, 15 Minuten, 1 Stunde und 3 Stunden erneut versucht und steht danach unter „Fehlgeschlagen“." }
            (section(&user, "Fehlgeschlagen", "failed", &rows, &tz))
            (section(&user, "Wartend", "pending", &rows, &tz))
            (section(&user, &format!("Gesendet (letzte {SENT_DAYS} Tage)"), "sent", &rows, &tz))
        },
    ))
}

fn done_notice(done: &str) -> Markup {
    match done {
        "sent" => layout::notice("ok", "Die Erinnerung ist gesendet."),
        "queued" => layout::notice("ok", "Die Erinnerung wartet wieder auf den Versand."),
        _ => layout::notice(
            "error",
            "Die Erinnerung konnte wieder nicht zugestellt werden. Der Fehler steht in der Tabelle.",
        ),
    }
}

fn what(kind: &str) -> &'static str {
    match kind {
        "ride" => "Fahrt",
        "notice" => "Mitteilung zum IMBUS-Termin",
        _ => "Beratungstermin",
    }
}

/// One table of reminders with `status`.
fn section(user: &WebUser, title: &str, status: &str, rows: &[Row], tz: &str) -> Markup {
    let rows: Vec<&Row> = rows.iter().filter(|r| r.status == status).collect();
    let id = format!("erinnerungen-{status}");
    html! {
        section aria-labelledby=(id) {
            h2 id=(id) { (title) " (" (rows.len()) ")" }
            @if rows.is_empty() {
                p { "Keine." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Buchung" }
                        th scope="col" { "Termin" }
                        th scope="col" { "An" }
                        @match status {
                            "failed" => {
                                th scope="col" { "Versuche" }
                                th scope="col" { "Letzter Fehler" }
                                th scope="col" { "Aktion" }
                            }
                            "pending" => {
                                th scope="col" { "Fällig" }
                                th scope="col" { "Versuche" }
                                th scope="col" { "Nächster Versuch" }
                                th scope="col" { "Letzter Fehler" }
                            }
                            _ => { th scope="col" { "Gesendet" } }
                        }
                    } }
                    tbody {
                        @for row in rows {
                            tr {
                                td { (what(&row.kind)) " " code { (row.code.as_deref().unwrap_or("–")) } }
                                td { (row.starts_at.as_deref().map(|t| local_time(t, tz)).unwrap_or_default()) }
                                td { (row.caregiver) br; (row.to_address) }
                                @match status {
                                    "failed" => {
                                        td { (row.attempts) }
                                        td { (row.last_error.as_deref().unwrap_or("")) }
                                        td {
                                            // The name says which one: several rows carry this button.
                                            form class="inline" method="post" action=(format!("/console/reminders/{}/retry", row.id)) {
                                                (layout::csrf_field(user))
                                                button type="submit" aria-label=(format!("Erneut senden: {} {} an {}", what(&row.kind), row.code.as_deref().unwrap_or(""), row.caregiver)) { "Erneut senden" }
                                            }
                                        }
                                    }
                                    "pending" => {
                                        td { (local_time(&row.due_at, tz)) }
                                        td { (row.attempts) }
                                        td { (local_time(&row.next_try_at, tz)) }
                                        td { (row.last_error.as_deref().unwrap_or("")) }
                                    }
                                    _ => { td { (row.sent_at.as_deref().map(|t| local_time(t, tz)).unwrap_or_default()) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The form of "Erneut senden" carries nothing but the CSRF token.
#[derive(Debug, Deserialize)]
struct Empty {}

/// `POST /console/reminders/{id}/retry`: sends a failed reminder again, at once when e-mail is
/// configured.
async fn retry(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin, Role::Dispatcher])?;
    let key = id.clone();
    let found: Option<(String, String)> = app
        .store
        .run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT region_id, status FROM reminders WHERE id = ?1",
                    [key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
        })
        .await?;
    let (region, status) = found.ok_or(WebError::NotFound)?;
    if !user.may_see_region(&region) {
        return Err(WebError::NotFound);
    }
    if status != "failed" {
        return Err(WebError::Conflict(
            "Nur eine fehlgeschlagene Erinnerung kann erneut gesendet werden.".into(),
        ));
    }
    let mailer = SmtpMailer::from_config(&app.config).map_err(WebError::Internal)?;
    let after = reminders::retry(&app.store, mailer.as_ref(), &id, user.who(), Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => WebError::NotFound,
            other => other.into(),
        })?;
    let done = match (after.as_str(), mailer.is_some()) {
        ("sent", _) => "sent",
        (_, false) => "queued",
        _ => "failed",
    };
    Ok(Redirect::to(&format!(
        "/console/reminders?region={}&done={done}",
        percent_encode(&region)
    ))
    .into_response())
}
