//! The crawl frontier in the database, shared by every worker.
//!
//! - The seen set (`seen_urls`, keyed by the SHA-256 of the canonical URL) decides whether a URL is
//!   new; the hot queue (`frontier`) holds only URLs still to fetch, and a row leaves it in the same
//!   transaction that commits the fetch's result ([`crate::store`]).
//! - Workers claim a batch of URLs in one short transaction and fetch outside it. A claim is a
//!   lease with an expiry: a worker that dies (`kill -9`) loses its leases when they expire, and
//!   another worker claims those URLs again — the only way a URL is fetched twice, recorded as a
//!   refetch. On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so concurrent workers never
//!   claim the same row; on SQLite the claim is a single write transaction.
//! - Politeness lives in the database too: a claim takes URLs only from hosts whose
//!   `next_allowed_at` has passed, at most `per_host` of them, and pushes the host's
//!   `next_allowed_at` forward by its delay for each URL taken.
//! - Failed fetches are retried with exponential backoff up to a limit.

use std::collections::{HashMap, HashSet};

use kuzet_storage::sqlx::{self, Row};
use kuzet_storage::{Backend, Db, StorageError, now_ms};

/// A URL to add to the frontier. The caller canonicalises it and computes `url_hash`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUrl {
    /// Canonical URL.
    pub url: String,
    /// SHA-256 hex of `url`: the seen-set key.
    pub url_hash: String,
    /// Politeness key: `scheme://host:port`.
    pub host: String,
    /// Links followed from a seed.
    pub depth: i64,
    /// Higher is fetched sooner.
    pub priority: f64,
    /// `page`, `image` or `telegram`.
    pub kind: &'static str,
    /// The source this URL came from.
    pub source_id: Option<i64>,
    /// The page whose link (or QR code) led here.
    pub parent_page_id: Option<i64>,
    /// The host's delay between fetches in milliseconds, stored when the host is first seen (the
    /// politeness policy's minimum delay), so that the first claim on a new host already takes
    /// one URL at a time and spaces the next.
    pub host_delay_ms: i64,
}

/// A claimed URL: this worker may fetch it until `lease_expires_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    /// Frontier row id.
    pub id: i64,
    /// Canonical URL.
    pub url: String,
    /// Seen-set key.
    pub url_hash: String,
    /// Host row id.
    pub host_id: i64,
    /// Depth from the seed.
    pub depth: i64,
    /// Priority it was claimed at.
    pub priority: f64,
    /// `page`, `image` or `telegram`.
    pub kind: String,
    /// Source id.
    pub source_id: Option<i64>,
    /// Parent page id.
    pub parent_page_id: Option<i64>,
    /// How many times this URL has been claimed, this claim included (2+ is a retry or a refetch
    /// after an expired lease).
    pub attempts: i64,
    /// The worker whose lease on this URL had expired when this claim took it over (it died or
    /// stalled mid-fetch): this fetch is a refetch, recorded as such in `fetch_log`.
    pub expired_owner: Option<String>,
}

/// Claim and retry settings.
#[derive(Debug, Clone)]
pub struct FrontierOptions {
    /// This worker's name, stored with its leases.
    pub worker: String,
    /// How long a claim is valid, in milliseconds.
    pub lease_ms: i64,
    /// Most URLs claimed from one host in one claim.
    pub per_host: i64,
    /// Most hosts visited by one claim.
    pub max_hosts: i64,
    /// Attempts before a failing URL is given up.
    pub max_attempts: i64,
    /// First retry delay in milliseconds; doubles with each attempt.
    pub backoff_ms: i64,
}

impl Default for FrontierOptions {
    fn default() -> Self {
        Self {
            worker: format!("worker-{}", std::process::id()),
            lease_ms: 60_000,
            per_host: 2,
            max_hosts: 64,
            max_attempts: 3,
            backoff_ms: 5_000,
        }
    }
}

/// Most parameters in one statement: SQLite's oldest limit (999); multi-row statements are cut
/// into chunks of `MAX_PARAMS / columns` rows.
pub(crate) const MAX_PARAMS: usize = 999;

/// Host ids known to exist in `hosts`, so that an enqueue does not insert and look up hosts it
/// already knows. Ids learnt inside a transaction stay pending until [`HostIds::committed`] is
/// called after its commit (a rolled-back transaction may have created the host row it learnt).
#[derive(Debug, Clone, Default)]
pub struct HostIds {
    known: HashMap<String, i64>,
    pending: HashMap<String, i64>,
}

impl HostIds {
    fn get(&self, host: &str) -> Option<i64> {
        self.known
            .get(host)
            .or_else(|| self.pending.get(host))
            .copied()
    }

    /// The transaction that learnt the pending ids committed: they are known from now on.
    pub fn committed(&mut self) {
        self.known.extend(self.pending.drain());
    }

    /// The transaction that learnt the pending ids rolled back: forget them.
    pub fn rolled_back(&mut self) {
        self.pending.clear();
    }
}

/// Adds URLs not seen before; returns how many were new. Runs inside the caller's transaction so
/// discovered links commit together with the page that linked them.
///
/// Cost: a few multi-row statements per few hundred URLs (seen set, hosts, frontier), not one
/// round-trip per URL.
pub async fn enqueue(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    urls: &[NewUrl],
) -> Result<usize, StorageError> {
    let urls: Vec<&NewUrl> = urls.iter().collect();
    enqueue_with(tx, &urls, &mut HostIds::default()).await
}

/// [`enqueue`] with a cache of host ids kept across transactions by the caller (the crawl's
/// writer). Of URLs with the same key, the first wins, as with one enqueue after another.
pub async fn enqueue_with(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    urls: &[&NewUrl],
    hosts: &mut HostIds,
) -> Result<usize, StorageError> {
    let now = now_ms();
    let mut seen_here = HashSet::new();
    let urls: Vec<&NewUrl> = urls
        .iter()
        .copied()
        .filter(|u| seen_here.insert(u.url_hash.as_str()))
        .collect();
    // Seen-set rows go in key order, so that workers inserting the same new keys at once
    // (PostgreSQL) wait for each other's unique-index entries in one order and cannot deadlock.
    let mut keyed = urls.clone();
    keyed.sort_unstable_by(|a, b| a.url_hash.cmp(&b.url_hash));
    let marks = Marks::of(tx);
    let mut new = HashSet::new();
    for chunk in keyed.chunks(MAX_PARAMS / 3) {
        let sql = format!(
            "INSERT INTO seen_urls (url_hash, url, first_seen_at) VALUES {} \
             ON CONFLICT (url_hash) DO NOTHING RETURNING url_hash",
            marks.rows(chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for u in chunk {
            q = q.bind(&u.url_hash).bind(&u.url).bind(now);
        }
        for r in q.fetch_all(&mut **tx).await? {
            new.insert(r.try_get::<String, _>(0)?);
        }
    }
    let fresh: Vec<&NewUrl> = urls
        .into_iter()
        .filter(|u| new.contains(&u.url_hash))
        .collect();
    if fresh.is_empty() {
        return Ok(0);
    }
    host_ids(tx, &fresh, hosts).await?;
    for chunk in fresh.chunks(MAX_PARAMS / 10) {
        let sql = format!(
            "INSERT INTO frontier (url_hash, url, host_id, source_id, parent_page_id, depth, \
             priority, kind, attempts, next_try_at) VALUES {}",
            marks.rows(chunk.len(), 10)
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for u in chunk {
            q = q
                .bind(&u.url_hash)
                .bind(&u.url)
                .bind(hosts.get(&u.host).unwrap_or_default())
                .bind(u.source_id)
                .bind(u.parent_page_id)
                .bind(u.depth)
                .bind(u.priority)
                .bind(u.kind)
                .bind(0_i64)
                .bind(0_i64);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(fresh.len())
}

/// Parameter placeholders of statements built for a number of rows: `$1, $2, …` on PostgreSQL,
/// `?` on SQLite, where each numbered parameter costs a name lookup that grows with the number
/// of parameters, when the statement is parsed and again at every bind (quadratic in the size of
/// a multi-row statement). Parameters must appear in the text in the order they are bound.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Marks {
    numbered: bool,
}

impl Marks {
    /// The placeholders for this connection's backend.
    pub(crate) fn of(conn: &sqlx::AnyConnection) -> Marks {
        Marks {
            numbered: conn.backend_name() != "SQLite",
        }
    }

    /// Parameter `i` (1-based).
    pub(crate) fn at(self, i: usize) -> String {
        if self.numbered {
            format!("${i}")
        } else {
            "?".into()
        }
    }

    /// `n` parameters from `first`, comma-separated.
    pub(crate) fn list(self, first: usize, n: usize) -> String {
        (first..first + n)
            .map(|i| self.at(i))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `(…), (…)`: `rows` groups of `cols` parameters from `$1`.
    pub(crate) fn rows(self, rows: usize, cols: usize) -> String {
        (0..rows)
            .map(|r| format!("({})", self.list(r * cols + 1, cols)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Makes sure the hosts of these URLs have rows and their ids are in `known`: rows are created
/// on first use with each URL's delay (in host order, for the same reason as the seen set).
async fn host_ids(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    urls: &[&NewUrl],
    known: &mut HostIds,
) -> Result<(), StorageError> {
    let mut delays: Vec<(&str, i64)> = Vec::new();
    let mut listed = HashSet::new();
    for u in urls {
        if known.get(&u.host).is_none() && listed.insert(u.host.as_str()) {
            delays.push((&u.host, u.host_delay_ms.max(0)));
        }
    }
    delays.sort_unstable();
    let marks = Marks::of(tx);
    for chunk in delays.chunks(MAX_PARAMS / 2) {
        let sql = format!(
            "INSERT INTO hosts (host, crawl_delay_ms) VALUES {} ON CONFLICT (host) DO NOTHING",
            marks.rows(chunk.len(), 2)
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (h, d) in chunk {
            q = q.bind(*h).bind(*d);
        }
        q.execute(&mut **tx).await?;
        let sql = format!(
            "SELECT id, host FROM hosts WHERE host IN ({})",
            marks.list(1, chunk.len())
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (h, _) in chunk {
            q = q.bind(*h);
        }
        for r in q.fetch_all(&mut **tx).await? {
            known
                .pending
                .insert(r.try_get::<String, _>("host")?, r.try_get::<i64, _>("id")?);
        }
    }
    Ok(())
}

/// The id of a host row, created on first use (with no delay).
pub async fn host_id(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    host: &str,
) -> Result<i64, StorageError> {
    host_id_with_delay(tx, host, 0).await
}

/// The id of a host row, created on first use with `delay_ms` between fetches.
async fn host_id_with_delay(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    host: &str,
    delay_ms: i64,
) -> Result<i64, StorageError> {
    sqlx::query(
        "INSERT INTO hosts (host, crawl_delay_ms) VALUES ($1, $2) ON CONFLICT (host) DO NOTHING",
    )
    .bind(host)
    .bind(delay_ms.max(0))
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query_scalar("SELECT id FROM hosts WHERE host = $1")
        .bind(host)
        .fetch_one(&mut **tx)
        .await?)
}

/// Sets a host's delay between fetches (from robots.txt `Crawl-delay` or configuration).
pub async fn set_host_delay(db: &Db, host_id: i64, delay_ms: i64) -> Result<(), StorageError> {
    sqlx::query("UPDATE hosts SET crawl_delay_ms = $1 WHERE id = $2")
        .bind(delay_ms.max(0))
        .bind(host_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A fetch to a host starts now: stores the host's delay (policy and robots.txt `Crawl-delay`) and
/// keeps its next claim at least `delay_ms` after this moment. The claim already advanced
/// `next_allowed_at` from the claim time; this covers the time between claim and fetch (a
/// robots.txt request, a longer `Crawl-delay` learned only now).
pub async fn host_fetch_starts(
    conn: &mut sqlx::AnyConnection,
    host_id: i64,
    delay_ms: i64,
) -> Result<(), StorageError> {
    let delay_ms = delay_ms.max(0);
    sqlx::query(
        "UPDATE hosts SET crawl_delay_ms = $1, next_allowed_at = CASE WHEN next_allowed_at > $2 \
         THEN next_allowed_at ELSE $2 END WHERE id = $3",
    )
    .bind(delay_ms)
    .bind(now_ms() + delay_ms)
    .bind(host_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims up to `max` URLs that are due, from hosts whose politeness delay has passed.
pub async fn claim(db: &Db, opts: &FrontierOptions, max: i64) -> Result<Vec<Lease>, StorageError> {
    let mut tx = db.begin_write().await?;
    let leases = claim_in(&mut tx, db.backend(), opts, max).await?;
    tx.commit().await?;
    Ok(leases)
}

/// [`claim`] inside the caller's write transaction (which must commit for the leases to hold).
pub async fn claim_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    opts: &FrontierOptions,
    max: i64,
) -> Result<Vec<Lease>, StorageError> {
    let now = now_ms();
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let hosts = sqlx::query(&format!(
        "SELECT h.id, h.crawl_delay_ms FROM hosts h WHERE h.next_allowed_at <= $1 \
         AND EXISTS (SELECT 1 FROM frontier f WHERE f.host_id = h.id AND f.next_try_at <= $1 \
                     AND (f.lease_expires_at IS NULL OR f.lease_expires_at < $1)) \
         ORDER BY h.next_allowed_at, h.id LIMIT $2{lock}"
    ))
    .bind(now)
    .bind(opts.max_hosts)
    .fetch_all(&mut **tx)
    .await?;
    let mut leases = Vec::new();
    for host in hosts {
        let remaining = max - leases.len() as i64;
        if remaining <= 0 {
            break;
        }
        let host_id: i64 = host.try_get("id")?;
        let delay: i64 = host.try_get("crawl_delay_ms")?;
        let take = if delay > 0 { 1 } else { opts.per_host }.min(remaining);
        // Pick (and on PostgreSQL lock) the rows first, reading whose lease expired, then take them.
        let picked = sqlx::query(&format!(
            "SELECT id, lease_owner FROM frontier WHERE host_id = $1 AND next_try_at <= $2 \
             AND (lease_expires_at IS NULL OR lease_expires_at < $2) \
             ORDER BY priority DESC, id LIMIT $3{lock}"
        ))
        .bind(host_id)
        .bind(now)
        .bind(take)
        .fetch_all(&mut **tx)
        .await?;
        let mut order = HashMap::with_capacity(picked.len());
        for (i, p) in picked.iter().enumerate() {
            let expired_owner: Option<String> = p.try_get("lease_owner")?;
            order.insert(p.try_get::<i64, _>("id")?, (i, expired_owner));
        }
        let mut taken = Vec::with_capacity(picked.len());
        if !picked.is_empty() {
            let marks = Marks::of(tx);
            let sql = format!(
                "UPDATE frontier SET lease_owner = {}, lease_expires_at = {}, \
                 attempts = attempts + 1 WHERE id IN ({}) \
                 RETURNING id, url, url_hash, host_id, depth, priority, kind, source_id, \
                           parent_page_id, attempts",
                marks.at(1),
                marks.at(2),
                marks.list(3, picked.len())
            );
            let mut q = sqlx::query(&sql)
                .persistent(false)
                .bind(&opts.worker)
                .bind(now + opts.lease_ms);
            for p in &picked {
                q = q.bind(p.try_get::<i64, _>("id")?);
            }
            for r in q.fetch_all(&mut **tx).await? {
                let id: i64 = r.try_get("id")?;
                let (rank, expired_owner) = order.remove(&id).unwrap_or((usize::MAX, None));
                taken.push((
                    rank,
                    Lease {
                        id,
                        url: r.try_get("url")?,
                        url_hash: r.try_get("url_hash")?,
                        host_id: r.try_get("host_id")?,
                        depth: r.try_get("depth")?,
                        priority: r.try_get("priority")?,
                        kind: r.try_get("kind")?,
                        source_id: r.try_get("source_id")?,
                        parent_page_id: r.try_get("parent_page_id")?,
                        attempts: r.try_get("attempts")?,
                        expired_owner,
                    },
                ));
            }
        }
        // In the order picked (best first), whatever order the update returned them in.
        taken.sort_unstable_by_key(|(rank, _)| *rank);
        let n = taken.len() as i64;
        leases.extend(taken.into_iter().map(|(_, l)| l));
        sqlx::query("UPDATE hosts SET next_allowed_at = $1 WHERE id = $2")
            .bind(now + delay * n)
            .bind(host_id)
            .execute(&mut **tx)
            .await?;
    }
    leases.sort_by(|a, b| b.priority.total_cmp(&a.priority));
    Ok(leases)
}

/// Of these leases, the frontier ids this worker still holds (see [`holds_in`]), checked with one
/// statement per few hundred leases inside the transaction that stores their results; on
/// PostgreSQL the rows are locked (in id order) until it commits.
pub async fn held_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    leases: &[&Lease],
    worker: &str,
) -> Result<HashSet<i64>, StorageError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let want: HashMap<i64, i64> = leases.iter().map(|l| (l.id, l.attempts)).collect();
    let mut ids: Vec<i64> = want.keys().copied().collect();
    ids.sort_unstable();
    let mut held = HashSet::new();
    let marks = Marks::of(tx);
    for chunk in ids.chunks(MAX_PARAMS - 1) {
        let sql = format!(
            "SELECT id, attempts FROM frontier WHERE lease_owner = {} AND id IN ({}) \
             ORDER BY id{lock}",
            marks.at(1),
            marks.list(2, chunk.len())
        );
        let mut q = sqlx::query(&sql).persistent(false).bind(worker);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut **tx).await? {
            let id: i64 = r.try_get("id")?;
            if want.get(&id) == Some(&r.try_get::<i64, _>("attempts")?) {
                held.insert(id);
            }
        }
    }
    Ok(held)
}

/// Removes fetched URLs from the queue by frontier id, inside the transaction that stores their
/// results and that checked with [`held_in`] that this worker still holds them.
pub async fn remove_held_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ids: &[i64],
) -> Result<(), StorageError> {
    let marks = Marks::of(tx);
    for chunk in ids.chunks(MAX_PARAMS) {
        let sql = format!(
            "DELETE FROM frontier WHERE id IN ({})",
            marks.list(1, chunk.len())
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Whether this worker still holds `lease`, checked inside the transaction that would store the
/// fetch's result (and, on PostgreSQL, locking the row until it commits, so no other worker can
/// take it over in between). False when the lease expired and another worker claimed the URL: the
/// result must then be dropped, since that worker's fetch will be the one stored.
pub async fn holds_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    lease: &Lease,
    worker: &str,
) -> Result<bool, StorageError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT id FROM frontier WHERE id = $1 AND lease_owner = $2 AND attempts = $3{lock}"
    ))
    .bind(lease.id)
    .bind(worker)
    .bind(lease.attempts)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some())
}

/// A lease is identified by (worker, attempts): `attempts` grows with every claim, so a worker
/// whose own lease expired and that claimed the URL again holds only the newer claim.
///
/// Removes a fetched URL from the queue inside the transaction that stores its result. Returns
/// false when this worker no longer held the lease (it expired and another worker claimed it).
pub async fn remove_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    lease: &Lease,
    worker: &str,
) -> Result<bool, StorageError> {
    let n =
        sqlx::query("DELETE FROM frontier WHERE id = $1 AND lease_owner = $2 AND attempts = $3")
            .bind(lease.id)
            .bind(worker)
            .bind(lease.attempts)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(n == 1)
}

/// A failed attempt: retried after an exponential backoff, or given up after `max_attempts`
/// (or at once when `retryable` is false). Returns true when the URL was given up.
pub async fn fail_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    lease: &Lease,
    opts: &FrontierOptions,
    retryable: bool,
) -> Result<bool, StorageError> {
    if !retryable || lease.attempts >= opts.max_attempts {
        remove_in(tx, lease, &opts.worker).await?;
        return Ok(true);
    }
    let shift = u32::try_from(lease.attempts.clamp(1, 20) - 1).unwrap_or(0);
    let delay = opts.backoff_ms.saturating_mul(1_i64 << shift);
    sqlx::query(
        "UPDATE frontier SET lease_owner = NULL, lease_expires_at = NULL, next_try_at = $1 \
         WHERE id = $2 AND lease_owner = $3 AND attempts = $4",
    )
    .bind(now_ms() + delay)
    .bind(lease.id)
    .bind(&opts.worker)
    .bind(lease.attempts)
    .execute(&mut **tx)
    .await?;
    Ok(false)
}

/// Gives back leases not yet fetched (graceful shutdown), so other workers need not wait for
/// them to expire. Attempts are not counted for released URLs.
pub async fn release(db: &Db, leases: &[Lease], worker: &str) -> Result<(), StorageError> {
    let mut tx = db.begin_write().await?;
    for l in leases {
        sqlx::query(
            "UPDATE frontier SET lease_owner = NULL, lease_expires_at = NULL, \
             attempts = attempts - 1 WHERE id = $1 AND lease_owner = $2 AND attempts = $3",
        )
        .bind(l.id)
        .bind(worker)
        .bind(l.attempts)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Queue sizes for progress and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// URLs in the queue (due or not).
    pub queued: i64,
    /// Of those, currently leased.
    pub leased: i64,
    /// URLs ever seen.
    pub seen: i64,
}

/// Current queue sizes.
pub async fn stats(db: &Db) -> Result<QueueStats, StorageError> {
    let now = now_ms();
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM frontier) AS queued, \
                (SELECT COUNT(*) FROM frontier WHERE lease_expires_at >= $1) AS leased, \
                (SELECT COUNT(*) FROM seen_urls) AS seen",
    )
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    Ok(QueueStats {
        queued: row.try_get("queued")?,
        leased: row.try_get("leased")?,
        seen: row.try_get("seen")?,
    })
}

/// The earliest time (ms) at which some queued URL becomes claimable, if any URL is queued: the
/// latest of its retry time, its host's politeness time and the expiry of its current lease.
pub async fn next_due(db: &Db) -> Result<Option<i64>, StorageError> {
    let row = sqlx::query(
        "SELECT MIN(CASE WHEN h.next_allowed_at > f.next_try_at \
                          AND h.next_allowed_at > COALESCE(f.lease_expires_at, 0) \
                         THEN h.next_allowed_at \
                         WHEN COALESCE(f.lease_expires_at, 0) > f.next_try_at \
                         THEN f.lease_expires_at + 1 \
                         ELSE f.next_try_at END) AS due \
         FROM frontier f JOIN hosts h ON h.id = f.host_id",
    )
    .fetch_one(db.pool())
    .await?;
    Ok(row.try_get::<Option<i64>, _>("due")?)
}
