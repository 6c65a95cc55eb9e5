//! Ride requests of the shared ride service and the planned stop sequence of a shift.

use chrono::Timelike;
use rusqlite::types::Value as Sql;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{
    Instant, OpeningInterval, Weekday, check_bookable, column_of, is_open, region_tz,
};
use crate::rides::rules::{Person, RideRules, check_eligible, check_no_shows, standing};
use crate::store::records::{Cancel, Ctx, Filters, Resource};
use crate::store::{StoreError, StoreResult};

/// Through which channel something was booked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Kiosk,
    Web,
    Phone,
}

/// Where a ride request is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RideStatus {
    Requested,
    Planned,
    Confirmed,
    PickedUp,
    Done,
    NoShow,
    Cancelled,
}

/// A ride a resident asked for: from a stop, destination or home to another, either to arrive by
/// an appointment or to be picked up at a desired time.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RideRequest {
    pub region_id: String,
    pub resident_id: String,
    #[serde(default)]
    pub from_stop_id: Option<String>,
    #[serde(default)]
    pub from_destination_id: Option<String>,
    /// Picked up at the resident's home address.
    #[serde(default)]
    pub from_home: bool,
    #[serde(default)]
    pub to_stop_id: Option<String>,
    #[serde(default)]
    pub to_destination_id: Option<String>,
    #[serde(default)]
    pub to_home: bool,
    /// The appointment: arrive not later than this.
    #[serde(default)]
    pub appointment_at: Option<Instant>,
    /// Or: when the resident wants to be picked up. With an appointment it must come before it.
    #[serde(default)]
    pub pickup_at: Option<Instant>,
    /// The outbound ride this one brings the resident back from.
    #[serde(default)]
    pub return_of: Option<String>,
    /// People travelling, the resident included (a companion counts).
    #[serde(default = "one")]
    pub passengers: u32,
    #[serde(default)]
    pub wheelchair: bool,
    #[serde(default)]
    pub walker: bool,
    #[serde(default = "requested")]
    pub status: RideStatus,
    pub channel: Channel,
    /// The caregiver (Kümmerer:in) booking for the resident; must be linked to them.
    #[serde(default)]
    pub caregiver_id: Option<String>,
}

/// Fields whose change makes the stored plan of a ride void.
const PLANNING_FIELDS: &[&str] = &[
    "from_stop_id",
    "from_destination_id",
    "from_home",
    "to_stop_id",
    "to_destination_id",
    "to_home",
    "appointment_at",
    "pickup_at",
    "passengers",
    "wheelchair",
    "walker",
];

fn one() -> u32 {
    1
}

fn requested() -> RideStatus {
    RideStatus::Requested
}

impl Resource for RideRequest {
    const KIND: &'static str = "ride_requests";
    const NOUN: &'static str = "ride request";
    const CANCEL: Cancel = Cancel::Status {
        value: "cancelled",
        reason_column: Some("status_reason"),
    };
    const BOOL_COLUMNS: &'static [&'static str] = &["from_home", "to_home", "wheelchair", "walker"];
    const JSON_COLUMNS: &'static [&'static str] = &["planning", "notice"];
    const REFS: &'static [(&'static str, &'static str)] = &[
        ("resident_id", "residents"),
        ("from_stop_id", "stops"),
        ("from_destination_id", "destinations"),
        ("to_stop_id", "stops"),
        ("to_destination_id", "destinations"),
        ("return_of", "ride_requests"),
        ("caregiver_id", "caregivers"),
    ];
    const FILTERS: Filters = Filters {
        time: Some("COALESCE(appointment_at, pickup_at)"),
        village: Some("village_id"),
        status: true,
    };
    const PERSONAL: bool = true;
    const IMMUTABLE: &'static [&'static str] = &["resident_id", "channel"];
    const DERIVED: &'static [(&'static str, &'static str)] = &[
        ("booking_code", "the code printed on the ticket"),
        ("village_id", "the resident's village"),
        ("booked_by", "who booked"),
        ("pickup_window_start", "start of the promised pickup window"),
        ("pickup_window_end", "end of the promised pickup window"),
        ("shift_id", "the shift that serves the ride"),
        (
            "status_reason",
            "why the ride was cancelled, turned down or missed",
        ),
        (
            "planning",
            "when not served as asked: reason code, German and English text, alternatives",
        ),
        ("planned_pickup_at", "planned start of boarding"),
        ("planned_dropoff_at", "planned start of alighting"),
        (
            "outcome",
            "done, cancelled, late_cancellation, no_show or turned_down",
        ),
        (
            "notice",
            "a notice given with the booking, e.g. the no-show warning",
        ),
        ("series_id", "the ride series that made this ride"),
        ("series_date", "the date of the series this ride is for"),
        ("series_leg", "out or back"),
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
        if ctx.previous.is_none() && self.status != RideStatus::Requested {
            return Err(StoreError::invalid(
                "status",
                "a new ride request starts as requested",
            ));
        }
        if self.status == RideStatus::Cancelled {
            return Err(StoreError::invalid(
                "status",
                "cancel a ride with its cancel operation, giving the reason",
            ));
        }
        if let Some(previous) = ctx.previous {
            check_transition(previous, self.status)?;
        }
        check_caregiver(ctx.tx, self.caregiver_id.as_deref(), &self.resident_id)?;
        if ctx.previous.is_none() {
            let rules = RideRules::load(ctx.tx, &self.region_id)?;
            let person = Person::load(ctx.tx, &self.resident_id)?;
            if let Some(at) = self.appointment_at.or(self.pickup_at) {
                check_eligible(&rules, &person, at.0)?;
            }
        }
        if !(1..=8).contains(&self.passengers) {
            return Err(StoreError::invalid("passengers", "must be between 1 and 8"));
        }
        match (self.pickup_at, self.appointment_at) {
            (None, None) => {
                return Err(StoreError::invalid(
                    "appointment_at",
                    "give an appointment time or a pickup time",
                ));
            }
            (Some(pickup), Some(appointment)) if appointment <= pickup => {
                return Err(StoreError::invalid(
                    "appointment_at",
                    "the appointment must come after the pickup",
                ));
            }
            _ => {}
        }
        for (field, at) in [
            ("pickup_at", self.pickup_at),
            ("appointment_at", self.appointment_at),
        ] {
            if let Some(at) = at {
                let value =
                    serde_json::to_value(at).map_err(|e| StoreError::Internal(e.to_string()))?;
                if ctx.changed(field, &value) {
                    check_bookable(field, at, ctx.now)?;
                }
            }
        }
        if let (Some(appointment), Some(dest)) = (self.appointment_at, &self.to_destination_id) {
            check_opening_hours(ctx, appointment, dest)?;
        }
        if let Some(outbound) = &self.return_of {
            if outbound == ctx.id {
                return Err(StoreError::invalid(
                    "return_of",
                    "a ride cannot be its own return",
                ));
            }
            let resident: Option<String> =
                column_of(ctx.tx, "ride_requests", "resident_id", outbound)?;
            if resident.as_deref() != Some(self.resident_id.as_str()) {
                return Err(StoreError::invalid(
                    "return_of",
                    "the outbound ride is another resident's",
                ));
            }
            let arrive: Option<String> =
                column_of(ctx.tx, "ride_requests", "appointment_at", outbound)?;
            let back = self.pickup_at.or(self.appointment_at).map(|i| i.text());
            if let (Some(arrive), Some(back)) = (arrive, back)
                && back <= arrive
            {
                return Err(StoreError::invalid(
                    "pickup_at",
                    "the return must start after the outbound appointment",
                ));
            }
        }
        if self.wheelchair {
            let places: i64 = ctx.tx.query_row(
                "SELECT COALESCE(MAX(wheelchair_places), 0) FROM vehicles
                 WHERE region_id = ?1 AND archived_at IS NULL",
                [&self.region_id],
                |r| r.get(0),
            )?;
            if places == 0 {
                return Err(StoreError::invalid(
                    "wheelchair",
                    "no vehicle of this region has a wheelchair place",
                ));
            }
        }
        Ok(())
    }

    /// A new ride is planned at once (instant insertion); a ride whose time, places or
    /// passengers changed gives up its stops and promise and is planned again. A no-show frees
    /// the ride's stops and calls off its way back.
    fn after_write(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        let previous_status = ctx
            .previous
            .and_then(|p| p.get("status"))
            .and_then(|s| s.as_str());
        match self.status {
            RideStatus::NoShow if previous_status != Some("no_show") => {
                return crate::rides::outcomes::no_show(ctx.tx, ctx.id);
            }
            RideStatus::Done if previous_status != Some("done") => {
                return crate::rides::outcomes::done(ctx.tx, ctx.id);
            }
            RideStatus::Requested | RideStatus::Planned | RideStatus::Confirmed => {}
            _ => return Ok(()),
        }
        let replan = match ctx.previous {
            None => true,
            Some(previous) => {
                let now =
                    serde_json::to_value(self).map_err(|e| StoreError::Internal(e.to_string()))?;
                PLANNING_FIELDS
                    .iter()
                    .any(|f| previous.get(*f) != now.get(*f))
            }
        };
        if !replan {
            return Ok(());
        }
        if ctx.previous.is_some() {
            crate::rides::unplan(ctx.tx, ctx.id)?;
        }
        crate::rides::book(ctx.tx, ctx.id, ctx.now)?;
        Ok(())
    }

    /// A cancelled ride frees its stops; the outcome says whether it was cancelled in time.
    fn after_cancel(ctx: &Ctx<'_>) -> StoreResult<()> {
        crate::rides::outcomes::cancelled(ctx.tx, ctx.id, ctx.now)
    }

    fn derive(&self, ctx: &Ctx<'_>) -> StoreResult<Vec<(&'static str, Sql)>> {
        let village: Option<String> =
            column_of(ctx.tx, "residents", "village_id", &self.resident_id)?;
        let village =
            village.ok_or_else(|| StoreError::invalid("resident_id", "no such resident"))?;
        let mut derived = vec![("village_id", Sql::Text(village))];
        if ctx.previous.is_none() {
            let id =
                uuid::Uuid::parse_str(ctx.id).map_err(|e| StoreError::Internal(e.to_string()))?;
            derived.push((
                "booking_code",
                Sql::Text(protocol::BookingCode::from_uuid(id).to_string()),
            ));
            derived.push(("booked_by", Sql::Text(ctx.who.actor.clone())));
            // The no-show rule refuses here or gives the notice stored with the booking.
            let rules = RideRules::load(ctx.tx, &self.region_id)?;
            let standing = standing(ctx.tx, &rules, &self.resident_id, ctx.now)?;
            let notice = check_no_shows(&rules, standing, self.caregiver_id.as_deref())?;
            derived.push((
                "notice",
                notice.map_or(Sql::Null, |n| Sql::Text(n.to_string())),
            ));
        }
        Ok(derived)
    }
}

/// One end of a ride: home, a stop or a destination.
pub(crate) type End<'a> = (bool, &'a Option<String>, &'a Option<String>);

/// A ride (or a series) names exactly one place at each end, and two different places.
pub(crate) fn check_places(from: End<'_>, to: End<'_>) -> StoreResult<()> {
    let count = |(home, stop, dest): End<'_>| {
        usize::from(home) + usize::from(stop.is_some()) + usize::from(dest.is_some())
    };
    if count(from) != 1 {
        return Err(StoreError::invalid(
            "from_stop_id",
            "give exactly one of from_stop_id, from_destination_id, from_home",
        ));
    }
    if count(to) != 1 {
        return Err(StoreError::invalid(
            "to_stop_id",
            "give exactly one of to_stop_id, to_destination_id, to_home",
        ));
    }
    let same_place = (from.0 && to.0)
        || (from.1.is_some() && from.1 == to.1)
        || (from.2.is_some() && from.2 == to.2);
    if same_place {
        return Err(StoreError::invalid(
            "to_stop_id",
            "the ride must go somewhere else",
        ));
    }
    Ok(())
}

/// A caregiver who books for a resident must be linked to them.
pub(crate) fn check_caregiver(
    tx: &rusqlite::Connection,
    caregiver: Option<&str>,
    resident: &str,
) -> StoreResult<()> {
    let Some(caregiver) = caregiver else {
        return Ok(());
    };
    let linked: i64 = tx.query_row(
        "SELECT count(*) FROM caregiver_links
         WHERE caregiver_id = ?1 AND resident_id = ?2 AND archived_at IS NULL",
        [caregiver, resident],
        |r| r.get(0),
    )?;
    if linked == 0 {
        return Err(StoreError::invalid(
            "caregiver_id",
            "this caregiver is not linked to the resident",
        ));
    }
    Ok(())
}

/// The status changes a client may make: forwards only. A dispatcher may plan and confirm by
/// hand; drivers and dispatchers record that a ride was picked up, done or missed.
fn check_transition(previous: &serde_json::Value, next: RideStatus) -> StoreResult<()> {
    let from = previous
        .get("status")
        .and_then(|s| s.as_str())
        .unwrap_or_default();
    let to = serde_json::to_value(next).map_err(|e| StoreError::Internal(e.to_string()))?;
    let to = to.as_str().unwrap_or_default();
    let allowed = from == to
        || matches!(
            (from, next),
            ("requested", RideStatus::Planned | RideStatus::Confirmed)
                | ("planned", RideStatus::Confirmed)
                | (
                    "planned" | "confirmed",
                    RideStatus::PickedUp | RideStatus::NoShow
                )
                | ("picked_up", RideStatus::Done)
        );
    if allowed {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "status",
            format!("a ride cannot go from {from} to {to}"),
        ))
    }
}

/// An appointment at a destination must fall in its opening hours (when they are known).
fn check_opening_hours(ctx: &Ctx<'_>, appointment: Instant, destination: &str) -> StoreResult<()> {
    if open_at(ctx.tx, destination, appointment)? {
        return Ok(());
    }
    let region: Option<String> = column_of(ctx.tx, "destinations", "region_id", destination)?;
    let tz = region_tz(ctx.tx, region.as_deref().unwrap_or_default())?;
    Err(StoreError::invalid(
        "appointment_at",
        format!(
            "{} is outside the destination's opening hours",
            appointment.local(tz).format("%a %d.%m.%Y %H:%M")
        ),
    ))
}

/// Whether a destination is open at `at`; true when its opening hours are not known.
pub(crate) fn open_at(
    tx: &rusqlite::Connection,
    destination: &str,
    at: Instant,
) -> StoreResult<bool> {
    let hours: Option<String> = column_of(tx, "destinations", "opening_hours", destination)?;
    let hours: Vec<OpeningInterval> = hours
        .map(|h| serde_json::from_str(&h))
        .transpose()
        .map_err(|e| StoreError::Internal(format!("opening hours unreadable: {e}")))?
        .unwrap_or_default();
    if hours.is_empty() {
        return Ok(true);
    }
    let region: Option<String> = column_of(tx, "destinations", "region_id", destination)?;
    let tz = region_tz(tx, region.as_deref().unwrap_or_default())?;
    let local = at.local(tz);
    let time = local.time().with_second(0).unwrap_or(local.time());
    Ok(is_open(&hours, Weekday::of(local.date_naive()), time))
}

/// Pickup or dropoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    Pickup,
    Dropoff,
}

/// State of one planned stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RouteStopStatus {
    Planned,
    Done,
    NoShow,
    Cancelled,
}

/// One stop in the planned sequence of a shift.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteStop {
    pub region_id: String,
    pub shift_id: String,
    /// Position in the shift's sequence, from 0.
    pub position: u32,
    pub ride_request_id: String,
    pub kind: StopKind,
    pub planned_at: Instant,
    #[serde(default = "planned")]
    pub status: RouteStopStatus,
}

fn planned() -> RouteStopStatus {
    RouteStopStatus::Planned
}

impl Resource for RouteStop {
    const KIND: &'static str = "route_stops";
    const NOUN: &'static str = "route stop";
    const CANCEL: Cancel = Cancel::Status {
        value: "cancelled",
        reason_column: None,
    };
    const REFS: &'static [(&'static str, &'static str)] =
        &[("shift_id", "shifts"), ("ride_request_id", "ride_requests")];
    const FILTERS: Filters = Filters {
        time: Some("planned_at"),
        village: None,
        status: true,
    };
    const PERSONAL: bool = true;

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        let starts: Option<String> = column_of(ctx.tx, "shifts", "starts_at", &self.shift_id)?;
        let ends: Option<String> = column_of(ctx.tx, "shifts", "ends_at", &self.shift_id)?;
        let at = self.planned_at.text();
        if let (Some(starts), Some(ends)) = (starts, ends)
            && (at < starts || at > ends)
        {
            return Err(StoreError::invalid("planned_at", "lies outside the shift"));
        }
        Ok(())
    }
}
