//! Kiosk devices of a region. Enrolment, certificates and heartbeats fill the hub-set fields.

use rusqlite::types::Value as Sql;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::common::{LocalTime, OpeningInterval, check_name};
use super::places::village_of_stop;
use crate::store::records::{Cancel, Ctx, Filters, Resource};
use crate::store::{StoreError, StoreResult};

/// A kiosk at a village stop.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub region_id: String,
    pub name: String,
    pub stop_id: String,
    /// Remote settings pushed to the kiosk (opening hours, languages, screen schedule).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
}

impl Resource for Device {
    const KIND: &'static str = "devices";
    const NOUN: &'static str = "device";
    const CANCEL: Cancel = Cancel::Status {
        value: "revoked",
        reason_column: None,
    };
    const JSON_COLUMNS: &'static [&'static str] = &["settings"];
    const REFS: &'static [(&'static str, &'static str)] = &[("stop_id", "stops")];
    const FILTERS: Filters = Filters {
        time: None,
        village: Some("village_id"),
        status: true,
    };
    const SYNCED: bool = true;
    const DERIVED: &'static [(&'static str, &'static str)] = &[
        ("village_id", "the village of the kiosk's stop"),
        ("status", "pending until enrolled, then active, or revoked"),
        (
            "cert_fingerprint",
            "SHA-256 of the kiosk's client certificate",
        ),
        ("last_seen_at", "last heartbeat"),
        ("software_version", "reported by the kiosk"),
        ("last_sync_at", "the last sync the hub answered"),
    ];

    fn validate(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("name", &self.name)?;
        check_settings(&self.settings)
    }

    /// Revoking a device stops its certificates and unused enrolment codes at once.
    fn after_cancel(ctx: &Ctx<'_>) -> StoreResult<()> {
        let region = ctx
            .previous
            .and_then(|p| p.get("region_id"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        crate::devices::revoke_in(ctx.tx, ctx.who, ctx.id, region)
    }

    fn derive(&self, ctx: &Ctx<'_>) -> StoreResult<Vec<(&'static str, Sql)>> {
        Ok(vec![(
            "village_id",
            village_of_stop(ctx, "stop_id", &self.stop_id)?,
        )])
    }
}

/// The remote settings a kiosk understands; every key optional, no other keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceSettings {
    /// Languages offered on the screen, in this order; German must be among them.
    languages: Option<Vec<String>>,
    /// When the kiosk's place (the supermarket) is open; the screen sleeps outside.
    opening_hours: Option<Vec<OpeningInterval>>,
    /// Screen on and off each day, local time.
    screen_on: Option<LocalTime>,
    screen_off: Option<LocalTime>,
    /// Screen brightness in percent by day and by night (10 to 100).
    brightness_day: Option<u8>,
    brightness_night: Option<u8>,
}

/// Refuses settings a kiosk could not follow, naming the key.
fn check_settings(settings: &Map<String, Value>) -> StoreResult<()> {
    let value = Value::Object(settings.clone());
    let parsed: DeviceSettings = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "settings".to_string()
        } else {
            format!("settings.{path}")
        };
        StoreError::invalid(field, e.inner().to_string())
    })?;
    if let Some(languages) = &parsed.languages {
        if let Some(bad) = languages
            .iter()
            .find(|l| !protocol::is_supported_language(l))
        {
            return Err(StoreError::invalid(
                "settings.languages",
                format!(
                    "'{bad}' is not offered; choose from {}",
                    protocol::LANGUAGES.join(", ")
                ),
            ));
        }
        if !languages.iter().any(|l| l == "de") {
            return Err(StoreError::invalid(
                "settings.languages",
                "German (de) is always offered",
            ));
        }
    }
    for (key, value) in [
        ("brightness_day", parsed.brightness_day),
        ("brightness_night", parsed.brightness_night),
    ] {
        if value.is_some_and(|v| !(10..=100).contains(&v)) {
            return Err(StoreError::invalid(
                format!("settings.{key}"),
                "a percentage from 10 to 100",
            ));
        }
    }
    if let Some(hours) = &parsed.opening_hours
        && let Some(bad) = hours.iter().find(|h| h.close.0 <= h.open.0)
    {
        return Err(StoreError::invalid(
            "settings.opening_hours",
            format!("closes before it opens on {:?}", bad.weekday),
        ));
    }
    if parsed.screen_on.is_some() != parsed.screen_off.is_some() {
        return Err(StoreError::invalid(
            "settings.screen_on",
            "screen_on and screen_off go together",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<(), String> {
        check_settings(v.as_object().expect("object")).map_err(|e| e.to_string())
    }

    #[test]
    fn settings_a_kiosk_can_follow_pass() {
        check(json!({})).unwrap();
        check(
            json!({"languages": ["de", "uk", "ar"], "screen_on": "07:30", "screen_off": "20:00",
                     "brightness_day": 90, "brightness_night": 30,
                     "opening_hours": [{"weekday": "mon", "open": "08:00", "close": "20:00"}]}),
        )
        .unwrap();
    }

    #[test]
    fn settings_a_kiosk_cannot_follow_are_named() {
        for (bad, names) in [
            (json!({"colour": "red"}), "colour"),
            (json!({"languages": ["de", "fr"]}), "'fr'"),
            (json!({"languages": ["en"]}), "German"),
            (json!({"brightness_day": 5}), "brightness_day"),
            (json!({"brightness_day": "bright"}), "brightness_day"),
            (
                json!({"screen_on": "25:00", "screen_off": "20:00"}),
                "screen_on",
            ),
            (json!({"screen_on": "07:00"}), "go together"),
            (
                json!({"opening_hours": [{"weekday": "mon", "open": "20:00", "close": "08:00"}]}),
                "closes before",
            ),
        ] {
            let err = check(bad.clone()).expect_err(&bad.to_string());
            assert!(err.contains(names), "{bad}: {err}");
        }
    }
}
