//! Value types shared by the domain records (instants, wall-clock times, weekdays) and the
//! checks every record uses (names, coordinates, phone numbers).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::store::{StoreError, StoreResult};

/// An instant, stored and sent in UTC with whole seconds (`2026-11-23T07:30:00Z`). Input may
/// carry any offset (`2026-11-23T08:30:00+01:00`); it is converted to UTC on arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub DateTime<Utc>);

impl Instant {
    /// The instant in the region's wall-clock time.
    pub fn local(&self, tz: Tz) -> DateTime<Tz> {
        self.0.with_timezone(&tz)
    }

    /// The stored text form.
    pub fn text(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

impl FromStr for Instant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parsed = DateTime::parse_from_rfc3339(s).map_err(|e| {
            format!(
                "'{s}' is not an RFC 3339 instant with offset, e.g. 2026-11-23T08:30:00+01:00 ({e})"
            )
        })?;
        let utc = parsed.with_timezone(&Utc);
        Ok(Instant(utc.with_nanosecond_zero()))
    }
}

trait WholeSeconds {
    fn with_nanosecond_zero(self) -> Self;
}

impl WholeSeconds for DateTime<Utc> {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl PartialSchema for Instant {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339 instant with offset; answered in UTC"))
            .into()
    }
}
impl ToSchema for Instant {}

/// A wall-clock time of day in the region's zone, `HH:MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime(pub NaiveTime);

impl FromStr for LocalTime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() != 5 {
            return Err(format!("'{s}' is not a time of day HH:MM"));
        }
        NaiveTime::parse_from_str(s, "%H:%M")
            .map(LocalTime)
            .map_err(|_| format!("'{s}' is not a time of day HH:MM"))
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl PartialSchema for LocalTime {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-2][0-9]:[0-5][0-9]$"))
            .description(Some("wall-clock time HH:MM in the region's time zone"))
            .into()
    }
}
impl ToSchema for LocalTime {}

/// A calendar date `YYYY-MM-DD` in the region's zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalDate(pub NaiveDate);

impl Serialize for LocalDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.format("%Y-%m-%d"))
    }
}

impl<'de> Deserialize<'de> for LocalDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(LocalDate)
            .map_err(|_| serde::de::Error::custom(format!("'{s}' is not a date YYYY-MM-DD")))
    }
}

impl PartialSchema for LocalDate {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .into()
    }
}
impl ToSchema for LocalDate {}

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub fn of(date: NaiveDate) -> Weekday {
        match date.weekday() {
            chrono::Weekday::Mon => Weekday::Mon,
            chrono::Weekday::Tue => Weekday::Tue,
            chrono::Weekday::Wed => Weekday::Wed,
            chrono::Weekday::Thu => Weekday::Thu,
            chrono::Weekday::Fri => Weekday::Fri,
            chrono::Weekday::Sat => Weekday::Sat,
            chrono::Weekday::Sun => Weekday::Sun,
        }
    }
}

/// One opening interval on one weekday.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningInterval {
    pub weekday: Weekday,
    pub open: LocalTime,
    pub close: LocalTime,
}

/// Whether a wall-clock moment lies in any interval (open inclusive, close exclusive).
pub fn is_open(hours: &[OpeningInterval], weekday: Weekday, time: NaiveTime) -> bool {
    hours
        .iter()
        .any(|h| h.weekday == weekday && h.open.0 <= time && time < h.close.0)
}

/// Converts a wall-clock date and time in `tz` to an instant. A time skipped by the change to
/// daylight-saving time does not exist and is an error; a repeated one means the first.
pub fn local_to_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> Result<Instant, String> {
    match tz.from_local_datetime(&date.and_time(time)) {
        chrono::LocalResult::Single(t) => Ok(Instant(t.with_timezone(&Utc))),
        chrono::LocalResult::Ambiguous(first, _) => Ok(Instant(first.with_timezone(&Utc))),
        chrono::LocalResult::None => Err(format!(
            "{date} {time} does not exist in {tz} (clocks go forward)"
        )),
    }
}

/// The time zone of a region, from the store.
pub fn region_tz(tx: &Connection, region_id: &str) -> StoreResult<Tz> {
    let name: Option<String> = tx
        .query_row(
            "SELECT time_zone FROM regions WHERE id = ?1",
            [region_id],
            |r| r.get(0),
        )
        .optional()?;
    let name = name.ok_or_else(|| StoreError::invalid("region_id", "no such region"))?;
    name.parse()
        .map_err(|_| StoreError::Internal(format!("region {region_id} has bad time zone {name}")))
}

/// A required, trimmed, non-empty name.
pub fn check_name(field: &str, value: &str) -> StoreResult<()> {
    if value.trim().is_empty() {
        return Err(StoreError::invalid(field, "must not be empty"));
    }
    if value.trim() != value {
        return Err(StoreError::invalid(
            field,
            "must not start or end with spaces",
        ));
    }
    Ok(())
}

/// Latitude and longitude in degrees, finite and in range.
pub fn check_coordinates(lat_field: &str, lat: f64, lon_field: &str, lon: f64) -> StoreResult<()> {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(StoreError::invalid(
            lat_field,
            "latitude must lie between -90 and 90",
        ));
    }
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(StoreError::invalid(
            lon_field,
            "longitude must lie between -180 and 180",
        ));
    }
    Ok(())
}

/// A phone number as people write it: digits, spaces, `+ - / ( )`, 5 to 20 digits.
pub fn check_phone(field: &str, value: &str) -> StoreResult<()> {
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-/()".contains(c));
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if !allowed || !(5..=20).contains(&digits) {
        return Err(StoreError::invalid(
            field,
            format!("'{value}' is not a phone number"),
        ));
    }
    Ok(())
}

/// An e-mail address of plausible shape; delivery proves the rest.
pub fn check_email(field: &str, value: &str) -> StoreResult<()> {
    let ok = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !value.contains(' ')
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!("'{value}' is not an e-mail address"),
        ))
    }
}

/// A language the resident-facing surfaces speak.
pub fn check_language(field: &str, value: &str) -> StoreResult<()> {
    if protocol::is_supported_language(value) {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!("'{value}' is not one of {}", protocol::LANGUAGES.join(", ")),
        ))
    }
}

/// An instant of a booking must lie ahead, but not absurdly far.
pub fn check_bookable(field: &str, at: Instant, now: DateTime<Utc>) -> StoreResult<()> {
    if at.0 < now {
        return Err(StoreError::invalid(field, "lies in the past"));
    }
    if at.0 > now + chrono::Duration::days(366) {
        return Err(StoreError::invalid(field, "lies more than a year ahead"));
    }
    Ok(())
}

/// Start before end, and a span no longer than `max_hours`.
pub fn check_span(
    end_field: &str,
    start: Instant,
    end: Instant,
    max_hours: i64,
) -> StoreResult<()> {
    if end <= start {
        return Err(StoreError::invalid(end_field, "must be after the start"));
    }
    if end.0 - start.0 > chrono::Duration::hours(max_hours) {
        return Err(StoreError::invalid(
            end_field,
            format!("more than {max_hours} hours after the start"),
        ));
    }
    Ok(())
}

/// A column of another record, read inside the transaction.
pub fn column_of<T: rusqlite::types::FromSql>(
    tx: &Connection,
    table: &str,
    column: &str,
    id: &str,
) -> StoreResult<Option<T>> {
    let sql = format!("SELECT {column} FROM {table} WHERE id = ?1");
    Ok(tx.query_row(&sql, [id], |r| r.get(0)).optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_normalise_to_utc_seconds() {
        let i: Instant = "2026-11-23T08:30:00.250+01:00".parse().unwrap();
        assert_eq!(i.text(), "2026-11-23T07:30:00Z");
        assert!("2026-11-23 08:30".parse::<Instant>().is_err());
        assert!("2026-02-30T08:00:00Z".parse::<Instant>().is_err());
    }

    #[test]
    fn local_times_across_the_clock_change() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2027, 3, 28).unwrap();
        let skipped = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        assert!(local_to_instant(tz, day, skipped).is_err());
        let morning = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        assert_eq!(
            local_to_instant(tz, day, morning).unwrap().text(),
            "2027-03-28T07:00:00Z"
        );
        let winter = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(
            local_to_instant(tz, winter, morning).unwrap().text(),
            "2026-11-23T08:00:00Z"
        );
    }

    #[test]
    fn opening_hours_include_open_and_exclude_close() {
        let hours = vec![OpeningInterval {
            weekday: Weekday::Mon,
            open: "08:00".parse().unwrap(),
            close: "12:00".parse().unwrap(),
        }];
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        assert!(is_open(&hours, Weekday::Mon, t("08:00")));
        assert!(!is_open(&hours, Weekday::Mon, t("12:00")));
        assert!(!is_open(&hours, Weekday::Tue, t("09:00")));
        assert!("8:00".parse::<LocalTime>().is_err());
        assert!("25:00".parse::<LocalTime>().is_err());
    }

    #[test]
    fn small_checks() {
        assert!(check_phone("phone", "05332 / 123-45").is_ok());
        assert!(check_phone("phone", "call me").is_err());
        assert!(check_email("email", "a@b.de").is_ok());
        assert!(check_email("email", "a@b").is_err());
        assert!(check_language("language", "uk").is_ok());
        assert!(check_language("language", "xx").is_err());
        assert!(check_coordinates("lat", 91.0, "lon", 0.0).is_err());
        assert!(check_coordinates("lat", f64::NAN, "lon", 0.0).is_err());
        assert!(check_name("name", " x").is_err());
    }
}
