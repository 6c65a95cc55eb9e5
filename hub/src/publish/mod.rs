//! The published IMBUS timetable in the forms people and other systems read: an iCalendar feed
//! (`ics`), an A4 poster per village for the notice board (`poster`) and a GTFS feed for trip
//! planners (`gtfs`, packed by `zip`).
//!
//! Everything here reads straight from SQL and shows only what residents were told: published
//! visits, and cancelled ones that had been published (a cancelled draft was never announced).
//! Planned (draft) visits never appear. Loading runs on the store's thread; rendering is pure CPU
//! work for a blocking thread.

pub mod gtfs;
pub mod ics;
pub mod poster;
pub mod zip;

use chrono::{DateTime, Datelike, NaiveDateTime, Utc, Weekday};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::StoreError;

/// How far back the feeds reach: a visit of the last two weeks stays, so a calendar that synced
/// before a cancellation still learns of it.
pub const DAYS_BACK: i64 = 14;

/// Why a published form cannot be produced.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The region or village does not exist.
    #[error("no {kind} with id {id}")]
    NotFound { kind: &'static str, id: String },
    /// The request does not say enough (several regions and none chosen) or is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The store failed or holds data that breaks an invariant.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The output could not be produced.
    #[error("{0}")]
    Render(String),
}

impl From<rusqlite::Error> for PublishError {
    fn from(e: rusqlite::Error) -> Self {
        PublishError::Store(StoreError::Db(e))
    }
}

/// The region a timetable belongs to: its name, phone number and time zone.
#[derive(Clone, Debug)]
pub struct RegionInfo {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub tz: Tz,
    /// `settings.website` of the region, if it is an http(s) address.
    pub website: Option<String>,
}

/// A village a timetable is filtered to.
#[derive(Clone, Debug)]
pub struct VillageInfo {
    pub id: String,
    pub name: String,
}

/// One visit as residents were told about it.
#[derive(Clone, Debug)]
pub struct PublishedVisit {
    pub id: String,
    pub village_id: String,
    pub village: String,
    pub stop_id: String,
    pub stop: String,
    pub lat: f64,
    pub lon: f64,
    pub step_free: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub cancelled: bool,
    pub cancel_reason: Option<String>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub bus_id: Option<String>,
    pub replacement: bool,
    /// The start before an admin moved the visit.
    pub moved_from: Option<DateTime<Utc>>,
    pub change_reason: Option<String>,
    /// Minutes at the end of the visit kept free of slots for people who just come by.
    pub walk_in_minutes: i64,
}

/// The visits of a region (or one of its villages) from a point in time on, in start order.
#[derive(Clone, Debug)]
pub struct Timetable {
    pub region: RegionInfo,
    pub village: Option<VillageInfo>,
    pub visits: Vec<PublishedVisit>,
}

/// Which region (and village) a request means. A village implies its region; without either,
/// the hub's only region is meant, and a hub with several needs `region`.
pub fn select(
    conn: &Connection,
    region: Option<&str>,
    village: Option<&str>,
) -> Result<(RegionInfo, Option<VillageInfo>), PublishError> {
    let village = match village {
        Some(id) => {
            let row: Option<(String, String, String)> = conn
                .query_row(
                    "SELECT id, name, region_id FROM villages WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (id, name, region_id) = row.ok_or_else(|| PublishError::NotFound {
                kind: "village",
                id: id.to_string(),
            })?;
            if let Some(asked) = region
                && asked != region_id
            {
                return Err(PublishError::NotFound {
                    kind: "village",
                    id: format!("{id} in region {asked}"),
                });
            }
            Some((VillageInfo { id, name }, region_id))
        }
        None => None,
    };
    let region_id = match (&village, region) {
        (Some((_, region_id)), _) => region_id.clone(),
        (None, Some(id)) => id.to_string(),
        (None, None) => {
            let ids: Vec<String> = conn
                .prepare("SELECT id FROM regions WHERE archived_at IS NULL ORDER BY id LIMIT 2")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            match ids.as_slice() {
                [only] => only.clone(),
                [] => {
                    return Err(PublishError::NotFound {
                        kind: "region",
                        id: "(this hub holds none)".into(),
                    });
                }
                _ => {
                    return Err(PublishError::BadRequest(
                        "this hub holds several regions: choose one with region=<id>".into(),
                    ));
                }
            }
        }
    };
    let row: Option<(String, String, Option<String>, String, String)> = conn
        .query_row(
            "SELECT id, name, phone, time_zone, settings FROM regions WHERE id = ?1",
            [&region_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let (id, name, phone, zone, settings) = row.ok_or_else(|| PublishError::NotFound {
        kind: "region",
        id: region_id.clone(),
    })?;
    let tz: Tz = zone.parse().map_err(|_| {
        PublishError::Store(StoreError::Internal(format!(
            "region {id} has the unknown time zone {zone}"
        )))
    })?;
    let website = serde_json::from_str::<serde_json::Value>(&settings)
        .ok()
        .and_then(|s| s.get("website")?.as_str().map(str::to_string))
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"));
    Ok((
        RegionInfo {
            id,
            name,
            phone,
            tz,
            website,
        },
        village.map(|(v, _)| v),
    ))
}

/// The published and cancelled visits of the region (or village) that end at or after `since`,
/// in start order, at most `limit` of them.
pub fn load(
    conn: &Connection,
    region: RegionInfo,
    village: Option<VillageInfo>,
    since: DateTime<Utc>,
    limit: Option<usize>,
) -> Result<Timetable, PublishError> {
    // A cancelled visit counts as announced when its plan was published or when the change log
    // (what kiosks showed) once carried it as published.
    let mut stmt = conn.prepare_cached(
        "SELECT v.id, v.village_id, vi.name, v.stop_id, s.name, s.lat, s.lon, s.step_free,
                v.starts_at, v.ends_at, v.status, v.cancel_reason, v.version, v.updated_at,
                v.bus_id, v.replacement, v.moved_from, v.change_reason, v.walk_in_minutes
         FROM imbus_visits v
         JOIN villages vi ON vi.id = v.village_id
         JOIN stops s ON s.id = v.stop_id
         LEFT JOIN tour_plans p ON p.id = v.plan_id
         WHERE v.region_id = ?1 AND (?2 IS NULL OR v.village_id = ?2) AND v.ends_at >= ?3
           AND (v.status = 'published'
                OR (v.status = 'cancelled'
                    AND (p.status IN ('published', 'superseded')
                         OR EXISTS (SELECT 1 FROM change_log c
                                    WHERE c.region_id = v.region_id AND c.kind = 'imbus_visits'
                                      AND c.entity_id = v.id
                                      AND json_extract(c.body, '$.status') = 'published'))))
         ORDER BY v.starts_at, v.id
         LIMIT ?4",
    )?;
    let since_text = since.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let village_id = village.as_ref().map(|v| v.id.clone());
    let rows = stmt.query_map(params![region.id, village_id, since_text, limit], |r| {
        Ok(RawVisit {
            id: r.get(0)?,
            village_id: r.get(1)?,
            village: r.get(2)?,
            stop_id: r.get(3)?,
            stop: r.get(4)?,
            lat: r.get(5)?,
            lon: r.get(6)?,
            step_free: r.get::<_, i64>(7)? != 0,
            starts_at: r.get(8)?,
            ends_at: r.get(9)?,
            status: r.get(10)?,
            cancel_reason: r.get(11)?,
            version: r.get(12)?,
            updated_at: r.get(13)?,
            bus_id: r.get(14)?,
            replacement: r.get::<_, i64>(15)? != 0,
            moved_from: r.get(16)?,
            change_reason: r.get(17)?,
            walk_in_minutes: r.get(18)?,
        })
    })?;
    let mut visits = Vec::new();
    for row in rows {
        visits.push(row?.parse()?);
    }
    Ok(Timetable {
        region,
        village,
        visits,
    })
}

/// A row as stored, before its instants are parsed.
struct RawVisit {
    id: String,
    village_id: String,
    village: String,
    stop_id: String,
    stop: String,
    lat: f64,
    lon: f64,
    step_free: bool,
    starts_at: String,
    ends_at: String,
    status: String,
    cancel_reason: Option<String>,
    version: i64,
    updated_at: String,
    bus_id: Option<String>,
    replacement: bool,
    moved_from: Option<String>,
    change_reason: Option<String>,
    walk_in_minutes: i64,
}

impl RawVisit {
    fn parse(self) -> Result<PublishedVisit, PublishError> {
        let id = self.id.clone();
        let instant = |text: &str| -> Result<DateTime<Utc>, PublishError> {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    PublishError::Store(StoreError::Internal(format!(
                        "imbus visit {id} holds the bad instant {text:?}: {e}"
                    )))
                })
        };
        Ok(PublishedVisit {
            starts_at: instant(&self.starts_at)?,
            ends_at: instant(&self.ends_at)?,
            updated_at: instant(&self.updated_at)?,
            moved_from: self.moved_from.as_deref().map(instant).transpose()?,
            cancelled: self.status == "cancelled",
            id: self.id,
            village_id: self.village_id,
            village: self.village,
            stop_id: self.stop_id,
            stop: self.stop,
            lat: self.lat,
            lon: self.lon,
            step_free: self.step_free,
            cancel_reason: self.cancel_reason.filter(|r| !r.trim().is_empty()),
            version: self.version,
            bus_id: self.bus_id,
            replacement: self.replacement,
            change_reason: self.change_reason.filter(|r| !r.trim().is_empty()),
            walk_in_minutes: self.walk_in_minutes.max(0),
        })
    }
}

/// The wall-clock time of `at` in `tz`.
pub fn local(tz: Tz, at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&tz).naive_local()
}

/// The German name of a weekday.
pub fn weekday_de(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Montag",
        Weekday::Tue => "Dienstag",
        Weekday::Wed => "Mittwoch",
        Weekday::Thu => "Donnerstag",
        Weekday::Fri => "Freitag",
        Weekday::Sat => "Samstag",
        Weekday::Sun => "Sonntag",
    }
}

/// "Dienstag, 30.03.2027, 09:00 Uhr": a local date and time as residents read it.
pub fn date_time_de(at: NaiveDateTime) -> String {
    format!(
        "{}, {}, {} Uhr",
        weekday_de(at.weekday()),
        at.format("%d.%m.%Y"),
        at.format("%H:%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_follow_the_clock_change() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let winter = "2027-03-26T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let summer = "2027-03-30T07:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            date_time_de(local(tz, winter)),
            "Freitag, 26.03.2027, 09:00 Uhr"
        );
        assert_eq!(
            date_time_de(local(tz, summer)),
            "Dienstag, 30.03.2027, 09:00 Uhr"
        );
    }
}
