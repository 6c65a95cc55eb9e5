//! The ticket of a booking as an A4 PDF a caregiver prints or keeps: booking code, what, when,
//! where, the pickup window, and the service's phone number. It uses the run sheet's bundled
//! DejaVu faces and page drawing (`dispatch::pdf`), so it looks the same on every machine. German
//! first, the reader's language under each line (not Arabic, see [`printed`]).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use printpdf::{Mm, PdfDocument, PdfPage, PdfSaveOptions};

use super::super::error::WebError;
use super::super::i18n::{Lang, Text};
use super::super::session::WebUser;
use super::{
    Booking, Kind, RegionInfo, answer, at_clock, between_text, booking_by_code, carer, place_text,
    region_info, status_text, texts, what_text,
};
use crate::api::AppState;
use crate::dispatch::pdf::{BOLD_TTF, Face, MARGIN, PAGE_H, PAGE_W, Page, REGULAR_TTF};

/// The language printed under the German one. Arabic is not: the ticket's text is written
/// glyph by glyph from the font's character map, without the shaping and right-to-left ordering
/// Arabic needs (the kiosk's ticket has them, `kiosk/src/ticket/shaping.rs`), so an Arabic reader
/// gets the German ticket. Latin and Cyrillic letters need neither and are in DejaVu Sans.
fn printed(lang: Lang) -> Option<Lang> {
    match lang {
        Lang::De | Lang::Ar => None,
        other => Some(other),
    }
}

/// A text in German and, when it says something else there, in `second`.
fn both(second: Option<Lang>, text: impl Fn(Lang) -> String) -> (String, Option<String>) {
    let german = text(Lang::De);
    let other = second.map(&text).filter(|t| *t != german);
    (german, other)
}

fn words(second: Option<Lang>, text: Text) -> (String, Option<String>) {
    both(second, |l| text.get(l).to_string())
}

/// One labelled line of the ticket: the label in German (bold) with its translation under it,
/// the value in German with its translation under it.
fn fact(
    page: &mut Page<'_>,
    face: &Face,
    y: f32,
    label: (String, Option<String>),
    value: (String, Option<String>),
) -> f32 {
    const SIZE: f32 = 13.0;
    const SMALL: f32 = 10.0;
    const LEAD: f32 = 17.0;
    const LABEL_W: f32 = 120.0;
    page.text(true, SIZE, MARGIN, y, &label.0);
    if let Some(translated) = &label.1 {
        page.text(false, SMALL, MARGIN, y - 13.0, translated);
    }
    let width = PAGE_W - 2.0 * MARGIN - LABEL_W;
    let mut lines = face.wrap(&value.0, SIZE, width);
    if let Some(translated) = &value.1 {
        lines.extend(face.wrap(translated, SIZE, width));
    }
    let mut value_y = y;
    for line in lines {
        page.text(false, SIZE, MARGIN + LABEL_W, value_y, &line);
        value_y -= LEAD;
    }
    let label_bottom = if label.1.is_some() {
        y - 13.0 - LEAD
    } else {
        y - LEAD
    };
    value_y.min(label_bottom) - 6.0
}

/// Renders the ticket in German and `lang` (CPU work: call off the async executor).
fn render(b: &Booking, region: &RegionInfo, lang: Lang) -> Result<Vec<u8>, WebError> {
    let second = printed(lang);
    let pdf_error = |e: crate::dispatch::DispatchError| WebError::Internal(e.to_string());
    let mut doc = PdfDocument::new(&format!("Dorfpunkt {}", b.code));
    let regular = Face::load(&mut doc, REGULAR_TTF, "DejaVuSans").map_err(pdf_error)?;
    let bold = Face::load(&mut doc, BOLD_TTF, "DejaVuSans-Bold").map_err(pdf_error)?;
    let mut page = Page::new(&regular, &bold);
    let title = match b.kind {
        Kind::Ride => texts::TICKET,
        Kind::Appointment => texts::COUNSELLING_APPOINTMENT,
    };
    let mut y = PAGE_H - MARGIN - 20.0;
    page.text(
        true,
        22.0,
        MARGIN,
        y,
        &format!("Dorfpunkt \u{2013} {}", title.de),
    );
    page.text_right(false, 12.0, PAGE_W - MARGIN, y, &region.name);
    if let Some(l) = second {
        y -= 20.0;
        page.text(false, 14.0, MARGIN, y, title.get(l));
    }
    y -= 14.0;
    page.rule(y, 1.0, 0.0);
    y -= 34.0;
    let code_label = match second {
        Some(l) => format!("Buchungscode / {}", texts::BOOKING_CODE.get(l)),
        None => "Buchungscode".to_string(),
    };
    page.text(false, 12.0, MARGIN, y, &code_label);
    y -= 34.0;
    page.text(true, 30.0, MARGIN, y, &b.code);
    y -= 34.0;
    let person = |l: Lang| match &b.resident_number {
        Some(number) => format!("{} ({} {number})", b.resident_name, texts::NUMBER.get(l)),
        None => b.resident_name.clone(),
    };
    y = fact(
        &mut page,
        &regular,
        y,
        words(second, texts::FOR),
        both(second, person),
    );
    y = fact(
        &mut page,
        &regular,
        y,
        words(second, texts::WHAT),
        both(second, |l| what_text(l, b)),
    );
    y = fact(
        &mut page,
        &regular,
        y,
        words(second, texts::WHEN),
        both(second, |l| at_clock(l, &b.at, &region.tz)),
    );
    match b.kind {
        Kind::Ride => {
            y = fact(
                &mut page,
                &regular,
                y,
                words(second, texts::PICKUP),
                both(second, |l| place_text(l, &b.from)),
            );
            let window = |l: Lang| match &b.window {
                Some(window) => between_text(l, window, &region.tz),
                None => texts::OPEN_OFFICE_CALLS.get(l).to_string(),
            };
            y = fact(
                &mut page,
                &regular,
                y,
                words(second, texts::PICKUP_TIME),
                both(second, window),
            );
        }
        Kind::Appointment => {
            y = fact(
                &mut page,
                &regular,
                y,
                words(second, texts::WHERE),
                both(second, |l| place_text(l, &b.from)),
            );
        }
    }
    y = fact(
        &mut page,
        &regular,
        y,
        words(second, texts::STATUS),
        both(second, |l| status_text(l, b.kind, &b.status).to_string()),
    );
    y -= 10.0;
    page.rule(y, 0.5, 0.5);
    y -= 22.0;
    let phone = region.phone.as_deref().unwrap_or("\u{2013}");
    let (german, translated) = both(second, |l| {
        texts::TICKET_FOOTER.fill(l, &[("region", &region.name), ("phone", phone)])
    });
    for text in std::iter::once(german).chain(translated) {
        for line in regular.wrap(&text, 12.0, PAGE_W - 2.0 * MARGIN) {
            page.text(false, 12.0, MARGIN, y, &line);
            y -= 16.0;
        }
        y -= 6.0;
    }
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..PdfSaveOptions::default()
    };
    let mut warnings = Vec::new();
    let bytes = doc
        .with_pages(vec![PdfPage::new(Mm(210.0), Mm(297.0), page.ops)])
        .save(&options, &mut warnings);
    if bytes.is_empty() {
        return Err(WebError::Internal(format!(
            "printpdf produced nothing: {warnings:?}"
        )));
    }
    Ok(bytes)
}

/// `GET /care/tickets/{code}.pdf`: only for bookings of the caregiver's own people; German with
/// the reader's language under it (see [`printed`]).
pub(super) async fn download(
    State(app): State<AppState>,
    lang: Lang,
    user: WebUser,
    Path(file): Path<String>,
) -> Response {
    answer(lang, ticket(app, lang, user, file).await)
}

async fn ticket(
    app: AppState,
    lang: Lang,
    user: WebUser,
    file: String,
) -> Result<Response, WebError> {
    let carer = carer(&user)?;
    let code = file
        .strip_suffix(".pdf")
        .ok_or(WebError::NotFound)?
        .to_string();
    let who = user.who();
    let (booking, region) = app
        .store
        .run(move |conn| {
            let booking = booking_by_code(conn, &who, &carer, &code)?;
            Ok((booking, region_info(conn, &carer.region)?))
        })
        .await?;
    let booking = booking.ok_or(WebError::NotFound)?;
    let name = format!("dorfpunkt-{}.pdf", booking.code);
    let bytes = tokio::task::spawn_blocking(move || render(&booking, &region, lang))
        .await
        .map_err(|e| WebError::Internal(format!("ticket task: {e}")))??;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
