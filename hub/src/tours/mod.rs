//! IMBUS tours in the hub: a region's cycle as a tour-planner instance (villages with a
//! frequency, buses, counsellors, closed days and holidays on the day indices of the period),
//! draft plans with their figures, publishing a plan as visits with slots and the kiosks' share,
//! and moving a published visit.
//!
//! A village's IMBUS stop is its `imbus_stop_id`, or else its first live stop by name. Travel
//! between stops and depots is the straight-line model the rides use. A period starts on a
//! Monday and lasts `weeks` weeks; day `d` of it is `first_day + d`. Every write goes through
//! `store::records`, so audit and change-log lines (kiosks learn of visits from the latter) are
//! written in the same transaction.

pub mod holidays;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant as Clock;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use planner::tours::{
    Bus, Counsellor, MoveReason, Pattern, TourBudget, TourInput, TourPlan, TourVillage, UnmetReason,
};
use planner::travel::{GeoPoint, StraightLine, TravelMatrix, TravelTimes};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::common::{Instant, Weekday, column_of, local_to_instant, region_tz};
use crate::domain::counselling::{SlotStatus, VisitStatus};
use crate::domain::{ImbusVisit, Slot};
use crate::store::logs::{self, Action, Who};
use crate::store::records::{self, Ctx, cancel_in, create_in, read_row, update_in};
use crate::store::{Store, StoreError, StoreResult, now_text};

/// The region setting: minutes at the end of each visit kept free for walk-ins.
pub const WALK_IN_SETTING: &str = "imbus_walk_in_minutes";
/// The region setting: the length of a counselling slot, minutes.
pub const SLOT_SETTING: &str = "imbus_slot_minutes";
/// The region setting: every planned IMBUS start is a multiple of this many minutes after
/// local midnight (1 to 60, a divisor of 60; 1 = no rounding), so posters show round times.
pub const START_STEP_SETTING: &str = "imbus_start_step_minutes";
const DEFAULT_WALK_IN: u32 = 30;
const DEFAULT_SLOT: u32 = 30;
const DEFAULT_START_STEP: u32 = 15;
/// The longest cycle, in weeks.
pub const MAX_WEEKS: u32 = 8;
/// Local-search iterations of one planning run.
pub const ITERATIONS: u32 = 20_000;
/// The reason residents read when a re-plan moves a visit.
pub const REPLAN_REASON: &str = "Neuer Tourenplan";
/// The reason residents read when a re-plan drops a visit.
pub const REPLAN_CANCEL_REASON: &str = "Neuer Tourenplan: dieser Termin entfällt";
/// `idempotent_creates.kind` of plan creation.
const PLAN_KIND: &str = "tour_plans";

/// A village of the instance: what the timetable shows of it.
#[derive(Clone, Debug)]
pub struct VillageInfo {
    pub name: String,
    pub stop_id: String,
}

/// One region's cycle as the tour planner sees it, with the ids and names behind its indices.
#[derive(Clone, Debug)]
pub struct Instance {
    pub region_id: String,
    pub tz: Tz,
    pub first_day: NaiveDate,
    pub weeks: u32,
    pub input: TourInput,
    pub travel: TravelMatrix,
    pub villages: BTreeMap<String, VillageInfo>,
    pub buses: BTreeMap<String, String>,
    pub counsellors: BTreeMap<String, String>,
}

impl Instance {
    /// The local date of day index `day`.
    pub fn date(&self, day: u32) -> NaiveDate {
        self.first_day + Duration::days(i64::from(day))
    }
}

fn weekday_index(day: Weekday) -> u8 {
    match day {
        Weekday::Mon => 0,
        Weekday::Tue => 1,
        Weekday::Wed => 2,
        Weekday::Thu => 3,
        Weekday::Fri => 4,
        Weekday::Sat => 5,
        Weekday::Sun => 6,
    }
}

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const WEEKDAYS_DE: [&str; 7] = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"];

fn minutes_of(text: &str) -> StoreResult<u32> {
    let time = NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| StoreError::Internal(format!("stored time '{text}' is not HH:MM")))?;
    Ok(time.hour() * 60 + time.minute())
}

/// `HH:MM` of minutes after midnight.
pub fn clock(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn weekdays_of(text: &str) -> StoreResult<Vec<u8>> {
    let days: Vec<Weekday> = serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(format!("stored weekdays unreadable: {e}")))?;
    Ok(days.into_iter().map(weekday_index).collect())
}

/// The hub's one live region; an error naming the choice when it holds several or none.
pub fn only_region(conn: &mut Connection) -> StoreResult<String> {
    let regions: Vec<(String, String)> = conn
        .prepare("SELECT id, name FROM regions WHERE archived_at IS NULL ORDER BY name, id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    match regions.as_slice() {
        [(id, _)] => Ok(id.clone()),
        [] => Err(StoreError::invalid("region", "the hub holds no region")),
        several => Err(StoreError::invalid(
            "region",
            format!(
                "the hub holds several regions; name one with --region: {}",
                several
                    .iter()
                    .map(|(id, name)| format!("{id} ({name})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The first Monday after `now`'s date in the region's time zone.
pub fn next_monday(
    conn: &mut Connection,
    region_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<NaiveDate> {
    let today = now.with_timezone(&region_tz(conn, region_id)?).date_naive();
    Ok(today + Duration::days(7 - i64::from(today.weekday().num_days_from_monday())))
}

/// Checks a period: a Monday and 1 to [`MAX_WEEKS`] weeks.
pub fn check_period(first_day: NaiveDate, weeks: u32) -> StoreResult<()> {
    if first_day.weekday() != chrono::Weekday::Mon {
        return Err(StoreError::invalid(
            "first_day",
            format!(
                "{first_day} is a {:?}; a cycle starts on a Monday",
                first_day.weekday()
            ),
        ));
    }
    if !(1..=MAX_WEEKS).contains(&weeks) {
        return Err(StoreError::invalid(
            "weeks",
            format!("must be from 1 to {MAX_WEEKS}"),
        ));
    }
    Ok(())
}

/// Why `date` is a day without IMBUS for a visit of `bus` with `counsellor`: a public holiday,
/// a region-wide closed day, the bus's or the counsellor's closed day. `None` if it is open.
pub fn closed_reason(
    tx: &Connection,
    region_id: &str,
    date: NaiveDate,
    bus_id: Option<&str>,
    counsellor_id: Option<&str>,
) -> StoreResult<Option<String>> {
    if let Some(name) = holidays::holiday(date) {
        return Ok(Some(name.to_string()));
    }
    let reason: Option<String> = tx
        .query_row(
            "SELECT reason FROM imbus_closed_days
             WHERE region_id = ?1 AND date = ?2 AND archived_at IS NULL
               AND ((bus_id IS NULL AND counsellor_id IS NULL)
                    OR bus_id = ?3 OR counsellor_id = ?4)
             ORDER BY created_at LIMIT 1",
            params![region_id, date.to_string(), bus_id, counsellor_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(reason)
}

/// Loads the region's cycle from `first_day` over `weeks` weeks.
pub fn load(
    tx: &Connection,
    region_id: &str,
    first_day: NaiveDate,
    weeks: u32,
) -> StoreResult<Instance> {
    check_period(first_day, weeks)?;
    if !records::exists(tx, "regions", region_id)? {
        return Err(StoreError::NotFound {
            kind: "region",
            id: region_id.to_string(),
        });
    }
    let tz = region_tz(tx, region_id)?;
    let days = weeks * 7;
    let last = first_day + Duration::days(i64::from(days));
    let day_of = |date: &str| -> Option<u32> {
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        let d = (date - first_day).num_days();
        u32::try_from(d).ok().filter(|d| *d < days)
    };

    let mut points: Vec<GeoPoint> = Vec::new();
    let mut buses = Vec::new();
    let mut bus_names = BTreeMap::new();
    {
        let mut stmt = tx.prepare(
            "SELECT id, name, depot_lat, depot_lon, weekdays, day_start, day_end, break_minutes,
                    break_from, break_until
             FROM imbus_buses WHERE region_id = ?1 AND archived_at IS NULL ORDER BY name, id",
        )?;
        let mut rows = stmt.query([region_id])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            points.push(GeoPoint::new(r.get(2)?, r.get(3)?));
            bus_names.insert(id.clone(), r.get::<_, String>(1)?);
            buses.push(Bus {
                id,
                depot: points.len() - 1,
                weekdays: weekdays_of(&r.get::<_, String>(4)?)?,
                day_start: minutes_of(&r.get::<_, String>(5)?)?,
                day_end: minutes_of(&r.get::<_, String>(6)?)?,
                break_minutes: r.get(7)?,
                break_from: minutes_of(&r.get::<_, String>(8)?)?,
                break_until: minutes_of(&r.get::<_, String>(9)?)?,
                blocked_days: Vec::new(),
            });
        }
    }
    if buses.is_empty() {
        return Err(StoreError::invalid(
            "region_id",
            "the region has no IMBUS bus (imbus-buses)",
        ));
    }

    let mut counsellors = Vec::new();
    let mut counsellor_names = BTreeMap::new();
    {
        let mut stmt = tx.prepare(
            "SELECT id, name, weekdays FROM imbus_counsellors
             WHERE region_id = ?1 AND archived_at IS NULL ORDER BY name, id",
        )?;
        let mut rows = stmt.query([region_id])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            counsellor_names.insert(id.clone(), r.get::<_, String>(1)?);
            counsellors.push(Counsellor {
                id,
                weekdays: weekdays_of(&r.get::<_, String>(2)?)?,
                absent_days: Vec::new(),
            });
        }
    }
    if counsellors.is_empty() {
        return Err(StoreError::invalid(
            "region_id",
            "the region has no IMBUS counsellor (imbus-counsellors)",
        ));
    }

    let mut villages = Vec::new();
    let mut village_info = BTreeMap::new();
    {
        let mut stmt = tx.prepare(
            "SELECT v.id, v.name, v.imbus_every_weeks, v.imbus_visit_minutes,
                    COALESCE(
                      (SELECT s.id FROM stops s WHERE s.id = v.imbus_stop_id AND s.archived_at IS NULL),
                      (SELECT s.id FROM stops s WHERE s.village_id = v.id AND s.archived_at IS NULL
                       ORDER BY s.name, s.id LIMIT 1))
             FROM villages v
             WHERE v.region_id = ?1 AND v.archived_at IS NULL AND v.imbus_every_weeks IS NOT NULL
             ORDER BY v.name, v.id",
        )?;
        let mut rows = stmt.query([region_id])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let name: String = r.get(1)?;
            let every_weeks: u32 = r.get(2)?;
            let Some(stop_id) = r.get::<_, Option<String>>(4)? else {
                return Err(StoreError::invalid(
                    "region_id",
                    format!("the village {name} is on the IMBUS tour but has no stop"),
                ));
            };
            if !weeks.is_multiple_of(every_weeks) {
                return Err(StoreError::invalid(
                    "weeks",
                    format!(
                        "{name} is visited every {every_weeks} weeks; the cycle's weeks must be a multiple of that"
                    ),
                ));
            }
            let (lat, lon): (f64, f64) = tx.query_row(
                "SELECT lat, lon FROM stops WHERE id = ?1",
                [&stop_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            points.push(GeoPoint::new(lat, lon));
            villages.push(TourVillage {
                id: id.clone(),
                place: points.len() - 1,
                every_weeks,
                visit_minutes: r.get(3)?,
            });
            village_info.insert(id, VillageInfo { name, stop_id });
        }
    }

    let mut closed_days = Vec::new();
    for d in 0..days {
        if holidays::holiday(first_day + Duration::days(i64::from(d))).is_some() {
            closed_days.push(d);
        }
    }
    {
        let mut stmt = tx.prepare(
            "SELECT date, bus_id, counsellor_id FROM imbus_closed_days
             WHERE region_id = ?1 AND archived_at IS NULL AND date >= ?2 AND date < ?3
             ORDER BY date",
        )?;
        let mut rows = stmt.query(params![region_id, first_day.to_string(), last.to_string()])?;
        while let Some(r) = rows.next()? {
            let Some(day) = day_of(&r.get::<_, String>(0)?) else {
                continue;
            };
            match (
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ) {
                (Some(bus), _) => {
                    if let Some(b) = buses.iter_mut().find(|b| b.id == bus) {
                        b.blocked_days.push(day);
                    }
                }
                (None, Some(counsellor)) => {
                    if let Some(c) = counsellors.iter_mut().find(|c| c.id == counsellor) {
                        c.absent_days.push(day);
                    }
                }
                (None, None) => closed_days.push(day),
            }
        }
    }
    closed_days.sort_unstable();
    closed_days.dedup();

    let travel = StraightLine::default()
        .matrix(&points)
        .map_err(|e| StoreError::Internal(format!("travel times: {e}")))?;
    let start_step_minutes = start_step(tx, region_id)?;
    Ok(Instance {
        region_id: region_id.to_string(),
        tz,
        first_day,
        weeks,
        input: TourInput {
            weeks,
            villages,
            buses,
            counsellors,
            closed_days,
            start_step_minutes,
        },
        travel,
        villages: village_info,
        buses: bus_names,
        counsellors: counsellor_names,
    })
}

/// The patterns of the region's most recently published plan: what a new plan keeps if it can.
pub fn previous_patterns(tx: &Connection, region_id: &str) -> StoreResult<Vec<Pattern>> {
    let plan: Option<String> = tx
        .query_row(
            "SELECT id FROM tour_plans WHERE region_id = ?1 AND published_at IS NOT NULL
             ORDER BY published_at DESC, created_at DESC LIMIT 1",
            [region_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(plan) = plan else {
        return Ok(Vec::new());
    };
    let mut stmt = tx.prepare(
        "SELECT village_id, bus_id, weekday, week_offset, every_weeks, start_time, end_time
         FROM tour_patterns WHERE plan_id = ?1 ORDER BY village_id",
    )?;
    let mut rows = stmt.query([&plan])?;
    let mut patterns = Vec::new();
    while let Some(r) = rows.next()? {
        patterns.push(Pattern {
            village: r.get(0)?,
            bus: r.get(1)?,
            weekday: r.get(2)?,
            week_offset: r.get(3)?,
            every_weeks: r.get(4)?,
            start: minutes_of(&r.get::<_, String>(5)?)?,
            end: minutes_of(&r.get::<_, String>(6)?)?,
        });
    }
    Ok(patterns)
}

/// A finished planner run and how long it took.
pub struct Planned {
    pub plan: TourPlan,
    pub problems: Vec<String>,
    pub lower_bound: f64,
    pub elapsed_ms: u64,
}

/// Runs the tour planner on the instance (pure; call it off the async threads).
pub fn run_planner(instance: &Instance, previous: &[Pattern], seed: u64) -> StoreResult<Planned> {
    let clock = Clock::now();
    let budget = TourBudget {
        iterations: ITERATIONS,
    };
    let plan = planner::tours::plan(&instance.input, &instance.travel, previous, seed, budget)
        .map_err(|e| match e {
            planner::tours::TourError::Invalid { field, message } => StoreError::invalid(
                "region_id",
                format!("the tour cannot be planned: {field}: {message}"),
            ),
        })?;
    let problems = planner::tours::check(&instance.input, &instance.travel, &plan);
    let lower_bound = planner::tours::lower_bound(&instance.input, &instance.travel);
    Ok(Planned {
        plan,
        problems,
        lower_bound,
        elapsed_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// The hash a plan creation is recognised by when repeated.
fn request_hash(region_id: &str, first_day: NaiveDate, weeks: u32, seed: u64) -> String {
    let body = json!({"region_id": region_id, "first_day": first_day.to_string(), "weeks": weeks, "seed": seed});
    hex::encode(Sha256::digest(body.to_string()))
}

/// The first answer to a plan creation with this id, if there was one; a conflict if it was
/// made with other content.
fn earlier_answer(tx: &Connection, plan_id: &str, hash: &str) -> StoreResult<Option<Value>> {
    let earlier: Option<(String, String)> = tx
        .query_row(
            "SELECT request_hash, response FROM idempotent_creates WHERE kind = ?1 AND id = ?2",
            [PLAN_KIND, plan_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match earlier {
        Some((stored, _)) if stored != hash => Err(StoreError::Conflict(format!(
            "tour plan {plan_id} was already created with other content; use a new id"
        ))),
        Some((_, response)) => serde_json::from_str(&response)
            .map(Some)
            .map_err(|e| StoreError::Internal(format!("stored answer unreadable: {e}"))),
        None if records::exists(tx, "tour_plans", plan_id)? => Err(StoreError::Conflict(format!(
            "tour plan {plan_id} exists already"
        ))),
        None => Ok(None),
    }
}

/// A plan creation's answer: the timetable, and whether an earlier identical request made it.
#[derive(Debug)]
pub struct PlanAnswer {
    pub record: Value,
    pub replayed: bool,
}

/// Plans the region's cycle from `first_day` over `weeks` weeks as draft `plan_id`, starting from
/// the last published plan's patterns, and answers the timetable. Idempotent by `plan_id`: the
/// same request again gets the first answer, another request under the id a conflict. The
/// search runs without holding the database.
pub fn plan_cycle(
    store: &Store,
    region_id: &str,
    first_day: NaiveDate,
    weeks: u32,
    seed: u64,
    who: &Who,
    plan_id: Uuid,
) -> StoreResult<PlanAnswer> {
    let id = plan_id.to_string();
    let hash = request_hash(region_id, first_day, weeks, seed);
    let loaded = store.blocking(|conn| {
        let tx = conn.transaction()?;
        if let Some(record) = earlier_answer(&tx, &id, &hash)? {
            return Ok(Err(record));
        }
        let instance = load(&tx, region_id, first_day, weeks)?;
        let previous = previous_patterns(&tx, region_id)?;
        Ok(Ok((instance, previous)))
    })?;
    let (instance, previous) = match loaded {
        Ok(loaded) => loaded,
        Err(record) => {
            return Ok(PlanAnswer {
                record,
                replayed: true,
            });
        }
    };
    let planned = run_planner(&instance, &previous, seed)?;
    store.blocking(|conn| {
        let tx = conn.transaction()?;
        // Another request with this id may have finished while this one searched.
        if let Some(record) = earlier_answer(&tx, &id, &hash)? {
            return Ok(PlanAnswer {
                record,
                replayed: true,
            });
        }
        let record = store_plan_in(&tx, who, &id, &instance, seed, &planned, &hash)?;
        tx.commit()?;
        Ok(PlanAnswer {
            record,
            replayed: false,
        })
    })
}

/// Plans and stores a draft inside the caller's transaction (the demo builds in one).
pub fn plan_cycle_in(
    tx: &Connection,
    who: &Who,
    region_id: &str,
    first_day: NaiveDate,
    weeks: u32,
    seed: u64,
    plan_id: Uuid,
) -> StoreResult<Value> {
    let id = plan_id.to_string();
    let hash = request_hash(region_id, first_day, weeks, seed);
    if let Some(record) = earlier_answer(tx, &id, &hash)? {
        return Ok(record);
    }
    let instance = load(tx, region_id, first_day, weeks)?;
    let previous = previous_patterns(tx, region_id)?;
    let planned = run_planner(&instance, &previous, seed)?;
    store_plan_in(tx, who, &id, &instance, seed, &planned, &hash)
}

fn pattern_json(p: &Pattern) -> Value {
    json!({
        "bus_id": p.bus,
        "weekday": WEEKDAY_NAMES[usize::from(p.weekday % 7)],
        "week_offset": p.week_offset,
        "every_weeks": p.every_weeks,
        "start": clock(p.start),
        "end": clock(p.end),
    })
}

fn move_reason(reason: MoveReason) -> &'static str {
    match reason {
        MoveReason::NewVillage => "new_village",
        MoveReason::VillageRemoved => "village_removed",
        MoveReason::VillageChanged => "village_changed",
        MoveReason::DayLost => "day_lost",
        MoveReason::MadeRoom => "made_room",
    }
}

fn store_plan_in(
    tx: &Connection,
    who: &Who,
    id: &str,
    instance: &Instance,
    seed: u64,
    planned: &Planned,
    hash: &str,
) -> StoreResult<Value> {
    let plan = &planned.plan;
    let f = &plan.figures;
    let ratio = if planned.lower_bound > 0.0 {
        Some(f.driving_seconds / planned.lower_bound)
    } else {
        None
    };
    let figures = json!({
        "visits_required": f.visits_required,
        "visits_planned": f.visits_planned,
        "villages_met": f.villages_met,
        "villages": f.villages,
        "driving_seconds": f.driving_seconds.round(),
        "driving_lower_bound_seconds": planned.lower_bound.round(),
        "ratio": ratio,
        "replacements": f.replacements,
        "moved_patterns": plan.moves.len(),
        "elapsed_ms": planned.elapsed_ms,
        "problems": planned.problems,
    });
    let moves: Vec<Value> = plan
        .moves
        .iter()
        .map(|m| {
            json!({
                "village_id": m.village,
                "reason": move_reason(m.reason),
                "before": m.before.as_ref().map(pattern_json),
                "after": m.after.as_ref().map(pattern_json),
            })
        })
        .collect();
    let visits: Vec<Value> = plan
        .visits
        .iter()
        .map(|v| {
            json!({
                "village_id": v.village,
                "stop_id": instance.villages.get(&v.village).map(|i| i.stop_id.clone()),
                "bus_id": v.bus,
                "counsellor_id": v.counsellor,
                "day": v.day,
                "start": v.start,
                "end": v.end,
                "replacement": v.replacement,
            })
        })
        .collect();
    let unmet: Vec<Value> = plan
        .unmet
        .iter()
        .map(|u| {
            json!({
                "village_id": u.village,
                "week": u.week,
                "reason": match u.reason {
                    UnmetReason::NoRoom => "no_room",
                    UnmetReason::Unreachable => "unreachable",
                },
            })
        })
        .collect();
    tx.execute(
        "INSERT INTO tour_plans (id, region_id, first_day, weeks, seed, status, figures, moves,
                                 visits, unmet, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'draft', ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            id,
            instance.region_id,
            instance.first_day.to_string(),
            instance.weeks,
            // SQLite integers are signed: the seed's bits are kept.
            seed as i64,
            figures.to_string(),
            Value::Array(moves).to_string(),
            Value::Array(visits).to_string(),
            Value::Array(unmet).to_string(),
            who.actor,
            now_text(),
        ],
    )?;
    for p in &plan.patterns {
        tx.execute(
            "INSERT INTO tour_patterns (plan_id, village_id, bus_id, weekday, week_offset,
                                        every_weeks, start_time, end_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                p.village,
                p.bus,
                p.weekday,
                p.week_offset,
                p.every_weeks,
                clock(p.start),
                clock(p.end)
            ],
        )?;
    }
    let record = plan_answer(tx, id)?;
    tx.execute(
        "INSERT INTO idempotent_creates (kind, id, request_hash, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![PLAN_KIND, id, hash, record.to_string(), now_text()],
    )?;
    logs::audit(
        tx,
        who,
        Action::Create,
        "tour_plans",
        Some(id),
        Some(&instance.region_id),
    )?;
    Ok(record)
}

/// A stored plan row.
struct PlanRow {
    region_id: String,
    first_day: NaiveDate,
    weeks: u32,
    seed: i64,
    status: String,
    figures: Value,
    moves: Value,
    visits: Vec<Value>,
    unmet: Value,
    created_at: String,
    published_at: Option<String>,
    publication: Value,
}

fn json_of(text: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Internal(format!("plan JSON: {e}")))
}

fn plan_row(tx: &Connection, id: &str) -> StoreResult<PlanRow> {
    let row = tx
        .query_row(
            "SELECT region_id, first_day, weeks, seed, status, figures, moves, visits, unmet,
                    created_at, published_at, publication
             FROM tour_plans WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                    ),
                    (
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                    ),
                    (
                        r.get::<_, String>(9)?,
                        r.get::<_, Option<String>>(10)?,
                        r.get::<_, Option<String>>(11)?,
                    ),
                ))
            },
        )
        .optional()?;
    let Some((
        (region_id, first_day, weeks, seed, status),
        (figures, moves, visits, unmet),
        (created_at, published_at, publication),
    )) = row
    else {
        return Err(StoreError::NotFound {
            kind: "tour plan",
            id: id.to_string(),
        });
    };
    let visits = match json_of(&visits)? {
        Value::Array(items) => items,
        _ => return Err(StoreError::Internal("plan visits are not a list".into())),
    };
    Ok(PlanRow {
        region_id,
        first_day: NaiveDate::parse_from_str(&first_day, "%Y-%m-%d")
            .map_err(|e| StoreError::Internal(format!("plan first_day: {e}")))?,
        weeks,
        seed,
        status,
        figures: json_of(&figures)?,
        moves: json_of(&moves)?,
        visits,
        unmet: json_of(&unmet)?,
        created_at,
        published_at,
        publication: publication
            .as_deref()
            .map(json_of)
            .transpose()?
            .unwrap_or(Value::Null),
    })
}

/// A planned visit of a stored plan in calendar terms.
struct DatedVisit {
    village_id: String,
    stop_id: String,
    bus_id: String,
    counsellor_id: String,
    date: NaiveDate,
    start: u32,
    end: u32,
    starts_at: Instant,
    ends_at: Instant,
    replacement: bool,
}

fn dated(row: &PlanRow, tz: Tz) -> StoreResult<Vec<DatedVisit>> {
    let text = |v: &Value, k: &str| -> StoreResult<String> {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| StoreError::Internal(format!("plan visit without {k}")))
    };
    let number = |v: &Value, k: &str| -> StoreResult<u32> {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| StoreError::Internal(format!("plan visit without {k}")))
    };
    let at = |date: NaiveDate, minutes: u32| -> StoreResult<Instant> {
        let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)
            .ok_or_else(|| StoreError::Internal(format!("minute {minutes} of a day")))?;
        local_to_instant(tz, date, time).map_err(|e| StoreError::invalid("first_day", e))
    };
    let mut out = Vec::new();
    for v in &row.visits {
        let date = row.first_day + Duration::days(i64::from(number(v, "day")?));
        let (start, end) = (number(v, "start")?, number(v, "end")?);
        out.push(DatedVisit {
            village_id: text(v, "village_id")?,
            stop_id: text(v, "stop_id")?,
            bus_id: text(v, "bus_id")?,
            counsellor_id: text(v, "counsellor_id")?,
            date,
            start,
            end,
            starts_at: at(date, start)?,
            ends_at: at(date, end)?,
            replacement: v
                .get("replacement")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    }
    out.sort_by(|a, b| (a.starts_at, &a.bus_id).cmp(&(b.starts_at, &b.bus_id)));
    Ok(out)
}

fn name_of(tx: &Connection, table: &str, id: &str) -> StoreResult<String> {
    Ok(column_of::<String>(tx, table, "name", id)?.unwrap_or_else(|| id.to_string()))
}

/// A stored plan as the API answers it: the timetable with local dates and times, UTC instants
/// and names, the figures, the moved patterns and what is missing.
pub fn plan_answer(tx: &Connection, id: &str) -> StoreResult<Value> {
    let row = plan_row(tx, id)?;
    let tz = region_tz(tx, &row.region_id)?;
    let mut names: HashMap<(&'static str, String), String> = HashMap::new();
    let mut name = |table: &'static str, id: &str| -> StoreResult<String> {
        if let Some(n) = names.get(&(table, id.to_string())) {
            return Ok(n.clone());
        }
        let n = name_of(tx, table, id)?;
        names.insert((table, id.to_string()), n.clone());
        Ok(n)
    };
    let mut visits = Vec::new();
    for v in dated(&row, tz)? {
        visits.push(json!({
            "date": v.date.to_string(),
            "weekday": WEEKDAY_NAMES[v.date.weekday().num_days_from_monday() as usize],
            "week": (v.date - row.first_day).num_days() / 7,
            "start": clock(v.start),
            "end": clock(v.end),
            "starts_at": v.starts_at,
            "ends_at": v.ends_at,
            "village_id": v.village_id,
            "village": name("villages", &v.village_id)?,
            "stop_id": v.stop_id,
            "stop": name("stops", &v.stop_id)?,
            "bus_id": v.bus_id,
            "bus": name("imbus_buses", &v.bus_id)?,
            "counsellor_id": v.counsellor_id,
            "counsellor": name("imbus_counsellors", &v.counsellor_id)?,
            "replacement": v.replacement,
        }));
    }
    let mut moves = row.moves.clone();
    if let Value::Array(items) = &mut moves {
        for m in items {
            if let Some(village) = m.get("village_id").and_then(Value::as_str) {
                let n = name("villages", village)?;
                m["village"] = json!(n);
            }
        }
    }
    let mut unmet = row.unmet.clone();
    if let Value::Array(items) = &mut unmet {
        for u in items {
            if let Some(village) = u.get("village_id").and_then(Value::as_str) {
                let n = name("villages", village)?;
                u["village"] = json!(n);
            }
        }
    }
    Ok(json!({
        "id": id,
        "region_id": row.region_id,
        "first_day": row.first_day.to_string(),
        "weeks": row.weeks,
        "seed": row.seed as u64,
        "status": row.status,
        "figures": row.figures,
        "moves": moves,
        "unmet": unmet,
        "visits": visits,
        "created_at": row.created_at,
        "published_at": row.published_at,
        "publication": row.publication,
    }))
}

/// Reads a plan (for the API's GET).
pub fn get_plan(conn: &mut Connection, id: &str) -> StoreResult<Value> {
    let tx = conn.transaction()?;
    let answer = plan_answer(&tx, id)?;
    tx.commit()?;
    Ok(answer)
}

/// The region of a stored plan.
pub fn plan_region(conn: &Connection, id: &str) -> StoreResult<String> {
    column_of::<String>(conn, "tour_plans", "region_id", id)?.ok_or_else(|| StoreError::NotFound {
        kind: "tour plan",
        id: id.to_string(),
    })
}

/// A whole-minute region setting within `range`, else `default`.
fn minutes_setting(
    tx: &Connection,
    region_id: &str,
    key: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> StoreResult<u32> {
    let settings: Option<String> = column_of(tx, "regions", "settings", region_id)?;
    let value = settings
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|s| s.get(key).and_then(Value::as_u64));
    Ok(match value.and_then(|v| u32::try_from(v).ok()) {
        Some(v) if range.contains(&v) => v,
        Some(v) => {
            tracing::warn!(region_id, key, v, "setting out of range; using {default}");
            default
        }
        None => default,
    })
}

/// The region's start grid ([`START_STEP_SETTING`]); the default if it does not divide 60.
fn start_step(tx: &Connection, region_id: &str) -> StoreResult<u32> {
    let step = minutes_setting(
        tx,
        region_id,
        START_STEP_SETTING,
        DEFAULT_START_STEP,
        1..=60,
    )?;
    if 60 % step == 0 {
        Ok(step)
    } else {
        tracing::warn!(
            region_id,
            key = START_STEP_SETTING,
            step,
            "setting does not divide 60; using {DEFAULT_START_STEP}"
        );
        Ok(DEFAULT_START_STEP)
    }
}

/// Publishes a draft plan `id` in one transaction (see [`publish_in`]).
pub fn publish(store: &Store, who: &Who, id: &str, now: DateTime<Utc>) -> StoreResult<Value> {
    store.blocking(|conn| {
        let tx = conn.transaction()?;
        let answer = publish_in(&tx, who, id, now)?;
        tx.commit()?;
        Ok(answer)
    })
}

/// Publishes a draft plan: its future visits become published IMBUS visits with slots and the
/// kiosks' share. A visit of an earlier plan on the same village and date is kept (moved if its
/// time changed, with the reason residents read) so its bookings survive; earlier plans' future
/// visits in the period the new plan lacks are cancelled with a reason. Past visits stay as they
/// are. Publishing a published plan again changes nothing and answers the same.
pub fn publish_in(tx: &Connection, who: &Who, id: &str, now: DateTime<Utc>) -> StoreResult<Value> {
    let row = plan_row(tx, id)?;
    match row.status.as_str() {
        "published" => return plan_answer(tx, id),
        "superseded" => {
            return Err(StoreError::Conflict(format!(
                "tour plan {id} was superseded by a later plan; plan anew"
            )));
        }
        _ => {}
    }
    let problems = row
        .figures
        .get("problems")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !problems.is_empty() {
        return Err(StoreError::Conflict(format!(
            "tour plan {id} breaks rules and cannot be published: {}",
            Value::Array(problems)
        )));
    }
    let region = row.region_id.clone();
    let tz = region_tz(tx, &region)?;
    let walk_in = minutes_setting(tx, &region, WALK_IN_SETTING, DEFAULT_WALK_IN, 0..=240)?;
    let slot_minutes = minutes_setting(tx, &region, SLOT_SETTING, DEFAULT_SLOT, 5..=240)?;
    let period_start = local_to_instant(tz, row.first_day, NaiveTime::MIN)
        .map_err(|e| StoreError::invalid("first_day", e))?;
    let last = row.first_day + Duration::days(i64::from(row.weeks) * 7);
    let period_end = local_to_instant(tz, last, NaiveTime::MIN)
        .map_err(|e| StoreError::invalid("first_day", e))?;
    let from = period_start.0.max(now);
    let now_text_ = Instant(now).text();

    // Visits of earlier plans in the period that have not begun: (id, village, local date, local
    // date before an admin moved it).
    let mut existing: Vec<(String, String, NaiveDate, Option<NaiveDate>)> = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT id, village_id, starts_at, moved_from FROM imbus_visits
             WHERE region_id = ?1 AND plan_id IS NOT NULL AND status <> 'cancelled'
               AND starts_at > ?2 AND starts_at < ?3
             ORDER BY starts_at, id",
        )?;
        let mut rows = stmt.query(params![region, Instant(from).text(), period_end.text()])?;
        let local_date = |text: &str| -> StoreResult<NaiveDate> {
            let at: Instant = text.parse().map_err(StoreError::Internal)?;
            Ok(at.local(tz).date_naive())
        };
        while let Some(r) = rows.next()? {
            let moved_from = r
                .get::<_, Option<String>>(3)?
                .map(|t| local_date(&t))
                .transpose()?;
            existing.push((
                r.get(0)?,
                r.get(1)?,
                local_date(&r.get::<_, String>(2)?)?,
                moved_from,
            ));
        }
    }

    let mut made = 0u32;
    let mut kept = 0u32;
    let mut moved = 0u32;
    let mut slots = 0u32;
    let visits = dated(&row, tz)?;
    let future: Vec<&DatedVisit> = visits.iter().filter(|v| v.starts_at.0 > now).collect();
    // Each planned visit keeps the earlier visit of its village on its date, or else the one an
    // admin moved away from that date; each earlier visit is kept at most once.
    let mut keeps: HashMap<usize, String> = HashMap::new();
    let mut matched: HashSet<String> = HashSet::new();
    for by_moved_from in [false, true] {
        for (i, v) in future.iter().enumerate() {
            if keeps.contains_key(&i) {
                continue;
            }
            let found = existing.iter().find(|(visit, village, date, moved_from)| {
                *village == v.village_id
                    && !matched.contains(visit)
                    && if by_moved_from {
                        *moved_from == Some(v.date)
                    } else {
                        *date == v.date
                    }
            });
            if let Some((visit, ..)) = found {
                matched.insert(visit.clone());
                keeps.insert(i, visit.clone());
            }
        }
    }
    // First cancel dropped visits, so kept and new ones meet a settled day.
    let mut cancelled = 0u32;
    for (visit_id, ..) in &existing {
        if !matched.contains(visit_id) {
            cancel_in::<ImbusVisit>(tx, who, visit_id, Some(REPLAN_CANCEL_REASON))?;
            cancelled += 1;
        }
    }
    for (i, v) in future.iter().enumerate() {
        let counsellor = name_of(tx, "imbus_counsellors", &v.counsellor_id)?;
        if let Some(visit_id) = keeps.get(&i) {
            let current = read_row::<ImbusVisit>(tx, visit_id)?;
            let start_moves = current.get("starts_at").and_then(Value::as_str)
                != Some(v.starts_at.text().as_str());
            let mut patch = Map::new();
            patch.insert("starts_at".into(), json!(v.starts_at));
            patch.insert("ends_at".into(), json!(v.ends_at));
            patch.insert("stop_id".into(), json!(v.stop_id));
            patch.insert("bus_id".into(), json!(v.bus_id));
            patch.insert("counsellor_id".into(), json!(v.counsellor_id));
            patch.insert("counsellor".into(), json!(counsellor));
            patch.insert("plan_id".into(), json!(id));
            patch.insert("replacement".into(), json!(v.replacement));
            patch.insert("status".into(), json!("published"));
            patch.insert(
                "walk_in_minutes".into(),
                json!(walk_in.min(v.end - v.start)),
            );
            if start_moves {
                patch.insert("change_reason".into(), json!(REPLAN_REASON));
                moved += 1;
            } else {
                kept += 1;
            }
            update_in::<ImbusVisit>(tx, who, visit_id, patch)?;
            slots += fill_slots(tx, who, visit_id, v, walk_in, slot_minutes)?;
            crate::sync::shares::assign_for_visit(tx, visit_id)?;
            continue;
        }
        let visit = ImbusVisit {
            region_id: region.clone(),
            village_id: v.village_id.clone(),
            stop_id: v.stop_id.clone(),
            starts_at: v.starts_at,
            ends_at: v.ends_at,
            counsellor,
            status: VisitStatus::Published,
            bus_id: Some(v.bus_id.clone()),
            counsellor_id: Some(v.counsellor_id.clone()),
            plan_id: Some(id.to_string()),
            replacement: v.replacement,
            change_reason: None,
            walk_in_minutes: walk_in.min(v.end - v.start),
        };
        let visit_id = child_id(id, &format!("visit/{}/{}", v.village_id, v.date));
        create_in(tx, who, Some(visit_id), &visit)?;
        let visit_id = visit_id.to_string();
        slots += fill_slots(tx, who, &visit_id, v, walk_in, slot_minutes)?;
        crate::sync::shares::assign_for_visit(tx, &visit_id)?;
        made += 1;
    }

    let publication = json!({
        "visits_created": made,
        "visits_kept": kept,
        "visits_moved": moved,
        "visits_cancelled": cancelled,
        "slots_created": slots,
        "past_visits_skipped": visits.len() - future.len(),
    });
    // Earlier published plans whose period overlaps this one give way.
    let first = row.first_day.to_string();
    tx.execute(
        "UPDATE tour_plans SET status = 'superseded'
         WHERE region_id = ?1 AND status = 'published' AND id <> ?2
           AND first_day < ?3 AND date(first_day, '+' || (weeks * 7) || ' days') > ?4",
        params![region, id, last.to_string(), first],
    )?;
    tx.execute(
        "UPDATE tour_plans SET status = 'published', published_at = ?1, publication = ?2
         WHERE id = ?3",
        params![now_text_, publication.to_string(), id],
    )?;
    logs::audit(
        tx,
        who,
        Action::Update,
        "tour_plans",
        Some(id),
        Some(&region),
    )?;
    plan_answer(tx, id)
}

/// A deterministic id for a record a plan makes.
fn child_id(plan_id: &str, key: &str) -> Uuid {
    Uuid::new_v5(
        &crate::import::IMPORT_NAMESPACE,
        format!("tour plan {plan_id}\u{1f}{key}").as_bytes(),
    )
}

/// Makes the slots a visit lacks: from its start to its end less the walk-in time, `minutes`
/// each, skipping times an open slot already covers. Returns how many were made.
fn fill_slots(
    tx: &Connection,
    who: &Who,
    visit_id: &str,
    v: &DatedVisit,
    walk_in: u32,
    minutes: u32,
) -> StoreResult<u32> {
    let taken: HashSet<String> = tx
        .prepare("SELECT starts_at FROM slots WHERE visit_id = ?1 AND status = 'open'")?
        .query_map([visit_id], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    let length = v.end.saturating_sub(v.start);
    let bookable = length.saturating_sub(walk_in.min(length));
    let region: String = column_of(tx, "imbus_visits", "region_id", visit_id)?
        .ok_or_else(|| StoreError::Internal("visit vanished".into()))?;
    let mut made = 0;
    for k in 0..bookable / minutes {
        let starts_at = Instant(v.starts_at.0 + Duration::minutes(i64::from(k * minutes)));
        if taken.contains(&starts_at.text()) {
            continue;
        }
        let slot = Slot {
            region_id: region.clone(),
            visit_id: Some(visit_id.to_string()),
            consultation_hours_id: None,
            starts_at,
            ends_at: Instant(starts_at.0 + Duration::minutes(i64::from(minutes))),
            reserved_for_device_id: None,
            status: SlotStatus::Open,
        };
        let slot_id = child_id(visit_id, &format!("slot/{}", starts_at.text()));
        create_in(tx, who, Some(slot_id), &slot)?;
        made += 1;
    }
    Ok(made)
}

/// The rules of a visit whose start changes (from `ImbusVisit::validate`): it has not begun,
/// the new start lies ahead and on a day with IMBUS, and a published visit says why it moved.
pub fn check_visit_move(ctx: &Ctx<'_>, visit: &ImbusVisit, previous: &Value) -> StoreResult<()> {
    let before: Option<Instant> = previous
        .get("starts_at")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    if before.is_some_and(|b| b.0 <= ctx.now) {
        return Err(StoreError::invalid(
            "starts_at",
            "the visit has begun or is over; past visits stay as they were",
        ));
    }
    if visit.starts_at.0 < ctx.now {
        return Err(StoreError::invalid("starts_at", "lies in the past"));
    }
    if visit.status == VisitStatus::Published && visit.change_reason.is_none() {
        return Err(StoreError::invalid(
            "change_reason",
            "a published visit moves only with the reason residents are shown",
        ));
    }
    let tz = region_tz(ctx.tx, &visit.region_id)?;
    let date = visit.starts_at.local(tz).date_naive();
    if let Some(reason) = closed_reason(
        ctx.tx,
        &visit.region_id,
        date,
        visit.bus_id.as_deref(),
        visit.counsellor_id.as_deref(),
    )? {
        return Err(StoreError::invalid(
            "starts_at",
            format!("{date} is a day without IMBUS ({reason})"),
        ));
    }
    Ok(())
}

/// Moves a visit's slots with it (from `ImbusVisit::after_write`), and their appointments'
/// starts. A free slot that would fall outside the visit is cancelled; a booked one refuses the
/// move.
pub fn move_slots(ctx: &Ctx<'_>, visit: &ImbusVisit, previous: &Value) -> StoreResult<()> {
    let Some(before) = previous
        .get("starts_at")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Instant>().ok())
    else {
        return Ok(());
    };
    let offset = visit.starts_at.0 - before.0;
    let slots: Vec<(String, String, String, bool)> = ctx
        .tx
        .prepare(
            "SELECT s.id, s.starts_at, s.ends_at,
                    EXISTS (SELECT 1 FROM appointments a
                            WHERE a.slot_id = s.id AND a.status <> 'cancelled')
             FROM slots s WHERE s.visit_id = ?1 AND s.status = 'open' ORDER BY s.starts_at, s.id",
        )?
        .query_map([ctx.id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    for (slot_id, starts, ends, booked) in slots {
        let starts: Instant = starts.parse().map_err(StoreError::Internal)?;
        let ends: Instant = ends.parse().map_err(StoreError::Internal)?;
        let (new_start, new_end) = (Instant(starts.0 + offset), Instant(ends.0 + offset));
        if new_start < visit.starts_at || new_end > visit.ends_at {
            if booked {
                return Err(StoreError::invalid(
                    "ends_at",
                    "a booked slot would lie outside the moved visit",
                ));
            }
            cancel_in::<Slot>(ctx.tx, ctx.who, &slot_id, None)?;
            continue;
        }
        let mut patch = Map::new();
        patch.insert("starts_at".into(), json!(new_start));
        patch.insert("ends_at".into(), json!(new_end));
        update_in::<Slot>(ctx.tx, ctx.who, &slot_id, patch)?;
        let appointments: Vec<String> = ctx
            .tx
            .prepare("SELECT id FROM appointments WHERE slot_id = ?1 AND status <> 'cancelled'")?
            .query_map([&slot_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for appointment in appointments {
            // The appointment's start is the slot's (derived); a kiosk booking's ticket learns
            // of it through the trigger of migration 0010.
            ctx.tx.execute(
                "UPDATE appointments SET starts_at = ?1, updated_at = ?2, version = version + 1
                 WHERE id = ?3",
                params![new_start.text(), now_text(), appointment],
            )?;
            logs::audit(
                ctx.tx,
                ctx.who,
                Action::Update,
                "appointments",
                Some(&appointment),
                Some(&visit.region_id),
            )?;
        }
    }
    Ok(())
}

/// Moves a visit to a new start (its length kept) with the reason residents read: refused for a
/// cancelled or past visit, into the past, onto a day without IMBUS, or onto a time its bus is
/// at another visit. Its slots and their appointments move with it. The same move again changes
/// nothing.
pub fn move_visit(
    conn: &mut Connection,
    who: &Who,
    visit_id: &str,
    starts_at: Instant,
    reason: &str,
) -> StoreResult<Value> {
    let tx = conn.transaction()?;
    let current = read_row::<ImbusVisit>(&tx, visit_id)?;
    let text = |k: &str| current.get(k).and_then(Value::as_str).map(str::to_string);
    if text("status").as_deref() == Some("cancelled") {
        return Err(StoreError::Conflict(format!(
            "IMBUS visit {visit_id} is cancelled; it cannot move"
        )));
    }
    if text("starts_at").as_deref() == Some(starts_at.text().as_str())
        && text("change_reason").as_deref() == Some(reason)
    {
        return Ok(current);
    }
    let (Some(old_start), Some(old_end)) = (text("starts_at"), text("ends_at")) else {
        return Err(StoreError::Internal("visit without times".into()));
    };
    let old_start: Instant = old_start.parse().map_err(StoreError::Internal)?;
    let old_end: Instant = old_end.parse().map_err(StoreError::Internal)?;
    let ends_at = Instant(starts_at.0 + (old_end.0 - old_start.0));
    if let Some(bus) = text("bus_id") {
        let clash: Option<(String, String)> = tx
            .query_row(
                "SELECT v.name, i.starts_at FROM imbus_visits i JOIN villages v ON v.id = i.village_id
                 WHERE i.bus_id = ?1 AND i.id <> ?2 AND i.status <> 'cancelled'
                   AND i.starts_at < ?3 AND i.ends_at > ?4
                 ORDER BY i.starts_at LIMIT 1",
                params![bus, visit_id, ends_at.text(), starts_at.text()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((village, at)) = clash {
            return Err(StoreError::invalid(
                "starts_at",
                format!("the bus is at its visit in {village} then (from {at})"),
            ));
        }
    }
    let mut patch = Map::new();
    patch.insert("starts_at".into(), json!(starts_at));
    patch.insert("ends_at".into(), json!(ends_at));
    patch.insert("change_reason".into(), json!(reason));
    let record = update_in::<ImbusVisit>(&tx, who, visit_id, patch)?;
    tx.commit()?;
    Ok(record)
}

/// The timetable of a plan answer as text: per week and day the buses' visits with counsellor,
/// village and time (replacements marked), then the figures.
pub fn timetable_text(plan: &Value) -> String {
    let mut out = String::new();
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
    out.push_str(&format!(
        "tour plan {} ({}): {} weeks from {}, seed {}\n",
        s(plan, "id"),
        s(plan, "status"),
        plan["weeks"],
        s(plan, "first_day"),
        plan["seed"]
    ));
    let visits = plan["visits"].as_array().cloned().unwrap_or_default();
    let mut week = -1i64;
    let mut day = String::new();
    for v in &visits {
        let w = v["week"].as_i64().unwrap_or(0);
        if w != week {
            week = w;
            out.push_str(&format!("\nWoche {}\n", w + 1));
        }
        let date = s(v, "date");
        if date != day {
            day.clone_from(&date);
            let weekday = WEEKDAY_NAMES
                .iter()
                .position(|n| *n == s(v, "weekday"))
                .map_or("", |i| WEEKDAYS_DE[i]);
            out.push_str(&format!("  {weekday} {date}\n"));
        }
        out.push_str(&format!(
            "    {}-{}  {:<24} {:<22} {:<18}{}\n",
            s(v, "start"),
            s(v, "end"),
            s(v, "village"),
            s(v, "bus"),
            s(v, "counsellor"),
            if v["replacement"].as_bool() == Some(true) {
                "  (Ersatztermin)"
            } else {
                ""
            }
        ));
    }
    for u in plan["unmet"].as_array().cloned().unwrap_or_default() {
        out.push_str(&format!(
            "missing: {} in week {} ({})\n",
            s(&u, "village"),
            u["week"].as_u64().unwrap_or(0) + 1,
            s(&u, "reason")
        ));
    }
    let f = &plan["figures"];
    let hours = |k: &str| f[k].as_f64().unwrap_or(0.0) / 3600.0;
    out.push_str(&format!(
        "\nvisits: {} required, {} planned; villages meeting their frequency: {} of {}\n",
        f["visits_required"], f["visits_planned"], f["villages_met"], f["villages"]
    ));
    out.push_str(&format!(
        "driving: {:.1} h; lower bound {:.1} h; ratio {}\n",
        hours("driving_seconds"),
        hours("driving_lower_bound_seconds"),
        f["ratio"]
            .as_f64()
            .map_or("-".to_string(), |r| format!("{r:.2}"))
    ));
    out.push_str(&format!(
        "replacements: {}; moved patterns: {}; time taken: {} ms\n",
        f["replacements"], f["moved_patterns"], f["elapsed_ms"]
    ));
    for m in plan["moves"].as_array().cloned().unwrap_or_default() {
        out.push_str(&format!(
            "moved: {} ({})\n",
            s(&m, "village"),
            s(&m, "reason")
        ));
    }
    let problems = f["problems"].as_array().cloned().unwrap_or_default();
    for p in &problems {
        out.push_str(&format!("PROBLEM: {}\n", p.as_str().unwrap_or("-")));
    }
    if !plan["publication"].is_null() {
        let p = &plan["publication"];
        out.push_str(&format!(
            "published: {} visits made, {} kept, {} moved, {} cancelled, {} slots\n",
            p["visits_created"],
            p["visits_kept"],
            p["visits_moved"],
            p["visits_cancelled"],
            p["slots_created"]
        ));
    }
    out
}
