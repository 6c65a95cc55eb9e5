//! The physical buttons and speech mode: up and down move the focus through the screen's
//! controls, select presses the focused one, back presses the screen's "Zurück", help is the help
//! button, and the speech button (like "Vorlesen") reads the screen aloud, or stops it.
//!
//! What is read is the element tree as a screen reader sees it: every element with an accessible
//! role and label, in tree order (the reading order, also in Arabic). So every screen is read as
//! it is, without a spoken text kept beside it. Slint exposes that tree only through the
//! `ElementHandle` of its testing crate (with the debug info `build.rs` turns on), hence that crate
//! at run time. Two conventions of the `.slint` files count here: `accessible-id: "personal"`
//! marks personal data (spoken only into headphones), `accessible-id: "back"` the back button; a
//! component whose name ends in `Dialog` lies over the screen and is read alone.
//!
//! In speech mode a timer compares the screen with what was last spoken: a new screen (or
//! dialog) is read whole, on the same screen only what changed (a new time, a chosen day, the
//! booking's answer). The speaker runs on its own thread; nothing here waits for it.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::rc::Rc;
use std::time::Duration;

use hardware::{Button, Buttons};
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementRoot};
use slint::platform::{Key, WindowEvent};
use slint::{ComponentHandle, SharedString, Timer, TimerMode};

use super::{Activity, AppWindow, Assist, Focus, Navigation, Page, Settings};
use crate::speech::{Part, Speaker, Utterance};

/// How often speech mode looks whether the screen changed.
const WATCH: Duration = Duration::from_millis(250);

/// The accessible id of personal data (names, phone numbers, booking codes).
const PERSONAL: &str = "personal";
/// The accessible id of the screen's back button.
const BACK: &str = "back";
/// The accessible id of the clock: it changes every minute and is not news.
const CLOCK: &str = "clock";

/// Hands the presses of `buttons` (from the backend's thread) to the window's event loop.
pub fn listen(app: &AppWindow, buttons: &mut dyn Buttons) {
    let weak = app.as_weak();
    buttons.listen(Box::new(move |button| {
        if let Err(e) = weak.upgrade_in_event_loop(move |app| press(&app, button)) {
            // The event loop has ended: the kiosk is shutting down.
            tracing::debug!("a button press after the UI ended: {e}");
        }
    }));
}

/// What a physical button does, on the UI thread. Every press shows someone is there.
pub fn press(app: &AppWindow, button: Button) {
    app.global::<Activity>().invoke_touched();
    let before = page(app);
    match button {
        Button::Up => key(app, Key::Backtab),
        Button::Down => key(app, Key::Tab),
        // Nothing of this screen focused yet: select goes to its first control.
        Button::Select if !focus_shown(app) => key(app, Key::Tab),
        Button::Select => key(app, Key::Return),
        Button::Back => {
            if let Some(back) = find(&top_layer(app), |e| {
                e.accessible_id().as_deref() == Some(BACK)
            }) {
                back.invoke_accessible_default_action();
            }
        }
        Button::Help => app.global::<Assist>().invoke_help(),
        Button::Speech => app.global::<Assist>().invoke_read_aloud(),
    }
    if page(app) != before {
        app.global::<Focus>().set_label(SharedString::new());
    }
}

/// Whether the control that took the focus last is still on screen: a step of a screen (or a
/// new screen) removes it without telling anyone.
fn focus_shown(app: &AppWindow) -> bool {
    let label = app.global::<Focus>().get_label();
    !label.is_empty()
        && find(&top_layer(app), |e| {
            e.accessible_label().as_ref() == Some(&label)
                && e.accessible_role() != Some(AccessibleRole::Text)
        })
        .is_some()
}

/// Speech mode off, nothing said kept: part of the idle reset.
pub fn forget(app: &AppWindow) {
    let assist = app.global::<Assist>();
    assist.set_speech_mode(false);
    assist.invoke_quiet();
    app.global::<Focus>().set_label(SharedString::new());
}

/// Connects speech mode to `speaker`: "Vorlesen" and the speech button, focus moves, and the watch
/// that reads new screens and changes.
pub fn init(app: &AppWindow, speaker: Speaker) {
    let spoken: Rc<RefCell<Option<Snapshot>>> = Rc::default();

    let (weak, talk, last) = (app.as_weak(), speaker.clone(), spoken.clone());
    app.global::<Assist>().on_read_aloud(move || {
        let Some(app) = weak.upgrade() else { return };
        if talk.is_speaking() {
            talk.stop();
            return;
        }
        let assist = app.global::<Assist>();
        let first = !assist.get_speech_mode();
        assist.set_speech_mode(true);
        let mut parts = screen(&app);
        if first {
            parts.push(Part::public(assist.get_hint()));
        }
        say(&app, &talk, parts);
        *last.borrow_mut() = Some(Snapshot::of(&app));
    });

    let (weak, talk) = (app.as_weak(), speaker.clone());
    app.global::<Focus>().on_moved(move |label, checked| {
        let Some(app) = weak.upgrade() else { return };
        if app.global::<Assist>().get_speech_mode() {
            let text = Words::of(&app).button(&label, checked);
            // A control showing personal data (a person's name) is marked like a text.
            let personal = find(&top_layer(&app), |e| {
                e.accessible_label().as_ref() == Some(&label)
                    && e.accessible_id().as_deref() == Some(PERSONAL)
            })
            .is_some();
            let part = if personal {
                Part::personal(text)
            } else {
                Part::public(text)
            };
            say(&app, &talk, vec![part]);
        }
    });

    let timer = Timer::default();
    let (weak, talk, last) = (app.as_weak(), speaker.clone(), spoken.clone());
    let mut shown = None;
    timer.start(TimerMode::Repeated, WATCH, move || {
        let Some(app) = weak.upgrade() else { return };
        // Touch also changes screens: the focus of the last one is gone.
        let now = page(&app);
        if shown.replace(now) != Some(now) {
            app.global::<Focus>().set_label(SharedString::new());
        }
        if !app.global::<Assist>().get_speech_mode() {
            *last.borrow_mut() = None;
            return;
        }
        let current = Snapshot::of(&app);
        let before = last.borrow_mut().replace(current.clone());
        match before {
            Some(before) if before.screen == current.screen => {
                let news: Vec<Part> = current
                    .news
                    .iter()
                    .filter(|part| !before.news.contains(part))
                    .cloned()
                    .collect();
                if !news.is_empty() {
                    say(&app, &talk, news);
                }
            }
            _ => say(&app, &talk, screen(&app)),
        }
    });

    // The watch lives as long as the callback holding it, that is as long as the window.
    let weak = app.as_weak();
    app.global::<Assist>().on_quiet(move || {
        let _watching = &timer;
        speaker.forget();
        *spoken.borrow_mut() = None;
        if let Some(app) = weak.upgrade() {
            app.global::<Focus>().set_label(SharedString::new());
        }
    });
}

/// Everything on the screen (or on the dialog over it) a screen reader would read, in order.
pub fn screen(app: &AppWindow) -> Vec<Part> {
    let words = Words::of(app);
    let layer = top_layer(app);
    let mut parts = Vec::new();
    // A dialog's own label is its question.
    if layer.type_name().is_some_and(|t| t.ends_with("Dialog"))
        && let Some(part) = part(&layer, &words)
    {
        parts.push(part);
    }
    layer.visit_descendants(|e| {
        if let Some(part) = part(&e, &words) {
            parts.push(part);
        }
        ControlFlow::<()>::Continue(())
    });
    parts
}

/// The spoken form of one element, if it is read at all.
fn part(e: &ElementHandle, words: &Words) -> Option<Part> {
    let role = e.accessible_role()?;
    let label = e.accessible_label()?;
    let label = label.trim();
    if role == AccessibleRole::None || label.is_empty() {
        return None;
    }
    let text = match role {
        AccessibleRole::Text | AccessibleRole::Groupbox => label.to_string(),
        _ => words.button(label, e.accessible_checked() == Some(true)),
    };
    Some(if e.accessible_id().as_deref() == Some(PERSONAL) {
        Part::personal(text)
    } else {
        Part::public(text)
    })
}

/// What speech mode compares to see whether something changed.
#[derive(Clone, Debug, PartialEq)]
struct Snapshot {
    /// The page, the dialog over it and the language: a change is a new screen.
    screen: (Page, Option<SharedString>, SharedString),
    /// Texts and chosen controls (not the clock): new ones are news.
    news: Vec<Part>,
}

impl Snapshot {
    fn of(app: &AppWindow) -> Snapshot {
        let words = Words::of(app);
        let layer = top_layer(app);
        let mut news = Vec::new();
        layer.visit_descendants(|e| {
            let counts = e.accessible_id().as_deref() != Some(CLOCK)
                && (e.accessible_role() == Some(AccessibleRole::Text)
                    || e.accessible_checked() == Some(true));
            if counts && let Some(part) = part(&e, &words) {
                news.push(part);
            }
            ControlFlow::<()>::Continue(())
        });
        let dialog = layer.type_name().filter(|t| t.ends_with("Dialog"));
        Snapshot {
            screen: (page(app), dialog, app.global::<Settings>().get_language()),
            news,
        }
    }
}

/// The words speech mode adds, in the language shown.
struct Words {
    button: SharedString,
    chosen: SharedString,
}

impl Words {
    fn of(app: &AppWindow) -> Words {
        let assist = app.global::<Assist>();
        Words {
            button: assist.get_button_word(),
            chosen: assist.get_chosen_word(),
        }
    }

    fn button(&self, label: &str, checked: bool) -> String {
        if checked {
            format!("{label}, {}, {}", self.button, self.chosen)
        } else {
            format!("{label}, {}", self.button)
        }
    }
}

fn say(app: &AppWindow, speaker: &Speaker, parts: Vec<Part>) {
    let utterance = Utterance {
        language: app.global::<Settings>().get_language().into(),
        parts,
        withheld: app.global::<Assist>().get_withheld().into(),
    };
    if let Err(e) = speaker.say(utterance) {
        tracing::error!("speaking: {e}");
    }
}

/// The last dialog over the screen, or the whole window.
fn top_layer(app: &AppWindow) -> ElementHandle {
    app.root_element()
        .query_descendants()
        .match_predicate(|e| e.type_name().is_some_and(|t| t.ends_with("Dialog")))
        .find_all()
        .pop()
        .unwrap_or_else(|| app.root_element())
}

/// The first visible descendant of `root` that `matches`.
fn find(root: &ElementHandle, matches: impl Fn(&ElementHandle) -> bool) -> Option<ElementHandle> {
    root.visit_descendants(|e| {
        if matches(&e) {
            ControlFlow::Break(e)
        } else {
            ControlFlow::Continue(())
        }
    })
}

fn page(app: &AppWindow) -> Page {
    app.global::<Navigation>().get_page()
}

/// A key press and release, as a keyboard would send them.
fn key(app: &AppWindow, key: Key) {
    let text = SharedString::from(key);
    app.window()
        .dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
    app.window()
        .dispatch_event(WindowEvent::KeyReleased { text });
}
