//! Booking on the phone for a caller: find the resident by name or resident number, fill in the
//! ride, and show the planner's answer exactly as a kiosk gets it. The form carries ids made when
//! it was shown, so sending it twice (a double click, a reload) books one ride.

use axum::extract::{Query, State};
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{ROLES, answer, check_length, future_instant, parse_date, parse_time, refused};
use crate::api::AppState;
use crate::domain::common::Instant;
use crate::domain::rides::{Channel, RideRequest, RideStatus};
use crate::store::StoreResult;
use crate::store::logs::{self, Action, Who};
use crate::store::records;
use crate::web::error::WebError;
use crate::web::layout::{self, csrf_field, page};
use crate::web::session::{CsrfForm, WebUser};
use crate::web::{chosen_region, percent_encode};

/// `?region=&q=&resident=` of the booking page.
#[derive(Debug, Default, Deserialize)]
pub struct BookQuery {
    region: Option<String>,
    q: Option<String>,
    resident: Option<String>,
}

/// A resident as the booking form shows them.
struct Resident {
    id: String,
    name: String,
    street: String,
    village: String,
    number: Option<String>,
    walker: bool,
    wheelchair: bool,
}

/// The places a ride may start or end at: (form value, label).
type Places = Vec<(String, String)>;

/// Longest search text.
const MAX_SEARCH: usize = 100;

/// `GET /console/rides/book`: search, then the form for the chosen resident.
pub async fn form(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<BookQuery>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    let (region, name, _tz) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let search = q.q.clone().unwrap_or_default().trim().to_string();
    if search.chars().count() > MAX_SEARCH {
        return Err(WebError::BadRequest(format!(
            "Der Suchtext ist zu lang (höchstens {MAX_SEARCH} Zeichen)."
        )));
    }
    let who = user.who();
    let (r, wanted) = (region.clone(), q.resident.clone());
    let (found, chosen, places) = app
        .store
        .run(move |conn| {
            let tx = conn.transaction()?;
            let found = if search.is_empty() {
                Vec::new()
            } else {
                logs::audit(&tx, &who, Action::List, "residents", None, Some(&r))?;
                find(&tx, &r, &search)?
            };
            let chosen = match wanted.as_deref().filter(|w| !w.is_empty()) {
                Some(id) => {
                    let resident = resident(&tx, &r, id)?;
                    if resident.is_some() {
                        logs::audit(&tx, &who, Action::Read, "residents", Some(id), Some(&r))?;
                    }
                    Some(resident)
                }
                None => None,
            };
            let places = places(&tx, &r)?;
            tx.commit()?;
            Ok((found, chosen, places))
        })
        .await?;
    let chosen = match chosen {
        Some(None) => return Err(WebError::NotFound),
        Some(Some(resident)) => Some(resident),
        None => None,
    };
    Ok(page(
        Some(&user),
        &format!("Fahrt telefonisch buchen ({name})"),
        html! {
            p { a href={ "/console/rides?region=" (percent_encode(&region)) } { "Zurück zu den Fahrten des Tages" } }
            (search_form(&region, q.q.as_deref().unwrap_or_default()))
            @if q.q.as_deref().is_some_and(|s| !s.trim().is_empty()) {
                (results(&region, &found))
            }
            @if let Some(resident) = &chosen {
                (booking_form(&user, &region, resident, &places))
            }
        },
    ))
}

fn search_form(region: &str, q: &str) -> Markup {
    html! {
        form method="get" action="/console/rides/book" class="search" role="search" {
            input type="hidden" name="region" value=(region);
            (layout::input("q", "Fahrgast suchen: Name oder Bewohnernummer", "search", q, true, None))
            button type="submit" class="secondary" { "Suchen" }
        }
    }
}

fn results(region: &str, found: &[Resident]) -> Markup {
    html! {
        @if found.is_empty() {
            p role="status" { "Niemand gefunden. Bitte anders schreiben oder die Bewohnernummer nehmen." }
        } @else {
            table {
                caption { "Gefundene Personen" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Ort" } th scope="col" { "Nummer" } th scope="col" { "Auswahl" } } }
                tbody {
                    @for r in found {
                        tr {
                            td { (r.name) }
                            td { (r.street) ", " (r.village) }
                            td { (r.number.as_deref().unwrap_or("–")) }
                            td { a href={ "/console/rides/book?region=" (percent_encode(region)) "&resident=" (percent_encode(&r.id)) } {
                                "Für " (r.name) " buchen" } }
                        }
                    }
                }
            }
        }
    }
}

/// The booking form. Its hidden ids are new each time it is shown.
fn booking_form(user: &WebUser, region: &str, resident: &Resident, places: &Places) -> Markup {
    let mut from = vec![("home".to_string(), format!("Zuhause ({})", resident.street))];
    from.extend(places.iter().cloned());
    let to_default = places
        .iter()
        .find(|(v, _)| v.starts_with("destination:"))
        .map(|(v, _)| v.clone())
        .unwrap_or_default();
    let kinds = vec![
        (
            "appointment".to_string(),
            "Termin: Ankunft spätestens".to_string(),
        ),
        ("pickup".to_string(), "Abholzeit".to_string()),
    ];
    html! {
        h2 { "Fahrt für " (resident.name) }
        form method="post" action="/console/rides/book" class="booking" {
            (csrf_field(user))
            input type="hidden" name="id" value=(Uuid::new_v4().to_string());
            input type="hidden" name="return_id" value=(Uuid::new_v4().to_string());
            input type="hidden" name="region" value=(region);
            input type="hidden" name="resident" value=(resident.id);
            (layout::select("from", "Von", &from, "home", true))
            (layout::select("to", "Nach", &from, &to_default, true))
            (layout::input("date", "Tag", "date", "", true, None))
            (layout::select("time_kind", "Art der Zeit", &kinds, "appointment", true))
            (layout::input("time", "Uhrzeit", "time", "", true, Some("Beim Termin: wann die Person spätestens da sein muss.")))
            (layout::input("passengers", "Personen (mit Begleitung)", "number", "1", true, None))
            div class="field check" {
                label { input type="checkbox" name="wheelchair" value="on" checked[resident.wheelchair]; " Rollstuhl" }
            }
            div class="field check" {
                label { input type="checkbox" name="walker" value="on" checked[resident.walker]; " Rollator" }
            }
            (layout::input("return_time", "Rückfahrt: Abholzeit am Ziel (freiwillig)", "time", "", false,
                Some("Leer lassen, wenn keine Rückfahrt gebraucht wird.")))
            button type="submit" { "Fahrt buchen" }
        }
    }
}

/// Residents of the region whose name contains the text, or whose resident number it is.
fn find(conn: &Connection, region: &str, q: &str) -> StoreResult<Vec<Resident>> {
    let pattern = format!(
        "%{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let mut stmt = conn.prepare(
        "SELECT r.id, r.name, r.street, v.name, r.kiosk_number, r.uses_walker, r.uses_wheelchair
         FROM residents r JOIN villages v ON v.id = r.village_id
         WHERE r.region_id = ?1 AND r.archived_at IS NULL
           AND (r.name LIKE ?2 ESCAPE '\\' OR r.kiosk_number = ?3)
         ORDER BY r.name LIMIT 20",
    )?;
    let rows = stmt
        .query_map(params![region, pattern, q], row_to_resident)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn row_to_resident(r: &rusqlite::Row<'_>) -> rusqlite::Result<Resident> {
    Ok(Resident {
        id: r.get(0)?,
        name: r.get(1)?,
        street: r.get(2)?,
        village: r.get(3)?,
        number: r.get(4)?,
        walker: r.get(5)?,
        wheelchair: r.get(6)?,
    })
}

/// A live resident of the region.
fn resident(conn: &Connection, region: &str, id: &str) -> StoreResult<Option<Resident>> {
    Ok(conn
        .query_row(
            "SELECT r.id, r.name, r.street, v.name, r.kiosk_number, r.uses_walker, r.uses_wheelchair
             FROM residents r JOIN villages v ON v.id = r.village_id
             WHERE r.id = ?1 AND r.region_id = ?2 AND r.archived_at IS NULL",
            [id, region],
            row_to_resident,
        )
        .optional()?)
}

/// The region's live stops and destinations.
fn places(conn: &Connection, region: &str) -> StoreResult<Places> {
    let mut stmt = conn.prepare(
        "SELECT 'stop:' || s.id, 'Haltestelle ' || s.name || ' (' || v.name || ')'
         FROM stops s JOIN villages v ON v.id = s.village_id
         WHERE s.region_id = ?1 AND s.archived_at IS NULL
         UNION ALL
         SELECT 'destination:' || d.id, d.name || ', ' || d.city
         FROM destinations d WHERE d.region_id = ?1 AND d.archived_at IS NULL",
    )?;
    let mut rows = stmt
        .query_map([region], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Places, _>>()?;
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(rows)
}

/// The booking form as sent.
#[derive(Debug, Deserialize)]
pub struct BookForm {
    id: String,
    #[serde(default)]
    return_id: String,
    region: String,
    resident: String,
    from: String,
    to: String,
    date: String,
    time: String,
    time_kind: String,
    passengers: String,
    #[serde(default)]
    wheelchair: Option<String>,
    #[serde(default)]
    walker: Option<String>,
    #[serde(default)]
    return_time: String,
}

/// One end of a ride as the record has it: home, a stop or a destination.
#[derive(Clone, Default)]
struct End {
    home: bool,
    stop: Option<String>,
    destination: Option<String>,
}

fn parse_end(value: &str, label: &str) -> Result<End, WebError> {
    let bad = || {
        WebError::BadRequest(format!(
            "Bitte bei „{label}“ einen Ort aus der Liste wählen."
        ))
    };
    if value == "home" {
        return Ok(End {
            home: true,
            ..End::default()
        });
    }
    let (kind, id) = value.split_once(':').ok_or_else(bad)?;
    Uuid::parse_str(id).map_err(|_| bad())?;
    match kind {
        "stop" => Ok(End {
            stop: Some(id.to_string()),
            ..End::default()
        }),
        "destination" => Ok(End {
            destination: Some(id.to_string()),
            ..End::default()
        }),
        _ => Err(bad()),
    }
}

fn parse_id(text: &str) -> Result<Uuid, WebError> {
    Uuid::parse_str(text).map_err(|_| {
        WebError::BadRequest("Das Formular ist beschädigt. Bitte die Seite neu laden.".into())
    })
}

/// What the form asks for, checked.
struct Booking {
    id: Uuid,
    outbound: RideRequest,
    back: Option<(Uuid, RideRequest)>,
}

fn ride(
    region: &str,
    resident: &str,
    from: &End,
    to: &End,
    form: &BookForm,
    passengers: u32,
) -> RideRequest {
    RideRequest {
        region_id: region.to_string(),
        resident_id: resident.to_string(),
        from_stop_id: from.stop.clone(),
        from_destination_id: from.destination.clone(),
        from_home: from.home,
        to_stop_id: to.stop.clone(),
        to_destination_id: to.destination.clone(),
        to_home: to.home,
        appointment_at: None,
        pickup_at: None,
        return_of: None,
        passengers,
        wheelchair: form.wheelchair.is_some(),
        walker: form.walker.is_some(),
        status: RideStatus::Requested,
        channel: Channel::Phone,
        caregiver_id: None,
    }
}

/// Checks the form in the order a person fills it in, with a German message for the first fault.
fn check(form: &BookForm, region: &str, tz: &str) -> Result<Booking, WebError> {
    for (label, value) in [
        ("Von", &form.from),
        ("Nach", &form.to),
        ("Tag", &form.date),
        ("Uhrzeit", &form.time),
        ("Personen", &form.passengers),
        ("Rückfahrt", &form.return_time),
        ("Fahrgast", &form.resident),
    ] {
        check_length(label, value)?;
    }
    let id = parse_id(&form.id)?;
    let date = parse_date(&form.date)?;
    let time = parse_time(&form.time)?;
    let at = future_instant(tz, date, time)?;
    let passengers = form
        .passengers
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|p| (1..=8).contains(p))
        .ok_or_else(|| WebError::BadRequest("Personen: bitte eine Zahl von 1 bis 8.".into()))?;
    let from = parse_end(&form.from, "Von")?;
    let to = parse_end(&form.to, "Nach")?;
    let mut outbound = ride(region, &form.resident, &from, &to, form, passengers);
    match form.time_kind.as_str() {
        "appointment" => outbound.appointment_at = Some(at),
        "pickup" => outbound.pickup_at = Some(at),
        _ => {
            return Err(WebError::BadRequest(
                "Bitte die Art der Zeit wählen.".into(),
            ));
        }
    }
    let back = if form.return_time.trim().is_empty() {
        None
    } else {
        let back_at = future_instant(tz, date, parse_time(&form.return_time)?)?;
        if back_at <= at {
            return Err(WebError::BadRequest(
                "Die Rückfahrt muss nach der Hinfahrt liegen.".into(),
            ));
        }
        let mut back = ride(region, &form.resident, &to, &from, form, passengers);
        back.pickup_at = Some(Instant(back_at.0));
        back.return_of = Some(id.to_string());
        Some((parse_id(&form.return_id)?, back))
    };
    Ok(Booking { id, outbound, back })
}

/// `POST /console/rides/book`: books the ride (and the way back) in one transaction.
pub async fn submit(
    State(app): State<AppState>,
    CsrfForm(user, form): CsrfForm<BookForm>,
) -> Result<Markup, WebError> {
    user.require(ROLES)?;
    check_length("Region", &form.region)?;
    let (region, _name, tz) = chosen_region(&app, &user, Some(&form.region)).await?;
    let booking = check(&form, &region, &tz)?;
    let who = user.who();
    let (r, resident_id) = (region.clone(), form.resident.clone());
    let known = app
        .store
        .run(move |conn| Ok(resident(conn, &r, &resident_id)?.is_some()))
        .await?;
    if !known {
        return Err(WebError::BadRequest(
            "Diese Person ist in der Region nicht bekannt. Bitte über die Suche wählen.".into(),
        ));
    }
    let (records, replayed) = app
        .store
        .run(move |conn| book(conn, &who, &booking))
        .await
        .map_err(refused)?;
    Ok(page(
        Some(&user),
        "Antwort auf die Buchung",
        html! {
            @if replayed {
                p class="notice ok" role="status" {
                    "Diese Buchung war schon gespeichert. Es wurde keine zweite Fahrt angelegt."
                }
            }
            @for (i, record) in records.iter().enumerate() {
                h2 { @if i == 0 { "Hinfahrt" } @else { "Rückfahrt" } }
                (answer(&user, record, &tz))
                p { a href={ "/console/rides/" (record.get("id").and_then(Value::as_str).unwrap_or_default()) } { "Fahrt ansehen" } }
            }
            p { a href={ "/console/rides?region=" (percent_encode(&region)) } { "Zurück zu den Fahrten" } }
        },
    ))
}

/// Creates the ride and its way back through the domain code, so both are planned at once.
fn book(conn: &mut Connection, who: &Who, booking: &Booking) -> StoreResult<(Vec<Value>, bool)> {
    let tx = conn.transaction()?;
    let first = records::create_in(&tx, who, Some(booking.id), &booking.outbound)?;
    let mut replayed = first.replayed;
    let mut answers = vec![first.record];
    if let Some((id, back)) = &booking.back {
        let second = records::create_in(&tx, who, Some(*id), back)?;
        replayed &= second.replayed;
        answers.push(second.record);
    }
    tx.commit()?;
    Ok((answers, replayed))
}
