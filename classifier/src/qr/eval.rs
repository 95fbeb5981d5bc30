//! Evaluation on a labelled corpus: manifest parsing and exact-match scoring, for
//! `kuzet eval qr`. Pure: the caller reads the files.
//!
//! A manifest is a CSV file with a header and at least the columns
//! `image,expected_text_file,category` (paths relative to the manifest's folder; more columns
//! are ignored). An image with several codes has one row per expected code. A code counts as
//! read only when some decoded text equals the expected file's bytes exactly.

use std::collections::BTreeMap;

/// One expected code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRow {
    /// Image path, relative to the manifest's folder.
    pub image: String,
    /// Expected-text file path, relative to the manifest's folder.
    pub expected_text_file: String,
    /// Category (e.g. the upstream folder).
    pub category: String,
}

/// A malformed manifest, with the line it was found on.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The CSV could not be parsed.
    #[error("manifest line {line}: {message}")]
    Csv {
        /// 1-based line number (0 when unknown).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A required column is missing from the header.
    #[error("manifest has no column {0:?} (need image,expected_text_file,category)")]
    MissingColumn(&'static str),
}

/// Parses a manifest (see the module docs).
///
/// # Errors
/// [`ManifestError`] on a missing column or malformed CSV.
pub fn parse_manifest(csv_bytes: &[u8]) -> Result<Vec<ManifestRow>, ManifestError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv_bytes);
    let err = |e: csv::Error| ManifestError::Csv {
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    };
    let headers = rdr.headers().map_err(err)?.clone();
    let col = |name: &'static str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or(ManifestError::MissingColumn(name))
    };
    let (ci, ct, cc) = (col("image")?, col("expected_text_file")?, col("category")?);
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(err)?;
        let get = |i: usize| rec.get(i).unwrap_or("").to_owned();
        if get(ci).is_empty() {
            continue;
        }
        rows.push(ManifestRow {
            image: get(ci),
            expected_text_file: get(ct),
            category: get(cc),
        });
    }
    Ok(rows)
}

/// Per-category counts of expected and exactly-read codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Category → (expected codes, codes read exactly).
    pub per_category: BTreeMap<String, (usize, usize)>,
    /// Attempt name → codes first read by it (only matched codes counted).
    pub per_attempt: BTreeMap<String, usize>,
}

impl Tally {
    /// Records one expected code of `category` against the codes decoded from its image, given
    /// as `(text, attempt)` pairs. Returns whether it was read.
    pub fn add<'a>(
        &mut self,
        category: &str,
        expected: &[u8],
        decoded: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> bool {
        let hit = decoded.into_iter().find(|(t, _)| t.as_bytes() == expected);
        let e = self.per_category.entry(category.to_owned()).or_default();
        e.0 += 1;
        if let Some((_, attempt)) = hit {
            e.1 += 1;
            *self.per_attempt.entry(attempt.to_owned()).or_default() += 1;
        }
        hit.is_some()
    }

    /// Totals over all categories: (expected, read).
    pub fn total(&self) -> (usize, usize) {
        self.per_category
            .values()
            .fold((0, 0), |(a, b), (e, r)| (a + e, b + r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_multiline_and_extra_columns() {
        let csv = b"image,expected_text_file,category,expected_text\n\
            a/1.png,a/1.txt,a,\"line1\r\nline2, with comma\"\n\
            b/2.png,b/2.txt,b,x\n";
        let rows = parse_manifest(csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].image, "b/2.png");
        assert_eq!(rows[1].expected_text_file, "b/2.txt");
        assert_eq!(rows[1].category, "b");
    }

    #[test]
    fn missing_column_is_named() {
        let err = parse_manifest(b"image,category\nx,y\n").unwrap_err();
        assert!(err.to_string().contains("expected_text_file"), "{err}");
    }

    #[test]
    fn tally_counts_exact_matches_only() {
        let mut t = Tally::default();
        assert!(t.add("c", b"abc", [("abc", "work/rqrr")]));
        assert!(!t.add("c", b"abc\r\n", [("abc\n", "work/rqrr")]));
        assert!(!t.add("d", b"x", []));
        assert_eq!(t.per_category["c"], (2, 1));
        assert_eq!(t.total(), (3, 1));
        assert_eq!(t.per_attempt["work/rqrr"], 1);
    }
}
