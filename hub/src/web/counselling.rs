//! The health worker's counselling day (`/counselling`): the visits of the IMBUS counsellor
//! linked to the account (`imbus_counsellors.account_id`) on a chosen day, with their slots
//! (first names only), the outcome of each appointment (attended or no-show, topic, referral
//! category) and the walk-ins counted by topic. The data and every rule come from
//! `crate::counselling` (`day`, `outcomes`, `walk_ins`), as for the API; there is no field for
//! free text, so nothing about a person's health is written beyond the topic category.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Duration, NaiveDate, Utc};
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use uuid::Uuid;

use super::error::WebError;
use super::layout::{csrf_field, input, notice, page};
use super::session::{CsrfForm, WebUser};
use crate::api::AppState;
use crate::counselling::day::{DayAppointment, DaySlot, DayVisit};
use crate::counselling::outcomes::{Outcome, OutcomeStatus};
use crate::counselling::walk_ins::{MAX_COUNT, WalkIn};
use crate::counselling::{CounsellingError, Staff, day, outcomes, walk_ins};
use crate::domain::Role;
use crate::domain::counselling::Topic;
use crate::store::{StoreError, StoreResult};

const ROLES: &[Role] = &[Role::HealthWorker];

/// The topics with their German names, in the order the forms offer them.
const TOPICS: [(&str, &str); 8] = [
    ("health", "Gesundheit"),
    ("care", "Pflege"),
    ("money", "Geld und Anträge"),
    ("housing", "Wohnen"),
    ("loneliness", "Einsamkeit"),
    ("addiction", "Sucht"),
    ("family", "Familie"),
    ("other", "Sonstiges"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/counselling", get(day_page))
        .route(
            "/counselling/appointments/{id}/outcome",
            post(record_outcome),
        )
        .route("/counselling/walk-ins", post(record_walk_in))
}

fn topic_name(code: &str) -> &str {
    TOPICS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, name)| name)
}

fn staff(user: &WebUser) -> Staff {
    Staff {
        account_id: user.account_id.clone(),
        role: user.role,
        region_id: user.region_id.clone(),
        who: user.who(),
    }
}

/// A counselling refusal as a page: the rules' English detail becomes German where it is known.
fn web_error(e: CounsellingError) -> WebError {
    match e {
        CounsellingError::Forbidden(_) => WebError::Forbidden,
        CounsellingError::SlotFree { detail } => WebError::Conflict(detail),
        CounsellingError::Store(StoreError::Invalid { field, reason }) => {
            let text = if reason.contains("not started yet") {
                "Das geht erst, wenn der Termin oder Besuch begonnen hat.".to_string()
            } else if reason.contains("destination categories") {
                "Bitte wählen Sie eine Weitervermittlung aus der Liste.".to_string()
            } else if reason.contains("was cancelled") {
                "Dieser Besuch wurde abgesagt.".to_string()
            } else if field == "count" {
                format!("Die Anzahl muss zwischen 1 und {MAX_COUNT} liegen.")
            } else if field == "visit_id" {
                "Diesen Besuch gibt es nicht.".to_string()
            } else {
                format!("Die Eingabe wurde nicht angenommen ({field}: {reason}).")
            };
            WebError::BadRequest(text)
        }
        CounsellingError::Store(StoreError::Conflict(detail)) => {
            if detail.contains("was cancelled") {
                WebError::Conflict("Dieser Termin wurde abgesagt.".into())
            } else {
                WebError::Conflict(format!("Das ist so nicht möglich ({detail})."))
            }
        }
        CounsellingError::Store(e) => e.into(),
    }
}

/// The zone and destination categories of the account's region (Berlin and none without one).
fn region_facts(conn: &Connection, region: Option<&str>) -> StoreResult<(String, Vec<String>)> {
    let row: Option<(String, Option<String>)> = match region {
        Some(region) => conn
            .query_row(
                "SELECT time_zone, destination_categories FROM regions WHERE id = ?1",
                [region],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
        None => None,
    };
    let (zone, categories) = row.unwrap_or_else(|| ("Europe/Berlin".into(), None));
    let categories = categories
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or_default();
    Ok((zone, categories))
}

#[derive(Debug, Default, Deserialize)]
struct DayQuery {
    date: Option<String>,
    done: Option<String>,
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|_| text.trim().len() == 10)
}

/// What the day page shows.
enum DayView {
    /// The account is linked to no counsellor.
    Unlinked,
    Visits(Vec<DayVisit>),
}

/// `GET /counselling?date=`: the day of the account's counsellor (today if no date).
async fn day_page(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<DayQuery>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    let region = user.region_id.clone();
    let (zone, categories) = app
        .store
        .run(move |conn| region_facts(conn, region.as_deref()))
        .await?;
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Europe::Berlin);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let date = match q.date.as_deref().filter(|d| !d.is_empty()) {
        Some(text) => parse_date(text).ok_or_else(|| {
            WebError::BadRequest(format!(
                "„{}“ ist kein gültiges Datum (JJJJ-MM-TT).",
                text.chars().take(40).collect::<String>()
            ))
        })?,
        None => today,
    };
    let staff = staff(&user);
    let view = app
        .store
        .run(move |conn| {
            Ok(match day::day(conn, &staff, date, None) {
                Ok(visits) => Ok(DayView::Visits(visits)),
                Err(CounsellingError::Forbidden(_)) => Ok(DayView::Unlinked),
                Err(e) => Err(e),
            })
        })
        .await?
        .map_err(web_error)?;
    let done = match q.done.as_deref() {
        Some("outcome") => Some("Das Ergebnis des Termins ist gespeichert."),
        Some("walk_in") => Some("Die Laufkundschaft ist gezählt."),
        _ => None,
    };
    let title = format!("Beratungstag {}", date.format("%d.%m.%Y"));
    Ok(page(
        Some(&user),
        &title,
        html! {
            @if let Some(text) = done { (notice("ok", text)) }
            (day_chooser(date, today))
            @match &view {
                DayView::Unlinked => {
                    (notice("warn", "Ihr Konto ist mit keiner IMBUS-Beratungskraft verknüpft. Bitte wenden Sie sich an die Verwaltung."))
                }
                DayView::Visits(visits) if visits.is_empty() => {
                    p { "An diesem Tag haben Sie keine IMBUS-Besuche." }
                }
                DayView::Visits(visits) => {
                    @for v in visits {
                        (visit_section(&user, v, date, &categories))
                    }
                }
            }
        },
    ))
}

fn day_link(date: NaiveDate) -> String {
    format!("/counselling?date={date}")
}

fn day_chooser(date: NaiveDate, today: NaiveDate) -> Markup {
    html! {
        nav class="counselling-days" aria-label="Tag wählen" {
            a href=(day_link(date - Duration::days(1))) { "Vorheriger Tag" }
            " "
            a href=(day_link(today)) { "Heute" }
            " "
            a href=(day_link(date + Duration::days(1))) { "Nächster Tag" }
        }
        form method="get" action="/counselling" class="counselling-day-choice" {
            (input("date", "Tag", "date", &date.to_string(), true, Some("Format JJJJ-MM-TT")))
            button type="submit" class="secondary" { "Tag anzeigen" }
        }
    }
}

fn visit_status(v: &DayVisit) -> Markup {
    html! {
        @if v.status == "cancelled" {
            strong class="status-error" { "Fällt aus" }
            @if let Some(reason) = &v.cancel_reason { ": " (reason) }
        } @else if v.moved_from.is_some() {
            strong class="status-warn" { "Verlegt" }
            @if let Some(reason) = &v.change_reason { ": " (reason) }
        }
    }
}

fn visit_section(user: &WebUser, v: &DayVisit, date: NaiveDate, categories: &[String]) -> Markup {
    let started = chrono::DateTime::parse_from_rfc3339(&v.starts_at).is_ok_and(|s| s <= Utc::now());
    html! {
        section class="counselling-visit" aria-labelledby={ "v-" (v.id) } {
            h2 id={ "v-" (v.id) } { (v.local_start) "–" (v.local_end) " " (v.village) }
            p { (v.stop) ". Beratung: " (v.counsellor) ". " (visit_status(v))
                @if v.waiting > 0 { " Auf der Warteliste: " (v.waiting) "." } }
            div class="table-wrap" tabindex="0" role="region" aria-label={ "Termine " (v.village) } {
                table {
                    caption { "Termine" }
                    thead { tr {
                        th scope="col" { "Zeit" } th scope="col" { "Stand" } th scope="col" { "Vorname" }
                        th scope="col" { "Thema" } th scope="col" { "Ergebnis" }
                    } }
                    tbody {
                        @for s in &v.slots {
                            (slot_row(user, s, date, categories))
                        }
                    }
                }
            }
            (walk_ins_part(user, v, date, started))
        }
    }
}

fn slot_state(s: &DaySlot) -> &'static str {
    match s.state {
        "booked" => "gebucht",
        "cancelled" => "abgesagt",
        _ => "frei",
    }
}

fn outcome_text(status: &str) -> &'static str {
    match status {
        "attended" => "erschienen",
        "no_show" => "nicht erschienen",
        "cancelled" => "abgesagt",
        _ => "offen",
    }
}

fn slot_row(user: &WebUser, s: &DaySlot, date: NaiveDate, categories: &[String]) -> Markup {
    let started = chrono::DateTime::parse_from_rfc3339(&s.starts_at).is_ok_and(|t| t <= Utc::now());
    html! {
        tr {
            th scope="row" { (s.local_start) "–" (s.local_end) }
            td { (slot_state(s)) @if s.kiosk_share && s.appointment.is_none() { " (für den Kiosk)" } }
            @match &s.appointment {
                Some(a) => {
                    td { (a.first_name.clone().unwrap_or_else(|| "ohne Namen".into())) }
                    td { (topic_name(&a.topic)) }
                    td {
                        (outcome_text(&a.status))
                        @if let Some(referral) = &a.referral { ", weitervermittelt: " (referral) }
                        @if started {
                            (outcome_form(user, s, a, date, categories))
                        }
                    }
                }
                None => { td {} td {} td {} }
            }
        }
    }
}

/// The outcome form of the appointment `a` on slot `s`; the button names the slot's time, so
/// each of the day's buttons says which appointment it saves.
fn outcome_form(
    user: &WebUser,
    s: &DaySlot,
    a: &DayAppointment,
    date: NaiveDate,
    categories: &[String],
) -> Markup {
    let id = &a.id;
    let statuses = vec![
        ("attended".to_string(), "erschienen".to_string()),
        ("no_show".to_string(), "nicht erschienen".to_string()),
    ];
    let topics: Vec<(String, String)> = TOPICS
        .iter()
        .map(|(c, n)| (c.to_string(), n.to_string()))
        .collect();
    let mut referrals = vec![(String::new(), "keine".to_string())];
    referrals.extend(categories.iter().map(|c| (c.clone(), c.clone())));
    // Field ids must be unique on the page: one form per appointment.
    html! {
        form method="post" action={ "/counselling/appointments/" (id) "/outcome" } class="outcome" {
            (csrf_field(user))
            input type="hidden" name="date" value=(date);
            (select_with_id(&format!("status-{id}"), "status", "Ergebnis", &statuses, &a.status))
            (select_with_id(&format!("topic-{id}"), "topic", "Thema", &topics, &a.topic))
            (select_with_id(&format!("referral-{id}"), "referral", "Weitervermittlung", &referrals, a.referral.as_deref().unwrap_or_default()))
            button type="submit" { "Ergebnis " (s.local_start) " Uhr speichern" }
        }
    }
}

/// A labelled selection with its own id (`layout::select` derives the id from the name, which
/// repeats when a page holds one form per row).
fn select_with_id(
    id: &str,
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
) -> Markup {
    html! {
        div class="field" {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

fn walk_ins_part(user: &WebUser, v: &DayVisit, date: NaiveDate, started: bool) -> Markup {
    let topics: Vec<(String, String)> = TOPICS
        .iter()
        .map(|(c, n)| (c.to_string(), n.to_string()))
        .collect();
    let total: i64 = v.walk_ins.values().sum();
    html! {
        h3 { "Laufkundschaft" }
        @if v.walk_ins.is_empty() {
            p { "Noch niemand ohne Termin gezählt." }
        } @else {
            table {
                caption { "Personen ohne Termin nach Thema (" (total) " insgesamt)" }
                thead { tr { th scope="col" { "Thema" } th scope="col" { "Anzahl" } } }
                tbody {
                    @for (topic, count) in &v.walk_ins {
                        tr { th scope="row" { (topic_name(topic)) } td { (count) } }
                    }
                }
            }
        }
        @if started && v.status != "cancelled" {
            form method="post" action="/counselling/walk-ins" class="walk-in" {
                (csrf_field(user))
                input type="hidden" name="id" value=(Uuid::new_v4());
                input type="hidden" name="visit_id" value=(v.id);
                input type="hidden" name="date" value=(date);
                (select_with_id(&format!("walkin-topic-{}", v.id), "topic", "Thema", &topics, "health"))
                div class="field" {
                    label for={ "walkin-count-" (v.id) } { "Anzahl Personen" }
                    input id={ "walkin-count-" (v.id) } name="count" type="number" min="1"
                        max=(MAX_COUNT) value="1" required;
                }
                button type="submit" { "Zählen" }
            }
        }
    }
}

/// The outcome form: no field for free text.
#[derive(Debug, Deserialize)]
struct OutcomeForm {
    #[serde(default)]
    date: String,
    status: OutcomeStatus,
    topic: Topic,
    #[serde(default)]
    referral: String,
}

/// Where to go back to after a form of the day `date` (today if it is not a date).
fn back_to(date: &str, done: &str) -> String {
    match parse_date(date) {
        Some(d) => format!("/counselling?date={d}&done={done}"),
        None => format!("/counselling?done={done}"),
    }
}

/// `POST /counselling/appointments/{id}/outcome`: attended or no-show, topic and referral
/// category, through `counselling::outcomes` (only the visit's counsellor, once the slot began).
async fn record_outcome(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<OutcomeForm>,
) -> Result<Response, WebError> {
    user.require(ROLES)?;
    if id.chars().count() > 100 {
        return Err(WebError::NotFound);
    }
    let outcome = Outcome {
        status: form.status,
        topic: form.topic,
        referral: Some(form.referral.trim().to_string()).filter(|r| !r.is_empty()),
    };
    let staff = staff(&user);
    app.store
        .run(move |conn| Ok(outcomes::record(conn, &staff, &id, &outcome, Utc::now())))
        .await?
        .map_err(web_error)?;
    Ok(Redirect::to(&back_to(&form.date, "outcome")).into_response())
}

#[derive(Debug, Deserialize)]
struct WalkInForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    visit_id: String,
    #[serde(default)]
    date: String,
    topic: Topic,
    #[serde(default)]
    count: String,
}

/// `POST /counselling/walk-ins`: counts people without an appointment by topic, under the page's
/// id (a second submit of the same form counts once).
async fn record_walk_in(
    State(app): State<AppState>,
    CsrfForm(user, form): CsrfForm<WalkInForm>,
) -> Result<Response, WebError> {
    user.require(ROLES)?;
    let id = Uuid::parse_str(&form.id).map_err(|_| {
        WebError::BadRequest(
            "Das Formular ist unvollständig. Bitte laden Sie die Seite neu.".into(),
        )
    })?;
    let count: u32 = form
        .count
        .trim()
        .parse()
        .ok()
        .filter(|c| (1..=MAX_COUNT).contains(c))
        .ok_or_else(|| {
            WebError::BadRequest(format!(
                "Die Anzahl muss zwischen 1 und {MAX_COUNT} liegen."
            ))
        })?;
    let input = WalkIn {
        visit_id: form.visit_id.chars().take(100).collect(),
        topic: form.topic,
        count,
    };
    let staff = staff(&user);
    app.store
        .run(move |conn| Ok(walk_ins::record(conn, &staff, id, &input, Utc::now())))
        .await?
        .map_err(web_error)?;
    Ok(Redirect::to(&back_to(&form.date, "walk_in")).into_response())
}
