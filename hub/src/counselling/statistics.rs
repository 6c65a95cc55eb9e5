//! Anonymous counselling figures of a region for the evaluation: contacts per month, village and
//! topic (attended IMBUS appointments plus walk-ins) and referrals per month, village and
//! destination category. Only counts leave here: no ids of people, no names, no times. Months are
//! calendar months in the region's zone; appointments count in the month of their slot, walk-ins
//! in the month of their visit. Appointments in consultation hours at kiosks are not IMBUS
//! contacts and are left out.
//!
//! Small counts could point to a person, so they are withheld:
//! - a count of 1 or 2 in a (month, village, topic) cell, or in a (month, village, referral
//!   category) cell, is `null` in JSON with the cell's `suppressed: true`, and `<3` in CSV;
//! - when one part of a contacts cell (appointments or walk-ins) is withheld and the cell's
//!   contacts are shown, the other part is withheld too (`null`; `>2` in CSV, as it is 3 or
//!   more), else the withheld part would be the contacts minus the other;
//! - 0 is shown: it names nobody.
//!
//! The totals per month (`months`) and of the period stay exact, as the evaluation needs them.
//! So a month's total minus its shown cells gives the sum of its withheld cells: a month with a
//! single withheld cell reveals that cell's count (still not who).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, params};
use serde::{Serialize, Serializer};

use super::instant;
use crate::domain::common::region_tz;
use crate::store::{StoreError, StoreResult, records};

/// The longest period one request covers.
pub const MAX_MONTHS: i32 = 60;

/// A calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`; `field` names the parameter in the error.
    pub fn parse(field: &str, text: &str) -> StoreResult<Month> {
        let bad = || StoreError::invalid(field, format!("'{text}' is not a month YYYY-MM"));
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u32 = month.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || !(2000..=2200).contains(&year) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    fn index(self) -> i32 {
        self.year * 12 + self.month as i32 - 1
    }

    fn text(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// The instant the month starts in `tz`, in stored form.
    fn start(self, tz: Tz) -> StoreResult<String> {
        let day = NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .ok_or_else(|| StoreError::Internal(format!("{} has no first day", self.text())))?;
        let local = tz
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .ok_or_else(|| StoreError::Internal(format!("{day} has no midnight in {tz}")))?;
        Ok(local
            .with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }
}

/// Counts below this are withheld.
pub const SMALLEST_SHOWN: i64 = 3;

/// What the answer says about withheld counts.
pub const SUPPRESSION_NOTE: &str = "Counts of 1 or 2 in a month, village and topic (or referral \
    category) are withheld: null with suppressed true in JSON, <3 in CSV. When one part of a \
    contacts cell (appointments or walk-ins) is withheld and its contacts are shown, the other \
    part is withheld too (null; >2 in CSV). Totals per month (months) and of the period are exact.";

/// A count as reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    Exact(i64),
    /// 1 or 2: withheld.
    Small,
    /// 3 or more, withheld so that a small count beside it cannot be worked out.
    Withheld,
}

impl Count {
    fn of(n: i64) -> Count {
        if (1..SMALLEST_SHOWN).contains(&n) {
            Count::Small
        } else {
            Count::Exact(n)
        }
    }

    fn exact(self) -> bool {
        matches!(self, Count::Exact(_))
    }

    /// The CSV cell.
    fn text(self) -> String {
        match self {
            Count::Exact(n) => n.to_string(),
            Count::Small => format!("<{SMALLEST_SHOWN}"),
            Count::Withheld => format!(">{}", SMALLEST_SHOWN - 1),
        }
    }
}

/// JSON: the number, or `null` when withheld.
impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Count::Exact(n) => s.serialize_some(n),
            _ => s.serialize_none(),
        }
    }
}

/// Contacts of one month, village and topic.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Contacts {
    pub month: String,
    pub village_id: String,
    pub village: String,
    pub topic: String,
    /// Attended appointments.
    pub appointments: Count,
    pub walk_ins: Count,
    /// The two together.
    pub contacts: Count,
    /// Whether a count of the cell is withheld.
    pub suppressed: bool,
}

impl Contacts {
    /// The cell's counts with the small ones withheld (see the module documentation).
    fn counts(appointments: i64, walk_ins: i64) -> (Count, Count, Count) {
        let contacts = Count::of(appointments + walk_ins);
        let (mut a, mut w) = (Count::of(appointments), Count::of(walk_ins));
        if contacts.exact() {
            if a == Count::Small && w.exact() {
                w = Count::Withheld;
            }
            if w == Count::Small && a.exact() {
                a = Count::Withheld;
            }
        }
        (a, w, contacts)
    }
}

/// Referrals of one month and village to one destination category.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Referrals {
    pub month: String,
    pub village_id: String,
    pub village: String,
    pub category: String,
    pub referrals: Count,
    pub suppressed: bool,
}

/// The exact totals of a month over the region.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct MonthTotals {
    pub month: String,
    pub contacts: i64,
    pub referrals: i64,
}

/// How small counts are withheld.
#[derive(Debug, Serialize)]
pub struct Suppression {
    /// Counts from 1 to this minus one are withheld.
    pub smallest_shown: i64,
    pub note: &'static str,
}

/// The figures of a period.
#[derive(Debug, Serialize)]
pub struct Statistics {
    pub region_id: String,
    pub from: String,
    pub to: String,
    pub suppression: Suppression,
    pub contacts: Vec<Contacts>,
    pub referrals: Vec<Referrals>,
    /// Every month of the period, exact.
    pub months: Vec<MonthTotals>,
    pub total_contacts: i64,
    pub total_referrals: i64,
}

/// A contact row: start, village id, village name, topic, and the kind's last column.
fn contact_row<T: rusqlite::types::FromSql>(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, String, T)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

/// The figures of `region` from the month `from` to the month `to`, both included.
pub fn counselling(
    conn: &Connection,
    region: &str,
    from: Month,
    to: Month,
) -> StoreResult<Statistics> {
    if to < from {
        return Err(StoreError::invalid("to", "lies before from"));
    }
    if to.index() - from.index() >= MAX_MONTHS {
        return Err(StoreError::invalid(
            "to",
            format!("a request covers at most {MAX_MONTHS} months"),
        ));
    }
    if !records::exists(conn, "regions", region)? {
        return Err(StoreError::NotFound {
            kind: "region",
            id: region.to_string(),
        });
    }
    let tz = region_tz(conn, region)?;
    let (start, end) = (from.start(tz)?, to.next().start(tz)?);
    let month_of = |at: &str| -> StoreResult<String> {
        let local = instant(at)?.with_timezone(&tz);
        Ok(format!("{:04}-{:02}", local.year(), local.month()))
    };

    // (month, village id) → village name; (month, village, topic) → (appointments, walk-ins).
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut contacts: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    let mut referrals: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT a.starts_at, a.village_id, vi.name, a.topic, a.referral
             FROM appointments a
             JOIN slots s ON s.id = a.slot_id
             JOIN villages vi ON vi.id = a.village_id
             WHERE a.region_id = ?1 AND s.visit_id IS NOT NULL AND a.status = 'attended'
               AND a.starts_at >= ?2 AND a.starts_at < ?3",
        )?;
        let rows = stmt.query_map(params![region, start, end], contact_row::<Option<String>>)?;
        for row in rows {
            let (at, village, name, topic, referral) = row?;
            let month = month_of(&at)?;
            names.insert(village.clone(), name);
            contacts
                .entry((month.clone(), village.clone(), topic))
                .or_default()
                .0 += 1;
            if let Some(category) = referral {
                *referrals.entry((month, village, category)).or_default() += 1;
            }
        }
    }
    {
        let mut stmt = conn.prepare_cached(
            "SELECT v.starts_at, w.village_id, vi.name, w.topic, w.count
             FROM walk_ins w
             JOIN imbus_visits v ON v.id = w.visit_id
             JOIN villages vi ON vi.id = w.village_id
             WHERE w.region_id = ?1 AND v.starts_at >= ?2 AND v.starts_at < ?3",
        )?;
        let rows = stmt.query_map(params![region, start, end], contact_row::<i64>)?;
        for row in rows {
            let (at, village, name, topic, count) = row?;
            names.insert(village.clone(), name);
            contacts
                .entry((month_of(&at)?, village, topic))
                .or_default()
                .1 += count;
        }
    }
    // Exact totals first, from the raw counts.
    let mut months: BTreeMap<String, MonthTotals> = BTreeMap::new();
    let mut month = from;
    while month <= to {
        months.insert(
            month.text(),
            MonthTotals {
                month: month.text(),
                contacts: 0,
                referrals: 0,
            },
        );
        month = month.next();
    }
    for ((month, ..), (appointments, walk_ins)) in &contacts {
        if let Some(totals) = months.get_mut(month) {
            totals.contacts += appointments + walk_ins;
        }
    }
    for ((month, ..), count) in &referrals {
        if let Some(totals) = months.get_mut(month) {
            totals.referrals += count;
        }
    }
    let months: Vec<MonthTotals> = months.into_values().collect();

    let name = |village: &str| names.get(village).cloned().unwrap_or_default();
    let contacts: Vec<Contacts> = contacts
        .into_iter()
        .map(|((month, village_id, topic), (appointments, walk_ins))| {
            let (appointments, walk_ins, contacts) = Contacts::counts(appointments, walk_ins);
            Contacts {
                village: name(&village_id),
                month,
                village_id,
                topic,
                suppressed: !(appointments.exact() && walk_ins.exact() && contacts.exact()),
                appointments,
                walk_ins,
                contacts,
            }
        })
        .collect();
    let referrals: Vec<Referrals> = referrals
        .into_iter()
        .map(|((month, village_id, category), referrals)| {
            let referrals = Count::of(referrals);
            Referrals {
                village: name(&village_id),
                month,
                village_id,
                category,
                suppressed: !referrals.exact(),
                referrals,
            }
        })
        .collect();
    Ok(Statistics {
        region_id: region.to_string(),
        from: from.text(),
        to: to.text(),
        suppression: Suppression {
            smallest_shown: SMALLEST_SHOWN,
            note: SUPPRESSION_NOTE,
        },
        total_contacts: months.iter().map(|m| m.contacts).sum(),
        total_referrals: months.iter().map(|m| m.referrals).sum(),
        months,
        contacts,
        referrals,
    })
}

/// The figures as CSV for spreadsheets, one count per line:
/// `month,village,measure,category,count` with the measures `appointments`, `walk_ins`,
/// `contacts` (by topic) and `referrals` (by destination category), then each month's exact
/// `contacts_total` and `referrals_total` (village and category empty). A withheld count reads
/// `<3` (1 or 2) or `>2` (withheld beside a small one); see the module documentation.
pub fn csv(statistics: &Statistics) -> StoreResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| StoreError::Internal(format!("writing CSV: {e}"));
    out.write_record(["month", "village", "measure", "category", "count"])
        .map_err(fail)?;
    for c in &statistics.contacts {
        for (measure, count) in [
            ("appointments", c.appointments),
            ("walk_ins", c.walk_ins),
            ("contacts", c.contacts),
        ] {
            out.write_record([
                c.month.as_str(),
                c.village.as_str(),
                measure,
                c.topic.as_str(),
                &count.text(),
            ])
            .map_err(fail)?;
        }
    }
    for r in &statistics.referrals {
        out.write_record([
            r.month.as_str(),
            r.village.as_str(),
            "referrals",
            r.category.as_str(),
            &r.referrals.text(),
        ])
        .map_err(fail)?;
    }
    for m in &statistics.months {
        for (measure, count) in [
            ("contacts_total", m.contacts),
            ("referrals_total", m.referrals),
        ] {
            out.write_record([m.month.as_str(), "", measure, "", &count.to_string()])
                .map_err(fail)?;
        }
    }
    out.into_inner()
        .map_err(|e| StoreError::Internal(format!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_withheld_and_cannot_be_worked_out() {
        use Count::*;
        // (appointments, walk-ins) → (appointments, walk-ins, contacts) as reported.
        for ((a, w), expected) in [
            ((0, 0), (Exact(0), Exact(0), Exact(0))),
            ((3, 0), (Exact(3), Exact(0), Exact(3))),
            ((0, 1), (Exact(0), Small, Small)),
            ((1, 1), (Small, Small, Small)),
            ((2, 1), (Small, Small, Exact(3))),
            ((1, 5), (Small, Withheld, Exact(6))),
            ((7, 2), (Withheld, Small, Exact(9))),
            ((4, 5), (Exact(4), Exact(5), Exact(9))),
        ] {
            assert_eq!(Contacts::counts(a, w), expected, "{a} {w}");
        }
        assert_eq!(Small.text(), "<3");
        assert_eq!(Withheld.text(), ">2");
        assert_eq!(Exact(0).text(), "0");
        assert_eq!(
            serde_json::to_value(Small).unwrap(),
            serde_json::Value::Null
        );
        assert_eq!(
            serde_json::to_value(Exact(4)).unwrap(),
            serde_json::json!(4)
        );
    }

    #[test]
    fn months_are_strict() {
        assert_eq!(
            Month::parse("from", "2026-02").unwrap(),
            Month {
                year: 2026,
                month: 2
            }
        );
        for bad in [
            "2026-13",
            "2026-00",
            "2026-2",
            "26-02",
            "2026/02",
            "",
            "2026-02-01",
            "abcd-ef",
        ] {
            assert!(Month::parse("from", bad).is_err(), "{bad}");
        }
        let dec = Month::parse("to", "2026-12").unwrap();
        assert_eq!(dec.next().text(), "2027-01");
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(dec.start(tz).unwrap(), "2026-11-30T23:00:00Z");
    }
}
