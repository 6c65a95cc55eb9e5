//! Lines of text as positioned glyphs: the bidirectional algorithm (`unicode-bidi`) splits a line
//! into runs in visual order and HarfBuzz's shaper (`harfrust`) turns each run into the font's
//! glyphs, so Arabic letters join and read right to left. printpdf sets Latin and Cyrillic text
//! itself, but it neither shapes nor reorders: lines with right-to-left letters go into the PDF as
//! these glyph ids, each with the characters it stands for (the PDF's ToUnicode map, so a reader
//! copies the words in logical order). The receipt raster draws every line from here, with glyph
//! outlines from `skrifa` filled by `tiny-skia`.

use harfrust::{Direction, FontRef, ShaperData, UnicodeBuffer};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};
use skrifa::outline::{DrawSettings, OutlinePen};
use skrifa::raw::TableProvider;
use tiny_skia::{FillRule, Paint, PathBuilder, Pixmap, Transform};
use unicode_bidi::BidiInfo;

/// A glyph of a shaped line, in visual order (left to right on the paper).
#[derive(Clone, Debug, PartialEq)]
pub struct Glyph {
    pub gid: u16,
    /// How far the pen moves after it, in font units.
    pub advance: i32,
    /// The characters this glyph stands for, on the first glyph of a cluster; `None` on further
    /// glyphs of the same cluster. Like the glyphs, they are in visual order: a ligature of a
    /// right-to-left run (lam-alef) holds its letters reversed, as a PDF reader reverses the
    /// whole run back into logical order when it extracts the text.
    pub text: Option<String>,
}

/// Whether `c` is a letter written right to left (Hebrew, Arabic and their presentation forms).
fn right_to_left_letter(c: char) -> bool {
    matches!(u32::from(c), 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

/// Whether the line holds right-to-left letters, which printpdf cannot set itself.
pub fn needs_shaping(text: &str) -> bool {
    text.chars().any(right_to_left_letter)
}

/// Whether the line reads right to left (its first strong letter does): it is set flush right.
pub fn right_to_left(text: &str) -> bool {
    unicode_bidi::get_base_direction(text) == unicode_bidi::Direction::Rtl
}

/// Shapes one line (no line breaks) with the font `bytes`; the glyphs in visual order. A font
/// that does not parse gives no glyphs.
pub fn shape(bytes: &[u8], text: &str) -> Vec<Glyph> {
    let Ok(font) = FontRef::new(bytes) else {
        return Vec::new();
    };
    let data = ShaperData::new(&font);
    let shaper = data.shaper(&font).build();
    let bidi = BidiInfo::new(text, None);
    let mut glyphs = Vec::new();
    for paragraph in &bidi.paragraphs {
        let (levels, runs) = bidi.visual_runs(paragraph, paragraph.range.clone());
        for run in runs {
            let slice = &text[run.clone()];
            let mut buffer = UnicodeBuffer::new();
            buffer.push_str(slice);
            let rtl = levels[run.start].is_rtl();
            buffer.set_direction(if rtl {
                Direction::RightToLeft
            } else {
                Direction::LeftToRight
            });
            buffer.guess_segment_properties();
            let shaped = shaper.shape(buffer, harfrust::ShapeOptions::new());
            // Cluster values are byte offsets into the run; a cluster ends where the next
            // (in logical order) begins.
            let mut starts: Vec<usize> = shaped
                .glyph_infos()
                .iter()
                .map(|g| g.cluster as usize)
                .collect();
            starts.sort_unstable();
            starts.dedup();
            let mut given = vec![false; starts.len()];
            for (info, position) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
                let start = info.cluster as usize;
                let index = starts.partition_point(|&s| s < start);
                let end = starts.get(index + 1).copied().unwrap_or(slice.len());
                let text = match given.get_mut(index) {
                    Some(seen) if !*seen => {
                        *seen = true;
                        slice.get(start..end).map(|t| {
                            if rtl {
                                t.chars().rev().collect()
                            } else {
                                t.to_string()
                            }
                        })
                    }
                    _ => None,
                };
                glyphs.push(Glyph {
                    gid: u16::try_from(info.glyph_id).unwrap_or(0),
                    advance: position.x_advance,
                    text,
                });
            }
        }
    }
    glyphs
}

/// The font's units per em (1000 when it cannot be read).
pub fn units_per_em(bytes: &[u8]) -> f32 {
    skrifa::FontRef::new(bytes)
        .ok()
        .map(|f| f32::from(f.head().map(|h| h.units_per_em()).unwrap_or(1000)))
        .unwrap_or(1000.0)
}

/// The width of a shaped line at `size` (in the unit of `size`).
pub fn width(bytes: &[u8], text: &str, size: f32) -> f32 {
    let units: i32 = shape(bytes, text).iter().map(|g| g.advance).sum();
    units as f32 / units_per_em(bytes) * size
}

/// Draws a glyph outline into a tiny-skia path, flipping y (fonts go up, pixels down).
struct Pen {
    path: PathBuilder,
    x: f32,
    y: f32,
}

impl OutlinePen for Pen {
    fn move_to(&mut self, x: f32, y: f32) {
        self.path.move_to(self.x + x, self.y - y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.path.line_to(self.x + x, self.y - y);
    }
    fn quad_to(&mut self, cx0: f32, cy0: f32, x: f32, y: f32) {
        self.path
            .quad_to(self.x + cx0, self.y - cy0, self.x + x, self.y - y);
    }
    fn curve_to(&mut self, cx0: f32, cy0: f32, cx1: f32, cy1: f32, x: f32, y: f32) {
        self.path.cubic_to(
            self.x + cx0,
            self.y - cy0,
            self.x + cx1,
            self.y - cy1,
            self.x + x,
            self.y - y,
        );
    }
    fn close(&mut self) {
        self.path.close();
    }
}

/// Fills the shaped line `text` into `pixmap`: pen starting at `x`, on `baseline`, `size` pixels
/// per em, without anti-aliasing (a thermal printer has only black and white).
pub fn fill_line(
    pixmap: &mut Pixmap,
    bytes: &[u8],
    text: &str,
    size: f32,
    x: f32,
    baseline: f32,
    paint: &Paint<'_>,
) {
    let Ok(font) = skrifa::FontRef::new(bytes) else {
        return;
    };
    let outlines = font.outline_glyphs();
    let scale = size / units_per_em(bytes);
    let mut pen_x = x;
    let mut pen = Pen {
        path: PathBuilder::new(),
        x,
        y: baseline,
    };
    for glyph in shape(bytes, text) {
        if let Some(outline) = outlines.get(skrifa::GlyphId::new(u32::from(glyph.gid))) {
            pen.x = pen_x;
            let settings = DrawSettings::unhinted(Size::new(size), LocationRef::default());
            // A glyph that does not draw is left out; the rest of the line still prints.
            let _ = outline.draw(settings, &mut pen);
        }
        pen_x += glyph.advance as f32 * scale;
    }
    if let Some(path) = pen.path.finish() {
        pixmap.fill_path(&path, paint, FillRule::Winding, Transform::identity(), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

    #[test]
    fn arabic_joins_and_runs_right_to_left() {
        let word = "رحلة";
        assert!(needs_shaping(word) && right_to_left(word));
        let glyphs = shape(FONT, word);
        assert_eq!(glyphs.len(), 4);
        // Visual order: the last letter (teh marbuta) comes first on the paper, the first
        // letter (reh) last; each glyph stands for its letter.
        let texts: Vec<&str> = glyphs.iter().filter_map(|g| g.text.as_deref()).collect();
        assert_eq!(texts, ["ة", "ل", "ح", "ر"]);
        // Joined forms, not the isolated letters the font's cmap gives.
        let charmap = skrifa::FontRef::new(FONT).unwrap().charmap();
        let isolated = charmap.map('ح').unwrap().to_u32();
        assert_ne!(u32::from(glyphs[2].gid), isolated, "medial hah");
    }

    #[test]
    fn lam_alef_is_one_glyph_for_two_letters() {
        let glyphs = shape(FONT, "لا");
        assert_eq!(glyphs.len(), 1);
        // Lam then alef, stored in visual order (alef left of lam).
        assert_eq!(glyphs[0].text.as_deref(), Some("ال"));
    }

    #[test]
    fn latin_stays_left_to_right_and_mixed_lines_keep_both() {
        assert!(!needs_shaping("Bärnreuth") && !right_to_left("Bärnreuth"));
        let glyphs = shape(FONT, "Mo / الاثنين");
        let texts: String = glyphs.iter().filter_map(|g| g.text.clone()).collect();
        assert!(texts.starts_with("Mo / "), "{texts}");
        assert!(!right_to_left("Mo / الاثنين"));
        assert!(width(FONT, "Mo", 10.0) > 5.0);
    }
}
