//! One module per command. Each takes the parsed arguments and a [`Context`] and returns the exit
//! status; SQL stays in the library crates.

pub mod cases;
pub mod classify;
pub mod config;
pub mod crawl;
pub mod db;
pub mod demo;
pub mod eval_pages;
pub mod eval_qr;
pub mod evidence;
pub mod ocr;
pub mod qr;
pub mod recheck;
pub mod recheck_qr;
pub mod report;
pub mod rules;
pub mod serve;
pub mod users;

use std::time::Duration;

use anyhow::Context as _;
use kuzet_storage::{Db, DbOptions};

use crate::cli::{Format, GlobalArgs};
use crate::config::Config;

/// What every command gets: the effective configuration and output format.
pub struct Context {
    pub config: Config,
    pub format: Format,
}

impl Context {
    pub fn new(global: &GlobalArgs, mut config: Config) -> Context {
        if let Some(url) = &global.db {
            config.database.url = url.clone();
        }
        Context {
            config,
            format: global.format,
        }
    }

    /// Opens the configured database; `migrate` applies pending migrations first.
    pub async fn open_db(&self, migrate: bool) -> anyhow::Result<Db> {
        let c = &self.config.database;
        let opts = DbOptions {
            max_connections: c.max_connections,
            busy_timeout: Duration::from_millis(c.busy_timeout_ms),
            migrate,
            search_path: None,
        };
        Db::connect(&c.url, &opts)
            .await
            .with_context(|| "database unavailable".to_string())
    }

    /// Prints one record: a JSON line, or the text form.
    pub fn emit(&self, json: &serde_json::Value, text: impl FnOnce() -> String) {
        match self.format {
            Format::Json => println!("{json}"),
            Format::Text => println!("{}", text()),
        }
    }
}
