//! `kuzet config show`

use std::process::ExitCode;

use super::Context;
use crate::cli::{ConfigCommand, Format};

pub fn run(command: ConfigCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Show => {
            let masked = ctx.config.to_masked_toml();
            match ctx.format {
                Format::Text => print!("{masked}"),
                Format::Json => {
                    let value: toml::Value = toml::from_str(&masked)?;
                    println!("{}", serde_json::to_string(&value)?);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
