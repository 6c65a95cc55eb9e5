//! Recurring rides: a series makes one ride per chosen weekday (and a way back when asked),
//! each planned like any other ride.

use rusqlite::types::Value as Sql;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{LocalDate, LocalTime, Weekday, column_of};
use super::rides::{Channel, check_caregiver, check_places};
use crate::rides::rules::{Person, RideRules};
use crate::store::records::{Cancel, Ctx, Filters, Resource};
use crate::store::{StoreError, StoreResult};

/// The longest a series may run; it can be renewed.
pub const MAX_SERIES_DAYS: i64 = 366;

/// Rides on fixed weekdays between two dates, e.g. dialysis Monday, Wednesday and Friday.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RideSeries {
    pub region_id: String,
    pub resident_id: String,
    /// The caregiver booking for the resident; must be linked to them.
    #[serde(default)]
    pub caregiver_id: Option<String>,
    #[serde(default)]
    pub from_stop_id: Option<String>,
    #[serde(default)]
    pub from_destination_id: Option<String>,
    #[serde(default)]
    pub from_home: bool,
    #[serde(default)]
    pub to_stop_id: Option<String>,
    #[serde(default)]
    pub to_destination_id: Option<String>,
    #[serde(default)]
    pub to_home: bool,
    /// The weekdays of the rides.
    pub weekdays: Vec<Weekday>,
    /// Arrive by this local time.
    #[serde(default)]
    pub appointment_time: Option<LocalTime>,
    /// Or: be picked up at this local time.
    #[serde(default)]
    pub pickup_time: Option<LocalTime>,
    /// The way back: picked up at the destination at this local time.
    #[serde(default)]
    pub return_pickup_time: Option<LocalTime>,
    pub first_date: LocalDate,
    /// The last date (at most a year after the first); open series run a year.
    #[serde(default)]
    pub last_date: Option<LocalDate>,
    #[serde(default = "one")]
    pub passengers: u32,
    #[serde(default)]
    pub wheelchair: bool,
    #[serde(default)]
    pub walker: bool,
    pub channel: Channel,
}

fn one() -> u32 {
    1
}

impl Resource for RideSeries {
    const KIND: &'static str = "ride_series";
    const NOUN: &'static str = "ride series";
    const CANCEL: Cancel = Cancel::Archive;
    const BOOL_COLUMNS: &'static [&'static str] = &["from_home", "to_home", "wheelchair", "walker"];
    const JSON_COLUMNS: &'static [&'static str] = &["weekdays"];
    const REFS: &'static [(&'static str, &'static str)] = &[
        ("resident_id", "residents"),
        ("caregiver_id", "caregivers"),
        ("from_stop_id", "stops"),
        ("from_destination_id", "destinations"),
        ("to_stop_id", "stops"),
        ("to_destination_id", "destinations"),
    ];
    const FILTERS: Filters = Filters {
        time: None,
        village: Some("village_id"),
        status: false,
    };
    const PERSONAL: bool = true;
    /// Only the end date and the caregiver change; other changes end the series and start anew.
    const IMMUTABLE: &'static [&'static str] = &[
        "resident_id",
        "channel",
        "from_stop_id",
        "from_destination_id",
        "from_home",
        "to_stop_id",
        "to_destination_id",
        "to_home",
        "weekdays",
        "appointment_time",
        "pickup_time",
        "return_pickup_time",
        "first_date",
        "passengers",
        "wheelchair",
        "walker",
    ];
    const DERIVED: &'static [(&'static str, &'static str)] = &[
        ("village_id", "the resident's village"),
        ("booked_by", "who booked"),
        ("generated_until", "the last date rides were made for"),
    ];

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        check_places(
            (
                self.from_home,
                &self.from_stop_id,
                &self.from_destination_id,
            ),
            (self.to_home, &self.to_stop_id, &self.to_destination_id),
        )?;
        if self.weekdays.is_empty() {
            return Err(StoreError::invalid("weekdays", "name at least one weekday"));
        }
        for (i, day) in self.weekdays.iter().enumerate() {
            if self.weekdays[..i].contains(day) {
                return Err(StoreError::invalid(
                    format!("weekdays[{i}]"),
                    "appears twice",
                ));
            }
        }
        match (self.appointment_time, self.pickup_time) {
            (None, None) => {
                return Err(StoreError::invalid(
                    "appointment_time",
                    "give an appointment time or a pickup time",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(StoreError::invalid(
                    "pickup_time",
                    "give an appointment time or a pickup time, not both",
                ));
            }
            _ => {}
        }
        if let Some(back) = self.return_pickup_time {
            let out = self.appointment_time.or(self.pickup_time).map(|t| t.0);
            if out.is_some_and(|out| back.0 <= out) {
                return Err(StoreError::invalid(
                    "return_pickup_time",
                    "the way back must start after the way there",
                ));
            }
        }
        if !(1..=8).contains(&self.passengers) {
            return Err(StoreError::invalid("passengers", "must be between 1 and 8"));
        }
        let today = ctx
            .now
            .with_timezone(&super::common::region_tz(ctx.tx, &self.region_id)?)
            .date_naive();
        if ctx.changed("first_date", &serde_json::json!(self.first_date))
            && self.first_date.0 < today
        {
            return Err(StoreError::invalid("first_date", "lies in the past"));
        }
        if let Some(last) = self.last_date {
            if last.0 < self.first_date.0 {
                return Err(StoreError::invalid("last_date", "lies before first_date"));
            }
            if (last.0 - self.first_date.0).num_days() > MAX_SERIES_DAYS {
                return Err(StoreError::invalid(
                    "last_date",
                    "a series runs at most a year; renew it then",
                ));
            }
        }
        check_caregiver(ctx.tx, self.caregiver_id.as_deref(), &self.resident_id)?;
        if ctx.previous.is_none() {
            // The rules are checked for each ride too; checking here refuses the series at once.
            let rules = RideRules::load(ctx.tx, &self.region_id)?;
            let person = Person::load(ctx.tx, &self.resident_id)?;
            crate::rides::rules::check_eligible(&rules, &person, ctx.now)?;
        }
        Ok(())
    }

    fn derive(&self, ctx: &Ctx<'_>) -> StoreResult<Vec<(&'static str, Sql)>> {
        let village: Option<String> =
            column_of(ctx.tx, "residents", "village_id", &self.resident_id)?;
        let village =
            village.ok_or_else(|| StoreError::invalid("resident_id", "no such resident"))?;
        let mut derived = vec![("village_id", Sql::Text(village))];
        if ctx.previous.is_none() {
            derived.push(("booked_by", Sql::Text(ctx.who.actor.clone())));
        }
        Ok(derived)
    }

    /// A new series makes its rides for the coming weeks at once; one that now ends earlier
    /// calls off its rides after the new end.
    fn after_write(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        match (ctx.previous, self.last_date) {
            (None, _) => {
                crate::rides::series::generate_series(ctx.tx, ctx.who, ctx.id, ctx.now, None)?;
            }
            (Some(_), Some(last)) => {
                crate::rides::series::end_series(ctx.tx, ctx.who, ctx.id, ctx.now, Some(last.0))?;
            }
            (Some(_), None) => {}
        }
        Ok(())
    }

    /// Ending a series calls off its rides that have not happened yet.
    fn after_cancel(ctx: &Ctx<'_>) -> StoreResult<()> {
        crate::rides::series::end_series(ctx.tx, ctx.who, ctx.id, ctx.now, None)
    }
}
