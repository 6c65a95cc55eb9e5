//! Region data in the console (`/console/data`): villages, stops, destinations, vehicles, shifts,
//! residents, caregivers and the links between caregivers and residents (with how and when the
//! resident consented) of a region, for its dispatchers and for admins; regions themselves
//! for admins only. One generic list, form and archive per kind from the field tables in
//! `kinds.rs`; every write goes through `store::records` (validation, audit and change log in one
//! transaction), every import through `crate::import` (all or nothing). CSV export in the import's
//! columns (`csv.rs`), so export and import round-trip.

mod csv;
mod kinds;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono_tz::Tz;
use maud::{Markup, html};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::WebError;
use super::layout::{button_form, csrf_field, notice, page};
use super::session::{CsrfForm, WebUser, check_csrf};
use super::{chosen_region, local_time, percent_encode, regions_or_none_yet, regions_to_choose};
use crate::api::AppState;
use crate::domain::{
    Caregiver, CaregiverLink, Destination, Region, Resident, Role, Shift, Stop, Vehicle, Village,
};
use crate::import::{self, Format, ImportError, Location, MAX_FILE_BYTES, Source};
use crate::store::logs::{self, Action, Who};
use crate::store::records::{self, Created, ListQuery, Page};
use crate::store::{StoreError, StoreResult};
use kinds::{CONSENT_HOW, Field, FieldError, Input, Kind, form_text, german_reason, to_json};

/// Rows per list page.
const PAGE_ROWS: u32 = 50;
/// Largest import form body: the import's file limit, as the form sends it (CSV text is mostly
/// unreserved characters; a file that needs more is refused before anything is read into rows).
const IMPORT_BODY_LIMIT: usize = MAX_FILE_BYTES;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/data", get(overview))
        .route("/console/data/{kind}", get(list_or_export).post(create))
        .route("/console/data/{kind}/new", get(new_form))
        .route(
            "/console/data/{kind}/import",
            get(import_form).post(import_csv),
        )
        .route("/console/data/{kind}/{id}", get(edit_form).post(update))
        .route("/console/data/{kind}/{id}/archive", post(archive))
}

/// Runs `$body` with `$R` the domain type of `$kind`: one arm per kind, made from one list.
macro_rules! with_resource {
    (@arms $kind:expr, $R:ident, $body:expr; $($variant:ident: $ty:ty),* $(,)?) => {
        match $kind {
            $(Kind::$variant => {
                type $R = $ty;
                $body
            })*
        }
    };
    ($kind:expr, $R:ident => $body:expr) => {
        with_resource!(@arms $kind, $R, $body;
            Regions: Region, Villages: Village, Stops: Stop, Destinations: Destination,
            Vehicles: Vehicle, Shifts: Shift, Residents: Resident, Caregivers: Caregiver,
            CaregiverLinks: CaregiverLink)
    };
}

/// A page of a kind through the store (which audits lists of personal data).
fn list(conn: &mut Connection, who: &Who, kind: Kind, query: &ListQuery) -> StoreResult<Page> {
    with_resource!(kind, R => records::list::<R>(conn, who, query))
}

fn read(conn: &mut Connection, who: &Who, kind: Kind, id: &str) -> StoreResult<Value> {
    with_resource!(kind, R => records::get::<R>(conn, who, id))
}

fn create_record(
    conn: &mut Connection,
    who: &Who,
    kind: Kind,
    id: Uuid,
    fields: Map<String, Value>,
) -> StoreResult<Created> {
    with_resource!(kind, R => {
        let input: R = records::from_object(fields)?;
        records::create(conn, who, Some(id), &input)
    })
}

fn update_record(
    conn: &mut Connection,
    who: &Who,
    kind: Kind,
    id: &str,
    patch: Map<String, Value>,
) -> StoreResult<Value> {
    with_resource!(kind, R => records::update::<R>(conn, who, id, patch))
}

fn cancel_record(conn: &mut Connection, who: &Who, kind: Kind, id: &str) -> StoreResult<Value> {
    with_resource!(kind, R => records::cancel::<R>(conn, who, id, None))
}

/// `?region=`, `?archived=`, `?after=` and `?done=` of the data pages.
#[derive(Debug, Default, Deserialize)]
struct DataQuery {
    region: Option<String>,
    archived: Option<String>,
    after: Option<i64>,
    done: Option<String>,
}

/// The region a page works in: id, name and time zone.
struct Place {
    id: String,
    name: String,
    tz: Tz,
}

impl Place {
    /// The `?region=` of links, so an admin stays in the region they chose.
    fn query(&self) -> String {
        format!("region={}", percent_encode(&self.id))
    }
}

/// The kind of a path, for a person who may see it: admins and dispatchers; regions admins only.
fn kind_for(user: &WebUser, slug: &str) -> Result<Kind, WebError> {
    user.require(&[Role::Admin, Role::Dispatcher])?;
    let kind = Kind::from_slug(slug).ok_or(WebError::NotFound)?;
    if kind == Kind::Regions {
        user.require(&[Role::Admin])?;
    }
    Ok(kind)
}

/// The region of a page of `kind` (regions themselves have none).
async fn place_for(
    app: &AppState,
    user: &WebUser,
    kind: Kind,
    asked: Option<&str>,
) -> Result<Option<Place>, WebError> {
    if kind == Kind::Regions {
        return Ok(None);
    }
    let (id, name, tz) = chosen_region(app, user, asked).await?;
    let tz = tz.parse().unwrap_or(chrono_tz::Europe::Berlin);
    Ok(Some(Place { id, name, tz }))
}

fn tz_of(place: Option<&Place>) -> Tz {
    place.map_or(chrono_tz::Europe::Berlin, |p| p.tz)
}

fn base(kind: Kind, place: Option<&Place>) -> (String, String) {
    let path = format!("/console/data/{}", kind.slug());
    let query = place.map(Place::query).unwrap_or_default();
    (path, query)
}

/// The region a stored record belongs to (a region is its own).
fn region_of_record(kind: Kind, record: &Value) -> Option<String> {
    let key = if kind == Kind::Regions {
        "id"
    } else {
        "region_id"
    };
    record.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Reads a record for `user`: unknown → 404, of another region → 403.
async fn record_for(
    app: &AppState,
    user: &WebUser,
    kind: Kind,
    id: &str,
) -> Result<(Value, Option<Place>), WebError> {
    let who = user.who();
    let owned = id.to_string();
    let record = app
        .store
        .run(move |conn| read(conn, &who, kind, &owned))
        .await?;
    let region = region_of_record(kind, &record);
    if let Some(region) = &region
        && !user.may_see_region(region)
    {
        return Err(WebError::Forbidden);
    }
    let place = place_for(app, user, kind, region.as_deref()).await?;
    Ok((record, place))
}

/// Choices of the region's selects: villages, vehicles, driver accounts, caregivers and
/// residents (id, name).
#[derive(Default)]
struct Choices {
    villages: Vec<(String, String)>,
    vehicles: Vec<(String, String)>,
    drivers: Vec<(String, String)>,
    caregivers: Vec<(String, String)>,
    residents: Vec<(String, String)>,
}

impl Choices {
    fn of(&self, input: Input) -> &[(String, String)] {
        match input {
            Input::Village => &self.villages,
            Input::Vehicle => &self.vehicles,
            Input::Driver => &self.drivers,
            Input::Caregiver => &self.caregivers,
            Input::Resident => &self.residents,
            _ => &[],
        }
    }

    /// The name of a referenced record, for lists.
    fn name(&self, input: Input, id: &str) -> String {
        self.of(input)
            .iter()
            .find(|(value, _)| value == id)
            .map_or_else(|| id.to_string(), |(_, name)| name.clone())
    }
}

/// Loads the choices of a region for the forms of `kind`. Driver accounts, caregivers and
/// residents are personal data: they are read (and the read audited) only for kinds that offer
/// them.
async fn choices(
    app: &AppState,
    user: &WebUser,
    kind: Kind,
    place: Option<&Place>,
) -> Result<Choices, WebError> {
    let Some(place) = place else {
        return Ok(Choices::default());
    };
    let offers = |input: Input| kind.fields().iter().any(|f| f.input == input);
    let with_drivers = offers(Input::Driver);
    let with_people = offers(Input::Caregiver) || offers(Input::Resident);
    let region = place.id.clone();
    let who = user.who();
    Ok(app
        .store
        .run(move |conn| {
            let pairs = |sql: &str| -> StoreResult<Vec<(String, String)>> {
                let mut stmt = conn.prepare(sql)?;
                let rows = stmt
                    .query_map([&region], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            };
            let villages = pairs(
                "SELECT id, name FROM villages WHERE region_id = ?1 AND archived_at IS NULL ORDER BY name",
            )?;
            let vehicles = pairs(
                "SELECT id, name FROM vehicles WHERE region_id = ?1 AND archived_at IS NULL ORDER BY name",
            )?;
            let mut drivers = Vec::new();
            if with_drivers {
                drivers = pairs(
                    "SELECT id, display_name FROM accounts WHERE region_id = ?1 AND role = 'driver'
                     AND archived_at IS NULL ORDER BY display_name",
                )?;
                logs::audit(conn, &who, Action::List, "accounts", None, Some(&region))?;
            }
            let (mut caregivers, mut residents) = (Vec::new(), Vec::new());
            if with_people {
                // Name and contact or street, so two people of the same name can be told apart.
                caregivers = pairs(
                    "SELECT id, name || COALESCE(', ' || COALESCE(phone, email), '') FROM caregivers
                     WHERE region_id = ?1 AND archived_at IS NULL ORDER BY name, id",
                )?;
                residents = pairs(
                    "SELECT id, name || ', ' || street FROM residents
                     WHERE region_id = ?1 AND archived_at IS NULL ORDER BY name, id",
                )?;
                logs::audit(conn, &who, Action::List, "caregivers", None, Some(&region))?;
                logs::audit(conn, &who, Action::List, "residents", None, Some(&region))?;
            }
            Ok(Choices {
                villages,
                vehicles,
                drivers,
                caregivers,
                residents,
            })
        })
        .await?)
}

/// A success message for `?done=`.
fn done_notice(done: Option<&str>) -> Markup {
    let text = match done {
        Some("angelegt") => "Der Eintrag wurde angelegt.",
        Some("gespeichert") => "Die Änderungen wurden gespeichert.",
        Some("archiviert") => "Der Eintrag wurde archiviert.",
        _ => return html! {},
    };
    notice("ok", text)
}

/// An admin's choice of region (dispatchers have one).
fn region_choice(all: &[(String, String)], action: &str, chosen: &str) -> Markup {
    html! {
        @if !all.is_empty() {
            form method="get" action=(action) class="region-choice" {
                (super::layout::select("region", "Region", all, chosen, false))
                button type="submit" class="secondary" { "Anzeigen" }
            }
        }
    }
}

/// `/console/data`: per kind the number of live records and the links.
async fn overview(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<DataQuery>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin, Role::Dispatcher])?;
    let next = html! { p { a href="/console/data/regions/new" { "Region anlegen" } } };
    let all = match regions_or_none_yet(&app, &user, "Regionsdaten", next).await? {
        Ok(all) => all,
        Err(none_yet) => return Ok(none_yet),
    };
    let place = place_for(&app, &user, Kind::Villages, q.region.as_deref())
        .await?
        .ok_or(WebError::NotFound)?;
    let region = place.id.clone();
    let counts = app
        .store
        .run(move |conn| {
            let mut counts = Vec::new();
            for kind in Kind::REGION_DATA {
                let live = if kind.by_status() {
                    "status <> 'cancelled'"
                } else {
                    "archived_at IS NULL"
                };
                let sql = format!(
                    "SELECT count(*) FROM {} WHERE region_id = ?1 AND {live}",
                    kind.slug()
                );
                counts.push((
                    kind,
                    conn.query_row(&sql, [&region], |r| r.get::<_, i64>(0))?,
                ));
            }
            Ok(counts)
        })
        .await?;
    Ok(page(
        Some(&user),
        &format!("Regionsdaten {}", place.name),
        html! {
            (done_notice(q.done.as_deref()))
            (region_choice(&all, "/console/data", &place.id))
            @if user.role == Role::Admin {
                p {
                    a href="/console/data/regions/new" { "Neue Region anlegen" }
                    " · "
                    a href="/console/data/regions" { "Alle Regionen" }
                }
            }
            div class="table-wrap" tabindex="0" role="region" aria-label={ "Einträge der Region " (place.name) } { table class="data-overview" {
                caption { "Einträge der Region " (place.name) }
                thead { tr { th scope="col" { "Art" } th scope="col" { "Anzahl" } th scope="col" { "Aktionen" } } }
                tbody {
                    @for (kind, count) in &counts {
                        @let (path, query) = base(*kind, Some(&place));
                        tr {
                            th scope="row" { a href={ (path) "?" (query) } { (kind.title()) } }
                            td { (count) }
                            td class="actions" {
                                a href={ (path) "/new?" (query) } { (kind.noun()) " anlegen" }
                                @if kind.import_kind().is_some() {
                                    " · " a href={ (path) ".csv?" (query) } { (kind.title()) " als CSV herunterladen" }
                                    " · " a href={ (path) "/import?" (query) } { (kind.title()) " aus CSV einlesen" }
                                }
                            }
                        }
                    }
                }
            } }
        },
    ))
}

/// `/console/data/{kind}` (a page of the list) or `/console/data/{kind}.csv` (the export).
async fn list_or_export(
    State(app): State<AppState>,
    user: WebUser,
    Path(slug): Path<String>,
    Query(q): Query<DataQuery>,
) -> Result<Response, WebError> {
    if let Some(slug) = slug.strip_suffix(".csv") {
        return export(app, user, slug, q).await;
    }
    let kind = kind_for(&user, &slug)?;
    let place = place_for(&app, &user, kind, q.region.as_deref()).await?;
    let archived = q.archived.is_some();
    let query = ListQuery {
        region_id: place.as_ref().map(|p| p.id.clone()),
        include_archived: archived,
        status: (kind.by_status() && !archived).then(|| "planned".to_string()),
        limit: PAGE_ROWS,
        after: q.after,
        ..ListQuery::default()
    };
    let who = user.who();
    let page_rows = app
        .store
        .run(move |conn| list(conn, &who, kind, &query))
        .await?;
    let choices = choices(&app, &user, kind, place.as_ref()).await?;
    let all = match place {
        Some(_) => regions_to_choose(&app, &user).await?,
        None => Vec::new(),
    };
    let (path, region_query) = base(kind, place.as_ref());
    let tz = tz_of(place.as_ref());
    let listed: Vec<&Field> = kind.fields().iter().filter(|f| f.listed).collect();
    let title = match &place {
        Some(p) => format!("{} – {}", kind.title(), p.name),
        None => kind.title().to_string(),
    };
    let next = page_rows.next_cursor.as_ref().map(|after| {
        let archived = if archived { "&archived=1" } else { "" };
        format!("{path}?{region_query}{archived}&after={after}")
    });
    Ok(page(
        Some(&user),
        &title,
        html! {
            (done_notice(q.done.as_deref()))
            @if let Some(place) = &place { (region_choice(&all, &path, &place.id)) }
            p class="actions" {
                a href={ "/console/data?" (region_query) } { "Zur Übersicht" }
                " · " a href={ (path) "/new?" (region_query) } { (kind.noun()) " anlegen" }
                @if kind.import_kind().is_some() {
                    " · " a href={ (path) ".csv?" (region_query) } { "Als CSV herunterladen" }
                    " · " a href={ (path) "/import?" (region_query) } { "Aus CSV einlesen" }
                }
                " · "
                @if archived {
                    a href={ (path) "?" (region_query) } { "Nur aktuelle zeigen" }
                } @else {
                    a href={ (path) "?" (region_query) "&archived=1" } { "Auch archivierte zeigen" }
                }
            }
            @if page_rows.items.is_empty() {
                p { "Keine Einträge." }
            } @else {
                div class="table-wrap" tabindex="0" role="region" aria-label="Einträge" { table class="data-list" {
                    thead {
                        tr {
                            @for field in &listed { th scope="col" { (field.label) } }
                            @if archived { th scope="col" { "Stand" } }
                            th scope="col" { "Aktion" }
                        }
                    }
                    tbody {
                        @for record in &page_rows.items {
                            @let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
                            tr {
                                @for field in &listed {
                                    td { (shown(field, record.get(field.name), tz, &choices)) }
                                }
                                @if archived { td { (state_text(record)) } }
                                @let what = row_label(kind, record, tz, &choices);
                                td { a href={ (path) "/" (id) "?" (region_query) } aria-label={ (what) " bearbeiten" } { "Bearbeiten" } }
                            }
                        }
                    }
                } }
            }
            @if let Some(next) = next { p { a href=(next) { "Weitere Einträge" } } }
        },
    )
    .into_response())
}

/// A stored value as a list cell shows it.
fn shown(field: &Field, value: Option<&Value>, tz: Tz, choices: &Choices) -> String {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return "–".into();
    };
    match (field.input, value) {
        (Input::Flag, Value::Bool(b)) => if *b { "ja" } else { "nein" }.into(),
        (Input::Time, Value::String(s)) => local_time(s, &tz.to_string()),
        (
            Input::Village | Input::Vehicle | Input::Driver | Input::Caregiver | Input::Resident,
            Value::String(id),
        ) => choices.name(field.input, id),
        (Input::ConsentHow, Value::String(code)) => consent_how_text(code).to_string(),
        _ => form_text(field, Some(value), tz),
    }
}

/// The German words of a way of consent (the code itself when unknown).
fn consent_how_text(code: &str) -> &str {
    CONSENT_HOW
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, text)| text)
}

/// What names a row for a screen reader's "… bearbeiten": its name, a link's caregiver, or a
/// shift's start.
fn row_label(kind: Kind, record: &Value, tz: Tz, choices: &Choices) -> String {
    let fields = kind.fields();
    fields
        .iter()
        .find(|f| f.name == "name")
        .or_else(|| fields.iter().find(|f| f.input == Input::Caregiver))
        .or_else(|| fields.iter().find(|f| f.input == Input::Time))
        .map(|f| shown(f, record.get(f.name), tz, choices))
        .unwrap_or_default()
}

fn state_text(record: &Value) -> &'static str {
    let archived = record.get("archived_at").is_some_and(|v| !v.is_null());
    let cancelled = record.get("status").and_then(Value::as_str) == Some("cancelled");
    if archived {
        "archiviert"
    } else if cancelled {
        "abgesagt"
    } else {
        "aktuell"
    }
}

/// What a form shows: its values, problems and where it goes.
struct FormView<'a> {
    kind: Kind,
    place: Option<&'a Place>,
    /// `None` on create.
    id: Option<&'a str>,
    values: HashMap<String, String>,
    errors: Vec<FieldError>,
    /// A problem not tied to a field.
    general: Option<String>,
}

fn form_page(user: &WebUser, view: &FormView<'_>, choices: &Choices) -> Markup {
    let (path, query) = base(view.kind, view.place);
    let title = match view.id {
        Some(_) => format!("{} bearbeiten", view.kind.noun()),
        None => format!("{} anlegen", view.kind.noun()),
    };
    let action = match view.id {
        Some(id) => format!("{path}/{id}"),
        None => path.clone(),
    };
    // A fresh id per form: a second submit of the same form makes no second record.
    let client_id = view
        .values
        .get("_id")
        .cloned()
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    page(
        Some(user),
        &title,
        html! {
            @if let Some(general) = &view.general { (notice("error", general)) }
            @if !view.errors.is_empty() {
                div class="notice error" role="alert" {
                    p { "Bitte prüfen Sie die markierten Angaben:" }
                    ul {
                        @for e in &view.errors {
                            li { a href={ "#f-" (e.field) } { (e.text) } }
                        }
                    }
                }
            }
            @if let Some(place) = view.place { p { "Region: " (place.name) } }
            p class="muted" { "Mit * markierte Angaben sind Pflichtangaben." }
            form method="post" action=(action) class="data-form" {
                (csrf_field(user))
                @if view.id.is_none() { input type="hidden" name="_id" value=(client_id); }
                @if let Some(place) = view.place { input type="hidden" name="region" value=(place.id); }
                @for field in view.kind.fields() {
                    (field_input(field, &view.values, &view.errors, choices))
                }
                button type="submit" { @if view.id.is_some() { "Speichern" } @else { (view.kind.noun()) " anlegen" } }
            }
            @if let Some(id) = view.id {
                @if view.kind != Kind::Regions {
                    (button_form(user, &format!("{path}/{id}/archive"), "Archivieren",
                        Some("Diesen Eintrag wirklich archivieren? Er wird dann nicht mehr angeboten.")))
                }
            }
            p { a href={ (path) "?" (query) } { "Zurück zur Liste" } }
        },
    )
}

/// One labelled form control with its problem, if any.
fn field_input(
    field: &Field,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    choices: &Choices,
) -> Markup {
    let id = format!("f-{}", field.name);
    let error_id = format!("{id}-fehler");
    let error = errors.iter().find(|e| e.field == field.name);
    let value = values.get(field.name).map_or("", String::as_str);
    let described = error.map(|_| error_id.as_str());
    let invalid = error.map(|_| "true");
    html! {
        div class={ "field" @if field.input == Input::Flag { " flag" } @if error.is_some() { " invalid" } } {
            @if field.input == Input::Flag {
                input id=(id) name=(field.name) type="checkbox" value="ja" checked[!value.is_empty()]
                    aria-describedby=[described] aria-invalid=[invalid];
                label for=(id) { (field.label) }
            } @else {
                label for=(id) {
                    (field.label)
                    @if field.required { " " span class="req" aria-hidden="true" { "*" } }
                }
            }
            @if let Some(error) = error {
                span class="field-error" id=(error_id) { (error.text) }
            }
            @match field.input {
                Input::Flag => {}
                Input::Village | Input::Vehicle | Input::Driver | Input::Language
                | Input::Caregiver | Input::Resident | Input::ConsentHow => {
                    select id=(id) name=(field.name) required[field.required]
                        aria-describedby=[described] aria-invalid=[invalid] {
                        option value="" { @if field.required { "– bitte wählen –" } @else { "– keine Angabe –" } }
                        @if field.input == Input::Language {
                            @for lang in protocol::LANGUAGES {
                                option value=(lang) selected[value == lang] { (language_name(lang)) }
                            }
                        } @else if field.input == Input::ConsentHow {
                            @for (code, text) in CONSENT_HOW {
                                option value=(code) selected[value == code] { (text) }
                            }
                        } @else {
                            @for (option, text) in choices.of(field.input) {
                                option value=(option) selected[value == option] { (text) }
                            }
                        }
                    }
                }
                _ => {
                    input id=(id) name=(field.name) type=(html_type(field.input)) value=(value)
                        required[field.required] inputmode=[(field.input == Input::Decimal).then_some("decimal")]
                        aria-describedby=[described] aria-invalid=[invalid];
                }
            }
        }
    }
}

fn html_type(input: Input) -> &'static str {
    match input {
        Input::Count | Input::OptCount => "number",
        Input::Time => "datetime-local",
        _ => "text",
    }
}

fn language_name(tag: &str) -> &'static str {
    match tag {
        "de" => "Deutsch",
        "en" => "Englisch",
        "uk" => "Ukrainisch",
        "ar" => "Arabisch",
        "tr" => "Türkisch",
        _ => "andere",
    }
}

/// `/console/data/{kind}/new`: the empty form (residents start in German).
async fn new_form(
    State(app): State<AppState>,
    user: WebUser,
    Path(slug): Path<String>,
    Query(q): Query<DataQuery>,
) -> Result<Markup, WebError> {
    let kind = kind_for(&user, &slug)?;
    let place = place_for(&app, &user, kind, q.region.as_deref()).await?;
    let choices = choices(&app, &user, kind, place.as_ref()).await?;
    let mut values = HashMap::new();
    values.insert("language".to_string(), "de".to_string());
    if kind == Kind::Regions {
        values.insert("time_zone".to_string(), "Europe/Berlin".to_string());
    }
    if kind == Kind::Stops {
        values.insert("step_free".to_string(), "ja".to_string());
    }
    let view = FormView {
        kind,
        place: place.as_ref(),
        id: None,
        values,
        errors: Vec::new(),
        general: None,
    };
    Ok(form_page(&user, &view, &choices))
}

/// `/console/data/{kind}/{id}`: the form with the stored values.
async fn edit_form(
    State(app): State<AppState>,
    user: WebUser,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Markup, WebError> {
    let kind = kind_for(&user, &slug)?;
    let (record, place) = record_for(&app, &user, kind, &id).await?;
    let choices = choices(&app, &user, kind, place.as_ref()).await?;
    let tz = tz_of(place.as_ref());
    let values = kind
        .fields()
        .iter()
        .map(|f| (f.name.to_string(), form_text(f, record.get(f.name), tz)))
        .collect();
    let view = FormView {
        kind,
        place: place.as_ref(),
        id: Some(&id),
        values,
        errors: Vec::new(),
        general: None,
    };
    let view = FormView {
        general: (state_text(&record) != "aktuell")
            .then(|| "Dieser Eintrag ist archiviert oder abgesagt.".to_string()),
        ..view
    };
    Ok(form_page(&user, &view, &choices))
}

/// The answer to a form the domain refused: the form again with the problems and the values
/// as entered, nothing stored.
fn refused(user: &WebUser, view: FormView<'_>, choices: &Choices, status: StatusCode) -> Response {
    (status, form_page(user, &view, choices)).into_response()
}

/// A store error on a write as form problems, or the page error it is.
fn problems_of(
    kind: Kind,
    error: StoreError,
) -> Result<(Vec<FieldError>, Option<String>), WebError> {
    match error {
        StoreError::Invalid { field, reason } => {
            let name = field.split(['.', '[']).next().unwrap_or(&field).to_string();
            let text = format!("{}: {}", kind.label_of(&field), german_reason(&reason));
            Ok((vec![FieldError { field: name, text }], None))
        }
        StoreError::Conflict(detail) => Ok((
            Vec::new(),
            Some(format!(
                "Das ist so nicht möglich, es widerspricht einem vorhandenen Eintrag ({detail})."
            )),
        )),
        other => Err(other.into()),
    }
}

/// `POST /console/data/{kind}`: creates a record from the form, with the form's client-made id.
async fn create(
    State(app): State<AppState>,
    Path(slug): Path<String>,
    CsrfForm(user, form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let kind = kind_for(&user, &slug)?;
    let place = place_for(&app, &user, kind, form.get("region").map(String::as_str)).await?;
    let id = form
        .get("_id")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| {
            WebError::BadRequest(
                "Das Formular ist unvollständig. Bitte laden Sie die Seite neu.".into(),
            )
        })?;
    let outcome = match to_json(kind, &form, tz_of(place.as_ref()), false) {
        Ok(mut fields) => {
            if let Some(place) = &place {
                fields.insert("region_id".into(), Value::String(place.id.clone()));
            }
            let who = user.who();
            let result = app
                .store
                .run(move |conn| Ok(create_record(conn, &who, kind, id, fields)))
                .await?;
            match result {
                Ok(created) => {
                    let target = match (&place, kind) {
                        (None, Kind::Regions) => {
                            let new = created
                                .record
                                .get("id")
                                .and_then(Value::as_str)
                                .unwrap_or_default();
                            format!("/console/data?region={}&done=angelegt", percent_encode(new))
                        }
                        _ => {
                            let (path, query) = base(kind, place.as_ref());
                            format!("{path}?{query}&done=angelegt")
                        }
                    };
                    return Ok(Redirect::to(&target).into_response());
                }
                Err(e) => problems_of(kind, e)?,
            }
        }
        Err(errors) => (errors, None),
    };
    let choices = choices(&app, &user, kind, place.as_ref()).await?;
    let view = FormView {
        kind,
        place: place.as_ref(),
        id: None,
        values: form,
        errors: outcome.0,
        general: outcome.1,
    };
    let status = if view.general.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(refused(&user, view, &choices, status))
}

/// `POST /console/data/{kind}/{id}`: changes a record to the form's values.
async fn update(
    State(app): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    CsrfForm(user, form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let kind = kind_for(&user, &slug)?;
    let (_, place) = record_for(&app, &user, kind, &id).await?;
    let outcome = match to_json(kind, &form, tz_of(place.as_ref()), true) {
        Ok(patch) => {
            let who = user.who();
            let owned = id.clone();
            let result = app
                .store
                .run(move |conn| Ok(update_record(conn, &who, kind, &owned, patch)))
                .await?;
            match result {
                Ok(_) => {
                    let (path, query) = base(kind, place.as_ref());
                    return Ok(
                        Redirect::to(&format!("{path}?{query}&done=gespeichert")).into_response()
                    );
                }
                Err(e) => problems_of(kind, e)?,
            }
        }
        Err(errors) => (errors, None),
    };
    let choices = choices(&app, &user, kind, place.as_ref()).await?;
    let view = FormView {
        kind,
        place: place.as_ref(),
        id: Some(&id),
        values: form,
        errors: outcome.0,
        general: outcome.1,
    };
    let status = if view.general.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(refused(&user, view, &choices, status))
}

/// The form of the archive button carries nothing but its token.
#[derive(Deserialize)]
struct Empty {}

/// `POST /console/data/{kind}/{id}/archive`: archives (or, for shifts, cancels) a record.
async fn archive(
    State(app): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let kind = kind_for(&user, &slug)?;
    if kind == Kind::Regions {
        return Err(WebError::NotFound);
    }
    let (_, place) = record_for(&app, &user, kind, &id).await?;
    let who = user.who();
    app.store
        .run(move |conn| cancel_record(conn, &who, kind, &id))
        .await?;
    let (path, query) = base(kind, place.as_ref());
    Ok(Redirect::to(&format!("{path}?{query}&done=archiviert")).into_response())
}

/// `GET /console/data/{kind}.csv`: the region's live records in the import's columns.
async fn export(
    app: AppState,
    user: WebUser,
    slug: &str,
    q: DataQuery,
) -> Result<Response, WebError> {
    let kind = kind_for(&user, slug)?;
    if kind.import_kind().is_none() {
        return Err(WebError::NotFound);
    }
    let place = place_for(&app, &user, kind, q.region.as_deref())
        .await?
        .ok_or(WebError::NotFound)?;
    let who = user.who();
    let region = place.id.clone();
    let bytes = app
        .store
        .run(move |conn| csv::export(conn, &who, kind, &region))
        .await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"{}.csv\"", kind.slug());
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The import form: the CSV pasted into a text field (works in every browser, no script).
fn import_page(
    user: &WebUser,
    kind: Kind,
    place: &Place,
    text: &str,
    outcome: Option<Markup>,
) -> Markup {
    let (path, query) = base(kind, Some(place));
    let columns = csv::columns(kind).join(",");
    page(
        Some(user),
        &format!("{} aus CSV einlesen – {}", kind.title(), place.name),
        html! {
            @if let Some(outcome) = outcome { (outcome) }
            p {
                "Die erste Zeile nennt die Spalten, in beliebiger Reihenfolge: "
                code { (columns) } ". "
                "Es wird alles eingelesen oder nichts: Ist eine Zeile fehlerhaft, ändert sich nichts, "
                "und alle Fehler werden mit ihrer Zeilennummer genannt."
            }
            form method="post" action={ (path) "/import" } class="data-form" {
                (csrf_field(user))
                input type="hidden" name="region" value=(place.id);
                div class="field" {
                    label for="f-csv" { "CSV-Inhalt (z. B. aus einer Tabellenkalkulation kopiert)" }
                    textarea id="f-csv" name="csv" rows="15" required { (text) }
                }
                button type="submit" { "Einlesen" }
            }
            p { a href={ (path) "?" (query) } { "Zurück zur Liste" } }
        },
    )
}

/// `GET /console/data/{kind}/import`.
async fn import_form(
    State(app): State<AppState>,
    user: WebUser,
    Path(slug): Path<String>,
    Query(q): Query<DataQuery>,
) -> Result<Markup, WebError> {
    let kind = kind_for(&user, &slug)?;
    if kind.import_kind().is_none() {
        return Err(WebError::NotFound);
    }
    let place = place_for(&app, &user, kind, q.region.as_deref())
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(import_page(&user, kind, &place, "", None))
}

/// Where a problem is, in words.
fn location_text(location: Location) -> String {
    match location {
        Location::File => "Datei".into(),
        Location::Line(line) => format!("Zeile {line}"),
        Location::Feature(index) => format!("Eintrag {index}"),
    }
}

/// `POST /console/data/{kind}/import`: the pasted CSV through the import, all or nothing. The
/// body is read here (not by `CsrfForm`) because a region's file may be larger than a form.
async fn import_csv(
    State(app): State<AppState>,
    Path(slug): Path<String>,
    req: Request,
) -> Result<Response, WebError> {
    let (mut parts, body) = req.into_parts();
    let user = WebUser::from_request_parts(&mut parts, &app).await?;
    let kind = kind_for(&user, &slug)?;
    let import_kind = kind.import_kind().ok_or(WebError::NotFound)?;
    let bytes = axum::body::to_bytes(body, IMPORT_BODY_LIMIT)
        .await
        .map_err(|_| {
            WebError::BadRequest(format!(
                "Die Datei ist zu groß (höchstens {} MB). Bitte teilen Sie sie auf; es wurde nichts eingelesen.",
                MAX_FILE_BYTES / (1024 * 1024)
            ))
        })?;
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| WebError::BadRequest("Das Formular ist unvollständig oder falsch.".into()))?;
    check_csrf(
        &parts,
        &user.csrf,
        form.get("_csrf").map_or("", String::as_str),
    )?;
    let place = place_for(&app, &user, kind, form.get("region").map(String::as_str))
        .await?
        .ok_or(WebError::NotFound)?;
    let text = form.get("csv").cloned().unwrap_or_default();
    let source = Source {
        name: format!("{}.csv", kind.slug()),
        kind: import_kind,
        format: Format::Csv,
        bytes: text.clone().into_bytes(),
    };
    let store = app.store.clone();
    let region = place.id.clone();
    let who = user.who();
    let result = tokio::task::spawn_blocking(move || {
        import::import_sources(&store, &region, &[source], &who)
    })
    .await
    .map_err(|e| WebError::Internal(format!("import task failed: {e}")))?;
    match result {
        Ok(report) => {
            let counts = report.kinds.get(&import_kind).copied().unwrap_or_default();
            let outcome = notice(
                "ok",
                &format!(
                    "Eingelesen: {} neu angelegt, {} waren schon vorhanden und blieben unverändert.",
                    counts.created, counts.unchanged
                ),
            );
            Ok(import_page(&user, kind, &place, "", Some(outcome)).into_response())
        }
        Err(ImportError::Rejected(problems)) => {
            let outcome = html! {
                div class="notice error" role="alert" {
                    p { "Es wurde nichts eingelesen. Bitte korrigieren Sie diese Stellen:" }
                    ul {
                        @for p in &problems {
                            li {
                                (location_text(p.location))
                                @if let Some(field) = &p.field { ", Spalte „" (field) "“" }
                                ": " (german_reason(&p.reason))
                            }
                        }
                    }
                }
            };
            let body = import_page(&user, kind, &place, &text, Some(outcome));
            Ok((StatusCode::BAD_REQUEST, body).into_response())
        }
        Err(ImportError::UnknownRegion(_)) => Err(WebError::NotFound),
        Err(ImportError::Store(e)) => Err(e.into()),
        Err(other) => Err(WebError::Internal(other.to_string())),
    }
}
