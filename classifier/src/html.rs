//! HTML → visible text, links and images, in one tokenizer pass (no DOM is built).
//!
//! Kept: `<title>`, `<meta name=description>` (or `og:description`), visible text split into
//! segments at block boundaries, `alt` and `title` attributes, link texts. Dropped: scripts,
//! styles, templates, comments. Link `href`s and image `src`s keep their original text.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use serde::Serialize;

use crate::Limits;

/// A link found in the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The `href` exactly as written (not resolved, not normalised).
    pub href: String,
    /// The visible text inside the `<a>` element, whitespace collapsed.
    pub text: String,
}

/// An image reference found in the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// The `src` exactly as written.
    pub src: String,
    /// The `alt` text, if any.
    pub alt: String,
}

/// What a page says, as far as the classifier and crawler care.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Extracted {
    /// Text of `<title>`, whitespace collapsed.
    pub title: String,
    /// `<meta name="description">` (or `og:description`) content.
    pub meta_description: String,
    /// Visible text segments in document order (block boundaries split segments; `alt` and
    /// `title` attributes become their own segments).
    pub segments: Vec<String>,
    /// Links in document order (at most [`Limits::max_links`]).
    pub links: Vec<Link>,
    /// Images in document order (at most [`Limits::max_links`]).
    pub images: Vec<ImageRef>,
    /// `<base href>`, if the page declares one.
    pub base_href: Option<String>,
}

impl Extracted {
    /// All text the rules look at: title, description and segments, one per line.
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(
            self.title.len()
                + self.meta_description.len()
                + self.segments.iter().map(|s| s.len() + 1).sum::<usize>()
                + 2,
        );
        for part in [&self.title, &self.meta_description]
            .into_iter()
            .chain(self.segments.iter())
        {
            if !part.is_empty() {
                out.push_str(part);
                out.push('\n');
            }
        }
        out
    }
}

/// Extracts text, links and images with [`Limits::default`].
pub fn extract(html: &str) -> Extracted {
    extract_with_limits(html, &Limits::default())
}

/// Extracts text, links and images; keeps at most `limits.max_links` links and images and
/// stops collecting text past `limits.max_text_bytes`. Cost: one tokenizer pass.
pub fn extract_with_limits(html: &str, limits: &Limits) -> Extracted {
    let sink = Sink {
        state: RefCell::new(State {
            max_links: limits.max_links,
            max_text: limits.max_text_bytes,
            ..State::default()
        }),
    };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let mut state = tokenizer.sink.state.into_inner();
    state.flush();
    state.out.title = collapse(&state.title_buf);
    state.out
}

#[derive(Default)]
struct State {
    out: Extracted,
    max_links: usize,
    max_text: usize,
    text_len: usize,
    segment: String,
    /// Raw-text element whose content is dropped (script, style …) or captured (title).
    raw: Option<Raw>,
    title_buf: String,
    /// Open `<a>`: index into `out.links` (None when over the limit) and its text so far.
    link: Option<(Option<usize>, String)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Raw {
    Drop(&'static str),
    Title,
}

impl State {
    fn flush(&mut self) {
        let seg = collapse(&self.segment);
        self.segment.clear();
        self.push_segment(seg);
    }

    fn push_segment(&mut self, seg: String) {
        if seg.is_empty() || self.text_len >= self.max_text {
            return;
        }
        self.text_len += seg.len();
        self.out.segments.push(seg);
    }

    fn text(&mut self, s: &str) {
        match self.raw {
            Some(Raw::Drop(_)) => {}
            Some(Raw::Title) => {
                if self.title_buf.len() < 4096 {
                    self.title_buf.push_str(s);
                }
            }
            None => {
                if self.text_len + self.segment.len() < self.max_text {
                    self.segment.push_str(s);
                }
                if let Some((_, text)) = &mut self.link
                    && text.len() < 4096
                {
                    text.push_str(s);
                }
            }
        }
    }

    fn tag(&mut self, tag: Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        if let Some(Raw::Drop(open)) = self.raw {
            if tag.kind == TagKind::EndTag && name == open {
                self.raw = None;
            }
            return TokenSinkResult::Continue;
        }
        if tag.kind == TagKind::EndTag {
            match name {
                "title" => self.raw = None,
                "a" => {
                    if let Some((Some(idx), text)) = self.link.take()
                        && let Some(link) = self.out.links.get_mut(idx)
                    {
                        link.text = collapse(&text);
                    }
                }
                _ => {}
            }
            if is_block(name) {
                self.flush();
            }
            return TokenSinkResult::Continue;
        }
        let attr = |key: &str| {
            tag.attrs
                .iter()
                .find(|a| &*a.name.local == key)
                .map(|a| a.value.to_string())
        };
        if let Some(t) = attr("title") {
            let t = collapse(&t);
            self.push_segment(t);
        }
        let result = match name {
            "script" => {
                self.raw = Some(Raw::Drop("script"));
                TokenSinkResult::RawData(RawKind::ScriptData)
            }
            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "template" => {
                self.raw = Some(Raw::Drop(static_name(name)));
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "title" => {
                self.raw = Some(Raw::Title);
                TokenSinkResult::RawData(RawKind::Rcdata)
            }
            "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
            "meta" => {
                let key = attr("name")
                    .or_else(|| attr("property"))
                    .unwrap_or_default();
                let key = key.to_ascii_lowercase();
                if (key == "description" || key == "og:description")
                    && self.out.meta_description.is_empty()
                {
                    self.out.meta_description = collapse(&attr("content").unwrap_or_default());
                }
                TokenSinkResult::Continue
            }
            "base" => {
                if self.out.base_href.is_none() {
                    self.out.base_href = attr("href");
                }
                TokenSinkResult::Continue
            }
            "a" => {
                let idx = match attr("href") {
                    Some(href) if self.out.links.len() < self.max_links => {
                        self.out.links.push(Link {
                            href,
                            text: String::new(),
                        });
                        Some(self.out.links.len() - 1)
                    }
                    _ => None,
                };
                self.link = Some((idx, String::new()));
                TokenSinkResult::Continue
            }
            "img" => {
                let alt = attr("alt").unwrap_or_default();
                if let Some(src) = attr("src")
                    && self.out.images.len() < self.max_links
                {
                    self.out.images.push(ImageRef {
                        src,
                        alt: alt.clone(),
                    });
                }
                self.segment.push(' ');
                self.push_segment(collapse(&alt));
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        };
        if is_block(name) {
            self.flush();
        }
        result
    }
}

fn static_name(name: &str) -> &'static str {
    match name {
        "style" => "style",
        "xmp" => "xmp",
        "iframe" => "iframe",
        "noembed" => "noembed",
        "noframes" => "noframes",
        _ => "template",
    }
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "br"
            | "li"
            | "ul"
            | "ol"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "nav"
            | "aside"
            | "main"
            | "blockquote"
            | "pre"
            | "hr"
            | "dd"
            | "dt"
            | "dl"
            | "form"
            | "body"
            | "option"
            | "figcaption"
            | "caption"
            | "button"
            | "label"
    )
}

/// Collapses runs of whitespace to one space and trims.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

struct Sink {
    state: RefCell<State>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut state = self.state.borrow_mut();
        match token {
            Token::CharacterTokens(t) => {
                state.text(&t);
                TokenSinkResult::Continue
            }
            Token::TagToken(tag) => state.tag(tag),
            _ => TokenSinkResult::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_visible_text_drops_scripts() {
        let html = r#"<html><head><title> Shop  page </title>
            <meta name="description" content="best &amp; fresh">
            <style>.x{color:red}</style><script>var a = "<p>hidden</p>";</script></head>
            <body><h1>Hello</h1><p>world <b>bold</b></p>
            <a href="https://t.me/Some_Bot?start=1">Our <i>bot</i></a>
            <img src="/a.png" alt="a picture"><span title="tip">x</span></body></html>"#;
        let e = extract(html);
        assert_eq!(e.title, "Shop page");
        assert_eq!(e.meta_description, "best & fresh");
        let text = e.text();
        assert!(text.contains("world bold"), "{text}");
        assert!(
            !text.contains("hidden") && !text.contains("color"),
            "{text}"
        );
        assert!(text.contains("a picture") && text.contains("tip"), "{text}");
        assert_eq!(e.links.len(), 1);
        assert_eq!(e.links[0].href, "https://t.me/Some_Bot?start=1");
        assert_eq!(e.links[0].text, "Our bot");
        assert_eq!(e.images[0].src, "/a.png");
    }

    #[test]
    fn link_limit_is_respected() {
        let html: String = (0..50).map(|i| format!("<a href=\"/{i}\">l</a>")).collect();
        let limits = Limits {
            max_links: 10,
            ..Limits::default()
        };
        assert_eq!(extract_with_limits(&html, &limits).links.len(), 10);
    }

    #[test]
    fn base_href_is_kept() {
        let e = extract("<head><base href=\"http://x.kz/a/\"></head>");
        assert_eq!(e.base_href.as_deref(), Some("http://x.kz/a/"));
    }
}
