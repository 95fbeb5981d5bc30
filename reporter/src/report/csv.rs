//! The CSV export: one row per page of each case (a case without pages gets one row with the
//! page columns empty), UTF-8 with a header row, RFC 4180 quoting by the `csv` crate.
//!
//! Crawled text is hostile, also to spreadsheets: a text cell that starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return is prefixed with `'` so that no spreadsheet evaluates it as
//! a formula (OWASP's advice on CSV injection). Times are RFC 3339 UTC.

use super::weekly::WeeklyReport;
use super::{ReportError, rfc3339_ms};

/// The header row.
pub const HEADER: [&str; 22] = [
    "week",
    "case_id",
    "case_status",
    "case_title",
    "case_score",
    "confirmed_at",
    "case_first_seen",
    "case_last_seen",
    "page_id",
    "page_url",
    "final_url",
    "page_title",
    "fetched_at",
    "http_status",
    "content_sha256",
    "warc_file",
    "warc_offset",
    "warc_length",
    "warc_record_id",
    "warc_digest",
    "indicators",
    "decisions",
];

/// Makes a text cell safe to open in a spreadsheet.
pub fn safe_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// Renders the report as CSV bytes.
pub fn render(report: &WeeklyReport) -> Result<Vec<u8>, ReportError> {
    let err = |e: csv::Error| ReportError::Render {
        format: "csv",
        reason: e.to_string(),
    };
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(HEADER).map_err(err)?;
    let week = report.week.to_string();
    for c in &report.cases {
        let indicators = c
            .indicators
            .iter()
            .map(|i| format!("{}:{}", i.kind, i.value))
            .collect::<Vec<_>>()
            .join("; ");
        let decisions = c
            .reviews
            .iter()
            .map(|r| {
                let who = r.reviewer.as_deref().unwrap_or("system");
                let mut s = format!("{} {} by {}", rfc3339_ms(r.at), r.action, who);
                if !r.note.is_empty() {
                    s.push_str(&format!(": {}", r.note));
                }
                s
            })
            .collect::<Vec<_>>()
            .join("; ");
        let case_cols = [
            week.clone(),
            c.id.to_string(),
            c.status.clone(),
            safe_cell(&c.title),
            format!("{:.3}", c.score),
            rfc3339_ms(c.confirmed_at),
            c.first_seen.map(rfc3339_ms).unwrap_or_default(),
            c.last_seen.map(rfc3339_ms).unwrap_or_default(),
        ];
        let tail = [safe_cell(&indicators), safe_cell(&decisions)];
        if c.pages.is_empty() {
            let blanks = std::iter::repeat_n(String::new(), 12);
            w.write_record(
                case_cols
                    .iter()
                    .cloned()
                    .chain(blanks)
                    .chain(tail.iter().cloned()),
            )
            .map_err(err)?;
        }
        for p in &c.pages {
            let warc = p.warc.as_ref();
            let page_cols = [
                p.id.to_string(),
                safe_cell(&p.url),
                safe_cell(&p.final_url),
                safe_cell(p.title.as_deref().unwrap_or("")),
                rfc3339_ms(p.fetched_at),
                p.status.to_string(),
                p.content_hash.clone(),
                warc.map(|w| safe_cell(&w.file)).unwrap_or_default(),
                warc.map(|w| w.offset.to_string()).unwrap_or_default(),
                warc.map(|w| w.length.to_string()).unwrap_or_default(),
                warc.and_then(|w| w.record_id.as_deref())
                    .map(safe_cell)
                    .unwrap_or_default(),
                warc.and_then(|w| w.digest.as_deref())
                    .map(safe_cell)
                    .unwrap_or_default(),
            ];
            w.write_record(
                case_cols
                    .iter()
                    .cloned()
                    .chain(page_cols)
                    .chain(tail.iter().cloned()),
            )
            .map_err(err)?;
        }
    }
    w.into_inner().map_err(|e| ReportError::Render {
        format: "csv",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+77011234567"), "'+77011234567");
        assert_eq!(safe_cell("@shop"), "'@shop");
        assert_eq!(safe_cell("-1"), "'-1");
        assert_eq!(safe_cell("Магазин"), "Магазин");
        assert_eq!(safe_cell(""), "");
    }
}
