//! Health worker mode on Slint's testing backend, every element found by its accessible label:
//! in German and Arabic from "Personal" through username and PIN to today's list, an appointment
//! marked attended with topic and referral, and back to the public screen; a refused and an
//! offline login said on screen; the idle reset forgets the session and the list.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk::ui::staff::{self, LoginFailure, OutcomeDraft};
use kiosk::ui::{AppWindow, Navigation, Page, StaffScreen};
use protocol::staff::{OutcomeStatus, StaffAppointment, StaffSession};
use slint::{ComponentHandle, Model};
use uuid::Uuid;

use crate::ui::{bounds, button, kiosk_window, tap};

fn session() -> StaffSession {
    StaffSession {
        session_id: Uuid::from_u128(0x5747),
        expires_at: "2026-12-02T20:00:00Z".into(),
        display_name: "Hanna Demir".into(),
        appointments: vec![
            StaffAppointment {
                id: "a-erna".into(),
                starts_at: "2026-12-02T08:00:00Z".into(),
                booking_code: "7KQM-2XHD-R".into(),
                topic: "health".into(),
                status: "booked".into(),
                first_name: Some("Erna".into()),
            },
            StaffAppointment {
                id: "a-walk-in".into(),
                starts_at: "2026-12-02T09:00:00Z".into(),
                booking_code: "9PQR-3XHD-T".into(),
                topic: "care".into(),
                status: "booked".into(),
                first_name: None,
            },
        ],
    }
}

type Logins = Rc<RefCell<Vec<(String, String)>>>;
type Saved = Rc<RefCell<Vec<OutcomeDraft>>>;

/// A kiosk whose login answers at once with `answer`; logins and saved outcomes are kept.
fn staff_kiosk(answer: Result<StaffSession, LoginFailure>) -> (AppWindow, Logins, Saved) {
    let app = kiosk_window();
    let (logins, saved): (Logins, Saved) = Default::default();
    let (weak, seen, kept) = (app.as_weak(), logins.clone(), saved.clone());
    staff::init(
        &app,
        move |username, pin| {
            seen.borrow_mut().push((username, pin));
            let app = weak.upgrade().expect("the window is open");
            match &answer {
                Ok(session) => staff::show_session(
                    &app,
                    session,
                    vec!["general_practice".into(), "counselling".into()],
                    chrono_tz::Europe::Berlin,
                ),
                Err(failure) => staff::show_failure(&app, failure),
            }
        },
        move |draft| kept.borrow_mut().push(draft),
    );
    (app, logins, saved)
}

/// Taps the button `label` after checking it is a big enough target.
fn press(app: &AppWindow, label: &str) {
    let (_, size) = bounds(&button(app, label));
    assert!(
        size.width >= 95.0 && size.height >= 95.0,
        "{label:?} is {size:?}"
    );
    tap(app, label);
}

fn shows(app: &AppWindow, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(app, label)
        .any(|e| e.accessible_role() == Some(AccessibleRole::Text))
}

fn page(app: &AppWindow) -> Page {
    app.global::<Navigation>().get_page()
}

/// The labels the flow taps and reads, in one language.
struct Words {
    staff: &'static str,
    next: &'static str,
    delete: &'static str,
    log_in: &'static str,
    username: &'static str,
    attended: &'static str,
    money: &'static str,
    save: &'static str,
    done: &'static str,
    erna_open: &'static str,
    erna_attended: &'static str,
    walk_in: &'static str,
}

const DE: Words = Words {
    staff: "Personal",
    next: "Weiter",
    delete: "Löschen",
    log_in: "Anmelden",
    username: "Benutzername: hanna",
    attended: "Erschienen",
    money: "Geld und Leistungen",
    save: "Speichern",
    done: "Fertig",
    erna_open: "09:00 · Erna · Gesundheit · offen",
    erna_attended: "09:00 · Erna · Geld und Leistungen · erschienen",
    walk_in: "10:00 · ohne Namen · Pflege · offen",
};

const AR: Words = Words {
    staff: "الموظفون",
    next: "التالي",
    delete: "حذف",
    log_in: "دخول",
    username: "اسم المستخدم: hanna",
    attended: "حضر",
    money: "المال والمساعدات",
    save: "حفظ",
    done: "انتهى",
    erna_open: "09:00 · Erna · الصحة · مفتوح",
    erna_attended: "09:00 · Erna · المال والمساعدات · حضر",
    walk_in: "10:00 · بدون اسم · الرعاية · مفتوح",
};

/// From the start screen to the PIN typed, in `w`'s language.
fn log_in(app: &AppWindow, w: &Words, pin: &str) {
    press(app, w.staff);
    assert_eq!(page(app), Page::StaffName);
    for key in ["h", "a", "n", "n", "x"] {
        press(app, key);
    }
    press(app, w.delete);
    press(app, "a");
    assert!(shows(app, w.username), "the typed name is shown");
    press(app, w.next);
    assert_eq!(page(app), Page::StaffPin);
    for digit in pin.chars() {
        press(app, &digit.to_string());
    }
    assert!(shows(app, &"●".repeat(pin.len())), "dots, never digits");
    assert!(!shows(app, pin));
    press(app, w.log_in);
}

fn walk(app: &AppWindow, w: &Words, logins: &Logins, saved: &Saved) {
    log_in(app, w, "246810");
    assert_eq!(
        logins.borrow().as_slice(),
        [("hanna".to_string(), "246810".to_string())]
    );
    assert_eq!(page(app), Page::StaffList);
    button(app, w.walk_in);
    press(app, w.erna_open);
    assert_eq!(page(app), Page::StaffStatus);
    press(app, w.attended);
    assert_eq!(page(app), Page::StaffTopic);
    press(app, w.money);
    assert_eq!(page(app), Page::StaffReferral);
    press(app, "counselling");
    assert_eq!(button(app, "counselling").accessible_checked(), Some(true));
    press(app, w.save);
    assert_eq!(page(app), Page::StaffList);
    assert_eq!(
        saved.borrow().as_slice(),
        [OutcomeDraft {
            session_id: Uuid::from_u128(0x5747).to_string(),
            appointment_id: "a-erna".into(),
            status: OutcomeStatus::Attended,
            topic: "money",
            referral: Some("counselling".into()),
        }]
    );
    // The list shows what was recorded.
    assert_eq!(
        button(app, w.erna_attended).accessible_checked(),
        Some(true)
    );
    press(app, w.done);
    assert_eq!(page(app), Page::Start);
    assert_forgotten(app);
}

fn assert_forgotten(app: &AppWindow) {
    let screen = app.global::<StaffScreen>();
    assert_eq!(screen.get_appointments().row_count(), 0);
    assert!(screen.get_session_id().is_empty());
    assert!(screen.get_username().is_empty());
    assert!(screen.get_pin().is_empty());
}

#[test]
fn a_health_worker_records_an_outcome_in_german() {
    let (app, logins, saved) = staff_kiosk(Ok(session()));
    walk(&app, &DE, &logins, &saved);
}

#[test]
fn a_health_worker_records_an_outcome_in_arabic_with_mirrored_rows() {
    let (app, logins, saved) = staff_kiosk(Ok(session()));
    tap(&app, "Sprache");
    tap(&app, "العربية");
    // The status buttons are mirrored: "attended" (the first) is on the right.
    log_in(&app, &AR, "246810");
    press(&app, AR.erna_open);
    let (attended, _) = bounds(&button(&app, AR.attended));
    let (no_show, _) = bounds(&button(&app, "لم يحضر"));
    assert!(no_show.x < attended.x, "rows run right to left");
    tap(&app, "رجوع");
    assert_eq!(page(&app), Page::StaffList);
    logins.borrow_mut().clear();
    press(&app, AR.done);
    walk(&app, &AR, &logins, &saved);
}

#[test]
fn a_wrong_pin_is_said_on_the_pin_screen() {
    let (app, _, _) = staff_kiosk(Err(LoginFailure::Refused));
    log_in(&app, &DE, "111111");
    assert_eq!(page(&app), Page::StaffPin);
    assert!(shows(&app, "Name oder PIN falsch"));
    assert!(app.global::<StaffScreen>().get_pin().is_empty());
    // "Anmelden" needs six digits.
    press(&app, "1");
    press(&app, DE.log_in);
    assert!(shows(&app, "Name oder PIN falsch"));
    press(&app, "Abbrechen");
    assert_eq!(page(&app), Page::Start);
    assert_forgotten(&app);
}

#[test]
fn a_login_without_the_hub_is_said_to_need_it() {
    let (app, logins, _) = staff_kiosk(Err(LoginFailure::Offline));
    log_in(&app, &DE, "246810");
    assert!(shows(&app, "Anmeldung braucht Verbindung zum Hub"));
    assert_eq!(page(&app), Page::StaffPin);
    assert_eq!(logins.borrow().len(), 1);
}

#[test]
fn the_idle_reset_ends_the_session_and_forgets_the_list() {
    let (app, _, saved) = staff_kiosk(Ok(session()));
    log_in(&app, &DE, "246810");
    press(&app, DE.erna_open);
    press(&app, DE.attended);
    for _ in 0..91 {
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_secs(1));
    }
    assert_eq!(page(&app), Page::Start);
    assert_forgotten(&app);
    assert!(saved.borrow().is_empty(), "nothing was saved");
    assert!(staff::draft(&app).is_none());
}
