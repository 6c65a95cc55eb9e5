//! Requests to act for a resident. A caregiver types the resident's number (from a ticket) and
//! name; the request is kept whether or not they match anyone and answered with the same words,
//! so nobody learns whether a number exists. A dispatcher of the region asks the resident (on the
//! phone, on paper or in person) and confirms, which makes the caregiver link with how consent
//! was given, or refuses. The caregiver sees nothing of the resident until then.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use uuid::Uuid;

use super::super::error::WebError;
use super::super::i18n::{Lang, local_time_in};
use super::super::layout::{csrf_field, input, notice, page, select};
use super::super::session::{CsrfForm, WebUser};
use super::super::{RegionQuery, chosen_region, local_time, percent_encode, regions};
use super::{Carer, OwnRequest, answer, carer, sent_form, texts};
use crate::api::AppState;
use crate::domain::common::Instant;
use crate::domain::{CaregiverLink, ConsentHow, Role};
use crate::store::logs::{self, Action, Who};
use crate::store::{StoreError, StoreResult, now_text, records};

/// Open requests a caregiver may have at once (keeps typing numbers at random pointless).
const MAX_PENDING: i64 = 10;
/// Longest name taken.
const MAX_NAME: usize = 80;

/// The request form and the caregiver's open or refused requests.
pub(super) fn request_form(
    lang: Lang,
    user: &WebUser,
    requests: &[OwnRequest],
    tz: &str,
) -> Markup {
    html! {
        section class="care-request" aria-labelledby="anfrage" {
            h2 id="anfrage" { (texts::ADD_PERSON.get(lang)) }
            p { (texts::ADD_PERSON_INTRO.get(lang)) }
            form method="post" action="/care/link-requests" class="care-form" {
                (csrf_field(user))
                (input("number", texts::PERSON_NUMBER.get(lang), "text", "", true, Some(texts::NUMBER_EXAMPLE.get(lang))))
                (input("name", texts::PERSON_NAME.get(lang), "text", "", true, None))
                button type="submit" { (texts::SEND_REQUEST.get(lang)) }
            }
            @if !requests.is_empty() {
                h3 { (texts::YOUR_REQUESTS.get(lang)) }
                ul {
                    @for r in requests {
                        li {
                            (r.name) ", " (texts::NUMBER.get(lang)) " " bdi { (r.number) }
                            " (" (local_time_in(lang, &r.at, tz)) "): "
                            @if r.status == "pending" { (texts::WAITING_FOR_CONSENT.get(lang)) }
                            @else { strong { (texts::NOT_CONFIRMED.get(lang)) } }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RequestForm {
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
}

/// Names compared the way people type them: case, spaces and their number do not matter.
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

/// The live resident of the region with this number and name, if both match.
fn matching_resident(
    conn: &Connection,
    who: &Who,
    region: &str,
    number: &str,
    name: &str,
) -> StoreResult<Option<String>> {
    let found: Option<(String, String)> = conn
        .query_row(
            "SELECT id, name FROM residents
             WHERE region_id = ?1 AND kiosk_number = ?2 AND archived_at IS NULL",
            params![region, number],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, stored)) = found else {
        return Ok(None);
    };
    logs::audit(
        conn,
        who,
        Action::Read,
        "residents",
        Some(&id),
        Some(region),
    )?;
    Ok(same_name(&stored, name).then_some(id))
}

/// Stores a request (one per caregiver and typed number and name while it waits).
fn store_request(
    conn: &mut Connection,
    who: &Who,
    carer: &Carer,
    number: &str,
    name: &str,
) -> StoreResult<bool> {
    let tx = conn.transaction()?;
    let pending: i64 = tx.query_row(
        "SELECT count(*) FROM caregiver_link_requests WHERE caregiver_id = ?1 AND status = 'pending'",
        [&carer.id],
        |r| r.get(0),
    )?;
    if pending >= MAX_PENDING {
        return Ok(false);
    }
    let resident = matching_resident(&tx, who, &carer.region, number, name)?;
    let shown = number
        .parse::<protocol::ResidentNumber>()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| number.to_string());
    let repeat: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM caregiver_link_requests WHERE caregiver_id = ?1
                        AND status = 'pending' AND given_number = ?2 AND lower(given_name) = lower(?3))",
        params![carer.id, shown, name],
        |r| r.get(0),
    )?;
    if !repeat {
        let id = Uuid::now_v7().to_string();
        tx.execute(
            "INSERT INTO caregiver_link_requests
                 (id, region_id, caregiver_id, resident_id, given_number, given_name, requested_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                carer.region,
                carer.id,
                resident,
                shown,
                name,
                now_text()
            ],
        )?;
        logs::audit(
            &tx,
            who,
            Action::Create,
            "caregiver_link_requests",
            Some(&id),
            Some(&carer.region),
        )?;
    }
    tx.commit()?;
    Ok(true)
}

/// `POST /care/link-requests`: the same answer whether number and name matched or not.
pub(super) async fn request(
    State(app): State<AppState>,
    lang: Lang,
    form: Result<CsrfForm<RequestForm>, WebError>,
) -> Response {
    answer(lang, take_request(app, lang, form).await)
}

async fn take_request(
    app: AppState,
    lang: Lang,
    form: Result<CsrfForm<RequestForm>, WebError>,
) -> Result<Response, WebError> {
    let (user, form) = sent_form(lang, form)?;
    let carer = carer(&user)?;
    let name = form.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(WebError::BadRequest(
            texts::REQUEST_NAME_PROBLEM.fill(lang, &[("max", &MAX_NAME.to_string())]),
        ));
    }
    let number = form
        .number
        .parse::<protocol::ResidentNumber>()
        .map_err(|_| WebError::BadRequest(texts::REQUEST_NUMBER_PROBLEM.get(lang).into()))?
        .compact();
    let who = user.who();
    let stored = app
        .store
        .run(move |conn| store_request(conn, &who, &carer, &number, &name))
        .await?;
    if !stored {
        return Err(WebError::BadRequest(
            texts::TOO_MANY_REQUESTS.fill(lang, &[("max", &MAX_PENDING.to_string())]),
        ));
    }
    Ok(Redirect::to("/care?requested=1").into_response())
}

/// A waiting request as a dispatcher sees it.
struct Pending {
    id: String,
    at: String,
    caregiver: String,
    caregiver_phone: Option<String>,
    caregiver_email: Option<String>,
    given_number: String,
    given_name: String,
    /// The matched resident: name, address and phone.
    resident: Option<(String, String, Option<String>)>,
}

fn pending_of(conn: &Connection, who: &Who, region: &str) -> StoreResult<Vec<Pending>> {
    let mut stmt = conn.prepare(
        "SELECT q.id, q.requested_at, c.name, c.phone, c.email, q.given_number, q.given_name,
                p.name, p.street || ', ' || v.name, p.phone
         FROM caregiver_link_requests q
         JOIN caregivers c ON c.id = q.caregiver_id
         LEFT JOIN residents p ON p.id = q.resident_id AND p.archived_at IS NULL
         LEFT JOIN villages v ON v.id = p.village_id
         WHERE q.region_id = ?1 AND q.status = 'pending'
         ORDER BY q.requested_at LIMIT 200",
    )?;
    let rows = stmt
        .query_map([region], |r| {
            let resident: Option<String> = r.get(7)?;
            let place: Option<String> = r.get(8)?;
            let phone: Option<String> = r.get(9)?;
            Ok(Pending {
                id: r.get(0)?,
                at: r.get(1)?,
                caregiver: r.get(2)?,
                caregiver_phone: r.get(3)?,
                caregiver_email: r.get(4)?,
                given_number: r.get(5)?,
                given_name: r.get(6)?,
                resident: resident.map(|n| (n, place.unwrap_or_default(), phone)),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for kind in ["caregiver_link_requests", "caregivers", "residents"] {
        logs::audit(conn, who, Action::List, kind, None, Some(region))?;
    }
    Ok(rows)
}

/// `/console/link-requests`: the region's waiting requests, to confirm after asking the resident
/// or to refuse.
pub(super) async fn console_page(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<RegionQuery>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin, Role::Dispatcher])?;
    let all = if user.role == Role::Admin {
        regions(&app).await?
    } else {
        Vec::new()
    };
    let (region, name, tz) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let who = user.who();
    let rid = region.clone();
    let pending = app
        .store
        .run(move |conn| pending_of(conn, &who, &rid))
        .await?;
    let suffix = if user.role == Role::Admin {
        format!("?region={}", percent_encode(&region))
    } else {
        String::new()
    };
    let how: Vec<(String, String)> = [
        ("phone", "am Telefon"),
        ("paper", "schriftlich (Papier)"),
        ("in_person", "persönlich"),
    ]
    .iter()
    .map(|(v, l)| ((*v).to_string(), (*l).to_string()))
    .collect();
    Ok(page(
        Some(&user),
        &format!("Anfragen von Kümmerer:innen – {name}"),
        html! {
            @if !all.is_empty() {
                form method="get" action="/console/link-requests" class="region-choice" {
                    (select("region", "Region", &all, &region, false))
                    button type="submit" class="secondary" { "Anzeigen" }
                }
            }
            p { "Bitte fragen Sie die Person, ob die Kümmerer:in für sie buchen darf, und halten Sie fest, wie sie zugestimmt hat." }
            @if pending.is_empty() {
                (notice("ok", "Keine offenen Anfragen."))
            }
            @for p in &pending {
                section class="care-pending" aria-labelledby={ "q-" (p.id) } {
                    h2 id={ "q-" (p.id) } { (p.caregiver) " fragt nach " (p.given_name) }
                    dl class="care-facts" {
                        dt { "Eingegangen" } dd { (local_time(&p.at, &tz)) }
                        dt { "Kümmerer:in" } dd {
                            (p.caregiver)
                            @if let Some(phone) = &p.caregiver_phone { ", Tel. " (phone) }
                            @if let Some(email) = &p.caregiver_email { ", " (email) }
                        }
                        dt { "Angegeben" } dd { (p.given_name) ", Nummer " (p.given_number) }
                        dt { "Person" } dd {
                            @if let Some((rname, place, phone)) = &p.resident {
                                (rname) ", " (place)
                                @if let Some(phone) = phone { ", Tel. " (phone) }
                            } @else {
                                strong { "Nummer und Name passen zu keiner Person." }
                            }
                        }
                    }
                    @if p.resident.is_some() {
                        form method="post" action={ "/console/link-requests/" (p.id) "/confirm" (suffix) } class="care-form" {
                            (csrf_field(&user))
                            (select("consent_how", "Die Person hat zugestimmt", &how, "phone", true))
                            button type="submit" { "Zustimmung festhalten" }
                        }
                    }
                    form class="inline" method="post" action={ "/console/link-requests/" (p.id) "/refuse" (suffix) } {
                        (csrf_field(&user))
                        button type="submit" class="secondary" { "Ablehnen" }
                    }
                }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct ConfirmForm {
    consent_how: ConsentHow,
}

/// A request as the decision needs it.
struct Request {
    region: String,
    caregiver: String,
    resident: Option<String>,
    status: String,
}

fn request_of(conn: &Connection, id: &str) -> StoreResult<Option<Request>> {
    Ok(conn
        .query_row(
            "SELECT region_id, caregiver_id, resident_id, status FROM caregiver_link_requests
             WHERE id = ?1",
            [id],
            |r| {
                Ok(Request {
                    region: r.get(0)?,
                    caregiver: r.get(1)?,
                    resident: r.get(2)?,
                    status: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// How a decision ended.
enum Decided {
    /// Decided; the request's region.
    Done(String),
    /// No such request in a region the person may see.
    NotFound,
    /// Someone decided it before.
    Taken,
    /// Confirming needs a matched resident.
    NoResident,
}

/// Confirms (with `how`) or refuses (`None`) request `id` in one transaction: the caregiver link
/// through the domain code (audit, `consent_recorded_by`) and the request's decision.
fn decide(
    conn: &mut Connection,
    user: &WebUser,
    id: &str,
    how: Option<ConsentHow>,
) -> StoreResult<Decided> {
    let who = user.who();
    let tx = conn.transaction()?;
    let Some(request) = request_of(&tx, id)? else {
        return Ok(Decided::NotFound);
    };
    if !user.may_see_region(&request.region) {
        return Ok(Decided::NotFound);
    }
    if request.status != "pending" {
        return Ok(Decided::Taken);
    }
    let link = match (how, &request.resident) {
        (None, _) => None,
        (Some(_), None) => return Ok(Decided::NoResident),
        (Some(how), Some(resident)) => Some(link_for(&tx, &who, &request, resident, how)?),
    };
    let status = if link.is_some() {
        "confirmed"
    } else {
        "refused"
    };
    tx.execute(
        "UPDATE caregiver_link_requests SET status = ?2, decided_by = ?3, decided_at = ?4,
                link_id = ?5
         WHERE id = ?1",
        params![id, status, who.actor, now_text(), link],
    )?;
    logs::audit(
        &tx,
        &who,
        Action::Update,
        "caregiver_link_requests",
        Some(id),
        Some(&request.region),
    )?;
    tx.commit()?;
    Ok(Decided::Done(request.region))
}

/// The live link of the request's pair: the existing one, else a new one with consent now.
fn link_for(
    tx: &Connection,
    who: &Who,
    request: &Request,
    resident: &str,
    how: ConsentHow,
) -> StoreResult<String> {
    let existing: Option<String> = tx
        .query_row(
            "SELECT id FROM caregiver_links WHERE caregiver_id = ?1 AND resident_id = ?2
             AND archived_at IS NULL",
            [&request.caregiver, resident],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let link = CaregiverLink {
        region_id: request.region.clone(),
        caregiver_id: request.caregiver.clone(),
        resident_id: resident.to_string(),
        consent_at: Instant(Utc::now()),
        consent_how: how,
    };
    let created = records::create_in(tx, who, None, &link)?;
    created.record["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| StoreError::Internal("created link has no id".into()))
}

async fn decision(
    app: AppState,
    user: WebUser,
    id: String,
    how: Option<ConsentHow>,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin, Role::Dispatcher])?;
    if how == Some(ConsentHow::Kiosk) {
        return Err(WebError::BadRequest(
            "Bitte wählen Sie: am Telefon, schriftlich oder persönlich.".into(),
        ));
    }
    let admin = user.role == Role::Admin;
    let decider = user.clone();
    let decided = app
        .store
        .run(move |conn| decide(conn, &decider, &id, how))
        .await?;
    match decided {
        Decided::Done(region) => {
            let target = if admin {
                format!("/console/link-requests?region={}", percent_encode(&region))
            } else {
                "/console/link-requests".into()
            };
            Ok(Redirect::to(&target).into_response())
        }
        Decided::NotFound => Err(WebError::NotFound),
        Decided::Taken => Err(WebError::Conflict(
            "Über diese Anfrage wurde schon entschieden.".into(),
        )),
        Decided::NoResident => Err(WebError::BadRequest(
            "Nummer und Name passen zu keiner Person: diese Anfrage kann nur abgelehnt werden."
                .into(),
        )),
    }
}

/// `POST /console/link-requests/{id}/confirm`: the resident agreed (`consent_how`).
pub(super) async fn confirm(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<ConfirmForm>,
) -> Result<Response, WebError> {
    decision(app, user, id, Some(form.consent_how)).await
}

#[derive(Debug, Deserialize)]
pub(super) struct Empty {}

/// `POST /console/link-requests/{id}/refuse`.
pub(super) async fn refuse(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    decision(app, user, id, None).await
}
