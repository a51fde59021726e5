//! Counts for the admin's `/stats`.

use rusqlite::Transaction;

use super::{DbError, DbRequest};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbStats {
    pub chats_active: u64,
    pub chats_inactive: u64,
    pub subscriptions: u64,
    pub transfers: u64,
    pub notifications_sent: u64,
    pub notifications_failed: u64,
    pub notifications_pending: u64,
    pub notifications_held: u64,
    /// Maybe delivered (two answers lost), never sent again.
    pub notifications_uncertain: u64,
}

pub struct GetStats;

impl DbRequest for GetStats {
    type Output = DbStats;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<DbStats, DbError> {
        let count = |sql: &str| -> Result<u64, DbError> {
            Ok(tx.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        let state = |s: &str| -> Result<u64, DbError> {
            Ok(
                tx.query_row("SELECT count(*) FROM outbox WHERE state = ?1", [s], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        };
        Ok(DbStats {
            chats_active: count("SELECT count(*) FROM chats WHERE active = 1")?,
            chats_inactive: count("SELECT count(*) FROM chats WHERE active = 0")?,
            subscriptions: count("SELECT count(*) FROM subscriptions")?,
            transfers: count("SELECT count(*) FROM transfers")?,
            notifications_sent: state("sent")?,
            notifications_failed: state("failed")?,
            notifications_pending: state("pending")?,
            notifications_held: state("held")?,
            notifications_uncertain: state("uncertain")?,
        })
    }
}
