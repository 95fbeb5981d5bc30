//! The readable HTML report: one self-contained page (inline CSS, no scripts, no images, no
//! live links), every crawled string escaped by askama, and a Content-Security-Policy that
//! forbids scripts even if something slipped through.

use askama::Template;

use super::weekly::{CaseEntry, WeeklyReport};
use super::{ReportError, human_time};

/// A case with its times and numbers already formatted (shared with the PDF writer).
pub(crate) struct CaseView {
    pub id: i64,
    pub status: String,
    pub title: String,
    pub score: String,
    pub confirmed: String,
    pub first_seen: String,
    pub last_seen: String,
    pub pages: Vec<PageView>,
    pub indicators: Vec<IndicatorView>,
    pub reviews: Vec<ReviewView>,
}

pub(crate) struct PageView {
    pub url: String,
    pub final_url: String,
    pub title: String,
    pub fetched: String,
    pub status: i64,
    pub verdict: String,
    pub content_hash: String,
    pub warc: String,
}

pub(crate) struct IndicatorView {
    pub kind: String,
    pub value: String,
    pub first_seen: String,
    pub last_seen: String,
    pub pages: usize,
}

pub(crate) struct ReviewView {
    pub at: String,
    pub reviewer: String,
    pub action: String,
    pub note: String,
}

fn opt_time(t: Option<i64>) -> String {
    t.map(human_time).unwrap_or_else(|| "—".into())
}

pub(crate) fn case_view(c: &CaseEntry) -> CaseView {
    CaseView {
        id: c.id,
        status: c.status.clone(),
        title: c.title.clone(),
        score: format!("{:.2}", c.score),
        confirmed: human_time(c.confirmed_at),
        first_seen: opt_time(c.first_seen),
        last_seen: opt_time(c.last_seen),
        pages: c
            .pages
            .iter()
            .map(|p| PageView {
                url: p.url.clone(),
                final_url: p.final_url.clone(),
                title: p.title.clone().unwrap_or_default(),
                fetched: human_time(p.fetched_at),
                status: p.status,
                verdict: p
                    .verdict
                    .as_ref()
                    .map(|v| format!("{} {:.2} (rules {})", v.verdict, v.score, v.rules_version))
                    .unwrap_or_else(|| "—".into()),
                content_hash: p.content_hash.clone(),
                warc: p
                    .warc
                    .as_ref()
                    .map(|w| {
                        let mut s = format!("WARC {} @{}+{}", w.file, w.offset, w.length);
                        if let Some(d) = &w.digest {
                            s.push_str(&format!(" {d}"));
                        }
                        s
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        indicators: c
            .indicators
            .iter()
            .map(|i| IndicatorView {
                kind: i.kind.clone(),
                value: i.value.clone(),
                first_seen: human_time(i.first_seen),
                last_seen: human_time(i.last_seen),
                pages: i.pages,
            })
            .collect(),
        reviews: c
            .reviews
            .iter()
            .map(|r| ReviewView {
                at: human_time(r.at),
                reviewer: r.reviewer.clone().unwrap_or_else(|| "system".into()),
                action: r.action.clone(),
                note: r.note.clone(),
            })
            .collect(),
    }
}

pub(crate) fn period(report: &WeeklyReport) -> String {
    format!(
        "{} – {}",
        human_time(report.period_start),
        human_time(report.period_end)
    )
}

pub(crate) fn tz(report: &WeeklyReport) -> String {
    let m = report.utc_offset_minutes;
    let sign = if m < 0 { '-' } else { '+' };
    format!(
        "weeks start Monday 00:00 UTC{sign}{:02}:{:02}",
        m.abs() / 60,
        m.abs() % 60
    )
}

#[derive(Template)]
#[template(path = "report/weekly.html")]
struct WeeklyHtml {
    week: String,
    period: String,
    tz: String,
    generated: String,
    complete: bool,
    cases: Vec<CaseView>,
    field: crate::volunteer::store::Figures,
    td: crate::takedown::stats::Figures,
    td_median: String,
    td_p90: String,
}

fn duration_text(ms: Option<i64>) -> String {
    match ms {
        None => "—".into(),
        Some(ms) => format!("{:.1} days", ms as f64 / 86_400_000.0),
    }
}

/// Renders the report as one HTML document.
pub fn render(report: &WeeklyReport) -> Result<String, ReportError> {
    WeeklyHtml {
        week: report.week.to_string(),
        period: period(report),
        tz: tz(report),
        generated: human_time(report.generated_at),
        complete: report.complete,
        cases: report.cases.iter().map(case_view).collect(),
        td: report.takedown.clone(),
        td_median: duration_text(report.takedown.median_ms_to_takedown),
        td_p90: duration_text(report.takedown.p90_ms_to_takedown),
        field: report.field.clone(),
    }
    .render()
    .map_err(|e| ReportError::Render {
        format: "html",
        reason: e.to_string(),
    })
}
