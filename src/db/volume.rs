//! Which chats make the database grow: outbox rows (one per notified
//! transfer per chat, about 1.3 KB each, kept `database.keep_delivered`)
//! created per chat over a recent window. Read by `/status` and by the
//! bot's storage watch, which alerts the admins when one chat dominates.

use rusqlite::{Transaction, params};

use super::{DbError, DbRequest};

/// Notification rows (admin alerts aside) created since `since` (Unix
/// seconds): in all, and for the `top` chats with the most, most first.
pub struct ChatVolumes {
    pub since: i64,
    pub top: usize,
}

/// The answer to [`ChatVolumes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Volumes {
    /// Rows created in the window, all chats.
    pub total: u64,
    /// (chat id, its rows, its title if a group), most rows first.
    pub top: Vec<(i64, u64, Option<String>)>,
}

impl DbRequest for ChatVolumes {
    type Output = Volumes;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Volumes, DbError> {
        let total: i64 = tx.query_row(
            "SELECT count(*) FROM outbox WHERE created_at >= ?1 AND kind <> 'alert'",
            [self.since],
            |r| r.get(0),
        )?;
        let mut stmt = tx.prepare(
            "SELECT o.chat_id, count(*) AS n, c.title
             FROM outbox o LEFT JOIN chats c ON c.chat_id = o.chat_id
             WHERE o.created_at >= ?1 AND o.kind <> 'alert'
             GROUP BY o.chat_id ORDER BY n DESC, o.chat_id LIMIT ?2",
        )?;
        let top = stmt
            .query_map(params![self.since, self.top as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(Volumes {
            total: total.max(0) as u64,
            top,
        })
    }
}

/// The database's size on disk: the file and its write-ahead log
/// (`-wal`); `None` if the file cannot be read.
pub fn database_bytes(path: &std::path::Path) -> Option<u64> {
    let main = std::fs::metadata(path).ok()?.len();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::fs::metadata(std::path::PathBuf::from(wal)).map_or(0, |m| m.len());
    Some(main + wal)
}
