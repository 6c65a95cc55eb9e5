//! The run sheet as an A4 PDF in German: a header with region, date, vehicle, driver and shift,
//! a table of the stops that continues over as many pages as it needs, and a footer with the
//! region's phone number and "Seite x von y".
//!
//! The fonts (DejaVu Sans, see `hub/assets/fonts/`) are compiled in, so the output does not
//! depend on the machine, and printpdf embeds only the glyphs used (subsetting, the `text_layout`
//! feature): a sheet is about 30 KB instead of 1.5 MB. Layout is done here by measuring
//! glyph advances, because printpdf's own layout engine comes with its HTML feature, which pulls
//! in far more than a table needs. Rendering is CPU work: call [`render`] off the async executor.

use printpdf::{
    Color, FontId, Greyscale, Line, LinePoint, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle,
    PdfPage, PdfSaveOptions, Point, Pt, TextItem, TextMatrix,
};

use super::DispatchError;
use super::runsheet::{RunSheet, SheetStop, SheetStopKind};

pub(crate) const REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub(crate) const BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// A4 in points.
pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
/// 15 mm margins.
pub(crate) const MARGIN: f32 = 42.52;
/// The table stops above this line; the footer sits below it.
const BOTTOM: f32 = MARGIN + 24.0;

const BODY: f32 = 8.5;
const BODY_LEAD: f32 = 10.5;
const ROW_PAD: f32 = 4.0;

/// The table's columns: heading and width in points (they add up to the content width).
const COLUMNS: [(&str, f32); 7] = [
    ("Zeit", 32.0),
    ("Art", 46.0),
    ("Fahrgast", 98.0),
    ("Ort", 126.0),
    ("Bedarf", 72.0),
    ("Kontakt", 66.0),
    ("Code", 70.0),
];
const CELL_GAP: f32 = 4.0;

/// A font face registered with the document, with what measuring text needs. Shared with the
/// IMBUS poster (`publish::poster`).
pub(crate) struct Face {
    font: ParsedFont,
    id: FontId,
    units_per_em: f32,
}

impl Face {
    pub(crate) fn load(
        doc: &mut PdfDocument,
        bytes: &[u8],
        name: &str,
    ) -> Result<Face, DispatchError> {
        let font = ParsedFont::from_bytes(bytes, 0, &mut Vec::new())
            .ok_or_else(|| DispatchError::Pdf(format!("the bundled font {name} does not parse")))?;
        let id = doc.add_font(&font);
        let units_per_em = f32::from(font.pdf_font_metrics.units_per_em.max(1));
        Ok(Face {
            font,
            id,
            units_per_em,
        })
    }

    /// The advance width of `text` at `size`, in points. Characters the font lacks count as
    /// its missing-glyph box, which is also what the PDF shows.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        let units: u32 = text
            .chars()
            .map(|c| {
                let gid = self.font.lookup_glyph_index(u32::from(c)).unwrap_or(0);
                u32::from(self.font.get_horizontal_advance(gid))
            })
            .sum();
        units as f32 / self.units_per_em * size
    }

    /// Breaks `text` into lines no wider than `width`, at spaces where possible and inside a
    /// word only when the word alone is too wide.
    pub(crate) fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
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
            // The word alone: split it by characters if it still does not fit.
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

/// The operations of one page being drawn.
pub(crate) struct Page<'a> {
    pub(crate) ops: Vec<Op>,
    regular: &'a Face,
    bold: &'a Face,
}

impl<'a> Page<'a> {
    pub(crate) fn new(regular: &'a Face, bold: &'a Face) -> Self {
        Page {
            ops: Vec::new(),
            regular,
            bold,
        }
    }

    /// Writes `text` with its baseline starting at (`x`, `y`).
    pub(crate) fn text(&mut self, bold: bool, size: f32, x: f32, y: f32, text: &str) {
        let face = if bold { self.bold } else { self.regular };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::External(face.id.clone()),
                size: Pt(size),
            },
            Op::SetTextMatrix {
                matrix: TextMatrix::Translate(Pt(x), Pt(y)),
            },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_string())],
            },
            Op::EndTextSection,
        ]);
    }

    /// Writes `text` so that it ends at `right`.
    pub(crate) fn text_right(&mut self, bold: bool, size: f32, right: f32, y: f32, text: &str) {
        let face = if bold { self.bold } else { self.regular };
        let width = face.width(text, size);
        self.text(bold, size, right - width, y, text);
    }

    pub(crate) fn rule(&mut self, y: f32, thickness: f32, grey: f32) {
        self.ops.extend([
            Op::SetOutlineColor {
                col: Color::Greyscale(Greyscale {
                    percent: grey,
                    icc_profile: None,
                }),
            },
            Op::SetOutlineThickness { pt: Pt(thickness) },
            Op::DrawLine {
                line: Line {
                    points: vec![
                        LinePoint {
                            p: Point {
                                x: Pt(MARGIN),
                                y: Pt(y),
                            },
                            bezier: false,
                        },
                        LinePoint {
                            p: Point {
                                x: Pt(PAGE_W - MARGIN),
                                y: Pt(y),
                            },
                            bezier: false,
                        },
                    ],
                    is_closed: false,
                },
            },
        ]);
    }
}

/// One table row, already broken into the lines of each cell.
struct Row {
    cells: Vec<Vec<String>>,
    bold_kind: bool,
    /// The booking code is read out on the phone and typed in: it stays on one line, in a
    /// smaller size if its letters are wide.
    code_size: f32,
}

/// The column of the booking code.
const CODE_COLUMN: usize = 6;

impl Row {
    fn height(&self) -> f32 {
        let lines = self.cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        lines as f32 * BODY_LEAD + ROW_PAD
    }
}

fn row_of(stop: &SheetStop, face: &Face) -> Row {
    let mut person = stop.resident_name.clone();
    if let Some(at) = &stop.appointment_local {
        person.push_str(&format!(" \u{2022} Termin {at} Uhr"));
    }
    let contact = match (&stop.contact_phone, stop.contact_is_region) {
        (Some(phone), false) => phone.clone(),
        (Some(phone), true) => format!("{phone} (Zentrale)"),
        (None, _) => "\u{2013}".to_string(),
    };
    let status = match stop.status.as_str() {
        "done" => " (erledigt)",
        "no_show" => " (nicht angetroffen)",
        _ => "",
    };
    let texts = [
        stop.planned_local.clone(),
        format!("{}{status}", stop.kind_text),
        person,
        stop.place.text(),
        stop.needs_text(),
        contact,
        stop.booking_code.clone(),
    ];
    let cells = texts
        .iter()
        .zip(COLUMNS)
        .enumerate()
        .map(|(i, (text, (_, width)))| {
            if i == CODE_COLUMN {
                return vec![text.clone()];
            }
            // The appointment goes on its own line, so it stands out from the name.
            text.split(" \u{2022} ")
                .flat_map(|part| face.wrap(part, BODY, width - CELL_GAP))
                .collect()
        })
        .collect();
    let code_room = COLUMNS[CODE_COLUMN].1 - CELL_GAP;
    let code_width = face.width(&stop.booking_code, BODY);
    let code_size = if code_width > code_room {
        BODY * code_room / code_width
    } else {
        BODY
    };
    Row {
        cells,
        bold_kind: stop.kind == SheetStopKind::Pickup,
        code_size,
    }
}

/// Renders the run sheet as PDF bytes.
pub fn render(sheet: &RunSheet) -> Result<Vec<u8>, DispatchError> {
    let title = format!("Fahrtenzettel {} {}", sheet.vehicle.name, sheet.date_text);
    let mut doc = PdfDocument::new(&title);
    let regular = Face::load(&mut doc, REGULAR_TTF, "DejaVuSans")?;
    let bold = Face::load(&mut doc, BOLD_TTF, "DejaVuSans-Bold")?;

    let rows: Vec<Row> = sheet.stops.iter().map(|s| row_of(s, &regular)).collect();
    let mut pages: Vec<Page<'_>> = Vec::new();
    let mut page = Page::new(&regular, &bold);
    let mut y = first_header(&mut page, sheet);
    if rows.is_empty() {
        page.text(
            false,
            11.0,
            MARGIN,
            y - 16.0,
            "F\u{fc}r diese Schicht sind keine Halte geplant.",
        );
    } else {
        y = table_header(&mut page, y);
        for row in &rows {
            if y - row.height() < BOTTOM {
                pages.push(page);
                page = Page::new(&regular, &bold);
                y = next_header(&mut page, sheet);
                y = table_header(&mut page, y);
            }
            y = draw_row(&mut page, row, y);
        }
    }
    pages.push(page);

    let total = pages.len();
    let phone = sheet.region.phone.as_deref().unwrap_or("\u{2013}");
    let pdf_pages = pages
        .into_iter()
        .enumerate()
        .map(|(i, mut page)| {
            page.rule(BOTTOM - 6.0, 0.5, 0.5);
            page.text(
                false,
                8.0,
                MARGIN,
                BOTTOM - 18.0,
                &format!("Fahrdienst {} \u{b7} Zentrale: {phone}", sheet.region.name),
            );
            page.text_right(
                false,
                8.0,
                PAGE_W - MARGIN,
                BOTTOM - 18.0,
                &format!("Seite {} von {total}", i + 1),
            );
            PdfPage::new(Mm(210.0), Mm(297.0), page.ops)
        })
        .collect();

    let mut warnings = Vec::new();
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..PdfSaveOptions::default()
    };
    let bytes = doc.with_pages(pdf_pages).save(&options, &mut warnings);
    if bytes.is_empty() {
        return Err(DispatchError::Pdf(format!(
            "printpdf produced nothing: {warnings:?}"
        )));
    }
    Ok(bytes)
}

/// The full header of the first page; returns the y below it.
fn first_header(page: &mut Page<'_>, sheet: &RunSheet) -> f32 {
    let right = PAGE_W - MARGIN;
    let mut y = PAGE_H - MARGIN - 14.0;
    page.text(true, 16.0, MARGIN, y, "Fahrtenzettel");
    page.text_right(true, 12.0, right, y, &sheet.region.name);
    y -= 18.0;
    page.text(true, 11.0, MARGIN, y, &sheet.date_text);
    if let Some(phone) = &sheet.region.phone {
        page.text_right(false, 10.0, right, y, &format!("Zentrale: {phone}"));
    }
    y -= 16.0;
    let wheelchair = match sheet.vehicle.wheelchair_places {
        0 => "kein Rollstuhlplatz".to_string(),
        1 => "1 Rollstuhlplatz".to_string(),
        n => format!("{n} Rollstuhlpl\u{e4}tze"),
    };
    page.text(
        false,
        10.0,
        MARGIN,
        y,
        &format!(
            "Fahrzeug: {} \u{b7} {} Sitzpl\u{e4}tze \u{b7} {wheelchair}",
            sheet.vehicle.name, sheet.vehicle.seats
        ),
    );
    y -= 14.0;
    let driver = sheet.driver_name.as_deref().unwrap_or("nicht eingetragen");
    page.text(false, 10.0, MARGIN, y, &format!("Fahrer/in: {driver}"));
    y -= 14.0;
    let mut shift = format!(
        "Schicht: {} \u{2013} {} Uhr",
        sheet.starts_local, sheet.ends_local
    );
    if let Some(pause) = &sheet.break_ {
        shift.push_str(&format!(
            " \u{b7} Pause: {} Min. ab {} Uhr",
            pause.minutes, pause.after_local
        ));
    }
    page.text(false, 10.0, MARGIN, y, &shift);
    if sheet.shift_status == "cancelled" {
        y -= 16.0;
        page.text(true, 11.0, MARGIN, y, "Diese Schicht ist abgesagt.");
    }
    y - 10.0
}

/// The short header of a continuation page; returns the y below it.
fn next_header(page: &mut Page<'_>, sheet: &RunSheet) -> f32 {
    let y = PAGE_H - MARGIN - 10.0;
    page.text(
        true,
        10.0,
        MARGIN,
        y,
        &format!(
            "Fahrtenzettel \u{b7} {} \u{b7} {} (Fortsetzung)",
            sheet.date_text, sheet.vehicle.name
        ),
    );
    page.text_right(true, 10.0, PAGE_W - MARGIN, y, &sheet.region.name);
    y - 8.0
}

/// The column headings; returns the y below them.
fn table_header(page: &mut Page<'_>, top: f32) -> f32 {
    let y = top - 12.0;
    let mut x = MARGIN;
    for (heading, width) in COLUMNS {
        page.text(true, BODY, x, y, heading);
        x += width;
    }
    page.rule(y - 4.0, 0.8, 0.0);
    y - 4.0
}

/// One row below `top`; returns the y below it.
fn draw_row(page: &mut Page<'_>, row: &Row, top: f32) -> f32 {
    let mut x = MARGIN;
    for (i, (lines, (_, width))) in row.cells.iter().zip(COLUMNS).enumerate() {
        let bold = i == 0 || (i == 1 && row.bold_kind);
        let size = if i == CODE_COLUMN {
            row.code_size
        } else {
            BODY
        };
        for (n, line) in lines.iter().enumerate() {
            let y = top - BODY_LEAD * (n as f32 + 1.0) + 1.0;
            page.text(bold, size, x, y, line);
        }
        x += width;
    }
    let bottom = top - row.height();
    page.rule(bottom + 1.0, 0.3, 0.6);
    bottom
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fill_the_content_width() {
        let sum: f32 = COLUMNS.iter().map(|(_, w)| w).sum();
        let content = PAGE_W - 2.0 * MARGIN;
        assert!((sum - content).abs() < 1.0, "{sum} vs {content}");
    }

    #[test]
    fn the_widest_booking_code_stays_on_one_line_within_its_column() {
        let mut doc = PdfDocument::new("t");
        let face = Face::load(&mut doc, REGULAR_TTF, "regular").unwrap();
        let sheet_stop = |code: &str| SheetStop {
            booking_code: code.into(),
            ..crate::dispatch::runsheet::tests::stop()
        };
        for code in ["WWWW-WWWW-W", "2345-6789-A"] {
            let row = row_of(&sheet_stop(code), &face);
            assert_eq!(row.cells[CODE_COLUMN], vec![code.to_string()]);
            assert!(
                row.code_size <= BODY && row.code_size > 6.0,
                "{}",
                row.code_size
            );
            let room = COLUMNS[CODE_COLUMN].1 - CELL_GAP;
            assert!(face.width(code, row.code_size) <= room + 0.01, "{code}");
        }
    }

    #[test]
    fn wrapping_keeps_lines_within_the_width_and_loses_no_word() {
        let mut doc = PdfDocument::new("t");
        let face = Face::load(&mut doc, REGULAR_TTF, "regular").unwrap();
        let text = "Hausarztpraxis Dr. Berger, Markt 3, Schöppenstedt";
        let lines = face.wrap(text, BODY, 80.0);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(face.width(line, BODY) <= 80.0, "{line}");
        }
        assert_eq!(lines.join(" "), text);
        // A word wider than the column is split rather than overflowing.
        let long = face.wrap("Donaudampfschifffahrtsgesellschaft", BODY, 40.0);
        assert!(long.len() > 1);
        assert_eq!(long.concat(), "Donaudampfschifffahrtsgesellschaft");
    }
}
