//! Making the rides of ride series: one per series, date and leg, however often it runs.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::domain::common::{Weekday, local_to_instant, region_tz};
use crate::domain::rides::{RideRequest, RideStatus};
use crate::domain::series::{MAX_SERIES_DAYS, RideSeries};
use crate::store::logs::{self, Action, Who};
use crate::store::records::{self, from_object, read_row};
use crate::store::{StoreError, StoreResult, now_text};

/// Namespace of the ids of series rides: the same series, date and leg always give the same id.
const SERIES_NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_0d5e_3c2a_4f7e_9a41_55d2_8e0c_7b13);

/// Makes the missing rides of series `series_id` from today (or its first date) up to `until`
/// (default: the region's horizon), each booked and planned as it is made. Returns how many
/// rides were made; rides made before, also cancelled ones, are never made again.
pub fn generate_series(
    tx: &Connection,
    who: &Who,
    series_id: &str,
    now: DateTime<Utc>,
    until: Option<NaiveDate>,
) -> StoreResult<usize> {
    let record = read_row::<RideSeries>(tx, series_id)?;
    if record.get("archived_at").is_some_and(|v| !v.is_null()) {
        return Ok(0);
    }
    let fields = crate::store::fields::field_names::<RideSeries>();
    let input: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .filter_map(|f| record.get(*f).map(|v| ((*f).to_string(), v.clone())))
        .collect();
    let series: RideSeries = from_object(input)?;
    let tz = region_tz(tx, &series.region_id)?;
    let today = now.with_timezone(&tz).date_naive();
    let horizon_days = super::rules::RideRules::load(tx, &series.region_id)?.series_horizon_days;
    let horizon = today + Duration::days(horizon_days);
    let last = series
        .last_date
        .map(|d| d.0)
        .unwrap_or(series.first_date.0 + Duration::days(MAX_SERIES_DAYS));
    let until = until.unwrap_or(horizon).min(last);
    let mut made = 0;
    let mut date = series.first_date.0.max(today);
    while date <= until {
        if series.weekdays.contains(&Weekday::of(date)) {
            made += make_day(tx, who, series_id, &series, tz, date, now)?;
        }
        date = date
            .succ_opt()
            .ok_or_else(|| StoreError::invalid("last_date", "out of range"))?;
    }
    tx.execute(
        "UPDATE ride_series SET generated_until = MAX(COALESCE(generated_until, ''), ?1)
         WHERE id = ?2",
        params![until.to_string(), series_id],
    )?;
    Ok(made)
}

/// The rides of one date: the way there and, when the series has one, the way back.
fn make_day(
    tx: &Connection,
    who: &Who,
    series_id: &str,
    series: &RideSeries,
    tz: chrono_tz::Tz,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let at = |time: chrono::NaiveTime| {
        local_to_instant(tz, date, time).map_err(|e| StoreError::invalid("first_date", e))
    };
    let appointment_at = series.appointment_time.map(|t| at(t.0)).transpose()?;
    let pickup_at = series.pickup_time.map(|t| at(t.0)).transpose()?;
    let out_at = appointment_at.or(pickup_at).map(|i| i.0);
    let mut made = 0;
    let out_id = ride_id(series_id, date, "out");
    let out = RideRequest {
        region_id: series.region_id.clone(),
        resident_id: series.resident_id.clone(),
        from_stop_id: series.from_stop_id.clone(),
        from_destination_id: series.from_destination_id.clone(),
        from_home: series.from_home,
        to_stop_id: series.to_stop_id.clone(),
        to_destination_id: series.to_destination_id.clone(),
        to_home: series.to_home,
        appointment_at,
        pickup_at,
        return_of: None,
        passengers: series.passengers,
        wheelchair: series.wheelchair,
        walker: series.walker,
        status: RideStatus::Requested,
        channel: series.channel,
        caregiver_id: series.caregiver_id.clone(),
    };
    // A time that has passed today is not made any more.
    let out_exists = existing(tx, series_id, date, "out")?;
    if !out_exists && out_at.is_some_and(|t| t > now) {
        make(tx, who, out_id, &out, series_id, date, "out")?;
        made += 1;
    }
    if let Some(back_time) = series.return_pickup_time {
        let back_at = at(back_time.0)?;
        let out_made = out_exists || made == 1;
        if back_at.0 > now && !existing(tx, series_id, date, "back")? {
            let back = RideRequest {
                from_stop_id: series.to_stop_id.clone(),
                from_destination_id: series.to_destination_id.clone(),
                from_home: series.to_home,
                to_stop_id: series.from_stop_id.clone(),
                to_destination_id: series.from_destination_id.clone(),
                to_home: series.from_home,
                appointment_at: None,
                pickup_at: Some(back_at),
                return_of: out_made.then(|| out_id.to_string()),
                ..out
            };
            make(
                tx,
                who,
                ride_id(series_id, date, "back"),
                &back,
                series_id,
                date,
                "back",
            )?;
            made += 1;
        }
    }
    Ok(made)
}

fn ride_id(series_id: &str, date: NaiveDate, leg: &str) -> Uuid {
    Uuid::new_v5(
        &SERIES_NAMESPACE,
        format!("{series_id}/{date}/{leg}").as_bytes(),
    )
}

fn existing(tx: &Connection, series_id: &str, date: NaiveDate, leg: &str) -> StoreResult<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM ride_requests WHERE series_id = ?1 AND series_date = ?2 AND series_leg = ?3",
            params![series_id, date.to_string(), leg],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn make(
    tx: &Connection,
    who: &Who,
    id: Uuid,
    ride: &RideRequest,
    series_id: &str,
    date: NaiveDate,
    leg: &str,
) -> StoreResult<()> {
    records::create_in(tx, who, Some(id), ride).map_err(|e| match e {
        StoreError::Invalid { field, reason } => StoreError::Invalid {
            field,
            reason: format!("the ride of {date} ({leg}): {reason}"),
        },
        other => other,
    })?;
    tx.execute(
        "UPDATE ride_requests SET series_id = ?1, series_date = ?2, series_leg = ?3 WHERE id = ?4",
        params![series_id, date.to_string(), leg, id.to_string()],
    )?;
    Ok(())
}

/// Makes the rides of every live series of a region up to `until`.
pub fn generate_region(
    tx: &Connection,
    who: &Who,
    region_id: &str,
    now: DateTime<Utc>,
    until: NaiveDate,
) -> StoreResult<usize> {
    let ids: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT id FROM ride_series WHERE region_id = ?1 AND archived_at IS NULL
               AND (last_date IS NULL OR last_date >= ?2) ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map(params![region_id, now.date_naive().to_string()], |r| {
            r.get(0)
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let mut made = 0;
    for id in ids {
        made += generate_series(tx, who, &id, now, Some(until))?;
    }
    Ok(made)
}

/// Calls off the rides of a series that lie ahead (after `after`, a date, when given: a series
/// that now ends earlier).
pub fn end_series(
    tx: &Connection,
    who: &Who,
    series_id: &str,
    now: DateTime<Utc>,
    after: Option<NaiveDate>,
) -> StoreResult<()> {
    let rides: Vec<(String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, region_id FROM ride_requests WHERE series_id = ?1
               AND status IN ('requested', 'planned', 'confirmed')
               AND COALESCE(appointment_at, pickup_at) > ?2 AND series_date > ?3",
        )?;
        let after = after.map(|d| d.to_string()).unwrap_or_default();
        let rows = stmt.query_map(
            params![series_id, crate::domain::common::Instant(now).text(), after],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        rows.collect::<Result<_, _>>()?
    };
    for (ride, region) in rides {
        tx.execute(
            "UPDATE ride_requests SET status = 'cancelled', outcome = 'cancelled',
                 status_reason = 'the ride series ended', updated_at = ?1, version = version + 1
             WHERE id = ?2",
            params![now_text(), ride],
        )?;
        super::unplan(tx, &ride)?;
        super::call_backs::close_for_ride(tx, &ride, "cancelled", &who.actor)?;
        logs::audit(
            tx,
            who,
            Action::Cancel,
            "ride_requests",
            Some(&ride),
            Some(&region),
        )?;
    }
    Ok(())
}
