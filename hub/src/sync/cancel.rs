//! A kiosk's cancellation by booking code (outbox kind `cancel`, body `{"booking_code": …}`):
//! the ride or appointment with that code in the kiosk's region is cancelled through the same
//! domain code as the API's cancel (`records::cancel_in`: the ride's late-cancellation rule,
//! freed stops, audit and change log), acting as the device.
//!
//! The code may come from a ticket booked anywhere (web, phone, another kiosk of the region): the
//! resident holds the ticket. Answers: accepted with `status: cancelled` (also when it was
//! cancelled before, so a second tap or a second kiosk gets the same word), refused
//! [`UNKNOWN_CODE`] (no booking of this region has the code; another region's bookings are not
//! looked at) or [`ALREADY_DONE`] (the ride took place, the appointment was attended, or either
//! was a no-show). A repeat of the same entry gets its first answer from `device_writes`.

use protocol::BookingCode;
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Fail, refused};
use crate::devices::DeviceIdentity;
use crate::domain::{Appointment, RideRequest};
use crate::store::logs::Who;
use crate::store::{StoreError, records};

/// Title of the refusal of a code no booking of the kiosk's region has.
pub const UNKNOWN_CODE: &str = "unknown booking code";
/// Title of the refusal of a booking that has taken place (or was missed): nothing to cancel.
pub const ALREADY_DONE: &str = "already done";

/// The reason stored with a ride cancelled this way.
const REASON: &str = "cancelled by the resident at the kiosk";

/// A cancellation as a kiosk sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KioskCancel {
    booking_code: String,
}

/// Which kind of booking a code belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Booked {
    Ride,
    Appointment,
}

impl Booked {
    fn table(self) -> &'static str {
        match self {
            Booked::Ride => "ride_requests",
            Booked::Appointment => "appointments",
        }
    }
}

/// Cancels the booking `body` names, in the caller's transaction; the record the kiosk is
/// answered with: `status`, what was cancelled (`cancelled`) and, for a ride, whether it was
/// late (`outcome`). No booking code in it: the kiosk keeps its own entry's code.
pub(super) fn apply(
    tx: &Connection,
    device: &DeviceIdentity,
    who: &Who,
    body: &Map<String, Value>,
) -> Result<Value, Fail> {
    let cancel: KioskCancel = records::from_object(body.clone())?;
    let code: BookingCode = cancel
        .booking_code
        .parse()
        .map_err(|e| StoreError::invalid("booking_code", format!("not a booking code: {e}")))?;
    let code = code.to_string();
    let Some((booked, id, status)) = find(tx, &device.region_id, &code)? else {
        return Err(Fail::Refuse(refused(
            404,
            UNKNOWN_CODE,
            format!("no booking of this region has the code {code}"),
            Some("booking_code".into()),
        )));
    };
    if matches!(
        status.as_str(),
        "picked_up" | "done" | "no_show" | "attended"
    ) {
        return Err(Fail::Refuse(refused(
            409,
            ALREADY_DONE,
            format!("the booking {code} is {status}; there is nothing to cancel"),
            Some("booking_code".into()),
        )));
    }
    let record = match booked {
        Booked::Ride => records::cancel_in::<RideRequest>(tx, who, &id, Some(REASON))?,
        Booked::Appointment => records::cancel_in::<Appointment>(tx, who, &id, None)?,
    };
    let mut answer = Map::new();
    answer.insert("status".into(), json!(record["status"]));
    answer.insert("cancelled".into(), json!(booked.table()));
    if let Some(outcome) = record.get("outcome").filter(|o| !o.is_null()) {
        answer.insert("outcome".into(), outcome.clone());
    }
    Ok(Value::Object(answer))
}

/// The booking of `region` with `code`: which kind, its id and status.
fn find(
    tx: &Connection,
    region: &str,
    code: &str,
) -> Result<Option<(Booked, String, String)>, StoreError> {
    for booked in [Booked::Ride, Booked::Appointment] {
        let sql = format!(
            "SELECT id, status FROM {} WHERE region_id = ?1 AND booking_code = ?2",
            booked.table()
        );
        let found: Option<(String, String)> = tx
            .query_row(&sql, [region, code], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((id, status)) = found {
            return Ok(Some((booked, id, status)));
        }
    }
    Ok(None)
}
