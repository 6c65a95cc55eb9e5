//! The timetable as an iCalendar feed (RFC 5545): one VEVENT per visit with a stable UID, so a
//! subscribed calendar replaces an event when the visit changes (SEQUENCE is the visit's version),
//! local wall times with the region's time zone, and a VTIMEZONE derived from chrono-tz.
//!
//! Written by hand rather than with a crate because every line matters here: CRLF endings, lines
//! folded at 75 octets without splitting a UTF-8 character, and TEXT escaping.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use super::{PublishedVisit, Timetable, date_time_de, local};

/// The product identifier of the feed.
const PRODID: &str = "-//Dorfpunkt//IMBUS Fahrplan//DE";

/// The feed for `timetable`. `now` only bounds the years the time zone must describe.
pub fn render(timetable: &Timetable, now: DateTime<Utc>) -> String {
    let tz = timetable.region.tz;
    let mut out = Lines::default();
    out.line("BEGIN:VCALENDAR");
    out.line(&format!("PRODID:{PRODID}"));
    out.line("VERSION:2.0");
    out.line("CALSCALE:GREGORIAN");
    out.line("METHOD:PUBLISH");
    let name = match &timetable.village {
        Some(v) => format!("IMBUS in {}", v.name),
        None => format!("IMBUS {}", timetable.region.name),
    };
    out.line(&format!("X-WR-CALNAME:{}", escape(&name)));
    out.line(&format!("X-WR-TIMEZONE:{}", tz.name()));
    // Subscribed calendars look again every six hours (RFC 7986, and its older spelling).
    out.line("REFRESH-INTERVAL;VALUE=DURATION:PT6H");
    out.line("X-PUBLISHED-TTL:PT6H");
    out.line(&format!(
        "X-WR-CALDESC:{}",
        escape("Termine des Beratungsbusses IMBUS")
    ));
    let first = timetable
        .visits
        .iter()
        .map(|v| v.starts_at)
        .min()
        .unwrap_or(now)
        .min(now);
    let last = timetable
        .visits
        .iter()
        .map(|v| v.ends_at)
        .max()
        .unwrap_or(now)
        .max(now);
    for line in vtimezone(tz, first.year() - 1, last.year() + 1) {
        out.line(&line);
    }
    for visit in &timetable.visits {
        event(&mut out, timetable, visit);
    }
    out.line("END:VCALENDAR");
    out.text
}

fn event(out: &mut Lines, timetable: &Timetable, visit: &PublishedVisit) {
    let tz = timetable.region.tz;
    let utc = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let wall = |t: DateTime<Utc>| local(tz, t).format("%Y%m%dT%H%M%S").to_string();
    let mut summary = format!("IMBUS Beratung in {}", visit.village);
    if visit.cancelled {
        summary = format!("F\u{e4}llt aus: {summary}");
    } else if visit.replacement {
        summary.push_str(" (Ersatztermin)");
    } else if visit.moved_from.is_some() {
        summary.push_str(" (verlegt)");
    }
    out.line("BEGIN:VEVENT");
    out.line(&format!("UID:{}@dorfpunkt", visit.id));
    out.line(&format!("SEQUENCE:{}", visit.version.max(0)));
    out.line(&format!("DTSTAMP:{}", utc(visit.updated_at)));
    out.line(&format!("LAST-MODIFIED:{}", utc(visit.updated_at)));
    out.line(&format!(
        "DTSTART;TZID={}:{}",
        tz.name(),
        wall(visit.starts_at)
    ));
    out.line(&format!("DTEND;TZID={}:{}", tz.name(), wall(visit.ends_at)));
    out.line(&format!("SUMMARY:{}", escape(&summary)));
    out.line(&format!(
        "LOCATION:{}",
        escape(&format!("{}, {}", visit.stop, visit.village))
    ));
    out.line(&format!("GEO:{:.6};{:.6}", visit.lat, visit.lon));
    out.line(&format!(
        "DESCRIPTION:{}",
        escape(&description(timetable, visit))
    ));
    out.line(if visit.cancelled {
        "STATUS:CANCELLED"
    } else {
        "STATUS:CONFIRMED"
    });
    out.line("TRANSP:OPAQUE");
    out.line("CLASS:PUBLIC");
    out.line("END:VEVENT");
}

/// What residents read in the event: first what changed, then what IMBUS offers and how to book.
pub fn description(timetable: &Timetable, visit: &PublishedVisit) -> String {
    let tz = timetable.region.tz;
    let mut lines = Vec::new();
    if visit.cancelled {
        lines.push(match &visit.cancel_reason {
            Some(reason) => format!("Dieser Termin f\u{e4}llt aus: {reason}"),
            None => "Dieser Termin f\u{e4}llt aus.".to_string(),
        });
    }
    if let Some(from) = visit.moved_from {
        let when = date_time_de(local(tz, from));
        lines.push(match &visit.change_reason {
            Some(reason) => format!("Verlegt vom {when}: {reason}"),
            None => format!("Verlegt vom {when}."),
        });
    }
    if visit.replacement {
        lines.push(match (&visit.change_reason, visit.moved_from) {
            (Some(reason), None) => format!("Ersatztermin: {reason}"),
            _ => "Ersatztermin".to_string(),
        });
    }
    lines.push(
        "Der IMBUS ist der Beratungsbus f\u{fc}r Fragen zu Gesundheit, Pflege, Geld, Wohnen \
         und Familie."
            .to_string(),
    );
    lines.push("Die Beratung ist kostenlos.".to_string());
    if visit.walk_in_minutes > 0 {
        let end = local(tz, visit.ends_at);
        let start =
            (end - Duration::minutes(visit.walk_in_minutes)).max(local(tz, visit.starts_at));
        lines.push(format!(
            "Ohne Termin: {} bis {} Uhr einfach vorbeikommen.",
            start.format("%H:%M"),
            end.format("%H:%M")
        ));
    }
    lines.push(match &timetable.region.phone {
        Some(phone) => {
            format!("Termin buchen: am Dorfpunkt-Kiosk oder per Telefon unter {phone}.")
        }
        None => "Termin buchen: am Dorfpunkt-Kiosk.".to_string(),
    });
    lines.push(format!("Ort: {}, {}", visit.stop, visit.village));
    lines.join("\n")
}

/// Escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines; other
/// control characters are not allowed in TEXT and are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Content lines with CRLF endings, folded at 75 octets.
#[derive(Default)]
struct Lines {
    text: String,
}

impl Lines {
    fn line(&mut self, line: &str) {
        self.text.push_str(&fold(line));
    }
}

/// Folds a content line (RFC 5545 3.1): no line longer than 75 octets without its CRLF, a
/// continuation starts with one space, and a multi-byte UTF-8 character is never split.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
    out
}

/// One change of a zone's offset: the instant, the offsets around it and the new offset's name.
#[derive(Clone, Debug)]
struct Transition {
    at: DateTime<Utc>,
    from: i32,
    to: i32,
    dst: bool,
    name: String,
}

impl Transition {
    /// The wall-clock time at which it happens, in the offset before it (what DTSTART means in
    /// a STANDARD or DAYLIGHT component).
    fn onset(&self) -> NaiveDateTime {
        self.at.naive_utc() + Duration::seconds(i64::from(self.from))
    }
}

/// The zone's offset at `at`: seconds east of UTC, whether it is summer time, and its name.
fn offset_at(tz: Tz, at: DateTime<Utc>) -> (i32, bool, String) {
    let offset = tz.offset_from_utc_datetime(&at.naive_utc());
    let seconds = offset.fix().local_minus_utc();
    let dst = !offset.dst_offset().is_zero();
    let name = offset
        .abbreviation()
        .map(str::to_string)
        .unwrap_or_else(|| utc_offset(seconds));
    (seconds, dst, name)
}

/// The offset changes of `tz` from the start of `from_year` to the end of `to_year`.
fn transitions(tz: Tz, from_year: i32, to_year: i32) -> Vec<Transition> {
    let start = |year: i32| {
        NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    };
    let (Some(mut day), Some(end)) = (start(from_year), start(to_year + 1)) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut before = offset_at(tz, day);
    while day < end {
        let next = day + Duration::hours(6);
        let after = offset_at(tz, next);
        if after.0 != before.0 || after.1 != before.1 {
            // The change lies in (day, next]: find its first second.
            let (mut lo, mut hi) = (day, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                let at_mid = offset_at(tz, mid);
                if at_mid.0 == before.0 && at_mid.1 == before.1 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(Transition {
                at: hi,
                from: before.0,
                to: after.0,
                dst: after.1,
                name: after.2.clone(),
            });
        }
        before = after;
        day = next;
    }
    found
}

/// A yearly rule "the n-th (or last) weekday of a month at a wall time" that fits every
/// transition of a group, as an RRULE value.
fn yearly_rule(group: &[&Transition]) -> Option<String> {
    let first = group.first()?.onset();
    let years: Vec<i32> = group.iter().map(|t| t.onset().year()).collect();
    if years.windows(2).any(|w| w[1] != w[0] + 1) {
        return None;
    }
    let same = group.iter().all(|t| {
        let o = t.onset();
        o.month() == first.month() && o.weekday() == first.weekday() && o.time() == first.time()
    });
    if !same {
        return None;
    }
    let nth = |t: &NaiveDateTime| (t.day() as i32 - 1) / 7 + 1;
    let is_last = |t: &NaiveDateTime| {
        let next_week = *t + Duration::days(7);
        next_week.month() != t.month()
    };
    let onsets: Vec<NaiveDateTime> = group.iter().map(|t| t.onset()).collect();
    let position = if onsets.iter().all(|o| nth(o) == nth(&first)) {
        nth(&first)
    } else if onsets.iter().all(is_last) {
        -1
    } else {
        return None;
    };
    let day = match first.weekday() {
        chrono::Weekday::Mon => "MO",
        chrono::Weekday::Tue => "TU",
        chrono::Weekday::Wed => "WE",
        chrono::Weekday::Thu => "TH",
        chrono::Weekday::Fri => "FR",
        chrono::Weekday::Sat => "SA",
        chrono::Weekday::Sun => "SU",
    };
    Some(format!(
        "FREQ=YEARLY;BYMONTH={};BYDAY={position}{day}",
        first.month()
    ))
}

/// "+0100", or "+053000" for an offset with seconds.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    if s.is_multiple_of(60) {
        format!("{sign}{:02}{:02}", s / 3600, s / 60 % 60)
    } else {
        format!("{sign}{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// The VTIMEZONE of `tz` for the years `from_year..=to_year`: one STANDARD and one DAYLIGHT
/// component with a yearly RRULE where the zone follows one (Europe/Berlin: last Sunday of March
/// and of October), explicit RDATEs where it does not, and a single STANDARD for a zone without
/// changes.
fn vtimezone(tz: Tz, from_year: i32, to_year: i32) -> Vec<String> {
    let fmt = |t: NaiveDateTime| t.format("%Y%m%dT%H%M%S").to_string();
    let mut lines = vec!["BEGIN:VTIMEZONE".to_string(), format!("TZID:{}", tz.name())];
    let all = transitions(tz, from_year, to_year);
    if all.is_empty() {
        let start = NaiveDate::from_ymd_opt(from_year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .unwrap_or_default();
        let (offset, dst, name) = offset_at(tz, start);
        let kind = if dst { "DAYLIGHT" } else { "STANDARD" };
        lines.extend([
            format!("BEGIN:{kind}"),
            "DTSTART:19700101T000000".to_string(),
            format!("TZOFFSETFROM:{}", utc_offset(offset)),
            format!("TZOFFSETTO:{}", utc_offset(offset)),
            format!("TZNAME:{name}"),
            format!("END:{kind}"),
        ]);
    } else {
        // One component per kind of change (same offsets, same name), in order of first onset.
        let mut keys: Vec<(bool, i32, i32, String)> = Vec::new();
        for t in &all {
            let key = (t.dst, t.from, t.to, t.name.clone());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        for (dst, from, to, name) in keys {
            let group: Vec<&Transition> = all
                .iter()
                .filter(|t| t.dst == dst && t.from == from && t.to == to && t.name == name)
                .collect();
            let kind = if dst { "DAYLIGHT" } else { "STANDARD" };
            lines.push(format!("BEGIN:{kind}"));
            lines.push(format!("DTSTART:{}", fmt(group[0].onset())));
            lines.push(format!("TZOFFSETFROM:{}", utc_offset(from)));
            lines.push(format!("TZOFFSETTO:{}", utc_offset(to)));
            let covers_range = group.len() > 1
                && group.last().is_some_and(|t| t.onset().year() == to_year)
                && group[0].onset().year() == from_year;
            match yearly_rule(&group).filter(|_| covers_range) {
                Some(rule) => lines.push(format!("RRULE:{rule}")),
                None => {
                    for t in &group[1..] {
                        lines.push(format!("RDATE:{}", fmt(t.onset())));
                    }
                }
            }
            lines.push(format!("TZNAME:{name}"));
            lines.push(format!("END:{kind}"));
        }
    }
    lines.push("END:VTIMEZONE".to_string());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_lines_within_75_octets_and_characters_whole() {
        let line = format!(
            "LOCATION:{}",
            "Gr\u{fc}\u{df}e an die M\u{fc}hle ".repeat(12)
        );
        let folded = fold(&line);
        assert!(folded.ends_with("\r\n"));
        let parts: Vec<&str> = folded.trim_end_matches("\r\n").split("\r\n").collect();
        assert!(parts.len() > 2);
        for (i, part) in parts.iter().enumerate() {
            assert!(part.len() <= 75, "{i}: {} octets", part.len());
            if i > 0 {
                assert!(part.starts_with(' '));
            }
        }
        let unfolded: String = parts
            .iter()
            .enumerate()
            .map(|(i, p)| if i == 0 { *p } else { &p[1..] })
            .collect();
        assert_eq!(unfolded, line);
        // A two-octet character that would end at octet 76 moves to the next line whole.
        assert_eq!(
            fold(&format!("{}\u{fc}b", "x".repeat(74))),
            format!("{}\r\n \u{fc}b\r\n", "x".repeat(74))
        );
        // Exactly 75 octets stay on one line.
        assert_eq!(fold(&"a".repeat(75)), format!("{}\r\n", "a".repeat(75)));
        assert_eq!(
            fold(&"a".repeat(76)),
            format!("{}\r\n a\r\n", "a".repeat(75))
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a\\b;c,d\ne\r\u{7}f\tg"), "a\\\\b\\;c\\,d\\nef g");
    }

    #[test]
    fn berlin_has_yearly_rules_for_the_last_sundays_of_march_and_october() {
        let lines = vtimezone(chrono_tz::Europe::Berlin, 2026, 2028);
        let text = lines.join("\n");
        assert!(text.contains("TZID:Europe/Berlin"), "{text}");
        assert!(
            text.contains(
                "BEGIN:DAYLIGHT\nDTSTART:20260329T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\n\
                 RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\nTZNAME:CEST\nEND:DAYLIGHT"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "BEGIN:STANDARD\nDTSTART:20261025T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\n\
                 RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\nTZNAME:CET\nEND:STANDARD"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_zone_without_changes_gets_one_standard_component() {
        let text = vtimezone(chrono_tz::Asia::Tokyo, 2026, 2027).join("\n");
        assert!(
            text.contains("TZOFFSETFROM:+0900\nTZOFFSETTO:+0900"),
            "{text}"
        );
        assert!(!text.contains("DAYLIGHT"), "{text}");
        assert!(!text.contains("RRULE"), "{text}");
    }

    #[test]
    fn southern_summer_time_is_described_too() {
        // Sydney: summer time from the first Sunday of October to the first Sunday of April.
        let text = vtimezone(chrono_tz::Australia::Sydney, 2026, 2028).join("\n");
        assert!(
            text.contains("RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU"),
            "{text}"
        );
        assert!(
            text.contains("RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU"),
            "{text}"
        );
    }
}
