//! Regions (Standorte) and their places: villages, stops (meeting points) and destinations.

use rusqlite::types::Value as Sql;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::common::{OpeningInterval, check_coordinates, check_name, check_phone, column_of};
use crate::store::records::{Cancel, Ctx, Filters, Resource};
use crate::store::{StoreError, StoreResult};

/// A region (Standort) run by this hub, with its own target groups and destination categories.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name: String,
    /// IANA time zone; local times of this region are converted with it.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// The phone number printed on tickets and posters.
    #[serde(default)]
    pub phone: Option<String>,
    /// Region settings (ride rules, slot shares); an object.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// Who may use the ride service here, e.g. `age_75_plus`, `wheelchair`, `refugee`.
    #[serde(default)]
    pub target_groups: Vec<String>,
    /// The kinds of destination this region serves, e.g. `general_practice`, `counselling`.
    #[serde(default)]
    pub destination_categories: Vec<String>,
}

fn default_time_zone() -> String {
    "Europe/Berlin".into()
}

pub(crate) fn check_labels(field: &str, labels: &[String]) -> StoreResult<()> {
    for (i, label) in labels.iter().enumerate() {
        let ok = !label.is_empty()
            && label.len() <= 40
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(StoreError::invalid(
                format!("{field}[{i}]"),
                "must be a short label of a-z, 0-9 and _",
            ));
        }
        if labels[..i].contains(label) {
            return Err(StoreError::invalid(
                format!("{field}[{i}]"),
                "appears twice",
            ));
        }
    }
    Ok(())
}

impl Resource for Region {
    const KIND: &'static str = "regions";
    const NOUN: &'static str = "region";
    const CANCEL: Cancel = Cancel::Archive;
    const JSON_COLUMNS: &'static [&'static str] =
        &["settings", "target_groups", "destination_categories"];
    const SYNCED: bool = true;

    fn validate(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("name", &self.name)?;
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(StoreError::invalid(
                "time_zone",
                format!("'{}' is not a time zone", self.time_zone),
            ));
        }
        if let Some(phone) = &self.phone {
            check_phone("phone", phone)?;
        }
        check_labels("target_groups", &self.target_groups)?;
        check_labels("destination_categories", &self.destination_categories)
    }
}

/// A village (Ortsteil or Gemeinde) of a region.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Village {
    pub region_id: String,
    pub name: String,
    /// The member municipality the village belongs to.
    pub municipality: String,
    pub lat: f64,
    pub lon: f64,
    /// The village's street names (no house numbers): a new resident at the kiosk picks theirs.
    #[serde(default)]
    pub streets: Vec<String>,
    /// The IMBUS visits the village every this many weeks (1 to 8); none: not on the tour.
    #[serde(default)]
    pub imbus_every_weeks: Option<u32>,
    /// How long the IMBUS stands in the village, minutes (15 to 480).
    #[serde(default = "ninety")]
    pub imbus_visit_minutes: u32,
    /// The stop where the IMBUS stands; none: the village's first live stop by name.
    #[serde(default)]
    pub imbus_stop_id: Option<String>,
}

fn ninety() -> u32 {
    90
}

/// A village has at most this many streets, each at most [`MAX_STREET_CHARS`] long.
pub const MAX_STREETS: usize = 400;
pub const MAX_STREET_CHARS: usize = 60;

impl Resource for Village {
    const KIND: &'static str = "villages";
    const NOUN: &'static str = "village";
    const CANCEL: Cancel = Cancel::Archive;
    const JSON_COLUMNS: &'static [&'static str] = &["streets"];
    const REFS: &'static [(&'static str, &'static str)] = &[("imbus_stop_id", "stops")];
    const SYNCED: bool = true;

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("name", &self.name)?;
        check_name("municipality", &self.municipality)?;
        check_coordinates("lat", self.lat, "lon", self.lon)?;
        check_streets(&self.streets)?;
        if self
            .imbus_every_weeks
            .is_some_and(|n| !(1..=8).contains(&n))
        {
            return Err(StoreError::invalid(
                "imbus_every_weeks",
                "must be a number of weeks from 1 to 8",
            ));
        }
        if !(15..=480).contains(&self.imbus_visit_minutes) {
            return Err(StoreError::invalid(
                "imbus_visit_minutes",
                "must be from 15 to 480 minutes",
            ));
        }
        if let Some(stop) = &self.imbus_stop_id {
            let village: Option<String> = column_of(ctx.tx, "stops", "village_id", stop)?;
            if village.as_deref() != Some(ctx.id) {
                return Err(StoreError::invalid(
                    "imbus_stop_id",
                    "the stop is not in this village",
                ));
            }
        }
        Ok(())
    }
}

/// Street names: short, distinct, without house numbers or line breaks.
fn check_streets(streets: &[String]) -> StoreResult<()> {
    if streets.len() > MAX_STREETS {
        return Err(StoreError::invalid(
            "streets",
            format!("{} streets; at most {MAX_STREETS}", streets.len()),
        ));
    }
    for (i, street) in streets.iter().enumerate() {
        let field = format!("streets[{i}]");
        check_name(&field, street)?;
        if street.chars().count() > MAX_STREET_CHARS || street.contains('\n') {
            return Err(StoreError::invalid(
                field,
                format!("a street name is one line of at most {MAX_STREET_CHARS} characters"),
            ));
        }
        if streets[..i].contains(street) {
            return Err(StoreError::invalid(
                field,
                format!("'{street}' is listed twice"),
            ));
        }
    }
    Ok(())
}

/// A named meeting point in a village: where rides start and the IMBUS stands.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    pub region_id: String,
    pub village_id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    /// Reachable without steps (wheelchair, walker).
    #[serde(default = "yes")]
    pub step_free: bool,
}

fn yes() -> bool {
    true
}

impl Resource for Stop {
    const KIND: &'static str = "stops";
    const NOUN: &'static str = "stop";
    const CANCEL: Cancel = Cancel::Archive;
    const BOOL_COLUMNS: &'static [&'static str] = &["step_free"];
    const REFS: &'static [(&'static str, &'static str)] = &[("village_id", "villages")];
    const FILTERS: Filters = Filters {
        time: None,
        village: Some("village_id"),
        status: false,
    };
    const SYNCED: bool = true;

    fn validate(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("name", &self.name)?;
        check_coordinates("lat", self.lat, "lon", self.lon)
    }
}

/// A doctor, health or social service people ride to.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    pub region_id: String,
    pub name: String,
    /// One of the region's destination categories.
    pub category: String,
    pub street: String,
    pub postcode: String,
    pub city: String,
    pub lat: f64,
    pub lon: f64,
    #[serde(default)]
    pub phone: Option<String>,
    /// Weekly opening hours; appointments must fall inside them. Empty: not known.
    #[serde(default)]
    pub opening_hours: Vec<OpeningInterval>,
    /// Entrance reachable without steps.
    #[serde(default)]
    pub step_free: bool,
    /// The needs this service helps with (see [`HELP_NEEDS`]); the kiosk's "Hilfe finden" lists
    /// it under each. Empty: not offered there.
    #[serde(default)]
    pub helps_with: Vec<String>,
}

/// The needs a resident can look for help with at the kiosk ("Hilfe finden"), the groups the
/// sociolance works with.
pub const HELP_NEEDS: [&str; 6] = [
    "homelessness",
    "alcohol",
    "anxiety",
    "loneliness",
    "dementia",
    "family_strain",
];

/// Known need codes only, each once.
fn check_needs(field: &str, needs: &[String]) -> StoreResult<()> {
    for (i, need) in needs.iter().enumerate() {
        if !HELP_NEEDS.contains(&need.as_str()) {
            return Err(StoreError::invalid(
                format!("{field}[{i}]"),
                format!(
                    "'{}' is not a need; use {}",
                    need.chars().take(40).collect::<String>(),
                    HELP_NEEDS.join(", ")
                ),
            ));
        }
        if needs[..i].contains(need) {
            return Err(StoreError::invalid(
                format!("{field}[{i}]"),
                format!("'{need}' appears twice"),
            ));
        }
    }
    Ok(())
}

impl Resource for Destination {
    const KIND: &'static str = "destinations";
    const NOUN: &'static str = "destination";
    const CANCEL: Cancel = Cancel::Archive;
    const BOOL_COLUMNS: &'static [&'static str] = &["step_free"];
    const JSON_COLUMNS: &'static [&'static str] = &["opening_hours", "helps_with"];
    const SYNCED: bool = true;

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("name", &self.name)?;
        check_name("street", &self.street)?;
        check_needs("helps_with", &self.helps_with)?;
        check_name("city", &self.city)?;
        if !(self.postcode.len() == 5 && self.postcode.chars().all(|c| c.is_ascii_digit())) {
            return Err(StoreError::invalid(
                "postcode",
                "a German postcode has five digits",
            ));
        }
        check_coordinates("lat", self.lat, "lon", self.lon)?;
        if let Some(phone) = &self.phone {
            check_phone("phone", phone)?;
        }
        for (i, h) in self.opening_hours.iter().enumerate() {
            if h.close <= h.open {
                return Err(StoreError::invalid(
                    format!("opening_hours[{i}].close"),
                    "must be after the opening time",
                ));
            }
        }
        let categories: Option<String> =
            column_of(ctx.tx, "regions", "destination_categories", &self.region_id)?;
        let categories: Vec<String> = categories
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default();
        if !categories.is_empty() && !categories.contains(&self.category) {
            return Err(StoreError::invalid(
                "category",
                format!(
                    "'{}' is not one of the region's categories: {}",
                    self.category,
                    categories.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

/// The derived village of a record placed at a stop.
pub fn village_of_stop(ctx: &Ctx<'_>, field: &str, stop_id: &str) -> StoreResult<Sql> {
    column_of::<String>(ctx.tx, "stops", "village_id", stop_id)?
        .map(Sql::Text)
        .ok_or_else(|| StoreError::invalid(field, format!("no stop with id {stop_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn needs_are_known_codes_each_once() {
        assert!(check_needs("helps_with", &[]).is_ok());
        assert!(check_needs("helps_with", &needs(&HELP_NEEDS)).is_ok());
        let unknown = check_needs("helps_with", &needs(&["alcohol", "gambling"])).unwrap_err();
        assert!(
            matches!(&unknown, StoreError::Invalid { field, reason }
                if field == "helps_with[1]" && reason.contains("gambling")),
            "{unknown:?}"
        );
        let twice = check_needs("helps_with", &needs(&["dementia", "dementia"])).unwrap_err();
        assert!(
            matches!(&twice, StoreError::Invalid { field, reason }
                if field == "helps_with[1]" && reason.contains("twice")),
            "{twice:?}"
        );
        // Codes, not words: the case matters.
        assert!(check_needs("helps_with", &needs(&["Alcohol"])).is_err());
    }
}
