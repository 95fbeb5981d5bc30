//! One HTML page → links, images and visible text, from a single `scraper` parse.
//!
//! The page is parsed once here; the visible text goes to the classifier from [`ParsedPage::text`]
//! (so the classifier does not parse the page a second time). URLs are resolved against the first
//! valid `<base href>` (itself resolved against the page URL), canonicalised with
//! [`crate::url::canonicalize`], and kept only when http(s); others are counted in
//! [`ParsedPage::dropped_urls`]. Every list is capped by [`ParseLimits`]. Malformed HTML is repaired
//! by the html5ever parser as browsers do; nothing here fails on hostile input.

use std::collections::HashSet;
use std::sync::LazyLock;

use scraper::{ElementRef, Html, Node, Selector};
use url::Url;

use crate::url::join_canonical;

/// Caps of one parse. `Default` gives the documented values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimits {
    /// Most links kept. Default 5000.
    pub max_links: usize,
    /// Most images kept. Default 1000.
    pub max_images: usize,
    /// Most bytes of visible text. Default 1 MiB.
    pub max_text_bytes: usize,
    /// Deepest element nesting parsed; the document is cut where it goes deeper. HTML parsers
    /// spend time proportional to the nesting depth on every tag, so a hostile page of 50,000
    /// nested `<div>`s would otherwise cost minutes. Default 1024.
    pub max_nesting: usize,
    /// Most characters of one anchor text. Default 200.
    pub max_anchor_chars: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_links: 5000,
            max_images: 1000,
            max_text_bytes: 1024 * 1024,
            max_nesting: 1024,
            max_anchor_chars: 200,
        }
    }
}

/// Where a link was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// `<a href>`
    Anchor,
    /// `<area href>`
    Area,
    /// `<frame src>` or `<iframe src>`
    Frame,
    /// `<meta http-equiv="refresh" content="N; url=…">`
    MetaRefresh,
    /// `<link rel="canonical" href>`
    Canonical,
}

/// One outgoing link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Canonical absolute URL.
    pub url: Url,
    /// Where it was found.
    pub kind: LinkKind,
    /// Anchor text (or `alt`/`title`), whitespace-collapsed and capped; context for focused-crawl priority.
    pub text: String,
    /// `rel` contains `nofollow`.
    pub nofollow: bool,
}

/// Where an image reference was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// `<img src>` (or lazy-loading `data-src`)
    Img,
    /// A `srcset` candidate of `<img>` or `<source>`
    Srcset,
    /// `og:image` / `twitter:image`
    OgImage,
}

/// One image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Canonical absolute URL.
    pub url: Url,
    /// Where it was found.
    pub kind: ImageKind,
    /// The `alt` text, if any.
    pub alt: String,
}

/// What one page yields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedPage {
    /// `<title>`, whitespace-collapsed.
    pub title: Option<String>,
    /// Visible text: no script, style, template or head content; block elements on their own lines.
    pub text: String,
    /// Outgoing links, first occurrence of each URL.
    pub links: Vec<Link>,
    /// Image references, first occurrence of each URL.
    pub images: Vec<ImageRef>,
    /// URLs that failed to resolve or were not http(s).
    pub dropped_urls: usize,
    /// Whether a cap cut links, images or text.
    pub truncated: bool,
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("constant selector")
}

static BASE: LazyLock<Selector> = LazyLock::new(|| sel("base[href]"));
static TITLE: LazyLock<Selector> = LazyLock::new(|| sel("title"));
static LINKS: LazyLock<Selector> = LazyLock::new(|| {
    sel("a[href], area[href], frame[src], iframe[src], link[rel][href], meta[http-equiv][content]")
});
static IMAGES: LazyLock<Selector> =
    LazyLock::new(|| sel("img, source[srcset], meta[property][content], meta[name][content]"));

/// Elements whose content is never visible text.
const HIDDEN: &[&str] = &[
    "script", "style", "noscript", "template", "head", "svg", "math", "iframe", "object",
];

/// Elements that break lines in rendered text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "td",
    "th",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "blockquote",
    "pre",
    "hr",
    "form",
    "dd",
    "dt",
    "dl",
    "figure",
    "figcaption",
    "address",
    "option",
    "title",
];

/// Parses decoded HTML of the page at `page_url`.
pub fn parse_html(html: &str, page_url: &Url, limits: &ParseLimits) -> ParsedPage {
    let doc = Html::parse_document(cut_deep_nesting(html, limits.max_nesting));
    parse_document(&doc, page_url, limits)
}

/// Same as [`parse_html`] on an already parsed document.
pub fn parse_document(doc: &Html, page_url: &Url, limits: &ParseLimits) -> ParsedPage {
    let base = doc
        .select(&BASE)
        .filter_map(|e| e.value().attr("href"))
        .find_map(|h| page_url.join(h.trim()).ok())
        .unwrap_or_else(|| page_url.clone());
    let mut page = ParsedPage {
        title: doc
            .select(&TITLE)
            .next()
            .map(|t| collapse(&t.text().collect::<String>(), usize::MAX)),
        ..ParsedPage::default()
    };
    let mut seen_links = HashSet::new();
    for el in doc.select(&LINKS) {
        let v = el.value();
        let (href, kind) = match v.name() {
            "a" => (v.attr("href"), LinkKind::Anchor),
            "area" => (v.attr("href"), LinkKind::Area),
            "frame" | "iframe" => (v.attr("src"), LinkKind::Frame),
            "link" if has_token(v.attr("rel"), "canonical") => {
                (v.attr("href"), LinkKind::Canonical)
            }
            "meta"
                if v.attr("http-equiv")
                    .is_some_and(|h| h.eq_ignore_ascii_case("refresh")) =>
            {
                (
                    v.attr("content").and_then(refresh_url),
                    LinkKind::MetaRefresh,
                )
            }
            _ => continue,
        };
        let Some(href) = href else { continue };
        let Ok(url) = join_canonical(&base, href) else {
            page.dropped_urls += 1;
            continue;
        };
        if !seen_links.insert(url.as_str().to_string()) {
            continue;
        }
        if page.links.len() >= limits.max_links {
            page.truncated = true;
            break;
        }
        let text = match kind {
            LinkKind::Anchor => {
                let t = collapse(&el.text().collect::<String>(), limits.max_anchor_chars);
                if t.is_empty() {
                    img_alt(el)
                        .or(v.attr("title").map(str::to_string))
                        .unwrap_or_default()
                } else {
                    t
                }
            }
            LinkKind::Area => v
                .attr("alt")
                .map(|a| collapse(a, limits.max_anchor_chars))
                .unwrap_or_default(),
            _ => v
                .attr("title")
                .map(|a| collapse(a, limits.max_anchor_chars))
                .unwrap_or_default(),
        };
        let nofollow = has_token(v.attr("rel"), "nofollow");
        page.links.push(Link {
            url,
            kind,
            text,
            nofollow,
        });
    }
    let mut seen_images = HashSet::new();
    'images: for el in doc.select(&IMAGES) {
        let v = el.value();
        let mut found: Vec<(&str, ImageKind)> = Vec::new();
        match v.name() {
            "img" => {
                if let Some(src) = v
                    .attr("src")
                    .filter(|s| !s.trim().is_empty())
                    .or(v.attr("data-src"))
                {
                    found.push((src, ImageKind::Img));
                }
                found.extend(
                    v.attr("srcset")
                        .into_iter()
                        .flat_map(srcset_urls)
                        .map(|u| (u, ImageKind::Srcset)),
                );
            }
            "source" => found.extend(
                v.attr("srcset")
                    .into_iter()
                    .flat_map(srcset_urls)
                    .map(|u| (u, ImageKind::Srcset)),
            ),
            "meta" => {
                let key = v
                    .attr("property")
                    .or(v.attr("name"))
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if matches!(
                    key.as_str(),
                    "og:image" | "og:image:url" | "og:image:secure_url" | "twitter:image"
                ) && let Some(c) = v.attr("content")
                {
                    found.push((c, ImageKind::OgImage));
                }
            }
            _ => {}
        }
        for (href, kind) in found {
            let Ok(url) = join_canonical(&base, href) else {
                page.dropped_urls += 1;
                continue;
            };
            if !seen_images.insert(url.as_str().to_string()) {
                continue;
            }
            if page.images.len() >= limits.max_images {
                page.truncated = true;
                break 'images;
            }
            let alt = v
                .attr("alt")
                .map(|a| collapse(a, limits.max_anchor_chars))
                .unwrap_or_default();
            page.images.push(ImageRef { url, kind, alt });
        }
    }
    let (text, cut) = visible_text(doc, limits.max_text_bytes);
    page.text = text;
    page.truncated |= cut;
    page
}

fn has_token(attr: Option<&str>, token: &str) -> bool {
    attr.is_some_and(|a| {
        a.split_ascii_whitespace()
            .any(|t| t.eq_ignore_ascii_case(token))
    })
}

fn img_alt(el: ElementRef<'_>) -> Option<String> {
    static IMG: LazyLock<Selector> = LazyLock::new(|| sel("img[alt]"));
    el.select(&IMG)
        .find_map(|i| i.value().attr("alt"))
        .map(|a| collapse(a, 200))
        .filter(|a| !a.is_empty())
}

/// The URL of a meta refresh `content` (`5; url=/next`, `0;URL='x'`).
fn refresh_url(content: &str) -> Option<&str> {
    let (_, rest) = content.split_once([';', ','])?;
    let rest = rest.trim_start();
    // `get`: the first three bytes of hostile text may end inside a character.
    let rest = if rest.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("url")) {
        rest[3..].trim_start().strip_prefix('=')?.trim()
    } else {
        rest.trim()
    };
    let rest = rest.trim_matches(['"', '\'']);
    (!rest.is_empty()).then_some(rest)
}

/// The URLs of a `srcset` value (descriptors dropped).
fn srcset_urls(srcset: &str) -> impl Iterator<Item = &str> {
    srcset
        .split(',')
        .filter_map(|c| c.split_ascii_whitespace().next())
}

/// Whitespace-collapsed text, cut to `max_chars` characters.
fn collapse(s: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for (i, w) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    if out.chars().count() > max_chars {
        out = out.chars().take(max_chars).collect();
    }
    out
}

/// The visible text of the document, at most `max_bytes`; returns whether it was cut.
fn visible_text(doc: &Html, max_bytes: usize) -> (String, bool) {
    let mut out = String::new();
    // Children are pushed in reverse so that they are visited in document order; a `None` marker
    // after a block element closes its line.
    let mut markers = vec![Some(doc.tree.root())];
    while let Some(item) = markers.pop() {
        let Some(node) = item else {
            push_break(&mut out);
            continue;
        };
        match node.value() {
            Node::Text(t) => {
                let mut first = true;
                for w in t.split_whitespace() {
                    if !first || t.starts_with(char::is_whitespace) {
                        push_space(&mut out);
                    }
                    first = false;
                    out.push_str(w);
                }
                if t.ends_with(char::is_whitespace) && !t.trim().is_empty() {
                    push_space(&mut out);
                }
                if out.len() > max_bytes {
                    let mut end = max_bytes;
                    while !out.is_char_boundary(end) {
                        end -= 1;
                    }
                    out.truncate(end);
                    return (out.trim().to_string(), true);
                }
            }
            Node::Element(e) => {
                let name = e.name();
                if HIDDEN.contains(&name) {
                    continue;
                }
                let block = BLOCKS.contains(&name);
                if block {
                    push_break(&mut out);
                    markers.push(None);
                }
                let children: Vec<_> = node.children().collect();
                markers.extend(children.into_iter().rev().map(Some));
            }
            Node::Document | Node::Fragment => {
                let children: Vec<_> = node.children().collect();
                markers.extend(children.into_iter().rev().map(Some));
            }
            _ => {}
        }
    }
    (out.trim().to_string(), false)
}

fn push_space(out: &mut String) {
    if !out.is_empty() && !out.ends_with([' ', '\n']) {
        out.push(' ');
    }
}

fn push_break(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><head><title> Магазин
      24 </title><base href="/sub/"><meta property="og:image" content="/og.png">
      <meta http-equiv="refresh" content="5; URL='/refreshed'"><link rel="canonical" href="https://shop.kz/canon#x">
      <style>.x{}</style><script>var hidden = "no";</script></head>
      <body><p>Купить <b>мефедрон</b> в Алматы</p><div>Оплата   Kaspi</div>
      <a href="page2">Следующая страница</a> <a href="page2#dup">dup</a>
      <a href="mailto:x@y.kz">mail</a><a href="javascript:void(0)">js</a>
      <a href="http://other.kz/" rel="nofollow ugc"><img src="/btn.png" alt="кнопка"></a>
      <map><area href="/area" alt="зона"></map><iframe src="/frame"></iframe>
      <img srcset="/a-1x.png 1x, /a-2x.png 2x" data-src="/lazy.png"><picture><source srcset="/pic.webp"></picture>
      <noscript>no js</noscript></body></html>"#;

    #[test]
    fn links_images_and_text() {
        let page = parse_html(
            PAGE,
            &Url::parse("https://shop.kz/dir/index.html").unwrap(),
            &ParseLimits::default(),
        );
        assert_eq!(page.title.as_deref(), Some("Магазин 24"));
        let links: Vec<(String, LinkKind, String, bool)> = page
            .links
            .iter()
            .map(|l| (l.url.to_string(), l.kind, l.text.clone(), l.nofollow))
            .collect();
        let want = [
            ("https://shop.kz/canon", LinkKind::Canonical, "", false),
            (
                "https://shop.kz/refreshed",
                LinkKind::MetaRefresh,
                "",
                false,
            ),
            (
                "https://shop.kz/sub/page2",
                LinkKind::Anchor,
                "Следующая страница",
                false,
            ),
            ("http://other.kz/", LinkKind::Anchor, "кнопка", true),
            ("https://shop.kz/area", LinkKind::Area, "зона", false),
            ("https://shop.kz/frame", LinkKind::Frame, "", false),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(u, k, t, n)| (u.to_string(), *k, t.to_string(), *n))
            .collect();
        let mut got = links.clone();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let mut want_sorted = want.clone();
        want_sorted.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, want_sorted);
        assert_eq!(page.dropped_urls, 2, "mailto and javascript");
        let images: Vec<(String, ImageKind)> = page
            .images
            .iter()
            .map(|i| (i.url.to_string(), i.kind))
            .collect();
        for (u, k) in [
            ("https://shop.kz/og.png", ImageKind::OgImage),
            ("https://shop.kz/btn.png", ImageKind::Img),
            ("https://shop.kz/lazy.png", ImageKind::Img),
            ("https://shop.kz/a-1x.png", ImageKind::Srcset),
            ("https://shop.kz/a-2x.png", ImageKind::Srcset),
            ("https://shop.kz/pic.webp", ImageKind::Srcset),
        ] {
            assert!(
                images.contains(&(u.to_string(), k)),
                "{u} missing from {images:?}"
            );
        }
        assert!(
            page.text.contains("Купить мефедрон в Алматы\nОплата Kaspi"),
            "{}",
            page.text
        );
        assert!(
            !page.text.contains("hidden")
                && !page.text.contains(".x{}")
                && !page.text.contains("no js")
        );
    }

    #[test]
    fn caps_and_malformed_input() {
        let many: String = (0..50).map(|i| format!("<a href=/p{i}>{i}</a>")).collect();
        let limits = ParseLimits {
            max_links: 10,
            max_text_bytes: 20,
            ..ParseLimits::default()
        };
        let page = parse_html(&many, &Url::parse("http://a.kz/").unwrap(), &limits);
        assert_eq!(page.links.len(), 10);
        assert!(page.truncated && page.text.len() <= 20);
        for junk in [
            "<a href='",
            "<<<>>>&&&;",
            "<html><body><div><p><a href=x>unclosed",
            "\u{0}\u{feff}<a href=\"http://[::1\">x</a>",
        ] {
            let _ = parse_html(
                junk,
                &Url::parse("http://a.kz/").unwrap(),
                &ParseLimits::default(),
            );
        }
        assert_eq!(refresh_url("0;url=/a"), Some("/a"));
        assert_eq!(refresh_url("3; /b"), Some("/b"));
        assert_eq!(refresh_url("3"), None);
        // Found by the `html` fuzz target: a multi-byte letter across the third byte.
        assert_eq!(refresh_url("0; urяя"), Some("urяя"));
    }
}

/// Elements that never have content, so they do not deepen the nesting.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// The prefix of `html` whose element nesting stays within `max` (a linear scan that counts start
/// and end tags, skipping comments and the contents of `script` and `style`).
pub fn cut_deep_nesting(html: &str, max: usize) -> &str {
    let b = html.as_bytes();
    let (mut i, mut depth) = (0usize, 0usize);
    while let Some(off) = memchr_lt(&b[i..]) {
        let at = i + off;
        let rest = &b[at + 1..];
        if rest.starts_with(b"!--") {
            i = find(b, at + 4, b"-->").map_or(b.len(), |e| e + 3);
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = at + 1 + usize::from(closing);
        let name_end = b[name_start..]
            .iter()
            .position(|c| !c.is_ascii_alphanumeric())
            .map_or(b.len(), |p| name_start + p);
        if name_end == name_start {
            i = at + 1;
            continue;
        }
        let name = html[name_start..name_end].to_ascii_lowercase();
        let tag_end = find(b, name_end, b">").map_or(b.len(), |e| e + 1);
        if closing {
            depth = depth.saturating_sub(1);
        } else if !VOID.contains(&name.as_str()) && !b[..tag_end].ends_with(b"/>") {
            depth += 1;
            if depth > max {
                return &html[..at];
            }
            if name == "script" || name == "style" {
                let close = format!("</{name}");
                i = find_ci(b, tag_end, close.as_bytes()).unwrap_or(b.len());
                continue;
            }
        }
        i = tag_end;
    }
    html
}

fn memchr_lt(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'<')
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

fn find_ci(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

#[cfg(test)]
mod nesting_tests {
    use super::*;

    #[test]
    fn deep_nesting_is_cut_and_ordinary_pages_are_not() {
        let deep = format!(
            "<html><body>{}x{}</body></html>",
            "<div>".repeat(50_000),
            "</div>".repeat(50_000)
        );
        let cut = cut_deep_nesting(&deep, 1024);
        assert!(cut.len() < 1100 * 5, "cut at {}", cut.len());
        let ordinary = "<html><head><script>if (a<b && c>d) {}</script><style>p<q{}</style></head>\
            <body><!-- <div><div> --><p>one<br><img src=x><p>two</p><div><span>t</span></div></body></html>";
        // Unclosed <p>s count as open: the limit is a safety valve, far above real pages.
        assert_eq!(cut_deep_nesting(ordinary, 8), ordinary);
        let page = Url::parse("http://127.0.0.1/").unwrap();
        let parsed = parse_html(&deep, &page, &ParseLimits::default());
        assert!(parsed.links.is_empty());
    }
}
