//! Operator tools on the box: `sidflowd setup-code` (the one-time code first-run setup in
//! `/admin` asks for) and `sidflowd hash-password` (a PHC string for `admin.password_hash`).

use crate::config::{Config, Overrides};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Default)]
pub struct SetupCodeArgs {
    /// Configuration file [default: /etc/sidflow/sidflow.toml, if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// State folder (overrides `paths.data_dir`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Prints the setup code, or says why there is none.
pub fn setup_code(args: SetupCodeArgs) -> Result<()> {
    let cfg = Config::resolve(&Overrides {
        config: args.config,
        data_dir: args.data_dir,
        ..Default::default()
    })?;
    let path = crate::auth::setup_code_path(&cfg.paths.data_dir);
    match std::fs::read_to_string(&path) {
        Ok(code) if !code.trim().is_empty() => {
            println!("{}", code.trim());
            Ok(())
        }
        Ok(_) => bail!("{} is empty", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "no setup code: an operator password is set (or sidflowd has not started yet with \
             the state folder {})",
            cfg.paths.data_dir.display()
        ),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Reads a password from stdin (one line) and prints its argon2 PHC string.
pub fn hash_password() -> Result<()> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("password (input is shown; pipe it in to keep it off the screen):");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("reading stdin")?;
    let pw = line.trim_end_matches(['\r', '\n']);
    if pw.chars().count() < 8 {
        bail!("the password needs at least 8 characters");
    }
    println!("{}", crate::auth::hash_password(pw)?);
    Ok(())
}
