//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong between bytes and a verdict, or while loading a rule set.
///
/// Each variant carries enough context (sizes, rule ids, file names) for a user to act on the
/// message alone.
#[derive(Debug, Error)]
pub enum Error {
    /// The input is larger than [`crate::Limits::max_input_bytes`].
    #[error("input is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The input does not look like text (NUL bytes or undecodable bytes dominate).
    #[error("input looks binary, not text ({reason})")]
    Binary {
        /// What gave it away.
        reason: String,
    },
    /// A rule file could not be parsed.
    #[error("rule file {source_name}: {message}")]
    RuleSyntax {
        /// Name of the rule file (path or `default`).
        source_name: String,
        /// What the parser said.
        message: String,
    },
    /// A rule file parsed but is not valid (unknown category, bad regex, duplicate id …).
    #[error("rule file {source_name}, rule `{rule}`: {message}")]
    RuleInvalid {
        /// Name of the rule file (path or `default`).
        source_name: String,
        /// Id of the offending rule or combination.
        rule: String,
        /// What is wrong with it.
        message: String,
    },
}
