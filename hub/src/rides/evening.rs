//! The evening-before re-optimisation: from each region's `replan_at` (local time, default
//! 18:00) the next day is re-optimised once, keeping every promised window, so that drivers'
//! run sheets printed in the morning show the best plan found.
//!
//! Each run is claimed in `plan_runs` before the search and finished after it; a date is
//! planned once per region even when the hub restarts, and a run cut off by a crash or a
//! shutdown (claimed, never finished) is run again.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};
use serde_json::json;

use super::rules::RideRules;
use super::{Effort, replan};
use crate::domain::common::region_tz;
use crate::store::logs::Who;
use crate::store::{Store, StoreResult};

/// A region's date whose evening run is due.
#[derive(Clone, Debug, PartialEq)]
pub struct Due {
    pub region_id: String,
    pub date: NaiveDate,
    pub seconds: f64,
}

/// The runs due at `now`: every region (not archived) whose local time has passed its
/// `replan_at` and whose next day has no finished run yet.
pub fn due(store: &Store, now: DateTime<Utc>) -> StoreResult<Vec<Due>> {
    store.blocking(|conn| {
        let regions: Vec<String> = conn
            .prepare("SELECT id FROM regions WHERE archived_at IS NULL ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut due = Vec::new();
        for region_id in regions {
            let rules = RideRules::load(conn, &region_id)?;
            let local = now.with_timezone(&region_tz(conn, &region_id)?);
            if local.time() < rules.replan_at {
                continue;
            }
            let Some(date) = local.date_naive().succ_opt() else {
                continue;
            };
            let finished: Option<Option<String>> = conn
                .query_row(
                    "SELECT finished_at FROM plan_runs WHERE region_id = ?1 AND date = ?2",
                    params![region_id, date.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            if !matches!(finished, Some(Some(_))) {
                due.push(Due {
                    region_id,
                    date,
                    seconds: rules.replan_seconds,
                });
            }
        }
        Ok(due)
    })
}

/// What one evening run came to.
#[derive(Clone, Debug)]
pub struct Ran {
    pub due: Due,
    pub result: Result<super::Replanned, String>,
}

/// Runs every run due at `now`, one after the other, each with the search time of its region
/// (`effort` overrides it, for tests). The seed is the date, so a run repeated after a crash
/// searches the same way.
pub fn run_due(store: &Store, now: DateTime<Utc>, effort: Option<Effort>) -> StoreResult<Vec<Ran>> {
    let who = Who::system("evening-plan");
    let mut ran = Vec::new();
    for due in due(store, now)? {
        store.blocking(|conn| {
            conn.execute(
                "INSERT INTO plan_runs (region_id, date, started_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (region_id, date) DO UPDATE SET started_at = excluded.started_at",
                params![
                    due.region_id,
                    due.date.to_string(),
                    crate::store::now_text()
                ],
            )?;
            Ok(())
        })?;
        let seed = due.date.num_days_from_ce() as u64;
        let effort = effort.unwrap_or(Effort::Seconds(due.seconds));
        let result = replan(store, &who, &due.region_id, due.date, now, effort, seed)
            .map_err(|e| e.to_string());
        let figures = match &result {
            Ok(done) => json!({
                "requests": done.requests, "served": done.served, "unserved": done.unserved,
                "vehicles_used": done.vehicles_used, "distance_m": done.distance_m,
                "promises_kept": done.promises_kept,
            }),
            Err(e) => json!({ "error": e }),
        };
        store.blocking(|conn| {
            conn.execute(
                "UPDATE plan_runs SET finished_at = ?3, result = ?4 WHERE region_id = ?1 AND date = ?2",
                params![
                    due.region_id,
                    due.date.to_string(),
                    crate::store::now_text(),
                    figures.to_string()
                ],
            )?;
            Ok(())
        })?;
        match &result {
            Ok(done) => tracing::info!(region = %due.region_id, date = %due.date,
                served = done.served, unserved = done.unserved, "evening re-optimisation"),
            Err(e) => tracing::warn!(region = %due.region_id, date = %due.date, error = %e,
                "evening re-optimisation failed"),
        }
        ran.push(Ran { due, result });
    }
    Ok(ran)
}
