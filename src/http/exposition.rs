//! `GET /metrics`: the Prometheus text exposition, encoded by the
//! `prometheus-client` crate (OpenMetrics text format).
//!
//! A fresh registry is filled at every scrape from these sources: the live
//! [`Instruments`] (provider calls, poll durations, restarts), the scanners'
//! per-chain health, the provider pauses and the rejected-logs counter, the
//! supervisor's snapshot and the database totals ([`DbExposition`]); plus the process's
//! open descriptors and resident memory. Labels are chain names, token
//! symbols, actor names, provider names, pause reasons, webhook sink hosts
//! and outcome kinds: never an address, a chat id, a webhook URL (its path
//! or query may carry a token) or a secret.

use std::sync::atomic::AtomicU64;
use std::time::UNIX_EPOCH;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::db::exposition::{DbExposition, TokenCount};
use crate::domain::{Address, Chain};
use crate::instruments::Instruments;
use crate::instruments::Labels;
use crate::metrics::{ChainHealth, Counters, ProviderPause, open_descriptors, resident_bytes};
use crate::supervisor::{ChildState, TreeStatus};
use crate::webhook::Sink;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What one scrape reads.
pub struct Scrape<'a> {
    pub instruments: &'a Instruments,
    pub counters: &'a Counters,
    /// The paused providers.
    pub pauses: Vec<ProviderPause>,
    pub chains: Vec<(u64, ChainHealth)>,
    /// `None` when the supervisor did not answer.
    pub tree: Option<TreeStatus>,
    /// `None` when the database did not answer.
    pub db: Option<DbExposition>,
    /// The configured webhook sinks.
    pub sinks: &'a [Sink],
}

type F64Gauge = Gauge<f64, AtomicU64>;

fn chain_name(id: u64) -> String {
    Chain::by_id(id).map_or_else(|| id.to_string(), |c| c.name.to_string())
}

/// `chain` and `token` labels of a stored `(chain id, contract)`; the token
/// is its registry symbol ("unknown" for a contract the registry lacks).
fn token_labels(t: &TokenCount) -> Labels {
    let symbol = Chain::by_id(t.chain_id)
        .zip(Address::parse(&t.contract).ok())
        .and_then(|(c, a)| c.token_by_contract(&a).map(|t| t.symbol.as_str()))
        .unwrap_or("unknown");
    vec![
        ("chain", chain_name(t.chain_id)),
        ("token", symbol.to_string()),
    ]
}

/// Encodes one scrape.
pub fn render(s: &Scrape<'_>) -> Result<String, std::fmt::Error> {
    let mut r = Registry::default();
    let inst = s.instruments;
    r.register(
        "usdt_monitor_provider_calls",
        "Calls to the chain providers (Etherscan, Blockscout, TronGrid) and the Telegram Bot API, every try, by outcome",
        inst.provider_calls.clone(),
    );
    r.register_with_unit(
        "usdt_monitor_poll_duration",
        "Wall time of one poll of every chain and token",
        Unit::Seconds,
        inst.poll_duration.clone(),
    );
    r.register(
        "usdt_monitor_actor_restarts",
        "Actor restarts by the supervisor, by actor and cause",
        inst.actor_restarts.clone(),
    );
    r.register(
        "usdt_monitor_transfers_recorded",
        "Transfers touching a watched address, recorded once each, by chain",
        inst.transfers_recorded.clone(),
    );
    r.register(
        "usdt_monitor_notifications_queued",
        "Notifications queued for delivery (one per chat and transfer, held spam included), by chain",
        inst.notifications_queued.clone(),
    );
    r.register(
        "usdt_monitor_notifications_folded",
        "Notifications not sent one by one because their chat had more than telegram.max_pending_per_chat waiting: folded into one message that counts them",
        inst.notifications_folded.clone(),
    );
    register_chains(&mut r, &s.chains);
    register_sources(&mut r, &s.chains);
    register_scanner(&mut r, s.counters, &s.pauses);
    if let Some(tree) = &s.tree {
        let up = Family::<Labels, Gauge>::default();
        for c in &tree.children {
            let v = i64::from(c.state == ChildState::Running);
            up.get_or_create(&vec![("actor", c.name.to_string())])
                .set(v);
        }
        r.register("usdt_monitor_actor_up", "1 when the actor is running", up);
    }
    if let Some(db) = &s.db {
        register_db(&mut r, db);
        register_webhooks(&mut r, db, s.sinks);
    }
    if let Some(n) = open_descriptors() {
        let g = Gauge::<i64>::default();
        g.set(n as i64);
        r.register("process_open_fds", "Open file descriptors", g);
    }
    if let Some(b) = resident_bytes() {
        let g = Gauge::<i64>::default();
        g.set(b as i64);
        r.register_with_unit("process_resident_memory", "Resident memory", Unit::Bytes, g);
    }
    let mut out = String::new();
    encode(&mut out, &r)?;
    Ok(out)
}

fn register_chains(r: &mut Registry, chains: &[(u64, ChainHealth)]) {
    let head = Family::<Labels, Gauge>::default();
    let cursor = Family::<Labels, Gauge>::default();
    let lag = Family::<Labels, Gauge>::default();
    let last_ok = Family::<Labels, F64Gauge>::default();
    for (id, h) in chains {
        let labels = vec![("chain", chain_name(*id))];
        if let Some(v) = h.head {
            head.get_or_create(&labels).set(v as i64);
        }
        if let Some(v) = h.cursor {
            cursor.get_or_create(&labels).set(v as i64);
        }
        if let Some(v) = h.lag() {
            lag.get_or_create(&labels).set(v as i64);
        }
        if let Some(at) = h.last_ok_poll {
            let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default();
            last_ok.get_or_create(&labels).set(secs.as_secs_f64());
        }
    }
    r.register(
        "usdt_monitor_chain_head_block",
        "The chain's latest block",
        head,
    );
    r.register(
        "usdt_monitor_chain_cursor_block",
        "Every block up to this one is scanned (lowest over the chain's tokens)",
        cursor,
    );
    r.register("usdt_monitor_chain_lag_blocks", "Head minus cursor", lag);
    r.register(
        "usdt_monitor_chain_last_successful_poll_timestamp_seconds",
        "Unix time of the chain's last fully successful poll",
        last_ok,
    );
}

/// Each source of each chain's provider pool (chains without a pool have
/// none): serving or not, failures in a row, calls and errors since start.
fn register_sources(r: &mut Registry, chains: &[(u64, ChainHealth)]) {
    let serving = Family::<Labels, Gauge>::default();
    let failures = Family::<Labels, Gauge>::default();
    let calls = Family::<Labels, Counter>::default();
    let errors = Family::<Labels, Counter>::default();
    let ranges = Family::<Labels, Gauge>::default();
    for (id, h) in chains {
        for (host, width) in &h.block_ranges {
            let labels = vec![("chain", chain_name(*id)), ("source", host.to_lowercase())];
            ranges
                .get_or_create(&labels)
                .set(i64::try_from(*width).unwrap_or(i64::MAX));
        }
        for s in &h.sources {
            let labels = vec![
                ("chain", chain_name(*id)),
                ("source", s.name.to_lowercase()),
            ];
            serving.get_or_create(&labels).set(i64::from(s.serving));
            failures.get_or_create(&labels).set(i64::from(s.failures));
            calls.get_or_create(&labels).inc_by(s.calls_total);
            errors.get_or_create(&labels).inc_by(s.errors_total);
        }
    }
    r.register(
        "usdt_monitor_source_serving",
        "1 when the source serves the chain's polls (the first healthy one of its pool), else 0",
        serving,
    );
    r.register(
        "usdt_monitor_source_consecutive_failures",
        "Polls of the chain on the source in a row that failed in a way retries cannot fix",
        failures,
    );
    r.register(
        "usdt_monitor_source_calls",
        "Calls of the chain's polls to the source, retries included, since start",
        calls,
    );
    r.register(
        "usdt_monitor_source_errors",
        "Errors the chain's polls on the source ended with, since start",
        errors,
    );
    r.register(
        "usdt_monitor_source_block_range",
        "Widest eth_getLogs range (blocks) a JSON-RPC endpoint is asked for, configured or learned",
        ranges,
    );
}

/// Rejected logs and provider pauses.
fn register_scanner(r: &mut Registry, counters: &Counters, pauses: &[ProviderPause]) {
    let rejected = Counter::<u64>::default();
    rejected.inc_by(Counters::get(&counters.logs_rejected));
    r.register(
        "usdt_monitor_logs_rejected",
        "getLogs items rejected as not a canonical Transfer of a registered contract \
         (or outside the requested range); never notified",
        rejected,
    );
    let paused = Family::<Labels, Gauge>::default();
    for p in pauses {
        let labels = vec![
            ("provider", p.provider.to_lowercase()),
            ("reason", p.reason.clone()),
        ];
        paused.get_or_create(&labels).set(1);
    }
    r.register(
        "usdt_monitor_provider_paused",
        "1 while the provider gets no calls (but a probe) because of reason; absent otherwise",
        paused,
    );
}

/// Each configured sink's pending and dead-lettered deliveries, labelled
/// by host (sinks sharing a host are summed).
fn register_webhooks(r: &mut Registry, db: &DbExposition, sinks: &[Sink]) {
    if sinks.is_empty() {
        return;
    }
    let pending = Family::<Labels, Gauge>::default();
    let dead = Family::<Labels, Gauge>::default();
    for sink in sinks {
        let labels = vec![("sink", sink.host.clone())];
        let (p, d) = db
            .webhooks
            .iter()
            .find(|(id, _, _)| *id == sink.id)
            .map_or((0, 0), |(_, p, d)| (*p, *d));
        pending.get_or_create(&labels).inc_by(p as i64);
        dead.get_or_create(&labels).inc_by(d as i64);
    }
    r.register(
        "usdt_monitor_webhook_pending",
        "Webhook deliveries waiting for their sink (first try or retry), by sink host",
        pending,
    );
    r.register(
        "usdt_monitor_webhook_dead_letters",
        "Webhook deliveries given up (dead-lettered) and not yet pruned, by sink host",
        dead,
    );
}

fn register_db(r: &mut Registry, db: &DbExposition) {
    // Rows still stored: pruning (`database.keep_*`) lowers them, so these
    // are gauges; the monotonic totals are `..._recorded` / `..._queued`.
    let transfers = Family::<Labels, Gauge<i64>>::default();
    for t in &db.transfers {
        transfers
            .get_or_create(&token_labels(t))
            .set(t.count as i64);
    }
    r.register(
        "usdt_monitor_transfers_stored",
        "Recorded transfers still stored (pruning removes old ones), by chain and token",
        transfers,
    );
    let notifications = Family::<Labels, Gauge<i64>>::default();
    for (state, t) in &db.notifications {
        let mut labels = token_labels(t);
        labels.push(("outcome", state.clone()));
        notifications.get_or_create(&labels).set(t.count as i64);
    }
    r.register(
        "usdt_monitor_notifications_stored",
        "Transfer notifications still stored, by outcome: sent, failed (given up), held (likely spam), uncertain",
        notifications,
    );
    let depth = Gauge::<i64>::default();
    depth.set(db.outbox_pending as i64);
    r.register(
        "usdt_monitor_outbox_depth",
        "Messages waiting in the outbox for delivery",
        depth,
    );
    let oldest = F64Gauge::default();
    oldest.set(db.oldest_pending_age_secs.unwrap_or(0) as f64);
    r.register_with_unit(
        "usdt_monitor_outbox_oldest_pending_age",
        "Age of the oldest message waiting in the outbox (0 when none)",
        Unit::Seconds,
        oldest,
    );
    let uncertain = Gauge::<i64>::default();
    uncertain.set(db.outbox_uncertain as i64);
    r.register(
        "usdt_monitor_outbox_uncertain",
        "Messages whose send may or may not have reached Telegram (never retried)",
        uncertain,
    );
}
