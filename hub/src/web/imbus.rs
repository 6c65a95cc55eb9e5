//! The IMBUS console (`/console/imbus`) for admins and dispatchers: the region's visits as a
//! calendar of four weeks (weeks as rows, weekdays as columns) with what changed in words, draft
//! tour plans with their figures and moved patterns, planning and publishing a cycle, moving and
//! cancelling a visit with the reason residents read, and the links to the public timetable
//! downloads. Every write goes through `crate::tours` or the store's cancel, so slots,
//! appointments, caregivers' notices, audit and change log follow as they do for the API.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::error::WebError;
use super::i18n::WEEKDAYS_DE;
use super::layout::{button_form, csrf_field, input, notice, page};
use super::session::{CsrfForm, WebUser};
use super::{chosen_region, percent_encode, regions};
use crate::api::AppState;
use crate::domain::common::{Instant, local_to_instant};
use crate::domain::{ImbusVisit, Role};
use crate::store::records::{MAX_TEXT_CHARS, cancel_in};
use crate::store::{StoreError, StoreResult};

const ROLES: &[Role] = &[Role::Admin, Role::Dispatcher];
/// Weeks the calendar shows at once.
const PERIOD_WEEKS: i64 = 4;
const WEEKDAYS: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/imbus", get(calendar))
        .route("/console/imbus/plans", post(create_plan))
        .route("/console/imbus/plans/{id}", get(plan_page))
        .route("/console/imbus/plans/{id}/publish", post(publish_plan))
        .route("/console/imbus/visits/{id}", get(visit_page))
        .route("/console/imbus/visits/{id}/move", post(move_visit))
        .route("/console/imbus/visits/{id}/cancel", post(cancel_visit))
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// A region's time zone by name; Berlin if the stored name is unknown (as `local_time` does).
fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Europe::Berlin)
}

/// A date typed as `YYYY-MM-DD` that exists in the calendar (2026-02-30 does not).
fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|_| text.trim().len() == 10)
}

/// A wall-clock time typed as `HH:MM` (24:61 is none).
fn parse_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .ok()
        .filter(|_| text.trim().len() == 5)
}

/// The Monday of the week of `date`.
fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

fn stored_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `HH:MM` of a stored instant in `tz`.
fn clock_of(text: &str, tz: Tz) -> String {
    stored_instant(text).map_or_else(
        || text.to_string(),
        |t| t.with_timezone(&tz).format("%H:%M").to_string(),
    )
}

/// "Mo 23.11.2026" of a date.
fn day_text(date: NaiveDate) -> String {
    format!(
        "{} {}",
        WEEKDAYS_DE[date.weekday().num_days_from_monday() as usize],
        date.format("%d.%m.%Y")
    )
}

/// A stored error as a German message a dispatcher can act on; the store's English detail is
/// kept in brackets where no German text fits.
fn german(e: StoreError) -> WebError {
    match e {
        StoreError::Invalid { field, reason } => {
            let text = if reason.contains("has begun") {
                "Dieser Besuch hat schon begonnen oder ist vorbei; er bleibt, wie er war.".into()
            } else if reason.contains("lies in the past") {
                "Der neue Beginn liegt in der Vergangenheit.".into()
            } else if reason.contains("day without IMBUS") {
                format!("An diesem Tag fährt kein IMBUS ({reason}).")
            } else if reason.contains("the bus is at its visit") {
                format!("Der Bus ist zu dieser Zeit an einem anderen Ort ({reason}).")
            } else if reason.contains("booked slot would lie outside") {
                "Ein gebuchter Termin läge außerhalb des verlegten Besuchs.".into()
            } else if field == "first_day" {
                format!("Der erste Tag muss ein Montag sein ({reason}).")
            } else if field == "weeks" {
                format!(
                    "Die Zahl der Wochen muss zwischen 1 und {} liegen.",
                    crate::tours::MAX_WEEKS
                )
            } else {
                format!("Die Eingabe wurde nicht angenommen ({field}: {reason}).")
            };
            WebError::BadRequest(text)
        }
        StoreError::Conflict(detail) => {
            if detail.contains("is cancelled") {
                WebError::Conflict(
                    "Dieser Besuch ist abgesagt und kann nicht verlegt werden.".into(),
                )
            } else if detail.contains("superseded") {
                WebError::Conflict(
                    "Dieser Plan wurde durch einen späteren ersetzt. Bitte planen Sie neu.".into(),
                )
            } else if detail.contains("breaks rules") {
                WebError::Conflict(format!(
                    "Dieser Plan verletzt Regeln und kann nicht veröffentlicht werden ({detail})."
                ))
            } else {
                WebError::Conflict(format!("Das ist so nicht möglich ({detail})."))
            }
        }
        other => other.into(),
    }
}

/// The region of the record `id` in `table`, or `NotFound`; refused when the person may not
/// act there.
async fn region_of(
    app: &AppState,
    user: &WebUser,
    table: &'static str,
    id: &str,
) -> Result<String, WebError> {
    if id.chars().count() > 100 {
        return Err(WebError::NotFound);
    }
    let lookup = id.to_string();
    let region = app
        .store
        .run(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT region_id FROM {table} WHERE id = ?1"),
                    [lookup],
                    |r| r.get::<_, String>(0),
                )
                .optional()?)
        })
        .await?
        .ok_or(WebError::NotFound)?;
    if user.may_see_region(&region) {
        Ok(region)
    } else {
        Err(WebError::Forbidden)
    }
}

/// Name and time zone of a region.
fn region_row(conn: &Connection, region: &str) -> StoreResult<(String, String)> {
    Ok(conn.query_row(
        "SELECT name, time_zone FROM regions WHERE id = ?1",
        [region],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

fn calendar_link(region: &str, from: NaiveDate) -> String {
    format!(
        "/console/imbus?region={}&from={from}",
        percent_encode(region)
    )
}

// ---------------------------------------------------------------------------------------------
// The calendar

/// `?region=&from=` of the calendar.
#[derive(Debug, Default, Deserialize)]
struct CalendarQuery {
    region: Option<String>,
    from: Option<String>,
}

/// A visit as the calendar and the visit page show it.
#[derive(Debug, Clone)]
struct VisitRow {
    id: String,
    region_id: String,
    village: String,
    stop: String,
    bus: Option<String>,
    counsellor: String,
    starts_at: String,
    ends_at: String,
    status: String,
    cancel_reason: Option<String>,
    change_reason: Option<String>,
    moved_from: Option<String>,
    replacement: bool,
}

const VISIT_SELECT: &str = "SELECT v.id, v.region_id, vi.name, st.name, b.name,
        COALESCE(c.name, v.counsellor), v.starts_at, v.ends_at, v.status, v.cancel_reason,
        v.change_reason, v.moved_from, v.replacement
     FROM imbus_visits v
     JOIN villages vi ON vi.id = v.village_id
     JOIN stops st ON st.id = v.stop_id
     LEFT JOIN imbus_buses b ON b.id = v.bus_id
     LEFT JOIN imbus_counsellors c ON c.id = v.counsellor_id";

fn visit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VisitRow> {
    Ok(VisitRow {
        id: r.get(0)?,
        region_id: r.get(1)?,
        village: r.get(2)?,
        stop: r.get(3)?,
        bus: r.get(4)?,
        counsellor: r.get(5)?,
        starts_at: r.get(6)?,
        ends_at: r.get(7)?,
        status: r.get(8)?,
        cancel_reason: r.get(9)?,
        change_reason: r.get(10)?,
        moved_from: r.get(11)?,
        replacement: r.get(12)?,
    })
}

/// A draft or published plan as listed.
#[derive(Debug)]
struct PlanItem {
    id: String,
    first_day: String,
    weeks: u32,
    status: String,
    figures: Value,
}

/// Everything the calendar page shows of a region.
struct CalendarData {
    visits: Vec<VisitRow>,
    plans: Vec<PlanItem>,
    villages: Vec<(String, String)>,
}

fn calendar_data(
    conn: &Connection,
    region: &str,
    from: &str,
    until: &str,
) -> StoreResult<CalendarData> {
    let visits = conn
        .prepare(&format!(
            "{VISIT_SELECT} WHERE v.region_id = ?1 AND v.starts_at >= ?2 AND v.starts_at < ?3
             ORDER BY v.starts_at, vi.name, v.id"
        ))?
        .query_map(params![region, from, until], visit_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let plans = conn
        .prepare(
            "SELECT id, first_day, weeks, status, figures FROM tour_plans
             WHERE region_id = ?1 AND status IN ('draft', 'published')
             ORDER BY status, first_day DESC, created_at DESC LIMIT 20",
        )?
        .query_map([region], |r| {
            let figures: String = r.get(4)?;
            Ok(PlanItem {
                id: r.get(0)?,
                first_day: r.get(1)?,
                weeks: r.get(2)?,
                status: r.get(3)?,
                figures: serde_json::from_str(&figures).unwrap_or(Value::Null),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let villages = conn
        .prepare(
            "SELECT id, name FROM villages v WHERE region_id = ?1 AND archived_at IS NULL
               AND (imbus_every_weeks IS NOT NULL
                    OR EXISTS (SELECT 1 FROM imbus_visits i WHERE i.village_id = v.id))
             ORDER BY name",
        )?
        .query_map([region], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CalendarData {
        visits,
        plans,
        villages,
    })
}

/// What changed about a visit, in words (never colour alone).
fn status_words(v: &VisitRow, tz: Tz) -> Markup {
    html! {
        @if v.status == "cancelled" {
            strong class="status-error" { "Fällt aus" }
            @if let Some(reason) = &v.cancel_reason { ": " (reason) }
        } @else {
            @if let Some(from) = &v.moved_from {
                strong class="status-warn" { "Verlegt" }
                " (vorher " (super::local_time(from, &tz.to_string())) ")"
                @if let Some(reason) = &v.change_reason { ": " (reason) }
            }
            @if v.replacement {
                " " strong class="status-warn" { "Ersatztermin" }
            }
            @if v.status == "planned" {
                " " span class="muted" { "nicht veröffentlicht" }
            }
        }
    }
}

/// `GET /console/imbus`: the calendar of four weeks from `from` (its Monday), the plans and the
/// downloads.
async fn calendar(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<CalendarQuery>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    let (region, name, tz_name) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let tz = zone(&tz_name);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let from = match q.from.as_deref().filter(|f| !f.is_empty()) {
        Some(text) => monday_of(parse_date(text).ok_or_else(|| {
            WebError::BadRequest(format!("„{text}“ ist kein Datum in der Form JJJJ-MM-TT."))
        })?),
        None => monday_of(today),
    };
    let until = from + Duration::days(7 * PERIOD_WEEKS);
    let bound = |d: NaiveDate| {
        local_to_instant(tz, d, NaiveTime::MIN)
            .map(|i| i.text())
            .map_err(WebError::BadRequest)
    };
    let (start, end) = (bound(from)?, bound(until)?);
    let lookup = region.clone();
    let data = app
        .store
        .run(move |conn| calendar_data(conn, &lookup, &start, &end))
        .await?;
    let all = if user.role == Role::Admin {
        regions(&app).await?
    } else {
        Vec::new()
    };
    let next_monday = monday_of(today) + Duration::days(7);
    Ok(page(
        Some(&user),
        &format!("IMBUS {name}"),
        html! {
            @if all.len() > 1 {
                form method="get" action="/console/imbus" class="region-choice" {
                    (super::layout::select("region", "Region", &all, &region, false))
                    button type="submit" class="secondary" { "Anzeigen" }
                }
            }
            (calendar_table(&region, from, today, tz, &data.visits))
            (plans_section(&user, &region, next_monday, &data.plans))
            (downloads(&region, &data.villages))
        },
    ))
}

fn calendar_table(
    region: &str,
    from: NaiveDate,
    today: NaiveDate,
    tz: Tz,
    visits: &[VisitRow],
) -> Markup {
    let until = from + Duration::days(7 * PERIOD_WEEKS - 1);
    let on = |date: NaiveDate| -> Vec<&VisitRow> {
        visits
            .iter()
            .filter(|v| {
                stored_instant(&v.starts_at)
                    .is_some_and(|s| s.with_timezone(&tz).date_naive() == date)
            })
            .collect()
    };
    html! {
        h2 id="kalender" { "Besuche vom " (from.format("%d.%m.%Y")) " bis " (until.format("%d.%m.%Y")) }
        nav class="imbus-period" aria-label="Zeitraum" {
            a href=(calendar_link(region, from - Duration::days(7 * PERIOD_WEEKS))) { "Vorige 4 Wochen" }
            " "
            a href=(calendar_link(region, monday_of(today))) { "Ab dieser Woche" }
            " "
            a href=(calendar_link(region, from + Duration::days(7 * PERIOD_WEEKS))) { "Nächste 4 Wochen" }
        }
        @if visits.is_empty() {
            (notice("warn", "In diesen vier Wochen gibt es keine IMBUS-Besuche."))
        }
        div class="table-wrap" tabindex="0" role="region" aria-label="IMBUS-Besuche" {
            table class="imbus-calendar" {
                caption { "IMBUS-Besuche: Wochen in Zeilen, Wochentage in Spalten" }
                thead {
                    tr {
                        th scope="col" { "Woche" }
                        @for day in WEEKDAYS { th scope="col" { (day) } }
                    }
                }
                tbody {
                    @for week in 0..PERIOD_WEEKS {
                        @let monday = from + Duration::days(7 * week);
                        tr {
                            th scope="row" { "KW " (monday.iso_week().week()) }
                            @for d in 0..7 {
                                @let date = monday + Duration::days(d);
                                td class=[(date == today).then_some("today")] {
                                    span class="imbus-date" { (date.format("%d.%m.")) }
                                    @if date == today { " " span class="muted" { "(heute)" } }
                                    @let here = on(date);
                                    @if !here.is_empty() {
                                        ul class="imbus-visits" {
                                            @for v in here {
                                                li class=[(v.status == "cancelled").then_some("cancelled")] {
                                                    a href={ "/console/imbus/visits/" (v.id) } {
                                                        (clock_of(&v.starts_at, tz)) "–" (clock_of(&v.ends_at, tz))
                                                        " " (v.village)
                                                    }
                                                    @if let Some(bus) = &v.bus { br; span class="muted" { (bus) } }
                                                    br;
                                                    (status_words(v, tz))
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn plan_status(status: &str) -> &'static str {
    match status {
        "draft" => "Entwurf",
        "published" => "veröffentlicht",
        _ => "ersetzt",
    }
}

fn plans_section(
    user: &WebUser,
    region: &str,
    next_monday: NaiveDate,
    plans: &[PlanItem],
) -> Markup {
    html! {
        h2 id="plaene" { "Tourenpläne" }
        @if plans.is_empty() {
            p { "Es gibt noch keinen Tourenplan für diese Region." }
        } @else {
            table {
                caption { "Entwürfe und veröffentlichte Pläne" }
                thead { tr {
                    th scope="col" { "Plan" } th scope="col" { "Stand" }
                    th scope="col" { "Besuche geplant" } th scope="col" { "Verschobene Muster" }
                } }
                tbody {
                    @for p in plans {
                        tr {
                            td {
                                a href={ "/console/imbus/plans/" (p.id) } {
                                    "Ab " (parse_date(&p.first_day).map_or(p.first_day.clone(), day_text))
                                    ", " (p.weeks) " Wochen"
                                }
                            }
                            td { (plan_status(&p.status)) }
                            td { (p.figures["visits_planned"]) " von " (p.figures["visits_required"]) }
                            td { (p.figures["moved_patterns"]) }
                        }
                    }
                }
            }
        }
        h3 { "Neuen Zyklus planen" }
        p { "Der Planer macht einen Entwurf. Er wird erst sichtbar, wenn Sie ihn veröffentlichen." }
        form method="post" action="/console/imbus/plans"
            data-confirm="Einen neuen Tourenplan als Entwurf berechnen?" {
            (csrf_field(user))
            input type="hidden" name="plan_id" value=(Uuid::new_v4());
            input type="hidden" name="region" value=(region);
            (input("first_day", "Erster Tag (ein Montag)", "date", &next_monday.to_string(), true,
                   Some("Format JJJJ-MM-TT")))
            (input("weeks", "Wochen", "number", "4", true,
                   Some(&format!("1 bis {}", crate::tours::MAX_WEEKS))))
            button type="submit" { "Zyklus planen" }
        }
    }
}

fn downloads(region: &str, villages: &[(String, String)]) -> Markup {
    let r = percent_encode(region);
    html! {
        h2 id="downloads" { "Fahrplan zum Herunterladen" }
        ul class="imbus-downloads" {
            li { a href={ "/api/v1/timetable.ics?region=" (r) } { "Kalender der Region (iCalendar, .ics)" } }
            li { a href={ "/api/v1/gtfs.zip?region=" (r) } { "Fahrplandaten der Region (GTFS, .zip)" } }
            @for (id, name) in villages {
                li { a href={ "/api/v1/villages/" (percent_encode(id)) "/poster.pdf" } {
                    "Aushang für " (name) " (A4, PDF)"
                } }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plans

#[derive(Debug, Deserialize)]
struct PlanForm {
    #[serde(default)]
    plan_id: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    first_day: String,
    #[serde(default)]
    weeks: String,
}

/// `POST /console/imbus/plans`: plans a cycle as a draft under the page's plan id (a second
/// submit of the same page makes no second plan) and shows it.
async fn create_plan(
    State(app): State<AppState>,
    CsrfForm(user, form): CsrfForm<PlanForm>,
) -> Result<Response, WebError> {
    user.require(ROLES)?;
    let asked = Some(form.region.as_str()).filter(|r| !r.is_empty());
    let (region, ..) = chosen_region(&app, &user, asked).await?;
    let id = Uuid::parse_str(&form.plan_id).map_err(|_| {
        WebError::BadRequest(
            "Das Formular ist unvollständig. Bitte laden Sie die Seite neu.".into(),
        )
    })?;
    let first_day = parse_date(&form.first_day).ok_or_else(|| {
        WebError::BadRequest(format!(
            "„{}“ ist kein Datum in der Form JJJJ-MM-TT.",
            form.first_day.chars().take(40).collect::<String>()
        ))
    })?;
    let weeks: u32 = form.weeks.trim().parse().map_err(|_| {
        WebError::BadRequest(format!(
            "Die Zahl der Wochen muss zwischen 1 und {} liegen.",
            crate::tours::MAX_WEEKS
        ))
    })?;
    crate::tours::check_period(first_day, weeks).map_err(german)?;
    let who = user.who();
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || {
        crate::tours::plan_cycle(&store, &region, first_day, weeks, 1, &who, id)
    })
    .await
    .map_err(|e| WebError::Internal(format!("planning task failed: {e}")))?
    .map_err(german)?;
    Ok(Redirect::to(&format!("/console/imbus/plans/{id}")).into_response())
}

fn move_reason_text(reason: &str) -> &'static str {
    match reason {
        "new_village" => "Ort neu im Plan",
        "village_removed" => "Ort nicht mehr im Plan",
        "village_changed" => "Angaben des Orts geändert",
        "day_lost" => "Tag fällt weg (Feiertag, Schließtag oder Bus/Beratung fehlt)",
        "made_room" => "Platz gemacht für einen anderen Ort",
        _ => "anderer Grund",
    }
}

fn pattern_text(p: &Value) -> String {
    if p.is_null() {
        return "–".into();
    }
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|d| p["weekday"].as_str() == Some(d))
        .map_or("?", |i| WEEKDAYS_DE[i]);
    format!(
        "{day} {}–{} Uhr, alle {} Wochen ab Woche {}",
        p["start"].as_str().unwrap_or("?"),
        p["end"].as_str().unwrap_or("?"),
        p["every_weeks"],
        p["week_offset"].as_u64().unwrap_or(0) + 1
    )
}

/// `GET /console/imbus/plans/{id}`: a plan's figures, moved patterns with reasons, missing
/// visits and timetable; a draft can be published.
async fn plan_page(
    State(app): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    region_of(&app, &user, "tour_plans", &id).await?;
    let lookup = id.clone();
    let plan = app
        .store
        .run(move |conn| crate::tours::get_plan(conn, &lookup))
        .await?;
    let region = plan["region_id"].as_str().unwrap_or_default().to_string();
    let first_day = plan["first_day"].as_str().and_then(parse_date);
    let status = plan["status"].as_str().unwrap_or_default();
    let title = match first_day {
        Some(d) => format!("Tourenplan ab {}", day_text(d)),
        None => "Tourenplan".into(),
    };
    Ok(page(
        Some(&user),
        &title,
        html! {
            p { "Stand: " strong { (plan_status(status)) } ", " (plan["weeks"]) " Wochen." }
            @if status == "draft" {
                (button_form(&user, &format!("/console/imbus/plans/{id}/publish"),
                    "Plan veröffentlichen",
                    Some("Diesen Plan veröffentlichen? Besuche werden angelegt, verschoben oder abgesagt; Angehörige gebuchter Personen werden benachrichtigt.")))
            }
            (plan_figures(&plan["figures"]))
            (plan_moves(&plan))
            (plan_visits(&plan))
            p { a href=(calendar_link(&region, first_day.unwrap_or_default())) { "Zum Kalender" } }
        },
    ))
}

fn plan_figures(f: &Value) -> Markup {
    let hours = |k: &str| format!("{:.1} Std.", f[k].as_f64().unwrap_or(0.0) / 3600.0);
    let problems = f["problems"].as_array().cloned().unwrap_or_default();
    html! {
        h2 { "Kennzahlen" }
        table class="figures" {
            caption { "Kennzahlen des Plans" }
            tbody {
                tr { th scope="row" { "Besuche geplant" } td { (f["visits_planned"]) " von " (f["visits_required"]) " nötigen" } }
                tr { th scope="row" { "Orte im gewünschten Takt" } td { (f["villages_met"]) " von " (f["villages"]) } }
                tr { th scope="row" { "Fahrzeit" } td { (hours("driving_seconds")) " (Untergrenze " (hours("driving_lower_bound_seconds")) ")" } }
                tr { th scope="row" { "Ersatztermine" } td { (f["replacements"]) } }
                tr { th scope="row" { "Verschobene Muster" } td { (f["moved_patterns"]) } }
            }
        }
        @for p in &problems {
            (notice("error", &format!("Regelverstoß: {}", p.as_str().unwrap_or("?"))))
        }
    }
}

fn plan_moves(plan: &Value) -> Markup {
    let moves = plan["moves"].as_array().cloned().unwrap_or_default();
    let unmet = plan["unmet"].as_array().cloned().unwrap_or_default();
    html! {
        h2 { "Verschobene Muster" }
        @if moves.is_empty() {
            p { "Kein Ort hat einen anderen regelmäßigen Termin als im letzten Plan." }
        } @else {
            table {
                caption { "Orte mit neuem regelmäßigem Termin und warum" }
                thead { tr { th scope="col" { "Ort" } th scope="col" { "Vorher" } th scope="col" { "Nachher" } th scope="col" { "Grund" } } }
                tbody {
                    @for m in &moves {
                        tr {
                            td { (m["village"].as_str().unwrap_or("?")) }
                            td { (pattern_text(&m["before"])) }
                            td { (pattern_text(&m["after"])) }
                            td { (move_reason_text(m["reason"].as_str().unwrap_or_default())) }
                        }
                    }
                }
            }
        }
        @if !unmet.is_empty() {
            h2 { "Fehlende Besuche" }
            ul {
                @for u in &unmet {
                    li {
                        (u["village"].as_str().unwrap_or("?")) " in Woche " (u["week"].as_u64().unwrap_or(0) + 1) ": "
                        @if u["reason"] == "unreachable" { "nicht erreichbar" } @else { "kein Platz im Plan" }
                    }
                }
            }
        }
    }
}

fn plan_visits(plan: &Value) -> Markup {
    let visits = plan["visits"].as_array().cloned().unwrap_or_default();
    html! {
        h2 { "Besuche des Plans" }
        div class="table-wrap" tabindex="0" role="region" aria-label="Besuche des Plans" {
            table {
                caption { (visits.len()) " Besuche" }
                thead { tr {
                    th scope="col" { "Tag" } th scope="col" { "Zeit" } th scope="col" { "Ort" }
                    th scope="col" { "Bus" } th scope="col" { "Beratung" } th scope="col" { "Hinweis" }
                } }
                tbody {
                    @for v in &visits {
                        tr {
                            td { (v["date"].as_str().and_then(parse_date).map_or(String::new(), day_text)) }
                            td { (v["start"].as_str().unwrap_or("")) "–" (v["end"].as_str().unwrap_or("")) }
                            td { (v["village"].as_str().unwrap_or("")) }
                            td { (v["bus"].as_str().unwrap_or("")) }
                            td { (v["counsellor"].as_str().unwrap_or("")) }
                            td { @if v["replacement"] == true { "Ersatztermin" } }
                        }
                    }
                }
            }
        }
    }
}

/// Forms that carry nothing but the CSRF token.
#[derive(Debug, Deserialize)]
struct Empty {}

/// `POST /console/imbus/plans/{id}/publish`: publishes a draft (`tours::publish_in`) and shows
/// the calendar of its first weeks.
async fn publish_plan(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    user.require(ROLES)?;
    let region = region_of(&app, &user, "tour_plans", &id).await?;
    let who = user.who();
    let store = app.store.clone();
    let plan =
        tokio::task::spawn_blocking(move || crate::tours::publish(&store, &who, &id, Utc::now()))
            .await
            .map_err(|e| WebError::Internal(format!("publishing task failed: {e}")))?
            .map_err(german)?;
    let from = plan["first_day"]
        .as_str()
        .and_then(parse_date)
        .unwrap_or_default();
    Ok(Redirect::to(&calendar_link(&region, from)).into_response())
}

// ---------------------------------------------------------------------------------------------
// One visit: move and cancel

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn load_visit(app: &AppState, id: String) -> Result<(VisitRow, String, String), WebError> {
    let visit = app
        .store
        .run(move |conn| {
            let v = conn
                .query_row(&format!("{VISIT_SELECT} WHERE v.id = ?1"), [&id], visit_row)
                .optional()?;
            match v {
                Some(v) => {
                    let (name, tz) = region_row(conn, &v.region_id)?;
                    Ok(Some((v, name, tz)))
                }
                None => Ok(None),
            }
        })
        .await?;
    visit.ok_or(WebError::NotFound)
}

fn has_begun(v: &VisitRow) -> bool {
    stored_instant(&v.starts_at).is_none_or(|s| s <= Utc::now())
}

/// `GET /console/imbus/visits/{id}`: a visit with the forms to move or cancel it.
async fn visit_page(
    State(app): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    region_of(&app, &user, "imbus_visits", &id).await?;
    let lookup = id.clone();
    let (booked, waiting) = app
        .store
        .run(move |conn| {
            Ok(conn.query_row(
                "SELECT (SELECT count(*) FROM appointments a JOIN slots s ON s.id = a.slot_id
                         WHERE s.visit_id = ?1 AND a.status = 'booked'),
                        (SELECT count(*) FROM waiting_list WHERE visit_id = ?1
                         AND status = 'waiting')",
                [lookup],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )?)
        })
        .await?;
    let (v, region_name, tz_name) = load_visit(&app, id).await?;
    let tz = zone(&tz_name);
    let start = stored_instant(&v.starts_at).map(|s| s.with_timezone(&tz));
    let back = calendar_link(
        &v.region_id,
        monday_of(start.map_or_else(|| Utc::now().date_naive(), |s| s.date_naive())),
    );
    let done = match q.done.as_deref() {
        Some("moved") => Some(
            "Der Besuch wurde verlegt. Termine sind mitgegangen; Angehörige gebuchter Personen werden benachrichtigt.",
        ),
        Some("cancelled") => Some(
            "Der Besuch wurde abgesagt. Angehörige gebuchter und wartender Personen werden benachrichtigt.",
        ),
        _ => None,
    };
    Ok(page(
        Some(&user),
        &format!("IMBUS-Besuch in {}", v.village),
        html! {
            @if let Some(text) = done { (notice("ok", text)) }
            table class="figures" {
                caption { "Besuch (" (region_name) ")" }
                tbody {
                    tr { th scope="row" { "Ort" } td { (v.village) ", " (v.stop) } }
                    tr { th scope="row" { "Beginn" } td { (super::local_time(&v.starts_at, &tz_name)) } }
                    tr { th scope="row" { "Ende" } td { (super::local_time(&v.ends_at, &tz_name)) } }
                    tr { th scope="row" { "Bus" } td { (v.bus.clone().unwrap_or_else(|| "–".into())) } }
                    tr { th scope="row" { "Beratung" } td { (v.counsellor) } }
                    tr { th scope="row" { "Gebuchte Termine" } td { (booked) } }
                    tr { th scope="row" { "Auf der Warteliste" } td { (waiting) } }
                    tr { th scope="row" { "Stand" } td {
                        @if v.status == "published" && v.moved_from.is_none() && !v.replacement { "veröffentlicht" }
                        (status_words(&v, tz))
                    } }
                }
            }
            @if v.status == "cancelled" {
                p { "Ein abgesagter Besuch lässt sich nicht mehr ändern." }
            } @else if has_begun(&v) {
                (notice("warn", "Dieser Besuch hat schon begonnen oder ist vorbei; er bleibt, wie er war."))
            } @else {
                (move_form(&user, &v, tz))
                (cancel_form(&user, &v))
            }
            p { a href=(back) { "Zum Kalender" } }
        },
    ))
}

fn move_form(user: &WebUser, v: &VisitRow, tz: Tz) -> Markup {
    let start = stored_instant(&v.starts_at).map(|s| s.with_timezone(&tz));
    let date = start
        .map(|s| s.date_naive().to_string())
        .unwrap_or_default();
    let time = start
        .map(|s| s.format("%H:%M").to_string())
        .unwrap_or_default();
    html! {
        h2 { "Verlegen" }
        p { "Die Dauer bleibt gleich. Gebuchte Termine gehen mit; der Grund wird den Bürgerinnen und Bürgern angezeigt." }
        form method="post" action={ "/console/imbus/visits/" (v.id) "/move" }
            data-confirm="Den Besuch wirklich verlegen?" {
            (csrf_field(user))
            (input("date", "Neuer Tag", "date", &date, true, Some("Format JJJJ-MM-TT")))
            (input("time", "Neuer Beginn", "time", &time, true, Some("Format SS:MM")))
            (input("reason", "Grund (wird öffentlich angezeigt)", "text", "", true,
                   Some(&format!("höchstens {MAX_TEXT_CHARS} Zeichen"))))
            button type="submit" { "Besuch verlegen" }
        }
    }
}

fn cancel_form(user: &WebUser, v: &VisitRow) -> Markup {
    html! {
        h2 { "Absagen" }
        form method="post" action={ "/console/imbus/visits/" (v.id) "/cancel" }
            data-confirm="Den Besuch wirklich absagen? Gebuchte Termine entfallen." {
            (csrf_field(user))
            div class="field" {
                label for="f-cancel-reason" { "Grund der Absage (wird öffentlich angezeigt) " span class="req" aria-hidden="true" { "*" } }
                span class="hint" id="f-cancel-reason-hint" { "höchstens " (MAX_TEXT_CHARS) " Zeichen" }
                input id="f-cancel-reason" name="reason" type="text" required
                    aria-describedby="f-cancel-reason-hint";
            }
            button type="submit" class="danger" { "Besuch absagen" }
        }
    }
}

/// A reason residents read: required, at most `MAX_TEXT_CHARS` characters, trimmed.
fn reason_of(text: &str) -> Result<String, WebError> {
    let reason = text.trim();
    if reason.is_empty() {
        return Err(WebError::BadRequest(
            "Bitte geben Sie einen Grund an: Die Bürgerinnen und Bürger lesen ihn.".into(),
        ));
    }
    if reason.chars().count() > MAX_TEXT_CHARS {
        return Err(WebError::BadRequest(format!(
            "Der Grund ist zu lang (höchstens {MAX_TEXT_CHARS} Zeichen)."
        )));
    }
    Ok(reason.to_string())
}

#[derive(Debug, Deserialize)]
struct MoveForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    reason: String,
}

/// The new start of a moved visit from the form's local date and time.
fn new_start(form: &MoveForm, tz: Tz) -> Result<Instant, WebError> {
    let date = parse_date(&form.date).ok_or_else(|| {
        WebError::BadRequest(format!(
            "„{}“ ist kein gültiges Datum (JJJJ-MM-TT).",
            form.date.chars().take(40).collect::<String>()
        ))
    })?;
    let time = parse_time(&form.time).ok_or_else(|| {
        WebError::BadRequest(format!(
            "„{}“ ist keine gültige Uhrzeit (SS:MM).",
            form.time.chars().take(40).collect::<String>()
        ))
    })?;
    let start = local_to_instant(tz, date, time).map_err(|_| {
        WebError::BadRequest("Diese Uhrzeit gibt es an dem Tag nicht (Zeitumstellung).".into())
    })?;
    if start.0 <= Utc::now() {
        return Err(WebError::BadRequest(
            "Der neue Beginn liegt in der Vergangenheit.".into(),
        ));
    }
    Ok(start)
}

/// `POST /console/imbus/visits/{id}/move`: moves a visit through `tours::move_visit` (slots,
/// appointments and caregivers' notices go along).
async fn move_visit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<MoveForm>,
) -> Result<Response, WebError> {
    user.require(ROLES)?;
    region_of(&app, &user, "imbus_visits", &id).await?;
    let (v, _, tz_name) = load_visit(&app, id.clone()).await?;
    if v.status == "cancelled" {
        return Err(WebError::Conflict(
            "Dieser Besuch ist abgesagt und kann nicht verlegt werden.".into(),
        ));
    }
    if has_begun(&v) {
        return Err(WebError::BadRequest(
            "Dieser Besuch hat schon begonnen oder ist vorbei; er bleibt, wie er war.".into(),
        ));
    }
    let reason = reason_of(&form.reason)?;
    let start = new_start(&form, zone(&tz_name))?;
    let who = user.who();
    let visit = id.clone();
    app.store
        .run(move |conn| crate::tours::move_visit(conn, &who, &visit, start, &reason))
        .await
        .map_err(german)?;
    Ok(Redirect::to(&format!("/console/imbus/visits/{id}?done=moved")).into_response())
}

#[derive(Debug, Deserialize)]
struct CancelForm {
    #[serde(default)]
    reason: String,
}

/// `POST /console/imbus/visits/{id}/cancel`: cancels a visit that has not begun through the
/// store's cancel (the same path as the API's), in one transaction with the check.
async fn cancel_visit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<CancelForm>,
) -> Result<Response, WebError> {
    user.require(ROLES)?;
    region_of(&app, &user, "imbus_visits", &id).await?;
    let reason = reason_of(&form.reason)?;
    let who = user.who();
    let visit = id.clone();
    let begun = app
        .store
        .run(move |conn| {
            let tx = conn.transaction()?;
            let starts: String = tx.query_row(
                "SELECT starts_at FROM imbus_visits WHERE id = ?1",
                [&visit],
                |r| r.get(0),
            )?;
            if stored_instant(&starts).is_none_or(|s| s <= Utc::now()) {
                return Ok(true);
            }
            cancel_in::<ImbusVisit>(&tx, &who, &visit, Some(&reason))?;
            tx.commit()?;
            Ok(false)
        })
        .await
        .map_err(german)?;
    if begun {
        return Err(WebError::BadRequest(
            "Dieser Besuch hat schon begonnen oder ist vorbei; er bleibt, wie er war.".into(),
        ));
    }
    Ok(Redirect::to(&format!("/console/imbus/visits/{id}?done=cancelled")).into_response())
}
