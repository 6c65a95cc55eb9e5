//! The A4 poster of a village for the notice board, in German and large type: "Der IMBUS kommt
//! nach …", the next visits (weekday, date, time; cancelled ones struck through and marked
//! "fällt aus", moved ones at their new time with the old one named), the place, what IMBUS
//! offers, and the region's phone number.
//!
//! Drawn with the run sheet's DejaVu faces and page (`dispatch::pdf`), so the fonts are embedded
//! as a subset. Rendering is CPU work: call [`render`] off the async executor.

use printpdf::{
    Color, Greyscale, Line, LinePoint, Mm, Op, PdfDocument, PdfPage, PdfSaveOptions, Point, Pt,
};

use super::{PublishError, PublishedVisit, Timetable, local, weekday_de};
use crate::dispatch::pdf::{BOLD_TTF, Face, MARGIN, PAGE_H, PAGE_W, Page, REGULAR_TTF};

/// At most this many visits are listed.
pub const MAX_VISITS: usize = 8;

const HEADLINE: f32 = 40.0;
const DATE: f32 = 22.0;
const NOTE: f32 = 16.0;
const BODY: f32 = 17.0;
const PHONE: f32 = 34.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;

/// The poster of `timetable`'s village: its next visits (the caller loads at most
/// [`MAX_VISITS`], from now on).
pub fn render(timetable: &Timetable) -> Result<Vec<u8>, PublishError> {
    let village = timetable
        .village
        .as_ref()
        .ok_or_else(|| PublishError::Render("a poster is made for one village".into()))?;
    let pdf = |e: crate::dispatch::DispatchError| PublishError::Render(e.to_string());
    let mut doc = PdfDocument::new(&format!("IMBUS in {}", village.name));
    let regular = Face::load(&mut doc, REGULAR_TTF, "DejaVuSans").map_err(pdf)?;
    let bold = Face::load(&mut doc, BOLD_TTF, "DejaVuSans-Bold").map_err(pdf)?;
    let mut page = Page::new(&regular, &bold);
    let tz = timetable.region.tz;

    // Head.
    let mut y = PAGE_H - MARGIN - HEADLINE;
    for line in bold.wrap(
        &format!("Der IMBUS kommt nach {}", village.name),
        HEADLINE,
        WIDTH,
    ) {
        page.text(true, HEADLINE, MARGIN, y, &line);
        y -= HEADLINE * 1.15;
    }
    y -= 2.0;
    page.text(
        false,
        20.0,
        MARGIN,
        y,
        "Der Beratungsbus \u{2013} kostenlos und in Ihrer N\u{e4}he",
    );
    y -= 16.0;
    page.rule(y, 1.5, 0.0);
    y -= DATE + 16.0;

    // Foot: what IMBUS offers and the phone number, laid out from the bottom up so the visits
    // get the room in between.
    let phone = timetable.region.phone.as_deref();
    let mut offers = vec![
        "Fragen zu Gesundheit, Pflege, Geld, Wohnen und Familie".to_string(),
        "Die Beratung ist kostenlos.".to_string(),
        "Ohne Termin: einfach vorbeikommen.".to_string(),
    ];
    offers.push(match phone {
        Some(_) => "Mit Termin: am Dorfpunkt-Kiosk oder per Telefon buchen.".to_string(),
        None => "Mit Termin: am Dorfpunkt-Kiosk buchen.".to_string(),
    });
    // (starts an offer, text): the bullet goes on an offer's first line only.
    let offer_lines: Vec<(bool, String)> = offers
        .iter()
        .flat_map(|o| {
            regular
                .wrap(o, BODY, WIDTH - 20.0)
                .into_iter()
                .enumerate()
                .map(|(i, line)| (i == 0, line))
        })
        .collect();
    let foot_height = 30.0
        + offer_lines.len() as f32 * BODY * 1.35
        + if phone.is_some() { PHONE + 30.0 } else { 0.0 };
    let foot_top = MARGIN + foot_height;

    // The place: one line when every visit is at the same stop.
    let mut stops: Vec<&str> = Vec::new();
    for visit in timetable.visits.iter().take(MAX_VISITS) {
        if !stops.contains(&visit.stop.as_str()) {
            stops.push(&visit.stop);
        }
    }
    let one_stop = stops.len() == 1;

    // The visits.
    page.text(true, 24.0, MARGIN, y, "Die n\u{e4}chsten Termine");
    y -= 12.0;
    if timetable.visits.is_empty() {
        y -= DATE + 4.0;
        for line in regular.wrap(
            "Zurzeit sind keine Termine angek\u{fc}ndigt. Fragen Sie am Dorfpunkt-Kiosk oder \
             rufen Sie an.",
            20.0,
            WIDTH,
        ) {
            page.text(false, 20.0, MARGIN, y, &line);
            y -= 26.0;
        }
    }
    let place_height = if one_stop { DATE * 1.5 + 10.0 } else { 0.0 };
    for visit in timetable.visits.iter().take(MAX_VISITS) {
        let row = Row::of(visit, tz, one_stop, &regular, &bold);
        if y - row.height() < foot_top + place_height {
            break;
        }
        y = row.draw(&mut page, &regular, y);
    }
    if one_stop {
        y -= DATE + 14.0;
        let place = format!("Ort: {}", stops[0]);
        for line in bold.wrap(&place, DATE, WIDTH) {
            page.text(true, DATE, MARGIN, y, &line);
            y -= DATE * 1.25;
        }
    }

    // Foot.
    let mut y = foot_top - 6.0;
    page.rule(y + 6.0, 1.5, 0.0);
    y -= 22.0;
    page.text(true, 20.0, MARGIN, y, "Der IMBUS bietet Ihnen");
    y -= 6.0;
    for (first, line) in &offer_lines {
        y -= BODY * 1.35;
        page.text(false, BODY, MARGIN + 20.0, y, line);
        if *first {
            page.text(true, BODY, MARGIN + 4.0, y, "\u{2022}");
        }
    }
    if let Some(phone) = phone {
        y -= PHONE + 18.0;
        let label = "Telefon ";
        page.text(false, 22.0, MARGIN, y, label);
        let x = MARGIN + regular.width(label, 22.0) + 6.0;
        let size = if bold.width(phone, PHONE) > PAGE_W - MARGIN - x {
            PHONE * (PAGE_W - MARGIN - x) / bold.width(phone, PHONE)
        } else {
            PHONE
        };
        page.text(true, size, x, y, phone);
    }

    let mut warnings = Vec::new();
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..PdfSaveOptions::default()
    };
    let ops = std::mem::take(&mut page.ops);
    let bytes = doc
        .with_pages(vec![PdfPage::new(Mm(210.0), Mm(297.0), ops)])
        .save(&options, &mut warnings);
    if bytes.is_empty() {
        return Err(PublishError::Render(format!(
            "printpdf produced nothing: {warnings:?}"
        )));
    }
    Ok(bytes)
}

/// One visit on the poster: the date and time line and the notes below it.
struct Row {
    date: String,
    time: String,
    /// The time goes on its own line when both do not fit on one.
    time_below: bool,
    cancelled: bool,
    date_width: f32,
    notes: Vec<String>,
}

impl Row {
    fn of(
        visit: &PublishedVisit,
        tz: chrono_tz::Tz,
        one_stop: bool,
        regular: &Face,
        bold: &Face,
    ) -> Row {
        let start = local(tz, visit.starts_at);
        let end = local(tz, visit.ends_at);
        let date = format!(
            "{}, {}",
            weekday_de(chrono::Datelike::weekday(&start)),
            start.format("%d.%m.%Y")
        );
        let time = format!(
            "{} \u{2013} {} Uhr",
            start.format("%H:%M"),
            end.format("%H:%M")
        );
        let date_width = bold.width(&date, DATE);
        let time_below = date_width + 16.0 + regular.width(&time, DATE) > WIDTH;
        let mut notes = Vec::new();
        if visit.cancelled {
            notes.push(match &visit.cancel_reason {
                Some(reason) => format!("f\u{e4}llt aus: {reason}"),
                None => "f\u{e4}llt aus".to_string(),
            });
        } else {
            if let Some(from) = visit.moved_from {
                let old = local(tz, from);
                let mut note = format!(
                    "verlegt vom {}, {} um {} Uhr",
                    weekday_de(chrono::Datelike::weekday(&old)),
                    old.format("%d.%m."),
                    old.format("%H:%M")
                );
                if let Some(reason) = &visit.change_reason {
                    note.push_str(&format!(": {reason}"));
                }
                notes.push(note);
            }
            if visit.replacement {
                notes.push("Ersatztermin".to_string());
            }
            if visit.walk_in_minutes > 0 {
                let from = (end - chrono::Duration::minutes(visit.walk_in_minutes)).max(start);
                notes.push(format!(
                    "ohne Termin: {} \u{2013} {} Uhr",
                    from.format("%H:%M"),
                    end.format("%H:%M")
                ));
            }
        }
        if !one_stop {
            notes.push(format!("Ort: {}", visit.stop));
        }
        let notes = notes
            .iter()
            .flat_map(|n| regular.wrap(n, NOTE, WIDTH - 20.0))
            .collect();
        Row {
            date,
            time,
            time_below,
            cancelled: visit.cancelled,
            date_width,
            notes,
        }
    }

    fn height(&self) -> f32 {
        let lines = if self.time_below { 2.0 } else { 1.0 };
        lines * DATE * 1.3 + self.notes.len() as f32 * NOTE * 1.3 + 8.0
    }

    /// Draws the row with its first baseline below `top`; returns the y below it.
    fn draw(&self, page: &mut Page<'_>, regular: &Face, top: f32) -> f32 {
        let mut y = top - DATE * 1.3;
        page.text(true, DATE, MARGIN, y, &self.date);
        let mut strike = vec![(MARGIN, MARGIN + self.date_width, y)];
        let time_width = regular.width(&self.time, DATE);
        if self.time_below {
            y -= DATE * 1.3;
            page.text(false, DATE, MARGIN, y, &self.time);
            strike.push((MARGIN, MARGIN + time_width, y));
        } else {
            page.text_right(false, DATE, PAGE_W - MARGIN, y, &self.time);
            strike.push((PAGE_W - MARGIN - time_width, PAGE_W - MARGIN, y));
        }
        if self.cancelled {
            for (from, to, baseline) in strike {
                strike_through(page, from, to, baseline + DATE * 0.3);
            }
        }
        for note in &self.notes {
            y -= NOTE * 1.3;
            page.text(self.cancelled, NOTE, MARGIN + 20.0, y, note);
        }
        y - 8.0
    }
}

/// A line through text from `from` to `to` at height `y`.
fn strike_through(page: &mut Page<'_>, from: f32, to: f32, y: f32) {
    let point = |x: f32| LinePoint {
        p: Point { x: Pt(x), y: Pt(y) },
        bezier: false,
    };
    page.ops.extend([
        Op::SetOutlineColor {
            col: Color::Greyscale(Greyscale {
                percent: 0.0,
                icc_profile: None,
            }),
        },
        Op::SetOutlineThickness { pt: Pt(2.0) },
        Op::DrawLine {
            line: Line {
                points: vec![point(from), point(to)],
                is_closed: false,
            },
        },
    ]);
}
