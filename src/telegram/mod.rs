//! The bot: one actor that talks to the Telegram Bot API.
//!
//! [`TelegramActor`] runs six loops on its own Arbiter, all inside the
//! actor's context so that they die with it (a panic, a restart):
//!
//! * [`updates`]: long-polls `getUpdates`, handles commands
//!   ([`commands`]) and button presses, and persists the update offset
//!   after each batch so a restart neither replays nor skips a command;
//! * [`outgoing`]: sends the replies the handlers queued, in order per
//!   chat, so that a chat waiting for its pacing holds neither the update
//!   loop nor another chat's replies;
//! * [`delivery`]: sends queued notifications from the outbox and marks
//!   each one, so a crash at any point loses none;
//! * [`delivery::alerts`]: turns [`Alerts`](crate::metrics::Alerts) into
//!   outbox rows for every admin, once per incident;
//! * [`digest`]: the daily summary of held-back transfers for chats that
//!   chose `/spam digest`;
//! * [`storage`]: tells the admins when one chat makes most of the
//!   database's growth.
//!
//! Who may use the bot at all is decided by [`access`].
//!
//! Every message, whatever its kind, is paced by one [`pacing::Pacer`].
//!
//! The actor is handed [`Deps`] (exactly what it uses). When the supervisor
//! asks it to stop (the incarnation's stop token, which every loop shares,
//! then [`Control::Stop`]) the long poll is dropped, sends already on the
//! wire finish and are marked, and whatever was not sent stays queued in the
//! database for the next start.

pub mod access;
pub mod bot;
pub mod callback_data;
pub mod callbacks;
pub mod combine;
pub mod commands;
pub mod delivery;
pub mod deps;
pub mod digest;
pub mod groups;
pub mod outgoing;
pub mod pacing;
pub mod permission;
pub mod replies;
pub mod split;
pub mod storage;
pub mod updates;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, ActorFutureExt, AsyncContext, Context, Handler, WrapFuture};
use teloxide_core::Bot;
use tokio_util::sync::CancellationToken;

use crate::db::chats::SetChatActive;
use crate::domain::Chain;
use crate::metrics::Counters;
use crate::supervisor::{ChildGuard, Control, obey, stop_before_abandoned};

use bot::TgError;
use commands::limit::CommandLimiter;
pub use deps::Deps;
use pacing::Pacer;

/// At most this many 429s in a row for one message before giving up on it
/// for now (a notification is then retried later from the outbox).
const MAX_429_IN_A_ROW: u32 = 5;

/// Of the supervisor's `shutdown_timeout`, what is kept for marking the
/// sends cut off at a stop (see [`Core::send_cut_off`]) and for stopping.
const STOP_MARGIN: Duration = Duration::from_secs(1);

/// What the loops of one incarnation share. Single-threaded (the actor's
/// Arbiter), hence `Rc` and `RefCell`; no borrow is held across an await.
pub struct Core {
    pub deps: Deps,
    /// For long polling and start-up calls.
    pub bot: Bot,
    /// For `sendMessage`: its client gives up after `send_timeout`.
    pub sender: Bot,
    pub pacer: RefCell<Pacer>,
    pub limiter: RefCell<CommandLimiter>,
    /// Replies waiting to be sent (see [`outgoing`]).
    pub outgoing: outgoing::Outgoing,
    /// Recent `getChatMember` answers (see [`permission`]).
    pub admin_cache: RefCell<permission::AdminCache>,
    /// The configured chains, resolved against the registry.
    pub chains: Vec<Chain>,
    /// The incarnation's stop token: cancelled once the actor is asked to
    /// stop.
    pub stopping: CancellationToken,
}

impl Core {
    pub fn new(deps: Deps, bots: bot::Bots, stopping: CancellationToken) -> Core {
        let t = &deps.config.telegram;
        let now = Instant::now();
        Core {
            pacer: RefCell::new(
                Pacer::new(t.send_rate, t.per_chat_interval, now)
                    .with_group_limit(t.group_per_minute),
            ),
            limiter: RefCell::new(CommandLimiter::new(t.command_limit, t.command_window)),
            admin_cache: RefCell::default(),
            outgoing: outgoing::Outgoing::default(),
            chains: deps.config.chains(),
            deps,
            bot: bots.poller,
            sender: bots.sender,
            stopping,
        }
    }

    pub fn is_admin(&self, user_id: i64) -> bool {
        self.deps.config.telegram.admins.contains(&user_id)
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// Resolves once the actor is asked to stop.
    pub async fn stopped(&self) {
        self.stopping.cancelled().await
    }

    /// How long after a stop request a send still on the wire is waited
    /// for: the supervisor's `shutdown_timeout` less [`STOP_MARGIN`]. The
    /// actor stops itself half a margin later (see [`TelegramActor`]'s
    /// `Control::Stop`), so a cut-off send is marked first.
    pub fn send_cut_off(&self) -> Duration {
        self.deps
            .config
            .supervisor
            .shutdown_timeout
            .saturating_sub(STOP_MARGIN)
    }

    /// Waits for the pacer's permission to send a reply (to a command, a
    /// button) to `chat`: replies go before notifications.
    pub async fn acquire(&self, chat: i64) {
        loop {
            let verdict = (self.pacer.borrow_mut()).try_acquire_reply(chat, Instant::now());
            match verdict {
                Ok(()) => return,
                Err(at) => tokio::time::sleep_until(at.into()).await,
            }
        }
    }

    /// Waits for the pacer's permission to send a notification to `chat`.
    pub async fn acquire_notification(&self, chat: i64) {
        loop {
            let verdict = self.pacer.borrow_mut().try_acquire(chat, Instant::now());
            match verdict {
                Ok(()) => return,
                Err(at) => tokio::time::sleep_until(at.into()).await,
            }
        }
    }

    /// Sends one HTML reply, paced, split into parts of at most
    /// [`split::MAX_MESSAGE_UNITS`] at line boundaries if it is longer
    /// (see [`split`]); stops at the first part that fails. A 429 pauses
    /// every sender for its `retry_after` and the part is sent again; a
    /// chat-level answer (blocked, chat not found) marks the chat inactive.
    ///
    /// A group that became a supergroup is moved to its new id (see
    /// [`groups`]) and the part is sent there.
    pub async fn send(&self, chat: i64, text: &str) -> Result<(), TgError> {
        self.send_with(chat, text, None).await
    }

    /// [`Core::send`] with an inline keyboard (`reply_markup` JSON) on the
    /// last part.
    pub async fn send_with(
        &self,
        chat: i64,
        text: &str,
        reply_markup: Option<&str>,
    ) -> Result<(), TgError> {
        let mut chat = chat;
        let parts = split::split(text, split::MAX_MESSAGE_UNITS);
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.iter().enumerate() {
            let markup = reply_markup.filter(|_| i == last);
            let mut sent = self.send_paced_with(chat, part, markup, false).await;
            if let Some(Err(TgError::Migrated(to))) = sent {
                chat = to;
                sent = self.send_paced_with(chat, part, markup, false).await;
            }
            if let Some(result) = sent {
                result?;
            }
        }
        Ok(())
    }

    /// Sends one message as it is; when `abortable` (a notification of the
    /// outbox), gives up (`None`) if the actor is asked to stop while the
    /// message waits for its turn, i.e. before anything was sent. Other
    /// messages are replies, paced ahead of notifications.
    pub async fn send_paced(
        &self,
        chat: i64,
        text: &str,
        abortable: bool,
    ) -> Option<Result<(), TgError>> {
        self.send_paced_with(chat, text, None, abortable).await
    }

    /// [`Core::send_paced`] with an inline keyboard (`reply_markup` JSON).
    pub async fn send_paced_with(
        &self,
        chat: i64,
        text: &str,
        reply_markup: Option<&str>,
        abortable: bool,
    ) -> Option<Result<(), TgError>> {
        let mut rate_limited = 0;
        loop {
            if abortable {
                tokio::select! {
                    () = self.acquire_notification(chat) => {}
                    () = self.stopped() => return None,
                }
            } else {
                self.acquire(chat).await;
            }
            let result = bot::send_html_with(&self.sender, chat, text, reply_markup).await;
            let outcome = crate::instruments::outcome(&result, bot::TgError::outcome);
            (self.deps.instruments).provider_call("telegram", "sendMessage", outcome);
            match result {
                Err(TgError::RetryAfter(wait)) => {
                    let wait = wait.max(Duration::from_secs(1));
                    Counters::add(&self.deps.counters.telegram_429, 1);
                    self.pacer.borrow_mut().pause_all(wait, Instant::now());
                    tracing::warn!(
                        actor = "telegram",
                        chat,
                        retry_after_ms = wait.as_millis() as u64,
                        "flood limit hit: all sending paused"
                    );
                    rate_limited += 1;
                    if rate_limited >= MAX_429_IN_A_ROW {
                        return Some(Err(TgError::RetryAfter(wait)));
                    }
                }
                Err(TgError::Migrated(to)) => {
                    // Not a failure: the chat, its rows included, moves.
                    self.migrate(chat, to).await;
                    return Some(Err(TgError::Migrated(to)));
                }
                Err(e) if e.is_chat_level() => {
                    self.set_active(chat, false).await;
                    return Some(Err(e));
                }
                Err(TgError::Unauthorized) => {
                    self.token_rejected();
                    return Some(Err(TgError::Unauthorized));
                }
                other => return Some(other),
            }
        }
    }

    /// Tells the admins (once per incident) that the token is refused.
    pub fn token_rejected(&self) {
        self.deps.alerts.raise(
            "telegram:unauthorized",
            "Telegram rejects the bot token (TELEGRAM_BOT_TOKEN): the bot receives and sends nothing until it is fixed.",
        );
    }

    /// Marks a chat (in)active; an inactive chat keeps its subscriptions
    /// but is sent nothing. Reactivation wakes the delivery loop so that
    /// what waited for the chat goes out at once. Logged when it changes.
    pub async fn set_active(&self, chat: i64, active: bool) {
        let request = SetChatActive {
            chat_id: chat,
            active,
        };
        match self.deps.db.exec(request).await {
            Ok(changed) => {
                if changed {
                    tracing::info!(actor = "telegram", chat, active, "chat activity changed");
                }
                if active {
                    self.deps.outbox_ready.notify_one();
                }
            }
            Err(e) => {
                tracing::error!(actor = "telegram", chat, active, error = %e, "cannot record chat activity")
            }
        }
    }
}

/// The Telegram actor. Its [`Bot`] is built in [`TelegramActor::new`],
/// which the supervisor runs on the actor's own Arbiter.
pub struct TelegramActor {
    core: Result<Rc<Core>, bot::BuildError>,
    /// Cancelled when the supervisor asks this incarnation to stop.
    stop: CancellationToken,
    loops: usize,
    _guard: ChildGuard,
}

impl TelegramActor {
    pub fn new(deps: Deps, guard: ChildGuard) -> Self {
        let stop = guard.stop_token();
        let token = deps.token.expose().to_owned();
        let core = bot::build(&deps.config.telegram, &token)
            .map(|bots| Rc::new(Core::new(deps, bots, stop.clone())));
        TelegramActor {
            core,
            stop,
            loops: 0,
            _guard: guard,
        }
    }

    fn spawn_loop<F>(&mut self, ctx: &mut Context<Self>, name: &'static str, fut: F)
    where
        F: std::future::Future<Output = ()> + 'static,
    {
        self.loops += 1;
        ctx.spawn(fut.into_actor(self).map(move |(), act, ctx| {
            act.loops -= 1;
            tracing::debug!(actor = "telegram", name, "loop finished");
            if act.stop.is_cancelled() && act.loops == 0 {
                ctx.stop();
            } else if !act.stop.is_cancelled() {
                // The loops only end when asked to; anything else is a bug
                // the supervisor should see.
                tracing::error!(actor = "telegram", name, "loop ended unexpectedly");
                ctx.stop();
            }
        }));
    }
}

impl Actor for TelegramActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let core = match &self.core {
            Ok(core) => core.clone(),
            Err(e) => {
                tracing::error!(actor = "telegram", error = %e, "cannot build the Bot API client");
                ctx.stop();
                return;
            }
        };
        self.spawn_loop(ctx, "updates", updates::run(core.clone()));
        self.spawn_loop(ctx, "replies", outgoing::run(core.clone()));
        self.spawn_loop(ctx, "delivery", delivery::run(core.clone()));
        self.spawn_loop(ctx, "alerts", delivery::alerts(core.clone()));
        self.spawn_loop(ctx, "storage", storage::watch(core.clone()));
        self.spawn_loop(ctx, "digest", digest::run(core));
    }
}

impl Handler<Control> for TelegramActor {
    type Result = ();

    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        match msg {
            Control::Stop => {
                tracing::info!(actor = "telegram", "stopping: finishing in-flight sends");
                // The loops saw the stop token already (the supervisor
                // cancels it first); a direct `Control::Stop` stops them too.
                self.stop.cancel();
                if self.loops == 0 {
                    ctx.stop();
                    return;
                }
                // A send stuck past the supervisor's patience is abandoned
                // by it anyway; stop a little before that on our own.
                if let Ok(core) = &self.core {
                    // Half a STOP_MARGIN after `send_cut_off`: a cut-off send
                    // is marked as a lost answer first.
                    stop_before_abandoned(ctx, core.deps.config.supervisor.shutdown_timeout);
                }
            }
            Control::Panic => obey(msg, ctx),
        }
    }
}
