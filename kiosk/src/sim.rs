//! `kiosk sim`: a simulated resident who books rides through the kiosk's real core
//! ([`crate::core::book_ride`]), for admins testing a new installation, for tests and for load
//! runs.
//!
//! The places come from the replica (the region's stops and destinations, after a first sync),
//! the times from the next weekday, inside a destination's opening hours when they are known.
//! Bookings work offline; afterwards the simulation syncs every few seconds until the outbox is
//! empty or its time is up. It prints exactly one line per booking,
//! `booking=<code> status=<confirmed|requested|refused>`, and `outbox=<entries left>` last.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::Value;

use crate::core::{CoreError, Place, RideAsk, When, book_ride, sync_within};
use crate::store::{ReplicaRow, Store, StoreError};
use crate::sync::Transport;

/// How the simulation runs.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub bookings: u32,
    /// The longest wait for an empty outbox after the last booking.
    pub wait: Duration,
    /// Pause between syncs while waiting.
    pub sync_every: Duration,
    /// How long a booking waits for the hub's answer before it is shown as a request.
    pub answer_within: Duration,
    /// The resident the rides are booked for, as the hub knows them.
    pub resident_id: String,
}

/// The kiosk the simulation runs on.
#[derive(Clone, Debug)]
pub struct SimKiosk {
    pub region_id: String,
    pub device_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(
        "the kiosk knows no stops or destinations of region {0} yet: it has not synced with its hub"
    )]
    NoPlaces(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
}

/// Runs the simulation; returns the number of outbox entries left (0 when everything was
/// answered). `out` gets the booking and outbox lines, `notes` what an admin should know.
pub async fn run<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    kiosk: &SimKiosk,
    options: &SimOptions,
    out: &mut dyn Write,
    notes: &mut dyn Write,
) -> Result<u64, SimError> {
    match sync_within(store, transport, options.answer_within).await {
        Ok(Some(_)) => {}
        Ok(None) => writeln!(notes, "the hub is slow to answer: working offline")?,
        Err(e) => writeln!(notes, "the hub is out of reach ({e}): working offline")?,
    }
    let places = Places::from_replica(store, kiosk)?;
    let today = Utc::now().with_timezone(&places.tz).date_naive();
    for n in 0..options.bookings {
        let ask = places.ride(n, today, &options.resident_id);
        let result = book_ride(store, transport, &ask, options.answer_within).await?;
        writeln!(
            out,
            "booking={} status={}",
            result.code,
            result.status.word()
        )?;
        out.flush()?;
    }

    let deadline = Instant::now() + options.wait;
    let left = loop {
        let left = pending(store).await?;
        let now = Instant::now();
        if left == 0 || now >= deadline {
            break left;
        }
        let remaining = deadline - now;
        if let Err(e) = sync_within(store, transport, remaining).await {
            writeln!(notes, "sync failed, trying again: {e}")?;
        }
        if pending(store).await? == 0 {
            break 0;
        }
        tokio::time::sleep(
            options
                .sync_every
                .min(deadline.saturating_duration_since(Instant::now())),
        )
        .await;
    };
    writeln!(out, "outbox={left}")?;
    out.flush()?;
    Ok(left)
}

async fn pending(store: &Store) -> Result<u64, SimError> {
    let store = store.clone();
    Ok(tokio::task::spawn_blocking(move || store.pending_count())
        .await
        .map_err(|_| CoreError::Interrupted)??)
}

/// The places a simulated resident picks from.
#[derive(Clone, Debug)]
pub struct Places {
    region_id: String,
    /// The kiosk's own stop first when the replica names it.
    stops: Vec<String>,
    destinations: Vec<(String, Vec<Opening>)>,
    tz: Tz,
}

/// An opening interval of a destination, in the region's wall-clock time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Opening {
    weekday: Weekday,
    open: NaiveTime,
    close: NaiveTime,
}

impl Places {
    /// The stops and destinations of the kiosk's region in the replica.
    pub fn from_replica(store: &Store, kiosk: &SimKiosk) -> Result<Places, SimError> {
        let in_region = |row: &ReplicaRow| {
            row.body
                .get("region_id")
                .and_then(Value::as_str)
                .is_none_or(|r| r == kiosk.region_id)
        };
        let mut stops: Vec<String> = store
            .replica_list("stops")?
            .into_iter()
            .filter(in_region)
            .map(|r| r.id)
            .collect();
        let own_stop = store
            .replica_list("devices")?
            .into_iter()
            .find(|r| r.id == kiosk.device_id)
            .and_then(|r| {
                r.body
                    .get("stop_id")
                    .and_then(Value::as_str)
                    .map(String::from)
            });
        if let Some(own) = own_stop
            && let Some(at) = stops.iter().position(|s| *s == own)
        {
            let own = stops.remove(at);
            stops.insert(0, own);
        }
        let destinations: Vec<(String, Vec<Opening>)> = store
            .replica_list("destinations")?
            .into_iter()
            .filter(in_region)
            .map(|r| {
                let hours = openings(r.body.get("opening_hours"));
                (r.id, hours)
            })
            .collect();
        if stops.is_empty() && destinations.is_empty() {
            return Err(SimError::NoPlaces(kiosk.region_id.clone()));
        }
        let tz = store
            .replica_list("regions")?
            .into_iter()
            .find(|r| r.id == kiosk.region_id)
            .and_then(|r| {
                r.body
                    .get("time_zone")
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<Tz>().ok())
            })
            .unwrap_or(chrono_tz::Europe::Berlin);
        Ok(Places {
            region_id: kiosk.region_id.clone(),
            stops,
            destinations,
            tz,
        })
    }

    /// Booking number `n`: from the kiosk's stop (or the next one) to a destination by an
    /// appointment on the next weekday after `today`, or to another stop with a pickup time.
    pub fn ride(&self, n: u32, today: NaiveDate, resident_id: &str) -> RideAsk {
        let i = n as usize;
        let from = match self.stops.first() {
            Some(own) => Place::Stop(own.clone()),
            None => Place::Home,
        };
        let step = u64::from(n) * 10;
        let (to, when) = if self.destinations.is_empty() {
            let to = match self.stops.len() {
                0 | 1 => Place::Home,
                len => Place::Stop(self.stops[1 + i % (len - 1)].clone()),
            };
            let day = next_weekday(today);
            let local = day.and_time(at_minutes(9 * 60 + step % 480));
            (to, When::Pickup(self.utc(local)))
        } else {
            let (id, hours) = &self.destinations[i % self.destinations.len()];
            let local = appointment_in(hours, today, step);
            (
                Place::Destination(id.clone()),
                When::Appointment(self.utc(local)),
            )
        };
        RideAsk {
            region_id: self.region_id.clone(),
            resident_id: resident_id.to_string(),
            from,
            to,
            when,
            passengers: 1,
            wheelchair: false,
            walker: false,
        }
    }

    /// A wall-clock time of the region as an instant; a time the clock change skips moves on by
    /// an hour.
    fn utc(&self, local: chrono::NaiveDateTime) -> DateTime<Utc> {
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                self.tz
                    .from_local_datetime(&(local + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
    }
}

/// The opening hours in a destination's body (`[{"weekday": "mon", "open": "08:00", "close":
/// "12:00"}]`); anything unreadable is left out.
fn openings(value: Option<&Value>) -> Vec<Opening> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let text = |name: &str| item.get(name).and_then(Value::as_str);
            let time = |name: &str| NaiveTime::parse_from_str(text(name)?, "%H:%M").ok();
            let weekday = text("weekday")?.parse::<Weekday>().ok()?;
            let (open, close) = (time("open")?, time("close")?);
            (open < close).then_some(Opening {
                weekday,
                open,
                close,
            })
        })
        .collect()
}

/// The first Monday to Friday after `today`.
fn next_weekday(today: NaiveDate) -> NaiveDate {
    let mut day = today + Days::new(1);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day = day + Days::new(1);
    }
    day
}

fn at_minutes(minutes: u64) -> NaiveTime {
    let minutes = u32::try_from(minutes % (24 * 60)).unwrap_or(0);
    NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or(NaiveTime::MIN)
}

/// An appointment on the first weekday after `today` the destination is open, half an hour
/// after opening plus `step` minutes (wrapping inside the interval, a quarter hour before
/// closing at the latest); 09:00 plus `step` on the next weekday when the hours are unknown.
fn appointment_in(hours: &[Opening], today: NaiveDate, step: u64) -> chrono::NaiveDateTime {
    let mut day = next_weekday(today);
    for _ in 0..7 {
        if let Some(open) = hours.iter().find(|h| h.weekday == day.weekday()) {
            let span = (open.close - open.open).num_minutes().max(0) as u64;
            let usable = span.saturating_sub(45).max(1);
            let offset = if span > 45 {
                30 + step % usable
            } else {
                span / 2
            };
            return day.and_time(open.open + chrono::Duration::minutes(offset as i64));
        }
        day = next_weekday(day);
    }
    next_weekday(today).and_time(at_minutes(9 * 60 + step % 480))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_next_weekday_skips_the_weekend() {
        // 2026-11-20 is a Friday.
        assert_eq!(next_weekday(date(2026, 11, 20)), date(2026, 11, 23));
        assert_eq!(next_weekday(date(2026, 11, 23)), date(2026, 11, 24));
    }

    #[test]
    fn appointments_fall_inside_the_opening_hours() {
        let hours = openings(Some(&json!([
            {"weekday": "wed", "open": "08:00", "close": "12:00"},
            {"weekday": "sun", "open": "xx", "close": "12:00"}
        ])));
        assert_eq!(hours.len(), 1);
        for step in (0..200).step_by(10) {
            // From Friday: the next Wednesday.
            let at = appointment_in(&hours, date(2026, 11, 20), step);
            assert_eq!(at.date(), date(2026, 11, 25));
            let t = at.time();
            assert!(
                t >= NaiveTime::from_hms_opt(8, 30, 0).unwrap()
                    && t <= NaiveTime::from_hms_opt(11, 45, 0).unwrap(),
                "{at}"
            );
        }
        assert_eq!(
            appointment_in(&[], date(2026, 11, 20), 0),
            date(2026, 11, 23).and_time(at_minutes(540))
        );
    }

    #[test]
    fn the_region_time_zone_turns_wall_clock_into_utc() {
        let places = Places {
            region_id: "r1".into(),
            stops: vec!["s1".into(), "s2".into()],
            destinations: vec![],
            tz: chrono_tz::Europe::Berlin,
        };
        let ask = places.ride(0, date(2026, 11, 20), "p-1");
        assert_eq!(ask.region_id, "r1");
        assert_eq!(ask.from, Place::Stop("s1".into()));
        assert_eq!(ask.to, Place::Stop("s2".into()));
        // 09:00 in Berlin in November is 08:00 UTC.
        assert_eq!(
            ask.when,
            When::Pickup(Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap())
        );
    }
}
