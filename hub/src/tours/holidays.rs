//! Public holidays of Lower Saxony (Niedersachsen), the days the IMBUS does not drive without
//! anyone entering them: the fixed dates and those that follow Easter Sunday.

use chrono::{Datelike, Duration, NaiveDate};

/// Easter Sunday of the Gregorian calendar (anonymous Gregorian algorithm, Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The public holidays of Lower Saxony in `year`, with their German names, in date order.
pub fn holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let fixed = [
        (1, 1, "Neujahr"),
        (5, 1, "Tag der Arbeit"),
        (10, 3, "Tag der Deutschen Einheit"),
        (10, 31, "Reformationstag"),
        (12, 25, "1. Weihnachtstag"),
        (12, 26, "2. Weihnachtstag"),
    ];
    let mut days: Vec<(NaiveDate, &'static str)> = fixed
        .iter()
        .filter_map(|(m, d, name)| NaiveDate::from_ymd_opt(year, *m, *d).map(|date| (date, *name)))
        .collect();
    if let Some(easter) = easter_sunday(year) {
        for (offset, name) in [
            (-2, "Karfreitag"),
            (1, "Ostermontag"),
            (39, "Christi Himmelfahrt"),
            (50, "Pfingstmontag"),
        ] {
            days.push((easter + Duration::days(offset), name));
        }
    }
    days.sort();
    days
}

/// The holiday's name if `date` is a public holiday in Lower Saxony.
pub fn holiday(date: NaiveDate) -> Option<&'static str> {
    holidays(date.year())
        .into_iter()
        .find(|(d, _)| *d == date)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_matches_the_published_dates() {
        assert_eq!(easter_sunday(2024), Some(date(2024, 3, 31)));
        assert_eq!(easter_sunday(2025), Some(date(2025, 4, 20)));
        assert_eq!(easter_sunday(2026), Some(date(2026, 4, 5)));
        assert_eq!(easter_sunday(2027), Some(date(2027, 3, 28)));
        assert_eq!(easter_sunday(2038), Some(date(2038, 4, 25)));
    }

    #[test]
    fn lower_saxony_has_ten_holidays() {
        let days = holidays(2027);
        assert_eq!(days.len(), 10);
        assert_eq!(holiday(date(2027, 3, 26)), Some("Karfreitag"));
        assert_eq!(holiday(date(2027, 3, 29)), Some("Ostermontag"));
        assert_eq!(holiday(date(2027, 5, 6)), Some("Christi Himmelfahrt"));
        assert_eq!(holiday(date(2027, 5, 17)), Some("Pfingstmontag"));
        assert_eq!(holiday(date(2027, 10, 31)), Some("Reformationstag"));
        // Not in Lower Saxony: Fronleichnam, Heilige Drei Könige; Christmas Eve is a working day.
        assert_eq!(holiday(date(2027, 5, 27)), None);
        assert_eq!(holiday(date(2027, 1, 6)), None);
        assert_eq!(holiday(date(2027, 12, 24)), None);
    }
}
