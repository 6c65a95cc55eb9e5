//! The ride service's fleet: vehicles and the drivers' shifts on them.

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{Instant, check_coordinates, check_name, check_span};
use crate::store::records::{Cancel, Ctx, Filters, Resource};
use crate::store::{StoreError, StoreResult};

/// A vehicle with its seats, wheelchair places and depot.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vehicle {
    pub region_id: String,
    pub name: String,
    /// Passenger seats (the driver's not counted).
    pub seats: u32,
    #[serde(default)]
    pub wheelchair_places: u32,
    pub depot_name: String,
    pub depot_lat: f64,
    pub depot_lon: f64,
}

impl Resource for Vehicle {
    const KIND: &'static str = "vehicles";
    const NOUN: &'static str = "vehicle";
    const CANCEL: Cancel = Cancel::Archive;

    fn validate(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("name", &self.name)?;
        if !(1..=60).contains(&self.seats) {
            return Err(StoreError::invalid("seats", "must be between 1 and 60"));
        }
        if self.wheelchair_places > 10 {
            return Err(StoreError::invalid(
                "wheelchair_places",
                "must be between 0 and 10",
            ));
        }
        check_name("depot_name", &self.depot_name)?;
        check_coordinates("depot_lat", self.depot_lat, "depot_lon", self.depot_lon)
    }
}

/// A shift of a driver on a vehicle, with an optional break.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub region_id: String,
    pub vehicle_id: String,
    #[serde(default)]
    pub driver_name: Option<String>,
    /// The driver account whose phone page shows this shift's run sheet.
    #[serde(default)]
    pub driver_account_id: Option<String>,
    pub starts_at: Instant,
    pub ends_at: Instant,
    /// Earliest start of the break.
    #[serde(default)]
    pub break_after: Option<Instant>,
    #[serde(default)]
    pub break_minutes: u32,
}

impl Resource for Shift {
    const KIND: &'static str = "shifts";
    const NOUN: &'static str = "shift";
    const CANCEL: Cancel = Cancel::Status {
        value: "cancelled",
        reason_column: Some("cancel_reason"),
    };
    const REFS: &'static [(&'static str, &'static str)] = &[
        ("vehicle_id", "vehicles"),
        ("driver_account_id", "accounts"),
    ];
    const FILTERS: Filters = Filters {
        time: Some("starts_at"),
        village: None,
        status: true,
    };

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        check_span("ends_at", self.starts_at, self.ends_at, 14)?;
        if let Some(driver) = &self.driver_account_id {
            let role: Option<String> = ctx
                .tx
                .query_row("SELECT role FROM accounts WHERE id = ?1", [driver], |r| {
                    r.get(0)
                })
                .optional()?;
            if role.as_deref() != Some("driver") {
                return Err(StoreError::invalid(
                    "driver_account_id",
                    "must be a driver's account",
                ));
            }
        }
        if self.break_minutes > 180 {
            return Err(StoreError::invalid("break_minutes", "must be at most 180"));
        }
        match self.break_after {
            Some(at)
                if at < self.starts_at
                    || at.0 + chrono::Duration::minutes(self.break_minutes.into())
                        > self.ends_at.0 =>
            {
                Err(StoreError::invalid(
                    "break_after",
                    "the break must lie within the shift",
                ))
            }
            None if self.break_minutes > 0 => Err(StoreError::invalid(
                "break_after",
                "a break needs its earliest start",
            )),
            _ => Ok(()),
        }
    }
}
