//! What the `telegram` child is handed, and nothing else (built by the
//! application from the configuration and the shared handles).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use actix::Addr;
use tokio::sync::Notify;

use crate::config::{Config, Secret};
use crate::db::DbRef;
use crate::domain::Contracts;
use crate::instruments::Instruments;
use crate::metrics::{Alerts, Counters, Health, Pauses};
use crate::supervisor::{ChildRef, Supervisor};
use crate::ticker::TickerActor;
use crate::webhook::Webhooks;

/// The bot's dependencies. Cheap to clone: every incarnation of the actor
/// gets a clone, and everything inside survives its restart.
#[derive(Clone)]
pub struct Deps {
    /// Read: `telegram`, `monitor`, `spam`, `supervisor` and the chains.
    pub config: Arc<Config>,
    /// `TELEGRAM_BOT_TOKEN`.
    pub token: Secret,
    /// Chats, subscriptions, the outbox, the update offset.
    pub db: DbRef,
    /// Woken when notifications were queued (by a scanner or by the bot).
    pub outbox_ready: Arc<Notify>,
    /// Raised on a rejected token or a lost right; delivered to admins.
    pub alerts: Arc<Alerts>,
    /// `/stats`, and the counts the bot adds to.
    pub counters: Arc<Counters>,
    pub instruments: Arc<Instruments>,
    /// `/status`: each chain's head, cursor and provider, today's calls.
    pub health: Arc<Health>,
    /// `/status`: the paused providers.
    pub pauses: Arc<Pauses>,
    /// `/status`: each sink's backlog.
    pub webhooks: Arc<Webhooks>,
    /// `/pause`, `/resume`: the flag the ticker reads (it survives the
    /// ticker's restart).
    pub paused: Arc<AtomicBool>,
    /// `/pause`, `/resume`: told at once.
    pub ticker: ChildRef<TickerActor>,
    /// `/status`, `/restart`, `/panic`. Set right after the supervisor
    /// starts, before any child runs.
    pub supervisor: Arc<OnceLock<Addr<Supervisor>>>,
    /// The bot's username from `getMe` (without the `@`), for routing
    /// `/cmd@username` in groups; empty until known.
    pub bot_username: Arc<OnceLock<String>>,
    /// Token symbols and decimals by contract (`/spam`, the digest).
    pub contracts: Arc<Contracts>,
}
