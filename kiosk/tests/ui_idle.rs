//! The idle reset on Slint's testing backend with mocked time: "Mehr Zeit?" after a minute without
//! a tap, found by its accessible label; a tap gives another minute; without one the resident's
//! language goes back to German and the start screen returns.

use std::time::Duration;

use i_slint_backend_testing::{AccessibleRole, ElementHandle, mock_elapsed_time};
use kiosk::ui::{Activity, AppWindow, Navigation, Page, Settings};
use slint::ComponentHandle;

use crate::ui::{button, buttons_labelled, kiosk_window, tap};

/// Lets `secs` seconds pass, one second at a time, as the kiosk's clock sees them.
fn wait(secs: u64) {
    for _ in 0..secs {
        mock_elapsed_time(Duration::from_secs(1));
    }
}

/// How many "Mehr Zeit?" dialogs (in German or Arabic) are on screen.
fn dialogs(app: &AppWindow) -> usize {
    ["Mehr Zeit?", "هل تحتاج وقتًا أطول؟"]
        .iter()
        .map(|label| {
            ElementHandle::find_by_accessible_label(app, label)
                .filter(|e| e.accessible_role() == Some(AccessibleRole::Groupbox))
                .count()
        })
        .sum()
}

#[test]
fn more_time_is_asked_after_a_minute_and_a_tap_gives_another() {
    let app = kiosk_window();
    // Nobody has touched the kiosk yet: it never asks an empty room.
    wait(120);
    assert_eq!(dialogs(&app), 0);

    tap(&app, "Sprache");
    wait(59);
    assert_eq!(dialogs(&app), 0, "not before a minute");
    wait(2);
    assert_eq!(dialogs(&app), 1, "asked after a minute");
    let yes = button(&app, "Ja, mehr Zeit");
    assert!(yes.size().height >= 95.0 && yes.size().width >= 95.0);
    // The question stays at least 30 s.
    wait(28);
    assert_eq!(dialogs(&app), 1);

    // More time, again and again: ten times and more.
    for round in 0..11 {
        tap(&app, "Ja, mehr Zeit");
        assert_eq!(dialogs(&app), 0, "round {round}");
        assert_eq!(app.global::<Navigation>().get_page(), Page::Language);
        wait(59);
        assert_eq!(dialogs(&app), 0, "round {round}");
        wait(2);
        assert_eq!(dialogs(&app), 1, "round {round}");
    }
    assert!(app.global::<Activity>().get_asking());
}

#[test]
fn without_a_tap_the_start_screen_returns_in_german() {
    let app = kiosk_window();
    tap(&app, "Sprache");
    tap(&app, "العربية");
    tap(&app, "اللغة");
    assert_eq!(app.global::<Navigation>().get_page(), Page::Language);
    let settings = app.global::<Settings>();
    settings.set_large_text(true);
    settings.set_high_contrast(true);

    wait(61);
    assert_eq!(dialogs(&app), 1);
    button(&app, "نعم، وقت أطول");
    wait(30);
    assert_eq!(dialogs(&app), 0);
    assert_eq!(app.global::<Navigation>().get_page(), Page::Start);
    assert_eq!(settings.get_language(), "de");
    assert!(!settings.get_rtl());
    assert!(!settings.get_large_text() && !settings.get_high_contrast());
    button(&app, "Fahrt buchen");
    assert_eq!(buttons_labelled(&app, "حجز رحلة"), 0);

    // And the empty start screen is left alone afterwards.
    wait(200);
    assert_eq!(dialogs(&app), 0);
}

#[test]
fn slow_kiosks_wait_ten_times_longer() {
    let app = kiosk_window();
    kiosk::ui::watch_idle(&app, kiosk::ui::idle::Limits::new(true));
    tap(&app, "Sprache");
    wait(599);
    assert_eq!(dialogs(&app), 0);
    wait(2);
    assert_eq!(dialogs(&app), 1);
    wait(290);
    assert_eq!(app.global::<Navigation>().get_page(), Page::Language);
    wait(10);
    assert_eq!(app.global::<Navigation>().get_page(), Page::Start);
}
