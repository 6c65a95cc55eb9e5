//! The ride screens' Rust side: the places and days offered, the resident's choices read back as
//! a [`RideDraft`], and the booking's answer shown.
//!
//! The UI never books itself: "Buchen" hands the draft to the `book` function given to [`init`],
//! which returns at once; whoever books (the app, with `kiosk::core::book_ride` on its runtime)
//! calls [`show_result`] on the UI thread when the answer is there.

use std::rc::Rc;

use chrono::{DateTime, Days, NaiveDate, NaiveTime};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::{AppWindow, Category, Destination, Navigation, Page, RideScreen, RideState};
use crate::core::{BookingResult, BookingStatus, Rider};
use crate::store::ReplicaRow;

/// How many days the "Wann?" screen offers: today and the three after it.
pub const DAYS_OFFERED: u64 = 4;

/// The appointment time a new ride starts with, in minutes after midnight (09:00).
const FIRST_TIME: i32 = 9 * 60;

/// A place a ride can go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationChoice {
    pub id: String,
    pub name: String,
    /// The region's category ("Arzt", "Apotheke", …), as the tiles of "Wohin?" show it.
    pub category: String,
    /// Street and town.
    pub note: String,
}

/// The destinations of the kiosk's replica, in its order.
pub fn destinations_from_replica(rows: &[ReplicaRow]) -> Vec<DestinationChoice> {
    rows.iter()
        .filter_map(|row| {
            let text = |name: &str| row.body.get(name).and_then(|v| v.as_str());
            Some(DestinationChoice {
                id: row.id.clone(),
                name: text("name")?.to_string(),
                category: text("category")?.to_string(),
                note: format!(
                    "{}, {}",
                    text("street").unwrap_or_default(),
                    text("city").unwrap_or_default()
                ),
            })
        })
        .collect()
}

/// What the resident chose, when "Buchen" is tapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RideDraft {
    /// Who the ride is for ("Für wen?", `kiosk::ui::person`).
    pub rider: Rider,
    pub destination_id: String,
    pub destination_name: String,
    pub date: NaiveDate,
    /// The appointment at the destination (local time of the region).
    pub appointment: NaiveTime,
    pub walker: bool,
    pub wheelchair: bool,
    pub companion: bool,
    pub return_trip: bool,
}

/// Offers `destinations` (the most used first: that order is kept) on the days from `today`, and
/// calls `book` with the draft when the resident taps "Buchen".
pub fn init(
    app: &AppWindow,
    destinations: Vec<DestinationChoice>,
    today: NaiveDate,
    book: impl Fn(RideDraft) + 'static,
) {
    let screen = app.global::<RideScreen>();
    let mut categories: Vec<String> = Vec::new();
    for d in &destinations {
        if !categories.contains(&d.category) {
            categories.push(d.category.clone());
        }
    }
    let tiles: Vec<Category> = categories
        .iter()
        .map(|c| Category {
            id: c.into(),
            name: c.into(),
        })
        .collect();
    screen.set_categories(ModelRc::from(Rc::new(VecModel::from(tiles))));
    let days: Vec<SharedString> = (0..DAYS_OFFERED)
        .filter_map(|n| today.checked_add_days(Days::new(n)))
        .map(|d| d.format("%d.%m.").to_string().into())
        .collect();
    screen.set_days(ModelRc::from(Rc::new(VecModel::from(days))));

    let weak = app.as_weak();
    let all = Rc::new(destinations);
    screen.on_choose_category(move |category| {
        let Some(app) = weak.upgrade() else { return };
        let shown: Vec<Destination> = all
            .iter()
            .filter(|d| d.category == category.as_str())
            .map(|d| Destination {
                id: d.id.as_str().into(),
                name: d.name.as_str().into(),
                note: d.note.as_str().into(),
            })
            .collect();
        app.global::<RideScreen>()
            .set_destinations(ModelRc::from(Rc::new(VecModel::from(shown))));
    });

    let weak = app.as_weak();
    screen.on_book(move || {
        let Some(app) = weak.upgrade() else { return };
        let Some(draft) = draft(&app, today) else {
            tracing::error!("booking a ride without a destination or a rider");
            return;
        };
        app.global::<RideScreen>().set_state(RideState::Waiting);
        app.global::<Navigation>().set_page(Page::RideResult);
        book(draft);
    });
}

/// The resident's choices so far, with the day counted from `today`; `None` before who the ride
/// is for and a destination are chosen.
pub fn draft(app: &AppWindow, today: NaiveDate) -> Option<RideDraft> {
    let screen = app.global::<RideScreen>();
    if screen.get_destination_id().is_empty() {
        return None;
    }
    let rider = super::person::rider(app)?;
    let day = u64::try_from(screen.get_day()).ok()?;
    let minutes = u32::try_from(screen.get_minutes()).ok()?;
    Some(RideDraft {
        rider,
        destination_id: screen.get_destination_id().into(),
        destination_name: screen.get_destination_name().into(),
        date: today.checked_add_days(Days::new(day))?,
        appointment: NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)?,
        walker: screen.get_walker(),
        wheelchair: screen.get_wheelchair(),
        companion: screen.get_companion(),
        return_trip: screen.get_return_trip(),
    })
}

/// Starts a new ride: nothing chosen yet, "Für wen?" on screen.
pub fn start(app: &AppWindow) {
    forget(app);
    super::person::start(app);
}

/// Forgets every choice and answer of the last resident.
pub fn forget(app: &AppWindow) {
    let screen = app.global::<RideScreen>();
    screen.set_category_name(SharedString::new());
    screen.set_destination_id(SharedString::new());
    screen.set_destination_name(SharedString::new());
    screen.set_destinations(ModelRc::default());
    screen.set_day(0);
    screen.set_minutes(FIRST_TIME);
    screen.set_walker(false);
    screen.set_wheelchair(false);
    screen.set_companion(false);
    screen.set_return_trip(false);
    screen.set_state(RideState::Waiting);
    screen.set_window(SharedString::new());
    screen.set_code(SharedString::new());
}

/// Shows the booking's answer: the pickup window in the region's time zone `tz`, or the stored
/// request, with the booking code.
pub fn show_result(app: &AppWindow, result: &BookingResult, tz: chrono_tz::Tz) {
    let screen = app.global::<RideScreen>();
    screen.set_code(result.code.to_string().into());
    match &result.status {
        BookingStatus::Confirmed {
            window_start,
            window_end,
        } => {
            let local = |t: &str| {
                DateTime::parse_from_rfc3339(t)
                    .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
                    .unwrap_or_else(|_| t.to_string())
            };
            screen.set_window(format!("{}–{}", local(window_start), local(window_end)).into());
            screen.set_state(RideState::Confirmed);
        }
        BookingStatus::Requested { .. } => screen.set_state(RideState::Requested),
        BookingStatus::Refused { .. } => screen.set_state(RideState::Refused),
    }
    app.global::<Navigation>().set_page(Page::RideResult);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_come_from_the_replica_in_its_order() {
        let row = |id: &str, name: &str, category: &str| ReplicaRow {
            id: id.into(),
            seq: 1,
            body: serde_json::json!({
                "name": name, "category": category, "street": "Lange Str. 1", "city": "Salzgitter"
            }),
        };
        let rows = [
            row("d2", "Praxis Dr. Weber", "Arzt"),
            row("d1", "Apotheke am Markt", "Apotheke"),
            ReplicaRow {
                id: "broken".into(),
                seq: 2,
                body: serde_json::json!({ "name": "no category" }),
            },
        ];
        let found = destinations_from_replica(&rows);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].name, "Praxis Dr. Weber");
        assert_eq!(found[0].note, "Lange Str. 1, Salzgitter");
        assert_eq!(found[1].category, "Apotheke");
    }
}
