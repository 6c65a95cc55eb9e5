//! The caregivers' pages (`/care`, [`Role::Caregiver`]): registration, requests to act for a
//! resident that wait for the resident's consent (recorded by a dispatcher on
//! `/console/link-requests`), and booking, seeing and cancelling rides and counselling
//! appointments for the people a caregiver is linked to, with a ticket PDF.
//!
//! Every caregiver page is in the reader's language (German first; `texts.rs`, `web/i18n.rs`),
//! with the language links, and so are its refusals ([`answer`]).
//!
//! A caregiver sees a resident only through a live caregiver link. Every address that names a
//! resident or a booking of anyone else is answered 404, exactly like one that does not exist,
//! so the pages never tell whether a person or a booking is there.

mod bookings;
mod links;
mod register;
mod texts;
mod ticket;

pub(crate) use register::username_of;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::Value;

use super::error::WebError;
use super::i18n::{self, CLOCK, Lang, local_time_in};
use super::layout::{notice, page_in};
use super::session::{CsrfForm, WebUser};
use crate::api::AppState;
use crate::api::error::REQUEST_ID;
use crate::domain::Role;
use crate::store::StoreResult;
use crate::store::logs::{self, Action, Who};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/care", get(home))
        .route("/care/language", get(i18n::choose))
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

/// A caregiver page's answer: the page, or why not in the reader's language. Log-in and other
/// redirects stay as [`WebError`] makes them.
fn answer<T: IntoResponse>(lang: Lang, result: Result<T, WebError>) -> Response {
    match result {
        Ok(done) => done.into_response(),
        Err(e) => refusal(lang, e),
    }
}

/// The error page of a caregiver page in `lang`: the same status and meaning as the German error
/// pages of `web/error.rs`; texts made by the caregiver pages themselves are already translated.
fn refusal(lang: Lang, e: WebError) -> Response {
    let (status, title, text) = match e {
        WebError::LoginRequired { .. } | WebError::Redirect(_) => return e.into_response(),
        WebError::Forbidden => (
            StatusCode::FORBIDDEN,
            texts::FORBIDDEN_TITLE,
            texts::FORBIDDEN.get(lang).to_string(),
        ),
        WebError::NotFound => (
            StatusCode::NOT_FOUND,
            texts::NOT_FOUND_TITLE,
            texts::NOT_FOUND.get(lang).to_string(),
        ),
        WebError::BadRequest(text) => (StatusCode::BAD_REQUEST, texts::BAD_REQUEST_TITLE, text),
        WebError::CsrfFailed => (
            StatusCode::FORBIDDEN,
            texts::FORBIDDEN_TITLE,
            texts::FORM_EXPIRED.get(lang).to_string(),
        ),
        WebError::Conflict(text) => (StatusCode::CONFLICT, texts::CONFLICT_TITLE, text),
        WebError::Internal(detail) => {
            let id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
            tracing::error!(request_id = %id, "web page failed: {detail}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                texts::ERROR_TITLE,
                texts::INTERNAL.fill(lang, &[("id", &id)]),
            )
        }
    };
    let body = page_in(
        lang,
        "/care",
        None,
        title.get(lang),
        html! {
            p role="alert" { (text) }
            p { a href="/" { (texts::TO_START.get(lang)) } }
        },
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A caregiver's form as sent; a body that does not parse is refused in the reader's language
/// (the parser's own words are German and technical).
fn sent_form<T>(lang: Lang, form: Result<CsrfForm<T>, WebError>) -> Result<(WebUser, T), WebError> {
    match form {
        Ok(CsrfForm(user, value)) => Ok((user, value)),
        Err(WebError::BadRequest(_)) => Err(WebError::BadRequest(
            texts::FORM_BROKEN.get(lang).to_string(),
        )),
        Err(e) => Err(e),
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
    from: Place,
    /// Where the ride goes (nowhere for counselling).
    to: Place,
    window: Option<(String, String)>,
    /// A ride not served as asked: reason and alternatives.
    planning: Option<Value>,
    outcome: Option<String>,
    /// A notice given with a ride's booking (the no-show warning), as stored.
    notice: Option<Value>,
    /// The counselling topic.
    topic: Option<String>,
}

/// Where a booking starts, goes or takes place; its words depend on the reader's language.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Place {
    /// The resident's home, at this street.
    Home(String),
    /// A destination or stop, by its name (and address).
    Named(String),
    /// The IMBUS counselling bus at a stop of a village.
    Imbus { stop: String, village: String },
    /// Consultation hours at a village's Dorfpunkt.
    Kiosk(String),
    /// No place (the second place of an appointment).
    None,
}

/// A place as the reader of `lang` reads it.
fn place_text(lang: Lang, place: &Place) -> String {
    match place {
        Place::Home(street) => texts::HOME.fill(lang, &[("street", street)]),
        Place::Named(name) => name.clone(),
        Place::Imbus { stop, village } => {
            texts::IMBUS_PLACE.fill(lang, &[("stop", stop), ("village", village)])
        }
        Place::Kiosk(village) => texts::KIOSK_PLACE.fill(lang, &[("village", village)]),
        Place::None => String::new(),
    }
}

const RIDE_SQL: &str = "SELECT r.id, r.booking_code, r.resident_id, p.name, p.kiosk_number,
        r.status, COALESCE(r.appointment_at, r.pickup_at),
        COALESCE(fd.name, fs.name),
        COALESCE(td.name || ', ' || td.street || ', ' || td.city, ts.name),
        r.pickup_window_start, r.pickup_window_end, r.planning, r.outcome, r.notice,
        r.from_home, r.to_home, p.street
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
    let street: String = r.get(16)?;
    let place = |home: bool, name: Option<String>| {
        if home {
            Place::Home(street.clone())
        } else {
            Place::Named(name.unwrap_or_default())
        }
    };
    Ok(Booking {
        kind: Kind::Ride,
        id: r.get(0)?,
        code: r.get(1)?,
        resident_id: r.get(2)?,
        resident_name: r.get(3)?,
        resident_number: number_text(r.get(4)?),
        status: r.get(5)?,
        at: r.get(6)?,
        from: place(r.get(14)?, r.get(7)?),
        to: place(r.get(15)?, r.get(8)?),
        window: start.zip(end),
        planning: planning.and_then(|p| serde_json::from_str(&p).ok()),
        outcome: r.get(12)?,
        notice: r
            .get::<_, Option<String>>(13)?
            .and_then(|n| serde_json::from_str::<Value>(&n).ok())
            .filter(|n| n["message_de"].is_string()),
        topic: None,
    })
}

const APPOINTMENT_SQL: &str = "SELECT a.id, a.booking_code, a.resident_id, p.name, p.kiosk_number,
        a.status, a.starts_at, iv.id IS NOT NULL, s.name, v.name, a.topic
    FROM appointments a
    JOIN residents p ON p.id = a.resident_id
    JOIN caregiver_links l ON l.resident_id = a.resident_id AND l.archived_at IS NULL
    JOIN slots sl ON sl.id = a.slot_id
    JOIN villages v ON v.id = a.village_id
    LEFT JOIN imbus_visits iv ON iv.id = sl.visit_id
    LEFT JOIN stops s ON s.id = iv.stop_id
    WHERE l.caregiver_id = ?1 AND p.archived_at IS NULL";

fn appointment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Booking> {
    let village: String = r.get(9)?;
    let from = if r.get::<_, bool>(7)? {
        Place::Imbus {
            stop: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
            village,
        }
    } else {
        Place::Kiosk(village)
    };
    Ok(Booking {
        kind: Kind::Appointment,
        id: r.get(0)?,
        code: r.get(1)?,
        resident_id: r.get(2)?,
        resident_name: r.get(3)?,
        resident_number: number_text(r.get(4)?),
        status: r.get(5)?,
        at: r.get(6)?,
        from,
        to: Place::None,
        window: None,
        planning: None,
        outcome: None,
        notice: None,
        topic: r.get(10)?,
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

/// A booking's status in plain words.
fn status_text(lang: Lang, kind: Kind, status: &str) -> &'static str {
    let text = match (kind, status) {
        (_, "cancelled") => texts::CANCELLED,
        (Kind::Ride, "requested") => texts::REQUESTED_NO_TIME,
        (Kind::Ride, "planned" | "confirmed") => texts::CONFIRMED,
        (Kind::Ride, "picked_up") => texts::ON_THE_WAY,
        (Kind::Ride, "done") => texts::DRIVEN,
        (_, "no_show") => texts::NO_SHOW,
        (Kind::Appointment, "booked") => texts::BOOKED,
        (Kind::Appointment, "attended") => texts::ATTENDED,
        _ => texts::UNKNOWN,
    };
    text.get(lang)
}

/// A counselling topic in words ("other" for a code not known).
fn topic_text(lang: Lang, topic: &str) -> &'static str {
    let known = texts::TOPICS.iter().find(|(code, _)| *code == topic);
    let (_, other) = texts::TOPICS[texts::TOPICS.len() - 1];
    known.map_or(other, |(_, text)| *text).get(lang)
}

/// The clock time of an instant in the region ("07:40").
fn clock_time(at: &str, tz: &str) -> String {
    super::local_time(at, tz)
        .rsplit(", ")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The pickup window as people read it: "07:40 bis 07:55 Uhr".
fn window_text(lang: Lang, window: &(String, String), tz: &str) -> String {
    let (start, end) = (clock_time(&window.0, tz), clock_time(&window.1, tz));
    texts::WINDOW.fill(lang, &[("start", &start), ("end", &end)])
}

/// The pickup window after "Abholzeit": "zwischen 07:40 bis 07:55 Uhr".
fn between_text(lang: Lang, window: &(String, String), tz: &str) -> String {
    let (start, end) = (clock_time(&window.0, tz), clock_time(&window.1, tz));
    texts::BETWEEN.fill(lang, &[("start", &start), ("end", &end)])
}

/// What a booking is, in a few words.
fn what_text(lang: Lang, b: &Booking) -> String {
    match b.kind {
        Kind::Ride => texts::RIDE_TO.fill(lang, &[("to", &place_text(lang, &b.to))]),
        Kind::Appointment => texts::COUNSELLING_ABOUT.fill(
            lang,
            &[(
                "topic",
                topic_text(lang, b.topic.as_deref().unwrap_or_default()),
            )],
        ),
    }
}

/// The notice stored with a ride's booking in `lang`: German as stored, the known kinds
/// translated, anything else German.
fn notice_text(lang: Lang, notice: &Value) -> String {
    let german = notice["message_de"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if lang == Lang::De {
        return german;
    }
    match notice["code"].as_str() {
        Some("caregiver_only") => texts::CAREGIVER_ONLY.get(lang).to_string(),
        Some("no_show_warning") => {
            // The stored notice names the rule's limit only in its sentences.
            let limit = notice["message_en"]
                .as_str()
                .and_then(|en| en.split("After ").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u32>().ok());
            match (notice["no_shows"].as_u64(), limit) {
                (Some(n), Some(max)) => texts::NO_SHOW_WARNING
                    .fill(lang, &[("n", &n.to_string()), ("max", &max.to_string())]),
                _ => german,
            }
        }
        _ => german,
    }
}

/// A clock time with "Uhr" in German.
fn at_clock(lang: Lang, at: &str, tz: &str) -> String {
    format!("{}{}", local_time_in(lang, at, tz), CLOCK.get(lang))
}

/// One booking as a card with its time, place, state and a link to its page.
fn booking_card(lang: Lang, b: &Booking, tz: &str) -> Markup {
    html! {
        li class="care-booking" {
            p class="care-when" { (local_time_in(lang, &b.at, tz)) }
            p { strong { (what_text(lang, b)) } }
            @if b.kind == Kind::Ride {
                @if let Some(window) = &b.window {
                    p { (texts::PICKUP_AT.fill(lang, &[("window", &window_text(lang, window, tz))])) }
                } @else {
                    p class="status-warn" { (texts::NO_PICKUP_TIME.get(lang)) }
                }
            } @else {
                p { (place_text(lang, &b.from)) }
            }
            p { a href={ "/care/bookings/" (b.code) } { (texts::OPEN_BOOKING.get(lang)) span class="care-sr" { ": " (b.code) } } }
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
    lang: Lang,
    user: WebUser,
    Query(q): Query<HomeQuery>,
) -> Response {
    answer(lang, home_page(app, lang, user, q).await)
}

async fn home_page(
    app: AppState,
    lang: Lang,
    user: WebUser,
    q: HomeQuery,
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
    Ok(page_in(
        lang,
        "/care",
        Some(&user),
        i18n::NAV_CARE.get(lang),
        html! {
            @if q.welcome.is_some() {
                (notice("ok", &texts::WELCOME.fill(lang, &[("username", &user.username)])))
            }
            @if q.requested.is_some() {
                (notice("ok", texts::REQUESTED.get(lang)))
            }
            @if people.is_empty() {
                p { (texts::NO_PEOPLE.get(lang)) }
            }
            @for person in &people {
                section class="care-person" aria-labelledby={ "p-" (person.id) } {
                    h2 id={ "p-" (person.id) } { (person.name) }
                    (person_address(lang, person))
                    (person_bookings(lang, &bookings, &person.id, &region.tz))
                    (person_actions(lang, person))
                }
            }
            (links::request_form(lang, &user, &requests, &region.tz))
            @if let Some(phone) = &region.phone {
                p class="muted" { (texts::QUESTIONS.fill(lang, &[("region", &region.name)])) a href={ "tel:" (phone) } dir="ltr" { (phone) } }
            }
            p class="muted" { (texts::YOUR_USERNAME.get(lang)) span class="code" dir="ltr" { (user.username) } }
        },
    ))
}

/// A person's address and number, under their name.
fn person_address(lang: Lang, person: &Person) -> Markup {
    html! {
        p class="muted" { (person.street) ", " (person.village)
            @if let Some(number) = &person.number {
                " · " (texts::NUMBER.get(lang)) " " bdi { (number) }
            }
        }
    }
}

fn person_bookings(lang: Lang, bookings: &[Booking], resident: &str, tz: &str) -> Markup {
    let own: Vec<&Booking> = bookings
        .iter()
        .filter(|b| b.resident_id == resident)
        .collect();
    html! {
        @if own.is_empty() {
            p { (texts::NOTHING_PLANNED.get(lang)) }
        } @else {
            ul class="care-bookings" {
                @for b in own { (booking_card(lang, b, tz)) }
            }
        }
    }
}

fn person_actions(lang: Lang, person: &Person) -> Markup {
    let for_name = texts::FOR_NAME.fill(lang, &[("name", &person.name)]);
    html! {
        p class="care-actions" {
            a class="button" href={ "/care/people/" (person.id) "/ride" } { (texts::BOOK_RIDE.get(lang)) span class="care-sr" { (for_name) } }
            " "
            a class="button secondary" href={ "/care/people/" (person.id) "/counselling" } { (texts::BOOK_COUNSELLING.get(lang)) span class="care-sr" { (for_name) } }
        }
    }
}

/// `/care/people/{id}`: one person with their upcoming bookings.
async fn person_page(
    State(app): State<AppState>,
    lang: Lang,
    user: WebUser,
    Path(resident): Path<String>,
) -> Response {
    answer(lang, person_markup(app, lang, user, resident).await)
}

async fn person_markup(
    app: AppState,
    lang: Lang,
    user: WebUser,
    resident: String,
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
    Ok(page_in(
        lang,
        &format!("/care/people/{}", person.id),
        Some(&user),
        &person.name,
        html! {
            (person_address(lang, &person))
            (person_bookings(lang, &bookings, &person.id, &region.tz))
            (person_actions(lang, &person))
            p { a href="/care" { (texts::BACK_TO_PEOPLE.get(lang)) } }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_of_the_form_is_a_domain_topic_with_its_own_words() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, text) in texts::TOPICS {
            let topic: Result<crate::domain::counselling::Topic, _> =
                serde_json::from_value(serde_json::json!(code));
            assert!(topic.is_ok(), "{code}");
            for lang in Lang::ALL {
                assert_eq!(topic_text(lang, code), text.get(lang), "{code}");
                assert!(seen.insert((lang.tag(), text.get(lang))), "{code} twice");
            }
        }
        assert_eq!(topic_text(Lang::De, "money"), "Geld und Anträge");
        assert_eq!(topic_text(Lang::Tr, "unknown"), "Diğer");
    }

    #[test]
    fn a_no_show_warning_is_translated_with_its_numbers() {
        let rules = crate::rides::rules::RideRules {
            target_groups: Vec::new(),
            late_cancel_hours: 24,
            no_show_warning_at: 2,
            no_show_caregiver_only_at: 4,
            no_show_window_days: 180,
            early_minutes: 30.0,
            series_horizon_days: 28,
            replan_at: chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            replan_seconds: 30.0,
        };
        let notice = crate::rides::rules::check_no_shows(
            &rules,
            crate::rides::rules::Standing::Warned { no_shows: 2 },
            None,
        )
        .expect("a warning")
        .expect("a notice");
        let de = notice_text(Lang::De, &notice);
        assert!(de.starts_with("Sie sind 2 Mal"), "{de}");
        let uk = notice_text(Lang::Uk, &notice);
        assert!(uk.starts_with("Пропущено поїздок: 2."), "{uk}");
        let max = rules.no_show_caregiver_only_at.to_string();
        assert!(uk.contains(&format!("Після {max} пропусків")), "{uk}");
        let other = serde_json::json!({"code": "new_kind", "message_de": "Neu."});
        assert_eq!(notice_text(Lang::Ar, &other), "Neu.");
    }
}
