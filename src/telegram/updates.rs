//! Receiving: `deleteWebhook` and `setMyCommands` at start, then long
//! polling `getUpdates`, with the offset kept in the meta table.
//!
//! The offset is saved after each batch is handled, so a restart neither
//! replays a handled command nor skips an unhandled one (a crash in the
//! middle of a batch replays that batch: at-least-once). Updates of one
//! chat are handled in order; different chats concurrently, so one slow
//! `/status` does not hold everyone up.
//!
//! Handling never waits for a chat's pacing: replies, confirmations and
//! edits are queued for [`outgoing`](super::outgoing) and button presses
//! answered at once, so a chat in a flood wait, a group's slow mode or its
//! per-minute budget never holds the next `getUpdates` (nor, thus, any
//! other chat's commands and button presses). A reply not yet sent when
//! the process crashes is lost; its command's effect is not.
//!
//! On stop, a pending `getUpdates` is simply dropped: the server keeps
//! its updates until a later call confirms them.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::join_all;
use teloxide_core::payloads::GetUpdatesSetters;
use teloxide_core::prelude::Requester;
use teloxide_core::types::{AllowedUpdate, BotCommand, Update, UpdateKind};

use super::Core;
use super::access::{self, Arrival, Gate};
use super::bot::TgError;
use super::callbacks;
use super::commands::parse::Kind;
use super::commands::{self, After, Incoming};
use super::outgoing::Job;
use rusqlite::Transaction;

use super::groups;
use crate::db::access::{Applicant, ChatAccess};
use crate::db::chats::ChatKind;
use crate::db::meta::{self, GetMeta};
use crate::db::{DbError, DbRequest};

/// Where the next `getUpdates` offset is kept.
pub const OFFSET_KEY: &str = "telegram_update_offset";

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The command menu: what every user may send (admin commands stay out
/// of it).
pub fn menu() -> Vec<BotCommand> {
    Kind::ALL
        .into_iter()
        .filter(|k| !k.is_admin())
        .map(|k| BotCommand {
            command: k.name().into(),
            description: k.description().into(),
        })
        .collect()
}

/// Sleeps `d` unless the actor is asked to stop first (then: false).
async fn pause(core: &Core, d: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        () = core.stopped() => false,
    }
}

fn next_backoff(d: Duration) -> Duration {
    (d * 2).min(MAX_BACKOFF)
}

/// What to do about a failed Bot API call, and how loudly.
fn on_error(core: &Core, what: &str, e: &TgError) {
    match e {
        TgError::Unauthorized => core.token_rejected(),
        TgError::Conflict => core.deps.alerts.raise(
            "telegram:conflict",
            "Another process is polling Telegram with this bot token: commands are split between the two. Stop the other instance.",
        ),
        _ => {}
    }
    tracing::warn!(actor = "telegram", call = what, error = %e, "Bot API call failed");
}

/// Start-up calls, retried until they succeed or the actor stops.
async fn prepare(core: &Core) -> Option<Option<i32>> {
    let mut backoff = Duration::from_millis(500);
    loop {
        match core.bot.delete_webhook().await.map_err(TgError::from) {
            Ok(_) => break,
            Err(e) => {
                on_error(core, "deleteWebhook", &e);
                if !pause(core, backoff).await {
                    return None;
                }
                backoff = next_backoff(backoff);
            }
        }
    }
    learn_username(core).await;
    // The menu is a convenience: a failure is logged, not retried.
    if let Err(e) = core
        .bot
        .set_my_commands(menu())
        .await
        .map_err(TgError::from)
    {
        on_error(core, "setMyCommands", &e);
    }
    let mut backoff = Duration::from_millis(200);
    loop {
        match core.deps.db.exec(GetMeta(OFFSET_KEY)).await {
            Ok(v) => return Some(v.and_then(|s| s.parse().ok())),
            Err(e) => {
                tracing::warn!(actor = "telegram", error = %e, "cannot read the update offset");
                if !pause(core, backoff).await {
                    return None;
                }
                backoff = next_backoff(backoff);
            }
        }
    }
}

/// The bot's username, for telling `/cmd@us` from `/cmd@OtherBot` in
/// groups: from preflight's `getMe` when it ran, else asked here once (a
/// failure is logged; until known, only bare commands are ours in groups).
async fn learn_username(core: &Core) {
    if core.deps.bot_username.get().is_some() {
        return;
    }
    match core.bot.get_me().await.map_err(TgError::from) {
        Ok(me) => {
            if let Some(name) = me.user.username {
                let _ = core.deps.bot_username.set(name);
            }
        }
        Err(e) => on_error(core, "getMe", &e),
    }
}

/// The long-poll loop; returns when the actor is asked to stop.
pub async fn run(core: Rc<Core>) {
    let Some(mut offset) = prepare(&core).await else {
        return;
    };
    tracing::info!(actor = "telegram", ?offset, "polling for updates");
    let timeout = core.deps.config.telegram.long_poll_timeout.as_secs().max(1) as u32;
    let mut backoff = Duration::from_millis(500);
    let mut unsaved: Option<i32> = None;
    while !core.is_stopping() {
        let mut request = core.bot.get_updates().timeout(timeout).allowed_updates([
            AllowedUpdate::Message,
            AllowedUpdate::MyChatMember,
            AllowedUpdate::CallbackQuery,
        ]);
        if let Some(o) = offset {
            request = request.offset(o);
        }
        let result = tokio::select! {
            r = request => r.map_err(TgError::from),
            // Dropping the request closes its connection.
            () = core.stopped() => return,
        };
        let updates = match result {
            Ok(u) => {
                backoff = Duration::from_millis(500);
                u
            }
            Err(e) => {
                on_error(&core, "getUpdates", &e);
                if !pause(&core, backoff).await {
                    return;
                }
                backoff = next_backoff(backoff);
                continue;
            }
        };
        let mut afters: Vec<(i64, After)> = Vec::new();
        if let Some(last) = updates.iter().map(|u| u.id.0).max() {
            afters = handle_batch(&core, updates).await;
            let next = i32::try_from(u64::from(last) + 1).unwrap_or(i32::MAX);
            offset = Some(next);
            unsaved = Some(next);
        }
        if let Some(o) = unsaved
            && save_offset(&core, o).await
        {
            unsaved = None;
        }
        if let (Some(o), false) = (unsaved, afters.is_empty()) {
            // Restarting this actor with the offset unsaved would replay
            // the command: wait for the database as long as it takes.
            match core.deps.db.exec(SaveOffset(i64::from(o))).await {
                Ok(()) => unsaved = None,
                Err(e) => {
                    tracing::error!(actor = "telegram", error = %e, "offset not saved; not acting on the command");
                    afters.clear();
                }
            }
        }
        // Behind the reply that announces it (see `outgoing`).
        for (chat, after) in afters {
            core.outgoing.push(chat, Job::After(after));
        }
    }
}

/// How long saving the offset may hold up polling. While the database is
/// being restarted the save times out; the offset is kept and saved after
/// the next `getUpdates` instead, so commands keep being answered.
const SAVE_TIMEOUT: Duration = Duration::from_secs(1);

/// Saves the offset; false if it could not be saved (yet).
async fn save_offset(core: &Core, offset: i32) -> bool {
    let save = core.deps.db.exec(SaveOffset(i64::from(offset)));
    match tokio::time::timeout(SAVE_TIMEOUT, save).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(actor = "telegram", offset, error = %e, "cannot save the update offset; will retry");
            false
        }
        Err(_) => {
            tracing::warn!(
                actor = "telegram",
                offset,
                "saving the update offset timed out; will retry"
            );
            false
        }
    }
}

/// Stores the update offset unless a higher one is stored already: a
/// delayed save (queued behind a database restart) never moves it back.
pub struct SaveOffset(pub i64);

impl DbRequest for SaveOffset {
    type Output = ();
    fn run(self, tx: &Transaction<'_>) -> Result<(), DbError> {
        let current = meta::get_i64(tx, OFFSET_KEY)?;
        if current.is_none_or(|c| c < self.0) {
            meta::set(tx, OFFSET_KEY, &self.0.to_string())?;
        }
        Ok(())
    }
}

/// One chat's part of a batch.
enum Event {
    Message(Incoming),
    Press(callbacks::Press),
    Member {
        chat_id: i64,
        active: bool,
        /// For a group: its kind and title, registered when the bot is in.
        group: Option<(ChatKind, Option<String>)>,
        /// Who changed the bot's status (in a group: who added it).
        by: i64,
    },
    /// The group became a supergroup (see [`groups`](super::groups)).
    Migrated {
        from: i64,
        to: i64,
    },
}

/// Sorts a batch by chat; ignores what the bot does not handle. `me` is
/// the bot's username (empty when unknown).
fn classify(update: Update, me: &str) -> Option<(i64, Event)> {
    match update.kind {
        UpdateKind::Message(m) => {
            if let Some((from, to)) = groups::migration(&m) {
                return Some((from, Event::Migrated { from, to }));
            }
            let kind = groups::chat_kind(&m.chat);
            let text = m.text().map(str::to_owned);
            let ours = match kind {
                ChatKind::Private => true,
                ChatKind::Group | ChatKind::Supergroup => {
                    text.as_deref().is_some_and(|t| groups::is_for_us(t, me))
                }
                ChatKind::Channel => false,
            };
            if !ours {
                tracing::debug!(
                    actor = "telegram",
                    chat = m.chat.id.0,
                    "message not for this bot ignored"
                );
                return None;
            }
            let user = m.from.as_ref()?;
            // Sent as a chat: an anonymous administrator (the group
            // itself) or a channel; `from` is then a placeholder account
            // Telegram shares between all such senders (Channel_Bot,
            // GroupAnonymousBot), so the sender is the chat it names.
            let user_id = match &m.sender_chat {
                Some(sender) => sender.id.0,
                None => i64::try_from(user.id.0).ok()?,
            };
            let incoming = Incoming {
                chat_id: m.chat.id.0,
                user_id,
                username: user.username.clone(),
                first_name: Some(user.first_name.clone()),
                new_chat: false,
                text,
                kind,
                title: m.chat.title().map(str::to_owned),
            };
            Some((incoming.chat_id, Event::Message(incoming)))
        }
        UpdateKind::MyChatMember(m) => {
            let chat_kind = groups::chat_kind(&m.chat);
            if chat_kind == ChatKind::Channel {
                tracing::debug!(
                    actor = "telegram",
                    chat = m.chat.id.0,
                    "membership change in a channel ignored"
                );
                return None;
            }
            let group = chat_kind
                .is_group()
                .then(|| (chat_kind, m.chat.title().map(str::to_owned)));
            let kind = &m.new_chat_member.kind;
            let active = if kind.is_banned() || kind.is_left() {
                false
            } else if kind.is_present() {
                true
            } else {
                return None;
            };
            let by = i64::try_from(m.from.id.0).unwrap_or(m.chat.id.0);
            Some((
                m.chat.id.0,
                Event::Member {
                    chat_id: m.chat.id.0,
                    active,
                    group,
                    by,
                },
            ))
        }
        UpdateKind::CallbackQuery(q) => {
            let press = callbacks::Press::from_query(q)?;
            Some((press.chat_id, Event::Press(press)))
        }
        _ => {
            tracing::debug!(
                actor = "telegram",
                update = update.id.0,
                "update kind not handled; ignored"
            );
            None
        }
    }
}

/// The bot was added to a group by user `by`: the group passes the access
/// gate like a `/start` from `by` (see [`access`]); refused, it is told
/// why and stored only if it was known before.
async fn added_to_group(core: &Core, chat_id: i64, kind: ChatKind, title: Option<String>, by: i64) {
    let who = Applicant {
        chat_id,
        user_id: by,
        kind,
        title: title.clone(),
        username: None,
        first_name: None,
    };
    match access::gate(core, who, Arrival::AddedToGroup).await {
        Gate::Go { .. } | Gate::Quiet => {
            core.register_group(chat_id, kind, title).await;
        }
        Gate::Refuse(text) => {
            core.outgoing
                .push(chat_id, Job::Send { text, markup: None });
            let known = core.deps.db.exec(ChatAccess(chat_id)).await;
            if matches!(known, Ok(Some(_))) {
                core.register_group(chat_id, kind, title).await;
            }
        }
    }
}

/// Handles a batch, each chat's updates in order, chats concurrently.
/// Nothing here waits for a chat's pacing: replies are queued (see
/// [`outgoing`](super::outgoing)), so a batch takes as long as its
/// database work and rights checks.
async fn handle_batch(core: &Core, updates: Vec<Update>) -> Vec<(i64, After)> {
    let me = core.deps.bot_username.get().cloned().unwrap_or_default();
    let mut by_chat: BTreeMap<i64, Vec<Event>> = BTreeMap::new();
    for update in updates {
        if let Some((chat, event)) = classify(update, &me) {
            by_chat.entry(chat).or_default().push(event);
        }
    }
    let per_chat = by_chat.into_iter().map(|(chat, events)| async move {
        let mut afters = Vec::new();
        for event in events {
            match event {
                Event::Message(msg) => {
                    afters.extend(commands::handle(core, msg).await.map(|a| (chat, a)))
                }
                Event::Press(press) => callbacks::handle(core, press).await,
                Event::Member {
                    chat_id,
                    active: true,
                    group: Some((kind, title)),
                    by,
                } => added_to_group(core, chat_id, kind, title, by).await,
                Event::Member {
                    chat_id, active, ..
                } => {
                    if access::known_or_open(core, chat_id).await {
                        core.set_active(chat_id, active).await
                    }
                }
                Event::Migrated { from, to } => {
                    if access::known_or_open(core, from).await {
                        core.migrate(from, to).await
                    }
                }
            }
        }
        afters
    });
    join_all(per_chat).await.into_iter().flatten().collect()
}
