//! Web page: kiosk software updates (`/console/updates`, admins only). The releases the hub
//! holds, every kiosk of a region with the version it runs, the one it should run and what its
//! last update did, and forms to stage a release for one kiosk or, once a kiosk reported it
//! healthy, for every kiosk of the region. Each form carries an id made when the page was drawn,
//! so a form sent twice stages once.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::error::WebError;
use super::layout::{self, page};
use super::session::{CsrfForm, WebUser};
use super::{chosen_region, local_time, percent_encode, regions_or_none_yet};
use crate::api::AppState;
use crate::domain::Role;
use crate::store::StoreError;
use crate::updates::{self, DeviceUpdate, Overview, StageInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/updates", get(show))
        .route("/console/updates/stage", post(stage))
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    region: Option<String>,
    done: Option<String>,
}

async fn show(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<ShowQuery>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin])?;
    let all = match regions_or_none_yet(&app, &user, "Software-Updates", html! {}).await? {
        Ok(all) => all,
        Err(none_yet) => return Ok(none_yet),
    };
    let (region, name, tz) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let key = region.clone();
    let overview: Overview = app
        .store
        .run(move |conn| updates::overview(conn, Some(&key)))
        .await?;
    let versions: Vec<(String, String)> = overview
        .releases
        .iter()
        .map(|r| (r.version.clone(), r.version.clone()))
        .collect();
    let healthy = |version: &str| {
        overview.devices.iter().any(|d| {
            d.update
                .as_ref()
                .is_some_and(|u| u.version == version && u.status == "healthy")
        })
    };
    let device_name = |id: &str| {
        overview
            .devices
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| id.to_string(), |d| d.name.clone())
    };
    Ok(page(
        Some(&user),
        &format!("Software-Updates {name}"),
        html! {
            form method="get" action="/console/updates" class="region-choice" {
                (layout::select("region", "Region", &all, &region, false))
                button type="submit" class="secondary" { "Anzeigen" }
            }
            @if q.done.as_deref() == Some("staged") {
                (layout::notice("ok", "Die Version ist bereitgestellt. Die Kioske holen sie beim nächsten Abgleich."))
            }
            p { "Neue Versionen kommen mit „hub update add“ auf den Hub, nachdem ihre Signatur geprüft wurde. Eine Version wird zuerst für einen Kiosk bereitgestellt; erst wenn dieser sie nach dem Neustart als gesund gemeldet hat, kann sie für alle Kioske der Region bereitgestellt werden. Ein Kiosk, bei dem eine Version nicht startet, kehrt von selbst zur vorigen zurück." }
            section aria-labelledby="versionen" {
                h2 id="versionen" { "Versionen (" (overview.releases.len()) ")" }
                @if overview.releases.is_empty() {
                    p { "Noch keine." }
                } @else {
                    table {
                        thead { tr {
                            th scope="col" { "Version" }
                            th scope="col" { "Größe" }
                            th scope="col" { "SHA-256" }
                            th scope="col" { "Hinzugefügt" }
                            th scope="col" { "Gesund gemeldet" }
                        } }
                        tbody {
                            @for r in &overview.releases {
                                tr {
                                    th scope="row" { (r.version) }
                                    td { (format!("{:.1} MB", r.size as f64 / 1_000_000.0)) }
                                    td { code { (r.sha256.get(..16).unwrap_or(&r.sha256)) "…" } }
                                    td { (local_time(&r.added_at, &tz)) " (" (r.added_by) ")" }
                                    td { @if healthy(&r.version) { "ja" } @else { "noch nicht" } }
                                }
                            }
                        }
                    }
                    form method="post" action="/console/updates/stage" class="stage-all" {
                        (layout::csrf_field(&user))
                        input type="hidden" name="id" value=(Uuid::new_v4());
                        input type="hidden" name="region" value=(region);
                        (version_choice("alle", "Version für alle Kioske der Region", &versions))
                        button type="submit" { "Für alle Kioske bereitstellen" }
                    }
                }
            }
            section aria-labelledby="kioske" {
                h2 id="kioske" { "Kioske (" (overview.devices.len()) ")" }
                @if overview.devices.is_empty() {
                    p { "Keine." }
                } @else {
                    table {
                        thead { tr {
                            th scope="col" { "Kiosk" }
                            th scope="col" { "Läuft mit" }
                            th scope="col" { "Soll laufen mit" }
                            th scope="col" { "Letztes Update" }
                            th scope="col" { "Zurückgerollt" }
                            th scope="col" { "Bereitstellen" }
                        } }
                        tbody {
                            @for d in &overview.devices {
                                (device_row(&user, d, &versions, &tz))
                            }
                        }
                    }
                }
            }
            section aria-labelledby="bereitstellungen" {
                h2 id="bereitstellungen" { "Bereitstellungen (" (overview.rollouts.len()) ")" }
                @if overview.rollouts.is_empty() {
                    p { "Noch keine." }
                } @else {
                    ul {
                        @for o in &overview.rollouts {
                            li {
                                (local_time(&o.staged_at, &tz)) ": " (o.version) " für "
                                @match &o.device_id {
                                    Some(id) => { (device_name(id)) }
                                    None => { "alle Kioske" }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// What a kiosk's last update event means, in German.
fn status_text(status: &str) -> &'static str {
    match status {
        "pending" => "wird nach dem Neustart geprüft",
        "healthy" => "gesund",
        "rolled_back" => "zurückgerollt",
        "refused" => "abgelehnt (nicht installiert)",
        _ => "unbekannt",
    }
}

fn device_row(user: &WebUser, d: &DeviceUpdate, versions: &[(String, String)], tz: &str) -> Markup {
    html! {
        tr {
            th scope="row" { (d.name) @if d.status == "revoked" { " (gesperrt)" } }
            td { (d.software_version.as_deref().unwrap_or("–")) }
            td { (d.target_version.as_deref().unwrap_or("–")) }
            td {
                @if let Some(u) = &d.update {
                    (u.version) ": " (status_text(&u.status))
                    @if let Some(detail) = &u.detail { br; small { (detail) } }
                    br; small { (local_time(&u.at, tz)) }
                } @else { "–" }
            }
            td { @if d.rolled_back.is_empty() { "–" } @else { (d.rolled_back.join(", ")) } }
            td {
                @if d.status != "revoked" && !versions.is_empty() {
                    form class="inline" method="post" action="/console/updates/stage" {
                        (layout::csrf_field(user))
                        input type="hidden" name="id" value=(Uuid::new_v4());
                        input type="hidden" name="device" value=(d.id);
                        (version_choice(&d.id, &format!("Version für {}", d.name), versions))
                        button type="submit" { "Bereitstellen" }
                    }
                }
            }
        }
    }
}

/// A version choice with an id of its own (the page holds one per kiosk).
fn version_choice(key: &str, label: &str, versions: &[(String, String)]) -> Markup {
    let id = format!("f-version-{key}");
    html! {
        div class="field" {
            label for=(id) { (label) }
            select id=(id) name="version" required {
                @for (value, text) in versions {
                    option value=(value) { (text) }
                }
            }
        }
    }
}

/// The stage form: for one kiosk (`device`) or for all of a region (`region`).
#[derive(Debug, Deserialize)]
struct StageForm {
    id: String,
    version: String,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

/// `POST /console/updates/stage`.
async fn stage(
    State(app): State<AppState>,
    CsrfForm(user, form): CsrfForm<StageForm>,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin])?;
    let id = Uuid::parse_str(form.id.trim()).map_err(|_| {
        WebError::BadRequest(
            "Das Formular ist unvollständig. Bitte laden Sie die Seite neu.".into(),
        )
    })?;
    let input = StageInput {
        id,
        version: form.version.trim().to_string(),
        device_id: form.device.filter(|d| !d.trim().is_empty()),
        region_id: form.region.filter(|r| !r.trim().is_empty()),
    };
    let who = user.who();
    let (rollout, _) = app
        .store
        .run(move |conn| updates::stage(conn, &who, &input, Utc::now()))
        .await
        .map_err(german)?;
    Ok(Redirect::to(&format!(
        "/console/updates?region={}&done=staged",
        percent_encode(&rollout.region_id)
    ))
    .into_response())
}

/// The refusals of [`updates::stage`] as people read them.
fn german(e: StoreError) -> WebError {
    match e {
        StoreError::Conflict(detail) if detail.contains("rolled version") => WebError::Conflict(
            "Dieser Kiosk hat die Version zurückgerollt, weil sie nach dem Neustart nicht lief. \
             Bitte eine neuere Version bereitstellen."
                .into(),
        ),
        StoreError::Conflict(detail) if detail.contains("healthy") => WebError::Conflict(
            "Noch kein Kiosk der Region hat diese Version als gesund gemeldet. Bitte zuerst für \
             einen Kiosk bereitstellen und seinen Neustart abwarten."
                .into(),
        ),
        StoreError::Conflict(_) => WebError::Conflict(
            "Dieses Formular wurde schon mit anderem Inhalt gesendet. Bitte laden Sie die Seite neu."
                .into(),
        ),
        StoreError::Invalid { field, .. } => WebError::BadRequest(
            match field.as_str() {
                "version" => "Bitte eine Version wählen, die der Hub kennt.",
                "device_id" => "Diesen Kiosk gibt es nicht, oder er ist gesperrt.",
                "region_id" => "Diese Region gibt es nicht.",
                _ => "Das Formular ist unvollständig.",
            }
            .into(),
        ),
        other => other.into(),
    }
}
