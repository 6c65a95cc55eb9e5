//! Rides in the console (`/console/rides`), for administrators and dispatchers of the region: the
//! day per vehicle and the call-back queue (`day.rs`), booking on the phone for a caller
//! (`book.rs`), and moving, cancelling, no-shows and re-optimising (`actions.rs`). Every write goes through the domain
//! code (`store::records`, `rides::replan`), so a ride planned here is planned exactly as one
//! booked through the API or at a kiosk.

mod actions;
mod book;
mod day;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use maud::{Markup, html};
use serde_json::Value;

use super::error::WebError;
use super::layout::csrf_field;
use super::session::WebUser;
use crate::api::AppState;
use crate::domain::Role;
use crate::domain::common::{Instant, local_to_instant};
use crate::store::StoreError;
use crate::store::records::MAX_TEXT_CHARS;

/// Who works with rides.
const ROLES: &[Role] = &[Role::Admin, Role::Dispatcher];

/// The ride pages of the console.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/rides", get(day::show))
        .route("/console/rides/book", get(book::form).post(book::submit))
        .route("/console/rides/replan", post(actions::replan))
        .route(
            "/console/rides/call-backs/{id}/done",
            post(day::resolve_call_back),
        )
        .route("/console/rides/{id}", get(actions::show))
        .route("/console/rides/{id}/move", post(actions::move_ride))
        .route("/console/rides/{id}/cancel", post(actions::cancel))
        .route("/console/rides/{id}/no-show", post(actions::no_show))
}

/// A date as the date input sends it (`YYYY-MM-DD`); 2026-02-30 does not exist and is refused.
fn parse_date(text: &str) -> Result<NaiveDate, WebError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|_| text.trim().len() == 10)
        .ok_or_else(|| {
            WebError::BadRequest(format!(
                "„{}“ ist kein gültiges Datum (Form JJJJ-MM-TT, z. B. 2026-11-23).",
                clip(text)
            ))
        })
}

/// A wall-clock time as the time input sends it (`HH:MM`); 25:00 is refused.
fn parse_time(text: &str) -> Result<NaiveTime, WebError> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .ok()
        .filter(|_| text.trim().len() == 5)
        .ok_or_else(|| {
            WebError::BadRequest(format!(
                "„{}“ ist keine gültige Uhrzeit (Form SS:MM, z. B. 09:30).",
                clip(text)
            ))
        })
}

/// The start of a long input, for a message that names it without echoing all of it.
fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A local date and time of the region as an instant that lies ahead.
fn future_instant(tz: &str, date: NaiveDate, time: NaiveTime) -> Result<Instant, WebError> {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Berlin);
    let at = local_to_instant(zone, date, time).map_err(|_| {
        WebError::BadRequest(format!(
            "{} {} gibt es an diesem Tag nicht (Zeitumstellung).",
            date.format("%d.%m.%Y"),
            time.format("%H:%M")
        ))
    })?;
    if at.0 < Utc::now() {
        return Err(WebError::BadRequest(
            "Diese Zeit liegt in der Vergangenheit. Bitte eine Zeit in der Zukunft wählen.".into(),
        ));
    }
    Ok(at)
}

/// Refuses a text longer than the store takes anywhere.
fn check_length(label: &str, text: &str) -> Result<(), WebError> {
    if text.chars().count() > MAX_TEXT_CHARS {
        Err(WebError::BadRequest(format!(
            "{label} ist zu lang (höchstens {MAX_TEXT_CHARS} Zeichen)."
        )))
    } else {
        Ok(())
    }
}

/// Today's date in the region's time zone.
fn today_in(tz: &str) -> NaiveDate {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Berlin);
    Utc::now().with_timezone(&zone).date_naive()
}

/// An instant's local date in the region's time zone.
fn local_date(instant: &str, tz: &str) -> Option<NaiveDate> {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Berlin);
    DateTime::parse_from_rfc3339(instant)
        .ok()
        .map(|t| t.with_timezone(&zone).date_naive())
}

/// An instant's local wall-clock time, `HH:MM`.
fn clock(instant: &str, tz: &str) -> String {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Berlin);
    DateTime::parse_from_rfc3339(instant)
        .map(|t| t.with_timezone(&zone).format("%H:%M").to_string())
        .unwrap_or_else(|_| instant.to_string())
}

/// A domain refusal in words for the page: the store names the field and reason (English), the
/// page says what it is about.
fn refused(e: StoreError) -> WebError {
    match e {
        StoreError::Invalid { field, reason } => WebError::BadRequest(format!(
            "Die Fahrt ist so nicht möglich: {}: {}.",
            field_label(&field),
            reason_in_german(&reason)
        )),
        other => other.into(),
    }
}

/// The domain's refusals about rides in German; others are shown as the store words them.
fn reason_in_german(reason: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("lies in the past", "liegt in der Vergangenheit"),
        ("more than a year ahead", "liegt mehr als ein Jahr voraus"),
        (
            "opening hours",
            "liegt außerhalb der Öffnungszeiten des Ziels",
        ),
        (
            "wheelchair place",
            "kein Fahrzeug der Region hat einen Rollstuhlplatz",
        ),
        ("somewhere else", "Start und Ziel müssen verschieden sein"),
        (
            "target groups",
            "die Person gehört zu keiner Zielgruppe der Region; bitte die zutreffende Gruppe bei \
             der Person eintragen",
        ),
        (
            "only through a caregiver",
            "nach mehreren versäumten Fahrten kann nur noch eine Kümmerin oder ein Kümmerer buchen",
        ),
        (
            "must come after the pickup",
            "der Termin muss nach der Abholung liegen",
        ),
        (
            "after the outbound",
            "die Rückfahrt muss nach dem Termin der Hinfahrt beginnen",
        ),
        (
            "cannot be moved",
            "die Fahrt ist nicht mehr offen und kann nicht verlegt werden",
        ),
        (
            "cannot be cancelled",
            "die Fahrt ist nicht mehr offen und kann nicht abgesagt werden",
        ),
        ("has not begun", "das Abholfenster hat noch nicht begonnen"),
        (
            "can be missed",
            "nur eine geplante oder bestätigte Fahrt kann als nicht erschienen gelten",
        ),
    ];
    KNOWN
        .iter()
        .find(|(english, _)| reason.contains(english))
        .map_or_else(|| reason.to_string(), |(_, german)| (*german).to_string())
}

/// German names of the ride fields a refusal may name.
fn field_label(field: &str) -> &str {
    match field {
        "appointment_at" => "Termin",
        "pickup_at" => "Abholzeit",
        "resident_id" => "Fahrgast",
        "from_stop_id" | "from_destination_id" | "from_home" => "Start",
        "to_stop_id" | "to_destination_id" | "to_home" => "Ziel",
        "passengers" => "Personen",
        "wheelchair" => "Rollstuhl",
        "status" => "Status",
        "return_of" => "Rückfahrt",
        other => other,
    }
}

/// German words for a ride's status.
fn status_text(status: &str) -> &'static str {
    match status {
        "requested" => "angefragt",
        "planned" => "geplant",
        "confirmed" => "bestätigt",
        "picked_up" => "abgeholt",
        "done" => "erledigt",
        "no_show" => "nicht erschienen",
        "cancelled" => "abgesagt",
        _ => "unbekannt",
    }
}

/// German words for the channel a ride was booked through.
fn channel_text(channel: &str) -> &'static str {
    match channel {
        "kiosk" => "Kiosk",
        "web" => "Internet",
        "phone" => "Telefon",
        _ => "unbekannt",
    }
}

/// German words for how a ride ended.
fn outcome_text(outcome: &str) -> &'static str {
    match outcome {
        "done" => "gefahren",
        "cancelled" => "rechtzeitig abgesagt",
        "late_cancellation" => "zu spät abgesagt",
        "no_show" => "nicht erschienen",
        "turned_down" => "nach Rückruf abgelehnt",
        _ => "",
    }
}

/// The first name of a person: enough for a run list, no more.
fn first_name(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The text field of a JSON record.
fn text<'a>(record: &'a Value, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

/// The planner's answer to a booking or change, as the kiosk and the API give it: the promised
/// pickup window, or the reason with the alternatives (each a button that books it).
fn answer(user: &WebUser, record: &Value, tz: &str) -> Markup {
    let id = text(record, "id").unwrap_or_default();
    let code = text(record, "booking_code").unwrap_or_default();
    let window = (
        text(record, "pickup_window_start"),
        text(record, "pickup_window_end"),
    );
    let notice = record
        .get("notice")
        .and_then(|n| n.get("message_de"))
        .and_then(Value::as_str);
    html! {
        @if let (Some(start), Some(end)) = window {
            p class="notice ok" role="status" {
                "Die Fahrt ist eingeplant. Abholung am "
                (super::local_time(start, tz)) " bis " (clock(end, tz)) " Uhr. "
                "Buchungscode: " span class="code" { (code) }
            }
        } @else {
            (refusal(user, id, record.get("planning"), text(record, "status_reason"), tz))
        }
        @if let Some(notice) = notice {
            p class="notice warn" role="status" { (notice) }
        }
    }
}

/// Why the planner could not serve a ride as asked, and what it offered instead.
fn refusal(
    user: &WebUser,
    ride_id: &str,
    planning: Option<&Value>,
    status_reason: Option<&str>,
    tz: &str,
) -> Markup {
    let code = planning
        .and_then(|p| p.get("reason"))
        .and_then(Value::as_str)
        .or(status_reason)
        .unwrap_or("not_planned");
    let message = planning
        .and_then(|p| p.get("message_de"))
        .and_then(Value::as_str)
        .unwrap_or(crate::rides::reason_text(code).0);
    let alternatives = planning
        .and_then(|p| p.get("alternatives"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    html! {
        p class="notice warn" role="status" {
            "Die Fahrt ist so nicht möglich: " (message)
        }
        @if alternatives.is_empty() {
            p { "Der Planer hat keine andere Zeit gefunden. Die Fahrt steht auf der Rückrufliste." }
        } @else {
            h3 { "Andere Zeiten, die gehen" }
            ul class="alternatives" {
                @for alt in &alternatives {
                    li { (alternative(user, ride_id, alt, tz)) }
                }
            }
        }
    }
}

/// One alternative in words, with a button that moves the ride there.
fn alternative(user: &WebUser, ride_id: &str, alt: &Value, tz: &str) -> Markup {
    let which = match text(alt, "which") {
        Some("earlier") => "Früher am selben Tag",
        Some("later") => "Später am selben Tag",
        _ => "An einem anderen Tag",
    };
    let Some((date, time)) = alternative_time(alt, tz) else {
        return html! { (which) };
    };
    html! {
        form class="inline" method="post" action={ "/console/rides/" (ride_id) "/move" } {
            (csrf_field(user))
            input type="hidden" name="date" value=(date);
            input type="hidden" name="time" value=(time);
            (which) ": " (alternative_text(alt, tz)) " "
            button type="submit" { "Diese Zeit buchen" }
        }
    }
}

/// An alternative's times in words: the arrival for an appointment ride (its pickup follows
/// from it), else the offered pickup window.
fn alternative_text(alt: &Value, tz: &str) -> String {
    let day = |at: &str| {
        local_date(at, tz)
            .map(|d| d.format("%d.%m.%Y").to_string())
            .unwrap_or_default()
    };
    match text(alt, "arrive_by") {
        Some(arrive) => format!("Ankunft am {} bis {} Uhr", day(arrive), clock(arrive, tz)),
        None => {
            let start = text(alt, "pickup_window_start").unwrap_or_default();
            let end = text(alt, "pickup_window_end").unwrap_or_default();
            format!(
                "Abholung am {} zwischen {} und {} Uhr",
                day(start),
                clock(start, tz),
                clock(end, tz)
            )
        }
    }
}

/// The local date and time an alternative is booked with: the arrival for an appointment ride,
/// else the middle of the offered pickup window.
fn alternative_time(alt: &Value, tz: &str) -> Option<(String, String)> {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Berlin);
    let at = match text(alt, "arrive_by") {
        Some(arrive) => DateTime::parse_from_rfc3339(arrive)
            .ok()?
            .with_timezone(&Utc),
        None => {
            let start = DateTime::parse_from_rfc3339(text(alt, "pickup_window_start")?).ok()?;
            let end = DateTime::parse_from_rfc3339(text(alt, "pickup_window_end")?).ok()?;
            (start + (end - start) / 2).with_timezone(&Utc)
        }
    };
    let local = at.with_timezone(&zone);
    Some((
        local.format("%Y-%m-%d").to_string(),
        local.format("%H:%M").to_string(),
    ))
}
