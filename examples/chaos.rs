//! A seeded chaos campaign of the real daemon against the simulators
//! (see `usdt_monitor::chaos` and RELIABILITY.md).
//!
//! `cargo run --release --example chaos -- --seed 7 --duration 30m`
//!
//! Builds the `usdt-monitor` binary of the same profile first (a no-op when
//! it is up to date), prints the seed, runs, prints the report, and exits 1
//! if anything was lost, doubled without a cause, or delivered where it
//! must not be (the work directory with the daemon's logs is then kept).

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::Parser;
use usdt_monitor::chaos::{self, Options};

/// Chaos campaign: the real daemon, seeded faults, "every transfer, once".
#[derive(Debug, Parser)]
struct Args {
    /// Seed of the schedule (printed, so a failure can be replayed).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How long faults, commands and transfers go on ("2m", "30m", "4h").
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// The longest drain afterwards, faults off (it ends once all is delivered).
    #[arg(long, default_value = "3m", value_parser = humantime::parse_duration)]
    drain: Duration,
    /// Simulated users.
    #[arg(long, default_value_t = 8)]
    users: usize,
    /// Mean transfers per second.
    #[arg(long, default_value_t = 2.0)]
    transfers_per_sec: f64,
    /// Mean faults per minute.
    #[arg(long, default_value_t = 12.0)]
    faults_per_min: f64,
    /// The daemon binary (default: `usdt-monitor` of this profile, built first).
    #[arg(long)]
    daemon: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let daemon = match args.daemon {
        Some(path) => path,
        None => match build_daemon() {
            Ok(path) => path,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    println!(
        "chaos: seed {} duration {} (replay: --seed {} --duration {})",
        args.seed,
        humantime::format_duration(args.duration),
        args.seed,
        humantime::format_duration(args.duration)
    );
    let mut opts = Options::new(args.seed, args.duration, daemon);
    opts.drain = args.drain;
    opts.users = args.users;
    opts.transfers_per_sec = args.transfers_per_sec;
    opts.faults_per_min = args.faults_per_min;
    opts.progress = Some(Duration::from_secs(30));
    match actix_rt::System::new().block_on(chaos::run(opts)) {
        Ok(report) => {
            println!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: the campaign could not run: {e}");
            ExitCode::from(2)
        }
    }
}

/// `cargo build --bin usdt-monitor` in this example's profile; returns the
/// binary next to this example's directory (`target/<profile>/`).
fn build_daemon() -> Result<PathBuf, String> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "build",
        "--quiet",
        "--bin",
        "usdt-monitor",
        "--manifest-path",
    ])
    .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building usdt-monitor failed".into());
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this example: {e}"))?;
    let bin = exe
        .parent()
        .and_then(|examples| examples.parent())
        .map(|profile| profile.join("usdt-monitor"))
        .ok_or("this example is not in target/<profile>/examples")?;
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("{} not found; pass --daemon", bin.display()))
    }
}
