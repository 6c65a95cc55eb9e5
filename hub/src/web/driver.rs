//! The driver's phone page (`/driver`): today's shifts of the driver account with their stops in
//! driving order (time or pickup window, place, the rider's first name, needs, a call button),
//! and the stop events a driver marks there: picked up, dropped off, no-show.
//!
//! Each event form carries an id drawn into it when the page is rendered. The hub records an
//! event once (`driver_events`, migration 0016) and applies it through the ride's own update, so
//! status rules, the no-show rule and the audit log are the same as through the API. A repeat
//! with the same id and content gets the first answer; other content under the id is refused.
//! `hub/web/driver.js` queues events on the phone when the connection is bad; it sends the tap
//! time, which the hub takes when it is plausible (not ahead of now, not before the shift).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::WebError;
use super::layout::{csrf_field, notice, page};
use super::session::{CsrfForm, WebUser};
use crate::api::AppState;
use crate::dispatch::runsheet::{self, PlaceKind, SheetPlace, SheetStopKind, StopRow};
use crate::domain::Role;
use crate::domain::common::Instant;
use crate::domain::rides::{RideRequest, RouteStop};
use crate::store::logs::{self, Action, Who};
use crate::store::records;
use crate::store::{StoreError, StoreResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/driver", get(today_page))
        .route("/driver/shifts/{id}", get(shift_page))
        .route("/driver/stops/{id}/events", post(record_event))
        .route("/static/driver.js", get(driver_js))
}

async fn driver_js() -> Response {
    super::static_file(
        "text/javascript; charset=utf-8",
        include_str!("../../web/driver.js"),
    )
}

/// How far the phone's clock may run ahead of the hub's before a tap time counts as "in the
/// future" (phones set their clock from the network, but not to the second).
const CLOCK_SKEW: Duration = Duration::minutes(2);

/// Events are taken from this long before a shift starts (a driver may set off early).
const EARLY_START: Duration = Duration::hours(1);

/// What a driver marks at a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventKind {
    PickedUp,
    DroppedOff,
    NoShow,
}

impl EventKind {
    fn parse(text: &str) -> Option<EventKind> {
        match text {
            "picked_up" => Some(EventKind::PickedUp),
            "dropped_off" => Some(EventKind::DroppedOff),
            "no_show" => Some(EventKind::NoShow),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            EventKind::PickedUp => "picked_up",
            EventKind::DroppedOff => "dropped_off",
            EventKind::NoShow => "no_show",
        }
    }

    /// The button's text.
    fn button(self) -> &'static str {
        match self {
            EventKind::PickedUp => "Abgeholt",
            EventKind::DroppedOff => "Abgesetzt",
            EventKind::NoShow => "Nicht angetroffen",
        }
    }

    /// The ride's status after the event.
    fn ride_status(self) -> &'static str {
        match self {
            EventKind::PickedUp => "picked_up",
            EventKind::DroppedOff => "done",
            EventKind::NoShow => "no_show",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the sheet
// ---------------------------------------------------------------------------------------------

/// A shift as the driver's page shows it.
struct DriverShift {
    id: String,
    region_phone: Option<String>,
    tz: Tz,
    vehicle: String,
    starts_at: Instant,
    ends_at: Instant,
    cancelled: bool,
    stops: Vec<DriverStop>,
}

/// One stop of a shift, with only what the driver needs.
struct DriverStop {
    id: String,
    pickup: bool,
    planned_at: Instant,
    /// The promised pickup window (pickups only).
    window: Option<(Instant, Instant)>,
    /// `planned`, `done` or `no_show`.
    status: String,
    first_name: String,
    place: String,
    needs: Vec<String>,
    call: Option<Call>,
}

/// Whom the call button rings.
struct Call {
    number: String,
    /// Whether it is the caregiver's number rather than the rider's own.
    caregiver: bool,
}

fn instant(text: &str) -> StoreResult<Instant> {
    text.parse()
        .map_err(|e| StoreError::Internal(format!("stored instant: {e}")))
}

fn time_zone(name: &str) -> StoreResult<Tz> {
    name.parse()
        .map_err(|_| StoreError::Internal(format!("bad time zone {name}")))
}

/// The first word of a name: drivers greet people by it, and the page shows no more.
fn first_name(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `HH:MM` in the region's zone.
fn hhmm(at: Instant, tz: Tz) -> String {
    at.local(tz).format("%H:%M").to_string()
}

/// Whether a shift touches the region's local today (a night shift belongs to both days).
fn is_today(starts: Instant, ends: Instant, tz: Tz, now: DateTime<Utc>) -> bool {
    use chrono::TimeZone;
    let date = now.with_timezone(&tz).date_naive();
    let midnight = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| tz.from_local_datetime(&t).earliest())
            .map(|t| t.with_timezone(&Utc))
    };
    match (midnight(date), date.succ_opt().and_then(midnight)) {
        (Some(from), Some(to)) => starts.0 < to && ends.0 > from,
        _ => false,
    }
}

/// Shift rows of the driver account: `(id, region, region phone, zone, vehicle, starts, ends,
/// status)`.
type ShiftRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
);

const SHIFT_SQL: &str = "SELECT s.id, s.region_id, g.phone, g.time_zone, v.name, s.starts_at,
            s.ends_at, s.status
     FROM shifts s JOIN regions g ON g.id = s.region_id JOIN vehicles v ON v.id = s.vehicle_id
     WHERE s.driver_account_id = ?1";

fn shift_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<ShiftRow> {
    ShiftRow::try_from(r)
}

/// The account's shifts of today that are not cancelled, in order of start.
fn todays_shift_rows(
    conn: &Connection,
    account_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Vec<ShiftRow>> {
    // A generous range in UTC first; the region's own "today" is decided per shift.
    let from = Instant(now - Duration::days(2)).text();
    let to = Instant(now + Duration::days(2)).text();
    let sql = format!(
        "{SHIFT_SQL} AND s.status = 'planned' AND s.starts_at < ?3 AND s.ends_at > ?2
         ORDER BY s.starts_at"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params![account_id, from, to], shift_of)?
        .collect::<Result<Vec<_>, _>>()?;
    let mut today = Vec::new();
    for row in rows {
        let tz = time_zone(&row.3)?;
        if is_today(instant(&row.5)?, instant(&row.6)?, tz, now) {
            today.push(row);
        }
    }
    Ok(today)
}

/// Turns a shift row into the page's shift with its stops, and logs the read: the sheet names
/// riders, their addresses and phone numbers.
fn load_shift(conn: &Connection, who: &Who, row: ShiftRow) -> StoreResult<DriverShift> {
    let (id, region_id, region_phone, zone, vehicle, starts, ends, status) = row;
    logs::audit(
        conn,
        who,
        Action::Read,
        "run_sheets",
        Some(&id),
        Some(&region_id),
    )?;
    let tz = time_zone(&zone)?;
    let stops = load_stops(conn, &id)?;
    Ok(DriverShift {
        stops,
        id,
        region_phone,
        tz,
        vehicle,
        starts_at: instant(&starts)?,
        ends_at: instant(&ends)?,
        cancelled: status == "cancelled",
    })
}

/// The shift's stops in driving order, from the run sheet's rows; cancelled stops and rides are
/// left out.
fn load_stops(conn: &Connection, shift_id: &str) -> StoreResult<Vec<DriverStop>> {
    let mut stops = Vec::new();
    for row in runsheet::load_stop_rows(conn, shift_id)? {
        let pickup = row.kind == SheetStopKind::Pickup;
        let (place, needs) = (place_of(&row.place), needs_of(&row));
        let (start, end) = row.pickup_window;
        stops.push(DriverStop {
            id: row.id,
            pickup,
            planned_at: row.planned_at,
            window: window_of(pickup, start, end)?,
            status: row.status,
            first_name: first_name(&row.resident_name),
            place,
            needs,
            call: call_of(row.resident_phone, row.booker_phone, row.linked_phone),
        });
    }
    Ok(stops)
}

fn window_of(
    pickup: bool,
    start: Option<String>,
    end: Option<String>,
) -> StoreResult<Option<(Instant, Instant)>> {
    match (pickup, start, end) {
        (true, Some(start), Some(end)) => Ok(Some((instant(&start)?, instant(&end)?))),
        _ => Ok(None),
    }
}

/// Home: the rider's street and village; a stop: its name and village; a destination: its name
/// and address.
fn place_of(place: &SheetPlace) -> String {
    let name = place.name.as_deref().unwrap_or_default();
    match place.kind {
        PlaceKind::Home => format!("Zuhause: {}", place.address),
        PlaceKind::Stop => format!("Haltestelle {name}, {}", place.address),
        PlaceKind::Destination => format!("{name}, {}", place.address),
    }
}

/// What was booked for this trip and what the rider always needs: the driver has to know both.
fn needs_of(row: &StopRow) -> Vec<String> {
    let mut needs = Vec::new();
    if row.wheelchair {
        needs.push("Rollstuhl".to_string());
    }
    if row.walker {
        needs.push("Rollator".to_string());
    }
    if row.companion {
        needs.push("Begleitperson".to_string());
    }
    if row.passengers > 1 {
        needs.push(format!("{} Personen", row.passengers));
    }
    needs
}

/// The rider's own number, else the caregiver who booked, else a linked caregiver.
fn call_of(own: Option<String>, booker: Option<String>, linked: Option<String>) -> Option<Call> {
    let usable = |n: &Option<String>| n.as_deref().is_some_and(|n| !n.trim().is_empty());
    if usable(&own) {
        return own.map(|number| Call {
            number,
            caregiver: false,
        });
    }
    [booker, linked]
        .into_iter()
        .find(usable)
        .flatten()
        .map(|number| Call {
            number,
            caregiver: true,
        })
}

/// A phone number as a `tel:` link: digits and a leading plus only.
fn tel_href(number: &str) -> String {
    let mut href = String::from("tel:");
    for (i, c) in number.trim().chars().enumerate() {
        if c.is_ascii_digit() || (i == 0 && c == '+') {
            href.push(c);
        }
    }
    href
}

// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

/// `?gemeldet=` after an event was recorded without the script.
#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    gemeldet: Option<String>,
}

fn recorded_notice(q: &DoneQuery) -> Option<Markup> {
    let kind = EventKind::parse(q.gemeldet.as_deref()?)?;
    Some(notice("ok", &format!("Gespeichert: {}.", kind.button())))
}

/// Today's shifts of the driver account.
async fn today_page(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Driver])?;
    let who = user.who();
    let viewer = user.clone();
    let shifts = app
        .store
        .run(move |conn| {
            let rows = todays_shift_rows(conn, &viewer.account_id, Utc::now())?;
            rows.into_iter()
                .filter(|r| viewer.may_see_region(&r.1))
                .map(|r| load_shift(conn, &who, r))
                .collect::<StoreResult<Vec<DriverShift>>>()
        })
        .await?;
    Ok(page(
        Some(&user),
        "Fahrtenzettel heute",
        html! {
            @if let Some(done) = recorded_notice(&q) { (done) }
            (queue_messages())
            @if shifts.is_empty() {
                p { "Heute sind Ihnen keine Schichten zugeteilt." }
            }
            @for shift in &shifts { (shift_view(&user, shift)) }
            script src="/static/driver.js" defer {}
        },
    ))
}

/// One shift of the driver account, on any day (to look ahead); another's shift is not found.
async fn shift_page(
    State(app): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Driver])?;
    let who = user.who();
    let viewer = user.clone();
    let shift = app
        .store
        .run(move |conn| {
            let sql = format!("{SHIFT_SQL} AND s.id = ?2");
            let row = conn
                .query_row(&sql, params![viewer.account_id, id], shift_of)
                .optional()?
                .filter(|r| viewer.may_see_region(&r.1));
            row.map(|r| load_shift(conn, &who, r)).transpose()
        })
        .await?
        .ok_or(WebError::NotFound)?;
    let title = format!(
        "Fahrtenzettel {}",
        crate::dispatch::runsheet::date_german(shift.starts_at.local(shift.tz))
    );
    Ok(page(
        Some(&user),
        &title,
        html! {
            @if let Some(done) = recorded_notice(&q) { (done) }
            (queue_messages())
            p { a href="/driver" { "Zurück zu den Schichten von heute" } }
            (shift_view(&user, &shift))
            script src="/static/driver.js" defer {}
        },
    ))
}

/// The two places the script reports in: how the queue stands, and refusals.
fn queue_messages() -> Markup {
    html! {
        p id="driver-queue-status" class="driver-queue" role="status" aria-live="polite" {}
        p id="driver-queue-error" class="driver-queue error" role="alert" {}
    }
}

fn shift_view(user: &WebUser, shift: &DriverShift) -> Markup {
    let tz = shift.tz;
    html! {
        section class="driver-shift" aria-labelledby={ "schicht-" (shift.id) } {
            h2 id={ "schicht-" (shift.id) } {
                (shift.vehicle) ", " (hhmm(shift.starts_at, tz)) "–" (hhmm(shift.ends_at, tz)) " Uhr"
            }
            @if shift.cancelled {
                (notice("warn", "Diese Schicht wurde abgesagt."))
            }
            @if let Some(phone) = &shift.region_phone {
                p { a class="button secondary call" href=(tel_href(phone)) { "Zentrale anrufen (" (phone) ")" } }
            }
            @if shift.stops.is_empty() {
                p { "Auf dieser Schicht sind keine Halte geplant." }
            } @else {
                ol class="driver-stops" {
                    @for stop in &shift.stops { (stop_view(user, stop, tz, shift.cancelled)) }
                }
            }
        }
    }
}

fn status_text(stop: &DriverStop) -> &'static str {
    match (stop.status.as_str(), stop.pickup) {
        ("done", true) => "abgeholt",
        ("done", false) => "abgesetzt",
        ("no_show", _) => "nicht angetroffen",
        _ => "offen",
    }
}

fn stop_view(user: &WebUser, stop: &DriverStop, tz: Tz, shift_cancelled: bool) -> Markup {
    let kind = if stop.pickup { "Abholen" } else { "Absetzen" };
    let open = stop.status == "planned" && !shift_cancelled;
    let state_class = if open { "stop open" } else { "stop closed" };
    let kinds: &[EventKind] = if stop.pickup {
        &[EventKind::PickedUp, EventKind::NoShow]
    } else {
        &[EventKind::DroppedOff]
    };
    html! {
        li class=(state_class) id={ "halt-" (stop.id) } data-stop=(stop.id) {
            h3 id={ "halt-" (stop.id) "-titel" } {
                span class="stop-time" { (hhmm(stop.planned_at, tz)) }
                " " (kind) ": " (stop.first_name)
            }
            @if let Some((from, to)) = stop.window {
                p { "Abholfenster " (hhmm(from, tz)) "–" (hhmm(to, tz)) " Uhr" }
            }
            p class="stop-place" { (stop.place) }
            @if !stop.needs.is_empty() {
                p class="stop-needs" { strong { "Braucht: " } (stop.needs.join(", ")) }
            }
            p class="stop-status" id={ "halt-" (stop.id) "-status" } { "Status: " strong { (status_text(stop)) } }
            @match &stop.call {
                Some(call) => {
                    p { a class="button secondary call" href=(tel_href(&call.number)) {
                        @if call.caregiver { "Kümmerer:in von " (stop.first_name) " anrufen" }
                        @else { (stop.first_name) " anrufen" }
                        " (" (call.number) ")"
                    } }
                }
                None => { p class="muted" { "Keine Telefonnummer hinterlegt." } }
            }
            @if open {
                div class="stop-actions" {
                    @for event in kinds { (event_form(user, stop, *event)) }
                }
            }
            p class="stop-note" id={ "halt-" (stop.id) "-meldung" } role="status" {}
        }
    }
}

/// One button's form. The event id is new on every rendering: a form sent twice is one event.
fn event_form(user: &WebUser, stop: &DriverStop, kind: EventKind) -> Markup {
    // A no-show also calls off the way back: the script asks first (app.js, `data-confirm`).
    let (class, confirm) = match kind {
        EventKind::NoShow => (
            "secondary",
            Some(format!(
                "Wirklich „nicht angetroffen“ melden? Die Rückfahrt von {} wird dann abgesagt.",
                stop.first_name
            )),
        ),
        _ => ("primary", None),
    };
    html! {
        form class="driver-event" method="post" action={ "/driver/stops/" (stop.id) "/events" }
            data-stop=(stop.id) data-kind=(kind.code()) data-confirm=[confirm] {
            (csrf_field(user))
            input type="hidden" name="event_id" value=(uuid::Uuid::new_v4());
            input type="hidden" name="kind" value=(kind.code());
            input type="hidden" name="at" value="";
            // The stop's heading tells a screen reader whose stop the button marks.
            button type="submit" class=(class) aria-describedby={ "halt-" (stop.id) "-titel" } {
                (kind.button())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Recording an event
// ---------------------------------------------------------------------------------------------

/// The event form. `at` is the tap time the script fills in; empty without it.
#[derive(Debug, Deserialize)]
struct EventForm {
    event_id: String,
    kind: String,
    #[serde(default)]
    at: String,
}

/// An event form after its fields were checked.
struct Event {
    id: String,
    kind: EventKind,
    /// The tap time as sent (kept to tell a repeat from other content).
    sent: Option<String>,
    /// The tap time, clamped to now when the phone's clock runs slightly ahead.
    at: Option<Instant>,
}

fn bad(text: &str) -> WebError {
    WebError::BadRequest(text.to_string())
}

fn check_form(form: EventForm, now: DateTime<Utc>) -> Result<Event, WebError> {
    let id = uuid::Uuid::parse_str(form.event_id.trim())
        .map_err(|_| bad("Die Kennung der Meldung ist ungültig. Bitte laden Sie die Seite neu."))?
        .hyphenated()
        .to_string();
    let kind = EventKind::parse(&form.kind).ok_or_else(|| {
        bad("Unbekannte Meldung: erlaubt sind abgeholt, abgesetzt und nicht angetroffen.")
    })?;
    let sent = Some(form.at.trim().to_string()).filter(|s| !s.is_empty());
    let at = match &sent {
        None => None,
        Some(text) => {
            let at: Instant = text
                .parse()
                .map_err(|_| bad("Die Uhrzeit der Meldung ist unlesbar."))?;
            if at.0 > now + CLOCK_SKEW {
                return Err(bad(
                    "Die Uhrzeit der Meldung liegt in der Zukunft. Bitte prüfen Sie die Uhr des Telefons.",
                ));
            }
            Some(Instant(at.0.min(now)))
        }
    };
    Ok(Event { id, kind, sent, at })
}

/// What the hub knows about a stop when an event arrives.
struct StopState {
    shift_id: String,
    driver: Option<String>,
    shift_cancelled: bool,
    starts_at: Instant,
    ends_at: Instant,
    tz: Tz,
    pickup: bool,
    status: String,
    ride_id: String,
    ride_status: String,
    first_name: String,
    /// When a no-show may be called: the promised window's start, else the planned time.
    due: Instant,
}

fn stop_state(conn: &Connection, stop_id: &str) -> StoreResult<Option<StopState>> {
    let row = conn
        .query_row(
            "SELECT rs.shift_id, s.driver_account_id, s.status, s.starts_at, s.ends_at,
                    g.time_zone, rs.kind, rs.status, rr.id, rr.status, p.name,
                    COALESCE(rr.pickup_window_start, rs.planned_at)
             FROM route_stops rs JOIN shifts s ON s.id = rs.shift_id
             JOIN regions g ON g.id = s.region_id
             JOIN ride_requests rr ON rr.id = rs.ride_request_id
             JOIN residents p ON p.id = rr.resident_id
             WHERE rs.id = ?1",
            [stop_id],
            |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                    ),
                    (
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, String>(9)?,
                        r.get::<_, String>(10)?,
                        r.get::<_, String>(11)?,
                    ),
                ))
            },
        )
        .optional()?;
    let Some((shift, stop)) = row else {
        return Ok(None);
    };
    Ok(Some(StopState {
        shift_id: shift.0,
        driver: shift.1,
        shift_cancelled: shift.2 == "cancelled",
        starts_at: instant(&shift.3)?,
        ends_at: instant(&shift.4)?,
        tz: time_zone(&shift.5)?,
        pickup: stop.0 == "pickup",
        status: stop.1,
        ride_id: stop.2,
        ride_status: stop.3,
        first_name: first_name(&stop.4),
        due: instant(&stop.5)?,
    }))
}

fn conflict(text: String) -> StoreError {
    StoreError::Conflict(text)
}

/// Refuses what cannot happen at this stop now, in words the driver understands.
fn check_transition(
    stop: &StopState,
    kind: EventKind,
    at: Instant,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let name = &stop.first_name;
    if stop.shift_cancelled {
        return Err(conflict("Diese Schicht wurde abgesagt.".into()));
    }
    if stop.ride_status == "no_show" && stop.status == "cancelled" {
        return Err(conflict(format!(
            "{name} wurde nicht angetroffen. Dieser Halt entfällt."
        )));
    }
    if stop.status == "cancelled" || stop.ride_status == "cancelled" {
        return Err(conflict(format!(
            "Die Fahrt von {name} wurde abgesagt. Dieser Halt entfällt."
        )));
    }
    if now < stop.starts_at.0 - EARLY_START {
        return Err(conflict(format!(
            "Diese Schicht beginnt erst um {} Uhr.",
            hhmm(stop.starts_at, stop.tz)
        )));
    }
    match (stop.pickup, kind) {
        (true, EventKind::DroppedOff) => {
            return Err(conflict(
                "Beim Abholen gibt es nur „Abgeholt“ oder „Nicht angetroffen“.".into(),
            ));
        }
        (false, EventKind::PickedUp | EventKind::NoShow) => {
            return Err(conflict("Beim Absetzen gibt es nur „Abgesetzt“.".into()));
        }
        _ => {}
    }
    if stop.status != "planned" {
        let done = match stop.status.as_str() {
            "no_show" => "nicht angetroffen",
            _ if stop.pickup => "abgeholt",
            _ => "abgesetzt",
        };
        return Err(conflict(format!(
            "Dieser Halt ist schon als „{done}“ gemeldet."
        )));
    }
    match kind {
        EventKind::DroppedOff if stop.ride_status != "picked_up" => Err(conflict(format!(
            "{name} ist noch nicht abgeholt: erst „Abgeholt“ melden, dann „Abgesetzt“."
        ))),
        EventKind::PickedUp | EventKind::NoShow
            if !matches!(stop.ride_status.as_str(), "planned" | "confirmed") =>
        {
            Err(conflict(format!(
                "Die Fahrt von {name} ist nicht bestätigt. Bitte rufen Sie die Zentrale an."
            )))
        }
        EventKind::NoShow if at < stop.due => Err(conflict(format!(
            "„Nicht angetroffen“ kann erst ab {} Uhr gemeldet werden.",
            hhmm(stop.due, stop.tz)
        ))),
        _ => Ok(()),
    }
}

/// Where the browser goes after an event: today's page, or the shift's own page on another day.
fn back_to(stop_id: &str, stop: &StopState, kind: EventKind, now: DateTime<Utc>) -> String {
    let page = if is_today(stop.starts_at, stop.ends_at, stop.tz, now) {
        "/driver".to_string()
    } else {
        format!("/driver/shifts/{}", stop.shift_id)
    };
    format!("{page}?gemeldet={}#halt-{stop_id}", kind.code())
}

/// Records the event once and applies it through the ride's and the stop's own updates, all in
/// one transaction.
fn record(
    conn: &mut Connection,
    who: &Who,
    account_id: &str,
    stop_id: &str,
    event: &Event,
) -> StoreResult<String> {
    let now = Utc::now();
    let tx = conn.transaction()?;
    let not_found = || StoreError::NotFound {
        kind: "route stop",
        id: stop_id.to_string(),
    };
    let stop = stop_state(&tx, stop_id)?.ok_or_else(not_found)?;
    if stop.driver.as_deref() != Some(account_id) {
        return Err(not_found());
    }
    let earlier: Option<(String, String, String, Option<String>)> = tx
        .query_row(
            "SELECT route_stop_id, kind, account_id, sent_at FROM driver_events WHERE id = ?1",
            [&event.id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    if let Some(earlier) = earlier {
        let same = (
            stop_id.to_string(),
            event.kind.code().to_string(),
            account_id.to_string(),
            event.sent.clone(),
        );
        return if earlier == same {
            Ok(back_to(stop_id, &stop, event.kind, now))
        } else {
            Err(conflict(
                "Diese Meldung wurde schon mit anderem Inhalt gesendet. Bitte laden Sie die \
                 Seite neu."
                    .into(),
            ))
        };
    }
    // The tap time counts when it lies within the shift and not ahead; else the hub's own.
    let at = event
        .at
        .filter(|at| *at >= stop.starts_at)
        .unwrap_or(Instant(now));
    check_transition(&stop, event.kind, at, now)?;
    apply(&tx, who, stop_id, &stop, event.kind)?;
    tx.execute(
        "INSERT INTO driver_events (id, route_stop_id, kind, at, sent_at, account_id, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            event.id,
            stop_id,
            event.kind.code(),
            at.text(),
            event.sent,
            account_id,
            Instant(now).text()
        ],
    )?;
    let target = back_to(stop_id, &stop, event.kind, now);
    tx.commit()?;
    Ok(target)
}

/// The ride's status changes through its own update (its rules, audit, and for a no-show the
/// no-show rule: remaining stops freed, the way back called off); a served stop is marked done.
fn apply(
    tx: &Connection,
    who: &Who,
    stop_id: &str,
    stop: &StopState,
    kind: EventKind,
) -> StoreResult<()> {
    let patch = |status: &str| -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("status".into(), json!(status));
        map
    };
    if kind != EventKind::NoShow {
        records::update_in::<RouteStop>(tx, who, stop_id, patch("done"))?;
    }
    records::update_in::<RideRequest>(tx, who, &stop.ride_id, patch(kind.ride_status()))?;
    Ok(())
}

/// The header `driver.js` sends: it needs no page back, only whether the event was taken.
const QUEUE_HEADER: &str = "x-dorfpunkt-queue";

/// `POST /driver/stops/{id}/events`: a form gets a redirect to the page the stop is on; the
/// script's queue (header `x-dorfpunkt-queue`) gets 204, which costs a bad connection nothing.
async fn record_event(
    State(app): State<AppState>,
    Path(stop_id): Path<String>,
    headers: HeaderMap,
    CsrfForm(user, form): CsrfForm<EventForm>,
) -> Result<Response, WebError> {
    user.require(&[Role::Driver])?;
    let event = check_form(form, Utc::now())?;
    let who = user.who();
    let account = user.account_id.clone();
    let target = app
        .store
        .run(move |conn| record(conn, &who, &account, &stop_id, &event))
        .await?;
    if headers.contains_key(QUEUE_HEADER) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Redirect::to(&target).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn phone_links_keep_digits_and_a_leading_plus() {
        assert_eq!(tel_href("05332 98765"), "tel:0533298765");
        assert_eq!(tel_href("+49 (5332) 98-765"), "tel:+49533298765");
    }

    #[test]
    fn the_rider_is_called_first_then_a_caregiver() {
        let call = call_of(None, Some(" ".into()), Some("0171 1".into())).unwrap();
        assert!(call.caregiver);
        assert_eq!(call.number, "0171 1");
        let own = call_of(Some("05332 1".into()), Some("0171 1".into()), None).unwrap();
        assert!(!own.caregiver);
        assert!(call_of(None, None, None).is_none());
    }

    #[test]
    fn a_night_shift_belongs_to_both_days() {
        let tz = chrono_tz::Europe::Berlin;
        let at = |d, h| Instant(Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap());
        // 22:00 to 06:00 local (21:00 to 05:00 UTC).
        let (starts, ends) = (at(23, 21), at(24, 5));
        assert!(is_today(starts, ends, tz, at(23, 12).0));
        assert!(is_today(starts, ends, tz, at(24, 12).0));
        assert!(!is_today(starts, ends, tz, at(25, 12).0));
    }

    #[test]
    fn tap_times_ahead_of_the_clock_are_refused_slightly_ahead_clamped() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let form = |at: &str| EventForm {
            event_id: uuid::Uuid::new_v4().to_string(),
            kind: "picked_up".into(),
            at: at.into(),
        };
        assert!(check_form(form("2026-11-23T09:30:00Z"), now).is_err());
        let near = check_form(form("2026-11-23T09:01:00Z"), now).unwrap();
        assert_eq!(near.at, Some(Instant(now)));
        let none = check_form(form(""), now).unwrap();
        assert!(none.at.is_none() && none.sent.is_none());
        let mut garbage = form("");
        garbage.event_id = "nicht-eine-uuid".into();
        assert!(check_form(garbage, now).is_err());
    }
}
