//! Admin commands: /status, /stats, /pause, /resume, /restart, /panic.
//!
//! Every call made here has a timeout: `/status` is what an admin sends
//! when something is wrong, so it must answer while an actor is being
//! restarted — with "unavailable" for what did not answer in time, rather
//! than not at all.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use super::After;
use super::parse::Command;
use crate::db::outbox::OutboxCounts;
use crate::db::stats::GetStats;
use crate::db::volume::{ChatVolumes, database_bytes};
use crate::db::webhooks::WebhookCounts;
use crate::domain::Chain;
use crate::metrics::{self, Counters};
use crate::notification::escape_html;
use crate::supervisor::{GetStatus, PanicChild, RestartChild, SupervisorError};
use crate::telegram::{Core, replies, storage};
use crate::ticker::{Pause, Resume};

/// The longest any one call of an admin command may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

const UNAVAILABLE: &str = "<i>unavailable</i>";

/// Runs `fut` for at most [`CALL_TIMEOUT`].
async fn bounded<T>(fut: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(CALL_TIMEOUT, fut).await.ok()
}

pub async fn handle(core: &Core, command: Command) -> (String, Option<After>) {
    match command {
        Command::Status => (status(core).await, None),
        Command::Stats => (stats(core).await, None),
        Command::Pause => (pause(core, true).await, None),
        Command::Resume => (pause(core, false).await, None),
        Command::Restart(actor) => restart(core, actor).await,
        Command::Panic(actor) => panic(core, actor).await,
        _ => (replies::hint(), None),
    }
}

fn ago(t: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(t)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{} ago",
        humantime::format_duration(Duration::from_secs(secs))
    )
}

fn duration(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

async fn status(core: &Core) -> String {
    let deps = &core.deps;
    let mut s = String::from("<b>Status</b>\n<b>Actors</b>\n");
    let tree = match deps.supervisor.get() {
        Some(sup) => bounded(sup.send(GetStatus)).await.and_then(Result::ok),
        None => None,
    };
    match tree {
        Some(tree) => {
            for c in &tree.children {
                s += &format!(
                    "• {}: {}, restarts {}",
                    c.name,
                    c.state.as_str(),
                    c.restarts
                );
                if let Some(up) = c.uptime {
                    s += &format!(", up {}", duration(up));
                }
                if let Some(f) = &c.last_failure {
                    s += &format!(", last failure: {}", escape_html(f));
                }
                s += "\n";
            }
            s += &format!(
                "Restarts in window: {} of {}\n",
                tree.recent_restarts, tree.max_restarts
            );
        }
        None => s += &format!("supervisor {UNAVAILABLE}\n"),
    }

    s += "<b>Chains</b>\n";
    let chains = deps.health.chains();
    if chains.is_empty() {
        s += "no poll yet\n";
    }
    for (id, h) in chains {
        let name = Chain::by_id(id).map_or_else(|| escape_html(&h.name), |c| c.display.to_string());
        let num = |v: Option<u64>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
        s += &format!(
            "• {name}: head {}, cursor {}, lag {} blocks, last poll {}",
            num(h.head),
            num(h.cursor),
            num(h.lag()),
            h.last_ok_poll.map_or_else(|| "never".to_string(), ago)
        );
        if let Some(p) = &h.provider {
            s += &format!(", via {}", escape_html(p));
        }
        if let Some(e) = &h.last_error {
            s += &format!(", last error: {}", escape_html(e));
        }
        if let Some(m) = &h.scan_mode {
            s += &format!(", scan mode {}", escape_html(m));
        }
        s += "\n";
        // The chain's provider pool: each source, serving or not and why.
        for source in &h.sources {
            let mut line = source.line();
            if let Some(r) = h.block_ranges.get(&source.name) {
                line += &format!("; getLogs range ≤ {r} blocks");
            }
            s += &format!("  ◦ {}\n", escape_html(&line));
        }
    }

    if let Some(line) = deps.health.calls_today() {
        s += &format!("• Calls today (UTC): {}\n", escape_html(&line));
    }
    // Providers paused as a whole (daily cap, revoked key): until when, why.
    for p in deps.pauses.pauses() {
        s += &format!("• {}\n", escape_html(&p.describe(SystemTime::now())));
    }

    // What only a human can fix, for as long as it lasts.
    let alerts = deps.alerts.active_alerts();
    if !alerts.is_empty() {
        s += "<b>Needs attention</b>\n";
        for alert in alerts {
            s += &format!("• {}\n", escape_html(&alert.text));
        }
    }

    let outbox = bounded(deps.db.exec(OutboxCounts))
        .await
        .and_then(Result::ok);
    s += &format!(
        "<b>Outbox</b>: {}\n",
        outbox.map_or_else(
            || UNAVAILABLE.to_string(),
            |o| {
                let mut waiting = if o.pending_inactive > 0 {
                    format!(" ({} wait for inactive chats)", o.pending_inactive)
                } else {
                    String::new()
                };
                if o.folded > 0 {
                    waiting += &format!(
                        " ({} folded into one message each for chats with more than {} waiting)",
                        o.folded, deps.config.telegram.max_pending_per_chat
                    );
                }
                let folded = deps.instruments.notifications_folded.get();
                let folded = if folded > 0 {
                    format!(", {folded} folded since start (a chat's backlog over its bound)")
                } else {
                    String::new()
                };
                format!(
                    "{} pending{waiting}, {} uncertain (answer lost: maybe delivered, not sent again), {} failed{folded}",
                    o.pending, o.uncertain, o.failed
                )
            }
        )
    );
    let volumes = bounded(deps.db.exec(ChatVolumes {
        since: crate::db::now_secs() - storage::WINDOW_SECS,
        top: storage::TOP_CHATS,
    }))
    .await
    .and_then(Result::ok);
    s += &storage::status_line(database_bytes(&deps.config.database.path), volumes.as_ref());
    if !deps.webhooks.is_empty() {
        let sinks = &deps.webhooks.sinks;
        let request = WebhookCounts {
            sinks: sinks.iter().map(|sink| sink.id.clone()).collect(),
        };
        let counts = bounded(deps.db.exec(request)).await.and_then(Result::ok);
        s += &crate::webhook::status_text(sinks, counts.as_deref());
    }
    let paused = deps.paused.load(Ordering::SeqCst);
    s += &format!(
        "<b>Ticker</b>: {}\n",
        if paused { "paused" } else { "polling" }
    );
    if core
        .pacer
        .borrow()
        .paused_until(std::time::Instant::now())
        .is_some()
    {
        s += "<b>Sending</b>: paused by a Telegram flood limit\n";
    }
    let fds = metrics::open_descriptors().map_or_else(|| "?".into(), |n| n.to_string());
    let rss = metrics::resident_bytes().map_or_else(
        || "?".into(),
        |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    );
    s += &format!("<b>Process</b>: {fds} open descriptors, {rss} resident");
    s
}

async fn stats(core: &Core) -> String {
    let c = &core.deps.counters;
    let mut s = String::from("<b>Stats</b>\n");
    match bounded(core.deps.db.exec(GetStats))
        .await
        .and_then(Result::ok)
    {
        Some(db) => {
            s += &format!(
                "Chats: {} active, {} inactive (blocked or gone)\nSubscriptions: {}\nTransfers recorded: {}\n\
                 Notifications: {} sent, {} failed, {} pending, {} uncertain",
                db.chats_active,
                db.chats_inactive,
                db.subscriptions,
                db.transfers,
                db.notifications_sent,
                db.notifications_failed,
                db.notifications_pending,
                db.notifications_uncertain
            );
            if db.notifications_held > 0 {
                s += &format!(", {} held as spam", db.notifications_held);
            }
            s += "\n";
        }
        None => s += &format!("Database {UNAVAILABLE}\n"),
    }
    s += &format!(
        "Etherscan: {} calls, {} errors, {} rate-limited\n\
         Since start: {} notifications sent, {} failed, {} Telegram 429s, {} commands, {} polls",
        Counters::get(&c.etherscan_calls),
        Counters::get(&c.etherscan_errors),
        Counters::get(&c.etherscan_rate_limited),
        Counters::get(&c.notifications_sent),
        Counters::get(&c.notifications_failed),
        Counters::get(&c.telegram_429),
        Counters::get(&c.commands),
        Counters::get(&c.polls),
    );
    s
}

/// The flag is shared (it survives the ticker's restart and works while
/// the ticker is down); the ticker is told too, for its log.
async fn pause(core: &Core, pause: bool) -> String {
    core.deps.paused.store(pause, Ordering::SeqCst);
    let told = if pause {
        bounded(core.deps.ticker.call(Pause)).await
    } else {
        bounded(core.deps.ticker.call(Resume)).await
    };
    if !matches!(told, Some(Ok(()))) {
        tracing::warn!(
            actor = "telegram",
            "the ticker did not acknowledge; the shared flag is set"
        );
    }
    if pause {
        "⏸ Polling paused. /resume to continue.".into()
    } else {
        "▶️ Polling resumed.".into()
    }
}

fn refused(e: &SupervisorError) -> String {
    match e {
        SupervisorError::FaultInjectionDisabled => replies::not_admin_fault_injection(),
        // A known child this configuration does not start (`tron` without a
        // Tron chain, `etherscan` without an EVM one, `webhook`, `http`).
        SupervisorError::UnknownChild(name) => format!(
            "🚫 Refused: {} is not running in this daemon: its configuration does not \
             start it (a scanner runs only for the chains in monitor.chains).",
            escape_html(name)
        ),
        other => format!("🚫 Refused: {}.", escape_html(&other.to_string())),
    }
}

async fn restart(core: &Core, actor: &'static str) -> (String, Option<After>) {
    if actor == "telegram" {
        // This very actor: answer first, act after the offset is saved.
        return (
            "🔄 Restarting telegram (this bot); back in a moment.".into(),
            Some(After::Restart(actor)),
        );
    }
    let Some(sup) = core.deps.supervisor.get() else {
        return (format!("Supervisor {UNAVAILABLE}."), None);
    };
    let text = match bounded(sup.send(RestartChild(actor.into()))).await {
        Some(Ok(Ok(()))) => format!("🔄 Restarting {actor}."),
        Some(Ok(Err(e))) => refused(&e),
        _ => format!("Supervisor {UNAVAILABLE}: {actor} not restarted."),
    };
    (text, None)
}

async fn panic(core: &Core, actor: &'static str) -> (String, Option<After>) {
    if actor == "telegram" {
        if !core.deps.config.supervisor.fault_injection {
            return (replies::not_admin_fault_injection(), None);
        }
        return (
            "💥 Injecting a panic into telegram (this bot); the supervisor restarts it.".into(),
            Some(After::Panic(actor)),
        );
    }
    let Some(sup) = core.deps.supervisor.get() else {
        return (format!("Supervisor {UNAVAILABLE}."), None);
    };
    let text = match bounded(sup.send(PanicChild(actor.into()))).await {
        Some(Ok(Ok(()))) => format!("💥 Panic injected into {actor}; the supervisor restarts it."),
        Some(Ok(Err(e))) => refused(&e),
        _ => format!("Supervisor {UNAVAILABLE}: no panic injected."),
    };
    (text, None)
}

/// Carries out an [`After`] (the reply is out and the offset saved).
pub async fn after(core: &Core, after: After) {
    let Some(sup) = core.deps.supervisor.get() else {
        tracing::error!(actor = "telegram", "no supervisor to ask");
        return;
    };
    let result = match after {
        After::Restart(actor) => bounded(sup.send(RestartChild(actor.into()))).await,
        After::Panic(actor) => bounded(sup.send(PanicChild(actor.into()))).await,
    };
    if !matches!(result, Some(Ok(Ok(())))) {
        tracing::error!(
            actor = "telegram",
            ?after,
            "the supervisor did not carry out the request"
        );
    }
}
