//! The admins' device page (`/console/devices`): a region's kiosks on a map drawn from the stops'
//! coordinates (inline SVG, no tile server) and in a table with online state, printer, outbox and
//! alerts; adding a kiosk with its one-time enrolment code, a new code, revoking, and the remote
//! settings a kiosk follows. The work is done by `crate::devices` and the store's records, the
//! same code the API uses, so validation, audit and change log stay one transaction.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use maud::{Markup, html};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::WebError;
use super::layout::{button_form, csrf_field, input, notice, page, select};
use super::session::{CsrfForm, WebUser};
use super::{RegionQuery, chosen_region, local_time, percent_encode, regions_or_none_yet};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::devices::status::{self, DeviceStatus, SILENT_AFTER_MINUTES};
use crate::devices::{self, Alert, DeviceError, IssuedCode};
use crate::domain::{Device, Role};
use crate::store::records;
use crate::store::{StoreError, StoreResult};

/// Longest device name taken from the form.
const MAX_NAME: usize = 100;
/// Longest value of a single settings field.
const MAX_SETTING: usize = 100;
/// Longest opening-hours text (one line per interval).
const MAX_HOURS_TEXT: usize = 2000;
/// The settings keys a kiosk understands (`domain::devices::DeviceSettings`), as form fields.
const SETTING_FIELDS: &[&str] = &[
    "languages",
    "opening_hours",
    "screen_on",
    "screen_off",
    "brightness_day",
    "brightness_night",
];
/// Languages by tag, as the admin reads them.
const LANGUAGE_NAMES: &[(&str, &str)] = &[
    ("de", "Deutsch"),
    ("en", "Englisch"),
    ("uk", "Ukrainisch"),
    ("ar", "Arabisch"),
    ("tr", "Türkisch"),
];
/// Weekdays as stored and as typed (German two letters or the stored English three).
const WEEKDAYS: &[(&str, &str)] = &[
    ("mon", "Mo"),
    ("tue", "Di"),
    ("wed", "Mi"),
    ("thu", "Do"),
    ("fri", "Fr"),
    ("sat", "Sa"),
    ("sun", "So"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/devices", get(devices_page).post(add_device))
        .route("/console/devices/{id}/code", post(new_code))
        .route("/console/devices/{id}/revoke", post(revoke))
        .route(
            "/console/devices/{id}/settings",
            get(settings_page).post(save_settings),
        )
}

fn device_error(e: DeviceError) -> WebError {
    WebError::from(ApiError::from(e))
}

/// A stop of the region with its village, for the map, the table and the stop choice.
struct StopInfo {
    name: String,
    village: String,
    lat: f64,
    lon: f64,
    live: bool,
}

/// A village's name and place, drawn as a small label.
struct VillageInfo {
    name: String,
    lat: f64,
    lon: f64,
}

/// Everything the device page shows of a region.
struct RegionDevices {
    devices: Vec<DeviceStatus>,
    stops: HashMap<String, StopInfo>,
    villages: Vec<VillageInfo>,
}

fn load_region(conn: &Connection, region: &str) -> StoreResult<RegionDevices> {
    let devices = status::list(conn, Some(region), Utc::now())?;
    let mut stmt = conn.prepare(
        "SELECT s.id, s.name, v.name, s.lat, s.lon, s.archived_at IS NULL AND v.archived_at IS NULL
         FROM stops s JOIN villages v ON v.id = s.village_id
         WHERE s.region_id = ?1 ORDER BY v.name, s.name",
    )?;
    let stops = stmt
        .query_map([region], |r| {
            Ok((
                r.get::<_, String>(0)?,
                StopInfo {
                    name: r.get(1)?,
                    village: r.get(2)?,
                    lat: r.get(3)?,
                    lon: r.get(4)?,
                    live: r.get(5)?,
                },
            ))
        })?
        .collect::<Result<HashMap<_, _>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT name, lat, lon FROM villages WHERE region_id = ?1 AND archived_at IS NULL
         ORDER BY name",
    )?;
    let villages = stmt
        .query_map([region], |r| {
            Ok(VillageInfo {
                name: r.get(0)?,
                lat: r.get(1)?,
                lon: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RegionDevices {
        devices,
        stops,
        villages,
    })
}

/// How a device shows on the map: shape and colour both say it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MapState {
    Online,
    Offline,
    Alert,
}

impl MapState {
    fn of(device: &DeviceStatus) -> MapState {
        if device.alerts.iter().any(|a| *a != Alert::Silent) {
            MapState::Alert
        } else if device.online {
            MapState::Online
        } else {
            MapState::Offline
        }
    }

    fn word(self) -> &'static str {
        match self {
            MapState::Online => "erreichbar",
            MapState::Offline => "nicht erreichbar",
            MapState::Alert => "Warnung",
        }
    }

    fn class(self) -> &'static str {
        match self {
            MapState::Online => "dev-online",
            MapState::Offline => "dev-offline",
            MapState::Alert => "dev-alert",
        }
    }

    /// The marker: a circle when online, a square when offline, a triangle with an alert.
    fn marker(self, x: f64, y: f64) -> Markup {
        let class = self.class();
        html! {
            @match self {
                MapState::Online => circle class=(class) cx=(fmt(x)) cy=(fmt(y)) r="8" {},
                MapState::Offline => rect class=(class) x=(fmt(x - 7.0)) y=(fmt(y - 7.0)) width="14" height="14" {},
                MapState::Alert => polygon class=(class)
                    points=(format!("{},{} {},{} {},{}", fmt(x), fmt(y - 10.0), fmt(x + 9.0), fmt(y + 7.0), fmt(x - 9.0), fmt(y + 7.0))) {},
            }
        }
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

const MAP_W: f64 = 640.0;
const MAP_H: f64 = 420.0;
const MAP_MARGIN: f64 = 50.0;

/// An equirectangular projection of the bounding box of `points` onto the map, keeping the
/// aspect (longitude shrunk by the cosine of the middle latitude).
struct Projection {
    min_lon: f64,
    max_lat: f64,
    kx: f64,
    scale: f64,
    dx: f64,
    dy: f64,
}

impl Projection {
    fn fit(points: &[(f64, f64)]) -> Option<Projection> {
        let (first_lat, first_lon) = *points.first()?;
        let (mut min_lat, mut max_lat, mut min_lon, mut max_lon) =
            (first_lat, first_lat, first_lon, first_lon);
        for (lat, lon) in points {
            min_lat = min_lat.min(*lat);
            max_lat = max_lat.max(*lat);
            min_lon = min_lon.min(*lon);
            max_lon = max_lon.max(*lon);
        }
        // A single place (or a row of them) still gets a box of about a kilometre.
        let pad = 0.005;
        if max_lat - min_lat < 2.0 * pad {
            min_lat -= pad;
            max_lat += pad;
        }
        if max_lon - min_lon < 2.0 * pad {
            min_lon -= pad;
            max_lon += pad;
        }
        let kx = ((min_lat + max_lat) / 2.0).to_radians().cos();
        let span_x = (max_lon - min_lon) * kx;
        let span_y = max_lat - min_lat;
        let scale = ((MAP_W - 2.0 * MAP_MARGIN) / span_x).min((MAP_H - 2.0 * MAP_MARGIN) / span_y);
        Some(Projection {
            min_lon,
            max_lat,
            kx,
            scale,
            dx: (MAP_W - span_x * scale) / 2.0,
            dy: (MAP_H - span_y * scale) / 2.0,
        })
    }

    fn xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        (
            self.dx + (lon - self.min_lon) * self.kx * self.scale,
            self.dy + (self.max_lat - lat) * self.scale,
        )
    }
}

/// The region's kiosks at their stops, with the villages as labels. Revoked kiosks are left out.
fn device_map(region_name: &str, data: &RegionDevices) -> Markup {
    let shown: Vec<(&DeviceStatus, &StopInfo)> = data
        .devices
        .iter()
        .filter(|d| d.status != "revoked")
        .filter_map(|d| data.stops.get(&d.stop_id).map(|s| (d, s)))
        .collect();
    let mut points: Vec<(f64, f64)> = data.villages.iter().map(|v| (v.lat, v.lon)).collect();
    points.extend(shown.iter().map(|(_, s)| (s.lat, s.lon)));
    let Some(projection) = Projection::fit(&points) else {
        return notice("warn", "Für die Karte fehlen Orte mit Koordinaten.");
    };
    let count = |state: MapState| {
        shown
            .iter()
            .filter(|(d, _)| MapState::of(d) == state)
            .count()
    };
    let label = format!(
        "Karte der Kioske in {region_name}: {} erreichbar, {} nicht erreichbar, {} mit Warnung. \
         Dieselben Angaben stehen in der Tabelle unter der Karte.",
        count(MapState::Online),
        count(MapState::Offline),
        count(MapState::Alert)
    );
    let mut at_stop: HashMap<&str, usize> = HashMap::new();
    html! {
        figure class="device-map" {
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {MAP_W} {MAP_H}"))
                role="img" aria-label=(label) {
                title { (label) }
                rect class="map-ground" x="0" y="0" width=(MAP_W) height=(MAP_H) {}
                @for village in &data.villages {
                    @let (x, y) = projection.xy(village.lat, village.lon);
                    circle class="village-dot" cx=(fmt(x)) cy=(fmt(y)) r="3" {}
                    text class="village-label" x=(fmt(x)) y=(fmt(y + 24.0)) text-anchor="middle" {
                        (village.name)
                    }
                }
                @for (device, stop) in &shown {
                    @let (x, y) = projection.xy(stop.lat, stop.lon);
                    @let n = {
                        let n = at_stop.entry(device.stop_id.as_str()).or_insert(0);
                        *n += 1;
                        *n - 1
                    };
                    @let y = y + 22.0 * n as f64;
                    @let state = MapState::of(device);
                    (state.marker(x, y))
                    // Labels of markers in the right part of the map go to their left.
                    @let (label_x, anchor) = if x > MAP_W * 0.55 { (x - 13.0, "end") } else { (x + 13.0, "start") };
                    text class="device-label" x=(fmt(label_x)) y=(fmt(y + 5.0)) text-anchor=(anchor) {
                        (device.name) " (" (state.word()) ")"
                    }
                }
            }
            figcaption {
                "Zeichen: "
                span class="legend" { (legend(MapState::Online)) " Kreis: erreichbar" } ", "
                span class="legend" { (legend(MapState::Offline)) " Quadrat: nicht erreichbar" } ", "
                span class="legend" { (legend(MapState::Alert)) " Dreieck: Warnung. " }
                "Widerrufene Kioske fehlen auf der Karte."
            }
        }
    }
}

/// A small marker for the legend (decorative: the text beside it says the same).
fn legend(state: MapState) -> Markup {
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="legend-mark" viewBox="0 0 24 24"
            aria-hidden="true" focusable="false" {
            (state.marker(12.0, 13.0))
        }
    }
}

fn status_word(status: &str) -> &'static str {
    match status {
        "pending" => "wartet auf Einrichtung",
        "active" => "eingerichtet",
        _ => "widerrufen",
    }
}

fn alert_word(alert: Alert) -> &'static str {
    match alert {
        Alert::Silent => "meldet sich nicht",
        Alert::PrinterOut => "Drucker ohne Papier",
        Alert::PrinterOffline => "Drucker nicht erreichbar",
        Alert::UnderVoltage => "Unterspannung",
        Alert::DiskLow => "Speicher fast voll",
        Alert::Storage => "Speicherkarte meldet Fehler",
    }
}

fn printer_word(printer: &str) -> &str {
    match printer {
        "ok" => "bereit",
        "paper_low" => "Papier geht zur Neige",
        "out" => "kein Papier",
        "offline" => "nicht erreichbar",
        other => other,
    }
}

fn device_table(user: &WebUser, data: &RegionDevices, time_zone: &str) -> Markup {
    html! {
        div class="table-wrap" tabindex="0" role="region" aria-label="Kioske der Region" {
            table class="devices" {
                caption { "Kioske der Region" }
                thead { tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Ort / Haltestelle" }
                    th scope="col" { "Zustand" }
                    th scope="col" { "Zuletzt gemeldet" }
                    th scope="col" { "Software" }
                    th scope="col" { "Drucker" }
                    th scope="col" { "Ungesendet" }
                    th scope="col" { "Warnungen" }
                    th scope="col" { "Aktionen" }
                } }
                tbody {
                    @for device in &data.devices {
                        (device_row(user, device, data.stops.get(&device.stop_id), time_zone))
                    }
                }
            }
        }
        @if data.devices.is_empty() {
            p { "In dieser Region ist noch kein Kiosk angelegt." }
        }
    }
}

fn device_row(
    user: &WebUser,
    device: &DeviceStatus,
    stop: Option<&StopInfo>,
    time_zone: &str,
) -> Markup {
    let state = MapState::of(device);
    let beat = device.heartbeat.as_ref();
    html! {
        tr id={ "device-" (device.id) } {
            th scope="row" { (device.name) }
            td { @if let Some(stop) = stop { (stop.village) ", " (stop.name) } }
            td {
                (status_word(&device.status))
                @if device.status != "revoked" {
                    br;
                    span class=(format!("{}-text", state.class())) { (state.word()) }
                }
            }
            td { @match &device.last_seen_at {
                Some(at) => (local_time(at, time_zone)),
                None => "noch nie",
            } }
            td { (device.software_version.as_deref().unwrap_or("–")) }
            td { (beat.map_or("–", |b| printer_word(&b.printer))) }
            td { @match beat { Some(b) => (b.outbox_len), None => "–" } }
            td {
                @if device.alerts.is_empty() { "keine" }
                @else {
                    ul class="plain" { @for alert in &device.alerts { li { (alert_word(*alert)) } } }
                }
            }
            td class="actions" {
                a href=(format!("/console/devices/{}/settings", device.id)) {
                    "Einstellungen von " (device.name)
                }
                @if device.status != "active" {
                    (button_form(user, &format!("/console/devices/{}/code", device.id),
                        &format!("Neuer Code für {}", device.name),
                        (device.status == "revoked").then_some(
                            "Der widerrufene Kiosk kann mit dem neuen Code wieder eingerichtet werden. Fortfahren?")))
                }
                @if device.status != "revoked" {
                    (button_form(user, &format!("/console/devices/{}/revoke", device.id),
                        &format!("{} widerrufen", device.name),
                        Some("Den Kiosk wirklich widerrufen? Sein Zertifikat gilt sofort nicht mehr.")))
                }
            }
        }
    }
}

fn add_form(user: &WebUser, region: &str, stops: &HashMap<String, StopInfo>) -> Markup {
    let mut options: Vec<(String, String)> = stops
        .iter()
        .filter(|(_, s)| s.live)
        .map(|(id, s)| (id.clone(), format!("{}, {}", s.village, s.name)))
        .collect();
    options.sort_by(|a, b| a.1.cmp(&b.1));
    html! {
        h2 { "Kiosk hinzufügen" }
        @if options.is_empty() {
            p { "Legen Sie zuerst Orte und Haltestellen an (Regionsdaten)." }
        } @else {
            form method="post" action="/console/devices" {
                (csrf_field(user))
                input type="hidden" name="region" value=(region);
                input type="hidden" name="client_id" value=(uuid::Uuid::new_v4());
                (input("name", "Name des Kiosks", "text", "", true,
                    Some("Zum Beispiel „Kiosk Edeka Kneitlingen“, höchstens 100 Zeichen.")))
                (select("stop_id", "Haltestelle", &options, "", true))
                button type="submit" { "Kiosk anlegen und Code erzeugen" }
            }
        }
    }
}

async fn devices_page(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<RegionQuery>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin])?;
    let all = match regions_or_none_yet(&app, &user, "Geräte", html! {}).await? {
        Ok(all) => all,
        Err(none_yet) => return Ok(none_yet),
    };
    let (region, name, time_zone) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let id = region.clone();
    let data = app.store.run(move |conn| load_region(conn, &id)).await?;
    Ok(page(
        Some(&user),
        &format!("Geräte {name}"),
        html! {
            form method="get" action="/console/devices" class="region-choice" {
                (select("region", "Region", &all, &region, false))
                button type="submit" class="secondary" { "Anzeigen" }
            }
            p class="muted" {
                "Ein Kiosk gilt als erreichbar, wenn er sich in den letzten "
                (SILENT_AFTER_MINUTES) " Minuten gemeldet hat."
            }
            (device_map(&name, &data))
            (device_table(&user, &data, &time_zone))
            (add_form(&user, &region, &data.stops))
        },
    ))
}

#[derive(Deserialize)]
struct AddForm {
    region: String,
    name: String,
    stop_id: String,
    client_id: String,
}

/// Creates the kiosk (idempotent by the form's client id, so sending the form twice makes one)
/// and shows its first enrolment code.
async fn add_device(
    State(app): State<AppState>,
    headers: HeaderMap,
    CsrfForm(user, form): CsrfForm<AddForm>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin])?;
    let name = form.name.trim().to_string();
    if name.is_empty() {
        return Err(WebError::BadRequest(
            "Bitte geben Sie dem Kiosk einen Namen.".into(),
        ));
    }
    if name.chars().count() > MAX_NAME {
        return Err(WebError::BadRequest(format!(
            "Der Name ist zu lang (höchstens {MAX_NAME} Zeichen)."
        )));
    }
    let client_id = uuid::Uuid::parse_str(&form.client_id).map_err(|_| {
        WebError::BadRequest("Das Formular ist beschädigt; bitte neu laden.".into())
    })?;
    let (region, _, time_zone) = chosen_region(&app, &user, Some(&form.region)).await?;
    let who = user.who();
    let stop_id = form.stop_id;
    let issued = app
        .store
        .run(move |conn| {
            let live_stop: bool = conn.query_row(
                "SELECT count(*) FROM stops WHERE id = ?1 AND region_id = ?2 AND archived_at IS NULL",
                [&stop_id, &region],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            if !live_stop {
                return Ok(Err(WebError::BadRequest(
                    "Diese Haltestelle gibt es in der Region nicht.".into(),
                )));
            }
            let input = Device {
                region_id: region,
                name,
                stop_id,
                settings: Map::new(),
            };
            let created = records::create::<Device>(conn, &who, Some(client_id), &input)?;
            let id = created
                .record
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            Ok(devices::issue_code(conn, &who, &id, Utc::now()).map_err(device_error))
        })
        .await??;
    let device_name = form.name.trim().to_string();
    Ok(code_page(
        &user,
        &headers,
        &device_name,
        &issued,
        &time_zone,
    ))
}

/// Shows a one-time code, large, once: the hub keeps only its hash.
fn code_page(
    user: &WebUser,
    headers: &HeaderMap,
    device_name: &str,
    issued: &IssuedCode,
    time_zone: &str,
) -> Markup {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("hub.example");
    page(
        Some(user),
        "Einrichtungscode",
        html! {
            (notice("ok", &format!("Der Einrichtungscode für „{device_name}“ ist erzeugt.")))
            p { "Einrichtungscode:" }
            p class="enrol-code" id="enrol-code" { (issued.code) }
            p {
                "Gültig bis " strong { (local_time(&issued.expires_at, time_zone)) }
                " (24 Stunden), nur einmal verwendbar. Dieser Code wird nur jetzt angezeigt: "
                "notieren Sie ihn oder lassen Sie die Seite offen, bis der Kiosk eingerichtet ist. "
                "Ein neuer Code macht diesen ungültig."
            }
            h2 { "So wird der Kiosk eingerichtet" }
            p {
                "Auf dem Kiosk (als Verwalter, mit dem Zertifikat dieses Hubs) eingeben:"
            }
            pre class="command" {
                "kiosk enroll --hub https://" (host) " --code " (issued.code)
                " --hub-ca /etc/dorfpunkt/hub-cert.pem --data-dir /var/lib/dorfpunkt-kiosk"
            }
            p { "Danach meldet sich der Kiosk innerhalb weniger Minuten und erscheint als erreichbar." }
            p { a href="/console/devices" { "Zurück zu den Geräten" } }
        },
    )
}

#[derive(Deserialize)]
struct Empty {}

/// The device's region and name, or 404.
async fn device_of(app: &AppState, id: &str) -> Result<(String, String), WebError> {
    let id = id.to_string();
    let record = app
        .store
        .run(move |conn| records::read_row::<Device>(conn, &id))
        .await?;
    let field = |name: &str| {
        record
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| WebError::Internal(format!("device without {name}")))
    };
    Ok((field("region_id")?, field("name")?))
}

async fn new_code(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin])?;
    let (region, name) = device_of(&app, &id).await?;
    let (_, _, time_zone) = chosen_region(&app, &user, Some(&region)).await?;
    let who = user.who();
    let issued = app
        .store
        .run(move |conn| Ok(devices::issue_code(conn, &who, &id, Utc::now())))
        .await?
        .map_err(device_error)?;
    Ok(code_page(&user, &headers, &name, &issued, &time_zone))
}

/// Revokes through the API's code: status, certificates and unused codes in one transaction, so
/// the kiosk is refused at once, also on connections already open.
async fn revoke(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin])?;
    let (region, _) = device_of(&app, &id).await?;
    let who = user.who();
    app.store
        .run(move |conn| Ok(devices::revoke(conn, &who, &id)))
        .await?
        .map_err(device_error)?;
    Ok(back_to(&region))
}

fn back_to(region: &str) -> Response {
    Redirect::to(&format!(
        "/console/devices?region={}",
        percent_encode(region)
    ))
    .into_response()
}

/// The stored settings of a device.
async fn settings_of(app: &AppState, id: &str) -> Result<(String, Map<String, Value>), WebError> {
    let id = id.to_string();
    let record = app
        .store
        .run(move |conn| records::read_row::<Device>(conn, &id))
        .await?;
    let name = record
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let settings = record
        .get("settings")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    Ok((name, settings))
}

fn text_of(settings: &Map<String, Value>, key: &str) -> String {
    match settings.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Opening hours as the form shows them: one interval a line, `Mo 08:00-20:00`.
fn hours_text(settings: &Map<String, Value>) -> String {
    settings
        .get("opening_hours")
        .and_then(Value::as_array)
        .map(|hours| {
            hours
                .iter()
                .map(|h| {
                    let day = h.get("weekday").and_then(Value::as_str).unwrap_or_default();
                    let day = WEEKDAYS
                        .iter()
                        .find(|(stored, _)| *stored == day)
                        .map_or(day, |(_, german)| german);
                    let open = h.get("open").and_then(Value::as_str).unwrap_or_default();
                    let close = h.get("close").and_then(Value::as_str).unwrap_or_default();
                    format!("{day} {open}-{close}")
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn settings_form(
    user: &WebUser,
    id: &str,
    name: &str,
    settings: &Map<String, Value>,
    saved: bool,
) -> Markup {
    let languages: Vec<String> = settings
        .get("languages")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    page(
        Some(user),
        &format!("Einstellungen {name}"),
        html! {
            @if saved { (notice("ok", "Die Einstellungen sind gespeichert. Der Kiosk übernimmt sie beim nächsten Abgleich.")) }
            p { "Leere Felder lassen die Voreinstellung des Kiosks gelten." }
            form method="post" action=(format!("/console/devices/{id}/settings")) {
                (csrf_field(user))
                fieldset {
                    legend { "Angebotene Sprachen (Deutsch ist immer dabei)" }
                    @for (tag, label) in LANGUAGE_NAMES {
                        div class="check" {
                            input type="checkbox" id=(format!("f-lang-{tag}")) name="languages"
                                value=(tag) checked[languages.iter().any(|l| l == tag)];
                            label for=(format!("f-lang-{tag}")) { (label) }
                        }
                    }
                }
                (input("screen_on", "Bildschirm an (Uhrzeit)", "time", &text_of(settings, "screen_on"), false,
                    Some("Nur zusammen mit „Bildschirm aus“.")))
                (input("screen_off", "Bildschirm aus (Uhrzeit)", "time", &text_of(settings, "screen_off"), false, None))
                (input("brightness_day", "Helligkeit am Tag (Prozent)", "number", &text_of(settings, "brightness_day"), false,
                    Some("10 bis 100.")))
                (input("brightness_night", "Helligkeit in der Nacht (Prozent)", "number", &text_of(settings, "brightness_night"), false,
                    Some("10 bis 100.")))
                div class="field" {
                    label for="f-opening_hours" { "Öffnungszeiten des Aufstellorts" }
                    span class="hint" id="f-opening_hours-hint" {
                        "Eine Zeit je Zeile, zum Beispiel „Mo 08:00-20:00“. Außerhalb schläft der Bildschirm."
                    }
                    textarea id="f-opening_hours" name="opening_hours" rows="7"
                        aria-describedby="f-opening_hours-hint" { (hours_text(settings)) }
                }
                button type="submit" { "Einstellungen speichern" }
            }
            p { a href="/console/devices" { "Zurück zu den Geräten" } }
        },
    )
}

#[derive(Deserialize)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn settings_page(
    State(app): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin])?;
    let (name, settings) = settings_of(&app, &id).await?;
    Ok(settings_form(
        &user,
        &id,
        &name,
        &settings,
        q.saved.is_some(),
    ))
}

fn bad(text: impl Into<String>) -> WebError {
    WebError::BadRequest(text.into())
}

/// A time of day `HH:MM` (browsers may send seconds: `HH:MM:SS` is cut).
fn time_value(field: &str, value: &str) -> Result<String, WebError> {
    let value = if value.len() == 8 && value.ends_with(":00") {
        &value[..5]
    } else {
        value
    };
    chrono::NaiveTime::parse_from_str(value, "%H:%M")
        .ok()
        .filter(|_| value.len() == 5)
        .map(|_| value.to_string())
        .ok_or_else(|| bad(format!("{field}: bitte eine Uhrzeit wie 07:30 eingeben.")))
}

fn opening_hours(text: &str) -> Result<Vec<Value>, WebError> {
    let mut hours = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let wrong = || {
            bad(format!(
                "Öffnungszeiten, Zeile {}: „{line}“ hat nicht die Form „Mo 08:00-20:00“.",
                n + 1
            ))
        };
        let (day, times) = line.split_once(' ').ok_or_else(wrong)?;
        let day = day.trim().to_lowercase();
        let weekday = WEEKDAYS
            .iter()
            .find(|(stored, german)| day == *stored || day == german.to_lowercase())
            .map(|(stored, _)| *stored)
            .ok_or_else(wrong)?;
        let (open, close) = times.trim().split_once('-').ok_or_else(wrong)?;
        let open = time_value("Öffnungszeiten", open.trim())?;
        let close = time_value("Öffnungszeiten", close.trim())?;
        if close <= open {
            return Err(bad(format!(
                "Öffnungszeiten, Zeile {}: das Ende liegt vor dem Anfang.",
                n + 1
            )));
        }
        hours.push(json!({"weekday": weekday, "open": open, "close": close}));
    }
    Ok(hours)
}

fn percent(field: &str, value: &str) -> Result<Value, WebError> {
    value
        .parse::<u8>()
        .ok()
        .filter(|v| (10..=100).contains(v))
        .map(Value::from)
        .ok_or_else(|| bad(format!("{field}: bitte eine Zahl von 10 bis 100 eingeben.")))
}

/// The settings object from the form's fields; unknown fields and bad values are refused.
fn settings_from(fields: &[(String, String)]) -> Result<Map<String, Value>, WebError> {
    let mut settings = Map::new();
    let mut languages: Vec<String> = Vec::new();
    for (key, value) in fields {
        if key == "_csrf" {
            continue;
        }
        if !SETTING_FIELDS.contains(&key.as_str()) {
            return Err(bad(format!("Unbekannte Einstellung „{key}“.")));
        }
        let limit = if key == "opening_hours" {
            MAX_HOURS_TEXT
        } else {
            MAX_SETTING
        };
        if value.chars().count() > limit {
            return Err(bad(format!("Die Eingabe für „{key}“ ist zu lang.")));
        }
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let parsed = match key.as_str() {
            "languages" => {
                if !protocol::is_supported_language(value) {
                    return Err(bad(format!(
                        "Die Sprache „{value}“ bietet der Kiosk nicht an."
                    )));
                }
                languages.push(value.to_string());
                continue;
            }
            "screen_on" => Value::from(time_value("Bildschirm an", value)?),
            "screen_off" => Value::from(time_value("Bildschirm aus", value)?),
            "brightness_day" => percent("Helligkeit am Tag", value)?,
            "brightness_night" => percent("Helligkeit in der Nacht", value)?,
            _ => Value::from(opening_hours(value)?),
        };
        if settings.insert(key.clone(), parsed).is_some() {
            return Err(bad(format!("„{key}“ wurde mehrfach gesendet.")));
        }
    }
    if settings.contains_key("screen_on") != settings.contains_key("screen_off") {
        return Err(bad(
            "„Bildschirm an“ und „Bildschirm aus“ gehören zusammen: bitte beide oder keines angeben.",
        ));
    }
    if !languages.is_empty() {
        if !languages.iter().any(|l| l == "de") {
            languages.insert(0, "de".into());
        }
        settings.insert("languages".into(), json!(languages));
    }
    Ok(settings)
}

async fn save_settings(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin])?;
    let settings = settings_from(&fields)?;
    let who = user.who();
    let device = id.clone();
    app.store
        .run(move |conn| {
            let mut patch = Map::new();
            patch.insert("settings".into(), Value::Object(settings));
            records::update::<Device>(conn, &who, &device, patch)
        })
        .await
        .map_err(|e| match e {
            StoreError::Invalid { field, reason } => bad(format!(
                "Die Einstellungen wurden nicht gespeichert ({field}: {reason})."
            )),
            other => other.into(),
        })?;
    Ok(Redirect::to(&format!("/console/devices/{id}/settings?saved=1")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn settings_come_from_known_fields_only() {
        let s = settings_from(&fields(&[
            ("_csrf", "x"),
            ("languages", "uk"),
            ("screen_on", "07:30"),
            ("screen_off", "20:00:00"),
            ("brightness_day", "90"),
            ("brightness_night", ""),
            ("opening_hours", "Mo 08:00-20:00\nsat 09:00-13:00"),
        ]))
        .unwrap();
        assert_eq!(s["languages"], json!(["de", "uk"]));
        assert_eq!(s["screen_off"], json!("20:00"));
        assert_eq!(s["brightness_day"], json!(90));
        assert!(!s.contains_key("brightness_night"));
        assert_eq!(s["opening_hours"][1]["weekday"], json!("sat"));
        for bad in [
            vec![("colour", "red")],
            vec![("brightness_day", "5")],
            vec![("screen_on", "07:30")],
            vec![("screen_on", "25:00"), ("screen_off", "20:00")],
            vec![("languages", "fr")],
            vec![("opening_hours", "Mo 20:00-08:00")],
            vec![("opening_hours", "Montag immer")],
        ] {
            assert!(settings_from(&fields(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_projection_keeps_every_place_inside_the_map() {
        let points = [(52.13, 10.72), (52.20, 10.90), (52.05, 10.60)];
        let p = Projection::fit(&points).unwrap();
        for (lat, lon) in points {
            let (x, y) = p.xy(lat, lon);
            assert!(
                (0.0..=MAP_W).contains(&x) && (0.0..=MAP_H).contains(&y),
                "{x},{y}"
            );
        }
        // North is up, east is right.
        assert!(p.xy(52.20, 10.90).1 < p.xy(52.05, 10.60).1);
        assert!(p.xy(52.20, 10.90).0 > p.xy(52.05, 10.60).0);
        let single = Projection::fit(&[(52.0, 10.0)]).unwrap();
        let (x, y) = single.xy(52.0, 10.0);
        assert!((x - MAP_W / 2.0).abs() < 1.0 && (y - MAP_H / 2.0).abs() < 1.0);
    }
}
