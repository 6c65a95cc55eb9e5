//! The day view: per shift a timeline of its stops (SVG, with the same stops as a table for
//! screen readers and detail), the rides of the day that are not served or were turned down,
//! and the open call-back queue, where a dispatcher marks a call-back done with how it ended.
//! Reading it is audited: it shows first names and addresses.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use serde_json::Value;

use super::{
    ROLES, alternative_text, check_length, clock, first_name, outcome_text, parse_date,
    status_text, today_in,
};
use crate::api::AppState;
use crate::domain::Role;
use crate::domain::callbacks::Resolution;
use crate::domain::common::local_to_instant;
use crate::store::logs::{self, Action, Who};
use crate::store::{StoreError, StoreResult};
use crate::web::error::WebError;
use crate::web::layout::{self, csrf_field, page};
use crate::web::session::{CsrfForm, WebUser};
use crate::web::{chosen_region, local_time, percent_encode, regions};

/// How a call-back can end on the console, with the words the dispatcher chooses from. Turning a
/// ride down closes the ride too, so it is offered for rides only.
const RESOLUTIONS: [(Resolution, &str, &str); 4] = [
    (
        Resolution::Rebooked,
        "rebooked",
        "Angerufen, Fahrt oder Termin gebucht",
    ),
    (Resolution::Served, "served", "Angerufen, erledigt"),
    (
        Resolution::TurnedDown,
        "turned_down",
        "Angerufen, Fahrt nicht mehr gewünscht",
    ),
    (Resolution::Unreachable, "unreachable", "Nicht erreicht"),
];

/// `?region=&day=` of the day view, and `done` after a call-back was closed.
#[derive(Debug, Default, Deserialize)]
pub struct DayQuery {
    region: Option<String>,
    day: Option<String>,
    done: Option<String>,
}

/// One shift with its stops in order.
struct Shift {
    vehicle: String,
    driver: Option<String>,
    starts_at: String,
    ends_at: String,
    stops: Vec<Stop>,
}

/// One planned stop.
struct Stop {
    ride_id: String,
    pickup: bool,
    planned_at: String,
    window: Option<(String, String)>,
    place: String,
    first_name: String,
    wheelchair: bool,
    walker: bool,
    companion: bool,
    passengers: i64,
    stop_status: String,
    ride_status: String,
}

/// A ride of the day that is not on a route.
struct Loose {
    id: String,
    first_name: String,
    at: String,
    appointment: bool,
    status: String,
    outcome: Option<String>,
    reason: Option<String>,
    planning: Option<Value>,
}

/// An open call-back.
struct CallBack {
    id: String,
    kind: String,
    reason: String,
    created_at: String,
    name: Option<String>,
    phone: Option<String>,
    ride: Option<(String, Option<String>)>,
}

struct DayData {
    shifts: Vec<Shift>,
    loose: Vec<Loose>,
    call_backs: Vec<CallBack>,
}

/// `GET /console/rides`: the day of a region.
pub async fn show(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<DayQuery>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    let (region, name, tz) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let date = match q.day.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(day) => parse_date(day)?,
        None => today_in(&tz),
    };
    let all = if user.role == Role::Admin {
        regions(&app).await?
    } else {
        Vec::new()
    };
    let who = user.who();
    let (r, zone) = (region.clone(), tz.clone());
    let data = app
        .store
        .run(move |conn| load(conn, &who, &r, date, &zone))
        .await?;
    let title = format!("Fahrten {name}, {}", date.format("%d.%m.%Y"));
    Ok(page(
        Some(&user),
        &title,
        html! {
            @if q.done.as_deref() == Some("rueckruf") {
                p class="notice ok" role="status" { "Der Rückruf ist als erledigt vermerkt." }
            }
            (navigation(&all, &region, date))
            h2 { "Fahrzeuge und Halte" }
            @if data.shifts.is_empty() {
                p { "An diesem Tag ist keine Schicht geplant." }
            }
            @for (k, shift) in data.shifts.iter().enumerate() {
                (shift_view(k, shift, &tz))
            }
            (loose_view(&data.loose, &tz))
            (call_back_view(&user, &data.call_backs, &tz, date))
            @if date >= today_in(&tz) && !data.shifts.is_empty() {
                (replan_form(&user, &region, date))
            }
        },
    ))
}

/// Day links, the date form, the region choice and the way to book.
fn navigation(all: &[(String, String)], region: &str, date: NaiveDate) -> Markup {
    let link = |d: Option<NaiveDate>| {
        d.map(|d| format!("/console/rides?region={}&day={d}", percent_encode(region)))
    };
    html! {
        nav class="day-nav" aria-label="Tage" {
            @if let Some(prev) = link(date.pred_opt()) { a href=(prev) { span aria-hidden="true" { "← " } "Vortag" } }
            " "
            @if let Some(next) = link(date.succ_opt()) { a href=(next) { "Folgetag" span aria-hidden="true" { " →" } } }
        }
        form method="get" action="/console/rides" class="day-choice" {
            @if all.is_empty() {
                input type="hidden" name="region" value=(region);
            } @else {
                (layout::select("region", "Region", all, region, false))
            }
            (layout::input("day", "Tag", "date", &date.to_string(), true, None))
            button type="submit" class="secondary" { "Tag anzeigen" }
        }
        p {
            a class="button" href={ "/console/rides/book?region=" (percent_encode(region)) } {
                "Fahrt telefonisch buchen"
            }
        }
    }
}

/// Loads the day (audited: rides, stops and call-backs of the region were read).
fn load(
    conn: &mut Connection,
    who: &Who,
    region: &str,
    date: NaiveDate,
    tz: &str,
) -> StoreResult<DayData> {
    let (from, to) = bounds(date, tz)?;
    let tx = conn.transaction()?;
    let shifts = load_shifts(&tx, region, &from, &to)?;
    let loose = load_loose(&tx, region, &from, &to)?;
    let call_backs = load_call_backs(&tx, region)?;
    logs::audit(&tx, who, Action::List, "route_stops", None, Some(region))?;
    logs::audit(&tx, who, Action::List, "ride_requests", None, Some(region))?;
    logs::audit(&tx, who, Action::Read, "call_backs", None, Some(region))?;
    tx.commit()?;
    Ok(DayData {
        shifts,
        loose,
        call_backs,
    })
}

/// Local midnight of the date and of the next, as stored instants.
fn bounds(date: NaiveDate, tz: &str) -> StoreResult<(String, String)> {
    let zone: chrono_tz::Tz = tz
        .parse()
        .map_err(|_| StoreError::Internal(format!("bad time zone {tz}")))?;
    let next = date
        .succ_opt()
        .ok_or_else(|| StoreError::invalid("day", "out of range"))?;
    let at = |d: NaiveDate| {
        local_to_instant(zone, d, chrono::NaiveTime::MIN)
            .map(|i| i.text())
            .map_err(|e| StoreError::invalid("day", e))
    };
    Ok((at(date)?, at(next)?))
}

fn load_shifts(conn: &Connection, region: &str, from: &str, to: &str) -> StoreResult<Vec<Shift>> {
    let mut stmt = conn.prepare(
        "SELECT s.id, v.name, s.driver_name, s.starts_at, s.ends_at
         FROM shifts s JOIN vehicles v ON v.id = s.vehicle_id
         WHERE s.region_id = ?1 AND s.status = 'planned' AND s.starts_at >= ?2 AND s.starts_at < ?3
         ORDER BY s.starts_at, v.name",
    )?;
    let rows = stmt
        .query_map(params![region, from, to], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Shift {
                    vehicle: r.get(1)?,
                    driver: r.get(2)?,
                    starts_at: r.get(3)?,
                    ends_at: r.get(4)?,
                    stops: Vec::new(),
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut shifts = Vec::new();
    for (id, mut shift) in rows {
        shift.stops = load_stops(conn, &id)?;
        shifts.push(shift);
    }
    Ok(shifts)
}

/// Where a ride starts (`from`) or ends (`to`), in words.
pub(super) fn place_sql(end: &str) -> String {
    let (home, stop, dest) = if end == "from" {
        ("r.from_home", "fs", "fd")
    } else {
        ("r.to_home", "ts", "td")
    };
    format!(
        "CASE WHEN {home} = 1 THEN 'Zuhause, ' || res.street
              WHEN {stop}.id IS NOT NULL THEN 'Haltestelle ' || {stop}.name ELSE {dest}.name END"
    )
}

pub(super) const PLACE_JOINS: &str = "JOIN residents res ON res.id = r.resident_id
     LEFT JOIN stops fs ON fs.id = r.from_stop_id
     LEFT JOIN destinations fd ON fd.id = r.from_destination_id
     LEFT JOIN stops ts ON ts.id = r.to_stop_id
     LEFT JOIN destinations td ON td.id = r.to_destination_id";

fn load_stops(conn: &Connection, shift: &str) -> StoreResult<Vec<Stop>> {
    let sql = format!(
        "SELECT rs.ride_request_id, rs.kind, rs.planned_at, rs.status, r.status,
                r.pickup_window_start, r.pickup_window_end, r.passengers, r.wheelchair, r.walker,
                res.name, res.needs_companion,
                CASE WHEN rs.kind = 'pickup' THEN {} ELSE {} END
         FROM route_stops rs JOIN ride_requests r ON r.id = rs.ride_request_id {PLACE_JOINS}
         WHERE rs.shift_id = ?1 AND rs.status <> 'cancelled'
         ORDER BY rs.position",
        place_sql("from"),
        place_sql("to")
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map([shift], |r| {
            let start: Option<String> = r.get(5)?;
            let end: Option<String> = r.get(6)?;
            Ok(Stop {
                ride_id: r.get(0)?,
                pickup: r.get::<_, String>(1)? == "pickup",
                planned_at: r.get(2)?,
                stop_status: r.get(3)?,
                ride_status: r.get(4)?,
                window: start.zip(end),
                passengers: r.get(7)?,
                wheelchair: r.get(8)?,
                walker: r.get(9)?,
                first_name: first_name(&r.get::<_, String>(10)?),
                companion: r.get(11)?,
                place: r.get(12)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Rides of the day not on a route: not served as asked, turned down, cancelled, missed.
fn load_loose(conn: &Connection, region: &str, from: &str, to: &str) -> StoreResult<Vec<Loose>> {
    let mut stmt = conn.prepare(
        "SELECT r.id, res.name, COALESCE(r.appointment_at, r.pickup_at), r.appointment_at IS NOT NULL,
                r.status, r.outcome, r.status_reason, r.planning
         FROM ride_requests r JOIN residents res ON res.id = r.resident_id
         WHERE r.region_id = ?1
           AND COALESCE(r.appointment_at, r.pickup_at) >= ?2
           AND COALESCE(r.appointment_at, r.pickup_at) < ?3
           AND ((r.status IN ('requested', 'planned') AND r.shift_id IS NULL)
                OR r.status IN ('cancelled', 'no_show'))
         ORDER BY COALESCE(r.appointment_at, r.pickup_at), r.id",
    )?;
    let rows = stmt
        .query_map(params![region, from, to], |r| {
            let planning: Option<String> = r.get(7)?;
            Ok(Loose {
                id: r.get(0)?,
                first_name: first_name(&r.get::<_, String>(1)?),
                at: r.get(2)?,
                appointment: r.get(3)?,
                status: r.get(4)?,
                outcome: r.get(5)?,
                reason: r.get(6)?,
                planning: planning.and_then(|p| serde_json::from_str(&p).ok()),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn load_call_backs(conn: &Connection, region: &str) -> StoreResult<Vec<CallBack>> {
    let mut stmt = conn.prepare(
        "SELECT c.kind, c.reason, c.created_at, COALESCE(res.name, c.contact_name),
                COALESCE(res.phone, c.contact_phone), c.ride_request_id,
                COALESCE(r.appointment_at, r.pickup_at), c.id
         FROM call_backs c
         LEFT JOIN residents res ON res.id = c.resident_id
         LEFT JOIN ride_requests r ON r.id = c.ride_request_id
         WHERE c.region_id = ?1 AND c.status = 'open'
         ORDER BY c.created_at, c.id",
    )?;
    let rows = stmt
        .query_map([region], |r| {
            let ride: Option<String> = r.get(5)?;
            let at: Option<String> = r.get(6)?;
            Ok(CallBack {
                id: r.get(7)?,
                kind: r.get(0)?,
                reason: r.get(1)?,
                created_at: r.get(2)?,
                name: r.get(3)?,
                phone: r.get(4)?,
                ride: ride.map(|id| (id, at)),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Needs of a stop's rider in words.
fn needs(stop: &Stop) -> String {
    let mut parts = Vec::new();
    if stop.wheelchair {
        parts.push("Rollstuhl".to_string());
    }
    if stop.walker {
        parts.push("Rollator".to_string());
    }
    if stop.companion {
        parts.push("Begleitung nötig".to_string());
    }
    if stop.passengers > 1 {
        parts.push(format!("{} Personen", stop.passengers));
    }
    if parts.is_empty() {
        "–".to_string()
    } else {
        parts.join(", ")
    }
}

/// Minutes from `origin` to an instant.
fn minutes_from(origin: DateTime<Utc>, at: &str) -> f64 {
    DateTime::parse_from_rfc3339(at)
        .map(|t| (t.with_timezone(&Utc) - origin).num_seconds() as f64 / 60.0)
        .unwrap_or(0.0)
}

/// Width of the timeline drawing, in SVG units.
const WIDTH: f64 = 800.0;
const MARGIN: f64 = 20.0;

/// One shift: the timeline (SVG) and the same stops as a table.
fn shift_view(k: usize, shift: &Shift, tz: &str) -> Markup {
    let caption = format!(
        "{}{}: Schicht {} bis {} Uhr, {} Halte",
        shift.vehicle,
        shift
            .driver
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default(),
        clock(&shift.starts_at, tz),
        clock(&shift.ends_at, tz),
        shift.stops.len()
    );
    html! {
        section class="shift" aria-labelledby={ "shift-" (k) } {
            h3 id={ "shift-" (k) } { (caption) }
            (timeline(shift, tz, &caption))
            div class="table-wrap" tabindex="0" role="region" aria-label={ "Halte in Reihenfolge: " (shift.vehicle) } {
                table {
                    caption { "Halte in Reihenfolge: " (shift.vehicle) }
                    thead { tr {
                        th scope="col" { "Nr." } th scope="col" { "Geplant" }
                        th scope="col" { "Abholfenster" } th scope="col" { "Halt" }
                        th scope="col" { "Ort" } th scope="col" { "Fahrgast" }
                        th scope="col" { "Bedarf" } th scope="col" { "Status" }
                    } }
                    tbody {
                        @for (i, stop) in shift.stops.iter().enumerate() {
                            tr {
                                td { (i + 1) }
                                td { (clock(&stop.planned_at, tz)) }
                                td { @match (&stop.window, stop.pickup) { (Some((s, e)), true) => { (clock(s, tz)) "–" (clock(e, tz)) } _ => { "–" } } }
                                td { @if stop.pickup { "Abholung" } @else { "Absetzen" } }
                                td { (stop.place) }
                                td { a href={ "/console/rides/" (stop.ride_id) } { (stop.first_name) } }
                                td { (needs(stop)) }
                                td { (status_text(&stop.ride_status))
                                     @if stop.stop_status == "no_show" { " (Halt: nicht erschienen)" }
                                     @if stop.stop_status == "done" { " (Halt erledigt)" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The shift's hours as an axis with its stops: pickups as circles, drop-offs as squares (shape,
/// not colour, tells them apart); each stop carries its own title.
fn timeline(shift: &Shift, tz: &str, label: &str) -> Markup {
    let Some(start) = DateTime::parse_from_rfc3339(&shift.starts_at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
    else {
        return html! {};
    };
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Berlin);
    // The axis runs over whole hours around the shift.
    let local = start.with_timezone(&zone);
    let offset = f64::from(chrono::Timelike::minute(&local));
    let origin = start - chrono::Duration::minutes(offset as i64);
    let span = minutes_from(origin, &shift.ends_at).max(60.0);
    let hours = (span / 60.0).ceil() as i64;
    let total = (hours * 60) as f64;
    let x = |m: f64| {
        let at = MARGIN + (m.clamp(0.0, total) / total) * (WIDTH - 2.0 * MARGIN);
        (at * 10.0).round() / 10.0
    };
    let (shift_from, shift_to) = (x(minutes_from(origin, &shift.starts_at)), x(span));
    html! {
        svg class="timeline" viewBox={ "0 0 " (WIDTH) " 70" } role="img" aria-label=(label) {
            title { (label) }
            rect class="tl-shift" x=(shift_from) y="22" width=(shift_to - shift_from) height="16" {}
            @for h in 0..=hours {
                @let at = x((h * 60) as f64);
                @let tick = (origin + chrono::Duration::hours(h)).with_timezone(&zone);
                line class="tl-tick" x1=(at) x2=(at) y1="18" y2="42" {}
                text class="tl-hour" x=(at) y="60" text-anchor="middle" { (tick.format("%H")) }
            }
            @for stop in &shift.stops {
                @let at = x(minutes_from(origin, &stop.planned_at));
                @let what = format!("{} {} {}, {}", clock(&stop.planned_at, tz),
                    if stop.pickup { "Abholung" } else { "Absetzen" }, stop.first_name, stop.place);
                @if stop.pickup {
                    circle class="tl-pickup" cx=(at) cy="30" r="6" { title { (what) } }
                } @else {
                    rect class="tl-dropoff" x=(at - 5.0) y="25" width="10" height="10" { title { (what) } }
                }
            }
        }
        p class="legend" { "Kreis: Abholung, Quadrat: Absetzen. Stunden unter der Achse." }
    }
}

/// The rides of the day not on a route, in three lists.
fn loose_view(loose: &[Loose], tz: &str) -> Markup {
    let open: Vec<&Loose> = loose
        .iter()
        .filter(|r| matches!(r.status.as_str(), "requested" | "planned"))
        .collect();
    let turned_down: Vec<&Loose> = loose
        .iter()
        .filter(|r| r.outcome.as_deref() == Some("turned_down"))
        .collect();
    let ended: Vec<&Loose> = loose
        .iter()
        .filter(|r| {
            !matches!(r.status.as_str(), "requested" | "planned")
                && r.outcome.as_deref() != Some("turned_down")
        })
        .collect();
    html! {
        h2 { "Nicht eingeplant oder nicht bedient" }
        (loose_table("Fahrtwünsche ohne Platz auf einer Route", &open, tz, true))
        h2 { "Abgelehnt" }
        (loose_table("Nach dem Rückruf abgelehnte Fahrtwünsche", &turned_down, tz, false))
        h2 { "Abgesagt oder nicht erschienen" }
        (loose_table("Abgesagte Fahrten und Nichterscheinen", &ended, tz, false))
    }
}

fn loose_table(caption: &str, rides: &[&Loose], tz: &str, offers: bool) -> Markup {
    html! {
        @if rides.is_empty() {
            p { "Keine." }
        } @else {
            div class="table-wrap" tabindex="0" role="region" aria-label=(caption) {
                table {
                    caption { (caption) }
                    thead { tr {
                        th scope="col" { "Zeit" } th scope="col" { "Fahrgast" }
                        th scope="col" { "Status" } th scope="col" { "Grund" }
                        @if offers { th scope="col" { "Angebotene andere Zeiten" } }
                    } }
                    tbody {
                        @for ride in rides {
                            tr {
                                td { (clock(&ride.at, tz)) @if ride.appointment { " (Termin)" } @else { " (Abholung)" } }
                                td { a href={ "/console/rides/" (ride.id) } { (ride.first_name) } }
                                td { (status_text(&ride.status))
                                     @if let Some(o) = &ride.outcome { ", " (outcome_text(o)) } }
                                td { (reason_of(ride)) }
                                @if offers { td { (offers_of(ride, tz)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Why a ride is not served: the planner's sentence, or the stored reason.
fn reason_of(ride: &Loose) -> String {
    let planned = ride
        .planning
        .as_ref()
        .and_then(|p| p.get("message_de"))
        .and_then(Value::as_str);
    match (planned, &ride.reason) {
        (Some(text), _) => text.to_string(),
        (None, Some(reason)) => {
            let (de, _) = crate::rides::reason_text(reason);
            if ride.status == "requested" {
                de.to_string()
            } else {
                reason.clone()
            }
        }
        (None, None) => "–".to_string(),
    }
}

/// The alternatives the planner offered, in words.
fn offers_of(ride: &Loose, tz: &str) -> Markup {
    let alternatives = ride
        .planning
        .as_ref()
        .and_then(|p| p.get("alternatives"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    html! {
        @if alternatives.is_empty() { "keine" }
        @for alt in &alternatives {
            span class="offer" { (alternative_text(alt, tz)) } " "
        }
    }
}

fn call_back_view(user: &WebUser, call_backs: &[CallBack], tz: &str, date: NaiveDate) -> Markup {
    html! {
        h2 { "Rückrufliste" }
        @if call_backs.is_empty() {
            p { "Keine offenen Rückrufbitten." }
        } @else {
            div class="table-wrap" tabindex="0" role="region" aria-label="Offene Rückrufbitten" {
                table {
                    caption { "Offene Rückrufbitten, älteste zuerst" }
                    thead { tr {
                        th scope="col" { "Seit" } th scope="col" { "Wen anrufen" }
                        th scope="col" { "Telefon" } th scope="col" { "Anlass" }
                        th scope="col" { "Fahrt" } th scope="col" { "Erledigt" }
                    } }
                    tbody {
                        @for c in call_backs {
                            tr {
                                td { (local_time(&c.created_at, tz)) }
                                td { (c.name.as_deref().unwrap_or("–")) }
                                td { (c.phone.as_deref().unwrap_or("–")) }
                                td { @if c.kind == "counselling" { "Beratung: " } (crate::rides::reason_text(&c.reason).0) }
                                td { @if let Some((id, at)) = &c.ride {
                                    a href={ "/console/rides/" (id) } {
                                        "Fahrt " @if let Some(at) = at { (local_time(at, tz)) }
                                    }
                                } @else { "–" } }
                                td { (resolve_form(user, c, date)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The form that marks one call-back done with how it ended.
fn resolve_form(user: &WebUser, call_back: &CallBack, date: NaiveDate) -> Markup {
    let select_id = format!("cb-{}", call_back.id);
    html! {
        form method="post" action={ "/console/rides/call-backs/" (call_back.id) "/done" } class="inline" {
            (csrf_field(user))
            input type="hidden" name="day" value=(date.to_string());
            label for=(select_id) { "Ergebnis" }
            select id=(select_id) name="resolution" required {
                option value="" { "– bitte wählen –" }
                @for (resolution, code, text) in RESOLUTIONS {
                    @if resolution != Resolution::TurnedDown || call_back.kind == "ride" {
                        option value=(code) { (text) }
                    }
                }
            }
            button type="submit" { "Als erledigt vermerken" }
        }
    }
}

/// The form that closes a call-back: how it ended, and the day to go back to (the region is the
/// call-back's).
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    day: Option<String>,
}

/// `POST /console/rides/call-backs/{id}/done`: closes an open call-back of the person's region
/// with one of the fixed resolutions (audited as an update of the call-back). Unknown: 404;
/// another region's: 403; done already: 409; nothing changes in any of these.
pub async fn resolve_call_back(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<ResolveForm>,
) -> Result<Response, WebError> {
    user.require(ROLES)?;
    check_length("Rückruf", &id)?;
    let Some((resolution, _, _)) = RESOLUTIONS
        .into_iter()
        .find(|(_, code, _)| *code == form.resolution.trim())
    else {
        return Err(WebError::BadRequest(
            "Bitte wählen Sie aus, wie der Rückruf ausging.".into(),
        ));
    };
    let day = match form.day.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(day) => Some(parse_date(day)?),
        None => None,
    };
    let owned = id.clone();
    let region = app
        .store
        .run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT region_id FROM call_backs WHERE id = ?1",
                    [&owned],
                    |r| r.get::<_, String>(0),
                )
                .optional()?)
        })
        .await?
        .ok_or(WebError::NotFound)?;
    if !user.may_see_region(&region) {
        return Err(WebError::Forbidden);
    }
    let who = user.who();
    let closed = app
        .store
        .run(move |conn| crate::rides::call_backs::resolve(conn, &who, &id, resolution))
        .await
        .map_err(|e| match e {
            StoreError::Invalid { reason, .. } if reason.contains("turned down") => {
                WebError::BadRequest(
                    "Nur eine Fahrt kann als nicht mehr gewünscht vermerkt werden.".into(),
                )
            }
            other => other.into(),
        })?;
    if closed.is_none() {
        return Err(WebError::Conflict(
            "Dieser Rückruf ist schon erledigt. Es wurde nichts geändert.".into(),
        ));
    }
    let mut target = format!("/console/rides?region={}", percent_encode(&region));
    if let Some(day) = day {
        target.push_str(&format!("&day={day}"));
    }
    target.push_str("&done=rueckruf");
    Ok(Redirect::to(&target).into_response())
}

/// The button that re-optimises the day.
fn replan_form(user: &WebUser, region: &str, date: NaiveDate) -> Markup {
    html! {
        h2 { "Tag neu optimieren" }
        p { "Plant alle Fahrten des Tages neu. Zugesagte Abholfenster bleiben gültig." }
        form method="post" action="/console/rides/replan"
            data-confirm="Den ganzen Tag neu optimieren? Zugesagte Zeiten bleiben." {
            (csrf_field(user))
            input type="hidden" name="region" value=(region);
            input type="hidden" name="day" value=(date.to_string());
            button type="submit" { "Tag neu optimieren" }
        }
    }
}
