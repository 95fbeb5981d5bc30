//! WARC 1.1 evidence files: a writer for request, response and metadata records, and a verifier that
//! re-hashes every record.
//!
//! Format choices (stable, other tools rely on them):
//! - plain, uncompressed `.warc` files (a byte offset in the database points straight at a record);
//! - digests are `sha256:` followed by RFC 4648 base32 with padding (upper case), the form `warcio`
//!   and most archiving tools write; the verifier also accepts lower case, no padding, or 64 hex digits;
//! - `WARC-Block-Digest` on every record; `WARC-Payload-Digest` on responses, over the entity body as
//!   received (content-encoded, transfer-decoded), per the WARC 1.1 definition of payload;
//! - records of one exchange are written response, request, metadata; the request and metadata
//!   records carry `WARC-Concurrent-To` with the response's `WARC-Record-ID`;
//! - the HTTP heads are rebuilt from the client's view (see [`crate::fetch`]).
//!
//! The `warc` crate was considered; it neither computes nor verifies digests nor reports record
//! offsets, which are the two things evidence needs, so this module writes the small format itself.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use data_encoding::BASE32;
use sha2::{Digest, Sha256};

use crate::fetch::FetchOutcome;

/// Errors of the WARC writer and reader.
#[derive(Debug, thiserror::Error)]
pub enum WarcError {
    /// IO on the WARC file.
    #[error("WARC file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The bytes at `offset` are not a well-formed record.
    #[error("malformed WARC record at offset {offset}: {reason}")]
    Malformed {
        /// Where the record starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Where a written record is, for the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLocation {
    /// Byte offset of the record's first byte (`W` of `WARC/1.1`) in the file.
    pub offset: u64,
    /// Length of the whole record including the trailing `\r\n\r\n`.
    pub length: u64,
    /// `WARC-Record-ID`, e.g. `<urn:uuid:…>`.
    pub record_id: String,
    /// `WARC-Block-Digest`.
    pub block_digest: String,
}

/// The three records of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRecords {
    /// The response record.
    pub response: RecordLocation,
    /// The request record.
    pub request: RecordLocation,
    /// The metadata record (redirect chain, crawler facts, caller's fields).
    pub metadata: RecordLocation,
    /// `WARC-Payload-Digest` of the response.
    pub payload_digest: String,
}

/// `sha256:` + base32 of the SHA-256 of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", BASE32.encode(&Sha256::digest(bytes)))
}

/// The raw 32 bytes of a `sha256:` digest in base32 (any case, padding optional) or hex.
pub fn parse_digest(value: &str) -> Option<Vec<u8>> {
    let (algo, v) = value.trim().split_once(':')?;
    if !algo.eq_ignore_ascii_case("sha256") {
        return None;
    }
    if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex::decode(v).ok();
    }
    let mut b32 = v.trim_end_matches('=').to_ascii_uppercase();
    while b32.len() % 8 != 0 {
        b32.push('=');
    }
    BASE32.decode(b32.as_bytes()).ok().filter(|d| d.len() == 32)
}

fn warc_date(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    let dt = dt.replace_nanosecond(0).unwrap_or(dt);
    dt.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

fn new_record_id() -> String {
    format!("<urn:uuid:{}>", uuid::Uuid::new_v4())
}

/// Strips CR and LF from a header value (URLs and caller fields are attacker-influenced).
fn clean(v: &str) -> String {
    v.chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

/// Appends records to a WARC stream and tracks offsets.
#[derive(Debug)]
pub struct WarcWriter<W: Write> {
    out: W,
    offset: u64,
    path: PathBuf,
}

impl WarcWriter<File> {
    /// Opens `path` for appending (created if missing); offsets continue from the current length.
    pub fn append(path: &Path) -> Result<Self, WarcError> {
        let io = |source| WarcError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let offset = file.metadata().map_err(io)?.len();
        Ok(WarcWriter {
            out: file,
            offset,
            path: path.to_path_buf(),
        })
    }

    /// Flushes and syncs the file to disk (call before committing offsets to the database).
    pub fn sync(&mut self) -> Result<(), WarcError> {
        self.out
            .flush()
            .and_then(|_| self.out.sync_data())
            .map_err(|source| WarcError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

impl<W: Write> WarcWriter<W> {
    /// A writer on `out` whose first byte is at `start_offset` of the file.
    pub fn new(out: W, start_offset: u64) -> Self {
        WarcWriter {
            out,
            offset: start_offset,
            path: PathBuf::from("<stream>"),
        }
    }

    /// The offset the next record will start at.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes one record. `fields` must not include `WARC-Record-ID`, `Content-Length` or
    /// `WARC-Block-Digest`: they are added here. Returns its location.
    pub fn write_record(
        &mut self,
        warc_type: &str,
        content_type: &str,
        fields: &[(&str, String)],
        block: &[u8],
    ) -> Result<RecordLocation, WarcError> {
        self.write_record_with_id(new_record_id(), warc_type, content_type, fields, block)
    }

    fn write_record_with_id(
        &mut self,
        record_id: String,
        warc_type: &str,
        content_type: &str,
        fields: &[(&str, String)],
        block: &[u8],
    ) -> Result<RecordLocation, WarcError> {
        let block_digest = sha256_digest(block);
        let mut head = format!(
            "WARC/1.1\r\nWARC-Type: {}\r\nWARC-Record-ID: {record_id}\r\n",
            clean(warc_type)
        );
        let has_date = fields
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("WARC-Date"));
        if !has_date {
            head.push_str(&format!("WARC-Date: {}\r\n", warc_date(SystemTime::now())));
        }
        for (k, v) in fields {
            head.push_str(&format!("{}: {}\r\n", clean(k), clean(v)));
        }
        head.push_str(&format!(
            "Content-Type: {}\r\nWARC-Block-Digest: {block_digest}\r\nContent-Length: {}\r\n\r\n",
            clean(content_type),
            block.len()
        ));
        let io = |source| WarcError::Io {
            path: self.path.clone(),
            source,
        };
        let mut record = Vec::with_capacity(head.len() + block.len() + 4);
        record.extend_from_slice(head.as_bytes());
        record.extend_from_slice(block);
        record.extend_from_slice(b"\r\n\r\n");
        self.out.write_all(&record).map_err(io)?;
        let loc = RecordLocation {
            offset: self.offset,
            length: record.len() as u64,
            record_id,
            block_digest,
        };
        self.offset += record.len() as u64;
        Ok(loc)
    }

    /// Writes the response, request and metadata records of one fetch. `metadata` fields are added
    /// to the metadata record (e.g. `kuzet-score: 0.93`, `kuzet-verdict: shop`).
    pub fn write_exchange(
        &mut self,
        outcome: &FetchOutcome,
        metadata: &[(&str, String)],
    ) -> Result<ExchangeRecords, WarcError> {
        let date = warc_date(outcome.fetched_at);
        let target = outcome.final_url.to_string();
        let payload_digest = sha256_digest(&outcome.raw.response_body);
        let mut block = outcome.raw.response_head.clone();
        block.extend_from_slice(&outcome.raw.response_body);
        let mut fields = vec![
            ("WARC-Date", date.clone()),
            ("WARC-Target-URI", target.clone()),
        ];
        if let Some(addr) = outcome.remote_addr {
            fields.push(("WARC-IP-Address", addr.ip().to_string()));
        }
        fields.push(("WARC-Payload-Digest", payload_digest.clone()));
        if outcome.truncated {
            fields.push(("WARC-Truncated", "length".to_string()));
        }
        let response = self.write_record(
            "response",
            "application/http;msgtype=response",
            &fields,
            &block,
        )?;
        let concurrent = [
            ("WARC-Date", date.clone()),
            ("WARC-Target-URI", target.clone()),
            ("WARC-Concurrent-To", response.record_id.clone()),
        ];
        let request = self.write_record(
            "request",
            "application/http;msgtype=request",
            &concurrent,
            &outcome.raw.request_head,
        )?;
        let mut meta = String::new();
        meta.push_str(&format!(
            "requested-uri: {}\r\n",
            clean(outcome.requested_url.as_str())
        ));
        for r in &outcome.redirects {
            meta.push_str(&format!(
                "redirect: {} {} -> {}\r\n",
                r.status,
                clean(r.from.as_str()),
                clean(r.to.as_str())
            ));
        }
        meta.push_str(&format!(
            "software: kuzet-crawler/{}\r\n",
            env!("CARGO_PKG_VERSION")
        ));
        for (k, v) in metadata {
            meta.push_str(&format!("{}: {}\r\n", clean(k), clean(v)));
        }
        let metadata = self.write_record(
            "metadata",
            "application/warc-fields",
            &concurrent,
            meta.as_bytes(),
        )?;
        Ok(ExchangeRecords {
            response,
            request,
            metadata,
            payload_digest,
        })
    }
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Offset of the record in the file.
    pub offset: u64,
    /// Header fields in order (names as written).
    pub fields: Vec<(String, String)>,
    /// The block.
    pub block: Vec<u8>,
}

impl Record {
    /// A header field (case-insensitive name).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The HTTP payload of a request or response record: the block after the HTTP head.
    pub fn http_payload(&self) -> Option<&[u8]> {
        let pos = self.block.windows(4).position(|w| w == b"\r\n\r\n")?;
        Some(&self.block[pos + 4..])
    }
}

/// Limits of the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest header section. Default 64 KiB.
    pub max_header_bytes: usize,
    /// Largest block read into memory. Default 256 MiB.
    pub max_block_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_header_bytes: 64 * 1024,
            max_block_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Reads records one after another.
#[derive(Debug)]
pub struct WarcReader<R: BufRead> {
    input: R,
    offset: u64,
    limits: ReadLimits,
}

impl<R: BufRead> WarcReader<R> {
    /// A reader on `input`, whose first byte is at `offset` of the file.
    pub fn new(input: R, offset: u64, limits: ReadLimits) -> Self {
        WarcReader {
            input,
            offset,
            limits,
        }
    }

    /// The next record, `Ok(None)` at a clean end of input.
    pub fn next_record(&mut self) -> Result<Option<Record>, WarcError> {
        let start = self.offset;
        let bad = |reason: String| WarcError::Malformed {
            offset: start,
            reason,
        };
        let io = |e: std::io::Error| bad(e.to_string());
        let mut line = Vec::new();
        // Skip blank lines between records (tolerated by readers, never written here).
        loop {
            line.clear();
            let n = self.read_line(&mut line).map_err(io)?;
            if n == 0 {
                return Ok(None);
            }
            if line != b"\r\n" && line != b"\n" {
                break;
            }
        }
        let record_start = self.offset - line.len() as u64;
        let bad = |reason: String| WarcError::Malformed {
            offset: record_start,
            reason,
        };
        if !line.starts_with(b"WARC/1.") {
            return Err(bad("missing WARC/1.x version line".into()));
        }
        let mut fields = Vec::new();
        let mut header_bytes = line.len();
        loop {
            line.clear();
            let n = self.read_line(&mut line).map_err(|e| bad(e.to_string()))?;
            if n == 0 {
                return Err(bad("end of file inside the header".into()));
            }
            header_bytes += n;
            if header_bytes > self.limits.max_header_bytes {
                return Err(bad("header too long".into()));
            }
            if line == b"\r\n" || line == b"\n" {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            let Some((k, v)) = text.split_once(':') else {
                return Err(bad(format!(
                    "header line without colon: {:?}",
                    text.trim_end()
                )));
            };
            fields.push((k.trim().to_string(), v.trim().to_string()));
        }
        let len: u64 = fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| bad("missing or invalid Content-Length".into()))?;
        if len > self.limits.max_block_bytes {
            return Err(bad(format!(
                "block of {len} bytes exceeds the reader's limit"
            )));
        }
        let mut block = Vec::with_capacity(len as usize);
        (&mut self.input)
            .take(len)
            .read_to_end(&mut block)
            .map_err(|e| bad(e.to_string()))?;
        if block.len() as u64 != len {
            return Err(bad(format!(
                "block truncated: {} of {len} bytes",
                block.len()
            )));
        }
        self.offset += len;
        let mut end = [0u8; 4];
        self.input
            .read_exact(&mut end)
            .map_err(|_| bad("missing record terminator".into()))?;
        self.offset += 4;
        if &end != b"\r\n\r\n" {
            return Err(bad("record terminator is not CRLF CRLF".into()));
        }
        Ok(Some(Record {
            offset: record_start,
            fields,
            block,
        }))
    }

    fn read_line(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        let max = self.limits.max_header_bytes as u64;
        let n = (&mut self.input).take(max).read_until(b'\n', buf)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Reads the single record at `offset` of `path` (how the database's reference is followed).
pub fn read_record_at(path: &Path, offset: u64) -> Result<Record, WarcError> {
    let io = |source| WarcError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    WarcReader::new(BufReader::new(file), offset, ReadLimits::default())
        .next_record()?
        .ok_or(WarcError::Malformed {
            offset,
            reason: "no record at this offset".into(),
        })
}

/// A digest that does not match the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Offset of the record.
    pub offset: u64,
    /// Its `WARC-Record-ID`.
    pub record_id: Option<String>,
    /// `WARC-Block-Digest` or `WARC-Payload-Digest`.
    pub field: &'static str,
    /// The digest stored in the header.
    pub expected: String,
    /// The digest of the bytes, same notation as written.
    pub actual: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records read.
    pub records: usize,
    /// Digests checked (block and payload).
    pub digests_checked: usize,
    /// Records without any digest to check.
    pub without_digest: usize,
    /// Digest mismatches.
    pub mismatches: Vec<Mismatch>,
    /// A structural error that stopped reading (nothing after it was checked).
    pub malformed: Option<String>,
}

impl VerifyReport {
    /// Whether every record was read and every digest matched.
    pub fn is_ok(&self) -> bool {
        self.mismatches.is_empty() && self.malformed.is_none()
    }
}

/// Re-hashes every record of `path` and reports mismatches.
pub fn verify(path: &Path) -> Result<VerifyReport, WarcError> {
    let file = File::open(path).map_err(|source| WarcError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(verify_reader(BufReader::new(file)))
}

/// Why a database reference to an evidence record does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceProblem {
    /// The WARC file is not there.
    MissingFile,
    /// No record with the referenced id starts at the referenced offset (deleted or moved).
    MissingRecord(String),
    /// The record is there but its block does not hash to the recorded digest.
    Mismatch {
        /// The digest recorded in the database.
        expected: String,
        /// The digest of the block as it is now.
        actual: String,
    },
}

/// Follows a database reference (file, offset, record id, block digest) and re-hashes the record.
pub fn check_reference(
    path: &Path,
    offset: u64,
    record_id: &str,
    digest: &str,
) -> Result<(), ReferenceProblem> {
    if !path.is_file() {
        return Err(ReferenceProblem::MissingFile);
    }
    let record =
        read_record_at(path, offset).map_err(|e| ReferenceProblem::MissingRecord(e.to_string()))?;
    let found = record.field("WARC-Record-ID").unwrap_or_default();
    if found != record_id {
        return Err(ReferenceProblem::MissingRecord(format!(
            "record at offset {offset} is {found:?}, not {record_id:?}"
        )));
    }
    let actual = sha256_digest(&record.block);
    let same = match (parse_digest(digest), parse_digest(&actual)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    if !same {
        return Err(ReferenceProblem::Mismatch {
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(())
}

/// [`verify`] on any reader.
pub fn verify_reader(input: impl BufRead) -> VerifyReport {
    let mut reader = WarcReader::new(input, 0, ReadLimits::default());
    let mut report = VerifyReport::default();
    loop {
        let record = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                report.malformed = Some(e.to_string());
                break;
            }
        };
        report.records += 1;
        let mut checked = false;
        let mut check = |field: &'static str, bytes: &[u8], report: &mut VerifyReport| {
            if let Some(expected) = record.field(field) {
                checked = true;
                report.digests_checked += 1;
                let actual = Sha256::digest(bytes);
                if parse_digest(expected).as_deref() != Some(actual.as_slice()) {
                    report.mismatches.push(Mismatch {
                        offset: record.offset,
                        record_id: record.field("WARC-Record-ID").map(str::to_string),
                        field,
                        expected: expected.to_string(),
                        actual: sha256_digest(bytes),
                    });
                }
            }
        };
        check("WARC-Block-Digest", &record.block, &mut report);
        if record.field("WARC-Payload-Digest").is_some() {
            let payload = record.http_payload().unwrap_or(&[]);
            check("WARC-Payload-Digest", payload, &mut report);
        }
        if !checked {
            report.without_digest += 1;
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_notations() {
        // Same as Python: base64.b32encode(hashlib.sha256(b"abc").digest())
        let d = sha256_digest(b"abc");
        assert_eq!(
            d,
            "sha256:XJ4BNP4PAHH6UQKBIDPF3LRCEOYAGYNDSYLXVHFUCD7WD4QACWWQ===="
        );
        let raw = parse_digest(&d).unwrap();
        assert_eq!(
            hex::encode(&raw),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            parse_digest(
                &d.to_lowercase()
                    .trim_end_matches('=')
                    .replace("SHA256", "sha256")
            ),
            Some(raw.clone())
        );
        assert_eq!(
            parse_digest(&format!("sha256:{}", hex::encode(&raw))),
            Some(raw)
        );
        assert_eq!(parse_digest("sha1:ABC"), None);
        assert_eq!(parse_digest("sha256:!!"), None);
    }

    #[test]
    fn header_injection_is_neutralised() {
        let mut w = WarcWriter::new(Vec::new(), 0);
        w.write_record(
            "metadata",
            "text/plain",
            &[("x-note", "a\r\nWARC-Type: forged".into())],
            b"b",
        )
        .unwrap();
        let bytes = w.into_inner();
        let rec = WarcReader::new(&bytes[..], 0, ReadLimits::default())
            .next_record()
            .unwrap()
            .unwrap();
        assert_eq!(rec.field("WARC-Type"), Some("metadata"));
        assert_eq!(
            rec.fields.iter().filter(|(k, _)| k == "WARC-Type").count(),
            1
        );
    }
}
