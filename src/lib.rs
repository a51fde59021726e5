//! usdt-monitor: a supervised actor daemon that watches EVM chains for USDT
//! and USDC transfers and tells Telegram subscribers about each one.
//!
//! # Layout
//!
//! * [`supervisor`] — the generic, OTP-style supervision machinery: child
//!   specifications, drop guards that report crashes, one_for_one restarts
//!   with backoff and intensity, ordered shutdown, and one shutdown token
//!   whose child tokens (one per incarnation, [`supervisor::ChildGuard::stop_token`])
//!   stop a child's loops. Knows nothing of the rest.
//! * [`app`] — the tree this daemon runs: which children, in which order,
//!   the state they share ([`app::Shared`], held by the application only),
//!   each child's dependencies built from it, and the run loop used by `run`
//!   and the demo. [`children`] — the children's names and orders.
//! * Dependencies point one way: `app` knows every child; no child imports
//!   `app`. Each child is handed a small struct of exactly what it uses —
//!   [`etherscan::Deps`], [`tron::Deps`], [`telegram::Deps`],
//!   [`webhook::Deps`], [`http::HttpState`]; the db pool gets its settings
//!   and [`metrics::Alerts`], the ticker its interval, polls and pause flag.
//! * The four children, one module each:
//!   [`db`] (SQLite on a SyncArbiter, one connection per message),
//!   [`etherscan`] (the EVM scanner: Etherscan's API and its dialect
//!   Blockscout, `etherscan::blockscout`, the keyless fallback),
//!   [`telegram`] (the bot), [`ticker`] (asks every scanner for polls); and,
//!   when `monitor.chains` includes `tron`, [`tron`] (the Tron scanner and its
//!   TronGrid client); when `[[webhook]]` sinks are configured, [`webhook`]
//!   (signed POSTs to integrators, from their own durable table).
//! * [`scanner`] — what both scanners share: cursors, the watched set, the
//!   atomic poll write, the limiter, poll summaries, the
//!   provider pool of a chain (which source serves a poll, and its health); and where every
//!   provider client's HTTP and retries live: [`scanner::http`] (the one
//!   client builder: bounded, redirects never followed), [`scanner::retry`]
//!   (the one retry loop), [`scanner::kind`] (what a failed call means, and
//!   its `/metrics` outcome). The Bot API client is built in
//!   [`telegram::bot`], the webhook client in [`webhook`]; neither follows
//!   redirects either.
//! * [`rpc`] — JSON-RPC endpoints of EVM chains ("bring your own node",
//!   `[rpc.<chain>]`): a provider of the EVM scanner's pools, first in each
//!   chain's pool, with its own quirks only (range learning, finality tags).
//! * [`domain`] — addresses, exact amounts, the chain registry, transfers.
//! * [`notification`] — the text a subscriber reads; [`spam`] — address
//!   poisoning and dust checks.
//! * [`config`] — `config.toml` and the secrets; [`metrics`] — the shared
//!   state split by concern: [`metrics::Health`] (chain heads and health,
//!   for `/status`, `/healthz`, `/metrics`), [`metrics::Pauses`] (provider
//!   pauses), [`metrics::Alerts`] (the admin-alert bus),
//!   [`metrics::Counters`]; [`instruments`] — Prometheus counters and
//!   histograms; [`http`] — the `/healthz` and `/metrics` endpoint, a
//!   child of the tree when `[http] listen` is set; [`logging`].
//! * Operations around the tree: [`preflight`] (secrets checked against
//!   the providers before start), [`lockfile`] (one instance per
//!   database), [`backup`] (online copy of the live database).
//! * [`sim`] — a simulated Etherscan API V2 and Telegram Bot API, real HTTP
//!   servers on 127.0.0.1, used by the tests, the benchmarks and [`demo`].
//! * [`chaos`] — a seeded chaos campaign of the real binary against the
//!   simulators, and the checker of "every transfer, once".
//!
//! `actors.md` at the top of the repository draws the tree and lists every
//! actor's messages.

pub mod app;
pub mod backup;
pub mod chaos;
pub mod children;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod etherscan;
pub mod http;
pub mod instruments;
pub mod lockfile;
pub mod logging;
pub mod metrics;
pub mod notification;
pub mod preflight;
pub mod rpc;
pub mod scanner;
pub mod sim;
pub mod spam;
pub mod supervisor;
pub mod telegram;
pub mod ticker;
pub mod tron;
pub mod webhook;
