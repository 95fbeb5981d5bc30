//! The printable PDF report (A4), drawn with `printpdf` in DejaVu Sans, which is embedded in the
//! binary (`reporter/assets/fonts/`, its licence beside it) and covers Latin, Cyrillic and the
//! Kazakh letters ә ғ қ ң ө ұ ү һ і. Text is embedded with a ToUnicode map, so it can be
//! searched and copied (and `pdftotext` extracts it).
//!
//! Layout is simple and predictable: lines wrapped at word boundaries by the font's own advance
//! widths (a word wider than the line — a URL, a hash — is broken between characters), new pages
//! as needed. A character the font lacks is drawn as `?`; control characters become spaces.

use std::sync::LazyLock;

use printpdf::{
    Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, TextItem,
};

use super::html::{case_view, period, tz};
use super::weekly::WeeklyReport;
use super::{ReportError, human_time};

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`).
pub const FONT_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

static FONT: LazyLock<Option<ParsedFont>> =
    LazyLock::new(|| ParsedFont::from_bytes(FONT_TTF, 0, &mut Vec::new()));

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 15.0;
const PT_PER_MM: f32 = 72.0 / 25.4;

/// Whether the embedded font has a glyph for `c`.
pub fn has_glyph(c: char) -> bool {
    FONT.as_ref()
        .and_then(|f| f.lookup_glyph_index(c as u32))
        .is_some_and(|g| g != 0)
}

struct Layout<'f> {
    font: &'f ParsedFont,
    font_handle: PdfFontHandle,
    pages: Vec<PdfPage>,
    ops: Vec<Op>,
    /// Current baseline, mm from the bottom.
    y: f32,
}

impl<'f> Layout<'f> {
    fn new(font: &'f ParsedFont, font_handle: PdfFontHandle) -> Self {
        Layout {
            font,
            font_handle,
            pages: Vec::new(),
            ops: Vec::new(),
            y: PAGE_H - MARGIN,
        }
    }

    /// Width of `s` at `size` pt, in mm.
    fn width_mm(&self, s: &str, size: f32) -> f32 {
        let upem = f32::from(self.font.units_per_em.max(1));
        let units: f32 = s
            .chars()
            .map(|c| {
                self.font
                    .lookup_glyph_index(c as u32)
                    .and_then(|g| self.font.get_glyph_width(g))
                    .map(f32::from)
                    .unwrap_or(upem * 0.6)
            })
            .sum();
        units / upem * size / PT_PER_MM
    }

    fn clean(&self, s: &str) -> String {
        s.chars()
            .map(|c| {
                if c.is_control() {
                    ' '
                } else if self
                    .font
                    .lookup_glyph_index(c as u32)
                    .is_some_and(|g| g != 0)
                {
                    c
                } else {
                    '?'
                }
            })
            .collect()
    }

    /// Splits `text` into lines no wider than `width` mm.
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if self.width_mm(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone; break it between characters when it is still too wide.
            for c in word.chars() {
                let mut next = line.clone();
                next.push(c);
                if !line.is_empty() && self.width_mm(&next, size) > width {
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                } else {
                    line = next;
                }
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    fn new_page(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops));
        self.y = PAGE_H - MARGIN;
    }

    /// Writes a paragraph at `indent` mm, wrapped, then `gap` mm of space.
    fn para(&mut self, text: &str, size: f32, indent: f32, gap: f32) {
        let line_h = size * 1.35 / PT_PER_MM;
        let width = PAGE_W - 2.0 * MARGIN - indent;
        let text = self.clean(text);
        for line in self.wrap(&text, size, width) {
            if self.y - line_h < MARGIN {
                self.new_page();
            }
            self.y -= line_h;
            self.ops.extend([
                Op::StartTextSection,
                Op::SetFont {
                    font: self.font_handle.clone(),
                    size: Pt(size),
                },
                Op::SetTextCursor {
                    pos: Point::new(Mm(MARGIN + indent), Mm(self.y)),
                },
                Op::ShowText {
                    items: vec![TextItem::Text(line)],
                },
                Op::EndTextSection,
            ]);
        }
        self.y -= gap;
    }

    fn finish(mut self) -> Vec<PdfPage> {
        if !self.ops.is_empty() || self.pages.is_empty() {
            self.new_page();
        }
        self.pages
    }
}

/// Renders the report as PDF bytes.
pub fn render(report: &WeeklyReport) -> Result<Vec<u8>, ReportError> {
    let font = FONT.as_ref().ok_or_else(|| ReportError::Render {
        format: "pdf",
        reason: "the embedded font cannot be parsed".into(),
    })?;
    let title = format!("Kuzet weekly report {}", report.week);
    let mut doc = PdfDocument::new(&title);
    let handle = PdfFontHandle::External(doc.add_font(font));
    let mut l = Layout::new(font, handle);

    l.para(
        &format!("Kuzet — weekly report {}", report.week),
        16.0,
        0.0,
        1.0,
    );
    l.para("Еженедельный отчёт · Апталық есеп", 11.0, 0.0, 2.0);
    l.para(
        &format!(
            "Period: {} ({}). Generated {}.{}",
            period(report),
            tz(report),
            human_time(report.generated_at),
            if report.complete {
                ""
            } else {
                " The week is not over yet: this report is partial."
            }
        ),
        9.0,
        0.0,
        1.0,
    );
    l.para(
        &format!(
            "Confirmed cases: {}. URLs are printed as text; open them only from an isolated machine.",
            report.cases.len()
        ),
        9.0,
        0.0,
        4.0,
    );
    if report.cases.is_empty() {
        l.para("No case was confirmed in this week.", 10.0, 0.0, 0.0);
    }
    for c in report.cases.iter().map(case_view) {
        l.para(&format!("Case #{}: {}", c.id, c.title), 12.0, 0.0, 1.0);
        l.para(
            &format!(
                "Status {} · score {} · confirmed {} · first seen {} · last seen {}",
                c.status, c.score, c.confirmed, c.first_seen, c.last_seen
            ),
            8.5,
            0.0,
            2.0,
        );
        l.para("Pages", 10.0, 0.0, 0.5);
        for p in &c.pages {
            l.para(&format!("• {}", p.url), 8.5, 2.0, 0.0);
            if p.final_url != p.url {
                l.para(&format!("→ {}", p.final_url), 8.5, 6.0, 0.0);
            }
            if !p.title.is_empty() {
                l.para(&format!("Title: {}", p.title), 8.5, 6.0, 0.0);
            }
            l.para(
                &format!(
                    "Fetched {} (HTTP {}) · verdict {}",
                    p.fetched, p.status, p.verdict
                ),
                8.5,
                6.0,
                0.0,
            );
            l.para(&format!("sha256:{}", p.content_hash), 8.0, 6.0, 0.0);
            if !p.warc.is_empty() {
                l.para(&p.warc, 8.0, 6.0, 0.0);
            }
            l.y -= 1.0;
        }
        l.para("Indicators", 10.0, 0.0, 0.5);
        if c.indicators.is_empty() {
            l.para("None.", 8.5, 2.0, 0.0);
        }
        for i in &c.indicators {
            l.para(
                &format!(
                    "• {}: {} (first seen {}, last seen {}, {} page(s))",
                    i.kind, i.value, i.first_seen, i.last_seen, i.pages
                ),
                8.5,
                2.0,
                0.0,
            );
        }
        l.y -= 1.0;
        l.para("Reviewer decisions", 10.0, 0.0, 0.5);
        if c.reviews.is_empty() {
            l.para("None recorded.", 8.5, 2.0, 0.0);
        }
        for r in &c.reviews {
            let note = if r.note.is_empty() {
                String::new()
            } else {
                format!(": {}", r.note)
            };
            l.para(
                &format!("• {} {} by {}{}", r.at, r.action, r.reviewer, note),
                8.5,
                2.0,
                0.0,
            );
        }
        l.y -= 5.0;
    }
    let pages = l.finish();
    let mut warnings = Vec::new();
    let bytes = doc
        .with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut warnings);
    if bytes.is_empty() {
        return Err(ReportError::Render {
            format: "pdf",
            reason: format!("printpdf produced no output: {warnings:?}"),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_covers_russian_and_kazakh() {
        let letters = "АаБбВвЁёЖжЩщЪъЫыЭэЮюЯя ӘәҒғҚқҢңӨөҰұҮүҺһІі";
        for c in letters.chars().filter(|c| !c.is_whitespace()) {
            assert!(has_glyph(c), "no glyph for {c:?} U+{:04X}", c as u32);
        }
    }
}
