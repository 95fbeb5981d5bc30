//! Grouping flagged pages into cases.
//!
//! A page is *flagged* when its newest verdict (highest `verdicts.id` for the page) is
//! `suspicious` or `shop`. Flagged pages that share an indicator of a grouping kind are the same
//! shop: a union-find over (page, indicator) links yields connected components, and each
//! component maps onto one case.
//!
//! Generic values are not evidence of a common owner: an indicator linked to more than
//! [`GroupingLimits::max_pages_per_indicator`] pages (counted over *all* pages, clean ones too) or
//! listed in [`GroupingLimits::ignore_values`] never joins pages. Without that cap one shared
//! `t.me` or hosting domain would chain every shop into a single case.
//!
//! Existing assignments are stable: a page never leaves its case automatically (only a manual
//! split moves it), and a page whose newest verdict turns clean stays in its case as evidence.
//! When a component spans several cases they are merged into the oldest (lowest id), keeping the
//! merged ids as `merged_into` rows with history, except for pairs an analyst split apart
//! (`case_apart`). A dismissed case that gains pages (a newly flagged page joins it, or a case is
//! merged into it) is reopened to `new` with a `reopen` review row.
//!
//! The whole run is one transaction (on PostgreSQL behind an advisory lock, so two workers never
//! group at once); running it twice in a row changes nothing the second time.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use kuzet_storage::{Backend, Db, now_ms};
use serde::Serialize;
use sqlx::Row;

use super::workflow::{Actor, insert_case, merge_in, reopen_in};
use crate::{ReporterError, audit};

/// What counts as a shared indicator.
#[derive(Debug, Clone)]
pub struct GroupingLimits {
    /// Indicator kinds that identify a shop. Default: `telegram`, `telegram_bot`,
    /// `telegram_invite`, `onion`, `bitcoin`, `ethereum`, `tron`, `monero`, `phone`, `domain`
    /// (not `url`, `email` or `card`, which are too often shared or too weak).
    pub kinds: Vec<String>,
    /// An indicator on more pages than this (any verdict) is generic and joins nothing.
    /// Default 50.
    pub max_pages_per_indicator: i64,
    /// Values that never join pages whatever their frequency (platform domains and handles).
    /// Default: `t.me`, `telegram.me`, `telegram.org`, `wa.me`, `whatsapp.com`, `instagram.com`,
    /// `vk.com`, `google.com`, `youtube.com`, `facebook.com`, `tiktok.com`, `x.com`, `twitter.com`.
    pub ignore_values: Vec<String>,
}

impl Default for GroupingLimits {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        GroupingLimits {
            kinds: s(&[
                "telegram",
                "telegram_bot",
                "telegram_invite",
                "onion",
                "bitcoin",
                "ethereum",
                "tron",
                "monero",
                "phone",
                "domain",
            ]),
            max_pages_per_indicator: 50,
            ignore_values: s(&[
                "t.me",
                "telegram.me",
                "telegram.org",
                "wa.me",
                "whatsapp.com",
                "instagram.com",
                "vk.com",
                "google.com",
                "youtube.com",
                "facebook.com",
                "tiktok.com",
                "x.com",
                "twitter.com",
            ]),
        }
    }
}

/// What one grouping run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebuildStats {
    /// Pages whose newest verdict is suspicious or shop.
    pub flagged_pages: usize,
    /// Indicators skipped as generic (over the cap or ignored).
    pub generic_indicators: usize,
    /// Cases created.
    pub created: Vec<i64>,
    /// Pages added to existing cases.
    pub pages_added: usize,
    /// (absorbed, kept) pairs.
    pub merged: Vec<(i64, i64)>,
    /// Dismissed cases reopened.
    pub reopened: Vec<i64>,
    /// Cases whose score changed.
    pub rescored: usize,
    /// Cases reopened as reappeared: new pages joined while their watched URLs were gone or
    /// blocked (see [`crate::takedown::reappear`]).
    pub reappeared: Vec<i64>,
}

impl RebuildStats {
    /// True when the run changed nothing.
    pub fn is_noop(&self) -> bool {
        self.created.is_empty()
            && self.pages_added == 0
            && self.merged.is_empty()
            && self.reopened.is_empty()
            && self.rescored == 0
            && self.reappeared.is_empty()
    }
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n).collect())
    }
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // Smaller index wins: deterministic roots.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi] = lo;
        }
    }
}

/// Groups flagged pages into cases; see the module docs. Idempotent.
pub async fn rebuild_or_update(
    db: &Db,
    limits: &GroupingLimits,
) -> Result<RebuildStats, ReporterError> {
    let mut tx = db.begin_write().await?;
    if db.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7346211)")
            .execute(&mut *tx)
            .await?;
    }
    let mut stats = RebuildStats::default();
    let now = now_ms();

    // 1. Flagged pages and their scores.
    let rows = sqlx::query(
        "SELECT v.page_id, v.score FROM verdicts v \
         WHERE v.page_id IS NOT NULL AND v.verdict IN ('suspicious', 'shop') \
         AND v.id = (SELECT MAX(v2.id) FROM verdicts v2 WHERE v2.page_id = v.page_id) \
         ORDER BY v.page_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut pages: Vec<i64> = Vec::with_capacity(rows.len());
    let mut score: HashMap<i64, f64> = HashMap::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get("page_id")?;
        pages.push(id);
        score.insert(id, r.try_get("score")?);
    }
    stats.flagged_pages = pages.len();
    let index: HashMap<i64, usize> = pages.iter().enumerate().map(|(i, p)| (*p, i)).collect();

    // 2. Indicator links of flagged pages, minus generic ones.
    let generic: HashSet<i64> = sqlx::query_scalar(
        "SELECT indicator_id FROM page_indicators GROUP BY indicator_id HAVING COUNT(*) > $1",
    )
    .bind(limits.max_pages_per_indicator)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let links = sqlx::query(
        "SELECT pi.page_id, pi.indicator_id, i.kind, i.value FROM page_indicators pi \
         JOIN indicators i ON i.id = pi.indicator_id ORDER BY pi.indicator_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut uf = UnionFind::new(pages.len());
    let mut first_of: HashMap<i64, usize> = HashMap::new();
    let mut skipped: HashSet<i64> = HashSet::new();
    for r in &links {
        let page: i64 = r.try_get("page_id")?;
        let Some(&pi) = index.get(&page) else {
            continue;
        };
        let ind: i64 = r.try_get("indicator_id")?;
        let kind: String = r.try_get("kind")?;
        if !limits.kinds.contains(&kind) {
            continue;
        }
        let value: String = r.try_get("value")?;
        if generic.contains(&ind) || limits.ignore_values.contains(&value) {
            skipped.insert(ind);
            continue;
        }
        match first_of.get(&ind) {
            Some(&other) => uf.union(other, pi),
            None => {
                first_of.insert(ind, pi);
            }
        }
    }
    stats.generic_indicators = skipped.len();

    // 3. Existing cases, assignments and split-apart pairs.
    let mut merged_into: HashMap<i64, i64> = HashMap::new();
    let mut status: HashMap<i64, String> = HashMap::new();
    let mut case_score: HashMap<i64, f64> = HashMap::new();
    for r in sqlx::query("SELECT id, status, score, merged_into FROM cases")
        .fetch_all(&mut *tx)
        .await?
    {
        let id: i64 = r.try_get("id")?;
        status.insert(id, r.try_get("status")?);
        case_score.insert(id, r.try_get("score")?);
        if let Some(m) = r.try_get::<Option<i64>, _>("merged_into")? {
            merged_into.insert(id, m);
        }
    }
    let live = |mut c: i64, merged_into: &HashMap<i64, i64>| {
        // Follow merge chains; the bound guards against a corrupted cycle.
        for _ in 0..64 {
            match merged_into.get(&c) {
                Some(&n) => c = n,
                None => break,
            }
        }
        c
    };
    let mut case_of: HashMap<i64, i64> = HashMap::new();
    for r in sqlx::query("SELECT page_id, case_id FROM case_pages")
        .fetch_all(&mut *tx)
        .await?
    {
        let p: i64 = r.try_get("page_id")?;
        let c: i64 = r.try_get("case_id")?;
        case_of.insert(p, live(c, &merged_into));
    }
    let mut apart: HashSet<(i64, i64)> = HashSet::new();
    for r in sqlx::query("SELECT case_a, case_b FROM case_apart")
        .fetch_all(&mut *tx)
        .await?
    {
        let (a, b): (i64, i64) = (r.try_get("case_a")?, r.try_get("case_b")?);
        apart.insert((a.min(b), a.max(b)));
    }

    // 4. Components.
    let mut components: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for (i, p) in pages.iter().enumerate() {
        components.entry(uf.find(i)).or_default().push(*p);
    }
    let system = Actor::system();
    let mut gained: BTreeSet<i64> = BTreeSet::new();
    for members in components.values() {
        let cases: BTreeSet<i64> = members
            .iter()
            .filter_map(|p| case_of.get(p))
            .copied()
            .collect();
        let fresh: Vec<i64> = members
            .iter()
            .filter(|p| !case_of.contains_key(p))
            .copied()
            .collect();
        // Greedy grouping of the existing cases, oldest first, respecting split-apart pairs.
        let mut groups: Vec<Vec<i64>> = Vec::new();
        for c in &cases {
            let fits = groups.iter_mut().find(|g| {
                g.iter()
                    .all(|m| !apart.contains(&((*m).min(*c), (*m).max(*c))))
            });
            match fits {
                Some(g) => g.push(*c),
                None => groups.push(vec![*c]),
            }
        }
        for g in &groups {
            let keep = g[0];
            for &absorb in &g[1..] {
                merge_in(&mut tx, &system, keep, absorb).await?;
                merged_into.insert(absorb, keep);
                stats.merged.push((absorb, keep));
                gained.insert(keep);
                for c in case_of.values_mut() {
                    if *c == absorb {
                        *c = keep;
                    }
                }
                let rewritten: Vec<(i64, i64)> = apart
                    .iter()
                    .filter(|(a, b)| *a == absorb || *b == absorb)
                    .copied()
                    .collect();
                for (a, b) in rewritten {
                    apart.remove(&(a, b));
                    let other = if a == absorb { b } else { a };
                    if other != keep {
                        apart.insert((other.min(keep), other.max(keep)));
                    }
                }
            }
        }
        if fresh.is_empty() {
            continue;
        }
        let target = match groups.first() {
            Some(g) => g[0],
            None => {
                let best = fresh
                    .iter()
                    .copied()
                    .max_by(|a, b| score[a].total_cmp(&score[b]).then(b.cmp(a)))
                    .unwrap_or(fresh[0]);
                let title = page_title(&mut tx, best).await?;
                let id = insert_case(&mut tx, &title, score[&best], now).await?;
                status.insert(id, "new".into());
                case_score.insert(id, score[&best]);
                stats.created.push(id);
                id
            }
        };
        for p in &fresh {
            sqlx::query("INSERT INTO case_pages (page_id, case_id, added_at) VALUES ($1, $2, $3)")
                .bind(p)
                .bind(target)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            case_of.insert(*p, target);
        }
        if !stats.created.contains(&target) {
            stats.pages_added += fresh.len();
            gained.insert(target);
        }
    }

    let gained_cases: Vec<i64> = gained.iter().copied().collect();
    // 5. Reopen re-flagged dismissed cases.
    for c in gained {
        if status.get(&c).map(String::as_str) == Some("dismissed") {
            reopen_in(&mut tx, &system, c, "re-flagged: new pages joined the case").await?;
            stats.reopened.push(c);
        }
    }

    // 6. Scores: the best current score among a case's flagged pages.
    let mut best: HashMap<i64, f64> = HashMap::new();
    for (p, c) in &case_of {
        if let Some(s) = score.get(p) {
            let e = best.entry(*c).or_insert(f64::MIN);
            *e = e.max(*s);
        }
    }
    for (c, s) in best {
        if case_score.get(&c).is_none_or(|old| (old - s).abs() > 1e-9) {
            sqlx::query("UPDATE cases SET score = $1 WHERE id = $2")
                .bind(s)
                .bind(c)
                .execute(&mut *tx)
                .await?;
            if !stats.created.contains(&c) {
                stats.rescored += 1;
            }
        }
    }

    // 7. Reappearance of taken-down shops on new URLs.
    stats.reappeared =
        crate::takedown::reappear::mark_in(&mut tx, &gained_cases, &stats.reopened, now).await?;

    if !stats.is_noop() {
        let mut created = stats.created.clone();
        created.truncate(1000);
        audit::record_in(
            &mut tx,
            "system",
            "cases.rebuild",
            "cases",
            &serde_json::json!({
                "flagged_pages": stats.flagged_pages,
                "created": stats.created.len(),
                "created_ids": created,
                "pages_added": stats.pages_added,
                "merged": stats.merged,
                "reopened": stats.reopened,
            }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(stats)
}

async fn page_title(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    page: i64,
) -> Result<String, ReporterError> {
    let r = sqlx::query("SELECT title, url FROM pages WHERE id = $1")
        .bind(page)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(r) = r else {
        return Ok(String::new());
    };
    let title: Option<String> = r.try_get("title")?;
    let url: String = r.try_get("url")?;
    let t = title.filter(|t| !t.trim().is_empty()).unwrap_or(url);
    Ok(t.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::UnionFind;

    #[test]
    fn union_find_joins_transitively_and_roots_at_the_smallest() {
        let mut uf = UnionFind::new(6);
        uf.union(4, 2);
        uf.union(2, 5);
        uf.union(1, 3);
        assert_eq!(uf.find(5), 2);
        assert_eq!(uf.find(4), 2);
        assert_eq!(uf.find(3), 1);
        assert_ne!(uf.find(0), uf.find(1));
    }
}
