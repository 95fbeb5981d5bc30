//! The Telegram preview adapter against the fixture server (`shared/corpus/telegram-dev/serve.py`):
//! every page of the three channels, pagination to the end, posts, photos and leads.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kuzet_crawler::telegram::{ChannelPage, LeadKind, page_url, parse_channel_page};
use kuzet_crawler::{FetchOutcome, Fetcher};
use url::Url;

use crate::loopback_fetcher;

pub fn fixture_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The worktree sits next to shared/ (…/work/wt-x/crawler → …/work/shared); CI clones main
    // elsewhere with shared/ beside it. KUZET_SHARED overrides both.
    if let Ok(dir) = std::env::var("KUZET_SHARED") {
        return PathBuf::from(dir).join("corpus/telegram-dev");
    }
    for up in manifest.ancestors().skip(1).take(3) {
        let cand = up.join("shared/corpus/telegram-dev");
        if cand.join("serve.py").exists() {
            return cand;
        }
    }
    PathBuf::from("/work/shared/corpus/telegram-dev")
}

pub struct Fixture {
    child: Child,
    /// The preview base, `http://127.0.0.1:PORT/s/`.
    pub base: Url,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start_fixture() -> Fixture {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .arg(fixture_dir().join("serve.py"))
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 serve.py");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Fixture {
        child,
        base: Url::parse(&format!("http://127.0.0.1:{port}/s/")).unwrap(),
    }
}

async fn fetch(f: &Fetcher, url: &Url) -> FetchOutcome {
    f.fetch(url).await.unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// Follows `before` links from the newest window to the end; returns every window.
async fn crawl_channel(f: &Fetcher, base: &Url, channel: &str) -> Vec<ChannelPage> {
    let mut pages = Vec::new();
    let mut before = None;
    for _ in 0..20 {
        let url = page_url(base, channel, before).unwrap();
        let o = fetch(f, &url).await;
        let page = parse_channel_page(&String::from_utf8_lossy(o.body()), &o.final_url);
        before = page.before;
        pages.push(page);
        if before.is_none() {
            break;
        }
    }
    pages
}

fn ids(from: u64, to: u64, missing: &[u64]) -> BTreeSet<u64> {
    (from..=to).filter(|i| !missing.contains(i)).collect()
}

#[tokio::test]
async fn three_channels_to_the_end() {
    let fx = start_fixture().await;
    let f = loopback_fetcher();
    // (channel, windows, post ids)
    let expect: [(&str, usize, BTreeSet<u64>); 3] = [
        ("aqbarys_store24", 3, ids(1, 58, &[9, 23, 24, 41])),
        ("qaragandy_habar24", 2, ids(1, 36, &[7, 18])),
        ("gotovim_doma_kz", 2, ids(1, 37, &[5, 27, 17])), // 16–17 are one album, one post
    ];
    let mut all: HashMap<&str, Vec<ChannelPage>> = HashMap::new();
    for (channel, windows, want_ids) in &expect {
        let pages = crawl_channel(&f, &fx.base, channel).await;
        assert_eq!(pages.len(), *windows, "{channel}");
        let got: Vec<u64> = pages
            .iter()
            .flat_map(|p| p.posts.iter().map(|q| q.id))
            .collect();
        let set: BTreeSet<u64> = got.iter().copied().collect();
        assert_eq!(set.len(), got.len(), "{channel}: a post seen twice");
        assert_eq!(&set, want_ids, "{channel}");
        for p in &pages {
            assert!(p.has_history && !p.no_posts);
            assert_eq!(p.channel, *channel);
            // Oldest first within a window; `before` is the oldest id on the page.
            let w: Vec<u64> = p.posts.iter().map(|q| q.id).collect();
            assert!(w.windows(2).all(|x| x[0] < x[1]), "{channel}: {w:?}");
            if let Some(b) = p.before {
                assert_eq!(Some(b), w.first().copied());
            }
            for post in &p.posts {
                assert!(
                    post.datetime
                        .as_deref()
                        .is_some_and(|d| d.ends_with("+00:00")),
                    "{channel}/{}",
                    post.id
                );
                assert_eq!(
                    post.permalink.as_deref(),
                    Some(format!("https://t.me/{channel}/{}", post.id).as_str())
                );
                for photo in &post.photos {
                    assert!(
                        !photo.contains("emoji"),
                        "emoji sprite taken as photo: {photo}"
                    );
                    assert!(
                        photo.starts_with(fx.base.origin().ascii_serialization().as_str()),
                        "{photo}"
                    );
                }
                assert!(
                    post.service
                        || !post.text.is_empty()
                        || post.poll.is_some()
                        || !post.photos.is_empty(),
                    "{channel}/{}",
                    post.id
                );
            }
        }
        // The first post of every channel is the service post "Channel created".
        let first = pages.last().and_then(|p| p.posts.first()).unwrap();
        assert!(first.id == 1 && first.service, "{channel}");
        all.insert(channel, pages);
    }

    let posts = |ch: &str| {
        all[ch]
            .iter()
            .flat_map(|p| p.posts.iter())
            .cloned()
            .collect::<Vec<_>>()
    };
    let shop = posts("aqbarys_store24");
    // Text is the bubble's own text, never a reply quote; replies keep their link.
    let reply = shop.iter().find(|p| p.reply_to.is_some()).unwrap();
    assert!(reply.text.starts_with("Уточнение"), "{}", reply.text);
    assert_eq!(
        reply.reply_to.as_deref(),
        Some("https://t.me/aqbarys_store24/3")
    );
    assert!(shop.iter().any(|p| {
        p.forwarded_from
            .as_ref()
            .is_some_and(|(_, u)| u.as_deref() == Some("https://t.me/aqbarys_otzyvy"))
    }));
    assert!(shop.iter().any(|p| {
        p.buttons
            .iter()
            .any(|(t, u)| t.contains("Бот") && u == "https://t.me/aqbarys_robot")
    }));
    assert!(shop.iter().any(|p| p.edited));
    assert!(shop.iter().any(|p| p.signature.is_some()));
    assert!(
        shop.iter()
            .any(|p| p.poll.as_ref().is_some_and(|(_, o)| o.len() == 3))
    );
    let photo_post = shop.iter().find(|p| p.id == 38).unwrap();
    assert_eq!(
        photo_post.photos,
        vec![format!("{}img/photo-1.png", fx.base.join("/").unwrap())]
    );
    assert!(photo_post.text.contains("магнит"));
    // Line breaks survive in the text.
    assert!(shop.iter().any(|p| p.text.contains('\n')));
    // Leads across all windows of the shop.
    let leads: Vec<(LeadKind, String)> = all["aqbarys_store24"]
        .iter()
        .flat_map(|p| p.leads.iter().map(|l| (l.kind, l.value.clone())))
        .collect();
    for (kind, value) in [
        (LeadKind::Bot, "aqbarys_robot"),
        (LeadKind::Channel, "aqbarys_op"),
        (LeadKind::Channel, "aqbarys_reserv"),
        (LeadKind::Channel, "aqbarys_otzyvy"),
    ] {
        assert!(
            leads.contains(&(kind, value.to_string())),
            "missing lead {value}: {leads:?}"
        );
    }
    assert!(
        !leads.iter().any(|(_, v)| v == "aqbarys_store24"),
        "own channel is not a lead"
    );
    assert!(
        leads
            .iter()
            .any(|(k, v)| *k == LeadKind::Web && v.contains(".onion")),
        "onion mirror lead: {leads:?}"
    );

    // The news channel's QR photo is only reachable as a photo.
    let news = posts("qaragandy_habar24");
    assert!(
        news.iter()
            .any(|p| p.photos.iter().any(|u| u.ends_with("/img/qr-wall.png")))
    );
    assert!(
        !news
            .iter()
            .any(|p| p.links.iter().any(|l| l.contains("aqbarys_store24")))
    );
    // Album: one post with two photos.
    let recipes = posts("gotovim_doma_kz");
    let album = recipes.iter().find(|p| p.id == 16).unwrap();
    assert_eq!(
        album.photos.len(),
        1,
        "both album items show the same fixture picture, deduplicated"
    );
    assert!(recipes.iter().any(|p| {
        p.link_preview
            .as_ref()
            .is_some_and(|l| l.url.contains("gotovimdoma-recepty.kz"))
    }));
}

#[tokio::test]
async fn past_the_first_post_and_unknown_names() {
    let fx = start_fixture().await;
    let f = loopback_fetcher();
    let o = fetch(&f, &page_url(&fx.base, "aqbarys_store24", Some(1)).unwrap()).await;
    let page = parse_channel_page(&String::from_utf8_lossy(o.body()), &o.final_url);
    assert!(page.no_posts && page.posts.is_empty() && page.before.is_none());
    // A name without a public preview redirects to the contact page: no history, no posts.
    let o = fetch(&f, &page_url(&fx.base, "aqbarys_reserv", None).unwrap()).await;
    assert_eq!(o.redirects.len(), 1);
    let page = parse_channel_page(&String::from_utf8_lossy(o.body()), &o.final_url);
    assert!(!page.has_history && page.posts.is_empty());
}
