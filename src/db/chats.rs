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
        ensure(tx, self.chat_id)?;
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
