//! "Meine Buchung", the Rust side: the code typed on the keypad (checked as a
//! [`protocol::BookingCode`] before anything is looked up), the booking shown, and the
//! cancellation after the resident confirmed it.
//!
//! The UI never reads the store or sends anything itself: "Anzeigen" hands the code to the `find`
//! function given to [`init`], "Ja, absagen" to `cancel`; whoever does the work (the app, with
//! [`crate::requests::booking_view`] and [`crate::requests::cancel_booking`]) calls [`show`] and
//! [`show_cancelled`] with the answers.

use std::str::FromStr;

use chrono::DateTime;
use protocol::{BookingCode, BookingCodeError};
use slint::{ComponentHandle, SharedString};

use super::{
    AppWindow, BookingScreen, BookingStanding, BookingWhat, CancelState, Navigation, Page,
    TypedProblem,
};
use crate::requests::{self, BookingView, ReminderDay, Sent, Standing, What};

/// Characters of a booking code without the dashes.
const CODE_CHARS: usize = 9;

fn compact(app: &AppWindow) -> String {
    super::ungrouped(&app.global::<BookingScreen>().get_typed())
}

/// Calls `find` with the code when "Anzeigen" is tapped on a well-formed code, and `cancel` when
/// a cancellation is confirmed.
pub fn init(
    app: &AppWindow,
    find: impl Fn(BookingCode) + 'static,
    cancel: impl Fn(BookingCode) + 'static,
) {
    let screen = app.global::<BookingScreen>();
    let weak = app.as_weak();
    screen.on_key(move |key| {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<BookingScreen>();
        let typed = super::keyed(&screen.get_typed(), Some(&key), CODE_CHARS);
        screen.set_problem(TypedProblem::None);
        screen.set_typed(typed.into());
    });

    let weak = app.as_weak();
    screen.on_delete(move || {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<BookingScreen>();
        let typed = super::keyed(&screen.get_typed(), None, CODE_CHARS);
        screen.set_problem(TypedProblem::None);
        screen.set_typed(typed.into());
    });

    let weak = app.as_weak();
    screen.on_show(move || {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<BookingScreen>();
        match BookingCode::from_str(&compact(&app)) {
            Ok(code) => {
                screen.set_code(code.to_string().into());
                find(code);
            }
            Err(BookingCodeError::Length) => screen.set_problem(TypedProblem::CodeLength),
            Err(BookingCodeError::Check | BookingCodeError::Character(_)) => {
                screen.set_problem(TypedProblem::WrongCode)
            }
        }
    });

    let weak = app.as_weak();
    screen.on_cancel(move || {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<BookingScreen>();
        let Ok(code) = BookingCode::from_str(&screen.get_code()) else {
            tracing::error!("cancelling without a booking shown");
            return;
        };
        screen.set_cancel_state(CancelState::Waiting);
        app.global::<Navigation>().set_page(Page::BookingCancelled);
        cancel(code);
    });
}

/// Starts "Meine Buchung": nothing typed, the keypad on screen.
pub fn start(app: &AppWindow) {
    forget(app);
    app.global::<Navigation>().set_page(Page::BookingCode);
}

/// Forgets the code typed and the booking shown.
pub fn forget(app: &AppWindow) {
    let screen = app.global::<BookingScreen>();
    screen.set_typed(SharedString::new());
    screen.set_problem(TypedProblem::None);
    screen.set_code(SharedString::new());
    screen.set_what(BookingWhat::Ride);
    screen.set_when(SharedString::new());
    screen.set_place(SharedString::new());
    screen.set_home(false);
    screen.set_standing(BookingStanding::NotHere);
    screen.set_reminder_day(0);
    screen.set_reminder_time(SharedString::new());
    screen.set_cancel_state(CancelState::Waiting);
}

/// Shows the booking `code` as this kiosk knows it (`None`: booked elsewhere; it can still be
/// cancelled), times in the region's time zone `tz`.
pub fn show(app: &AppWindow, code: &BookingCode, view: Option<&BookingView>, tz: chrono_tz::Tz) {
    let screen = app.global::<BookingScreen>();
    screen.set_code(code.to_string().into());
    match view {
        None => {
            screen.set_standing(BookingStanding::NotHere);
            screen.set_when(SharedString::new());
            screen.set_place(SharedString::new());
            screen.set_home(false);
            screen.set_reminder_day(0);
        }
        Some(view) => {
            screen.set_what(match view.what {
                What::Ride => BookingWhat::Ride,
                What::Appointment => BookingWhat::Appointment,
            });
            screen.set_when(when(view, tz).into());
            screen.set_place(view.place.as_deref().unwrap_or_default().into());
            screen.set_home(view.home);
            screen.set_standing(match view.standing {
                Standing::Confirmed => BookingStanding::Confirmed,
                Standing::Requested => BookingStanding::Requested,
                Standing::Refused => BookingStanding::Refused,
                Standing::Cancelled => BookingStanding::Cancelled,
                Standing::CancelSent => BookingStanding::CancelSent,
            });
            let reminder = requests::reminder(view, chrono::Utc::now(), tz);
            screen.set_reminder_day(match reminder {
                None => 0,
                Some((ReminderDay::Today, _)) => 1,
                Some((ReminderDay::Tomorrow, _)) => 2,
            });
            screen.set_reminder_time(reminder.map(|r| r.1).unwrap_or_default().into());
        }
    }
    app.global::<Navigation>().set_page(Page::BookingShown);
}

/// "03.12. 09:10–09:30" in `tz`; the end only when known and on the same day.
fn when(view: &BookingView, tz: chrono_tz::Tz) -> String {
    let local = |t: &str| {
        DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.with_timezone(&tz))
    };
    match (
        view.from.as_deref().and_then(local),
        view.until.as_deref().and_then(local),
    ) {
        (Some(from), Some(until)) if from.date_naive() == until.date_naive() && until > from => {
            format!(
                "{} {}–{}",
                from.format("%d.%m."),
                from.format("%H:%M"),
                until.format("%H:%M")
            )
        }
        (Some(from), _) => from.format("%d.%m. %H:%M").to_string(),
        (None, _) => String::new(),
    }
}

/// Shows the cancellation's answer.
pub fn show_cancelled(app: &AppWindow, sent: &Sent) {
    app.global::<BookingScreen>().set_cancel_state(match sent {
        Sent::Stored => CancelState::Sent,
        Sent::Done => CancelState::Cancelled,
        Sent::UnknownCode => CancelState::UnknownCode,
        Sent::AlreadyDone => CancelState::AlreadyDone,
        Sent::Refused(_) => CancelState::Refused,
    });
    app.global::<Navigation>().set_page(Page::BookingCancelled);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_reads_as_date_and_window_in_the_regions_zone() {
        let view = |from: Option<&str>, until: Option<&str>| BookingView {
            code: BookingCode::from_uuid(uuid::Uuid::from_u128(1)),
            what: What::Ride,
            from: from.map(str::to_string),
            until: until.map(str::to_string),
            place: None,
            home: false,
            standing: Standing::Confirmed,
        };
        let tz = chrono_tz::Europe::Berlin;
        assert_eq!(
            when(
                &view(Some("2026-12-03T08:10:00Z"), Some("2026-12-03T08:30:00Z")),
                tz
            ),
            "03.12. 09:10–09:30"
        );
        assert_eq!(
            when(&view(Some("2026-12-03T08:10:00Z"), None), tz),
            "03.12. 09:10"
        );
        assert_eq!(when(&view(None, None), tz), "");
    }
}
