//! The update queue behind `getUpdates`, and the JSON shapes of what users do.
//!
//! Telegram keeps every update until a `getUpdates` call asks with a higher
//! `offset`; only then is it dropped ("confirmed"). A poller that crashes
//! before confirming sees the same updates again, which is what a daemon's
//! persisted offset must cope with, so the queue models exactly that.
//!
//! The JSON is the subset teloxide-core 0.13 needs to deserialize each update
//! as the right `UpdateKind` (checked by tests through the real client).

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Unconfirmed updates in id order.
#[derive(Debug)]
pub(crate) struct UpdateQueue {
    items: VecDeque<(i64, Value)>,
    next_id: i64,
    confirmed_offset: i64,
}

impl Default for UpdateQueue {
    fn default() -> Self {
        Self {
            items: VecDeque::new(),
            next_id: 1,
            confirmed_offset: 0,
        }
    }
}

impl UpdateQueue {
    /// Appends an update built by `body` (an object without `update_id`,
    /// which is added here) and returns its id.
    pub(crate) fn push(&mut self, body: impl FnOnce() -> Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut update = body();
        if let Value::Object(map) = &mut update {
            map.insert("update_id".into(), json!(id));
        }
        self.items.push_back((id, update));
        id
    }

    /// Applies a `getUpdates` offset: a positive one drops every update
    /// below it; a negative one keeps only the last `-offset` updates, as
    /// the Bot API documents.
    pub(crate) fn confirm(&mut self, offset: i64) {
        if offset >= 0 {
            self.confirmed_offset = self.confirmed_offset.max(offset);
            while self.items.front().is_some_and(|(id, _)| *id < offset) {
                self.items.pop_front();
            }
        } else {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            while self.items.len() > keep {
                self.items.pop_front();
            }
        }
    }

    /// The first `limit` unconfirmed updates (they stay queued).
    pub(crate) fn batch(&self, limit: usize) -> Vec<Value> {
        self.items
            .iter()
            .take(limit)
            .map(|(_, u)| u.clone())
            .collect()
    }

    pub(crate) fn pending(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn confirmed_offset(&self) -> i64 {
        self.confirmed_offset
    }
}

/// Seconds since the Unix epoch, as Telegram's `date` fields.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A human user with predictable names derived from the id.
pub(crate) fn user(user_id: i64) -> Value {
    json!({
        "id": user_id,
        "is_bot": false,
        "first_name": format!("User{user_id}"),
        "username": format!("user{user_id}"),
        "language_code": "en",
    })
}

/// The simulated bot as a `User`.
pub(crate) fn bot_user(bot_id: i64) -> Value {
    json!({
        "id": bot_id,
        "is_bot": true,
        "first_name": "Sim Bot",
        "username": "sim_bot",
    })
}

/// The bot as `getMe` returns it: a `User` plus the bot-only flags that
/// teloxide's `Me` requires (`has_main_web_app` has no default there).
pub(crate) fn me(bot_id: i64) -> Value {
    let mut me = bot_user(bot_id);
    if let Value::Object(map) = &mut me {
        for (flag, value) in [
            ("can_join_groups", true),
            ("can_read_all_group_messages", false),
            ("supports_inline_queries", false),
            ("can_connect_to_business", false),
            ("has_main_web_app", false),
        ] {
            map.insert(flag.into(), json!(value));
        }
    }
    me
}

/// A chat object: positive ids are private chats with that user, negative
/// ids are groups.
/// Supergroup ids start at -100…; other negative ids are basic groups.
pub(crate) fn chat(chat_id: i64) -> Value {
    if chat_id <= SUPERGROUP_IDS {
        json!({ "id": chat_id, "type": "supergroup", "title": format!("Group{chat_id}") })
    } else if chat_id < 0 {
        json!({ "id": chat_id, "type": "group", "title": format!("Group{chat_id}") })
    } else {
        json!({
            "id": chat_id,
            "type": "private",
            "first_name": format!("User{chat_id}"),
            "username": format!("user{chat_id}"),
        })
    }
}

/// A text message; a leading `/word` gets the `bot_command` entity clients
/// attach, with its length in UTF-16 units as the Bot API counts offsets.
pub(crate) fn text_message(message_id: i64, chat: Value, from: Value, text: &str) -> Value {
    let mut message = json!({
        "message_id": message_id,
        "date": unix_now(),
        "chat": chat,
        "from": from,
        "text": text,
    });
    if text.starts_with('/') {
        let command = text.split(char::is_whitespace).next().unwrap_or_default();
        let length = command.encode_utf16().count();
        if let Value::Object(map) = &mut message {
            map.insert(
                "entities".into(),
                json!([{ "type": "bot_command", "offset": 0, "length": length }]),
            );
        }
    }
    message
}

/// Ids at or below this are supergroups (Telegram's `-100…` ids).
pub(crate) const SUPERGROUP_IDS: i64 = -1_000_000_000_000;

/// The user id Telegram shows as the sender of an anonymous
/// administrator's message (`@GroupAnonymousBot`).
pub(crate) const ANONYMOUS_ADMIN: i64 = 1_087_968_824;

/// A `ChatMember` of `user` with `status` (`creator`, `administrator`,
/// `member`, `left`, `kicked`), with the fields teloxide-core requires
/// for each kind.
pub(crate) fn member(user: Value, status: &str) -> Value {
    let mut member = json!({ "user": user, "status": status });
    if let Value::Object(map) = &mut member {
        match status {
            "kicked" => {
                map.insert("until_date".into(), json!(0));
            }
            "creator" => {
                map.insert("is_anonymous".into(), json!(false));
            }
            "administrator" => {
                for flag in [
                    "can_be_edited",
                    "is_anonymous",
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_promote_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_pin_messages",
                    "can_manage_topics",
                ] {
                    map.insert(flag.into(), json!(flag.starts_with("can_")));
                }
            }
            _ => {}
        }
    }
    member
}

/// A group message sent by an anonymous administrator: from
/// `@GroupAnonymousBot`, with `sender_chat` the group itself.
pub(crate) fn as_the_group(message_id: i64, chat_id: i64, text: &str) -> Value {
    let from = json!({
        "id": ANONYMOUS_ADMIN,
        "is_bot": true,
        "first_name": "Group",
        "username": "GroupAnonymousBot",
    });
    let mut message = text_message(message_id, chat(chat_id), from, text);
    if let Value::Object(map) = &mut message {
        map.insert("sender_chat".into(), chat(chat_id));
    }
    message
}

/// The service message of a group upgraded to a supergroup: in the old
/// group with `migrate_to_chat_id`, or in the new one with
/// `migrate_from_chat_id`.
pub(crate) fn migration(message_id: i64, in_chat: i64, key: &str, other: i64, by: i64) -> Value {
    json!({
        "message": {
            "message_id": message_id,
            "date": unix_now(),
            "chat": chat(in_chat),
            "from": user(by),
            key: other,
        }
    })
}

/// A `my_chat_member` update: `by` changed the bot's status in group
/// `chat_id` from `old_status` to `new_status`.
pub(crate) fn my_group_member(
    bot_id: i64,
    chat_id: i64,
    by: i64,
    old_status: &str,
    new_status: &str,
) -> Value {
    json!({
        "my_chat_member": {
            "chat": chat(chat_id),
            "from": user(by),
            "date": unix_now(),
            "old_chat_member": member(bot_user(bot_id), old_status),
            "new_chat_member": member(bot_user(bot_id), new_status),
        }
    })
}

/// A `ChatMember` of the bot with `status`. teloxide maps `kicked` to
/// `Banned`, whose `until_date` is required (0 means forever); `member`
/// takes an optional one, `left` none.
fn bot_member(bot_id: i64, status: &str) -> Value {
    member(bot_user(bot_id), status)
}

/// A `my_chat_member` update body: user `user_id` changed the bot's status
/// in their private chat (blocking it is `kicked`, unblocking `member`).
pub(crate) fn my_chat_member(bot_id: i64, user_id: i64, new_status: &str) -> Value {
    let old_status = if new_status == "kicked" {
        "member"
    } else {
        "kicked"
    };
    json!({
        "my_chat_member": {
            "chat": chat(user_id),
            "from": user(user_id),
            "date": unix_now(),
            "old_chat_member": bot_member(bot_id, old_status),
            "new_chat_member": bot_member(bot_id, new_status),
        }
    })
}

#[cfg(test)]
mod queue_tests {
    use super::*;

    #[test]
    fn offset_confirms_and_negative_offset_keeps_tail() {
        let mut q = UpdateQueue::default();
        for _ in 0..5 {
            q.push(|| json!({}));
        }
        assert_eq!(q.batch(2).len(), 2);
        q.confirm(3);
        assert_eq!(q.pending(), 3);
        assert_eq!(q.confirmed_offset(), 3);
        q.confirm(1);
        assert_eq!(q.pending(), 3, "a lower offset confirms nothing more");
        assert_eq!(q.confirmed_offset(), 3);
        q.confirm(-1);
        assert_eq!(q.pending(), 1);
        assert_eq!(q.batch(100)[0]["update_id"], 5);
    }

    #[test]
    fn command_entity_counts_utf16() {
        let m = text_message(1, chat(5), user(5), "/add 0xabc");
        assert_eq!(m["entities"][0]["length"], 4);
        let m = text_message(1, chat(5), user(5), "hello");
        assert!(m.get("entities").is_none());
    }
}
