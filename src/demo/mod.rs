//! `usdt-monitor demo`: the whole system, offline, in about a minute.
//!
//! Starts the simulated Etherscan, TronGrid and Bot API on free loopback ports, a
//! temporary database, and the real daemon — the same supervisor, actors
//! and code paths as `usdt-monitor run` — pointed at them. Then plays a
//! scripted scenario and prints it as the conversation a user would see.

mod repl;
mod script;
mod show;
mod world;

use std::time::Duration;

/// Options of `usdt-monitor demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Faster blocks and polls (the scenario in a few seconds; for tests).
    #[arg(long)]
    pub fast: bool,
    /// After the scenario, leave the simulated world and the daemon running
    /// and read commands from standard input.
    #[arg(long)]
    pub keep_running: bool,
    /// Never use colour (also: the NO_COLOR environment variable).
    #[arg(long)]
    pub no_color: bool,
}

/// The pace of the simulated chain and of the daemon.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub block_time: Duration,
    pub poll_interval: Duration,
}

impl DemoArgs {
    fn pace(&self) -> Pace {
        if self.fast {
            Pace {
                block_time: Duration::from_millis(150),
                poll_interval: Duration::from_millis(300),
            }
        } else {
            Pace {
                block_time: Duration::from_millis(1000),
                poll_interval: Duration::from_secs(2),
            }
        }
    }
}

/// Runs the demo; returns the process exit code.
pub fn main(args: DemoArgs) -> u8 {
    let out = show::Out::new(args.no_color);
    // The scenario injects a panic on purpose: say so in one line instead
    // of a backtrace (the supervisor's hook, installed later, wraps this).
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("   (panic in an actor: {msg})");
    }));
    let system = actix_rt::System::new();
    match system.block_on(script::run(args, out)) {
        Ok(()) => 0,
        Err(e) => {
            out.error(&format!("the demo failed: {e}"));
            1
        }
    }
}
