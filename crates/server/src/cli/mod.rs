//! Command line: `cromulent [serve]` runs the server; `cromulent user create NAME` adds an
//! account on a headless server, reading the password from standard input; `cromulent doctor`
//! checks an installation; `cromulent backup FILE` copies the database while the server runs;
//! `cromulent coturn-config` prints a coturn configuration matching `[turn]`. Every command
//! reads the same configuration sources.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::{self, Overrides};
use crate::{App, Config};

mod backup;
mod coturn;
mod user;

/// Self-hosted voice and text chat server.
#[derive(Debug, Parser)]
#[command(name = "cromulent", version, after_help = config::keys_help())]
pub struct Cli {
    /// TOML configuration file [env: CROMULENT_CONFIG]
    #[arg(long, global = true, value_name = "FILE", env = "CROMULENT_CONFIG", hide_env = true)]
    config: Option<PathBuf>,
    /// HTTP listen address [env: CROMULENT_LISTEN] [default: 0.0.0.0:4000]
    #[arg(long, global = true, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Data directory [env: CROMULENT_DATA_DIR] [default: ./data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://… [env: CROMULENT_DATABASE_URL] [default: SQLite in the data directory]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Log filter, e.g. "info,cromulent=debug" [env: CROMULENT_LOG] [default: info]
    #[arg(long, global = true, value_name = "FILTER")]
    log: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Check the configuration, database, data directory, ports, public address, certificate
    /// and, when the server runs, a trip through its relay; exit 1 if anything fails.
    Doctor {
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Copy the SQLite database to FILE while the server runs (for PostgreSQL, print the
    /// pg_dump command that does it). The copy is readable by you only.
    Backup {
        /// Where to write the copy; it must not exist yet.
        file: PathBuf,
    },
    /// Print a turnserver.conf for an external coturn that matches the [turn] settings,
    /// shared secret included.
    CoturnConfig,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from the first line of standard input.
    Create {
        /// Username: 2–32 letters, digits, '_' or '-'.
        name: String,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
        /// Email address to log in with.
        #[arg(long)]
        email: Option<String>,
    },
}

/// Parses the command line and runs it; errors are printed as one sentence with their causes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides { listen: cli.listen, data_dir: cli.data_dir, database_url: cli.database_url, log: cli.log };
    let loaded = config::load(cli.config.as_deref(), &overrides);
    if let Some(Command::Doctor { json }) = cli.command {
        // A configuration that does not load is the doctor's first finding, not an error.
        return Ok(doctor(loaded.map_err(|e| e.to_string()), json).await);
    }
    let config = loaded?;
    crate::telemetry::init(&config.log, config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await?,
        Command::User { command: UserCommand::Create { name, admin, email } } => {
            user::create(config, &name, admin, email.as_deref()).await?
        }
        Command::Backup { file } => backup::backup(config, &file).await?,
        Command::CoturnConfig => coturn::print(config).await?,
        // Answered above, before the configuration had to load.
        Command::Doctor { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

async fn doctor(config: Result<Config, String>, json: bool) -> ExitCode {
    let report = crate::doctor::run(config).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report).expect("the report serialises"));
    } else {
        print!("{}", report.text());
    }
    if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    raise_open_file_limit();
    let listener = TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let app = App::build(config, listener).await?;
    let shutdown = app.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    app.run().await?;
    Ok(())
}

/// Each gateway client holds a socket; the common soft limit of 1024 files would cap a server
/// far below its memory budget, so raise it to the hard limit.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(err) => tracing::warn!(error = %err, "cannot raise the open file limit"),
    }
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
