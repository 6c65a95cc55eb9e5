//! Counselling slot shares: the part of each IMBUS visit's slots set aside for the kiosk(s) of the
//! visited village, which may confirm them while offline.
//!
//! The region setting `kiosk_slot_share` (0.0 to 1.0, default 0.5) says which share; of a visit
//! with `n` open slots, `floor(n × share)` are reserved (`slots.reserved_for_device_id`). A
//! reserved slot is booked only through its kiosk (a trigger of migration 0006 refuses web, phone
//! and other kiosks), so an offline confirmation never meets a taken slot.
//!
//! Assigning is idempotent and only ever adds reservations to free slots: a slot someone booked is
//! never reserved, a reservation that was booked stays, and a reservation of a revoked kiosk is
//! handed to a live kiosk of the village (or given back). Call [`assign_for_visit`] when slots of
//! a visit were made and [`assign_for_village`] when a kiosk was added at a village; each sync
//! exchange also runs the latter for the syncing kiosk's village, so a kiosk gets its share at the
//! latest when it first syncs.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, params};
use serde_json::Value;

use crate::domain::Slot;
use crate::domain::common::column_of;
use crate::store::logs::{self, Action, Who};
use crate::store::records::read_row;
use crate::store::{StoreError, StoreResult, now_text};

/// The region setting (in `regions.settings`) naming the share.
pub const SETTING: &str = "kiosk_slot_share";

/// The share when a region does not set one.
pub const DEFAULT_SHARE: f64 = 0.5;

/// The share of a region's visit slots set aside for kiosks: its `kiosk_slot_share` setting when
/// that is a number from 0 to 1, else [`DEFAULT_SHARE`].
pub fn share_of_region(tx: &Connection, region_id: &str) -> StoreResult<f64> {
    let settings: Option<String> = column_of(tx, "regions", "settings", region_id)?;
    let share = settings
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|s| s.get(SETTING).and_then(Value::as_f64));
    Ok(match share {
        Some(share) if (0.0..=1.0).contains(&share) => share,
        Some(share) => {
            tracing::warn!(
                region_id,
                share,
                "{SETTING} lies outside 0..1; using {DEFAULT_SHARE}"
            );
            DEFAULT_SHARE
        }
        None => DEFAULT_SHARE,
    })
}

/// Sets aside the share of the slots of every visit to `village_id` that starts after `now` and is
/// not cancelled. Returns how many slots changed.
pub fn assign_for_village(
    tx: &Connection,
    village_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let visits: Vec<String> = tx
        .prepare_cached(
            "SELECT id FROM imbus_visits
             WHERE village_id = ?1 AND status <> 'cancelled' AND starts_at > ?2
             ORDER BY starts_at, id",
        )?
        .query_map(
            params![village_id, now.to_rfc3339_opts(SecondsFormat::Secs, true)],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut changed = 0;
    for visit in visits {
        changed += assign_for_visit(tx, &visit)?;
    }
    Ok(changed)
}

/// One open slot of a visit as the assignment sees it.
struct SlotState {
    id: String,
    reserved: Option<String>,
    booked: bool,
}

/// Sets aside the share of one visit's open slots for the live kiosks of its village (latest slots
/// first, spread evenly over the kiosks). Returns how many slots changed; a second call changes
/// nothing.
pub fn assign_for_visit(tx: &Connection, visit_id: &str) -> StoreResult<usize> {
    let visit: Option<(String, String, String)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT region_id, village_id, status FROM imbus_visits WHERE id = ?1",
        )?;
        let mut rows = stmt.query([visit_id])?;
        match rows.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
            None => None,
        }
    };
    let Some((region_id, village_id, status)) = visit else {
        return Err(StoreError::NotFound {
            kind: "IMBUS visit",
            id: visit_id.to_string(),
        });
    };
    if status == "cancelled" {
        return Ok(0);
    }
    let share = share_of_region(tx, &region_id)?;
    let kiosks: Vec<String> = tx
        .prepare_cached(
            "SELECT id FROM devices WHERE village_id = ?1 AND status <> 'revoked'
             ORDER BY created_at, id",
        )?
        .query_map([&village_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let slots: Vec<SlotState> = tx
        .prepare_cached(
            "SELECT s.id, s.reserved_for_device_id,
                    EXISTS (SELECT 1 FROM appointments a
                            WHERE a.slot_id = s.id AND a.status <> 'cancelled')
             FROM slots s WHERE s.visit_id = ?1 AND s.status = 'open'
             ORDER BY s.starts_at, s.id",
        )?
        .query_map([visit_id], |r| {
            Ok(SlotState {
                id: r.get(0)?,
                reserved: r.get(1)?,
                booked: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;

    // The whole share is a count of slots; rounding down keeps the remote channels at least
    // their share.
    let target = (slots.len() as f64 * share).floor() as usize;
    let mut held: HashMap<&str, usize> = kiosks.iter().map(|k| (k.as_str(), 0)).collect();
    let mut next: Vec<Option<String>> = Vec::with_capacity(slots.len());
    for slot in &slots {
        match &slot.reserved {
            Some(device) if held.contains_key(device.as_str()) => {
                *held.entry(device.as_str()).or_default() += 1;
                next.push(slot.reserved.clone());
            }
            // A revoked kiosk's free slot goes back to the pool (and may be handed on below).
            Some(_) if !slot.booked => next.push(None),
            // Booked: whoever booked it keeps it.
            _ => next.push(slot.reserved.clone()),
        }
    }
    let mut total: usize = held.values().sum();
    for (i, slot) in slots.iter().enumerate().rev() {
        if total >= target || kiosks.is_empty() {
            break;
        }
        if slot.booked || next[i].is_some() {
            continue;
        }
        let device = kiosks
            .iter()
            .min_by_key(|k| held.get(k.as_str()).copied().unwrap_or_default())
            .expect("kiosks is not empty");
        *held.entry(device.as_str()).or_default() += 1;
        next[i] = Some(device.clone());
        total += 1;
    }

    let who = Who::system("slot-shares");
    let mut changed = 0;
    for (slot, new) in slots.iter().zip(&next) {
        if &slot.reserved == new {
            continue;
        }
        tx.execute(
            "UPDATE slots SET reserved_for_device_id = ?1, updated_at = ?2, version = version + 1
             WHERE id = ?3",
            params![new, now_text(), slot.id],
        )?;
        let record = read_row::<Slot>(tx, &slot.id)?;
        logs::audit(
            tx,
            &who,
            Action::Update,
            "slots",
            Some(&slot.id),
            Some(&region_id),
        )?;
        logs::record_change(tx, &region_id, "slots", &slot.id, false, &record)?;
        changed += 1;
    }
    Ok(changed)
}
