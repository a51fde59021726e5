//! The seeded chaos campaign (see `usdt_monitor::chaos`), at a fixed seed
//! for about two minutes: the real daemon under Etherscan and Telegram
//! faults, panics, SIGKILL and SIGTERM, while users add and remove
//! addresses and transfers keep arriving. Every transfer is delivered to
//! every chat subscribed for its whole life, a second time only for a
//! named cause, and never where it must not go.
//!
//! `CHAOS_SECONDS` (default 120) and `CHAOS_SEED` (default 20261129) change
//! the run; a long one is `cargo run --release --example chaos`.

use std::time::Duration;

use usdt_monitor::chaos::{self, Options};

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}")),
        Err(_) => default,
    }
}

#[actix_rt::test]
async fn every_transfer_once_under_a_seeded_chaos_campaign() {
    let seed = env_u64("CHAOS_SEED", 20_261_129);
    let secs = env_u64("CHAOS_SECONDS", 120);
    println!("chaos: seed {seed}, {secs} s (CHAOS_SEED={seed} CHAOS_SECONDS={secs} to replay)");
    let opts = Options::new(
        seed,
        Duration::from_secs(secs),
        env!("CARGO_BIN_EXE_usdt-monitor").into(),
    );
    let report = chaos::run(opts).await.expect("the campaign runs");
    println!("{report}");
    assert!(report.passed(), "{report}");
    // The campaign did what it is for: faults of every kind on the daemon
    // while it delivered.
    assert!(report.verdict.required_delivered > 0, "{report}");
    assert!(report.daemon_runs > 1, "no restart happened: {report}");
}
