//! The console's personal-data page (`/console/privacy`, admins only): find a resident by name
//! or resident number in a region, download everything about them as JSON (audited as
//! `export`), erase them (audited as `erase`; refused while rides or appointments lie ahead),
//! and set how long ride details are kept (`retention_days`), with the last retention run.
//! The work itself is in `crate::privacy`; every form is one transaction there.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::WebError;
use super::layout::{self, button_form, csrf_field, page};
use super::session::{CsrfForm, WebUser};
use super::{chosen_region, local_time, percent_encode, regions_or_none_yet};
use crate::api::AppState;
use crate::domain::Role;
use crate::privacy::{self, Found, RetentionRun};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/privacy", get(show))
        .route("/console/privacy/residents/{id}", get(resident))
        .route("/console/privacy/residents/{id}/export", post(export))
        .route("/console/privacy/residents/{id}/erase", post(erase))
        .route("/console/privacy/retention", post(set_retention))
        .route("/console/privacy/retention/run", post(run_retention))
}

/// A form with nothing but its CSRF token.
type Fields = std::collections::HashMap<String, String>;

/// Only admins handle personal data as a whole.
const ROLES: &[Role] = &[Role::Admin];

/// `?region=&q=&saved=`.
#[derive(Debug, Default, Deserialize)]
struct PrivacyQuery {
    region: Option<String>,
    q: Option<String>,
    saved: Option<String>,
}

/// The search, the results and the retention setting of a region.
async fn show(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<PrivacyQuery>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    let all = match regions_or_none_yet(&app, &user, "Datenschutz", html! {}).await? {
        Ok(all) => all,
        Err(none_yet) => return Ok(none_yet),
    };
    let (region, name, tz) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let query = q.q.clone().unwrap_or_default();
    let who = user.who();
    let (found, days, last) = {
        let (region, query) = (region.clone(), query.clone());
        app.store
            .run(move |conn| {
                let found = if query.trim().is_empty() {
                    None
                } else {
                    Some(privacy::find(conn, &who, &region, &query))
                };
                Ok((
                    found,
                    privacy::retention_days(conn, &region)?,
                    privacy::last_run(conn, &region)?,
                ))
            })
            .await?
    };
    let found = found.transpose().map_err(|e| match e {
        crate::store::StoreError::Invalid { reason, .. } => WebError::BadRequest(reason),
        other => other.into(),
    })?;
    Ok(page(
        Some(&user),
        &format!("Datenschutz {name}"),
        html! {
            @if q.saved.is_some() {
                (layout::notice("ok", "Gespeichert."))
            }
            section class="privacy-search" {
                h2 { "Person suchen" }
                form method="get" action="/console/privacy" {
                    (layout::select("region", "Region", &all, &region, false))
                    (layout::input("q", "Name oder Bewohnernummer", "search", &query, true,
                        Some("Teil des Namens oder die Nummer vom Kiosk-Beleg")))
                    button type="submit" { "Suchen" }
                }
                @if let Some(found) = &found { (results(found, &query)) }
            }
            (retention_section(&user, &region, days, last.as_ref(), &tz))
        },
    ))
}

fn results(found: &[Found], query: &str) -> Markup {
    html! {
        @if found.is_empty() {
            p role="status" { "Niemand gefunden für „" (query) "“." }
        } @else {
            table {
                caption { "Gefundene Personen" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Ort" } th scope="col" { "Bewohnernummer" } th scope="col" { "Stand" } } }
                tbody {
                    @for person in found {
                        tr {
                            th scope="row" {
                                a href={ "/console/privacy/residents/" (percent_encode(&person.id)) } { (person.name) }
                            }
                            td { (person.village) }
                            td { (person.number.clone().unwrap_or_else(|| "–".into())) }
                            td { @if person.erased { "gelöscht" } @else { "aktiv" } }
                        }
                    }
                }
            }
        }
    }
}

fn retention_section(
    user: &WebUser,
    region: &str,
    days: i64,
    last: Option<&RetentionRun>,
    tz: &str,
) -> Markup {
    html! {
        section class="privacy-retention" {
            h2 { "Aufbewahrung von Fahrtdetails" }
            p {
                "Nach " strong { (days) " Tagen" } " werden bei abgeschlossenen Fahrten die "
                "Hinweise und die buchende Kümmerer:in entfernt, bei erledigten Rückrufbitten "
                "Name und Telefonnummer. Anzahl, Zeit, Ort und Status bleiben für die Auswertung. "
                "Der Hub wendet die Regel einmal am Tag an."
            }
            form method="post" action="/console/privacy/retention" {
                (csrf_field(user))
                input type="hidden" name="region" value=(region);
                (layout::input("retention_days", "Aufbewahrung in Tagen", "number", &days.to_string(), true,
                    Some(&format!("{} bis {} Tage", privacy::MIN_RETENTION_DAYS, privacy::MAX_RETENTION_DAYS))))
                button type="submit" { "Speichern" }
            }
            h3 { "Letzter Lauf" }
            @match last {
                Some(run) => p {
                    (local_time(&run.ran_at, tz)) ": " (run.rides) " Fahrten und "
                    (run.call_backs) " Rückrufbitten bereinigt (Fahrten vor "
                    (local_time(&run.cutoff, tz)) ", Aufbewahrung " (run.retention_days) " Tage)."
                },
                None => p { "Noch kein Lauf in dieser Region." },
            }
            (button_form(user, "/console/privacy/retention/run", "Regel jetzt anwenden", None))
        }
    }
}

/// One resident: export and erasure.
async fn resident(
    State(app): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    let who = user.who();
    let (person, ahead) = app
        .store
        .run(move |conn| {
            let person = privacy::summary(conn, &who, &id)?;
            let ahead = privacy::ahead(conn, &id, chrono::Utc::now())?;
            Ok((person, ahead))
        })
        .await?;
    let base = format!("/console/privacy/residents/{}", percent_encode(&person.id));
    Ok(page(
        Some(&user),
        &format!("Daten von {}", person.name),
        html! {
            dl class="privacy-person" {
                dt { "Ort" } dd { (person.village) }
                dt { "Bewohnernummer" } dd { (person.number.clone().unwrap_or_else(|| "–".into())) }
                dt { "Stand" } dd { @if person.erased { "Personendaten gelöscht" } @else { "aktiv" } }
            }
            section {
                h2 { "Auskunft" }
                p { "Alle gespeicherten Daten der Person als JSON-Datei: Stammdaten, Kümmerer-Verbindungen, Fahrten, Halte, Termine, Rückrufbitten und die Protokollzeilen. Der Abruf wird protokolliert." }
                (button_form(&user, &format!("{base}/export"), "Daten als JSON herunterladen", None))
            }
            section {
                h2 { "Löschen" }
                @if person.erased {
                    p { "Die Personendaten sind bereits gelöscht." }
                } @else if ahead.0 + ahead.1 > 0 {
                    (layout::notice("warn", &format!(
                        "Löschen ist erst möglich, wenn keine Fahrt und kein Termin mehr bevorsteht: \
                         noch {} Fahrt(en) und {} Termin(e). Bitte sagen Sie diese zuerst ab.",
                        ahead.0, ahead.1)))
                } @else {
                    p { "Name, Telefon, Straße, Geburtsjahr und Bewohnernummer werden überschrieben, die Wohnlage auf die Ortsmitte gesetzt, Kümmerer-Verbindungen beendet. Fahrten und Termine bleiben ohne Personenbezug für die Auswertung. Das lässt sich nicht rückgängig machen." }
                    form class="inline" method="post" action={ (base) "/erase" }
                        data-confirm="Personendaten endgültig löschen?" {
                        (csrf_field(&user))
                        button type="submit" class="danger" { "Personendaten löschen" }
                    }
                }
            }
            p { a href="/console/privacy" { "Zurück zur Suche" } }
        },
    ))
}

/// The JSON download of everything about a resident.
async fn export(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Fields>,
) -> Result<Response, WebError> {
    user.require(ROLES)?;
    let who = user.who();
    let file_id = id.clone();
    let document = app
        .store
        .run(move |conn| privacy::export(conn, &who, &id))
        .await?;
    let body = serde_json::to_vec_pretty(&document)
        .map_err(|e| WebError::Internal(format!("writing JSON: {e}")))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let name: String = file_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"auskunft-{name}.json\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Erases a resident; a refusal says why and changes nothing.
async fn erase(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Fields>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    let who = user.who();
    let erased = app
        .store
        .run(move |conn| privacy::erase(conn, &who, &id, chrono::Utc::now()))
        .await?;
    Ok(page(
        Some(&user),
        "Personendaten gelöscht",
        html! {
            (layout::notice("ok", &format!(
                "Die Personendaten sind gelöscht. {} Fahrt(en) und {} Termin(e) bleiben ohne \
                 Personenbezug für die Auswertung; {} Kümmerer-Verbindung(en) beendet.",
                erased.rides, erased.appointments, erased.links)))
            p { a href="/console/privacy" { "Zurück zur Suche" } }
        },
    ))
}

/// The retention form.
#[derive(Debug, Deserialize)]
struct RetentionForm {
    region: String,
    retention_days: String,
}

async fn set_retention(
    State(app): State<AppState>,
    CsrfForm(user, form): CsrfForm<RetentionForm>,
) -> Result<Redirect, WebError> {
    user.require(ROLES)?;
    let bad = || {
        WebError::BadRequest(format!(
            "Die Aufbewahrung muss eine ganze Zahl von {} bis {} Tagen sein.",
            privacy::MIN_RETENTION_DAYS,
            privacy::MAX_RETENTION_DAYS
        ))
    };
    let days: i64 = form.retention_days.trim().parse().map_err(|_| bad())?;
    privacy::check_retention_days(days).map_err(|_| bad())?;
    let (region, _, _) = chosen_region(&app, &user, Some(&form.region)).await?;
    let who = user.who();
    let target = format!(
        "/console/privacy?region={}&saved=1",
        percent_encode(&region)
    );
    app.store
        .run(move |conn| privacy::set_retention_days(conn, &who, &region, days))
        .await?;
    Ok(Redirect::to(&target))
}

async fn run_retention(
    State(app): State<AppState>,
    CsrfForm(user, _): CsrfForm<Fields>,
) -> Result<Redirect, WebError> {
    user.require(ROLES)?;
    let who = user.who();
    app.store
        .run(move |conn| privacy::apply_retention_as(conn, &who, chrono::Utc::now()))
        .await?;
    Ok(Redirect::to("/console/privacy?saved=1"))
}
