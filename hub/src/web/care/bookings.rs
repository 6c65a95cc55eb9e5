//! Booking for a linked resident: a ride from home to a destination of the region (planned at
//! once, so the answer is the pickup window or the refusal with alternatives), a free counselling
//! slot of the next published IMBUS visits in the resident's village (never a kiosk's share),
//! the booking's page, and cancelling through the same domain code as the API's cancel.
//!
//! Every form carries a client-made UUID in a hidden field, so a second submit of the same form
//! repeats the create and books nothing twice.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use maud::{Markup, html};
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::super::error::WebError;
use super::super::i18n::{DATE_TIME_SEPARATOR, Lang, Text, local_time_in};
use super::super::layout::{csrf_field, input, notice, page_in, select};
use super::super::session::{CsrfForm, WebUser};
use super::{
    Booking, Carer, Kind, Person, RegionInfo, answer, at_clock, between_text, booking_by_code,
    carer, linked_person, notice_text, place_text, region_info, sent_form, status_text, texts,
    what_text, window_text,
};
use crate::api::AppState;
use crate::domain::common::Instant;
use crate::domain::counselling::{AppointmentChannel, AppointmentStatus, Topic};
use crate::domain::rides::{Channel, RideStatus};
use crate::domain::{Appointment, RideRequest};
use crate::store::logs::Who;
use crate::store::{StoreError, StoreResult, records};

/// Reads the linked person, or answers 404.
async fn person_or_404(
    app: &AppState,
    user: &WebUser,
    resident: String,
) -> Result<(Carer, Person, RegionInfo), WebError> {
    let carer = carer(user)?;
    let who = user.who();
    let c = carer.clone();
    let (person, region) = app
        .store
        .run(move |conn| {
            let person = linked_person(conn, &who, &c, &resident)?;
            Ok((person, region_info(conn, &c.region)?))
        })
        .await?;
    Ok((carer, person.ok_or(WebError::NotFound)?, region))
}

/// The region's live destinations (id, "name, city").
fn destinations(conn: &Connection, region: &str) -> StoreResult<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT id, name || ', ' || city FROM destinations
         WHERE region_id = ?1 AND archived_at IS NULL ORDER BY name",
    )?;
    let rows = stmt
        .query_map([region], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn checkbox(name: &str, label: &str, checked: bool) -> Markup {
    let id = format!("f-{name}");
    html! {
        div class="field care-check" {
            input id=(id) type="checkbox" name=(name) value="yes" checked[checked];
            label for=(id) { (label) }
        }
    }
}

/// `GET /care/people/{id}/ride`: the ride form, like the kiosk's.
pub(super) async fn ride_form(
    State(app): State<AppState>,
    lang: Lang,
    user: WebUser,
    Path(resident): Path<String>,
) -> Response {
    answer(lang, ride_form_page(app, lang, user, resident).await)
}

async fn ride_form_page(
    app: AppState,
    lang: Lang,
    user: WebUser,
    resident: String,
) -> Result<Markup, WebError> {
    let (carer, person, _) = person_or_404(&app, &user, resident).await?;
    let places = app
        .store
        .run(move |conn| destinations(conn, &carer.region))
        .await?;
    let tomorrow = (Utc::now() + chrono::Duration::days(1))
        .date_naive()
        .to_string();
    let address = format!("{}, {}", person.street, person.village);
    Ok(page_in(
        lang,
        &format!("/care/people/{}/ride", person.id),
        Some(&user),
        &texts::RIDE_FOR.fill(lang, &[("name", &person.name)]),
        html! {
            p { (texts::PICKUP_AT_HOME.fill(lang, &[("address", &address)])) }
            form method="post" action={ "/care/people/" (person.id) "/ride" } class="care-form" {
                (csrf_field(&user))
                input type="hidden" name="ride_id" value=(Uuid::new_v4());
                (select("destination", texts::WHERE_TO.get(lang), &places, "", true))
                (input("date", texts::WHICH_DAY.get(lang), "date", &tomorrow, true, None))
                (input("time", texts::WHAT_TIME.get(lang), "time", "", true,
                       Some(texts::ARRIVE_BY_HINT.get(lang))))
                fieldset {
                    legend { (texts::NEEDS.get(lang)) }
                    (checkbox("walker", texts::WALKER.get(lang), person.walker))
                    (checkbox("wheelchair", texts::WHEELCHAIR.get(lang), person.wheelchair))
                    (checkbox("companion", texts::COMPANION.get(lang), false))
                }
                button type="submit" { (texts::BOOK_RIDE.get(lang)) }
            }
            p { a href={ "/care/people/" (person.id) } { (texts::BACK.get(lang)) } }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct RideForm {
    #[serde(default)]
    ride_id: String,
    #[serde(default)]
    destination: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    walker: Option<String>,
    #[serde(default)]
    wheelchair: Option<String>,
    #[serde(default)]
    companion: Option<String>,
}

fn bad(lang: Lang, text: Text) -> WebError {
    WebError::BadRequest(text.get(lang).to_string())
}

/// The appointment as an instant, from the form's local date and time.
fn appointment_of(lang: Lang, form: &RideForm, tz: &str) -> Result<Instant, WebError> {
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Berlin);
    let date = NaiveDate::parse_from_str(form.date.trim(), "%Y-%m-%d")
        .map_err(|_| bad(lang, texts::GIVE_DAY))?;
    let time = NaiveTime::parse_from_str(form.time.trim(), "%H:%M")
        .map_err(|_| bad(lang, texts::GIVE_TIME))?;
    let local = tz
        .from_local_datetime(&date.and_time(time))
        .single()
        .ok_or_else(|| bad(lang, texts::NO_SUCH_TIME))?;
    let at = local.with_timezone(&Utc);
    if at <= Utc::now() {
        return Err(bad(lang, texts::IN_THE_PAST));
    }
    if at > Utc::now() + chrono::Duration::days(365) {
        return Err(bad(lang, texts::TOO_FAR_AHEAD));
    }
    Ok(Instant(at))
}

/// A refusal of the domain code in words a caregiver understands (the English detail goes to
/// the log only).
fn ride_refusal(lang: Lang, e: StoreError) -> WebError {
    match e {
        StoreError::Invalid { field, reason } => {
            tracing::info!("web ride refused: {field}: {reason}");
            let text = match field.as_str() {
                "appointment_at" | "pickup_at" => texts::DESTINATION_CLOSED,
                "wheelchair" => texts::NO_WHEELCHAIR_VEHICLE,
                "resident_id" => texts::NOT_IN_TARGET_GROUP,
                "caregiver_id" => texts::CALL_THE_OFFICE,
                _ => texts::CHECK_THE_RIDE,
            };
            bad(lang, text)
        }
        StoreError::Conflict(_) => WebError::Conflict(texts::SENT_BEFORE.get(lang).into()),
        other => other.into(),
    }
}

/// `POST /care/people/{id}/ride`: books the ride and shows its page.
pub(super) async fn book_ride(
    State(app): State<AppState>,
    lang: Lang,
    Path(resident): Path<String>,
    form: Result<CsrfForm<RideForm>, WebError>,
) -> Response {
    answer(lang, take_ride(app, lang, resident, form).await)
}

async fn take_ride(
    app: AppState,
    lang: Lang,
    resident: String,
    form: Result<CsrfForm<RideForm>, WebError>,
) -> Result<Response, WebError> {
    let (user, form) = sent_form(lang, form)?;
    let (carer, person, region) = person_or_404(&app, &user, resident).await?;
    let id = Uuid::parse_str(form.ride_id.trim()).map_err(|_| bad(lang, texts::FORM_INCOMPLETE))?;
    let appointment = appointment_of(lang, &form, &region.tz)?;
    let destination = form.destination.clone();
    let c = carer.clone();
    let known = app
        .store
        .run(move |conn| destinations(conn, &c.region))
        .await?
        .iter()
        .any(|(d, _)| *d == destination);
    if !known {
        return Err(bad(lang, texts::CHOOSE_DESTINATION));
    }
    let ride = RideRequest {
        region_id: carer.region.clone(),
        resident_id: person.id.clone(),
        from_stop_id: None,
        from_destination_id: None,
        from_home: true,
        to_stop_id: None,
        to_destination_id: Some(form.destination.clone()),
        to_home: false,
        appointment_at: Some(appointment),
        pickup_at: None,
        return_of: None,
        passengers: if form.companion.is_some() { 2 } else { 1 },
        wheelchair: form.wheelchair.is_some(),
        walker: form.walker.is_some(),
        status: RideStatus::Requested,
        channel: Channel::Web,
        caregiver_id: Some(carer.id.clone()),
    };
    let who = user.who();
    let created = app
        .store
        .run(move |conn| records::create(conn, &who, Some(id), &ride))
        .await
        .map_err(|e| ride_refusal(lang, e))?;
    to_booking(&created.record)
}

/// Sends the browser to the page of the booking `record`.
fn to_booking(record: &Value) -> Result<Response, WebError> {
    let code = record["booking_code"]
        .as_str()
        .ok_or_else(|| WebError::Internal("booking without code".into()))?;
    Ok(Redirect::to(&format!("/care/bookings/{code}")).into_response())
}

/// A free slot as offered.
struct FreeSlot {
    id: String,
    starts_at: String,
    place: String,
}

/// Free slots of published IMBUS visits in `village` from now on, the kiosks' shares left out.
fn free_slots(conn: &Connection, village: &str) -> StoreResult<Vec<FreeSlot>> {
    let now = crate::store::now_text();
    let mut stmt = conn.prepare(
        "SELECT s.id, s.starts_at, st.name
         FROM slots s
         JOIN imbus_visits v ON v.id = s.visit_id
         JOIN stops st ON st.id = v.stop_id
         WHERE v.village_id = ?1 AND v.status = 'published' AND s.status = 'open'
           AND s.reserved_for_device_id IS NULL AND s.starts_at > ?2
           AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id
                           AND a.status <> 'cancelled')
         ORDER BY s.starts_at LIMIT 30",
    )?;
    let rows = stmt
        .query_map(params![village, now], |r| {
            Ok(FreeSlot {
                id: r.get(0)?,
                starts_at: r.get(1)?,
                place: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// `GET /care/people/{id}/counselling`: the free slots of the next visits in the village.
pub(super) async fn slot_form(
    State(app): State<AppState>,
    lang: Lang,
    user: WebUser,
    Path(resident): Path<String>,
) -> Response {
    answer(lang, slot_form_page(app, lang, user, resident).await)
}

async fn slot_form_page(
    app: AppState,
    lang: Lang,
    user: WebUser,
    resident: String,
) -> Result<Markup, WebError> {
    let (_, person, region) = person_or_404(&app, &user, resident).await?;
    let village = person.village_id.clone();
    let slots = app
        .store
        .run(move |conn| free_slots(conn, &village))
        .await?;
    let topics: Vec<(String, String)> = texts::TOPICS
        .iter()
        .map(|(v, l)| ((*v).to_string(), l.get(lang).to_string()))
        .collect();
    Ok(page_in(
        lang,
        &format!("/care/people/{}/counselling", person.id),
        Some(&user),
        &texts::COUNSELLING_FOR.fill(lang, &[("name", &person.name)]),
        html! {
            p { (texts::BUS_COMES.fill(lang, &[("village", &person.village)])) }
            @if slots.is_empty() {
                (notice("warn", texts::NO_FREE_SLOTS.get(lang)))
            } @else {
                form method="post" action={ "/care/people/" (person.id) "/counselling" } class="care-form" {
                    (csrf_field(&user))
                    input type="hidden" name="appointment_id" value=(Uuid::new_v4());
                    fieldset {
                        legend { (texts::APPOINTMENT.get(lang)) }
                        @for (i, s) in slots.iter().enumerate() {
                            div class="field care-check" {
                                input id={ "slot-" (i) } type="radio" name="slot" value=(s.id) required checked[i == 0];
                                label for={ "slot-" (i) } { (at_clock(lang, &s.starts_at, &region.tz)) ", " (s.place) }
                            }
                        }
                    }
                    (select("topic", texts::WHAT_ABOUT.get(lang), &topics, "other", true))
                    button type="submit" { (texts::BOOK_APPOINTMENT.get(lang)) }
                }
            }
            p { a href={ "/care/people/" (person.id) } { (texts::BACK.get(lang)) } }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct SlotForm {
    #[serde(default)]
    appointment_id: String,
    #[serde(default)]
    slot: String,
    topic: Topic,
}

/// `POST /care/people/{id}/counselling`: books the chosen free slot.
pub(super) async fn book_slot(
    State(app): State<AppState>,
    lang: Lang,
    Path(resident): Path<String>,
    form: Result<CsrfForm<SlotForm>, WebError>,
) -> Response {
    answer(lang, take_slot(app, lang, resident, form).await)
}

async fn take_slot(
    app: AppState,
    lang: Lang,
    resident: String,
    form: Result<CsrfForm<SlotForm>, WebError>,
) -> Result<Response, WebError> {
    let (user, form) = sent_form(lang, form)?;
    let (carer, person, _) = person_or_404(&app, &user, resident).await?;
    let id = Uuid::parse_str(form.appointment_id.trim())
        .map_err(|_| bad(lang, texts::FORM_INCOMPLETE))?;
    let appointment = Appointment {
        region_id: carer.region.clone(),
        slot_id: form.slot.clone(),
        resident_id: Some(person.id.clone()),
        topic: form.topic,
        channel: AppointmentChannel::Web,
        status: AppointmentStatus::Booked,
        referral: None,
    };
    let who = user.who();
    let village = person.village_id.clone();
    let created = app
        .store
        .run(move |conn| {
            // A repeat of this form gets its first answer even though the slot is taken now.
            let repeat = records::exists(conn, "appointments", &id.to_string())?;
            let offered = free_slots(conn, &village)?
                .iter()
                .any(|s| s.id == appointment.slot_id);
            if !repeat && !offered {
                return Ok(None);
            }
            records::create(conn, &who, Some(id), &appointment).map(Some)
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => WebError::Conflict(texts::SLOT_JUST_TAKEN.get(lang).into()),
            other => other.into(),
        })?;
    let created = created.ok_or_else(|| bad(lang, texts::SLOT_NOT_FREE))?;
    to_booking(&created.record)
}

/// Reads a booking of the caregiver's people by code, or answers 404.
async fn booking_or_404(
    app: &AppState,
    user: &WebUser,
    code: String,
) -> Result<(Carer, Booking, RegionInfo), WebError> {
    let carer = carer(user)?;
    let who = user.who();
    let c = carer.clone();
    let (booking, region) = app
        .store
        .run(move |conn| {
            let booking = booking_by_code(conn, &who, &c, &code)?;
            Ok((booking, region_info(conn, &c.region)?))
        })
        .await?;
    Ok((carer, booking.ok_or(WebError::NotFound)?, region))
}

/// Whether a booking can still be cancelled.
fn cancellable(b: &Booking) -> bool {
    matches!(
        b.status.as_str(),
        "requested" | "planned" | "confirmed" | "booked"
    )
}

/// Why a ride is not planned: the planner's German as stored, or the reason in `lang`.
fn reason_text(lang: Lang, planning: &Value) -> String {
    if lang == Lang::De {
        return planning["message_de"]
            .as_str()
            .unwrap_or(texts::NOT_PLANNED.de)
            .to_string();
    }
    let code = planning["reason"].as_str().unwrap_or_default();
    texts::REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(texts::NOT_PLANNED, |(_, text)| *text)
        .get(lang)
        .to_string()
}

/// The alternatives of a ride not served as asked, as buttons that move the ride there.
fn alternatives(lang: Lang, user: &WebUser, b: &Booking, tz: &str) -> Markup {
    let Some(planning) = &b.planning else {
        return html! {};
    };
    let options = planning["alternatives"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    html! {
        (notice("warn", &reason_text(lang, planning)))
        @if options.is_empty() {
            p { (texts::OFFICE_CALLS_BACK.get(lang)) }
        } @else {
            p { (texts::THESE_TIMES.get(lang)) }
            ul class="care-alternatives" {
                @for (i, alt) in options.iter().enumerate() {
                    li {
                        form method="post" action={ "/care/bookings/" (b.code) "/alternative" } {
                            (csrf_field(user))
                            input type="hidden" name="choice" value=(i);
                            button type="submit" class="secondary" { (alternative_text(lang, alt, tz)) }
                        }
                    }
                }
            }
            p class="muted" { (texts::OR_WAIT.get(lang)) }
        }
    }
}

/// An alternative in words: the arrival for an appointment ride (its pickup window is only the
/// request's wide range then), otherwise the pickup window.
fn alternative_text(lang: Lang, alt: &Value, tz: &str) -> String {
    let day_and_time = |at: &str| {
        let text = local_time_in(lang, at, tz);
        let (day, time) = text
            .split_once(DATE_TIME_SEPARATOR.get(lang))
            .unwrap_or((&text, ""));
        (day.to_string(), time.to_string())
    };
    if let Some(arrive) = alt["arrive_by"].as_str() {
        let (day, time) = day_and_time(arrive);
        return texts::ARRIVE_BY.fill(lang, &[("day", &day), ("time", &time)]);
    }
    let start = alt["pickup_window_start"].as_str().unwrap_or_default();
    let end = alt["pickup_window_end"].as_str().unwrap_or_default();
    let (day, _) = day_and_time(start);
    let window = window_text(lang, &(start.to_string(), end.to_string()), tz);
    texts::PICKUP_WINDOW_ON.fill(lang, &[("day", &day), ("window", &window)])
}

/// `GET /care/bookings/{code}`: what, when, where, the pickup window or the alternatives, the
/// ticket and the cancel button.
pub(super) async fn booking_page(
    State(app): State<AppState>,
    lang: Lang,
    user: WebUser,
    Path(code): Path<String>,
) -> Response {
    answer(lang, booking_markup(app, lang, user, code).await)
}

async fn booking_markup(
    app: AppState,
    lang: Lang,
    user: WebUser,
    code: String,
) -> Result<Markup, WebError> {
    let (_, b, region) = booking_or_404(&app, &user, code).await?;
    let title = match b.kind {
        Kind::Ride => texts::RIDE_FOR,
        Kind::Appointment => texts::APPOINTMENT_FOR,
    };
    Ok(page_in(
        lang,
        &format!("/care/bookings/{}", b.code),
        Some(&user),
        &title.fill(lang, &[("name", &b.resident_name)]),
        html! {
            @if b.kind == Kind::Ride && b.status == "requested" {
                (alternatives(lang, &user, &b, &region.tz))
            }
            @if b.kind == Kind::Ride && b.window.is_some() && b.status != "cancelled" {
                (notice("ok", texts::RIDE_BOOKED.get(lang)))
            }
            @if let Some(stored) = &b.notice {
                (notice("warn", &notice_text(lang, stored)))
            }
            @if b.outcome.as_deref() == Some("late_cancellation") {
                (notice("warn", texts::LATE_CANCELLATION.get(lang)))
            }
            dl class="care-facts" {
                dt { (texts::BOOKING_CODE.get(lang)) } dd class="code" { bdi { (b.code) } }
                dt { (texts::WHAT.get(lang)) } dd { (what_text(lang, &b)) }
                dt { (texts::WHEN.get(lang)) } dd { (at_clock(lang, &b.at, &region.tz)) }
                @if b.kind == Kind::Ride {
                    dt { (texts::PICKUP.get(lang)) } dd { (place_text(lang, &b.from)) }
                    dt { (texts::PICKUP_TIME.get(lang)) } dd {
                        @if let Some(window) = &b.window { (between_text(lang, window, &region.tz)) }
                        @else { (texts::NOT_KNOWN_YET.get(lang)) }
                    }
                } @else {
                    dt { (texts::WHERE.get(lang)) } dd { (place_text(lang, &b.from)) }
                }
                dt { (texts::STATUS.get(lang)) } dd { (status_text(lang, b.kind, &b.status)) }
            }
            p { a class="button" href={ "/care/tickets/" (b.code) ".pdf" } { (texts::TICKET_PDF.get(lang)) } }
            @if cancellable(&b) {
                form method="post" action={ "/care/bookings/" (b.code) "/cancel" } data-confirm=(texts::REALLY_CANCEL.get(lang)) {
                    (csrf_field(&user))
                    button type="submit" class="danger" { (texts::CANCEL.get(lang)) }
                }
            }
            p { a href={ "/care/people/" (b.resident_id) } { (texts::BACK_TO.fill(lang, &[("name", &b.resident_name)])) } }
        },
    ))
}

/// The reason stored with a ride a caregiver cancelled.
const CANCEL_REASON: &str = "cancelled by the caregiver on the web";

#[derive(Debug, Deserialize)]
pub(super) struct Empty {}

/// `POST /care/bookings/{code}/cancel`: through the domain cancel (late-cancellation rule, freed
/// stops or slot, audit and change log).
pub(super) async fn cancel(
    State(app): State<AppState>,
    lang: Lang,
    Path(code): Path<String>,
    form: Result<CsrfForm<Empty>, WebError>,
) -> Response {
    answer(lang, take_cancel(app, lang, code, form).await)
}

async fn take_cancel(
    app: AppState,
    lang: Lang,
    code: String,
    form: Result<CsrfForm<Empty>, WebError>,
) -> Result<Response, WebError> {
    let (user, Empty {}) = sent_form(lang, form)?;
    let (_, b, _) = booking_or_404(&app, &user, code).await?;
    if b.status == "cancelled" {
        return Ok(Redirect::to(&format!("/care/bookings/{}", b.code)).into_response());
    }
    if !cancellable(&b) {
        return Err(WebError::Conflict(
            texts::TOO_LATE_TO_CANCEL.get(lang).into(),
        ));
    }
    let who = user.who();
    let (kind, id) = (b.kind, b.id.clone());
    app.store
        .run(move |conn| match kind {
            Kind::Ride => records::cancel::<RideRequest>(conn, &who, &id, Some(CANCEL_REASON)),
            Kind::Appointment => records::cancel::<Appointment>(conn, &who, &id, None),
        })
        .await?;
    Ok(Redirect::to(&format!("/care/bookings/{}", b.code)).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct AlternativeForm {
    choice: usize,
}

/// The appointment time an alternative stands for: moved by its shift on the same day, or the
/// same local time on another day.
fn moved_appointment(alt: &Value, appointment: &str, tz: &str) -> Option<Instant> {
    let at: Instant = appointment.parse().ok()?;
    if let Some(shift) = alt["shift_minutes"].as_i64() {
        return Some(Instant(at.0 + chrono::Duration::minutes(shift)));
    }
    let date = NaiveDate::parse_from_str(alt["date"].as_str()?, "%Y-%m-%d").ok()?;
    let tz: chrono_tz::Tz = tz.parse().ok()?;
    let time = at.local(tz).time();
    let local = tz.from_local_datetime(&date.and_time(time)).single()?;
    Some(Instant(local.with_timezone(&Utc)))
}

/// `POST /care/bookings/{code}/alternative`: moves a ride not served as asked to the chosen
/// alternative; it is planned again at once.
pub(super) async fn take_alternative(
    State(app): State<AppState>,
    lang: Lang,
    Path(code): Path<String>,
    form: Result<CsrfForm<AlternativeForm>, WebError>,
) -> Response {
    answer(lang, move_to_alternative(app, lang, code, form).await)
}

async fn move_to_alternative(
    app: AppState,
    lang: Lang,
    code: String,
    form: Result<CsrfForm<AlternativeForm>, WebError>,
) -> Result<Response, WebError> {
    let (user, form) = sent_form(lang, form)?;
    let (_, b, region) = booking_or_404(&app, &user, code).await?;
    let alt = b
        .planning
        .as_ref()
        .filter(|_| b.kind == Kind::Ride && b.status == "requested")
        .and_then(|p| p["alternatives"].get(form.choice).cloned())
        .ok_or_else(|| bad(lang, texts::OPTION_GONE))?;
    let at =
        moved_appointment(&alt, &b.at, &region.tz).ok_or_else(|| bad(lang, texts::OPTION_GONE))?;
    let mut patch = Map::new();
    patch.insert("appointment_at".into(), json!(at.text()));
    let who: Who = user.who();
    let id = b.id.clone();
    app.store
        .run(move |conn| records::update::<RideRequest>(conn, &who, &id, patch))
        .await
        .map_err(|e| ride_refusal(lang, e))?;
    Ok(Redirect::to(&format!("/care/bookings/{}", b.code)).into_response())
}
