//! Chats: who talks to the bot, and whether they still can be reached.

use rusqlite::{Transaction, params};

use super::{DbError, DbRequest, now_secs};

/// Registers a chat, or reactivates it (`/start`, or a `my_chat_member`
/// update saying the user unblocked the bot). Returns true for a new chat.
pub struct UpsertChat {
    pub chat_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
}

impl DbRequest for UpsertChat {
    type Output = bool;
    fn run(self, tx: &Transaction<'_>) -> Result<bool, DbError> {
        let existed = ensure(tx, self.chat_id)?;
        tx.execute(
            "UPDATE chats SET username = ?2, first_name = ?3, active = 1 WHERE chat_id = ?1",
            params![self.chat_id, self.username, self.first_name],
        )?;
        Ok(!existed)
    }
}

/// Marks a chat (in)active. An inactive chat is sent nothing; its
/// subscriptions, history and pending notifications are kept for when it
/// comes back (`/start`). Returns true if the state changed, so that a
/// chat found unreachable by several sends at once is deactivated (and
/// logged) once.
pub struct SetChatActive {
    pub chat_id: i64,
    pub active: bool,
}

impl DbRequest for SetChatActive {
    type Output = bool;
    fn run(self, tx: &Transaction<'_>) -> Result<bool, DbError> {
        // Only a chat the bot registered (through the access gate) has a
        // state to change: a stranger blocking and unblocking the bot
        // creates no row, so it cannot get past `telegram.max_chats` or the
        // registration mode that way.
        let changed = tx.execute(
            "UPDATE chats SET active = ?2 WHERE chat_id = ?1 AND active <> ?2",
            params![self.chat_id, self.active],
        )?;
        Ok(changed > 0)
    }
}

/// Creates the chat row if missing; true if it existed.
pub fn ensure(tx: &Transaction<'_>, chat_id: i64) -> Result<bool, DbError> {
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO chats (chat_id, active, created_at) VALUES (?1, 1, ?2)",
        params![chat_id, now_secs()],
    )?;
    Ok(inserted == 0)
}

/// What kind of chat a row is, as the Bot API's `Chat.type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    Private,
    Group,
    Supergroup,
    Channel,
}

impl ChatKind {
    /// The Bot API name, also what `chats.kind` stores.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Private => "private",
            ChatKind::Group => "group",
            ChatKind::Supergroup => "supergroup",
            ChatKind::Channel => "channel",
        }
    }

    /// Groups and supergroups: many members, administrators decide.
    pub fn is_group(self) -> bool {
        matches!(self, ChatKind::Group | ChatKind::Supergroup)
    }
}

/// Registers a group (or supergroup) with its kind and title, or
/// reactivates it: a command addressed to the bot there, or the bot being
/// added back. Returns true for a new chat.
pub struct RegisterGroup {
    pub chat_id: i64,
    pub kind: ChatKind,
    pub title: Option<String>,
}

impl DbRequest for RegisterGroup {
    type Output = bool;
    fn run(self, tx: &Transaction<'_>) -> Result<bool, DbError> {
        let existed = ensure(tx, self.chat_id)?;
        tx.execute(
            "UPDATE chats SET kind = ?2, title = ?3, active = 1 WHERE chat_id = ?1",
            params![self.chat_id, self.kind.as_str(), self.title],
        )?;
        Ok(!existed)
    }
}

/// A group became a supergroup with a new id (Telegram's
/// `migrate_to_chat_id`): in one transaction, the new chat takes over the
/// old one's settings (every column of `chats`), and every row of every
/// table keyed by `chat_id` (subscriptions, per-address settings, outbox
/// rows whatever their state) moves to the new id; the old chat is left
/// inactive, pointing at the new one (`migrated_to`: a decision pressed
/// under the old id's access request follows it). Rows the new chat
/// already has (a unique key, e.g. the same address watched from both ids)
/// stay with the old id. Idempotent: a
/// second call for the same pair finds nothing to move. Returns how many
/// rows moved.
pub struct MigrateChat {
    pub from: i64,
    pub to: i64,
}

impl DbRequest for MigrateChat {
    type Output = usize;
    fn run(self, tx: &Transaction<'_>) -> Result<usize, DbError> {
        if self.from == self.to {
            return Ok(0);
        }
        // A group the bot never registered has nothing to move, and its
        // supergroup registers through the access gate like any chat.
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM chats WHERE chat_id = ?1)",
            [self.from],
            |r| r.get(0),
        )?;
        if !known {
            return Ok(0);
        }
        ensure(tx, self.to)?;
        // Every settings column of the chat, whatever later migrations add.
        let columns = column_names(tx, "chats")?
            .into_iter()
            .filter(|c| {
                !matches!(
                    c.as_str(),
                    "chat_id" | "created_at" | "active" | "kind" | "migrated_to"
                )
            })
            .collect::<Vec<_>>();
        if !columns.is_empty() {
            let list = columns.join(", ");
            tx.execute(
                &format!(
                    "UPDATE chats SET ({list}) = (SELECT {list} FROM chats WHERE chat_id = ?1)
                     WHERE chat_id = ?2"
                ),
                params![self.from, self.to],
            )?;
        }
        tx.execute(
            "UPDATE chats SET active = 1, kind = 'supergroup' WHERE chat_id = ?1",
            [self.to],
        )?;
        tx.execute(
            "UPDATE chats SET active = 0, migrated_to = ?2 WHERE chat_id = ?1",
            params![self.from, self.to],
        )?;
        let mut moved = 0;
        for table in tables_with_chat_id(tx)? {
            moved += tx.execute(
                &format!("UPDATE OR IGNORE \"{table}\" SET chat_id = ?2 WHERE chat_id = ?1"),
                params![self.from, self.to],
            )?;
        }
        if moved > 0 {
            super::meta::bump(tx, super::subscriptions::VERSION_KEY)?;
        }
        Ok(moved)
    }
}

fn column_names(tx: &Transaction<'_>, table: &str) -> Result<Vec<String>, DbError> {
    let mut stmt = tx.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt.query_map([table], |r| r.get::<_, String>(0))?;
    Ok(names.collect::<Result<_, _>>()?)
}

/// Every table but `chats` with a `chat_id` column.
fn tables_with_chat_id(tx: &Transaction<'_>) -> Result<Vec<String>, DbError> {
    let mut stmt = tx.prepare(
        "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND p.name = 'chat_id' AND m.name <> 'chats'
         ORDER BY m.name",
    )?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(names.collect::<Result<_, _>>()?)
}
