//! Opening hours as people write them in a spreadsheet: `Mo-Fr 08:00-12:00, Mo,Di,Do 14:00-17:00`.
//!
//! The syntax is small and parsed strictly, because a wrongly read opening hour silently turns
//! away ride bookings later: German weekday abbreviations (`Mo Di Mi Do Fr Sa So`), single days
//! or forward ranges (`Mo-Fr`), each followed by one or more `HH:MM-HH:MM` ranges. Parts are
//! separated by `,` or `;`. A part with days only (`Mo,Di,Do 14:00-17:00`) lends its days to the
//! next part with times; a part with times only (`Mo-Fr 08:00-12:00, 14:00-17:00`) applies to the
//! days of the part before.

use crate::domain::common::{LocalTime, OpeningInterval, Weekday};

const DAYS: [(&str, Weekday); 7] = [
    ("Mo", Weekday::Mon),
    ("Di", Weekday::Tue),
    ("Mi", Weekday::Wed),
    ("Do", Weekday::Thu),
    ("Fr", Weekday::Fri),
    ("Sa", Weekday::Sat),
    ("So", Weekday::Sun),
];

fn day_index(token: &str) -> Result<usize, String> {
    DAYS.iter()
        .position(|(name, _)| *name == token)
        .ok_or_else(|| format!("'{token}' is not a weekday; use Mo Di Mi Do Fr Sa So"))
}

/// The days of one day item: `Mo` or a forward range `Mo-Fr`.
fn parse_days(token: &str) -> Result<Vec<usize>, String> {
    match token.split_once('-') {
        Some((from, to)) => {
            let (from, to) = (day_index(from)?, day_index(to)?);
            if to <= from {
                return Err(format!(
                    "the range '{token}' must run forward within the week, e.g. Mo-Fr"
                ));
            }
            Ok((from..=to).collect())
        }
        None => Ok(vec![day_index(token)?]),
    }
}

fn parse_range(token: &str) -> Result<(LocalTime, LocalTime), String> {
    let bad = || format!("'{token}' is not a time range HH:MM-HH:MM");
    let (open, close) = token.split_once('-').ok_or_else(bad)?;
    let open: LocalTime = open.parse().map_err(|_| bad())?;
    let close: LocalTime = close.parse().map_err(|_| bad())?;
    if close <= open {
        return Err(format!(
            "in '{token}' the closing time must come after the opening time"
        ));
    }
    Ok((open, close))
}

fn is_time(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_digit())
}

/// Parses opening hours; an empty text means "not known". The result is sorted by weekday and
/// time, so the same hours written differently are stored the same (and re-imports match).
pub fn parse_opening_hours(text: &str) -> Result<Vec<OpeningInterval>, String> {
    let mut intervals: Vec<(usize, LocalTime, LocalTime)> = Vec::new();
    let mut pending: Vec<usize> = Vec::new();
    let mut last: Vec<usize> = Vec::new();
    for part in text.split([',', ';']) {
        let part = part.trim();
        if part.is_empty() {
            if text.trim().is_empty() {
                return Ok(Vec::new());
            }
            return Err("an empty part between separators".into());
        }
        let mut tokens = part.split_whitespace().peekable();
        if let Some(first) = tokens.peek().copied()
            && !is_time(first)
        {
            pending.extend(parse_days(first)?);
            tokens.next();
        }
        let ranges: Vec<(LocalTime, LocalTime)> =
            tokens.map(parse_range).collect::<Result<_, _>>()?;
        if ranges.is_empty() {
            continue;
        }
        let days = if pending.is_empty() {
            last.clone()
        } else {
            std::mem::take(&mut pending)
        };
        if days.is_empty() {
            return Err(format!("'{part}' has times but no weekdays before them"));
        }
        for &day in &days {
            for &(open, close) in &ranges {
                intervals.push((day, open, close));
            }
        }
        last = days;
    }
    if !pending.is_empty() {
        let names: Vec<&str> = pending.iter().map(|&d| DAYS[d].0).collect();
        return Err(format!("{} without opening times", names.join(",")));
    }
    intervals.sort_by_key(|&(day, open, _)| (day, open));
    for pair in intervals.windows(2) {
        let ((day, open_a, close_a), (next_day, open_b, close_b)) = (pair[0], pair[1]);
        if day == next_day && open_b < close_a {
            return Err(format!(
                "{} {open_a}-{close_a} overlaps {open_b}-{close_b}",
                DAYS[day].0
            ));
        }
    }
    Ok(intervals
        .into_iter()
        .map(|(day, open, close)| OpeningInterval {
            weekday: DAYS[day].1,
            open,
            close,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(hours: &[OpeningInterval]) -> Vec<String> {
        hours
            .iter()
            .map(|h| format!("{:?} {}-{}", h.weekday, h.open, h.close))
            .collect()
    }

    #[test]
    fn the_common_forms_parse() {
        let hours = parse_opening_hours("Mo-Fr 08:00-12:00, Mo,Di,Do 14:00-17:00").unwrap();
        assert_eq!(hours.len(), 8);
        assert_eq!(
            show(&hours)[..3],
            ["Mon 08:00-12:00", "Mon 14:00-17:00", "Tue 08:00-12:00"]
        );
        let split = parse_opening_hours("Mo-Fr 08:00-12:00, 14:00-17:00; Sa 09:00-12:00").unwrap();
        assert_eq!(split.len(), 11);
        let two = parse_opening_hours("Di 08:00-12:00 13:00-15:00").unwrap();
        assert_eq!(show(&two), ["Tue 08:00-12:00", "Tue 13:00-15:00"]);
        assert!(parse_opening_hours("  ").unwrap().is_empty());
    }

    #[test]
    fn order_of_writing_does_not_matter() {
        let a = parse_opening_hours("Mo,Di 14:00-17:00, Mo-Fr 08:00-12:00").unwrap();
        let b = parse_opening_hours("Mo-Fr 08:00-12:00, Mo,Di 14:00-17:00").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn mistakes_are_named() {
        let err = |t: &str| parse_opening_hours(t).unwrap_err();
        assert!(err("Mo-Fr 8:00-12:00").contains("'8:00-12:00' is not a time range"));
        assert!(err("Tu 08:00-12:00").contains("'Tu' is not a weekday"));
        assert!(err("Fr-Mo 08:00-12:00").contains("must run forward"));
        assert!(err("Mo 12:00-08:00").contains("closing time must come after"));
        assert!(err("Mo,Di").contains("Mo,Di without opening times"));
        assert!(err("08:00-12:00").contains("no weekdays"));
        assert!(err("Mo 08:00-12:00, Mo 11:00-13:00").contains("overlaps"));
        assert!(err("Mo 08:00-12:00,, Di 08:00-12:00").contains("empty part"));
        assert!(err("Mo 08:00-25:00").contains("not a time range"));
    }
}
