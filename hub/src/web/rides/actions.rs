//! One ride (`/console/rides/{id}`) and what a dispatcher does with it: move it to another time
//! (re-planned at once; a promised window stays unless the new time gets one), cancel it (late
//! cancellation rules apply), mark a no-show; and re-optimising a whole day.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    ROLES, answer, channel_text, check_length, clock, first_name, future_instant, local_date,
    outcome_text, parse_date, parse_time, refusal, refused, status_text, text, today_in,
};
use crate::api::AppState;
use crate::domain::rides::RideRequest;
use crate::rides::{Day, Effort};
use crate::store::logs::{self, Action, Who};
use crate::store::records;
use crate::store::{StoreError, StoreResult};
use crate::web::error::WebError;
use crate::web::layout::{self, csrf_field, page};
use crate::web::session::{CsrfForm, WebUser};
use crate::web::{chosen_region, local_time, percent_encode};

/// Statuses in which a ride may still be moved or cancelled.
const OPEN: &[&str] = &["requested", "planned", "confirmed"];

/// The region and its time zone of a ride the person may act on: 404 when there is no such ride,
/// 403 when it belongs to another region.
async fn ride_region(
    app: &AppState,
    user: &WebUser,
    id: &str,
) -> Result<(String, String), WebError> {
    check_length("Fahrt", id)?;
    let ride = id.to_string();
    let found = app
        .store
        .run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT r.region_id, g.time_zone FROM ride_requests r
                     JOIN regions g ON g.id = r.region_id WHERE r.id = ?1",
                    [&ride],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )
                .optional()?)
        })
        .await?;
    let (region, tz) = found.ok_or(WebError::NotFound)?;
    if !user.may_see_region(&region) {
        return Err(WebError::Forbidden);
    }
    Ok((region, tz))
}

/// A ride with its rider's first name and its places in words (audited read).
struct RideView {
    record: Value,
    first_name: String,
    from: String,
    to: String,
}

fn load_view(conn: &mut Connection, who: &Who, id: &str) -> StoreResult<RideView> {
    let tx = conn.transaction()?;
    let record = records::read_row::<RideRequest>(&tx, id)?;
    let (name, from, to): (String, String, String) = tx.query_row(
        &format!(
            "SELECT res.name, {}, {} FROM ride_requests r {} WHERE r.id = ?1",
            super::day::place_sql("from"),
            super::day::place_sql("to"),
            super::day::PLACE_JOINS
        ),
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let region = text(&record, "region_id").map(str::to_string);
    logs::audit(
        &tx,
        who,
        Action::Read,
        "ride_requests",
        Some(id),
        region.as_deref(),
    )?;
    tx.commit()?;
    Ok(RideView {
        record,
        first_name: first_name(&name),
        from,
        to,
    })
}

/// `GET /console/rides/{id}`.
pub async fn show(
    State(app): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    ride_page(&app, &user, &id, None).await
}

/// The ride page, with a message about what was just done.
async fn ride_page(
    app: &AppState,
    user: &WebUser,
    id: &str,
    done: Option<Markup>,
) -> Result<Markup, WebError> {
    let (region, tz) = ride_region(app, user, id).await?;
    let who = user.who();
    let ride = id.to_string();
    let view = app
        .store
        .run(move |conn| load_view(conn, &who, &ride))
        .await?;
    let record = &view.record;
    let status = text(record, "status").unwrap_or_default();
    let appointment = text(record, "appointment_at");
    let asked = appointment
        .or(text(record, "pickup_at"))
        .unwrap_or_default();
    let day = local_date(asked, &tz).unwrap_or_else(|| today_in(&tz));
    Ok(page(
        Some(user),
        &format!("Fahrt von {}", view.first_name),
        html! {
            @if let Some(done) = done { (done) }
            p { a href={ "/console/rides?region=" (percent_encode(&region)) "&day=" (day) } { "Zurück zum Tag" } }
            table class="facts" {
                caption { "Angaben zur Fahrt" }
                tbody {
                    tr { th scope="row" { "Buchungscode" } td { span class="code" { (text(record, "booking_code").unwrap_or_default()) } } }
                    tr { th scope="row" { "Fahrgast" } td { (view.first_name) } }
                    tr { th scope="row" { "Von" } td { (view.from) } }
                    tr { th scope="row" { "Nach" } td { (view.to) } }
                    @if let Some(at) = appointment { tr { th scope="row" { "Termin (Ankunft bis)" } td { (local_time(at, &tz)) } } }
                    @if let Some(at) = text(record, "pickup_at") { tr { th scope="row" { "Gewünschte Abholung" } td { (local_time(at, &tz)) } } }
                    tr { th scope="row" { "Zugesagtes Abholfenster" } td {
                        @match (text(record, "pickup_window_start"), text(record, "pickup_window_end")) {
                            (Some(s), Some(e)) => { (local_time(s, &tz)) " bis " (clock(e, &tz)) }
                            _ => { "keines" }
                        }
                    } }
                    tr { th scope="row" { "Status" } td { (status_text(status))
                        @if let Some(o) = text(record, "outcome") { ", " (outcome_text(o)) } } }
                    @if let Some(reason) = text(record, "status_reason") { tr { th scope="row" { "Grund" } td { (reason) } } }
                    tr { th scope="row" { "Gebucht über" } td { (channel_text(text(record, "channel").unwrap_or_default())) } }
                }
            }
            @if status == "requested" && text(record, "pickup_window_start").is_none() {
                (refusal(user, id, record.get("planning"), text(record, "status_reason"), &tz))
            }
            @if OPEN.contains(&status) {
                (forms(user, id, record, &tz))
            }
        },
    ))
}

/// Move, cancel and no-show forms of an open ride.
fn forms(user: &WebUser, id: &str, record: &Value, tz: &str) -> Markup {
    let appointment = text(record, "appointment_at").is_some();
    let current = text(record, "appointment_at")
        .or(text(record, "pickup_at"))
        .unwrap_or_default();
    let date = local_date(current, tz)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let window_started = pickup_start(record).is_some_and(|at| at <= Utc::now());
    html! {
        h2 { "Verlegen" }
        form method="post" action={ "/console/rides/" (id) "/move" } data-confirm="Die Fahrt auf die neue Zeit verlegen?" {
            (csrf_field(user))
            (layout::input("date", "Neuer Tag", "date", &date, true, None))
            (layout::input("time", if appointment { "Neuer Termin (Ankunft spätestens)" } else { "Neue Abholzeit" },
                "time", &clock(current, tz), true,
                Some("Gibt es zur neuen Zeit keinen Platz, bleibt die Fahrt wie sie ist.")))
            button type="submit" { "Fahrt verlegen" }
        }
        h2 { "Absagen" }
        form method="post" action={ "/console/rides/" (id) "/cancel" } data-confirm="Die Fahrt wirklich absagen?" {
            (csrf_field(user))
            (layout::input("reason", "Grund der Absage", "text", "", true, None))
            button type="submit" class="danger" { "Fahrt absagen" }
        }
        @if text(record, "status") != Some("requested") {
            h2 { "Nicht erschienen" }
            @if window_started {
                form method="post" action={ "/console/rides/" (id) "/no-show" }
                    data-confirm="Vermerken, dass die Person nicht erschienen ist? Ihre Rückfahrt wird abgesagt." {
                    (csrf_field(user))
                    button type="submit" class="danger" { "Als nicht erschienen vermerken" }
                }
            } @else {
                p { "Ein Nichterscheinen kann ab Beginn des Abholfensters vermerkt werden." }
            }
        }
    }
}

/// When the pickup was due to begin: the promised window, else the plan, else the asked time.
fn pickup_start(record: &Value) -> Option<DateTime<Utc>> {
    [
        "pickup_window_start",
        "planned_pickup_at",
        "pickup_at",
        "appointment_at",
    ]
    .iter()
    .find_map(|f| text(record, f))
    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    .map(|t| t.with_timezone(&Utc))
}

/// The move form.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    date: String,
    time: String,
}

/// What moving came to.
enum Moved {
    Planned(Value),
    /// Not possible at the new time: the planner's answer there; nothing was changed.
    Refused(Value),
}

/// `POST /console/rides/{id}/move`.
pub async fn move_ride(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<MoveForm>,
) -> Result<Response, WebError> {
    user.require(ROLES)?;
    check_length("Tag", &form.date)?;
    check_length("Uhrzeit", &form.time)?;
    let (_region, tz) = ride_region(&app, &user, &id).await?;
    let at = future_instant(&tz, parse_date(&form.date)?, parse_time(&form.time)?)?;
    let who = user.who();
    let ride = id.clone();
    let outcome = app
        .store
        .run(move |conn| move_in(conn, &who, &ride, at.0))
        .await
        .map_err(refused)?;
    match outcome {
        Moved::Planned(record) => {
            let done = html! { h2 { "Verlegt" } (answer(&user, &record, &tz)) };
            Ok(ride_page(&app, &user, &id, Some(done))
                .await?
                .into_response())
        }
        Moved::Refused(record) => {
            let body = html! {
                p class="notice error" role="alert" {
                    "Die Fahrt wurde nicht verlegt: zur neuen Zeit gibt es keinen Platz. Sie bleibt wie bisher."
                }
                (refusal(&user, &id, record.get("planning"), text(&record, "status_reason"), &tz))
                p { a href={ "/console/rides/" (id) } { "Zurück zur Fahrt" } }
            };
            Ok((
                StatusCode::CONFLICT,
                page(Some(&user), "Verlegen nicht möglich", body),
            )
                .into_response())
        }
    }
}

/// Moves the ride's time (an appointment ride's pickup wish moves along) through the domain
/// update, which plans it again. Without a window at the new time the transaction is rolled
/// back, so a promised window is never lost to a failed move.
fn move_in(conn: &mut Connection, who: &Who, id: &str, at: DateTime<Utc>) -> StoreResult<Moved> {
    let tx = conn.transaction()?;
    let current = records::read_row::<RideRequest>(&tx, id)?;
    let status = text(&current, "status").unwrap_or_default();
    if !OPEN.contains(&status) {
        return Err(StoreError::invalid(
            "status",
            format!("a ride that is {status} cannot be moved"),
        ));
    }
    let stamp =
        |t: DateTime<Utc>| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let parse = |f: &str| {
        text(&current, f)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let mut patch = Map::new();
    match (parse("appointment_at"), parse("pickup_at")) {
        (Some(appointment), pickup) => {
            patch.insert("appointment_at".into(), stamp(at));
            if let Some(pickup) = pickup {
                patch.insert("pickup_at".into(), stamp(pickup + (at - appointment)));
            }
        }
        (None, _) => {
            patch.insert("pickup_at".into(), stamp(at));
        }
    }
    let record = records::update_in::<RideRequest>(&tx, who, id, patch)?;
    if text(&record, "pickup_window_start").is_some() {
        tx.commit()?;
        Ok(Moved::Planned(record))
    } else {
        // Dropping the transaction rolls the change back.
        Ok(Moved::Refused(record))
    }
}

/// The cancel form.
#[derive(Debug, Deserialize)]
pub struct CancelForm {
    reason: String,
}

/// `POST /console/rides/{id}/cancel`: through the store's cancel, as the API cancels.
pub async fn cancel(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<CancelForm>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    check_length("Grund", &form.reason)?;
    let reason = form.reason.trim().to_string();
    if reason.is_empty() {
        return Err(WebError::BadRequest(
            "Bitte den Grund der Absage angeben.".into(),
        ));
    }
    ride_region(&app, &user, &id).await?;
    let who = user.who();
    let ride = id.clone();
    let record = app
        .store
        .run(move |conn| {
            let status: String = conn.query_row(
                "SELECT status FROM ride_requests WHERE id = ?1",
                [&ride],
                |r| r.get(0),
            )?;
            if !OPEN.contains(&status.as_str()) && status != "cancelled" {
                return Err(StoreError::invalid(
                    "status",
                    format!("a ride that is {status} cannot be cancelled"),
                ));
            }
            records::cancel::<RideRequest>(conn, &who, &ride, Some(&reason))
        })
        .await
        .map_err(refused)?;
    let late = text(&record, "outcome") == Some("late_cancellation");
    let done = html! {
        p class="notice ok" role="status" {
            "Die Fahrt ist abgesagt."
            @if late { " Die Absage kam zu spät und zählt als späte Absage." }
        }
    };
    ride_page(&app, &user, &id, Some(done)).await
}

/// `POST /console/rides/{id}/no-show`: the ride's status through the domain update, whose
/// outcome code frees the stops and calls off the way back.
pub async fn no_show(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<std::collections::HashMap<String, String>>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    ride_region(&app, &user, &id).await?;
    let who = user.who();
    let ride = id.clone();
    app.store
        .run(move |conn| {
            let tx = conn.transaction()?;
            let current = records::read_row::<RideRequest>(&tx, &ride)?;
            if !matches!(text(&current, "status"), Some("planned" | "confirmed")) {
                return Err(StoreError::invalid(
                    "status",
                    "only a planned or confirmed ride can be missed",
                ));
            }
            if pickup_start(&current).is_none_or(|at| at > Utc::now()) {
                return Err(StoreError::invalid(
                    "status",
                    "the pickup window has not begun yet",
                ));
            }
            let mut patch = Map::new();
            patch.insert("status".into(), json!("no_show"));
            records::update_in::<RideRequest>(&tx, &who, &ride, patch)?;
            tx.commit()?;
            Ok(())
        })
        .await
        .map_err(refused)?;
    let done = html! { p class="notice ok" role="status" { "Vermerkt: nicht erschienen." } };
    ride_page(&app, &user, &id, Some(done)).await
}

/// The re-optimisation form.
#[derive(Debug, Deserialize)]
pub struct ReplanForm {
    region: String,
    day: String,
}

/// Figures of a stored day plan.
#[derive(Clone, Copy, Debug)]
struct Figures {
    driving_minutes: f64,
    km: f64,
    served: usize,
    unserved: usize,
    vehicles: usize,
}

fn figures(conn: &Connection, region: &str, date: NaiveDate) -> StoreResult<Figures> {
    let day = Day::load(conn, region, date)?;
    Ok(Figures {
        driving_minutes: day.plan.driving_time(&day.instance),
        km: day.plan.distance(&day.instance),
        served: day.plan.served(),
        unserved: day.rides.len() - day.plan.served(),
        vehicles: day.instance.vehicles().len(),
    })
}

/// How long the console's re-optimisation searches.
const REPLAN_SECONDS: f64 = 3.0;

/// `POST /console/rides/replan`: re-optimises the day (promises kept) and shows before and after.
pub async fn replan(
    State(app): State<AppState>,
    CsrfForm(user, form): CsrfForm<ReplanForm>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    check_length("Region", &form.region)?;
    check_length("Tag", &form.day)?;
    let (region, name, tz) = chosen_region(&app, &user, Some(&form.region)).await?;
    let date = parse_date(&form.day)?;
    if date < today_in(&tz) {
        return Err(WebError::BadRequest(
            "Vergangene Tage werden nicht neu geplant.".into(),
        ));
    }
    let r = region.clone();
    let before = app.store.run(move |conn| figures(conn, &r, date)).await?;
    if before.vehicles == 0 {
        return Err(WebError::BadRequest(
            "An diesem Tag ist keine Schicht geplant: es gibt nichts neu zu planen.".into(),
        ));
    }
    let who = user.who();
    let store = app.store.clone();
    let r = region.clone();
    let (result, after) = tokio::task::spawn_blocking(move || {
        let result = crate::rides::replan(
            &store,
            &who,
            &r,
            date,
            Utc::now(),
            Effort::Seconds(REPLAN_SECONDS),
            1,
        )?;
        let after = store.blocking(|conn| figures(conn, &r, date))?;
        Ok::<_, StoreError>((result, after))
    })
    .await
    .map_err(|e| WebError::Internal(format!("planning task failed: {e}")))??;
    let row = |label: &str, b: String, a: String| html! { tr { th scope="row" { (label) } td { (b) } td { (a) } } };
    Ok(page(
        Some(&user),
        &format!("Tag neu optimiert: {name}, {}", date.format("%d.%m.%Y")),
        html! {
            p class="notice ok" role="status" {
                "Der Tag ist neu geplant. "
                @if result.promises_kept == 0 {
                    "Es gab keine zugesagten Abholfenster."
                } @else {
                    "Alle " (result.promises_kept) " zugesagten Abholfenster sind eingehalten."
                }
            }
            table {
                caption { "Kennzahlen vorher und nachher" }
                thead { tr { th scope="col" { "Kennzahl" } th scope="col" { "Vorher" } th scope="col" { "Nachher" } } }
                tbody {
                    (row("Fahrzeit (Minuten)", format!("{:.0}", before.driving_minutes), format!("{:.0}", after.driving_minutes)))
                    (row("Strecke (km)", format!("{:.1}", before.km), format!("{:.1}", after.km)))
                    (row("Bediente Fahrten", before.served.to_string(), after.served.to_string()))
                    (row("Nicht bediente Fahrten", before.unserved.to_string(), after.unserved.to_string()))
                }
            }
            p { a href={ "/console/rides?region=" (percent_encode(&region)) "&day=" (date) } { "Zurück zum Tag" } }
        },
    ))
}
