//! The setup screen, the Rust side: a kiosk that is not enrolled shows the hub the image names
//! and takes the kiosk's one-time enrolment code on the keypad (`ui/setup.slint`).
//!
//! "Einrichten" hands a well-formed code to the `connect` function given to [`init`] and the
//! screen waits; whoever enrols (`kiosk run`, with [`crate::setup::enrol`]) calls [`show_answer`].
//! A code that is not 12 characters is explained and nothing is sent.

use protocol::device::{ENROL_CODE_LEN, normalise_enrol_code};
use slint::{ComponentHandle, SharedString};

use super::{AppWindow, Navigation, Page, SetupScreen, SetupState};
use crate::setup::Answer;

/// Whether the keys may change the code: not while the hub is asked, nor once it is enrolled.
fn keys_work(state: SetupState) -> bool {
    !matches!(
        state,
        SetupState::Connecting | SetupState::Enrolled | SetupState::NoHub
    )
}

/// Shows the setup screen for the hub at `hub`, or, when the image names no usable hub, how to
/// name one, with what is wrong (`Err`). `connect` is called with the canonical code when
/// "Einrichten" is tapped on a well-formed one.
pub fn init(app: &AppWindow, hub: Result<&str, String>, connect: impl Fn(String) + 'static) {
    let screen = app.global::<SetupScreen>();
    screen.set_typed(SharedString::new());
    match hub {
        Ok(url) => {
            screen.set_hub(url.into());
            screen.set_detail(SharedString::new());
            screen.set_state(SetupState::Typing);
        }
        Err(problem) => {
            screen.set_hub(SharedString::new());
            screen.set_detail(problem.into());
            screen.set_state(SetupState::NoHub);
        }
    }

    let weak = app.as_weak();
    screen.on_key(move |key| {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<SetupScreen>();
        if !keys_work(screen.get_state()) {
            return;
        }
        let typed = super::keyed(&screen.get_typed(), Some(&key), ENROL_CODE_LEN);
        screen.set_state(SetupState::Typing);
        screen.set_typed(typed.into());
    });

    let weak = app.as_weak();
    screen.on_delete(move || {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<SetupScreen>();
        if !keys_work(screen.get_state()) {
            return;
        }
        let typed = super::keyed(&screen.get_typed(), None, ENROL_CODE_LEN);
        screen.set_state(SetupState::Typing);
        screen.set_typed(typed.into());
    });

    let weak = app.as_weak();
    screen.on_connect(move || {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<SetupScreen>();
        if !keys_work(screen.get_state()) {
            return;
        }
        // The code as typed: the reading ignores the dashes.
        match normalise_enrol_code(&screen.get_typed()) {
            Some(code) => {
                screen.set_state(SetupState::Connecting);
                screen.set_detail(SharedString::new());
                connect(code);
            }
            None => screen.set_state(SetupState::CodeLength),
        }
    });

    app.global::<Navigation>().set_page(Page::Setup);
}

/// Shows what the enrolment came to. The code stays typed after a refusal or a failure, so a
/// mistyped character can be corrected.
pub fn show_answer(app: &AppWindow, answer: &Answer) {
    let screen = app.global::<SetupScreen>();
    let (state, detail) = match answer {
        Answer::Enrolled {
            device_id,
            region_id,
        } => (SetupState::Enrolled, format!("{device_id} ({region_id})")),
        Answer::NotACode => (SetupState::CodeLength, String::new()),
        Answer::Refused { detail } => (SetupState::Refused, detail.clone()),
        Answer::Unreachable { detail } => (SetupState::Unreachable, detail.clone()),
        Answer::Failed { detail } => (SetupState::Failed, detail.clone()),
    };
    screen.set_state(state);
    screen.set_detail(detail.into());
}
