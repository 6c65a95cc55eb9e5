//! Printed tickets: what a resident takes home after booking a ride or a counselling
//! appointment, or asking for help. A [`Ticket`] is laid out into [`Block`]s (German first, the
//! resident's language under it), which two renderers draw as PDF: an 80 mm receipt
//! ([`render_receipt`], as long as it needs to be) and an A4 confirmation ([`render_a4`]). The
//! booking code is printed as text and as a QR code. [`print`] hands a PDF to CUPS and
//! [`printer_state`] asks CUPS how the printer is.
//!
//! The fonts (DejaVu Sans, `kiosk/assets/fonts/`) are compiled in and printpdf embeds only the
//! glyphs used. printpdf neither shapes Arabic nor orders it right to left, so lines with Arabic
//! are shaped here ([`shaping`]) and drawn as glyph ids that carry their letters for text
//! extraction; Arabic lines are set flush right. [`render_raster`] draws the receipt as a 1-bit
//! image for an ESC/POS printer, whose character sets have no Arabic. Rendering is CPU work and
//! printing waits for `lp`: both belong off the UI thread.

pub mod shaping;

use std::fmt;
use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{Datelike, NaiveDateTime, NaiveTime, Weekday};
use printpdf::{
    Codepoint, Color, FontId, Greyscale, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle,
    PdfPage, PdfSaveOptions, Pt, Rect, TextItem, TextMatrix, WindingOrder,
};
use protocol::BookingCode;
use protocol::device::PrinterState;
use qrcode::QrCode;

const REGULAR_TTF: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

/// What the ticket is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketKind {
    Ride,
    Appointment,
    /// A slip from "find help": a service's address and opening hours, no booking.
    HelpSlip,
}

/// Whether the hub (or the kiosk for its own slot) has promised the booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Confirmed,
    /// Booked offline or not planned as asked: a request the hub still has to answer.
    Request,
}

/// The languages of the kiosk. German is always on the ticket; the resident's language is
/// printed under it (Arabic right-aligned, shaped, see [`shaping`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    De,
    En,
    Uk,
    Tr,
    Ar,
}

impl Language {
    /// The language printed next to German, `None` for German alone.
    pub fn printed(self) -> Option<Language> {
        match self {
            Language::De => None,
            other => Some(other),
        }
    }

    /// The language of a UI language code (`de`, `en`, `uk`, `ar`, `tr`).
    pub fn from_code(code: &str) -> Option<Language> {
        match code {
            "de" => Some(Language::De),
            "en" => Some(Language::En),
            "uk" => Some(Language::Uk),
            "tr" => Some(Language::Tr),
            "ar" => Some(Language::Ar),
            _ => None,
        }
    }
}

/// One ticket, with times already in the region's wall-clock time.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticket {
    pub kind: TicketKind,
    pub standing: Standing,
    pub language: Language,
    /// The appointment time, or for a ride the time to be there; `None` on a help slip.
    pub when: Option<NaiveDateTime>,
    /// Where a ride starts.
    pub from: Option<String>,
    /// Where a ride goes, where the appointment or the service is.
    pub to: Option<String>,
    /// The promised pickup window of a confirmed ride.
    pub pickup: Option<(NaiveTime, NaiveTime)>,
    /// Other lines, as given (already in German).
    pub notes: Vec<String>,
    pub code: Option<BookingCode>,
    pub hub_phone: String,
    /// What a help slip says about the service (`to` is its name).
    pub help: Option<HelpDetails>,
}

/// A service of "find help" as its slip shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpDetails {
    /// The needs it helps with, as the hub's codes (`alcohol`, `loneliness`, …); unknown codes
    /// are left out.
    pub needs: Vec<String>,
    /// Street, postcode and town.
    pub address: String,
    pub phone: Option<String>,
    /// Opening hours in the region's wall-clock time, in week order.
    pub hours: Vec<(Weekday, NaiveTime, NaiveTime)>,
}

/// The texts of a ticket, one row per language: German, English, Ukrainian, Turkish, Arabic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Text {
    Ride,
    Appointment,
    HelpSlip,
    Confirmed,
    Request,
    RequestHint,
    When,
    From,
    To,
    Where,
    Pickup,
    Code,
    Phone,
    Clock,
    HelpsWith,
    Address,
    Telephone,
    Hours,
    Homelessness,
    Alcohol,
    Anxiety,
    Loneliness,
    Dementia,
    FamilyStrain,
}

fn text(key: Text, lang: Language) -> &'static str {
    let row: [&'static str; 5] = match key {
        Text::Ride => ["Fahrt", "Ride", "Поїздка", "Yolculuk", "رحلة"],
        Text::Appointment => [
            "Beratungstermin",
            "Counselling appointment",
            "Консультація",
            "Danışma randevusu",
            "موعد استشارة",
        ],
        Text::HelpSlip => [
            "Hilfe in der Nähe",
            "Help nearby",
            "Допомога поруч",
            "Yakında yardım",
            "مساعدة قريبة منك",
        ],
        Text::Confirmed => [
            "Gebucht – bestätigt",
            "Booked – confirmed",
            "Заброньовано – підтверджено",
            "Rezerve edildi – onaylandı",
            "تم الحجز – مؤكد",
        ],
        Text::Request => [
            "Anfrage – noch nicht bestätigt",
            "Request – not confirmed yet",
            "Запит – ще не підтверджено",
            "Talep – henüz onaylanmadı",
            "طلب – لم يتم التأكيد بعد",
        ],
        Text::RequestHint => [
            "Wir melden uns. Fragen Sie nach: am Kiosk unter „Meine Buchung“ oder bei der Zentrale.",
            "We will get back to you. Ask at the kiosk under “My booking” or call the hub.",
            "Ми зв’яжемося з вами. Запитайте в кіоску в розділі «Моє бронювання» або в центрі.",
            "Size dönüş yapacağız. Kioskta “Rezervasyonum” bölümünde veya merkezde sorun.",
            "سنتصل بك. اسأل في الكشك تحت «حجزي» أو في المركز.",
        ],
        Text::When => ["Wann", "When", "Коли", "Ne zaman", "متى"],
        Text::From => ["Von", "From", "Звідки", "Nereden", "من"],
        Text::To => ["Nach", "To", "Куди", "Nereye", "إلى"],
        Text::Where => ["Wo", "Where", "Де", "Nerede", "أين"],
        Text::Pickup => [
            "Abholung zwischen",
            "Pickup between",
            "Вас заберуть між",
            "Alınma saati arası",
            "نأتي لأخذك بين",
        ],
        Text::Code => [
            "Buchungscode",
            "Booking code",
            "Код бронювання",
            "Rezervasyon kodu",
            "رمز الحجز",
        ],
        Text::Phone => [
            "Fragen? Zentrale",
            "Questions? Hub",
            "Питання? Центр",
            "Sorular? Merkez",
            "أسئلة؟ المركز",
        ],
        Text::Clock => ["Uhr", "", "", "", ""],
        Text::HelpsWith => [
            "Hilft bei",
            "Helps with",
            "Допомагає з",
            "Yardım konusu",
            "يساعد في",
        ],
        Text::Address => ["Adresse", "Address", "Адреса", "Adres", "العنوان"],
        Text::Telephone => ["Telefon", "Phone", "Телефон", "Telefon", "الهاتف"],
        Text::Hours => [
            "Öffnungszeiten",
            "Opening hours",
            "Години роботи",
            "Açılış saatleri",
            "أوقات العمل",
        ],
        Text::Homelessness => [
            "Wohnungslosigkeit",
            "Homelessness",
            "Безпритульність",
            "Evsizlik",
            "فقدان السكن",
        ],
        Text::Alcohol => ["Alkohol", "Alcohol", "Алкоголь", "Alkol", "الكحول"],
        Text::Anxiety => ["Angst", "Anxiety", "Тривога", "Kaygı", "القلق"],
        Text::Loneliness => [
            "Einsamkeit",
            "Loneliness",
            "Самотність",
            "Yalnızlık",
            "الوحدة",
        ],
        Text::Dementia => ["Demenz", "Dementia", "Деменція", "Demans", "الخرف"],
        Text::FamilyStrain => [
            "Familie in Not",
            "Family under strain",
            "Сім'я в скруті",
            "Zor durumdaki aile",
            "أسرة تحت ضغط",
        ],
    };
    let column = match lang {
        Language::De => 0,
        Language::En => 1,
        Language::Uk => 2,
        Language::Tr => 3,
        Language::Ar => 4,
    };
    row[column]
}

fn weekday(day: Weekday, lang: Language) -> &'static str {
    let names: [&'static str; 7] = match lang {
        Language::De => ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"],
        Language::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        Language::Ar => [
            "الاثنين",
            "الثلاثاء",
            "الأربعاء",
            "الخميس",
            "الجمعة",
            "السبت",
            "الأحد",
        ],
        Language::Uk => ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Нд"],
        Language::Tr => ["Pzt", "Sal", "Çar", "Per", "Cum", "Cmt", "Paz"],
    };
    names[day.num_days_from_monday() as usize]
}

/// The role of a block, which decides how it is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// What the ticket is, large.
    Title,
    /// Confirmed or request: a request is printed white on black so nobody takes it for a
    /// promise.
    Standing { request: bool },
    /// A hint under the standing, in plain text.
    Hint,
    /// A labelled value (when, from, to, pickup window).
    Field,
    /// The booking code: text and QR code.
    Code,
    /// Plain lines (help slip notes).
    Note,
    /// The hub's phone number.
    Footer,
}

/// One piece of a laid-out ticket: a German text (a label for fields), its translation when
/// the resident reads another language, and the value of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub role: Role,
    pub german: String,
    pub translation: Option<String>,
    pub value: Option<String>,
    /// The value in the resident's language, when the value is words (the needs of a help slip).
    pub value_translation: Option<String>,
}

impl Block {
    fn new(role: Role, key: Text, lang: Option<Language>, value: Option<String>) -> Block {
        Block {
            role,
            german: text(key, Language::De).to_string(),
            translation: lang.map(|l| text(key, l).to_string()),
            value,
            value_translation: None,
        }
    }
}

/// The text of a need code of "find help".
fn need_text(code: &str) -> Option<Text> {
    Some(match code {
        "homelessness" => Text::Homelessness,
        "alcohol" => Text::Alcohol,
        "anxiety" => Text::Anxiety,
        "loneliness" => Text::Loneliness,
        "dementia" => Text::Dementia,
        "family_strain" => Text::FamilyStrain,
        _ => return None,
    })
}

impl Ticket {
    /// The blocks of the ticket from top to bottom; both renderers draw these.
    pub fn blocks(&self) -> Vec<Block> {
        let lang = self.language.printed();
        let mut blocks = Vec::new();
        let title = match self.kind {
            TicketKind::Ride => Text::Ride,
            TicketKind::Appointment => Text::Appointment,
            TicketKind::HelpSlip => Text::HelpSlip,
        };
        blocks.push(Block::new(Role::Title, title, lang, None));
        if self.kind != TicketKind::HelpSlip {
            let request = self.standing == Standing::Request;
            let key = if request {
                Text::Request
            } else {
                Text::Confirmed
            };
            blocks.push(Block::new(Role::Standing { request }, key, lang, None));
            if request {
                blocks.push(Block::new(Role::Hint, Text::RequestHint, lang, None));
            }
        }
        if let Some(when) = self.when {
            blocks.push(Block::new(
                Role::Field,
                Text::When,
                lang,
                Some(self.format_when(when)),
            ));
        }
        if let Some((start, end)) = self.pickup {
            let window = format!("{} – {} Uhr", start.format("%H:%M"), end.format("%H:%M"));
            blocks.push(Block::new(Role::Field, Text::Pickup, lang, Some(window)));
        }
        if let Some(from) = &self.from {
            blocks.push(Block::new(
                Role::Field,
                Text::From,
                lang,
                Some(from.clone()),
            ));
        }
        if let Some(to) = &self.to {
            let key = if self.kind == TicketKind::Ride {
                Text::To
            } else {
                Text::Where
            };
            blocks.push(Block::new(Role::Field, key, lang, Some(to.clone())));
        }
        if let Some(help) = &self.help {
            self.help_blocks(help, lang, &mut blocks);
        }
        for note in &self.notes {
            blocks.push(Block {
                role: Role::Note,
                german: note.clone(),
                translation: None,
                value: None,
                value_translation: None,
            });
        }
        if let Some(code) = self.code {
            blocks.push(Block::new(
                Role::Code,
                Text::Code,
                lang,
                Some(code.to_string()),
            ));
        }
        blocks.push(Block::new(
            Role::Footer,
            Text::Phone,
            lang,
            Some(self.hub_phone.clone()),
        ));
        blocks
    }

    /// Address, needs, phone and opening hours of a help slip.
    fn help_blocks(&self, help: &HelpDetails, lang: Option<Language>, blocks: &mut Vec<Block>) {
        blocks.push(Block::new(
            Role::Field,
            Text::Address,
            lang,
            Some(help.address.clone()),
        ));
        let needs: Vec<Text> = help.needs.iter().filter_map(|n| need_text(n)).collect();
        if !needs.is_empty() {
            let list = |l: Language| {
                let names: Vec<&str> = needs.iter().map(|&n| text(n, l)).collect();
                names.join(if l == Language::Ar { "، " } else { ", " })
            };
            let mut block =
                Block::new(Role::Field, Text::HelpsWith, lang, Some(list(Language::De)));
            block.value_translation = lang.map(list);
            blocks.push(block);
        }
        if let Some(phone) = &help.phone {
            blocks.push(Block::new(
                Role::Field,
                Text::Telephone,
                lang,
                Some(phone.clone()),
            ));
        }
        if help.hours.is_empty() {
            return;
        }
        blocks.push(Block::new(Role::Field, Text::Hours, lang, None));
        // One line per day: "Mo 08:00–12:00, 15:00–18:00".
        let mut days: Vec<(Weekday, Vec<String>)> = Vec::new();
        for (day, open, close) in &help.hours {
            let span = format!("{}–{}", open.format("%H:%M"), close.format("%H:%M"));
            match days.last_mut() {
                Some((last, spans)) if last == day => spans.push(span),
                _ => days.push((*day, vec![span])),
            }
        }
        for (day, spans) in days {
            let spans = spans.join(", ");
            blocks.push(Block {
                role: Role::Note,
                german: format!("{} {spans}", weekday(day, Language::De)),
                translation: lang.map(|l| format!("{} {spans}", weekday(day, l))),
                value: None,
                value_translation: None,
            });
        }
    }

    /// `Mo 23.11.2026, 09:30 Uhr`, with the weekday in both languages when they differ.
    fn format_when(&self, when: NaiveDateTime) -> String {
        let day = when.weekday();
        let mut names = weekday(day, Language::De).to_string();
        let mut after = String::new();
        match self.language.printed() {
            // Digits right after Arabic letters would join their run and be set right to left:
            // the Arabic weekday goes last.
            Some(Language::Ar) => after = format!(" / {}", weekday(day, Language::Ar)),
            Some(lang) => names = format!("{names} / {}", weekday(day, lang)),
            None => {}
        }
        format!(
            "{names} {}, {} {}{after}",
            when.format("%d.%m.%Y"),
            when.format("%H:%M"),
            text(Text::Clock, Language::De)
        )
    }

    /// The text the QR code holds: the compact booking code, which the kiosk's "my booking"
    /// and the hub accept as typed in.
    pub fn qr_payload(&self) -> Option<String> {
        self.code.map(|c| c.compact().to_string())
    }
}

/// Why a ticket could not be rendered or printed. Nothing is lost either way: the caller keeps
/// the booking and can render and print again.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("the ticket could not be rendered: {0}")]
    Render(String),
    #[error("'{0}' is not a printer queue name")]
    QueueName(String),
    #[error("the printer queue '{0}' does not exist")]
    UnknownQueue(String),
    #[error("CUPS cannot be reached ({command}): {source}")]
    Spawn {
        command: &'static str,
        source: std::io::Error,
    },
    #[error("{command} failed: {message}")]
    Cups {
        command: &'static str,
        message: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// A font face registered with the document, with what measuring text needs.
struct Face {
    font: ParsedFont,
    id: FontId,
    units_per_em: f32,
    /// The font file, for the shaper and the raster.
    bytes: &'static [u8],
}

impl Face {
    fn load(doc: &mut PdfDocument, bytes: &'static [u8], name: &str) -> Result<Face, TicketError> {
        let font = ParsedFont::from_bytes(bytes, 0, &mut Vec::new()).ok_or_else(|| {
            TicketError::Render(format!("the bundled font {name} does not parse"))
        })?;
        let id = doc.add_font(&font);
        let units_per_em = f32::from(font.pdf_font_metrics.units_per_em.max(1));
        Ok(Face {
            font,
            id,
            units_per_em,
            bytes,
        })
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        if shaping::needs_shaping(text) {
            return shaping::width(self.bytes, text, size);
        }
        let units: u32 = text
            .chars()
            .map(|c| {
                let gid = self.font.lookup_glyph_index(u32::from(c)).unwrap_or(0);
                u32::from(self.font.get_horizontal_advance(gid))
            })
            .sum();
        units as f32 / self.units_per_em * size
    }

    /// Breaks `text` into lines no wider than `width`, at spaces, inside a word only when the
    /// word alone is too wide.
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in word.chars() {
                let mut next = line.clone();
                next.push(c);
                if !line.is_empty() && self.width(&next, size) > width {
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                } else {
                    line = next;
                }
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// Something drawn, placed from the top of the page (the page height is known only at the end
/// for a receipt).
enum Mark {
    Text {
        bold: bool,
        white: bool,
        size: f32,
        x: f32,
        baseline: f32,
        text: String,
    },
    /// A black box, `top` and `height` downwards.
    Box {
        x: f32,
        top: f32,
        width: f32,
        height: f32,
    },
}

/// The sizes of one paper format.
struct Format {
    width: f32,
    margin: f32,
    title: f32,
    body: f32,
    small: f32,
    value: f32,
    /// The side of one QR module.
    module: f32,
}

const MM: f32 = 72.0 / 25.4;

const RECEIPT: Format = Format {
    width: 80.0 * MM,
    margin: 4.0 * MM,
    title: 15.0,
    body: 9.5,
    small: 8.0,
    value: 12.0,
    module: 0.75 * MM,
};

const A4: Format = Format {
    width: 210.0 * MM,
    margin: 20.0 * MM,
    title: 24.0,
    body: 12.0,
    small: 10.0,
    value: 16.0,
    module: 1.2 * MM,
};

/// Where the layout has got to: the marks so far and the y below them.
struct Cursor {
    marks: Vec<Mark>,
    y: f32,
    left: f32,
    width: f32,
}

/// How a run of text is set: face, size, white on black or not, indent from both sides.
#[derive(Clone, Copy)]
struct Style<'a> {
    face: &'a Face,
    bold: bool,
    size: f32,
    white: bool,
    indent: f32,
}

impl Cursor {
    /// Sets `text` in lines that fit the width, one below the other; right-to-left lines flush
    /// right.
    fn lines(&mut self, style: Style<'_>, text: &str) {
        let room = self.width - 2.0 * style.indent;
        let flush_right = shaping::right_to_left(text);
        for line in style.face.wrap(text, style.size, room) {
            self.y += style.size * 1.25;
            let shift = if flush_right {
                (room - style.face.width(&line, style.size)).max(0.0)
            } else {
                0.0
            };
            self.marks.push(Mark::Text {
                bold: style.bold,
                white: style.white,
                size: style.size,
                x: self.left + style.indent + shift,
                baseline: self.y - style.size * 0.25,
                text: line,
            });
        }
    }
}

/// Lays the blocks out top-down; returns the marks and the height used (without the bottom
/// margin).
fn layout(
    ticket: &Ticket,
    format: &Format,
    regular: &Face,
    bold: &Face,
) -> Result<(Vec<Mark>, f32), TicketError> {
    let mut at = Cursor {
        marks: Vec::new(),
        y: format.margin,
        left: format.margin,
        width: format.width - 2.0 * format.margin,
    };
    let plain = |size: f32| Style {
        face: regular,
        bold: false,
        size,
        white: false,
        indent: 0.0,
    };
    let strong = |size: f32| Style {
        face: bold,
        bold: true,
        ..plain(size)
    };
    // "Wann / Коли": the German label with the translation beside it; a right-to-left
    // translation goes on a line of its own, flush right.
    let label = |at: &mut Cursor, block: &Block| match &block.translation {
        Some(t) if shaping::right_to_left(t) => {
            at.lines(plain(format.small), &block.german);
            at.lines(plain(format.small), t);
        }
        Some(t) => at.lines(plain(format.small), &format!("{} / {t}", block.german)),
        None => at.lines(plain(format.small), &block.german),
    };
    for block in ticket.blocks() {
        match block.role {
            Role::Title => {
                at.lines(strong(format.title), &block.german);
                if let Some(t) = &block.translation {
                    at.lines(plain(format.body), t);
                }
                at.y += format.body * 0.6;
            }
            Role::Standing { request } => {
                // A request is white on a black box: the box goes first, under the text.
                let pad = format.body * 0.5;
                let first = at.marks.len();
                let top = at.y;
                at.y += pad;
                let style = |size: f32| Style {
                    white: request,
                    indent: pad,
                    ..strong(size)
                };
                at.lines(style(format.value), &block.german);
                if let Some(t) = &block.translation {
                    at.lines(style(format.body), t);
                }
                at.y += pad;
                if request {
                    at.marks.insert(
                        first,
                        Mark::Box {
                            x: at.left,
                            top,
                            width: at.width,
                            height: at.y - top,
                        },
                    );
                }
                at.y += format.body * 0.6;
            }
            Role::Hint | Role::Note => {
                at.lines(plain(format.body), &block.german);
                if let Some(t) = &block.translation {
                    at.lines(plain(format.body), t);
                }
                at.y += format.body * 0.4;
            }
            Role::Field | Role::Footer => {
                label(&mut at, &block);
                if let Some(v) = &block.value {
                    at.lines(strong(format.value), v);
                }
                if let Some(v) = &block.value_translation {
                    at.lines(plain(format.body), v);
                }
                at.y += format.body * 0.5;
            }
            Role::Code => {
                label(&mut at, &block);
                if let Some(v) = &block.value {
                    at.lines(strong(format.value * 1.5), v);
                }
                at.y += format.body * 0.5;
                if let Some(payload) = ticket.qr_payload() {
                    at.y = qr_marks(&mut at.marks, &payload, at.left, at.y, format.module)?;
                    at.y += format.body * 0.5;
                }
            }
        }
    }
    Ok((at.marks, at.y))
}

/// The QR code as black boxes, one per run of dark modules in a row, with the four-module quiet
/// zone left white; returns the y below it.
fn qr_marks(
    marks: &mut Vec<Mark>,
    payload: &str,
    left: f32,
    top: f32,
    module: f32,
) -> Result<f32, TicketError> {
    let code = QrCode::new(payload.as_bytes())
        .map_err(|e| TicketError::Render(format!("QR code: {e}")))?;
    let n = code.width();
    let colors = code.to_colors();
    let origin_x = left + 4.0 * module;
    let origin_y = top + 4.0 * module;
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if colors[row * n + col] == qrcode::Color::Dark {
                let start = col;
                while col < n && colors[row * n + col] == qrcode::Color::Dark {
                    col += 1;
                }
                marks.push(Mark::Box {
                    x: origin_x + start as f32 * module,
                    top: origin_y + row as f32 * module,
                    width: (col - start) as f32 * module,
                    height: module,
                });
            } else {
                col += 1;
            }
        }
    }
    Ok(top + (n as f32 + 8.0) * module)
}

fn grey(percent: f32) -> Color {
    Color::Greyscale(Greyscale {
        percent,
        icc_profile: None,
    })
}

/// A shaped line as glyph ids for the PDF, each with the letters it stands for (the ToUnicode
/// map) and a correction where the shaper's advance differs from the font's own width, which
/// the PDF reader moves by.
fn glyph_ids(face: &Face, text: &str) -> Vec<Codepoint> {
    shaping::shape(face.bytes, text)
        .into_iter()
        .map(|g| {
            let own = f32::from(face.font.get_horizontal_advance(g.gid));
            let offset = (own - g.advance as f32) * 1000.0 / face.units_per_em;
            Codepoint {
                gid: g.gid,
                offset,
                cid: g.text,
            }
        })
        .collect()
}

/// The page's operations, with y turned from top-down into PDF's bottom-up.
fn ops(marks: Vec<Mark>, page_height: f32, regular: &Face, bold: &Face) -> Vec<Op> {
    let mut ops = Vec::new();
    for mark in marks {
        match mark {
            Mark::Text {
                bold: is_bold,
                white,
                size,
                x,
                baseline,
                text,
            } => {
                let face = if is_bold { bold } else { regular };
                let item = if shaping::needs_shaping(&text) {
                    TextItem::GlyphIds(glyph_ids(face, &text))
                } else {
                    TextItem::Text(text)
                };
                ops.extend([
                    Op::SetFillColor {
                        col: grey(if white { 1.0 } else { 0.0 }),
                    },
                    Op::StartTextSection,
                    Op::SetFont {
                        font: PdfFontHandle::External(face.id.clone()),
                        size: Pt(size),
                    },
                    Op::SetTextMatrix {
                        matrix: TextMatrix::Translate(Pt(x), Pt(page_height - baseline)),
                    },
                    Op::ShowText { items: vec![item] },
                    Op::EndTextSection,
                ]);
            }
            Mark::Box {
                x,
                top,
                width,
                height,
            } => {
                ops.extend([
                    Op::SetFillColor { col: grey(0.0) },
                    Op::DrawRectangle {
                        rectangle: Rect {
                            x: Pt(x),
                            y: Pt(page_height - top - height),
                            width: Pt(width),
                            height: Pt(height),
                            mode: Some(PaintMode::Fill),
                            winding_order: Some(WindingOrder::NonZero),
                        },
                    },
                ]);
            }
        }
    }
    ops
}

fn render(
    ticket: &Ticket,
    format: &Format,
    page_height: Option<f32>,
) -> Result<Vec<u8>, TicketError> {
    let title = match &ticket.code {
        Some(code) => format!("Dorfpunkt {code}"),
        None => "Dorfpunkt".to_string(),
    };
    let mut doc = PdfDocument::new(&title);
    let regular = Face::load(&mut doc, REGULAR_TTF, "DejaVuSans")?;
    let bold = Face::load(&mut doc, BOLD_TTF, "DejaVuSans-Bold")?;
    let (marks, used) = layout(ticket, format, &regular, &bold)?;
    let height = page_height.unwrap_or(used + format.margin);
    if used > height {
        return Err(TicketError::Render(
            "the ticket is longer than one page".to_string(),
        ));
    }
    let page = PdfPage::new(
        Mm(format.width / MM),
        Mm(height / MM),
        ops(marks, height, &regular, &bold),
    );
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..PdfSaveOptions::default()
    };
    let mut warnings = Vec::new();
    let bytes = doc.with_pages(vec![page]).save(&options, &mut warnings);
    if bytes.is_empty() {
        return Err(TicketError::Render(format!(
            "printpdf produced nothing: {warnings:?}"
        )));
    }
    Ok(bytes)
}

/// The ticket as an 80 mm wide receipt, exactly as long as its content.
pub fn render_receipt(ticket: &Ticket) -> Result<Vec<u8>, TicketError> {
    render(ticket, &RECEIPT, None)
}

/// The ticket as an A4 confirmation (one page).
pub fn render_a4(ticket: &Ticket) -> Result<Vec<u8>, TicketError> {
    render(ticket, &A4, Some(297.0 * MM))
}

/// A 1-bit image of a ticket, rows top to bottom, each row `width / 8` bytes (rounded up), most
/// significant bit leftmost, a set bit black: the layout of ESC/POS raster images and of PBM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub bits: Vec<u8>,
}

impl Raster {
    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.width.div_ceil(8) as usize
    }

    /// Whether the dot at (`x`, `y`) is black.
    pub fn black(&self, x: u32, y: u32) -> bool {
        let byte = y as usize * self.row_bytes() + x as usize / 8;
        self.bits
            .get(byte)
            .is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
    }

    /// The image as a binary PBM file (`P4`), which image tools read.
    pub fn to_pbm(&self) -> Vec<u8> {
        let mut out = format!("P4\n{} {}\n", self.width, self.height).into_bytes();
        out.extend_from_slice(&self.bits);
        out
    }
}

/// The receipt as a 1-bit image `width_dots` wide at `dots_per_mm` (a common 80 mm thermal
/// printer: 576 dots at 8 per mm), as long as its content. Every line is shaped, so Arabic,
/// Cyrillic and umlauts come out as on the PDF.
pub fn render_raster(
    ticket: &Ticket,
    width_dots: u32,
    dots_per_mm: f32,
) -> Result<Raster, TicketError> {
    if !(64..=4096).contains(&width_dots) || !(1.0..=48.0).contains(&dots_per_mm) {
        return Err(TicketError::Render(format!(
            "no raster of {width_dots} dots at {dots_per_mm} per mm"
        )));
    }
    let scale = dots_per_mm / MM;
    let format = Format {
        width: width_dots as f32 / scale,
        margin: 2.0 * MM,
        ..RECEIPT
    };
    let mut doc = PdfDocument::new("raster");
    let regular = Face::load(&mut doc, REGULAR_TTF, "DejaVuSans")?;
    let bold = Face::load(&mut doc, BOLD_TTF, "DejaVuSans-Bold")?;
    let (marks, used) = layout(ticket, &format, &regular, &bold)?;
    let height = ((used + format.margin) * scale).ceil() as u32;
    let mut pixmap = tiny_skia::Pixmap::new(width_dots, height)
        .ok_or_else(|| TicketError::Render(format!("no image of {width_dots} x {height}")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let paint = |white: bool| {
        let mut paint = tiny_skia::Paint {
            anti_alias: false,
            ..tiny_skia::Paint::default()
        };
        paint.set_color(if white {
            tiny_skia::Color::WHITE
        } else {
            tiny_skia::Color::BLACK
        });
        paint
    };
    for mark in marks {
        match mark {
            Mark::Text {
                bold: is_bold,
                white,
                size,
                x,
                baseline,
                text,
            } => {
                let face = if is_bold { &bold } else { &regular };
                shaping::fill_line(
                    &mut pixmap,
                    face.bytes,
                    &text,
                    size * scale,
                    x * scale,
                    baseline * scale,
                    &paint(white),
                );
            }
            Mark::Box {
                x,
                top,
                width,
                height,
            } => {
                // Whole dots, so the QR code's modules stay the same size.
                let rect = tiny_skia::Rect::from_xywh(
                    (x * scale).round(),
                    (top * scale).round(),
                    ((x + width) * scale).round() - (x * scale).round(),
                    ((top + height) * scale).round() - (top * scale).round(),
                );
                if let Some(rect) = rect {
                    pixmap.fill_rect(rect, &paint(false), tiny_skia::Transform::identity(), None);
                }
            }
        }
    }
    let row_bytes = width_dots.div_ceil(8) as usize;
    let mut bits = vec![0u8; row_bytes * height as usize];
    for (i, pixel) in pixmap.pixels().iter().enumerate() {
        // Opaque throughout (white page, no anti-aliasing): dark is black.
        if pixel.red() < 128 {
            let (x, y) = (i % width_dots as usize, i / width_dots as usize);
            bits[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
        }
    }
    Ok(Raster {
        width: width_dots,
        height,
        bits,
    })
}

// ---------------------------------------------------------------------------------------------
// Printing

/// A CUPS job id as `lp` reports it, e.g. `DorfpunktPDF-12`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobId(pub String);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A queue name goes to `lp` as an argument: refuse anything that could read as an option.
fn check_queue(queue: &str) -> Result<(), TicketError> {
    let fine = !queue.is_empty()
        && queue.len() <= 127
        && queue
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
        && !queue.starts_with('-');
    if fine {
        Ok(())
    } else {
        Err(TicketError::QueueName(queue.to_string()))
    }
}

/// Prints `pdf` on the CUPS queue `queue` with `lp -d QUEUE`, the document on standard input.
/// Returns once CUPS has accepted the job; a failure is an error and the caller may print again.
/// CUPS also accepts jobs for a disabled queue and holds them: ask [`printer_state`] first to
/// tell the resident the printer is offline or out of paper.
pub fn print(pdf: &[u8], queue: &str) -> Result<JobId, TicketError> {
    check_queue(queue)?;
    // A title of its own per job: cups-pdf names its files after the title, and a shared name
    // would let one job's file replace another's.
    static JOBS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = JOBS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let title = format!("Dorfpunkt-{}-{n}", std::process::id());
    let mut child = Command::new("lp")
        .args(["-d", queue, "-t", &title])
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| TicketError::Spawn {
            command: "lp",
            source,
        })?;
    let written = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(pdf),
        None => Ok(()),
    };
    let output = child
        .wait_with_output()
        .map_err(|source| TicketError::Spawn {
            command: "lp",
            source,
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if !output.status.success() {
        if stderr.contains("does not exist") {
            return Err(TicketError::UnknownQueue(queue.to_string()));
        }
        return Err(TicketError::Cups {
            command: "lp",
            message: if stderr.is_empty() {
                output.status.to_string()
            } else {
                stderr
            },
        });
    }
    // lp exits only after reading everything; a broken pipe with success would be a CUPS bug,
    // but say so rather than claim the ticket printed.
    written.map_err(|e| TicketError::Cups {
        command: "lp",
        message: format!("the document was not handed over: {e}"),
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(JobId(job_id(&stdout).unwrap_or_default()))
}

/// The job id in lp's `request id is QUEUE-12 (1 file(s))`.
fn job_id(stdout: &str) -> Option<String> {
    let rest = stdout.split("request id is ").nth(1)?;
    rest.split_whitespace().next().map(str::to_string)
}

/// How CUPS sees the queue: `lpstat -l -p QUEUE`, mapped to the heartbeat's printer state.
pub fn printer_state(queue: &str) -> Result<PrinterState, TicketError> {
    check_queue(queue)?;
    let output = Command::new("lpstat")
        .args(["-l", "-p", queue])
        .env("LC_ALL", "C")
        .output()
        .map_err(|source| TicketError::Spawn {
            command: "lpstat",
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || stdout.trim().is_empty() {
        if stderr.contains("Invalid destination") || stderr.contains("does not exist") {
            return Err(TicketError::UnknownQueue(queue.to_string()));
        }
        return Err(TicketError::Cups {
            command: "lpstat",
            message: stderr.trim().to_string(),
        });
    }
    Ok(parse_state(&stdout))
}

/// Reads `lpstat -l -p` output: out of paper when CUPS reports `media-empty` (also when the
/// queue stopped because of it), offline when the queue is disabled or the printer reports
/// itself offline, paper low on `media-low`.
fn parse_state(lpstat: &str) -> PrinterState {
    let disabled = lpstat
        .lines()
        .next()
        .is_some_and(|first| first.contains(" disabled"));
    let alerts: Vec<&str> = lpstat
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Alerts:"))
        .flat_map(str::split_whitespace)
        .collect();
    let has = |reason: &str| alerts.iter().any(|a| a.starts_with(reason));
    if has("media-empty") || has("media-needed") {
        PrinterState::Out
    } else if disabled || has("offline") || has("paused") {
        PrinterState::Offline
    } else if has("media-low") {
        PrinterState::PaperLow
    } else {
        PrinterState::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use uuid::Uuid;

    fn ticket(language: Language, standing: Standing) -> Ticket {
        Ticket {
            kind: TicketKind::Ride,
            standing,
            language,
            when: NaiveDate::from_ymd_opt(2026, 11, 23).and_then(|d| d.and_hms_opt(9, 30, 0)),
            from: Some("Bärnreuth, Dorfplatz".to_string()),
            to: Some("Praxis Dr. Müller, Hauptstraße 5".to_string()),
            pickup: Some((
                NaiveTime::from_hms_opt(8, 50, 0).expect("a time"),
                NaiveTime::from_hms_opt(9, 10, 0).expect("a time"),
            )),
            notes: Vec::new(),
            code: Some(BookingCode::from_uuid(Uuid::from_u128(42))),
            hub_phone: "09201 123456".to_string(),
            help: None,
        }
    }

    #[test]
    fn a_request_says_so_in_both_languages_and_a_confirmation_does_not() {
        let blocks = ticket(Language::Uk, Standing::Request).blocks();
        let standing = blocks
            .iter()
            .find(|b| b.role == Role::Standing { request: true })
            .expect("a request has a standing block");
        assert_eq!(standing.german, "Anfrage – noch nicht bestätigt");
        assert_eq!(
            standing.translation.as_deref(),
            Some("Запит – ще не підтверджено")
        );
        assert!(blocks.iter().any(|b| b.role == Role::Hint));

        let blocks = ticket(Language::Uk, Standing::Confirmed).blocks();
        assert!(blocks.iter().all(|b| !b.german.contains("Anfrage")));
        assert!(
            blocks
                .iter()
                .any(|b| b.role == Role::Standing { request: false })
        );
    }

    #[test]
    fn german_first_the_language_under_it_and_german_alone_for_german() {
        let blocks = ticket(Language::Tr, Standing::Confirmed).blocks();
        assert_eq!(blocks[0].german, "Fahrt");
        assert_eq!(blocks[0].translation.as_deref(), Some("Yolculuk"));
        let when = blocks
            .iter()
            .find(|b| b.german == "Wann")
            .expect("a when field");
        assert_eq!(
            when.value.as_deref(),
            Some("Mo / Pzt 23.11.2026, 09:30 Uhr")
        );
        let pickup = blocks
            .iter()
            .find(|b| b.german == "Abholung zwischen")
            .expect("a pickup field");
        assert_eq!(pickup.value.as_deref(), Some("08:50 – 09:10 Uhr"));

        let blocks = ticket(Language::De, Standing::Confirmed).blocks();
        assert!(blocks.iter().all(|b| b.translation.is_none()));
        let last = blocks.last().expect("a footer");
        assert_eq!(last.role, Role::Footer);
        assert_eq!(last.value.as_deref(), Some("09201 123456"));
    }

    #[test]
    fn arabic_is_printed_beside_german() {
        let blocks = ticket(Language::Ar, Standing::Confirmed).blocks();
        assert_eq!(blocks[0].translation.as_deref(), Some("رحلة"));
        assert_eq!(Language::from_code("ar"), Some(Language::Ar));
        assert_eq!(Language::from_code("fr"), None);
    }

    #[test]
    fn arabic_lines_are_set_flush_right() {
        let t = ticket(Language::Ar, Standing::Confirmed);
        let mut doc = PdfDocument::new("test");
        let regular = Face::load(&mut doc, REGULAR_TTF, "r").expect("font");
        let bold = Face::load(&mut doc, BOLD_TTF, "b").expect("font");
        let (marks, _) = layout(&t, &RECEIPT, &regular, &bold).expect("layout");
        let x_of = |wanted: &str| {
            marks.iter().find_map(|m| match m {
                Mark::Text { text, x, .. } if text == wanted => Some(*x),
                _ => None,
            })
        };
        let arabic = x_of("رحلة").expect("the Arabic title");
        let german = x_of("Fahrt").expect("the German title");
        assert!((german - RECEIPT.margin).abs() < 0.01);
        let right = arabic + regular.width("رحلة", RECEIPT.body);
        assert!(
            (right - (RECEIPT.width - RECEIPT.margin)).abs() < 0.5,
            "{right}"
        );
    }

    #[test]
    fn a_help_slip_lists_needs_phone_and_hours_in_both_languages() {
        let monday = |h| NaiveTime::from_hms_opt(h, 0, 0).expect("a time");
        let t = Ticket {
            kind: TicketKind::HelpSlip,
            code: None,
            when: None,
            pickup: None,
            from: None,
            to: Some("Suchtberatung".to_string()),
            help: Some(HelpDetails {
                needs: vec!["alcohol".into(), "unknown".into(), "loneliness".into()],
                address: "Markt 7, 38170 Schöppenstedt".into(),
                phone: Some("05332 940110".into()),
                hours: vec![
                    (Weekday::Mon, monday(8), monday(12)),
                    (Weekday::Mon, monday(15), monday(18)),
                    (Weekday::Fri, monday(9), monday(13)),
                ],
            }),
            ..ticket(Language::Uk, Standing::Confirmed)
        };
        let blocks = t.blocks();
        let needs = blocks
            .iter()
            .find(|b| b.german == "Hilft bei")
            .expect("the needs");
        assert_eq!(needs.value.as_deref(), Some("Alkohol, Einsamkeit"));
        assert_eq!(
            needs.value_translation.as_deref(),
            Some("Алкоголь, Самотність")
        );
        let hours: Vec<(&str, Option<&str>)> = blocks
            .iter()
            .filter(|b| b.role == Role::Note)
            .map(|b| (b.german.as_str(), b.translation.as_deref()))
            .collect();
        assert_eq!(
            hours,
            [
                (
                    "Mo 08:00–12:00, 15:00–18:00",
                    Some("Пн 08:00–12:00, 15:00–18:00")
                ),
                ("Fr 09:00–13:00", Some("Пт 09:00–13:00"))
            ]
        );
        assert!(
            blocks
                .iter()
                .any(|b| b.value.as_deref() == Some("05332 940110"))
        );
    }

    #[test]
    fn a_raster_is_as_wide_as_asked_and_has_ink() {
        let t = ticket(Language::Ar, Standing::Request);
        let raster = render_raster(&t, 576, 8.0).expect("a raster");
        assert_eq!(raster.width, 576);
        assert_eq!(
            raster.bits.len(),
            raster.row_bytes() * raster.height as usize
        );
        assert!(raster.height > 400, "{}", raster.height);
        let ink = raster.bits.iter().map(|b| b.count_ones()).sum::<u32>();
        assert!(ink > 10_000, "{ink}");
        assert!(raster.to_pbm().starts_with(b"P4\n576 "));
        assert!(render_raster(&t, 10, 8.0).is_err());
    }

    #[test]
    fn the_code_block_and_the_qr_payload_carry_the_booking_code() {
        let t = ticket(Language::En, Standing::Confirmed);
        let code = t.code.expect("a code");
        let block = t
            .blocks()
            .into_iter()
            .find(|b| b.role == Role::Code)
            .expect("a code block");
        assert_eq!(block.value, Some(code.to_string()));
        assert_eq!(t.qr_payload().as_deref(), Some(code.compact()));
    }

    #[test]
    fn a_help_slip_has_no_standing_and_no_code() {
        let t = Ticket {
            kind: TicketKind::HelpSlip,
            code: None,
            when: None,
            pickup: None,
            from: None,
            notes: vec!["Mo–Fr 9–12 Uhr".to_string()],
            ..ticket(Language::En, Standing::Confirmed)
        };
        let blocks = t.blocks();
        assert!(
            blocks
                .iter()
                .all(|b| !matches!(b.role, Role::Standing { .. } | Role::Code))
        );
        assert!(blocks.iter().any(|b| b.role == Role::Note));
        assert_eq!(
            blocks
                .iter()
                .find(|b| b.role == Role::Field)
                .map(|b| b.german.as_str()),
            Some("Wo")
        );
        assert!(render_receipt(&t).is_ok());
    }

    #[test]
    fn every_text_has_all_five_languages() {
        for key in [
            Text::Ride,
            Text::Appointment,
            Text::HelpSlip,
            Text::Confirmed,
            Text::Request,
            Text::RequestHint,
            Text::When,
            Text::From,
            Text::To,
            Text::Where,
            Text::Pickup,
            Text::Code,
            Text::Phone,
            Text::HelpsWith,
            Text::Address,
            Text::Telephone,
            Text::Hours,
            Text::Homelessness,
            Text::Alcohol,
            Text::Anxiety,
            Text::Loneliness,
            Text::Dementia,
            Text::FamilyStrain,
        ] {
            for lang in [
                Language::De,
                Language::En,
                Language::Uk,
                Language::Tr,
                Language::Ar,
            ] {
                assert!(!text(key, lang).is_empty(), "{key:?} in {lang:?}");
            }
        }
    }

    #[test]
    fn a_receipt_is_80_mm_wide_and_as_long_as_its_content() {
        let t = ticket(Language::Uk, Standing::Request);
        let mut doc = PdfDocument::new("test");
        let regular = Face::load(&mut doc, REGULAR_TTF, "r").expect("font");
        let bold = Face::load(&mut doc, BOLD_TTF, "b").expect("font");
        let (marks, used) = layout(&t, &RECEIPT, &regular, &bold).expect("layout");
        assert!(used > 60.0 * MM && used < 297.0 * MM, "{used}");
        for mark in &marks {
            if let Mark::Box { x, width, .. } = mark {
                assert!(*x >= RECEIPT.margin - 0.01);
                assert!(x + width <= RECEIPT.width - RECEIPT.margin + 0.01);
            }
        }
        // The QR code fits: 21 or 25 modules plus the quiet zone, well inside the paper.
        let pdf = render_receipt(&t).expect("a receipt");
        assert!(pdf.starts_with(b"%PDF"));
    }

    #[test]
    fn lpstat_output_maps_to_printer_states() {
        let idle = "printer Q is idle.  enabled since Wed Dec  2 08:08:24 2026\n\tAlerts: none\n";
        assert_eq!(parse_state(idle), PrinterState::Ok);
        let disabled =
            "printer Q disabled since Wed Dec  2 08:08:24 2026 -\n\tPaused\n\tAlerts: paused\n";
        assert_eq!(parse_state(disabled), PrinterState::Offline);
        let empty = "printer Q disabled since Wed Dec  2 2026 -\n\tAlerts: media-empty-error\n";
        assert_eq!(parse_state(empty), PrinterState::Out);
        let low = "printer Q is idle.  enabled since x\n\tAlerts: media-low-report\n";
        assert_eq!(parse_state(low), PrinterState::PaperLow);
        let offline = "printer Q is idle.  enabled since x\n\tAlerts: offline-report\n";
        assert_eq!(parse_state(offline), PrinterState::Offline);
    }

    #[test]
    fn queue_names_that_could_be_options_are_refused() {
        assert!(check_queue("DorfpunktPDF").is_ok());
        assert!(matches!(
            check_queue("-oraw"),
            Err(TicketError::QueueName(_))
        ));
        assert!(matches!(check_queue("a b"), Err(TicketError::QueueName(_))));
        assert!(matches!(check_queue(""), Err(TicketError::QueueName(_))));
    }

    #[test]
    fn lp_job_ids_are_read() {
        assert_eq!(
            job_id("request id is DorfpunktPDF-7 (1 file(s))\n").as_deref(),
            Some("DorfpunktPDF-7")
        );
        assert_eq!(job_id(""), None);
    }
}
