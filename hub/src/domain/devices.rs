//! Kiosk devices of a region. Enrolment, certificates and heartbeats fill the hub-set fields.

use rusqlite::types::Value as Sql;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::common::check_name;
use super::places::village_of_stop;
use crate::store::StoreResult;
use crate::store::records::{Cancel, Ctx, Filters, Resource};

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
        check_name("name", &self.name)
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
