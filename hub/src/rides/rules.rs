//! A region's ride rules: who may ride (its target groups), when a cancellation counts as late,
//! and what repeated no-shows lead to. Every number has a default and may be set per region in
//! its `settings` object.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use crate::domain::common::Instant;
use crate::store::{StoreError, StoreResult};

/// The ride rules of one region.
#[derive(Clone, Debug, PartialEq)]
pub struct RideRules {
    /// Target groups; a resident must belong to one. Empty: everyone may ride.
    pub target_groups: Vec<String>,
    /// A cancellation less than this many hours before the pickup is late (`late_cancel_hours`).
    pub late_cancel_hours: i64,
    /// No-shows within `no_show_window_days` after which a booking carries a warning.
    pub no_show_warning_at: i64,
    /// No-shows after which the resident books only through a caregiver.
    pub no_show_caregiver_only_at: i64,
    pub no_show_window_days: i64,
    /// How early before an appointment a passenger may arrive, minutes (`ride_early_minutes`).
    pub early_minutes: f64,
    /// How far ahead the rides of ride series are made, days (`series_horizon_days`).
    pub series_horizon_days: i64,
    /// Local time from which the next day is re-optimised in the evening (`replan_at`, "HH:MM").
    pub replan_at: NaiveTime,
    /// How long that re-optimisation searches, seconds (`replan_seconds`).
    pub replan_seconds: f64,
}

impl RideRules {
    /// The rules of `region_id`, defaults where its settings say nothing.
    pub fn load(conn: &Connection, region_id: &str) -> StoreResult<RideRules> {
        let row: Option<(String, String)> = conn
            .query_row(
                "SELECT settings, target_groups FROM regions WHERE id = ?1",
                [region_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (settings, groups) =
            row.ok_or_else(|| StoreError::invalid("region_id", "no such region"))?;
        let settings: Value = serde_json::from_str(&settings).unwrap_or_default();
        let target_groups: Vec<String> = serde_json::from_str(&groups).unwrap_or_default();
        let number = |key: &str, default: i64, range: std::ops::RangeInclusive<i64>| {
            settings[key]
                .as_i64()
                .filter(|n| range.contains(n))
                .unwrap_or(default)
        };
        Ok(RideRules {
            target_groups,
            late_cancel_hours: number("late_cancel_hours", 24, 0..=168),
            no_show_warning_at: number("no_show_warning_at", 2, 1..=100),
            no_show_caregiver_only_at: number("no_show_caregiver_only_at", 3, 1..=100),
            no_show_window_days: number("no_show_window_days", 180, 1..=3650),
            early_minutes: settings["ride_early_minutes"]
                .as_f64()
                .filter(|m| (5.0..=120.0).contains(m))
                .unwrap_or(30.0),
            series_horizon_days: number("series_horizon_days", 28, 1..=366),
            replan_at: settings["replan_at"]
                .as_str()
                .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok())
                .unwrap_or(NaiveTime::from_hms_opt(18, 0, 0).expect("valid time")),
            replan_seconds: settings["replan_seconds"]
                .as_f64()
                .filter(|s| (1.0..=600.0).contains(s))
                .unwrap_or(30.0),
        })
    }
}

/// What a resident is, as far as the target groups go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    pub birth_year: Option<i32>,
    pub uses_walker: bool,
    pub uses_wheelchair: bool,
    pub needs_companion: bool,
    pub target_groups: Vec<String>,
}

impl Person {
    pub fn load(conn: &Connection, resident_id: &str) -> StoreResult<Person> {
        let row = conn
            .query_row(
                "SELECT birth_year, uses_walker, uses_wheelchair, needs_companion, target_groups
                 FROM residents WHERE id = ?1",
                [resident_id],
                |r| {
                    Ok((
                        r.get::<_, Option<i32>>(0)?,
                        r.get::<_, bool>(1)?,
                        r.get::<_, bool>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?;
        let (birth_year, uses_walker, uses_wheelchair, needs_companion, groups) =
            row.ok_or_else(|| StoreError::invalid("resident_id", "no such resident"))?;
        Ok(Person {
            birth_year,
            uses_walker,
            uses_wheelchair,
            needs_companion,
            target_groups: serde_json::from_str(&groups).unwrap_or_default(),
        })
    }

    /// Whether the person belongs to `group` in the year of the ride.
    ///
    /// `age_N_plus` holds from the year the person turns N (by birth year); `wheelchair` and
    /// `walker` follow the mobility fields and `reduced_mobility` any of them or a companion
    /// need; every other group must have been recorded for the person.
    pub fn belongs_to(&self, group: &str, ride_year: i32) -> bool {
        if let Some(age) = group
            .strip_prefix("age_")
            .and_then(|rest| rest.strip_suffix("_plus"))
            .and_then(|n| n.parse::<i32>().ok())
        {
            return self.birth_year.is_some_and(|born| ride_year - born >= age);
        }
        match group {
            "wheelchair" => self.uses_wheelchair,
            "walker" => self.uses_walker,
            "reduced_mobility" => self.uses_walker || self.uses_wheelchair || self.needs_companion,
            other => self.target_groups.iter().any(|g| g == other),
        }
    }
}

/// Refuses a ride for a resident outside every target group of the region, naming them.
pub fn check_eligible(
    rules: &RideRules,
    person: &Person,
    ride_at: DateTime<Utc>,
) -> StoreResult<()> {
    if rules.target_groups.is_empty() {
        return Ok(());
    }
    let year = ride_at.year();
    if rules
        .target_groups
        .iter()
        .any(|g| person.belongs_to(g, year))
    {
        return Ok(());
    }
    Err(StoreError::invalid(
        "resident_id",
        format!(
            "the resident belongs to none of the region's target groups ({}); record the group \
             that applies on the resident, or ask the dispatcher",
            rules.target_groups.join(", ")
        ),
    ))
}

/// How a resident stands under the no-show rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Good,
    /// Booking works but the answer carries a warning.
    Warned {
        no_shows: i64,
    },
    /// Only a caregiver may book.
    CaregiverOnly {
        no_shows: i64,
    },
}

/// The resident's no-shows within the window before `now`.
pub fn standing(
    conn: &Connection,
    rules: &RideRules,
    resident_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Standing> {
    let since = Instant(now - Duration::days(rules.no_show_window_days));
    let no_shows: i64 = conn.query_row(
        "SELECT count(*) FROM ride_requests WHERE resident_id = ?1 AND outcome = 'no_show'
           AND COALESCE(appointment_at, pickup_at) >= ?2",
        params![resident_id, since.text()],
        |r| r.get(0),
    )?;
    Ok(if no_shows >= rules.no_show_caregiver_only_at {
        Standing::CaregiverOnly { no_shows }
    } else if no_shows >= rules.no_show_warning_at {
        Standing::Warned { no_shows }
    } else {
        Standing::Good
    })
}

/// Applies the no-show rule to a new booking: refuses one without a caregiver when only a
/// caregiver may book, and returns the notice to store with a warned booking.
pub fn check_no_shows(
    rules: &RideRules,
    standing: Standing,
    caregiver: Option<&str>,
) -> StoreResult<Option<Value>> {
    match standing {
        Standing::Good => Ok(None),
        Standing::Warned { no_shows } => Ok(Some(json!({
            "code": "no_show_warning",
            "no_shows": no_shows,
            "message_de": format!(
                "Sie sind {no_shows} Mal nicht zu einer Fahrt gekommen. Bitte sagen Sie Fahrten ab, \
                 die Sie nicht brauchen. Nach {} Mal kann nur noch eine Kümmerin oder ein Kümmerer \
                 für Sie buchen.",
                rules.no_show_caregiver_only_at
            ),
            "message_en": format!(
                "You missed {no_shows} rides. Please cancel rides you do not need. After {} \
                 missed rides only a caregiver can book for you.",
                rules.no_show_caregiver_only_at
            ),
        }))),
        Standing::CaregiverOnly { no_shows } => match caregiver {
            Some(_) => Ok(Some(json!({
                "code": "caregiver_only",
                "no_shows": no_shows,
                "message_de": "Gebucht durch die Kümmerin oder den Kümmerer.",
                "message_en": "Booked through the caregiver.",
            }))),
            None => Err(StoreError::invalid(
                "caregiver_id",
                format!(
                    "after {no_shows} missed rides in {} days this resident can book only through \
                     a caregiver (Kümmerer:in)",
                    rules.no_show_window_days
                ),
            )),
        },
    }
}

/// How a cancellation at `now` counts for a ride picked up from `pickup`: late when less than
/// the region's notice remains.
pub fn cancel_outcome(
    rules: &RideRules,
    pickup: DateTime<Utc>,
    now: DateTime<Utc>,
) -> &'static str {
    if pickup - now < Duration::hours(rules.late_cancel_hours) {
        "late_cancellation"
    } else {
        "cancelled"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(groups: &[&str]) -> RideRules {
        RideRules {
            target_groups: groups.iter().map(|g| g.to_string()).collect(),
            late_cancel_hours: 24,
            no_show_warning_at: 2,
            no_show_caregiver_only_at: 3,
            no_show_window_days: 180,
            early_minutes: 30.0,
            series_horizon_days: 28,
            replan_at: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            replan_seconds: 30.0,
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn age_groups_go_by_the_birth_year_of_the_ride() {
        let person = Person {
            birth_year: Some(1951),
            ..Person::default()
        };
        assert!(person.belongs_to("age_75_plus", 2026));
        assert!(!person.belongs_to("age_75_plus", 2025));
        assert!(
            !Person::default().belongs_to("age_65_plus", 2026),
            "unknown age"
        );
        assert!(!person.belongs_to("age_x_plus", 2026));
    }

    #[test]
    fn mobility_groups_follow_the_mobility_fields() {
        let walker = Person {
            uses_walker: true,
            ..Person::default()
        };
        assert!(walker.belongs_to("walker", 2026));
        assert!(walker.belongs_to("reduced_mobility", 2026));
        assert!(!walker.belongs_to("wheelchair", 2026));
        let recorded = Person {
            target_groups: vec!["refugee".into()],
            ..Person::default()
        };
        assert!(recorded.belongs_to("refugee", 2026));
        assert!(!recorded.belongs_to("low_income", 2026));
    }

    #[test]
    fn eligibility_names_the_groups_when_refused() {
        let person = Person::default();
        assert!(check_eligible(&rules(&[]), &person, at("2026-12-01T08:00:00Z")).is_ok());
        let err = check_eligible(
            &rules(&["age_75_plus", "refugee"]),
            &person,
            at("2026-12-01T08:00:00Z"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("age_75_plus, refugee"), "{err}");
    }

    #[test]
    fn no_show_rule_warns_then_needs_a_caregiver() {
        let r = rules(&[]);
        assert_eq!(check_no_shows(&r, Standing::Good, None).unwrap(), None);
        let warned = check_no_shows(&r, Standing::Warned { no_shows: 2 }, None)
            .unwrap()
            .unwrap();
        assert_eq!(warned["code"], "no_show_warning");
        let refused = check_no_shows(&r, Standing::CaregiverOnly { no_shows: 3 }, None);
        assert!(refused.unwrap_err().to_string().contains("caregiver"));
        let through = check_no_shows(&r, Standing::CaregiverOnly { no_shows: 3 }, Some("c"));
        assert_eq!(through.unwrap().unwrap()["code"], "caregiver_only");
    }

    #[test]
    fn a_cancellation_inside_the_notice_is_late() {
        let r = rules(&[]);
        let pickup = at("2026-12-02T08:00:00Z");
        assert_eq!(
            cancel_outcome(&r, pickup, at("2026-12-01T07:59:00Z")),
            "cancelled"
        );
        assert_eq!(
            cancel_outcome(&r, pickup, at("2026-12-01T08:01:00Z")),
            "late_cancellation"
        );
    }
}
