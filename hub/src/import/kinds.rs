//! From a row of text cells to a typed domain record, per kind: the columns of each kind, the
//! natural key its id comes from, the references it resolves by name, and the create itself.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::hours::parse_opening_hours;
use super::parse::{Columns, Row};
use super::{ImportError, ImportKind, Location, Problem, Source};
use crate::domain::common::{Instant, local_to_instant};
use crate::domain::{
    Caregiver, CaregiverLink, ConsentHow, Destination, Resident, Shift, Stop, Vehicle, Village,
};
use crate::store::StoreError;
use crate::store::logs::Who;
use crate::store::records::{Resource, create_in};

impl ImportKind {
    /// The columns of this kind's files.
    pub(super) fn columns(self) -> Columns {
        match self {
            ImportKind::Villages => Columns {
                required: &["name", "lat", "lon"],
                // `streets`: the village's street names separated by `|`.
                optional: &["municipality", "id", "streets"],
                point: Some(("lat", "lon")),
            },
            ImportKind::Stops => Columns {
                required: &["village", "name", "lat", "lon"],
                optional: &["step_free", "id"],
                point: Some(("lat", "lon")),
            },
            ImportKind::Destinations => Columns {
                required: &[
                    "name", "category", "street", "postcode", "city", "lat", "lon",
                ],
                optional: &["phone", "opening_hours", "step_free", "helps_with", "id"],
                point: Some(("lat", "lon")),
            },
            ImportKind::Vehicles => Columns {
                required: &["name", "seats", "depot_name", "depot_lat", "depot_lon"],
                optional: &["wheelchair_places", "id"],
                point: Some(("depot_lat", "depot_lon")),
            },
            ImportKind::Shifts => Columns {
                required: &["vehicle", "starts_at", "ends_at"],
                optional: &["driver_name", "break_after", "break_minutes", "id"],
                point: None,
            },
            ImportKind::Residents => Columns {
                required: &[
                    "name",
                    "street",
                    "village",
                    "lat",
                    "lon",
                    "consent_at",
                    "consent_given_to",
                    "consent_purpose",
                ],
                optional: &[
                    "phone",
                    "uses_walker",
                    "uses_wheelchair",
                    "needs_companion",
                    "language",
                    "id",
                ],
                point: Some(("lat", "lon")),
            },
            ImportKind::Caregivers => Columns {
                required: &["name"],
                optional: &["phone", "email", "village", "id"],
                point: None,
            },
            ImportKind::CaregiverLinks => Columns {
                required: &["caregiver", "resident", "consent_at"],
                optional: &["consent_how", "id"],
                point: None,
            },
        }
    }

    /// What the natural key of a row is called in messages.
    fn key_noun(self) -> &'static str {
        match self {
            ImportKind::Villages | ImportKind::Vehicles => "name",
            ImportKind::Stops => "village and name",
            ImportKind::Destinations => "name and city",
            ImportKind::Shifts => "vehicle and start",
            ImportKind::Residents => "name, street and village",
            ImportKind::Caregivers => "name and phone or e-mail",
            ImportKind::CaregiverLinks => "caregiver and resident",
        }
    }
}

/// The state of one import run: the transaction, what was seen so far, what went wrong.
pub(super) struct Session<'a> {
    pub tx: &'a Connection,
    pub who: &'a Who,
    pub region_id: &'a str,
    pub tz: Tz,
    /// Natural keys imported so far, with where they were, to catch duplicates.
    pub seen: HashMap<(ImportKind, String), String>,
    /// Human keys (names) of rows that failed, so references to them say why they fail.
    pub failed: HashMap<(ImportKind, String), String>,
    pub report: super::ImportReport,
    pub problems: Vec<Problem>,
}

/// The cells of one row, read with their problems collected, so a row reports all its faults
/// at once.
struct Cells<'r> {
    row: &'r Row,
    tz: Tz,
    problems: Vec<(String, String)>,
}

impl<'r> Cells<'r> {
    fn opt(&self, column: &str) -> Option<&'r str> {
        self.row.cells.get(column).map(String::as_str)
    }

    fn text(&mut self, column: &str) -> String {
        match self.opt(column) {
            Some(text) => text.to_string(),
            None => {
                self.problems
                    .push((column.into(), "must not be empty".into()));
                String::new()
            }
        }
    }

    fn number<T: std::str::FromStr>(&mut self, column: &str, what: &str) -> Option<T> {
        let text = self.opt(column)?;
        // A decimal comma is what German spreadsheets write; it cannot be mistaken here.
        let normalised = if text.matches(',').count() == 1 && !text.contains('.') {
            text.replace(',', ".")
        } else {
            text.to_string()
        };
        match normalised.parse() {
            Ok(value) => Some(value),
            Err(_) => {
                self.problems
                    .push((column.into(), format!("'{text}' is not {what}")));
                None
            }
        }
    }

    fn float(&mut self, column: &str) -> f64 {
        if self.opt(column).is_none() {
            self.problems
                .push((column.into(), "must not be empty".into()));
            return 0.0;
        }
        self.number(column, "a number").unwrap_or(0.0)
    }

    fn count(&mut self, column: &str, default: u32) -> u32 {
        self.number(column, "a whole number").unwrap_or(default)
    }

    fn required_count(&mut self, column: &str) -> u32 {
        if self.opt(column).is_none() {
            self.problems
                .push((column.into(), "must not be empty".into()));
        }
        self.count(column, 0)
    }

    fn flag(&mut self, column: &str, default: bool) -> bool {
        let Some(text) = self.opt(column) else {
            return default;
        };
        match text.to_lowercase().as_str() {
            "ja" | "j" | "yes" | "y" | "true" | "wahr" | "1" | "x" => true,
            "nein" | "n" | "no" | "false" | "falsch" | "0" => false,
            _ => {
                self.problems.push((
                    column.into(),
                    format!("'{text}' is not ja/nein (yes/no, true/false, 1/0)"),
                ));
                default
            }
        }
    }

    fn instant(&mut self, column: &str) -> Option<Instant> {
        let text = self.opt(column)?;
        let parsed = if text.len() == 16 {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
                .map_err(|_| format!("'{text}' is not a local time YYYY-MM-DD HH:MM"))
                .and_then(|t| local_to_instant(self.tz, t.date(), t.time()))
        } else {
            text.parse::<Instant>().map_err(|_| {
                format!("'{text}' is neither a local time YYYY-MM-DD HH:MM nor an RFC 3339 instant")
            })
        };
        match parsed {
            Ok(instant) => Some(instant),
            Err(reason) => {
                self.problems.push((column.into(), reason));
                None
            }
        }
    }

    fn required_instant(&mut self, column: &str) -> Option<Instant> {
        if self.opt(column).is_none() {
            self.problems
                .push((column.into(), "must not be empty".into()));
        }
        self.instant(column)
    }

    /// How a resident gave consent: the domain's codes or the German words; empty is paper.
    fn consent_how(&mut self, column: &str) -> ConsentHow {
        let Some(text) = self.opt(column) else {
            return ConsentHow::default();
        };
        match text.to_lowercase().as_str() {
            "paper" | "schriftlich" | "papier" => ConsentHow::Paper,
            "phone" | "telefonisch" | "telefon" => ConsentHow::Phone,
            "in_person" | "persönlich" => ConsentHow::InPerson,
            "kiosk" => ConsentHow::Kiosk,
            _ => {
                self.problems.push((
                    column.into(),
                    format!(
                        "'{text}' is not one of paper, phone, in_person, kiosk (schriftlich, telefonisch, persönlich)"
                    ),
                ));
                ConsentHow::default()
            }
        }
    }

    /// An explicit id from the `id` column, if the row has one.
    fn id(&mut self) -> Option<Uuid> {
        let text = self.opt("id")?;
        match Uuid::parse_str(text) {
            Ok(id) => Some(id),
            Err(_) => {
                self.problems
                    .push(("id".into(), format!("'{text}' is not a UUID")));
                None
            }
        }
    }
}

/// A record ready to create, with its natural key and the human key others refer to it by.
struct Prepared<R> {
    record: R,
    key: Vec<String>,
    id: Option<Uuid>,
}

impl Session<'_> {
    pub fn import_row(&mut self, source: &Source, row: &Row) -> Result<(), ImportError> {
        let mut cells = Cells {
            row,
            tz: self.tz,
            problems: Vec::new(),
        };
        let kind = source.kind;
        let region_id = self.region_id.to_string();
        // The human key others refer to this row by (village and vehicle names).
        let name_key = cells.opt("name").map(str::to_string);
        let outcome = match kind {
            ImportKind::Villages => {
                let name = cells.text("name");
                let prepared = Prepared {
                    record: Village {
                        region_id,
                        municipality: cells.opt("municipality").unwrap_or(&name).to_string(),
                        lat: cells.float("lat"),
                        lon: cells.float("lon"),
                        streets: cells
                            .opt("streets")
                            .map(|list| list.split('|').map(|s| s.trim().to_string()).collect())
                            .unwrap_or_default(),
                        name: name.clone(),
                        imbus_every_weeks: None,
                        imbus_visit_minutes: 90,
                        imbus_stop_id: None,
                    },
                    key: vec![name],
                    id: cells.id(),
                };
                self.finish(source, row, cells, prepared)?
            }
            ImportKind::Stops => {
                let village = self.reference(&mut cells, "village", ImportKind::Villages)?;
                let name = cells.text("name");
                let prepared = Prepared {
                    record: Stop {
                        region_id,
                        village_id: village.clone(),
                        name: name.clone(),
                        lat: cells.float("lat"),
                        lon: cells.float("lon"),
                        step_free: cells.flag("step_free", true),
                    },
                    key: vec![village, name],
                    id: cells.id(),
                };
                self.finish(source, row, cells, prepared)?
            }
            ImportKind::Destinations => {
                let hours = match cells.opt("opening_hours").map(parse_opening_hours) {
                    Some(Ok(hours)) => hours,
                    Some(Err(reason)) => {
                        cells.problems.push(("opening_hours".into(), reason));
                        Vec::new()
                    }
                    None => Vec::new(),
                };
                let name = cells.text("name");
                let city = cells.text("city");
                let prepared = Prepared {
                    record: Destination {
                        region_id,
                        name: name.clone(),
                        category: cells.text("category"),
                        street: cells.text("street"),
                        postcode: cells.text("postcode"),
                        city: city.clone(),
                        lat: cells.float("lat"),
                        lon: cells.float("lon"),
                        phone: cells.opt("phone").map(str::to_string),
                        opening_hours: hours,
                        step_free: cells.flag("step_free", false),
                        // Need codes separated by commas, semicolons or spaces; the domain
                        // checks each.
                        helps_with: cells
                            .opt("helps_with")
                            .unwrap_or_default()
                            .split([',', ';', ' '])
                            .filter(|code| !code.is_empty())
                            .map(str::to_string)
                            .collect(),
                    },
                    key: vec![name, city],
                    id: cells.id(),
                };
                self.finish(source, row, cells, prepared)?
            }
            ImportKind::Vehicles => {
                let name = cells.text("name");
                let prepared = Prepared {
                    record: Vehicle {
                        region_id,
                        name: name.clone(),
                        seats: cells.required_count("seats"),
                        wheelchair_places: cells.count("wheelchair_places", 0),
                        depot_name: cells.text("depot_name"),
                        depot_lat: cells.float("depot_lat"),
                        depot_lon: cells.float("depot_lon"),
                    },
                    key: vec![name],
                    id: cells.id(),
                };
                self.finish(source, row, cells, prepared)?
            }
            ImportKind::Shifts => {
                let vehicle = self.reference(&mut cells, "vehicle", ImportKind::Vehicles)?;
                let starts_at = cells.required_instant("starts_at");
                let ends_at = cells.required_instant("ends_at");
                let placeholder = Instant(chrono::DateTime::UNIX_EPOCH);
                let prepared = Prepared {
                    record: Shift {
                        region_id,
                        vehicle_id: vehicle.clone(),
                        driver_name: cells.opt("driver_name").map(str::to_string),
                        driver_account_id: None,
                        starts_at: starts_at.unwrap_or(placeholder),
                        ends_at: ends_at.unwrap_or(placeholder),
                        break_after: cells.instant("break_after"),
                        break_minutes: cells.count("break_minutes", 0),
                    },
                    key: vec![vehicle, starts_at.map(|s| s.text()).unwrap_or_default()],
                    id: cells.id(),
                };
                self.finish(source, row, cells, prepared)?
            }
            ImportKind::Residents => {
                let village = self.reference(&mut cells, "village", ImportKind::Villages)?;
                let name = cells.text("name");
                let street = cells.text("street");
                let consent_at = cells.required_instant("consent_at");
                let prepared = Prepared {
                    record: Resident {
                        region_id,
                        name: name.clone(),
                        phone: cells.opt("phone").map(str::to_string),
                        street: street.clone(),
                        village_id: village.clone(),
                        lat: cells.float("lat"),
                        lon: cells.float("lon"),
                        uses_walker: cells.flag("uses_walker", false),
                        uses_wheelchair: cells.flag("uses_wheelchair", false),
                        needs_companion: cells.flag("needs_companion", false),
                        language: cells.opt("language").unwrap_or("de").to_string(),
                        consent_at: consent_at.unwrap_or(Instant(chrono::DateTime::UNIX_EPOCH)),
                        consent_given_to: cells.text("consent_given_to"),
                        consent_purpose: cells.text("consent_purpose"),
                        birth_year: None,
                        target_groups: Vec::new(),
                    },
                    key: vec![name, street, village],
                    id: cells.id(),
                };
                self.finish(source, row, cells, prepared)?
            }
            ImportKind::Caregivers => {
                let village = match cells.opt("village") {
                    Some(_) => Some(self.reference(&mut cells, "village", ImportKind::Villages)?),
                    None => None,
                };
                let name = cells.text("name");
                let phone = cells.opt("phone").map(str::to_string);
                let email = cells.opt("email").map(str::to_string);
                let contact = phone.clone().or(email.clone()).unwrap_or_default();
                let prepared = Prepared {
                    record: Caregiver {
                        region_id,
                        name: name.clone(),
                        phone,
                        email,
                        village_id: village,
                    },
                    key: vec![name, contact],
                    id: cells.id(),
                };
                self.finish(source, row, cells, prepared)?
            }
            ImportKind::CaregiverLinks => {
                let caregiver = self.reference(&mut cells, "caregiver", ImportKind::Caregivers)?;
                let resident = self.reference(&mut cells, "resident", ImportKind::Residents)?;
                let consent_at = cells.required_instant("consent_at");
                let prepared = Prepared {
                    record: CaregiverLink {
                        region_id,
                        caregiver_id: caregiver.clone(),
                        resident_id: resident.clone(),
                        consent_at: consent_at.unwrap_or(Instant(chrono::DateTime::UNIX_EPOCH)),
                        consent_how: cells.consent_how("consent_how"),
                    },
                    key: vec![caregiver, resident],
                    id: cells.id(),
                };
                self.finish(source, row, cells, prepared)?
            }
        };
        if !outcome && let Some(name) = name_key {
            self.failed
                .insert((kind, name), location_text(source, row.location));
        }
        Ok(())
    }

    /// Resolves a reference by name or id among the live records of the region. An empty or
    /// unresolved reference is recorded as a problem and answered with an empty id.
    fn reference(
        &mut self,
        cells: &mut Cells<'_>,
        column: &str,
        kind: ImportKind,
    ) -> Result<String, ImportError> {
        let Some(value) = cells.opt(column) else {
            cells
                .problems
                .push((column.into(), "must not be empty".into()));
            return Ok(String::new());
        };
        let sql = format!(
            "SELECT id FROM {} WHERE region_id = ?1 AND archived_at IS NULL AND (id = ?2 OR name = ?2)",
            kind.name()
        );
        let ids: Vec<String> = {
            let mut stmt = self.tx.prepare_cached(&sql).map_err(StoreError::from)?;
            let rows = stmt
                .query_map(params![self.region_id, value], |r| r.get(0))
                .map_err(StoreError::from)?;
            rows.collect::<Result<_, _>>().map_err(StoreError::from)?
        };
        match ids.as_slice() {
            [id] => return Ok(id.clone()),
            [] => {
                let noun = kind.name().trim_end_matches('s');
                let reason = match self.failed.get(&(kind, value.to_string())) {
                    Some(at) => format!(
                        "{noun} '{value}' is not imported because its own row has problems ({at})"
                    ),
                    None => format!("no {noun} '{value}' in this region (give its name or id)"),
                };
                cells.problems.push((column.into(), reason));
            }
            _ => cells.problems.push((
                column.into(),
                format!(
                    "'{value}' names {} {}; give the id instead",
                    ids.len(),
                    kind.name()
                ),
            )),
        }
        Ok(String::new())
    }

    /// Creates the prepared record unless the row already has problems; returns whether the row
    /// went in.
    fn finish<R: Resource>(
        &mut self,
        source: &Source,
        row: &Row,
        cells: Cells<'_>,
        prepared: Prepared<R>,
    ) -> Result<bool, ImportError> {
        let kind = source.kind;
        let here = location_text(source, row.location);
        let mut problems = cells.problems;
        let key = prepared.key.join(" / ");
        if problems.is_empty()
            && let Some(first) = self.seen.get(&(kind, key.clone()))
        {
            problems.push((
                String::new(),
                format!("the same {} as {first}", kind.key_noun()),
            ));
        }
        if problems.is_empty() {
            let key_parts: Vec<&str> = prepared.key.iter().map(String::as_str).collect();
            let id = prepared
                .id
                .unwrap_or_else(|| kind.id_for(self.region_id, &key_parts));
            if let Some(other) = self.existing_other(kind, &prepared.key, id)? {
                problems.push((
                    String::new(),
                    format!(
                        "a {} with this {} exists already (id {other}); an import does not change existing records",
                        R::NOUN,
                        kind.key_noun()
                    ),
                ));
            } else {
                match create_in(self.tx, self.who, Some(id), &prepared.record) {
                    Ok(created) => {
                        let count = self.report.kinds.entry(kind).or_default();
                        if created.replayed { count.unchanged += 1 } else { count.created += 1 }
                        self.seen.insert((kind, key), here);
                        return Ok(true);
                    }
                    Err(StoreError::Invalid { field, reason }) => problems.push((field, reason)),
                    Err(StoreError::Conflict(_)) => problems.push((
                        String::new(),
                        format!(
                            "this {} was imported before with other values; an import does not change existing records, edit it in the admin",
                            R::NOUN
                        ),
                    )),
                    Err(StoreError::NotFound { kind, id }) => {
                        problems.push((String::new(), format!("no {kind} with id {id}")))
                    }
                    Err(e @ (StoreError::Db(_) | StoreError::Internal(_))) => return Err(e.into()),
                }
            }
        }
        for (field, reason) in problems {
            let field = column_of_field(kind, row.geo, &field);
            self.problems.push(Problem {
                file: source.name.clone(),
                location: row.location,
                field,
                reason,
            });
        }
        Ok(false)
    }

    /// A live record of the region with the same natural key but another id: created by hand or
    /// by the API, where an import would make a silent duplicate.
    fn existing_other(
        &self,
        kind: ImportKind,
        key: &[String],
        id: Uuid,
    ) -> Result<Option<String>, ImportError> {
        let (sql, args): (&str, Vec<&str>) = match (kind, key) {
            (ImportKind::Villages | ImportKind::Vehicles, [name]) => (
                "SELECT id FROM {table} WHERE region_id = ?1 AND name = ?2 AND archived_at IS NULL AND id <> ?3",
                vec![name],
            ),
            (ImportKind::Stops, [village, name]) => (
                "SELECT id FROM {table} WHERE region_id = ?1 AND village_id = ?4 AND name = ?2
                 AND archived_at IS NULL AND id <> ?3",
                vec![name, village],
            ),
            (ImportKind::Destinations, [name, city]) => (
                "SELECT id FROM {table} WHERE region_id = ?1 AND name = ?2 AND city = ?4
                 AND archived_at IS NULL AND id <> ?3",
                vec![name, city],
            ),
            // One live link per pair (a unique index): another one is a duplicate, not a clash.
            (ImportKind::CaregiverLinks, [caregiver, resident]) => (
                "SELECT id FROM {table} WHERE region_id = ?1 AND caregiver_id = ?2
                 AND resident_id = ?4 AND archived_at IS NULL AND id <> ?3",
                vec![caregiver, resident],
            ),
            _ => return Ok(None),
        };
        let sql = sql.replace("{table}", kind.name());
        let id = id.to_string();
        let mut values: Vec<&str> = vec![self.region_id, args[0], &id];
        values.extend(args.get(1).copied());
        let mut stmt = self.tx.prepare_cached(&sql).map_err(StoreError::from)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(values))
            .map_err(StoreError::from)?;
        match rows.next().map_err(StoreError::from)? {
            Some(row) => Ok(Some(row.get(0).map_err(StoreError::from)?)),
            None => Ok(None),
        }
    }
}

fn location_text(source: &Source, location: Location) -> String {
    match location {
        Location::File => source.name.clone(),
        Location::Line(line) => format!("{}:{line}", source.name),
        Location::Feature(index) => format!("{} features[{index}]", source.name),
    }
}

/// The column a domain field comes from: references by name, coordinates from the geometry,
/// nested paths (`opening_hours[2].close`) by their column.
fn column_of_field(kind: ImportKind, geo: bool, field: &str) -> Option<String> {
    let column = field.split(['.', '[']).next().unwrap_or(field);
    let column = match column {
        "" => return None,
        "village_id" => "village",
        "vehicle_id" => "vehicle",
        "caregiver_id" => "caregiver",
        "resident_id" => "resident",
        other => other,
    };
    if geo && let Some((lat, lon)) = kind.columns().point {
        if column == lat {
            return Some("geometry.coordinates[1]".into());
        }
        if column == lon {
            return Some("geometry.coordinates[0]".into());
        }
    }
    Some(column.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_fields_map_to_the_columns_people_wrote() {
        let column = |kind, geo, field| column_of_field(kind, geo, field);
        assert_eq!(
            column(ImportKind::Stops, true, "lat").as_deref(),
            Some("geometry.coordinates[1]")
        );
        assert_eq!(
            column(ImportKind::Vehicles, true, "depot_lon").as_deref(),
            Some("geometry.coordinates[0]")
        );
        assert_eq!(
            column(ImportKind::Stops, false, "lat").as_deref(),
            Some("lat")
        );
        assert_eq!(
            column(ImportKind::Stops, false, "village_id").as_deref(),
            Some("village")
        );
        assert_eq!(
            column(ImportKind::Destinations, false, "opening_hours[1].close").as_deref(),
            Some("opening_hours")
        );
        assert_eq!(column(ImportKind::Villages, false, ""), None);
    }

    #[test]
    fn ids_depend_on_region_kind_and_key_only() {
        let a = ImportKind::Villages.id_for("r1", &["Dahlum"]);
        assert_eq!(a, ImportKind::Villages.id_for("r1", &["Dahlum"]));
        assert_eq!(a.get_version_num(), 5);
        assert_ne!(a, ImportKind::Villages.id_for("r2", &["Dahlum"]));
        assert_ne!(a, ImportKind::Vehicles.id_for("r1", &["Dahlum"]));
        assert_ne!(
            ImportKind::Stops.id_for("r1", &["a b", "c"]),
            ImportKind::Stops.id_for("r1", &["a", "b c"])
        );
    }
}
