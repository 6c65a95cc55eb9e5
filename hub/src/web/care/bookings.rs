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
use super::super::layout::{csrf_field, input, notice, page, select};
use super::super::local_time;
use super::super::session::{CsrfForm, WebUser};
use super::{
    Booking, Carer, Kind, Person, RegionInfo, booking_by_code, carer, linked_person, region_info,
    status_text, what_text, window_text,
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
    user: WebUser,
    Path(resident): Path<String>,
) -> Result<Markup, WebError> {
    let (carer, person, _) = person_or_404(&app, &user, resident).await?;
    let places = app
        .store
        .run(move |conn| destinations(conn, &carer.region))
        .await?;
    let tomorrow = (Utc::now() + chrono::Duration::days(1))
        .date_naive()
        .to_string();
    Ok(page(
        Some(&user),
        &format!("Fahrt für {}", person.name),
        html! {
            p { "Abholung zu Hause: " (person.street) ", " (person.village) "." }
            form method="post" action={ "/care/people/" (person.id) "/ride" } class="care-form" {
                (csrf_field(&user))
                input type="hidden" name="ride_id" value=(Uuid::new_v4());
                (select("destination", "Wohin?", &places, "", true))
                (input("date", "An welchem Tag ist der Termin?", "date", &tomorrow, true, None))
                (input("time", "Um wie viel Uhr ist der Termin?", "time", "", true,
                       Some("Die Fahrt bringt die Person bis zu dieser Zeit hin.")))
                fieldset {
                    legend { "Was braucht die Person?" }
                    (checkbox("walker", "Rollator", person.walker))
                    (checkbox("wheelchair", "Rollstuhl", person.wheelchair))
                    (checkbox("companion", "Eine Begleitperson fährt mit", false))
                }
                button type="submit" { "Fahrt buchen" }
            }
            p { a href={ "/care/people/" (person.id) } { "Zurück" } }
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

fn bad(text: &str) -> WebError {
    WebError::BadRequest(text.to_string())
}

/// The appointment as an instant, from the form's local date and time.
fn appointment_of(form: &RideForm, tz: &str) -> Result<Instant, WebError> {
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Berlin);
    let date = NaiveDate::parse_from_str(form.date.trim(), "%Y-%m-%d")
        .map_err(|_| bad("Bitte geben Sie den Tag an, zum Beispiel 24.12.2026."))?;
    let time = NaiveTime::parse_from_str(form.time.trim(), "%H:%M")
        .map_err(|_| bad("Bitte geben Sie die Uhrzeit an, zum Beispiel 09:30."))?;
    let local = tz
        .from_local_datetime(&date.and_time(time))
        .single()
        .ok_or_else(|| bad("Diese Uhrzeit gibt es an dem Tag nicht (Zeitumstellung)."))?;
    let at = local.with_timezone(&Utc);
    if at <= Utc::now() {
        return Err(bad("Dieser Zeitpunkt liegt in der Vergangenheit."));
    }
    if at > Utc::now() + chrono::Duration::days(365) {
        return Err(bad(
            "Fahrten können höchstens ein Jahr im Voraus gebucht werden.",
        ));
    }
    Ok(Instant(at))
}

/// A refusal of the domain code in words a caregiver understands (the English detail goes to
/// the log only).
fn ride_refusal(e: StoreError) -> WebError {
    match e {
        StoreError::Invalid { field, reason } => {
            tracing::info!("web ride refused: {field}: {reason}");
            let text = match field.as_str() {
                "appointment_at" | "pickup_at" => {
                    "Zu dieser Zeit ist das Ziel geschlossen oder die Zeit kann nicht gebucht werden."
                }
                "wheelchair" => "Kein Fahrzeug der Region hat einen Rollstuhlplatz.",
                "resident_id" => {
                    "Der Fahrdienst kann diese Person nicht fahren (keine passende Zielgruppe). \
                     Bitte rufen Sie die Zentrale an."
                }
                "caregiver_id" => {
                    "Diese Fahrt kann so nicht gebucht werden. Bitte rufen Sie die Zentrale an."
                }
                _ => "Die Fahrt kann so nicht gebucht werden. Bitte prüfen Sie die Angaben.",
            };
            WebError::BadRequest(text.into())
        }
        StoreError::Conflict(_) => WebError::Conflict(
            "Dieses Formular wurde schon mit anderen Angaben gesendet. Bitte öffnen Sie das \
             Formular neu."
                .into(),
        ),
        other => other.into(),
    }
}

/// `POST /care/people/{id}/ride`: books the ride and shows its page.
pub(super) async fn book_ride(
    State(app): State<AppState>,
    Path(resident): Path<String>,
    CsrfForm(user, form): CsrfForm<RideForm>,
) -> Result<Response, WebError> {
    let (carer, person, region) = person_or_404(&app, &user, resident).await?;
    let id = Uuid::parse_str(form.ride_id.trim())
        .map_err(|_| bad("Das Formular ist unvollständig. Bitte öffnen Sie es neu."))?;
    let appointment = appointment_of(&form, &region.tz)?;
    let destination = form.destination.clone();
    let c = carer.clone();
    let known = app
        .store
        .run(move |conn| destinations(conn, &c.region))
        .await?
        .iter()
        .any(|(d, _)| *d == destination);
    if !known {
        return Err(bad("Bitte wählen Sie ein Ziel aus der Liste."));
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
        .map_err(ride_refusal)?;
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

const TOPICS: &[(&str, &str)] = &[
    ("health", "Gesundheit"),
    ("care", "Pflege"),
    ("money", "Geld und Anträge"),
    ("housing", "Wohnen"),
    ("loneliness", "Einsamkeit"),
    ("addiction", "Sucht"),
    ("family", "Familie"),
    ("other", "Sonstiges"),
];

/// `GET /care/people/{id}/counselling`: the free slots of the next visits in the village.
pub(super) async fn slot_form(
    State(app): State<AppState>,
    user: WebUser,
    Path(resident): Path<String>,
) -> Result<Markup, WebError> {
    let (_, person, region) = person_or_404(&app, &user, resident).await?;
    let village = person.village_id.clone();
    let slots = app
        .store
        .run(move |conn| free_slots(conn, &village))
        .await?;
    let topics: Vec<(String, String)> = TOPICS
        .iter()
        .map(|(v, l)| ((*v).to_string(), (*l).to_string()))
        .collect();
    Ok(page(
        Some(&user),
        &format!("Beratung für {}", person.name),
        html! {
            p { "Der IMBUS-Beratungsbus kommt nach " (person.village) ". Freie Termine:" }
            @if slots.is_empty() {
                (notice("warn", "Zurzeit sind keine Termine frei. Bitte schauen Sie später wieder oder rufen Sie die Zentrale an."))
            } @else {
                form method="post" action={ "/care/people/" (person.id) "/counselling" } class="care-form" {
                    (csrf_field(&user))
                    input type="hidden" name="appointment_id" value=(Uuid::new_v4());
                    fieldset {
                        legend { "Termin" }
                        @for (i, s) in slots.iter().enumerate() {
                            div class="field care-check" {
                                input id={ "slot-" (i) } type="radio" name="slot" value=(s.id) required checked[i == 0];
                                label for={ "slot-" (i) } { (local_time(&s.starts_at, &region.tz)) " Uhr, " (s.place) }
                            }
                        }
                    }
                    (select("topic", "Worum geht es?", &topics, "other", true))
                    button type="submit" { "Termin buchen" }
                }
            }
            p { a href={ "/care/people/" (person.id) } { "Zurück" } }
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
    Path(resident): Path<String>,
    CsrfForm(user, form): CsrfForm<SlotForm>,
) -> Result<Response, WebError> {
    let (carer, person, _) = person_or_404(&app, &user, resident).await?;
    let id = Uuid::parse_str(form.appointment_id.trim())
        .map_err(|_| bad("Das Formular ist unvollständig. Bitte öffnen Sie es neu."))?;
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
            StoreError::Conflict(_) => WebError::Conflict(
                "Dieser Termin ist gerade vergeben worden. Bitte wählen Sie einen anderen.".into(),
            ),
            other => other.into(),
        })?;
    let created = created.ok_or_else(|| {
        bad("Dieser Termin ist nicht frei. Bitte wählen Sie einen Termin aus der Liste.")
    })?;
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

/// The alternatives of a ride not served as asked, as buttons that move the ride there.
fn alternatives(user: &WebUser, b: &Booking, tz: &str) -> Markup {
    let Some(planning) = &b.planning else {
        return html! {};
    };
    let reason = planning["message_de"]
        .as_str()
        .unwrap_or("Die Fahrt ist noch nicht eingeplant.");
    let options = planning["alternatives"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    html! {
        (notice("warn", reason))
        @if options.is_empty() {
            p { "Die Zentrale ruft zurück und sucht eine Lösung." }
        } @else {
            p { "Diese Zeiten gehen:" }
            ul class="care-alternatives" {
                @for (i, alt) in options.iter().enumerate() {
                    li {
                        form method="post" action={ "/care/bookings/" (b.code) "/alternative" } {
                            (csrf_field(user))
                            input type="hidden" name="choice" value=(i);
                            button type="submit" class="secondary" { (alternative_text(alt, tz)) }
                        }
                    }
                }
            }
            p class="muted" { "Oder lassen Sie die Anfrage stehen: die Zentrale ruft zurück." }
        }
    }
}

/// An alternative in words: the arrival for an appointment ride (its pickup window is only the
/// request's wide range then), otherwise the pickup window.
fn alternative_text(alt: &Value, tz: &str) -> String {
    let day_and_time = |at: &str| {
        let text = local_time(at, tz);
        let (day, time) = text.split_once(", ").unwrap_or((&text, ""));
        (day.to_string(), time.to_string())
    };
    if let Some(arrive) = alt["arrive_by"].as_str() {
        let (day, time) = day_and_time(arrive);
        return format!("{day}: Ankunft bis {time} Uhr");
    }
    let start = alt["pickup_window_start"].as_str().unwrap_or_default();
    let end = alt["pickup_window_end"].as_str().unwrap_or_default();
    let (day, _) = day_and_time(start);
    let window = window_text(&(start.to_string(), end.to_string()), tz);
    format!("{day}: Abholung {window}")
}

/// `GET /care/bookings/{code}`: what, when, where, the pickup window or the alternatives, the
/// ticket and the cancel button.
pub(super) async fn booking_page(
    State(app): State<AppState>,
    user: WebUser,
    Path(code): Path<String>,
) -> Result<Markup, WebError> {
    let (_, b, region) = booking_or_404(&app, &user, code).await?;
    let title = match b.kind {
        Kind::Ride => "Fahrt",
        Kind::Appointment => "Beratungstermin",
    };
    Ok(page(
        Some(&user),
        &format!("{title} für {}", b.resident_name),
        html! {
            @if b.kind == Kind::Ride && b.status == "requested" {
                (alternatives(&user, &b, &region.tz))
            }
            @if b.kind == Kind::Ride && b.window.is_some() && b.status != "cancelled" {
                (notice("ok", "Die Fahrt ist gebucht."))
            }
            @if let Some(text) = &b.notice {
                (notice("warn", text))
            }
            @if b.outcome.as_deref() == Some("late_cancellation") {
                (notice("warn", "Die Absage kam kurzfristig und ist als späte Absage vermerkt."))
            }
            dl class="care-facts" {
                dt { "Buchungscode" } dd class="code" { (b.code) }
                dt { "Was" } dd { (what_text(&b)) }
                dt { "Wann" } dd { (local_time(&b.at, &region.tz)) " Uhr" }
                @if b.kind == Kind::Ride {
                    dt { "Abholung" } dd { (b.from) }
                    dt { "Abholzeit" } dd {
                        @if let Some(window) = &b.window { "zwischen " (window_text(window, &region.tz)) }
                        @else { "noch offen" }
                    }
                } @else {
                    dt { "Wo" } dd { (b.from) }
                }
                dt { "Stand" } dd { (status_text(b.kind, &b.status)) }
            }
            p { a class="button" href={ "/care/tickets/" (b.code) ".pdf" } { "Fahrschein als PDF (drucken oder speichern)" } }
            @if cancellable(&b) {
                form method="post" action={ "/care/bookings/" (b.code) "/cancel" } data-confirm="Wirklich absagen?" {
                    (csrf_field(&user))
                    button type="submit" class="danger" { "Absagen" }
                }
            }
            p { a href={ "/care/people/" (b.resident_id) } { "Zurück zu " (b.resident_name) } }
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
    Path(code): Path<String>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let (_, b, _) = booking_or_404(&app, &user, code).await?;
    if b.status == "cancelled" {
        return Ok(Redirect::to(&format!("/care/bookings/{}", b.code)).into_response());
    }
    if !cancellable(&b) {
        return Err(WebError::Conflict(
            "Dieser Termin hat schon stattgefunden und kann nicht mehr abgesagt werden.".into(),
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
    Path(code): Path<String>,
    CsrfForm(user, form): CsrfForm<AlternativeForm>,
) -> Result<Response, WebError> {
    let (_, b, region) = booking_or_404(&app, &user, code).await?;
    let alt = b
        .planning
        .as_ref()
        .filter(|_| b.kind == Kind::Ride && b.status == "requested")
        .and_then(|p| p["alternatives"].get(form.choice).cloned())
        .ok_or_else(|| bad("Diese Möglichkeit gibt es nicht mehr."))?;
    let at = moved_appointment(&alt, &b.at, &region.tz)
        .ok_or_else(|| bad("Diese Möglichkeit gibt es nicht mehr."))?;
    let mut patch = Map::new();
    patch.insert("appointment_at".into(), json!(at.text()));
    let who: Who = user.who();
    let id = b.id.clone();
    app.store
        .run(move |conn| records::update::<RideRequest>(conn, &who, &id, patch))
        .await
        .map_err(ride_refusal)?;
    Ok(Redirect::to(&format!("/care/bookings/{}", b.code)).into_response())
}
