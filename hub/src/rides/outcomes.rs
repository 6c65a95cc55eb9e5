//! How rides end: done, cancelled (in time or late), no-show, turned down. Each ending frees
//! the ride's planned stops and closes its call-back.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::call_backs;
use super::rules::{RideRules, cancel_outcome};
use crate::domain::common::Instant;
use crate::store::logs::{self, Action, Who};
use crate::store::{StoreError, StoreResult, now_text};

/// The hub acting on its own rules, for the audit log.
fn rule(what: &str) -> Who {
    Who {
        actor: format!("hub:{what}"),
        request_id: None,
    }
}

/// The pickup a cancellation is measured against: the promised window, else the plan, else
/// what was asked.
fn pickup_of(conn: &Connection, ride_id: &str) -> StoreResult<(String, DateTime<Utc>)> {
    let (region, at): (String, String) = conn.query_row(
        "SELECT region_id, COALESCE(pickup_window_start, planned_pickup_at, pickup_at, appointment_at)
         FROM ride_requests WHERE id = ?1",
        [ride_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let at: Instant = at.parse().map_err(StoreError::Internal)?;
    Ok((region, at.0))
}

/// The ride was cancelled at `now` (its status is already `cancelled`).
pub fn cancelled(conn: &Connection, ride_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    let (region, pickup) = pickup_of(conn, ride_id)?;
    let rules = RideRules::load(conn, &region)?;
    let outcome = cancel_outcome(&rules, pickup, now);
    conn.execute(
        "UPDATE ride_requests SET outcome = ?1 WHERE id = ?2",
        params![outcome, ride_id],
    )?;
    super::unplan(conn, ride_id)?;
    call_backs::close_for_ride(conn, ride_id, "cancelled", "hub:cancel")
}

/// The resident did not come: the ride's remaining stops are freed and its way back (rides
/// with `return_of` this ride that are still open) is called off.
pub fn no_show(conn: &Connection, ride_id: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE ride_requests SET outcome = 'no_show' WHERE id = ?1",
        [ride_id],
    )?;
    conn.execute(
        "UPDATE route_stops SET status = 'no_show', updated_at = ?1, version = version + 1
         WHERE ride_request_id = ?2 AND kind = 'pickup' AND status = 'planned'",
        params![now_text(), ride_id],
    )?;
    super::unplan(conn, ride_id)?;
    let returns: Vec<(String, String)> = {
        let mut stmt = conn.prepare(
            "SELECT id, region_id FROM ride_requests
             WHERE return_of = ?1 AND status IN ('requested', 'planned', 'confirmed')",
        )?;
        let rows = stmt.query_map([ride_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let who = rule("no-show");
    for (back, region) in returns {
        conn.execute(
            "UPDATE ride_requests SET status = 'cancelled', outcome = 'cancelled',
                 status_reason = 'no-show on the outbound ride', updated_at = ?1,
                 version = version + 1
             WHERE id = ?2",
            params![now_text(), back],
        )?;
        super::unplan(conn, &back)?;
        call_backs::close_for_ride(conn, &back, "cancelled", &who.actor)?;
        logs::audit(
            conn,
            &who,
            Action::Cancel,
            "ride_requests",
            Some(&back),
            Some(&region),
        )?;
    }
    call_backs::close_for_ride(conn, ride_id, "cancelled", &who.actor)
}

/// The ride happened.
pub fn done(conn: &Connection, ride_id: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE ride_requests SET outcome = 'done' WHERE id = ?1",
        [ride_id],
    )?;
    Ok(())
}

/// The request could not be served and the resident (or the dispatcher for them) turned down
/// the alternatives: the ride is closed as turned down.
pub fn turned_down(conn: &Connection, ride_id: &str, who: &Who) -> StoreResult<()> {
    let region: String = conn.query_row(
        "SELECT region_id FROM ride_requests WHERE id = ?1",
        [ride_id],
        |r| r.get(0),
    )?;
    let changed = conn.execute(
        "UPDATE ride_requests SET status = 'cancelled', outcome = 'turned_down',
             status_reason = 'turned down after the call-back', updated_at = ?1,
             version = version + 1
         WHERE id = ?2 AND status IN ('requested', 'planned', 'confirmed')",
        params![now_text(), ride_id],
    )?;
    if changed > 0 {
        super::unplan(conn, ride_id)?;
        logs::audit(
            conn,
            who,
            Action::Cancel,
            "ride_requests",
            Some(ride_id),
            Some(&region),
        )?;
    }
    Ok(())
}
