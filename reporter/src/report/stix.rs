//! The STIX 2.1 bundle: an `identity` for kuzet, one `indicator` per distinct indicator (a STIX
//! pattern over the matching cyber-observable), one `observed-data` per case referencing the
//! case's observables (its page URLs and indicators), and a `report` that ties the week together.
//!
//! Ids are deterministic: observables (SCOs) of types defined by STIX 2.1 (`url`, `domain-name`,
//! `email-addr`, `user-account`) get the UUIDv5 the specification prescribes (namespace
//! `00abedb4-aa42-466c-9c01-fed23315a9b7` over the canonical JSON of their id-contributing
//! properties); everything else gets a UUIDv5 in kuzet's own namespace over a stable name, so
//! the same indicator has the same id in every week's bundle and from every kuzet installation.
//!
//! STIX 2.1 has no observable for phone numbers, payment cards or cryptocurrency wallets, so
//! kuzet uses the custom types `x-kuzet-phone-number`, `x-kuzet-payment-card` and
//! `x-kuzet-crypto-wallet` (with a `currency` property); Telegram accounts are `user-account`
//! objects with `account_type` `telegram`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::weekly::WeeklyReport;
use super::{ReportError, rfc3339_ms};

/// STIX 2.1's namespace for deterministic SCO ids (section 2.9 of the specification).
pub const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);
/// kuzet's namespace for every other deterministic id.
pub const KUZET_NAMESPACE: Uuid = Uuid::from_u128(0x6b757a65_745f_4e53_8a1b_2c3d4e5f6071);

/// A cyber-observable for an indicator or a page URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Observable {
    /// The STIX id (`url--…`).
    pub id: String,
    /// The SCO as JSON.
    pub object: Value,
    /// A STIX pattern that matches it.
    pub pattern: String,
}

/// Escapes a string for a STIX pattern literal (`'…'`): backslash and quote get a backslash.
pub fn pattern_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for ch in s.chars() {
        if matches!(ch, '\\' | '\'') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('\'');
    out
}

fn sco(ty: &str, contributing: Map<String, Value>, extra: Map<String, Value>) -> (String, Value) {
    let spec_defined = matches!(ty, "url" | "domain-name" | "email-addr" | "user-account");
    // serde_json's Map is ordered by key and prints compactly: for these ASCII keys and string
    // values that is the canonical (RFC 8785) form the specification hashes.
    let canonical = Value::Object(contributing.clone()).to_string();
    let uuid = if spec_defined {
        Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes())
    } else {
        Uuid::new_v5(&KUZET_NAMESPACE, format!("{ty}:{canonical}").as_bytes())
    };
    let id = format!("{ty}--{uuid}");
    let mut obj = Map::new();
    obj.insert("type".into(), json!(ty));
    obj.insert("spec_version".into(), json!("2.1"));
    obj.insert("id".into(), json!(id));
    obj.extend(contributing);
    obj.extend(extra);
    if !spec_defined {
        obj.insert(
            "extensions".into(),
            json!({ extension_id(ty): { "extension_type": "new-sco" } }),
        );
    }
    (id, Value::Object(obj))
}

/// kuzet's own observable types, each defined by an `extension-definition` in the bundle.
pub const CUSTOM_TYPES: [(&str, &str); 4] = [
    (
        "x-kuzet-phone-number",
        "A telephone number in E.164 form (`value`).",
    ),
    (
        "x-kuzet-payment-card",
        "A payment card number (`value`), Luhn-checked.",
    ),
    (
        "x-kuzet-crypto-wallet",
        "A cryptocurrency address (`value`) and its currency code (`currency`: BTC, ETH, TRX, XMR).",
    ),
    (
        "x-kuzet-indicator",
        "Any other indicator: its `kind` and `value` as kuzet names them.",
    ),
];

/// The id of the `extension-definition` for a custom observable type.
pub fn extension_id(ty: &str) -> String {
    kuzet_id("extension-definition", ty)
}

/// A URL in the RFC 3986 form STIX requires (`<`, `>`, spaces … percent-encoded); unparsable
/// text is percent-encoded byte by byte outside the unreserved and reserved sets.
pub fn uri(s: &str) -> String {
    match url::Url::parse(s) {
        Ok(u) => u.to_string(),
        Err(_) => s
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
    }
}

fn one(key: &str, value: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(key.into(), json!(value));
    m
}

/// The observable and pattern for an indicator of `kind` (as the classifier names kinds);
/// unknown kinds become `x-kuzet-indicator` objects so that nothing is dropped.
pub fn observable(kind: &str, value: &str) -> Observable {
    let simple = |ty: &str, value: &str| {
        let (id, object) = sco(ty, one("value", value), Map::new());
        let pattern = format!("[{ty}:value = {}]", pattern_literal(value));
        Observable {
            id,
            object,
            pattern,
        }
    };
    match kind {
        "url" => simple("url", &uri(value)),
        "telegram_invite" => {
            let url = if value.starts_with("http://") || value.starts_with("https://") {
                value.to_string()
            } else {
                format!("https://{}", value.trim_start_matches('/'))
            };
            simple("url", &uri(&url))
        }
        "domain" | "onion" => simple("domain-name", value),
        "email" => simple("email-addr", value),
        "phone" => simple("x-kuzet-phone-number", value),
        "card" => simple("x-kuzet-payment-card", value),
        "telegram" | "telegram_bot" => {
            let mut c = one("account_type", "telegram");
            c.insert("account_login".into(), json!(value));
            let mut extra = Map::new();
            if kind == "telegram_bot" {
                extra.insert("is_service_account".into(), json!(true));
            }
            let (id, object) = sco("user-account", c, extra);
            let pattern = format!(
                "[user-account:account_type = 'telegram' AND user-account:account_login = {}]",
                pattern_literal(value)
            );
            Observable {
                id,
                object,
                pattern,
            }
        }
        "bitcoin" | "ethereum" | "tron" | "monero" => {
            let currency = match kind {
                "bitcoin" => "BTC",
                "ethereum" => "ETH",
                "tron" => "TRX",
                _ => "XMR",
            };
            let mut c = one("value", value);
            c.insert("currency".into(), json!(currency));
            let (id, object) = sco("x-kuzet-crypto-wallet", c, Map::new());
            let pattern = format!(
                "[x-kuzet-crypto-wallet:currency = '{currency}' AND x-kuzet-crypto-wallet:value = {}]",
                pattern_literal(value)
            );
            Observable {
                id,
                object,
                pattern,
            }
        }
        other => {
            let mut c = one("value", value);
            c.insert("kind".into(), json!(other));
            let (id, object) = sco("x-kuzet-indicator", c, Map::new());
            let pattern = format!(
                "[x-kuzet-indicator:kind = {} AND x-kuzet-indicator:value = {}]",
                pattern_literal(other),
                pattern_literal(value)
            );
            Observable {
                id,
                object,
                pattern,
            }
        }
    }
}

fn kuzet_id(ty: &str, name: &str) -> String {
    format!(
        "{ty}--{}",
        Uuid::new_v5(&KUZET_NAMESPACE, format!("{ty}:{name}").as_bytes())
    )
}

/// The id of kuzet's `identity` object, the `created_by_ref` of everything else.
pub fn identity_id() -> String {
    kuzet_id("identity", "kuzet")
}

/// Builds the bundle as a JSON value.
pub fn bundle(report: &WeeklyReport) -> Value {
    let identity = identity_id();
    let epoch = rfc3339_ms(0);
    let mut objects: Vec<Value> = vec![json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity,
        "created": epoch,
        "modified": epoch,
        "name": "kuzet",
        "identity_class": "system",
        "description": "Finds online drug shops and hands them to the people who can shut them down",
    })];
    // Observables and indicators, each once, in a stable order.
    let mut scos: BTreeMap<String, Value> = BTreeMap::new();
    // pattern → (kind, value, first_seen, last_seen)
    let mut indicators: BTreeMap<String, (String, String, i64, i64)> = BTreeMap::new();
    let mut observed = Vec::new();
    for c in &report.cases {
        let mut refs: Vec<String> = Vec::new();
        for p in &c.pages {
            for u in [&p.url, &p.final_url] {
                let o = observable("url", u);
                if !refs.contains(&o.id) {
                    refs.push(o.id.clone());
                }
                scos.entry(o.id).or_insert(o.object);
            }
        }
        for i in &c.indicators {
            let o = observable(&i.kind, &i.value);
            if !refs.contains(&o.id) {
                refs.push(o.id.clone());
            }
            scos.entry(o.id).or_insert(o.object);
            let e = indicators.entry(o.pattern).or_insert((
                i.kind.clone(),
                i.value.clone(),
                i.first_seen,
                i.last_seen,
            ));
            e.2 = e.2.min(i.first_seen);
            e.3 = e.3.max(i.last_seen);
        }
        if refs.is_empty() {
            continue;
        }
        let first = c.first_seen.unwrap_or(c.confirmed_at);
        let last = c.last_seen.unwrap_or(c.confirmed_at).max(first);
        observed.push(json!({
            "type": "observed-data",
            "spec_version": "2.1",
            "id": kuzet_id("observed-data", &format!("case:{}", c.id)),
            "created_by_ref": identity,
            "created": rfc3339_ms(c.confirmed_at),
            "modified": rfc3339_ms(c.confirmed_at),
            "first_observed": rfc3339_ms(first),
            "last_observed": rfc3339_ms(last),
            "number_observed": c.pages.len().max(1),
            "object_refs": refs,
            "labels": ["drug-shop", format!("kuzet-case-{}", c.id)],
        }));
    }
    let mut refs: Vec<String> = Vec::new();
    for (pattern, (kind, value, first, last)) in &indicators {
        let id = kuzet_id("indicator", pattern);
        refs.push(id.clone());
        objects.push(json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": identity,
            "created": rfc3339_ms(*first),
            "modified": rfc3339_ms(*last.max(first)),
            "name": format!("{kind} {value}"),
            "description": "Seen on a page of an online drug shop confirmed by a kuzet reviewer",
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": rfc3339_ms(*first),
            "labels": [format!("kuzet-{kind}")],
        }));
    }
    refs.extend(
        observed
            .iter()
            .filter_map(|o| o["id"].as_str().map(String::from)),
    );
    objects.extend(observed);
    for (ty, description) in CUSTOM_TYPES {
        if scos.keys().any(|id| id.starts_with(&format!("{ty}--"))) {
            objects.push(json!({
                "type": "extension-definition",
                "spec_version": "2.1",
                "id": extension_id(ty),
                "created_by_ref": identity,
                "created": epoch,
                "modified": epoch,
                "name": ty,
                "description": description,
                "schema": description,
                "version": "1.0.0",
                "extension_types": ["new-sco"],
            }));
        }
    }
    objects.extend(scos.into_values());
    let week = report.week.to_string();
    if !refs.is_empty() {
        objects.push(json!({
            "type": "report",
            "spec_version": "2.1",
            "id": kuzet_id("report", &week),
            "created_by_ref": identity,
            "created": rfc3339_ms(report.generated_at),
            "modified": rfc3339_ms(report.generated_at),
            "name": format!("kuzet weekly report {week}"),
            "report_types": ["indicator", "observed-data"],
            "published": rfc3339_ms(report.generated_at),
            "object_refs": refs,
        }));
    }
    // The bundle id changes with its content, and only with it.
    let ids: Vec<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    let id = kuzet_id("bundle", &format!("{week}:{}", ids.join(",")));
    // Built by hand: `json!` would serialise (deep-copy) the objects instead of moving them.
    let mut b = Map::new();
    b.insert("type".into(), json!("bundle"));
    b.insert("id".into(), json!(id));
    b.insert("objects".into(), Value::Array(objects));
    Value::Object(b)
}

/// Renders the bundle as pretty-printed JSON.
pub fn render(report: &WeeklyReport) -> Result<Vec<u8>, ReportError> {
    serde_json::to_vec_pretty(&bundle(report)).map_err(|e| ReportError::Render {
        format: "stix",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_id_follows_the_specification() {
        let o = observable("url", "https://example.com/");
        assert_eq!(o.object["value"], "https://example.com/");
        let again = observable("url", "https://example.com/");
        assert_eq!(o.id, again.id);
        // Reference ids computed by OASIS's `stix2` Python library (3.0):
        // stix2.URL(value="https://example.com/").id and so on.
        assert_eq!(o.id, "url--be22e93a-5e33-5678-b19f-8b4ea06df0bd");
        assert_eq!(
            observable("domain", "shop.kz").id,
            "domain-name--5f78d6d2-3cf4-5580-b890-c95304064f9a"
        );
        assert_eq!(
            observable("telegram", "@shop_one").id,
            "user-account--b0cb6ccd-c861-55ac-b9d8-9e5e5fafa427"
        );
    }

    #[test]
    fn urls_are_rfc3986() {
        assert_eq!(
            uri("https://a.kz/x?b=<b> c"),
            "https://a.kz/x?b=%3Cb%3E%20c"
        );
        assert_eq!(uri("not a url <>"), "not%20a%20url%20%3C%3E");
    }

    #[test]
    fn patterns_escape_quotes_and_backslashes() {
        assert_eq!(pattern_literal(r"a'b\c"), r"'a\'b\\c'");
        let o = observable("email", "a'b\\c@x.kz");
        assert_eq!(o.pattern, r"[email-addr:value = 'a\'b\\c@x.kz']");
        // URLs are percent-encoded first, so quotes never reach the pattern raw.
        let o = observable("url", "http://x.kz/?q=' OR 1=1]");
        assert_eq!(o.pattern, "[url:value = 'http://x.kz/?q=%27%20OR%201=1]']");
    }

    #[test]
    fn kinds_map_to_observables() {
        let cases = [
            ("telegram", "@shop_kz", "user-account"),
            ("telegram_bot", "@shop_bot", "user-account"),
            ("telegram_invite", "t.me/+AbC", "url"),
            ("onion", "abc.onion", "domain-name"),
            ("domain", "shop.kz", "domain-name"),
            ("email", "a@b.kz", "email-addr"),
            ("bitcoin", "bc1qxyz", "x-kuzet-crypto-wallet"),
            ("monero", "4abc", "x-kuzet-crypto-wallet"),
            ("phone", "+77011234567", "x-kuzet-phone-number"),
            ("card", "4400430000000000", "x-kuzet-payment-card"),
            ("something_new", "v", "x-kuzet-indicator"),
        ];
        for (kind, value, ty) in cases {
            let o = observable(kind, value);
            assert_eq!(o.object["type"], ty, "{kind}");
            assert!(o.id.starts_with(&format!("{ty}--")), "{kind}: {}", o.id);
            assert!(o.pattern.starts_with(&format!("[{ty}:")), "{}", o.pattern);
        }
        assert_eq!(
            observable("telegram_invite", "t.me/+AbC").object["value"],
            "https://t.me/+AbC"
        );
    }
}
