//! Region data import: villages, stops, destinations, vehicles, shifts, residents, caregivers and
//! the links between caregivers and residents from CSV and GeoJSON files, all or nothing.
//!
//! Every row goes through the same domain rules as an API create ([`create_in`]), inside one
//! transaction for the whole file set; all problems are collected (file, line or feature, field,
//! reason) and any problem rolls everything back. Rows refer to each other by human keys within
//! the region (a stop names its village, a shift its vehicle), and ids are UUID v5 from the
//! region, the kind and that key, so importing the same files again changes nothing.
//!
//! File formats (the header line of a CSV names the columns, in any order; `*` = required):
//!
//! | file | columns |
//! |---|---|
//! | `villages` | name*, municipality (default: name), lat*, lon*, id |
//! | `stops` | village* (name or id), name*, lat*, lon*, step_free (default ja), id |
//! | `destinations` | name*, category*, street*, postcode*, city*, lat*, lon*, phone, opening_hours, step_free, helps_with (need codes such as `alcohol, loneliness`), id |
//! | `vehicles` | name*, seats*, wheelchair_places, depot_name*, depot_lat*, depot_lon*, id |
//! | `shifts` | vehicle* (name or id), driver_name, starts_at*, ends_at*, break_after, break_minutes, id |
//! | `residents` | name*, street*, village*, lat*, lon*, phone, uses_walker, uses_wheelchair, needs_companion, language, consent_at*, consent_given_to*, consent_purpose*, id |
//! | `caregivers` | name*, phone, email (one of the two), village (name or id), id |
//! | `caregiver_links` | caregiver* (name or id), resident* (name or id), consent_at*, consent_how (`paper`/`schriftlich`, `phone`/`telefonisch`, `in_person`/`persönlich`, `kiosk`; default paper), id |
//!
//! Times are local wall-clock `YYYY-MM-DD HH:MM` in the region's zone or RFC 3339 instants;
//! yes/no cells take `ja/nein`, `yes/no`, `true/false`, `1/0`; decimal commas are accepted;
//! opening hours read like `Mo-Fr 08:00-12:00, Mo,Di,Do 14:00-17:00` (see [`hours`]).
//! GeoJSON files are FeatureCollections of Point features whose properties are the columns
//! above without the coordinate columns (vehicles: the point is the depot; shifts, caregivers and
//! links have no GeoJSON).

mod hours;
mod kinds;
mod parse;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rusqlite::Connection;
use serde::Serialize;
use uuid::Uuid;

use crate::store::logs::{self, Action, Who};
use crate::store::{Store, StoreError};

pub use hours::parse_opening_hours;
pub use parse::{MAX_FILE_BYTES, MAX_ROWS};

/// What a file holds. The order is the import order: a kind may refer only to kinds before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Villages,
    Stops,
    Destinations,
    Vehicles,
    Shifts,
    Residents,
    Caregivers,
    CaregiverLinks,
}

impl ImportKind {
    pub const ALL: [ImportKind; 8] = [
        ImportKind::Villages,
        ImportKind::Stops,
        ImportKind::Destinations,
        ImportKind::Vehicles,
        ImportKind::Shifts,
        ImportKind::Residents,
        ImportKind::Caregivers,
        ImportKind::CaregiverLinks,
    ];

    /// The plural name used in file names, on the command line and as the table name.
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Villages => "villages",
            ImportKind::Stops => "stops",
            ImportKind::Destinations => "destinations",
            ImportKind::Vehicles => "vehicles",
            ImportKind::Shifts => "shifts",
            ImportKind::Residents => "residents",
            ImportKind::Caregivers => "caregivers",
            ImportKind::CaregiverLinks => "caregiver_links",
        }
    }

    /// The kind and format a file name announces: `stops.csv`, `elm-asse_stops.geojson`,
    /// `caregiver-links.csv`. The name ends with the kind after a separator; of two kinds that
    /// fit (`links` cannot, but a later kind might), the longer name wins.
    pub fn from_file_name(path: &Path) -> Option<(ImportKind, Format)> {
        let format = Format::from_path(path)?;
        let stem = path.file_stem()?.to_str()?.to_lowercase();
        let stem = stem.replace(['-', '.', ' '], "_");
        let kind = ImportKind::ALL
            .into_iter()
            .filter(|k| {
                stem.strip_suffix(k.name())
                    .is_some_and(|head| head.is_empty() || head.ends_with('_'))
            })
            .max_by_key(|k| k.name().len())?;
        Some((kind, format))
    }

    /// The deterministic id of the record of this kind with `key` in `region_id`.
    pub fn id_for(self, region_id: &str, key: &[&str]) -> Uuid {
        // The unit separator cannot occur in stored texts (control characters are refused),
        // so different keys never join to the same name.
        let name = format!(
            "{region_id}\u{1f}{}\u{1f}{}",
            self.name(),
            key.join("\u{1f}")
        );
        Uuid::new_v5(&IMPORT_NAMESPACE, name.as_bytes())
    }
}

/// The UUID v5 namespace of imported records (a fixed, otherwise meaningless UUID).
pub const IMPORT_NAMESPACE: Uuid = Uuid::from_u128(0x6f1d_8c2e_4b7a_5d3f_9e10_2a6b_c4d8_e5f7);

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ImportKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ImportKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = ImportKind::ALL.iter().map(|k| k.name()).collect();
                format!("'{s}' is not a kind of import; one of {}", names.join(", "))
            })
    }
}

/// How a file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
}

impl Format {
    /// The format a file extension announces: `.csv`, `.geojson` or `.json`.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "geojson" | "json" => Some(Format::GeoJson),
            _ => None,
        }
    }
}

/// One input file, read into memory (at most [`MAX_FILE_BYTES`] and one byte more, so an
/// oversized file is recognised without reading all of it).
#[derive(Clone, Debug)]
pub struct Source {
    /// How problems name the file, usually its file name.
    pub name: String,
    pub kind: ImportKind,
    pub format: Format,
    pub bytes: Vec<u8>,
}

impl Source {
    /// Reads a file; the kind comes from `kind` or else from the file name, the format from the
    /// extension (CSV when it says nothing).
    pub fn read(path: &Path, kind: Option<ImportKind>) -> Result<Source, ImportError> {
        let announced = ImportKind::from_file_name(path);
        let kind = kind
            .or(announced.map(|(k, _)| k))
            .ok_or_else(|| ImportError::UnknownKind(path.display().to_string()))?;
        let format = Format::from_path(path).unwrap_or(Format::Csv);
        let read_err = |source| ImportError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Source {
            name,
            kind,
            format,
            bytes,
        })
    }

    /// An in-memory file; kind and format from `name` (e.g. `stops.geojson`).
    pub fn from_text(name: &str, text: &str) -> Result<Source, ImportError> {
        let (kind, format) = ImportKind::from_file_name(Path::new(name))
            .ok_or_else(|| ImportError::UnknownKind(name.to_string()))?;
        Ok(Source {
            name: name.to_string(),
            kind,
            format,
            bytes: text.as_bytes().to_vec(),
        })
    }
}

/// Where in a file a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// The file as a whole.
    File,
    /// A line as an editor counts it; the header is line 1.
    Line(u64),
    /// A GeoJSON feature by its index in `features`, from 0.
    Feature(usize),
}

/// One thing wrong with the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub location: Location,
    /// The column (CSV) or property (GeoJSON) at fault, when one is.
    pub field: Option<String>,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::File => write!(f, "{}", self.file)?,
            Location::Line(line) => write!(f, "{}:{line}", self.file)?,
            Location::Feature(index) => write!(f, "{} features[{index}]", self.file)?,
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why an import did not happen. In every case nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input has problems; all of them are listed.
    #[error("nothing was imported; {} problem(s):\n{}", .0.len(), list(.0))]
    Rejected(Vec<Problem>),
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0}: the file name does not say what it holds; name it villages.csv, stops.geojson, … or give the kind"
    )]
    UnknownKind(String),
    #[error("no region with id {0}")]
    UnknownRegion(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many records of a kind an import created, and how many it found already there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindCount {
    pub created: usize,
    pub unchanged: usize,
}

/// What an import did, per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub kinds: BTreeMap<ImportKind, KindCount>,
}

impl ImportReport {
    /// Records created, over all kinds.
    pub fn created(&self) -> usize {
        self.kinds.values().map(|c| c.created).sum()
    }

    /// Rows that matched a record imported before, over all kinds.
    pub fn unchanged(&self) -> usize {
        self.kinds.values().map(|c| c.unchanged).sum()
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, count) in &self.kinds {
            writeln!(
                f,
                "{kind}: {} created, {} unchanged",
                count.created, count.unchanged
            )?;
        }
        Ok(())
    }
}

/// Imports files into a region; kinds from the file names (`villages.csv`, `stops.geojson`).
pub fn import_files(
    store: &Store,
    region_id: &str,
    files: &[PathBuf],
    who: &Who,
) -> Result<ImportReport, ImportError> {
    let sources = files
        .iter()
        .map(|p| Source::read(p, None))
        .collect::<Result<Vec<_>, _>>()?;
    import_sources(store, region_id, &sources, who)
}

/// Imports sources (read from files or made in memory) in one transaction: all or nothing.
pub fn import_sources(
    store: &Store,
    region_id: &str,
    sources: &[Source],
    who: &Who,
) -> Result<ImportReport, ImportError> {
    store.blocking(|conn| {
        let tx = conn.transaction()?;
        match import_in(&tx, region_id, sources, who) {
            Ok(report) => {
                tx.commit()?;
                Ok(Ok(report))
            }
            // Dropping the transaction rolls back every row written so far.
            Err(e) => Ok(Err(e)),
        }
    })?
}

/// Imports inside a transaction the caller holds. On an error the caller must roll back: rows
/// before the problem were written.
pub fn import_in(
    tx: &Connection,
    region_id: &str,
    sources: &[Source],
    who: &Who,
) -> Result<ImportReport, ImportError> {
    let tz = match crate::domain::common::region_tz(tx, region_id) {
        Ok(tz) => tz,
        Err(StoreError::Invalid { .. }) => {
            return Err(ImportError::UnknownRegion(region_id.to_string()));
        }
        Err(e) => return Err(e.into()),
    };

    // First every file as a whole: if one cannot be read, its rows' absence would only show up
    // as a flood of misleading reference errors in the others.
    let mut parsed: Vec<(&Source, Vec<parse::Row>)> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut unreadable = false;
    for source in sources {
        match parse::parse(&source.name, source.kind, source.format, &source.bytes) {
            Ok((rows, row_problems)) => {
                problems.extend(row_problems);
                parsed.push((source, rows));
            }
            Err(file_problems) => {
                unreadable = true;
                problems.extend(file_problems);
            }
        }
    }
    if unreadable {
        return Err(ImportError::Rejected(problems));
    }
    // Kinds in import order, files of one kind in the order given.
    parsed.sort_by_key(|(source, _)| source.kind);

    let mut session = kinds::Session {
        tx,
        who,
        region_id,
        tz,
        seen: HashMap::new(),
        failed: HashMap::new(),
        report: ImportReport::default(),
        problems,
    };
    for (source, rows) in &parsed {
        for row in rows {
            session.import_row(source, row)?;
        }
    }
    if !session.problems.is_empty() {
        return Err(ImportError::Rejected(session.problems));
    }
    for kind in session.report.kinds.keys() {
        logs::audit(tx, who, Action::Import, kind.name(), None, Some(region_id))?;
    }
    Ok(session.report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Region;
    use crate::store::records::create;

    const VILLAGES: &str = "name,municipality,lat,lon
Dahlum,Dahlum,52.1333,10.85
Schöppenstedt,Schöppenstedt,52.1431,10.7745
";
    const STOPS: &str = "village,name,lat,lon,step_free
Dahlum,Kirche,52.135,10.851,nein
Schöppenstedt,Markt,52.143,10.775,
";
    const DESTINATIONS: &str = "name,category,street,postcode,city,lat,lon,phone,opening_hours,step_free
Hausarztpraxis Dr. Berger,general_practice,Markt 3,38170,Schöppenstedt,52.1433,10.7748,05332 1234,\"Mo-Fr 08:00-12:00, Mo,Di,Do 15:00-18:00\",ja
";
    const VEHICLES: &str = "name,seats,wheelchair_places,depot_name,depot_lat,depot_lon
Bürgerbus 1,8,0,DRK Schöppenstedt,52.144,10.776
Rollstuhlbus,6,2,DRK Schöppenstedt,52.144,10.776
";
    const SHIFTS: &str = "vehicle,driver_name,starts_at,ends_at,break_after,break_minutes
Bürgerbus 1,Jens Möller,2030-03-04 07:00,2030-03-04 14:00,2030-03-04 11:00,30
Rollstuhlbus,,2030-03-04T08:00:00+01:00,2030-03-04 16:00,,
";
    const RESIDENTS: &str = "name,street,village,lat,lon,phone,uses_walker,uses_wheelchair,needs_companion,language,consent_at,consent_given_to,consent_purpose
Erika Mustermann,Kirchstraße 4,Dahlum,52.134,10.849,05332 98765,ja,nein,nein,de,2025-01-15 10:00,DRK Wolfenbüttel,Fahrten und Beratung
";

    fn setup() -> (tempfile::TempDir, Store, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("hub.db")).unwrap();
        let region = Region {
            name: "Testregion".into(),
            time_zone: "Europe/Berlin".into(),
            phone: None,
            settings: Default::default(),
            target_groups: vec![],
            destination_categories: vec!["general_practice".into(), "pharmacy".into()],
        };
        let id = store
            .blocking(|c| create(c, &Who::cli("test"), None, &region))
            .unwrap()
            .record["id"]
            .as_str()
            .unwrap()
            .to_string();
        (dir, store, id)
    }

    fn sources(files: &[(&str, &str)]) -> Vec<Source> {
        files
            .iter()
            .map(|(name, text)| Source::from_text(name, text).unwrap())
            .collect()
    }

    fn run(
        store: &Store,
        region: &str,
        files: &[(&str, &str)],
    ) -> Result<ImportReport, ImportError> {
        import_sources(store, region, &sources(files), &Who::cli("import"))
    }

    fn problems(result: Result<ImportReport, ImportError>) -> Vec<Problem> {
        match result {
            Err(ImportError::Rejected(problems)) => problems,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    fn count(store: &Store, table: &str) -> i64 {
        store
            .blocking(|c| {
                Ok(c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
            })
            .unwrap()
    }

    fn text(store: &Store, sql: &str) -> String {
        store
            .blocking(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    }

    fn has(
        problems: &[Problem],
        file: &str,
        location: Location,
        field: Option<&str>,
        reason: &str,
    ) -> bool {
        problems.iter().any(|p| {
            p.file == file
                && p.location == location
                && p.field.as_deref() == field
                && p.reason.contains(reason)
        })
    }

    const ALL: [(&str, &str); 6] = [
        // Given out of order on purpose: the import sorts by kind.
        ("stops.csv", STOPS),
        ("villages.csv", VILLAGES),
        ("destinations.csv", DESTINATIONS),
        ("shifts.csv", SHIFTS),
        ("vehicles.csv", VEHICLES),
        ("residents.csv", RESIDENTS),
    ];

    #[test]
    fn every_kind_imports() {
        let (_dir, store, region) = setup();
        let report = run(&store, &region, &ALL).unwrap();
        let created: Vec<(ImportKind, usize)> =
            report.kinds.iter().map(|(k, c)| (*k, c.created)).collect();
        assert_eq!(
            created,
            [
                (ImportKind::Villages, 2),
                (ImportKind::Stops, 2),
                (ImportKind::Destinations, 1),
                (ImportKind::Vehicles, 2),
                (ImportKind::Shifts, 2),
                (ImportKind::Residents, 1)
            ]
        );
        let dahlum = ImportKind::Villages
            .id_for(&region, &["Dahlum"])
            .to_string();
        assert_eq!(
            text(&store, "SELECT village_id FROM stops WHERE name = 'Kirche'"),
            dahlum
        );
        assert_eq!(count(&store, "stops WHERE step_free = 0"), 1);
        let hours: Vec<serde_json::Value> =
            serde_json::from_str(&text(&store, "SELECT opening_hours FROM destinations")).unwrap();
        assert_eq!(hours.len(), 8);
        // 07:00 in Berlin in March is 06:00 UTC; the RFC 3339 form is taken as given.
        assert_eq!(
            text(
                &store,
                "SELECT starts_at FROM shifts WHERE driver_name = 'Jens Möller'"
            ),
            "2030-03-04T06:00:00Z"
        );
        assert_eq!(
            count(&store, "shifts WHERE starts_at = '2030-03-04T07:00:00Z'"),
            1
        );
        assert_eq!(
            text(&store, "SELECT consent_at FROM residents"),
            "2025-01-15T09:00:00Z"
        );
        assert_eq!(count(&store, "audit_log WHERE action = 'import'"), 6);
        assert!(
            report
                .to_string()
                .contains("villages: 2 created, 0 unchanged")
        );
    }

    #[test]
    fn importing_again_changes_nothing() {
        let (_dir, store, region) = setup();
        run(&store, &region, &ALL).unwrap();
        let tables = [
            "villages",
            "stops",
            "destinations",
            "vehicles",
            "shifts",
            "residents",
            "change_log",
        ];
        let before: Vec<i64> = tables.iter().map(|t| count(&store, t)).collect();
        let again = run(&store, &region, &ALL).unwrap();
        assert_eq!(again.created(), 0);
        assert_eq!(again.unchanged(), 10);
        let after: Vec<i64> = tables.iter().map(|t| count(&store, t)).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn one_bad_row_imports_nothing_and_every_problem_is_reported() {
        let (_dir, store, region) = setup();
        let villages = "name,municipality,lat,lon
Dahlum,Dahlum,52.1333,10.85
Denkte,Denkte,152.15,10.6083
Hedeper,Hedeper,52.0667,zehn
,Roklum,52.06,10.74
Roklum,Roklum,52.0666,10.7409
";
        let destinations = "name,category,street,postcode,city,lat,lon
Apotheke am Markt,pharmacy,Markt 1,3817,Schöppenstedt,52.14,10.77
Tierarzt,veterinary,Markt 2,38170,Schöppenstedt,52.14,10.77
";
        let found = problems(run(
            &store,
            &region,
            &[
                ("villages.csv", villages),
                ("destinations.csv", destinations),
            ],
        ));
        assert!(
            has(
                &found,
                "villages.csv",
                Location::Line(3),
                Some("lat"),
                "latitude must lie between"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "villages.csv",
                Location::Line(4),
                Some("lon"),
                "'zehn' is not a number"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "villages.csv",
                Location::Line(5),
                Some("name"),
                "must not be empty"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "destinations.csv",
                Location::Line(2),
                Some("postcode"),
                "five digits"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "destinations.csv",
                Location::Line(3),
                Some("category"),
                "not one of the region's"
            ),
            "{found:?}"
        );
        assert_eq!(found.len(), 5, "{found:?}");
        assert_eq!(count(&store, "villages"), 0);
        assert_eq!(count(&store, "destinations"), 0);
        assert_eq!(count(&store, "audit_log WHERE actor = 'cli:import'"), 0);
        let message = ImportError::Rejected(found).to_string();
        assert!(
            message.contains("villages.csv:3: lat: latitude"),
            "{message}"
        );
    }

    #[test]
    fn references_must_name_a_village_of_the_region() {
        let (_dir, store, region) = setup();
        let villages = "name,lat,lon\nDahlum,52.1333,10.85\nDenkte,95,10.6\n";
        let stops = "village,name,lat,lon\nAtlantis,Hafen,52.1,10.8\nDenkte,Kirche,52.15,10.61\nDahlum,Kirche,52.13,10.85\n";
        let found = problems(run(
            &store,
            &region,
            &[("villages.csv", villages), ("stops.csv", stops)],
        ));
        assert!(
            has(
                &found,
                "stops.csv",
                Location::Line(2),
                Some("village"),
                "no village 'Atlantis'"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "stops.csv",
                Location::Line(3),
                Some("village"),
                "its own row has problems (villages.csv:3)"
            ),
            "{found:?}"
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(count(&store, "stops"), 0);
    }

    #[test]
    fn references_may_give_ids_and_point_into_earlier_imports() {
        let (_dir, store, region) = setup();
        run(&store, &region, &[("villages.csv", VILLAGES)]).unwrap();
        let dahlum = ImportKind::Villages.id_for(&region, &["Dahlum"]);
        let stops = format!(
            "village,name,lat,lon\n{dahlum},Kirche,52.135,10.851\nSchöppenstedt,Markt,52.143,10.775\n"
        );
        let report = run(&store, &region, &[("stops.csv", &stops)]).unwrap();
        assert_eq!(report.created(), 2);
        // The stop's id does not depend on how its village was named.
        let by_name = run(&store, &region, &[("stops.csv", STOPS)]);
        let problems = problems(by_name);
        assert!(
            has(
                &problems,
                "stops.csv",
                Location::Line(2),
                None,
                "imported before with other values"
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn duplicates_and_records_made_by_hand_are_refused() {
        let (_dir, store, region) = setup();
        let by_hand = crate::domain::Village {
            region_id: region.clone(),
            name: "Dahlum".into(),
            municipality: "Dahlum".into(),
            lat: 52.13,
            lon: 10.85,
            streets: Vec::new(),
            imbus_every_weeks: None,
            imbus_visit_minutes: 90,
            imbus_stop_id: None,
        };
        store
            .blocking(|c| create(c, &Who::cli("test"), None, &by_hand))
            .unwrap();
        let villages =
            "name,lat,lon\nDahlum,52.1333,10.85\nRoklum,52.06,10.74\nRoklum,52.07,10.74\n";
        let found = problems(run(&store, &region, &[("villages.csv", villages)]));
        assert!(
            has(
                &found,
                "villages.csv",
                Location::Line(2),
                None,
                "exists already"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "villages.csv",
                Location::Line(4),
                None,
                "the same name as villages.csv:3"
            ),
            "{found:?}"
        );
        assert_eq!(count(&store, "villages"), 1);
    }

    #[test]
    fn headers_name_missing_and_unknown_columns() {
        let (_dir, store, region) = setup();
        let villages = "name,lat,lng,Lat\nDahlum,52.1,10.8,52.1\n";
        let found = problems(run(
            &store,
            &region,
            &[("villages.csv", villages), ("stops.csv", STOPS)],
        ));
        assert!(
            has(
                &found,
                "villages.csv",
                Location::Line(1),
                Some("lng"),
                "unknown column; the columns are name, lat, lon"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "villages.csv",
                Location::Line(1),
                Some("lat"),
                "appears twice"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "villages.csv",
                Location::Line(1),
                Some("lon"),
                "missing column"
            ),
            "{found:?}"
        );
        // A broken file stops the import before the others make noise about its absence.
        assert_eq!(found.len(), 3, "{found:?}");
        let empty = problems(run(&store, &region, &[("villages.csv", "")]));
        assert!(empty[0].reason.contains("the file is empty"));
    }

    #[test]
    fn a_local_time_skipped_by_daylight_saving_is_refused() {
        let (_dir, store, region) = setup();
        let shifts = "vehicle,starts_at,ends_at
Bürgerbus 1,2027-03-28 02:30,2027-03-28 09:00
Bürgerbus 1,2027-03-29 7:00,2027-03-29 09:00
Bürgerbus 1,2027-03-30 07:00,2027-03-30 06:00
";
        let found = problems(run(
            &store,
            &region,
            &[("vehicles.csv", VEHICLES), ("shifts.csv", shifts)],
        ));
        assert!(
            has(
                &found,
                "shifts.csv",
                Location::Line(2),
                Some("starts_at"),
                "does not exist in Europe/Berlin"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "shifts.csv",
                Location::Line(3),
                Some("starts_at"),
                "neither a local time"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "shifts.csv",
                Location::Line(4),
                Some("ends_at"),
                "must be after the start"
            ),
            "{found:?}"
        );
        assert_eq!(count(&store, "vehicles"), 0);
    }

    #[test]
    fn opening_hour_mistakes_name_the_column() {
        let (_dir, store, region) = setup();
        let destinations = "name,category,street,postcode,city,lat,lon,opening_hours
Apotheke am Markt,pharmacy,Markt 1,38170,Schöppenstedt,52.14,10.77,Mo-Fr 8-12
Apotheke am Bahnhof,pharmacy,Bahnhofstraße 1,38170,Schöppenstedt,52.14,10.77,Mo-Fr 08:00-18:00; Sa
";
        let found = problems(run(&store, &region, &[("destinations.csv", destinations)]));
        assert!(
            has(
                &found,
                "destinations.csv",
                Location::Line(2),
                Some("opening_hours"),
                "'8-12' is not a time range"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "destinations.csv",
                Location::Line(3),
                Some("opening_hours"),
                "Sa without opening times"
            ),
            "{found:?}"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_and_oversized_files_are_refused() {
        let (_dir, store, region) = setup();
        let mut latin1 = b"name,lat,lon\nDahlum,52.1,10.8\nSch".to_vec();
        latin1.push(0xf6); // 'ö' in Latin-1
        latin1.extend_from_slice(b"ppenstedt,52.1,10.7\n");
        let mut source = Source::from_text("villages.csv", "").unwrap();
        source.bytes = latin1;
        let found = problems(import_sources(
            &store,
            &region,
            &[source],
            &Who::cli("import"),
        ));
        assert!(
            has(&found, "villages.csv", Location::Line(3), None, "not UTF-8"),
            "{found:?}"
        );

        let mut big = Source::from_text("villages.csv", "name,lat,lon\n").unwrap();
        big.bytes.resize(MAX_FILE_BYTES + 1, b'\n');
        let found = problems(import_sources(&store, &region, &[big], &Who::cli("import")));
        assert!(
            has(
                &found,
                "villages.csv",
                Location::File,
                None,
                "larger than 10 MB"
            ),
            "{found:?}"
        );

        let mut many = String::from("name,lat,lon\n");
        for i in 0..=MAX_ROWS {
            many.push_str(&format!("V{i},52.1,10.8\n"));
        }
        let found = problems(run(&store, &region, &[("villages.csv", &many)]));
        assert!(
            has(
                &found,
                "villages.csv",
                Location::File,
                None,
                "more than 100000 rows"
            ),
            "{found:?}"
        );
        assert_eq!(count(&store, "villages"), 0);
    }

    #[test]
    fn files_on_disk_are_read_with_their_kind_from_the_name() {
        let (dir, store, region) = setup();
        let villages = dir.path().join("elm-asse_villages.csv");
        std::fs::write(&villages, VILLAGES).unwrap();
        let big = dir.path().join("stops.csv");
        std::fs::write(&big, vec![b'#'; MAX_FILE_BYTES + 100]).unwrap();
        assert_eq!(
            Source::read(&big, None).unwrap().bytes.len(),
            MAX_FILE_BYTES + 1
        );
        let report = import_files(
            &store,
            &region,
            std::slice::from_ref(&villages),
            &Who::cli("import"),
        )
        .unwrap();
        assert_eq!(report.created(), 2);
        let unnamed = dir.path().join("data.csv");
        std::fs::write(&unnamed, VILLAGES).unwrap();
        assert!(matches!(
            import_files(
                &store,
                &region,
                std::slice::from_ref(&unnamed),
                &Who::cli("import")
            ),
            Err(ImportError::UnknownKind(_))
        ));
        assert_eq!(
            Source::read(&unnamed, Some(ImportKind::Villages))
                .unwrap()
                .kind,
            ImportKind::Villages
        );
        assert!(matches!(
            import_files(
                &store,
                &region,
                &[dir.path().join("nowhere_stops.csv")],
                &Who::cli("import")
            ),
            Err(ImportError::Read { .. })
        ));
        assert!(matches!(
            run(&store, "no-such-region", &[("villages.csv", VILLAGES)]),
            Err(ImportError::UnknownRegion(_))
        ));
        assert_eq!("shifts".parse::<ImportKind>(), Ok(ImportKind::Shifts));
        assert!("busse".parse::<ImportKind>().is_err());
    }

    const CAREGIVERS: &str = "name,phone,email,village
Jonas Köhler,0171 2345678,,Dahlum
Petra Sommer,,petra@example.org,
";
    const LINKS: &str = "caregiver,resident,consent_at,consent_how
Jonas Köhler,Erika Mustermann,2025-02-01 09:30,telefonisch
Petra Sommer,Erika Mustermann,2025-02-02T10:00:00Z,
";

    #[test]
    fn caregivers_and_their_links_import_with_consent() {
        let (_dir, store, region) = setup();
        let files = [
            ("caregiver_links.csv", LINKS),
            ("caregivers.csv", CAREGIVERS),
            ("residents.csv", RESIDENTS),
            ("villages.csv", VILLAGES),
        ];
        let report = run(&store, &region, &files).unwrap();
        assert_eq!(report.kinds[&ImportKind::Caregivers].created, 2);
        assert_eq!(report.kinds[&ImportKind::CaregiverLinks].created, 2);
        assert_eq!(
            text(
                &store,
                "SELECT v.name FROM caregivers c JOIN villages v ON v.id = c.village_id"
            ),
            "Dahlum"
        );
        assert_eq!(
            text(
                &store,
                "SELECT consent_how || ' ' || consent_at || ' ' || consent_recorded_by
                 FROM caregiver_links l JOIN caregivers c ON c.id = l.caregiver_id
                 WHERE c.name = 'Jonas Köhler'"
            ),
            "phone 2025-02-01T08:30:00Z cli:import"
        );
        assert_eq!(
            count(&store, "caregiver_links WHERE consent_how = 'paper'"),
            1
        );
        assert_eq!(
            count(
                &store,
                "audit_log WHERE action = 'import' AND kind = 'caregiver_links'"
            ),
            1
        );
        let again = run(&store, &region, &files).unwrap();
        assert_eq!(again.created(), 0);
        assert_eq!(count(&store, "caregiver_links"), 2);
    }

    #[test]
    fn bad_caregivers_and_links_import_nothing() {
        let (_dir, store, region) = setup();
        run(
            &store,
            &region,
            &[("villages.csv", VILLAGES), ("residents.csv", RESIDENTS)],
        )
        .unwrap();
        let caregivers = "name,phone,email,village
Ohne Kontakt,,,
Jonas Köhler,0171 2345678,,Atlantis
Petra Sommer,,petra@example.org,
";
        let links = "caregiver,resident,consent_at,consent_how,id
Ohne Kontakt,Erika Mustermann,2025-02-01 09:30,,
Petra Sommer,Niemand,2025-02-01 09:30,,
Petra Sommer,Erika Mustermann,gestern,per Brieftaube,
Petra Sommer,Erika Mustermann,2099-01-01 10:00,,kein-uuid
";
        let found = problems(run(
            &store,
            &region,
            &[
                ("caregivers.csv", caregivers),
                ("caregiver_links.csv", links),
            ],
        ));
        let expect = [
            (
                "caregivers.csv",
                2,
                Some("phone"),
                "needs a phone number or an e-mail",
            ),
            (
                "caregivers.csv",
                3,
                Some("village"),
                "no village 'Atlantis'",
            ),
            (
                "caregiver_links.csv",
                2,
                Some("caregiver"),
                "its own row has problems (caregivers.csv:2)",
            ),
            (
                "caregiver_links.csv",
                3,
                Some("resident"),
                "no resident 'Niemand'",
            ),
            (
                "caregiver_links.csv",
                4,
                Some("consent_at"),
                "'gestern' is neither a local time",
            ),
            (
                "caregiver_links.csv",
                4,
                Some("consent_how"),
                "'per Brieftaube' is not one of",
            ),
            (
                "caregiver_links.csv",
                5,
                Some("id"),
                "'kein-uuid' is not a UUID",
            ),
        ];
        for (file, line, field, reason) in expect {
            assert!(
                has(&found, file, Location::Line(line), field, reason),
                "{file}:{line} {reason}: {found:?}"
            );
        }
        assert_eq!(found.len(), expect.len(), "{found:?}");
        assert_eq!(count(&store, "caregivers"), 0);
        assert_eq!(count(&store, "caregiver_links"), 0);
        // A link whose consent lies ahead is the domain's refusal, by column.
        let caregivers = "name,email\nPetra Sommer,petra@example.org\n";
        let links =
            "caregiver,resident,consent_at\nPetra Sommer,Erika Mustermann,2099-01-01 10:00\n";
        let found = problems(run(
            &store,
            &region,
            &[
                ("caregivers.csv", caregivers),
                ("caregiver_links.csv", links),
            ],
        ));
        assert!(
            has(
                &found,
                "caregiver_links.csv",
                Location::Line(2),
                Some("consent_at"),
                "lies in the future"
            ),
            "{found:?}"
        );
        assert_eq!(count(&store, "caregivers"), 0);
        // GeoJSON has no place for people.
        let found = problems(run(&store, &region, &[("caregivers.geojson", "{}")]));
        assert!(found[0].reason.contains("no place on a map"), "{found:?}");
    }

    #[test]
    fn kinds_are_read_from_the_end_of_a_file_name() {
        let kind = |name: &str| ImportKind::from_file_name(Path::new(name)).map(|(k, _)| k);
        assert_eq!(
            kind("caregiver_links.csv"),
            Some(ImportKind::CaregiverLinks)
        );
        assert_eq!(
            kind("elm-asse caregiver-links.csv"),
            Some(ImportKind::CaregiverLinks)
        );
        assert_eq!(
            kind("Elm-Asse_Caregivers.CSV"),
            Some(ImportKind::Caregivers)
        );
        assert_eq!(kind("elm-asse_stops.geojson"), Some(ImportKind::Stops));
        assert_eq!(kind("busstops.csv"), None);
        assert_eq!(kind("links.csv"), None);
    }

    #[test]
    fn geojson_points_import() {
        let (_dir, store, region) = setup();
        let stops = r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.851, 52.135]},
             "properties": {"village": "Dahlum", "name": "Kirche", "step_free": false}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.775, 52.143, 90.5]},
             "properties": {"village": "Schöppenstedt", "name": "Markt"}}
        ]}"#;
        let vehicles = r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.776, 52.144]},
             "properties": {"name": "Bürgerbus 1", "seats": 8, "depot_name": "DRK Schöppenstedt"}}
        ]}"#;
        let report = run(
            &store,
            &region,
            &[
                ("villages.csv", VILLAGES),
                ("stops.geojson", stops),
                ("vehicles.json", vehicles),
            ],
        )
        .unwrap();
        assert_eq!(report.kinds[&ImportKind::Stops].created, 2);
        assert_eq!(
            text(
                &store,
                "SELECT CAST(lat AS TEXT) || ',' || CAST(lon AS TEXT) FROM stops WHERE name = 'Kirche'"
            ),
            "52.135,10.851"
        );
        assert_eq!(count(&store, "stops WHERE step_free = 0"), 1);
        assert_eq!(
            text(&store, "SELECT CAST(depot_lon AS TEXT) FROM vehicles"),
            "10.776"
        );
    }

    #[test]
    fn bad_geometry_is_reported_by_feature() {
        let (_dir, store, region) = setup();
        let stops = r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.851, 52.135]},
             "properties": {"village": "Dahlum", "name": "Kirche"}},
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[10.8, 52.1], [10.9, 52.2]]},
             "properties": {"village": "Dahlum", "name": "Straße"}},
            {"type": "Feature", "geometry": null, "properties": {"village": "Dahlum", "name": "Nirgends"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["10.8", 52.1]},
             "properties": {"village": "Dahlum", "name": "Text"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [200, 52.1]},
             "properties": {"village": "Dahlum", "name": "Weit", "lat": 52.1}}
        ]}"#;
        let found = problems(run(
            &store,
            &region,
            &[("villages.csv", VILLAGES), ("stops.geojson", stops)],
        ));
        assert!(
            has(
                &found,
                "stops.geojson",
                Location::Feature(1),
                Some("geometry"),
                "must be a Point, not a LineString"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "stops.geojson",
                Location::Feature(2),
                Some("geometry"),
                "a Point geometry is required"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "stops.geojson",
                Location::Feature(3),
                Some("geometry"),
                "as numbers"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "stops.geojson",
                Location::Feature(4),
                Some("geometry"),
                "longitude first"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "stops.geojson",
                Location::Feature(4),
                Some("lat"),
                "comes from the geometry"
            ),
            "{found:?}"
        );
        assert_eq!(found.len(), 5, "{found:?}");
        assert_eq!(count(&store, "villages"), 0);
        let not_collection = problems(run(
            &store,
            &region,
            &[("stops.geojson", r#"{"type": "Feature"}"#)],
        ));
        assert!(not_collection[0].reason.contains("FeatureCollection"));
    }
}
