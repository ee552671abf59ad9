//! `cromulent doctor`: checks what usually stops a server from working for the people using
//! it — configuration, database, data directory, ports, the address the relay hands out,
//! certificates, the secure context browsers need for the microphone, the mail server — and, when the server
//! runs, a live trip through its relay. One line per check (`ok`, `warn` or `fail`, what it
//! saw), with the fix for every warning and failure. It changes nothing: no database is
//! created or migrated, no directory made.

mod certificate;
mod host;
mod mail;
mod relay;

use serde::Serialize;

use crate::config::Config;
use crate::store::schema::{self, SchemaState};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but not for everyone or not for long.
    Warn,
    /// Broken.
    Fail,
}

/// One check: its name, how it came out, what it saw and, unless fine, the fix.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Short name, e.g. `database` or `port listen`.
    pub name: String,
    /// How it came out.
    pub status: Status,
    /// What it saw.
    pub saw: String,
    /// What to do about a warning or failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: impl Into<String>, saw: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Ok, saw: saw.into(), fix: None }
    }

    fn warn(name: impl Into<String>, saw: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Warn, saw: saw.into(), fix: Some(fix.into()) }
    }

    fn fail(name: impl Into<String>, saw: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Fail, saw: saw.into(), fix: Some(fix.into()) }
    }
}

/// Every check, in the order they ran.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Whether nothing failed (warnings allowed).
    pub ok: bool,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    fn new(checks: Vec<Check>) -> Report {
        Report { ok: checks.iter().all(|c| c.status != Status::Fail), checks }
    }

    /// One line per check, its fix indented below it.
    pub fn text(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for check in &self.checks {
            let status = match check.status {
                Status::Ok => "ok",
                Status::Warn => "warn",
                Status::Fail => "fail",
            };
            out.push_str(&format!("{status:<4}  {:<width$}  {}\n", check.name, check.saw));
            if let Some(fix) = &check.fix {
                out.push_str(&format!("      {:<width$}  fix: {fix}\n", ""));
            }
        }
        out
    }
}

/// Runs every check against `config`, or reports why the configuration could not be loaded.
pub async fn run(config: Result<Config, String>) -> Report {
    let config = match config.and_then(|c| c.validate().map(|()| c).map_err(|e| e.to_string())) {
        Ok(config) => config,
        Err(why) => {
            let fix =
                "Correct the key it names in the configuration file, CROMULENT_* variables or flags (see docs/configuration.md).";
            return Report::new(vec![Check::fail("configuration", why, fix)]);
        }
    };
    let mut checks = vec![Check::ok("configuration", "valid")];
    checks.push(database(&config).await);
    checks.extend(host::data_dir(&config));
    let ports = host::ports(&config).await;
    let running = ports.running;
    checks.extend(ports.checks);
    checks.extend(host::public_address(&config));
    checks.extend(certificate::check(&config));
    checks.push(host::microphone(&config));
    checks.extend(mail::check(&config).await);
    checks.extend(relay::round_trip(&config, running).await);
    Report::new(checks)
}

async fn database(config: &Config) -> Check {
    let url = config.database_url();
    let is_sqlite = url.starts_with("sqlite:");
    if is_sqlite {
        let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or(path);
        if !std::path::Path::new(path).exists() {
            return Check::ok("database", format!("no database yet at {path}; the server creates it at its first start"));
        }
    }
    match schema::inspect(&url).await {
        Ok(SchemaState::Current { version }) => Check::ok("database", format!("reachable, schema current (migration {version})")),
        Ok(SchemaState::Empty) => Check::ok("database", "reachable and empty; the server sets it up at its first start"),
        Ok(SchemaState::Behind { pending }) => Check::warn(
            "database",
            format!("reachable, {} migration(s) of this version not applied yet", pending.len()),
            "Start (or restart) the server with this version: it applies them at start-up. Back up first (cromulent backup FILE).",
        ),
        Ok(SchemaState::Unknown { why }) => Check::fail(
            "database",
            format!("reachable, but {why}"),
            "Run the version of Cromulent that wrote this database, or restore a backup made with this version.",
        ),
        Err(error) => {
            let fix = if is_sqlite {
                "Check that the file is readable by the server's user and not damaged (sqlite3 FILE 'PRAGMA integrity_check')."
            } else {
                "Check that PostgreSQL runs, that database_url names the right host, database, user and password, and that this machine may connect (pg_hba.conf)."
            };
            Check::fail("database", format!("unreachable: {error}"), fix)
        }
    }
}
