//! The ticket of a booking as an A4 PDF a caregiver prints or keeps: booking code, what, when,
//! where, the pickup window, and the service's phone number. It uses the run sheet's bundled
//! DejaVu faces and page drawing (`dispatch::pdf`), so it looks the same on every machine.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use printpdf::{Mm, PdfDocument, PdfPage, PdfSaveOptions};

use super::super::error::WebError;
use super::super::local_time;
use super::super::session::WebUser;
use super::{
    Booking, Kind, RegionInfo, booking_by_code, carer, region_info, status_text, what_text,
    window_text,
};
use crate::api::AppState;
use crate::dispatch::pdf::{BOLD_TTF, Face, MARGIN, PAGE_H, PAGE_W, Page, REGULAR_TTF};

/// One labelled line of the ticket.
fn fact(page: &mut Page<'_>, face: &Face, y: f32, label: &str, value: &str) -> f32 {
    const SIZE: f32 = 13.0;
    const LEAD: f32 = 17.0;
    const LABEL_W: f32 = 120.0;
    page.text(true, SIZE, MARGIN, y, label);
    let mut y = y;
    for line in face.wrap(value, SIZE, PAGE_W - 2.0 * MARGIN - LABEL_W) {
        page.text(false, SIZE, MARGIN + LABEL_W, y, &line);
        y -= LEAD;
    }
    y - 6.0
}

/// Renders the ticket (CPU work: call off the async executor).
fn render(b: &Booking, region: &RegionInfo) -> Result<Vec<u8>, WebError> {
    let pdf_error = |e: crate::dispatch::DispatchError| WebError::Internal(e.to_string());
    let mut doc = PdfDocument::new(&format!("Dorfpunkt {}", b.code));
    let regular = Face::load(&mut doc, REGULAR_TTF, "DejaVuSans").map_err(pdf_error)?;
    let bold = Face::load(&mut doc, BOLD_TTF, "DejaVuSans-Bold").map_err(pdf_error)?;
    let mut page = Page::new(&regular, &bold);
    let title = match b.kind {
        Kind::Ride => "Fahrschein",
        Kind::Appointment => "Beratungstermin",
    };
    let mut y = PAGE_H - MARGIN - 20.0;
    page.text(
        true,
        22.0,
        MARGIN,
        y,
        &format!("Dorfpunkt \u{2013} {title}"),
    );
    page.text_right(false, 12.0, PAGE_W - MARGIN, y, &region.name);
    y -= 14.0;
    page.rule(y, 1.0, 0.0);
    y -= 34.0;
    page.text(false, 12.0, MARGIN, y, "Buchungscode");
    y -= 34.0;
    page.text(true, 30.0, MARGIN, y, &b.code);
    y -= 34.0;
    let person = match &b.resident_number {
        Some(number) => format!("{} (Nummer {number})", b.resident_name),
        None => b.resident_name.clone(),
    };
    y = fact(&mut page, &regular, y, "Für", &person);
    y = fact(&mut page, &regular, y, "Was", &what_text(b));
    y = fact(
        &mut page,
        &regular,
        y,
        "Wann",
        &format!("{} Uhr", local_time(&b.at, &region.tz)),
    );
    match b.kind {
        Kind::Ride => {
            y = fact(&mut page, &regular, y, "Abholung", &b.from);
            let window = match &b.window {
                Some(window) => format!("zwischen {}", window_text(window, &region.tz)),
                None => "noch offen \u{2013} die Zentrale ruft zurück".into(),
            };
            y = fact(&mut page, &regular, y, "Abholzeit", &window);
        }
        Kind::Appointment => {
            y = fact(&mut page, &regular, y, "Wo", &b.from);
        }
    }
    y = fact(
        &mut page,
        &regular,
        y,
        "Stand",
        status_text(b.kind, &b.status),
    );
    y -= 10.0;
    page.rule(y, 0.5, 0.5);
    y -= 22.0;
    let phone = region.phone.as_deref().unwrap_or("\u{2013}");
    for line in regular.wrap(
        &format!(
            "Fragen oder absagen: Zentrale {}, Telefon {phone}. Bitte nennen Sie den Buchungscode.",
            region.name
        ),
        12.0,
        PAGE_W - 2.0 * MARGIN,
    ) {
        page.text(false, 12.0, MARGIN, y, &line);
        y -= 16.0;
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

/// `GET /care/tickets/{code}.pdf`: only for bookings of the caregiver's own people.
pub(super) async fn download(
    State(app): State<AppState>,
    user: WebUser,
    Path(file): Path<String>,
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
    let bytes = tokio::task::spawn_blocking(move || render(&booking, &region))
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
