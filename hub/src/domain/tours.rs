//! IMBUS tour planning records: the counselling buses with their working time, the counsellors
//! with their weekdays, and the days without IMBUS (region-wide, per bus, per counsellor).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{LocalDate, LocalTime, Weekday, check_coordinates, check_name};
use crate::store::records::{Cancel, Ctx, Resource};
use crate::store::{StoreError, StoreResult};

/// Monday to Friday, the default working week.
pub fn working_week() -> Vec<Weekday> {
    vec![
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ]
}

fn thirty() -> u32 {
    30
}

fn half_past_eleven() -> LocalTime {
    LocalTime(chrono::NaiveTime::from_hms_opt(11, 30, 0).expect("a valid time"))
}

fn half_past_one() -> LocalTime {
    LocalTime(chrono::NaiveTime::from_hms_opt(13, 30, 0).expect("a valid time"))
}

/// Weekdays: at least one, each once.
fn check_weekdays(field: &str, days: &[Weekday]) -> StoreResult<()> {
    if days.is_empty() {
        return Err(StoreError::invalid(field, "name at least one weekday"));
    }
    for (i, day) in days.iter().enumerate() {
        if days[..i].contains(day) {
            return Err(StoreError::invalid(
                format!("{field}[{i}]"),
                "appears twice",
            ));
        }
    }
    Ok(())
}

/// A counselling bus (IMBUS): where it starts each day and when it works. Times are wall clock
/// in the region's time zone.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImbusBus {
    pub region_id: String,
    pub name: String,
    pub depot_name: String,
    pub depot_lat: f64,
    pub depot_lon: f64,
    /// The weekdays the bus drives; Monday to Friday if not given.
    #[serde(default = "working_week")]
    pub weekdays: Vec<Weekday>,
    /// Leaves the depot no earlier and is back no later.
    pub day_start: LocalTime,
    pub day_end: LocalTime,
    /// A break of this many minutes (0: none) between `break_from` and `break_until`.
    #[serde(default = "thirty")]
    pub break_minutes: u32,
    #[serde(default = "half_past_eleven")]
    pub break_from: LocalTime,
    #[serde(default = "half_past_one")]
    pub break_until: LocalTime,
}

impl Resource for ImbusBus {
    const KIND: &'static str = "imbus_buses";
    const NOUN: &'static str = "IMBUS bus";
    const CANCEL: Cancel = Cancel::Archive;
    const JSON_COLUMNS: &'static [&'static str] = &["weekdays"];

    fn validate(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("name", &self.name)?;
        check_name("depot_name", &self.depot_name)?;
        check_coordinates("depot_lat", self.depot_lat, "depot_lon", self.depot_lon)?;
        check_weekdays("weekdays", &self.weekdays)?;
        if self.day_end <= self.day_start {
            return Err(StoreError::invalid("day_end", "must be after day_start"));
        }
        if self.break_minutes > 120 {
            return Err(StoreError::invalid(
                "break_minutes",
                "must be between 0 and 120",
            ));
        }
        if self.break_minutes > 0 {
            let window = (self.break_until.0 - self.break_from.0).num_minutes();
            if window < i64::from(self.break_minutes) {
                return Err(StoreError::invalid(
                    "break_until",
                    "the break window must be at least as long as the break",
                ));
            }
            if self.break_from < self.day_start || self.break_until > self.day_end {
                return Err(StoreError::invalid(
                    "break_from",
                    "the break window must lie within the working day",
                ));
            }
        }
        Ok(())
    }
}

/// A counsellor who staffs the IMBUS, with the weekdays they work.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImbusCounsellor {
    pub region_id: String,
    pub name: String,
    /// The health-worker account that sees the counsellor's day view.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The weekdays the counsellor works; Monday to Friday if not given.
    #[serde(default = "working_week")]
    pub weekdays: Vec<Weekday>,
}

impl Resource for ImbusCounsellor {
    const KIND: &'static str = "imbus_counsellors";
    const NOUN: &'static str = "IMBUS counsellor";
    const CANCEL: Cancel = Cancel::Archive;
    const JSON_COLUMNS: &'static [&'static str] = &["weekdays"];
    const REFS: &'static [(&'static str, &'static str)] = &[("account_id", "accounts")];

    fn validate(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("name", &self.name)?;
        check_weekdays("weekdays", &self.weekdays)
    }
}

/// A day without IMBUS: for the whole region (neither bus nor counsellor given), for one bus
/// (workshop) or for one counsellor (absence). Public holidays of Lower Saxony need no record.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImbusClosedDay {
    pub region_id: String,
    /// The local date.
    pub date: LocalDate,
    #[serde(default)]
    pub bus_id: Option<String>,
    #[serde(default)]
    pub counsellor_id: Option<String>,
    /// Why: shown to admins, and to residents when a visit moves because of it.
    pub reason: String,
}

impl Resource for ImbusClosedDay {
    const KIND: &'static str = "imbus_closed_days";
    const NOUN: &'static str = "IMBUS closed day";
    const CANCEL: Cancel = Cancel::Archive;
    const REFS: &'static [(&'static str, &'static str)] = &[
        ("bus_id", "imbus_buses"),
        ("counsellor_id", "imbus_counsellors"),
    ];
    const IMMUTABLE: &'static [&'static str] = &["bus_id", "counsellor_id"];

    fn validate(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("reason", &self.reason)?;
        if self.bus_id.is_some() && self.counsellor_id.is_some() {
            return Err(StoreError::invalid(
                "counsellor_id",
                "a closed day is for the region, one bus or one counsellor: give at most one",
            ));
        }
        let year = chrono::Datelike::year(&self.date.0);
        if !(2000..=2100).contains(&year) {
            return Err(StoreError::invalid(
                "date",
                "must lie between 2000 and 2100",
            ));
        }
        Ok(())
    }
}
