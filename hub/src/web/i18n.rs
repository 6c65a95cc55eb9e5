//! The languages of the pages caregivers read (`/care`, the log-in, the password page): German
//! first and the default, then English, Ukrainian, Arabic (right to left) and Turkish, the five
//! languages of the kiosk. Texts are tables in the code, one [`Text`] with every language, like
//! the kiosk's ticket texts (`kiosk/src/ticket.rs`), so a missing translation does not compile.
//!
//! The choice is kept in a cookie that holds only the language tag (no personal data); it is set
//! by the language links every caregiver page carries (`GET /care/language`, no JavaScript).
//! Staff pages stay German.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Datelike};
use maud::{Markup, html};
use serde::Deserialize;

use super::session::cookie;

/// The cookie that keeps the chosen language.
pub const LANG_COOKIE: &str = "__Host-dorfpunkt-lang";
/// How long the choice is kept: a year.
const LANG_MAX_AGE: u32 = 365 * 24 * 3600;

/// A language of the caregivers' pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    De,
    En,
    Uk,
    Ar,
    Tr,
}

impl Lang {
    /// Every language, German first (the order of the language links).
    pub const ALL: [Lang; 5] = [Lang::De, Lang::En, Lang::Uk, Lang::Ar, Lang::Tr];

    /// The language of a tag (`de`, `en`, `uk`, `ar`, `tr`); `None` for anything else.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag() == tag)
    }

    /// The BCP 47 tag, as in `protocol::LANGUAGES`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
            Lang::Uk => "uk",
            Lang::Ar => "ar",
            Lang::Tr => "tr",
        }
    }

    /// The writing direction for `dir`.
    pub fn dir(self) -> &'static str {
        if self == Lang::Ar { "rtl" } else { "ltr" }
    }

    /// The language's own name, as its readers look for it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::De => "Deutsch",
            Lang::En => "English",
            Lang::Uk => "Українська",
            Lang::Ar => "العربية",
            Lang::Tr => "Türkçe",
        }
    }

    /// The language chosen in the request's cookie; German when there is none or it is unknown.
    pub fn of_headers(headers: &HeaderMap) -> Lang {
        cookie(headers, LANG_COOKIE)
            .and_then(|tag| Lang::from_tag(&tag))
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Lang::of_headers(&parts.headers))
    }
}

/// One text in every language. `{name}` marks a value filled in by [`Text::fill`].
#[derive(Clone, Copy, Debug)]
pub struct Text {
    pub de: &'static str,
    pub en: &'static str,
    pub uk: &'static str,
    pub ar: &'static str,
    pub tr: &'static str,
}

impl Text {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::De => self.de,
            Lang::En => self.en,
            Lang::Uk => self.uk,
            Lang::Ar => self.ar,
            Lang::Tr => self.tr,
        }
    }

    /// The text in `lang` with each `{key}` replaced by its value. In right-to-left text each
    /// value is a bidi isolate (U+2068 … U+2069), so a Latin name or address that ends in digits
    /// or punctuation keeps its order and does not pull the sentence around.
    pub fn fill(&self, lang: Lang, values: &[(&str, &str)]) -> String {
        let mut text = self.get(lang).to_string();
        for (key, value) in values {
            let value = if lang == Lang::Ar {
                format!("\u{2068}{value}\u{2069}")
            } else {
                (*value).to_string()
            };
            text = text.replace(&format!("{{{key}}}"), &value);
        }
        text
    }
}

/// The German short weekday names, Monday first: the console's, and the pages' in German.
pub const WEEKDAYS_DE: [&str; 7] = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"];

/// The short weekday names, Monday first (as on the kiosk's tickets).
fn weekday(lang: Lang, day: chrono::Weekday) -> &'static str {
    let names: [&'static str; 7] = match lang {
        Lang::De => WEEKDAYS_DE,
        Lang::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        Lang::Uk => ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Нд"],
        Lang::Ar => [
            "الاثنين",
            "الثلاثاء",
            "الأربعاء",
            "الخميس",
            "الجمعة",
            "السبت",
            "الأحد",
        ],
        Lang::Tr => ["Pzt", "Sal", "Çar", "Per", "Cum", "Cmt", "Paz"],
    };
    names[day.num_days_from_monday() as usize]
}

/// Between the date and the clock time of [`local_time_in`] (Arabic has its own comma).
pub const DATE_TIME_SEPARATOR: Text = Text {
    de: ", ",
    en: ", ",
    uk: ", ",
    ar: "، ",
    tr: ", ",
};

/// An instant (RFC 3339 text) in a region's time zone as people read it in `lang`:
/// "Mo 23.11.2026, 07:30", "Пн 23.11.2026, 07:30". German is exactly `web::local_time`.
pub fn local_time_in(lang: Lang, instant: &str, time_zone: &str) -> String {
    if lang == Lang::De {
        return super::local_time(instant, time_zone);
    }
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Europe::Berlin);
    match DateTime::parse_from_rfc3339(instant) {
        Ok(at) => {
            let local = at.with_timezone(&tz);
            let day = weekday(lang, local.weekday());
            format!(
                "{day} {}{}{}",
                local.format("%d.%m.%Y"),
                DATE_TIME_SEPARATOR.get(lang),
                local.format("%H:%M")
            )
        }
        Err(_) => instant.to_string(),
    }
}

/// " Uhr" after a clock time in German; nothing in the other languages.
pub const CLOCK: Text = Text {
    de: " Uhr",
    en: "",
    uk: "",
    ar: "",
    tr: "",
};

/// The page frame's texts.
pub const SKIP: Text = Text {
    de: "Zum Inhalt springen",
    en: "Skip to content",
    uk: "Перейти до змісту",
    ar: "الانتقال إلى المحتوى",
    tr: "İçeriğe geç",
};
pub const MAIN_MENU: Text = Text {
    de: "Hauptmenü",
    en: "Main menu",
    uk: "Головне меню",
    ar: "القائمة الرئيسية",
    tr: "Ana menü",
};
pub const LOG_OUT: Text = Text {
    de: "Abmelden",
    en: "Log out",
    uk: "Вийти",
    ar: "تسجيل الخروج",
    tr: "Çıkış yap",
};
pub const LANGUAGE: Text = Text {
    de: "Sprache",
    en: "Language",
    uk: "Мова",
    ar: "اللغة",
    tr: "Dil",
};
pub const NAV_CARE: Text = Text {
    de: "Meine Personen",
    en: "My people",
    uk: "Мої підопічні",
    ar: "الأشخاص الذين أرعاهم",
    tr: "Baktığım kişiler",
};
const NAV_PASSWORD: Text = Text {
    de: "Passwort",
    en: "Password",
    uk: "Пароль",
    ar: "كلمة المرور",
    tr: "Şifre",
};

// ---- Log-in and password (login.rs; the registration shares the password texts) ----

pub const LOG_IN: Text = Text {
    de: "Anmelden",
    en: "Log in",
    uk: "Увійти",
    ar: "تسجيل الدخول",
    tr: "Giriş yap",
};
pub const USERNAME_OR_EMAIL: Text = Text {
    de: "Benutzername oder E-Mail-Adresse",
    en: "User name or e-mail address",
    uk: "Ім’я користувача або адреса електронної пошти",
    ar: "اسم المستخدم أو البريد الإلكتروني",
    tr: "Kullanıcı adı veya e-posta adresi",
};
pub const PASSWORD: Text = Text {
    de: "Passwort",
    en: "Password",
    uk: "Пароль",
    ar: "كلمة المرور",
    tr: "Şifre",
};
pub const FORGOT_PASSWORD: Text = Text {
    de: "Passwort vergessen? Bitte wenden Sie sich an die Verwaltung Ihres Dorfpunkts: ein \
         Administrator setzt es zurück.",
    en: "Forgot your password? Please contact your Dorfpunkt office: an administrator will reset \
         it.",
    uk: "Забули пароль? Зверніться до адміністрації вашого Dorfpunkt: адміністратор скине його.",
    ar: "نسيت كلمة المرور؟ تواصل مع إدارة Dorfpunkt: سيعيد المسؤول تعيينها.",
    tr: "Şifrenizi mi unuttunuz? Dorfpunkt yönetimine başvurun: bir yönetici şifrenizi sıfırlar.",
};
pub const NO_ACCOUNT_YET: Text = Text {
    de: "Sie kümmern sich um jemanden und haben noch kein Konto? ",
    en: "Do you look after someone and have no account yet? ",
    uk: "Ви доглядаєте за кимось і ще не маєте облікового запису? ",
    ar: "هل تعتني بشخص ما وليس لديك حساب بعد؟ ",
    tr: "Birine bakıyorsunuz ve henüz hesabınız yok mu? ",
};
pub const REGISTER_AS_CAREGIVER: Text = Text {
    de: "Als Kümmerer:in registrieren",
    en: "Register as a caregiver",
    uk: "Зареєструватися, щоб бронювати для інших",
    ar: "التسجيل كمقدّم رعاية",
    tr: "Bakım veren olarak kaydol",
};
pub const GIVE_NAME_AND_PASSWORD: Text = Text {
    de: "Bitte Benutzername und Passwort eingeben.",
    en: "Please enter your user name and password.",
    uk: "Введіть ім’я користувача та пароль.",
    ar: "يرجى إدخال اسم المستخدم وكلمة المرور.",
    tr: "Lütfen kullanıcı adınızı ve şifrenizi girin.",
};
pub const WRONG_LOGIN: Text = Text {
    de: "Benutzername oder Passwort ist falsch.",
    en: "User name or password is wrong.",
    uk: "Неправильне ім’я користувача або пароль.",
    ar: "اسم المستخدم أو كلمة المرور غير صحيحة.",
    tr: "Kullanıcı adı veya şifre yanlış.",
};
pub const LOCKED: Text = Text {
    de: "Dieses Konto ist nach zu vielen Fehlversuchen bis {time} Uhr gesperrt. Ein Administrator \
         kann es vorher entsperren.",
    en: "This account is locked until {time} after too many wrong tries. An administrator can \
         unlock it sooner.",
    uk: "Після надто багатьох невдалих спроб цей обліковий запис заблоковано до {time}. \
         Адміністратор може розблокувати його раніше.",
    ar: "هذا الحساب مقفل حتى الساعة {time} بعد محاولات خاطئة كثيرة. يمكن للمسؤول فتحه قبل ذلك.",
    tr: "Çok fazla hatalı deneme yapıldı: bu hesap kilitlendi. Kilit saat {time} olunca kalkar. \
         Bir yönetici kilidi daha önce açabilir.",
};
pub const CHANGE_PASSWORD: Text = Text {
    de: "Passwort ändern",
    en: "Change password",
    uk: "Змінити пароль",
    ar: "تغيير كلمة المرور",
    tr: "Şifreyi değiştir",
};
pub const NEW_PASSWORD_WORKS: Text = Text {
    de: "Ihr neues Passwort gilt ab sofort.",
    en: "Your new password works from now on.",
    uk: "Ваш новий пароль діє відразу.",
    ar: "كلمة المرور الجديدة صالحة من الآن.",
    tr: "Yeni şifreniz hemen geçerlidir.",
};
pub const CURRENT_PASSWORD: Text = Text {
    de: "Bisheriges Passwort",
    en: "Current password",
    uk: "Поточний пароль",
    ar: "كلمة المرور الحالية",
    tr: "Mevcut şifre",
};
pub const NEW_PASSWORD: Text = Text {
    de: "Neues Passwort",
    en: "New password",
    uk: "Новий пароль",
    ar: "كلمة المرور الجديدة",
    tr: "Yeni şifre",
};
pub const AT_LEAST_12: Text = Text {
    de: "Mindestens 12 Zeichen.",
    en: "At least 12 characters.",
    uk: "Щонайменше 12 символів.",
    ar: "12 حرفًا على الأقل.",
    tr: "En az 12 karakter.",
};
pub const REPEAT_NEW_PASSWORD: Text = Text {
    de: "Neues Passwort wiederholen",
    en: "Repeat new password",
    uk: "Повторіть новий пароль",
    ar: "أعد كتابة كلمة المرور الجديدة",
    tr: "Yeni şifreyi tekrar girin",
};
pub const CURRENT_PASSWORD_WRONG: Text = Text {
    de: "Das bisherige Passwort stimmt nicht.",
    en: "The current password is not right.",
    uk: "Поточний пароль неправильний.",
    ar: "كلمة المرور الحالية غير صحيحة.",
    tr: "Mevcut şifre doğru değil.",
};
pub const PASSWORDS_DIFFER: Text = Text {
    de: "Die beiden neuen Passwörter stimmen nicht überein.",
    en: "The two new passwords are not the same.",
    uk: "Два нові паролі не збігаються.",
    ar: "كلمتا المرور الجديدتان غير متطابقتين.",
    tr: "İki yeni şifre aynı değil.",
};
pub const PASSWORD_TOO_SHORT: Text = Text {
    de: "Das neue Passwort ist zu kurz: mindestens 12 Zeichen.",
    en: "The new password is too short: at least 12 characters.",
    uk: "Новий пароль закороткий: щонайменше 12 символів.",
    ar: "كلمة المرور الجديدة قصيرة جدًا: 12 حرفًا على الأقل.",
    tr: "Yeni şifre çok kısa: en az 12 karakter.",
};
pub const PASSWORD_TOO_LONG: Text = Text {
    de: "Das neue Passwort ist zu lang.",
    en: "The new password is too long.",
    uk: "Новий пароль задовгий.",
    ar: "كلمة المرور الجديدة طويلة جدًا.",
    tr: "Yeni şifre çok uzun.",
};
pub const PASSWORD_IS_USERNAME: Text = Text {
    de: "Das Passwort darf nicht der Benutzername sein.",
    en: "The password must not be the user name.",
    uk: "Пароль не може збігатися з іменем користувача.",
    ar: "لا يجوز أن تكون كلمة المرور هي اسم المستخدم.",
    tr: "Şifre, kullanıcı adıyla aynı olamaz.",
};

/// The label of a navigation entry caregivers see, in `lang`; `None` for staff entries.
pub fn nav_label(lang: Lang, path: &str) -> Option<&'static str> {
    match path {
        "/care" => Some(NAV_CARE.get(lang)),
        "/account/password" => Some(NAV_PASSWORD.get(lang)),
        _ => None,
    }
}

/// Where the language links come back to: a path of this site's pages that caregivers read, else
/// `/care`. Only visible ASCII is kept, so it is always a valid `Location`.
fn safe_back(back: Option<&str>) -> String {
    let allowed = ["/care", "/login", "/account/password"];
    back.filter(|b| {
        allowed
            .iter()
            .any(|a| *b == *a || b.starts_with(&format!("{a}/")) || b.starts_with(&format!("{a}?")))
            && !b.contains("//")
            && !b.contains('\\')
            && b.bytes().all(|c| c.is_ascii_graphic())
    })
    .unwrap_or("/care")
    .to_string()
}

/// The language links of a page at `here` (path and query): each link names its language in that
/// language and sets the choice.
pub fn switch(lang: Lang, here: &str) -> Markup {
    let back = super::percent_encode(&safe_back(Some(here)));
    html! {
        nav class="lang-switch" aria-label=(LANGUAGE.get(lang)) {
            ul {
                @for l in Lang::ALL {
                    li {
                        a href={ "/care/language?lang=" (l.tag()) "&back=" (back) }
                            lang=(l.tag()) hreflang=(l.tag()) dir=(l.dir())
                            aria-current=[(l == lang).then_some("true")] {
                            (l.name())
                        }
                    }
                }
            }
        }
    }
}

/// `?lang=&back=` of the language links.
#[derive(Debug, Default, Deserialize)]
pub struct Choice {
    lang: Option<String>,
    back: Option<String>,
}

/// `GET /care/language?lang=uk&back=/care`: keeps the choice (German for an unknown tag) and goes
/// back to the page. No log-in needed: the log-in and registration pages carry the links too.
pub async fn choose(Query(choice): Query<Choice>) -> Response {
    let lang = choice
        .lang
        .as_deref()
        .and_then(Lang::from_tag)
        .unwrap_or_default();
    let back = safe_back(choice.back.as_deref());
    let mut response = Redirect::to(&back).into_response();
    let value = format!(
        "{LANG_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={LANG_MAX_AGE}",
        lang.tag()
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_match_the_protocol_languages() {
        for lang in Lang::ALL {
            assert_eq!(Lang::from_tag(lang.tag()), Some(lang));
            assert!(protocol::LANGUAGES.contains(&lang.tag()));
        }
        assert_eq!(Lang::from_tag("xx"), None);
        assert_eq!(Lang::from_tag("DE"), None);
        assert_eq!(Lang::default(), Lang::De);
        assert_eq!(Lang::Ar.dir(), "rtl");
        assert_eq!(Lang::Uk.dir(), "ltr");
    }

    #[test]
    fn the_way_back_stays_on_caregiver_pages() {
        assert_eq!(safe_back(Some("/care/people/x")), "/care/people/x");
        assert_eq!(safe_back(Some("/login?next=/care")), "/login?next=/care");
        assert_eq!(safe_back(Some("/login")), "/login");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/careless",
            "/console",
            "/care/\\evil",
            "/care/ü",
            "/care//evil",
        ] {
            assert_eq!(safe_back(Some(bad)), "/care", "{bad}");
        }
        assert_eq!(safe_back(None), "/care");
    }

    #[test]
    fn times_name_the_weekday_in_the_language() {
        let at = "2026-11-23T06:30:00Z";
        assert_eq!(
            local_time_in(Lang::De, at, "Europe/Berlin"),
            "Mo 23.11.2026, 07:30"
        );
        assert_eq!(
            local_time_in(Lang::Uk, at, "Europe/Berlin"),
            "Пн 23.11.2026, 07:30"
        );
        assert_eq!(
            local_time_in(Lang::Ar, at, "Europe/Berlin"),
            "الاثنين 23.11.2026، 07:30"
        );
    }

    #[test]
    fn fill_replaces_every_value() {
        let text = Text {
            de: "Fahrt für {name}",
            en: "Ride for {name}",
            uk: "Поїздка для {name}",
            ar: "رحلة لـ {name}",
            tr: "{name} için yolculuk",
        };
        assert_eq!(
            text.fill(Lang::Tr, &[("name", "Ayşe")]),
            "Ayşe için yolculuk"
        );
        assert_eq!(text.fill(Lang::De, &[("name", "Erna")]), "Fahrt für Erna");
        assert_eq!(
            text.fill(Lang::Ar, &[("name", "Dr. Berger 2")]),
            "رحلة لـ \u{2068}Dr. Berger 2\u{2069}"
        );
    }
}
