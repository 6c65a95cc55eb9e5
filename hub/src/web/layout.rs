//! The frame of every page: German (the caregivers' pages in their language, see `i18n.rs`), one
//! `h1`, a skip link, the navigation of the person's role and the log-out button; plus small form
//! pieces the pages share. No inline scripts or styles (the Content-Security-Policy forbids
//! them): style in `hub/web/site.css`, behaviour in `hub/web/app.js`, and every page works
//! without it.

use maud::{DOCTYPE, Markup, html};

use super::i18n::{self, Lang};
use super::session::WebUser;
use crate::domain::Role;

/// The navigation: path, label, and the roles that see it.
pub const NAV: &[(&str, &str, &[Role])] = &[
    ("/console", "Übersicht", &[Role::Admin, Role::Dispatcher]),
    ("/console/devices", "Geräte", &[Role::Admin]),
    (
        "/console/rides",
        "Fahrten",
        &[Role::Admin, Role::Dispatcher],
    ),
    ("/console/imbus", "IMBUS", &[Role::Admin, Role::Dispatcher]),
    (
        "/console/link-requests",
        "Verknüpfungen",
        &[Role::Admin, Role::Dispatcher],
    ),
    (
        "/console/reminders",
        "Erinnerungen",
        &[Role::Admin, Role::Dispatcher],
    ),
    (
        "/console/data",
        "Regionsdaten",
        &[Role::Admin, Role::Dispatcher],
    ),
    (
        "/console/evaluation",
        "Auswertung",
        &[Role::Admin, Role::Dispatcher],
    ),
    ("/console/privacy", "Datenschutz", &[Role::Admin]),
    ("/console/updates", "Updates", &[Role::Admin]),
    ("/console/accounts", "Konten", &[Role::Admin]),
    ("/counselling", "Beratungstag", &[Role::HealthWorker]),
    ("/driver", "Fahrtenzettel", &[Role::Driver]),
    ("/care", "Meine Personen", &[Role::Caregiver]),
    (
        "/account/password",
        "Passwort",
        &[
            Role::Admin,
            Role::Dispatcher,
            Role::HealthWorker,
            Role::Driver,
            Role::Caregiver,
        ],
    ),
];

/// Where a role starts after logging in.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Admin | Role::Dispatcher => "/console",
        Role::HealthWorker => "/counselling",
        Role::Driver => "/driver",
        Role::Caregiver => "/care",
    }
}

/// A whole page, German.
pub fn page(user: Option<&WebUser>, title: &str, body: Markup) -> Markup {
    frame(Lang::De, None, user, title, body)
}

/// A whole page in `lang`, with `dir` and the language links that come back to `here` (path and
/// query): the frame of the pages caregivers read.
pub fn page_in(
    lang: Lang,
    here: &str,
    user: Option<&WebUser>,
    title: &str,
    body: Markup,
) -> Markup {
    frame(lang, Some(here), user, title, body)
}

fn frame(
    lang: Lang,
    here: Option<&str>,
    user: Option<&WebUser>,
    title: &str,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) dir=[here.map(|_| lang.dir())] {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Dorfpunkt" }
                link rel="stylesheet" href="/static/site.css";
                script src="/static/app.js" defer {}
            }
            body {
                a class="skip" href="#inhalt" { (i18n::SKIP.get(lang)) }
                header class="top" {
                    a class="brand" href="/" { "Dorfpunkt" }
                    @if let Some(user) = user {
                        nav aria-label=(i18n::MAIN_MENU.get(lang)) {
                            ul {
                                @for (path, label, roles) in NAV {
                                    @if roles.contains(&user.role) {
                                        li { a href=(path) { (i18n::nav_label(lang, path).filter(|_| here.is_some()).unwrap_or(*label)) } }
                                    }
                                }
                            }
                        }
                        form class="logout" method="post" action="/logout" {
                            (csrf_field(user))
                            span class="who" { (user.display_name) }
                            button type="submit" { (i18n::LOG_OUT.get(lang)) }
                        }
                    }
                    @if let Some(here) = here {
                        (i18n::switch(lang, here))
                    }
                }
                main id="inhalt" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every form of a logged-in person carries.
pub fn csrf_field(user: &WebUser) -> Markup {
    html! { input type="hidden" name="_csrf" value=(user.csrf); }
}

/// A labelled input. `kind` is the HTML input type; `hint` is shown under the label and tied to
/// the field with `aria-describedby`.
pub fn input(
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    required: bool,
    hint: Option<&str>,
) -> Markup {
    let id = format!("f-{name}");
    let hint_id = format!("{id}-hint");
    html! {
        div class="field" {
            label for=(id) { (label) @if required { " " span class="req" aria-hidden="true" { "*" } } }
            @if let Some(hint) = hint {
                span class="hint" id=(hint_id) { (hint) }
            }
            input id=(id) name=(name) type=(kind) value=(value) required[required]
                aria-describedby=[hint.map(|_| hint_id.as_str())];
        }
    }
}

/// A labelled selection from `options` (value, label).
pub fn select(
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    required: bool,
) -> Markup {
    let id = format!("f-{name}");
    html! {
        div class="field" {
            label for=(id) { (label) }
            select id=(id) name=(name) required[required] {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

/// A message box: `kind` is `ok`, `warn` or `error` (errors are announced by screen readers).
pub fn notice(kind: &str, text: &str) -> Markup {
    html! {
        @if kind == "error" {
            p class={ "notice " (kind) } role="alert" { (text) }
        } @else {
            p class={ "notice " (kind) } role="status" { (text) }
        }
    }
}

/// A small form with one button that posts to `action` (cancel, publish, revoke …). With
/// `confirm`, the script asks first (the page still works without it).
pub fn button_form(user: &WebUser, action: &str, label: &str, confirm: Option<&str>) -> Markup {
    html! {
        form class="inline" method="post" action=(action) data-confirm=[confirm] {
            (csrf_field(user))
            button type="submit" { (label) }
        }
    }
}
