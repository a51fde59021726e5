//! Groups and supergroups: which messages there are for this bot, the
//! bot being added or removed, and a group becoming a supergroup.
//!
//! * A command is for us when it names us (`/list@<our username>`, the
//!   name from `getMe` at start) or names no bot and is one of ours
//!   (`/list`: Telegram delivers it when privacy mode allows).
//!   `/list@OtherBot`, plain chatter and unknown bare commands are
//!   ignored without a reply.
//! * Migration: a message carrying `migrate_to_chat_id` (in the old group)
//!   or `migrate_from_chat_id` (in the new supergroup), or a `sendMessage`
//!   answered 400 with `parameters.migrate_to_chat_id`, moves the chat to
//!   its new id ([`MigrateChat`]); decided on the parameter only, never on
//!   the wording.

use teloxide_core::types::{Chat, Message};

use super::Core;
use super::commands::parse::Kind;
use crate::db::chats::{ChatKind, MigrateChat, RegisterGroup};

/// The kind of a chat as the Bot API gives it.
pub fn chat_kind(chat: &Chat) -> ChatKind {
    if chat.is_private() {
        ChatKind::Private
    } else if chat.is_supergroup() {
        ChatKind::Supergroup
    } else if chat.is_group() {
        ChatKind::Group
    } else {
        ChatKind::Channel
    }
}

/// Whether a group message is a command for this bot (`me`: our username
/// without `@`, empty when unknown: then only bare commands are ours).
pub fn is_for_us(text: &str, me: &str) -> bool {
    let Some(rest) = text.trim_start().strip_prefix('/') else {
        return false;
    };
    let head = rest
        .split(|c: char| c.is_whitespace() || c == '\u{200B}')
        .next()
        .unwrap_or_default();
    match head.split_once('@') {
        Some((_, bot)) => !me.is_empty() && bot.eq_ignore_ascii_case(me),
        None => Kind::by_name(head).is_some(),
    }
}

/// The (old id, new id) pair a service message announces, if any.
pub fn migration(m: &Message) -> Option<(i64, i64)> {
    if let Some(to) = m.migrate_to_chat_id() {
        return Some((m.chat.id.0, to.0));
    }
    m.migrate_from_chat_id().map(|from| (from.0, m.chat.id.0))
}

impl Core {
    /// Moves a chat that became a supergroup to its new id, in one
    /// transaction (see [`MigrateChat`]), and wakes the outbox loop so
    /// its moved rows go to the new id. Safe to repeat.
    pub async fn migrate(&self, from: i64, to: i64) {
        match self.deps.db.exec(MigrateChat { from, to }).await {
            Ok(moved) => {
                tracing::info!(
                    actor = "telegram",
                    chat = from,
                    to,
                    moved,
                    "the group became a supergroup: moved to its new id"
                );
                self.deps.outbox_ready.notify_one();
            }
            Err(e) => {
                tracing::error!(actor = "telegram", chat = from, to, error = %e, "cannot move a migrated group")
            }
        }
    }

    /// Records a group (kind, title) as active; true if it is new.
    pub async fn register_group(&self, chat: i64, kind: ChatKind, title: Option<String>) -> bool {
        let request = RegisterGroup {
            chat_id: chat,
            kind,
            title,
        };
        match self.deps.db.exec(request).await {
            Ok(new) => {
                self.deps.outbox_ready.notify_one();
                new
            }
            Err(e) => {
                tracing::error!(actor = "telegram", chat, error = %e, "cannot register a group");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_for_another_bot_are_not_ours() {
        assert!(is_for_us("/list@sim_bot", "sim_bot"));
        assert!(is_for_us("/list@Sim_Bot extra", "sim_bot"));
        assert!(is_for_us("/add 0xabc", "sim_bot"));
        assert!(!is_for_us("/list@OtherBot", "sim_bot"));
        assert!(!is_for_us("/list@sim_bot", ""));
        assert!(!is_for_us("/weather", "sim_bot"), "a bare command not ours");
        assert!(!is_for_us("hello /list", "sim_bot"));
        assert!(!is_for_us("", "sim_bot"));
    }
}
