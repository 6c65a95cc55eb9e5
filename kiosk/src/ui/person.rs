//! Who a ride is for, the Rust side of `ui/person.slint`: the keys typed on each step, the checks
//! of "Weiter" (a resident number's check digit, a name, a whole phone number), the caregiver
//! login handed to the `log_in` function given to [`init`] (online only; its answer comes back
//! through [`show_login`]), and the result read as a [`Rider`] for the booking.
//!
//! Nothing here outlives a resident: [`forget`] clears every typed character and the caregiver's
//! list of people (the idle reset calls it).

use std::rc::Rc;

use protocol::ResidentNumber;
use protocol::people::{CaregiverSession, NewResident};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::{
    AppWindow, CaredPerson, Navigation, Page, PersonScreen, PersonStep, Settings, TypedProblem,
};
use crate::core::Rider;
use crate::hub_client::HubError;

/// Longest texts the keyboards take.
const MAX_NAME: usize = 60;
const MAX_PHONE: usize = 20;
const MAX_HOUSE: usize = 4;
const NUMBER_DIGITS: usize = 7;
const PIN_DIGITS: usize = protocol::people::PIN_LEN;

/// What the person screens show of the kiosk's village and region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonPlace {
    /// The village's street names (`streets` of the replica's village).
    pub streets: Vec<String>,
    /// Who gets a new resident's data, as the consent text names it (the region's ride service).
    pub service: String,
    /// The hub's phone number, for when the kiosk is offline.
    pub hub_phone: String,
}

/// The hub's answer to a caregiver's login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAnswer {
    Session(CaregiverSession),
    WrongPin,
    Locked,
    /// No connection to the hub: caregivers need one.
    Offline,
}

impl LoginAnswer {
    /// What a call of the caregiver-session endpoint means for the screen.
    pub fn from_hub(answer: Result<CaregiverSession, HubError>) -> LoginAnswer {
        match answer {
            Ok(session) => LoginAnswer::Session(session),
            Err(HubError::Problem { status: 429, .. }) => LoginAnswer::Locked,
            Err(HubError::Problem {
                status: 403 | 422, ..
            }) => LoginAnswer::WrongPin,
            Err(_) => LoginAnswer::Offline,
        }
    }
}

/// Offers `place`'s streets and calls `log_in(phone, pin)` when a caregiver has typed both; the
/// caller answers through [`show_login`] on the UI thread.
pub fn init(app: &AppWindow, place: PersonPlace, log_in: impl Fn(String, String) + 'static) {
    let screen = app.global::<PersonScreen>();
    let streets: Vec<SharedString> = place.streets.iter().map(SharedString::from).collect();
    screen.set_streets(ModelRc::from(Rc::new(VecModel::from(streets))));
    screen.set_service(place.service.into());
    screen.set_hub_phone(place.hub_phone.into());

    let weak = app.as_weak();
    screen.on_key(move |k| {
        if let Some(app) = weak.upgrade() {
            key(&app, &k);
        }
    });
    let weak = app.as_weak();
    screen.on_delete(move || {
        if let Some(app) = weak.upgrade() {
            delete(&app);
        }
    });
    let weak = app.as_weak();
    screen.on_confirm(move || {
        if let Some(app) = weak.upgrade() {
            confirm(&app, &log_in);
        }
    });
    let weak = app.as_weak();
    screen.on_done(move || {
        if let Some(app) = weak.upgrade() {
            app.global::<Navigation>().set_page(Page::RideWhere);
        }
    });
}

/// Starts a ride with "Für wen?", nothing typed.
pub fn start(app: &AppWindow) {
    forget(app);
    app.global::<Navigation>().set_page(Page::Person);
}

/// Forgets everything typed or chosen, and the caregiver's list.
pub fn forget(app: &AppWindow) {
    let screen = app.global::<PersonScreen>();
    screen.set_step(PersonStep::Who);
    for field in [
        Field::Number,
        Field::Name,
        Field::Phone,
        Field::House,
        Field::Pin,
    ] {
        field.set(&screen, "");
    }
    screen.set_kind(SharedString::new());
    screen.set_street(SharedString::new());
    screen.set_caregiver_id(SharedString::new());
    screen.set_resident_id(SharedString::new());
    screen.set_chosen_name(SharedString::new());
    screen.set_problem(TypedProblem::None);
    screen.set_number_wrong(false);
    screen.set_people(ModelRc::default());
}

/// Shows the hub's answer to the caregiver's login: the people to choose from, or why not.
pub fn show_login(app: &AppWindow, answer: LoginAnswer) {
    let screen = app.global::<PersonScreen>();
    // The PIN is not kept once it was checked.
    screen.set_pin(SharedString::new());
    screen.set_pin_dots(SharedString::new());
    match answer {
        LoginAnswer::Session(session) if session.residents.is_empty() => {
            screen.set_step(PersonStep::Nobody);
        }
        LoginAnswer::Session(session) => {
            let people: Vec<CaredPerson> = session
                .residents
                .iter()
                .map(|p| CaredPerson {
                    id: p.resident_id.as_str().into(),
                    name: p.first_name.as_str().into(),
                    village: p.village.as_str().into(),
                })
                .collect();
            screen.set_people(ModelRc::from(Rc::new(VecModel::from(people))));
            screen.set_caregiver_id(session.caregiver_id.into());
            screen.set_step(PersonStep::Choose);
        }
        LoginAnswer::WrongPin => screen.set_step(PersonStep::WrongPin),
        LoginAnswer::Locked => screen.set_step(PersonStep::Locked),
        LoginAnswer::Offline => screen.set_step(PersonStep::Offline),
    }
}

/// Who the ride is for, once the person screens are done; `None` before.
pub fn rider(app: &AppWindow) -> Option<Rider> {
    let screen = app.global::<PersonScreen>();
    match screen.get_kind().as_str() {
        "number" => screen.get_number().parse().ok().map(Rider::Number),
        "new" => {
            let name = screen.get_name().trim().to_string();
            let (street, house) = (screen.get_street(), screen.get_house());
            if name.is_empty() || street.is_empty() || house.is_empty() {
                return None;
            }
            let phone = screen.get_phone();
            Some(Rider::New(NewResident {
                name,
                phone: (!phone.is_empty()).then(|| phone.to_string()),
                street: street.into(),
                house_number: house.into(),
                language: app.global::<Settings>().get_language().into(),
                consent: true,
            }))
        }
        "caregiver" => {
            let (caregiver, resident) = (screen.get_caregiver_id(), screen.get_resident_id());
            (!caregiver.is_empty() && !resident.is_empty()).then(|| Rider::CaredFor {
                caregiver_id: caregiver.into(),
                resident_id: resident.into(),
            })
        }
        _ => None,
    }
}

/// A text the keyboards type into.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Number,
    Name,
    Phone,
    House,
    Pin,
}

impl Field {
    /// The field of a step and how long it may grow.
    fn of(step: PersonStep) -> Option<(Field, usize)> {
        Some(match step {
            PersonStep::Number => (Field::Number, NUMBER_DIGITS),
            PersonStep::Name => (Field::Name, MAX_NAME),
            PersonStep::Phone | PersonStep::CaregiverPhone => (Field::Phone, MAX_PHONE),
            PersonStep::House => (Field::House, MAX_HOUSE),
            PersonStep::CaregiverPin => (Field::Pin, PIN_DIGITS),
            _ => return None,
        })
    }

    fn get(self, screen: &PersonScreen<'_>) -> String {
        match self {
            Field::Number => screen.get_number(),
            Field::Name => screen.get_name(),
            Field::Phone => screen.get_phone(),
            Field::House => screen.get_house(),
            Field::Pin => screen.get_pin(),
        }
        .into()
    }

    fn set(self, screen: &PersonScreen<'_>, text: &str) {
        let text = SharedString::from(text);
        match self {
            Field::Number => screen.set_number(text),
            Field::Name => screen.set_name(text),
            Field::Phone => screen.set_phone(text),
            Field::House => screen.set_house(text),
            Field::Pin => {
                screen.set_pin_dots("•".repeat(text.chars().count()).into());
                screen.set_pin(text);
            }
        }
    }
}

fn key(app: &AppWindow, k: &str) {
    let screen = app.global::<PersonScreen>();
    screen.set_problem(TypedProblem::None);
    screen.set_number_wrong(false);
    let step = screen.get_step();
    let Some((field, max)) = Field::of(step) else {
        return;
    };
    let mut text = field.get(&screen);
    if text.chars().count() >= max {
        return;
    }
    if step == PersonStep::Name {
        // The keys are capitals: a word starts with one, the rest are small ("Hans-Otto Meier").
        let word_start = text.is_empty() || text.ends_with([' ', '-']);
        if k == " " && (text.is_empty() || text.ends_with(' ')) {
            return;
        }
        text.push_str(&if word_start {
            k.to_string()
        } else {
            k.to_lowercase()
        });
    } else {
        text.push_str(k);
    }
    field.set(&screen, &text);
}

fn delete(app: &AppWindow) {
    let screen = app.global::<PersonScreen>();
    screen.set_problem(TypedProblem::None);
    screen.set_number_wrong(false);
    let Some((field, _)) = Field::of(screen.get_step()) else {
        return;
    };
    let mut text = field.get(&screen);
    text.pop();
    field.set(&screen, &text);
}

/// "Weiter": checks what was typed, then the next step.
fn confirm(app: &AppWindow, log_in: &impl Fn(String, String)) {
    let screen = app.global::<PersonScreen>();
    match screen.get_step() {
        PersonStep::Number => {
            if screen.get_number().parse::<ResidentNumber>().is_ok() {
                screen.invoke_done();
            } else {
                screen.set_number_wrong(true);
            }
        }
        PersonStep::Name => {
            let name = screen.get_name().trim().to_string();
            if name.is_empty() {
                screen.set_problem(TypedProblem::NoName);
            } else {
                screen.set_name(name.into());
                screen.set_step(PersonStep::Phone);
            }
        }
        PersonStep::Phone => {
            let phone = screen.get_phone();
            if !phone.is_empty() && phone.chars().count() < 5 {
                screen.set_problem(TypedProblem::ShortPhone);
            } else {
                screen.set_step(PersonStep::Street);
            }
        }
        PersonStep::House if !screen.get_house().is_empty() => {
            screen.set_step(PersonStep::Consent);
        }
        PersonStep::CaregiverPhone => {
            if screen.get_phone().chars().count() < 5 {
                screen.set_problem(TypedProblem::ShortPhone);
            } else {
                screen.set_step(PersonStep::CaregiverPin);
            }
        }
        PersonStep::CaregiverPin => {
            let pin = screen.get_pin().to_string();
            if pin.chars().count() == PIN_DIGITS {
                // The PIN leaves the screen as it goes to the hub.
                Field::Pin.set(&screen, "");
                screen.set_step(PersonStep::Checking);
                log_in(screen.get_phone().into(), pin);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hubs_login_answers_read_as_screens() {
        let problem = |status| HubError::Problem {
            status,
            title: String::new(),
            detail: String::new(),
            field: None,
        };
        assert_eq!(
            LoginAnswer::from_hub(Err(problem(429))),
            LoginAnswer::Locked
        );
        assert_eq!(
            LoginAnswer::from_hub(Err(problem(403))),
            LoginAnswer::WrongPin
        );
        assert_eq!(
            LoginAnswer::from_hub(Err(HubError::Unreachable("timeout".into()))),
            LoginAnswer::Offline
        );
        let session = CaregiverSession {
            caregiver_id: "c1".into(),
            residents: Vec::new(),
        };
        assert_eq!(
            LoginAnswer::from_hub(Ok(session.clone())),
            LoginAnswer::Session(session)
        );
    }
}
