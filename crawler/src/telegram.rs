//! Telegram public channels through their web preview (`<base><channel>`, default base
//! `https://t.me/s/`), as documented in `shared/corpus/telegram-dev/README.md`.
//!
//! [`parse_channel_page`] reads one window of posts: id, date, text (the `tgme_widget_message_text`
//! that is a direct child of the bubble — not the quoted text of a reply or a link preview), links,
//! photo URLs (only from `background-image:url('…')` of photo wraps, link-preview images and video
//! thumbnails — never emoji sprites), forwarded-from, reply, inline keyboard buttons, link preview,
//! poll, signature and the `edited` mark; the `data-before` id of the next older window; and the leads
//! (channels, bots, invites, web links) found in posts and in the channel description. Classes are
//! matched one at a time, never as whole `class` strings, because the lists vary between captures.
//! Pagination goes through [`page_url`] with the base, so a fixture base with a path prefix works.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html, Node, Selector};
use url::Url;

use crate::error::UrlError;

/// Telegram's public preview base.
pub const DEFAULT_BASE: &str = "https://t.me/s/";

/// One post of a channel window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Post {
    /// Channel name as in `data-post`.
    pub channel: String,
    /// Post id within the channel.
    pub id: u64,
    /// The date link (`https://t.me/<channel>/<id>`).
    pub permalink: Option<String>,
    /// `time[datetime]`, ISO 8601 in UTC as Telegram writes it.
    pub datetime: Option<String>,
    /// The post text; `<br>` become newlines, emoji kept as characters.
    pub text: String,
    /// Absolute URLs of links in the text (hashtag searches excluded).
    pub links: Vec<String>,
    /// Hashtags in the text, without `#`.
    pub hashtags: Vec<String>,
    /// Absolute photo URLs (photos, album items, link-preview image, video thumbnails).
    pub photos: Vec<String>,
    /// "Forwarded from": display name and link, when the source shows one.
    pub forwarded_from: Option<(String, Option<String>)>,
    /// Link to the post this one replies to.
    pub reply_to: Option<String>,
    /// Inline keyboard URL buttons: (label, URL).
    pub buttons: Vec<(String, String)>,
    /// Link preview: (URL, site name, title, description).
    pub link_preview: Option<LinkPreview>,
    /// Poll question and options.
    pub poll: Option<(String, Vec<String>)>,
    /// The author signature, when the channel signs posts.
    pub signature: Option<String>,
    /// The view counter as shown (`2.79K`; abbreviated and lossy).
    pub views: Option<String>,
    /// The post was edited.
    pub edited: bool,
    /// A service post ("Channel created", "pinned …").
    pub service: bool,
}

/// A link preview under a post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkPreview {
    /// The previewed URL.
    pub url: String,
    /// Site name.
    pub site_name: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
}

/// What a lead points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeadKind {
    /// A public username that may be a channel, group or person (`t.me/<name>`, `@name`).
    Channel,
    /// A bot (Telegram bot usernames end in `bot`).
    Bot,
    /// An invite link (`t.me/+…`, `t.me/joinchat/…`).
    Invite,
    /// A web URL outside Telegram.
    Web,
}

/// A lead for the frontier, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    /// What it is.
    pub kind: LeadKind,
    /// Lower-case username for channels and bots, the URL otherwise.
    pub value: String,
    /// The post it came from; `None` for the channel description.
    pub post: Option<u64>,
}

/// One parsed window of a channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelPage {
    /// The channel (from the page, else from the URL).
    pub channel: String,
    /// Channel title.
    pub title: Option<String>,
    /// Channel description (newlines kept).
    pub description: Option<String>,
    /// Posts, oldest first as on the page.
    pub posts: Vec<Post>,
    /// `data-before` of the "more" link: the next older window is `?before=<this>`.
    pub before: Option<u64>,
    /// `data-after`: the next newer window.
    pub after: Option<u64>,
    /// The page has a history section (false for the landing page of a name without preview).
    pub has_history: bool,
    /// The history says "No posts found".
    pub no_posts: bool,
    /// Leads from posts and the description, first occurrence of each.
    pub leads: Vec<Lead>,
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("constant selector")
}

macro_rules! selector {
    ($name:ident, $css:expr) => {
        static $name: LazyLock<Selector> = LazyLock::new(|| sel($css));
    };
}

selector!(HISTORY, "section.tgme_channel_history");
selector!(MESSAGE, "div.tgme_widget_message[data-post]");
selector!(
    BUBBLE_TEXT,
    ".tgme_widget_message_bubble > .tgme_widget_message_text"
);
selector!(DATE, "a.tgme_widget_message_date");
selector!(TIME, "time[datetime]");
selector!(VIEWS, ".tgme_widget_message_views");
selector!(META, ".tgme_widget_message_meta");
selector!(SIGNATURE, ".tgme_widget_message_from_author");
selector!(FORWARD, ".tgme_widget_message_forwarded_from_name");
selector!(REPLY, "a.tgme_widget_message_reply[href]");
selector!(BUTTON, ".tgme_widget_message_inline_keyboard a[href]");
selector!(PREVIEW, "a.tgme_widget_message_link_preview[href]");
selector!(PREVIEW_SITE, ".link_preview_site_name");
selector!(PREVIEW_TITLE, ".link_preview_title");
selector!(PREVIEW_DESC, ".link_preview_description");
selector!(POLL_Q, ".tgme_widget_message_poll_question");
selector!(POLL_OPT, ".tgme_widget_message_poll_option_text");
selector!(STYLED, "[style]");
selector!(ANCHOR, "a[href]");
selector!(MORE, "a.tme_messages_more");
selector!(NO_POSTS, ".tme_no_messages_found");
selector!(INFO_TITLE, ".tgme_channel_info_header_title");
selector!(INFO_USERNAME, ".tgme_channel_info_header_username a");
selector!(INFO_DESC, ".tgme_channel_info_description");

static BG_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"background-image\s*:\s*url\(\s*['"]?([^'")]+)['"]?\s*\)"#)
        .expect("constant regex")
});
static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\w@/.])@([A-Za-z][A-Za-z0-9_]{3,31})\b").expect("constant regex")
});
static BARE_TME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:https?://)?(?:t|telegram)\.(?:me|dog)/(\+?[A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)?)",
    )
    .expect("constant regex")
});

static ONION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:[a-z2-7]{56}|[a-z2-7]{16})\.onion\b").expect("constant regex")
});

/// Classes whose `background-image` is a photo (emoji sprites and avatars are not).
const PHOTO_CLASSES: &[&str] = &[
    "tgme_widget_message_photo_wrap",
    "link_preview_image",
    "tgme_widget_message_video_thumb",
    "tgme_widget_message_roundvideo_thumb",
    "link_preview_right_image",
];

/// A channel name from a seeds-file entry: `@name`, `name`, `t.me/name`, `https://t.me/s/name`.
pub fn channel_from_ref(entry: &str) -> Option<String> {
    let e = entry.trim();
    let name = if let Some(rest) = e.strip_prefix('@') {
        rest
    } else if let Some(c) = BARE_TME.captures(e) {
        let path = c.get(1)?.as_str();
        let mut parts = path.split('/');
        match parts.next()? {
            "s" => parts.next()?,
            first => first,
        }
    } else {
        e
    };
    valid_username(name).then(|| name.to_ascii_lowercase())
}

/// Telegram usernames: 4–32 characters of letters, digits and `_`, starting with a letter.
fn valid_username(name: &str) -> bool {
    (4..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The URL of a channel window: `<base><channel>` or `<base><channel>?before=<id>`.
pub fn page_url(base: &Url, channel: &str, before: Option<u64>) -> Result<Url, UrlError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    let mut url = base.join(channel).map_err(|e| UrlError::Parse {
        input: channel.to_string(),
        reason: e.to_string(),
    })?;
    if let Some(b) = before {
        url.set_query(Some(&format!("before={b}")));
    }
    crate::url::canonicalize(url)
}

/// What a Telegram or web link is worth as a lead.
pub fn classify_link(url: &str) -> Option<(LeadKind, String)> {
    let u = Url::parse(url).ok()?;
    let host = u
        .host_str()?
        .trim_start_matches("www.")
        .to_ascii_lowercase();
    if matches!(host.as_str(), "t.me" | "telegram.me" | "telegram.dog") {
        let mut segs = u.path_segments()?.filter(|s| !s.is_empty());
        let first = segs.next()?;
        if first.starts_with('+') || first == "joinchat" {
            return Some((LeadKind::Invite, u.to_string()));
        }
        let name = if first == "s" { segs.next()? } else { first };
        if !valid_username(name) || RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
            return None;
        }
        return Some(username_lead(name));
    }
    if host == "telegram.org" || host.ends_with(".telegram.org") {
        return None;
    }
    matches!(u.scheme(), "http" | "https").then(|| (LeadKind::Web, u.to_string()))
}

/// Paths of t.me that are not usernames.
const RESERVED: &[&str] = &[
    "share",
    "addstickers",
    "addemoji",
    "proxy",
    "socks",
    "iv",
    "login",
    "setlanguage",
    "addtheme",
    "confirmphone",
    "contact",
    "boost",
    "invoice",
];

fn username_lead(name: &str) -> (LeadKind, String) {
    let lower = name.to_ascii_lowercase();
    let kind = if lower.ends_with("bot") {
        LeadKind::Bot
    } else {
        LeadKind::Channel
    };
    (kind, lower)
}

/// Parses one channel window fetched from `page_url`.
pub fn parse_channel_page(html: &str, page_url: &Url) -> ChannelPage {
    let doc = Html::parse_document(crate::parse::cut_deep_nesting(html, 1024));
    let mut page = ChannelPage {
        has_history: doc.select(&HISTORY).next().is_some(),
        no_posts: doc.select(&NO_POSTS).next().is_some(),
        title: doc
            .select(&INFO_TITLE)
            .next()
            .map(|e| rich_text(e).trim().to_string()),
        description: doc
            .select(&INFO_DESC)
            .next()
            .map(|e| rich_text(e).trim().to_string()),
        ..ChannelPage::default()
    };
    page.channel = doc
        .select(&INFO_USERNAME)
        .next()
        .map(|e| {
            e.text()
                .collect::<String>()
                .trim()
                .trim_start_matches('@')
                .to_string()
        })
        .filter(|c| !c.is_empty())
        .or_else(|| {
            page_url
                .path_segments()
                .and_then(|mut s| s.next_back().map(str::to_string))
        })
        .unwrap_or_default();
    for more in doc.select(&MORE) {
        let v = more.value();
        if let Some(b) = v.attr("data-before").and_then(|b| b.trim().parse().ok()) {
            page.before = Some(b);
        }
        if let Some(a) = v.attr("data-after").and_then(|a| a.trim().parse().ok()) {
            page.after = Some(a);
        }
    }
    let mut leads = LeadSet::new(&page.channel);
    if let Some(desc) = doc.select(&INFO_DESC).next() {
        for a in desc.select(&ANCHOR) {
            if let Some(href) = resolve(page_url, a.value().attr("href")) {
                leads.add_link(&href, None);
            }
        }
        leads.add_text(&rich_text(desc), None);
    }
    for msg in doc.select(&MESSAGE) {
        if let Some(post) = parse_post(msg, page_url) {
            for l in post.links.iter().chain(post.buttons.iter().map(|(_, u)| u)) {
                leads.add_link(l, Some(post.id));
            }
            if let Some(u) = post.forwarded_from.as_ref().and_then(|f| f.1.as_ref()) {
                leads.add_link(u, Some(post.id));
            }
            if let Some(p) = &post.link_preview {
                leads.add_link(&p.url, Some(post.id));
            }
            leads.add_text(&post.text, Some(post.id));
            page.posts.push(post);
        }
    }
    page.leads = leads.leads;
    page
}

fn parse_post(msg: ElementRef<'_>, page_url: &Url) -> Option<Post> {
    let v = msg.value();
    let (channel, id) = v.attr("data-post")?.rsplit_once('/')?;
    let id: u64 = id.trim().parse().ok()?;
    let first_text = |s: &Selector| {
        msg.select(s)
            .next()
            .map(|e| collapse(&e.text().collect::<String>()))
    };
    let mut post = Post {
        channel: channel.to_string(),
        id,
        service: v.classes().any(|c| c == "service_message"),
        views: first_text(&VIEWS),
        signature: first_text(&SIGNATURE),
        edited: msg.select(&META).next().is_some_and(|m| {
            m.children()
                .any(|c| c.value().as_text().is_some_and(|t| t.contains("edited")))
        }),
        ..Post::default()
    };
    if let Some(date) = msg.select(&DATE).next() {
        post.permalink = date.value().attr("href").map(str::to_string);
        post.datetime = date
            .select(&TIME)
            .next()
            .and_then(|t| t.value().attr("datetime"))
            .map(str::to_string);
    }
    if let Some(text) = msg.select(&BUBBLE_TEXT).next() {
        post.text = rich_text(text).trim().to_string();
        for a in text.select(&ANCHOR) {
            let href = a.value().attr("href").unwrap_or_default();
            if href.starts_with("?q=") {
                let tag = collapse(&a.text().collect::<String>());
                post.hashtags.push(tag.trim_start_matches('#').to_string());
            } else if let Some(u) = resolve(page_url, Some(href)) {
                post.links.push(u);
            }
        }
    }
    if let Some(f) = msg.select(&FORWARD).next() {
        let href = resolve(page_url, f.value().attr("href"));
        post.forwarded_from = Some((collapse(&f.text().collect::<String>()), href));
    }
    post.reply_to = msg
        .select(&REPLY)
        .next()
        .and_then(|r| resolve(page_url, r.value().attr("href")));
    for b in msg.select(&BUTTON) {
        if let Some(u) = resolve(page_url, b.value().attr("href")) {
            post.buttons
                .push((collapse(&b.text().collect::<String>()), u));
        }
    }
    if let Some(p) = msg.select(&PREVIEW).next() {
        let part = |s: &Selector| {
            p.select(s)
                .next()
                .map(|e| collapse(&e.text().collect::<String>()))
                .unwrap_or_default()
        };
        post.link_preview = resolve(page_url, p.value().attr("href")).map(|url| LinkPreview {
            url,
            site_name: part(&PREVIEW_SITE),
            title: part(&PREVIEW_TITLE),
            description: part(&PREVIEW_DESC),
        });
    }
    if let Some(q) = msg.select(&POLL_Q).next() {
        let options = msg
            .select(&POLL_OPT)
            .map(|o| collapse(&o.text().collect::<String>()))
            .collect();
        post.poll = Some((collapse(&q.text().collect::<String>()), options));
    }
    for styled in msg.select(&STYLED) {
        let el = styled.value();
        if el.classes().any(|c| c == "emoji") || !el.classes().any(|c| PHOTO_CLASSES.contains(&c)) {
            continue;
        }
        let Some(style) = el.attr("style") else {
            continue;
        };
        for c in BG_URL.captures_iter(style) {
            let raw = c.get(1).map(|m| m.as_str()).unwrap_or_default();
            if raw.contains("/img/emoji/") {
                continue;
            }
            if let Some(u) = resolve(page_url, Some(raw))
                && !post.photos.contains(&u)
            {
                post.photos.push(u);
            }
        }
    }
    Some(post)
}

/// Resolves an href against the page, undoing the double `&amp;` escaping seen since 2024.
fn resolve(page_url: &Url, href: Option<&str>) -> Option<String> {
    let href = href?.trim().replace("&amp;", "&");
    let u = page_url.join(&href).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| u.to_string())
}

/// Text of an element with `<br>` as newlines, whitespace inside lines collapsed.
fn rich_text(el: ElementRef<'_>) -> String {
    let mut out = String::new();
    for node in el.descendants() {
        match node.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) if e.name() == "br" => out.push('\n'),
            _ => {}
        }
    }
    out.lines().map(collapse).collect::<Vec<_>>().join("\n")
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct LeadSet {
    own: String,
    seen: HashSet<(LeadKind, String)>,
    leads: Vec<Lead>,
}

impl LeadSet {
    fn new(own: &str) -> Self {
        LeadSet {
            own: own.to_ascii_lowercase(),
            seen: HashSet::new(),
            leads: Vec::new(),
        }
    }

    fn push(&mut self, kind: LeadKind, value: String, post: Option<u64>) {
        if matches!(kind, LeadKind::Channel | LeadKind::Bot) && value == self.own {
            return;
        }
        if self.seen.insert((kind, value.clone())) {
            self.leads.push(Lead { kind, value, post });
        }
    }

    fn add_link(&mut self, url: &str, post: Option<u64>) {
        if let Some((kind, value)) = classify_link(url) {
            self.push(kind, value, post);
        }
    }

    fn add_text(&mut self, text: &str, post: Option<u64>) {
        for c in MENTION.captures_iter(text) {
            if let Some(m) = c.get(1) {
                let (kind, value) = username_lead(m.as_str());
                self.push(kind, value, post);
            }
        }
        for c in BARE_TME.captures_iter(text) {
            if let Some(m) = c.get(0) {
                let s = m.as_str();
                let url = if s.contains("://") {
                    s.to_string()
                } else {
                    format!("https://{s}")
                };
                self.add_link(&url, post);
            }
        }
        // Onion mirrors are usually typed as bare host names, not links.
        for m in ONION.find_iter(text) {
            self.push(
                LeadKind::Web,
                format!("http://{}/", m.as_str().to_ascii_lowercase()),
                post,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_and_urls() {
        for (entry, want) in [
            ("@Aqbarys_Store24", Some("aqbarys_store24")),
            ("t.me/aqbarys_store24", Some("aqbarys_store24")),
            ("https://t.me/s/gotovim_doma_kz", Some("gotovim_doma_kz")),
            ("qaragandy_habar24", Some("qaragandy_habar24")),
            ("@ab", None),
            ("https://example.kz/", None),
        ] {
            assert_eq!(channel_from_ref(entry).as_deref(), want, "{entry}");
        }
        let base = Url::parse("http://127.0.0.1:8090/s/").unwrap();
        assert_eq!(
            page_url(&base, "abc_d", Some(38)).unwrap().as_str(),
            "http://127.0.0.1:8090/s/abc_d?before=38"
        );
        let base = Url::parse("http://127.0.0.1:8090/prefix/s").unwrap();
        assert_eq!(
            page_url(&base, "abc_d", None).unwrap().as_str(),
            "http://127.0.0.1:8090/prefix/s/abc_d"
        );
        let kind = |u: &str| classify_link(u).map(|(k, _)| k);
        assert_eq!(kind("https://t.me/some_robot"), Some(LeadKind::Bot));
        assert_eq!(kind("http://t.me/aqbarys_reserv"), Some(LeadKind::Channel));
        assert_eq!(
            kind("https://t.me/s/aqbarys_reserv"),
            Some(LeadKind::Channel)
        );
        assert_eq!(kind("https://t.me/+AbCdEf"), Some(LeadKind::Invite));
        assert_eq!(kind("https://t.me/share/url?url=x"), None);
        assert_eq!(kind("https://telegram.org/faq"), None);
        assert_eq!(kind("https://shop.example.kz/x"), Some(LeadKind::Web));
    }
}
