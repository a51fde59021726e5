//! Commands from private chats and groups: the per-chat limit, parsing,
//! the rights checks, and the handlers.
//!
//! In a group, any command for the bot registers the group; only its
//! administrators may change what it watches ([`may_change_settings`]),
//! and a refusal says why.
//!
//! Non-admins who try an admin command get the same hint as for an
//! unknown command: the admin commands are not advertised to them. Admins
//! get admin replies in their private chat only (they show other chats'
//! ids and failure texts); in a group they are told to ask there.
//!
//! Before anything else (the command limit aside), the chat passes the
//! access gate ([`access`](super::access)): `telegram.registration` and
//! `telegram.max_chats`.
//!
//! The command limit counts per member of a chat (chat, user): in a
//! private chat that is the chat, in a group one member's flood leaves the
//! others' budget alone.

pub mod admin;
pub mod limit;
pub mod parse;
pub mod settings;
pub mod user;

use std::time::Instant;

use super::access::{self, Arrival, Gate};
use super::outgoing::Job;
use super::permission::{Permission, may_change_settings};
use super::{Core, replies};
use crate::db::access::Applicant;
use crate::db::chats::ChatKind;
use crate::metrics::Counters;
use limit::Verdict;
use parse::{Command, Parsed};

/// A message in a private chat.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub chat_id: i64,
    pub user_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    /// `None` for messages without text (stickers, photos, ...).
    pub text: Option<String>,
    /// Private chat, group or supergroup.
    pub kind: ChatKind,
    /// A group's title.
    pub title: Option<String>,
    /// The access gate registered the chat for this message (its first
    /// contact with the bot).
    pub new_chat: bool,
}

/// Something to do only after the reply went out and the update offset
/// was saved: restarting or crashing this very actor. Done earlier, the
/// command would be lost with the reply, or replayed after the restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Restart(&'static str),
    Panic(&'static str),
}

/// Handles one private message: answer it, and say what to do afterwards.
pub async fn handle(core: &Core, mut msg: Incoming) -> Option<After> {
    let admin = core.is_admin(msg.user_id);
    // Per member, not per chat: in a group, one member's flood must not
    // use up the budget of the others (its administrators above all).
    let member = (msg.chat_id, msg.user_id);
    // Admins are not limited: /status must answer during an incident.
    if !admin {
        let verdict = core.limiter.borrow_mut().check(member, Instant::now());
        if let Verdict::Refuse { notify } = verdict {
            tracing::debug!(
                actor = "telegram",
                chat = msg.chat_id,
                "command limit reached"
            );
            if notify {
                let t = &core.deps.config.telegram;
                let retry_in = core.limiter.borrow().retry_in(member, Instant::now());
                let text = replies::rate_limited(t.command_limit, t.command_window, retry_in);
                reply(core, msg.chat_id, &text).await;
            }
            return None;
        }
    }
    Counters::add(&core.deps.counters.commands, 1);
    let parsed = msg.text.as_deref().map_or(Parsed::Unknown, parse::parse);
    // Who may use the bot (`telegram.registration`, `telegram.max_chats`).
    let arrival = match &parsed {
        Parsed::Command(Command::Start) => Arrival::Start,
        Parsed::Command(Command::Help) => Arrival::Help,
        _ => Arrival::Other,
    };
    let who = Applicant {
        chat_id: msg.chat_id,
        user_id: msg.user_id,
        kind: msg.kind,
        title: msg.title.clone(),
        username: msg.username.clone(),
        first_name: msg.first_name.clone(),
    };
    match access::gate(core, who, arrival).await {
        Gate::Go { new } => msg.new_chat = new,
        Gate::Refuse(text) => {
            reply(core, msg.chat_id, &text).await;
            return None;
        }
        Gate::Quiet => return None,
    }
    let (text, after) = match parsed {
        Parsed::Unknown => (replies::hint(), None),
        Parsed::Invalid { kind, .. } if kind.is_admin() && !admin => (replies::hint(), None),
        // Their replies show other chats' ids and failures: never to a group.
        Parsed::Invalid { kind, .. } if kind.is_admin() && msg.kind.is_group() => {
            (replies::admin_in_private(kind), None)
        }
        Parsed::Invalid { kind, problem } => (replies::invalid(kind, &problem), None),
        Parsed::Command(c) if c.kind().is_admin() && !admin => (replies::hint(), None),
        Parsed::Command(c) if c.kind().is_admin() && msg.kind.is_group() => {
            (replies::admin_in_private(c.kind()), None)
        }
        Parsed::Command(c) if c.kind().is_admin() => admin::handle(core, c).await,
        Parsed::Command(c) => {
            let r = if msg.kind.is_group() {
                in_group(core, &msg, c, admin).await
            } else {
                user::handle(core, &msg, c, admin).await
            };
            reply_with(core, msg.chat_id, &r.text, r.markup.as_deref()).await;
            return None;
        }
    };
    reply(core, msg.chat_id, &text).await;
    after
}

/// A reply, with an inline keyboard (`reply_markup` JSON) under its last part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub markup: Option<String>,
}

impl From<String> for Reply {
    fn from(text: String) -> Reply {
        Reply { text, markup: None }
    }
}

/// A user command in a group: registers the group, checks the sender's
/// right to change its settings, then runs it like in a private chat.
async fn in_group(core: &Core, msg: &Incoming, command: Command, admin: bool) -> Reply {
    let new = core
        .register_group(msg.chat_id, msg.kind, msg.title.clone())
        .await;
    if command == Command::Start {
        return replies::greeting(new || msg.new_chat, &core.chains).into();
    }
    if changes_settings(&command) {
        match may_change_settings(core, msg.chat_id, msg.user_id).await {
            Permission::Allowed => {}
            Permission::NotAdmin => return replies::admins_only(command.kind()).into(),
            Permission::Unknown(_) => return replies::rights_unknown().into(),
        }
    }
    user::handle(core, msg, command, admin).await
}

/// Commands that change what a chat watches or how it is told.
fn changes_settings(command: &Command) -> bool {
    matches!(
        command,
        Command::Add { .. }
            | Command::Remove { .. }
            | Command::Set { .. }
            | Command::Mute { .. }
            | Command::Unmute { .. }
            | Command::Spam(parse::SpamArg::Mode(_))
    )
}

/// Queues a reply (see [`outgoing`](super::outgoing)): never waits for
/// the chat's pacing.
async fn reply(core: &Core, chat: i64, text: &str) {
    reply_with(core, chat, text, None).await
}

async fn reply_with(core: &Core, chat: i64, text: &str, markup: Option<&str>) {
    let job = Job::Send {
        text: text.to_owned(),
        markup: markup.map(str::to_owned),
    };
    core.outgoing.push(chat, job);
}

/// Logs a command's database failure; the user is told to try later.
fn db_failed(command: &Command, e: &crate::db::DbError) -> String {
    tracing::error!(actor = "telegram", command = command.kind().name(), error = %e, "command failed");
    replies::try_later()
}
