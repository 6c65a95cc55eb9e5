//! The demo region Elm-Asse that ships with the project: its static places from `hub/demo/`
//! run through the importer, a week of people, shifts and rides made in code, and the IMBUS:
//! tour settings, a bus and counsellors, and a 4-week cycle planned and published by `tours`.
//!
//! Everything is deterministic for a given `today`: ids are UUID v5 from the region and a natural
//! key, and the week's choices come from fixed tables and arithmetic on indices, never from a
//! random generator. The demo week is the seven days after `today`, so nothing lies in the past
//! (the domain refuses bookings in the past); its working days Monday to Friday get shifts,
//! rides and visits.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Timelike};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::domain::common::{Instant, LocalTime, OpeningInterval, Weekday, local_to_instant};
use crate::domain::counselling::{AppointmentChannel, Topic};
use crate::domain::rides::Channel;
use crate::domain::{
    Appointment, Caregiver, CaregiverLink, ConsentHow, Device, ImbusBus, ImbusCounsellor, Region,
    Resident, RideRequest, Shift, Village,
};
use crate::import::{self, ImportError, ImportKind, Source};
use crate::store::logs::Who;
use crate::store::records::{Resource, create_in, update_in};
use crate::store::{Store, StoreError};

/// The name of the demo region.
pub const DEMO_REGION_NAME: &str = "Elm-Asse (Demo)";
const TIME_ZONE: &str = "Europe/Berlin";

/// The static files of the demo, in the import format.
const FILES: [(&str, &str); 4] = [
    ("villages.csv", include_str!("../demo/villages.csv")),
    ("stops.geojson", include_str!("../demo/stops.geojson")),
    ("destinations.csv", include_str!("../demo/destinations.csv")),
    ("vehicles.csv", include_str!("../demo/vehicles.csv")),
];

/// The fixed id of the demo region, the same in every database.
pub fn demo_region_id() -> String {
    Uuid::new_v5(&import::IMPORT_NAMESPACE, b"dorfpunkt demo region Elm-Asse").to_string()
}

/// What `create_demo` found or made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    pub region_id: String,
    /// False when the database already held the demo region; then nothing was changed.
    pub created: bool,
    /// Records of the demo region per table.
    pub counts: BTreeMap<&'static str, usize>,
}

/// Why the demo could not be created. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the demo files do not import: {0}")]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the demo week after {today} cannot be laid out: {reason}")]
    Week { today: NaiveDate, reason: String },
}

/// The tables counted in a [`DemoSummary`].
const COUNTED: [&str; 14] = [
    "villages",
    "stops",
    "destinations",
    "vehicles",
    "shifts",
    "residents",
    "caregivers",
    "caregiver_links",
    "ride_requests",
    "imbus_visits",
    "slots",
    "appointments",
    "devices",
    "regions",
];

/// Creates the demo region for the week after `today`, in one transaction. On a database that
/// already holds the demo region it changes nothing and answers `created: false`.
pub fn create_demo(store: &Store, today: NaiveDate) -> Result<DemoSummary, DemoError> {
    let region_id = demo_region_id();
    store.blocking(|conn| {
        let tx = conn.transaction()?;
        let exists: Option<i64> = tx
            .query_row("SELECT 1 FROM regions WHERE id = ?1", [&region_id], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_some() {
            return Ok(Ok(summary(&tx, &region_id, false)?));
        }
        let result = Demo::new(&tx, &region_id, today).and_then(|demo| demo.build());
        match result {
            Ok(()) => {
                let summary = summary(&tx, &region_id, true)?;
                tx.commit()?;
                Ok(Ok(summary))
            }
            // Dropping the transaction rolls back whatever the demo wrote before the failure.
            Err(DemoError::Store(e @ (StoreError::Db(_) | StoreError::Internal(_)))) => Err(e),
            Err(e) => Ok(Err(e)),
        }
    })?
}

fn summary(tx: &Connection, region_id: &str, created: bool) -> Result<DemoSummary, StoreError> {
    let mut counts = BTreeMap::new();
    for table in COUNTED {
        let column = if table == "regions" {
            "id"
        } else {
            "region_id"
        };
        let n: i64 = tx.query_row(
            &format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?1"),
            [region_id],
            |r| r.get(0),
        )?;
        counts.insert(table, usize::try_from(n).unwrap_or(0));
    }
    Ok(DemoSummary {
        region_id: region_id.to_string(),
        created,
        counts,
    })
}

/// A resident of the demo: name, village, street, phone, walker, wheelchair, companion, language.
type Person = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    bool,
    bool,
    bool,
    &'static str,
);

#[rustfmt::skip]
const RESIDENTS: [Person; 30] = [
    ("Erika Lüders", "Dahlum", "Kirchstraße 4", None, true, false, false, "de"),
    ("Heinrich Bode", "Dahlum", "Hauptstraße 17", Some("05332 71204"), false, false, false, "de"),
    ("Gisela Wehmeyer", "Denkte", "Am Anger 2", Some("05331 66781"), false, true, false, "de"),
    ("Olena Kovalenko", "Denkte", "Schulstraße 9", Some("0157 30218876"), false, false, false, "uk"),
    ("Karl-Heinz Rautmann", "Hedeper", "Lindenstraße 11", Some("05339 1342"), false, false, true, "de"),
    ("Ursula Kaune", "Hedeper", "Hauptstraße 3", None, true, false, false, "de"),
    ("Mykola Shevchenko", "Kissenbrück", "Gartenstraße 6", Some("0152 44109238"), false, false, false, "uk"),
    ("Renate Oppermann", "Kissenbrück", "Mühlenweg 12", Some("05337 8812"), false, false, false, "de"),
    ("Ahmad Al-Hassan", "Kneitlingen", "Eulenspiegelstraße 5", Some("0176 55120934"), false, false, false, "ar"),
    ("Hildegard Bosse", "Kneitlingen", "Kirchweg 1", None, true, false, true, "de"),
    ("Friedrich Warnecke", "Remlingen-Semmenstedt", "Bergstraße 8", Some("05336 2291"), false, true, false, "de"),
    ("Elfriede Mahnkopf", "Remlingen-Semmenstedt", "Asseblick 14", Some("05336 1187"), false, false, false, "de"),
    ("Ayşe Yılmaz", "Remlingen-Semmenstedt", "Dorfstraße 21", None, false, false, false, "tr"),
    ("Werner Heuer", "Roklum", "Hauptstraße 25", Some("05336 9920"), true, false, false, "de"),
    ("Margarete Sievers", "Roklum", "Am Teich 3", Some("05336 9841"), false, false, false, "de"),
    ("Dieter Kusche", "Schöppenstedt", "Stobenstraße 19", Some("05332 3317"), false, false, false, "de"),
    ("Inge Brandes", "Schöppenstedt", "Neue Straße 31", Some("05332 2756"), true, false, false, "de"),
    ("Fatima Haddad", "Schöppenstedt", "Bahnhofstraße 22", Some("0160 91827364"), false, false, false, "ar"),
    ("Mehmet Öztürk", "Schöppenstedt", "Burgstraße 10", Some("0171 2839475"), false, false, false, "tr"),
    ("Lieselotte Grote", "Uehrde", "Hauptstraße 6", Some("05332 4409"), false, false, true, "de"),
    ("Hans-Jürgen Tappe", "Uehrde", "Am Kamp 4", Some("05332 4471"), false, false, false, "de"),
    ("Irmgard Fricke", "Vahlberg", "Lindenweg 7", None, false, true, false, "de"),
    ("Günter Schrader", "Vahlberg", "Dorfstraße 15", Some("05332 5563"), false, false, false, "de"),
    ("Tetiana Bondarenko", "Winnigstedt", "Kirchstraße 2", Some("0159 06734512"), false, false, false, "uk"),
    ("Walter Lampe", "Winnigstedt", "Hauptstraße 40", Some("05336 3308"), true, false, false, "de"),
    ("Christa Wolters", "Wittmar", "Asseweg 9", Some("05337 7714"), false, false, false, "de"),
    ("Rudolf Bartels", "Wittmar", "Bergstraße 1", Some("05337 7790"), true, false, true, "de"),
    ("Brigitte Hennig", "Dahlum", "Schöppenstedter Straße 5", Some("05332 71388"), false, false, false, "de"),
    ("Samira Khalil", "Denkte", "Wolfenbütteler Straße 12", Some("0162 5523190"), false, false, false, "ar"),
    ("Horst Ebeling", "Kissenbrück", "Schulstraße 3", Some("05337 8065"), false, false, false, "de"),
];

/// Kümmerer:innen: name, village, phone, e-mail, and the residents (indices into [`RESIDENTS`])
/// they book for.
type Helper = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static [usize],
);

#[rustfmt::skip]
const CAREGIVERS: [Helper; 6] = [
    ("Petra Lüders", "Dahlum", Some("0151 22334455"), None, &[0, 1, 27]),
    ("Thomas Kaune", "Hedeper", None, Some("thomas.kaune@example.org"), &[4, 5]),
    ("Iryna Melnyk", "Kissenbrück", Some("0157 88990011"), Some("iryna.melnyk@example.org"), &[3, 6, 23]),
    ("Sandra Bosse", "Kneitlingen", Some("05332 6120"), None, &[9]),
    ("Kemal Yılmaz", "Remlingen-Semmenstedt", Some("0176 33445566"), None, &[10, 12]),
    ("Monika Schrader", "Vahlberg", Some("05332 5564"), Some("nachbarschaftshilfe.vahlberg@example.org"), &[21, 22]),
];

/// Shifts of a working day: vehicle, drivers (alternating by day), start, end, break start, break
/// minutes, and the weekdays the shift runs on.
type ShiftPlan = (
    &'static str,
    [&'static str; 2],
    &'static str,
    &'static str,
    &'static str,
    u32,
    &'static [Weekday],
);

const ALL_WEEK: &[Weekday] = &[
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

#[rustfmt::skip]
const SHIFTS: [ShiftPlan; 3] = [
    ("Bürgerbus Elm-Asse 1", ["Jens Möller", "Bernd Wagner"], "07:00", "14:30", "11:00", 30, ALL_WEEK),
    ("Rollstuhlbus Elm-Asse", ["Martina Kühn", "Uwe Reinecke"], "08:00", "16:30", "12:00", 30, ALL_WEEK),
    ("Bürgerbus Elm-Asse 2", ["Sven Gerecke", "Sven Gerecke"], "11:00", "17:30", "14:00", 20, &[Weekday::Tue, Weekday::Thu]),
];

/// The villages of the demo, all on the IMBUS tour.
const VILLAGE_NAMES: [&str; 12] = [
    "Dahlum",
    "Denkte",
    "Hedeper",
    "Kissenbrück",
    "Kneitlingen",
    "Remlingen-Semmenstedt",
    "Roklum",
    "Schöppenstedt",
    "Uehrde",
    "Vahlberg",
    "Winnigstedt",
    "Wittmar",
];

/// The four larger villages the IMBUS visits every week (for two hours); the others every
/// second week (for an hour and a half).
const WEEKLY: [&str; 4] = ["Schöppenstedt", "Remlingen-Semmenstedt", "Dahlum", "Denkte"];

/// The IMBUS stands at the DRK garage, like the ride service's buses (`vehicles.csv`).
const IMBUS_DEPOT: (f64, f64) = (52.14521, 10.77813);

/// The demo's tour cycle: four weeks, planned with this seed.
const IMBUS_WEEKS: u32 = 4;
const IMBUS_SEED: u64 = 1;

/// The counsellors and their working days; every weekday has one.
const COUNSELLORS: [(&str, &[Weekday]); 3] = [
    ("Sabine Krüger", &[Weekday::Mon, Weekday::Tue, Weekday::Wed]),
    ("Mehmet Demir", &[Weekday::Wed, Weekday::Thu, Weekday::Fri]),
    ("Anja Hoffmann", &[Weekday::Mon, Weekday::Thu, Weekday::Fri]),
];

/// Kiosks: village, stop, name.
const DEVICES: [(&str, &str, &str); 2] = [
    (
        "Schöppenstedt",
        "Supermarkt",
        "Dorfpunkt-Kiosk Schöppenstedt Supermarkt",
    ),
    (
        "Remlingen-Semmenstedt",
        "Dorfladen",
        "Dorfpunkt-Kiosk Remlingen Dorfladen",
    ),
];

/// The stop where the IMBUS stands and rides start in each village.
fn main_stop(village: &str) -> &'static str {
    if village == "Schöppenstedt" {
        "Markt"
    } else {
        "Dorfgemeinschaftshaus"
    }
}

fn ride_stop(village: &str) -> &'static str {
    if village == "Schöppenstedt" {
        "Busbahnhof"
    } else {
        "Bushaltestelle Ortsmitte"
    }
}

struct DestinationInfo {
    id: String,
    category: String,
    hours: Vec<OpeningInterval>,
}

struct Demo<'a> {
    tx: &'a Connection,
    region_id: &'a str,
    today: NaiveDate,
    tz: Tz,
    who: Who,
}

impl<'a> Demo<'a> {
    fn new(
        tx: &'a Connection,
        region_id: &'a str,
        today: NaiveDate,
    ) -> Result<Demo<'a>, DemoError> {
        let tz: Tz = TIME_ZONE.parse().map_err(|_| DemoError::Week {
            today,
            reason: "bad time zone".into(),
        })?;
        Ok(Demo {
            tx,
            region_id,
            today,
            tz,
            who: Who::cli("demo"),
        })
    }

    /// A deterministic id for a record the demo makes in code.
    fn id(&self, kind: &str, key: &str) -> Uuid {
        let name = format!("{}\u{1f}demo\u{1f}{kind}\u{1f}{key}", self.region_id);
        Uuid::new_v5(&import::IMPORT_NAMESPACE, name.as_bytes())
    }

    fn create<R: Resource>(&self, id: Uuid, record: &R) -> Result<String, DemoError> {
        create_in(self.tx, &self.who, Some(id), record)?;
        Ok(id.to_string())
    }

    fn at(&self, day: NaiveDate, time: NaiveTime) -> Result<Instant, DemoError> {
        local_to_instant(self.tz, day, time).map_err(|reason| DemoError::Week {
            today: self.today,
            reason,
        })
    }

    /// `day` at a wall-clock time `HH:MM` from the tables above.
    fn local(&self, day: NaiveDate, time: &str) -> Result<Instant, DemoError> {
        let time = NaiveTime::parse_from_str(time, "%H:%M").map_err(|_| DemoError::Week {
            today: self.today,
            reason: format!("'{time}' is not HH:MM"),
        })?;
        self.at(day, time)
    }

    fn village(&self, name: &str) -> String {
        ImportKind::Villages
            .id_for(self.region_id, &[name])
            .to_string()
    }

    fn stop(&self, village: &str, name: &str) -> String {
        ImportKind::Stops
            .id_for(self.region_id, &[&self.village(village), name])
            .to_string()
    }

    fn vehicle(&self, name: &str) -> String {
        ImportKind::Vehicles
            .id_for(self.region_id, &[name])
            .to_string()
    }

    fn build(&self) -> Result<(), DemoError> {
        let region = Region {
            name: DEMO_REGION_NAME.into(),
            time_zone: TIME_ZONE.into(),
            phone: Some("05332 940000".into()),
            settings: serde_json::Map::new(),
            target_groups: [
                "age_75_plus",
                "reduced_mobility",
                "wheelchair",
                "no_car",
                "low_income",
                "refugee",
                "care_need",
                "loneliness",
            ]
            .map(String::from)
            .to_vec(),
            destination_categories: [
                "general_practice",
                "specialist",
                "dentist",
                "pharmacy",
                "physiotherapy",
                "dialysis",
                "hospital",
                "social_counselling",
                "food_bank",
                "care_counselling",
                "debt_counselling",
            ]
            .map(String::from)
            .to_vec(),
        };
        let region_uuid =
            Uuid::parse_str(self.region_id).map_err(|e| StoreError::Internal(e.to_string()))?;
        create_in(self.tx, &self.who, Some(region_uuid), &region)?;

        let sources: Vec<Source> = FILES
            .iter()
            .map(|(name, text)| Source::from_text(name, text))
            .collect::<Result<_, _>>()?;
        import::import_in(self.tx, self.region_id, &sources, &Who::cli("import"))?;

        let residents = self.residents()?;
        self.caregivers(&residents)?;
        self.devices()?;
        let days = demo_week(self.today);
        self.shifts(&days)?;
        self.rides(&days, &residents)?;
        self.visits(&days, &residents)?;
        Ok(())
    }

    fn residents(&self) -> Result<Vec<String>, DemoError> {
        // Consent was given some weeks before the demo week, so it never lies in the future.
        let consent = self.local(self.today - Duration::days(42), "10:00")?;
        let mut ids = Vec::new();
        for (i, (name, village, street, phone, walker, wheelchair, companion, language)) in
            RESIDENTS.iter().enumerate()
        {
            let village_id = self.village(village);
            let (lat, lon) = self.village_point(&village_id)?;
            // Homes spread 100-500 m around the village centre, by a fixed pattern.
            let dlat = ((i * 37 % 11) as f64 - 5.0) * 0.0008;
            let dlon = ((i * 53 % 13) as f64 - 6.0) * 0.0011;
            let resident = Resident {
                region_id: self.region_id.into(),
                name: (*name).into(),
                phone: phone.map(String::from),
                street: (*street).into(),
                village_id: village_id.clone(),
                lat: round5(lat + dlat),
                lon: round5(lon + dlon),
                uses_walker: *walker,
                uses_wheelchair: *wheelchair,
                needs_companion: *companion,
                language: (*language).into(),
                consent_at: consent,
                consent_given_to: "DRK Kreisverband Wolfenbüttel, Sozio-Med-Mobil".into(),
                consent_purpose: "Fahrten und Beratung".into(),
                // Born 1931-1960 by a fixed pattern; everyone has no car of their own, some
                // also receive income support.
                birth_year: Some(1931 + (i as i32 * 7) % 30),
                target_groups: if i % 4 == 0 {
                    vec!["no_car".into(), "low_income".into()]
                } else {
                    vec!["no_car".into()]
                },
            };
            let id = ImportKind::Residents.id_for(self.region_id, &[name, street, &village_id]);
            ids.push(self.create(id, &resident)?);
        }
        Ok(ids)
    }

    fn village_point(&self, village_id: &str) -> Result<(f64, f64), StoreError> {
        Ok(self.tx.query_row(
            "SELECT lat, lon FROM villages WHERE id = ?1",
            [village_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    fn caregivers(&self, residents: &[String]) -> Result<(), DemoError> {
        let consent = self.local(self.today - Duration::days(40), "11:00")?;
        for (name, village, phone, email, cared_for) in CAREGIVERS {
            let caregiver = Caregiver {
                region_id: self.region_id.into(),
                name: name.into(),
                phone: phone.map(String::from),
                email: email.map(String::from),
                village_id: Some(self.village(village)),
            };
            let caregiver_id = self.create(self.id("caregivers", name), &caregiver)?;
            for &r in cared_for {
                let link = CaregiverLink {
                    region_id: self.region_id.into(),
                    caregiver_id: caregiver_id.clone(),
                    resident_id: residents[r].clone(),
                    consent_at: consent,
                    consent_how: ConsentHow::Paper,
                };
                self.create(
                    self.id("caregiver_links", &format!("{name}/{}", RESIDENTS[r].0)),
                    &link,
                )?;
            }
        }
        Ok(())
    }

    fn devices(&self) -> Result<BTreeMap<&'static str, String>, DemoError> {
        let mut ids = BTreeMap::new();
        for (village, stop, name) in DEVICES {
            let device = Device {
                region_id: self.region_id.into(),
                name: name.into(),
                stop_id: self.stop(village, stop),
                settings: serde_json::Map::new(),
            };
            ids.insert(village, self.create(self.id("devices", name), &device)?);
        }
        Ok(ids)
    }

    fn shifts(&self, days: &[NaiveDate]) -> Result<(), DemoError> {
        for (d, day) in days.iter().enumerate() {
            for (vehicle, drivers, start, end, break_at, break_minutes, weekdays) in SHIFTS {
                if !weekdays.contains(&Weekday::of(*day)) {
                    continue;
                }
                let shift = Shift {
                    region_id: self.region_id.into(),
                    vehicle_id: self.vehicle(vehicle),
                    driver_name: Some(drivers[d % 2].into()),
                    driver_account_id: None,
                    starts_at: self.local(*day, start)?,
                    ends_at: self.local(*day, end)?,
                    break_after: Some(self.local(*day, break_at)?),
                    break_minutes,
                };
                self.create(self.id("shifts", &format!("{vehicle}/{day}")), &shift)?;
            }
        }
        Ok(())
    }

    fn destinations(&self) -> Result<Vec<DestinationInfo>, DemoError> {
        let mut stmt = self
            .tx
            .prepare("SELECT id, category, opening_hours FROM destinations WHERE region_id = ?1 ORDER BY name")
            .map_err(StoreError::from)?;
        let rows = stmt
            .query_map([self.region_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(StoreError::from)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, category, hours) = row.map_err(StoreError::from)?;
            let hours =
                serde_json::from_str(&hours).map_err(|e| StoreError::Internal(e.to_string()))?;
            out.push(DestinationInfo {
                id,
                category,
                hours,
            });
        }
        Ok(out)
    }

    /// Eight rides a working day, each to an appointment inside the destination's opening
    /// hours; every second one with its return trip.
    fn rides(&self, days: &[NaiveDate], residents: &[String]) -> Result<(), DemoError> {
        let destinations = self.destinations()?;
        let channels = [Channel::Phone, Channel::Kiosk, Channel::Web];
        for (d, day) in days.iter().enumerate() {
            let weekday = Weekday::of(*day);
            for k in 0..8 {
                // 8 distinct residents a day, a different set each day.
                let r = (d * 7 + k * 4) % RESIDENTS.len();
                let (_, village, _, _, walker, wheelchair, companion, _) = RESIDENTS[r];
                // The first destination, from a per-ride starting point, open long enough that day.
                let Some((dest, appointment)) = (0..destinations.len()).find_map(|step| {
                    let dest = &destinations[(r + d * 3 + k + step) % destinations.len()];
                    appointment_time(&dest.hours, weekday, k).map(|t| (dest, t))
                }) else {
                    continue;
                };
                let appointment_at = self.at(*day, appointment)?;
                let from_stop = (k % 3 == 1).then(|| self.stop(village, ride_stop(village)));
                let outbound = RideRequest {
                    region_id: self.region_id.into(),
                    resident_id: residents[r].clone(),
                    from_home: from_stop.is_none(),
                    from_stop_id: from_stop,
                    from_destination_id: None,
                    to_stop_id: None,
                    to_destination_id: Some(dest.id.clone()),
                    to_home: false,
                    appointment_at: Some(appointment_at),
                    pickup_at: None,
                    return_of: None,
                    passengers: if companion { 2 } else { 1 },
                    wheelchair,
                    walker,
                    status: crate::domain::rides::RideStatus::Requested,
                    channel: channels[k % 3],
                    caregiver_id: None,
                };
                let outbound_id = self.create(
                    self.id("ride_requests", &format!("{day}/{k}/out")),
                    &outbound,
                )?;
                if k % 2 == 0 {
                    // Dialysis takes hours; other appointments about one.
                    let stay = if dest.category == "dialysis" { 270 } else { 75 };
                    let back = RideRequest {
                        from_home: false,
                        from_stop_id: None,
                        from_destination_id: Some(dest.id.clone()),
                        to_destination_id: None,
                        to_home: true,
                        appointment_at: None,
                        pickup_at: Some(Instant(appointment_at.0 + Duration::minutes(stay))),
                        return_of: Some(outbound_id),
                        ..outbound
                    };
                    self.create(self.id("ride_requests", &format!("{day}/{k}/back")), &back)?;
                }
            }
        }
        Ok(())
    }

    /// The IMBUS: tour settings of the villages, the bus and the counsellors, then a 4-week
    /// cycle from the first Monday of the demo week, planned and published like an admin does
    /// (visits, slots, the kiosks' share), and appointments on the first week's visits.
    fn visits(&self, days: &[NaiveDate], residents: &[String]) -> Result<(), DemoError> {
        for village in VILLAGE_NAMES {
            let weekly = WEEKLY.contains(&village);
            let mut patch = serde_json::Map::new();
            patch.insert(
                "imbus_every_weeks".into(),
                json!(if weekly { 1 } else { 2 }),
            );
            patch.insert(
                "imbus_visit_minutes".into(),
                json!(if weekly { 120 } else { 90 }),
            );
            patch.insert(
                "imbus_stop_id".into(),
                json!(self.stop(village, main_stop(village))),
            );
            update_in::<Village>(self.tx, &self.who, &self.village(village), patch)?;
        }
        let (depot_lat, depot_lon) = IMBUS_DEPOT;
        let bus = ImbusBus {
            region_id: self.region_id.into(),
            name: "IMBUS Elm-Asse".into(),
            depot_name: "DRK-Garage Schöppenstedt".into(),
            depot_lat,
            depot_lon,
            weekdays: ALL_WEEK.to_vec(),
            day_start: self.time("08:30")?,
            day_end: self.time("16:30")?,
            break_minutes: 30,
            break_from: self.time("12:00")?,
            break_until: self.time("13:30")?,
        };
        self.create(self.id("imbus_buses", "IMBUS Elm-Asse"), &bus)?;
        for (name, weekdays) in COUNSELLORS {
            let counsellor = ImbusCounsellor {
                region_id: self.region_id.into(),
                name: name.into(),
                account_id: None,
                weekdays: weekdays.to_vec(),
            };
            self.create(self.id("imbus_counsellors", name), &counsellor)?;
        }

        let first_monday = days
            .iter()
            .copied()
            .find(|d| d.weekday() == chrono::Weekday::Mon)
            .ok_or_else(|| DemoError::Week {
                today: self.today,
                reason: "no Monday in the demo week".into(),
            })?;
        let plan_id = self.id("tour_plans", &first_monday.to_string());
        crate::tours::plan_cycle_in(
            self.tx,
            &self.who,
            self.region_id,
            first_monday,
            IMBUS_WEEKS,
            IMBUS_SEED,
            plan_id,
        )?;
        crate::tours::publish_in(self.tx, &self.who, &plan_id.to_string(), chrono::Utc::now())?;
        self.appointments(first_monday, residents)
    }

    /// Appointments on the first week's visits: the first free slot of every visit, the second
    /// of every third (never a slot set aside for a kiosk).
    fn appointments(&self, first_monday: NaiveDate, residents: &[String]) -> Result<(), DemoError> {
        let topics = [
            Topic::Health,
            Topic::Care,
            Topic::Money,
            Topic::Loneliness,
            Topic::Housing,
            Topic::Family,
        ];
        let channels = [
            AppointmentChannel::Phone,
            AppointmentChannel::Kiosk,
            AppointmentChannel::Counsellor,
        ];
        let week_end = self.local(first_monday + Duration::days(7), "00:00")?;
        let visits: Vec<(String, String)> = self
            .tx
            .prepare(
                "SELECT i.id, v.name FROM imbus_visits i JOIN villages v ON v.id = i.village_id
                 WHERE i.region_id = ?1 AND i.status = 'published' AND i.starts_at < ?2
                 ORDER BY i.starts_at, i.id",
            )
            .and_then(|mut stmt| {
                stmt.query_map(rusqlite::params![self.region_id, week_end.text()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect()
            })
            .map_err(StoreError::from)?;
        for (v, (visit_id, village)) in visits.iter().enumerate() {
            let slots: Vec<String> = self
                .tx
                .prepare(
                    "SELECT id FROM slots WHERE visit_id = ?1 AND reserved_for_device_id IS NULL
                     ORDER BY starts_at, id",
                )
                .and_then(|mut stmt| stmt.query_map([visit_id], |r| r.get(0))?.collect())
                .map_err(StoreError::from)?;
            let wanted = if v.is_multiple_of(3) { 2 } else { 1 };
            for (s, slot_id) in slots.into_iter().take(wanted).enumerate() {
                let resident = RESIDENTS
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.1 == village)
                    .nth((v + s) % 2)
                    .map(|(i, _)| residents[i].clone());
                let appointment = Appointment {
                    region_id: self.region_id.into(),
                    slot_id,
                    resident_id: resident,
                    topic: topics[(v + s) % topics.len()],
                    channel: channels[v % channels.len()],
                    status: crate::domain::counselling::AppointmentStatus::Booked,
                    referral: None,
                };
                self.create(
                    self.id("appointments", &format!("{visit_id}/{s}")),
                    &appointment,
                )?;
            }
        }
        Ok(())
    }

    /// A wall-clock time `HH:MM` from the tables above.
    fn time(&self, text: &str) -> Result<LocalTime, DemoError> {
        text.parse().map_err(|reason| DemoError::Week {
            today: self.today,
            reason,
        })
    }
}

/// The working days (Monday to Friday) among the seven days after `today`: always five.
pub fn demo_week(today: NaiveDate) -> Vec<NaiveDate> {
    (1..=7)
        .map(|d| today + Duration::days(d))
        .filter(|d| d.weekday().number_from_monday() <= 5)
        .collect()
}

/// An appointment time inside the day's opening hours, between 08:00 and 16:30 and at least 15
/// minutes from opening and closing, varied by `k`; none if the destination is closed that day.
fn appointment_time(hours: &[OpeningInterval], weekday: Weekday, k: usize) -> Option<NaiveTime> {
    let open: Vec<&OpeningInterval> = hours.iter().filter(|h| h.weekday == weekday).collect();
    if open.is_empty() {
        return None;
    }
    let interval = open[k % open.len()];
    let minutes = |t: LocalTime| i64::from(t.0.hour()) * 60 + i64::from(t.0.minute());
    let (opens, closes) = (minutes(interval.open), minutes(interval.close));
    let earliest = (opens + 15).max(8 * 60);
    let latest = (closes - 15).min(16 * 60 + 30);
    if latest <= earliest {
        return None;
    }
    let at = earliest + (k as i64 * 35) % (latest - earliest);
    let at = at - at % 5;
    NaiveTime::from_hms_opt(
        u32::try_from(at / 60).ok()?,
        u32::try_from(at % 60).ok()?,
        0,
    )
}

fn round5(x: f64) -> f64 {
    (x * 100_000.0).round() / 100_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::common::is_open;

    fn berlin_today() -> NaiveDate {
        let tz: Tz = TIME_ZONE.parse().unwrap();
        chrono::Utc::now().with_timezone(&tz).date_naive()
    }

    fn open_store(dir: &tempfile::TempDir, name: &str) -> Store {
        Store::open(&dir.path().join(name)).unwrap()
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store
            .blocking(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    }

    fn column(store: &Store, sql: &str) -> Vec<String> {
        store
            .blocking(|c| {
                let mut stmt = c.prepare(sql)?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .unwrap()
    }

    /// The demo's records; IMBUS visits, slots and appointments come from the tour plan and
    /// are checked on their own below.
    const EXPECTED: [(&str, usize); 11] = [
        ("caregiver_links", 13),
        ("caregivers", 6),
        ("destinations", 21),
        ("devices", 2),
        ("regions", 1),
        ("residents", 30),
        ("ride_requests", 60),
        ("shifts", 12),
        ("stops", 39),
        ("vehicles", 3),
        ("villages", 12),
    ];
    #[test]
    fn the_demo_week_has_what_it_promises() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir, "hub.db");
        let summary = create_demo(&store, berlin_today()).unwrap();
        assert!(summary.created);
        let counts: Vec<(&str, usize)> = summary
            .counts
            .iter()
            .map(|(k, v)| (*k, *v))
            .filter(|(k, _)| !["imbus_visits", "slots", "appointments"].contains(k))
            .collect();
        assert_eq!(counts, EXPECTED);
        for (table, n) in EXPECTED {
            assert_eq!(
                count(&store, &format!("SELECT COUNT(*) FROM {table}")) as usize,
                n,
                "{table}"
            );
        }

        // Every appointment of a ride lies in its destination's opening hours, in Berlin time.
        let tz: Tz = TIME_ZONE.parse().unwrap();
        let rides: Vec<(String, String)> = store
            .blocking(|c| {
                let mut stmt = c.prepare(
                    "SELECT r.appointment_at, d.opening_hours FROM ride_requests r
                     JOIN destinations d ON d.id = r.to_destination_id",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .unwrap();
        assert_eq!(rides.len(), 40);
        for (at, hours) in &rides {
            let at: Instant = at.parse().unwrap();
            let hours: Vec<OpeningInterval> = serde_json::from_str(hours).unwrap();
            let local = at.local(tz);
            assert!(
                is_open(&hours, Weekday::of(local.date_naive()), local.time()),
                "{local}"
            );
            assert!(at.0 > chrono::Utc::now());
        }
        // Returns start after their outbound appointment, from where it took the resident.
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM ride_requests b JOIN ride_requests o ON o.id = b.return_of
                 WHERE b.pickup_at > o.appointment_at AND b.from_destination_id = o.to_destination_id
                 AND b.to_home = 1 AND b.resident_id = o.resident_id"
            ),
            20
        );
        assert!(
            count(
                &store,
                "SELECT COUNT(*) FROM ride_requests WHERE wheelchair = 1"
            ) > 0
        );
        assert!(
            count(
                &store,
                "SELECT COUNT(*) FROM ride_requests WHERE from_stop_id IS NOT NULL"
            ) > 0
        );
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(DISTINCT village_id) FROM imbus_visits"
            ),
            12
        );
        // A 4-week cycle meeting every frequency: four villages weekly, eight fortnightly.
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM imbus_visits WHERE status = 'published'"
            ),
            4 * 4 + 8 * 2
        );
        assert_eq!(summary.counts["imbus_visits"], 32);
        // Slots of 30 minutes up to the 30 walk-in minutes at the end: 3 in 120, 2 in 90 minutes.
        assert_eq!(summary.counts["slots"], 16 * 3 + 16 * 2);
        // The kiosks of Schöppenstedt and Remlingen-Semmenstedt (weekly, 3 slots) hold one slot
        // of each of their visits.
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM slots WHERE reserved_for_device_id IS NOT NULL"
            ),
            8
        );
        // Appointments on the first week's visits: one each, two on every third.
        let monday = demo_week(berlin_today())
            .into_iter()
            .find(|d| d.weekday() == chrono::Weekday::Mon)
            .unwrap();
        let week_end = local_to_instant(tz, monday + Duration::days(7), NaiveTime::MIN).unwrap();
        let first_week = count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM imbus_visits WHERE starts_at < '{}'",
                week_end.text()
            ),
        ) as usize;
        assert!(first_week >= 4, "{first_week}");
        assert_eq!(
            summary.counts["appointments"],
            first_week + first_week.div_ceil(3)
        );
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM appointments a JOIN slots s ON s.id = a.slot_id
                 WHERE s.reserved_for_device_id IS NOT NULL"
            ),
            0,
            "no appointment made by phone on a kiosk's slot"
        );
        assert_eq!(
            count(&store, "SELECT COUNT(DISTINCT language) FROM residents"),
            4
        );
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM residents WHERE uses_wheelchair = 1"
            ),
            3
        );
        // Shifts and visits fall on the five working days of the week.
        let days: Vec<String> = demo_week(berlin_today())
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(days.len(), 5);
        let shift_days = column(
            &store,
            "SELECT DISTINCT starts_at FROM shifts ORDER BY starts_at",
        );
        for start in shift_days {
            let local = start
                .parse::<Instant>()
                .unwrap()
                .local(tz)
                .date_naive()
                .to_string();
            assert!(days.contains(&local), "{local} not in {days:?}");
        }
    }

    #[test]
    fn a_second_call_changes_nothing_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir, "hub.db");
        let today = berlin_today();
        let first = create_demo(&store, today).unwrap();
        let logs = |s: &Store| {
            (
                count(s, "SELECT COUNT(*) FROM change_log"),
                count(s, "SELECT COUNT(*) FROM audit_log"),
            )
        };
        let before = logs(&store);
        let second = create_demo(&store, today + Duration::days(1)).unwrap();
        assert!(!second.created);
        assert_eq!(second.counts, first.counts);
        assert_eq!(logs(&store), before);
    }

    #[test]
    fn the_same_day_gives_the_same_demo() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (open_store(&dir, "a.db"), open_store(&dir, "b.db"));
        let today = berlin_today();
        create_demo(&a, today).unwrap();
        create_demo(&b, today).unwrap();
        let sql = "SELECT id || ' ' || booking_code || ' ' || COALESCE(appointment_at, pickup_at)
                   FROM ride_requests ORDER BY id";
        assert_eq!(column(&a, sql), column(&b, sql));
        let sql = "SELECT id || ' ' || lat || ' ' || lon FROM stops ORDER BY id";
        assert_eq!(column(&a, sql), column(&b, sql));
        // The planned IMBUS cycle, its slots and bookings are the same too.
        let sql =
            "SELECT id || ' ' || starts_at || ' ' || counsellor FROM imbus_visits ORDER BY id";
        assert_eq!(column(&a, sql), column(&b, sql));
        let sql = "SELECT s.id || ' ' || COALESCE(s.reserved_for_device_id, '-') || ' '
                          || COALESCE(a.booking_code, '-')
                   FROM slots s LEFT JOIN appointments a ON a.slot_id = s.id ORDER BY s.id";
        assert_eq!(column(&a, sql), column(&b, sql));
    }

    #[test]
    fn a_demo_for_a_past_day_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir, "hub.db");
        let err = create_demo(&store, berlin_today() - Duration::days(30)).unwrap_err();
        assert!(err.to_string().contains("lies in the past"), "{err}");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM regions"), 0);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM villages"), 0);
    }

    #[test]
    fn the_week_always_has_five_working_days() {
        let friday = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        for offset in 0..7 {
            let week = demo_week(friday + Duration::days(offset));
            assert_eq!(week.len(), 5);
            assert!(week.iter().all(|d| d.weekday().number_from_monday() <= 5));
            assert!(week[0] > friday + Duration::days(offset));
        }
        assert_eq!(
            demo_week(friday)[0],
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
    }

    #[test]
    fn appointments_keep_clear_of_opening_and_closing() {
        let hours = import::parse_opening_hours("Di,Fr 10:00-13:00, Mi 06:30-08:10").unwrap();
        assert_eq!(appointment_time(&hours, Weekday::Mon, 0), None);
        // Opening at 06:30 and closing at 08:10 leaves nothing between 08:00 and 07:55.
        assert_eq!(appointment_time(&hours, Weekday::Wed, 0), None);
        for k in 0..20 {
            let t = appointment_time(&hours, Weekday::Tue, k).unwrap();
            assert!(t >= time_of("10:15") && t < time_of("12:45"), "{t}");
            assert_eq!(t.minute() % 5, 0);
        }
    }

    fn time_of(text: &str) -> NaiveTime {
        NaiveTime::parse_from_str(text, "%H:%M").unwrap()
    }
}
