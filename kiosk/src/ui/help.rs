//! "Hilfe finden", the Rust side: the services for the need chosen (with their opening hours in
//! words at the moment it is chosen), the name and phone number typed for a call back, checked
//! before they go, and the call back's answer.
//!
//! The UI never sends anything itself: "Absenden" hands a [`CallBackDraft`] to the `call_back`
//! function given to [`init`] and forgets the name and number on screen; whoever sends it (the
//! app, with [`crate::requests::request_call_back`]) calls [`show_sent`] with the answer.

use std::rc::Rc;

use chrono::NaiveDateTime;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::{
    AppWindow, HelpNeed, HelpPlace, HelpScreen, HelpSent, Navigation, OpenState, Page, TypedProblem,
};
use crate::requests::{HelpService, MAX_NAME, Need, OpenNow, Sent, open_now, services_for};

/// The longest phone number the keypad takes (the hub takes 20 digits).
const MAX_PHONE: usize = 20;

/// What the resident asked for when "Absenden" was tapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallBackDraft {
    pub need: Need,
    pub name: String,
    pub phone: String,
}

fn need_of(need: HelpNeed) -> Need {
    match need {
        HelpNeed::Homelessness => Need::Homelessness,
        HelpNeed::Alcohol => Need::Alcohol,
        HelpNeed::Anxiety => Need::Anxiety,
        HelpNeed::Loneliness => Need::Loneliness,
        HelpNeed::Dementia => Need::Dementia,
        HelpNeed::FamilyStrain => Need::FamilyStrain,
    }
}

/// A service as the screen shows it at `now` (wall-clock time of the region).
pub fn place_of(service: &HelpService, now: NaiveDateTime) -> HelpPlace {
    let hhmm = |t: chrono::NaiveTime| SharedString::from(t.format("%H:%M").to_string());
    let (open, day, time) = match open_now(&service.hours, now) {
        OpenNow::OpenUntil(t) => (OpenState::OpenUntil, 0, hhmm(t)),
        OpenNow::OpensToday(t) => (OpenState::OpensToday, 0, hhmm(t)),
        OpenNow::OpensOn(d, t) => (
            OpenState::OpensOn,
            i32::try_from(d.num_days_from_monday()).unwrap_or(0),
            hhmm(t),
        ),
        OpenNow::Unknown => (OpenState::Unknown, 0, SharedString::new()),
    };
    HelpPlace {
        id: service.id.as_str().into(),
        name: service.name.as_str().into(),
        address: service.address.as_str().into(),
        phone: service.phone.as_deref().unwrap_or_default().into(),
        open,
        day,
        time,
    }
}

/// Offers `services` (from [`crate::requests::help_services`]) by need, their hours read at
/// `clock()` (the region's wall-clock time), and calls `call_back` with the draft when the
/// resident taps "Absenden" with a name and a phone number.
pub fn init(
    app: &AppWindow,
    services: Vec<HelpService>,
    clock: impl Fn() -> NaiveDateTime + 'static,
    call_back: impl Fn(CallBackDraft) + 'static,
) {
    let screen = app.global::<HelpScreen>();
    let weak = app.as_weak();
    screen.on_choose_need(move |need| {
        let Some(app) = weak.upgrade() else { return };
        let now = clock();
        let shown: Vec<HelpPlace> = services_for(&services, need_of(need))
            .iter()
            .map(|s| place_of(s, now))
            .collect();
        let screen = app.global::<HelpScreen>();
        screen.set_chosen(-1);
        screen.set_places(ModelRc::from(Rc::new(VecModel::from(shown))));
    });

    let weak = app.as_weak();
    screen.on_start_call_back(move || {
        let Some(app) = weak.upgrade() else { return };
        forget_typed(&app);
    });

    let weak = app.as_weak();
    screen.on_key(move |key| {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<HelpScreen>();
        screen.set_problem(TypedProblem::None);
        match app.global::<Navigation>().get_page() {
            Page::HelpName => {
                let mut name = screen.get_name().to_string();
                // A name starts with a letter and has single spaces.
                let blank = key.trim().is_empty();
                if name.chars().count() < MAX_NAME
                    && !(blank && (name.is_empty() || name.ends_with(' ')))
                {
                    // Capitals as typed first, small letters after (Erna, not ERNA).
                    let after_letter = name.chars().last().is_some_and(char::is_alphabetic);
                    if after_letter {
                        name.push_str(&key.to_lowercase());
                    } else {
                        name.push_str(&key);
                    }
                    screen.set_name(name.into());
                }
            }
            Page::HelpPhone => {
                let mut phone = screen.get_phone().to_string();
                if phone.len() < MAX_PHONE && key.chars().all(|c| c.is_ascii_digit()) {
                    phone.push_str(&key);
                    screen.set_phone(phone.into());
                }
            }
            _ => {}
        }
    });

    let weak = app.as_weak();
    screen.on_delete(move || {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<HelpScreen>();
        screen.set_problem(TypedProblem::None);
        match app.global::<Navigation>().get_page() {
            Page::HelpName => {
                let mut name = screen.get_name().to_string();
                name.pop();
                screen.set_name(name.into());
            }
            Page::HelpPhone => {
                let mut phone = screen.get_phone().to_string();
                phone.pop();
                screen.set_phone(phone.into());
            }
            _ => {}
        }
    });

    let weak = app.as_weak();
    screen.on_name_done(move || {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<HelpScreen>();
        if screen.get_name().trim().is_empty() {
            screen.set_problem(TypedProblem::NoName);
            return;
        }
        screen.set_problem(TypedProblem::None);
        app.global::<Navigation>().set_page(Page::HelpPhone);
    });

    let weak = app.as_weak();
    screen.on_phone_done(move || {
        let Some(app) = weak.upgrade() else { return };
        let screen = app.global::<HelpScreen>();
        let phone = screen.get_phone().to_string();
        if !(5..=MAX_PHONE).contains(&phone.len()) {
            screen.set_problem(TypedProblem::ShortPhone);
            return;
        }
        let draft = CallBackDraft {
            need: need_of(screen.get_need()),
            name: screen.get_name().trim().to_string(),
            phone,
        };
        // Off the screen before it goes: nothing personal stays there.
        forget_typed(&app);
        screen.set_state(HelpSent::Waiting);
        app.global::<Navigation>().set_page(Page::HelpSent);
        call_back(draft);
    });
}

fn forget_typed(app: &AppWindow) {
    let screen = app.global::<HelpScreen>();
    screen.set_name(SharedString::new());
    screen.set_phone(SharedString::new());
    screen.set_problem(TypedProblem::None);
}

/// Starts "Hilfe finden": nothing chosen, the needs on screen.
pub fn start(app: &AppWindow) {
    forget(app);
    app.global::<Navigation>().set_page(Page::HelpNeeds);
}

/// Forgets everything of the last resident: the need, the services shown, what was typed.
pub fn forget(app: &AppWindow) {
    let screen = app.global::<HelpScreen>();
    forget_typed(app);
    screen.set_need(HelpNeed::Homelessness);
    screen.set_places(ModelRc::default());
    screen.set_chosen(-1);
    screen.set_state(HelpSent::Waiting);
}

/// Shows the call back's answer.
pub fn show_sent(app: &AppWindow, sent: &Sent) {
    let screen = app.global::<HelpScreen>();
    screen.set_state(match sent {
        Sent::Done => HelpSent::Sent,
        Sent::Stored => HelpSent::Stored,
        Sent::UnknownCode | Sent::AlreadyDone | Sent::Refused(_) => HelpSent::Refused,
    });
    app.global::<Navigation>().set_page(Page::HelpSent);
}
