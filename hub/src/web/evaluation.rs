//! The console's evaluation (`/console/evaluation`, admins and dispatchers): a region's rides per
//! month and village, shared rides, kilometres saved and no-shows per month, counselling contacts
//! per village and topic, and the people reached, over a range of months; each table also as CSV
//! (`/console/evaluation/csv?table=…`) and the main figures as SVG bar charts.
//!
//! The figures are anonymous (the rule is also written on the page, [`METHOD`]):
//! - a cell that counts 1 to 4 distinct people is shown as "< 5" and its CSV value is left
//!   empty; 0 is shown, it names nobody;
//! - a total is an exact sum of cells. Total minus the shown cells gives the sum of its hidden
//!   cells, so a total is shown only when the people of its hidden cells (together with those of
//!   hidden totals below it) are none or at least 5; else it is hidden too ("verborgen");
//! - totals are kept along one direction only (per month, resp. per village, and the period);
//!   totals across both directions would let hidden cells be solved from the margins;
//! - ratios (shared share, no-show rate) are shown only when both of their counts are shown;
//!   kilometres of a month count as a cell of the month's riders.
//!
//! Distinct people are residents; an appointment without a resident and each person counted as
//! a walk-in count as one person each (they cannot be told apart).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use planner::travel::StraightLine;
use rusqlite::{Connection, params};
use serde::Deserialize;

use super::error::WebError;
use super::layout::{self, page};
use super::session::WebUser;
use super::{chosen_region, regions_or_none_yet};
use crate::api::AppState;
use crate::dispatch::figures::{self, RideRow, ShiftRow};
use crate::domain::Role;
use crate::store::logs::{self, Action, Who};
use crate::store::{StoreError, StoreResult};

/// Cells counting fewer distinct people than this (but more than none) are hidden.
pub const SMALLEST_SHOWN: usize = 5;
/// The longest period one evaluation covers.
pub const MAX_MONTHS: i32 = 36;
/// Counselling topics and their German names.
const TOPICS: [(&str, &str); 8] = [
    ("health", "Gesundheit"),
    ("care", "Pflege"),
    ("money", "Geld"),
    ("housing", "Wohnen"),
    ("loneliness", "Einsamkeit"),
    ("addiction", "Sucht"),
    ("family", "Familie"),
    ("other", "Sonstiges"),
];
/// The tables, by their CSV key.
const TABLES: [&str; 4] = ["rides", "months", "counselling", "people"];

/// How the figures are made, as the page explains it.
pub const METHOD: &str = "Fahrten sind Fahrtwünsche mit dem Status geplant, bestätigt, \
    unterwegs oder erledigt, die auf einer Tour liegen; sie zählen im Monat ihres Termins (sonst \
    ihrer Abholzeit) und im Ort der Person. Eine Fahrt ist geteilt, wenn im selben Fahrzeug \
    zugleich eine andere Person mitfuhr (aus der Reihenfolge der Halte einer Schicht). Die \
    Kilometer rechnen mit dem Reisemodell des Planers (Luftlinie mal Umwegfaktor 1,3): \
    Fahrzeug-km ist der Weg jeder Schicht vom Depot über alle Halte zurück zum Depot; km einzeln \
    ist je Fahrt der direkte Weg hin und die leere Rückfahrt (2 × direkter Weg), wie ein eigenes \
    Auto je Person sie bräuchte; km gespart ist km einzeln minus Fahrzeug-km (negativ, wenn die \
    Touren mehr fuhren). Die Quote nicht erschienen ist nicht erschienen geteilt durch Fahrten \
    plus nicht erschienen. Beratungskontakte sind wahrgenommene Termine an IMBUS-Besuchen plus \
    gezählte Laufkundschaft. Erreichte Personen sind verschiedene Bewohner:innen mit einer Fahrt \
    oder einem wahrgenommenen Termin (Laufkundschaft ist nicht namentlich und fehlt hier).";

/// The anonymity rule, as the page explains it.
pub const RULE: &str = "Anonymität: Ein Feld, hinter dem 1 bis 4 verschiedene Personen stehen, \
    zeigt „< 5“; in der CSV-Datei bleibt sein Wert leer. Summen sind genau, solange man aus ihnen \
    kein verborgenes Feld zurückrechnen kann: Eine Summe wird nur gezeigt, wenn hinter den in ihr \
    verborgenen Feldern zusammen keine oder mindestens 5 Personen stehen; sonst steht dort \
    „verborgen“. Summen gibt es deshalb nur in einer Richtung (je Monat bzw. je Ort und für den \
    Zeitraum), nicht zugleich für die Spalten. Anteile und Quoten erscheinen nur, wenn beide \
    Zahlen gezeigt werden; Kilometer eines Monats gelten als Feld seiner Fahrgäste. Namen \
    erscheinen nirgends.";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/evaluation", get(show))
        .route("/console/evaluation/csv", get(csv_download))
}

/// `?region=&from=YYYY-MM&to=YYYY-MM&table=`.
#[derive(Debug, Default, Deserialize)]
struct EvaluationQuery {
    region: Option<String>,
    from: Option<String>,
    to: Option<String>,
    table: Option<String>,
}

/// A calendar month, as months since year 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Month(i32);

impl Month {
    fn parse(field: &str, text: &str) -> Result<Month, WebError> {
        let bad = || {
            WebError::BadRequest(format!(
                "{field}: „{text}“ ist kein Monat. Bitte als JJJJ-MM angeben, z. B. 2026-11."
            ))
        };
        let (year, month) = text.trim().split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: i32 = month.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || !(2000..=2200).contains(&year) {
            return Err(bad());
        }
        Ok(Month(year * 12 + month - 1))
    }

    fn of(date: NaiveDate) -> Month {
        Month(date.year() * 12 + date.month0() as i32)
    }

    fn text(self) -> String {
        format!(
            "{:04}-{:02}",
            self.0.div_euclid(12),
            self.0.rem_euclid(12) + 1
        )
    }

    /// The instant the month starts in `tz`, in stored form.
    fn start(self, tz: Tz) -> StoreResult<String> {
        let day =
            NaiveDate::from_ymd_opt(self.0.div_euclid(12), self.0.rem_euclid(12) as u32 + 1, 1)
                .ok_or_else(|| StoreError::Internal(format!("{} has no first day", self.text())))?;
        let local = tz
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .ok_or_else(|| StoreError::Internal(format!("{day} has no midnight in {tz}")))?;
        Ok(local
            .with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }
}

/// The months evaluated, both ends included.
#[derive(Clone, Copy, Debug)]
struct Period {
    from: Month,
    to: Month,
}

impl Period {
    /// From the query; by default the last six months up to the current one.
    fn of(q: &EvaluationQuery, tz: Tz) -> Result<Period, WebError> {
        let now = Month::of(Utc::now().with_timezone(&tz).date_naive());
        let to = match given(q.to.as_deref()) {
            Some(text) => Month::parse("Bis", text)?,
            None => now,
        };
        let from = match given(q.from.as_deref()) {
            Some(text) => Month::parse("Von", text)?,
            None => Month(to.0 - 5),
        };
        if to < from {
            return Err(WebError::BadRequest(
                "Der Monat „Bis“ liegt vor dem Monat „Von“.".into(),
            ));
        }
        if to.0 - from.0 >= MAX_MONTHS {
            return Err(WebError::BadRequest(format!(
                "Eine Auswertung umfasst höchstens {MAX_MONTHS} Monate."
            )));
        }
        Ok(Period { from, to })
    }

    fn months(self) -> impl Iterator<Item = Month> {
        (self.from.0..=self.to.0).map(Month)
    }
}

/// A query value that was filled in.
fn given(text: Option<&str>) -> Option<&str> {
    text.filter(|t| !t.trim().is_empty())
}

// ---------------------------------------------------------------------------------------------
// Rows read from the store.

/// One ride request of the period, as the daily figures read it, and its local month.
struct Ride {
    month: String,
    row: RideRow,
}

/// One shift of the period, as the daily figures read it, and its local month.
struct Shift {
    month: String,
    row: ShiftRow,
}

/// One counselling contact: an attended appointment or one person counted as a walk-in.
struct Contact {
    person: String,
    village: String,
    topic: String,
    month: String,
}

/// What the evaluation reads.
struct Data {
    months: Vec<String>,
    /// Village id → name, every village of the region.
    villages: Vec<(String, String)>,
    rides: Vec<Ride>,
    shifts: Vec<Shift>,
    contacts: Vec<Contact>,
}

/// The local month (`YYYY-MM`) of a stored instant.
fn month_of(at: &str, tz: Tz) -> StoreResult<String> {
    let instant = chrono::DateTime::parse_from_rfc3339(at)
        .map_err(|e| StoreError::Internal(format!("bad instant {at}: {e}")))?;
    Ok(Month::of(instant.with_timezone(&tz).date_naive()).text())
}

fn load(conn: &Connection, who: &Who, region: &str, tz: Tz, period: Period) -> StoreResult<Data> {
    let (start, end) = (period.from.start(tz)?, Month(period.to.0 + 1).start(tz)?);
    let villages = {
        let mut stmt = conn.prepare(
            "SELECT id, name FROM villages WHERE region_id = ?1 AND archived_at IS NULL
             ORDER BY name, id",
        )?;
        stmt.query_map([region], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?
    };
    let (rides, shifts) = figures::load_rows(conn, region, &start, &end)?;
    let rides = rides
        .into_iter()
        .map(|row| {
            Ok(Ride {
                month: month_of(&row.at, tz)?,
                row,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let shifts = shifts
        .into_iter()
        .map(|row| {
            Ok(Shift {
                month: month_of(&row.starts_at, tz)?,
                row,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let contacts = load_contacts(conn, region, tz, &start, &end)?;
    // Hand-written reads of rides and appointments are audited like the store's lists.
    logs::audit(conn, who, Action::List, "evaluation", None, Some(region))?;
    Ok(Data {
        months: period.months().map(Month::text).collect(),
        villages,
        rides,
        shifts,
        contacts,
    })
}

fn load_contacts(
    conn: &Connection,
    region: &str,
    tz: Tz,
    start: &str,
    end: &str,
) -> StoreResult<Vec<Contact>> {
    let mut contacts = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT a.id, a.resident_id, a.village_id, a.topic, a.starts_at
         FROM appointments a JOIN slots s ON s.id = a.slot_id
         WHERE a.region_id = ?1 AND s.visit_id IS NOT NULL AND a.status = 'attended'
           AND a.starts_at >= ?2 AND a.starts_at < ?3",
    )?;
    let mut rows = stmt.query(params![region, start, end])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let resident: Option<String> = r.get(1)?;
        contacts.push(Contact {
            person: resident.unwrap_or_else(|| format!("appointment:{id}")),
            village: r.get(2)?,
            topic: r.get(3)?,
            month: month_of(&r.get::<_, String>(4)?, tz)?,
        });
    }
    let mut stmt = conn.prepare(
        "SELECT w.id, w.village_id, w.topic, w.count, v.starts_at
         FROM walk_ins w JOIN imbus_visits v ON v.id = w.visit_id
         WHERE w.region_id = ?1 AND v.starts_at >= ?2 AND v.starts_at < ?3",
    )?;
    let mut rows = stmt.query(params![region, start, end])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let (village, topic): (String, String) = (r.get(1)?, r.get(2)?);
        let month = month_of(&r.get::<_, String>(4)?, tz)?;
        for n in 0..r.get::<_, i64>(3)? {
            contacts.push(Contact {
                person: format!("walk-in:{id}:{n}"),
                village: village.clone(),
                topic: topic.clone(),
                month: month.clone(),
            });
        }
    }
    Ok(contacts)
}

// ---------------------------------------------------------------------------------------------
// Figures and the anonymity rule.

/// What a figure measures, for its display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Count,
    Km,
    Percent,
}

/// Whether a figure is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Visibility {
    Shown,
    /// 1 to 4 people: "< 5".
    Small,
    /// A total that would reveal hidden cells.
    Hidden,
    /// Nothing to show (a ratio without a base).
    Blank,
}

/// A figure as reported.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Cell {
    value: f64,
    unit: Unit,
    state: Visibility,
}

impl Cell {
    fn shown(self) -> bool {
        self.state == Visibility::Shown
    }

    /// The page's text (German number format).
    fn html(self) -> String {
        match self.state {
            Visibility::Small => format!("< {SMALLEST_SHOWN}"),
            Visibility::Hidden => "verborgen".into(),
            Visibility::Blank => "–".into(),
            Visibility::Shown => match self.unit {
                Unit::Count => format!("{}", self.value.round() as i64),
                Unit::Km => format!("{:.1}", self.value).replace('.', ","),
                Unit::Percent => format!("{:.0} %", self.value),
            },
        }
    }

    /// The CSV value (empty unless shown) and note.
    fn csv(self) -> (String, &'static str) {
        match self.state {
            Visibility::Small => (String::new(), "< 5"),
            Visibility::Hidden => (String::new(), "verborgen"),
            Visibility::Blank => (String::new(), ""),
            Visibility::Shown => match self.unit {
                Unit::Count => (format!("{}", self.value.round() as i64), ""),
                Unit::Km | Unit::Percent => (format!("{:.1}", self.value), ""),
            },
        }
    }
}

/// A raw figure: its value and the distinct people behind it.
#[derive(Clone, Debug, Default)]
struct Tally {
    value: f64,
    people: BTreeSet<String>,
}

impl Tally {
    fn add(&mut self, value: f64, person: &str) {
        self.value += value;
        self.people.insert(person.to_string());
    }

    /// Adds another tally's value and people.
    fn absorb(&mut self, other: &Tally) {
        self.value += other.value;
        self.people.extend(other.people.iter().cloned());
    }
}

/// A figure judged by the rule, with the people whose share in it cannot be seen from shown
/// figures (empty when shown).
#[derive(Clone, Debug)]
struct Judged {
    cell: Cell,
    unknown: BTreeSet<String>,
}

fn few(people: &BTreeSet<String>) -> bool {
    (1..SMALLEST_SHOWN).contains(&people.len())
}

/// A cell: hidden when 1 to 4 people stand behind it.
fn judge_cell(tally: &Tally, unit: Unit) -> Judged {
    let small = few(&tally.people);
    Judged {
        cell: Cell {
            value: tally.value,
            unit,
            state: if small {
                Visibility::Small
            } else {
                Visibility::Shown
            },
        },
        unknown: if small {
            tally.people.clone()
        } else {
            BTreeSet::new()
        },
    }
}

/// A total of `parts`: hidden when few people stand behind it, or when the people of its hidden
/// parts are 1 to 4 (total minus the shown parts would give their figure).
fn judge_total(tally: &Tally, unit: Unit, parts: &[&Judged]) -> Judged {
    if few(&tally.people) {
        return judge_cell(tally, unit);
    }
    let unknown: BTreeSet<String> = parts
        .iter()
        .filter(|p| !p.cell.shown())
        .flat_map(|p| p.unknown.iter().cloned())
        .collect();
    let hidden = few(&unknown);
    Judged {
        cell: Cell {
            value: tally.value,
            unit,
            state: if hidden {
                Visibility::Hidden
            } else {
                Visibility::Shown
            },
        },
        unknown: if hidden { unknown } else { BTreeSet::new() },
    }
}

/// `part / whole` in percent, shown only when both are.
fn ratio(part: Cell, whole: Cell) -> Cell {
    let state = if !part.shown() || !whole.shown() {
        if part.state == Visibility::Blank || whole.state == Visibility::Blank {
            Visibility::Blank
        } else {
            Visibility::Hidden
        }
    } else if whole.value <= 0.0 {
        Visibility::Blank
    } else {
        Visibility::Shown
    };
    Cell {
        value: if whole.value > 0.0 {
            100.0 * part.value / whole.value
        } else {
            0.0
        },
        unit: Unit::Percent,
        state,
    }
}

/// A table as shown and exported.
struct Table {
    key: &'static str,
    caption: String,
    row_head: &'static str,
    col_head: &'static str,
    columns: Vec<String>,
    rows: Vec<(String, Vec<Cell>)>,
}

/// All tables of an evaluation.
struct Evaluation {
    tables: Vec<Table>,
}

/// The label of the period's row.
const PERIOD_ROW: &str = "Zeitraum";
/// The label of a row's total column.
const SUM_COLUMN: &str = "Summe";

fn evaluate(data: &Data) -> Evaluation {
    let (rides_table, month_rides) = rides_table(data);
    let months_table = months_table(data, &month_rides);
    Evaluation {
        tables: vec![
            rides_table,
            months_table,
            counselling_table(data),
            people_table(data),
        ],
    }
}

/// Rides per month and village, the month's total and the period's; returns the judged month
/// totals (and the period's, last) for the month table.
fn rides_table(data: &Data) -> (Table, Vec<Judged>) {
    let mut cells: BTreeMap<(&str, &str), Tally> = BTreeMap::new();
    for ride in data.rides.iter().filter(|r| r.row.served()) {
        cells
            .entry((ride.month.as_str(), ride.row.village_id.as_str()))
            .or_default()
            .add(1.0, &ride.row.resident_id);
    }
    let empty = Tally::default();
    let per_month = data.months.iter().map(|month| {
        let row = data
            .villages
            .iter()
            .map(|(v, _)| cells.get(&(month.as_str(), v.as_str())).unwrap_or(&empty))
            .collect();
        // The month's total counts every village, archived ones too.
        let mut sum = Tally::default();
        for ((m, _), tally) in cells.range((month.as_str(), "")..) {
            if m != month {
                break;
            }
            sum.absorb(tally);
        }
        (month.clone(), row, sum)
    });
    let (rows, totals) = counts_with_totals(per_month, data.villages.len());
    let mut columns: Vec<String> = data.villages.iter().map(|(_, n)| n.clone()).collect();
    columns.push(SUM_COLUMN.into());
    (
        Table {
            key: "rides",
            caption: "Fahrten je Monat und Ort".into(),
            row_head: "Monat",
            col_head: "Ort",
            columns,
            rows,
        },
        totals,
    )
}

/// Rows of counts, each with its total in a last column, and the period's total in a row of its
/// own; `rows` gives each row's label, cells and total. Returns the table's rows and the judged
/// totals, the period's last.
fn counts_with_totals<'a>(
    rows: impl Iterator<Item = (String, Vec<&'a Tally>, Tally)>,
    columns: usize,
) -> (Vec<(String, Vec<Cell>)>, Vec<Judged>) {
    let mut table = Vec::new();
    let mut totals = Vec::new();
    let mut period = Tally::default();
    for (label, cells, sum) in rows {
        let judged: Vec<Judged> = cells
            .into_iter()
            .map(|tally| judge_cell(tally, Unit::Count))
            .collect();
        period.absorb(&sum);
        let total = judge_total(&sum, Unit::Count, &judged.iter().collect::<Vec<_>>());
        let mut row: Vec<Cell> = judged.iter().map(|j| j.cell).collect();
        row.push(total.cell);
        table.push((label, row));
        totals.push(total);
    }
    let grand = judge_total(&period, Unit::Count, &totals.iter().collect::<Vec<_>>());
    let blank = Cell {
        value: 0.0,
        unit: Unit::Count,
        state: Visibility::Blank,
    };
    let mut last = vec![blank; columns];
    last.push(grand.cell);
    table.push((PERIOD_ROW.into(), last));
    totals.push(grand);
    (table, totals)
}

/// Per month: rides, shared rides, kilometres and no-shows; the period's totals last.
fn months_table(data: &Data, rides: &[Judged]) -> Table {
    let travel = StraightLine::default();
    let served: HashSet<&str> = data
        .rides
        .iter()
        .filter(|r| r.row.served())
        .map(|r| r.row.id.as_str())
        .collect();
    let shared: HashSet<&str> = data
        .shifts
        .iter()
        .flat_map(|s| figures::shared_rides(&s.row, &served))
        .collect();
    #[derive(Default)]
    struct MonthTally {
        shared: Tally,
        no_shows: Tally,
        riders: BTreeSet<String>,
        alone_m: f64,
        vehicle_m: f64,
    }
    let mut per: BTreeMap<&str, MonthTally> = BTreeMap::new();
    for ride in &data.rides {
        let (month, ride) = (per.entry(ride.month.as_str()).or_default(), &ride.row);
        if ride.served() {
            month.riders.insert(ride.resident_id.clone());
            month.alone_m += ride.alone_meters(&travel);
            if shared.contains(ride.id.as_str()) {
                month.shared.add(1.0, &ride.resident_id);
            }
        }
        if ride.status == "no_show" {
            month.no_shows.add(1.0, &ride.resident_id);
        }
    }
    for shift in &data.shifts {
        per.entry(shift.month.as_str()).or_default().vehicle_m +=
            figures::route_meters(&shift.row, &travel);
    }

    let km = |meters: f64, riders: &BTreeSet<String>| Tally {
        value: (meters / 100.0).round() / 10.0,
        people: riders.clone(),
    };
    // Columns: shared, vehicle km, alone km, saved km, no-shows (judged), per month.
    const UNITS: [Unit; 5] = [Unit::Count, Unit::Km, Unit::Km, Unit::Km, Unit::Count];
    let mut judged: Vec<[Judged; 5]> = Vec::new();
    let mut period: [Tally; 5] = Default::default();
    let empty = MonthTally::default();
    for month in &data.months {
        let t = per.get(month.as_str()).unwrap_or(&empty);
        let vehicle = km(t.vehicle_m, &t.riders);
        let alone = km(t.alone_m, &t.riders);
        let saved = Tally {
            value: ((alone.value - vehicle.value) * 10.0).round() / 10.0,
            people: t.riders.clone(),
        };
        let tallies = [t.shared.clone(), vehicle, alone, saved, t.no_shows.clone()];
        for (sum, tally) in period.iter_mut().zip(&tallies) {
            sum.absorb(tally);
        }
        judged.push(std::array::from_fn(|i| judge_cell(&tallies[i], UNITS[i])));
    }
    let totals: [Judged; 5] = std::array::from_fn(|i| {
        let parts: Vec<&Judged> = judged.iter().map(|row| &row[i]).collect();
        let mut tally = period[i].clone();
        tally.value = (tally.value * 10.0).round() / 10.0;
        judge_total(&tally, UNITS[i], &parts)
    });
    let labels = data.months.iter().cloned().chain([PERIOD_ROW.to_string()]);
    let rows = labels
        .zip(judged.iter().chain([&totals]))
        .zip(rides)
        .map(|((label, row), rides)| {
            let [shared, vehicle, alone, saved, no_shows] = row.clone().map(|j| j.cell);
            let asked = Cell {
                value: rides.cell.value + no_shows.value,
                unit: Unit::Count,
                state: if rides.cell.shown() && no_shows.shown() {
                    Visibility::Shown
                } else {
                    Visibility::Hidden
                },
            };
            (
                label,
                vec![
                    rides.cell,
                    shared,
                    ratio(shared, rides.cell),
                    vehicle,
                    alone,
                    saved,
                    no_shows,
                    ratio(no_shows, asked),
                ],
            )
        })
        .collect();
    Table {
        key: "months",
        caption: "Fahrten, geteilte Fahrten, Kilometer und Nichterscheinen je Monat".into(),
        row_head: "Monat",
        col_head: "Kennzahl",
        columns: [
            "Fahrten",
            "Geteilte Fahrten",
            "Anteil geteilt",
            "Fahrzeug-km",
            "km einzeln",
            "km gespart",
            "Nicht erschienen",
            "Quote nicht erschienen",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

/// Counselling contacts per village and topic over the period, each village's total and the
/// period's.
fn counselling_table(data: &Data) -> Table {
    let mut cells: HashMap<(&str, &str), Tally> = HashMap::new();
    for contact in &data.contacts {
        cells
            .entry((contact.village.as_str(), contact.topic.as_str()))
            .or_default()
            .add(1.0, &contact.person);
    }
    let empty = Tally::default();
    let per_village = data.villages.iter().map(|(village, name)| {
        let row: Vec<&Tally> = TOPICS
            .iter()
            .map(|(topic, _)| cells.get(&(village.as_str(), *topic)).unwrap_or(&empty))
            .collect();
        let mut sum = Tally::default();
        for tally in &row {
            sum.absorb(tally);
        }
        (name.clone(), row, sum)
    });
    let (rows, _) = counts_with_totals(per_village, TOPICS.len());
    let mut columns: Vec<String> = TOPICS.iter().map(|(_, n)| n.to_string()).collect();
    columns.push(SUM_COLUMN.into());
    Table {
        key: "counselling",
        caption: "Beratungskontakte je Ort und Thema".into(),
        row_head: "Ort",
        col_head: "Thema",
        columns,
        rows,
    }
}

/// Distinct residents with a ride or an attended appointment, per month and in the period. The
/// period's row is its own count (not a sum: a person counts once).
fn people_table(data: &Data) -> Table {
    let mut per: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut period = Tally::default();
    let riders = data
        .rides
        .iter()
        .filter(|r| r.row.served())
        .map(|r| (r.month.as_str(), r.row.resident_id.as_str()));
    let counselled = data
        .contacts
        .iter()
        .filter(|c| !c.person.starts_with("walk-in:"))
        .map(|c| (c.month.as_str(), c.person.as_str()));
    for (month, person) in riders.chain(counselled) {
        let tally = per.entry(month).or_default();
        if tally.people.insert(person.to_string()) {
            tally.value += 1.0;
        }
        if period.people.insert(person.to_string()) {
            period.value += 1.0;
        }
    }
    let empty = Tally::default();
    let mut rows: Vec<(String, Vec<Cell>)> = data
        .months
        .iter()
        .map(|m| {
            let tally = per.get(m.as_str()).unwrap_or(&empty);
            (m.clone(), vec![judge_cell(tally, Unit::Count).cell])
        })
        .collect();
    rows.push((
        PERIOD_ROW.into(),
        vec![judge_cell(&period, Unit::Count).cell],
    ));
    Table {
        key: "people",
        caption: "Erreichte Personen je Monat".into(),
        row_head: "Monat",
        col_head: "Kennzahl",
        columns: vec!["Personen".into()],
        rows,
    }
}

// ---------------------------------------------------------------------------------------------
// Pages.

/// Reads and computes the evaluation.
async fn evaluation(
    app: &AppState,
    user: &WebUser,
    region: &str,
    tz: Tz,
    period: Period,
) -> Result<Evaluation, WebError> {
    let who = user.who();
    let region = region.to_string();
    let data = app
        .store
        .run(move |conn| load(conn, &who, &region, tz, period))
        .await?;
    Ok(evaluate(&data))
}

fn zone(tz: &str) -> Tz {
    tz.parse().unwrap_or(chrono_tz::Europe::Berlin)
}

async fn show(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<EvaluationQuery>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin, Role::Dispatcher])?;
    let all = match regions_or_none_yet(&app, &user, "Auswertung", html! {}).await? {
        Ok(all) => all,
        Err(none_yet) => return Ok(none_yet),
    };
    let (region, name, tz) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let tz = zone(&tz);
    let period = Period::of(&q, tz)?;
    let evaluation = evaluation(&app, &user, &region, tz, period).await?;
    let link = |table: &str| {
        format!(
            "/console/evaluation/csv?region={}&from={}&to={}&table={table}",
            super::percent_encode(&region),
            period.from.text(),
            period.to.text()
        )
    };
    Ok(page(
        Some(&user),
        &format!("Auswertung {name}"),
        html! {
            form method="get" action="/console/evaluation" class="evaluation-period" {
                @if !all.is_empty() {
                    (layout::select("region", "Region", &all, &region, false))
                }
                (layout::input("from", "Von (Monat)", "month", &period.from.text(), true, Some("JJJJ-MM")))
                (layout::input("to", "Bis (Monat)", "month", &period.to.text(), true, Some("JJJJ-MM")))
                button type="submit" class="secondary" { "Auswerten" }
            }
            p { "Zeitraum " (period.from.text()) " bis " (period.to.text()) "." }
            section class="evaluation-method" {
                h2 { "So wird gerechnet" }
                p { (METHOD) }
                p { (RULE) }
            }
            @for table in &evaluation.tables {
                section class="evaluation-table" {
                    h2 { (table.caption) }
                    @if let Some(chart) = chart_of(table) { (chart) }
                    (table_html(table))
                    p { a href=(link(table.key)) download { "„" (table.caption) "“ als CSV herunterladen" } }
                }
            }
        },
    ))
}

/// The chart of a table: its totals per row (rides per month, contacts per village) or its only
/// column (people per month); the period's row is left out.
fn chart_of(table: &Table) -> Option<Markup> {
    let (title, column) = match table.key {
        "rides" => ("Fahrten je Monat", table.columns.len() - 1),
        "counselling" => ("Beratungskontakte je Ort", table.columns.len() - 1),
        "people" => ("Erreichte Personen je Monat", 0),
        _ => return None,
    };
    let bars: Vec<(String, Cell)> = table
        .rows
        .iter()
        .filter(|(label, _)| label != PERIOD_ROW)
        .filter_map(|(label, cells)| cells.get(column).map(|c| (label.clone(), *c)))
        .collect();
    Some(bar_chart(title, &bars))
}

/// A horizontal bar chart; hidden figures get no bar and their "< 5"/"verborgen" text.
fn bar_chart(title: &str, bars: &[(String, Cell)]) -> Markup {
    const ROW: usize = 26;
    const LABEL: f64 = 170.0;
    const WIDTH: f64 = 640.0;
    let height = ROW * bars.len().max(1) + 8;
    let max = bars
        .iter()
        .filter(|(_, c)| c.shown())
        .map(|(_, c)| c.value)
        .fold(1.0_f64, f64::max);
    let scale = (WIDTH - LABEL - 90.0) / max;
    let label = format!("{title}; die Zahlen stehen auch in der Tabelle darunter");
    html! {
        svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(label)
            viewBox={ "0 0 " (WIDTH) " " (height) } {
            title { (title) }
            @for (i, (name, cell)) in bars.iter().enumerate() {
                @let y = i * ROW + 4;
                @let width = if cell.shown() { (cell.value * scale).max(0.0) } else { 0.0 };
                text class="chart-label" x="0" y=(y + 17) { (name) }
                @if cell.shown() {
                    rect class="chart-bar" x=(LABEL) y=(y + 3) width=(format!("{width:.1}")) height="18" {}
                    text class="chart-value" x=(format!("{:.1}", LABEL + width + 6.0)) y=(y + 17) { (cell.html()) }
                } @else {
                    text class="chart-value chart-hidden" x=(LABEL) y=(y + 17) { (cell.html()) }
                }
            }
        }
    }
}

fn table_html(table: &Table) -> Markup {
    // A wide table scrolls sideways: its box takes the keyboard focus so it can be scrolled
    // without a mouse (WCAG 2.1.1), and is named by the caption.
    html! {
        div class="table-wrap" tabindex="0" role="region" aria-label=(table.caption) {
            table class="evaluation" {
                caption { (table.caption) }
                thead { tr {
                    th scope="col" { (table.row_head) }
                    @for column in &table.columns { th scope="col" class="num" { (column) } }
                } }
                tbody {
                    @for (label, cells) in &table.rows {
                        tr {
                            th scope="row" { (label) }
                            @for cell in cells {
                                td class={ "num" @if !cell.shown() { " withheld" } } { (cell.html()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One table as CSV, one figure per line: row, column, value (empty when hidden), note.
fn table_csv(table: &Table) -> Result<Vec<u8>, WebError> {
    let fail = |e: csv::Error| WebError::Internal(format!("writing CSV: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([table.row_head, table.col_head, "Wert", "Hinweis"])
        .map_err(fail)?;
    for (label, cells) in &table.rows {
        for (column, cell) in table.columns.iter().zip(cells) {
            if cell.state == Visibility::Blank {
                continue;
            }
            let (value, note) = cell.csv();
            out.write_record([label.as_str(), column.as_str(), &value, note])
                .map_err(fail)?;
        }
    }
    out.into_inner()
        .map_err(|e| WebError::Internal(format!("writing CSV: {e}")))
}

async fn csv_download(
    State(app): State<AppState>,
    user: WebUser,
    Query(q): Query<EvaluationQuery>,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin, Role::Dispatcher])?;
    let (region, _, tz) = chosen_region(&app, &user, q.region.as_deref()).await?;
    let tz = zone(&tz);
    let period = Period::of(&q, tz)?;
    let key = q.table.as_deref().unwrap_or_default();
    if !TABLES.contains(&key) {
        return Err(WebError::BadRequest(format!(
            "Unbekannte Tabelle „{key}“: möglich sind {}.",
            TABLES.join(", ")
        )));
    }
    let evaluation = evaluation(&app, &user, &region, tz, period).await?;
    let table = evaluation
        .tables
        .iter()
        .find(|t| t.key == key)
        .ok_or(WebError::NotFound)?;
    let body = table_csv(table)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let file = format!(
        "attachment; filename=\"auswertung-{key}-{}-{}.csv\"",
        period.from.text(),
        period.to.text()
    );
    if let Ok(value) = HeaderValue::from_str(&file) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(value: f64, people: &[&str]) -> Tally {
        Tally {
            value,
            people: people.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn small_cells_are_hidden_and_zero_is_shown() {
        assert_eq!(
            judge_cell(&tally(0.0, &[]), Unit::Count).cell.state,
            Visibility::Shown
        );
        assert_eq!(
            judge_cell(&tally(9.0, &["a", "b", "c", "d"]), Unit::Count)
                .cell
                .state,
            Visibility::Small
        );
        assert_eq!(
            judge_cell(&tally(5.0, &["a", "b", "c", "d", "e"]), Unit::Count)
                .cell
                .state,
            Visibility::Shown
        );
    }

    #[test]
    fn a_total_is_hidden_when_it_would_reveal_one_small_cell() {
        let big = judge_cell(&tally(6.0, &["a", "b", "c", "d", "e"]), Unit::Count);
        let small = judge_cell(&tally(2.0, &["f", "g"]), Unit::Count);
        let other_small = judge_cell(&tally(3.0, &["h", "i", "j"]), Unit::Count);
        let all = tally(8.0, &["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(
            judge_total(&all, Unit::Count, &[&big, &small]).cell.state,
            Visibility::Hidden
        );
        // Two small cells with five people together: their sum may be seen.
        let all = tally(11.0, &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
        assert_eq!(
            judge_total(&all, Unit::Count, &[&big, &small, &other_small])
                .cell
                .state,
            Visibility::Shown
        );
    }

    #[test]
    fn months_parse_strictly() {
        assert!(Month::parse("Von", "2026-13").is_err());
        assert!(Month::parse("Von", "abc").is_err());
        assert_eq!(Month::parse("Von", "2026-11").unwrap().text(), "2026-11");
        assert_eq!(
            Month(Month::parse("Von", "2026-12").unwrap().0 + 1).text(),
            "2027-01"
        );
    }
}
