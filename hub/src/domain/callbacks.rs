//! The call-back queue as records: the hub puts ride requests it could not serve as asked on it;
//! residents (at a kiosk or by phone) ask to be called back by counselling. Staff phone them and
//! record how it ended.

use rusqlite::types::Value as Sql;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{check_name, check_phone, column_of};
use super::counselling::Topic;
use crate::store::records::{Cancel, Ctx, Filters, Resource};
use crate::store::{StoreError, StoreResult};

/// What the call is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallBackKind {
    Ride,
    Counselling,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallBackStatus {
    Open,
    Done,
}

/// How a call-back ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The planner found a place after all.
    Served,
    /// Booked again at another time or day.
    Rebooked,
    /// The resident did not want the alternatives; the ride is closed as turned down.
    TurnedDown,
    /// Nobody could be reached.
    Unreachable,
    /// The request was cancelled.
    Cancelled,
}

/// One entry of the call-back queue.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallBack {
    pub region_id: String,
    pub kind: CallBackKind,
    #[serde(default)]
    pub ride_request_id: Option<String>,
    #[serde(default)]
    pub resident_id: Option<String>,
    /// Name and phone when no resident record exists (asked at a kiosk).
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub topic: Option<Topic>,
    /// A reason code, e.g. `no_capacity_at_that_time` or `asked_to_be_called`.
    #[serde(default = "asked")]
    pub reason: String,
    #[serde(default = "open")]
    pub status: CallBackStatus,
    #[serde(default)]
    pub resolution: Option<Resolution>,
}

fn asked() -> String {
    "asked_to_be_called".into()
}

fn open() -> CallBackStatus {
    CallBackStatus::Open
}

impl Resource for CallBack {
    const KIND: &'static str = "call_backs";
    const NOUN: &'static str = "call-back";
    const CANCEL: Cancel = Cancel::Status {
        value: "done",
        reason_column: None,
    };
    const REFS: &'static [(&'static str, &'static str)] = &[
        ("ride_request_id", "ride_requests"),
        ("resident_id", "residents"),
    ];
    const FILTERS: Filters = Filters {
        time: Some("created_at"),
        village: None,
        status: true,
    };
    const PERSONAL: bool = true;
    const IMMUTABLE: &'static [&'static str] = &[
        "kind",
        "ride_request_id",
        "resident_id",
        "contact_name",
        "contact_phone",
    ];
    const DERIVED: &'static [(&'static str, &'static str)] = &[
        ("resolved_by", "who closed the call-back"),
        ("resolved_at", "when it was closed"),
    ];

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        match self.kind {
            CallBackKind::Ride => {
                let Some(ride) = &self.ride_request_id else {
                    return Err(StoreError::invalid(
                        "ride_request_id",
                        "a ride call-back names its ride request",
                    ));
                };
                let resident: Option<String> =
                    column_of(ctx.tx, "ride_requests", "resident_id", ride)?;
                if self.resident_id.is_some() && self.resident_id != resident {
                    return Err(StoreError::invalid(
                        "resident_id",
                        "is not the resident of the ride",
                    ));
                }
            }
            CallBackKind::Counselling => {
                if self.ride_request_id.is_some() {
                    return Err(StoreError::invalid(
                        "ride_request_id",
                        "a counselling call-back has no ride",
                    ));
                }
                if self.resident_id.is_none()
                    && (self.contact_name.is_none() || self.contact_phone.is_none())
                {
                    return Err(StoreError::invalid(
                        "contact_phone",
                        "give a resident_id, or a contact_name and contact_phone",
                    ));
                }
            }
        }
        if let Some(name) = &self.contact_name {
            check_name("contact_name", name)?;
        }
        if let Some(phone) = &self.contact_phone {
            check_phone("contact_phone", phone)?;
        }
        super::places::check_labels("reason", std::slice::from_ref(&self.reason))?;
        if ctx.previous.is_none() && self.status != CallBackStatus::Open {
            return Err(StoreError::invalid("status", "a new call-back starts open"));
        }
        match (self.status, self.resolution) {
            (CallBackStatus::Open, Some(_)) => Err(StoreError::invalid(
                "resolution",
                "an open call-back has no resolution; set status done with it",
            )),
            (CallBackStatus::Done, None) if ctx.previous.is_some() => Err(StoreError::invalid(
                "resolution",
                "say how the call-back ended",
            )),
            (_, Some(Resolution::TurnedDown)) if self.kind != CallBackKind::Ride => Err(
                StoreError::invalid("resolution", "only a ride can be turned down"),
            ),
            _ => Ok(()),
        }
    }

    fn derive(&self, ctx: &Ctx<'_>) -> StoreResult<Vec<(&'static str, Sql)>> {
        let was_open = ctx
            .previous
            .is_none_or(|p| p.get("status").and_then(|s| s.as_str()) == Some("open"));
        if self.status == CallBackStatus::Done && was_open {
            Ok(vec![
                ("resolved_by", Sql::Text(ctx.who.actor.clone())),
                ("resolved_at", Sql::Text(crate::store::now_text())),
            ])
        } else {
            Ok(Vec::new())
        }
    }

    /// Turning down a ride closes it with that outcome.
    fn after_write(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        if let (Some(Resolution::TurnedDown), Some(ride)) = (self.resolution, &self.ride_request_id)
        {
            crate::rides::outcomes::turned_down(ctx.tx, ride, ctx.who)?;
        }
        Ok(())
    }
}
