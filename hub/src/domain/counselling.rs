//! Counselling: IMBUS visits, consultation hours at kiosks, their bookable slots, appointments.

use rusqlite::types::Value as Sql;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{
    Instant, LocalDate, LocalTime, Weekday, check_bookable, check_name, check_span, column_of,
};
use crate::store::records::{Cancel, Ctx, Filters, Resource};
use crate::store::{StoreError, StoreResult};

/// Whether a visit is only planned, published to residents, or called off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    Planned,
    Published,
    Cancelled,
}

/// A visit of the IMBUS counselling bus to a village stop.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImbusVisit {
    pub region_id: String,
    pub village_id: String,
    pub stop_id: String,
    pub starts_at: Instant,
    pub ends_at: Instant,
    pub counsellor: String,
    #[serde(default = "visit_planned")]
    pub status: VisitStatus,
    /// The bus and counsellor of a planned tour; none for a visit made by hand.
    #[serde(default)]
    pub bus_id: Option<String>,
    #[serde(default)]
    pub counsellor_id: Option<String>,
    /// The tour plan the visit comes from (see `tours`).
    #[serde(default)]
    pub plan_id: Option<String>,
    /// Stands in for a regular visit whose day was closed.
    #[serde(default)]
    pub replacement: bool,
    /// Why the visit moved, shown to residents: required when a published visit's start changes.
    #[serde(default)]
    pub change_reason: Option<String>,
    /// Minutes at the end kept free of slots for people who just come by.
    #[serde(default)]
    pub walk_in_minutes: u32,
}

fn visit_planned() -> VisitStatus {
    VisitStatus::Planned
}

impl Resource for ImbusVisit {
    const KIND: &'static str = "imbus_visits";
    const NOUN: &'static str = "IMBUS visit";
    const CANCEL: Cancel = Cancel::Status {
        value: "cancelled",
        reason_column: Some("cancel_reason"),
    };
    const REFS: &'static [(&'static str, &'static str)] = &[
        ("village_id", "villages"),
        ("stop_id", "stops"),
        ("bus_id", "imbus_buses"),
        ("counsellor_id", "imbus_counsellors"),
        ("plan_id", "tour_plans"),
    ];
    const BOOL_COLUMNS: &'static [&'static str] = &["replacement"];
    const FILTERS: Filters = Filters {
        time: Some("starts_at"),
        village: Some("village_id"),
        status: true,
    };
    const SYNCED: bool = true;
    const DERIVED: &'static [(&'static str, &'static str)] = &[(
        "moved_from",
        "the announced start before the visit moved (set when its start changes)",
    )];

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        check_span("ends_at", self.starts_at, self.ends_at, 12)?;
        check_name("counsellor", &self.counsellor)?;
        if i64::from(self.walk_in_minutes) > (self.ends_at.0 - self.starts_at.0).num_minutes() {
            return Err(StoreError::invalid(
                "walk_in_minutes",
                "must not be longer than the visit",
            ));
        }
        if let Some(reason) = &self.change_reason {
            check_name("change_reason", reason)?;
        }
        match ctx.previous {
            None if self.change_reason.is_some() => {
                return Err(StoreError::invalid(
                    "change_reason",
                    "is given when a visit moves, not when it is made",
                ));
            }
            Some(previous) if self.start_changed(previous) => {
                crate::tours::check_visit_move(ctx, self, previous)?;
            }
            _ => {}
        }
        let stop_village: Option<String> = column_of(ctx.tx, "stops", "village_id", &self.stop_id)?;
        if stop_village.as_deref() != Some(self.village_id.as_str()) {
            return Err(StoreError::invalid(
                "stop_id",
                "the stop is not in the visited village",
            ));
        }
        if self.status == VisitStatus::Cancelled {
            return Err(StoreError::invalid(
                "status",
                "cancel a visit with its cancel operation, giving the reason",
            ));
        }
        Ok(())
    }

    fn derive(&self, ctx: &Ctx<'_>) -> StoreResult<Vec<(&'static str, Sql)>> {
        match ctx.previous {
            Some(previous) if self.start_changed(previous) => {
                // Residents know the start first announced: it stays the one shown as "was".
                let announced = previous
                    .get("moved_from")
                    .and_then(serde_json::Value::as_str)
                    .or_else(|| {
                        previous
                            .get("starts_at")
                            .and_then(serde_json::Value::as_str)
                    })
                    .map(str::to_string);
                let moved_from = announced.filter(|a| *a != self.starts_at.text());
                Ok(vec![(
                    "moved_from",
                    moved_from.map_or(Sql::Null, Sql::Text),
                )])
            }
            _ => Ok(Vec::new()),
        }
    }

    fn after_write(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        match ctx.previous {
            Some(previous) if self.start_changed(previous) => {
                crate::tours::move_slots(ctx, self, previous)
            }
            _ => Ok(()),
        }
    }
}

impl ImbusVisit {
    /// Whether this input starts at another instant than the stored `previous` record.
    fn start_changed(&self, previous: &serde_json::Value) -> bool {
        previous
            .get("starts_at")
            .and_then(serde_json::Value::as_str)
            != Some(self.starts_at.text().as_str())
    }
}

/// Weekly consultation hours of a health worker at a kiosk (Gesundheitskiosk).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationHours {
    pub region_id: String,
    pub device_id: String,
    pub weekday: Weekday,
    pub start_time: LocalTime,
    pub end_time: LocalTime,
    pub health_worker: String,
    pub valid_from: LocalDate,
    #[serde(default)]
    pub valid_until: Option<LocalDate>,
}

impl Resource for ConsultationHours {
    const KIND: &'static str = "consultation_hours";
    const NOUN: &'static str = "consultation hours entry";
    const CANCEL: Cancel = Cancel::Archive;
    const REFS: &'static [(&'static str, &'static str)] = &[("device_id", "devices")];
    const SYNCED: bool = true;

    fn validate(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        if self.end_time <= self.start_time {
            return Err(StoreError::invalid("end_time", "must be after start_time"));
        }
        check_name("health_worker", &self.health_worker)?;
        if self
            .valid_until
            .is_some_and(|until| until < self.valid_from)
        {
            return Err(StoreError::invalid(
                "valid_until",
                "must not be before valid_from",
            ));
        }
        Ok(())
    }
}

/// Whether a slot can be booked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlotStatus {
    Open,
    Cancelled,
}

/// A bookable counselling slot, at an IMBUS visit or in consultation hours at a kiosk.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    pub region_id: String,
    #[serde(default)]
    pub visit_id: Option<String>,
    #[serde(default)]
    pub consultation_hours_id: Option<String>,
    pub starts_at: Instant,
    pub ends_at: Instant,
    /// The kiosk that may confirm this slot while offline (its set-aside share).
    #[serde(default)]
    pub reserved_for_device_id: Option<String>,
    #[serde(default = "slot_open")]
    pub status: SlotStatus,
}

fn slot_open() -> SlotStatus {
    SlotStatus::Open
}

impl Resource for Slot {
    const KIND: &'static str = "slots";
    const NOUN: &'static str = "slot";
    const CANCEL: Cancel = Cancel::Status {
        value: "cancelled",
        reason_column: None,
    };
    const REFS: &'static [(&'static str, &'static str)] = &[
        ("visit_id", "imbus_visits"),
        ("consultation_hours_id", "consultation_hours"),
        ("reserved_for_device_id", "devices"),
    ];
    const FILTERS: Filters = Filters {
        time: Some("starts_at"),
        village: Some("village_id"),
        status: true,
    };
    const SYNCED: bool = true;
    const IMMUTABLE: &'static [&'static str] = &["visit_id", "consultation_hours_id"];
    const DERIVED: &'static [(&'static str, &'static str)] =
        &[("village_id", "where the slot takes place")];

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        check_span("ends_at", self.starts_at, self.ends_at, 4)?;
        match (&self.visit_id, &self.consultation_hours_id) {
            (Some(visit), None) => {
                let starts: Option<String> = column_of(ctx.tx, "imbus_visits", "starts_at", visit)?;
                let ends: Option<String> = column_of(ctx.tx, "imbus_visits", "ends_at", visit)?;
                if let (Some(starts), Some(ends)) = (starts, ends)
                    && (self.starts_at.text() < starts || self.ends_at.text() > ends)
                {
                    return Err(StoreError::invalid(
                        "starts_at",
                        "the slot lies outside the visit",
                    ));
                }
            }
            (None, Some(_)) => {}
            _ => {
                return Err(StoreError::invalid(
                    "visit_id",
                    "give exactly one of visit_id and consultation_hours_id",
                ));
            }
        }
        if let Some(device) = &self.reserved_for_device_id {
            let device_village: Option<String> =
                column_of(ctx.tx, "devices", "village_id", device)?;
            let slot_village = self.village(ctx)?;
            if device_village.as_deref() != Some(slot_village.as_str()) {
                return Err(StoreError::invalid(
                    "reserved_for_device_id",
                    "only the kiosk of the slot's village may hold it",
                ));
            }
        }
        Ok(())
    }

    fn derive(&self, ctx: &Ctx<'_>) -> StoreResult<Vec<(&'static str, Sql)>> {
        Ok(vec![("village_id", Sql::Text(self.village(ctx)?))])
    }
}

impl Slot {
    fn village(&self, ctx: &Ctx<'_>) -> StoreResult<String> {
        let village: Option<String> = match (&self.visit_id, &self.consultation_hours_id) {
            (Some(visit), _) => column_of(ctx.tx, "imbus_visits", "village_id", visit)?,
            (None, Some(hours)) => {
                let device: Option<String> =
                    column_of(ctx.tx, "consultation_hours", "device_id", hours)?;
                match device {
                    Some(device) => column_of(ctx.tx, "devices", "village_id", &device)?,
                    None => None,
                }
            }
            (None, None) => None,
        };
        village
            .ok_or_else(|| StoreError::invalid("visit_id", "the slot's visit or hours are unknown"))
    }
}

/// What a counselling appointment is about; the category only, never a diagnosis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Health,
    Care,
    Money,
    Housing,
    Loneliness,
    Addiction,
    Family,
    Other,
}

/// How an appointment was booked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentChannel {
    Kiosk,
    Web,
    Phone,
    Counsellor,
}

/// Where an appointment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    Attended,
    NoShow,
    Cancelled,
}

/// A booked counselling slot.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Appointment {
    pub region_id: String,
    pub slot_id: String,
    /// The resident, when known; a walk-in may stay anonymous.
    #[serde(default)]
    pub resident_id: Option<String>,
    pub topic: Topic,
    pub channel: AppointmentChannel,
    #[serde(default = "booked")]
    pub status: AppointmentStatus,
    /// Where the counsellor referred the person to: one of the region's destination categories.
    #[serde(default)]
    pub referral: Option<String>,
}

fn booked() -> AppointmentStatus {
    AppointmentStatus::Booked
}

impl Resource for Appointment {
    const KIND: &'static str = "appointments";
    const NOUN: &'static str = "appointment";
    const CANCEL: Cancel = Cancel::Status {
        value: "cancelled",
        reason_column: None,
    };
    const REFS: &'static [(&'static str, &'static str)] =
        &[("slot_id", "slots"), ("resident_id", "residents")];
    const FILTERS: Filters = Filters {
        time: Some("starts_at"),
        village: Some("village_id"),
        status: true,
    };
    const PERSONAL: bool = true;
    const IMMUTABLE: &'static [&'static str] = &["slot_id", "resident_id"];
    const DERIVED: &'static [(&'static str, &'static str)] = &[
        ("booking_code", "the code printed on the ticket"),
        ("village_id", "where the appointment takes place"),
        ("starts_at", "when the slot starts"),
        ("booked_by", "who booked"),
    ];

    /// A freed slot of an IMBUS visit goes to the first resident on the visit's waiting list,
    /// in the cancel's transaction (every cancel path runs this: the API's and the kiosk's).
    fn after_cancel(ctx: &Ctx<'_>) -> StoreResult<()> {
        crate::counselling::waiting::offer_freed_slot(ctx.tx, ctx.who, ctx.id, ctx.now)?;
        Ok(())
    }

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        if ctx.previous.is_none() {
            if self.status != AppointmentStatus::Booked {
                return Err(StoreError::invalid(
                    "status",
                    "a new appointment starts as booked",
                ));
            }
            let starts: Option<String> = column_of(ctx.tx, "slots", "starts_at", &self.slot_id)?;
            if let Some(starts) = starts {
                let starts: Instant = starts.parse().map_err(StoreError::Internal)?;
                check_bookable("slot_id", starts, ctx.now)?;
            }
        }
        if self.status == AppointmentStatus::Cancelled {
            return Err(StoreError::invalid(
                "status",
                "cancel an appointment with its cancel operation",
            ));
        }
        if let Some(referral) = &self.referral {
            let categories: Option<String> =
                column_of(ctx.tx, "regions", "destination_categories", &self.region_id)?;
            let categories: Vec<String> = categories
                .and_then(|c| serde_json::from_str(&c).ok())
                .unwrap_or_default();
            if !categories.contains(referral) {
                return Err(StoreError::invalid(
                    "referral",
                    "must be one of the region's destination categories",
                ));
            }
        }
        Ok(())
    }

    fn derive(&self, ctx: &Ctx<'_>) -> StoreResult<Vec<(&'static str, Sql)>> {
        let village: Option<String> = column_of(ctx.tx, "slots", "village_id", &self.slot_id)?;
        let starts: Option<String> = column_of(ctx.tx, "slots", "starts_at", &self.slot_id)?;
        let (Some(village), Some(starts)) = (village, starts) else {
            return Err(StoreError::invalid("slot_id", "no such slot"));
        };
        let mut derived = vec![
            ("village_id", Sql::Text(village)),
            ("starts_at", Sql::Text(starts)),
        ];
        if ctx.previous.is_none() {
            let id =
                uuid::Uuid::parse_str(ctx.id).map_err(|e| StoreError::Internal(e.to_string()))?;
            derived.push((
                "booking_code",
                Sql::Text(protocol::BookingCode::from_uuid(id).to_string()),
            ));
            derived.push(("booked_by", Sql::Text(ctx.who.actor.clone())));
        }
        Ok(derived)
    }
}
