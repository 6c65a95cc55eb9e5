//! Health worker mode's screens, Rust side: the username and PIN typed on large keys, the login's
//! answer shown (today's appointments, or why not), and each recorded outcome handed on as an
//! [`OutcomeDraft`].
//!
//! The UI never talks to the hub itself: "Anmelden" calls the `login` function given to [`init`]
//! and returns at once; whoever logs in (`kiosk::staff::attach`) calls [`show_session`] or
//! [`show_failure`] on the UI thread. The session, the PIN and the list live in the
//! `StaffScreen` global only, so [`forget`] (the idle reset, "Fertig") leaves nothing behind.

use std::rc::Rc;

use chrono::DateTime;
use protocol::staff::{OutcomeStatus, PIN_DIGITS, StaffSession, TOPICS};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

use super::{AppWindow, Navigation, Page, StaffAppointment, StaffLoginState, StaffScreen};

/// Longest username the keyboard takes (the hub's limit).
const MAX_USERNAME: usize = 100;

/// Why a login opened no session, as the PIN screen says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginFailure {
    /// The hub is out of reach: a login needs it.
    Offline,
    /// Wrong username or PIN (the hub does not say which).
    Refused,
    /// Too many wrong PINs: locked for a while.
    Locked,
    /// Anything else; the detail goes to the log.
    Failed(String),
}

/// One outcome as the health worker recorded it, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeDraft {
    pub session_id: String,
    pub appointment_id: String,
    pub status: OutcomeStatus,
    /// One of [`TOPICS`].
    pub topic: &'static str,
    /// One of the region's destination categories.
    pub referral: Option<String>,
}

/// Connects the staff screens: `login(username, pin)` when "Anmelden" is tapped, `save(draft)`
/// when an outcome is saved. The start screen's "Personal" opens the login.
pub fn init(
    app: &AppWindow,
    login: impl Fn(String, String) + 'static,
    save: impl Fn(OutcomeDraft) + 'static,
) {
    let screen = app.global::<StaffScreen>();
    let weak = app.as_weak();
    screen.on_open(move || {
        if let Some(app) = weak.upgrade() {
            start(&app);
        }
    });
    let weak = app.as_weak();
    screen.on_type_name(move |key| {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<StaffScreen>();
        let mut name = screen.get_username().to_string();
        if name.chars().count() < MAX_USERNAME {
            name.push_str(&key);
            screen.set_username(name.into());
        }
    });
    let weak = app.as_weak();
    screen.on_erase_name(move || {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<StaffScreen>();
        let mut name = screen.get_username().to_string();
        name.pop();
        screen.set_username(name.into());
    });
    let weak = app.as_weak();
    screen.on_type_pin(move |key| {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<StaffScreen>();
        let mut pin = screen.get_pin().to_string();
        if pin.len() < PIN_DIGITS && key.len() == 1 && key.bytes().all(|b| b.is_ascii_digit()) {
            pin.push_str(&key);
            set_pin(&app, pin);
        }
    });
    let weak = app.as_weak();
    screen.on_erase_pin(move || {
        let Some(app) = weak.upgrade() else { return };
        let mut pin = app.global::<StaffScreen>().get_pin().to_string();
        pin.pop();
        set_pin(&app, pin);
    });
    let weak = app.as_weak();
    screen.on_login(move || {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<StaffScreen>();
        screen.set_state(StaffLoginState::Waiting);
        login(screen.get_username().into(), screen.get_pin().into());
    });
    let weak = app.as_weak();
    screen.on_save(move || {
        let Some(app) = weak.upgrade() else { return };
        let Some(draft) = draft(&app) else {
            tracing::error!("saving an outcome without an appointment, status or topic");
            return;
        };
        mark(&app, &draft);
        save(draft);
        app.global::<Navigation>().set_page(Page::StaffList);
    });
    let weak = app.as_weak();
    screen.on_finish(move || {
        let Some(app) = weak.upgrade() else { return };
        forget(&app);
        app.global::<Navigation>().set_page(Page::Start);
    });
}

fn set_pin(app: &AppWindow, pin: String) {
    let screen = app.global::<StaffScreen>();
    screen.set_pin_dots("●".repeat(pin.len()).into());
    screen.set_pin_complete(pin.len() == PIN_DIGITS);
    screen.set_pin(pin.into());
}

/// Opens the login: nothing typed, the name keyboard on screen.
pub fn start(app: &AppWindow) {
    forget(app);
    app.global::<Navigation>().set_page(Page::StaffName);
}

/// Forgets the session, the list, the name and the PIN.
pub fn forget(app: &AppWindow) {
    let screen = app.global::<StaffScreen>();
    screen.set_username(SharedString::new());
    set_pin(app, String::new());
    screen.set_state(StaffLoginState::Idle);
    screen.set_session_id(SharedString::new());
    screen.set_display_name(SharedString::new());
    screen.set_appointments(ModelRc::default());
    screen.set_referrals(ModelRc::default());
    screen.set_current(-1);
    screen.set_status(0);
    screen.set_topic(-1);
    screen.set_referral(-1);
}

/// Shows an open session: today's appointments (times in the region's zone `tz`) and the
/// referral categories offered. The PIN is forgotten.
pub fn show_session(
    app: &AppWindow,
    session: &StaffSession,
    referrals: Vec<String>,
    tz: chrono_tz::Tz,
) {
    let screen = app.global::<StaffScreen>();
    set_pin(app, String::new());
    screen.set_state(StaffLoginState::Idle);
    screen.set_session_id(session.session_id.to_string().into());
    screen.set_display_name(session.display_name.as_str().into());
    let rows: Vec<StaffAppointment> = session
        .appointments
        .iter()
        .map(|a| StaffAppointment {
            id: a.id.as_str().into(),
            time: DateTime::parse_from_rfc3339(&a.starts_at)
                .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
                .unwrap_or_default()
                .into(),
            name: a.first_name.clone().unwrap_or_default().into(),
            topic: topic_index(&a.topic),
            status: match a.status.as_str() {
                "attended" => 1,
                "no_show" => 2,
                _ => 0,
            },
        })
        .collect();
    screen.set_appointments(ModelRc::from(Rc::new(VecModel::from(rows))));
    let referrals: Vec<SharedString> = referrals.into_iter().map(Into::into).collect();
    screen.set_referrals(ModelRc::from(Rc::new(VecModel::from(referrals))));
    app.global::<Navigation>().set_page(Page::StaffList);
}

/// Shows why the login failed, on the PIN screen with the PIN cleared.
pub fn show_failure(app: &AppWindow, failure: &LoginFailure) {
    let screen = app.global::<StaffScreen>();
    set_pin(app, String::new());
    screen.set_state(match failure {
        LoginFailure::Offline => StaffLoginState::Offline,
        LoginFailure::Refused => StaffLoginState::Refused,
        LoginFailure::Locked => StaffLoginState::Locked,
        LoginFailure::Failed(_) => StaffLoginState::Failed,
    });
}

fn topic_index(code: &str) -> i32 {
    TOPICS
        .iter()
        .position(|t| *t == code)
        .and_then(|i| i32::try_from(i).ok())
        .unwrap_or(-1)
}

/// What was chosen for the current appointment; `None` while something is missing.
pub fn draft(app: &AppWindow) -> Option<OutcomeDraft> {
    let screen = app.global::<StaffScreen>();
    let current = usize::try_from(screen.get_current()).ok()?;
    let appointment = screen.get_appointments().row_data(current)?;
    let status = match screen.get_status() {
        1 => OutcomeStatus::Attended,
        2 => OutcomeStatus::NoShow,
        _ => return None,
    };
    let topic = TOPICS.get(usize::try_from(screen.get_topic()).ok()?)?;
    let referral = usize::try_from(screen.get_referral())
        .ok()
        .and_then(|i| screen.get_referrals().row_data(i))
        .map(|r| r.to_string());
    let session_id = screen.get_session_id().to_string();
    if session_id.is_empty() {
        return None;
    }
    Some(OutcomeDraft {
        session_id,
        appointment_id: appointment.id.into(),
        status,
        topic,
        referral,
    })
}

/// Shows a saved outcome in the list at once (it is in the outbox when `save` returns or soon
/// after; the hub's answer does not change what the list shows).
fn mark(app: &AppWindow, draft: &OutcomeDraft) {
    let screen = app.global::<StaffScreen>();
    let list = screen.get_appointments();
    for i in 0..list.row_count() {
        if let Some(mut row) = list.row_data(i)
            && row.id.as_str() == draft.appointment_id
        {
            row.status = match draft.status {
                OutcomeStatus::Attended => 1,
                OutcomeStatus::NoShow => 2,
            };
            row.topic = topic_index(draft.topic);
            list.set_row_data(i, row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_found_by_code() {
        assert_eq!(topic_index("health"), 0);
        assert_eq!(topic_index("other"), 7);
        assert_eq!(topic_index("diagnosis"), -1);
    }
}
