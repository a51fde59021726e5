//! The `usdt-monitor` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, Secrets};
use usdt_monitor::{lockfile, logging, preflight};

/// Checks the secrets against the providers before the tree starts; keeps
/// the bot's username. Network trouble is logged, not fatal.
async fn preflight(shared: &Shared) -> Result<(), preflight::PreflightError> {
    let report =
        preflight::check(&shared.config, &shared.secrets, shared.provider_handles()).await?;
    for warning in &report.warnings {
        tracing::warn!(warning = %warning, "start-up check failed; starting anyway");
    }
    if let Some(name) = report.bot_username {
        tracing::info!(bot = %name, "Telegram accepts the bot token");
        let _ = shared.bot_username.set(name);
    }
    Ok(())
}

/// Watches EVM wallets for USDT and USDC transfers and tells Telegram
/// subscribers about each one.
///
/// Users talk to the bot (/add <address>); the daemon scans the chains
/// through the Etherscan API V2 and sends one message per transfer.
/// Secrets come from the environment only: TELEGRAM_BOT_TOKEN and
/// ETHERSCAN_API_KEY.
///
/// Exit codes: 0 clean shutdown; 1 could not start (database, another
/// instance holds the database's lock, ...); 2 usage or configuration
/// error, or a secret rejected by Telegram or Etherscan; 3 actors kept
/// crashing (restart intensity exceeded); 4 an actor did not stop within
/// its shutdown timeout.
#[derive(Debug, Parser)]
#[command(name = "usdt-monitor", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon until SIGINT or SIGTERM, then stop every actor in order.
    Run {
        /// The configuration file.
        #[arg(long, short, default_value = "config.toml", value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate the configuration and print the effective settings
    /// (secrets are never printed).
    CheckConfig {
        /// The configuration file.
        #[arg(long, short, default_value = "config.toml", value_name = "FILE")]
        config: PathBuf,
        /// Also ask Telegram (getMe) and Etherscan (eth_blockNumber per
        /// chain) whether they accept the secrets from the environment.
        #[arg(long)]
        online: bool,
    },
    /// Copy the live database to OUT with SQLite's online backup API (the
    /// daemon may keep running), then verify the copy (integrity_check).
    Backup {
        /// The configuration file (its database.path is copied).
        #[arg(long, short, default_value = "config.toml", value_name = "FILE")]
        config: PathBuf,
        /// Where to write the copy; must not exist yet.
        #[arg(value_name = "OUT.db")]
        out: PathBuf,
    },
    /// Run a scripted scenario against a simulated Etherscan and Telegram:
    /// no network, no token, no key.
    Demo(usdt_monitor::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config, online } => check_config(&config, online),
        Command::Run { config } => run(&config),
        Command::Backup { config, out } => backup(&config, &out),
        Command::Demo(args) => ExitCode::from(usdt_monitor::demo::main(args)),
    }
}

fn load(path: &std::path::Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn check_config(path: &std::path::Path, online: bool) -> ExitCode {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut out = format!("# {} is valid. Effective configuration:\n", path.display());
    // URLs may carry credentials (user:password@, a key in the path or query).
    out += &config.redacted().to_toml();
    let evm = !config.etherscan_only_chains().is_empty();
    for (var, required) in [("TELEGRAM_BOT_TOKEN", true), ("ETHERSCAN_API_KEY", evm)] {
        let state = match (std::env::var_os(var), required) {
            (Some(_), _) => "set (value not shown)",
            (None, true) => "NOT SET (required by `run`)",
            (None, false) => {
                "not set (not needed: no chain of monitor.chains is read through Etherscan alone)"
            }
        };
        out += &format!("# {var}: {state}\n");
    }
    out += &rpc_report(&config);
    out += &webhook_report(&config);
    let (_, calls) = usdt_monitor::scanner::budget::estimate(&config);
    out += &format!("# Etherscan calls: at least {calls}\n");
    if let Some(w) = usdt_monitor::scanner::budget::check(&config) {
        out += &format!("# {w}\n");
    }
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
    if !online {
        return ExitCode::SUCCESS;
    }
    let secrets = match Secrets::from_env(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let handles = usdt_monitor::metrics::ProviderHandles::default();
    let checked = actix_rt::System::new().block_on(preflight::check(&config, &secrets, handles));
    match checked {
        Ok(report) => {
            let mut out = String::new();
            for w in &report.warnings {
                out += &format!("# online: warning: {w}\n");
            }
            if report.warnings.is_empty() {
                let bot = report.bot_username.as_deref().unwrap_or("?");
                out += &format!(
                    "# online: Telegram and Etherscan accept the secrets (bot @{bot}; chains: {})\n",
                    config.monitor.chains.join(", ")
                );
            } else {
                out += "# online: nothing was rejected, but not everything could be checked (see the warnings)\n";
            }
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn backup(path: &std::path::Path, out: &std::path::Path) -> ExitCode {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let db = &config.database.path;
    match usdt_monitor::backup::backup(db, out, config.database.busy_timeout) {
        Ok(report) => {
            println!(
                "backed up {} to {} ({} bytes, schema {}, integrity_check ok)",
                db.display(),
                out.display(),
                report.bytes,
                report.schema_version
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `check-config`'s list of each chain's JSON-RPC endpoints: their hosts
/// (an `env:NAME` entry's host when the variable is set), never a path,
/// query or credential.
fn rpc_report(config: &Config) -> String {
    let mut out = String::new();
    for chain in config.evm_chains() {
        let Some(r) = config.rpc_of(&chain) else {
            continue;
        };
        let mut shown = Vec::new();
        for entry in &r.urls {
            let one = usdt_monitor::config::RpcChainConfig {
                urls: vec![entry.clone()],
                ..r.clone()
            };
            match one.endpoints(chain.name) {
                Ok(eps) => shown.extend(eps.into_iter().map(|e| match e.env {
                    Some(var) => format!("{} (from {var})", e.host),
                    None => e.host,
                })),
                Err(e) => shown.push(format!("NOT READY: {e}")),
            }
        }
        out += &format!("# rpc.{}: {}\n", chain.name, shown.join(", "));
    }
    out
}

/// `check-config`'s list of webhook sinks: host, filters, retry schedule and
/// whether each secret is set; never a URL's path or query, never a secret.
fn webhook_report(config: &Config) -> String {
    use usdt_monitor::config::webhook::host_of;
    let mut out = String::new();
    for (i, w) in config.webhooks.iter().enumerate() {
        let list = |v: &[String]| match v.is_empty() {
            true => "all".to_string(),
            false => v.join(", "),
        };
        let secret = match std::env::var(&w.secret_env) {
            Ok(v) => match usdt_monitor::webhook::SigningKey::parse(&v) {
                Ok(_) => "set (value not shown)",
                Err(problem) => problem,
            },
            Err(_) => "NOT SET (required by `run`)",
        };
        out += &format!(
            "# webhook[{i}]: host {}, chains {}, tokens {}, min_amount {}, backoff {} to {}, give up after {}, timeout {}; secret {}: {secret}\n",
            host_of(&w.url),
            list(&w.chains),
            list(&w.tokens),
            w.min_amount.as_deref().unwrap_or("none"),
            humantime::format_duration(w.backoff_min),
            humantime::format_duration(w.backoff_max),
            humantime::format_duration(w.give_up_after),
            humantime::format_duration(w.timeout),
            w.secret_env,
        );
    }
    out
}

fn run(path: &std::path::Path) -> ExitCode {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let secrets = match Secrets::from_env(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let sinks = match usdt_monitor::webhook::sinks_from_env(&config.webhooks) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    logging::init(&config.log);
    // Held until the process ends; the kernel releases it even on kill -9.
    let _lock = match lockfile::acquire(&config.database.path) {
        Ok(lock) => lock,
        Err(e) => {
            tracing::error!(error = %e, "usdt-monitor could not start");
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let shared = match Shared::new(config, secrets) {
        Ok(s) => s.with_webhooks(sinks),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = actix_rt::System::new().block_on(async {
        preflight(&shared).await?;
        Ok(app::run_until(shared, app::termination_signal()).await)
    });
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            let e: preflight::PreflightError = e;
            tracing::error!(error = %e, "usdt-monitor will not start");
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(exit) => {
            tracing::info!(code = exit.code(), ?exit, "usdt-monitor stopped");
            ExitCode::from(exit.code() as u8)
        }
        Err(e) => {
            tracing::error!(error = %e, "usdt-monitor could not start");
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
