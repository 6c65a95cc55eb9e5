//! The timetable as a GTFS static feed, so trip planners can show where and when the IMBUS stands.
//!
//! Modelling: the region is the agency, IMBUS one bus route (`route_type` 3). A trip is one bus's
//! day: its visits in order, each a stop time with arrival = the visit's start and departure =
//! its end (the bus stands there in between). Visits without a bus, or overlapping ones, are
//! split into as few trips as keep the times increasing. A trip needs two stop times, so a trip
//! of a single visit lists its stop twice: arriving (arrival = departure = start) and leaving
//! (arrival = departure = end). The bus carries no passengers: `pickup_type` and
//! `drop_off_type` are 1. Service is given per date in `calendar_dates.txt` (one service per
//! local date; no `calendar.txt`, which GTFS allows when every date is listed). Cancelled visits
//! are left out. Times count from "noon minus 12 h" of the service day, as GTFS defines them, which
//! differs from midnight on the days the clock changes.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::{PublishError, PublishedVisit, Timetable, local, zip};

/// The route's id; the feed has one route.
const ROUTE_ID: &str = "imbus";

/// The feed's files, in the order they go into the archive.
pub fn files(
    timetable: &Timetable,
    publisher_url: &str,
) -> Result<Vec<(&'static str, Vec<u8>)>, PublishError> {
    let region = &timetable.region;
    let tz = region.tz;
    let visits: Vec<&PublishedVisit> = timetable.visits.iter().filter(|v| !v.cancelled).collect();
    let url = region.website.as_deref().unwrap_or(publisher_url);

    let mut agency = table(&[
        "agency_id",
        "agency_name",
        "agency_url",
        "agency_timezone",
        "agency_lang",
        "agency_phone",
    ]);
    agency.row(&[
        &region.id,
        &format!("IMBUS {}", region.name),
        url,
        tz.name(),
        "de",
        region.phone.as_deref().unwrap_or(""),
    ])?;

    let mut routes = table(&[
        "route_id",
        "agency_id",
        "route_short_name",
        "route_long_name",
        "route_desc",
        "route_type",
    ]);
    routes.row(&[
        ROUTE_ID,
        &region.id,
        "IMBUS",
        "Beratungsbus IMBUS",
        "Kostenlose Beratung zu Gesundheit, Pflege, Geld, Wohnen und Familie; der Bus nimmt \
         keine Fahrg\u{e4}ste mit.",
        "3",
    ])?;

    let mut stops = table(&[
        "stop_id",
        "stop_name",
        "stop_desc",
        "stop_lat",
        "stop_lon",
        "location_type",
        "wheelchair_boarding",
    ]);
    let mut seen = std::collections::BTreeSet::new();
    for v in &visits {
        if seen.insert(v.stop_id.clone()) {
            stops.row(&[
                &v.stop_id,
                &v.stop,
                &format!("IMBUS-Halt in {}", v.village),
                &format!("{:.6}", v.lat),
                &format!("{:.6}", v.lon),
                "0",
                if v.step_free { "1" } else { "2" },
            ])?;
        }
    }

    let mut trips = table(&["route_id", "service_id", "trip_id", "trip_headsign"]);
    let mut stop_times = table(&[
        "trip_id",
        "arrival_time",
        "departure_time",
        "stop_id",
        "stop_sequence",
        "pickup_type",
        "drop_off_type",
    ]);
    let mut dates = table(&["service_id", "date", "exception_type"]);
    for ((day, bus), chains) in bus_days(tz, &visits) {
        let service = day.format("%Y%m%d").to_string();
        for (n, chain) in chains.iter().enumerate() {
            let trip = format!("{bus}-{service}-{}", n + 1);
            trips.row(&[ROUTE_ID, &service, &trip, "IMBUS Beratung"])?;
            let mut rows: Vec<(i64, i64, &str)> = Vec::new();
            if let [only] = chain.as_slice() {
                let (start, end) = (
                    since_noon_minus_12h(tz, day, only.starts_at),
                    since_noon_minus_12h(tz, day, only.ends_at),
                );
                rows.push((start, start, &only.stop_id));
                rows.push((end, end, &only.stop_id));
            } else {
                for v in chain {
                    rows.push((
                        since_noon_minus_12h(tz, day, v.starts_at),
                        since_noon_minus_12h(tz, day, v.ends_at),
                        &v.stop_id,
                    ));
                }
            }
            for (i, (arrival, departure, stop)) in rows.into_iter().enumerate() {
                stop_times.row(&[
                    &trip,
                    &gtfs_time(arrival),
                    &gtfs_time(departure),
                    stop,
                    &(i + 1).to_string(),
                    "1",
                    "1",
                ])?;
            }
        }
        dates.row(&[&service, &service, "1"])?;
    }

    let days: Vec<NaiveDate> = visits
        .iter()
        .map(|v| local(tz, v.starts_at).date())
        .collect();
    let version = visits.iter().map(|v| v.updated_at).max().map_or_else(
        || "leer".to_string(),
        |t| t.format("%Y%m%dT%H%M%SZ").to_string(),
    );
    let mut feed_info = table(&[
        "feed_publisher_name",
        "feed_publisher_url",
        "feed_lang",
        "feed_start_date",
        "feed_end_date",
        "feed_version",
    ]);
    let date = |d: Option<&NaiveDate>| {
        d.map(|d| d.format("%Y%m%d").to_string())
            .unwrap_or_default()
    };
    feed_info.row(&[
        &format!("Dorfpunkt {}", region.name),
        url,
        "de",
        &date(days.iter().min()),
        &date(days.iter().max()),
        &version,
    ])?;

    Ok(vec![
        ("agency.txt", agency.finish()?),
        ("stops.txt", stops.finish()?),
        ("routes.txt", routes.finish()?),
        ("trips.txt", trips.finish()?),
        ("stop_times.txt", stop_times.finish()?),
        ("calendar_dates.txt", dates.finish()?),
        ("feed_info.txt", feed_info.finish()?),
    ])
}

/// The feed as a ZIP archive.
pub fn render(
    timetable: &Timetable,
    publisher_url: &str,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, PublishError> {
    let files = files(timetable, publisher_url)?;
    let stamp = timetable
        .visits
        .iter()
        .map(|v| v.updated_at)
        .max()
        .unwrap_or(now);
    zip::archive(&files, local(timetable.region.tz, stamp))
        .map_err(|e| PublishError::Render(e.to_string()))
}

/// The visits per (local date, bus), each day's visits split into chains that do not overlap
/// (one chain per trip).
fn bus_days<'a>(
    tz: Tz,
    visits: &[&'a PublishedVisit],
) -> BTreeMap<(NaiveDate, String), Vec<Vec<&'a PublishedVisit>>> {
    let mut days: BTreeMap<(NaiveDate, String), Vec<Vec<&PublishedVisit>>> = BTreeMap::new();
    let mut sorted: Vec<&PublishedVisit> = visits.to_vec();
    sorted.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then(a.id.cmp(&b.id)));
    for v in sorted {
        let key = (
            local(tz, v.starts_at).date(),
            v.bus_id.clone().unwrap_or_else(|| "imbus".to_string()),
        );
        let chains = days.entry(key).or_default();
        // Visits come in start order: the first chain whose last visit has ended takes it.
        let free = chains
            .iter_mut()
            .find(|c| c.last().is_some_and(|last| last.ends_at <= v.starts_at));
        match free {
            Some(chain) => chain.push(v),
            None => chains.push(vec![v]),
        }
    }
    days
}

/// Seconds from "noon minus 12 h" of the service day `day` (GTFS reference) to `at`.
fn since_noon_minus_12h(tz: Tz, day: NaiveDate, at: DateTime<Utc>) -> i64 {
    let noon = day.and_hms_opt(12, 0, 0).unwrap_or_default();
    // Noon is never skipped or repeated by a clock change; the fallback keeps a wall-clock
    // reading should a zone ever do it.
    let base = tz
        .from_local_datetime(&noon)
        .earliest()
        .map(|t| t.with_timezone(&Utc) - Duration::hours(12))
        .unwrap_or_else(|| (noon - Duration::hours(12)).and_utc());
    (at - base).num_seconds()
}

/// `H:MM:SS` as GTFS writes it (hours may exceed 23 for trips past midnight).
fn gtfs_time(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A CSV file being written.
struct Table {
    writer: csv::Writer<Vec<u8>>,
    header: Vec<&'static str>,
    header_written: bool,
}

fn table(header: &[&'static str]) -> Table {
    Table {
        writer: csv::Writer::from_writer(Vec::new()),
        header: header.to_vec(),
        header_written: false,
    }
}

impl Table {
    fn write_header(&mut self) -> Result<(), PublishError> {
        if !self.header_written {
            self.writer
                .write_record(&self.header)
                .map_err(render_error)?;
            self.header_written = true;
        }
        Ok(())
    }

    fn row(&mut self, fields: &[&str]) -> Result<(), PublishError> {
        debug_assert_eq!(fields.len(), self.header.len());
        self.write_header()?;
        self.writer.write_record(fields).map_err(render_error)
    }

    fn finish(mut self) -> Result<Vec<u8>, PublishError> {
        self.write_header()?;
        self.writer
            .into_inner()
            .map_err(|e| PublishError::Render(format!("gtfs csv: {e}")))
    }
}

fn render_error(e: csv::Error) -> PublishError {
    PublishError::Render(format!("gtfs csv: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn times_count_from_noon_minus_twelve_hours() {
        let tz = chrono_tz::Europe::Berlin;
        let day = NaiveDate::from_ymd_opt(2027, 3, 26).unwrap();
        assert_eq!(
            gtfs_time(since_noon_minus_12h(tz, day, at("2027-03-26T08:00:00Z"))),
            "09:00:00"
        );
        // The Sunday the clock goes forward, noon minus 12 h is 23:00 CET of the Saturday:
        // 09:00 CEST reads 09:00:00, but 01:30 CET reads 02:30:00.
        let sunday = NaiveDate::from_ymd_opt(2027, 3, 28).unwrap();
        assert_eq!(
            gtfs_time(since_noon_minus_12h(tz, sunday, at("2027-03-28T07:00:00Z"))),
            "09:00:00"
        );
        assert_eq!(
            gtfs_time(since_noon_minus_12h(tz, sunday, at("2027-03-28T00:30:00Z"))),
            "02:30:00"
        );
        assert_eq!(gtfs_time(25 * 3600 + 61), "25:01:01");
    }
}
