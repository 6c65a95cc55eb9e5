//! The caregivers' pages (`/care`, [`Role::Caregiver`]): registration, requests to act for a
//! resident that wait for the resident's consent (recorded by a dispatcher on
//! `/console/link-requests`), and booking, seeing and cancelling rides and counselling
//! appointments for the people a caregiver is linked to, with a ticket PDF.
//!
//! A caregiver sees a resident only through a live caregiver link. Every address that names a
//! resident or a booking of anyone else is answered 404, exactly like one that does not exist,
//! so the pages never tell whether a person or a booking is there.

mod bookings;
mod links;
mod register;
mod ticket;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use chrono::Utc;
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::Value;

use super::error::WebError;
use super::layout::{notice, page};
use super::local_time;
use super::session::WebUser;
use crate::api::AppState;
use crate::domain::Role;
use crate::store::StoreResult;
use crate::store::logs::{self, Action, Who};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/care", get(home))
        .route(
            "/care/register",
            get(register::form_page).post(register::register),
        )
        .route("/care/link-requests", post(links::request))
        .route("/care/people/{resident}", get(person_page))
        .route(
            "/care/people/{resident}/ride",
            get(bookings::ride_form).post(bookings::book_ride),
        )
        .route(
            "/care/people/{resident}/counselling",
            get(bookings::slot_form).post(bookings::book_slot),
        )
        .route("/care/bookings/{code}", get(bookings::booking_page))
        .route("/care/bookings/{code}/cancel", post(bookings::cancel))
        .route(
            "/care/bookings/{code}/alternative",
            post(bookings::take_alternative),
        )
        .route("/care/tickets/{file}", get(ticket::download))
        .route("/console/link-requests", get(links::console_page))
        .route("/console/link-requests/{id}/confirm", post(links::confirm))
        .route("/console/link-requests/{id}/refuse", post(links::refuse))
}

/// The caregiver behind a page: their caregiver record and region.
#[derive(Clone, Debug)]
struct Carer {
    id: String,
    region: String,
}

/// Refuses everyone but caregiver accounts that name their caregiver record.
fn carer(user: &WebUser) -> Result<Carer, WebError> {
    user.require(&[Role::Caregiver])?;
    match (&user.caregiver_id, &user.region_id) {
        (Some(id), Some(region)) => Ok(Carer {
            id: id.clone(),
            region: region.clone(),
        }),
        _ => Err(WebError::Forbidden),
    }
}

/// What the pages need of a region: name, time zone and the service's phone number.
#[derive(Clone, Debug)]
struct RegionInfo {
    name: String,
    tz: String,
    phone: Option<String>,
}

fn region_info(conn: &Connection, region: &str) -> StoreResult<RegionInfo> {
    Ok(conn.query_row(
        "SELECT name, time_zone, phone FROM regions WHERE id = ?1",
        [region],
        |r| {
            Ok(RegionInfo {
                name: r.get(0)?,
                tz: r.get(1)?,
                phone: r.get(2)?,
            })
        },
    )?)
}

/// A resident a caregiver is linked to, as the pages show them.
#[derive(Clone, Debug)]
struct Person {
    id: String,
    name: String,
    street: String,
    village: String,
    village_id: String,
    /// The resident number of their tickets, once they have one.
    number: Option<String>,
    walker: bool,
    wheelchair: bool,
}

const PERSON_SQL: &str = "SELECT p.id, p.name, p.street, v.name, p.village_id, p.kiosk_number,
        p.uses_walker, p.uses_wheelchair
    FROM residents p
    JOIN villages v ON v.id = p.village_id
    JOIN caregiver_links l ON l.resident_id = p.id AND l.archived_at IS NULL
    WHERE l.caregiver_id = ?1 AND p.archived_at IS NULL";

fn person_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Person> {
    Ok(Person {
        id: r.get(0)?,
        name: r.get(1)?,
        street: r.get(2)?,
        village: r.get(3)?,
        village_id: r.get(4)?,
        number: r
            .get::<_, Option<String>>(5)?
            .and_then(|n| n.parse::<protocol::ResidentNumber>().ok())
            .map(|n| n.to_string()),
        walker: r.get(6)?,
        wheelchair: r.get(7)?,
    })
}

/// The people `carer` is linked to (audited as a list of residents).
fn people_of(conn: &Connection, who: &Who, carer: &Carer) -> StoreResult<Vec<Person>> {
    let sql = format!("{PERSON_SQL} ORDER BY p.name");
    let mut stmt = conn.prepare(&sql)?;
    let people = stmt
        .query_map([&carer.id], person_row)?
        .collect::<Result<Vec<_>, _>>()?;
    logs::audit(
        conn,
        who,
        Action::List,
        "residents",
        None,
        Some(&carer.region),
    )?;
    Ok(people)
}

/// The resident `id` if `carer` is linked to them (audited as a read); `None` otherwise.
fn linked_person(
    conn: &Connection,
    who: &Who,
    carer: &Carer,
    id: &str,
) -> StoreResult<Option<Person>> {
    let sql = format!("{PERSON_SQL} AND p.id = ?2");
    let person = conn
        .query_row(&sql, [&carer.id, id], person_row)
        .optional()?;
    if let Some(person) = &person {
        logs::audit(
            conn,
            who,
            Action::Read,
            "residents",
            Some(&person.id),
            Some(&carer.region),
        )?;
    }
    Ok(person)
}

/// Which kind of booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ride,
    Appointment,
}

/// A ride or an appointment of one of a caregiver's people.
#[derive(Clone, Debug)]
struct Booking {
    kind: Kind,
    id: String,
    code: String,
    resident_id: String,
    resident_name: String,
    resident_number: Option<String>,
    status: String,
    /// The appointment (ride) or the slot's start (counselling), RFC 3339.
    at: String,
    /// Where the ride starts, or where the counselling takes place.
    from: String,
    /// Where the ride goes (empty for counselling).
    to: String,
    window: Option<(String, String)>,
    /// A ride not served as asked: reason and alternatives.
    planning: Option<Value>,
    outcome: Option<String>,
    /// A notice given with a ride's booking (the no-show warning), German.
    notice: Option<String>,
    /// The counselling topic.
    topic: Option<String>,
}

const RIDE_SQL: &str = "SELECT r.id, r.booking_code, r.resident_id, p.name, p.kiosk_number,
        r.status, COALESCE(r.appointment_at, r.pickup_at),
        CASE WHEN r.from_home = 1 THEN 'Zuhause, ' || p.street ELSE COALESCE(fd.name, fs.name) END,
        CASE WHEN r.to_home = 1 THEN 'Zuhause, ' || p.street
             ELSE COALESCE(td.name || ', ' || td.street || ', ' || td.city, ts.name) END,
        r.pickup_window_start, r.pickup_window_end, r.planning, r.outcome, r.notice
    FROM ride_requests r
    JOIN residents p ON p.id = r.resident_id
    JOIN caregiver_links l ON l.resident_id = r.resident_id AND l.archived_at IS NULL
    LEFT JOIN destinations fd ON fd.id = r.from_destination_id
    LEFT JOIN stops fs ON fs.id = r.from_stop_id
    LEFT JOIN destinations td ON td.id = r.to_destination_id
    LEFT JOIN stops ts ON ts.id = r.to_stop_id
    WHERE l.caregiver_id = ?1 AND p.archived_at IS NULL";

fn ride_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Booking> {
    let start: Option<String> = r.get(9)?;
    let end: Option<String> = r.get(10)?;
    let planning: Option<String> = r.get(11)?;
    Ok(Booking {
        kind: Kind::Ride,
        id: r.get(0)?,
        code: r.get(1)?,
        resident_id: r.get(2)?,
        resident_name: r.get(3)?,
        resident_number: number_text(r.get(4)?),
        status: r.get(5)?,
        at: r.get(6)?,
        from: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
        to: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
        window: start.zip(end),
        planning: planning.and_then(|p| serde_json::from_str(&p).ok()),
        outcome: r.get(12)?,
        notice: r
            .get::<_, Option<String>>(13)?
            .and_then(|n| serde_json::from_str::<Value>(&n).ok())
            .and_then(|n| n["message_de"].as_str().map(str::to_string)),
        topic: None,
    })
}

const APPOINTMENT_SQL: &str = "SELECT a.id, a.booking_code, a.resident_id, p.name, p.kiosk_number,
        a.status, a.starts_at,
        CASE WHEN iv.id IS NOT NULL
             THEN 'IMBUS-Beratungsbus, ' || s.name || ', ' || v.name
             ELSE 'Sprechstunde am Dorfpunkt, ' || v.name END,
        a.topic
    FROM appointments a
    JOIN residents p ON p.id = a.resident_id
    JOIN caregiver_links l ON l.resident_id = a.resident_id AND l.archived_at IS NULL
    JOIN slots sl ON sl.id = a.slot_id
    JOIN villages v ON v.id = a.village_id
    LEFT JOIN imbus_visits iv ON iv.id = sl.visit_id
    LEFT JOIN stops s ON s.id = iv.stop_id
    WHERE l.caregiver_id = ?1 AND p.archived_at IS NULL";

fn appointment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Booking> {
    Ok(Booking {
        kind: Kind::Appointment,
        id: r.get(0)?,
        code: r.get(1)?,
        resident_id: r.get(2)?,
        resident_name: r.get(3)?,
        resident_number: number_text(r.get(4)?),
        status: r.get(5)?,
        at: r.get(6)?,
        from: r.get(7)?,
        to: String::new(),
        window: None,
        planning: None,
        outcome: None,
        notice: None,
        topic: r.get(8)?,
    })
}

fn number_text(stored: Option<String>) -> Option<String> {
    stored
        .and_then(|n| n.parse::<protocol::ResidentNumber>().ok())
        .map(|n| n.to_string())
}

/// Upcoming bookings (from two hours ago on, not cancelled) of the caregiver's people, or of one
/// of them; audited as lists of rides and appointments.
fn upcoming(
    conn: &Connection,
    who: &Who,
    carer: &Carer,
    resident: Option<&str>,
) -> StoreResult<Vec<Booking>> {
    let since = (Utc::now() - chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut found = Vec::new();
    type RowFn = fn(&rusqlite::Row<'_>) -> rusqlite::Result<Booking>;
    let kinds: [(&str, &str, &str, RowFn); 2] = [
        (
            RIDE_SQL,
            "COALESCE(r.appointment_at, r.pickup_at)",
            "r.status",
            ride_row,
        ),
        (APPOINTMENT_SQL, "a.starts_at", "a.status", appointment_row),
    ];
    for (sql, time, status, row) in kinds {
        let sql = format!(
            "{sql} AND {time} >= ?2 AND {status} <> 'cancelled'
             AND (?3 IS NULL OR p.id = ?3) ORDER BY {time} LIMIT 200"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params![carer.id, since, resident], row)?;
        for booking in rows {
            found.push(booking?);
        }
    }
    for kind in ["ride_requests", "appointments"] {
        logs::audit(conn, who, Action::List, kind, None, Some(&carer.region))?;
    }
    found.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(found)
}

/// The booking with `code` of one of the caregiver's people (audited as a read), or `None`.
fn booking_by_code(
    conn: &Connection,
    who: &Who,
    carer: &Carer,
    code: &str,
) -> StoreResult<Option<Booking>> {
    let Ok(code) = code.parse::<protocol::BookingCode>() else {
        return Ok(None);
    };
    let code = code.to_string();
    let ride = conn
        .query_row(
            &format!("{RIDE_SQL} AND r.booking_code = ?2 AND r.region_id = ?3"),
            [&carer.id, &code, &carer.region],
            ride_row,
        )
        .optional()?;
    let booking = match ride {
        Some(ride) => Some(ride),
        None => conn
            .query_row(
                &format!("{APPOINTMENT_SQL} AND a.booking_code = ?2 AND a.region_id = ?3"),
                [&carer.id, &code, &carer.region],
                appointment_row,
            )
            .optional()?,
    };
    if let Some(b) = &booking {
        let kind = match b.kind {
            Kind::Ride => "ride_requests",
            Kind::Appointment => "appointments",
        };
        logs::audit(
            conn,
            who,
            Action::Read,
            kind,
            Some(&b.id),
            Some(&carer.region),
        )?;
    }
    Ok(booking)
}

/// A booking's status in plain German.
fn status_text(kind: Kind, status: &str) -> &'static str {
    match (kind, status) {
        (_, "cancelled") => "Abgesagt",
        (Kind::Ride, "requested") => "Angefragt, noch ohne Abholzeit",
        (Kind::Ride, "planned" | "confirmed") => "Bestätigt",
        (Kind::Ride, "picked_up") => "Unterwegs",
        (Kind::Ride, "done") => "Gefahren",
        (_, "no_show") => "Nicht angetroffen",
        (Kind::Appointment, "booked") => "Gebucht",
        (Kind::Appointment, "attended") => "Wahrgenommen",
        _ => "Unbekannt",
    }
}

/// A counselling topic in German.
fn topic_text(topic: &str) -> &'static str {
    match topic {
        "health" => "Gesundheit",
        "care" => "Pflege",
        "money" => "Geld und Anträge",
        "housing" => "Wohnen",
        "loneliness" => "Einsamkeit",
        "addiction" => "Sucht",
        "family" => "Familie",
        _ => "Sonstiges",
    }
}

/// The pickup window as people read it: "07:40 bis 07:55 Uhr".
fn window_text(window: &(String, String), tz: &str) -> String {
    let time = |at: &str| {
        local_time(at, tz)
            .rsplit(", ")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    format!("{} bis {} Uhr", time(&window.0), time(&window.1))
}

/// What a booking is, in a few words.
fn what_text(b: &Booking) -> String {
    match b.kind {
        Kind::Ride => format!("Fahrt zu {}", b.to),
        Kind::Appointment => format!(
            "Beratung ({})",
            topic_text(b.topic.as_deref().unwrap_or_default())
        ),
    }
}

/// One booking as a card with its time, place, state and a link to its page.
fn booking_card(b: &Booking, tz: &str) -> Markup {
    html! {
        li class="care-booking" {
            p class="care-when" { (local_time(&b.at, tz)) }
            p { strong { (what_text(b)) } }
            @if b.kind == Kind::Ride {
                @if let Some(window) = &b.window {
                    p { "Abholung: " (window_text(window, tz)) }
                } @else {
                    p class="status-warn" { "Noch keine Abholzeit" }
                }
            } @else {
                p { (b.from) }
            }
            p { a href={ "/care/bookings/" (b.code) } { "Ansehen, Fahrschein oder absagen" span class="care-sr" { ": " (b.code) } } }
        }
    }
}

/// A caregiver's request as listed for them.
struct OwnRequest {
    number: String,
    name: String,
    status: String,
    at: String,
}

fn own_requests(conn: &Connection, carer: &Carer) -> StoreResult<Vec<OwnRequest>> {
    let mut stmt = conn.prepare(
        "SELECT given_number, given_name, status, requested_at FROM caregiver_link_requests
         WHERE caregiver_id = ?1 AND status <> 'confirmed' ORDER BY requested_at DESC LIMIT 20",
    )?;
    let rows = stmt
        .query_map([&carer.id], |r| {
            Ok(OwnRequest {
                number: r.get(0)?,
                name: r.get(1)?,
                status: r.get(2)?,
                at: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[derive(Debug, Default, Deserialize)]
struct HomeQuery {
    /// Set after a link request: the same notice whatever the request matched.
    requested: Option<String>,
    /// Set after registering.
    welcome: Option<String>,
}

/// `/care`: the caregiver's people with their upcoming bookings, open requests and the form to
/// ask for a new person.
async fn home(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<HomeQuery>,
) -> Result<Markup, WebError> {
    let carer = carer(&user)?;
    let who = user.who();
    let (region, people, bookings, requests) = app
        .store
        .run(move |conn| {
            let region = region_info(conn, &carer.region)?;
            let people = people_of(conn, &who, &carer)?;
            let bookings = upcoming(conn, &who, &carer, None)?;
            let requests = own_requests(conn, &carer)?;
            Ok((region, people, bookings, requests))
        })
        .await?;
    Ok(page(
        Some(&user),
        "Meine Personen",
        html! {
            @if q.welcome.is_some() {
                (notice("ok", &format!("Willkommen! Ihr Konto ist angelegt. Ihr Benutzername zum Anmelden: {}", user.username)))
            }
            @if q.requested.is_some() {
                (notice("ok", links::REQUESTED_TEXT))
            }
            @if people.is_empty() {
                p { "Sie haben noch keine Personen. Fragen Sie unten nach einer Person." }
            }
            @for person in &people {
                section class="care-person" aria-labelledby={ "p-" (person.id) } {
                    h2 id={ "p-" (person.id) } { (person.name) }
                    p class="muted" { (person.street) ", " (person.village)
                        @if let Some(number) = &person.number { " · Nummer " (number) } }
                    (person_bookings(&bookings, &person.id, &region.tz))
                    (person_actions(person))
                }
            }
            (links::request_form(&user, &requests, &region.tz))
            @if let Some(phone) = &region.phone {
                p class="muted" { "Fragen? Zentrale " (region.name) ": " a href={ "tel:" (phone) } { (phone) } }
            }
            p class="muted" { "Ihr Benutzername zum Anmelden: " span class="code" { (user.username) } }
        },
    ))
}

fn person_bookings(bookings: &[Booking], resident: &str, tz: &str) -> Markup {
    let own: Vec<&Booking> = bookings
        .iter()
        .filter(|b| b.resident_id == resident)
        .collect();
    html! {
        @if own.is_empty() {
            p { "Keine Fahrten oder Termine geplant." }
        } @else {
            ul class="care-bookings" {
                @for b in own { (booking_card(b, tz)) }
            }
        }
    }
}

fn person_actions(person: &Person) -> Markup {
    html! {
        p class="care-actions" {
            a class="button" href={ "/care/people/" (person.id) "/ride" } { "Fahrt buchen" span class="care-sr" { " für " (person.name) } }
            " "
            a class="button secondary" href={ "/care/people/" (person.id) "/counselling" } { "Beratung buchen" span class="care-sr" { " für " (person.name) } }
        }
    }
}

/// `/care/people/{id}`: one person with their upcoming bookings.
async fn person_page(
    State(app): State<AppState>,
    user: WebUser,
    Path(resident): Path<String>,
) -> Result<Markup, WebError> {
    let carer = carer(&user)?;
    let who = user.who();
    let (region, person, bookings) = app
        .store
        .run(move |conn| {
            let region = region_info(conn, &carer.region)?;
            let Some(person) = linked_person(conn, &who, &carer, &resident)? else {
                return Ok((region, None, Vec::new()));
            };
            let bookings = upcoming(conn, &who, &carer, Some(&person.id))?;
            Ok((region, Some(person), bookings))
        })
        .await?;
    let person = person.ok_or(WebError::NotFound)?;
    Ok(page(
        Some(&user),
        &person.name,
        html! {
            p class="muted" { (person.street) ", " (person.village)
                @if let Some(number) = &person.number { " · Nummer " (number) } }
            (person_bookings(&bookings, &person.id, &region.tz))
            (person_actions(&person))
            p { a href="/care" { "Zurück zu meinen Personen" } }
        },
    ))
}
