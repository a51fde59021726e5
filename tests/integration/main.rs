//! The integration tests, in one binary (one link of the whole crate instead
//! of one per file). Each module is one area, tested from outside: the
//! compiled daemon or a real supervisor tree against the simulators in
//! `usdt_monitor::sim`, a real SQLite file and real HTTP over loopback.
//!
//! `common` is the end-to-end world (the simulators and the real binary as a
//! child process); `pool` is a DbActor pool under its own supervisor.

mod alone;
mod common;
mod pool;

mod access;
mod alerts;
mod chaos;
mod cli;
mod db_actor;
mod db_descriptors;
mod db_full;
mod db_prune;
mod demo;
mod e2e;
mod e2e_busy;
mod etherscan;
mod fairness;
mod fallback;
mod groups;
mod hardening;
mod ops;
mod poll;
mod redirects;
mod rpc;
mod scan_mode;
mod telegram;
mod tron;
mod webhook;
