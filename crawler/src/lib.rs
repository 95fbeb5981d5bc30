//! The crawler: frontier, politeness, fetching, parsing and evidence capture.
#![deny(missing_docs)]
