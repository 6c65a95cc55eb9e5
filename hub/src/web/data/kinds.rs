//! The kinds of region data the console edits, each as a small table of form fields: name (the
//! domain field), German label, input type and whether it is required. One generic form and one
//! conversion (form text ⇄ the domain's JSON) serve every kind, so validation stays the domain's.

use chrono::{NaiveDateTime, SecondsFormat};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::domain::common::{Instant, local_to_instant};
use crate::import::{ImportKind, parse_opening_hours};

/// A kind of record on the data pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Regions,
    Villages,
    Stops,
    Destinations,
    Vehicles,
    Shifts,
    Residents,
    Caregivers,
    /// A caregiver may act for a resident, with how and when the resident agreed.
    CaregiverLinks,
}

/// How a field is entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    Text,
    /// A decimal number (coordinates); a decimal comma is taken.
    Decimal,
    /// A whole number whose empty value means the domain's default (left out).
    Count,
    /// A whole number whose empty value means "none" (null).
    OptCount,
    /// A check box.
    Flag,
    /// A wall-clock date and time in the region's zone, stored as an instant.
    Time,
    /// A comma-separated list of texts.
    List,
    /// Opening hours as people write them (`Mo-Fr 08:00-12:00`).
    Hours,
    /// One of the languages of tickets and reminders.
    Language,
    /// A village of the region, by id.
    Village,
    /// A vehicle of the region, by id.
    Vehicle,
    /// A driver account of the region, by id (optional).
    Driver,
    /// A caregiver of the region, by id.
    Caregiver,
    /// A resident of the region, by id.
    Resident,
    /// How a resident gave consent (`paper`, `phone`, `in_person`, `kiosk`).
    ConsentHow,
}

/// The ways a resident gives consent to a caregiver link, with their German words.
pub const CONSENT_HOW: [(&str, &str); 4] = [
    ("paper", "schriftlich"),
    ("phone", "am Telefon"),
    ("in_person", "persönlich"),
    ("kiosk", "am Kiosk"),
];

/// One form field.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub input: Input,
    pub required: bool,
    /// Shown as a column of the list.
    pub listed: bool,
}

const fn f(name: &'static str, label: &'static str, input: Input, required: bool) -> Field {
    Field {
        name,
        label,
        input,
        required,
        listed: false,
    }
}

/// A field that is also a column of the list.
const fn l(name: &'static str, label: &'static str, input: Input, required: bool) -> Field {
    Field {
        name,
        label,
        input,
        required,
        listed: true,
    }
}

use Input::*;

const REGION: &[Field] = &[
    l("name", "Name", Text, true),
    l("time_zone", "Zeitzone", Text, true),
    l("phone", "Telefon", Text, false),
    f(
        "destination_categories",
        "Zielkategorien (durch Komma getrennt)",
        List,
        false,
    ),
    f(
        "target_groups",
        "Zielgruppen (durch Komma getrennt)",
        List,
        false,
    ),
];
const VILLAGE: &[Field] = &[
    l("name", "Name", Text, true),
    l("municipality", "Gemeinde", Text, true),
    f("lat", "Breitengrad", Decimal, true),
    f("lon", "Längengrad", Decimal, true),
    f("streets", "Straßen (durch Komma getrennt)", List, false),
    l("imbus_every_weeks", "IMBUS alle … Wochen", OptCount, false),
    f(
        "imbus_visit_minutes",
        "IMBUS-Standzeit in Minuten",
        Count,
        false,
    ),
];
const STOP: &[Field] = &[
    l("village_id", "Ort", Village, true),
    l("name", "Name", Text, true),
    f("lat", "Breitengrad", Decimal, true),
    f("lon", "Längengrad", Decimal, true),
    l("step_free", "Stufenlos erreichbar", Flag, false),
];
const DESTINATION: &[Field] = &[
    l("name", "Name", Text, true),
    l("category", "Kategorie", Text, true),
    f("street", "Straße und Hausnummer", Text, true),
    f("postcode", "Postleitzahl", Text, true),
    l("city", "Ort", Text, true),
    f("lat", "Breitengrad", Decimal, true),
    f("lon", "Längengrad", Decimal, true),
    f("phone", "Telefon", Text, false),
    f(
        "opening_hours",
        "Öffnungszeiten (z. B. Mo-Fr 08:00-12:00)",
        Hours,
        false,
    ),
    l("step_free", "Stufenloser Eingang", Flag, false),
    f(
        "helps_with",
        "Hilft bei (Bedarfe, durch Komma getrennt)",
        List,
        false,
    ),
];
const VEHICLE: &[Field] = &[
    l("name", "Name", Text, true),
    l("seats", "Sitzplätze", Count, true),
    l("wheelchair_places", "Rollstuhlplätze", Count, false),
    l("depot_name", "Standort", Text, true),
    f("depot_lat", "Breitengrad des Standorts", Decimal, true),
    f("depot_lon", "Längengrad des Standorts", Decimal, true),
];
const SHIFT: &[Field] = &[
    l("vehicle_id", "Fahrzeug", Vehicle, true),
    l("driver_account_id", "Fahrer-Konto", Driver, false),
    l(
        "driver_name",
        "Name der Fahrerin oder des Fahrers",
        Text,
        false,
    ),
    l("starts_at", "Beginn", Time, true),
    l("ends_at", "Ende", Time, true),
    f("break_after", "Pause frühestens ab", Time, false),
    f("break_minutes", "Pause in Minuten", Count, false),
];
const RESIDENT: &[Field] = &[
    l("name", "Name", Text, true),
    f("street", "Straße und Hausnummer", Text, true),
    l("village_id", "Ort", Village, true),
    f("lat", "Breitengrad", Decimal, true),
    f("lon", "Längengrad", Decimal, true),
    f("phone", "Telefon", Text, false),
    f("uses_walker", "Nutzt einen Rollator", Flag, false),
    f("uses_wheelchair", "Nutzt einen Rollstuhl", Flag, false),
    f("needs_companion", "Braucht Begleitung", Flag, false),
    f("language", "Sprache", Language, true),
    f("consent_at", "Einwilligung am", Time, true),
    f("consent_given_to", "Einwilligung gegenüber", Text, true),
    f("consent_purpose", "Zweck der Einwilligung", Text, true),
];
const CAREGIVER: &[Field] = &[
    l("name", "Name", Text, true),
    l("phone", "Telefon", Text, false),
    l("email", "E-Mail", Text, false),
    l("village_id", "Ort", Village, false),
];
const CAREGIVER_LINK: &[Field] = &[
    l("caregiver_id", "Kümmerer:in", Caregiver, true),
    l("resident_id", "Bewohner:in", Resident, true),
    l("consent_at", "Einwilligung am", Time, true),
    l("consent_how", "Einwilligung gegeben", ConsentHow, true),
];

impl Kind {
    /// Every kind of region data, in the order of the overview (regions are not region data).
    pub const REGION_DATA: [Kind; 8] = [
        Kind::Villages,
        Kind::Stops,
        Kind::Destinations,
        Kind::Vehicles,
        Kind::Shifts,
        Kind::Residents,
        Kind::Caregivers,
        Kind::CaregiverLinks,
    ];

    /// The table name and URL segment.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Regions => "regions",
            Kind::Villages => "villages",
            Kind::Stops => "stops",
            Kind::Destinations => "destinations",
            Kind::Vehicles => "vehicles",
            Kind::Shifts => "shifts",
            Kind::Residents => "residents",
            Kind::Caregivers => "caregivers",
            Kind::CaregiverLinks => "caregiver_links",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Kind> {
        std::iter::once(Kind::Regions)
            .chain(Kind::REGION_DATA)
            .find(|k| k.slug() == slug)
    }

    /// The German plural, as a heading.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Regions => "Regionen",
            Kind::Villages => "Orte",
            Kind::Stops => "Haltepunkte",
            Kind::Destinations => "Ziele",
            Kind::Vehicles => "Fahrzeuge",
            Kind::Shifts => "Schichten",
            Kind::Residents => "Bewohnerinnen und Bewohner",
            Kind::Caregivers => "Kümmerer:innen",
            Kind::CaregiverLinks => "Verknüpfungen Kümmerer:in – Bewohner:in",
        }
    }

    /// The German singular, for buttons and headings.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Regions => "Region",
            Kind::Villages => "Ort",
            Kind::Stops => "Haltepunkt",
            Kind::Destinations => "Ziel",
            Kind::Vehicles => "Fahrzeug",
            Kind::Shifts => "Schicht",
            Kind::Residents => "Bewohner:in",
            Kind::Caregivers => "Kümmerer:in",
            Kind::CaregiverLinks => "Verknüpfung",
        }
    }

    pub fn fields(self) -> &'static [Field] {
        match self {
            Kind::Regions => REGION,
            Kind::Villages => VILLAGE,
            Kind::Stops => STOP,
            Kind::Destinations => DESTINATION,
            Kind::Vehicles => VEHICLE,
            Kind::Shifts => SHIFT,
            Kind::Residents => RESIDENT,
            Kind::Caregivers => CAREGIVER,
            Kind::CaregiverLinks => CAREGIVER_LINK,
        }
    }

    /// The import module's kind, for CSV import and export.
    pub fn import_kind(self) -> Option<ImportKind> {
        ImportKind::ALL
            .into_iter()
            .find(|k| k.name() == self.slug())
    }

    /// Holds personal data: reads are audited (the store does), exports too (we do).
    pub fn personal(self) -> bool {
        matches!(
            self,
            Kind::Residents | Kind::Caregivers | Kind::CaregiverLinks
        )
    }

    /// Cancelled by status (shifts) rather than by `archived_at`.
    pub fn by_status(self) -> bool {
        self == Kind::Shifts
    }

    /// The German label of a domain field (`opening_hours[2].close` → its field's label).
    pub fn label_of(self, field: &str) -> String {
        let name = field.split(['.', '[']).next().unwrap_or(field);
        self.fields()
            .iter()
            .find(|f| f.name == name)
            .map_or_else(|| name.to_string(), |f| f.label.to_string())
    }
}

/// A problem with one field, in German.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub text: String,
}

/// The domain's and the import's reasons in German where they are common, keeping the value
/// they quote; others are shown as they are (English).
pub fn german_reason(reason: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("must not be empty", "darf nicht leer sein"),
        (
            "must not start or end with spaces",
            "darf nicht mit Leerzeichen beginnen oder enden",
        ),
        (
            "latitude must lie between",
            "Der Breitengrad muss zwischen -90 und 90 liegen",
        ),
        (
            "longitude must lie between",
            "Der Längengrad muss zwischen -180 und 180 liegen",
        ),
        (
            "a German postcode has five digits",
            "Eine Postleitzahl hat fünf Ziffern",
        ),
        ("must be between 1 and 60", "muss zwischen 1 und 60 liegen"),
        ("must be between 0 and 10", "muss zwischen 0 und 10 liegen"),
        (
            "must be from 15 to 480 minutes",
            "muss zwischen 15 und 480 Minuten liegen",
        ),
        (
            "must be a number of weeks from 1 to 8",
            "muss zwischen 1 und 8 Wochen liegen",
        ),
        ("must be at most 180", "darf höchstens 180 sein"),
        ("lies in the future", "liegt in der Zukunft"),
        (
            "is not one of the region's categories",
            "ist keine Kategorie dieser Region",
        ),
        (
            "must be a driver's account",
            "muss ein Konto mit der Rolle Fahrer sein",
        ),
        (
            "the break must lie within the shift",
            "Die Pause muss innerhalb der Schicht liegen",
        ),
        (
            "a break needs its earliest start",
            "Eine Pause braucht ihren frühesten Beginn",
        ),
        (
            "a caregiver needs a phone number or an e-mail address",
            "Eine Kümmerer:in braucht eine Telefonnummer oder eine E-Mail-Adresse",
        ),
        ("is archived", "ist archiviert"),
        (
            "cannot be changed; cancel and create anew",
            "kann nicht geändert werden; bitte archivieren und neu anlegen",
        ),
        (
            "caregiver link with this caregiver and resident exists already",
            "Diese Kümmerer:in ist mit dieser Bewohner:in schon verknüpft",
        ),
        ("is cancelled", "ist abgesagt"),
        (
            "belongs to another region",
            "gehört zu einer anderen Region",
        ),
        (
            "is not a time zone",
            "ist keine Zeitzone (z. B. Europe/Berlin)",
        ),
        ("missing column", "Diese Spalte fehlt"),
        ("appears twice", "kommt doppelt vor"),
        (
            "exists already",
            "gibt es schon; ein Import ändert vorhandene Einträge nicht",
        ),
        (
            "was imported before with other values",
            "wurde schon mit anderen Werten eingelesen; bitte im Formular ändern",
        ),
        (
            "its own row has problems",
            "wird nicht eingelesen, weil seine eigene Zeile Fehler hat",
        ),
        (
            "the file is larger than",
            "Die Datei ist zu groß; bitte teilen Sie sie auf",
        ),
    ];
    // Reasons that quote the value at fault: 'value' followed by the English words.
    const QUOTED: &[(&str, &str)] = &[
        (" is not a number", "ist keine Zahl"),
        (" is not a whole number", "ist keine ganze Zahl"),
        (" is not ja/nein", "ist nicht ja oder nein"),
        (
            " is not a local time",
            "ist keine Ortszeit JJJJ-MM-TT HH:MM",
        ),
        (
            " is neither a local time",
            "ist weder eine Ortszeit JJJJ-MM-TT HH:MM noch ein Zeitpunkt nach RFC 3339",
        ),
        (" is not a UUID", "ist keine gültige ID"),
        (
            " is not a weekday",
            "ist kein Wochentag (Mo Di Mi Do Fr Sa So)",
        ),
        (" is not a time range", "ist keine Zeitspanne HH:MM-HH:MM"),
        (" is not a need", "ist kein bekannter Bedarf"),
        (
            " is not one of the region's",
            "ist keine Kategorie dieser Region",
        ),
        (" is not one of", "ist keine der möglichen Angaben"),
        (
            " names ",
            "passt auf mehrere Einträge; bitte die ID angeben",
        ),
    ];
    if let Some(columns) = reason.strip_prefix("unknown column; the columns are ") {
        return format!("Diese Spalte gibt es nicht; möglich sind: {columns}");
    }
    for (noun, german) in [
        ("village", "Kein Ort"),
        ("vehicle", "Kein Fahrzeug"),
        ("caregiver", "Keine Kümmerer:in"),
        ("resident", "Keine Bewohner:in"),
    ] {
        if let Some(rest) = reason.strip_prefix(&format!("no {noun} '"))
            && let Some((value, _)) = rest.split_once("' in this region")
        {
            return format!("{german} „{value}“ in dieser Region (Name oder ID angeben)");
        }
    }
    // A reference to a record that does not exist: "no caregiver with id x".
    if let Some(rest) = reason.strip_prefix("no ")
        && let Some((_, id)) = rest.split_once(" with id ")
    {
        return format!("Einen Eintrag mit der ID „{id}“ gibt es nicht");
    }
    if let Some(rest) = reason.strip_prefix('\'') {
        for (english, german) in QUOTED {
            if let Some((value, _)) = rest.split_once(&format!("'{english}")) {
                return format!("„{value}“ {german}");
            }
        }
    }
    WORDS
        .iter()
        .find(|(english, _)| reason.contains(english))
        .map_or_else(|| reason.to_string(), |(_, german)| (*german).to_string())
}

/// The form's text of a stored value, for the edit form.
pub fn form_text(field: &Field, value: Option<&Value>, tz: Tz) -> String {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return String::new();
    };
    match (field.input, value) {
        (Time, Value::String(s)) => s
            .parse::<Instant>()
            .map(|i| i.local(tz).format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_else(|_| s.clone()),
        (Flag, Value::Bool(b)) => if *b { "ja" } else { "" }.to_string(),
        (List, Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        (Hours, hours) => hours_text(hours),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// Stored opening hours (`[{"weekday":"mon","open":"08:00","close":"12:00"}]`) as the text the
/// import and the form read: `Mo 08:00-12:00, Di 08:00-12:00`.
pub fn hours_text(hours: &Value) -> String {
    const DAYS: [(&str, &str); 7] = [
        ("mon", "Mo"),
        ("tue", "Di"),
        ("wed", "Mi"),
        ("thu", "Do"),
        ("fri", "Fr"),
        ("sat", "Sa"),
        ("sun", "So"),
    ];
    hours
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|h| {
                    let day = h.get("weekday")?.as_str()?;
                    let day = DAYS.iter().find(|(k, _)| *k == day)?.1;
                    Some(format!(
                        "{day} {}-{}",
                        h.get("open")?.as_str()?,
                        h.get("close")?.as_str()?
                    ))
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The domain's JSON fields from a sent form. On create, empty optional fields with a domain
/// default are left out; on edit (`patch`), every field of the form is sent so a cleared field
/// is cleared. Problems only the form can have (a number that is not one) come back in German.
pub fn to_json(
    kind: Kind,
    form: &std::collections::HashMap<String, String>,
    tz: Tz,
    patch: bool,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut map = Map::new();
    let mut errors = Vec::new();
    for field in kind.fields() {
        let text = form.get(field.name).map_or("", |t| t.trim());
        match value_of(field, text, tz) {
            Ok(Some(value)) => {
                map.insert(field.name.to_string(), value);
            }
            Ok(None) if patch && field.input == Count => {
                map.insert(field.name.to_string(), Value::from(0));
            }
            Ok(None) => {}
            Err(text) => errors.push(FieldError {
                field: field.name.to_string(),
                text: format!("{}: {text}", field.label),
            }),
        }
    }
    if errors.is_empty() {
        Ok(map)
    } else {
        Err(errors)
    }
}

/// One field's value: `None` leaves the domain's default.
fn value_of(field: &Field, text: &str, tz: Tz) -> Result<Option<Value>, String> {
    if field.input == Flag {
        return Ok(Some(Value::Bool(!text.is_empty())));
    }
    if text.is_empty() {
        return match field.input {
            _ if field.required
                && matches!(
                    field.input,
                    Decimal
                        | Count
                        | Time
                        | Village
                        | Vehicle
                        | Language
                        | Caregiver
                        | Resident
                        | ConsentHow
                ) =>
            {
                Err("bitte ausfüllen".into())
            }
            Text if field.required => Ok(Some(Value::String(String::new()))),
            Text | OptCount | Time | Driver | Village => Ok(Some(Value::Null)),
            List | Hours => Ok(Some(Value::Array(Vec::new()))),
            _ => Ok(None),
        };
    }
    match field.input {
        Decimal => {
            let normal = text.replace(',', ".");
            normal
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|n| Some(Value::from(n)))
                .ok_or_else(|| format!("„{text}“ ist keine Zahl"))
        }
        Count | OptCount => text
            .parse::<u32>()
            .map(|n| Some(Value::from(n)))
            .map_err(|_| format!("„{text}“ ist keine ganze Zahl")),
        Time => {
            let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
                .map_err(|_| format!("„{text}“ ist kein Zeitpunkt (TT.MM.JJJJ, HH:MM)"))?;
            let instant = local_to_instant(tz, local.date(), local.time())
                .map_err(|_| "diese Uhrzeit gibt es wegen der Zeitumstellung nicht".to_string())?;
            Ok(Some(Value::String(
                instant.0.to_rfc3339_opts(SecondsFormat::Secs, true),
            )))
        }
        List => Ok(Some(Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(t.to_string()))
                .collect(),
        ))),
        Hours => {
            let hours = parse_opening_hours(text).map_err(|e| german_reason(&e))?;
            serde_json::to_value(hours)
                .map(Some)
                .map_err(|e| e.to_string())
        }
        ConsentHow => CONSENT_HOW
            .iter()
            .find(|(code, _)| *code == text)
            .map(|(code, _)| Some(Value::String((*code).to_string())))
            .ok_or_else(|| format!("„{text}“ ist keine der möglichen Angaben")),
        Text | Language | Village | Vehicle | Driver | Caregiver | Resident | Flag => {
            Ok(Some(Value::String(text.to_string())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_become_the_domains_json() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let form: std::collections::HashMap<String, String> = [
            ("vehicle_id", "v1"),
            ("starts_at", "2030-03-04T07:00"),
            ("ends_at", "2030-03-04T14:00"),
            ("break_minutes", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let json = to_json(Kind::Shifts, &form, tz, false).unwrap();
        assert_eq!(json["starts_at"], "2030-03-04T06:00:00Z");
        assert_eq!(json["driver_account_id"], Value::Null);
        assert!(!json.contains_key("break_minutes"));
        let patch = to_json(Kind::Shifts, &form, tz, true).unwrap();
        assert_eq!(patch["break_minutes"], 0);
        let field = SHIFT.iter().find(|f| f.name == "starts_at").unwrap();
        assert_eq!(
            form_text(field, Some(&json["starts_at"]), tz),
            "2030-03-04T07:00"
        );
    }

    #[test]
    fn a_link_takes_only_the_known_ways_of_consent() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let form = |how: &str| -> std::collections::HashMap<String, String> {
            [
                ("caregiver_id", "c1"),
                ("resident_id", "r1"),
                ("consent_at", "2026-02-01T10:30"),
                ("consent_how", how),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        };
        let json = to_json(Kind::CaregiverLinks, &form("kiosk"), tz, false).unwrap();
        assert_eq!(json["consent_how"], "kiosk");
        assert_eq!(json["consent_at"], "2026-02-01T09:30:00Z");
        let errors = to_json(Kind::CaregiverLinks, &form("Brieftaube"), tz, false).unwrap_err();
        assert_eq!(
            errors,
            [FieldError {
                field: "consent_how".into(),
                text: "Einwilligung gegeben: „Brieftaube“ ist keine der möglichen Angaben".into()
            }]
        );
        let errors = to_json(Kind::CaregiverLinks, &form(""), tz, false).unwrap_err();
        assert_eq!(errors[0].text, "Einwilligung gegeben: bitte ausfüllen");
    }

    #[test]
    fn form_only_problems_are_german_and_name_the_label() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let form: std::collections::HashMap<String, String> = [("name", "Bus"), ("seats", "acht")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let errors = to_json(Kind::Vehicles, &form, tz, false).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.field == "seats" && e.text == "Sitzplätze: „acht“ ist keine ganze Zahl")
        );
        assert!(errors.iter().any(|e| e.field == "depot_lat"));
    }

    #[test]
    fn reasons_are_german_and_keep_their_value() {
        assert_eq!(
            german_reason("'zehn' is not a number"),
            "„zehn“ ist keine Zahl"
        );
        assert_eq!(
            german_reason("no village 'Atlantis' in this region (give its name or id)"),
            "Kein Ort „Atlantis“ in dieser Region (Name oder ID angeben)"
        );
        assert_eq!(
            german_reason("no resident 'Niemand' in this region (give its name or id)"),
            "Keine Bewohner:in „Niemand“ in dieser Region (Name oder ID angeben)"
        );
        assert_eq!(
            german_reason("'Erna' names 2 residents; give the id instead"),
            "„Erna“ passt auf mehrere Einträge; bitte die ID angeben"
        );
        assert_eq!(
            german_reason("no caregiver with id x1"),
            "Einen Eintrag mit der ID „x1“ gibt es nicht"
        );
        assert_eq!(german_reason("must not be empty"), "darf nicht leer sein");
        assert_eq!(german_reason("something new"), "something new");
    }

    #[test]
    fn opening_hours_read_back_as_they_are_written() {
        let hours =
            serde_json::to_value(parse_opening_hours("Mo-Di 08:00-12:00").unwrap()).unwrap();
        assert_eq!(hours_text(&hours), "Mo 08:00-12:00, Di 08:00-12:00");
    }
}
