//! Storage: one connection type over SQLite and PostgreSQL, and the migrations.
#![deny(missing_docs)]
