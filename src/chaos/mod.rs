//! A seeded chaos campaign: the real `usdt-monitor` binary against the
//! simulated Etherscan and Bot API for a configurable time, under a random
//! but seeded schedule of faults, while users add and remove addresses and
//! transfers keep arriving; then a checker proves "every transfer, once".
//!
//! * [`rng`] — the seeded PRNG; each purpose (faults, transfers, each user,
//!   restarts) draws from its own stream, so the same seed gives the same
//!   schedule of faults, transfers and commands, at the same offsets from
//!   the start. What the daemon does in between depends on timing: a
//!   replay reproduces the pressure, not every interleaving.
//! * [`faults`] — the fault kinds, one table entry each.
//! * [`users`] — simulated users talking to the bot.
//! * [`ledger`] — what happened; [`check`] — what should have been
//!   delivered, compared with what the Bot API accepted.
//! * [`daemon`] — the child process; [`logscan`] — its crashes, from its
//!   JSON log; [`campaign`] — the loop; [`report`] — the numbers.
//!
//! Run it with `cargo run --release --example chaos -- --seed N --duration 30m`
//! or, for the fixed-seed CI run, `cargo test --release --test integration chaos::`
//! (see README, "Tests").

pub mod campaign;
pub mod check;
pub mod daemon;
pub mod faults;
pub mod ledger;
pub mod logscan;
pub mod report;
pub mod rng;
pub mod users;

pub use campaign::{Options, run};
pub use report::Report;
